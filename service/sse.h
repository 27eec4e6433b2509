/* Server-Sent Events: frames, the Last-Event-ID cursor, and the event filters a stream applies. */
#ifndef CONVSTORE_SSE_H
#define CONVSTORE_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define SSE_MAX_TYPES 32
#define SSE_MAX_TYPE_CHARS 128

/*
 * Appends one event frame: "id: <seq>\nevent: <type>\ndata: <json>\n\n". The JSON must be one
 * line: a CR or LF in it (whitespace between tokens of the client's own JSON text; inside a JSON
 * string they are always escaped) is written as a space.
 */
void sse_frame(struct buf *b, long long seq, const char *type, const char *json, size_t len);

/*
 * Appends a frame of data only, as AG-UI clients read them: "id: <seq>\ndata: <line>\n...\n".
 * The text keeps its bytes: each line of it (split at LF; a CR is dropped) is its own data line,
 * which a reader joins with LF again.
 */
void sse_data_frame(struct buf *b, long long seq, const char *text, size_t len);

/* A Last-Event-ID (or after_seq) value: 0-18 digits and nothing else. */
bool sse_parse_seq(const char *s, long long *out);

/* Which events a stream or list asks for; an empty field matches everything. */
struct sse_filter {
    int ntypes;
    char types[SSE_MAX_TYPES][SSE_MAX_TYPE_CHARS + 1];
    bool prefix[SSE_MAX_TYPES]; /* types[i] ends with '.' and matches what starts with it */
    const char *run_id, *step_id, *message_id;
};

/* Adds a `type` query value ("run.started" or the prefix form "run.*"); false when invalid. */
bool sse_filter_add_type(struct sse_filter *f, const char *value);
bool sse_filter_match(const struct sse_filter *f, const char *type, const char *run_id,
                      const char *step_id, const char *message_id);
/* Whether s is a valid event type: 1-128 characters of [A-Za-z0-9_.:/-]. */
bool event_type_ok(const char *s);

#endif
