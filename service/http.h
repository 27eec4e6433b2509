/* The request and reply types every route handler works with. */
#ifndef CONVSTORE_HTTP_H
#define CONVSTORE_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

#include <stddef.h>
#include <sys/types.h>

struct MHD_Connection;
struct live_pending;

/* A streamed body (libmicrohttpd's content reader): returns bytes written into buf (at most
 * max), STREAM_END when done, STREAM_ABORT to drop the connection. */
typedef ssize_t (*stream_fn)(void *cls, uint64_t pos, char *buf, size_t max);
#define STREAM_END ((ssize_t)-1)
#define STREAM_ABORT ((ssize_t)-2)

enum role { ROLE_ADMIN, ROLE_SERVICE, ROLE_USER };

/* Who is calling: filled by auth from the bearer key. */
struct principal {
    char org_id[37];
    char key_id[37];
    enum role role;
    char user_id[256]; /* "" unless role == ROLE_USER */
};

#define MAX_PATH_PARAMS 4

struct request {
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    const char *params[MAX_PATH_PARAMS]; /* path parameters, in order of appearance */
    char *param_store;                   /* owns the bytes params point into */
    struct buf body;                     /* request body, NUL-terminated */
    struct principal who;
    char request_id[129];
    struct live_pending *live; /* what it publishes once committed (service/live.c) */
};

/* A reply owns its body. Handlers build one and return it; the server sends it. */
struct reply {
    unsigned status;
    struct buf body;
    const char *content_type;
    int64_t etag_version; /* > 0: send ETag: "<n>" */
    const char *allow;    /* 405 and CORS preflights: the Allow header */
    int retry_after;      /* > 0: Retry-After seconds */
    bool www_authenticate;
    bool close;                     /* Connection: close, and close it after the reply */
    bool replayed;                  /* an Idempotency-Key replay: Idempotent-Replayed: true */
    bool preflight;                 /* a CORS preflight's answer (service/cors.c) */
    const char *preference_applied; /* Preference-Applied header, or NULL */
    const char *secret_member;      /* a body member an Idempotency-Key replay gives as null */
    stream_fn stream;               /* a streamed body instead of body (text/event-stream) */
    void *stream_cls;
    void (*stream_free)(void *cls); /* called once the response is done with stream_cls */
};

/* Query string and header lookup; NULL when absent. */
const char *req_query(const struct request *r, const char *name);
const char *req_header(const struct request *r, const char *name);
/* Calls fn for every query parameter, repeated ones included, until it returns false. */
void req_each_query(const struct request *r,
                    bool (*fn)(void *cls, const char *key, const char *value), void *cls);
/* The client's socket (for a stream to notice the client leaving). */
int req_socket(const struct request *r);

/* A JSON reply taking ownership of body. */
struct reply reply_json(unsigned status, struct buf *body);

#endif
