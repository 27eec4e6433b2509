/* Idempotency-Key on POST: the first response is stored per (org, key) and replayed. */
#include "idempotency.h"

#include <microhttpd.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <string.h>

#include "auth.h"
#include "db/idempotency.h"
#include "log.h"
#include "problem.h"
#include "routes.h"

#define MAX_KEY_LEN 255
#define PURGE_EVERY 1024 /* claims between sweeps of expired entries */

static atomic_uint claims;

static bool key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > MAX_KEY_LEN) return false;
    for (size_t i = 0; i < n; i++)
        if (k[i] < 0x21 || k[i] > 0x7e) return false;
    return true;
}

static enum MHD_Result hash_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    EVP_MD_CTX *md = cls;
    EVP_DigestUpdate(md, key, strlen(key) + 1);
    if (value) EVP_DigestUpdate(md, value, strlen(value) + 1);
    return MHD_YES;
}

/* SHA-256 over everything that makes two requests "the same": route, query, the caller's role
 * and user, body. */
static void request_hash(const struct request *r, char out[67])
{
    static const char hex[] = "0123456789abcdef";
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, r->method, strlen(r->method) + 1);
    EVP_DigestUpdate(md, r->path, strlen(r->path) + 1);
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, hash_arg, md);
    /* A replay must not give a caller what its own key could not get: another user's
     * thread, or an admin's new key secret for a service key. */
    const char *role = role_name(r->who.role);
    EVP_DigestUpdate(md, role, strlen(role) + 1);
    EVP_DigestUpdate(md, r->who.user_id, strlen(r->who.user_id) + 1);
    EVP_DigestUpdate(md, r->body.data ? r->body.data : "", r->body.len);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(md, digest, &len);
    EVP_MD_CTX_free(md);
    out[0] = '\\';
    out[1] = 'x';
    for (unsigned i = 0; i < 32; i++) {
        out[2 + 2 * i] = hex[digest[i] >> 4];
        out[3 + 2 * i] = hex[digest[i] & 15];
    }
    out[66] = '\0';
}

/* The stored reply for key, or the conflict that prevents one. */
static struct reply replay(struct request *r, const char *key, const char *hash)
{
    struct db_rows rows;
    enum db_qs qs = idem_db_get(r->who.org_id, key, hash, &rows);
    if (qs < 0) return db_failure(r, qs);
    if (qs == 0) /* released or purged between our claim and this read: let the client retry */
        return problem(r, PROB_IDEMPOTENCY_KEY_IN_USE, "retry the request");
    struct reply rep;
    if (strcmp(db_str(&rows, 0, IK_SAME_REQUEST), "t") != 0) {
        rep = problem(r, PROB_IDEMPOTENCY_KEY_REUSED,
                      "this Idempotency-Key was used with a different request");
    } else if (db_is_null(&rows, 0, IK_STATUS)) {
        rep = problem(r, PROB_IDEMPOTENCY_KEY_IN_USE, "the first request is still running");
    } else {
        struct buf b = {0};
        buf_puts(&b, db_str(&rows, 0, IK_BODY));
        rep = reply_json((unsigned)db_int(&rows, 0, IK_STATUS), &b);
        const char *type = db_str(&rows, 0, IK_CONTENT_TYPE);
        if (type && !strcmp(type, "application/problem+json"))
            rep.content_type = "application/problem+json";
        if (!db_is_null(&rows, 0, IK_ETAG)) rep.etag_version = db_int(&rows, 0, IK_ETAG);
        rep.replayed = true;
    }
    db_rows_free(&rows);
    return rep;
}

struct reply idempotent_run(struct request *r, handler_fn handler)
{
    const char *key = req_header(r, "Idempotency-Key");
    if (!key) return handler(r);
    if (!key_ok(key)) {
        struct field_errors fe = {0};
        field_error(&fe, "Idempotency-Key", "must be 1-%d visible ASCII characters", MAX_KEY_LEN);
        return problem_fields(r, PROB_VALIDATION_FAILED, &fe);
    }
    if (atomic_fetch_add(&claims, 1) % PURGE_EVERY == PURGE_EVERY - 1) idem_db_purge();
    char hash[67];
    request_hash(r, hash);
    enum db_qs qs = idem_db_claim(r->who.org_id, key, hash);
    if (qs < 0) return db_failure(r, qs);
    if (qs == 0) return replay(r, key, hash);
    struct reply rep = handler(r);
    if (rep.status >= 500) {
        idem_db_release(r->who.org_id, key);
    } else if (idem_db_store(r->who.org_id, key, rep.status, rep.content_type,
                             rep.body.data ? rep.body.data : "", rep.etag_version) < 0) {
        /* The reply is still right; only a retry will not see it (and gets 409 in_use for a
         * minute, then runs again). */
        log_line(LOG_WARN, "could not store an idempotent reply", NULL);
    }
    return rep;
}
