/* Route handlers, one file per resource, and the helpers they share. */
#ifndef CONVSTORE_ROUTES_H
#define CONVSTORE_ROUTES_H

#include <jansson.h>

#include "http.h"
#include "page.h"
#include "pool.h"
#include "problem.h"
#include "router.h"

/* ops.c */
struct reply ops_healthz(struct request *r);
struct reply ops_readyz(struct request *r);
struct reply ops_openapi(struct request *r);
struct reply ops_metrics(struct request *r);

/* keys.c */
struct reply keys_me(struct request *r);
struct reply keys_create(struct request *r);
struct reply keys_list(struct request *r);
struct reply keys_revoke(struct request *r);

/* threads.c */
struct reply threads_create(struct request *r);
struct reply threads_list(struct request *r);
struct reply threads_get(struct request *r);
struct reply threads_update(struct request *r);
struct reply threads_delete(struct request *r);
struct thread_filter;
/* Reads the filters user_id (403 for another user's, with a user key), metadata, created_after
 * and created_before into f (*metadata and created[] malloc'd); false with *err set. */
bool threads_parse_filter(const struct request *r, struct thread_filter *f, char *created[2],
                          char **metadata, struct reply *err);

/* messages.c */
struct reply messages_create(struct request *r);
struct reply messages_create_batch(struct request *r);
struct reply messages_list(struct request *r);
struct reply messages_get(struct request *r);
struct reply messages_update(struct request *r);
struct reply messages_delete(struct request *r);
struct reply messages_clear(struct request *r);
/* message_in.c */
struct message_in;
struct jspan;
struct field_errors;
extern const char *const message_roles[];    /* NULL-terminated */
extern const char *const message_statuses[]; /* NULL-terminated */
/* Whether c is a content value for role: an object for "activity", else a string or an array
 * of parts (objects with a string "type"); role NULL: any role but activity. */
bool content_shape_ok(json_t *c, const char *role);
/* Whether calls is an array of {id, type: "function", function: {name, arguments}}; else one
 * error under field (or field[i]) in fe. */
bool tool_calls_check(json_t *calls, const char *field, struct field_errors *fe);
/* Validates one message object (raw: its request bytes) into *m; errors go to fe, named
 * prefix[index].field inside a list (prefix NULL: a lone message). */
void message_parse(json_t *obj, struct jspan raw, const char *prefix, int index,
                   struct message_in *m, struct field_errors *fe);
/* Frees what message_parse allocated for one message. */
void message_in_free(struct message_in *m);
/* Parses body[key], an array of at most max messages; *out (message_list_free) borrows from
 * body, which must outlive it. False with *err set. */
bool message_list_parse(const struct request *r, json_t *body, const char *key, int max,
                        struct message_in **out, int *n, struct reply *err);
void message_list_free(struct message_in *m, int n);

/* events.c, stream.c */
struct reply events_append(struct request *r);
struct reply events_list(struct request *r);
struct reply events_get(struct request *r);
struct reply events_stream(struct request *r);
/* Reads the database after *last into out (frames), advancing *last past what it read; sets
 * *more when there is more to read now. 1: fine, 0: the thread is gone, < 0: try again. */
typedef int (*stream_source_fn)(void *cls, long long *last, struct buf *out, bool *more);
/* A live stream of thread r->params[0] whose frames come from source (cls, freed with cls_free
 * once the stream ends), after seq `after`, starting with the frames in *lead (taken). */
struct reply stream_from(struct request *r, long long after, struct buf *lead,
                         stream_source_fn source, void *cls, void (*cls_free)(void *));
struct buf;
/* Renders row i of event rows (db/events.h columns) as the event object. */
void render_event(struct buf *b, const struct db_rows *rows, int i);
/* Hands the fresh rows of an append (db/events.h columns) to live streams, once committed. */
void events_publish(struct request *r, const struct db_rows *rows);
struct append_refusal;
/* The reply for an append that wrote nothing. */
struct reply events_refused(const struct request *r, const struct append_refusal *why);
struct sse_filter;
struct event_filter;
/* Reads type (repeatable, "x.*" for a prefix), run_id, step_id and message_id into sf (for
 * matching in memory) and f (for the SQL, with *types and *prefixes malloc'd). */
bool parse_event_filter(const struct request *r, struct sse_filter *sf, struct event_filter *f,
                        char **types, char **prefixes, struct field_errors *fe);

/* runs.c */
struct reply runs_create(struct request *r);
struct reply runs_list(struct request *r);
struct reply runs_list_org(struct request *r);
struct reply runs_get(struct request *r);
struct reply runs_update(struct request *r);
struct reply runs_graph(struct request *r);
struct reply runs_summary(struct request *r);

/* steps.c */
/* Renders row i of step rows (db/steps.h columns) as the step object. */
void render_step(struct buf *b, const struct db_rows *rows, int i);
struct reply steps_create(struct request *r);
struct reply steps_list(struct request *r);
struct reply steps_get(struct request *r);
struct reply steps_update(struct request *r);

/* checkpoints.c */
struct reply checkpoints_put(struct request *r);
struct reply checkpoints_writes(struct request *r);
struct reply checkpoints_get(struct request *r);
struct reply checkpoints_list(struct request *r);
struct reply checkpoints_delete(struct request *r);
struct reply checkpoints_prune(struct request *r);

/* agui.c, aguireplay.c */
struct reply agui_ingest(struct request *r);
struct reply agui_state(struct request *r);
struct reply agui_replay_get(struct request *r);
struct reply agui_replay_post(struct request *r);
/* The text/event-stream body of POST .../agui, piece by piece (see service/router.h). */
struct reply agui_tee(struct request *r, enum sink_call call, const char *data, size_t len,
                      void **state);

/* common.c */
/* The reply for a failed database call (qs < 0): 503 when unreachable, else 500. */
struct reply db_failure(const struct request *r, enum db_qs qs);
/* The user every query of this request is confined to: the key's user, or NULL for the org. */
const char *scope_user(const struct request *r);
/* A time column (microseconds) as an RFC 3339 string, or null for SQL NULL. */
void render_time_or_null(struct buf *b, const struct db_rows *rows, int row, int col);
/* If-Match (RFC 9110): true when h is NULL, "*", or one of its tags names `version`. */
bool if_match_matches(const char *h, long long version);
/* The values of a repeatable query parameter, each one of choices, as a text[] literal in
 * *literal (malloc'd; NULL when the parameter is absent). False with an error in fe. */
bool query_choices(const struct request *r, const char *name, const char *const *choices,
                   char **literal, struct field_errors *fe);
/* Parses the list query parameters; false with *err set. */
bool parse_page(const struct request *r, bool default_asc, struct page *p, struct reply *err);

#endif
