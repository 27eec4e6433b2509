/* The AG-UI projection: a batch of AG-UI events checked in order, stored in the event log and
 * applied to the thread's messages, runs, steps and state, all in one transaction.
 *
 * Each event is expanded as @ag-ui/client expands *_CHUNK events, checked against the order the
 * client enforces (service/agui.c, with the context stored per thread so a run may span many
 * requests), and applied as the client's defaultApplyEvents applies it: see the closing cases of
 * apply() for the differences (seq is append order; encrypted values stay in the log). */
#include "aguiproj_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db/agui.h"
#include "db/events.h"
#include "db/messages.h"
#include "db/runs.h"
#include "db/steps.h"
#include "lifecycle.h"

bool ap_refuse(struct tx *t, enum problem prob, const char *field, const char *fmt, ...)
{
    struct aguiproj *p = t->p;
    p->err_index = t->index;
    p->prob = prob;
    snprintf(p->err.field, sizeof p->err.field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err.why, sizeof p->err.why, fmt, ap);
    va_end(ap);
    return false;
}

const char *ap_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* Compact JSON text of v (malloc'd). */
char *ap_text_of(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    if (!s) abort();
    return s;
}

/* The raw text of member key of event i when the event is the request's own object, else its
 * compact rendering; NULL when absent. malloc'd. */
char *ap_member_text(struct tx *t, json_t *ev, const char *key)
{
    json_t *orig = json_array_get(t->events, (size_t)t->index);
    size_t n;
    if (ev == orig && t->raw[t->index].p) return json_member_text(t->raw[t->index], ev, key, &n);
    json_t *v = json_object_get(ev, key);
    return v ? ap_text_of(v) : NULL;
}

/* Parses JSON text keeping integers as integers (the request parser reads them as reals), or
 * as reals when one is too large for that; a new reference, NULL for NULL or bad text. */
json_t *ap_parse_exact(const char *text)
{
    if (!text) return NULL;
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    return v ? v : json_loads(text, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
}

/* Member key of ev with its integers kept (see parse_exact); a new reference or NULL. */
json_t *ap_member_exact(struct tx *t, json_t *ev, const char *key)
{
    char *text = ap_member_text(t, ev, key);
    json_t *v = ap_parse_exact(text);
    free(text);
    return v;
}

/* Appends one message; a taken id refuses the batch. */
bool ap_add_message(struct tx *t, struct message_in *m, const char *field)
{
    struct aguiproj *p = t->p;
    m->run_id = agui_ctx_run(t->ctx);
    if (!m->status) m->status = "completed";
    struct db_rows rows;
    enum db_qs qs = messages_db_append(p->org, NULL, p->thread, m, 1, &rows);
    db_rows_free(&rows);
    if (qs == DB_CONFLICT)
        return ap_refuse(t, PROB_MESSAGE_EXISTS, field, "the thread has a message %s already",
                         m->id);
    return qs > 0; /* a database failure: the caller answers it */
}

/* Whether message id exists (its role into role_out, when given). */
enum db_qs ap_message_role(struct tx *t, const char *id, char role_out[16])
{
    struct db_rows rows;
    enum db_qs qs = agui_db_message(t->p->org, t->p->thread, id, &rows);
    if (qs > 0 && role_out) snprintf(role_out, 16, "%s", db_str(&rows, 0, AM_ROLE));
    db_rows_free(&rows);
    return qs;
}

/* --- runs and steps --------------------------------------------------------------------- */

/* Moves a run that is not final yet into status (with the given JSON columns set). */
static bool end_run(struct tx *t, const char *run, struct run_patch *rp)
{
    struct db_rows rows;
    enum db_qs qs = runs_db_lock(t->p->org, t->p->thread, run, &rows);
    enum run_status s;
    bool final =
        qs > 0 && run_status_parse(db_str(&rows, 0, RC_STATUS), &s) && run_status_terminal(s);
    db_rows_free(&rows);
    if (qs <= 0 || final) return qs >= 0; /* ended through the REST API already */
    qs = runs_db_update(t->p->org, t->p->thread, run, rp, &rows);
    db_rows_free(&rows);
    return qs >= 0;
}

static bool start_run(struct tx *t, json_t *ev)
{
    json_t *in = json_object_get(ev, "input");
    char *in_raw = in ? ap_member_text(t, ev, "input") : NULL;
    struct jspan obj = {0};
    if (!in && t->p->input) {
        in = t->p->input;
        obj = (struct jspan){t->p->input_raw, strlen(t->p->input_raw)};
    } else if (in && t->raw[t->index].p) {
        jspan_member(t->raw[t->index], "input", &obj);
    }
    struct run_new run = {.id = ap_str(ev, "runId"), .parent_run_id = ap_str(ev, "parentRunId")};
    run.status = "running";
    run.input = in_raw ? in_raw : t->p->input_raw;
    struct db_rows rows;
    enum db_qs qs = runs_db_insert(t->p->org, t->p->thread, &run, &rows);
    db_rows_free(&rows);
    free(in_raw);
    if (qs == 0 && runs_db_exists(t->p->org, run.id) > 0)
        return ap_refuse(t, PROB_RUN_EXISTS, "runId", "the org has a run %s already", run.id);
    if (qs == 0)
        return ap_refuse(t, PROB_VALIDATION_FAILED, "parentRunId", "names no run of this thread");
    return qs > 0 && (!in || ap_add_input_messages(t, in, obj));
}

static bool finish_run(struct tx *t, json_t *ev)
{
    json_t *outcome = json_object_get(ev, "outcome"), *result = json_object_get(ev, "result");
    const char *kind = json_is_object(outcome) ? ap_str(outcome, "type") : NULL;
    struct run_patch rp = {.status = "completed"};
    if (kind && !strcmp(kind, "interrupt")) rp.status = "interrupted";
    if (kind && !strcmp(kind, "cancelled")) rp.status = "cancelled";
    struct buf out = {0};
    char *r = result && !json_is_null(result) ? ap_member_text(t, ev, "result") : NULL;
    char *o = json_is_object(outcome) ? ap_member_text(t, ev, "outcome") : NULL;
    if (r || o) {
        buf_putc(&out, '{');
        if (r) buf_printf(&out, "\"result\":%s%s", r, o ? "," : "");
        if (o) buf_printf(&out, "\"outcome\":%s", o);
        buf_putc(&out, '}');
        rp.set_output = true;
        rp.output = out.data;
    }
    char *usage = ap_member_text(t, ev, "usage");
    rp.set_usage = usage != NULL;
    rp.usage = usage;
    bool ok = end_run(t, ap_str(ev, "runId"), &rp);
    free(r);
    free(o);
    free(usage);
    buf_free(&out);
    return ok;
}

/* A run ended by RUN_ERROR (error: {message, code}), or abandoned (ev NULL). */
static bool fail_run(struct tx *t, const char *run, json_t *ev)
{
    json_t *err = ev ? json_pack("{s:O}", "message", json_object_get(ev, "message"))
                     : json_pack("{s:s,s:s}", "message",
                                 "abandoned: a later request started another run before it "
                                 "finished",
                                 "code", "convstore.abandoned");
    if (ev && json_object_get(ev, "code"))
        json_object_set(err, "code", json_object_get(ev, "code"));
    char *text = ap_text_of(err);
    json_decref(err);
    struct run_patch rp = {.status = "failed", .set_error = true, .error = text};
    bool ok = end_run(t, run, &rp);
    free(text);
    return ok;
}

static bool abandon_run(struct tx *t, const char *run)
{
    return fail_run(t, run, NULL);
}

static bool start_step(struct tx *t, json_t *ev)
{
    char id[37];
    auth_uuid(id);
    const char *name = ap_str(ev, "stepName");
    struct step_new s = {.id = id, .depends_on = "{}", .kind = "node", .name = name};
    s.status = "running";
    struct db_rows rows;
    enum db_qs qs = steps_db_insert(t->p->org, t->p->thread, agui_ctx_run(t->ctx), &s, &rows);
    db_rows_free(&rows);
    if (qs == 0)
        return ap_refuse(t, PROB_VALIDATION_FAILED, "stepName", "the run has ended: no new step");
    if (qs > 0) agui_ctx_set_step(t->ctx, name, id);
    return qs > 0;
}

static bool finish_step(struct tx *t, const char *id)
{
    const char *run = agui_ctx_run(t->ctx);
    if (!id[0] || !run) return true;
    struct step_patch sp = {.status = "completed"};
    struct db_rows rows;
    enum db_qs qs = steps_db_update(t->p->org, run, id, &sp, &rows);
    db_rows_free(&rows);
    return qs >= 0;
}

/* Applies one (expanded, verified) event to the projection. */
static bool apply(struct tx *t, enum agui_type type, json_t *ev, const char *run_before,
                  const char *step_before)
{
    switch (type) {
    case AG_RUN_STARTED:
        return start_run(t, ev);
    case AG_RUN_FINISHED:
        return finish_run(t, ev);
    case AG_RUN_ERROR:
        return run_before ? fail_run(t, run_before, ev) : true;
    case AG_STEP_STARTED:
        return start_step(t, ev);
    case AG_STEP_FINISHED:
        return finish_step(t, step_before);
    case AG_TEXT_START: {
        const char *role = ap_str(ev, "role");
        return ap_open_message(t, ev, role ? role : "assistant");
    }
    case AG_RMSG_START:
        return ap_open_message(t, ev, "reasoning");
    case AG_TEXT_CONTENT:
    case AG_RMSG_CONTENT:
        return ap_append_delta(t, ev);
    case AG_TEXT_END:
    case AG_RMSG_END:
        return ap_close_message(t, ev);
    case AG_TOOL_START:
        return ap_start_tool_call(t, ev);
    case AG_TOOL_ARGS:
        return ap_tool_args(t, ev);
    case AG_TOOL_RESULT:
        return ap_tool_result(t, ev);
    case AG_STATE_SNAPSHOT:
        json_decref(t->state);
        t->state = ap_member_exact(t, ev, "snapshot");
        t->state_set = true;
        return true;
    case AG_STATE_DELTA:
        return ap_patch_state(t, ev);
    case AG_MESSAGES_SNAPSHOT:
        return ap_snapshot_messages(t, ev);
    case AG_ACTIVITY_SNAPSHOT:
        return ap_snapshot_activity(t, ev);
    case AG_ACTIVITY_DELTA:
        return ap_patch_activity(t, ev);
    /* Only in the log: the client's apply changes no message or state for these (an encrypted
     * value would land on a message the client holds: convstore keeps it in the event). */
    default:
        return true;
    }
}

/* Expands, verifies and applies event i; records what storing it needs. */
static bool project(struct tx *t, int i)
{
    t->index = i;
    json_t *ev = json_array_get(t->events, (size_t)i);
    enum agui_type type = agui_type_parse(ap_str(ev, "type"));
    struct stored *st = &t->st[i];
    json_t *list;
    struct agui_error e = {{0}, {0}};
    bool ok = agui_expand(t->ctx, type, ev, &list, &e);
    size_t k;
    json_t *v;
    json_array_foreach(list, k, v)
    {
        if (!ok) break;
        enum agui_type vt = agui_type_parse(ap_str(v, "type"));
        char run[MAX_ID_LEN + 1] = "", step[37] = "", abandoned[129];
        const char *open = agui_ctx_run(t->ctx);
        if (open) snprintf(run, sizeof run, "%s", open);
        const char *s =
            vt == AG_STEP_FINISHED ? agui_ctx_step(t->ctx, ap_str(v, "stepName")) : NULL;
        if (s) snprintf(step, sizeof step, "%s", s);
        ok = agui_verify(t->ctx, vt, v, t->opened_here, abandoned, &e);
        if (ok && abandoned[0]) ok = abandon_run(t, abandoned);
        if (ok) ok = apply(t, vt, v, run[0] ? run : NULL, step);
        if (ok) ok = ap_event_metadata(t, vt, v);
        if (vt == AG_RUN_STARTED) t->opened_here = true;
        if (vt == AG_STEP_STARTED || vt == AG_STEP_FINISHED) {
            const char *id =
                vt == AG_STEP_STARTED ? agui_ctx_step(t->ctx, ap_str(v, "stepName")) : step;
            if (id) snprintf(st->step, sizeof st->step, "%s", id);
        }
        if (!st->run[0]) snprintf(st->run, sizeof st->run, "%s", run);
    }
    json_decref(list);
    if (!ok && t->p->err_index != i && e.why[0]) /* a rule of the order was broken */
        ap_refuse(t, PROB_VALIDATION_FAILED, e.field, "%s", e.why);
    const char *open = agui_ctx_run(t->ctx);
    if (type == AG_RUN_STARTED || type == AG_RUN_FINISHED)
        snprintf(st->run, sizeof st->run, "%s", ap_str(ev, "runId"));
    else if (!st->run[0] && open)
        snprintf(st->run, sizeof st->run, "%s", open);
    return ok;
}

/* Fills t->ev[i] for storing event i as it was sent. */
static void describe(struct tx *t, int i)
{
    json_t *ev = json_array_get(t->events, (size_t)i);
    struct stored *st = &t->st[i];
    const struct jspan *raw = &t->raw[i];
    auth_uuid(st->id);
    if (raw->p) {
        st->data = malloc(raw->n + 1);
        if (!st->data) abort();
        memcpy(st->data, raw->p, raw->n);
        st->data[raw->n] = '\0';
    } else {
        st->data = ap_text_of(ev);
    }
    json_t *mid = json_object_get(ev, "messageId");
    t->ev[i] = (struct event_in){.id = st->id, .type = ap_str(ev, "type"), .data = st->data};
    t->ev[i].run_id = st->run[0] ? st->run : NULL;
    t->ev[i].step_id = st->step[0] ? st->step : NULL;
    t->ev[i].message_id = agui_id_ok(mid) ? json_string_value(mid) : NULL;
}

static enum db_qs load(struct tx *t)
{
    struct aguiproj *p = t->p;
    struct db_rows rows;
    enum db_qs qs = agui_db_open(p->org, p->user, p->thread, &rows);
    if (qs == 0) p->not_visible = true;
    if (qs > 0) {
        t->ctx = db_is_null(&rows, 0, 0) ? NULL : json_loads(db_str(&rows, 0, 0), 0, NULL);
        if (!t->ctx) t->ctx = agui_ctx_new();
        if (db_str(&rows, 0, 2)[0] == 't') t->state = ap_parse_exact(db_str(&rows, 0, 1));
    }
    db_rows_free(&rows);
    return qs;
}

/* Forgets what an earlier attempt of the transaction (retried after a serialization failure)
 * built. */
static void reset(struct tx *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->st[i].data);
        memset(&t->st[i], 0, sizeof t->st[i]);
    }
    json_decref(t->ctx);
    json_decref(t->state);
    t->ctx = t->state = NULL;
    t->state_set = false;
    t->opened_here = t->p->opened;
    t->p->err_index = -1;
    t->db_err = 0;
}

static enum db_qs body(struct db_conn *c, void *arg)
{
    struct tx *t = arg;
    reset(t);
    enum db_qs qs = load(t);
    if (qs <= 0) return qs;
    for (int i = 0; i < (int)t->n; i++) {
        /* Not applied: a refusal of event i, or the database failed (a timeout, a deadlock, the
         * connection lost; retryable, so 503), or a bug. */
        if (!project(t, i))
            return t->p->err_index == i               ? DB_NO_RESULTS
                   : t->db_err == DB_HARD_ERROR       ? DB_HARD_ERROR
                   : t->db_err < 0 || db_tx_failed(c) ? DB_UNAVAILABLE
                                                      : DB_HARD_ERROR;
        describe(t, i);
    }
    char *ctx = ap_text_of(t->ctx);
    char *state = t->state_set && t->state ? ap_text_of(t->state) : NULL;
    qs = agui_db_save(t->p->org, t->p->thread, ctx, t->state_set, state);
    free(ctx);
    free(state);
    if (qs < 0 || t->n == 0) return qs < 0 ? qs : DB_ONE_RESULT;
    struct append_refusal why;
    t->p->opened = t->opened_here;
    qs = events_db_append(t->p->org, t->p->user, t->p->thread, NULL, t->ev, (int)t->n, t->rows,
                          &why);
    return qs == 0 ? DB_HARD_ERROR : qs;
}

enum db_qs aguiproj_run(struct aguiproj *p, json_t *events, const struct jspan *raw,
                        struct db_rows *rows)
{
    size_t n = json_array_size(events);
    struct tx t = {.p = p, .events = events, .raw = raw, .n = n, .rows = rows};
    t.st = calloc(n ? n : 1, sizeof *t.st);
    t.ev = calloc(n ? n : 1, sizeof *t.ev);
    if (!t.st || !t.ev) abort();
    p->err_index = -1;
    rows->res = NULL;
    enum db_qs qs = db_transaction(body, &t);
    for (size_t i = 0; i < n; i++)
        free(t.st[i].data);
    free(t.st);
    free(t.ev);
    json_decref(t.ctx);
    json_decref(t.state);
    if (qs <= 0) db_rows_free(rows);
    return qs;
}
