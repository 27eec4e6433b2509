/* API keys and the caller's identity: /v1/me and /v1/keys (admin only). */
#include "routes.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "db/keys.h"
#include "hub.h"
#include "json.h"

struct reply keys_me(struct request *r)
{
    struct buf b = {0};
    buf_puts(&b, "{\"object\":\"me\",\"org_id\":");
    buf_json_str(&b, r->who.org_id);
    buf_puts(&b, ",\"key_id\":");
    buf_json_str(&b, r->who.key_id);
    buf_puts(&b, ",\"role\":");
    buf_json_str(&b, role_name(r->who.role));
    buf_puts(&b, ",\"user_id\":");
    buf_json_str(&b, scope_user(r));
    buf_putc(&b, '}');
    return reply_json(200, &b);
}

static void render_key(struct buf *b, const struct db_rows *rows, int i)
{
    buf_puts(b, "{\"id\":");
    buf_json_str(b, db_str(rows, i, KEY_ID));
    buf_puts(b, ",\"object\":\"api_key\",\"role\":");
    buf_json_str(b, db_str(rows, i, KEY_ROLE));
    buf_puts(b, ",\"user_id\":");
    buf_json_str(b, db_str(rows, i, KEY_USER_ID));
    buf_puts(b, ",\"name\":");
    buf_json_str(b, db_str(rows, i, KEY_NAME));
    buf_puts(b, ",\"prefix\":");
    buf_json_str(b, db_str(rows, i, KEY_PREFIX_COL));
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, db_int(rows, i, KEY_CREATED_US));
    buf_puts(b, ",\"revoked_at\":");
    render_time_or_null(b, rows, i, KEY_REVOKED_US);
}

static bool admin_only(const struct request *r, struct reply *err)
{
    if (r->who.role == ROLE_ADMIN) return true;
    *err = problem(r, PROB_FORBIDDEN, "managing keys needs an admin key");
    return false;
}

static const char *const roles[] = {"admin", "service", "user", NULL};
enum { F_ROLE, F_USER_ID, F_NAME };
static const struct jfield key_spec[] = {
    [F_ROLE] = {"role", JK_ENUM, .choices = roles},
    [F_USER_ID] = {"user_id", JK_TEXT, .nullable = true, .max = 255},
    [F_NAME] = {"name", JK_TEXT, .nullable = true, .max = 200, .allow_empty = true},
};

struct reply keys_create(struct request *r)
{
    struct reply err;
    if (!admin_only(r, &err)) return err;
    json_t *body;
    if (!body_parse(r, &body, &err)) return err;
    struct jval v[3];
    struct field_errors fe = {0};
    jspec_parse(body, key_spec, 3, v, &fe);
    if (!v[F_ROLE].present) field_error(&fe, "role", "is required");
    bool is_user = v[F_ROLE].str && !strcmp(v[F_ROLE].str, "user");
    bool has_user = v[F_USER_ID].str != NULL;
    if (v[F_ROLE].str && is_user && !has_user && fe.n == 0)
        field_error(&fe, "user_id", "is required for role user");
    if (v[F_ROLE].str && !is_user && has_user)
        field_error(&fe, "user_id", "is only allowed for role user");
    if (fe.n) {
        json_decref(body);
        return problem_fields(r, PROB_VALIDATION_FAILED, &fe);
    }
    char key[KEY_LEN + 1], hash[KEY_HASH_HEX_LEN + 1], id[37], prefix[KEY_DISPLAY_PREFIX + 1];
    if (!auth_new_key(key, hash)) {
        json_decref(body);
        return problem(r, PROB_INTERNAL_ERROR, "no randomness available");
    }
    auth_uuid(id);
    memcpy(prefix, key, KEY_DISPLAY_PREFIX);
    prefix[KEY_DISPLAY_PREFIX] = '\0';
    struct db_rows rows;
    enum db_qs qs = keys_db_insert(r->who.org_id, id, v[F_ROLE].str, v[F_USER_ID].str,
                                   v[F_NAME].str, prefix, hash, &rows);
    json_decref(body);
    if (qs <= 0) return db_failure(r, qs < 0 ? qs : DB_HARD_ERROR);
    struct buf b = {0};
    render_key(&b, &rows, 0);
    buf_puts(&b, ",\"key\":");
    buf_json_str(&b, key);
    buf_putc(&b, '}');
    db_rows_free(&rows);
    struct reply rep = reply_json(201, &b);
    rep.secret_member = "key"; /* shown once: never stored, so an Idempotency-Key replay has null */
    return rep;
}

static void render_key_item(struct buf *b, const struct db_rows *rows, int i)
{
    render_key(b, rows, i);
    buf_putc(b, '}');
}

struct reply keys_list(struct request *r)
{
    struct reply err;
    if (!admin_only(r, &err)) return err;
    struct page p;
    if (!parse_page(r, false, &p, &err)) return err;
    char bound[24];
    snprintf(bound, sizeof bound, "%s", page_open_bound(&p));
    if (p.cursor) {
        enum db_qs qs = valid_uuid(p.cursor) ? keys_db_position(r->who.org_id, p.cursor, bound) : 0;
        if (qs < 0) return db_failure(r, qs);
        if (qs == 0) return problem(r, PROB_INVALID_CURSOR, "no key %s", p.cursor);
    }
    struct db_rows rows;
    enum db_qs qs =
        keys_db_list(r->who.org_id, page_scan_asc(&p), bound, page_fetch_limit(&p), &rows);
    if (qs < 0) return db_failure(r, qs);
    struct buf b = {0};
    page_render(&b, &p, &rows, db_nrows(&rows), KEY_ID, render_key_item);
    db_rows_free(&rows);
    return reply_json(200, &b);
}

struct reply keys_revoke(struct request *r)
{
    struct reply err;
    if (!admin_only(r, &err)) return err;
    const char *id = r->params[0];
    if (!valid_uuid(id)) return problem(r, PROB_NOT_FOUND, "no key %s", id);
    struct db_rows rows;
    enum db_qs qs = keys_db_revoke(r->who.org_id, id, &rows);
    if (qs > 0) { /* before the reply: the key is dead from here on */
        auth_cache_forget(id);
        hub_end_key(id);
    }
    if (qs < 0) return db_failure(r, qs);
    if (qs == 0) return problem(r, PROB_NOT_FOUND, "no key %s", id);
    struct buf b = {0};
    render_key_item(&b, &rows, 0);
    db_rows_free(&rows);
    return reply_json(200, &b);
}
