/* Operational endpoints: liveness, readiness and the OpenAPI document. None needs a key. */
#include "routes.h"

#include <string.h>

#include "embedded.h"
#include "metrics.h"
#include "migrate.h"

struct reply ops_healthz(struct request *r)
{
    struct buf b = {0};
    buf_puts(&b, "{\"status\":\"ok\"}");
    return reply_json(200, &b);
}

struct reply ops_readyz(struct request *r)
{
    int64_t version = 0;
    enum db_qs qs = migrate_db_version(&version);
    if (qs < 0) return problem(r, PROB_DATABASE_UNAVAILABLE, "the database cannot be reached");
    if (version != migrate_latest_known())
        return problem(r, PROB_DATABASE_UNAVAILABLE, "schema version %lld, this binary needs %d",
                       (long long)version, migrate_latest_known());
    struct buf b = {0};
    buf_puts(&b, "{\"status\":\"ready\"}");
    return reply_json(200, &b);
}

struct reply ops_metrics(struct request *r)
{
    struct buf b = {0};
    metrics_render(&b);
    struct reply rep = reply_json(200, &b);
    rep.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return rep;
}

struct reply ops_openapi(struct request *r)
{
    struct buf b = {0};
    buf_add(&b, embedded_openapi_json, embedded_openapi_json_len);
    return reply_json(200, &b);
}
