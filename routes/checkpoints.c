/* LangGraph checkpoints over HTTP: one request per saver call (put, writes, get a tuple, list,
 * delete a thread's, prune). Everything the saver serialised is stored as its JSON text. */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/checkpoints.h"
#include "json.h"

#define LIST_DEFAULT 100
#define LIST_MAX 1000

/* The four columns of text[] literals that carry a batch of tuples (blobs or writes). */
struct columns {
    struct buf c[4];
};

static void columns_open(struct columns *k)
{
    for (int i = 0; i < 4; i++) {
        k->c[i] = (struct buf){0};
        buf_putc(&k->c[i], '{');
    }
}

static void columns_close(struct columns *k)
{
    for (int i = 0; i < 4; i++)
        buf_putc(&k->c[i], '}');
}

static void columns_free(struct columns *k)
{
    for (int i = 0; i < 4; i++)
        buf_free(&k->c[i]);
}

/* Whether s is base64 (RFC 4648, padded). */
static bool base64_ok(const char *s)
{
    size_t n = strlen(s), pad = 0;
    if (n % 4) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad || !(alnum || c == '+' || c == '/')) return false;
    }
    return pad <= 2;
}

/* v as an integer in [lo, hi] (bodies parse every number as a double); false otherwise. */
static bool integral(json_t *v, long long lo, long long hi, long long *out)
{
    double d = json_is_real(v)      ? json_real_value(v)
               : json_is_integer(v) ? (double)json_integer_value(v)
                                    : 0.5;
    if (!(d >= (double)lo && d <= (double)hi) || d != (double)(long long)d) return false;
    *out = (long long)d;
    return true;
}

/* Element i of a JSON array value as a string without NUL, or NULL. */
static const char *array_str(json_t *a, size_t i)
{
    json_t *v = json_array_get(a, i);
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) return NULL;
    return json_string_value(v);
}

/*
 * A value's type and data (elements ti and ti+1 of tuple t, whose raw text is raw): the type a
 * string, the data a string (base64 unless the type is "json") or null. The data's JSON token
 * is added to col as one text[] element (NULL for null). False with an error for `field`.
 */
static bool typed_value(json_t *t, struct jspan raw, size_t ti, struct buf *types, struct buf *col,
                        const char *field, struct field_errors *fe)
{
    const char *type = array_str(t, ti);
    json_t *data = json_array_get(t, ti + 1);
    if (!type || !*type) {
        field_error(fe, field, "type must be a non-empty string");
        return false;
    }
    if (!json_is_null(data) && !json_is_string(data)) {
        field_error(fe, field, "data must be a string or null");
        return false;
    }
    if (json_is_string(data) && strcmp(type, "json") && !base64_ok(json_string_value(data))) {
        field_error(fe, field, "data must be base64 unless the type is json");
        return false;
    }
    struct jspan tok = {NULL, 0};
    size_t pos = 0;
    for (size_t i = 0; i <= ti + 1; i++)
        if (!jspan_next_element(raw, &pos, &tok)) tok.p = NULL;
    db_array_add(types, type);
    if (json_is_null(data)) {
        db_array_add(col, NULL);
    } else if (tok.p) {
        char *text = strndup(tok.p, tok.n);
        if (!text) abort();
        db_array_add(col, text);
        free(text);
    } else {
        char *text = json_dumps(data, JSON_ENCODE_ANY);
        db_array_add(col, text);
        free(text);
    }
    return true;
}

/* Walks body[key], an array of tuples of `arity` elements, calling each(i, tuple, raw). */
typedef bool (*tuple_fn)(void *cls, size_t i, json_t *t, struct jspan raw, struct field_errors *fe);
static void each_tuple(const struct request *r, json_t *body, const char *key, size_t arity,
                       tuple_fn each, void *cls, struct field_errors *fe)
{
    json_t *arr = json_object_get(body, key);
    if (!json_is_array(arr)) {
        field_error(fe, key, "must be an array of [%zu-element arrays]", arity);
        return;
    }
    struct jspan whole = {r->body.data, r->body.len}, raw_arr = {NULL, 0}, elem = {NULL, 0};
    bool have_raw = jspan_member(whole, key, &raw_arr);
    size_t pos = 0;
    for (size_t i = 0; i < json_array_size(arr) && fe->n == 0; i++) {
        if (!have_raw || !jspan_next_element(raw_arr, &pos, &elem)) elem = (struct jspan){"", 0};
        json_t *t = json_array_get(arr, i);
        if (!json_is_array(t) || json_array_size(t) != arity) {
            char field[48];
            snprintf(field, sizeof field, "%s[%zu]", key, i);
            field_error(fe, field, "must be an array of %zu elements", arity);
            return;
        }
        each(cls, i, t, elem, fe);
    }
}

static bool blob(void *cls, size_t i, json_t *t, struct jspan raw, struct field_errors *fe)
{
    struct columns *k = cls;
    char field[48];
    snprintf(field, sizeof field, "blobs[%zu]", i);
    const char *channel = array_str(t, 0), *version = array_str(t, 1);
    if (!channel || !version) {
        field_error(fe, field, "channel and version must be strings");
        return false;
    }
    db_array_add(&k->c[0], channel);
    db_array_add(&k->c[1], version);
    return typed_value(t, raw, 2, &k->c[2], &k->c[3], field, fe);
}

/* checkpoint.channel_versions as two text[] literals (versions: strings, or numbers as their
 * JSON text, which is how the saver writes them into blobs). */
static bool channel_versions(json_t *checkpoint, struct buf *channels, struct buf *versions,
                             struct field_errors *fe)
{
    json_t *cv = json_object_get(checkpoint, "channel_versions");
    buf_putc(channels, '{');
    buf_putc(versions, '{');
    if (cv && !json_is_object(cv)) {
        field_error(fe, "checkpoint.channel_versions", "must be an object");
        return false;
    }
    const char *ch;
    json_t *v;
    json_object_foreach(cv, ch, v)
    {
        char num[24];
        long long n;
        const char *text = json_string_value(v);
        if (!text && integral(v, -(1LL << 53), 1LL << 53, &n)) {
            snprintf(num, sizeof num, "%lld", n);
            text = num;
        }
        if (!text) {
            field_error(fe, "checkpoint.channel_versions", "versions must be strings or integers");
            return false;
        }
        db_array_add(channels, ch);
        db_array_add(versions, text);
    }
    buf_putc(channels, '}');
    buf_putc(versions, '}');
    return true;
}

#define MAX_TTL_SECONDS 315360000 /* ten years */

enum { P_NS, P_PARENT, P_CHECKPOINT, P_METADATA, P_BLOBS, P_TTL, P_COUNT };
static const struct jfield put_spec[] = {
    [P_NS] = {"checkpoint_ns", JK_STRING, .nullable = false},
    [P_PARENT] = {"parent_checkpoint_id", JK_STRING, .nullable = true},
    [P_CHECKPOINT] = {"checkpoint", JK_ANY, .nullable = false},
    [P_METADATA] = {"metadata", JK_ANY, .nullable = false},
    [P_BLOBS] = {"blobs", JK_ANY, .nullable = false},
    [P_TTL] = {"ttl_seconds", JK_ANY, .nullable = true},
};

/* The metadata {type, data}: the type, the data's JSON token (malloc'd), and the data itself as
 * jsonb input when it is a JSON object jsonb can hold (malloc'd, else NULL). */
static bool parse_metadata(const struct request *r, json_t *m, const char **type, char **token,
                           char **as_json, struct field_errors *fe)
{
    json_t *data = json_object_get(m, "data");
    *type = json_string_value(json_object_get(m, "type"));
    if (!json_is_object(m) || json_object_size(m) != 2 || !*type || !**type ||
        !json_is_string(data)) {
        field_error(fe, "metadata", "must be {\"type\": string, \"data\": string}");
        return false;
    }
    struct jspan whole = {r->body.data, r->body.len}, mraw, draw;
    if (jspan_member(whole, "metadata", &mraw) && jspan_member(mraw, "data", &draw))
        *token = strndup(draw.p, draw.n);
    else
        *token = json_dumps(data, JSON_ENCODE_ANY);
    if (!*token) abort();
    const char *text = json_string_value(data);
    if (strcmp(*type, "json")) {
        if (base64_ok(text)) return true;
        field_error(fe, "metadata", "data must be base64 unless the type is json");
        return false;
    }
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, NULL);
    if (json_is_object(doc) &&
        json_text_depth(text, strlen(text), MAX_JSON_DEPTH) <= MAX_JSON_DEPTH)
        *as_json = strdup(text);
    json_decref(doc);
    return true;
}

static struct reply stored(const struct request *r, enum db_qs qs, enum ckpt_outcome out,
                           const char *ns)
{
    if (qs < 0) return db_failure(r, qs);
    if (out == CKPT_NOT_FOUND) return problem(r, PROB_NOT_FOUND, "no thread %s", r->params[0]);
    struct buf b = {0};
    if (!ns) return reply_json(204, &b);
    buf_puts(&b, "{\"thread_id\":");
    buf_json_str(&b, r->params[0]);
    buf_puts(&b, ",\"checkpoint_ns\":");
    buf_json_str(&b, ns);
    buf_puts(&b, ",\"checkpoint_id\":");
    buf_json_str(&b, r->params[1]);
    buf_putc(&b, '}');
    return reply_json(201, &b);
}

/* The body of a put or writes, once the path's ids are checked: "latest" names the newest
 * checkpoint and .../checkpoints/prune is an action, so neither is a checkpoint id. False with
 * *err set. */
static bool write_body(const struct request *r, json_t **body, struct reply *err)
{
    const char *thread = r->params[0], *id = r->params[1];
    if (!valid_id(thread) || !valid_id(id)) {
        *err = problem(r, PROB_NOT_FOUND, "no thread %s", thread);
        return false;
    }
    if (!strcmp(id, "latest") || !strcmp(id, "prune")) {
        struct field_errors fe = {0};
        field_error(&fe, "checkpoint_id", "latest and prune are not checkpoint ids");
        *err = problem_fields(r, PROB_VALIDATION_FAILED, &fe);
        return false;
    }
    return body_parse(r, body, err);
}

struct reply checkpoints_put(struct request *r)
{
    struct reply err;
    const char *thread = r->params[0], *id = r->params[1];
    json_t *body;
    if (!write_body(r, &body, &err)) return err;
    struct jval v[P_COUNT];
    struct field_errors fe = {0};
    jspec_parse(body, put_spec, P_COUNT, v, &fe);
    json_t *ck = v[P_CHECKPOINT].json;
    if (!fe.n && !json_is_object(ck)) field_error(&fe, "checkpoint", "must be an object");
    json_t *cid = json_object_get(ck, "id");
    if (!fe.n && (!json_is_string(cid) || strcmp(json_string_value(cid), id)))
        field_error(&fe, "checkpoint.id", "must be the checkpoint id of the path");
    long long ver = 4; /* the current format when the checkpoint does not say */
    json_t *vj = json_object_get(ck, "v");
    if (!fe.n && vj && !integral(vj, 0, 1000000, &ver))
        field_error(&fe, "checkpoint.v", "must be an integer");
    long long ttl = 0;
    if (!fe.n && v[P_TTL].present && !v[P_TTL].is_null &&
        !integral(v[P_TTL].json, 1, MAX_TTL_SECONDS, &ttl))
        field_error(&fe, "ttl_seconds", "must be an integer of seconds from 1 to %d",
                    MAX_TTL_SECONDS);
    struct buf channels = {0}, versions = {0};
    struct columns blobs;
    columns_open(&blobs);
    const char *mtype = NULL;
    char *mtoken = NULL, *mjson = NULL, *ckpt = NULL;
    if (!fe.n) channel_versions(ck, &channels, &versions, &fe);
    if (!fe.n) parse_metadata(r, v[P_METADATA].json, &mtype, &mtoken, &mjson, &fe);
    if (!fe.n) each_tuple(r, body, "blobs", 4, blob, &blobs, &fe);
    columns_close(&blobs);
    size_t len;
    if (!fe.n)
        ckpt =
            json_member_text((struct jspan){r->body.data, r->body.len}, body, "checkpoint", &len);
    struct reply rep;
    if (fe.n) {
        rep = problem_fields(r, PROB_VALIDATION_FAILED, &fe);
    } else {
        char vtext[24];
        snprintf(vtext, sizeof vtext, "%lld", ver);
        const char *ns = v[P_NS].str ? v[P_NS].str : "";
        struct checkpoint_in c = {ns,
                                  id,
                                  v[P_PARENT].str,
                                  vtext,
                                  ckpt,
                                  channels.data,
                                  versions.data,
                                  mtype,
                                  mtoken,
                                  mjson,
                                  blobs.c[0].data,
                                  blobs.c[1].data,
                                  blobs.c[2].data,
                                  blobs.c[3].data,
                                  NULL};
        char ttl_text[24];
        snprintf(ttl_text, sizeof ttl_text, "%lld", ttl);
        c.ttl_seconds = ttl ? ttl_text : NULL;
        enum ckpt_outcome out = CKPT_NOT_FOUND;
        enum db_qs qs = ckpt_db_put(r->who.org_id, scope_user(r), thread, &c, &out);
        rep = stored(r, qs, out, ns);
    }
    free(ckpt);
    free(mtoken);
    free(mjson);
    buf_free(&channels);
    buf_free(&versions);
    columns_free(&blobs);
    json_decref(body);
    return rep;
}

struct write_cols {
    struct buf idx;
    struct columns k; /* channel, type, data (the fourth unused) */
};

static bool one_write(void *cls, size_t i, json_t *t, struct jspan raw, struct field_errors *fe)
{
    struct write_cols *w = cls;
    char field[48];
    snprintf(field, sizeof field, "writes[%zu]", i);
    long long n;
    const char *channel = array_str(t, 1);
    if (!integral(json_array_get(t, 0), -1000000000LL, 1000000000LL, &n)) {
        field_error(fe, field, "idx must be an integer");
        return false;
    }
    if (!channel) {
        field_error(fe, field, "channel must be a string");
        return false;
    }
    buf_printf(&w->idx, "%s%lld", w->idx.len > 1 ? "," : "", n);
    db_array_add(&w->k.c[0], channel);
    return typed_value(t, raw, 2, &w->k.c[1], &w->k.c[2], field, fe);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* Whether the int[] literal's n entries are all different (a batch writes each idx once). */
static bool distinct_idx(const char *lit, size_t n)
{
    long long *v = malloc((n + 1) * sizeof *v);
    if (!v) abort();
    size_t k = 0;
    for (const char *p = lit + 1; *p && *p != '}' && k < n;) {
        char *end;
        v[k++] = strtoll(p, &end, 10);
        p = *end == ',' ? end + 1 : end;
    }
    qsort(v, k, sizeof *v, cmp_ll);
    bool ok = true;
    for (size_t i = 1; i < k && ok; i++)
        ok = v[i] != v[i - 1];
    free(v);
    return ok;
}

enum { W_NS, W_TASK, W_PATH, W_WRITES, W_COUNT };
static const struct jfield writes_spec[] = {
    [W_NS] = {"checkpoint_ns", JK_STRING, .nullable = false},
    [W_TASK] = {"task_id", JK_STRING, .nullable = false},
    [W_PATH] = {"task_path", JK_STRING, .nullable = false},
    [W_WRITES] = {"writes", JK_ANY, .nullable = false},
};

struct reply checkpoints_writes(struct request *r)
{
    struct reply err;
    const char *thread = r->params[0], *id = r->params[1];
    json_t *body;
    if (!write_body(r, &body, &err)) return err;
    struct jval v[W_COUNT];
    struct field_errors fe = {0};
    jspec_parse(body, writes_spec, W_COUNT, v, &fe);
    if (!fe.n && !v[W_TASK].str) field_error(&fe, "task_id", "is required");
    struct write_cols w = {{0}, {{{0}}}};
    buf_putc(&w.idx, '{');
    columns_open(&w.k);
    if (!fe.n) each_tuple(r, body, "writes", 4, one_write, &w, &fe);
    buf_putc(&w.idx, '}');
    columns_close(&w.k);
    if (!fe.n && !distinct_idx(w.idx.data, json_array_size(json_object_get(body, "writes"))))
        field_error(&fe, "writes", "must not repeat an idx");
    struct reply rep;
    if (fe.n) {
        rep = problem_fields(r, PROB_VALIDATION_FAILED, &fe);
    } else {
        struct writes_in in = {v[W_NS].str ? v[W_NS].str : "",
                               id,
                               v[W_TASK].str,
                               v[W_PATH].str ? v[W_PATH].str : "",
                               w.idx.data,
                               w.k.c[0].data,
                               w.k.c[1].data,
                               w.k.c[2].data};
        enum ckpt_outcome out = CKPT_NOT_FOUND;
        enum db_qs qs = ckpt_db_writes(r->who.org_id, scope_user(r), thread, &in, &out);
        rep = stored(r, qs, out, NULL);
    }
    buf_free(&w.idx);
    columns_free(&w.k);
    json_decref(body);
    return rep;
}

/* Appends a JSON token column (NULL: null). */
static void token(struct buf *b, const struct db_rows *rows, int i, int col)
{
    const char *t = db_str(rows, i, col);
    buf_puts(b, t ? t : "null");
}

/* Renders the tuple whose rows start at *i (advancing past them). */
static void render_tuple(struct buf *b, const struct db_rows *rows, int *i)
{
    int n = db_nrows(rows), k = (int)db_int(rows, *i, CR_TUPLE), h = *i;
    buf_puts(b, "{\"object\":\"checkpoint\",\"thread_id\":");
    buf_json_str(b, db_str(rows, h, CR_A));
    buf_puts(b, ",\"checkpoint_ns\":");
    buf_json_str(b, db_str(rows, h, CR_B));
    buf_puts(b, ",\"checkpoint_id\":");
    buf_json_str(b, db_str(rows, h, CR_C));
    buf_puts(b, ",\"parent_checkpoint_id\":");
    buf_json_str(b, db_str(rows, h, CR_D));
    buf_puts(b, ",\"checkpoint\":");
    buf_puts(b, db_str(rows, h, CR_E));
    buf_puts(b, ",\"metadata\":{\"type\":");
    buf_json_str(b, db_str(rows, h, CR_F));
    buf_puts(b, ",\"data\":");
    token(b, rows, h, CR_G);
    buf_putc(b, '}');
    static const char *const lists[] = {"channel_values", "pending_writes", "pending_sends"};
    int j = h + 1;
    for (int kind = CK_VALUE; kind <= CK_SEND; kind++) {
        buf_printf(b, ",\"%s\":[", lists[kind - 1]);
        bool first = true;
        for (; j < n && db_int(rows, j, CR_TUPLE) == k && db_int(rows, j, CR_KIND) == kind; j++) {
            buf_puts(b, first ? "[" : ",[");
            first = false;
            int ncols = kind == CK_WRITE ? 4 : kind == CK_VALUE ? 3 : 2;
            for (int c = 0; c < ncols; c++) {
                if (c) buf_putc(b, ',');
                if (c == ncols - 1)
                    token(b, rows, j, CR_A + c);
                else
                    buf_json_str(b, db_str(rows, j, CR_A + c));
            }
            buf_putc(b, ']');
        }
        buf_putc(b, ']');
    }
    buf_putc(b, '}');
    *i = j;
}

struct reply checkpoints_get(struct request *r)
{
    const char *thread = r->params[0], *id = r->params[1];
    const char *ns = req_query(r, "checkpoint_ns");
    if (!valid_id(thread) || (strcmp(id, "latest") && !valid_id(id)))
        return problem(r, PROB_NOT_FOUND, "no checkpoint %s", id);
    struct ckpt_filter f = {thread, ns ? ns : "", strcmp(id, "latest") ? id : NULL, NULL, NULL};
    struct db_rows rows;
    enum db_qs qs = ckpt_db_tuples(r->who.org_id, scope_user(r), &f, 1, &rows);
    if (qs < 0) return db_failure(r, qs);
    if (qs == 0) return problem(r, PROB_NOT_FOUND, "no checkpoint %s in thread %s", id, thread);
    struct buf b = {0};
    int i = 0;
    render_tuple(&b, &rows, &i);
    db_rows_free(&rows);
    return reply_json(200, &b);
}

/* The list filters; false with fe holding the errors. *metadata is malloc'd. */
static bool list_filter(const struct request *r, struct ckpt_filter *f, long long *limit,
                        char **metadata, struct field_errors *fe)
{
    *f = (struct ckpt_filter){req_query(r, "thread_id"), req_query(r, "checkpoint_ns"),
                              req_query(r, "checkpoint_id"), req_query(r, "before"), NULL};
    if (f->thread && !valid_id(f->thread)) field_error(fe, "thread_id", "must be a thread id");
    if (f->id && !valid_id(f->id)) field_error(fe, "checkpoint_id", "must be a checkpoint id");
    if (f->before && !valid_id(f->before)) field_error(fe, "before", "must be a checkpoint id");
    const char *lim = req_query(r, "limit");
    char *end = NULL;
    *limit = lim ? strtoll(lim, &end, 10) : LIST_DEFAULT;
    if (lim && (!*lim || *end || *limit < 1 || *limit > LIST_MAX))
        field_error(fe, "limit", "must be 1-%d", LIST_MAX);
    const char *m = req_query(r, "metadata");
    if (m) {
        json_t *doc = NULL;
        if (json_text_depth(m, strlen(m), MAX_JSON_DEPTH) <= MAX_JSON_DEPTH)
            doc = json_loads(m, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, NULL);
        if (!json_is_object(doc))
            field_error(fe, "metadata", "must be a JSON object");
        else
            f->metadata = *metadata = strdup(m);
        json_decref(doc);
    }
    return fe->n == 0;
}

struct reply checkpoints_list(struct request *r)
{
    struct ckpt_filter f;
    long long limit;
    char *metadata = NULL;
    struct field_errors fe = {0};
    if (!list_filter(r, &f, &limit, &metadata, &fe)) {
        free(metadata);
        return problem_fields(r, PROB_INVALID_QUERY, &fe);
    }
    struct db_rows rows;
    enum db_qs qs = ckpt_db_tuples(r->who.org_id, scope_user(r), &f, (int)limit + 1, &rows);
    free(metadata);
    if (qs < 0) return db_failure(r, qs);
    struct buf b = {0};
    buf_puts(&b, "{\"object\":\"list\",\"data\":[");
    int i = 0, n = db_nrows(&rows), last = -1;
    while (i < n && db_int(&rows, i, CR_TUPLE) <= limit) {
        if (last >= 0) buf_putc(&b, ',');
        last = i;
        render_tuple(&b, &rows, &i);
    }
    buf_puts(&b, "],\"has_more\":");
    buf_json_bool(&b, i < n);
    buf_puts(&b, ",\"next_before\":");
    buf_json_str(&b, i < n && last >= 0 ? db_str(&rows, last, CR_C) : NULL);
    buf_putc(&b, '}');
    db_rows_free(&rows);
    return reply_json(200, &b);
}

struct reply checkpoints_delete(struct request *r)
{
    const char *thread = r->params[0];
    struct buf b = {0};
    if (!valid_id(thread)) return problem(r, PROB_NOT_FOUND, "no thread %s", thread);
    enum db_qs qs = ckpt_db_delete(r->who.org_id, scope_user(r), thread);
    /* Nothing of the caller's to delete is done too: another user's thread is not revealed. */
    return qs < 0 ? db_failure(r, qs) : reply_json(204, &b);
}

struct reply checkpoints_prune(struct request *r)
{
    struct reply err;
    const char *thread = r->params[0];
    if (!valid_id(thread)) return problem(r, PROB_NOT_FOUND, "no thread %s", thread);
    json_t *body;
    if (!body_parse(r, &body, &err)) return err;
    struct field_errors fe = {0};
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val)
    {
        if (strcmp(key, "keep_latest") && strcmp(key, "checkpoint_ns"))
            field_error(&fe, key, "is not a known field");
    }
    json_t *ns = json_object_get(body, "checkpoint_ns");
    long long keep = 0;
    if (!integral(json_object_get(body, "keep_latest"), 1, 1000000000LL, &keep))
        field_error(&fe, "keep_latest", "must be an integer from 1");
    if (ns && !json_is_string(ns)) field_error(&fe, "checkpoint_ns", "must be a string");
    if (fe.n) {
        json_decref(body);
        return problem_fields(r, PROB_VALIDATION_FAILED, &fe);
    }
    char n[24];
    snprintf(n, sizeof n, "%lld", keep);
    long long counts[3] = {0, 0, 0};
    enum db_qs qs =
        ckpt_db_prune(r->who.org_id, scope_user(r), thread, json_string_value(ns), n, counts);
    json_decref(body);
    if (qs < 0) return db_failure(r, qs);
    if (qs == 0) return problem(r, PROB_NOT_FOUND, "no thread %s", thread);
    struct buf b = {0};
    buf_printf(&b, "{\"deleted_checkpoints\":%lld,\"deleted_blobs\":%lld,\"deleted_writes\":%lld}",
               counts[0], counts[1], counts[2]);
    return reply_json(200, &b);
}
