/* The registry of error codes and the RFC 9457 problem replies built from it. */
#ifndef CONVSTORE_PROBLEM_H
#define CONVSTORE_PROBLEM_H

#include "http.h"

enum problem {
    PROB_MALFORMED_REQUEST,
    PROB_INVALID_JSON,
    PROB_VALIDATION_FAILED,
    PROB_INVALID_QUERY,
    PROB_INVALID_CURSOR,
    PROB_UNAUTHORIZED,
    PROB_FORBIDDEN,
    PROB_CORS_ORIGIN_REFUSED,
    PROB_NOT_FOUND,
    PROB_METHOD_NOT_ALLOWED,
    PROB_THREAD_EXISTS,
    PROB_MESSAGE_EXISTS,
    PROB_EVENT_EXISTS,
    PROB_RUN_EXISTS,
    PROB_STEP_EXISTS,
    PROB_GRAPH_TOO_LARGE,
    PROB_SEQ_CONFLICT,
    PROB_INVALID_STATE_TRANSITION,
    PROB_IDEMPOTENCY_KEY_REUSED,
    PROB_IDEMPOTENCY_KEY_IN_USE,
    PROB_PRECONDITION_FAILED,
    PROB_PAYLOAD_TOO_LARGE,
    PROB_UNSUPPORTED_MEDIA_TYPE,
    PROB_TRANSFER_CODING_NOT_IMPLEMENTED,
    PROB_DATABASE_UNAVAILABLE,
    PROB_INTERNAL_ERROR,
    PROB__COUNT
};

struct problem_info {
    const char *code;
    unsigned status;
    const char *title;
};

const struct problem_info *problem_info(enum problem p);

/* Field-level errors collected while validating input. */
#define MAX_FIELD_ERRORS 16
struct field_errors {
    int n;
    struct {
        char field[64];
        char message[160];
    } e[MAX_FIELD_ERRORS];
};

void field_error(struct field_errors *fe, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A problem reply; detail is printf-style and may be NULL. */
struct reply problem(const struct request *r, enum problem p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds `"name":value` (value: JSON text) to a problem reply's body. */
void problem_member(struct reply *rep, const char *name, const char *value);
/* A problem reply listing field errors (validation_failed, invalid_query). */
struct reply problem_fields(const struct request *r, enum problem p, const struct field_errors *fe);

#endif
