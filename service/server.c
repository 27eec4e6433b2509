/* The HTTP server: libmicrohttpd setup, body accumulation and limits, dispatch, replies, logs.
 *
 * Threading model: one thread per connection (MHD_USE_THREAD_PER_CONNECTION with poll()).
 * Every handler blocks on PostgreSQL; in MHD's epoll thread pool a blocked handler stalls every
 * other connection of its thread (measured: 1 ms of blocking drops 43k req/s to 1.5k). With a
 * thread per connection a handler waiting on the database stalls only its own client, and it
 * measured faster than an epoll pool plus suspend/resume and DB workers (25k vs 17-21k req/s).
 * Concurrency on the database is bounded by the pool, not by threads: extra threads wait in
 * db_acquire() for at most CONVSTORE_POOL_TIMEOUT_MS and then answer 503. Idle or slow clients
 * are dropped after CONVSTORE_CONNECTION_TIMEOUT, so they cannot pin threads; the connection
 * limit is raised from MHD's 1,020 to CONVSTORE_MAX_CONNECTIONS, with small thread stacks.
 * Event streams keep their connection's thread too, asleep in poll(); routes/stream.c says why.
 */
#include "server.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>

#include "auth.h"
#include "config.h"
#include "cors.h"
#include "framing.h"
#include "idempotency.h"
#include "live.h"
#include "log.h"
#include "metrics.h"
#include "problem.h"
#include "router.h"

static struct MHD_Daemon *daemon_handle;

struct request_state {
    struct request req;
    char *raw_path; /* the request target as sent, up to '?': what the router matches */
    struct timespec started;
    unsigned status;
    int route;    /* index into convstore_routes; -1 until one matches */
    bool replied; /* a response is queued */
    bool discard; /* the body is refused: drop whatever of it arrives */
    size_t limit; /* the largest body this request's route accepts */
    sink_fn sink; /* the body goes to the route's sink as it arrives */
    void *sink_state;
};

const char *req_query(const struct request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *req_header(const struct request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

struct each_query {
    bool (*fn)(void *cls, const char *key, const char *value);
    void *cls;
};

static enum MHD_Result each_query_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
    struct each_query *q = cls;
    return q->fn(q->cls, key, value) ? MHD_YES : MHD_NO;
}

void req_each_query(const struct request *r,
                    bool (*fn)(void *cls, const char *key, const char *value), void *cls)
{
    struct each_query q = {fn, cls};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, each_query_value, &q);
}

int req_socket(const struct request *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

_Static_assert(STREAM_END == MHD_CONTENT_READER_END_OF_STREAM, "stream codes are MHD's");
_Static_assert(STREAM_ABORT == MHD_CONTENT_READER_END_WITH_ERROR, "stream codes are MHD's");

struct reply reply_json(unsigned status, struct buf *body)
{
    struct reply rep = {.status = status, .content_type = "application/json"};
    rep.body = *body;
    body->data = NULL;
    body->len = body->cap = 0;
    return rep;
}

static bool request_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

static enum MHD_Result send_reply(struct request_state *st, struct reply *rep)
{
    struct MHD_Response *resp;
    if (rep->stream) {
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, rep->stream,
                                                 rep->stream_cls, rep->stream_free);
        rep->stream = NULL; /* the response owns stream_cls now */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* proxies: do not buffer */
    } else {
        size_t len = rep->body.len;
        char *data = buf_take(&rep->body);
        resp = MHD_create_response_from_buffer(
            len, data ? data : (char *)"", data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    }
    if (rep->content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type);
    if (rep->preference_applied)
        MHD_add_response_header(resp, "Preference-Applied", rep->preference_applied);
    MHD_add_response_header(resp, "X-Request-Id", st->req.request_id);
    if (rep->etag_version > 0) {
        char etag[32];
        snprintf(etag, sizeof etag, "\"%lld\"", (long long)rep->etag_version);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    }
    if (rep->allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rep->allow);
    if (rep->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", rep->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (rep->replayed) MHD_add_response_header(resp, "Idempotent-Replayed", "true");
    if (rep->close) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (rep->www_authenticate)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    cors_add_headers(&st->req, rep, resp);
    enum MHD_Result ok = MHD_queue_response(st->req.conn, rep->status, resp);
    MHD_destroy_response(resp);
    if (ok == MHD_YES) {
        st->status = rep->status;
        st->replied = true;
    }
    return ok;
}

static bool is_json_content_type(const char *ct)
{
    if (!ct) return false;
    while (*ct == ' ')
        ct++;
    static const char json[] = "application/json";
    if (strncasecmp(ct, json, sizeof json - 1) != 0) return false;
    char next = ct[sizeof json - 1];
    return next == '\0' || next == ';' || next == ' ';
}

static enum MHD_Result find_nul(void *cls, enum MHD_ValueKind kind, const char *key,
                                size_t key_size, const char *value, size_t value_size)
{
    const char **bad = cls;
    if (strlen(key) != key_size || (value && strlen(value) != value_size)) {
        *bad = key;
        return MHD_NO;
    }
    return MHD_YES;
}

/* A decoded NUL would silently cut a query value short (after=m1%00x reading as after=m1). */
static const char *query_with_nul(struct MHD_Connection *conn)
{
    const char *bad = NULL;
    MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, find_nul, &bad);
    return bad;
}

/* Matches the request's route and authenticates its key: false with *rep the refusal. */
static bool admit(struct request_state *st, const struct route **out, struct reply *rep)
{
    struct request *r = &st->req;
    const char *bad = query_with_nul(r->conn);
    if (bad) {
        struct field_errors fe = {0};
        field_error(&fe, bad, "must not contain a NUL character");
        *rep = problem_fields(r, PROB_INVALID_QUERY, &fe);
        return false;
    }
    const struct route *route;
    char allow[64];
    switch (router_match(convstore_routes, convstore_routes_count, r->method, r->path, &route,
                         r->params, &r->param_store, allow, sizeof allow)) {
    case ROUTE_NOT_FOUND:
        *rep = problem(r, PROB_NOT_FOUND, "no route for %s", r->path);
        return false;
    case ROUTE_METHOD_NOT_ALLOWED:
        if (cors_is_preflight(r)) {
            *rep = cors_preflight(r, allow);
            return false;
        }
        *rep = problem(r, PROB_METHOD_NOT_ALLOWED, "%s is not allowed here", r->method);
        rep->allow = strdup(allow);
        return false;
    case ROUTE_FOUND:
        break;
    }
    st->route = (int)(route - convstore_routes);
    *out = route;
    if (route->public) return true;
    enum db_qs qs = auth_resolve(req_header(r, MHD_HTTP_HEADER_AUTHORIZATION), &r->who);
    if (qs == DB_UNAVAILABLE) *rep = problem(r, PROB_DATABASE_UNAVAILABLE, NULL);
    if (qs < 0 && qs != DB_UNAVAILABLE) *rep = problem(r, PROB_INTERNAL_ERROR, NULL);
    if (qs == DB_NO_RESULTS)
        *rep = problem(r, PROB_UNAUTHORIZED, "send Authorization: Bearer <api key>");
    return qs > 0;
}

static struct reply dispatch(struct request_state *st)
{
    struct request *r = &st->req;
    const struct route *route;
    struct reply refusal;
    if (!admit(st, &route, &refusal)) return refusal;
    if (r->body.len > 0 && !is_json_content_type(req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE)))
        return problem(r, PROB_UNSUPPORTED_MEDIA_TYPE, NULL);
    struct reply rep =
        !strcmp(r->method, "POST") ? idempotent_run(r, route->handler) : route->handler(r);
    /* Only now has everything the handler wrote committed (idempotent_run commits last). */
    if (rep.status < 300 && !rep.replayed)
        live_commit(r);
    else
        live_discard(r);
    return rep;
}

static enum MHD_Result reply_and_free_allow(struct request_state *st, struct reply rep)
{
    /* The Allow string of a 405 or a preflight is the only heap-owned header value. */
    char *allow = (char *)rep.allow;
    enum MHD_Result ok = send_reply(st, &rep);
    free(allow);
    buf_free(&rep.body);
    return ok;
}

/* The received headers, in order, with their sizes (a malloc'd array the caller frees). */
struct header_list {
    struct raw_header *h;
    size_t n, cap;
    int content_lengths, transfer_encodings;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
    struct header_list *l = cls;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->h = realloc(l->h, l->cap * sizeof *l->h);
        if (!l->h) abort();
    }
    l->h[l->n++] = (struct raw_header){key, key_size, value ? value : "", value_size};
    if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) l->content_lengths++;
    if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) l->transfer_encodings++;
    return MHD_YES;
}

/*
 * The framing problems libmicrohttpd lets through, as the reply they get (status 0: none).
 * Each of them could make a proxy in front of us and us disagree on where a request ends
 * (request smuggling), so the reply also closes the connection.
 */
static struct reply framing_problem(struct request_state *st)
{
    struct header_list l = {0};
    MHD_get_connection_values_n(st->req.conn, MHD_HEADER_KIND, collect_header, &l);
    bool clean = headers_well_framed(l.h, l.n);
    free(l.h);
    const struct request *r = &st->req;
    if (!clean)
        return problem(r, PROB_MALFORMED_REQUEST,
                       "a header has whitespace before its colon, a NUL byte, a folded line "
                       "or a line end other than CRLF");
    if (l.content_lengths > 1 || l.transfer_encodings > 1 ||
        (l.content_lengths && l.transfer_encodings))
        return problem(r, PROB_MALFORMED_REQUEST,
                       "Content-Length and Transfer-Encoding must not repeat or combine");
    const char *te = req_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    switch (te ? te_classify(te) : TE_CHUNKED) {
    case TE_CHUNKED:
        return (struct reply){0};
    case TE_MALFORMED:
        return problem(r, PROB_MALFORMED_REQUEST,
                       "Transfer-Encoding must be a list of codings ending with chunked");
    case TE_UNSUPPORTED:
        break;
    }
    return problem(r, PROB_TRANSFER_CODING_NOT_IMPLEMENTED, "only chunked is supported");
}

static bool is_event_stream(const char *ct)
{
    static const char es[] = "text/event-stream";
    while (ct && *ct == ' ')
        ct++;
    return ct && !strncasecmp(ct, es, sizeof es - 1) &&
           (ct[sizeof es - 1] == '\0' || ct[sizeof es - 1] == ';' || ct[sizeof es - 1] == ' ');
}

/*
 * A text/event-stream body for a route with a sink: admitted now, before any of it is read, and
 * then handed over piece by piece as it arrives (a producer may stream for as long as its run
 * lasts). False when the request is not one; true with st->sink set, or with a refusal queued.
 */
static bool sink_begin(struct request_state *st, enum MHD_Result *ok)
{
    struct request *r = &st->req;
    if (!is_event_stream(req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE))) return false;
    const struct route *route;
    const char *params[MAX_PATH_PARAMS];
    char *store = NULL, allow[64];
    bool has = router_match(convstore_routes, convstore_routes_count, r->method, st->raw_path,
                            &route, params, &store, allow, sizeof allow) == ROUTE_FOUND &&
               route->sink;
    free(store);
    if (!has) return false;
    struct reply refusal;
    if (!admit(st, &route, &refusal)) {
        st->discard = true;
        *ok = reply_and_free_allow(st, refusal);
    } else if (req_header(r, "Idempotency-Key")) {
        st->discard = true;
        struct field_errors fe = {0};
        field_error(&fe, "Idempotency-Key",
                    "does not apply to a streamed body: each frame commits as it arrives");
        *ok = reply_and_free_allow(st, problem_fields(r, PROB_VALIDATION_FAILED, &fe));
    } else {
        st->sink = route->sink;
        *ok = MHD_YES;
    }
    return true;
}

/* How much of a declared oversize body is drained before the 413 (see on_request). */
#define DRAIN_BYTES (16u << 20)

static struct reply too_large(struct request_state *st)
{
    return problem(&st->req, PROB_PAYLOAD_TOO_LARGE, "the limit is %zu bytes", st->limit);
}

/* The body limit of the route method and path lead to (the general one when none matches). */
static size_t body_limit(const char *method, const char *path)
{
    const struct route *route;
    const char *params[MAX_PATH_PARAMS];
    char *store = NULL, allow[64];
    bool large = router_match(convstore_routes, convstore_routes_count, method, path, &route,
                              params, &store, allow, sizeof allow) == ROUTE_FOUND &&
                 route->large_body;
    free(store);
    return large ? cfg.max_checkpoint_bytes : cfg.max_body_bytes;
}

/* libmicrohttpd's URI log callback: the request starts here, with its target as sent (the
 * access handler only sees it percent-decoded). What it returns becomes *con_cls. */
static void *request_begin(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct request_state *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    clock_gettime(CLOCK_MONOTONIC, &st->started);
    st->route = -1;
    st->req.conn = conn;
    st->raw_path = strndup(uri, strcspn(uri, "?"));
    if (!st->raw_path) abort();
    st->req.path = st->raw_path;
    return st;
}

/* The first call of a request: headers are in. */
static void request_headers(struct request_state *st, const char *method)
{
    st->req.method = method;
    st->limit = body_limit(method, st->raw_path);
    const char *rid = MHD_lookup_connection_value(st->req.conn, MHD_HEADER_KIND, "X-Request-Id");
    if (rid && request_id_ok(rid))
        snprintf(st->req.request_id, sizeof st->req.request_id, "%s", rid);
    else
        auth_uuid(st->req.request_id);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct request_state *st = *con_cls;
    if (!st) return MHD_NO; /* out of memory in request_begin */
    if (!st->req.method) {
        request_headers(st, method);
        struct reply bad = framing_problem(st);
        if (bad.status) {
            st->discard = true;
            bad.close = true;
            return reply_and_free_allow(st, bad);
        }
        enum MHD_Result ok;
        if (sink_begin(st, &ok)) return ok;
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
        if (declared <= st->limit) return MHD_YES;
        st->discard = true;
        /* A client waiting for 100-continue has sent no body: refuse before it does. So does one
         * declaring a huge body. A body up to DRAIN_BYTES past the limit is read and dropped,
         * then refused: closing a socket with unread input makes the kernel reset the
         * connection, and the client may lose the 413 before reading it. */
        const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Expect");
        if (expect || declared > st->limit + DRAIN_BYTES)
            return reply_and_free_allow(st, too_large(st));
        return MHD_YES;
    }
    if (*upload_data_size > 0 && st->sink) {
        struct reply ignored =
            st->sink(&st->req, SINK_DATA, upload_data, *upload_data_size, &st->sink_state);
        buf_free(&ignored.body);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!st->discard && st->req.body.len + *upload_data_size > st->limit) {
            /* A chunked body (no Content-Length) grew past the limit. libmicrohttpd 0.9.75
             * cannot queue a reply in the middle of an upload, and reading the rest only to
             * discard it would let one client stream forever: close the connection now. */
            st->discard = true;
            buf_free(&st->req.body);
            return MHD_NO;
        }
        if (!st->discard) buf_add(&st->req.body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->replied) return MHD_YES;
    if (st->sink) {
        sink_fn sink = st->sink;
        st->sink = NULL;
        return reply_and_free_allow(st, sink(&st->req, SINK_END, NULL, 0, &st->sink_state));
    }
    if (st->discard) return reply_and_free_allow(st, too_large(st));
    return reply_and_free_allow(st, dispatch(st));
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct request_state *st = *con_cls;
    if (!st) return;
    if (st->sink) { /* the client left in the middle of its body */
        struct reply dropped = st->sink(&st->req, SINK_ABORT, NULL, 0, &st->sink_state);
        buf_free(&dropped.body);
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double ms = (double)(now.tv_sec - st->started.tv_sec) * 1e3 +
                (double)(now.tv_nsec - st->started.tv_nsec) / 1e6;
    metrics_request(st->route, st->status ? st->status : 499u, ms / 1e3);
    if (log_enabled(LOG_INFO)) {
        struct buf b = {0};
        buf_puts(&b, "\"request_id\":");
        buf_json_str(&b, st->req.request_id);
        buf_puts(&b, ",\"method\":");
        buf_json_str(&b, st->req.method);
        buf_puts(&b, ",\"path\":");
        buf_json_str(&b, st->req.path);
        buf_printf(&b, ",\"status\":%u,\"ms\":%.3f", st->status ? st->status : 499u, ms);
        log_line(st->status >= 500 ? LOG_ERROR : LOG_INFO, "request", b.data);
        buf_free(&b);
    }
    buf_free(&st->req.body);
    free(st->req.param_store);
    free(st->raw_path);
    free(st);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    log_line(LOG_DEBUG, msg, "\"source\":\"libmicrohttpd\"");
}

/* Parses "host:port" or "[v6]:port" into an address; false when it does not resolve. */
static bool resolve_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen) return false;
    size_t hl = (size_t)(colon - listen);
    if (listen[0] == '[' && hl >= 2 && listen[hl - 1] == ']') {
        listen++;
        hl -= 2;
    }
    if (hl >= sizeof host) return false;
    memcpy(host, listen, hl);
    host[hl] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai) return false;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return true;
}

/*
 * Each connection is a thread and a descriptor, and an event stream holds one more (its eventfd):
 * lift the descriptor limit as far as allowed, and keep the connection limit below what it can
 * serve, so that a flood of streams is refused at accept instead of running out of descriptors
 * (then libmicrohttpd stops accepting, and the database connections could not be opened).
 */
static unsigned connection_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return (unsigned)cfg.max_connections;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    rlim_t reserve = 256 + 2 * (rlim_t)cfg.pool_size; /* the pool, listeners, logs, slack */
    rlim_t fit = rl.rlim_cur > 2 * reserve ? (rl.rlim_cur - reserve) / 2 : rl.rlim_cur / 4;
    if ((rlim_t)cfg.max_connections <= fit) return (unsigned)cfg.max_connections;
    log_msgf(LOG_INFO,
             "%llu descriptors allow %llu connections with an event stream each, not %d: "
             "raise the descriptor limit (ulimit -n) to serve more",
             (unsigned long long)rl.rlim_cur, (unsigned long long)fit, cfg.max_connections);
    return (unsigned)fit;
}

bool server_start(void)
{
    struct sockaddr_storage addr;
    socklen_t addrlen;
    if (!resolve_listen(cfg.listen, &addr, &addrlen)) {
        log_msgf(LOG_ERROR, "cannot parse listen address '%s' (want host:port)", cfg.listen);
        return false;
    }
    unsigned max_connections = connection_limit();
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    // clang-format off
    daemon_handle = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first, so MHD logs nothing elsewhere */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_LIMIT, max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg.connection_timeout_s,
        MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024),
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_URI_LOG_CALLBACK, request_begin, NULL,
        MHD_OPTION_STRICT_FOR_CLIENT, (int)1, /* refuse malformed requests instead of guessing */
        MHD_OPTION_END);
    // clang-format on
    if (!daemon_handle) {
        log_msgf(LOG_ERROR, "cannot listen on %s", cfg.listen);
        return false;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(daemon_handle, MHD_DAEMON_INFO_BIND_PORT);
    struct buf extra = {0};
    buf_puts(&extra, "\"listen\":");
    buf_json_str(&extra, cfg.listen);
    buf_printf(&extra, ",\"port\":%u", info ? (unsigned)info->port : 0u);
    log_line(LOG_INFO, "listening", extra.data);
    buf_free(&extra);
    return true;
}

void server_stop(void)
{
    if (daemon_handle) MHD_stop_daemon(daemon_handle);
    daemon_handle = NULL;
}
