/* Reading a text/event-stream request body: frames split at blank lines, their data lines
 * joined, as @ag-ui/client reads a stream (LF line ends only). */
#include "sseread.h"

#include <string.h>

static bool starts(const char *line, size_t n, const char *field)
{
    size_t f = strlen(field);
    return n >= f && !memcmp(line, field, f);
}

/* One frame (no blank line inside): its data lines joined into data, or a problem. */
static enum sse_read parse_frame(const char *p, size_t n, struct buf *data, bool *has_data)
{
    *has_data = false;
    data->len = 0;
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t len = nl ? (size_t)(nl - p) : n;
        if (starts(p, len, "data:")) {
            size_t skip = len > 5 && p[5] == ' ' ? 6 : 5;
            if (*has_data) buf_putc(data, '\n');
            buf_add(data, p + skip, len - skip);
            *has_data = true;
        } else if (!(len > 0 && p[0] == ':') && !starts(p, len, "id:") &&
                   !starts(p, len, "event:") && !starts(p, len, "retry:")) {
            return SSE_GARBAGE;
        }
        p += len + (nl ? 1 : 0);
        n -= len + (nl ? 1 : 0);
    }
    return SSE_OK;
}

/* Delivers pending[0..end) as one frame (when it has data). */
static enum sse_read deliver(struct sse_reader *r, size_t end, sse_frame_fn fn, void *cls)
{
    struct buf data = {0};
    bool has_data;
    enum sse_read e = parse_frame(r->pending.data, end, &data, &has_data);
    if (e == SSE_OK && has_data) fn(cls, data.data ? data.data : "", data.len);
    buf_free(&data);
    return e;
}

enum sse_read sse_read_feed(struct sse_reader *r, const char *data, size_t len, sse_frame_fn fn,
                            void *cls)
{
    if (memchr(data, '\r', len)) {
        /* Frames before the CR still count. */
        size_t upto = (size_t)((const char *)memchr(data, '\r', len) - data);
        enum sse_read e = sse_read_feed(r, data, upto, fn, cls);
        return e == SSE_OK ? SSE_CRLF : e;
    }
    size_t scanned = r->pending.len ? r->pending.len - 1 : 0;
    buf_add(&r->pending, data, len);
    for (;;) {
        char *p = r->pending.data;
        size_t n = r->pending.len, i = scanned;
        while (i + 1 < n && !(p[i] == '\n' && p[i + 1] == '\n'))
            i++;
        if (i + 1 >= n) break;
        enum sse_read e = i > 0 ? deliver(r, i, fn, cls) : SSE_OK;
        if (e != SSE_OK) return e;
        size_t rest = n - (i + 2);
        memmove(r->pending.data, p + i + 2, rest);
        r->pending.len = rest;
        scanned = 0;
    }
    return r->pending.len > r->max_frame ? SSE_TOO_BIG : SSE_OK;
}

enum sse_read sse_read_finish(struct sse_reader *r, sse_frame_fn fn, void *cls)
{
    size_t n = r->pending.len;
    while (n > 0 && r->pending.data[n - 1] == '\n')
        n--;
    enum sse_read e = n > 0 ? deliver(r, n, fn, cls) : SSE_OK;
    r->pending.len = 0;
    return e;
}

void sse_read_free(struct sse_reader *r)
{
    buf_free(&r->pending);
}

const char *sse_read_why(enum sse_read e)
{
    switch (e) {
    case SSE_CRLF:
        return "has a CR: frames must end lines with LF only (as @ag-ui/encoder does)";
    case SSE_GARBAGE:
        return "has a line that is not data:, id:, event:, retry: or a : comment";
    case SSE_TOO_BIG:
        return "is longer than an event may be";
    default:
        return "is fine";
    }
}
