/* Growable byte buffer and a small JSON writer used to render every response. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *buf_take(struct buf *b)
{
    char *d = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void buf_reserve(struct buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) abort(); /* out of memory: nothing sensible to do in a request path */
    b->data = d;
    b->cap = cap;
}

void buf_add(struct buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_putc(struct buf *b, char c)
{
    buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    buf_reserve(b, 64);
    for (;;) {
        size_t room = b->cap - b->len;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data + b->len, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->data[b->len] = '\0';
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        buf_reserve(b, (size_t)n);
    }
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0 when it is invalid. */
static size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
    unsigned c = p[0], min;
    size_t len;
    if ((c & 0xE0) == 0xC0)
        len = 2, min = 0x80, c &= 0x1F;
    else if ((c & 0xF0) == 0xE0)
        len = 3, min = 0x800, c &= 0x0F;
    else if ((c & 0xF8) == 0xF0)
        len = 4, min = 0x10000, c &= 0x07;
    else
        return 0;
    if (len > avail) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    return len;
}

void buf_json_strn(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    buf_reserve(b, n + 2);
    buf_putc(b, '"');
    size_t run = 0; /* bytes copied verbatim in one go */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            size_t len = utf8_seq_len((const unsigned char *)s + i, n - i);
            if (len) {
                run += len;
                i += len - 1;
                continue;
            }
            /* Never emit invalid UTF-8: replace the stray byte. */
            buf_add(b, s + i - run, run);
            run = 0;
            buf_add(b, "\\ufffd", 6);
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            run++;
            continue;
        }
        buf_add(b, s + i - run, run);
        run = 0;
        switch (c) {
        case '"':
            buf_add(b, "\\\"", 2);
            break;
        case '\\':
            buf_add(b, "\\\\", 2);
            break;
        case '\n':
            buf_add(b, "\\n", 2);
            break;
        case '\r':
            buf_add(b, "\\r", 2);
            break;
        case '\t':
            buf_add(b, "\\t", 2);
            break;
        default: {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_add(b, esc, 6);
        }
        }
    }
    buf_add(b, s + n - run, run);
    buf_putc(b, '"');
}

void buf_json_str(struct buf *b, const char *s)
{
    if (!s)
        buf_add(b, "null", 4);
    else
        buf_json_strn(b, s, strlen(s));
}

void buf_json_key(struct buf *b, const char *key)
{
    buf_putc(b, '"');
    buf_puts(b, key);
    buf_add(b, "\":", 2);
}

/* Writes v in decimal at p; returns the number of characters. */
static size_t put_int(char *p, int64_t v)
{
    char tmp[20];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t n = 0, out = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) p[out++] = '-';
    while (n)
        p[out++] = tmp[--n];
    return out;
}

void buf_json_int(struct buf *b, int64_t v)
{
    buf_reserve(b, 21);
    b->len += put_int(b->data + b->len, v);
    b->data[b->len] = '\0';
}

void buf_json_bool(struct buf *b, bool v)
{
    if (v)
        buf_add(b, "true", 4);
    else
        buf_add(b, "false", 5);
}

/* Writes n (>= 0) as exactly `width` digits at p. */
static void put_digits(char *p, int64_t n, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + n % 10);
        n /= 10;
    }
}

/* Howard Hinnant's civil_from_days: the proleptic Gregorian date of a day count since 1970-01-01.
 * Pure arithmetic: gmtime_r takes glibc's time-zone lock on every call. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

void buf_json_time(struct buf *b, int64_t epoch_us)
{
    int64_t secs = epoch_us / 1000000, us = epoch_us % 1000000;
    if (us < 0) {
        us += 1000000;
        secs -= 1;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days -= 1;
    }
    int64_t year;
    int month, day;
    civil_from_days(days, &year, &month, &day);
    if (year < 0 || year > 9999) year = year < 0 ? 0 : 9999; /* outside RFC 3339: clamp */
    /* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" with quotes: 29 bytes. */
    buf_reserve(b, 29);
    char *p = b->data + b->len;
    p[0] = '"';
    put_digits(p + 1, year, 4);
    p[5] = '-';
    put_digits(p + 6, month, 2);
    p[8] = '-';
    put_digits(p + 9, day, 2);
    p[11] = 'T';
    put_digits(p + 12, sod / 3600, 2);
    p[14] = ':';
    put_digits(p + 15, sod / 60 % 60, 2);
    p[17] = ':';
    put_digits(p + 18, sod % 60, 2);
    p[20] = '.';
    put_digits(p + 21, us, 6);
    p[27] = 'Z';
    p[28] = '"';
    b->len += 29;
    b->data[b->len] = '\0';
}

void time_text(int64_t epoch_us, char out[TIME_TEXT_LEN + 1])
{
    struct buf b = {0};
    buf_json_time(&b, epoch_us);
    memcpy(out, b.data + 1, TIME_TEXT_LEN);
    out[TIME_TEXT_LEN] = '\0';
    buf_free(&b);
}
