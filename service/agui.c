/* The order @ag-ui/client enforces on a stream, and its expansion of *_CHUNK events, kept
 * across requests in a small JSON context stored with the thread. */
#include "agui.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * The context: {"phase": "none" | "open" | "finished" | "errored", "run": <id of the last run>,
 * "text": {id: 1}, "rmsg": {id: 1}, "rspan": {id: 1}, "tools": {toolCallId: messageId},
 * "steps": {stepName: stepId}, "lanes": {subagentRunId or "": {kind, id, role?, name?, parent?,
 * sub?}}}: the open
 * entities of the open run, and the pending chunk stream.
 */
json_t *agui_ctx_new(void)
{
    return json_pack("{s:s}", "phase", "none");
}

static bool fail(struct agui_error *err, const char *field, const char *fmt, ...)
{
    snprintf(err->field, sizeof err->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->why, sizeof err->why, fmt, ap);
    va_end(ap);
    return false;
}

static const char *str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* The object member `key` of ctx, created empty when absent (borrowed). */
static json_t *set_of(json_t *ctx, const char *key)
{
    json_t *s = json_object_get(ctx, key);
    if (!s) {
        s = json_object();
        json_object_set_new(ctx, key, s);
    }
    return s;
}

static const char *phase(json_t *ctx)
{
    const char *p = str(ctx, "phase");
    return p ? p : "none";
}

const char *agui_ctx_run(json_t *ctx)
{
    return strcmp(phase(ctx), "open") ? NULL : str(ctx, "run");
}

bool agui_ctx_streaming(json_t *ctx, const char *message_id)
{
    return json_object_get(set_of(ctx, "text"), message_id) ||
           json_object_get(set_of(ctx, "rmsg"), message_id);
}

const char *agui_ctx_tool_message(json_t *ctx, const char *tool_call_id)
{
    return str(set_of(ctx, "tools"), tool_call_id);
}

void agui_ctx_set_tool_message(json_t *ctx, const char *tool_call_id, const char *message_id)
{
    json_object_set_new(set_of(ctx, "tools"), tool_call_id, json_string(message_id));
}

const char *agui_ctx_step(json_t *ctx, const char *name)
{
    return str(set_of(ctx, "steps"), name);
}

void agui_ctx_set_step(json_t *ctx, const char *name, const char *step_id)
{
    json_object_set_new(set_of(ctx, "steps"), name, json_string(step_id));
}

/* --- chunk expansion -------------------------------------------------------------------- */

/* The subagent an event belongs to ("" for the agent itself): each has its own chunk stream. */
static const char *lane_key(json_t *ev)
{
    const char *sub = str(ev, "subagentRunId");
    return sub ? sub : "";
}

/* Appends the END that closes the pending chunk stream of subagent key, if any, and forgets it. */
static void close_lane(json_t *ctx, const char *key, json_t *out)
{
    json_t *lanes = set_of(ctx, "lanes"), *lane = json_object_get(lanes, key);
    if (!lane) return;
    const char *kind = str(lane, "kind"), *id = str(lane, "id");
    json_t *end = !strcmp(kind, "text")
                      ? json_pack("{s:s,s:s}", "type", "TEXT_MESSAGE_END", "messageId", id)
                  : !strcmp(kind, "tool")
                      ? json_pack("{s:s,s:s}", "type", "TOOL_CALL_END", "toolCallId", id)
                      : json_pack("{s:s,s:s}", "type", "REASONING_MESSAGE_END", "messageId", id);
    if (key[0]) json_object_set_new(end, "subagentRunId", json_string(key));
    json_array_append_new(out, end);
    json_object_del(lanes, key);
}

static void close_all_lanes(json_t *ctx, json_t *out)
{
    const char *key;
    json_t *lane;
    void *tmp;
    json_object_foreach_safe(set_of(ctx, "lanes"), tmp, key, lane)
    {
        close_lane(ctx, key, out);
    }
}

/* Which pending chunk streams a non-chunk event closes first: none, its subagent's, or all. */
enum closes { CLOSES_NONE, CLOSES_OWN, CLOSES_ALL };
static enum closes closes_lane(enum agui_type t)
{
    switch (t) {
    case AG_RAW:
    case AG_ACTIVITY_SNAPSHOT:
    case AG_ACTIVITY_DELTA:
    case AG_REASONING_ENCRYPTED:
    case AG_SUBAGENT_STARTED:
    case AG_UNKNOWN:
        return CLOSES_NONE;
    case AG_RUN_STARTED:
    case AG_RUN_FINISHED:
    case AG_RUN_ERROR:
    case AG_MESSAGES_SNAPSHOT:
        return CLOSES_ALL;
    default: /* SUBAGENT_FINISHED and SUBAGENT_ERROR close the subagent's own */
        return CLOSES_OWN;
    }
}

/* Whether member key of chunk c, when present, equals the lane's. */
static bool agrees(json_t *lane, json_t *c, const char *key, const char *lane_key)
{
    const char *v = str(c, key);
    const char *l = str(lane, lane_key);
    return !v || (l && !strcmp(v, l));
}

struct chunk_kind {
    const char *kind, *id_key, *start, *content, *delta_key;
};
static const struct chunk_kind chunk_kinds[] = {
    {"text", "messageId", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "delta"},
    {"tool", "toolCallId", "TOOL_CALL_START", "TOOL_CALL_ARGS", "delta"},
    {"reasoning", "messageId", "REASONING_MESSAGE_START", "REASONING_MESSAGE_CONTENT", "delta"},
};

/* The START a first chunk opens its stream with, and the lane it records. */
static json_t *chunk_start(const struct chunk_kind *k, json_t *c, const char *id, json_t **lane)
{
    json_t *start = json_pack("{s:s,s:s}", "type", k->start, k->id_key, id);
    *lane = json_pack("{s:s,s:s}", "kind", k->kind, "id", id);
    if (!strcmp(k->kind, "text")) {
        const char *role = str(c, "role");
        json_object_set_new(start, "role", json_string(role ? role : "assistant"));
        json_object_set_new(*lane, "role", json_string(role ? role : "assistant"));
        if (str(c, "name")) {
            json_object_set(start, "name", json_object_get(c, "name"));
            json_object_set(*lane, "name", json_object_get(c, "name"));
        }
    } else if (!strcmp(k->kind, "tool")) {
        json_object_set(start, "toolCallName", json_object_get(c, "toolCallName"));
        json_object_set(*lane, "name", json_object_get(c, "toolCallName"));
        if (str(c, "parentMessageId")) {
            json_object_set(start, "parentMessageId", json_object_get(c, "parentMessageId"));
            json_object_set(*lane, "parent", json_object_get(c, "parentMessageId"));
        }
    } else {
        json_object_set_new(start, "role", json_string("reasoning"));
    }
    return start;
}

static bool expand_chunk(json_t *ctx, const struct chunk_kind *k, json_t *c, json_t *out,
                         struct agui_error *err)
{
    const char *key = lane_key(c);
    json_t *lane = json_object_get(set_of(ctx, "lanes"), key);
    const char *id = str(c, k->id_key);
    if (lane && strcmp(str(lane, "kind"), k->kind) == 0 && agrees(lane, c, k->id_key, "id")) {
        bool text = !strcmp(k->kind, "text"), tool = !strcmp(k->kind, "tool");
        if ((text && (!agrees(lane, c, "role", "role") || !agrees(lane, c, "name", "name"))) ||
            (tool && (!agrees(lane, c, "toolCallName", "name") ||
                      !agrees(lane, c, "parentMessageId", "parent"))))
            return fail(err, "",
                        "a chunk continuing a stream must repeat its role, name and "
                        "parent or leave them out");
        id = str(lane, "id");
    } else {
        close_lane(ctx, key, out);
        if (!id) return fail(err, k->id_key, "is required on the first chunk of a stream");
        if (!strcmp(k->kind, "tool") && !str(c, "toolCallName"))
            return fail(err, "toolCallName", "is required on the first chunk of a stream");
        json_t *new_lane, *start = chunk_start(k, c, id, &new_lane);
        if (json_is_object(json_object_get(c, "metadata")))
            json_object_set(start, "metadata", json_object_get(c, "metadata"));
        if (key[0]) {
            json_object_set_new(start, "subagentRunId", json_string(key));
            json_object_set_new(new_lane, "sub", json_string(key));
        }
        json_array_append_new(out, start);
        json_object_set_new(set_of(ctx, "lanes"), key, new_lane);
    }
    if (json_object_get(c, k->delta_key) || json_object_get(c, "rawEvent")) {
        const char *d = str(c, k->delta_key);
        json_t *content =
            json_pack("{s:s,s:s,s:s}", "type", k->content, k->id_key, id, "delta", d ? d : "");
        if (json_is_object(json_object_get(c, "metadata")))
            json_object_set(content, "metadata", json_object_get(c, "metadata"));
        if (key[0]) json_object_set_new(content, "subagentRunId", json_string(key));
        json_array_append_new(out, content);
    }
    return true;
}

bool agui_expand(json_t *ctx, enum agui_type t, json_t *ev, json_t **out, struct agui_error *err)
{
    *out = json_array();
    if (t == AG_TEXT_CHUNK) return expand_chunk(ctx, &chunk_kinds[0], ev, *out, err);
    if (t == AG_TOOL_CHUNK) return expand_chunk(ctx, &chunk_kinds[1], ev, *out, err);
    if (t == AG_RMSG_CHUNK) return expand_chunk(ctx, &chunk_kinds[2], ev, *out, err);
    enum closes closes = closes_lane(t);
    if (closes == CLOSES_ALL) close_all_lanes(ctx, *out);
    if (closes == CLOSES_OWN) close_lane(ctx, lane_key(ev), *out);
    json_array_append(*out, ev);
    return true;
}

/* --- verification ----------------------------------------------------------------------- */

/* The first open entry of set `key`, or NULL. */
static const char *first_open(json_t *ctx, const char *key)
{
    void *it = json_object_iter(set_of(ctx, key));
    return it ? json_object_iter_key(it) : NULL;
}

/* Opens (open) or closes id in set `key`; false when it already is / is not open. */
static bool toggle(json_t *ctx, const char *key, const char *id, bool open, json_t *value)
{
    json_t *set = set_of(ctx, key);
    bool present = json_object_get(set, id) != NULL;
    if (open == present) {
        json_decref(value);
        return false;
    }
    if (open)
        json_object_set_new(set, id, value);
    else
        json_object_del(set, id);
    return true;
}

static void reset_run(json_t *ctx)
{
    static const char *const sets[] = {"text", "rmsg", "rspan", "tools", "steps", "lanes"};
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
        json_object_del(ctx, sets[i]);
}

static bool verify_run_event(json_t *ctx, enum agui_type t, json_t *ev, bool fresh_run,
                             char abandoned[129], struct agui_error *err)
{
    const char *p = phase(ctx);
    if (t == AG_RUN_ERROR) {
        if (!strcmp(p, "errored"))
            return fail(err, "type",
                        "the run has already errored with RUN_ERROR: start a new "
                        "run with RUN_STARTED");
        reset_run(ctx);
        json_object_set_new(ctx, "phase", json_string("errored"));
        return true;
    }
    if (t == AG_RUN_STARTED) {
        if (!strcmp(p, "open") && fresh_run)
            return fail(err, "type",
                        "a run (%s) is still open: finish it with RUN_FINISHED or "
                        "RUN_ERROR first",
                        str(ctx, "run"));
        if (!strcmp(p, "open")) snprintf(abandoned, 129, "%s", str(ctx, "run"));
        reset_run(ctx);
        json_object_set(ctx, "run", json_object_get(ev, "runId"));
        json_object_set_new(ctx, "phase", json_string("open"));
        return true;
    }
    /* RUN_FINISHED */
    static const struct {
        const char *set, *what;
    } open_sets[] = {{"steps", "steps"},
                     {"text", "text messages"},
                     {"rmsg", "reasoning messages"},
                     {"rspan", "reasoning"},
                     {"tools", "tool calls"}};
    for (size_t i = 0; i < sizeof open_sets / sizeof *open_sets; i++) {
        const char *id = first_open(ctx, open_sets[i].set);
        if (id)
            return fail(err, "type", "cannot finish the run while %s are still active: %s",
                        open_sets[i].what, id);
    }
    if (strcmp(str(ev, "runId"), str(ctx, "run")) != 0)
        return fail(err, "runId", "is not the open run (%s)", str(ctx, "run"));
    json_object_set_new(ctx, "phase", json_string("finished"));
    return true;
}

/* The set an event opens or closes an entry of, the entry's key member, and whether it opens. */
static bool entity_of(enum agui_type t, const char **set, const char **key, bool *open,
                      const char **what)
{
    *open = t == AG_TEXT_START || t == AG_TOOL_START || t == AG_STEP_STARTED ||
            t == AG_RMSG_START || t == AG_REASONING_START;
    switch (t) {
    case AG_TEXT_START:
    case AG_TEXT_CONTENT:
    case AG_TEXT_END:
        *set = "text", *key = "messageId", *what = "text message";
        return true;
    case AG_TOOL_START:
    case AG_TOOL_ARGS:
    case AG_TOOL_END:
        *set = "tools", *key = "toolCallId", *what = "tool call";
        return true;
    case AG_STEP_STARTED:
    case AG_STEP_FINISHED:
        *set = "steps", *key = "stepName", *what = "step";
        return true;
    case AG_RMSG_START:
    case AG_RMSG_CONTENT:
    case AG_RMSG_END:
        *set = "rmsg", *key = "messageId", *what = "reasoning message";
        return true;
    case AG_REASONING_START:
    case AG_REASONING_END:
        *set = "rspan", *key = "messageId", *what = "reasoning";
        return true;
    default:
        return false;
    }
}

bool agui_verify(json_t *ctx, enum agui_type t, json_t *ev, bool fresh_run, char abandoned[129],
                 struct agui_error *err)
{
    abandoned[0] = '\0';
    if (t == AG_UNKNOWN) return true; /* the client drops what it does not know */
    if (t == AG_RUN_STARTED || t == AG_RUN_FINISHED || t == AG_RUN_ERROR) {
        const char *p = phase(ctx);
        if (t == AG_RUN_FINISHED && strcmp(p, "open") != 0)
            return fail(err, "type", "no run is open: a run starts with RUN_STARTED");
        if (t == AG_RUN_ERROR && !strcmp(p, "none")) {
            json_object_set_new(ctx, "phase", json_string("errored"));
            return true;
        }
        return verify_run_event(ctx, t, ev, fresh_run, abandoned, err);
    }
    if (strcmp(phase(ctx), "open") != 0)
        return fail(err, "type", "no run is open: the first event of a run is RUN_STARTED");
    const char *set, *key, *what;
    bool open;
    if (!entity_of(t, &set, &key, &open, &what)) return true;
    const char *id = str(ev, key);
    bool closing = t == AG_TEXT_END || t == AG_TOOL_END || t == AG_STEP_FINISHED ||
                   t == AG_RMSG_END || t == AG_REASONING_END;
    if (open) {
        json_t *v = t == AG_TOOL_START || t == AG_STEP_STARTED ? json_string("") : json_true();
        if (!toggle(ctx, set, id, true, v))
            return fail(err, key, "a %s with this id is already active: %s", what, id);
        return true;
    }
    if (!json_object_get(set_of(ctx, set), id))
        return fail(err, key, "no active %s with this id: %s", what, id);
    if (closing) toggle(ctx, set, id, false, NULL);
    return true;
}
