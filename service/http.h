/* The request and reply types every route handler works with. */
#ifndef CONVSTORE_HTTP_H
#define CONVSTORE_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

struct MHD_Connection;

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
};

/* A reply owns its body. Handlers build one and return it; the server sends it. */
struct reply {
    unsigned status;
    struct buf body;
    const char *content_type;
    int64_t etag_version; /* > 0: send ETag: "<n>" */
    const char *allow;    /* 405: the Allow header */
    int retry_after;      /* > 0: Retry-After seconds */
    bool www_authenticate;
    bool close;                     /* Connection: close, and close it after the reply */
    bool replayed;                  /* an Idempotency-Key replay: Idempotent-Replayed: true */
    const char *preference_applied; /* Preference-Applied header, or NULL */
    const char *secret_member;      /* a body member an Idempotency-Key replay gives as null */
};

/* Query string and header lookup; NULL when absent. */
const char *req_query(const struct request *r, const char *name);
const char *req_header(const struct request *r, const char *name);

/* A JSON reply taking ownership of body. */
struct reply reply_json(unsigned status, struct buf *body);

#endif
