/* Route handlers, one file per resource, and the helpers they share. */
#ifndef CONVSTORE_ROUTES_H
#define CONVSTORE_ROUTES_H

#include "http.h"
#include "page.h"
#include "pool.h"
#include "problem.h"

/* ops.c */
struct reply ops_healthz(struct request *r);
struct reply ops_readyz(struct request *r);
struct reply ops_openapi(struct request *r);

/* keys.c */
struct reply keys_me(struct request *r);
struct reply keys_create(struct request *r);
struct reply keys_list(struct request *r);
struct reply keys_revoke(struct request *r);

/* threads.c */
struct reply threads_create(struct request *r);
struct reply threads_list(struct request *r);
struct reply threads_get(struct request *r);
struct reply threads_update(struct request *r);
struct reply threads_delete(struct request *r);

/* common.c */
/* The reply for a failed database call (qs < 0): 503 when unreachable, else 500. */
struct reply db_failure(const struct request *r, enum db_qs qs);
/* The user every query of this request is confined to: the key's user, or NULL for the org. */
const char *scope_user(const struct request *r);
/* Parses the list query parameters; false with *err set. */
bool parse_page(const struct request *r, bool default_asc, struct page *p, struct reply *err);

#endif
