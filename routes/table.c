/* The one static route table: every endpoint the service answers. */
#include "router.h"
#include "routes.h"

const struct route convstore_routes[] = {
    {"GET", "/healthz", ops_healthz, true},
    {"GET", "/readyz", ops_readyz, true},
    {"GET", "/openapi.json", ops_openapi, true},
    {"GET", "/metrics", ops_metrics, true},
    {"GET", "/v1/me", keys_me, false},
    {"GET", "/v1/keys", keys_list, false},
    {"POST", "/v1/keys", keys_create, false},
    {"DELETE", "/v1/keys/{}", keys_revoke, false},
    {"GET", "/v1/threads", threads_list, false},
    {"POST", "/v1/threads", threads_create, false},
    {"GET", "/v1/threads/{}", threads_get, false},
    {"PATCH", "/v1/threads/{}", threads_update, false},
    {"DELETE", "/v1/threads/{}", threads_delete, false},
    {"POST", "/v1/threads/{}/messages/batch", messages_create_batch, false},
    {"GET", "/v1/threads/{}/messages", messages_list, false},
    {"POST", "/v1/threads/{}/messages", messages_create, false},
    {"DELETE", "/v1/threads/{}/messages", messages_clear, false},
    {"GET", "/v1/threads/{}/messages/{}", messages_get, false},
    {"PATCH", "/v1/threads/{}/messages/{}", messages_update, false},
    {"DELETE", "/v1/threads/{}/messages/{}", messages_delete, false},
    {"POST", "/v1/threads/{}/events", events_append, false},
    {"GET", "/v1/threads/{}/events", events_list, false},
    {"GET", "/v1/threads/{}/events/stream", events_stream, false},
    {"GET", "/v1/threads/{}/events/{}", events_get, false},
};
const size_t convstore_routes_count = sizeof convstore_routes / sizeof convstore_routes[0];
