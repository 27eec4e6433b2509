/* Server-Sent Events: frames, the Last-Event-ID cursor, and the event filters a stream applies. */
#include "sse.h"

#include <string.h>

void sse_frame(struct buf *b, long long seq, const char *type, const char *json, size_t len)
{
    buf_printf(b, "id: %lld\nevent: %s\ndata: ", seq, type);
    size_t start = b->len;
    buf_add(b, json, len);
    for (size_t i = start; i < b->len; i++)
        if (b->data[i] == '\n' || b->data[i] == '\r') b->data[i] = ' ';
    buf_puts(b, "\n\n");
}

void sse_data_frame(struct buf *b, long long seq, const char *text, size_t len)
{
    buf_printf(b, "id: %lld\ndata: ", seq);
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n')
            buf_puts(b, "\ndata: ");
        else if (text[i] != '\r')
            buf_putc(b, text[i]);
    }
    buf_puts(b, "\n\n");
}

bool sse_parse_seq(const char *s, long long *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 18) return false;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool event_type_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == ':' || c == '/' || c == '-';
        if (!ok || n >= SSE_MAX_TYPE_CHARS) return false;
    }
    return n > 0;
}

bool sse_filter_add_type(struct sse_filter *f, const char *value)
{
    size_t n = strlen(value);
    bool prefix = n >= 2 && !strcmp(value + n - 2, ".*");
    if (prefix) n--; /* keep the dot: "run.*" matches what starts with "run." */
    if (f->ntypes >= SSE_MAX_TYPES || n == 0 || n > SSE_MAX_TYPE_CHARS) return false;
    memcpy(f->types[f->ntypes], value, n);
    f->types[f->ntypes][n] = '\0';
    if (!event_type_ok(f->types[f->ntypes])) return false;
    f->prefix[f->ntypes++] = prefix;
    return true;
}

static bool same(const char *want, const char *have)
{
    return !want || (have && !strcmp(want, have));
}

bool sse_filter_match(const struct sse_filter *f, const char *type, const char *run_id,
                      const char *step_id, const char *message_id)
{
    if (!same(f->run_id, run_id) || !same(f->step_id, step_id) || !same(f->message_id, message_id))
        return false;
    for (int i = 0; i < f->ntypes; i++) {
        size_t n = strlen(f->types[i]);
        if (f->prefix[i] ? !strncmp(type, f->types[i], n) : !strcmp(type, f->types[i])) return true;
    }
    return f->ntypes == 0;
}
