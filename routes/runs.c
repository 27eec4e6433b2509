/* Runs under a thread: create, read, list (per thread and across the org) and change, each
 * change recorded in the event log; and a run's whole graph and summary. */
#include "routes.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "db/runs.h"
#include "db/steps.h"
#include "db/threads.h"
#include "graph.h"
#include "runlog.h"

#define GRAPH_MAX_STEPS 10000
#define SUMMARY_MAX_STEPS 1000000

static void render_run(struct buf *b, const struct db_rows *rows, int i)
{
    buf_puts(b, "{\"id\":");
    buf_json_str(b, db_str(rows, i, RC_ID));
    buf_puts(b, ",\"object\":\"run\",\"thread_id\":");
    buf_json_str(b, db_str(rows, i, RC_THREAD_ID));
    buf_puts(b, ",\"parent_run_id\":");
    buf_json_str(b, db_str(rows, i, RC_PARENT_RUN_ID));
    buf_puts(b, ",\"name\":");
    buf_json_str(b, db_str(rows, i, RC_NAME));
    buf_puts(b, ",\"status\":");
    buf_json_str(b, db_str(rows, i, RC_STATUS));
    static const char *const json_cols[] = {
        ",\"input\":", ",\"output\":", ",\"error\":", ",\"usage\":"};
    for (int k = 0; k < 4; k++) {
        buf_puts(b, json_cols[k]);
        const char *v = db_str(rows, i, RC_INPUT + k);
        buf_puts(b, v ? v : "null"); /* the client's JSON text */
    }
    buf_puts(b, ",\"metadata\":");
    buf_json_compact(b, db_str(rows, i, RC_METADATA));
    buf_puts(b, ",\"version\":");
    buf_json_int(b, db_int(rows, i, RC_VERSION));
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, db_int(rows, i, RC_CREATED_US));
    buf_puts(b, ",\"started_at\":");
    render_time_or_null(b, rows, i, RC_STARTED_US);
    buf_puts(b, ",\"ended_at\":");
    render_time_or_null(b, rows, i, RC_ENDED_US);
    buf_puts(b, ",\"updated_at\":");
    buf_json_time(b, db_int(rows, i, RC_UPDATED_US));
    buf_puts(b, ",\"step_count\":");
    buf_json_int(b, db_int(rows, i, RC_STEP_COUNT));
    buf_putc(b, '}');
}

/* A single-run reply (with its ETag); frees rows. */
static struct reply run_reply(unsigned status, struct db_rows *rows)
{
    struct buf b = {0};
    render_run(&b, rows, 0);
    struct reply rep = reply_json(status, &b);
    rep.etag_version = db_int(rows, 0, RC_VERSION);
    db_rows_free(rows);
    return rep;
}

static struct reply commit(struct request *r, struct rs_change *c, unsigned ok_status)
{
    struct reply err;
    if (!valid_id(r->params[0]) || (c->run_id && !valid_id(c->run_id)))
        return problem(r, PROB_NOT_FOUND, "no %s %s", c->run_id ? "run" : "thread",
                       c->run_id ? c->run_id : r->params[0]);
    struct db_rows rows;
    if (!rs_request(r, c, &rows, &err)) return err;
    return run_reply(ok_status, &rows);
}

struct reply runs_create(struct request *r)
{
    struct rs_change c = {.what = {.step = false, .op = LC_CREATED}};
    return commit(r, &c, 201);
}

struct reply runs_update(struct request *r)
{
    struct rs_change c = {.what = {.step = false, .op = LC_UPDATED},
                          .run_id = r->params[1],
                          .if_match = req_header(r, "If-Match")};
    return commit(r, &c, 200);
}

/* The run of the path as the caller sees it (rows: its row); false with *err. */
static bool load_run(const struct request *r, struct db_rows *rows, struct reply *err)
{
    const char *thread = r->params[0], *id = r->params[1];
    enum db_qs qs = valid_id(thread) && valid_id(id)
                        ? runs_db_get(r->who.org_id, scope_user(r), thread, id, rows)
                        : DB_NO_RESULTS;
    if (qs > 0) return true;
    *err = qs < 0 ? db_failure(r, qs)
                  : problem(r, PROB_NOT_FOUND, "no run %s in thread %s", id, thread);
    return false;
}

struct reply runs_get(struct request *r)
{
    struct db_rows rows;
    struct reply err;
    if (!load_run(r, &rows, &err)) return err;
    return run_reply(200, &rows);
}

/* A page of runs matching f; thread (or NULL) scopes cursors to it. */
static struct reply list(struct request *r, const struct page *p, const struct run_filter *f)
{
    char bound[24];
    snprintf(bound, sizeof bound, "%s", page_open_bound(p));
    enum db_qs qs;
    if (p->cursor) {
        qs = runs_db_position(r->who.org_id, scope_user(r), f->thread, p->cursor, bound);
        if (qs <= 0)
            return qs < 0 ? db_failure(r, qs)
                          : problem(r, PROB_INVALID_CURSOR, "no run %s", p->cursor);
    }
    struct db_rows rows;
    qs = runs_db_list(r->who.org_id, f, page_scan_asc(p), bound, page_fetch_limit(p), &rows);
    if (qs < 0) return db_failure(r, qs);
    struct buf b = {0};
    page_render(&b, p, &rows, db_nrows(&rows), RC_ID, render_run);
    db_rows_free(&rows);
    return reply_json(200, &b);
}

struct reply runs_list(struct request *r)
{
    struct reply rep;
    struct page p;
    const char *thread = r->params[0];
    if (!valid_id(thread)) return problem(r, PROB_NOT_FOUND, "no thread %s", thread);
    if (!parse_page(r, false, &p, &rep)) return rep;
    struct field_errors fe = {0};
    char *statuses = NULL;
    struct run_filter f = {.thread = thread, .user = scope_user(r)};
    query_choices(r, "status", rs_run_statuses, &statuses, &fe);
    f.statuses = statuses;
    f.parent_run_id = req_query(r, "parent_run_id");
    if (f.parent_run_id && !valid_id(f.parent_run_id))
        field_error(&fe, "parent_run_id", "must be a run id");
    char n[24];
    enum db_qs qs =
        fe.n ? DB_ONE_RESULT : threads_db_position(r->who.org_id, scope_user(r), thread, n);
    if (fe.n)
        rep = problem_fields(r, PROB_INVALID_QUERY, &fe);
    else if (qs <= 0)
        rep = qs < 0 ? db_failure(r, qs) : problem(r, PROB_NOT_FOUND, "no thread %s", thread);
    else
        rep = list(r, &p, &f);
    free(statuses);
    return rep;
}

struct reply runs_list_org(struct request *r)
{
    struct reply rep;
    struct page p;
    if (!parse_page(r, false, &p, &rep)) return rep;
    struct thread_filter tf = {0};
    char *created[2] = {NULL, NULL}, *metadata = NULL, *statuses = NULL;
    if (!threads_parse_filter(r, &tf, created, &metadata, &rep)) goto out;
    struct field_errors fe = {0};
    struct run_filter f = {.user = tf.user,
                           .metadata = tf.metadata,
                           .created_after = tf.created_after,
                           .created_before = tf.created_before};
    query_choices(r, "status", rs_run_statuses, &statuses, &fe);
    f.statuses = statuses;
    f.thread = req_query(r, "thread_id");
    if (f.thread && !valid_id(f.thread)) field_error(&fe, "thread_id", "must be a thread id");
    rep = fe.n ? problem_fields(r, PROB_INVALID_QUERY, &fe) : list(r, &p, &f);
out:
    free(created[0]);
    free(created[1]);
    free(metadata);
    free(statuses);
    return rep;
}

/* Edges of the step rows: child (parent -> step) and depends_on (dependency -> step). */
static void render_edges(struct buf *b, const struct db_rows *steps)
{
    bool first = true;
    for (int i = 0; i < db_nrows(steps); i++) {
        const char *to = db_str(steps, i, SC_ID), *parent = db_str(steps, i, SC_PARENT_STEP_ID);
        if (parent) {
            buf_puts(b, first ? "{\"from\":" : ",{\"from\":");
            buf_json_str(b, parent);
            buf_puts(b, ",\"to\":");
            buf_json_str(b, to);
            buf_puts(b, ",\"kind\":\"child\"}");
            first = false;
        }
        for (const char *d = db_str(steps, i, SC_DEPENDS_ON); d && *d;) {
            size_t n = strcspn(d, ",");
            buf_puts(b, first ? "{\"from\":" : ",{\"from\":");
            buf_json_strn(b, d, n);
            buf_puts(b, ",\"to\":");
            buf_json_str(b, to);
            buf_puts(b, ",\"kind\":\"depends_on\"}");
            first = false;
            d += n + (d[n] == ',');
        }
    }
}

struct reply runs_graph(struct request *r)
{
    struct db_rows run, steps;
    struct reply err;
    if (!load_run(r, &run, &err)) return err;
    db_rows_free(&run);
    enum db_qs qs = steps_db_all(r->who.org_id, r->params[1], false, GRAPH_MAX_STEPS + 1, &steps);
    if (qs < 0) return db_failure(r, qs);
    int n = db_nrows(&steps);
    if (n > GRAPH_MAX_STEPS) {
        db_rows_free(&steps);
        return problem(r, PROB_GRAPH_TOO_LARGE,
                       "the run has more than %d steps; page through its steps", GRAPH_MAX_STEPS);
    }
    struct buf b = {0};
    buf_puts(&b, "{\"object\":\"run.graph\",\"run_id\":");
    buf_json_str(&b, r->params[1]);
    buf_puts(&b, ",\"nodes\":[");
    for (int i = 0; i < n; i++) {
        if (i) buf_putc(&b, ',');
        render_step(&b, &steps, i);
    }
    buf_puts(&b, "],\"edges\":[");
    render_edges(&b, &steps);
    buf_puts(&b, "]}");
    db_rows_free(&steps);
    return reply_json(200, &b);
}

/* Microseconds from start to end (NULL end: now), or -1 for never started. */
static long long span_us(const struct db_rows *rows, int i, int started, int ended, long long now)
{
    if (db_is_null(rows, i, started)) return -1;
    long long end = db_is_null(rows, i, ended) ? now : db_int(rows, i, ended);
    return end - db_int(rows, i, started);
}

static void render_ms(struct buf *b, long long us)
{
    if (us < 0)
        buf_puts(b, "null");
    else
        buf_printf(b, "%lld.%03lld", us / 1000, us % 1000);
}

/* What the summary needs of a step, read from its row once. */
struct sstep {
    const char *id;
    long long start; /* LLONG_MAX: never started */
    int row;
};

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct sstep *)a)->id, ((const struct sstep *)b)->id);
}

/* Start order (never started last), then creation order. */
static int by_start(const void *a, const void *b)
{
    const struct sstep *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* The row of step id[0..len) among s[0..n) sorted by id, or -1. */
static int find_step(const struct sstep *s, int n, const char *id, size_t len)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = strncmp(s[mid].id, id, len);
        if (c == 0 && s[mid].id[len]) c = 1;
        if (c == 0) return s[mid].row;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* The heaviest chain of step durations along child and depends_on edges (ids into b); s is
 * sorted by id. */
static void render_critical_path(struct buf *b, const struct db_rows *steps, const long long *dur,
                                 const struct sstep *s)
{
    int n = db_nrows(steps), m = 0, cap = 0;
    int *path = malloc(((size_t)n + 1) * sizeof *path);
    struct graph_edge *edges = NULL;
    if (!path) abort();
    for (int i = 0; i < n; i++) {
        const char *parent = db_str(steps, i, SC_PARENT_STEP_ID),
                   *d = db_str(steps, i, SC_DEPENDS_ON);
        for (bool own = parent != NULL;; own = false) {
            if (!own && (!d || !*d)) break;
            const char *from = own ? parent : d;
            size_t len = own ? strlen(parent) : strcspn(d, ",");
            int k = find_step(s, n, from, len);
            if (k >= 0) {
                if (m == cap) {
                    cap = cap ? cap * 2 : 64;
                    edges = realloc(edges, (size_t)cap * sizeof *edges);
                    if (!edges) abort();
                }
                edges[m++] = (struct graph_edge){k, i};
            }
            if (!own) d += len + (d[len] == ',');
        }
    }
    int len = critical_path(dur, n, edges, m, path);
    for (int i = 0; i < len; i++) {
        if (i) buf_putc(b, ',');
        buf_json_str(b, db_str(steps, path[i], SC_ID));
    }
    free(edges);
    free(path);
}

/* Every step in start order (s sorted so). */
static void render_timeline(struct buf *b, const struct db_rows *steps, const long long *dur,
                            const struct sstep *s)
{
    for (int k = 0; k < db_nrows(steps); k++) {
        int i = s[k].row;
        buf_puts(b, k ? ",{\"step_id\":" : "{\"step_id\":");
        buf_json_str(b, db_str(steps, i, SC_ID));
        buf_puts(b, ",\"path\":");
        buf_json_str(b, db_str(steps, i, SC_PATH));
        buf_puts(b, ",\"name\":");
        buf_json_str(b, db_str(steps, i, SC_NAME));
        buf_puts(b, ",\"kind\":");
        buf_json_str(b, db_str(steps, i, SC_KIND));
        buf_puts(b, ",\"status\":");
        buf_json_str(b, db_str(steps, i, SC_STATUS));
        buf_puts(b, ",\"started_at\":");
        render_time_or_null(b, steps, i, SC_STARTED_US);
        buf_puts(b, ",\"ended_at\":");
        render_time_or_null(b, steps, i, SC_ENDED_US);
        buf_puts(b, ",\"duration_ms\":");
        render_ms(b, dur[i]);
        buf_putc(b, '}');
    }
}

/* {"name": count, ...} over every choice, counting the rows whose column holds it. */
static void render_counts(struct buf *b, const struct db_rows *steps, int col,
                          const char *const *choices)
{
    long long count[16] = {0};
    for (int i = 0; i < db_nrows(steps); i++) {
        const char *v = db_str(steps, i, col);
        for (int c = 0; c < 16 && choices[c]; c++)
            if (!strcmp(v, choices[c])) {
                count[c]++;
                break;
            }
    }
    buf_putc(b, '{');
    for (int c = 0; c < 16 && choices[c]; c++)
        buf_printf(b, "%s\"%s\":%lld", c ? "," : "", choices[c], count[c]);
    buf_putc(b, '}');
}

static void render_summary(struct buf *b, const struct db_rows *run, const struct db_rows *steps,
                           const struct db_rows *events)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    long long now = (long long)tv.tv_sec * 1000000 + tv.tv_usec;
    int n = db_nrows(steps);
    long long *dur = malloc(((size_t)n + 1) * sizeof *dur);
    struct sstep *s = malloc(((size_t)n + 1) * sizeof *s);
    if (!dur || !s) abort();
    for (int i = 0; i < n; i++) {
        dur[i] = span_us(steps, i, SC_STARTED_US, SC_ENDED_US, now);
        bool started = !db_is_null(steps, i, SC_STARTED_US);
        s[i] = (struct sstep){db_str(steps, i, SC_ID),
                              started ? db_int(steps, i, SC_STARTED_US) : LLONG_MAX, i};
    }
    buf_puts(b, "{\"object\":\"run.summary\",\"run_id\":");
    buf_json_str(b, db_str(run, 0, RC_ID));
    buf_puts(b, ",\"status\":");
    buf_json_str(b, db_str(run, 0, RC_STATUS));
    buf_puts(b, ",\"duration_ms\":");
    render_ms(b, span_us(run, 0, RC_STARTED_US, RC_ENDED_US, now));
    buf_printf(b, ",\"steps\":{\"total\":%d,\"by_status\":", n);
    render_counts(b, steps, SC_STATUS, rs_step_statuses);
    buf_puts(b, ",\"by_kind\":");
    render_counts(b, steps, SC_KIND, rs_step_kinds);
    long long total = 0;
    buf_puts(b, "},\"events\":{\"by_type\":{");
    for (int i = 0; i < db_nrows(events); i++) {
        if (i) buf_putc(b, ',');
        buf_json_str(b, db_str(events, i, 0));
        buf_putc(b, ':');
        buf_puts(b, db_str(events, i, 1));
        total += db_int(events, i, 1);
    }
    buf_printf(b, "},\"total\":%lld},\"timeline\":[", total);
    qsort(s, (size_t)n, sizeof *s, by_start);
    render_timeline(b, steps, dur, s);
    buf_puts(b, "],\"critical_path\":[");
    for (int i = 0; i < n; i++)
        if (dur[i] < 0) dur[i] = 0; /* never started: takes no time */
    qsort(s, (size_t)n, sizeof *s, by_id);
    render_critical_path(b, steps, dur, s);
    buf_puts(b, "]}");
    free(s);
    free(dur);
}

struct reply runs_summary(struct request *r)
{
    struct db_rows run, steps, events;
    struct reply err;
    if (!load_run(r, &run, &err)) return err;
    enum db_qs qs = steps_db_all(r->who.org_id, r->params[1], true, SUMMARY_MAX_STEPS, &steps);
    enum db_qs eq =
        qs < 0 ? qs : runs_db_event_counts(r->who.org_id, r->params[0], r->params[1], &events);
    if (qs < 0 || eq < 0) {
        if (qs >= 0) db_rows_free(&steps);
        db_rows_free(&run);
        return db_failure(r, qs < 0 ? qs : eq);
    }
    struct buf b = {0};
    render_summary(&b, &run, &steps, &events);
    db_rows_free(&run);
    db_rows_free(&steps);
    db_rows_free(&events);
    return reply_json(200, &b);
}
