/* SQL for Idempotency-Key: lock a key for one request, look up its stored reply, store one. */
#include "db/idempotency.h"

#include <stdio.h>

/* $1 org, $2 scope ('' or the user key's user), $3 key. */
#define KEY_WHERE "org_id = $1 AND scope = $2 AND key = $3"

/* Held until the transaction ends, whichever way: a crash or a lost connection frees it too. */
static struct db_stmt st_lock = {
    "idem_lock",
    "SELECT pg_try_advisory_xact_lock(hashtextextended($1::text || length($2) || ':' || $2"
    " || $3, 7001))",
    0};

/* Its own statement after the lock, so its snapshot sees what the lock's last holder committed.
 * Rows without a status are claims of the old scheme (before 0004), never replies. */
static struct db_stmt st_get = {
    "idem_get",
    "SELECT request_hash = $4, status, content_type, body, etag FROM idempotency_keys"
    " WHERE " KEY_WHERE " AND status IS NOT NULL AND created_at > now() - interval '24 hours'",
    0};

/* Takes over an expired entry; no row back means a live reply is stored already. */
static struct db_stmt st_store = {
    "idem_store",
    "INSERT INTO idempotency_keys AS i (org_id, scope, key, request_hash, status, content_type,"
    " body, etag) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (org_id, scope, key)"
    " DO UPDATE SET request_hash = EXCLUDED.request_hash, status = EXCLUDED.status,"
    " content_type = EXCLUDED.content_type, body = EXCLUDED.body, etag = EXCLUDED.etag,"
    " created_at = now()"
    " WHERE i.status IS NULL OR i.created_at <= now() - interval '24 hours' RETURNING 1",
    0};

static struct db_stmt st_purge = {
    "idem_purge", "DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'", 0};

const struct db_stmt *const idem_db_stmts[] = {&st_lock, &st_get, &st_store, &st_purge, NULL};

enum db_qs idem_db_lock(struct db_conn *c, const struct idem_key *k)
{
    const char *params[] = {k->org, k->scope, k->key};
    struct db_rows rows;
    enum db_qs qs = db_exec(c, &st_lock, 3, params, &rows);
    if (qs > 0 && db_str(&rows, 0, 0)[0] != 't') qs = DB_NO_RESULTS;
    db_rows_free(&rows);
    return qs;
}

enum db_qs idem_db_get(struct db_conn *c, const struct idem_key *k, struct db_rows *rows)
{
    const char *params[] = {k->org, k->scope, k->key, k->hash};
    return db_exec(c, &st_get, 4, params, rows);
}

enum db_qs idem_db_store(struct db_conn *c, const struct idem_key *k, unsigned status,
                         const char *content_type, const char *body, long long etag)
{
    char st[8], tag[24];
    snprintf(st, sizeof st, "%u", status);
    snprintf(tag, sizeof tag, "%lld", etag);
    const char *params[] = {k->org, k->scope,     k->key, k->hash,
                            st,     content_type, body,   etag > 0 ? tag : NULL};
    struct db_rows rows;
    enum db_qs qs = db_exec(c, &st_store, 8, params, &rows);
    db_rows_free(&rows);
    return qs;
}

enum db_qs idem_db_purge(void)
{
    struct db_rows rows;
    enum db_qs qs = db_run(&st_purge, 0, NULL, &rows);
    db_rows_free(&rows);
    return qs;
}
