/* Changes to runs and steps, wherever they come from: a REST body or the data of a lifecycle
 * event (run.created, step.completed, ...). Both are read by the same rules, applied by the same
 * code under the thread's row lock, and recorded in the thread's event log in the same
 * transaction, so the log is the complete timeline of every run. */
#ifndef CONVSTORE_RUNLOG_H
#define CONVSTORE_RUNLOG_H

#include "db/events.h"
#include "http.h"
#include "json.h"
#include "lifecycle.h"
#include "pool.h"

/* The names of run statuses, step statuses and step kinds, in enum order, NULL-terminated. */
extern const char *const rs_run_statuses[], *const rs_step_statuses[], *const rs_step_kinds[];

/* One change to a run or a step. */
struct rs_change {
    struct lifecycle_event what;  /* run or step; created, a status change, or other fields */
    int status;                   /* created: the first status; else the requested one, or -1 */
    const char *run_id, *step_id; /* borrowed */
    const char *name, *kind, *parent_id; /* created (parent run or parent step); borrowed */
    char *depends_on, *depends_json;     /* created step: text[] literal and JSON array */
    char *input, *output, *error, *usage, *metadata; /* raw JSON text; NULL: absent or null */
    bool set_output, set_error, set_usage;           /* present (null clears) */
    const char *at;       /* when it happened (normalised RFC 3339), or NULL: now */
    const char *if_match; /* a run update's If-Match header, or NULL */
    char id[MAX_ID_LEN + 1];
};

/* Reads obj (raw: its bytes), a REST body or an event's data, into c, whose `what` is set. REST
 * bodies refuse unknown members; event data may carry others, which are left alone. */
bool rs_parse(json_t *obj, struct jspan raw, bool rest, struct rs_change *c,
              struct field_errors *fe);
void rs_change_free(struct rs_change *c);

/* Why a change was refused. */
enum rs_refusal_kind {
    RS_NO_THREAD,
    RS_NO_RUN,
    RS_NO_STEP,
    RS_EXISTS,
    RS_BAD_PARENT,
    RS_BAD_DEPENDS_ON,
    RS_RUN_ENDED,
    RS_ILLEGAL,
    RS_PRECONDITION,
    RS_APPEND, /* the event append itself was refused (see struct append_refusal) */
};
struct rs_refusal {
    enum rs_refusal_kind kind;
    int index; /* the event of the batch, or -1 for a REST change */
    bool step; /* of a step (else of a run) */
    char detail[300];
    struct append_refusal append;
};
/* The reply for a refusal. */
struct reply rs_refusal_reply(const struct request *r, const struct rs_refusal *why);

/*
 * Applies a REST change to a run or step of the request's thread (r->params[0]) and appends
 * the event it amounts to (none when it changes nothing), in one transaction; the event goes
 * live once the request commits. rows: the run or step as it is now. DB_NO_RESULTS: refused.
 */
enum db_qs rs_commit(struct request *r, struct rs_change *c, struct db_rows *rows,
                     struct rs_refusal *why);

/* The whole of a REST write: parses the request's body as c (whose `what` is set) and commits
 * it. False with *err set to the reply (400, 404, 409, 412, 5xx); rows: the run or step. */
bool rs_request(struct request *r, struct rs_change *c, struct db_rows *rows, struct reply *err);

/*
 * Appends a batch of events (see events_db_append) and applies the lifecycle events among the
 * fresh ones (change[i].what set where ev[i] is one; NULL entries elsewhere), all or nothing.
 */
enum db_qs rs_append(struct request *r, const char *expected_seq, const struct event_in *ev,
                     struct rs_change *const *change, int n, struct db_rows *rows,
                     struct rs_refusal *why);

#endif
