/* The registry of error codes and the RFC 9457 problem replies built from it. */
#include "problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct problem_info registry[PROB__COUNT] = {
    [PROB_MALFORMED_REQUEST] = {"malformed_request", 400, "The HTTP request is ambiguous"},
    [PROB_INVALID_JSON] = {"invalid_json", 400, "Request body is not valid JSON"},
    [PROB_VALIDATION_FAILED] = {"validation_failed", 400, "Request body is invalid"},
    [PROB_INVALID_QUERY] = {"invalid_query", 400, "Query parameter is invalid"},
    [PROB_INVALID_CURSOR] = {"invalid_cursor", 400, "Pagination cursor is unknown"},
    [PROB_UNAUTHORIZED] = {"unauthorized", 401, "Missing or invalid API key"},
    [PROB_FORBIDDEN] = {"forbidden", 403, "This key may not do that"},
    [PROB_CORS_ORIGIN_REFUSED] = {"cors_origin_refused", 403,
                                  "Browser pages of this origin may not call the API"},
    [PROB_NOT_FOUND] = {"not_found", 404, "Not found"},
    [PROB_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405, "Method not allowed"},
    [PROB_THREAD_EXISTS] = {"thread_exists", 409, "A thread with this id already exists"},
    [PROB_MESSAGE_EXISTS] = {"message_exists", 409, "A message with this id already exists"},
    [PROB_EVENT_EXISTS] = {"event_exists", 409, "An event with this id exists with other content"},
    [PROB_RUN_EXISTS] = {"run_exists", 409, "A run with this id already exists"},
    [PROB_STEP_EXISTS] = {"step_exists", 409, "A step with this id already exists"},
    [PROB_GRAPH_TOO_LARGE] = {"graph_too_large", 409,
                              "The run has too many steps for one response; page through them"},
    [PROB_SEQ_CONFLICT] = {"seq_conflict", 409, "The thread's last seq is not expected_seq"},
    [PROB_INVALID_STATE_TRANSITION] = {"invalid_state_transition", 409,
                                       "The object's state does not allow this change"},
    [PROB_IDEMPOTENCY_KEY_REUSED] = {"idempotency_key_reused", 409,
                                     "Idempotency-Key was used for a different request"},
    [PROB_IDEMPOTENCY_KEY_IN_USE] = {"idempotency_key_in_use", 409,
                                     "A request with this Idempotency-Key is still running"},
    [PROB_PRECONDITION_FAILED] = {"precondition_failed", 412, "If-Match does not match"},
    [PROB_PAYLOAD_TOO_LARGE] = {"payload_too_large", 413, "Request body is too large"},
    [PROB_UNSUPPORTED_MEDIA_TYPE] = {"unsupported_media_type", 415,
                                     "Content-Type must be application/json"},
    [PROB_TRANSFER_CODING_NOT_IMPLEMENTED] = {"transfer_coding_not_implemented", 501,
                                              "Transfer coding not implemented"},
    [PROB_DATABASE_UNAVAILABLE] = {"database_unavailable", 503, "Database unavailable"},
    [PROB_INTERNAL_ERROR] = {"internal_error", 500, "Internal error"},
};

const struct problem_info *problem_info(enum problem p)
{
    return &registry[p];
}

void field_error(struct field_errors *fe, const char *field, const char *fmt, ...)
{
    if (fe->n >= MAX_FIELD_ERRORS) return;
    snprintf(fe->e[fe->n].field, sizeof fe->e[fe->n].field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fe->e[fe->n].message, sizeof fe->e[fe->n].message, fmt, ap);
    va_end(ap);
    fe->n++;
}

static struct reply build(const struct request *r, enum problem p, const char *detail,
                          const struct field_errors *fe)
{
    const struct problem_info *pi = &registry[p];
    struct buf b = {0};
    buf_puts(&b, "{\"type\":\"urn:convstore:error:");
    buf_puts(&b, pi->code);
    buf_puts(&b, "\",\"title\":");
    buf_json_str(&b, pi->title);
    buf_printf(&b, ",\"status\":%u,\"code\":\"%s\",\"detail\":", pi->status, pi->code);
    buf_json_str(&b, detail && *detail ? detail : pi->title);
    if (fe && fe->n > 0) {
        buf_puts(&b, ",\"errors\":[");
        for (int i = 0; i < fe->n; i++) {
            if (i) buf_putc(&b, ',');
            buf_puts(&b, "{\"field\":");
            buf_json_str(&b, fe->e[i].field);
            buf_puts(&b, ",\"message\":");
            buf_json_str(&b, fe->e[i].message);
            buf_putc(&b, '}');
        }
        buf_putc(&b, ']');
    }
    buf_puts(&b, ",\"request_id\":");
    buf_json_str(&b, r ? r->request_id : "");
    buf_putc(&b, '}');
    struct reply rep = reply_json(pi->status, &b);
    rep.content_type = "application/problem+json";
    if (p == PROB_DATABASE_UNAVAILABLE) rep.retry_after = 1;
    if (p == PROB_UNAUTHORIZED) rep.www_authenticate = true;
    return rep;
}

void problem_member(struct reply *rep, const char *name, const char *value)
{
    rep->body.len--; /* the closing brace */
    buf_putc(&rep->body, ',');
    buf_json_str(&rep->body, name);
    buf_putc(&rep->body, ':');
    buf_puts(&rep->body, value);
    buf_putc(&rep->body, '}');
}

struct reply problem(const struct request *r, enum problem p, const char *fmt, ...)
{
    char detail[512] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
    }
    return build(r, p, detail, NULL);
}

struct reply problem_fields(const struct request *r, enum problem p, const struct field_errors *fe)
{
    char detail[512] = "";
    if (fe->n > 0) snprintf(detail, sizeof detail, "%s: %s", fe->e[0].field, fe->e[0].message);
    return build(r, p, detail, fe);
}
