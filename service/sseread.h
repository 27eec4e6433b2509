/* Reading a text/event-stream request body: frames split at blank lines, their data lines
 * joined, as @ag-ui/client reads a stream (LF line ends only). */
#ifndef CONVSTORE_SSEREAD_H
#define CONVSTORE_SSEREAD_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum sse_read {
    SSE_OK,
    SSE_CRLF,    /* a CR: the stock client splits frames at LF LF only */
    SSE_GARBAGE, /* a line that is not data:, id:, event:, retry: or a : comment */
    SSE_TOO_BIG  /* a frame longer than the limit */
};

struct sse_reader {
    struct buf pending; /* bytes of the frame not complete yet */
    size_t max_frame;
};

/* Called with each complete frame's data (its data lines joined with LF; frames without data,
 * such as pings, are skipped). */
typedef void (*sse_frame_fn)(void *cls, const char *data, size_t len);

/* Feeds the next bytes of the body. Stops at the first problem: the frames before it were
 * delivered, the rest of the input is not looked at. */
enum sse_read sse_read_feed(struct sse_reader *r, const char *data, size_t len, sse_frame_fn fn,
                            void *cls);
/* The body ended: a last frame without its blank line counts too. */
enum sse_read sse_read_finish(struct sse_reader *r, sse_frame_fn fn, void *cls);
void sse_read_free(struct sse_reader *r);
/* What a problem is, in words. */
const char *sse_read_why(enum sse_read e);

#endif
