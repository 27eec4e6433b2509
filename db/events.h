/* SQL for the event log: idempotent, conditional appends that take the thread's next seqs, and
 * pages by seq. */
#ifndef CONVSTORE_DB_EVENTS_H
#define CONVSTORE_DB_EVENTS_H

#include <stdbool.h>

#include "pool.h"

/* Columns of every event row returned below. */
enum {
    EV_ID,
    EV_THREAD_ID,
    EV_SEQ,
    EV_TYPE,
    EV_RUN_ID,
    EV_STEP_ID,
    EV_MESSAGE_ID,
    EV_DATA,
    EV_OCCURRED_US,
    EV_CREATED_US,
    EV_FRESH,    /* appends: written by this request (else it existed already) */
    EV_LAST_SEQ, /* the thread's last seq (lists: NULL columns before it when the page is empty) */
    EV_THREAD_N, /* appends, lists: which incarnation of the thread id (a deleted and recreated
                  * thread has another) */
};

/* One event to append; NULL for SQL NULL. */
struct event_in {
    const char *id;
    const char *type;
    const char *run_id;
    const char *step_id;
    const char *message_id;
    const char *data;        /* JSON text */
    const char *occurred_at; /* RFC 3339, already validated */
};

/* Why an append wrote nothing (events_db_append). */
struct append_refusal {
    bool no_thread;     /* not visible to the caller (another user's) */
    int conflict;       /* index of an event whose id exists with other content, or -1 */
    long long last_seq; /* the thread's last seq, for a seq_conflict */
};

/*
 * Appends ev[0..n) in order to the thread, creating the thread (owned by user) when it does not
 * exist. Events whose id exists in the thread with the same content are not written again and
 * come back as stored. expected_seq (NULL: none) must equal the thread's last seq when anything
 * new is written. rows > 0: one row per event, in order (EV_FRESH says which were written).
 * DB_NO_RESULTS: nothing written, *why says why.
 */
enum db_qs events_db_append(const char *org, const char *user, const char *thread,
                            const char *expected_seq, const struct event_in *ev, int n,
                            struct db_rows *rows, struct append_refusal *why);

/* Appends ev, whose id is new (a UUID), to a thread whose row this transaction has locked:
 * no refusal, no retry. One row, as events_db_append's. */
enum db_qs events_db_append_one(const char *org, const char *thread, const struct event_in *ev,
                                struct db_rows *rows);

struct event_filter {
    const char *types;    /* text[] literal of exact types, or NULL for no type filter */
    const char *prefixes; /* text[] literal of LIKE patterns (with types; may be "{}") */
    const char *run_id, *step_id, *message_id;
};

/*
 * Up to limit events with after < seq < before in seq order. No rows: the thread is not visible.
 * Otherwise the first row carries EV_LAST_SEQ and EV_THREAD_N; a page with no events is one row
 * of NULL events.
 */
enum db_qs events_db_list(const char *org, const char *user, const char *thread, long long after,
                          long long before, bool asc, const struct event_filter *f, int limit,
                          struct db_rows *rows);

/* One event by id. */
enum db_qs events_db_get(const char *org, const char *user, const char *thread, const char *id,
                         struct db_rows *rows);

extern const struct db_stmt *const events_db_stmts[];

#endif
