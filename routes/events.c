/* The event log of a thread: append (idempotent, optionally conditional), list, read one. The
 * live stream is in routes/stream.c. */
#include "routes.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db/events.h"
#include "json.h"
#include "lifecycle.h"
#include "live.h"
#include "runlog.h"
#include "sse.h"

#define MAX_EVENTS 1000
#define MAX_DATA_BYTES (256 * 1024)
#define LIST_DEFAULT 100
#define LIST_MAX 1000

void render_event(struct buf *b, const struct db_rows *rows, int i)
{
    buf_puts(b, "{\"id\":");
    buf_json_str(b, db_str(rows, i, EV_ID));
    buf_puts(b, ",\"object\":\"event\",\"thread_id\":");
    buf_json_str(b, db_str(rows, i, EV_THREAD_ID));
    buf_puts(b, ",\"seq\":");
    buf_json_int(b, db_int(rows, i, EV_SEQ));
    buf_puts(b, ",\"type\":");
    buf_json_str(b, db_str(rows, i, EV_TYPE));
    buf_puts(b, ",\"run_id\":");
    buf_json_str(b, db_str(rows, i, EV_RUN_ID));
    buf_puts(b, ",\"step_id\":");
    buf_json_str(b, db_str(rows, i, EV_STEP_ID));
    buf_puts(b, ",\"message_id\":");
    buf_json_str(b, db_str(rows, i, EV_MESSAGE_ID));
    buf_puts(b, ",\"data\":");
    buf_puts(b, db_str(rows, i, EV_DATA)); /* the client's JSON text */
    buf_puts(b, ",\"occurred_at\":");
    render_time_or_null(b, rows, i, EV_OCCURRED_US);
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, db_int(rows, i, EV_CREATED_US));
    buf_putc(b, '}');
}

enum { E_ID, E_TYPE, E_RUN_ID, E_STEP_ID, E_MESSAGE_ID, E_DATA, E_OCCURRED_AT, E_COUNT };
static const struct jfield event_spec[] = {
    [E_ID] = {"id", JK_ID},
    [E_TYPE] = {"type", JK_STRING},
    [E_RUN_ID] = {"run_id", JK_ID, .nullable = true},
    [E_STEP_ID] = {"step_id", JK_ID, .nullable = true},
    [E_MESSAGE_ID] = {"message_id", JK_ID, .nullable = true},
    [E_DATA] = {"data", JK_ANY, .nullable = true},
    [E_OCCURRED_AT] = {"occurred_at", JK_STRING, .nullable = true},
};

/* One parsed event: ev borrows strings from the document, except those owned here. */
struct parsed_event {
    struct event_in ev;
    char id[MAX_ID_LEN + 1];
    char occurred_at[TIME_TEXT_LEN +
                     1]; /* normalised: UTC, microseconds (PostgreSQL would round a 7th digit) */
    char *data;
    struct rs_change *change; /* a lifecycle event's change to a run or step (malloc'd), or NULL */
};

/* A lifecycle event (run.created, step.completed, ...): the run or step it names, and its data
 * read as the change it makes. Errors go to own, named as within the event. */
static void lifecycle_parse(json_t *obj, const struct jval *v, const char *data,
                            struct parsed_event *pe, struct field_errors *own)
{
    struct lifecycle_event what;
    if (!lifecycle_event_parse(v[E_TYPE].str, &what)) return;
    if (!v[E_RUN_ID].str) field_error(own, "run_id", "is required for %s", v[E_TYPE].str);
    if (what.step && !v[E_STEP_ID].str)
        field_error(own, "step_id", "is required for %s", v[E_TYPE].str);
    if (!what.step && v[E_STEP_ID].str)
        field_error(own, "step_id", "must be null for %s (it is about the run)", v[E_TYPE].str);
    json_t *d = json_object_get(obj, "data");
    if (d && !json_is_null(d) && !json_is_object(d))
        field_error(own, "data", "must be an object (or null) for %s", v[E_TYPE].str);
    if (own->n) return;
    struct rs_change *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->what = what;
    c->run_id = v[E_RUN_ID].str;
    c->step_id = v[E_STEP_ID].str;
    struct field_errors fe = {0};
    json_t *empty = json_object();
    rs_parse(json_is_object(d) ? d : empty,
             (struct jspan){data ? data : "{}", data ? strlen(data) : 2}, false, c, &fe);
    json_decref(empty);
    for (int i = 0; i < fe.n; i++) {
        char field[80];
        snprintf(field, sizeof field, "data.%s", fe.e[i].field);
        field_error(own, field, "%s", fe.e[i].message);
    }
    pe->change = c;
}

/* Validates events[index] (raw: its request bytes) into *pe; errors go to fe as events[i].x. */
static void event_parse(json_t *obj, struct jspan raw, int index, struct parsed_event *pe,
                        struct field_errors *fe)
{
    char field[64];
    struct field_errors own = {0};
    struct jval v[E_COUNT];
    if (!json_is_object(obj)) {
        snprintf(field, sizeof field, "events[%d]", index);
        field_error(fe, field, "must be an event object");
        return;
    }
    jspec_parse(obj, event_spec, E_COUNT, v, &own);
    if (!v[E_TYPE].present)
        field_error(&own, "type", "is required");
    else if (v[E_TYPE].str && !event_type_ok(v[E_TYPE].str))
        field_error(&own, "type", "must be 1-128 characters of A-Za-z0-9_.:/-");
    int64_t us = 0;
    if (v[E_OCCURRED_AT].str && !parse_rfc3339(v[E_OCCURRED_AT].str, &us))
        field_error(&own, "occurred_at", "must be an RFC 3339 timestamp in the years 1-9999");
    size_t len = 0;
    char *data = own.n ? NULL : json_member_text(raw, obj, "data", &len);
    if (data && len > MAX_DATA_BYTES) field_error(&own, "data", "must be at most 256 KiB");
    if (!own.n) lifecycle_parse(obj, v, data, pe, &own);
    for (int i = 0; i < own.n; i++) {
        snprintf(field, sizeof field, "events[%d].%s", index, own.e[i].field);
        field_error(fe, field, "%s", own.e[i].message);
    }
    if (own.n) {
        free(data);
        return;
    }
    if (v[E_ID].str)
        snprintf(pe->id, sizeof pe->id, "%s", v[E_ID].str);
    else
        auth_uuid(pe->id);
    pe->data = data;
    if (v[E_OCCURRED_AT].str) time_text(us, pe->occurred_at);
    if (pe->change && v[E_OCCURRED_AT].str) pe->change->at = pe->occurred_at;
    pe->ev = (struct event_in){pe->id,
                               v[E_TYPE].str,
                               v[E_RUN_ID].str,
                               v[E_STEP_ID].str,
                               v[E_MESSAGE_ID].str,
                               data ? data : "null",
                               v[E_OCCURRED_AT].str ? pe->occurred_at : NULL};
}

/* expected_seq as its raw digits (no fraction, no sign, no exponent); false with an error. */
static bool expected_seq_text(struct jspan raw, json_t *body, char out[24], struct field_errors *fe)
{
    out[0] = '\0';
    json_t *v = json_object_get(body, "expected_seq");
    if (!v) return true;
    struct jspan s;
    bool ok = json_is_number(v) && jspan_member(raw, "expected_seq", &s) && s.n > 0 && s.n <= 18;
    for (size_t i = 0; ok && i < s.n; i++)
        ok = s.p[i] >= '0' && s.p[i] <= '9';
    if (!ok) {
        field_error(fe, "expected_seq", "must be an integer from 0 (the thread's last seq)");
        return false;
    }
    memcpy(out, s.p, s.n);
    out[s.n] = '\0';
    return true;
}

/* Validates the append body into pe[0..*n) (malloc'd); false with fe holding the errors. */
static bool batch_parse(const struct request *r, json_t *body, struct parsed_event **out, int *n,
                        char expected[24], struct field_errors *fe)
{
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val)
    {
        if (strcmp(key, "events") && strcmp(key, "expected_seq"))
            field_error(fe, key, "is not a known field");
    }
    struct jspan raw = {r->body.data, r->body.len}, arr = {NULL, 0}, elem = {NULL, 0};
    expected_seq_text(raw, body, expected, fe);
    json_t *events = json_object_get(body, "events");
    size_t count = json_array_size(events);
    if (!json_is_array(events) || count == 0 || count > MAX_EVENTS)
        field_error(fe, "events", "must be an array of 1-%d events", MAX_EVENTS);
    if (fe->n) return false;
    struct parsed_event *pe = calloc(count, sizeof *pe);
    if (!pe) abort();
    bool have_raw = jspan_member(raw, "events", &arr);
    size_t pos = 0;
    for (size_t i = 0; i < count; i++) {
        if (!have_raw || !jspan_next_element(arr, &pos, &elem)) elem = (struct jspan){"", 0};
        event_parse(json_array_get(events, i), elem, (int)i, &pe[i], fe);
    }
    for (size_t i = 0; fe->n == 0 && i < count; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(pe[i].id, pe[j].id)) {
                char field[64];
                snprintf(field, sizeof field, "events[%zu].id", i);
                field_error(fe, field, "repeats the id of events[%zu]", j);
                break;
            }
    *out = pe;
    *n = (int)count;
    return fe->n == 0;
}

static void batch_free(struct parsed_event *pe, int n)
{
    for (int i = 0; pe && i < n; i++) {
        free(pe[i].data);
        if (pe[i].change) rs_change_free(pe[i].change);
        free(pe[i].change);
    }
    free(pe);
}

struct reply events_refused(const struct request *r, const struct append_refusal *why)
{
    if (why->no_thread) return problem(r, PROB_NOT_FOUND, "no thread %s", r->params[0]);
    if (why->conflict >= 0) {
        struct field_errors fe = {0};
        char field[64];
        snprintf(field, sizeof field, "events[%d].id", why->conflict);
        field_error(&fe, field, "exists in the thread with other content");
        return problem_fields(r, PROB_EVENT_EXISTS, &fe);
    }
    struct reply rep =
        problem(r, PROB_SEQ_CONFLICT, "the thread's last seq is %lld", why->last_seq);
    char cur[24];
    snprintf(cur, sizeof cur, "%lld", why->last_seq);
    problem_member(&rep, "current_seq", cur);
    return rep;
}

/* Hands row i of appended event rows, rendered as json, to live streams (once committed). */
static void publish_row(struct request *r, const struct db_rows *rows, int i, const char *json,
                        size_t len)
{
    struct live_event e = {db_int(rows, i, EV_THREAD_N), db_int(rows, i, EV_SEQ),
                           db_str(rows, i, EV_TYPE),     db_str(rows, i, EV_RUN_ID),
                           db_str(rows, i, EV_STEP_ID),  db_str(rows, i, EV_MESSAGE_ID)};
    live_event(r, r->params[0], &e, json, len);
}

void events_publish(struct request *r, const struct db_rows *rows)
{
    struct buf b = {0};
    for (int i = 0; i < db_nrows(rows); i++) {
        if (db_str(rows, i, EV_FRESH)[0] != 't') continue;
        b.len = 0;
        render_event(&b, rows, i);
        publish_row(r, rows, i, b.data, b.len);
    }
    buf_free(&b);
}

/* The reply listing the appended events; hands the new ones to live streams (once committed). */
static struct reply appended(struct request *r, struct db_rows *rows)
{
    int n = db_nrows(rows);
    bool fresh = false;
    struct buf b = {0};
    buf_puts(&b, "{\"object\":\"list\",\"data\":[");
    for (int i = 0; i < n; i++) {
        if (i) buf_putc(&b, ',');
        size_t start = b.len;
        render_event(&b, rows, i);
        if (db_str(rows, i, EV_FRESH)[0] != 't') continue;
        fresh = true;
        publish_row(r, rows, i, b.data + start, b.len - start);
    }
    buf_puts(&b, "],\"first_seq\":");
    buf_json_int(&b, db_int(rows, 0, EV_SEQ));
    buf_puts(&b, ",\"last_seq\":");
    buf_json_int(&b, db_int(rows, n - 1, EV_SEQ));
    buf_putc(&b, '}');
    db_rows_free(rows);
    return reply_json(fresh ? 201 : 200, &b);
}

struct reply events_append(struct request *r)
{
    struct reply err;
    const char *thread = r->params[0];
    if (!valid_id(thread)) return problem(r, PROB_NOT_FOUND, "no thread %s", thread);
    json_t *body;
    if (!body_parse(r, &body, &err)) return err;
    struct parsed_event *pe = NULL;
    int n = 0;
    char expected[24];
    struct field_errors fe = {0};
    if (!batch_parse(r, body, &pe, &n, expected, &fe)) {
        batch_free(pe, n);
        json_decref(body);
        return problem_fields(r, PROB_VALIDATION_FAILED, &fe);
    }
    struct event_in *ev = malloc((size_t)n * sizeof *ev);
    struct rs_change **change = malloc((size_t)n * sizeof *change);
    if (!ev || !change) abort();
    bool lifecycle = false;
    for (int i = 0; i < n; i++) {
        ev[i] = pe[i].ev;
        change[i] = pe[i].change;
        lifecycle = lifecycle || change[i];
    }
    struct db_rows rows = {NULL};
    struct rs_refusal why = {0};
    const char *exp = expected[0] ? expected : NULL;
    enum db_qs qs;
    if (lifecycle) {
        qs = rs_append(r, exp, ev, change, n, &rows, &why);
    } else {
        why.kind = RS_APPEND;
        qs = events_db_append(r->who.org_id, scope_user(r), thread, exp, ev, n, &rows, &why.append);
    }
    free(ev);
    free(change);
    struct reply rep = qs < 0    ? db_failure(r, qs)
                       : qs == 0 ? rs_refusal_reply(r, &why)
                                 : appended(r, &rows);
    batch_free(pe, n);
    json_decref(body);
    return rep;
}

/* A seq bound from the query: absent is the default; false with an error in fe. */
static bool seq_param(const struct request *r, const char *name, long long dflt, long long *out,
                      struct field_errors *fe)
{
    const char *s = req_query(r, name);
    *out = dflt;
    if (!s || sse_parse_seq(s, out)) return true;
    field_error(fe, name, "must be an integer from 0");
    return false;
}

static bool collect_type(void *cls, const char *key, const char *value)
{
    struct sse_filter *f = cls;
    if (strcmp(key, "type") != 0) return true;
    if (!value || !sse_filter_add_type(f, value)) f->ntypes = -1;
    return f->ntypes >= 0;
}

/* The type filter as text[] literals for the SQL: exact types, and LIKE patterns for prefixes
 * (a type's own _ escaped, so it matches only itself). */
static void type_arrays(const struct sse_filter *sf, char **types, char **prefixes)
{
    struct buf exact = {0}, like = {0};
    buf_putc(&exact, '{');
    buf_putc(&like, '{');
    for (int i = 0; i < sf->ntypes; i++) {
        if (!sf->prefix[i]) {
            db_array_add(&exact, sf->types[i]);
            continue;
        }
        struct buf pat = {0};
        for (const char *p = sf->types[i]; *p; p++) {
            if (*p == '_') buf_putc(&pat, '\\');
            buf_putc(&pat, *p);
        }
        buf_putc(&pat, '%');
        db_array_add(&like, pat.data);
        buf_free(&pat);
    }
    buf_putc(&exact, '}');
    buf_putc(&like, '}');
    *types = buf_take(&exact);
    *prefixes = buf_take(&like);
}

bool parse_event_filter(const struct request *r, struct sse_filter *sf, struct event_filter *f,
                        char **types, char **prefixes, struct field_errors *fe)
{
    memset(sf, 0, sizeof *sf);
    memset(f, 0, sizeof *f);
    *types = *prefixes = NULL;
    req_each_query(r, collect_type, sf);
    if (sf->ntypes < 0) {
        field_error(fe, "type", "must be up to %d event types, each may end in .*", SSE_MAX_TYPES);
        sf->ntypes = 0;
    } else if (sf->ntypes > 0) {
        type_arrays(sf, types, prefixes);
    }
    static const char *const ids[] = {"run_id", "step_id", "message_id"};
    const char **dst[] = {&f->run_id, &f->step_id, &f->message_id};
    for (int i = 0; i < 3; i++) {
        *dst[i] = req_query(r, ids[i]);
        if (*dst[i] && !valid_id(*dst[i])) field_error(fe, ids[i], "must be an object id");
    }
    f->types = *types;
    f->prefixes = *prefixes;
    sf->run_id = f->run_id;
    sf->step_id = f->step_id;
    sf->message_id = f->message_id;
    return fe->n == 0;
}

struct reply events_list(struct request *r)
{
    const char *thread = r->params[0];
    if (!valid_id(thread)) return problem(r, PROB_NOT_FOUND, "no thread %s", thread);
    struct field_errors fe = {0};
    long long after, before, limit;
    seq_param(r, "after_seq", 0, &after, &fe);
    seq_param(r, "before_seq", 9223372036854775807LL, &before, &fe);
    seq_param(r, "limit", LIST_DEFAULT, &limit, &fe);
    if (limit < 1 || limit > LIST_MAX) field_error(&fe, "limit", "must be 1-%d", LIST_MAX);
    const char *order = req_query(r, "order");
    if (order && strcmp(order, "asc") && strcmp(order, "desc"))
        field_error(&fe, "order", "must be asc or desc");
    bool asc = !order || !strcmp(order, "asc");
    struct event_filter f;
    struct sse_filter sf;
    char *types, *prefixes;
    struct reply rep;
    if (!parse_event_filter(r, &sf, &f, &types, &prefixes, &fe)) {
        rep = problem_fields(r, PROB_INVALID_QUERY, &fe);
        goto out;
    }
    struct db_rows rows;
    enum db_qs qs = events_db_list(r->who.org_id, scope_user(r), thread, after, before, asc, &f,
                                   (int)limit + 1, &rows);
    if (qs <= 0) {
        rep = qs < 0 ? db_failure(r, qs) : problem(r, PROB_NOT_FOUND, "no thread %s", thread);
        goto out;
    }
    int got = db_is_null(&rows, 0, EV_SEQ) ? 0 : db_nrows(&rows);
    int n = got > limit ? (int)limit : got;
    struct buf b = {0};
    buf_puts(&b, "{\"object\":\"list\",\"data\":[");
    for (int i = 0; i < n; i++) {
        if (i) buf_putc(&b, ',');
        render_event(&b, &rows, i);
    }
    buf_puts(&b, "],\"first_id\":");
    buf_json_str(&b, n ? db_str(&rows, 0, EV_ID) : NULL);
    buf_puts(&b, ",\"last_id\":");
    buf_json_str(&b, n ? db_str(&rows, n - 1, EV_ID) : NULL);
    buf_puts(&b, ",\"has_more\":");
    buf_json_bool(&b, got > n);
    buf_puts(&b, ",\"last_seq\":");
    buf_json_int(&b, db_int(&rows, 0, EV_LAST_SEQ));
    buf_putc(&b, '}');
    db_rows_free(&rows);
    rep = reply_json(200, &b);
out:
    free(types);
    free(prefixes);
    return rep;
}

struct reply events_get(struct request *r)
{
    const char *thread = r->params[0], *id = r->params[1];
    if (!valid_id(thread) || !valid_id(id)) return problem(r, PROB_NOT_FOUND, "no event %s", id);
    struct db_rows rows;
    enum db_qs qs = events_db_get(r->who.org_id, scope_user(r), thread, id, &rows);
    if (qs < 0) return db_failure(r, qs);
    if (qs == 0) return problem(r, PROB_NOT_FOUND, "no event %s in thread %s", id, thread);
    struct buf b = {0};
    render_event(&b, &rows, 0);
    db_rows_free(&rows);
    return reply_json(200, &b);
}
