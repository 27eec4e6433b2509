/* SQL for Idempotency-Key: claim a key, store the first response, replay it. */
#include "db/idempotency.h"

#include <stdio.h>

/* Inserts, or takes over an expired entry or an abandoned claim. */
static struct db_stmt st_claim = {
    "idem_claim",
    "INSERT INTO idempotency_keys AS i (org_id, key, request_hash) VALUES ($1, $2, $3)"
    " ON CONFLICT (org_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,"
    " status = NULL, content_type = NULL, etag = NULL, body = NULL, created_at = now()"
    " WHERE i.created_at < now() - interval '24 hours'"
    " OR (i.status IS NULL AND i.created_at < now() - interval '1 minute') RETURNING 1",
    0};

static struct db_stmt st_get = {
    "idem_get",
    "SELECT request_hash = $3, status, content_type, body, etag FROM idempotency_keys"
    " WHERE org_id = $1 AND key = $2",
    0};

static struct db_stmt st_store = {
    "idem_store",
    "UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5, etag = $6"
    " WHERE org_id = $1 AND key = $2 RETURNING 1",
    0};

static struct db_stmt st_release = {
    "idem_release",
    "DELETE FROM idempotency_keys WHERE org_id = $1 AND key = $2 AND status IS NULL RETURNING 1",
    0};

static struct db_stmt st_purge = {
    "idem_purge", "DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'", 0};

const struct db_stmt *const idem_db_stmts[] = {&st_claim,   &st_get,   &st_store,
                                               &st_release, &st_purge, NULL};

static enum db_qs run_discard(struct db_stmt *st, int n, const char *const *params)
{
    struct db_rows rows;
    enum db_qs qs = db_run(st, n, params, &rows);
    db_rows_free(&rows);
    return qs;
}

enum db_qs idem_db_claim(const char *org, const char *key, const char *hash)
{
    const char *params[] = {org, key, hash};
    return run_discard(&st_claim, 3, params);
}

enum db_qs idem_db_get(const char *org, const char *key, const char *hash, struct db_rows *rows)
{
    const char *params[] = {org, key, hash};
    return db_run(&st_get, 3, params, rows);
}

enum db_qs idem_db_store(const char *org, const char *key, unsigned status,
                         const char *content_type, const char *body, long long etag)
{
    char st[8], tag[24];
    snprintf(st, sizeof st, "%u", status);
    snprintf(tag, sizeof tag, "%lld", etag);
    const char *params[] = {org, key, st, content_type, body, etag > 0 ? tag : NULL};
    return run_discard(&st_store, 6, params);
}

enum db_qs idem_db_release(const char *org, const char *key)
{
    const char *params[] = {org, key};
    return run_discard(&st_release, 2, params);
}

enum db_qs idem_db_purge(void)
{
    return run_discard(&st_purge, 0, NULL);
}
