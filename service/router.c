/* Maps method + path to a handler through one static route table. */
#include "router.h"

#include <stdlib.h>
#include <string.h>

#include "framing.h"

/*
 * Matches the raw (still percent-encoded) path against pattern, segment by segment: literal
 * segments must be equal as sent, and each "{}" segment is percent-decoded into out (room for
 * strlen(path) + 1 bytes) and pointed to by params. A decoded '/' or NUL, or a broken escape,
 * makes the segment match nothing, so an encoded byte can never select another route.
 */
static bool match_pattern(const char *pattern, const char *path, char *out,
                          const char *params[MAX_PATH_PARAMS])
{
    const char *p = pattern, *s = path;
    int np = 0;
    while (*p && *s) {
        if (*p != '/' || *s != '/') return false;
        p++;
        s++;
        size_t plen = strcspn(p, "/"), slen = strcspn(s, "/");
        if (plen == 2 && p[0] == '{' && p[1] == '}') {
            if (slen == 0 || np >= MAX_PATH_PARAMS || !segment_decode(s, slen, out)) return false;
            params[np++] = out;
            out += strlen(out) + 1;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return false;
        }
        p += plen;
        s += slen;
    }
    return !*p && !*s;
}

static bool method_matches(const char *route_method, const char *method)
{
    if (strcmp(route_method, method) == 0) return true;
    return strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0;
}

/* Whether the ", "-separated list names method already (two patterns may match one path). */
static bool list_has(const char *list, const char *method)
{
    size_t n = strlen(method);
    for (const char *p = list; *p;) {
        if (!strncmp(p, method, n) && (p[n] == ',' || p[n] == '\0')) return true;
        p += strcspn(p, ",");
        if (*p) p += 2;
    }
    return false;
}

enum route_result router_match(const struct route *table, size_t n, const char *method,
                               const char *path, const struct route **out,
                               const char *params[MAX_PATH_PARAMS], char **store, char *allow,
                               size_t allow_len)
{
    bool path_known = false;
    size_t path_len = strlen(path);
    char *buf = malloc(path_len + 1);
    if (!buf) abort();
    allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *tmp[MAX_PATH_PARAMS] = {0};
        if (!match_pattern(table[i].pattern, path, buf, tmp)) continue;
        path_known = true;
        if (method_matches(table[i].method, method)) {
            memcpy(params, tmp, sizeof tmp);
            *out = &table[i];
            *store = buf;
            return ROUTE_FOUND;
        }
        size_t used = strlen(allow);
        if (!list_has(allow, table[i].method) && used + strlen(table[i].method) + 3 < allow_len) {
            if (used) strcat(allow, ", ");
            strcat(allow, table[i].method);
        }
    }
    free(buf);
    return path_known ? ROUTE_METHOD_NOT_ALLOWED : ROUTE_NOT_FOUND;
}
