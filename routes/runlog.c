/* Changes to runs and steps from REST bodies and lifecycle events: one parser, one applier, and
 * the event each change is recorded as, in the same transaction. */
#include "runlog.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db/runs.h"
#include "db/steps.h"
#include "routes.h"

#define MAX_NAME_CHARS 1000
#define MAX_CODE_CHARS 255
#define MAX_JSON_BYTES (512 * 1024)
#define MAX_DEPENDS_ON 100

const char *const rs_run_statuses[] = {"queued", "running",   "requires_action", "completed",
                                       "failed", "cancelled", "interrupted",     NULL};
const char *const rs_step_statuses[] = {"pending", "running",   "completed",
                                        "failed",  "cancelled", NULL};
const char *const rs_step_kinds[] = {"node",      "llm",    "tool", "thinking",
                                     "retrieval", "custom", NULL};

/* The members each kind of change reads; "id" comes first where there is one (REST creates). */
static const struct jfield run_create[] = {
    {"id", JK_ID, .nullable = false},
    {"status", JK_ENUM, .choices = rs_run_statuses},
    {"parent_run_id", JK_ID, .nullable = true},
    {"name", JK_TEXT, .nullable = true, .max = MAX_NAME_CHARS},
    {"input", JK_ANY, .nullable = true},
    {"metadata", JK_METADATA, .nullable = true},
};
static const struct jfield run_change[] = {
    {"status", JK_ENUM, .choices = rs_run_statuses},
    {"output", JK_ANY, .nullable = true},
    {"error", JK_ANY, .nullable = true},
    {"usage", JK_ANY, .nullable = true},
    {"metadata", JK_METADATA, .nullable = false},
};
static const struct jfield step_create[] = {
    {"id", JK_ID, .nullable = false},         {"parent_step_id", JK_ID, .nullable = true},
    {"depends_on", JK_ANY, .nullable = true}, {"kind", JK_ENUM, .choices = rs_step_kinds},
    {"name", JK_TEXT, .max = MAX_NAME_CHARS}, {"status", JK_ENUM, .choices = rs_step_statuses},
    {"input", JK_ANY, .nullable = true},      {"metadata", JK_METADATA, .nullable = true},
};
static const struct jfield step_change[] = {
    {"status", JK_ENUM, .choices = rs_step_statuses},
    {"output", JK_ANY, .nullable = true},
    {"error", JK_ANY, .nullable = true},
    {"metadata", JK_METADATA, .nullable = false},
};

struct spec {
    const struct jfield *f;
    size_t n;
};

static struct spec spec_for(const struct lifecycle_event *w)
{
    if (w->op == LC_CREATED)
        return w->step ? (struct spec){step_create, 8} : (struct spec){run_create, 6};
    return w->step ? (struct spec){step_change, 4} : (struct spec){run_change, 5};
}

/* The parsed value of member `name` (absent when the spec has no such member). */
static const struct jval *val(struct spec s, const struct jval *v, const char *name)
{
    static const struct jval absent;
    for (size_t i = 0; i < s.n; i++)
        if (!strcmp(s.f[i].name, name)) return &v[i];
    return &absent;
}

/* An opaque JSON member as raw text (NULL: absent or null), within the size limit. */
static char *json_member(struct jspan raw, json_t *obj, const char *name, bool *present,
                         struct field_errors *fe)
{
    json_t *v = json_object_get(obj, name);
    if (present) *present = v != NULL;
    size_t len = 0;
    char *text = json_member_text(raw, obj, name, &len);
    if (text && len > MAX_JSON_BYTES) {
        field_error(fe, name, "must be at most 512 KiB of JSON");
        free(text);
        return NULL;
    }
    return text;
}

/* error: null or {"message": string, "code"?: string}. */
static void check_error(json_t *e, struct field_errors *fe)
{
    if (!e || json_is_null(e)) return;
    json_t *msg = json_object_get(e, "message"), *code = json_object_get(e, "code");
    bool ok = json_is_object(e) && json_is_string(msg) &&
              json_object_size(e) == 1 + (code != NULL) &&
              (!code || (json_is_string(code) && text_chars(json_string_value(code)) >= 1 &&
                         text_chars(json_string_value(code)) <= MAX_CODE_CHARS));
    if (!ok)
        field_error(fe, "error",
                    "must be null or {\"message\": string, \"code\"?: string of 1-255 characters}");
}

/* depends_on: up to 100 distinct step ids other than the step's own, as a text[] literal and a
 * JSON array. */
static void parse_depends_on(json_t *deps, const char *own_id, struct rs_change *c,
                             struct field_errors *fe)
{
    size_t n = json_array_size(deps);
    if (!deps || json_is_null(deps))
        n = 0;
    else if (!json_is_array(deps) || n > MAX_DEPENDS_ON) {
        field_error(fe, "depends_on", "must be an array of at most %d step ids", MAX_DEPENDS_ON);
        return;
    }
    struct buf arr = {0}, js = {0};
    buf_putc(&arr, '{');
    buf_putc(&js, '[');
    for (size_t i = 0; i < n; i++) {
        const char *id = json_string_value(json_array_get(deps, i));
        bool dup = false;
        for (size_t j = 0; id && j < i; j++)
            dup = dup || !strcmp(id, json_string_value(json_array_get(deps, j)));
        if (!id || !valid_id(id) || dup || (own_id && !strcmp(id, own_id))) {
            field_error(fe, "depends_on",
                        "must hold distinct step ids (1-128 characters of A-Za-z0-9._:-), not "
                        "the step's own");
            break;
        }
        db_array_add(&arr, id);
        if (i) buf_putc(&js, ',');
        buf_json_str(&js, id);
    }
    buf_putc(&arr, '}');
    buf_putc(&js, ']');
    c->depends_on = buf_take(&arr);
    c->depends_json = buf_take(&js);
}

/* The first status of a new run (queued or running) or step (pending or running). */
static void check_first_status(const struct jval *st, struct rs_change *c, struct field_errors *fe)
{
    int first = c->what.step ? STEP_PENDING : RUN_QUEUED;
    c->status = st->str ? st->choice : (c->what.step ? STEP_RUNNING : RUN_QUEUED);
    if (c->status != first && c->status != 1) /* 1: running, in both */
        field_error(fe, "status",
                    c->what.step ? "must be pending or running" : "must be queued or running");
}

static void parse_status(const struct jval *st, struct rs_change *c, bool rest,
                         struct field_errors *fe)
{
    if (c->what.op == LC_CREATED) {
        check_first_status(st, c, fe);
    } else if (rest) {
        c->status = st->str ? st->choice : -1;
    } else if (c->what.op == LC_STATUS) {
        if (st->str && st->choice != c->what.status)
            field_error(fe, "status", "must be the status the event's type names");
        c->status = c->what.status;
    } else {
        if (st->present)
            field_error(fe, "status", "is set by a run.<status> or step.<status> event");
        c->status = -1;
    }
}

bool rs_parse(json_t *obj, struct jspan raw, bool rest, struct rs_change *c,
              struct field_errors *fe)
{
    struct spec s = spec_for(&c->what);
    if (!rest && s.f[0].name[0] == 'i') s.f++, s.n--; /* an event names the run or step itself */
    struct jval v[8];
    if (rest) {
        jspec_parse(obj, s.f, s.n, v, fe);
    } else {
        /* Event data may carry anything else; only the members a change reads are checked. */
        json_t *known = json_object();
        for (size_t i = 0; i < s.n; i++) {
            json_t *m = json_object_get(obj, s.f[i].name);
            if (m) json_object_set(known, s.f[i].name, m);
        }
        jspec_parse(known, s.f, s.n, v, fe);
        json_decref(known);
    }
    if (fe->n) return false;
    if (rest && c->what.op == LC_CREATED) {
        const struct jval *id = val(s, v, "id");
        if (id->str)
            snprintf(c->id, sizeof c->id, "%s", id->str);
        else
            auth_uuid(c->id);
        *(c->what.step ? &c->step_id : &c->run_id) = c->id;
    }
    parse_status(val(s, v, "status"), c, rest, fe);
    c->name = val(s, v, "name")->str;
    c->kind = val(s, v, "kind")->str;
    c->parent_id = val(s, v, c->what.step ? "parent_step_id" : "parent_run_id")->str;
    if (c->what.op == LC_CREATED && c->what.step) {
        if (!c->kind) field_error(fe, "kind", "is required");
        if (!c->name) field_error(fe, "name", "is required");
        if (c->parent_id && c->step_id && !strcmp(c->parent_id, c->step_id))
            field_error(fe, "parent_step_id", "must not be the step itself");
        parse_depends_on(val(s, v, "depends_on")->json, c->step_id, c, fe);
    }
    check_error(val(s, v, "error")->json, fe);
    c->input = json_member(raw, obj, "input", NULL, fe);
    if (c->what.op != LC_CREATED) {
        c->output = json_member(raw, obj, "output", &c->set_output, fe);
        c->error = json_member(raw, obj, "error", &c->set_error, fe);
        if (!c->what.step) c->usage = json_member(raw, obj, "usage", &c->set_usage, fe);
    }
    c->metadata = metadata_member(raw, obj, "metadata", fe);
    return fe->n == 0;
}

void rs_change_free(struct rs_change *c)
{
    free(c->depends_on);
    free(c->depends_json);
    free(c->input);
    free(c->output);
    free(c->error);
    free(c->usage);
    free(c->metadata);
}

static void refuse(struct rs_refusal *why, enum rs_refusal_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void refuse(struct rs_refusal *why, enum rs_refusal_kind kind, const char *fmt, ...)
{
    why->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why->detail, sizeof why->detail, fmt, ap);
    va_end(ap);
}

static const char *status_name(const struct rs_change *c, int status)
{
    return c->what.step ? step_status_name((enum step_status)status)
                        : run_status_name((enum run_status)status);
}

static enum db_qs create_run(const char *org, const char *thread, struct rs_change *c,
                             struct db_rows *rows, struct rs_refusal *why)
{
    struct run_new run = {c->run_id, c->parent_id, c->name, status_name(c, c->status),
                          c->input,  c->metadata,  c->at};
    enum db_qs qs = runs_db_insert(org, thread, &run, rows);
    if (qs != DB_NO_RESULTS) return qs;
    qs = runs_db_exists(org, c->run_id);
    if (qs < 0) return qs;
    if (qs > 0)
        refuse(why, RS_EXISTS, "run %s exists", c->run_id);
    else
        refuse(why, RS_BAD_PARENT, "parent_run_id %s names no run of thread %s", c->parent_id,
               thread);
    return DB_NO_RESULTS;
}

static enum db_qs create_step(const char *org, const char *thread, struct rs_change *c,
                              struct db_rows *rows, struct rs_refusal *why)
{
    struct step_new step = {c->step_id, c->parent_id, c->depends_on,
                            c->kind,    c->name,      status_name(c, c->status),
                            c->input,   c->metadata,  c->at};
    enum db_qs qs = steps_db_insert(org, thread, c->run_id, &step, rows);
    if (qs != DB_NO_RESULTS) return qs;
    struct step_refusal r;
    qs = steps_db_refusal(org, thread, c->run_id, &step, &r);
    if (qs < 0) return qs;
    if (r.no_run)
        refuse(why, RS_NO_RUN, "no run %s in thread %s", c->run_id, thread);
    else if (r.run_ended)
        refuse(why, RS_RUN_ENDED, "run %s has ended; steps cannot be added to it", c->run_id);
    else if (r.exists)
        refuse(why, RS_EXISTS, "step %s exists", c->step_id);
    else if (r.bad_parent)
        refuse(why, RS_BAD_PARENT, "parent_step_id %s names no step of run %s", c->parent_id,
               c->run_id);
    else
        refuse(why, RS_BAD_DEPENDS_ON, "%s names no step of run %s", r.missing, c->run_id);
    return DB_NO_RESULTS;
}

/* Whether c changes anything besides the status. */
static bool sets_fields(const struct rs_change *c)
{
    return c->set_output || c->set_error || c->set_usage || c->metadata;
}

/*
 * A status change or other fields of an existing run or step, under its row lock. *changed:
 * what it amounts to (LC_STATUS or LC_UPDATED), or -1 when nothing changes (rows: as it is).
 */
static enum db_qs change(const char *org, const char *thread, struct rs_change *c,
                         struct db_rows *rows, struct rs_refusal *why, int *changed)
{
    bool step = c->what.step;
    const char *id = step ? c->step_id : c->run_id;
    enum db_qs qs = step ? steps_db_lock(org, thread, c->run_id, id, rows)
                         : runs_db_lock(org, thread, id, rows);
    if (qs <= 0) {
        if (qs == 0)
            refuse(why, step ? RS_NO_STEP : RS_NO_RUN,
                   step ? "no step %s in run %s" : "no run %s%s", id, step ? c->run_id : "");
        return qs;
    }
    const char *now = db_str(rows, 0, step ? SC_STATUS : RC_STATUS);
    if (!step && !if_match_matches(c->if_match, db_int(rows, 0, RC_VERSION))) {
        refuse(why, RS_PRECONDITION, "the run is at version %s", db_str(rows, 0, RC_VERSION));
        db_rows_free(rows);
        return DB_NO_RESULTS;
    }
    int from = -1;
    enum transition t = TRANSITION_SAME;
    if (c->status >= 0) {
        if (step) {
            enum step_status s;
            step_status_parse(now, &s);
            from = (int)s;
            t = step_transition(s, (enum step_status)c->status);
        } else {
            enum run_status s;
            run_status_parse(now, &s);
            from = (int)s;
            t = run_transition(s, (enum run_status)c->status);
        }
    }
    if (t == TRANSITION_ILLEGAL) {
        refuse(why, RS_ILLEGAL, "%s %s is %s; it cannot become %s", step ? "step" : "run", id,
               status_name(c, from), status_name(c, c->status));
        db_rows_free(rows);
        return DB_NO_RESULTS;
    }
    *changed = t == TRANSITION_OK ? LC_STATUS : sets_fields(c) ? LC_UPDATED : -1;
    if (*changed < 0) return qs;
    const char *to = t == TRANSITION_OK ? status_name(c, c->status) : NULL;
    struct db_rows updated;
    if (step) {
        struct step_patch p = {to,       c->set_output, c->set_error, c->output,
                               c->error, c->metadata,   c->at};
        qs = steps_db_update(org, c->run_id, id, &p, &updated);
    } else {
        struct run_patch p = {to,       c->set_output, c->set_error, c->set_usage, c->output,
                              c->error, c->usage,      c->metadata,  c->at};
        qs = runs_db_update(org, thread, id, &p, &updated);
    }
    if (qs == DB_NO_RESULTS) { /* it already is as asked */
        *changed = -1;
        return DB_ONE_RESULT;
    }
    db_rows_free(rows);
    *rows = updated;
    return qs;
}

/* Applies c in the caller's transaction (the thread's row locked first). rows: the object. */
static enum db_qs apply(const char *org, const char *thread, struct rs_change *c,
                        struct db_rows *rows, struct rs_refusal *why, int *changed)
{
    rows->res = NULL;
    if (c->what.op != LC_CREATED) return change(org, thread, c, rows, why, changed);
    *changed = LC_CREATED;
    return c->what.step ? create_step(org, thread, c, rows, why)
                        : create_run(org, thread, c, rows, why);
}

/* Adds "name": json (NULL: null) to the object b holds from its '{' on. */
static void member(struct buf *b, const char *name, const char *json)
{
    if (b->len > 1) buf_putc(b, ',');
    buf_json_str(b, name);
    buf_putc(b, ':');
    buf_puts(b, json ? json : "null");
}

static void member_str(struct buf *b, const char *name, const char *s)
{
    if (b->len > 1) buf_putc(b, ',');
    buf_json_str(b, name);
    buf_putc(b, ':');
    buf_json_str(b, s);
}

/* The data of the event a REST change is recorded as: what it set (malloc'd JSON text). The same
 * data appended as that event's type elsewhere makes the same change. */
static char *event_data(const struct rs_change *c, int changed, const struct db_rows *row)
{
    bool step = c->what.step;
    struct buf b = {0};
    buf_putc(&b, '{');
    if (changed == LC_CREATED && step) {
        member_str(&b, "kind", c->kind);
        member_str(&b, "name", c->name);
    }
    if (changed != LC_UPDATED)
        member_str(&b, "status", db_str(row, 0, step ? SC_STATUS : RC_STATUS));
    if (changed == LC_CREATED) {
        if (!step && c->name) member_str(&b, "name", c->name);
        if (step) {
            member_str(&b, "path", db_str(row, 0, SC_PATH));
            member(&b, "depth", db_str(row, 0, SC_DEPTH));
            member(&b, "depends_on", c->depends_json);
        }
        if (c->parent_id) member_str(&b, step ? "parent_step_id" : "parent_run_id", c->parent_id);
        if (c->input) member(&b, "input", c->input);
    } else {
        if (c->set_output) member(&b, "output", c->output);
        if (c->set_error) member(&b, "error", c->error);
        if (c->set_usage) member(&b, "usage", c->usage);
    }
    if (c->metadata) member(&b, "metadata", c->metadata);
    buf_putc(&b, '}');
    return buf_take(&b);
}

/* Deadlocks between writers of one thread are retried this many times in all. */
#define ATTEMPTS 3

struct commit_tx {
    struct request *r;
    struct rs_change *c;
    struct db_rows *rows, events;
    struct rs_refusal *why;
};

static enum db_qs commit_body(struct db_conn *conn, void *arg)
{
    (void)conn;
    struct commit_tx *tx = arg;
    const char *org = tx->r->who.org_id, *user = scope_user(tx->r), *thread = tx->r->params[0];
    enum db_qs qs = runs_db_lock_thread(org, user, thread);
    if (qs <= 0) {
        if (qs == 0) refuse(tx->why, RS_NO_THREAD, "no thread %s", thread);
        return qs;
    }
    int changed = -1;
    qs = apply(org, thread, tx->c, tx->rows, tx->why, &changed);
    if (qs <= 0 || changed < 0) return qs;
    struct lifecycle_event e = tx->c->what;
    e.op = (enum lifecycle_op)changed;
    e.status = tx->c->status;
    char id[MAX_ID_LEN + 1];
    auth_uuid(id);
    char *data = event_data(tx->c, changed, tx->rows);
    struct event_in ev = {
        id, lifecycle_event_type(&e), tx->c->run_id, tx->c->step_id, NULL, data, tx->c->at};
    enum db_qs aq = events_db_append_one(org, thread, &ev, &tx->events);
    free(data);
    return aq > 0 ? qs : aq < 0 ? aq : DB_HARD_ERROR; /* the thread is locked: it exists */
}

enum db_qs rs_commit(struct request *r, struct rs_change *c, struct db_rows *rows,
                     struct rs_refusal *why)
{
    why->index = -1;
    why->step = c->what.step;
    struct commit_tx tx = {r, c, rows, {NULL}, why};
    enum db_qs qs = DB_SOFT_ERROR;
    for (int i = 0; i < ATTEMPTS && qs == DB_SOFT_ERROR; i++) {
        rows->res = tx.events.res = NULL;
        qs = db_transaction(commit_body, &tx);
        if (qs <= 0) db_rows_free(&tx.events);
        if (qs <= 0) db_rows_free(rows);
    }
    if (qs > 0) events_publish(r, &tx.events);
    db_rows_free(&tx.events);
    return qs;
}

struct append_tx {
    struct request *r;
    const char *expected;
    const struct event_in *ev;
    struct rs_change *const *change;
    int n;
    struct db_rows *rows;
    struct rs_refusal *why;
};

static enum db_qs append_body(struct db_conn *conn, void *arg)
{
    (void)conn;
    struct append_tx *tx = arg;
    const char *org = tx->r->who.org_id, *thread = tx->r->params[0];
    enum db_qs qs = events_db_append(org, scope_user(tx->r), thread, tx->expected, tx->ev, tx->n,
                                     tx->rows, &tx->why->append);
    if (qs <= 0) {
        if (qs == 0) refuse(tx->why, RS_APPEND, "the append was refused");
        return qs;
    }
    for (int i = 0; i < tx->n; i++) {
        if (!tx->change[i] || db_str(tx->rows, i, EV_FRESH)[0] != 't') continue;
        struct db_rows obj;
        int changed;
        tx->why->step = tx->change[i]->what.step;
        enum db_qs aq = apply(org, thread, tx->change[i], &obj, tx->why, &changed);
        db_rows_free(&obj);
        if (aq <= 0) {
            tx->why->index = i;
            db_rows_free(tx->rows);
            return aq;
        }
    }
    return qs;
}

enum db_qs rs_append(struct request *r, const char *expected_seq, const struct event_in *ev,
                     struct rs_change *const *change, int n, struct db_rows *rows,
                     struct rs_refusal *why)
{
    why->index = -1;
    struct append_tx tx = {r, expected_seq, ev, change, n, rows, why};
    enum db_qs qs = DB_SOFT_ERROR;
    for (int i = 0; i < ATTEMPTS && qs == DB_SOFT_ERROR; i++) {
        rows->res = NULL;
        qs = db_transaction(append_body, &tx);
        if (qs <= 0) db_rows_free(rows);
    }
    return qs;
}

struct reply rs_refusal_reply(const struct request *r, const struct rs_refusal *why)
{
    if (why->kind == RS_APPEND) return events_refused(r, &why->append);
    bool ev = why->index >= 0;
    char prefix[32] = "", field[96];
    if (ev) snprintf(prefix, sizeof prefix, "events[%d].", why->index);
    const char *data = ev ? "data." : "";
    enum problem code = PROB_VALIDATION_FAILED;
    switch (why->kind) {
    case RS_NO_THREAD:
    case RS_PRECONDITION:
        return problem(r, why->kind == RS_NO_THREAD ? PROB_NOT_FOUND : PROB_PRECONDITION_FAILED,
                       "%s", why->detail);
    case RS_NO_RUN:
    case RS_NO_STEP:
        if (!ev) return problem(r, PROB_NOT_FOUND, "%s", why->detail);
        snprintf(field, sizeof field, "%s%s", prefix,
                 why->kind == RS_NO_RUN ? "run_id" : "step_id");
        break;
    case RS_EXISTS:
        code = why->step ? PROB_STEP_EXISTS : PROB_RUN_EXISTS;
        snprintf(field, sizeof field, "%s%s", prefix,
                 !ev         ? "id"
                 : why->step ? "step_id"
                             : "run_id");
        break;
    case RS_BAD_PARENT:
        snprintf(field, sizeof field, "%s%s%s", prefix, data,
                 why->step ? "parent_step_id" : "parent_run_id");
        break;
    case RS_BAD_DEPENDS_ON:
        snprintf(field, sizeof field, "%s%sdepends_on", prefix, data);
        break;
    case RS_RUN_ENDED:
    case RS_ILLEGAL:
        code = PROB_INVALID_STATE_TRANSITION;
        snprintf(field, sizeof field, "%s%s", prefix,
                 ev                        ? "type"
                 : why->kind == RS_ILLEGAL ? "status"
                                           : "run_id");
        break;
    case RS_APPEND:
        break;
    }
    struct field_errors fe = {0};
    field_error(&fe, field, "%s", why->detail);
    struct reply rep = problem_fields(r, code, &fe);
    return rep;
}

bool rs_request(struct request *r, struct rs_change *c, struct db_rows *rows, struct reply *err)
{
    json_t *body;
    rows->res = NULL;
    if (!body_parse(r, &body, err)) return false;
    struct field_errors fe = {0};
    struct rs_refusal why = {0};
    enum db_qs qs = DB_NO_RESULTS;
    if (rs_parse(body, (struct jspan){r->body.data, r->body.len}, true, c, &fe))
        qs = rs_commit(r, c, rows, &why);
    rs_change_free(c);
    json_decref(body);
    if (fe.n)
        *err = problem_fields(r, PROB_VALIDATION_FAILED, &fe);
    else if (qs < 0)
        *err = db_failure(r, qs);
    else if (qs == 0)
        *err = rs_refusal_reply(r, &why);
    return qs > 0;
}
