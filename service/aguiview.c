/* What @ag-ui/client holds after a stream, built as its defaultApplyEvents builds it, and the
 * lead-in that lets a client resume in the middle of a run. */
#include "aguiview.h"

#include <stdlib.h>
#include <string.h>

#include "agui.h"
#include "jsonpatch.h"

void aguiview_init(struct aguiview *v)
{
    v->messages = json_array();
    v->state = NULL;
    v->ctx = agui_ctx_new();
}

void aguiview_free(struct aguiview *v)
{
    json_decref(v->messages);
    json_decref(v->state);
    json_decref(v->ctx);
    v->messages = v->state = v->ctx = NULL;
}

static const char *str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static bool is(json_t *m, const char *key, const char *value)
{
    const char *s = str(m, key);
    return s && !strcmp(s, value);
}

/* Index of the message with id, or -1. */
static long find(json_t *msgs, const char *id)
{
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        if (id && is(m, "id", id)) return (long)i;
    }
    return -1;
}

/* Index of the message holding tool call tc (its entry into *call), or -1. */
static long find_call(json_t *msgs, const char *tc, json_t **call)
{
    size_t i, k;
    json_t *m, *c;
    json_array_foreach(msgs, i, m)
    {
        json_array_foreach(json_object_get(m, "toolCalls"), k, c)
        {
            if (!is(c, "id", tc)) continue;
            *call = c;
            return (long)i;
        }
    }
    return -1;
}

/* A message an event makes belongs to the event's subagent, as the client records it. */
static void own(json_t *m, json_t *ev)
{
    if (str(ev, "subagentRunId"))
        json_object_set(m, "subagentRunId", json_object_get(ev, "subagentRunId"));
}

/* An event's metadata, merged member by member into what it builds or continues. */
static void merge_metadata(json_t *target, json_t *ev)
{
    json_t *meta = json_object_get(ev, "metadata");
    if (!target || !json_is_object(meta)) return;
    json_t *have = json_object_get(target, "metadata");
    if (!json_is_object(have)) {
        have = json_object();
        json_object_set_new(target, "metadata", have);
    }
    json_object_update(have, meta);
}

/* TEXT_MESSAGE_START, REASONING_MESSAGE_START: a new message, or the existing one reused. */
static void open_message(json_t *msgs, json_t *ev, const char *role)
{
    if (find(msgs, str(ev, "messageId")) >= 0) return;
    json_t *m = json_pack("{s:O,s:s,s:s}", "id", json_object_get(ev, "messageId"), "role", role,
                          "content", "");
    if (str(ev, "name")) json_object_set(m, "name", json_object_get(ev, "name"));
    own(m, ev);
    json_array_append_new(msgs, m);
}

/* Appends delta to the string member key of obj (a member that is not a string counts as ""). */
static void append_to(json_t *obj, const char *key, const char *delta)
{
    const char *have = str(obj, key);
    size_t n = have ? strlen(have) : 0;
    char *s = malloc(n + strlen(delta) + 1);
    if (!s) abort();
    memcpy(s, have ? have : "", n);
    strcpy(s + n, delta);
    json_object_set_new(obj, key, json_string(s));
    free(s);
}

static void append_content(json_t *msgs, json_t *ev)
{
    long i = find(msgs, str(ev, "messageId"));
    json_t *m = i >= 0 ? json_array_get(msgs, (size_t)i) : NULL;
    if (!m || is(m, "role", "activity")) return;
    append_to(m, "content", str(ev, "delta"));
}

static void start_tool_call(json_t *msgs, json_t *ev)
{
    const char *tc = str(ev, "toolCallId"), *parent = str(ev, "parentMessageId");
    json_t *call;
    if (find_call(msgs, tc, &call) >= 0) {
        json_object_set(json_object_get(call, "function"), "name",
                        json_object_get(ev, "toolCallName"));
        return;
    }
    long i = find(msgs, parent);
    json_t *target = i >= 0 ? json_array_get(msgs, (size_t)i) : NULL;
    if (!target || !is(target, "role", "assistant")) {
        const char *id = parent && i < 0 ? parent : tc;
        target = json_pack("{s:s,s:s,s:[]}", "id", id, "role", "assistant", "toolCalls");
        json_array_append_new(msgs, target);
    }
    if (!json_object_get(target, "toolCalls"))
        json_object_set_new(target, "toolCalls", json_array());
    json_array_append_new(json_object_get(target, "toolCalls"),
                          json_pack("{s:s,s:s,s:{s:O,s:s}}", "id", tc, "type", "function",
                                    "function", "name", json_object_get(ev, "toolCallName"),
                                    "arguments", ""));
}

static void tool_args(json_t *msgs, json_t *ev)
{
    json_t *call;
    if (find_call(msgs, str(ev, "toolCallId"), &call) < 0) return;
    append_to(json_object_get(call, "function"), "arguments", str(ev, "delta"));
}

/* TOOL_CALL_RESULT: right after the message holding the call and the tool messages after it. */
static void tool_result(json_t *msgs, json_t *ev)
{
    json_t *m = json_pack("{s:O,s:O,s:s,s:O}", "id", json_object_get(ev, "messageId"), "toolCallId",
                          json_object_get(ev, "toolCallId"), "role", "tool", "content",
                          json_object_get(ev, "content"));
    own(m, ev);
    json_t *call;
    long owner = find_call(msgs, str(ev, "toolCallId"), &call);
    if (owner < 0) {
        json_array_append_new(msgs, m);
        return;
    }
    size_t at = (size_t)owner + 1;
    while (at < json_array_size(msgs) && is(json_array_get(msgs, at), "role", "tool"))
        at++;
    json_array_insert_new(msgs, at, m);
}

/* MESSAGES_SNAPSHOT: listed ones replaced in place, the others dropped (reasoning and activity
 * messages kept unless it lists some), new ones appended in its order. */
static void snapshot_messages(struct aguiview *v, json_t *ev)
{
    json_t *snap = json_object_get(ev, "messages"), *kept = json_array(), *m;
    bool reasoning = false, activity = false;
    size_t i;
    json_array_foreach(snap, i, m)
    {
        reasoning = reasoning || is(m, "role", "reasoning");
        activity = activity || is(m, "role", "activity");
    }
    json_array_foreach(v->messages, i, m)
    {
        long s = find(snap, str(m, "id"));
        if (s >= 0)
            json_array_append(kept, json_array_get(snap, (size_t)s));
        else if ((is(m, "role", "reasoning") && !reasoning) ||
                 (is(m, "role", "activity") && !activity))
            json_array_append(kept, m);
    }
    json_array_foreach(snap, i, m)
    {
        if (find(v->messages, str(m, "id")) < 0) json_array_append(kept, m);
    }
    json_t *copy = json_deep_copy(kept);
    json_decref(kept);
    json_decref(v->messages);
    v->messages = copy;
}

static void input_messages(struct aguiview *v, json_t *ev)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(json_object_get(ev, "input"), "messages"), i, m)
    {
        if (find(v->messages, str(m, "id")) < 0)
            json_array_append_new(v->messages, json_deep_copy(m));
    }
}

static void activity(struct aguiview *v, json_t *ev, bool delta)
{
    long i = find(v->messages, str(ev, "messageId"));
    json_t *m = i >= 0 ? json_array_get(v->messages, (size_t)i) : NULL;
    if (delta) {
        if (!m || !is(m, "role", "activity")) return;
        json_t *content = json_deep_copy(json_object_get(m, "content"));
        char why[160];
        if (jsonpatch_apply(&content, json_object_get(ev, "patch"), why, sizeof why) == 0) {
            json_object_set(m, "content", content);
            json_object_set(m, "activityType", json_object_get(ev, "activityType"));
        }
        json_decref(content);
        return;
    }
    if (m && json_is_false(json_object_get(ev, "replace"))) return;
    json_t *fresh = json_pack("{s:O,s:s,s:O,s:O}", "id", json_object_get(ev, "messageId"), "role",
                              "activity", "activityType", json_object_get(ev, "activityType"),
                              "content", json_object_get(ev, "content"));
    if (m && is(m, "role", "activity") && json_object_get(m, "metadata"))
        json_object_set(fresh, "metadata", json_object_get(m, "metadata"));
    if (m)
        json_array_set_new(v->messages, (size_t)i, fresh);
    else
        json_array_append_new(v->messages, fresh);
}

static void encrypted(struct aguiview *v, json_t *ev)
{
    json_t *target = NULL;
    if (is(ev, "subtype", "tool-call")) {
        find_call(v->messages, str(ev, "entityId"), &target);
    } else {
        long i = find(v->messages, str(ev, "entityId"));
        target = i >= 0 ? json_array_get(v->messages, (size_t)i) : NULL;
        if (target && is(target, "role", "activity")) target = NULL;
    }
    if (target) json_object_set(target, "encryptedValue", json_object_get(ev, "encryptedValue"));
}

static void apply_one(struct aguiview *v, enum agui_type t, json_t *ev)
{
    char why[160];
    switch (t) {
    case AG_RUN_STARTED:
        input_messages(v, ev);
        break;
    case AG_TEXT_START:
        open_message(v->messages, ev, str(ev, "role") ? str(ev, "role") : "assistant");
        break;
    case AG_RMSG_START:
        open_message(v->messages, ev, "reasoning");
        break;
    case AG_TEXT_CONTENT:
    case AG_RMSG_CONTENT:
        append_content(v->messages, ev);
        break;
    case AG_TOOL_START:
        start_tool_call(v->messages, ev);
        break;
    case AG_TOOL_ARGS:
        tool_args(v->messages, ev);
        break;
    case AG_TOOL_RESULT:
        tool_result(v->messages, ev);
        break;
    case AG_STATE_SNAPSHOT:
        json_decref(v->state);
        v->state = json_deep_copy(json_object_get(ev, "snapshot"));
        break;
    case AG_STATE_DELTA: {
        json_t *s = v->state ? json_incref(v->state) : json_object();
        if (jsonpatch_apply(&s, json_object_get(ev, "delta"), why, sizeof why) == 0) {
            json_decref(v->state);
            v->state = json_incref(s);
        }
        json_decref(s);
        break;
    }
    case AG_MESSAGES_SNAPSHOT:
        snapshot_messages(v, ev);
        break;
    case AG_ACTIVITY_SNAPSHOT:
        activity(v, ev, false);
        break;
    case AG_ACTIVITY_DELTA:
        activity(v, ev, true);
        break;
    case AG_REASONING_ENCRYPTED:
        encrypted(v, ev);
        break;
    default:
        break;
    }
}

/* What an event builds or continues, for its metadata: the message, or the tool call. */
static json_t *built(struct aguiview *v, enum agui_type t, json_t *ev)
{
    json_t *call = NULL;
    if (agui_builds_tool_call(t)) find_call(v->messages, str(ev, "toolCallId"), &call);
    if (!agui_builds_message(t)) return call;
    long i = find(v->messages, str(ev, "messageId"));
    return i >= 0 ? json_array_get(v->messages, (size_t)i) : NULL;
}

void aguiview_apply(struct aguiview *v, json_t *ev)
{
    enum agui_type t = agui_type_parse(str(ev, "type") ? str(ev, "type") : "");
    if (t == AG_UNKNOWN) return;
    json_t *list;
    struct agui_error e;
    agui_expand(v->ctx, t, ev, &list, &e);
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x)
    {
        enum agui_type xt = agui_type_parse(str(x, "type"));
        char abandoned[129];
        agui_verify(v->ctx, xt, x, false, abandoned, &e);
        if (xt == AG_STEP_STARTED) agui_ctx_set_step(v->ctx, str(x, "stepName"), "open");
        if (xt == AG_TOOL_START) {
            json_t *call;
            apply_one(v, xt, x);
            long owner = find_call(v->messages, str(x, "toolCallId"), &call);
            if (owner >= 0)
                agui_ctx_set_tool_message(v->ctx, str(x, "toolCallId"),
                                          str(json_array_get(v->messages, (size_t)owner), "id"));
            merge_metadata(built(v, xt, x), x);
            continue;
        }
        apply_one(v, xt, x);
        merge_metadata(built(v, xt, x), x);
    }
    json_decref(list);
}

bool aguiview_in_run(const struct aguiview *v)
{
    return agui_ctx_run(v->ctx) != NULL;
}

/* Appends {"type": type, key: id} (plus extras) to out. */
static void reopen(json_t *out, const char *type, const char *key, const char *id)
{
    json_array_append_new(out, json_pack("{s:s,s:s}", "type", type, key, id));
}

/* The pending chunk stream of kind that holds id, or NULL. */
static json_t *lane_of(const struct aguiview *v, const char *kind, const char *id)
{
    const char *key;
    json_t *lane;
    json_object_foreach(json_object_get(v->ctx, "lanes"), key, lane)
    {
        if (is(lane, "kind", kind) && is(lane, "id", id)) return lane;
    }
    return NULL;
}

/* The first chunk of a pending stream again: the client then continues it with the chunks that
 * follow (role, name and parent must be the ones it started with). */
static json_t *reopen_chunk(json_t *lane)
{
    json_t *e;
    if (is(lane, "kind", "text")) {
        e = json_pack("{s:s,s:O,s:O}", "type", "TEXT_MESSAGE_CHUNK", "messageId",
                      json_object_get(lane, "id"), "role", json_object_get(lane, "role"));
        if (json_object_get(lane, "name"))
            json_object_set(e, "name", json_object_get(lane, "name"));
    } else if (is(lane, "kind", "tool")) {
        e = json_pack("{s:s,s:O,s:O}", "type", "TOOL_CALL_CHUNK", "toolCallId",
                      json_object_get(lane, "id"), "toolCallName", json_object_get(lane, "name"));
        if (json_object_get(lane, "parent"))
            json_object_set(e, "parentMessageId", json_object_get(lane, "parent"));
    } else {
        e = json_pack("{s:s,s:O}", "type", "REASONING_MESSAGE_CHUNK", "messageId",
                      json_object_get(lane, "id"));
    }
    if (json_object_get(lane, "sub"))
        json_object_set(e, "subagentRunId", json_object_get(lane, "sub"));
    return e;
}

/* START events for the text (kind "text") or reasoning messages still open; `dropped`: those a
 * MESSAGES_SNAPSHOT removed while they streamed (sent before the snapshot, which removes them
 * again, so their later deltas find nothing, as in the client), else the others. */
static void reopen_messages(const struct aguiview *v, const char *kind, bool dropped, json_t *out)
{
    bool text = !strcmp(kind, "text");
    const char *key;
    json_t *val;
    json_object_foreach(json_object_get(v->ctx, text ? "text" : "rmsg"), key, val)
    {
        long i = find(v->messages, key);
        if (lane_of(v, text ? "text" : "reasoning", key) || (i < 0) != dropped) continue;
        const char *role = i >= 0 ? str(json_array_get(v->messages, (size_t)i), "role") : NULL;
        bool text_role = role && (!strcmp(role, "assistant") || !strcmp(role, "user") ||
                                  !strcmp(role, "system") || !strcmp(role, "developer"));
        json_t *e = json_pack("{s:s,s:s,s:s}", "type",
                              text ? "TEXT_MESSAGE_START" : "REASONING_MESSAGE_START", "messageId",
                              key, "role",
                              !text       ? "reasoning"
                              : text_role ? role
                                          : "assistant");
        json_array_append_new(out, e);
    }
}

json_t *aguiview_lead_in(const struct aguiview *v, const char *thread)
{
    json_t *out = json_array();
    json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "type", "RUN_STARTED", "threadId", thread,
                                         "runId", agui_ctx_run(v->ctx)));
    reopen_messages(v, "text", true, out);
    reopen_messages(v, "reasoning", true, out);
    json_array_append_new(
        out, json_pack("{s:s,s:O}", "type", "MESSAGES_SNAPSHOT", "messages", v->messages));
    if (v->state)
        json_array_append_new(
            out, json_pack("{s:s,s:O}", "type", "STATE_SNAPSHOT", "snapshot", v->state));
    const char *key;
    json_t *val;
    json_object_foreach(json_object_get(v->ctx, "steps"), key, val)
    {
        reopen(out, "STEP_STARTED", "stepName", key);
    }
    json_object_foreach(json_object_get(v->ctx, "rspan"), key, val)
    {
        reopen(out, "REASONING_START", "messageId", key);
    }
    reopen_messages(v, "reasoning", false, out);
    reopen_messages(v, "text", false, out);
    json_object_foreach(json_object_get(v->ctx, "tools"), key, val)
    {
        if (lane_of(v, "tool", key)) continue;
        json_t *call = NULL;
        find_call(v->messages, key, &call);
        const char *name = str(json_object_get(call, "function"), "name");
        json_t *e = json_pack("{s:s,s:s,s:s}", "type", "TOOL_CALL_START", "toolCallId", key,
                              "toolCallName", name ? name : "");
        if (json_string_value(val) && json_string_value(val)[0])
            json_object_set(e, "parentMessageId", val);
        json_array_append_new(out, e);
    }
    json_object_foreach(json_object_get(v->ctx, "lanes"), key, val)
    {
        json_array_append_new(out, reopen_chunk(val));
    }
    return out;
}
