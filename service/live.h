/* Live delivery around the hub: what a request publishes once it has committed, and the
 * cross-instance notifications (one LISTEN connection, coalesced NOTIFYs off the write path). */
#ifndef CONVSTORE_LIVE_H
#define CONVSTORE_LIVE_H

#include "http.h"
#include "pool.h"

/* Starts the LISTEN connection (keys and events) and the notifier thread. */
void live_start(const char *conninfo);
void live_stop(void);

/* Keeps the fresh events of an append's rows (events columns) for live_commit. */
void live_appended(struct request *r, const struct db_rows *rows);
/* The request committed: publish what it kept to this instance's streams and tell the others.
 * live_discard: it did not; drop it. */
void live_commit(struct request *r);
void live_discard(struct request *r);
/* A thread was deleted: its streams end here and, through the database, on other instances. */
void live_thread_deleted(const char *org, const char *thread);

#endif
