/* POST /v1/threads/{id}/agui: AG-UI events stored in the thread's event log and projected, in the
 * same transaction, into its messages, runs, steps and state (GET /v1/threads/{id}/state). */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agui.h"
#include "aguiproj.h"
#include "auth.h"
#include "db/agui.h"
#include "db/events.h"
#include "json.h"

#define MAX_EVENTS 10000
#define MAX_EVENT_BYTES (256 * 1024)
#define MAX_MESSAGE_BYTES (512 * 1024) /* a message's content, as through the REST API */

/* Whether an unknown type can be stored and replayed as AG-UI: upper case, digits and _. */
static bool agui_type_shape(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128 || s[0] < 'A' || s[0] > 'Z') return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* Checks one event (raw: its bytes) before anything touches the database: an object, its type,
 * its schema, its size. Errors are named "<what>[<i>]". */
static bool check_event(json_t *ev, struct jspan raw, const char *what, size_t i,
                        struct field_errors *fe)
{
    char at[48];
    snprintf(at, sizeof at, "%s[%zu]", what, i);
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (!json_is_object(ev) || !type) {
        field_error(fe, at, "must be an AG-UI event: an object with a string type");
        return false;
    }
    if (!agui_type_shape(type)) {
        field_error(fe, at, "type: must be an AG-UI event type (A-Z, 0-9 and _)");
        return false;
    }
    if (raw.n > MAX_EVENT_BYTES) {
        field_error(fe, at, "must be at most %d bytes", MAX_EVENT_BYTES);
        return false;
    }
    struct agui_error e = {{0}, {0}};
    if (agui_event_check(ev, agui_type_parse(type), &e)) return true;
    field_error(fe, at, "%s%s%s", e.field, e.field[0] ? ": " : "", e.why);
    return false;
}

bool agui_frame_check(json_t *ev, struct jspan raw, long frame, struct field_errors *fe)
{
    return check_event(ev, raw, "frames", (size_t)frame, fe);
}

/* Checks every event of the body; raw[i] receives event i's request bytes. */
static bool check_events(json_t *events, struct jspan arr_raw, bool have_raw, struct jspan *raw,
                         struct field_errors *fe)
{
    size_t pos = 0, i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        if (!have_raw || !jspan_next_element(arr_raw, &pos, &raw[i])) raw[i] = (struct jspan){0};
        if (!check_event(ev, raw[i], "events", i, fe)) return false;
    }
    return true;
}

/* The request's optional RunAgentInput: checked, and its raw text (malloc'd) for runs that
 * start without one of their own. */
static bool check_input(json_t *body, struct jspan raw, char **input_raw, struct field_errors *fe)
{
    json_t *in = json_object_get(body, "input");
    *input_raw = NULL;
    if (!in || json_is_null(in)) return true;
    struct agui_error e = {{0}, {0}};
    if (!agui_input_check(in, &e)) {
        field_error(fe, "input", "%s%s%s", e.field, e.field[0] ? ": " : "", e.why);
        return false;
    }
    size_t n;
    *input_raw = json_member_text(raw, body, "input", &n);
    /* Its messages become the thread's: the REST API's limit on content holds. */
    struct jspan text = {*input_raw, n}, msgs, m, content;
    size_t pos = 0;
    for (int i = 0; jspan_member(text, "messages", &msgs) && jspan_next_element(msgs, &pos, &m);
         i++) {
        if (!jspan_member(m, "content", &content) || content.n <= MAX_MESSAGE_BYTES) continue;
        field_error(fe, "input", "messages[%d].content: must be at most %d bytes", i,
                    MAX_MESSAGE_BYTES);
        return false;
    }
    return true;
}

/* The reply for a projection that refused event p->err_index (of "events", or "frames" from
 * base on). */
struct reply agui_refused(const struct request *r, const struct aguiproj *p, const char *what,
                          long base)
{
    char at[200];
    snprintf(at, sizeof at, "%s[%ld]%s%s", what, base + p->err_index, p->err.field[0] ? "." : "",
             p->err.field);
    if (p->prob != PROB_VALIDATION_FAILED) return problem(r, p->prob, "%s: %s", at, p->err.why);
    struct field_errors fe = {0};
    field_error(&fe, at, "%s", p->err.why);
    return problem_fields(r, PROB_VALIDATION_FAILED, &fe);
}

/* The reply to an ingest of count events, seqs first..last. */
struct reply agui_summary(const struct request *r, long count, long long first, long long last)
{
    struct buf b = {0};
    buf_puts(&b, "{\"object\":\"agui.ingest\",\"thread_id\":");
    buf_json_str(&b, r->params[0]);
    if (count > 0)
        buf_printf(&b, ",\"count\":%ld,\"first_seq\":%lld,\"last_seq\":%lld}", count, first, last);
    else
        buf_puts(&b, ",\"count\":0,\"first_seq\":null,\"last_seq\":null}");
    return reply_json(201, &b);
}

static struct reply ingested(struct request *r, struct db_rows *rows)
{
    int n = db_nrows(rows);
    events_publish(r, rows);
    return n ? agui_summary(r, n, db_int(rows, 0, EV_SEQ), db_int(rows, n - 1, EV_SEQ))
             : agui_summary(r, 0, 0, 0);
}

/* {events, input?}: the events are checked one by one below, input by check_input. */
static const struct jfield body_spec[] = {
    {.name = "events", .kind = JK_ANY},
    {.name = "input", .kind = JK_ANY, .nullable = true},
};

struct reply agui_ingest(struct request *r)
{
    const char *thread = r->params[0];
    if (!valid_id(thread)) return problem(r, PROB_NOT_FOUND, "no thread %s", thread);
    struct reply err;
    json_t *body;
    if (!body_parse(r, &body, &err)) return err;
    struct field_errors fe = {0};
    struct jval v[2];
    jspec_parse(body, body_spec, 2, v, &fe);
    json_t *events = v[0].json;
    if (!fe.n && (!json_is_array(events) || json_array_size(events) > MAX_EVENTS))
        field_error(&fe, "events", "must be an array of at most %d AG-UI events", MAX_EVENTS);
    struct jspan raw = {r->body.data, r->body.len}, arr = {0};
    size_t n = fe.n ? 0 : json_array_size(events);
    struct jspan *spans = calloc(n ? n : 1, sizeof *spans);
    char *input_raw = NULL;
    if (!spans) abort();
    bool have_raw = jspan_member(raw, "events", &arr);
    bool ok = !fe.n && check_events(events, arr, have_raw, spans, &fe) &&
              check_input(body, raw, &input_raw, &fe);
    struct reply rep;
    if (!ok) {
        rep = problem_fields(r, PROB_VALIDATION_FAILED, &fe);
    } else {
        struct aguiproj p = {.org = r->who.org_id, .user = scope_user(r), .thread = thread};
        p.input = v[1].is_null ? NULL : v[1].json; /* null: as absent */
        p.input_raw = input_raw;
        struct db_rows rows;
        enum db_qs qs = aguiproj_run(&p, events, spans, &rows);
        if (qs < 0)
            rep = db_failure(r, qs);
        else if (qs == 0 && p.not_visible)
            rep = problem(r, PROB_NOT_FOUND, "no thread %s", thread);
        else if (qs == 0)
            rep = agui_refused(r, &p, "events", 0);
        else
            rep = ingested(r, &rows);
        if (qs > 0) db_rows_free(&rows);
    }
    free(spans);
    free(input_raw);
    json_decref(body);
    return rep;
}

struct reply agui_state(struct request *r)
{
    const char *thread = r->params[0];
    if (!valid_id(thread)) return problem(r, PROB_NOT_FOUND, "no thread %s", thread);
    struct db_rows rows;
    enum db_qs qs = agui_db_state(r->who.org_id, scope_user(r), thread, &rows);
    if (qs < 0) return db_failure(r, qs);
    if (qs == 0) {
        db_rows_free(&rows);
        return problem(r, PROB_NOT_FOUND, "no thread %s", thread);
    }
    struct buf b = {0};
    buf_puts(&b, "{\"object\":\"thread.state\",\"thread_id\":");
    buf_json_str(&b, thread);
    buf_puts(&b, ",\"state\":");
    buf_puts(&b, db_is_null(&rows, 0, 0) ? "null" : db_str(&rows, 0, 0));
    buf_putc(&b, '}');
    db_rows_free(&rows);
    return reply_json(200, &b);
}
