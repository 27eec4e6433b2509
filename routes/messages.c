/* Messages of a thread: append one or a batch, page, read, stream with PATCH append, delete. */
#include "routes.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "db/messages.h"
#include "json.h"

#define MAX_CONTENT_BYTES (512 * 1024)
#define MAX_BATCH 1000

static void render_message(struct buf *b, const struct db_rows *rows, int i)
{
    buf_puts(b, "{\"id\":");
    buf_json_str(b, db_str(rows, i, M_ID));
    buf_puts(b, ",\"object\":\"message\",\"thread_id\":");
    buf_json_str(b, db_str(rows, i, M_THREAD_ID));
    buf_puts(b, ",\"seq\":");
    buf_puts(b, db_str(rows, i, M_SEQ));
    buf_puts(b, ",\"role\":");
    buf_json_str(b, db_str(rows, i, M_ROLE));
    buf_puts(b, ",\"content\":");
    buf_puts(b, db_str(rows, i, M_CONTENT)); /* stored JSON text, embedded as is */
    buf_puts(b, ",\"name\":");
    buf_json_str(b, db_str(rows, i, M_NAME));
    buf_puts(b, ",\"status\":");
    buf_json_str(b, db_str(rows, i, M_STATUS));
    buf_puts(b, ",\"run_id\":");
    buf_json_str(b, db_str(rows, i, M_RUN_ID));
    buf_puts(b, ",\"metadata\":");
    buf_json_compact(b, db_str(rows, i, M_METADATA));
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, db_int(rows, i, M_CREATED_US));
    buf_puts(b, ",\"updated_at\":");
    buf_json_time(b, db_int(rows, i, M_UPDATED_US));
    if (!db_is_null(rows, i, M_TOOL_CALLS)) {
        buf_puts(b, ",\"tool_calls\":");
        buf_puts(b, db_str(rows, i, M_TOOL_CALLS)); /* stored JSON text */
    }
    if (!db_is_null(rows, i, M_TOOL_CALL_ID)) {
        buf_puts(b, ",\"tool_call_id\":");
        buf_json_str(b, db_str(rows, i, M_TOOL_CALL_ID));
    }
    buf_putc(b, '}');
}

/* The thread id from the path; false (with a 404) when it cannot name a thread. */
static bool thread_param(const struct request *r, struct reply *err)
{
    if (valid_id(r->params[0])) return true;
    *err = problem(r, PROB_NOT_FOUND, "no thread %s", r->params[0]);
    return false;
}

static struct reply append_failed(const struct request *r, enum db_qs qs)
{
    if (qs == DB_CONFLICT) return problem(r, PROB_MESSAGE_EXISTS, "a message id is taken");
    if (qs < 0) return db_failure(r, qs);
    return problem(r, PROB_NOT_FOUND, "no thread %s", r->params[0]);
}

struct reply messages_create(struct request *r)
{
    struct reply err;
    if (!thread_param(r, &err)) return err;
    json_t *body;
    if (!body_parse(r, &body, &err)) return err;
    struct field_errors fe = {0};
    struct message_in m;
    message_parse(body, (struct jspan){r->body.data, r->body.len}, NULL, 0, &m, &fe);
    if (fe.n) {
        json_decref(body);
        return problem_fields(r, PROB_VALIDATION_FAILED, &fe);
    }
    struct db_rows rows;
    enum db_qs qs = messages_db_append(r->who.org_id, scope_user(r), r->params[0], &m, 1, &rows);
    message_in_free(&m);
    json_decref(body); /* m borrowed name and run_id from it */
    if (qs <= 0) {
        db_rows_free(&rows);
        return append_failed(r, qs);
    }
    struct buf b = {0};
    render_message(&b, &rows, 0);
    db_rows_free(&rows);
    return reply_json(201, &b);
}

struct reply messages_create_batch(struct request *r)
{
    struct reply err;
    if (!thread_param(r, &err)) return err;
    json_t *body;
    if (!body_parse(r, &body, &err)) return err;
    struct message_in *m;
    int n;
    struct field_errors fe = {0};
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val)
    {
        if (strcmp(key, "messages") != 0) field_error(&fe, key, "is not a known field");
    }
    if (fe.n) {
        json_decref(body);
        return problem_fields(r, PROB_VALIDATION_FAILED, &fe);
    }
    if (!message_list_parse(r, body, "messages", MAX_BATCH, &m, &n, &err)) {
        json_decref(body);
        return err;
    }
    if (n == 0) {
        message_list_free(m, n);
        json_decref(body);
        field_error(&fe, "messages", "must hold at least one message");
        return problem_fields(r, PROB_VALIDATION_FAILED, &fe);
    }
    struct db_rows rows;
    enum db_qs qs = messages_db_append(r->who.org_id, scope_user(r), r->params[0], m, n, &rows);
    message_list_free(m, n);
    json_decref(body);
    if (qs <= 0) {
        db_rows_free(&rows);
        return append_failed(r, qs);
    }
    struct page all = {.limit = db_nrows(&rows), .asc = true};
    struct buf b = {0};
    page_render(&b, &all, &rows, db_nrows(&rows), M_ID, render_message);
    db_rows_free(&rows);
    return reply_json(201, &b);
}

/* One of choices, or an invalid_query error. */
static const char *query_choice(const struct request *r, const char *name,
                                const char *const *choices, struct field_errors *fe)
{
    const char *v = req_query(r, name);
    if (!v) return NULL;
    for (int i = 0; choices[i]; i++)
        if (!strcmp(v, choices[i])) return choices[i];
    field_error(fe, name, "is not one of the allowed values");
    return NULL;
}

struct reply messages_list(struct request *r)
{
    struct reply err;
    if (!thread_param(r, &err)) return err;
    struct page p;
    if (!parse_page(r, false, &p, &err)) return err;
    struct field_errors fe = {0};
    struct message_filter f = {0};
    f.role = query_choice(r, "role", message_roles, &fe);
    f.status = query_choice(r, "status", message_statuses, &fe);
    f.run_id = req_query(r, "run_id");
    if (f.run_id && !valid_id(f.run_id)) field_error(&fe, "run_id", "must be an object id");
    if (fe.n) return problem_fields(r, PROB_INVALID_QUERY, &fe);
    struct db_rows rows;
    enum db_qs qs = messages_db_list(r->who.org_id, scope_user(r), r->params[0], p.cursor,
                                     page_scan_asc(&p), &f, page_fetch_limit(&p), &rows);
    if (qs < 0) return db_failure(r, qs);
    struct reply rep;
    if (qs == 0)
        rep = problem(r, PROB_NOT_FOUND, "no thread %s", r->params[0]);
    else if (db_is_null(&rows, 0, M_NCOLS))
        rep = problem(r, PROB_INVALID_CURSOR, "no message %s in this thread", p.cursor);
    else {
        /* A thread without matching messages yields one row of NULL message columns. */
        int n = db_is_null(&rows, 0, M_ID) ? 0 : db_nrows(&rows);
        struct buf b = {0};
        page_render(&b, &p, &rows, n, M_ID, render_message);
        rep = reply_json(200, &b);
    }
    db_rows_free(&rows);
    return rep;
}

/* The message id from the path; false (with a 404) when it cannot name one. */
static bool message_param(const struct request *r, struct reply *err)
{
    if (!thread_param(r, err)) return false;
    if (valid_id(r->params[1])) return true;
    *err = problem(r, PROB_NOT_FOUND, "no message %s", r->params[1]);
    return false;
}

/* A single-message reply from rows (freed). */
static struct reply message_reply(unsigned status, struct db_rows *rows)
{
    struct buf b = {0};
    render_message(&b, rows, 0);
    db_rows_free(rows);
    return reply_json(status, &b);
}

struct reply messages_get(struct request *r)
{
    struct reply err;
    if (!message_param(r, &err)) return err;
    struct db_rows rows;
    enum db_qs qs =
        messages_db_get(r->who.org_id, scope_user(r), r->params[0], r->params[1], &rows);
    if (qs < 0) return db_failure(r, qs);
    if (qs == 0) {
        db_rows_free(&rows);
        return problem(r, PROB_NOT_FOUND, "no message %s", r->params[1]);
    }
    return message_reply(200, &rows);
}

enum { P_CONTENT, P_APPEND, P_STATUS, P_METADATA, P_TCALLS, P_COUNT };
static const struct jfield patch_spec[] = {
    [P_CONTENT] = {"content", JK_ANY},
    [P_APPEND] = {"append", JK_STRING},
    [P_STATUS] = {"status", JK_ENUM, .choices = message_statuses},
    [P_METADATA] = {"metadata", JK_METADATA},
    [P_TCALLS] = {"tool_calls", JK_ANY},
};

/* Prefer (RFC 7240) is a comma-separated list; return=minimal asks for 204 without a body. */
static bool prefers_minimal(const struct request *r)
{
    const char *p = req_header(r, "Prefer");
    while (p && *p) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",;");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 14 && !strncasecmp(p, "return=minimal", 14)) return true;
        p += strcspn(p, ",");
    }
    return false;
}

/* After a refused append or patch: the reason, from the message's current state. */
static struct reply patch_refused(struct request *r, enum patch_refusal why)
{
    if (why == PATCH_NOT_FOUND) return problem(r, PROB_NOT_FOUND, "no message %s", r->params[1]);
    if (why == PATCH_NOT_STRING || why == PATCH_TOO_LONG || why == PATCH_NOT_ASSISTANT) {
        struct field_errors fe = {0};
        if (why == PATCH_NOT_ASSISTANT)
            field_error(&fe, "tool_calls", "only assistant messages have tool calls");
        else if (why == PATCH_NOT_STRING)
            field_error(&fe, "append", "the message content is not a string");
        else
            field_error(&fe, "append", "the content would exceed %d bytes", MAX_CONTENT_BYTES);
        return problem_fields(r, PROB_VALIDATION_FAILED, &fe);
    }
    return problem(r, PROB_INVALID_STATE_TRANSITION,
                   "a completed or incomplete message cannot change status or be appended to");
}

/* Why the one-statement append matched nothing. */
static struct reply append_refused(struct request *r)
{
    struct db_rows rows;
    enum db_qs qs =
        messages_db_get(r->who.org_id, scope_user(r), r->params[0], r->params[1], &rows);
    if (qs < 0) return db_failure(r, qs);
    enum patch_refusal why = PATCH_NOT_FOUND;
    if (qs > 0 && strcmp(db_str(&rows, 0, M_STATUS), "in_progress") != 0)
        why = PATCH_FINAL;
    else if (qs > 0)
        why = db_str(&rows, 0, M_CONTENT)[0] == '"' ? PATCH_TOO_LONG : PATCH_NOT_STRING;
    db_rows_free(&rows);
    return patch_refused(r, why);
}

static struct reply patched(const struct request *r, struct db_rows *rows)
{
    if (prefers_minimal(r)) {
        db_rows_free(rows);
        struct buf none = {0};
        struct reply rep = reply_json(204, &none);
        rep.content_type = NULL;
        rep.preference_applied = "return=minimal";
        return rep;
    }
    return message_reply(200, rows);
}

struct reply messages_update(struct request *r)
{
    struct reply err;
    if (!message_param(r, &err)) return err;
    json_t *body;
    if (!body_parse(r, &body, &err)) return err;
    struct jval v[P_COUNT];
    struct field_errors fe = {0};
    jspec_parse(body, patch_spec, P_COUNT, v, &fe);
    if (v[P_CONTENT].present && !content_shape_ok(v[P_CONTENT].json, NULL))
        field_error(&fe, "content", "must be a string or an array of parts with a type");
    if (v[P_CONTENT].present && v[P_APPEND].present)
        field_error(&fe, "append", "cannot be combined with content");
    if (v[P_TCALLS].present) tool_calls_check(v[P_TCALLS].json, "tool_calls", &fe);
    struct jspan raw = {r->body.data, r->body.len};
    size_t clen = 0;
    char *content = fe.n ? NULL : json_member_text(raw, body, "content", &clen);
    if (clen > MAX_CONTENT_BYTES)
        field_error(&fe, "content", "must be at most %d bytes", MAX_CONTENT_BYTES);
    char *metadata = fe.n ? NULL : metadata_member(raw, body, "metadata", &fe);
    char *calls = fe.n ? NULL : json_member_text(raw, body, "tool_calls", &clen);
    if (calls && clen > MAX_CONTENT_BYTES)
        field_error(&fe, "tool_calls", "must be at most %d bytes", MAX_CONTENT_BYTES);
    struct reply rep;
    struct db_rows rows;
    enum db_qs qs;
    if (fe.n) {
        rep = problem_fields(r, PROB_VALIDATION_FAILED, &fe);
    } else if (v[P_APPEND].present && !v[P_STATUS].present && !v[P_METADATA].present && !calls) {
        /* The streaming hot path: one statement. */
        qs = messages_db_append_delta(r->who.org_id, scope_user(r), r->params[0], r->params[1],
                                      v[P_APPEND].str, prefers_minimal(r), &rows);
        rep = qs < 0 ? db_failure(r, qs) : qs == 0 ? append_refused(r) : patched(r, &rows);
        if (qs == 0) db_rows_free(&rows);
    } else {
        struct message_patch p = {content, v[P_APPEND].str, v[P_STATUS].str, metadata, calls};
        enum patch_refusal why;
        qs = messages_db_patch(r->who.org_id, scope_user(r), r->params[0], r->params[1], &p, &why,
                               &rows);
        rep = qs < 0 ? db_failure(r, qs) : qs == 0 ? patch_refused(r, why) : patched(r, &rows);
    }
    free(content);
    free(metadata);
    free(calls);
    json_decref(body);
    return rep;
}

struct reply messages_delete(struct request *r)
{
    struct reply err;
    if (!message_param(r, &err)) return err;
    enum db_qs qs = messages_db_delete(r->who.org_id, scope_user(r), r->params[0], r->params[1]);
    if (qs < 0) return db_failure(r, qs);
    if (qs == 0) return problem(r, PROB_NOT_FOUND, "no message %s", r->params[1]);
    struct buf b = {0};
    buf_puts(&b, "{\"id\":");
    buf_json_str(&b, r->params[1]);
    buf_puts(&b, ",\"object\":\"message.deleted\",\"deleted\":true}");
    return reply_json(200, &b);
}

struct reply messages_clear(struct request *r)
{
    struct reply err;
    if (!thread_param(r, &err)) return err;
    long long count = 0;
    enum db_qs qs = messages_db_clear(r->who.org_id, scope_user(r), r->params[0], &count);
    if (qs < 0) return db_failure(r, qs);
    if (qs == 0) return problem(r, PROB_NOT_FOUND, "no thread %s", r->params[0]);
    struct buf b = {0};
    buf_puts(&b, "{\"object\":\"thread.messages.deleted\",\"thread_id\":");
    buf_json_str(&b, r->params[0]);
    buf_printf(&b, ",\"deleted_count\":%lld}", count);
    return reply_json(200, &b);
}
