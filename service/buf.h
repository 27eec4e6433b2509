/* Growable byte buffer and a small JSON writer used to render every response. */
#ifndef CONVSTORE_BUF_H
#define CONVSTORE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A buffer owns its bytes; buf_free() releases them. Always NUL-terminated when len > 0. */
struct buf {
    char *data;
    size_t len;
    size_t cap;
};

void buf_free(struct buf *b);
/* Transfers ownership of the bytes to the caller (free() them); leaves b empty. */
char *buf_take(struct buf *b);
void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const char *s, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* JSON pieces. The writer does not track commas: callers write them. */
void buf_json_str(struct buf *b, const char *s);            /* "s" escaped; NULL -> null */
void buf_json_strn(struct buf *b, const char *s, size_t n); /* n bytes of valid UTF-8 */
void buf_json_key(struct buf *b, const char *key);          /* "key": (key needs no escaping) */
void buf_json_int(struct buf *b, int64_t v);
void buf_json_bool(struct buf *b, bool v);
/* RFC 3339 UTC with microseconds from microseconds since the Unix epoch. */
void buf_json_time(struct buf *b, int64_t epoch_us);
/* The same time without the quotes, as text for a query parameter (27 characters + NUL). */
#define TIME_TEXT_LEN 27
void time_text(int64_t epoch_us, char out[TIME_TEXT_LEN + 1]);

#endif
