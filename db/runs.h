/* SQL for runs: create, lock and update under a thread's transaction, read, and list across an
 * org's threads. `user` arguments scope reads to one user's threads (NULL: the whole org). */
#ifndef CONVSTORE_DB_RUNS_H
#define CONVSTORE_DB_RUNS_H

#include <stdbool.h>

#include "pool.h"

/* Columns of every run row returned below. */
enum {
    RC_ID,
    RC_THREAD_ID,
    RC_PARENT_RUN_ID,
    RC_NAME,
    RC_STATUS,
    RC_INPUT,
    RC_OUTPUT,
    RC_ERROR,
    RC_USAGE,
    RC_METADATA,
    RC_VERSION,
    RC_STEP_COUNT,
    RC_CREATED_US,
    RC_STARTED_US,
    RC_ENDED_US,
    RC_UPDATED_US,
    RC_N
};

/* A new run; NULL for SQL NULL. `at`: when it started, if it starts running (NULL: now). */
struct run_new {
    const char *id, *parent_run_id, *name, *status, *input, *metadata, *at;
};

/* A change of a run: status NULL keeps it; the set_ flags say which JSON columns to write (NULL
 * writes SQL NULL); metadata is a merge patch or NULL. `at` dates a start or end (NULL: now). */
struct run_patch {
    const char *status;
    bool set_output, set_error, set_usage;
    const char *output, *error, *usage, *metadata, *at;
};

struct run_filter {
    const char *thread, *user, *parent_run_id; /* exact matches, or NULL */
    const char *statuses;                      /* text[] literal, or NULL */
    const char *metadata;                      /* JSON object text for containment, or NULL */
    const char *created_after, *created_before;
};

/* Locks the visible thread's row for the rest of the transaction, first, so every writer of a
 * thread's runs, steps and events takes its locks in one order. DB_NO_RESULTS: not visible. */
enum db_qs runs_db_lock_thread(const char *org, const char *user, const char *thread);
/* Inserts the run into the thread. DB_NO_RESULTS when the id is taken in the org or the parent
 * is not a run of the thread; runs_db_exists tells which. */
enum db_qs runs_db_insert(const char *org, const char *thread, const struct run_new *run,
                          struct db_rows *rows);
enum db_qs runs_db_exists(const char *org, const char *id);
/* The run of the thread, locked for an update in this transaction. */
enum db_qs runs_db_lock(const char *org, const char *thread, const char *id, struct db_rows *rows);
/* Applies p; DB_NO_RESULTS when that changes nothing, DB_INVALID when the merged metadata is
 * too large. */
enum db_qs runs_db_update(const char *org, const char *thread, const char *id,
                          const struct run_patch *p, struct db_rows *rows);
enum db_qs runs_db_get(const char *org, const char *user, const char *thread, const char *id,
                       struct db_rows *rows);
/* The list position (n) of a visible run, for cursors; thread NULL: any thread. */
enum db_qs runs_db_position(const char *org, const char *user, const char *thread, const char *id,
                            char n_out[24]);
/* Up to limit runs beyond bound (n) in the scan direction. */
enum db_qs runs_db_list(const char *org, const struct run_filter *f, bool asc, const char *bound,
                        int limit, struct db_rows *rows);
/* The run's events counted by type: rows of (type, count) in type order. */
enum db_qs runs_db_event_counts(const char *org, const char *thread, const char *id,
                                struct db_rows *rows);

extern const struct db_stmt *const runs_db_stmts[];

#endif
