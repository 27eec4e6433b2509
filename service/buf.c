/* Growable byte buffer and a small JSON writer used to render every response. */
#include "buf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

void buf_json_int(struct buf *b, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    buf_add(b, tmp, (size_t)n);
}

void buf_json_bool(struct buf *b, bool v)
{
    if (v)
        buf_add(b, "true", 4);
    else
        buf_add(b, "false", 5);
}

void buf_json_time(struct buf *b, int64_t epoch_us)
{
    int64_t secs = epoch_us / 1000000, us = epoch_us % 1000000;
    if (us < 0) {
        us += 1000000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp, "\"%04d-%02d-%02dT%02d:%02d:%02d.%06dZ\"", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)us);
    buf_add(b, tmp, (size_t)n);
}
