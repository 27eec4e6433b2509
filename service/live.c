/* Live delivery around the hub: what a request publishes once it has committed, and the
 * cross-instance notifications (one LISTEN connection, coalesced NOTIFYs off the write path).
 *
 * NOTIFY inside each write transaction cut append throughput by 50-70% (it takes a global lock
 * at commit), so appends never notify: after the commit, the request hands its thread id to the
 * notifier thread, which sends one NOTIFY per 10 milliseconds at most, on a connection of its own,
 * with every thread id that changed. Other instances poke their subscribers of those threads, which
 * catch up from the database; a notification is a hint, the database is the truth. */
#include "live.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "hub.h"
#include "listen.h"
#include "log.h"
#include "pool.h"
#include "sse.h"

#define CHANNEL "convstore_events"
#define MAX_PAYLOAD 7900 /* PostgreSQL's limit is 8000 bytes */
#define COALESCE_MS 10   /* at most ~100 NOTIFYs a second, however many appends */
#define MAX_QUEUED 10000 /* thread ids waiting to be announced; beyond, others poke everyone */

/* What a request publishes once it has committed. */
struct live_pending {
    char org[37], thread[129];
    struct hub_event **ev;
    size_t n, cap;
};

static struct {
    char instance[37];
    const char *conninfo;
    pthread_t thread;
    bool started, stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char **queue; /* "org/thread" strings */
    size_t n, cap;
    bool overflow; /* too many to list: announce "*" */
} L = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void announce(const char *org, const char *thread)
{
    size_t len = strlen(org) + strlen(thread) + 2;
    char *s = malloc(len);
    if (!s) abort();
    snprintf(s, len, "%s/%s", org, thread);
    pthread_mutex_lock(&L.mu);
    bool dup = L.n > 0 && !strcmp(L.queue[L.n - 1], s); /* a burst on one thread */
    if (dup || L.n >= MAX_QUEUED) {
        L.overflow = L.overflow || !dup;
        free(s);
    } else {
        if (L.n == L.cap) {
            L.cap = L.cap ? 2 * L.cap : 64;
            L.queue = realloc(L.queue, L.cap * sizeof *L.queue);
            if (!L.queue) abort();
        }
        L.queue[L.n++] = s;
    }
    pthread_cond_signal(&L.cv);
    pthread_mutex_unlock(&L.mu);
}

static bool send_payload(PGconn *pg, const char *payload)
{
    const char *params[] = {payload};
    PGresult *res =
        PQexecParams(pg, "SELECT pg_notify('" CHANNEL "', $1)", 1, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    return ok;
}

/* Announces names[0..n) (and "*", everything, after an overflow) in as few NOTIFYs as fit:
 * "<instance>\norg/thread\norg/thread...". False when the connection failed. */
static bool send_all(PGconn *pg, char **names, size_t n, bool overflow)
{
    struct buf p = {0};
    bool ok = true;
    for (size_t i = 0; ok && i < n + overflow; i++) {
        const char *name = i < n ? names[i] : "*";
        if (p.len && p.len + 1 + strlen(name) > MAX_PAYLOAD) {
            ok = send_payload(pg, p.data);
            p.len = 0;
        }
        if (!p.len) buf_puts(&p, L.instance);
        buf_putc(&p, '\n');
        buf_puts(&p, name);
    }
    if (ok && p.len) ok = send_payload(pg, p.data);
    buf_free(&p);
    return ok;
}

static void *notifier(void *arg)
{
    PGconn *pg = NULL;
    pthread_mutex_lock(&L.mu);
    while (!L.stop) {
        if (L.n == 0 && !L.overflow) {
            pthread_cond_wait(&L.cv, &L.mu);
            continue;
        }
        pthread_mutex_unlock(&L.mu);
        usleep(COALESCE_MS * 1000);
        pthread_mutex_lock(&L.mu);
        char **names = L.queue;
        size_t n = L.n;
        bool overflow = L.overflow;
        L.queue = NULL;
        L.n = L.cap = 0;
        L.overflow = false;
        pthread_mutex_unlock(&L.mu);
        /* A connection the server closed (a restart) still looks fine until used: on failure,
         * connect again and send once more before giving up on these names. */
        bool sent = false;
        for (int attempt = 0; attempt < 2 && !sent; attempt++) {
            if (!pg || PQstatus(pg) != CONNECTION_OK || attempt > 0) {
                PQfinish(pg);
                pg = db_connect(L.conninfo);
            }
            sent = pg && send_all(pg, names, n, overflow);
        }
        if (!sent) log_line(LOG_WARN, "could not notify other instances of new events", NULL);
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        pthread_mutex_lock(&L.mu);
    }
    pthread_mutex_unlock(&L.mu);
    PQfinish(pg);
    return NULL;
}

/* Another instance appended to these threads (or deleted them): our subscribers catch up. */
static void on_events(char *payload)
{
    char *save = NULL, *line = strtok_r(payload, "\n", &save);
    if (!line || !strcmp(line, L.instance)) return; /* our own: delivered already */
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        char *slash = strchr(line, '/');
        if (!strcmp(line, "*")) {
            hub_poke_all();
        } else if (slash) {
            *slash = '\0';
            hub_poke(line, slash + 1);
        }
    }
}

static void on_notify(const char *channel, const char *payload)
{
    if (!strcmp(channel, "convstore_keys")) {
        auth_key_event(payload);
        hub_end_key(payload);
    } else if (!strcmp(channel, CHANNEL)) {
        char *copy = strdup(payload);
        if (!copy) abort();
        on_events(copy);
        free(copy);
    }
}

static void on_listen_state(bool connected)
{
    auth_listen_state(connected);
    if (connected) hub_poke_all(); /* whatever was announced while we were deaf */
}

void live_start(const char *conninfo)
{
    auth_uuid(L.instance);
    L.conninfo = conninfo;
    L.stop = false;
    listen_start(conninfo, "LISTEN convstore_keys; LISTEN " CHANNEL, on_notify, on_listen_state);
    L.started = pthread_create(&L.thread, NULL, notifier, NULL) == 0;
}

void live_stop(void)
{
    listen_stop();
    if (!L.started) return;
    pthread_mutex_lock(&L.mu);
    L.stop = true;
    pthread_cond_signal(&L.cv);
    pthread_mutex_unlock(&L.mu);
    pthread_join(L.thread, NULL);
    L.started = false;
    for (size_t i = 0; i < L.n; i++)
        free(L.queue[i]);
    free(L.queue);
    L.queue = NULL;
    L.n = L.cap = 0;
}

void live_event(struct request *r, const char *thread, const struct live_event *e, const char *json,
                size_t len)
{
    struct live_pending *p = r->live;
    if (!p) {
        p = r->live = calloc(1, sizeof *p);
        if (!p) abort();
        snprintf(p->org, sizeof p->org, "%s", r->who.org_id);
        snprintf(p->thread, sizeof p->thread, "%s", thread);
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 8;
        p->ev = realloc(p->ev, p->cap * sizeof *p->ev);
        if (!p->ev) abort();
    }
    struct buf frame = {0};
    sse_frame(&frame, e->seq, e->type, json, len);
    size_t flen = frame.len;
    p->ev[p->n++] = hub_event_new(e->thread_n, e->seq, e->type, e->run_id, e->step_id,
                                  e->message_id, buf_take(&frame), flen);
}

void live_discard(struct request *r)
{
    struct live_pending *p = r->live;
    if (!p) return;
    for (size_t i = 0; i < p->n; i++)
        hub_event_unref(p->ev[i]);
    free(p->ev);
    free(p);
    r->live = NULL;
}

void live_commit(struct request *r)
{
    struct live_pending *p = r->live;
    if (!p) return;
    hub_publish(p->org, p->thread, p->ev, p->n);
    announce(p->org, p->thread);
    live_discard(r);
}

void live_thread_deleted(const char *org, const char *thread)
{
    hub_end_thread(org, thread);
    announce(org, thread);
}
