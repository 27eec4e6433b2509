/* Request body parsing and declarative field specs, so handlers never hand-walk json_t. */
#ifndef CONVSTORE_JSON_H
#define CONVSTORE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "problem.h"

#define MAX_JSON_DEPTH 64
#define MAX_METADATA_BYTES 16384
#define MAX_ID_LEN 128

enum jkind {
    JK_ID,       /* string, 1..128 chars of [A-Za-z0-9._:-] */
    JK_TEXT,     /* string of 1..max characters without control characters (max 0: no limit) */
    JK_STRING,   /* any string (newlines and all), no NUL */
    JK_ENUM,     /* one of choices */
    JK_METADATA, /* object, <= MAX_METADATA_BYTES serialized */
    JK_ANY,      /* any JSON value */
};

struct jfield {
    const char *name;
    enum jkind kind;
    bool nullable;
    size_t max;                 /* JK_TEXT: maximum length in characters */
    const char *const *choices; /* JK_ENUM: NULL-terminated */
    bool allow_empty;           /* JK_TEXT: "" is allowed */
};

/* What the parser found for one field. Pointers borrow from the parsed document. */
struct jval {
    bool present;
    bool is_null;
    const char *str; /* JK_ID, JK_TEXT, JK_ENUM */
    int choice;      /* JK_ENUM: index into choices */
    json_t *json;    /* the value itself (borrowed) */
};

/*
 * Parses the request body into a JSON object (new reference in *out). An empty body is {}.
 * Returns false with *err set to the 400 reply for malformed, too deep or non-object input.
 */
bool body_parse(const struct request *r, json_t **out, struct reply *err);

/*
 * Checks obj against spec (n fields): unknown members, types, limits. vals[i] receives field i.
 * Returns false when fe holds at least one error.
 */
bool jspec_parse(json_t *obj, const struct jfield *spec, size_t n, struct jval *vals,
                 struct field_errors *fe);

/* Validators shared with query and path handling. */
bool valid_id(const char *s);
/* Number of UTF-8 characters, or -1 when s contains a control character. */
long text_chars(const char *s);
/* Maximum nesting depth of the JSON text (brackets outside strings); stops counting past limit. */
int json_text_depth(const char *s, size_t n, int limit);
/* Compact serialization; caller frees. */
char *json_compact(const json_t *v, size_t *len);

/* Whether s (NUL-terminated) is valid UTF-8 without control characters. */
bool text_ok(const char *s);
/* Whether s is a lowercase or uppercase textual UUID. */
bool valid_uuid(const char *s);
/*
 * Parses an RFC 3339 timestamp ("2026-11-22T10:00:00.123456Z" or with a ±hh:mm offset) into
 * microseconds since the epoch. False for anything else, including impossible dates and times
 * outside the years 1-9999 in UTC.
 */
bool parse_rfc3339(const char *s, int64_t *epoch_us);

/*
 * Raw spans of already-validated JSON text, so stored JSON keeps the client's exact bytes
 * (jansson would print 0.1 as 0.10000000000000001). Inputs must be valid JSON.
 */
struct jspan {
    const char *p;
    size_t n;
};
/* The raw value of member `key` of the object text; false when absent or the key is escaped. */
bool jspan_member(struct jspan obj, const char *key, struct jspan *out);
/* Iterates the elements of an array span: *pos starts at 0; false when there are no more. */
bool jspan_next_element(struct jspan arr, size_t *pos, struct jspan *out);
/* The raw text of member `key` of obj, or its compact re-serialisation when no raw text is
 * found. Returns a malloc'd NUL-terminated copy; NULL when the member is absent or null. */
char *json_member_text(struct jspan raw, json_t *obj, const char *key, size_t *len);
/*
 * The metadata limit's measure: the length of valid JSON text s[0..n) as stored and returned,
 * i.e. without insignificant whitespace and with each number as PostgreSQL's jsonb prints it
 * (1e-16383 is 16,385 characters there). Bounding it also keeps every number within what jsonb
 * can hold, so stored metadata can always be merged into again.
 */
size_t json_stored_len(const char *s, size_t n);
/* Whether stored metadata (jsonb's text) is within MAX_METADATA_BYTES: a merge can outgrow it. */
bool metadata_fits(const char *stored);
/* Removes insignificant whitespace from valid JSON text s[0..n) in place; returns the new length
 * (and NUL-terminates when it shrank). */
size_t json_strip_ws(char *s, size_t n);
/* Appends valid JSON text s without insignificant whitespace (jsonb prints ", " and ": "). */
void buf_json_compact(struct buf *b, const char *s);
/* The raw "metadata" member of obj without whitespace (malloc'd; NULL when absent, null, or too
 * large, the last with an error under `field` in fe). */
char *metadata_member(struct jspan raw, json_t *obj, const char *field, struct field_errors *fe);
#endif
