/* CORS for browser frontends: which origins may call /v1 (CONVSTORE_CORS_ORIGINS), and the
 * headers that tell a browser so.
 *
 * The list is matched as configured, one exact origin at a time, against the request's Origin:
 * no patterns, no suffixes. "*" alone answers "Access-Control-Allow-Origin: *", which browsers
 * accept because the API authenticates with an Authorization header, never with cookies (no
 * Access-Control-Allow-Credentials is ever sent). Only /v1 paths get CORS headers: /healthz,
 * /readyz, /metrics and /openapi.json are for operators and tools, not for pages. */
#include "cors.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "problem.h"

/* The next non-blank entry of the comma-separated list at *p, without the blanks around it;
 * false at the end of the list. */
static bool next_entry(const char **p, const char **s, size_t *n)
{
    while (**p) {
        const char *b = *p, *e = *p + strcspn(*p, ",");
        *p = *e ? e + 1 : e;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > b) {
            *s = b;
            *n = (size_t)(e - b);
            return true;
        }
    }
    return false;
}

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Where the scheme of s (up to n bytes) ends at its "://", or 0 when it has none. */
static size_t scheme_end(const char *s, size_t n)
{
    if (n == 0 || s[0] < 'a' || s[0] > 'z') return 0;
    size_t i = 1;
    while (i < n && (is_lower_alnum(s[i]) || s[i] == '+' || s[i] == '.' || s[i] == '-'))
        i++;
    return n - i >= 3 && !memcmp(s + i, "://", 3) ? i : 0;
}

/* Where the host starting at s[i] ends (a name, an IPv4 address or a [v6] literal), or i. */
static size_t host_end(const char *s, size_t n, size_t i)
{
    size_t j = i;
    if (j < n && s[j] == '[') {
        while (++j < n && (is_lower_alnum(s[j]) || s[j] == ':' || s[j] == '.'))
            ;
        return j < n && s[j] == ']' && j > i + 1 ? j + 1 : i;
    }
    while (j < n && (is_lower_alnum(s[j]) || s[j] == '.' || s[j] == '-' || s[j] == '_'))
        j++;
    return j;
}

/* Why s (n bytes) is not an origin as a browser writes it in Origin, or NULL when it is one. */
static const char *origin_problem(const char *s, size_t n)
{
    static const char shape[] = "is not an origin: want scheme://host[:port], lowercase, without "
                                "a path or a trailing /, e.g. https://app.example.com";
    size_t scheme = scheme_end(s, n);
    if (!scheme) return shape;
    size_t host = scheme + 3, i = host_end(s, n, host);
    if (i == host) return shape;
    if (i == n) return NULL;
    if (s[i] != ':' || n - i < 2 || n - i > 6 || s[i + 1] == '0') return shape;
    long port = 0;
    for (size_t j = i + 1; j < n; j++) {
        if (s[j] < '0' || s[j] > '9') return shape;
        port = port * 10 + (s[j] - '0');
    }
    if (port > 65535) return shape;
    bool http = scheme == 4 && !memcmp(s, "http", 4), https = scheme == 5 && !memcmp(s, "https", 5);
    if ((http && port == 80) || (https && port == 443))
        return "has its scheme's default port, which browsers leave out of Origin: drop it";
    return NULL;
}

bool cors_origins_valid(const char *list, char *why, size_t why_len)
{
    const char *p = list, *s;
    size_t n, count = 0;
    bool star = false;
    while (next_entry(&p, &s, &n)) {
        count++;
        if (n == 1 && *s == '*') {
            star = true;
            continue;
        }
        const char *bad = origin_problem(s, n);
        if (bad) {
            snprintf(why, why_len, "'%.*s' %s", (int)(n > 200 ? 200 : n), s, bad);
            return false;
        }
    }
    if (star && count > 1) {
        snprintf(why, why_len, "'*' allows every origin and cannot be listed with others");
        return false;
    }
    return true;
}

bool cors_applies(const char *list, const char *path)
{
    const char *p = list, *s;
    size_t n;
    if (!list || !next_entry(&p, &s, &n)) return false;
    return !strncmp(path, "/v1", 3) && (path[3] == '\0' || path[3] == '/');
}

const char *cors_allow_origin(const char *list, const char *origin)
{
    const char *p = list, *s;
    size_t n;
    if (!list || !origin) return NULL;
    while (next_entry(&p, &s, &n)) {
        if (n == 1 && *s == '*') return "*";
        if (strlen(origin) == n && !memcmp(s, origin, n)) return origin;
    }
    return NULL;
}

bool cors_is_preflight(const struct request *r)
{
    return !strcmp(r->method, "OPTIONS") && cors_applies(cfg.cors_origins, r->path) &&
           req_header(r, "Origin") && req_header(r, "Access-Control-Request-Method");
}

struct reply cors_preflight(const struct request *r, const char *allow)
{
    const char *origin = req_header(r, "Origin");
    if (!cors_allow_origin(cfg.cors_origins, origin))
        return problem(r, PROB_CORS_ORIGIN_REFUSED,
                       "the origin %.200s is not one of CONVSTORE_CORS_ORIGINS", origin);
    struct reply rep = {.status = 204, .preflight = true};
    rep.allow = strdup(allow); /* freed with the reply, like a 405's */
    if (!rep.allow) abort();
    return rep;
}

void cors_add_headers(const struct request *r, const struct reply *rep, struct MHD_Response *resp)
{
    if (!cors_applies(cfg.cors_origins, r->path)) return;
    /* Whether the Allow-Origin header comes depends on Origin: caches must key on it. */
    MHD_add_response_header(resp, "Vary", "Origin");
    const char *origin = cors_allow_origin(cfg.cors_origins, req_header(r, "Origin"));
    if (!origin) return;
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(resp, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
    if (!rep->preflight) return;
    MHD_add_response_header(resp, "Access-Control-Allow-Methods", rep->allow);
    MHD_add_response_header(resp, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
    MHD_add_response_header(resp, "Access-Control-Max-Age", CORS_MAX_AGE);
}
