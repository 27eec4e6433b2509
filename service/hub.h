/* The in-process fan-out of committed events to this instance's live streams. */
#ifndef CONVSTORE_HUB_H
#define CONVSTORE_HUB_H

#include <stdbool.h>
#include <stddef.h>

/* Most bytes of frames a subscriber may have waiting; past it the subscriber is cut off (its
 * stream ends and the client resumes with Last-Event-ID), so a client that does not read can
 * never hold up appenders or other subscribers. */
#define HUB_MAX_QUEUED_BYTES (1u << 20)

/* One committed event as every stream sends it, shared (reference-counted) by all queues. */
struct hub_event {
    int refs;
    long long thread_n; /* the thread's incarnation (db/events.h EV_THREAD_N) */
    long long seq;
    char *type, *run_id, *step_id, *message_id; /* for the streams' filters */
    size_t len;
    char *frame; /* the SSE frame */
};

/* Takes ownership of frame (malloc'd); copies the strings. */
struct hub_event *hub_event_new(long long thread_n, long long seq, const char *type,
                                const char *run_id, const char *step_id, const char *message_id,
                                char *frame, size_t len);
void hub_event_unref(struct hub_event *e);

struct hub_sub;

/* What a subscriber found waiting (hub_take): events in publication order, and what happened. */
struct hub_batch {
    struct hub_event **ev;
    size_t n;
    bool ended;    /* the thread was deleted, the key revoked, or the server is stopping */
    bool overflow; /* the queue passed HUB_MAX_QUEUED_BYTES and was dropped */
    bool poke;     /* something may have been appended elsewhere: catch up from the database */
};

/* NULL when the server is stopping (or out of memory). */
struct hub_sub *hub_subscribe(const char *org, const char *thread, const char *key_id);
void hub_unsubscribe(struct hub_sub *s);
/* Readable when hub_take has something: poll it. */
int hub_fd(const struct hub_sub *s);
/* Moves what is waiting into b (release with hub_batch_free). */
void hub_take(struct hub_sub *s, struct hub_batch *b);
void hub_batch_free(struct hub_batch *b);

/* Queues events (in seq order) for the thread's subscribers; the caller keeps its references. */
void hub_publish(const char *org, const char *thread, struct hub_event *const *ev, size_t n);
/* The thread's subscribers (or all) catch up from the database. */
void hub_poke(const char *org, const char *thread);
void hub_poke_all(void);
/* Ends the streams of a thread, of a key, or all of them (and refuses new ones). */
void hub_end_thread(const char *org, const char *thread);
void hub_end_key(const char *key_id);
void hub_shutdown(void);
/* Live subscribers (for /metrics). */
long hub_subscribers(void);

#endif
