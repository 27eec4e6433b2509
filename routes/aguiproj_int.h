/* What the AG-UI projection's files share (routes/aguiproj.c, routes/aguiproj_msgs.c): the
 * transaction's state and the helpers both use. Private to them. */
#ifndef CONVSTORE_AGUIPROJ_INT_H
#define CONVSTORE_AGUIPROJ_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "aguiproj.h"
#include "db/events.h"
#include "db/messages.h"

/* What one stored event needs beyond the request's strings. */
struct stored {
    char id[37], run[MAX_ID_LEN + 1], step[37];
    char *data; /* malloc'd JSON text */
};

struct tx {
    struct aguiproj *p;
    json_t *events;
    const struct jspan *raw;
    size_t n;
    json_t *ctx, *state;
    bool state_set, opened_here;
    struct stored *st;
    struct event_in *ev;
    struct db_rows *rows;
    int index;         /* the event being applied */
    enum db_qs db_err; /* a database failure a nested transaction rolled back, or 0 */
};

/* Refuses event t->index: p's error fields are set; returns false. */
bool ap_refuse(struct tx *t, enum problem prob, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const char *ap_str(json_t *obj, const char *key);
/* Compact JSON text of v (malloc'd). */
char *ap_text_of(json_t *v);
/* The raw text of member key of the event being applied (malloc'd; NULL when absent). */
char *ap_member_text(struct tx *t, json_t *ev, const char *key);
/* JSON text parsed with integers kept (a new reference; NULL for NULL or bad text). */
json_t *ap_parse_exact(const char *text);
json_t *ap_member_exact(struct tx *t, json_t *ev, const char *key);
/* Appends one message to the thread, in the open run; a taken id refuses the batch. */
bool ap_add_message(struct tx *t, struct message_in *m, const char *field);
/* Whether message id exists (its role into role_out, when given). */
enum db_qs ap_message_role(struct tx *t, const char *id, char role_out[16]);

/* aguiproj_msgs.c: what each event does to the thread's messages and state. */
bool ap_open_message(struct tx *t, json_t *ev, const char *role);
bool ap_append_delta(struct tx *t, json_t *ev);
bool ap_close_message(struct tx *t, json_t *ev);
bool ap_start_tool_call(struct tx *t, json_t *ev);
bool ap_tool_args(struct tx *t, json_t *ev);
bool ap_tool_result(struct tx *t, json_t *ev);
/* RunAgentInput.messages (obj: the raw input object) the thread lacks, appended. */
bool ap_add_input_messages(struct tx *t, json_t *in, struct jspan obj);
bool ap_snapshot_messages(struct tx *t, json_t *ev);
bool ap_snapshot_activity(struct tx *t, json_t *ev);
bool ap_patch_activity(struct tx *t, json_t *ev);
bool ap_patch_state(struct tx *t, json_t *ev);
/* The event's metadata merged into the message or tool call it builds or continues, as the
 * client merges it. */
bool ap_event_metadata(struct tx *t, enum agui_type type, json_t *ev);

#endif
