/* Request body parsing and declarative field specs, so handlers never hand-walk json_t. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

int json_text_depth(const char *s, size_t n, int limit)
{
    int depth = 0, max = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max) max = depth;
            if (max > limit) return max;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return max;
}

bool body_parse(const struct request *r, json_t **out, struct reply *err)
{
    if (r->body.len == 0) {
        *out = json_object();
        return true;
    }
    if (json_text_depth(r->body.data, r->body.len, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
        *err =
            problem(r, PROB_INVALID_JSON, "JSON nesting is deeper than %d levels", MAX_JSON_DEPTH);
        return false;
    }
    json_error_t je;
    /* Integers of any size are fine in opaque JSON (it is stored from the raw bytes), so they
     * are decoded as reals: read an integer field with json_number_value and check it. */
    json_t *doc = json_loadb(r->body.data, r->body.len,
                             JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &je);
    if (!doc) {
        *err = problem(r, PROB_INVALID_JSON, "%s (at byte %d)", je.text, je.position);
        return false;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        *err = problem(r, PROB_INVALID_JSON, "the body must be a JSON object");
        return false;
    }
    *out = doc;
    return true;
}

bool valid_id(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok || n >= MAX_ID_LEN) return false;
    }
    return n > 0;
}

long text_chars(const char *s)
{
    long n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) return -1;
        if ((*p & 0xC0) != 0x80) n++; /* count lead bytes only */
    }
    return n;
}

char *json_compact(const json_t *v, size_t *len)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) abort();
    *len = strlen(s);
    return s;
}

static const struct jfield *find_field(const struct jfield *spec, size_t n, const char *name,
                                       size_t *idx)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(spec[i].name, name) == 0) {
            *idx = i;
            return &spec[i];
        }
    return NULL;
}

static void check_text(const struct jfield *f, json_t *v, struct jval *out, struct field_errors *fe)
{
    if (!json_is_string(v)) {
        field_error(fe, f->name, "must be a string%s", f->nullable ? " or null" : "");
        return;
    }
    const char *s = json_string_value(v);
    if (json_string_length(v) != strlen(s)) {
        field_error(fe, f->name, "must not contain NUL characters");
        return;
    }
    out->str = s;
    if (f->kind == JK_STRING) return;
    if (f->kind == JK_ID) {
        if (!valid_id(s)) field_error(fe, f->name, "must be 1-128 characters of A-Za-z0-9._:-");
        return;
    }
    long chars = text_chars(s);
    if (chars < 0)
        field_error(fe, f->name, "must not contain control characters");
    else if (chars == 0 && !f->allow_empty)
        field_error(fe, f->name, "must not be empty");
    else if (f->max && (size_t)chars > f->max)
        field_error(fe, f->name, "must be at most %zu characters", f->max);
}

static void check_enum(const struct jfield *f, json_t *v, struct jval *out, struct field_errors *fe)
{
    if (json_is_string(v)) {
        for (int i = 0; f->choices[i]; i++)
            if (strcmp(f->choices[i], json_string_value(v)) == 0) {
                out->str = f->choices[i];
                out->choice = i;
                return;
            }
    }
    char list[256] = "";
    for (int i = 0; f->choices[i]; i++) {
        if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, f->choices[i], sizeof list - strlen(list) - 1);
    }
    field_error(fe, f->name, "must be one of %s", list);
}

/* The size limit is checked on the raw text (metadata_member), not on jansson's rendering. */
static void check_metadata(const struct jfield *f, json_t *v, struct field_errors *fe)
{
    if (!json_is_object(v)) field_error(fe, f->name, "must be a JSON object");
}

bool jspec_parse(json_t *obj, const struct jfield *spec, size_t n, struct jval *vals,
                 struct field_errors *fe)
{
    memset(vals, 0, n * sizeof *vals);
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        size_t i;
        const struct jfield *f = find_field(spec, n, key, &i);
        if (!f) {
            field_error(fe, key, "is not a known field");
            continue;
        }
        vals[i].present = true;
        vals[i].json = v;
        if (json_is_null(v)) {
            vals[i].is_null = true;
            if (!f->nullable) field_error(fe, key, "must not be null");
            continue;
        }
        switch (f->kind) {
        case JK_ID:
        case JK_TEXT:
        case JK_STRING:
            check_text(f, v, &vals[i], fe);
            break;
        case JK_ENUM:
            check_enum(f, v, &vals[i], fe);
            break;
        case JK_METADATA:
            check_metadata(f, v, fe);
            break;
        case JK_ANY:
            break;
        }
    }
    return fe->n == 0;
}

bool text_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        int extra;
        unsigned min;
        if (c < 0x20 || c == 0x7f) return false;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3, min = 0x10000, c &= 0x07;
        } else {
            return false;
        }
        p++;
        for (int i = 0; i < extra; i++, p++) {
            if ((*p & 0xC0) != 0x80) return false;
            c = (c << 6) | (*p & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return false;
    }
    return true;
}

bool valid_uuid(const char *s)
{
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return s[36] == '\0';
}

/* Reads exactly n digits. */
static bool digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*s)[i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    *s += n;
    *out = v;
    return true;
}

static int64_t days_from_civil(int y, int m, int d)
{
    /* Howard Hinnant's algorithm: days since 1970-01-01 in the proleptic Gregorian calendar. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool parse_rfc3339(const char *s, int64_t *epoch_us)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0;
    if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' ||
        !digits(&s, 2, &d) || (*s != 'T' && *s != 't'))
        return false;
    s++;
    if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi) || *s++ != ':' ||
        !digits(&s, 2, &sec))
        return false;
    int64_t us = 0;
    if (*s == '.') {
        s++;
        int n = 0;
        for (; *s >= '0' && *s <= '9'; s++, n++)
            if (n < 6) us = us * 10 + (*s - '0');
        if (n == 0) return false;
        for (; n < 6; n++)
            us *= 10;
    }
    int sign = 0;
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        sign = *s++ == '+' ? 1 : -1;
        if (!digits(&s, 2, &oh) || *s++ != ':' || !digits(&s, 2, &om) || oh > 23 || om > 59)
            return false;
    } else {
        return false;
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (*s || y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59)
        return false;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    secs -= sign * (oh * 3600 + om * 60);
    /* Years 1-9999 once in UTC: an offset must not move it out (PostgreSQL has no year 0). */
    if (secs < days_from_civil(1, 1, 1) * 86400 || secs >= days_from_civil(10000, 1, 1) * 86400)
        return false;
    *epoch_us = secs * 1000000 + us;
    return true;
}

static size_t skip_ws(const char *p, size_t i, size_t n)
{
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

/* i at an opening quote; returns the index after the closing one. */
static size_t skip_string(const char *p, size_t i, size_t n)
{
    for (i++; i < n && p[i] != '"'; i++)
        if (p[i] == '\\') i++;
    return i + 1;
}

/* i at the start of a value; returns the index after it. */
static size_t skip_value(const char *p, size_t i, size_t n)
{
    if (i >= n) return n;
    if (p[i] == '"') return skip_string(p, i, n);
    if (p[i] != '{' && p[i] != '[') {
        while (i < n && !strchr(",]} \t\r\n", p[i]))
            i++;
        return i;
    }
    int depth = 0;
    for (; i < n; i++) {
        if (p[i] == '"') {
            i = skip_string(p, i, n) - 1;
        } else if (p[i] == '{' || p[i] == '[') {
            depth++;
        } else if (p[i] == '}' || p[i] == ']') {
            if (--depth == 0) return i + 1;
        }
    }
    return n;
}

/* Whether the raw (still escaped) JSON string body raw[0..n) spells the ASCII key. */
static bool key_equals(const char *raw, size_t n, const char *key)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++, k++) {
        unsigned c = (unsigned char)raw[i];
        if (c == '\\' && i + 1 < n) {
            char e = raw[++i];
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *hit = strchr(from, e);
            if (e == 'u' && i + 4 < n) {
                char hex[5] = {raw[i + 1], raw[i + 2], raw[i + 3], raw[i + 4], 0};
                c = (unsigned)strtoul(hex, NULL, 16);
                i += 4;
            } else if (hit && e) {
                c = (unsigned char)to[hit - from];
            } else {
                return false;
            }
        }
        if (!key[k] || (unsigned char)key[k] != c) return false;
    }
    return key[k] == '\0';
}

bool jspan_member(struct jspan obj, const char *key, struct jspan *out)
{
    const char *p = obj.p;
    size_t n = obj.n, klen = strlen(key);
    size_t i = skip_ws(p, 0, n);
    if (i >= n || p[i] != '{') return false;
    i = skip_ws(p, i + 1, n);
    while (i < n && p[i] == '"') {
        size_t kend = skip_string(p, i, n);
        bool match = kend - i - 2 == klen ? memcmp(p + i + 1, key, klen) == 0
                                          : key_equals(p + i + 1, kend - i - 2, key);
        i = skip_ws(p, kend, n);
        if (i >= n || p[i] != ':') return false;
        i = skip_ws(p, i + 1, n);
        size_t vend = skip_value(p, i, n);
        if (match) {
            out->p = p + i;
            out->n = vend - i;
            return true;
        }
        i = skip_ws(p, vend, n);
        if (i < n && p[i] == ',') i = skip_ws(p, i + 1, n);
    }
    return false;
}

bool jspan_next_element(struct jspan arr, size_t *pos, struct jspan *out)
{
    const char *p = arr.p;
    size_t n = arr.n, i = *pos;
    if (i == 0) {
        i = skip_ws(p, 0, n);
        if (i >= n || p[i] != '[') return false;
        i++;
    }
    i = skip_ws(p, i, n);
    if (i < n && p[i] == ',') i = skip_ws(p, i + 1, n);
    if (i >= n || p[i] == ']') return false;
    size_t end = skip_value(p, i, n);
    out->p = p + i;
    out->n = end - i;
    *pos = end;
    return true;
}

char *json_member_text(struct jspan raw, json_t *obj, const char *key, size_t *len)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return NULL;
    struct jspan s;
    if (jspan_member(raw, key, &s)) {
        char *copy = malloc(s.n + 1);
        if (!copy) abort();
        memcpy(copy, s.p, s.n);
        copy[s.n] = '\0';
        *len = s.n;
        return copy;
    }
    return json_compact(v, len); /* an escaped key: fall back to jansson's rendering */
}

/*
 * The length PostgreSQL's numeric type prints the JSON number at s[0..n) with: plain decimal
 * digits, as many fraction digits as the text had less the exponent ("1e-5" is "0.00001",
 * "1e300" is 301 digits). Exponents are clamped, so an absurd one just gives a huge length.
 */
static size_t numeric_text_len(const char *s, size_t n)
{
    size_t i = 0, sign = 0, int_digits = 0, frac_digits = 0, digits = 0;
    size_t first_nonzero = SIZE_MAX; /* among all the digits */
    if (i < n && s[i] == '-') sign = 1, i++;
    for (bool frac = false; i < n; i++) {
        if (s[i] == '.' && !frac) {
            frac = true;
            continue;
        }
        if (s[i] < '0' || s[i] > '9') break;
        if (s[i] != '0' && first_nonzero == SIZE_MAX) first_nonzero = digits;
        digits++;
        if (frac)
            frac_digits++;
        else
            int_digits++;
    }
    long long exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool neg = i < n && s[i] == '-';
        if (i < n && (s[i] == '-' || s[i] == '+')) i++;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (exp < 100000000) exp = exp * 10 + (s[i] - '0');
        if (neg) exp = -exp;
    }
    long long point = (long long)int_digits + exp; /* digits before the decimal point */
    long long scale = (long long)frac_digits - exp;
    long long whole = first_nonzero == SIZE_MAX || (long long)first_nonzero >= point
                          ? 1
                          : point - (long long)first_nonzero;
    return sign + (size_t)whole + (scale > 0 ? 1 + (size_t)scale : 0);
}

size_t json_stored_len(const char *s, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '"') {
            size_t end = skip_string(s, i, n);
            len += end - i;
            i = end - 1;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t end = skip_value(s, i, n);
            len += numeric_text_len(s + i, end - i);
            i = end - 1;
        } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            len++;
        }
    }
    return len;
}

size_t json_strip_ws(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '"') {
            size_t end = skip_string(s, i, n);
            if (end > n) end = n;
            memmove(s + o, s + i, end - i);
            o += end - i;
            i = end - 1;
        } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            s[o++] = c;
        }
    }
    if (o < n) s[o] = '\0';
    return o;
}

void buf_json_compact(struct buf *b, const char *s)
{
    size_t n = strlen(s), start = b->len;
    buf_add(b, s, n);
    b->len = start + json_strip_ws(b->data + start, n);
}

char *metadata_member(struct jspan raw, json_t *obj, const char *field, struct field_errors *fe)
{
    size_t len;
    char *text = json_member_text(raw, obj, "metadata", &len);
    if (text && json_stored_len(text, len) > MAX_METADATA_BYTES) {
        field_error(fe, field,
                    "must be at most %d bytes as stored (compact JSON, numbers in plain "
                    "decimal digits as the database prints them)",
                    MAX_METADATA_BYTES);
        free(text);
        return NULL;
    }
    if (text) json_strip_ws(text, len);
    return text;
}

bool metadata_fits(const char *stored)
{
    return json_stored_len(stored, strlen(stored)) <= MAX_METADATA_BYTES;
}
