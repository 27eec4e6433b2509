/* Idempotency-Key on POST: the first response is stored per (org, key) and replayed. */
#ifndef CONVSTORE_IDEMPOTENCY_H
#define CONVSTORE_IDEMPOTENCY_H

#include "router.h"

/*
 * Runs handler, under Idempotency-Key semantics when the request carries the header: a retry
 * with the same request replays the stored reply, the same key with another request is 409
 * idempotency_key_reused, and one still running is 409 idempotency_key_in_use. Replies of 5xx
 * are not stored, so the retry runs again. Keys are scoped per org, and per user for user keys.
 * A reply's secret_member is stored (and so replayed) as null.
 */
struct reply idempotent_run(struct request *r, handler_fn handler);

#endif
