/* Helpers shared by route handlers: database failures, user scoping, list parameters. */
#include "routes.h"

#include <string.h>

struct reply db_failure(const struct request *r, enum db_qs qs)
{
    if (qs == DB_UNAVAILABLE)
        return problem(r, PROB_DATABASE_UNAVAILABLE, "the database cannot be reached; retry");
    if (qs == DB_INVALID) {
        /* DB_INVALID: the merged metadata outgrew the limit. */
        struct field_errors fe = {0};
        field_error(&fe, "metadata", "must be a JSON object of at most 16384 bytes serialized");
        return problem_fields(r, PROB_VALIDATION_FAILED, &fe);
    }
    if (qs == DB_BAD_VALUE)
        return problem(r, PROB_VALIDATION_FAILED,
                       "a value is outside what the database can store (number or time range)");
    return problem(r, PROB_INTERNAL_ERROR, "see the server log for request %s", r->request_id);
}

const char *scope_user(const struct request *r)
{
    return r->who.role == ROLE_USER ? r->who.user_id : NULL;
}

bool parse_page(const struct request *r, bool default_asc, struct page *p, struct reply *err)
{
    struct field_errors fe = {0};
    if (page_parse(req_query(r, "limit"), req_query(r, "order"), req_query(r, "after"),
                   req_query(r, "before"), default_asc, p, &fe))
        return true;
    *err = problem_fields(r, PROB_INVALID_QUERY, &fe);
    return false;
}

void render_time_or_null(struct buf *b, const struct db_rows *rows, int row, int col)
{
    if (db_is_null(rows, row, col))
        buf_puts(b, "null");
    else
        buf_json_time(b, db_int(rows, row, col));
}

/* The version an entity tag names ("3", W/"3" or 3), or -1 when it names none. */
static long long etag_version(const char *tag, size_t n)
{
    while (n > 0 && *tag == ' ')
        tag++, n--;
    while (n > 0 && tag[n - 1] == ' ')
        n--;
    if (n >= 2 && !strncmp(tag, "W/", 2)) tag += 2, n -= 2;
    if (n >= 2 && tag[0] == '"' && tag[n - 1] == '"') tag++, n -= 2;
    long long v = 0;
    if (n == 0 || n > 18) return -1;
    for (size_t i = 0; i < n; i++) {
        if (tag[i] < '0' || tag[i] > '9') return -1;
        v = v * 10 + (tag[i] - '0');
    }
    return v;
}

bool if_match_matches(const char *h, long long version)
{
    if (!h) return true;
    while (*h) {
        size_t n = strcspn(h, ",");
        if (etag_version(h, n) == version) return true;
        size_t i = 0;
        while (i < n && h[i] == ' ')
            i++;
        if (n - i >= 1 && h[i] == '*') return true;
        h += n;
        if (*h == ',') h++;
    }
    return false;
}

struct choices_walk {
    const char *name;
    const char *const *choices;
    struct buf lit;
    bool bad;
};

static bool collect_choice(void *cls, const char *key, const char *value)
{
    struct choices_walk *w = cls;
    if (strcmp(key, w->name) != 0) return true;
    bool known = false;
    for (int i = 0; value && w->choices[i] && !known; i++)
        known = !strcmp(value, w->choices[i]);
    if (!known) w->bad = true;
    if (!w->lit.len) buf_putc(&w->lit, '{');
    if (known) db_array_add(&w->lit, value);
    return !w->bad;
}

bool query_choices(const struct request *r, const char *name, const char *const *choices,
                   char **literal, struct field_errors *fe)
{
    struct choices_walk w = {name, choices, {0}, false};
    req_each_query(r, collect_choice, &w);
    *literal = NULL;
    if (w.bad) {
        struct buf all = {0};
        for (int i = 0; choices[i]; i++)
            buf_printf(&all, "%s%s", i ? ", " : "", choices[i]);
        field_error(fe, name, "must be one of %s", all.data);
        buf_free(&all);
        buf_free(&w.lit);
        return false;
    }
    if (w.lit.len) {
        buf_putc(&w.lit, '}');
        *literal = buf_take(&w.lit);
    }
    return true;
}
