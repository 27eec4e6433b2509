/* API keys: generation, hashing, and turning a bearer key into a principal. */
#include "auth.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <uuid/uuid.h>

#include "db/keys.h"
#include "metrics.h"

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

/*
 * A version-7 UUID (RFC 9562): 48 bits of Unix time in milliseconds, then 74 random bits from
 * the kernel. Ids made close in time sort close together, so inserting them touches the right
 * edge of each unique index instead of a random leaf page: fewer pages dirtied, and fewer full-page
 * images in the WAL after a checkpoint. The time is not a secret: created_at says as much.
 * libuuid's own generator re-seeds on every call and measured 3-4% of an append's CPU.
 */
void auth_uuid(char out[37])
{
    /* One getrandom() per 256 ids: each thread keeps a buffer of kernel randomness. */
    static __thread unsigned char pool[4096];
    static __thread size_t used = sizeof pool;
    if (used == sizeof pool) {
        if (!fill_random(pool, sizeof pool)) abort(); /* the kernel CSPRNG does not fail */
        used = 0;
    }
    uuid_t u = {0};
    memcpy(u, pool + used, sizeof u);
    memset(pool + used, 0, sizeof u); /* handed out once */
    used += sizeof u;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
    for (int i = 5; i >= 0; i--, ms >>= 8)
        u[i] = (unsigned char)(ms & 0xFF);
    u[6] = (unsigned char)((u[6] & 0x0F) | 0x70); /* version 7 */
    u[8] = (unsigned char)((u[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    uuid_unparse_lower(u, out);
}

#define CACHE_SLOTS 4096 /* a power of two */
#define CACHE_PROBE 8

struct cache_entry {
    char hash[KEY_HASH_HEX_LEN + 1]; /* "" when free */
    struct principal who;
    int64_t expires_ms;
};

static struct {
    pthread_mutex_t mu;
    struct cache_entry slots[CACHE_SLOTS];
    int ttl_ms;
    atomic_bool usable;     /* the LISTEN connection is up, so invalidations reach us */
    atomic_uint generation; /* bumped by every invalidation */
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The hash is hex of SHA-256, so its leading digits are already well spread. */
static unsigned slot_of(const char *hash)
{
    unsigned h = 0;
    for (int i = 2; i < 10; i++)
        h = h * 16 + (unsigned)(hash[i] <= '9' ? hash[i] - '0' : hash[i] - 'a' + 10);
    return h & (CACHE_SLOTS - 1);
}

static void cache_clear(void)
{
    pthread_mutex_lock(&cache.mu);
    atomic_fetch_add(&cache.generation, 1);
    for (int i = 0; i < CACHE_SLOTS; i++)
        cache.slots[i].hash[0] = '\0';
    pthread_mutex_unlock(&cache.mu);
}

static bool cache_get(const char *hash, struct principal *who)
{
    if (!atomic_load(&cache.usable)) return false;
    bool hit = false;
    int64_t now = now_ms();
    unsigned s = slot_of(hash);
    pthread_mutex_lock(&cache.mu);
    for (int i = 0; i < CACHE_PROBE && !hit; i++) {
        struct cache_entry *e = &cache.slots[(s + (unsigned)i) & (CACHE_SLOTS - 1)];
        if (e->hash[0] && e->expires_ms > now && !strcmp(e->hash, hash)) {
            *who = e->who;
            hit = true;
        }
    }
    pthread_mutex_unlock(&cache.mu);
    return hit;
}

/* Stores a lookup made at `generation`; dropped if an invalidation happened since, so a key
 * revoked while its lookup was in flight is never cached. */
static void cache_put(const char *hash, const struct principal *who, unsigned generation)
{
    int64_t now = now_ms();
    unsigned s = slot_of(hash);
    pthread_mutex_lock(&cache.mu);
    if (atomic_load(&cache.generation) != generation) {
        pthread_mutex_unlock(&cache.mu);
        return;
    }
    /* A free or expired slot near home, else overwrite home. */
    struct cache_entry *target = &cache.slots[s];
    for (int i = 0; i < CACHE_PROBE; i++) {
        struct cache_entry *e = &cache.slots[(s + (unsigned)i) & (CACHE_SLOTS - 1)];
        if (!e->hash[0] || e->expires_ms <= now || !strcmp(e->hash, hash)) {
            target = e;
            break;
        }
    }
    memcpy(target->hash, hash, sizeof target->hash);
    target->who = *who;
    target->expires_ms = now + cache.ttl_ms;
    pthread_mutex_unlock(&cache.mu);
}

void auth_cache_forget(const char *key_id)
{
    pthread_mutex_lock(&cache.mu);
    atomic_fetch_add(&cache.generation, 1);
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (cache.slots[i].hash[0] && !strcmp(cache.slots[i].who.key_id, key_id))
            cache.slots[i].hash[0] = '\0';
    pthread_mutex_unlock(&cache.mu);
}

/* Revocations are rare: any notification simply empties the cache. */
void auth_key_event(const char *key_id)
{
    cache_clear();
}

void auth_listen_state(bool connected)
{
    /* Whatever happened while we were deaf is unknown: start empty either way. */
    cache_clear();
    atomic_store(&cache.usable, connected && cache.ttl_ms > 0);
}

void auth_cache_start(int ttl_ms)
{
    cache.ttl_ms = ttl_ms;
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
    if (cache_get(hash, who)) {
        metrics_count(MC_AUTH_CACHE_HITS);
        return DB_ONE_RESULT;
    }
    metrics_count(MC_AUTH_CACHE_MISSES);
    unsigned generation = atomic_load(&cache.generation);
    enum db_qs qs = keys_db_lookup(hash, who);
    if (qs == DB_ONE_RESULT && atomic_load(&cache.usable)) cache_put(hash, who, generation);
    return qs;
}
