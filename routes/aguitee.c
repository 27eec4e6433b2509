/* POST /v1/threads/{id}/agui with a text/event-stream body: a producer's SSE output (a proxy
 * teeing a run) stored and projected as it arrives. The frames of each piece of the body that
 * arrives commit together; a frame refused answers 400 naming frames[<n>] once the body ends,
 * and every frame before it stays committed, as does everything received when the client
 * leaves in the middle. */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aguiproj.h"
#include "db/events.h"
#include "json.h"
#include "live.h"
#include "sseread.h"

#define MAX_FRAME_BYTES (256 * 1024)

struct tee {
    struct sse_reader rd;
    json_t *events;    /* the frames of the current piece, parsed */
    struct buf *texts; /* their JSON text */
    size_t n, cap;
    long frames;           /* frames before the current piece */
    long count;            /* events committed */
    long long first, last; /* their seqs */
    bool failed;           /* the reply is the refusal, nothing more is read */
    bool opened;           /* a run was started by this request */
    struct reply refusal;
    struct field_errors fe; /* a frame that is not an event */
};

/* One frame: kept as text for the next commit. */
static void on_frame(void *cls, const char *data, size_t len)
{
    struct tee *t = cls;
    if (t->failed || t->fe.n) return;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->texts = realloc(t->texts, t->cap * sizeof *t->texts);
        if (!t->texts) abort();
    }
    struct buf *b = &t->texts[t->n];
    *b = (struct buf){0};
    buf_add(b, data, len);
    buf_putc(b, '\0');
    b->len--;
    json_error_t je;
    json_t *ev = json_loadb(
        data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL | JSON_DECODE_ANY, &je);
    char at[48];
    snprintf(at, sizeof at, "frames[%ld]", t->frames + (long)t->n);
    if (!ev) field_error(&t->fe, at, "is not JSON: %s", je.text);
    json_array_append_new(t->events, ev ? ev : json_null());
    t->n++;
}

static void refuse(struct tee *t, struct reply rep)
{
    t->failed = true;
    t->refusal = rep;
}

/* Stores and projects frames [0, n) of the piece; false when the database failed. */
static bool commit(struct request *r, struct tee *t, size_t n, struct aguiproj *p)
{
    if (n == 0) return true;
    json_t *events = json_array();
    struct jspan *spans = calloc(n, sizeof *spans);
    if (!spans) abort();
    for (size_t i = 0; i < n; i++) {
        json_array_append(events, json_array_get(t->events, i));
        spans[i] = (struct jspan){t->texts[i].data, t->texts[i].len};
    }
    struct db_rows rows;
    enum db_qs qs = aguiproj_run(p, events, spans, &rows);
    json_decref(events);
    free(spans);
    if (qs > 0) {
        int k = db_nrows(&rows);
        if (k && !t->count) t->first = db_int(&rows, 0, EV_SEQ);
        if (k) t->last = db_int(&rows, k - 1, EV_SEQ);
        t->count += k;
        events_publish(r, &rows);
        live_commit(r);
        db_rows_free(&rows);
    }
    if (qs < 0) refuse(t, db_failure(r, qs));
    return qs >= 0;
}

/* Checks, stores and projects the frames of the piece; the first refused one ends the tee,
 * the ones before it committed. */
static void take_piece(struct request *r, struct tee *t)
{
    struct field_errors fe = {0};
    size_t ok = 0;
    while (ok < t->n && (!t->fe.n || ok + 1 < t->n) &&
           agui_frame_check(json_array_get(t->events, ok),
                            (struct jspan){t->texts[ok].data, t->texts[ok].len},
                            t->frames + (long)ok, &fe))
        ok++;
    struct aguiproj p = {.org = r->who.org_id, .user = scope_user(r), .thread = r->params[0]};
    p.err_index = -1;
    p.opened = t->opened;
    if (!commit(r, t, ok, &p)) return;
    t->opened = p.opened;
    if (p.not_visible) {
        refuse(t, problem(r, PROB_NOT_FOUND, "no thread %s", r->params[0]));
    } else if (p.err_index >= 0) { /* refused by the projection: commit what came before */
        struct aguiproj q = p;
        if (commit(r, t, (size_t)p.err_index, &q))
            refuse(t, agui_refused(r, &p, "frames", t->frames));
    } else if (ok < t->n) {
        refuse(t, problem_fields(r, PROB_VALIDATION_FAILED, t->fe.n ? &t->fe : &fe));
    }
    for (size_t i = 0; i < t->n; i++)
        buf_free(&t->texts[i]);
    json_array_clear(t->events);
    t->frames += (long)t->n;
    t->n = 0;
}

static void tee_free(struct tee *t)
{
    sse_read_free(&t->rd);
    for (size_t i = 0; i < t->n; i++)
        buf_free(&t->texts[i]);
    free(t->texts);
    json_decref(t->events);
    free(t);
}

/* A problem of the stream itself (CR, garbage, size) at the frame after those delivered. */
static void stream_problem(struct request *r, struct tee *t, enum sse_read e)
{
    take_piece(r, t);
    if (t->failed) return;
    struct field_errors fe = {0};
    char at[48];
    snprintf(at, sizeof at, "frames[%ld]", t->frames);
    field_error(&fe, at, "%s", sse_read_why(e));
    refuse(t, problem_fields(r, PROB_VALIDATION_FAILED, &fe));
}

struct reply agui_tee(struct request *r, enum sink_call call, const char *data, size_t len,
                      void **state)
{
    struct tee *t = *state;
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t) abort();
        t->rd.max_frame = MAX_FRAME_BYTES + 4096;
        t->events = json_array();
        *state = t;
    }
    if (call == SINK_DATA) {
        enum sse_read e = t->failed ? SSE_OK : sse_read_feed(&t->rd, data, len, on_frame, t);
        if (e != SSE_OK)
            stream_problem(r, t, e);
        else if (!t->failed)
            take_piece(r, t);
        return (struct reply){0};
    }
    if (call == SINK_END && !t->failed) {
        enum sse_read e = sse_read_finish(&t->rd, on_frame, t);
        if (e != SSE_OK)
            stream_problem(r, t, e);
        else
            take_piece(r, t);
    }
    struct reply rep = t->failed ? t->refusal : agui_summary(r, t->count, t->first, t->last);
    if (call == SINK_ABORT) buf_free(&rep.body);
    tee_free(t);
    *state = NULL;
    return rep;
}
