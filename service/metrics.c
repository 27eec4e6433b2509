/* Prometheus metrics: request counts and latencies per route, pool and cache counters, open
 * event streams. */
#include "metrics.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "hub.h"
#include "router.h"

#define MAX_ROUTES 64
static const unsigned codes[] = {200, 201, 204, 400, 401, 403, 404, 405, 409,
                                 412, 413, 415, 429, 500, 501, 503, 0};
#define NCODES (sizeof codes / sizeof codes[0]) /* the last slot counts any other status */
static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NBOUNDS (sizeof bounds / sizeof bounds[0])

struct route_stats {
    atomic_ullong by_code[NCODES];
    atomic_ullong buckets[NBOUNDS]; /* cumulative when rendered */
    atomic_ullong count;
    atomic_ullong sum_us;
};

/* Slot MAX_ROUTES holds requests that matched no route. */
static struct route_stats stats[MAX_ROUTES + 1];
static atomic_ullong counters[MC__COUNT];

static const char *const counter_names[MC__COUNT][2] = {
    [MC_POOL_TIMEOUTS] = {"convstore_db_pool_wait_timeouts_total",
                          "Requests that got no pooled connection in time"},
    [MC_DB_RECONNECTS] = {"convstore_db_connects_total", "Pooled connections opened"},
    [MC_DB_ERRORS] = {"convstore_db_errors_total", "Statements that failed"},
    [MC_AUTH_CACHE_HITS] = {"convstore_auth_cache_hits_total", "API keys resolved from the cache"},
    [MC_AUTH_CACHE_MISSES] = {"convstore_auth_cache_misses_total",
                              "API keys looked up in the database"},
};

void metrics_count(enum metrics_counter c)
{
    atomic_fetch_add_explicit(&counters[c], 1, memory_order_relaxed);
}

void metrics_request(int route, unsigned status, double seconds)
{
    struct route_stats *s = &stats[route >= 0 && route < MAX_ROUTES ? route : MAX_ROUTES];
    size_t c = 0;
    while (codes[c] && codes[c] != status)
        c++;
    atomic_fetch_add_explicit(&s->by_code[c], 1, memory_order_relaxed);
    for (size_t i = 0; i < NBOUNDS; i++)
        if (seconds <= bounds[i]) {
            atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
            break;
        }
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_us, (unsigned long long)(seconds * 1e6),
                              memory_order_relaxed);
}

static void route_labels(struct buf *b, size_t r)
{
    if (r < convstore_routes_count && r < MAX_ROUTES)
        buf_printf(b, "method=\"%s\",route=\"%s\"", convstore_routes[r].method,
                   convstore_routes[r].pattern);
    else
        buf_puts(b, "method=\"\",route=\"unmatched\"");
}

void metrics_render(struct buf *b)
{
    size_t nroutes = convstore_routes_count < MAX_ROUTES ? convstore_routes_count : MAX_ROUTES;
    buf_puts(b, "# HELP convstore_http_requests_total HTTP requests by route and status.\n"
                "# TYPE convstore_http_requests_total counter\n");
    for (size_t r = 0; r <= MAX_ROUTES; r++) {
        if (r >= nroutes && r != MAX_ROUTES) continue;
        for (size_t c = 0; c < NCODES; c++) {
            unsigned long long v = atomic_load(&stats[r].by_code[c]);
            if (!v) continue;
            buf_puts(b, "convstore_http_requests_total{");
            route_labels(b, r);
            if (codes[c])
                buf_printf(b, ",code=\"%u\"} %llu\n", codes[c], v);
            else
                buf_printf(b, ",code=\"other\"} %llu\n", v);
        }
    }
    buf_puts(b, "# HELP convstore_http_request_duration_seconds Time from request start to reply.\n"
                "# TYPE convstore_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r <= MAX_ROUTES; r++) {
        if (r >= nroutes && r != MAX_ROUTES) continue;
        unsigned long long count = atomic_load(&stats[r].count), cum = 0;
        if (!count) continue;
        for (size_t i = 0; i < NBOUNDS; i++) {
            cum += atomic_load(&stats[r].buckets[i]);
            buf_puts(b, "convstore_http_request_duration_seconds_bucket{");
            route_labels(b, r);
            buf_printf(b, ",le=\"%g\"} %llu\n", bounds[i], cum);
        }
        buf_puts(b, "convstore_http_request_duration_seconds_bucket{");
        route_labels(b, r);
        buf_printf(b, ",le=\"+Inf\"} %llu\n", count);
        buf_puts(b, "convstore_http_request_duration_seconds_sum{");
        route_labels(b, r);
        buf_printf(b, "} %.6f\n", (double)atomic_load(&stats[r].sum_us) / 1e6);
        buf_puts(b, "convstore_http_request_duration_seconds_count{");
        route_labels(b, r);
        buf_printf(b, "} %llu\n", count);
    }
    for (int c = 0; c < MC__COUNT; c++)
        buf_printf(b, "# HELP %s %s.\n# TYPE %s counter\n%s %llu\n", counter_names[c][0],
                   counter_names[c][1], counter_names[c][0], counter_names[c][0],
                   atomic_load(&counters[c]));
    buf_printf(b,
               "# HELP convstore_event_streams Open event streams (Server-Sent Events).\n"
               "# TYPE convstore_event_streams gauge\nconvstore_event_streams %ld\n",
               hub_subscribers());
}
