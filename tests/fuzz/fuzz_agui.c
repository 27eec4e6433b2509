/* libFuzzer target: a JSON array of AG-UI events through the pure AG-UI logic as an ingest and a
 * replay run it: the schema check, the chunk expansion and the order checks on one context, the
 * client's apply step on a view, compactEvents, and at the end the lead-in applied to a fresh
 * view. compactEvents never sends more events than it was fed. */
#include <stdint.h>
#include <stdlib.h>

#include "agui.h"
#include "aguiview.h"

static void count(void *cls, long long seq, json_t *ev)
{
    (void)seq;
    (void)ev;
    (*(size_t *)cls)++;
}

/* Expands and verifies ev on ctx as an ingest does; whether every event it makes passed.
 * *opened: a RUN_STARTED of this input opened the run (the ingest's fresh_run). */
static bool order_ok(json_t *ctx, enum agui_type t, json_t *ev, bool *opened)
{
    struct agui_error err;
    json_t *list;
    bool ok = agui_expand(ctx, t, ev, &list, &err);
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x)
    {
        if (!ok) break;
        enum agui_type xt = agui_type_parse(json_string_value(json_object_get(x, "type")));
        char abandoned[129];
        ok = agui_verify(ctx, xt, x, *opened, abandoned, &err);
        if (ok && xt == AG_RUN_STARTED) *opened = true;
        if (ok && xt == AG_RUN_FINISHED && agui_ctx_run(ctx)) abort();
    }
    json_decref(list);
    return ok;
}

/* Builds a fresh view from the lead-in of v (when a run is open there). */
static void resume(const struct aguiview *v)
{
    if (!aguiview_in_run(v)) return;
    json_t *lead = aguiview_lead_in(v, "t1");
    struct aguiview fresh;
    aguiview_init(&fresh);
    size_t i;
    json_t *ev;
    json_array_foreach(lead, i, ev)
    {
        aguiview_apply(&fresh, ev);
    }
    aguiview_free(&fresh);
    json_decref(lead);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size,
                             JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, NULL);
    if (!json_is_array(doc)) {
        json_decref(doc);
        return 0;
    }
    json_t *ctx = agui_ctx_new();
    struct aguiview v;
    aguiview_init(&v);
    size_t fed = 0, sent = 0;
    struct aguicompact *c = aguicompact_new(count, &sent);
    bool opened = false;
    size_t i;
    json_t *ev;
    json_array_foreach(doc, i, ev)
    {
        const char *type = json_string_value(json_object_get(ev, "type"));
        if (!json_is_object(ev) || !type) continue;
        enum agui_type t = agui_type_parse(type);
        struct agui_error err;
        if (!agui_event_check(ev, t, &err) || !order_ok(ctx, t, ev, &opened)) continue;
        aguiview_apply(&v, ev);
        aguicompact_feed(c, (long long)++fed, ev);
    }
    aguicompact_finish(c);
    if (sent > fed) abort();
    resume(&v);
    aguiview_free(&v);
    json_decref(ctx);
    json_decref(doc);
    return 0;
}
