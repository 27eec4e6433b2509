/* The in-process fan-out of committed events to this instance's live streams.
 *
 * A read-write lock guards a hash table of subscribers keyed by (org, thread): publishers (and
 * pokes) share it, subscribing and leaving take it alone. Each subscriber's queue has a mutex of
 * its own. Publishing appends a reference to each subscriber's queue and, unless the subscriber
 * was signalled already, wakes it through its eventfd: O(subscribers of the thread), no waiting
 * on any of them. The eventfd's counter is non-zero exactly while `signalled` is set (both change
 * under the queue's mutex), so a subscriber with nothing new takes nothing without a syscall. */
#include "hub.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define BUCKETS 4096

struct hub_sub {
    struct hub_sub *next, *prev; /* in its bucket (hub.lock) */
    unsigned bucket;
    int efd;
    char org[37], thread[129], key_id[37];
    pthread_mutex_t mu; /* the rest */
    struct hub_event **q;
    size_t qn, qcap, qbytes;
    bool ended, overflow, poke, signalled;
};

/* The lock prefers writers: a steady flow of publishers must not starve subscribing. */
static struct {
    pthread_rwlock_t lock;
    struct hub_sub *buckets[BUCKETS];
    bool stopping;
    long count;
} hub = {.lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP};

static char *dup_or_null(const char *s)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

struct hub_event *hub_event_new(long long thread_n, long long seq, const char *type,
                                const char *run_id, const char *step_id, const char *message_id,
                                char *frame, size_t len)
{
    struct hub_event *e = calloc(1, sizeof *e);
    if (!e) abort();
    *e = (struct hub_event){.refs = 1,
                            .thread_n = thread_n,
                            .seq = seq,
                            .type = dup_or_null(type),
                            .run_id = dup_or_null(run_id),
                            .step_id = dup_or_null(step_id),
                            .message_id = dup_or_null(message_id),
                            .len = len,
                            .frame = frame};
    return e;
}

void hub_event_unref(struct hub_event *e)
{
    if (!e || __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
    free(e->type);
    free(e->run_id);
    free(e->step_id);
    free(e->message_id);
    free(e->frame);
    free(e);
}

static unsigned bucket_of(const char *org, const char *thread)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = org; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (const char *p = thread; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h % BUCKETS;
}

/* Under s->mu: makes s's eventfd readable, once until hub_take. */
static void wake(struct hub_sub *s)
{
    if (s->signalled) return;
    s->signalled = true;
    uint64_t one = 1;
    if (write(s->efd, &one, sizeof one) < 0) { /* cannot fail: the counter was 0 */
    }
}

static void drop_queue(struct hub_sub *s)
{
    for (size_t i = 0; i < s->qn; i++)
        hub_event_unref(s->q[i]);
    s->qn = s->qbytes = 0;
}

/* Frees a subscriber no publisher can reach any more. */
static void hub_unsubscribe_unlinked(struct hub_sub *s)
{
    drop_queue(s);
    free(s->q);
    close(s->efd);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

struct hub_sub *hub_subscribe(const char *org, const char *thread, const char *key_id)
{
    struct hub_sub *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->efd < 0) {
        free(s);
        return NULL;
    }
    snprintf(s->org, sizeof s->org, "%s", org);
    snprintf(s->thread, sizeof s->thread, "%s", thread);
    snprintf(s->key_id, sizeof s->key_id, "%s", key_id);
    s->bucket = bucket_of(org, thread);
    pthread_mutex_init(&s->mu, NULL);
    pthread_rwlock_wrlock(&hub.lock);
    if (hub.stopping) {
        pthread_rwlock_unlock(&hub.lock);
        hub_unsubscribe_unlinked(s);
        return NULL;
    }
    s->next = hub.buckets[s->bucket];
    if (s->next) s->next->prev = s;
    hub.buckets[s->bucket] = s;
    hub.count++;
    pthread_rwlock_unlock(&hub.lock);
    return s;
}

void hub_unsubscribe(struct hub_sub *s)
{
    if (!s) return;
    pthread_rwlock_wrlock(&hub.lock);
    if (s->prev)
        s->prev->next = s->next;
    else
        hub.buckets[s->bucket] = s->next;
    if (s->next) s->next->prev = s->prev;
    hub.count--;
    pthread_rwlock_unlock(&hub.lock);
    hub_unsubscribe_unlinked(s);
}

int hub_fd(const struct hub_sub *s)
{
    return s->efd;
}

void hub_take(struct hub_sub *s, struct hub_batch *b)
{
    pthread_mutex_lock(&s->mu);
    if (s->signalled) {
        uint64_t n;
        if (read(s->efd, &n, sizeof n) < 0) { /* cannot fail: signalled means readable */
        }
        s->signalled = false;
    }
    *b = (struct hub_batch){s->q, s->qn, s->ended, s->overflow, s->poke};
    s->q = NULL;
    s->qn = s->qcap = s->qbytes = 0;
    s->poke = false;
    pthread_mutex_unlock(&s->mu);
}

void hub_batch_free(struct hub_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        hub_event_unref(b->ev[i]);
    free(b->ev);
    b->ev = NULL;
    b->n = 0;
}

static bool same_thread(const struct hub_sub *s, const char *org, const char *thread)
{
    return !strcmp(s->thread, thread) && !strcmp(s->org, org);
}

/* Queues ev on s; past HUB_MAX_QUEUED_BYTES, s is cut off instead (its queue dropped). */
static void enqueue(struct hub_sub *s, struct hub_event *const *ev, size_t n)
{
    if (s->ended || s->overflow) return;
    if (s->qn + n > s->qcap) {
        size_t cap = s->qcap ? s->qcap * 2 : 16;
        while (cap < s->qn + n)
            cap *= 2;
        struct hub_event **q = realloc(s->q, cap * sizeof *q);
        if (!q) {
            s->overflow = true;
            drop_queue(s);
            return;
        }
        s->q = q;
        s->qcap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        __atomic_add_fetch(&ev[i]->refs, 1, __ATOMIC_RELAXED);
        s->q[s->qn++] = ev[i];
        s->qbytes += ev[i]->len;
    }
    if (s->qbytes > HUB_MAX_QUEUED_BYTES) {
        s->overflow = true;
        drop_queue(s);
    }
}

void hub_publish(const char *org, const char *thread, struct hub_event *const *ev, size_t n)
{
    unsigned b = bucket_of(org, thread);
    pthread_rwlock_rdlock(&hub.lock);
    for (struct hub_sub *s = hub.buckets[b]; s; s = s->next)
        if (same_thread(s, org, thread)) {
            pthread_mutex_lock(&s->mu);
            enqueue(s, ev, n);
            wake(s);
            pthread_mutex_unlock(&s->mu);
        }
    pthread_rwlock_unlock(&hub.lock);
}

/* Ends or pokes the subscribers of a thread (all when org is NULL), or only those of key_id. */
static void each(const char *org, const char *thread, const char *key_id, bool end)
{
    pthread_rwlock_rdlock(&hub.lock);
    unsigned first = org ? bucket_of(org, thread) : 0, last = org ? first + 1 : BUCKETS;
    for (unsigned b = first; b < last; b++)
        for (struct hub_sub *s = hub.buckets[b]; s; s = s->next) {
            if (org && !same_thread(s, org, thread)) continue;
            if (key_id && strcmp(s->key_id, key_id)) continue;
            pthread_mutex_lock(&s->mu);
            if (end)
                s->ended = true;
            else
                s->poke = true;
            wake(s);
            pthread_mutex_unlock(&s->mu);
        }
    pthread_rwlock_unlock(&hub.lock);
}

void hub_poke(const char *org, const char *thread)
{
    each(org, thread, NULL, false);
}

void hub_poke_all(void)
{
    each(NULL, NULL, NULL, false);
}

void hub_end_thread(const char *org, const char *thread)
{
    each(org, thread, NULL, true);
}

void hub_end_key(const char *key_id)
{
    each(NULL, NULL, key_id, true);
}

void hub_shutdown(void)
{
    pthread_rwlock_wrlock(&hub.lock);
    hub.stopping = true;
    pthread_rwlock_unlock(&hub.lock);
    each(NULL, NULL, NULL, true);
}

long hub_subscribers(void)
{
    pthread_rwlock_rdlock(&hub.lock);
    long n = hub.count;
    pthread_rwlock_unlock(&hub.lock);
    return n;
}
