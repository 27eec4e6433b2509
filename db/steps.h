/* SQL for the steps of a run: create (with their place in the step tree), lock and update under
 * a thread's transaction, read, page, and the whole run at once for its graph and summary. */
#ifndef CONVSTORE_DB_STEPS_H
#define CONVSTORE_DB_STEPS_H

#include <stdbool.h>

#include "pool.h"

/* Columns of every step row returned below. */
enum {
    SC_ID,
    SC_THREAD_ID,
    SC_RUN_ID,
    SC_PARENT_STEP_ID,
    SC_DEPENDS_ON, /* the ids joined by ',' (ids never hold one), "" for none */
    SC_KIND,
    SC_NAME,
    SC_STATUS,
    SC_PATH,
    SC_DEPTH,
    SC_INPUT,
    SC_OUTPUT,
    SC_ERROR,
    SC_METADATA,
    SC_CREATED_US,
    SC_STARTED_US,
    SC_ENDED_US,
    SC_UPDATED_US,
    SC_N
};

/* A new step; NULL for SQL NULL. depends_on is a text[] literal ("{}" for none). */
struct step_new {
    const char *id, *parent_step_id, *depends_on, *kind, *name, *status, *input, *metadata, *at;
};

/* Why steps_db_insert wrote nothing. */
struct step_refusal {
    bool no_run;           /* the run is not in the thread */
    bool run_ended;        /* the run is in a terminal state */
    bool exists;           /* the step id is taken in the org */
    bool bad_parent;       /* parent_step_id names no step of the run */
    char missing[129 + 1]; /* a depends_on entry naming no step of the run, or "" */
};

/* A change of a step, as struct run_patch without usage. */
struct step_patch {
    const char *status;
    bool set_output, set_error;
    const char *output, *error, *metadata, *at;
};

struct step_filter {
    const char *statuses, *kinds; /* text[] literals, or NULL */
    const char *parent_step_id;
};

/* Inserts the step under run (of thread), numbering it among its parent's children.
 * DB_NO_RESULTS: refused, and it may have changed counters (roll back); steps_db_refusal says
 * why. */
enum db_qs steps_db_insert(const char *org, const char *thread, const char *run,
                           const struct step_new *s, struct db_rows *rows);
enum db_qs steps_db_refusal(const char *org, const char *thread, const char *run,
                            const struct step_new *s, struct step_refusal *why);
/* The step of the run of the thread, locked for an update in this transaction. */
enum db_qs steps_db_lock(const char *org, const char *thread, const char *run, const char *id,
                         struct db_rows *rows);
/* Applies p; DB_NO_RESULTS when that changes nothing, DB_INVALID when the merged metadata is
 * too large. */
enum db_qs steps_db_update(const char *org, const char *run, const char *id,
                           const struct step_patch *p, struct db_rows *rows);
/* A step of a run the caller sees (check the run first). */
enum db_qs steps_db_get(const char *org, const char *run, const char *id, struct db_rows *rows);
enum db_qs steps_db_position(const char *org, const char *run, const char *id, char n_out[24]);
enum db_qs steps_db_list(const char *org, const char *run, const struct step_filter *f, bool asc,
                         const char *bound, int limit, struct db_rows *rows);
/* Up to limit steps of the run in creation order, all columns (light: without input, output,
 * error and metadata, which come back NULL). */
enum db_qs steps_db_all(const char *org, const char *run, bool light, int limit,
                        struct db_rows *rows);

extern const struct db_stmt *const steps_db_stmts[];

#endif
