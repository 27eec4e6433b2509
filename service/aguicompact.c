/* @ag-ui/client's compactEvents: each message and tool call sent whole (its deltas merged) with
 * what arrived while it streamed after it, and state events reduced to one snapshot. */
#include <stdlib.h>
#include <string.h>

#include "agui.h"
#include "aguiview.h"
#include "buf.h"
#include "jsonpatch.h"

/* A message or tool call that is streaming: its START, merged deltas, END, and the events that
 * arrived in between. */
struct pending {
    char *id;
    bool tool;
    json_t *start, *end, *others; /* others: array of [seq, event] */
    struct buf delta;
    bool has_delta;
    json_t *meta;  /* the deltas' metadata, merged */
    long long seq; /* of the last event merged in */
    struct pending *next;
};

struct aguicompact {
    aguiview_out_fn out;
    void *cls;
    struct pending *head; /* in order of first appearance */
    json_t *state;        /* array of [seq, STATE_* event] */
};

struct aguicompact *aguicompact_new(aguiview_out_fn out, void *cls)
{
    struct aguicompact *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->out = out;
    c->cls = cls;
    c->state = json_array();
    return c;
}

static const char *str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static struct pending *find(struct aguicompact *c, const char *id, bool tool, bool create)
{
    struct pending **p = &c->head;
    for (; *p; p = &(*p)->next)
        if ((*p)->tool == tool && !strcmp((*p)->id, id)) return *p;
    if (!create) return NULL;
    *p = calloc(1, sizeof **p);
    if (!*p) abort();
    (*p)->id = strdup(id);
    (*p)->tool = tool;
    (*p)->others = json_array();
    return *p;
}

static void emit(struct aguicompact *c, long long seq, json_t *ev)
{
    c->out(c->cls, seq, ev);
    json_decref(ev);
}

/* Sends one pending message or tool call whole and forgets it. */
static void flush(struct aguicompact *c, struct pending *p)
{
    struct pending **pp = &c->head;
    while (*pp != p)
        pp = &(*pp)->next;
    *pp = p->next;
    if (p->start) emit(c, p->seq, json_incref(p->start));
    if (p->has_delta) {
        buf_putc(&p->delta, '\0');
        json_t *d =
            json_pack("{s:s,s:s,s:s}", "type", p->tool ? "TOOL_CALL_ARGS" : "TEXT_MESSAGE_CONTENT",
                      p->tool ? "toolCallId" : "messageId", p->id, "delta", p->delta.data);
        if (p->meta) json_object_set(d, "metadata", p->meta);
        emit(c, p->seq, d);
    }
    if (p->end) emit(c, p->seq, json_incref(p->end));
    size_t i;
    json_t *o;
    json_array_foreach(p->others, i, o)
    {
        emit(c, json_integer_value(json_array_get(o, 0)), json_incref(json_array_get(o, 1)));
    }
    json_decref(p->start);
    json_decref(p->end);
    json_decref(p->others);
    json_decref(p->meta);
    buf_free(&p->delta);
    free(p->id);
    free(p);
}

/* The state events so far: unchanged when none is a snapshot, else one snapshot of the last
 * snapshot with the deltas after it applied. */
static void flush_state(struct aguicompact *c)
{
    size_t n = json_array_size(c->state), last = n;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(str(json_array_get(json_array_get(c->state, i), 1), "type"), "STATE_SNAPSHOT"))
            last = i;
    if (last == n) {
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(c->state, i);
            emit(c, json_integer_value(json_array_get(e, 0)), json_incref(json_array_get(e, 1)));
        }
    } else if (n > 0) {
        json_t *doc = json_deep_copy(
            json_object_get(json_array_get(json_array_get(c->state, last), 1), "snapshot"));
        char why[160];
        for (size_t i = last + 1; i < n; i++) {
            json_t *d = json_object_get(json_array_get(json_array_get(c->state, i), 1), "delta");
            jsonpatch_apply(&doc, d, why, sizeof why); /* a delta that fails is skipped */
        }
        long long seq = json_integer_value(json_array_get(json_array_get(c->state, n - 1), 0));
        emit(c, seq,
             json_pack("{s:s,s:o}", "type", "STATE_SNAPSHOT", "snapshot", doc ? doc : json_null()));
    }
    json_array_clear(c->state);
}

/* The first pending message (else tool call) that started and has not ended. */
static struct pending *open_stream(struct aguicompact *c)
{
    for (int tool = 0; tool < 2; tool++)
        for (struct pending *p = c->head; p; p = p->next)
            if (p->tool == tool && p->start && !p->end) return p;
    return NULL;
}

void aguicompact_feed(struct aguicompact *c, long long seq, json_t *ev)
{
    enum agui_type t = agui_type_parse(str(ev, "type") ? str(ev, "type") : "");
    bool tool = t == AG_TOOL_START || t == AG_TOOL_ARGS || t == AG_TOOL_END;
    bool text = t == AG_TEXT_START || t == AG_TEXT_CONTENT || t == AG_TEXT_END;
    if (tool || text) {
        struct pending *p = find(c, str(ev, tool ? "toolCallId" : "messageId"), tool, true);
        p->seq = seq;
        if (t == AG_TEXT_START || t == AG_TOOL_START) {
            json_decref(p->start);
            p->start = json_incref(ev);
        } else if (t == AG_TEXT_CONTENT || t == AG_TOOL_ARGS) {
            buf_puts(&p->delta, str(ev, "delta"));
            p->has_delta = true;
            json_t *meta = json_object_get(ev, "metadata");
            if (json_is_object(meta)) {
                if (!p->meta) p->meta = json_object();
                json_object_update(p->meta, meta);
            }
        } else {
            p->end = json_incref(ev);
            flush(c, p);
        }
        return;
    }
    if (t == AG_RUN_STARTED || t == AG_RUN_FINISHED || t == AG_RUN_ERROR) {
        flush_state(c);
        emit(c, seq, json_incref(ev));
        return;
    }
    if (t == AG_STATE_SNAPSHOT || t == AG_STATE_DELTA) {
        json_array_append_new(c->state, json_pack("[I,O]", (json_int_t)seq, ev));
        return;
    }
    struct pending *p = open_stream(c);
    if (p)
        json_array_append_new(p->others, json_pack("[I,O]", (json_int_t)seq, ev));
    else
        emit(c, seq, json_incref(ev));
}

void aguicompact_finish(struct aguicompact *c)
{
    for (int tool = 0; tool < 2; tool++) {
        struct pending *p = c->head;
        while (p) {
            struct pending *next = p->next;
            if (p->tool == tool) flush(c, p);
            p = next;
        }
    }
    flush_state(c);
    json_decref(c->state);
    free(c);
}
