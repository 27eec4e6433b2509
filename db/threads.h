/* SQL for threads. `user` arguments scope a query to one user's threads (NULL: the whole org). */
#ifndef CONVSTORE_DB_THREADS_H
#define CONVSTORE_DB_THREADS_H

#include "db/messages.h"
#include "pool.h"

/* Columns of every thread row returned below. */
enum {
    TH_ID,
    TH_USER_ID,
    TH_TITLE,
    TH_METADATA,
    TH_MESSAGE_COUNT,
    TH_LAST_MESSAGE_US,
    TH_VERSION,
    TH_CREATED_US,
    TH_UPDATED_US,
    TH_N
};

struct thread_filter {
    const char *user;           /* exact user_id, or NULL */
    const char *metadata;       /* JSON object text for containment, or NULL */
    const char *created_after;  /* timestamptz text, or NULL */
    const char *created_before; /* timestamptz text, or NULL */
};

/* Inserts the thread with its first n messages (all or nothing); DB_NO_RESULTS when the id
 * exists already, DB_CONFLICT when a message id does. */
enum db_qs threads_db_insert(const char *org, const char *id, const char *user, const char *title,
                             const char *metadata, const struct message_in *m, int n,
                             struct db_rows *rows);
enum db_qs threads_db_get(const char *org, const char *user, const char *id, struct db_rows *rows);
/*
 * Sets the title (when set_title) and merges metadata_patch (JSON object text or NULL) into the
 * metadata, if the row is visible and (when version is not NULL) still at that version.
 * DB_NO_RESULTS otherwise; DB_INVALID when the merged metadata is too large.
 */
enum db_qs threads_db_update(const char *org, const char *user, const char *id, bool set_title,
                             const char *title, const char *metadata_patch, const char *version,
                             struct db_rows *rows);
enum db_qs threads_db_delete(const char *org, const char *user, const char *id);
enum db_qs threads_db_position(const char *org, const char *user, const char *id, char n_out[24]);
enum db_qs threads_db_list(const char *org, const struct thread_filter *f, bool asc,
                           const char *bound, int limit, struct db_rows *rows);

#endif
