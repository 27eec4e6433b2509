/* GET /v1/threads/{id}/events/stream: the event log as Server-Sent Events, backlog then live.
 *
 * The model: the stream keeps the thread-per-connection server's thread of its connection, and
 * that thread sleeps in poll() on two descriptors, the subscriber's eventfd (the hub wakes it)
 * and the client's socket (POLLRDHUP: the client left). Nothing runs for an idle stream between
 * events and pings, a departed client is noticed at once (its thread and descriptors are freed
 * then), and the code reads top to bottom. Measured with 9,900 idle streams (make bench): about
 * 63 KiB of RSS each (24 KiB of touched thread stack, the rest mostly libmicrohttpd's
 * per-connection memory pool), under the 64 KiB goal, and two descriptors each. libmicrohttpd
 * 0.9.75's suspend/resume would save the threads, but a suspended connection does not notice a
 * client that leaves (0.9.75 sees it only at the connection timeout), and the fan-out cost that
 * matters is per delivery (a wake-up and a send), which an event loop pays as well.
 *
 * Never skip, never repeat: the stream subscribes before it reads the backlog, tracks the last
 * seq it has passed (sent or filtered out), drops what it has passed already, and on any gap
 * (or a poke from another instance) reads the database after that seq: seq order is commit
 * order, so what the database shows below the thread's last seq is complete. */
#include "routes.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "db/events.h"
#include "db/keys.h"
#include "hub.h"
#include "json.h"
#include "sse.h"

#define CATCH_UP_PAGE 500
#define RETRY_MS 500 /* after a failed catch-up (database unavailable) */

struct stream {
    struct hub_sub *sub;
    int client_fd;
    char org[37], user[256], thread[MAX_ID_LEN + 1];
    bool scoped; /* user holds a user key's user_id */
    struct sse_filter filter;
    char filter_ids[3][MAX_ID_LEN + 1];
    struct event_filter db_filter;
    char *types, *prefixes;
    long long last;     /* every event up to this seq has been sent or filtered out */
    long long thread_n; /* the thread's incarnation: another one means it was deleted */
    bool need_catch_up, done, client_left;
    /* Another source of frames than the event list (AG-UI replays): it reads the database
     * after *last into out, and the hub only tells the stream that there is news. */
    stream_source_fn source;
    void *source_cls;
    void (*source_free)(void *cls);
    struct buf out;
    size_t out_off;
    long long next_ping_ms;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the database after s->last into s->out. 1: caught up (or enough for now), 0: the thread
 * is gone, < 0: the database failed (try again later). */
static int catch_up(struct stream *s)
{
    if (s->source) return s->source(s->source_cls, &s->last, &s->out, &s->need_catch_up);
    struct db_rows rows;
    enum db_qs qs =
        events_db_list(s->org, s->scoped ? s->user : NULL, s->thread, s->last,
                       9223372036854775807LL, true, &s->db_filter, CATCH_UP_PAGE, &rows);
    if (qs <= 0) return qs < 0 ? -1 : 0;
    long long incarnation = db_int(&rows, 0, EV_THREAD_N);
    if (s->thread_n && incarnation != s->thread_n) { /* deleted, and created again since */
        db_rows_free(&rows);
        return 0;
    }
    s->thread_n = incarnation;
    int n = db_is_null(&rows, 0, EV_SEQ) ? 0 : db_nrows(&rows);
    struct buf json = {0};
    for (int i = 0; i < n; i++) {
        json.len = 0;
        render_event(&json, &rows, i);
        s->last = db_int(&rows, i, EV_SEQ);
        sse_frame(&s->out, s->last, db_str(&rows, i, EV_TYPE), json.data, json.len);
    }
    buf_free(&json);
    long long thread_last = db_int(&rows, 0, EV_LAST_SEQ);
    /* A short page read everything committed up to the thread's last seq (one snapshot). */
    if (n < CATCH_UP_PAGE && thread_last > s->last) s->last = thread_last;
    s->need_catch_up = n == CATCH_UP_PAGE;
    db_rows_free(&rows);
    return 1;
}

/* Takes what the hub has for s: frames in order, or a gap that needs the database. */
static void take(struct stream *s)
{
    struct hub_batch b;
    hub_take(s->sub, &b);
    if (b.ended || b.overflow) s->done = true; /* the client resumes with Last-Event-ID */
    if (b.poke) s->need_catch_up = true;
    for (size_t i = 0; i < b.n && !s->done && !s->need_catch_up; i++) {
        const struct hub_event *e = b.ev[i];
        if (e->thread_n != s->thread_n) {
            s->need_catch_up = true; /* the id's thread was deleted and created again */
            break;
        }
        if (e->seq <= s->last) continue;
        if (e->seq > s->last + 1 || s->source) {
            s->need_catch_up = true; /* an earlier one is published late: read it */
            break;
        }
        s->last = e->seq;
        if (sse_filter_match(&s->filter, e->type, e->run_id, e->step_id, e->message_id))
            buf_add(&s->out, e->frame, e->len);
    }
    hub_batch_free(&b);
}

/* Sleeps until the hub has something, the client leaves, or it is time to ping. */
static void wait_for_news(struct stream *s, int retry_ms)
{
    long long wait = s->next_ping_ms - now_ms();
    if (retry_ms > 0 && wait > retry_ms) wait = retry_ms;
    if (wait < 0) wait = 0;
    struct pollfd p[2] = {{.fd = hub_fd(s->sub), .events = POLLIN},
                          {.fd = s->client_fd, .events = POLLRDHUP}};
    int n = poll(p, s->client_fd >= 0 ? 2 : 1, (int)wait);
    if (n > 0 && (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
        s->done = s->client_left = true;
        return;
    }
    if (n == 0 && now_ms() >= s->next_ping_ms) buf_puts(&s->out, ": ping\n\n");
}

/* Fills s->out with the next frames (or a ping), or sets s->done. */
static void fill(struct stream *s)
{
    while (!s->done && s->out.len == 0) {
        take(s);
        int retry = 0;
        if (!s->done && s->need_catch_up) {
            int got = catch_up(s);
            if (got == 0) s->done = true;
            if (got < 0) retry = RETRY_MS;
        }
        if (!s->done && s->out.len == 0) wait_for_news(s, retry);
    }
    s->next_ping_ms = now_ms() + (long long)cfg.sse_ping_ms;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *s = cls;
    if (s->out_off == s->out.len) {
        s->out.len = s->out_off = 0;
        fill(s);
        if (s->out.len == 0) return s->client_left ? STREAM_ABORT : STREAM_END;
    }
    size_t n = s->out.len - s->out_off;
    if (n > max) n = max;
    memcpy(buf, s->out.data + s->out_off, n);
    s->out_off += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream *s = cls;
    hub_unsubscribe(s->sub);
    if (s->source_free) s->source_free(s->source_cls);
    buf_free(&s->out);
    free(s->types);
    free(s->prefixes);
    free(s);
}

/* The seq to start after: Last-Event-ID, else after_seq, else 0 (the whole log). */
static bool start_seq(const struct request *r, long long *out, struct field_errors *fe)
{
    const char *id = req_header(r, "Last-Event-ID");
    const char *q = req_query(r, "after_seq");
    *out = 0;
    if (id && !sse_parse_seq(id, out)) {
        field_error(fe, "Last-Event-ID", "must be the id (seq) of an event");
        return false;
    }
    if (!id && q && !sse_parse_seq(q, out)) {
        field_error(fe, "after_seq", "must be an integer from 0");
        return false;
    }
    return true;
}

/* Copies the request's filter into s, so the stream outlives the request's strings. */
static bool stream_filter(const struct request *r, struct stream *s, struct field_errors *fe)
{
    if (!parse_event_filter(r, &s->filter, &s->db_filter, &s->types, &s->prefixes, fe))
        return false;
    const char **sf[3] = {&s->filter.run_id, &s->filter.step_id, &s->filter.message_id};
    const char **df[3] = {&s->db_filter.run_id, &s->db_filter.step_id, &s->db_filter.message_id};
    for (int i = 0; i < 3; i++) {
        if (!*df[i]) continue;
        snprintf(s->filter_ids[i], sizeof s->filter_ids[i], "%s", *df[i]);
        *sf[i] = *df[i] = s->filter_ids[i];
    }
    return true;
}

static struct reply open_stream(struct request *r, struct stream *s);

struct reply events_stream(struct request *r)
{
    const char *thread = r->params[0];
    if (!valid_id(thread)) return problem(r, PROB_NOT_FOUND, "no thread %s", thread);
    struct stream *s = calloc(1, sizeof *s);
    if (!s) abort();
    struct field_errors fe = {0};
    bool ok = start_seq(r, &s->last, &fe);
    ok = stream_filter(r, s, &fe) && ok; /* both, so every bad parameter is named */
    if (!ok) {
        stream_free(s);
        return problem_fields(r, PROB_INVALID_QUERY, &fe);
    }
    return open_stream(r, s);
}

/* Subscribes s (whose position and filters are set) to its thread, reads what it has after its
 * position, and makes the streamed reply. */
static struct reply open_stream(struct request *r, struct stream *s)
{
    const char *thread = r->params[0];
    snprintf(s->org, sizeof s->org, "%s", r->who.org_id);
    snprintf(s->thread, sizeof s->thread, "%s", thread);
    s->scoped = scope_user(r) != NULL;
    if (s->scoped) snprintf(s->user, sizeof s->user, "%s", scope_user(r));
    /* Subscribe first: what commits while the backlog is read is queued, not missed. */
    s->sub = hub_subscribe(s->org, s->thread, r->who.key_id);
    if (!s->sub) {
        stream_free(s);
        return problem(
            r, PROB_DATABASE_UNAVAILABLE,
            "no stream can be opened now (the server is stopping, or out of descriptors)");
    }
    /* A revocation that ended the key's streams just before this one subscribed must end it
     * too: ask the database, past the key cache, now that the hub would tell us of a later one. */
    enum db_qs active = keys_db_active(r->who.key_id);
    if (active <= 0) {
        stream_free(s);
        return active < 0 ? db_failure(r, active)
                          : problem(r, PROB_UNAUTHORIZED, "the key was revoked");
    }
    int got = catch_up(s);
    if (got <= 0) {
        stream_free(s);
        return got < 0 ? db_failure(r, DB_UNAVAILABLE)
                       : problem(r, PROB_NOT_FOUND, "no thread %s", thread);
    }
    s->client_fd = req_socket(r);
    s->next_ping_ms = now_ms() + (long long)cfg.sse_ping_ms;
    struct reply rep = {.status = 200, .content_type = "text/event-stream"};
    rep.stream = stream_read;
    rep.stream_cls = s;
    rep.stream_free = stream_free;
    return rep;
}

struct reply stream_from(struct request *r, long long after, struct buf *lead,
                         stream_source_fn source, void *cls, void (*cls_free)(void *))
{
    struct stream *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->last = after;
    s->source = source;
    s->source_cls = cls;
    s->source_free = cls_free;
    s->out = *lead;
    *lead = (struct buf){0};
    return open_stream(r, s);
}
