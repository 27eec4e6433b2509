/* Live delivery around the hub: what a request publishes once it has committed, and the
 * cross-instance notifications (one LISTEN connection, coalesced NOTIFYs off the write path). */
#ifndef CONVSTORE_LIVE_H
#define CONVSTORE_LIVE_H

#include "http.h"
#include <stddef.h>

/* Starts the LISTEN connection (keys and events) and the notifier thread. */
void live_start(const char *conninfo);
void live_stop(void);

/* An event the request wrote, for live_commit: what streams filter on, and its JSON. */
struct live_event {
    long long thread_n, seq;
    const char *type, *run_id, *step_id, *message_id;
};
void live_event(struct request *r, const char *thread, const struct live_event *e, const char *json,
                size_t len);
/* The request committed: publish what it kept to this instance's streams and tell the others.
 * live_discard: it did not; drop it. */
void live_commit(struct request *r);
void live_discard(struct request *r);
/* A thread was deleted: its streams end here and, through the database, on other instances. */
void live_thread_deleted(const char *org, const char *thread);

#endif
