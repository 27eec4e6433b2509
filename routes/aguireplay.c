/* AG-UI replays: POST /v1/threads/{id}/agui/replay (for @ag-ui/client's HttpAgent) and
 * GET /v1/threads/{id}/agui/events, as text/event-stream in three modes (snapshot, events,
 * compact). */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agui.h"
#include "aguiview.h"
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

/* Content parts (an array made through the REST API) as the one string AG-UI's assistant,
 * system and developer messages hold: their text parts, joined. */
static void parts_as_text(struct buf *b, const char *content)
{
    json_t *parts = json_loads(content, 0, NULL);
    struct buf text = {0};
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p)
    {
        const char *t = json_string_value(json_object_get(p, "text"));
        if (t) buf_puts(&text, t);
    }
    json_decref(parts);
    buf_puts(b, ",\"content\":");
    buf_putc(&text, '\0');
    buf_json_str(b, text.data);
    buf_free(&text);
}

/* Row i of message rows as an AG-UI message. Messages made through the REST API get the shape
 * the client's schema takes: a tool message without tool_call_id answers "", string content
 * where AG-UI wants a string. */
static void render_agui_message(struct buf *b, const struct db_rows *rows, int i)
{
    const char *role = db_str(rows, i, M_ROLE), *content = db_str(rows, i, M_CONTENT);
    buf_puts(b, "{\"id\":");
    buf_json_str(b, db_str(rows, i, M_ID));
    buf_puts(b, ",\"role\":");
    buf_json_str(b, role);
    bool text_only = !strcmp(role, "assistant") || !strcmp(role, "system") ||
                     !strcmp(role, "developer") || !strcmp(role, "reasoning");
    if (content[0] == '[' && text_only)
        parts_as_text(b, content);
    else if (strcmp(content, "null") != 0)
        member_raw(b, "content", content);
    bool activity = !strcmp(role, "activity");
    bool named = !strcmp(role, "user") || !strcmp(role, "assistant") || !strcmp(role, "system") ||
                 !strcmp(role, "developer");
    if (!db_is_null(rows, i, M_NAME) && (named || activity)) {
        buf_puts(b, activity ? ",\"activityType\":" : ",\"name\":");
        buf_json_str(b, db_str(rows, i, M_NAME));
    }
    if (!db_is_null(rows, i, M_TOOL_CALLS) && !strcmp(role, "assistant")) {
        buf_puts(b, ",\"toolCalls\":");
        buf_json_compact(b, db_str(rows, i, M_TOOL_CALLS));
    }
    if (!db_is_null(rows, i, M_TOOL_CALL_ID) || !strcmp(role, "tool")) {
        buf_puts(b, ",\"toolCallId\":");
        buf_json_str(b, db_is_null(rows, i, M_TOOL_CALL_ID) ? "" : db_str(rows, i, M_TOOL_CALL_ID));
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

/* Where replayed events go: SSE frames, a view, a compaction. */
typedef void (*emit_fn)(void *cls, long long seq, const char *text, size_t len);

static void to_frames(void *cls, long long seq, const char *text, size_t len)
{
    sse_data_frame(cls, seq, text, len);
}

static void to_view(void *cls, long long seq, const char *text, size_t len)
{
    json_t *ev = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    if (ev) aguiview_apply(cls, ev);
    json_decref(ev);
}

/* A replay in progress: where it is, and whether the stream it sent has a run open. */
struct cursor {
    const struct replay *rp;
    long long after, before;
    bool open;
};

static void abandoned_error(emit_fn emit, void *cls, long long seq)
{
    static const char text[] = "{\"type\":\"RUN_ERROR\",\"message\":\"the run was abandoned: "
                               "another run started before it finished\","
                               "\"code\":\"convstore.abandoned\"}";
    emit(cls, seq, text, sizeof text - 1);
}

/* The next page of stored events after cur->after, repaired so the stock client takes them:
 * RUN_STARTED gets its run's stored input when it has none, and a run left open when another
 * starts is closed by a RUN_ERROR. *more: a full page was read. */
static enum db_qs replay_page(struct cursor *cur, emit_fn emit, void *cls, bool *more,
                              long long *last_seq)
{
    const struct replay *rp = cur->rp;
    struct db_rows rows;
    enum db_qs qs = agui_db_events(rp->org, rp->user, rp->thread, cur->after, cur->before,
                                   rp->run_id[0] ? rp->run_id : NULL, PAGE, &rows);
    if (qs <= 0) {
        db_rows_free(&rows);
        return qs;
    }
    if (last_seq) *last_seq = db_int(&rows, 0, AE_LAST_SEQ);
    int n = db_is_null(&rows, 0, AE_SEQ) ? 0 : db_nrows(&rows);
    struct buf ev = {0};
    for (int i = 0; i < n && qs > 0; i++) {
        const char *type = db_str(&rows, i, AE_TYPE), *data = db_str(&rows, i, AE_DATA);
        long long seq = db_int(&rows, i, AE_SEQ);
        ev.len = 0;
        if (!strcmp(type, "RUN_STARTED")) {
            if (cur->open) abandoned_error(emit, cls, cur->after);
            cur->open = true;
            const char *run = db_is_null(&rows, i, AE_RUN_ID) ? NULL : db_str(&rows, i, AE_RUN_ID);
            qs = with_input(rp, data, run, &ev);
        } else {
            if (!strcmp(type, "RUN_FINISHED") || !strcmp(type, "RUN_ERROR")) cur->open = false;
            buf_puts(&ev, data);
        }
        if (qs > 0) emit(cls, seq, ev.data, ev.len);
        cur->after = seq;
    }
    buf_free(&ev);
    db_rows_free(&rows);
    *more = n == PAGE;
    return qs;
}

/* Every page from cur on. */
static enum db_qs replay_all(struct cursor *cur, emit_fn emit, void *cls, long long *last_seq)
{
    bool more = true;
    enum db_qs qs = DB_ONE_RESULT;
    while (more && qs > 0)
        qs = replay_page(cur, emit, cls, &more, last_seq);
    return qs;
}

/* The view a client has after the stream up to seq `upto`. */
static enum db_qs view_at(const struct replay *rp, long long upto, struct aguiview *v)
{
    struct replay all = *rp;
    all.run_id[0] = '\0';
    struct cursor cur = {&all, 0, upto + 1, false};
    aguiview_init(v);
    return replay_all(&cur, to_view, v, NULL);
}

/* The lead-in frames that let a client resume in the middle of a run at seq `at` (none when
 * no run is open there); *open: whether one is. */
static enum db_qs lead_in(const struct replay *rp, long long at, struct buf *out, bool *open)
{
    struct aguiview v;
    enum db_qs qs = view_at(rp, at, &v);
    *open = qs >= 0 && aguiview_in_run(&v);
    if (*open) {
        json_t *lead = aguiview_lead_in(&v, rp->thread);
        size_t i;
        json_t *e;
        json_array_foreach(lead, i, e)
        {
            char *text = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
            if (!text) abort();
            sse_data_frame(out, at, text, strlen(text));
            free(text);
        }
        json_decref(lead);
    }
    aguiview_free(&v);
    return qs;
}

/* events: the stored events after rp->after (after a lead-in when that is inside a run). */
static enum db_qs replay_events(const struct replay *rp, struct buf *out, long long *last_seq)
{
    struct cursor cur = {rp, rp->after, NO_SEQ, false};
    enum db_qs qs = rp->after > 0 ? lead_in(rp, rp->after, out, &cur.open) : DB_ONE_RESULT;
    return qs < 0 ? qs : replay_all(&cur, to_frames, out, last_seq);
}

/* Compacted events as frames. compactEvents moves events after the message they arrived in, so
 * each frame's id is the greatest seq sent so far: ids never go back. */
struct compacted_out {
    struct buf *out;
    long long max;
};

static void compacted(void *cls, long long seq, json_t *ev)
{
    struct compacted_out *o = cls;
    if (seq > o->max) o->max = seq;
    char *text = json_dumps(ev, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) abort();
    sse_data_frame(o->out, o->max, text, strlen(text));
    free(text);
}

static void to_compact(void *cls, long long seq, const char *text, size_t len)
{
    json_t *ev = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    if (ev) aguicompact_feed(cls, seq, ev);
    json_decref(ev);
}

/* compact: the events stream reduced as compactEvents reduces it. */
static enum db_qs replay_compact(const struct replay *rp, struct buf *out, long long *last_seq)
{
    struct cursor cur = {rp, rp->after, NO_SEQ, false};
    struct compacted_out o = {out, 0};
    struct aguicompact *c = aguicompact_new(compacted, &o);
    enum db_qs qs = replay_all(&cur, to_compact, c, last_seq);
    aguicompact_finish(c);
    return qs;
}

/* --- following ------------------------------------------------------------------------------ */

struct follow {
    struct replay rp;
    struct cursor cur;
};

static int follow_read(void *cls, long long *last, struct buf *out, bool *more)
{
    struct follow *f = cls;
    f->cur.after = *last;
    enum db_qs qs = replay_page(&f->cur, to_frames, out, more, NULL);
    *last = f->cur.after;
    return qs < 0 ? -1 : qs;
}

static void follow_free(void *cls)
{
    free(cls);
}

/* The replay, then live events as they are ingested. A snapshot while a run is open is the
 * lead-in of that run, so the events that follow apply. */
static struct reply follow(struct request *r, const struct replay *rp, long long last_seq)
{
    struct follow *f = calloc(1, sizeof *f);
    if (!f) abort();
    f->rp = *rp;
    f->cur = (struct cursor){&f->rp, rp->after, NO_SEQ, false};
    struct buf lead = {0};
    enum db_qs qs = DB_ONE_RESULT;
    if (rp->mode == MODE_SNAPSHOT) {
        f->cur.after = last_seq;
        qs = lead_in(rp, last_seq, &lead, &f->cur.open);
        if (qs >= 0 && !f->cur.open) qs = replay_snapshot(rp, last_seq, &lead);
    } else if (rp->after > 0) {
        qs = lead_in(rp, rp->after, &lead, &f->cur.open);
    }
    if (qs < 0) {
        buf_free(&lead);
        free(f);
        return db_failure(r, qs);
    }
    return stream_from(r, f->cur.after, &lead, follow_read, f, follow_free);
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
        else if (!strcmp(key, "after_seq") && json_is_number(v) && json_number_value(v) >= 0 &&
                 json_number_value(v) < 9e18 &&
                 json_number_value(v) == (double)(long long)json_number_value(v))
            rp->after = (long long)json_number_value(v); /* the body's numbers are reals */
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
    enum db_qs qs =
        agui_db_events(rp->org, rp->user, rp->thread, NO_SEQ - 1, NO_SEQ, NULL, 1, &rows);
    long long last_seq = qs > 0 ? db_int(&rows, 0, AE_LAST_SEQ) : 0;
    db_rows_free(&rows);
    if (qs < 0) return db_failure(r, qs);
    if (qs == 0) return problem(r, PROB_NOT_FOUND, "no thread %s", rp->thread);
    if (rp->follow) return follow(r, rp, last_seq);
    struct buf out = {0};
    if (rp->mode == MODE_SNAPSHOT)
        qs = replay_snapshot(rp, last_seq, &out);
    else if (rp->mode == MODE_EVENTS)
        qs = replay_events(rp, &out, &last_seq);
    else
        qs = replay_compact(rp, &out, &last_seq);
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
