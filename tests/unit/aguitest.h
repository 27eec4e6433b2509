/* Helpers of the AG-UI unit tests: events written with ' for " (and ` for \"), parsed as the
 * server parses them, run through the client's order checks, and compared with what a test
 * expects. Include after cmocka.h. */
#ifndef CONVSTORE_AGUITEST_H
#define CONVSTORE_AGUITEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agui.h"

/* text with ' for " and ` for \", parsed with flags (a new reference); bad JSON fails the test. */
static inline json_t *jparse(const char *text, size_t flags)
{
    size_t n = strlen(text);
    char *s = malloc(2 * n + 1), *o = s;
    if (!s) abort();
    for (const char *p = text; *p; p++) {
        if (*p == '`') *o++ = '\\';
        *o++ = *p == '\'' ? '"' : *p == '`' ? '"' : *p;
    }
    *o = '\0';
    json_error_t je;
    json_t *v = json_loads(s, flags | JSON_DECODE_ANY, &je);
    if (!v) fail_msg("bad test JSON %s: %s", s, je.text);
    free(s);
    return v;
}

/* As POST /v1/threads/{id}/agui reads a body: every number a real. */
static inline json_t *jin(const char *text)
{
    return jparse(text, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL);
}

/* As the replay reads a stored event: integers stay integers. */
static inline json_t *jout(const char *text)
{
    return jparse(text, 0);
}

/* Compact JSON of v, malloc'd. */
static inline char *jtext(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    if (!s) abort();
    return s;
}

/* Fails the test unless got equals the JSON want (same parse as got: jout). */
static inline void expect_json(const json_t *got, const char *want_text, const char *what)
{
    json_t *want = jout(want_text);
    if (!json_equal(got, want)) {
        char *g = jtext(got), *w = jtext(want);
        fail_msg("%s:\n got  %s\n want %s", what, g, w);
    }
    json_decref(want);
}

/*
 * Fails the test (saying what) unless the event array got has as many events as the array
 * want_text and each has every member its counterpart lists, with that value (a null there:
 * the member is absent). Other members are not looked at.
 */
static inline void expect_events(json_t *got, const char *want_text, const char *what)
{
    json_t *want = jout(want_text);
    char *g = jtext(got);
    if (json_array_size(got) != json_array_size(want))
        fail_msg("%s: %zu events, want %zu: %s", what, json_array_size(got), json_array_size(want),
                 g);
    size_t i;
    json_t *w;
    json_array_foreach(want, i, w)
    {
        const char *key;
        json_t *v;
        json_object_foreach(w, key, v)
        {
            json_t *have = json_object_get(json_array_get(got, i), key);
            bool ok = json_is_null(v) ? have == NULL : json_equal(have, v);
            if (!ok) fail_msg("%s: event %zu, member %s: %s", what, i, key, g);
        }
    }
    free(g);
    json_decref(want);
}

/*
 * Expands and verifies each event of the array events on ctx in order, as an ingest does;
 * the index of the first one refused (the error in *err), or -1.
 */
static inline int verify_all(json_t *ctx, json_t *events, bool fresh_run, struct agui_error *err)
{
    size_t i, k;
    json_t *ev, *x;
    json_array_foreach(events, i, ev)
    {
        json_t *list;
        enum agui_type t = agui_type_parse(json_string_value(json_object_get(ev, "type")));
        bool ok = agui_expand(ctx, t, ev, &list, err);
        json_array_foreach(list, k, x)
        {
            char abandoned[129];
            if (!ok) break;
            enum agui_type xt = agui_type_parse(json_string_value(json_object_get(x, "type")));
            ok = agui_verify(ctx, xt, x, fresh_run, abandoned, err);
        }
        json_decref(list);
        if (!ok) return (int)i;
    }
    return -1;
}

#endif
