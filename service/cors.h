/* CORS for browser frontends: which origins may call /v1 (CONVSTORE_CORS_ORIGINS), and the
 * headers that tell a browser so. */
#ifndef CONVSTORE_CORS_H
#define CONVSTORE_CORS_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

struct MHD_Response;

/* What a page may read of a response besides the safelisted headers. */
#define CORS_EXPOSE_HEADERS "X-Request-Id, ETag, Retry-After"
/* The request headers the API reads that a browser may send cross-origin. */
#define CORS_ALLOW_HEADERS                                                                         \
    "Authorization, Content-Type, Idempotency-Key, If-Match, Last-Event-ID, Prefer, X-Request-Id"
/* Seconds a browser may cache a preflight's answer. */
#define CORS_MAX_AGE "600"

/*
 * Checks a CONVSTORE_CORS_ORIGINS value: exact origins (scheme://host[:port], lowercase, no
 * path, as browsers send them in Origin) separated by commas, or "*" alone. Blank entries are
 * skipped. On false, why (a NUL-terminated message of at most why_len bytes) says what is wrong.
 */
bool cors_origins_valid(const char *list, char *why, size_t why_len);

/* Whether a reply to path gets CORS treatment: list names an origin and path is under /v1. */
bool cors_applies(const char *list, const char *path);

/* The Access-Control-Allow-Origin value for a request's Origin (NULL when absent): "*" when list
 * is "*", origin itself when list names it exactly, else NULL. */
const char *cors_allow_origin(const char *list, const char *origin);

/* Whether r is a CORS preflight the service answers: CONVSTORE_CORS_ORIGINS is set, the path is
 * under /v1, and the request is OPTIONS with Origin and Access-Control-Request-Method. */
bool cors_is_preflight(const struct request *r);

/* The answer to a preflight of a path accepting the methods in allow (comma-separated): 204, or
 * 403 cors_origin_refused for an origin the list does not name. */
struct reply cors_preflight(const struct request *r, const char *allow);

/* Adds the CORS headers a reply to r gets (none unless cors_applies) to resp. */
void cors_add_headers(const struct request *r, const struct reply *rep, struct MHD_Response *resp);

#endif
