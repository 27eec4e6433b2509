/*
 * Idempotency-Key on POST: the first response is stored per (org, key) and replayed.
 *
 * Crash safety: the request runs in one transaction (db_tx_begin) that holds an advisory lock on
 * its key, and its reply is stored in that same transaction, after the handler's writes. So the
 * write and its stored reply commit together or not at all: after a crash, a retry finds either
 * the reply to replay or nothing, and then runs for the first time. A 5xx rolls everything back.
 * While one request holds the lock, a second with the same key gets 409 idempotency_key_in_use.
 */
#include "idempotency.h"

#include <microhttpd.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <string.h>

#include "auth.h"
#include "db/idempotency.h"
#include "log.h"
#include "json.h"
#include "problem.h"
#include "routes.h"

#define MAX_KEY_LEN 255
#define PURGE_EVERY 1024 /* keyed requests between sweeps of expired entries */

static atomic_uint runs;

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

/* The stored reply in rows, or the conflict that prevents replaying it; frees rows. */
static struct reply replay(struct request *r, struct db_rows *rows)
{
    struct reply rep;
    if (strcmp(db_str(rows, 0, IK_SAME_REQUEST), "t") != 0) {
        rep = problem(r, PROB_IDEMPOTENCY_KEY_REUSED,
                      "this Idempotency-Key was used with a different request");
    } else {
        struct buf b = {0};
        buf_puts(&b, db_str(rows, 0, IK_BODY));
        rep = reply_json((unsigned)db_int(rows, 0, IK_STATUS), &b);
        const char *type = db_str(rows, 0, IK_CONTENT_TYPE);
        if (type && !strcmp(type, "application/problem+json"))
            rep.content_type = "application/problem+json";
        if (!db_is_null(rows, 0, IK_ETAG)) rep.etag_version = db_int(rows, 0, IK_ETAG);
        rep.replayed = true;
    }
    db_rows_free(rows);
    return rep;
}

/* The body to store for rep: its secret member, if any, as null (malloc'd). */
static char *storable_body(const struct reply *rep)
{
    const char *body = rep->body.data ? rep->body.data : "";
    struct jspan secret;
    if (!rep->secret_member ||
        !jspan_member((struct jspan){body, rep->body.len}, rep->secret_member, &secret))
        return strdup(body);
    struct buf b = {0};
    buf_add(&b, body, (size_t)(secret.p - body));
    buf_puts(&b, "null");
    buf_puts(&b, secret.p + secret.n);
    return buf_take(&b);
}

/* Stores rep for k in c's transaction; DB_NO_RESULTS when another request stored one first. */
static enum db_qs store(struct db_conn *c, const struct idem_key *k, const struct reply *rep)
{
    char *body = storable_body(rep);
    if (!body) abort();
    enum db_qs qs =
        idem_db_store(c, k, rep->status, rep->content_type, body, (long long)rep->etag_version);
    free(body);
    return qs;
}

enum attempt { ATTEMPT_DONE, ATTEMPT_AGAIN };

/*
 * One try at running the request under its key, in one transaction on c: take the key's lock,
 * replay a stored reply, or run the handler and store its reply before the commit. ATTEMPT_AGAIN
 * when a request with the same key committed between our lookup and our store.
 */
static enum attempt attempt(struct request *r, handler_fn handler, const struct idem_key *k,
                            struct reply *out)
{
    struct db_conn *c = db_tx_begin();
    if (!c) {
        *out = db_failure(r, DB_UNAVAILABLE);
        return ATTEMPT_DONE;
    }
    struct db_rows rows;
    enum db_qs locked = idem_db_lock(c, k);
    enum db_qs stored = locked > 0 ? idem_db_get(c, k, &rows) : DB_NO_RESULTS;
    if (locked <= 0 || stored != DB_NO_RESULTS) {
        if (locked < 0 || stored < 0)
            *out = db_failure(r, locked < 0 ? locked : stored);
        else if (locked == DB_NO_RESULTS)
            *out = problem(r, PROB_IDEMPOTENCY_KEY_IN_USE,
                           "a request with this Idempotency-Key is still running");
        else
            *out = replay(r, &rows);
        db_tx_end(c);
        return ATTEMPT_DONE;
    }
    struct reply rep = handler(r);
    enum attempt next = ATTEMPT_DONE;
    if (rep.status < 500 && db_tx_failed(c)) {
        /* The handler's statement failed (a 4xx such as an id conflict): nothing of it can
         * commit, so its reply is stored on its own. */
        db_simple(c, "ROLLBACK");
        if (db_simple(c, "BEGIN") >= 0 && store(c, k, &rep) >= 0) db_simple(c, "COMMIT");
    } else if (rep.status < 500) {
        enum db_qs qs = store(c, k, &rep);
        if (qs == DB_NO_RESULTS) next = ATTEMPT_AGAIN;
        if (qs > 0) qs = db_simple(c, "COMMIT");
        if (qs < 0 || next == ATTEMPT_AGAIN) {
            /* Not committed, or not known to be: the reply must not claim it was. */
            buf_free(&rep.body);
            rep = db_failure(r, qs < 0 ? qs : DB_UNAVAILABLE);
        }
    }
    db_tx_end(c); /* a 5xx rolls back: nothing of it stays to block a retry */
    *out = rep;
    return next;
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
    if (atomic_fetch_add(&runs, 1) % PURGE_EVERY == PURGE_EVERY - 1) idem_db_purge();
    char hash[67];
    request_hash(r, hash);
    const struct idem_key k = {r->who.org_id, r->who.role == ROLE_USER ? r->who.user_id : "", key,
                               hash};
    struct reply rep;
    if (attempt(r, handler, &k, &rep) == ATTEMPT_AGAIN) {
        buf_free(&rep.body);
        attempt(r, handler, &k, &rep); /* now it replays what the other request stored */
    }
    return rep;
}
