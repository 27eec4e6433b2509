/* SQL for orgs and API keys. */
#include "db/keys.h"
#include "db/sql.h"

#include <stdio.h>
#include <string.h>

#define KEY_COLS "id, role, user_id, name, prefix, " US("created_at") ", " US("revoked_at") ", n"

static struct db_stmt st_lookup = {
    "key_lookup",
    "SELECT id, org_id, role, user_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL", 0};

static struct db_stmt st_insert = {
    "key_insert",
    "INSERT INTO api_keys (org_id, id, role, user_id, name, prefix, key_hash)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING " KEY_COLS,
    0};

static struct db_stmt st_list_asc = {"key_list_asc",
                                     "SELECT " KEY_COLS
                                     " FROM api_keys WHERE org_id = $1 AND n > $2"
                                     " ORDER BY n ASC LIMIT $3",
                                     0};

static struct db_stmt st_list_desc = {"key_list_desc",
                                      "SELECT " KEY_COLS
                                      " FROM api_keys WHERE org_id = $1 AND n < $2"
                                      " ORDER BY n DESC LIMIT $3",
                                      0};

static struct db_stmt st_position = {"key_position",
                                     "SELECT n FROM api_keys WHERE org_id = $1 AND id = $2", 0};

/* Whether a key is still valid, past the cache (a stream checks once it is subscribed). */
static struct db_stmt st_active = {
    "key_active", "SELECT 1 FROM api_keys WHERE id = $1 AND revoked_at IS NULL", 0};

/* The NOTIFY (sent at commit) makes every instance drop its key cache. */
static struct db_stmt st_revoke = {
    "key_revoke",
    "WITH r AS (UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())"
    " WHERE org_id = $1 AND id = $2 RETURNING " KEY_COLS ")"
    " SELECT r.*, pg_notify('convstore_keys', r.id::text) FROM r",
    0};

static struct db_stmt st_create_org = {
    "org_create",
    "WITH o AS (INSERT INTO orgs (id, name) VALUES ($1, $2) RETURNING id)"
    " INSERT INTO api_keys (org_id, id, role, prefix, key_hash)"
    " SELECT o.id, $3, 'admin', $4, $5 FROM o",
    0};

const struct db_stmt *const keys_db_stmts[] = {&st_lookup,     &st_insert,   &st_list_asc,
                                               &st_list_desc,  &st_position, &st_revoke,
                                               &st_create_org, &st_active,   NULL};

static int role_parse(const char *s)
{
    if (!strcmp(s, "admin")) return ROLE_ADMIN;
    if (!strcmp(s, "service")) return ROLE_SERVICE;
    return ROLE_USER;
}

enum db_qs keys_db_lookup(const char *hash, struct principal *who)
{
    const char *params[] = {hash};
    struct db_rows rows;
    enum db_qs qs = db_run(&st_lookup, 1, params, &rows);
    if (qs == DB_ONE_RESULT) {
        snprintf(who->key_id, sizeof who->key_id, "%s", db_str(&rows, 0, 0));
        snprintf(who->org_id, sizeof who->org_id, "%s", db_str(&rows, 0, 1));
        who->role = (enum role)role_parse(db_str(&rows, 0, 2));
        const char *user = db_str(&rows, 0, 3);
        snprintf(who->user_id, sizeof who->user_id, "%s", user ? user : "");
    }
    db_rows_free(&rows);
    return qs;
}

enum db_qs keys_db_insert(const char *org_id, const char *id, const char *role, const char *user_id,
                          const char *name, const char *prefix, const char *hash,
                          struct db_rows *rows)
{
    const char *params[] = {org_id, id, role, user_id, name, prefix, hash};
    return db_run(&st_insert, 7, params, rows);
}

enum db_qs keys_db_list(const char *org_id, bool asc, const char *bound, int limit,
                        struct db_rows *rows)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {org_id, bound, lim};
    return db_run(asc ? &st_list_asc : &st_list_desc, 3, params, rows);
}

enum db_qs keys_db_position(const char *org_id, const char *id, char n_out[24])
{
    const char *params[] = {org_id, id};
    struct db_rows rows;
    enum db_qs qs = db_run(&st_position, 2, params, &rows);
    if (qs == DB_ONE_RESULT) snprintf(n_out, 24, "%s", db_str(&rows, 0, 0));
    db_rows_free(&rows);
    return qs;
}

enum db_qs keys_db_revoke(const char *org_id, const char *id, struct db_rows *rows)
{
    const char *params[] = {org_id, id};
    return db_run(&st_revoke, 2, params, rows);
}

enum db_qs keys_db_create_org(const char *org_id, const char *name, const char *key_id,
                              const char *prefix, const char *hash)
{
    const char *params[] = {org_id, name, key_id, prefix, hash};
    struct db_rows rows;
    enum db_qs qs = db_run(&st_create_org, 5, params, &rows);
    db_rows_free(&rows);
    return qs;
}

enum db_qs keys_db_active(const char *key_id)
{
    const char *params[] = {key_id};
    struct db_rows rows;
    enum db_qs qs = db_run(&st_active, 1, params, &rows);
    db_rows_free(&rows);
    return qs;
}
