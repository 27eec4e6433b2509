/* Prometheus metrics: request counts and latencies per route, pool and cache counters. */
#ifndef CONVSTORE_METRICS_H
#define CONVSTORE_METRICS_H

#include "buf.h"

/* route: index into convstore_routes, or -1 when no route matched. */
void metrics_request(int route, unsigned status, double seconds);

enum metrics_counter {
    MC_POOL_TIMEOUTS,   /* no pooled connection within the wait timeout */
    MC_DB_RECONNECTS,   /* connections (re)opened by the pool */
    MC_DB_ERRORS,       /* statements that failed */
    MC_AUTH_CACHE_HITS, /* keys resolved from the cache */
    MC_AUTH_CACHE_MISSES,
    MC__COUNT
};
void metrics_count(enum metrics_counter c);

/* The text exposition format (version 0.0.4). */
void metrics_render(struct buf *b);

#endif
