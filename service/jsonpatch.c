/* RFC 6902 JSON Patch and RFC 6901 JSON Pointer over jansson: all or nothing, bounded. */
#include "jsonpatch.h"

#include "jvalue.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The patch being applied: the working copy it changes and where a failure is reported. */
struct ctx {
    size_t i; /* index of the current operation */
    char *err;
    size_t errlen;
    json_t *root;  /* the working copy (owned) */
    size_t copied; /* weight copied so far, against JSONPATCH_MAX_COPIED */
};

/* A pointer member of an operation: its text (borrowed) and its name. */
struct ptr {
    const char *s;
    size_t n;
    const char *member; /* "path" or "from" */
};

/* Where a pointer leads: its last token inside parent (NULL when the pointer is ""). */
struct loc {
    json_t *parent;
    char *tok; /* the last token, unescaped (owned, room for the whole pointer) */
    size_t len;
    size_t start; /* offset of the last token's '/': the text before it names parent */
};

/* Writes "[i].member: why" (or "[i]: why") to the caller's buffer; always false. */
__attribute__((format(printf, 3, 4))) static bool fail(struct ctx *c, const char *member,
                                                       const char *fmt, ...)
{
    int k =
        snprintf(c->err, c->errlen, "[%zu]%s%s: ", c->i, member ? "." : "", member ? member : "");
    if (k >= 0 && (size_t)k < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* How many bytes of a pointer or name to quote in a message. */
static int shown(size_t n)
{
    return n > 256 ? 256 : (int)n;
}

/* "a number", "an object"...: what v is, for messages. */
static const char *kind(const json_t *v)
{
    static const char *const names[] = {"an object", "an array",  "a string",  "a number",
                                        "a number",  "a boolean", "a boolean", "null"};
    return names[json_typeof(v)];
}

/* How many tokens p has (capped just past the depth limit). */
static int tokens(const struct ptr *p)
{
    int n = 0;
    for (size_t j = 0; j < p->n && n <= JSONPATCH_MAX_DEPTH; j++)
        n += p->s[j] == '/';
    return n;
}

/* Whether v fits at p; a copied v (or one moved deeper) is charged against the copy limit. */
static bool fits(struct ctx *c, json_t *v, const struct ptr *p, const char *member, bool copied)
{
    size_t w = 0;
    enum jvalue_measure r =
        jvalue_measure(v, JSONPATCH_MAX_DEPTH - tokens(p), copied ? &c->copied : &w,
                       copied ? JSONPATCH_MAX_COPIED : SIZE_MAX);
    if (r == JV_TOO_DEEP)
        return fail(c, member, "at %.*s it would nest deeper than %d levels", shown(p->n), p->s,
                    JSONPATCH_MAX_DEPTH);
    if (r == JV_TOO_HEAVY)
        return fail(c, member, "the patch copies more than %u values and bytes",
                    JSONPATCH_MAX_COPIED);
    return true;
}

static json_t *copy(const json_t *v)
{
    json_t *d = json_deep_copy(v);
    if (!d) abort();
    return d;
}

/* Whether p is "" or starts with '/', escapes only as ~0 and ~1 and holds no NUL. */
static bool ptr_valid(struct ctx *c, const struct ptr *p)
{
    if (memchr(p->s, '\0', p->n))
        return fail(c, p->member, "must not contain \\u0000 (no member name holds it)");
    if (p->n && p->s[0] != '/')
        return fail(c, p->member, "\"%.*s\" is not a JSON pointer (it is \"\" or starts with /)",
                    shown(p->n), p->s);
    for (size_t j = 0; j < p->n; j++)
        if (p->s[j] == '~' && (j + 1 == p->n || (p->s[j + 1] != '0' && p->s[j + 1] != '1')))
            return fail(c, p->member, "%.*s: ~ must be followed by 0 or 1 (~0 is ~, ~1 is /)",
                        shown(j + 1 + (j + 1 < p->n)), p->s);
    return true;
}

/* Unescapes the token after the '/' at pos into tok; returns where the next one starts. */
static size_t token_at(const struct ptr *p, size_t pos, char *tok, size_t *len)
{
    size_t k = 0, j = pos + 1;
    for (; j < p->n && p->s[j] != '/'; j++)
        tok[k++] = p->s[j] != '~' ? p->s[j] : p->s[++j] == '0' ? '~' : '/';
    *len = k;
    return j;
}

/* The index l->tok names in the array l->parent: "0" or digits without a leading zero, below
 * the size; with end_ok (adding) also the size itself or "-". s[0..end) names the element. */
static bool index_of(struct ctx *c, const struct ptr *p, const struct loc *l, size_t end,
                     bool end_ok, size_t *i)
{
    size_t size = json_array_size(l->parent), v = 0;
    if (l->len == 1 && l->tok[0] == '-') {
        *i = size;
        return end_ok || fail(c, p->member, "%.*s does not exist (- is past the last element)",
                              shown(end), p->s);
    }
    for (size_t k = 0; k < l->len; k++) {
        if (l->tok[k] < '0' || l->tok[k] > '9' || (k == 0 && l->len > 1 && l->tok[0] == '0'))
            return fail(c, p->member,
                        "%.*s: an array index is 0, digits without a leading zero or -", shown(end),
                        p->s);
        v = v > SIZE_MAX / 10 - 1 ? SIZE_MAX : v * 10 + (size_t)(l->tok[k] - '0');
    }
    if (l->len == 0 || v > size || (v == size && !end_ok))
        return fail(c, p->member, "%.*s %s (the array has %zu elements)", shown(end), p->s,
                    l->len ? "is out of range" : "is not an index", size);
    *i = v;
    return true;
}

/* The existing member or element l->tok of l->parent (borrowed); s[0..end) names it. For an
 * array element, *at receives its index. */
static json_t *child(struct ctx *c, const struct ptr *p, const struct loc *l, size_t end,
                     size_t *at)
{
    json_t *v = NULL;
    if (json_is_object(l->parent)) {
        if (!(v = json_object_getn(l->parent, l->tok, l->len)))
            fail(c, p->member, "%.*s does not exist", shown(end), p->s);
    } else if (json_is_array(l->parent)) {
        if (index_of(c, p, l, end, false, at)) v = json_array_get(l->parent, *at);
    } else {
        fail(c, p->member, "%.*s does not exist (%.*s%s is %s)", shown(end), p->s, shown(l->start),
             p->s, l->start ? "" : "the document", kind(l->parent));
    }
    return v;
}

/* Resolves all of p but its last token into l; l->tok must be freed even after a failure. */
static bool locate(struct ctx *c, const struct ptr *p, struct loc *l)
{
    *l = (struct loc){.tok = malloc(p->n + 1)};
    if (!l->tok) abort();
    if (!ptr_valid(c, p)) return false;
    size_t at;
    for (size_t pos = 0; pos < p->n;) {
        json_t *next = l->parent ? child(c, p, l, pos, &at) : c->root;
        if (!next) return false;
        l->parent = next;
        l->start = pos;
        pos = token_at(p, pos, l->tok, &l->len);
    }
    return true;
}

/* The existing value at l (borrowed), or NULL after failing; *at as for child(). */
static json_t *target(struct ctx *c, const struct ptr *p, const struct loc *l, size_t *at)
{
    return l->parent ? child(c, p, l, p->n, at) : c->root;
}

/* Puts v (consumed) at l: as the document, as an object member (which must exist when
 * replacing) or into an array (inserted when adding, overwriting when replacing). */
static bool put(struct ctx *c, const struct ptr *p, const struct loc *l, json_t *v, bool replacing)
{
    size_t i;
    if (!l->parent) {
        json_decref(c->root);
        c->root = v;
        return true;
    }
    bool ok = !replacing || target(c, p, l, &i); /* what is replaced must exist */
    if (ok && json_is_object(l->parent)) {
        if (json_object_setn_new(l->parent, l->tok, l->len, v) == 0) return true;
        return fail(c, p->member, "%.*s: the member name is not valid UTF-8", shown(p->n), p->s);
    }
    if (ok && json_is_array(l->parent)) {
        if (!replacing) ok = index_of(c, p, l, p->n, true, &i);
        if (ok && (replacing ? json_array_set_new(l->parent, i, v)
                             : json_array_insert_new(l->parent, i, v)))
            abort();
        if (ok) return true;
    } else if (ok) {
        ok = fail(c, p->member, "%.*s cannot be added (%.*s%s is %s)", shown(p->n), p->s,
                  shown(l->start), p->s, l->start ? "" : "the document", kind(l->parent));
    }
    json_decref(v);
    return ok;
}

/* Removes the value at l and returns it (a new reference), or NULL after failing. */
static json_t *take(struct ctx *c, const struct ptr *p, const struct loc *l)
{
    size_t i;
    json_t *v = target(c, p, l, &i);
    if (!v) return NULL;
    if (!l->parent) {
        c->root = json_null(); /* the document's reference passes to the caller */
        return v;
    }
    json_incref(v);
    if (json_is_object(l->parent) ? json_object_deln(l->parent, l->tok, l->len)
                                  : json_array_remove(l->parent, i))
        abort();
    return v;
}

/* add and replace: a copy of value goes to path. */
static bool op_put(struct ctx *c, const struct ptr *path, json_t *value, bool replacing)
{
    struct loc l;
    bool ok = locate(c, path, &l) && fits(c, value, path, "value", false) &&
              put(c, path, &l, copy(value), replacing);
    free(l.tok);
    return ok;
}

static bool op_remove(struct ctx *c, const struct ptr *path)
{
    struct loc l;
    json_t *v = locate(c, path, &l) ? take(c, path, &l) : NULL;
    bool ok = v != NULL;
    free(l.tok);
    json_decref(v);
    return ok;
}

static bool op_test(struct ctx *c, const struct ptr *path, json_t *value)
{
    struct loc l;
    size_t at;
    json_t *v = locate(c, path, &l) ? target(c, path, &l, &at) : NULL;
    free(l.tok);
    return v && (jvalue_equal(v, value) ||
                 fail(c, "value", "differs from %s%.*s", path->n ? "the value at " : "the document",
                      shown(path->n), path->s));
}

/* move (the value itself) and copy (a copy of it) from `from` to path. */
static bool op_transfer(struct ctx *c, const struct ptr *from, const struct ptr *path, bool move)
{
    struct loc lf, lp = {0};
    size_t at;
    if (!ptr_valid(c, from) || !ptr_valid(c, path)) return false;
    /* A proper prefix of the text is a proper ancestor: each token has one escaping. */
    if (move && from->n < path->n && memcmp(from->s, path->s, from->n) == 0 &&
        path->s[from->n] == '/')
        return fail(c, "from", "%.*s%s cannot move into its own child %.*s", shown(from->n),
                    from->s, from->n ? "" : "the document", shown(path->n), path->s);
    bool same = from->n == path->n && memcmp(from->s, path->s, from->n) == 0;
    json_t *v = !locate(c, from, &lf) ? NULL
                : move && !same       ? take(c, from, &lf)
                                      : target(c, from, &lf, &at);
    bool ok = v != NULL;
    if (ok && move && !same) { /* the value left the document; it is ours until put */
        if (locate(c, path, &lp) &&
            (tokens(path) <= tokens(from) || fits(c, v, path, "from", true)))
            ok = put(c, path, &lp, v, false);
        else
            ok = (json_decref(v), false);
    } else if (ok && !move) {
        ok = locate(c, path, &lp) && fits(c, v, path, "from", true) &&
             put(c, path, &lp, copy(v), false);
    }
    free(lf.tok);
    free(lp.tok);
    return ok;
}

/* The pointer in member `name` of op. */
static bool member_ptr(struct ctx *c, json_t *op, const char *name, struct ptr *p)
{
    json_t *v = json_object_get(op, name);
    if (!v) return fail(c, name, "is required");
    if (!json_is_string(v)) return fail(c, name, "must be a string, not %s", kind(v));
    *p = (struct ptr){json_string_value(v), json_string_length(v), name};
    return true;
}

enum op_kind { OP_ADD, OP_REMOVE, OP_REPLACE, OP_MOVE, OP_COPY, OP_TEST, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"add", "remove", "replace", "move", "copy", "test"};

/* Checks one operation's members and applies it to the working copy. */
static bool apply_op(struct ctx *c, json_t *op)
{
    if (!json_is_object(op))
        return fail(c, NULL, "an operation must be an object, not %s", kind(op));
    json_t *name = json_object_get(op, "op"), *value = json_object_get(op, "value");
    if (!name) return fail(c, "op", "is required");
    if (!json_is_string(name)) return fail(c, "op", "must be a string, not %s", kind(name));
    int k = 0;
    while (k < OP_COUNT &&
           !(strlen(op_names[k]) == json_string_length(name) &&
             memcmp(op_names[k], json_string_value(name), strlen(op_names[k])) == 0))
        k++;
    if (k == OP_COUNT)
        return fail(c, "op", "\"%.*s\" is not add, remove, replace, move, copy or test",
                    shown(json_string_length(name)), json_string_value(name));
    struct ptr path, from;
    if (!member_ptr(c, op, "path", &path)) return false;
    if ((k == OP_ADD || k == OP_REPLACE || k == OP_TEST) && !value)
        return fail(c, "value", "is required");
    if ((k == OP_MOVE || k == OP_COPY) && !member_ptr(c, op, "from", &from)) return false;
    switch (k) {
    case OP_ADD:
    case OP_REPLACE:
        return op_put(c, &path, value, k == OP_REPLACE);
    case OP_REMOVE:
        return op_remove(c, &path);
    case OP_TEST:
        return op_test(c, &path, value);
    default:
        return op_transfer(c, &from, &path, k == OP_MOVE);
    }
}

int jsonpatch_apply(json_t **doc, const json_t *patch, char *err, size_t errlen)
{
    size_t w = 0;
    if (!json_is_array(patch)) {
        snprintf(err, errlen, "the patch must be a JSON array of operations");
        return -1;
    }
    if (!*doc) {
        snprintf(err, errlen, "there is no document to patch");
        return -1;
    }
    if (jvalue_measure(*doc, JSONPATCH_MAX_DEPTH, &w, SIZE_MAX) != JV_FITS) {
        snprintf(err, errlen, "the document nests deeper than %d levels", JSONPATCH_MAX_DEPTH);
        return -1;
    }
    struct ctx c = {.err = err, .errlen = errlen, .root = copy(*doc)};
    for (c.i = 0; c.i < json_array_size(patch); c.i++)
        if (!apply_op(&c, json_array_get(patch, c.i))) {
            json_decref(c.root);
            return -1;
        }
    json_decref(*doc);
    *doc = c.root;
    return 0;
}
