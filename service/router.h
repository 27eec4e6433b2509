/* Maps method + path to a handler through one static route table. */
#ifndef CONVSTORE_ROUTER_H
#define CONVSTORE_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

typedef struct reply (*handler_fn)(struct request *r);

/* A route's handler of a body streamed as it arrives (text/event-stream): called with each
 * piece of it (SINK_DATA; the reply is ignored), then once with SINK_END for the reply, or
 * SINK_ABORT when the client left (the reply is dropped). *state starts NULL; the handler frees
 * it on SINK_END and SINK_ABORT. */
enum sink_call { SINK_DATA, SINK_END, SINK_ABORT };
typedef struct reply (*sink_fn)(struct request *r, enum sink_call call, const char *data,
                                size_t len, void **state);

struct route {
    const char *method;
    const char *pattern; /* segments "{}" match one non-empty segment holding no encoded / or NUL */
    handler_fn handler;
    bool public;     /* no API key needed */
    bool large_body; /* bodies up to CONVSTORE_MAX_CHECKPOINT_BYTES (else CONVSTORE_MAX_BODY_BYTES)
                      */
    sink_fn sink;    /* a text/event-stream body goes here, piece by piece, without a limit */
};

enum route_result { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_METHOD_NOT_ALLOWED };

/*
 * Matches method and the raw path (as sent, percent-encoded, without the query) against the
 * table. On ROUTE_FOUND, *out is the route and params[] are the decoded parameters, pointing
 * into *store (malloc'd; the caller frees it). On ROUTE_METHOD_NOT_ALLOWED, allow
 * receives the comma-separated methods the path accepts.
 */
enum route_result router_match(const struct route *table, size_t n, const char *method,
                               const char *path, const struct route **out,
                               const char *params[MAX_PATH_PARAMS], char **store, char *allow,
                               size_t allow_len);

/* The service's table. */
extern const struct route convstore_routes[];
extern const size_t convstore_routes_count;

#endif
