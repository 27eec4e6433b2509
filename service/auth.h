/* API keys: generation, hashing, and turning a bearer key into a principal. */
#ifndef CONVSTORE_AUTH_H
#define CONVSTORE_AUTH_H

#include <stdbool.h>

#include "http.h"
#include "pool.h"

#define KEY_PREFIX "cs_live_"
#define KEY_RANDOM_BYTES 32
#define KEY_LEN (sizeof KEY_PREFIX - 1 + 43) /* 32 bytes -> 43 base64url chars */
#define KEY_HASH_HEX_LEN (2 + 64)            /* "\x" + SHA-256 in hex: a bytea literal */
#define KEY_DISPLAY_PREFIX 12

/* A fresh key (NUL-terminated, KEY_LEN chars) and its hash; false if randomness failed. */
bool auth_new_key(char key[KEY_LEN + 1], char hash[KEY_HASH_HEX_LEN + 1]);
void auth_hash_key(const char *key, char hash[KEY_HASH_HEX_LEN + 1]);
/* Whether s has the exact shape of a key we issue (cheap reject before any lookup). */
bool auth_key_shape_ok(const char *s);
/* A random UUID in lowercase text form. */
void auth_uuid(char out[37]);

/*
 * Resolves an Authorization header to a principal. Returns DB_ONE_RESULT on success,
 * DB_NO_RESULTS for a missing, malformed, unknown or revoked key, or a database error status.
 */
enum db_qs auth_resolve(const char *authorization, struct principal *who);

const char *role_name(enum role r);

/*
 * The key cache: resolved keys are remembered for ttl_ms so most requests skip the lookup.
 * Revocation stays immediate: the revoking instance drops the key at once, and every instance
 * drops its whole cache on a NOTIFY on convstore_keys (sent by the revoke statement). While the
 * LISTEN connection is down the cache is bypassed. ttl_ms 0 disables it.
 */
void auth_cache_start(int ttl_ms);
/* From the LISTEN connection (service/live.c): a key was revoked somewhere; the connection
 * came up or went down. */
void auth_key_event(const char *key_id);
void auth_listen_state(bool connected);
/* Forgets the key with this id (called after a revoke, before the reply goes out). */
void auth_cache_forget(const char *key_id);

#endif
