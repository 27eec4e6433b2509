/* Threads: create, read, list, merge-patch and delete, scoped by org and by user for user keys. */
#include "routes.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db/threads.h"
#include "json.h"
#include "live.h"

#define MAX_TITLE_CHARS 1000
#define MAX_USER_ID_CHARS 255

static void render_thread_fields(struct buf *b, const struct db_rows *rows, int i)
{
    buf_puts(b, "{\"id\":");
    buf_json_str(b, db_str(rows, i, TH_ID));
    buf_puts(b, ",\"object\":\"thread\",\"user_id\":");
    buf_json_str(b, db_str(rows, i, TH_USER_ID));
    buf_puts(b, ",\"title\":");
    buf_json_str(b, db_str(rows, i, TH_TITLE));
    buf_puts(b, ",\"metadata\":");
    buf_json_compact(b, db_str(rows, i, TH_METADATA));
    buf_puts(b, ",\"message_count\":");
    buf_json_int(b, db_int(rows, i, TH_MESSAGE_COUNT));
    buf_puts(b, ",\"last_message_at\":");
    render_time_or_null(b, rows, i, TH_LAST_MESSAGE_US);
    buf_puts(b, ",\"version\":");
    buf_json_int(b, db_int(rows, i, TH_VERSION));
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, db_int(rows, i, TH_CREATED_US));
    buf_puts(b, ",\"updated_at\":");
    buf_json_time(b, db_int(rows, i, TH_UPDATED_US));
    buf_putc(b, '}');
}

/* A single-thread reply (with its ETag); frees rows. */
static struct reply thread_reply(unsigned status, struct db_rows *rows)
{
    struct buf b = {0};
    render_thread_fields(&b, rows, 0);
    struct reply rep = reply_json(status, &b);
    rep.etag_version = db_int(rows, 0, TH_VERSION);
    db_rows_free(rows);
    return rep;
}

static struct reply not_found(const struct request *r, const char *id)
{
    return problem(r, PROB_NOT_FOUND, "no thread %s", id);
}

#define MAX_INITIAL_MESSAGES 100

enum { C_ID, C_USER_ID, C_TITLE, C_METADATA, C_MESSAGES };
static const struct jfield create_spec[] = {
    [C_ID] = {"id", JK_ID},
    [C_USER_ID] = {"user_id", JK_TEXT, .nullable = true, .max = MAX_USER_ID_CHARS},
    [C_TITLE] = {"title", JK_TEXT, .nullable = true, .max = MAX_TITLE_CHARS, .allow_empty = true},
    [C_METADATA] = {"metadata", JK_METADATA, .nullable = true},
    [C_MESSAGES] = {"messages", JK_ANY},
};

/* The thread's owner: a user key always owns what it creates. */
static bool resolve_owner(const struct request *r, const struct jval *user, const char **owner,
                          struct reply *err)
{
    const char *mine = scope_user(r);
    *owner = user->str;
    if (!mine) return true;
    if (user->present && (!user->str || strcmp(user->str, mine) != 0)) {
        *err = problem(r, PROB_FORBIDDEN, "a user key can only act for its own user_id");
        return false;
    }
    *owner = mine;
    return true;
}

struct reply threads_create(struct request *r)
{
    struct reply err;
    const char *if_exists = req_query(r, "if_exists");
    if (if_exists && strcmp(if_exists, "return") != 0) {
        struct field_errors fe = {0};
        field_error(&fe, "if_exists", "must be return");
        return problem_fields(r, PROB_INVALID_QUERY, &fe);
    }
    json_t *body;
    if (!body_parse(r, &body, &err)) return err;
    struct jval v[5];
    struct field_errors fe = {0};
    const char *owner = NULL;
    if (!jspec_parse(body, create_spec, 5, v, &fe)) {
        json_decref(body);
        return problem_fields(r, PROB_VALIDATION_FAILED, &fe);
    }
    if (!resolve_owner(r, &v[C_USER_ID], &owner, &err)) {
        json_decref(body);
        return err;
    }
    char id[MAX_ID_LEN + 1];
    if (v[C_ID].str)
        snprintf(id, sizeof id, "%s", v[C_ID].str);
    else
        auth_uuid(id);
    struct message_in *msgs = NULL;
    int nmsgs = 0;
    if (v[C_MESSAGES].present &&
        !message_list_parse(r, body, "messages", MAX_INITIAL_MESSAGES, &msgs, &nmsgs, &err)) {
        json_decref(body);
        return err;
    }
    char *metadata =
        metadata_member((struct jspan){r->body.data, r->body.len}, body, "metadata", &fe);
    if (fe.n) {
        message_list_free(msgs, nmsgs);
        json_decref(body);
        return problem_fields(r, PROB_VALIDATION_FAILED, &fe);
    }
    struct db_rows rows;
    enum db_qs qs =
        threads_db_insert(r->who.org_id, id, owner, v[C_TITLE].str, metadata, msgs, nmsgs, &rows);
    free(metadata);
    message_list_free(msgs, nmsgs);
    json_decref(body);
    if (qs == DB_CONFLICT) return problem(r, PROB_MESSAGE_EXISTS, "a message id is taken");
    if (qs < 0) return db_failure(r, qs);
    if (qs > 0) return thread_reply(201, &rows);
    db_rows_free(&rows);
    if (if_exists) {
        qs = threads_db_get(r->who.org_id, scope_user(r), id, &rows);
        if (qs < 0) return db_failure(r, qs);
        if (qs > 0) return thread_reply(200, &rows);
        db_rows_free(&rows);
    }
    return problem(r, PROB_THREAD_EXISTS, "thread %s exists", id);
}

struct reply threads_get(struct request *r)
{
    const char *id = r->params[0];
    if (!valid_id(id)) return not_found(r, id);
    struct db_rows rows;
    enum db_qs qs = threads_db_get(r->who.org_id, scope_user(r), id, &rows);
    if (qs < 0) return db_failure(r, qs);
    if (qs == 0) {
        db_rows_free(&rows);
        return not_found(r, id);
    }
    return thread_reply(200, &rows);
}

struct reply threads_delete(struct request *r)
{
    const char *id = r->params[0];
    if (!valid_id(id)) return not_found(r, id);
    enum db_qs qs = threads_db_delete(r->who.org_id, scope_user(r), id);
    if (qs < 0) return db_failure(r, qs);
    if (qs == 0) return not_found(r, id);
    live_thread_deleted(r->who.org_id, id); /* its open streams end */
    struct buf b = {0};
    buf_puts(&b, "{\"id\":");
    buf_json_str(&b, id);
    buf_puts(&b, ",\"object\":\"thread.deleted\",\"deleted\":true}");
    return reply_json(200, &b);
}

enum { U_TITLE, U_METADATA, U_USER_ID };
static const struct jfield update_spec[] = {
    [U_TITLE] = {"title", JK_TEXT, .nullable = true, .max = MAX_TITLE_CHARS, .allow_empty = true},
    [U_METADATA] = {"metadata", JK_METADATA},
    [U_USER_ID] = {"user_id", JK_ANY, .nullable = true},
};

/*
 * The version an If-Match header pins the update to: *pinned is NULL when there is no
 * precondition. False with *err set when the thread is missing or If-Match names another version.
 */
static bool check_if_match(struct request *r, const char *id, char pinned[24], const char **out,
                           struct reply *err)
{
    *out = NULL;
    const char *h = req_header(r, "If-Match");
    if (!h || !strcmp(h, "*")) return true;
    struct db_rows rows;
    enum db_qs qs = threads_db_get(r->who.org_id, scope_user(r), id, &rows);
    if (qs <= 0) {
        *err = qs < 0 ? db_failure(r, qs) : not_found(r, id);
        return false;
    }
    long long version = db_int(&rows, 0, TH_VERSION);
    db_rows_free(&rows);
    if (!if_match_matches(h, version)) {
        *err = problem(r, PROB_PRECONDITION_FAILED, "the thread is at version %lld", version);
        return false;
    }
    snprintf(pinned, 24, "%lld", version);
    *out = pinned;
    return true;
}

struct reply threads_update(struct request *r)
{
    struct reply err;
    const char *id = r->params[0];
    if (!valid_id(id)) return not_found(r, id);
    json_t *body;
    if (!body_parse(r, &body, &err)) return err;
    struct jval v[3];
    struct field_errors fe = {0};
    jspec_parse(body, update_spec, 3, v, &fe);
    if (v[U_USER_ID].present) field_error(&fe, "user_id", "cannot be changed");
    char *patch =
        fe.n ? NULL
             : metadata_member((struct jspan){r->body.data, r->body.len}, body, "metadata", &fe);
    char pinned[24];
    const char *version;
    if (fe.n || !check_if_match(r, id, pinned, &version, &err)) {
        free(patch);
        json_decref(body);
        return fe.n ? problem_fields(r, PROB_VALIDATION_FAILED, &fe) : err;
    }
    struct db_rows rows;
    enum db_qs qs = threads_db_update(r->who.org_id, scope_user(r), id, v[U_TITLE].present,
                                      v[U_TITLE].str, patch, version, &rows);
    free(patch);
    json_decref(body);
    if (qs < 0) return db_failure(r, qs);
    if (qs > 0) return thread_reply(200, &rows);
    /* Nothing matched: deleted meanwhile, or (when pinned) changed since If-Match was checked. */
    return version ? problem(r, PROB_PRECONDITION_FAILED, "the thread changed; read it again")
                   : not_found(r, id);
}

bool threads_parse_filter(const struct request *r, struct thread_filter *f, char *created[2],
                          char **metadata, struct reply *err)
{
    struct field_errors fe = {0};
    const char *user = req_query(r, "user_id");
    if (user && (!text_ok(user) || !*user || text_chars(user) > MAX_USER_ID_CHARS))
        field_error(&fe, "user_id", "must be 1-%d characters", MAX_USER_ID_CHARS);
    f->user = user;
    const char *mine = scope_user(r);
    if (mine) {
        if (user && strcmp(user, mine) != 0 && fe.n == 0) {
            *err = problem(r, PROB_FORBIDDEN, "a user key can only list its own threads");
            return false;
        }
        f->user = mine;
    }
    const char *m = req_query(r, "metadata");
    if (m) {
        json_t *doc = NULL;
        size_t n = strlen(m);
        if (json_text_depth(m, n, MAX_JSON_DEPTH) <= MAX_JSON_DEPTH)
            doc = json_loads(m, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, NULL);
        if (!json_is_object(doc) || json_stored_len(m, n) > MAX_METADATA_BYTES)
            field_error(&fe, "metadata", "must be a JSON object within the metadata limit");
        else
            *metadata = strdup(m); /* the client's text: jansson would turn 0.1 into 0.1000…01 */
        json_decref(doc);
    }
    f->metadata = *metadata;
    static const char *const names[2] = {"created_after", "created_before"};
    for (int i = 0; i < 2; i++) {
        const char *s = req_query(r, names[i]);
        int64_t us;
        if (!s) continue;
        if (!parse_rfc3339(s, &us)) {
            field_error(&fe, names[i], "must be an RFC 3339 timestamp");
            continue;
        }
        char text[TIME_TEXT_LEN + 1];
        time_text(us, text);
        created[i] = strdup(text);
    }
    f->created_after = created[0];
    f->created_before = created[1];
    if (fe.n == 0) return true;
    *err = problem_fields(r, PROB_INVALID_QUERY, &fe);
    return false;
}

struct reply threads_list(struct request *r)
{
    struct reply rep;
    struct page p;
    if (!parse_page(r, false, &p, &rep)) return rep;
    struct thread_filter f = {0};
    char *created[2] = {NULL, NULL}, *metadata = NULL;
    if (!threads_parse_filter(r, &f, created, &metadata, &rep)) goto out;
    char bound[24];
    snprintf(bound, sizeof bound, "%s", page_open_bound(&p));
    if (p.cursor) {
        enum db_qs qs = threads_db_position(r->who.org_id, scope_user(r), p.cursor, bound);
        if (qs <= 0) {
            rep = qs < 0 ? db_failure(r, qs)
                         : problem(r, PROB_INVALID_CURSOR, "no thread %s", p.cursor);
            goto out;
        }
    }
    struct db_rows rows;
    enum db_qs qs =
        threads_db_list(r->who.org_id, &f, page_scan_asc(&p), bound, page_fetch_limit(&p), &rows);
    if (qs < 0) {
        rep = db_failure(r, qs);
        goto out;
    }
    struct buf b = {0};
    page_render(&b, &p, &rows, db_nrows(&rows), TH_ID, render_thread_fields);
    db_rows_free(&rows);
    rep = reply_json(200, &b);
out:
    free(created[0]);
    free(created[1]);
    free(metadata);
    return rep;
}
