/* The steps of a run: create, read, page and change, each change recorded in the event log. */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/runs.h"
#include "db/steps.h"
#include "runlog.h"

void render_step(struct buf *b, const struct db_rows *rows, int i)
{
    buf_puts(b, "{\"id\":");
    buf_json_str(b, db_str(rows, i, SC_ID));
    buf_puts(b, ",\"object\":\"run.step\",\"thread_id\":");
    buf_json_str(b, db_str(rows, i, SC_THREAD_ID));
    buf_puts(b, ",\"run_id\":");
    buf_json_str(b, db_str(rows, i, SC_RUN_ID));
    buf_puts(b, ",\"parent_step_id\":");
    buf_json_str(b, db_str(rows, i, SC_PARENT_STEP_ID));
    buf_puts(b, ",\"depends_on\":[");
    const char *deps = db_str(rows, i, SC_DEPENDS_ON);
    while (deps && *deps) { /* ids hold no ',' and need no escaping */
        size_t n = strcspn(deps, ",");
        buf_putc(b, '"');
        buf_add(b, deps, n);
        buf_putc(b, '"');
        deps += n;
        if (*deps == ',') buf_putc(b, *deps++);
    }
    buf_puts(b, "],\"kind\":");
    buf_json_str(b, db_str(rows, i, SC_KIND));
    buf_puts(b, ",\"name\":");
    buf_json_str(b, db_str(rows, i, SC_NAME));
    buf_puts(b, ",\"status\":");
    buf_json_str(b, db_str(rows, i, SC_STATUS));
    buf_puts(b, ",\"path\":");
    buf_json_str(b, db_str(rows, i, SC_PATH));
    buf_puts(b, ",\"depth\":");
    buf_puts(b, db_str(rows, i, SC_DEPTH));
    static const char *const json_cols[] = {",\"input\":", ",\"output\":", ",\"error\":"};
    for (int k = 0; k < 3; k++) {
        buf_puts(b, json_cols[k]);
        const char *v = db_str(rows, i, SC_INPUT + k);
        buf_puts(b, v ? v : "null"); /* the client's JSON text */
    }
    buf_puts(b, ",\"metadata\":");
    const char *md = db_str(rows, i, SC_METADATA);
    if (md)
        buf_json_compact(b, md);
    else
        buf_puts(b, "{}");
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, db_int(rows, i, SC_CREATED_US));
    buf_puts(b, ",\"started_at\":");
    render_time_or_null(b, rows, i, SC_STARTED_US);
    buf_puts(b, ",\"ended_at\":");
    render_time_or_null(b, rows, i, SC_ENDED_US);
    buf_puts(b, ",\"updated_at\":");
    buf_json_time(b, db_int(rows, i, SC_UPDATED_US));
    buf_putc(b, '}');
}

static struct reply step_reply(unsigned status, struct db_rows *rows)
{
    struct buf b = {0};
    render_step(&b, rows, 0);
    db_rows_free(rows);
    return reply_json(status, &b);
}

/* The run of the path (/v1/threads/{t}/runs/{r}/...) as the caller sees it; false with *err. */
static bool visible_run(const struct request *r, struct reply *err)
{
    const char *thread = r->params[0], *run = r->params[1];
    if (!valid_id(thread) || !valid_id(run)) {
        *err = problem(r, PROB_NOT_FOUND, "no run %s", run);
        return false;
    }
    struct db_rows rows;
    enum db_qs qs = runs_db_get(r->who.org_id, scope_user(r), thread, run, &rows);
    db_rows_free(&rows);
    if (qs > 0) return true;
    *err = qs < 0 ? db_failure(r, qs)
                  : problem(r, PROB_NOT_FOUND, "no run %s in thread %s", run, thread);
    return false;
}

/* Parses the body as a change of kind `what` and commits it (201 for a new step). */
static struct reply commit(struct request *r, struct rs_change *c, unsigned ok_status)
{
    struct reply err;
    if (!valid_id(r->params[0]) || !valid_id(r->params[1]) || (c->step_id && !valid_id(c->step_id)))
        return problem(r, PROB_NOT_FOUND, "no %s %s", c->step_id ? "step" : "run",
                       c->step_id ? c->step_id : r->params[1]);
    struct db_rows rows;
    if (!rs_request(r, c, &rows, &err)) return err;
    return step_reply(ok_status, &rows);
}

struct reply steps_create(struct request *r)
{
    struct rs_change c = {.what = {.step = true, .op = LC_CREATED}, .run_id = r->params[1]};
    return commit(r, &c, 201);
}

struct reply steps_update(struct request *r)
{
    struct rs_change c = {
        .what = {.step = true, .op = LC_UPDATED}, .run_id = r->params[1], .step_id = r->params[2]};
    return commit(r, &c, 200);
}

struct reply steps_get(struct request *r)
{
    struct reply err;
    if (!visible_run(r, &err)) return err;
    const char *id = r->params[2];
    struct db_rows rows;
    enum db_qs qs =
        valid_id(id) ? steps_db_get(r->who.org_id, r->params[1], id, &rows) : DB_NO_RESULTS;
    if (qs < 0) return db_failure(r, qs);
    if (qs == 0) return problem(r, PROB_NOT_FOUND, "no step %s in run %s", id, r->params[1]);
    return step_reply(200, &rows);
}

struct reply steps_list(struct request *r)
{
    struct reply rep;
    struct page p;
    if (!parse_page(r, true, &p, &rep)) return rep;
    struct field_errors fe = {0};
    struct step_filter f = {0};
    char *statuses = NULL, *kinds = NULL;
    query_choices(r, "status", rs_step_statuses, &statuses, &fe);
    query_choices(r, "kind", rs_step_kinds, &kinds, &fe);
    f.statuses = statuses;
    f.kinds = kinds;
    f.parent_step_id = req_query(r, "parent_step_id");
    if (f.parent_step_id && !valid_id(f.parent_step_id))
        field_error(&fe, "parent_step_id", "must be a step id");
    if (fe.n) {
        rep = problem_fields(r, PROB_INVALID_QUERY, &fe);
        goto out;
    }
    if (!visible_run(r, &rep)) goto out;
    char bound[24];
    snprintf(bound, sizeof bound, "%s", page_open_bound(&p));
    enum db_qs qs;
    if (p.cursor) {
        qs = steps_db_position(r->who.org_id, r->params[1], p.cursor, bound);
        if (qs <= 0) {
            rep = qs < 0 ? db_failure(r, qs)
                         : problem(r, PROB_INVALID_CURSOR, "no step %s", p.cursor);
            goto out;
        }
    }
    struct db_rows rows;
    qs = steps_db_list(r->who.org_id, r->params[1], &f, page_scan_asc(&p), bound,
                       page_fetch_limit(&p), &rows);
    if (qs < 0) {
        rep = db_failure(r, qs);
        goto out;
    }
    struct buf b = {0};
    page_render(&b, &p, &rows, db_nrows(&rows), SC_ID, render_step);
    db_rows_free(&rows);
    rep = reply_json(200, &b);
out:
    free(statuses);
    free(kinds);
    return rep;
}
