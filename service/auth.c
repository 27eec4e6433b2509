/* API keys: generation, hashing, and turning a bearer key into a principal. */
#include "auth.h"

#include <openssl/evp.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <uuid/uuid.h>

#include "db/keys.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const char *role_name(enum role r)
{
    static const char *const names[] = {"admin", "service", "user"};
    return names[r];
}

static bool fill_random(unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got <= 0) return false;
        p += got;
        n -= (size_t)got;
    }
    return true;
}

/* Unpadded base64url of n bytes into out (which has room for 4*ceil(n/3)+1). */
static void base64url(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n) v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (i + 1 < n) out[o++] = b64url[(v >> 6) & 63];
        if (i + 2 < n) out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
}

void auth_hash_key(const char *key, char hash[KEY_HASH_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL);
    hash[0] = '\\';
    hash[1] = 'x';
    for (unsigned i = 0; i < 32; i++) {
        hash[2 + 2 * i] = hex[md[i] >> 4];
        hash[3 + 2 * i] = hex[md[i] & 15];
    }
    hash[KEY_HASH_HEX_LEN] = '\0';
}

bool auth_new_key(char key[KEY_LEN + 1], char hash[KEY_HASH_HEX_LEN + 1])
{
    unsigned char raw[KEY_RANDOM_BYTES];
    if (!fill_random(raw, sizeof raw)) return false;
    memcpy(key, KEY_PREFIX, sizeof KEY_PREFIX - 1);
    base64url(raw, sizeof raw, key + sizeof KEY_PREFIX - 1);
    auth_hash_key(key, hash);
    return true;
}

bool auth_key_shape_ok(const char *s)
{
    if (strncmp(s, KEY_PREFIX, sizeof KEY_PREFIX - 1) != 0) return false;
    size_t n = 0;
    for (const char *p = s + sizeof KEY_PREFIX - 1; *p; p++, n++)
        if (!strchr(b64url, *p)) return false;
    return n == KEY_LEN - (sizeof KEY_PREFIX - 1);
}

void auth_uuid(char out[37])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

enum db_qs auth_resolve(const char *authorization, struct principal *who)
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0) return DB_NO_RESULTS;
    const char *key = authorization + 7;
    while (*key == ' ')
        key++;
    if (!auth_key_shape_ok(key)) return DB_NO_RESULTS;
    char hash[KEY_HASH_HEX_LEN + 1];
    auth_hash_key(key, hash);
    return keys_db_lookup(hash, who);
}
