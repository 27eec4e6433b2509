/* SQL for Idempotency-Key: claim a key, store the first response, replay it. */
#ifndef CONVSTORE_DB_IDEMPOTENCY_H
#define CONVSTORE_DB_IDEMPOTENCY_H

#include "pool.h"

/* Columns of a stored key. */
enum { IK_SAME_REQUEST, IK_STATUS, IK_CONTENT_TYPE, IK_BODY, IK_ETAG };

/* Claims (org, key) for this request: DB_ONE_RESULT when the caller may run it. */
enum db_qs idem_db_claim(const char *org, const char *key, const char *hash);
/* The stored entry for (org, key), compared with hash (for replays and conflicts). */
enum db_qs idem_db_get(const char *org, const char *key, const char *hash, struct db_rows *rows);
/* Records the response of a claimed key. */
enum db_qs idem_db_store(const char *org, const char *key, unsigned status,
                         const char *content_type, const char *body, long long etag);
/* Releases a claim whose request failed on our side, so a retry can run it. */
enum db_qs idem_db_release(const char *org, const char *key);
/* Deletes entries older than 24 hours. */
enum db_qs idem_db_purge(void);

extern const struct db_stmt *const idem_db_stmts[];

#endif
