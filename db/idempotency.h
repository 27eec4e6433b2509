/* SQL for Idempotency-Key: lock a key for one request, look up its stored reply, store one. */
#ifndef CONVSTORE_DB_IDEMPOTENCY_H
#define CONVSTORE_DB_IDEMPOTENCY_H

#include "pool.h"

/* Which stored reply a request names: keys are scoped per org, and per user for user keys. */
struct idem_key {
    const char *org;
    const char *scope; /* "" for admin and service keys, else the key's user_id */
    const char *key;
    const char *hash; /* the request's hash as a bytea literal */
};

/* Columns of a stored reply. */
enum { IK_SAME_REQUEST, IK_STATUS, IK_CONTENT_TYPE, IK_BODY, IK_ETAG };

/* In c's transaction: takes the key's lock, DB_ONE_RESULT; DB_NO_RESULTS when another
 * transaction holds it (the same request is still running). */
enum db_qs idem_db_lock(struct db_conn *c, const struct idem_key *k);
/* In c's transaction: the live stored reply for k, compared with k's hash. */
enum db_qs idem_db_get(struct db_conn *c, const struct idem_key *k, struct db_rows *rows);
/* In c's transaction: stores the reply; DB_NO_RESULTS when a live one is there already. */
enum db_qs idem_db_store(struct db_conn *c, const struct idem_key *k, unsigned status,
                         const char *content_type, const char *body, long long etag);
/* Deletes entries older than 24 hours. */
enum db_qs idem_db_purge(void);

extern const struct db_stmt *const idem_db_stmts[];

#endif
