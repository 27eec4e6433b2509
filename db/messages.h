/* SQL for messages: appends that take the next seq of their thread, pages by seq, streaming. */
#ifndef CONVSTORE_DB_MESSAGES_H
#define CONVSTORE_DB_MESSAGES_H

#include "buf.h"
#include "pool.h"

/* Columns of every message row returned below. */
enum {
    M_ID,
    M_THREAD_ID,
    M_SEQ,
    M_ROLE,
    M_CONTENT,
    M_NAME,
    M_STATUS,
    M_RUN_ID,
    M_METADATA,
    M_CREATED_US,
    M_UPDATED_US,
    M_TOOL_CALLS,
    M_TOOL_CALL_ID,
    M_NCOLS
};

/* One message to insert; text fields are NUL-terminated, NULL for SQL NULL. */
struct message_in {
    const char *id;
    const char *role;
    const char *content; /* JSON text */
    const char *name;
    const char *status;
    const char *run_id;
    const char *metadata;     /* JSON object text or NULL */
    const char *tool_calls;   /* JSON array text or NULL */
    const char *tool_call_id; /* or NULL */
};

/* Appends in order to a thread visible to (org, user). DB_NO_RESULTS: no such thread;
 * DB_CONFLICT: a message id exists in the thread already. */
enum db_qs messages_db_append(const char *org, const char *user, const char *thread,
                              const struct message_in *m, int n, struct db_rows *rows);

/* Inserts the first n messages of a thread just created on connection c (seq 1..n); the thread
 * row carries the matching counters already. */
enum db_qs messages_db_insert_initial(struct db_conn *c, const char *org, const char *thread,
                                      const struct message_in *m, int n);

struct message_filter {
    const char *role, *run_id, *status; /* NULL: any */
};

/*
 * A page of messages. rows hold message columns plus the cursor's seq in column M_NCOLS.
 * DB_NO_RESULTS: the thread is not visible. A first row whose M_ID is NULL means an empty page;
 * a NULL cursor column means the cursor id is not a message of this thread.
 */
enum db_qs messages_db_list(const char *org, const char *user, const char *thread,
                            const char *cursor, bool asc, const struct message_filter *f, int limit,
                            struct db_rows *rows);
/* Up to limit messages of a thread (visibility checked already) with seq > after, in seq order. */
enum db_qs messages_db_all(const char *org, const char *thread, long long after, int limit,
                           struct db_rows *rows);
enum db_qs messages_db_get(const char *org, const char *user, const char *thread, const char *id,
                           struct db_rows *rows);
/* Adds a streamed delta to an in_progress message with string content. DB_NO_RESULTS when the
 * message is absent or not in that state (the caller tells which). minimal: rows hold only the
 * id, so the cost does not grow with the message. */
enum db_qs messages_db_append_delta(const char *org, const char *user, const char *thread,
                                    const char *id, const char *delta, bool minimal,
                                    struct db_rows *rows);

struct message_patch {
    const char *content;        /* new content JSON text, or NULL to keep */
    const char *append;         /* delta to append, or NULL */
    const char *status;         /* new status, or NULL to keep */
    const char *metadata_patch; /* JSON object to merge, or NULL */
    const char *tool_calls;     /* JSON array text replacing the tool calls, or NULL */
};
enum patch_refusal {
    PATCH_OK,
    PATCH_NOT_FOUND,
    PATCH_FINAL,
    PATCH_NOT_STRING,
    PATCH_TOO_LONG,
    PATCH_NOT_ASSISTANT
};
/* The general PATCH in one transaction: validates the transition, applies it, folds deltas into
 * content when the message leaves in_progress or gets new content. */
enum db_qs messages_db_patch(const char *org, const char *user, const char *thread, const char *id,
                             const struct message_patch *p, enum patch_refusal *refusal,
                             struct db_rows *rows);
enum db_qs messages_db_delete(const char *org, const char *user, const char *thread,
                              const char *id);
/* Deletes every message of the thread; *count receives how many. DB_NO_RESULTS: no thread. */
enum db_qs messages_db_clear(const char *org, const char *user, const char *thread,
                             long long *count);

#endif
