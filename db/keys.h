/* SQL for orgs and API keys. */
#ifndef CONVSTORE_DB_KEYS_H
#define CONVSTORE_DB_KEYS_H

#include "http.h"
#include "pool.h"

/* Columns of every key row returned below. */
enum {
    KEY_ID,
    KEY_ROLE,
    KEY_USER_ID,
    KEY_NAME,
    KEY_PREFIX_COL,
    KEY_CREATED_US,
    KEY_REVOKED_US,
    KEY_N
};

/* An unrevoked key by hash; fills who. */
enum db_qs keys_db_lookup(const char *hash, struct principal *who);
enum db_qs keys_db_insert(const char *org_id, const char *id, const char *role, const char *user_id,
                          const char *name, const char *prefix, const char *hash,
                          struct db_rows *rows);
/* Keys after `bound` (an `n`) in the given direction, at most limit rows. */
enum db_qs keys_db_list(const char *org_id, bool asc, const char *bound, int limit,
                        struct db_rows *rows);
/* The `n` of key id in org (for cursors), as text in n_out. */
enum db_qs keys_db_position(const char *org_id, const char *id, char n_out[24]);
/* DB_ONE_RESULT while the key (by id) is not revoked. */
enum db_qs keys_db_active(const char *key_id);
enum db_qs keys_db_revoke(const char *org_id, const char *id, struct db_rows *rows);
/* Creates an org and its first admin key in one statement. */
enum db_qs keys_db_create_org(const char *org_id, const char *name, const char *key_id,
                              const char *prefix, const char *hash);

#endif
