/* AG-UI replays: POST /v1/threads/{id}/agui/replay (for @ag-ui/client's HttpAgent) and
 * GET /v1/threads/{id}/agui/events, as text/event-stream in three modes (snapshot, events,
 * compact). */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agui.h"
#include "db/agui.h"
#include "db/messages.h"
#include "json.h"
#include "sse.h"

#define PAGE 500
#define NO_SEQ 9223372036854775807LL

enum mode { MODE_SNAPSHOT, MODE_EVENTS, MODE_COMPACT };
static const char *const modes[] = {"snapshot", "events", "compact", NULL};

struct replay {
    const char *org, *user, *thread;
    enum mode mode;
    char run_id[MAX_ID_LEN + 1]; /* "" : every run */
    long long after;
    bool follow;
};

/* --- AG-UI messages from stored ones ------------------------------------------------------ */

static void member_raw(struct buf *b, const char *name, const char *json)
{
    buf_printf(b, ",\"%s\":", name);
    buf_puts(b, json);
}

/* Row i of message rows as an AG-UI message. */
static void render_agui_message(struct buf *b, const struct db_rows *rows, int i)
{
    const char *role = db_str(rows, i, M_ROLE), *content = db_str(rows, i, M_CONTENT);
    buf_puts(b, "{\"id\":");
    buf_json_str(b, db_str(rows, i, M_ID));
    buf_puts(b, ",\"role\":");
    buf_json_str(b, role);
    if (strcmp(content, "null") != 0) member_raw(b, "content", content);
    bool activity = !strcmp(role, "activity");
    bool named = !strcmp(role, "user") || !strcmp(role, "assistant") || !strcmp(role, "system") ||
                 !strcmp(role, "developer");
    if (!db_is_null(rows, i, M_NAME) && (named || activity)) {
        buf_puts(b, activity ? ",\"activityType\":" : ",\"name\":");
        buf_json_str(b, db_str(rows, i, M_NAME));
    }
    if (!db_is_null(rows, i, M_TOOL_CALLS) && !strcmp(role, "assistant"))
        member_raw(b, "toolCalls", db_str(rows, i, M_TOOL_CALLS));
    if (!db_is_null(rows, i, M_TOOL_CALL_ID)) {
        buf_puts(b, ",\"toolCallId\":");
        buf_json_str(b, db_str(rows, i, M_TOOL_CALL_ID));
    }
    const char *metadata = db_str(rows, i, M_METADATA);
    if (strcmp(metadata, "{}") != 0) member_raw(b, "metadata", metadata);
    buf_putc(b, '}');
}

/* The MESSAGES_SNAPSHOT event of the thread's messages as stored now. */
static enum db_qs messages_snapshot(const struct replay *rp, struct buf *ev)
{
    buf_puts(ev, "{\"type\":\"MESSAGES_SNAPSHOT\",\"messages\":[");
    long long after = 0;
    bool first = true;
    for (;;) {
        struct db_rows rows;
        enum db_qs qs = messages_db_all(rp->org, rp->thread, after, PAGE, &rows);
        if (qs < 0) return qs;
        int n = db_nrows(&rows);
        for (int i = 0; i < n; i++) {
            if (!first) buf_putc(ev, ',');
            first = false;
            render_agui_message(ev, &rows, i);
        }
        if (n) after = db_int(&rows, n - 1, M_SEQ);
        db_rows_free(&rows);
        if (n < PAGE) break;
    }
    buf_puts(ev, "]}");
    return DB_ONE_RESULT;
}

/* --- modes -------------------------------------------------------------------------------- */

static void frame(struct buf *out, long long seq, const struct buf *ev)
{
    sse_data_frame(out, seq, ev->data, ev->len);
}

/* snapshot: RUN_STARTED, MESSAGES_SNAPSHOT, STATE_SNAPSHOT, RUN_FINISHED (the last run's, so
 * its pending interrupts come back), each with the thread's last seq as its id. */
static enum db_qs replay_snapshot(const struct replay *rp, long long last_seq, struct buf *out)
{
    struct db_rows run, state;
    enum db_qs qs = agui_db_last_run(rp->org, rp->thread, &run);
    if (qs < 0) return qs;
    enum db_qs sq = agui_db_state(rp->org, NULL, rp->thread, &state);
    if (sq < 0) {
        db_rows_free(&run);
        return sq;
    }
    const char *run_id = qs > 0 ? db_str(&run, 0, 0) : "convstore-snapshot";
    struct buf ev = {0};
    buf_puts(&ev, "{\"type\":\"RUN_STARTED\",\"threadId\":");
    buf_json_str(&ev, rp->thread);
    buf_puts(&ev, ",\"runId\":");
    buf_json_str(&ev, run_id);
    buf_putc(&ev, '}');
    frame(out, last_seq, &ev);
    ev.len = 0;
    qs = messages_snapshot(rp, &ev);
    if (qs > 0) frame(out, last_seq, &ev);
    if (qs > 0 && sq > 0 && !db_is_null(&state, 0, 0)) {
        ev.len = 0;
        buf_puts(&ev, "{\"type\":\"STATE_SNAPSHOT\",\"snapshot\":");
        buf_puts(&ev, db_str(&state, 0, 0));
        buf_putc(&ev, '}');
        frame(out, last_seq, &ev);
    }
    ev.len = 0;
    if (db_nrows(&run) > 0 && !db_is_null(&run, 0, 2)) {
        buf_puts(&ev, db_str(&run, 0, 2));
    } else {
        buf_puts(&ev, "{\"type\":\"RUN_FINISHED\",\"threadId\":");
        buf_json_str(&ev, rp->thread);
        buf_puts(&ev, ",\"runId\":");
        buf_json_str(&ev, run_id);
        buf_putc(&ev, '}');
    }
    if (qs > 0) frame(out, last_seq, &ev);
    buf_free(&ev);
    db_rows_free(&run);
    db_rows_free(&state);
    return qs;
}

/* The stored RUN_STARTED text with the input its run was stored with, when it has none. */
static enum db_qs with_input(const struct replay *rp, const char *data, const char *run,
                             struct buf *ev)
{
    json_t *doc = json_loads(data, JSON_DECODE_ANY, NULL);
    bool has = !doc || json_object_get(doc, "input");
    json_decref(doc);
    size_t n = strlen(data);
    if (has || !run) {
        buf_add(ev, data, n);
        return DB_ONE_RESULT;
    }
    struct db_rows rows;
    enum db_qs qs = agui_db_run_input(rp->org, rp->thread, run, &rows);
    if (qs > 0 && !db_is_null(&rows, 0, 0)) {
        while (n > 0 && data[n - 1] != '}')
            n--;
        buf_add(ev, data, n - 1);
        buf_puts(ev, ",\"input\":");
        buf_puts(ev, db_str(&rows, 0, 0));
        buf_putc(ev, '}');
    } else {
        buf_add(ev, data, n);
    }
    db_rows_free(&rows);
    return qs < 0 ? qs : DB_ONE_RESULT;
}

static void abandoned_error(struct buf *out, long long seq)
{
    static const char text[] = "{\"type\":\"RUN_ERROR\",\"message\":\"the run was abandoned: "
                               "another run started before it finished\","
                               "\"code\":\"convstore.abandoned\"}";
    sse_data_frame(out, seq, text, sizeof text - 1);
}

/* events: the stored events after rp->after, repaired so the stock client takes them. */
static enum db_qs replay_events(const struct replay *rp, struct buf *out, long long *last_seq)
{
    long long after = rp->after;
    bool open = false;
    struct buf ev = {0};
    enum db_qs qs;
    for (;;) {
        struct db_rows rows;
        qs = agui_db_events(rp->org, rp->user, rp->thread, after, rp->run_id[0] ? rp->run_id : NULL,
                            PAGE, &rows);
        if (qs <= 0) break;
        *last_seq = db_int(&rows, 0, AE_LAST_SEQ);
        int n = db_is_null(&rows, 0, AE_SEQ) ? 0 : db_nrows(&rows);
        for (int i = 0; i < n && qs > 0; i++) {
            const char *type = db_str(&rows, i, AE_TYPE), *data = db_str(&rows, i, AE_DATA);
            long long seq = db_int(&rows, i, AE_SEQ);
            ev.len = 0;
            if (!strcmp(type, "RUN_STARTED")) {
                if (open) abandoned_error(out, after);
                open = true;
                qs = with_input(
                    rp, data, db_is_null(&rows, i, AE_RUN_ID) ? NULL : db_str(&rows, i, AE_RUN_ID),
                    &ev);
            } else {
                if (!strcmp(type, "RUN_FINISHED") || !strcmp(type, "RUN_ERROR")) open = false;
                buf_puts(&ev, data);
            }
            sse_data_frame(out, seq, ev.data, ev.len);
            after = seq;
        }
        db_rows_free(&rows);
        if (n < PAGE) break;
    }
    buf_free(&ev);
    return qs;
}

/* --- parameters --------------------------------------------------------------------------- */

static bool parse_mode(const char *v, struct replay *rp, struct field_errors *fe, const char *f)
{
    for (int i = 0; modes[i]; i++)
        if (!strcmp(v, modes[i])) {
            rp->mode = (enum mode)i;
            return true;
        }
    field_error(fe, f, "must be one of snapshot, events, compact");
    return false;
}

static void parse_run(const char *v, struct replay *rp, struct field_errors *fe, const char *f)
{
    if (valid_id(v))
        snprintf(rp->run_id, sizeof rp->run_id, "%s", v);
    else
        field_error(fe, f, "must be a run id");
}

/* mode, run_id, after_seq (or Last-Event-ID) and follow from the query string. */
static void parse_query(const struct request *r, struct replay *rp, struct field_errors *fe)
{
    const char *v;
    if ((v = req_query(r, "mode"))) parse_mode(v, rp, fe, "mode");
    if ((v = req_query(r, "run_id"))) parse_run(v, rp, fe, "run_id");
    if ((v = req_query(r, "after_seq")) && !sse_parse_seq(v, &rp->after))
        field_error(fe, "after_seq", "must be an integer from 0");
    if ((v = req_query(r, "follow"))) {
        if (strcmp(v, "true") && strcmp(v, "false"))
            field_error(fe, "follow", "must be true or false");
        rp->follow = !strcmp(v, "true");
    }
}

/* forwardedProps.convstore {mode, run_id, after_seq, follow} of a RunAgentInput body. */
static void parse_props(json_t *body, struct replay *rp, struct field_errors *fe)
{
    json_t *fp = json_object_get(body, "forwardedProps");
    json_t *cs = json_is_object(fp) ? json_object_get(fp, "convstore") : NULL;
    if (!cs || json_is_null(cs)) return;
    if (!json_is_object(cs)) {
        field_error(fe, "forwardedProps.convstore", "must be an object");
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(cs, key, v)
    {
        char f[80];
        snprintf(f, sizeof f, "forwardedProps.convstore.%.40s", key);
        if (!strcmp(key, "mode") && json_is_string(v))
            parse_mode(json_string_value(v), rp, fe, f);
        else if (!strcmp(key, "run_id") && json_is_string(v))
            parse_run(json_string_value(v), rp, fe, f);
        else if (!strcmp(key, "after_seq") && json_is_integer(v) && json_integer_value(v) >= 0)
            rp->after = (long long)json_integer_value(v);
        else if (!strcmp(key, "after_seq") && json_is_real(v) && json_real_value(v) >= 0 &&
                 json_real_value(v) < 9e18 &&
                 json_real_value(v) == (double)(long long)json_real_value(v))
            rp->after = (long long)json_real_value(v);
        else if (!strcmp(key, "follow") && json_is_boolean(v))
            rp->follow = json_is_true(v);
        else
            field_error(fe, f,
                        "is not a replay option (mode, run_id, after_seq, follow) of "
                        "its type");
    }
}

static bool last_event_id(const struct request *r, struct replay *rp, struct field_errors *fe)
{
    const char *id = req_header(r, "Last-Event-ID");
    if (id && !sse_parse_seq(id, &rp->after)) {
        field_error(fe, "Last-Event-ID", "must be the id (seq) of an event");
        return false;
    }
    return true;
}

static struct reply replay(struct request *r, struct replay *rp)
{
    rp->org = r->who.org_id;
    rp->user = scope_user(r);
    rp->thread = r->params[0];
    struct db_rows rows;
    enum db_qs qs = agui_db_events(rp->org, rp->user, rp->thread, NO_SEQ - 1, NULL, 1, &rows);
    long long last_seq = qs > 0 ? db_int(&rows, 0, AE_LAST_SEQ) : 0;
    db_rows_free(&rows);
    if (qs < 0) return db_failure(r, qs);
    if (qs == 0) return problem(r, PROB_NOT_FOUND, "no thread %s", rp->thread);
    struct buf out = {0};
    if (rp->mode == MODE_SNAPSHOT)
        qs = replay_snapshot(rp, last_seq, &out);
    else
        qs = replay_events(rp, &out, &last_seq);
    if (qs < 0) {
        buf_free(&out);
        return db_failure(r, qs);
    }
    struct reply rep = reply_json(200, &out);
    rep.content_type = "text/event-stream";
    return rep;
}

struct reply agui_replay_get(struct request *r)
{
    if (!valid_id(r->params[0])) return problem(r, PROB_NOT_FOUND, "no thread %s", r->params[0]);
    struct replay rp = {0};
    struct field_errors fe = {0};
    parse_query(r, &rp, &fe);
    last_event_id(r, &rp, &fe);
    if (fe.n) return problem_fields(r, PROB_INVALID_QUERY, &fe);
    return replay(r, &rp);
}

struct reply agui_replay_post(struct request *r)
{
    if (!valid_id(r->params[0])) return problem(r, PROB_NOT_FOUND, "no thread %s", r->params[0]);
    struct reply err;
    json_t *body;
    if (!body_parse(r, &body, &err)) return err;
    struct replay rp = {0};
    struct field_errors fe = {0};
    parse_props(body, &rp, &fe);
    json_decref(body);
    last_event_id(r, &rp, &fe);
    if (fe.n) return problem_fields(r, PROB_VALIDATION_FAILED, &fe);
    return replay(r, &rp);
}
