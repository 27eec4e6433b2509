/* AG-UI event schemas as @ag-ui/core 1.0 declares them and @ag-ui/client enforces them. */
#include "agui.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

static const char *const names[] = {
    [AG_RUN_STARTED] = "RUN_STARTED",
    [AG_RUN_FINISHED] = "RUN_FINISHED",
    [AG_RUN_ERROR] = "RUN_ERROR",
    [AG_STEP_STARTED] = "STEP_STARTED",
    [AG_STEP_FINISHED] = "STEP_FINISHED",
    [AG_TEXT_START] = "TEXT_MESSAGE_START",
    [AG_TEXT_CONTENT] = "TEXT_MESSAGE_CONTENT",
    [AG_TEXT_END] = "TEXT_MESSAGE_END",
    [AG_TEXT_CHUNK] = "TEXT_MESSAGE_CHUNK",
    [AG_TOOL_START] = "TOOL_CALL_START",
    [AG_TOOL_ARGS] = "TOOL_CALL_ARGS",
    [AG_TOOL_END] = "TOOL_CALL_END",
    [AG_TOOL_CHUNK] = "TOOL_CALL_CHUNK",
    [AG_TOOL_RESULT] = "TOOL_CALL_RESULT",
    [AG_REASONING_START] = "REASONING_START",
    [AG_REASONING_END] = "REASONING_END",
    [AG_RMSG_START] = "REASONING_MESSAGE_START",
    [AG_RMSG_CONTENT] = "REASONING_MESSAGE_CONTENT",
    [AG_RMSG_END] = "REASONING_MESSAGE_END",
    [AG_RMSG_CHUNK] = "REASONING_MESSAGE_CHUNK",
    [AG_REASONING_ENCRYPTED] = "REASONING_ENCRYPTED_VALUE",
    [AG_STATE_SNAPSHOT] = "STATE_SNAPSHOT",
    [AG_STATE_DELTA] = "STATE_DELTA",
    [AG_MESSAGES_SNAPSHOT] = "MESSAGES_SNAPSHOT",
    [AG_ACTIVITY_SNAPSHOT] = "ACTIVITY_SNAPSHOT",
    [AG_ACTIVITY_DELTA] = "ACTIVITY_DELTA",
    [AG_RAW] = "RAW",
    [AG_CUSTOM] = "CUSTOM",
    [AG_SUBAGENT_STARTED] = "SUBAGENT_STARTED",
    [AG_SUBAGENT_FINISHED] = "SUBAGENT_FINISHED",
    [AG_SUBAGENT_ERROR] = "SUBAGENT_ERROR",
};

const char *agui_type_name(enum agui_type t)
{
    return t < AG_UNKNOWN ? names[t] : NULL;
}

enum agui_type agui_type_parse(const char *name)
{
    for (int t = 0; t < AG_UNKNOWN; t++)
        if (!strcmp(names[t], name)) return (enum agui_type)t;
    return AG_UNKNOWN;
}

/* Member kinds. Optional members may not be null unless the client maps that null to absent. */
enum kind {
    K_STR,      /* string */
    K_ANY,      /* any JSON value, null included */
    K_NONNULL,  /* any JSON value but null */
    K_OBJ,      /* object */
    K_BOOL,     /* true or false */
    K_INT,      /* integer */
    K_COUNT,    /* integer from 0 */
    K_STRARRAY, /* array of strings */
    K_USAGE,    /* array of TokenUsage */
    K_TOOLS,    /* RunAgentInput.tools */
    K_CONTEXT,  /* RunAgentInput.context */
    K_RESUME,   /* RunAgentInput.resume */
    K_RESOLVED, /* resolved, cancelled */
    K_CONTENT,  /* string or array of content parts */
    K_PATCH,    /* RFC 6902 operations */
    K_MESSAGES, /* array of messages */
    K_INPUT,    /* RunAgentInput */
    K_OUTCOME,  /* RUN_FINISHED outcome */
    K_ARRAY,    /* array (of anything) */
    K_OBJARRAY, /* array of objects */
    K_TEXTROLE, /* developer, system, assistant, user */
    K_SUBTYPE,  /* tool-call, message */
    K_REASONING /* the literal "reasoning" */
};
#define REQ 1
#define NULL_OK 2 /* a null the client turns into absent */
struct member {
    const char *name;
    enum kind kind;
    int flags;
};

static bool fail(struct agui_error *err, const char *field, const char *fmt, ...)
{
    snprintf(err->field, sizeof err->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->why, sizeof err->why, fmt, ap);
    va_end(ap);
    return false;
}

/* Prefixes err->field with prefix (e.g. "messages[3]."). */
static bool nest(struct agui_error *err, const char *prefix)
{
    char out[2 * sizeof err->field + 64];
    const char *dot = err->field[0] && err->field[0] != '[' ? "." : "";
    int n = snprintf(out, sizeof out, "%s%s%s", prefix, dot, err->field);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof err->field ? (size_t)n : sizeof err->field - 1;
    memcpy(err->field, out, len);
    err->field[len] = '\0';
    return false;
}

static bool pointer_ok(json_t *v)
{
    if (!json_is_string(v)) return false;
    const char *p = json_string_value(v);
    if (*p && *p != '/') return false;
    for (; *p; p++)
        if (*p == '~' && p[1] != '0' && p[1] != '1') return false;
    return true;
}

/* RFC 6902 operations as the client's schema checks them (applying is jsonpatch's business). */
static bool patch_ok(json_t *ops, struct agui_error *err)
{
    if (!json_is_array(ops)) return fail(err, "", "must be an array of JSON Patch operations");
    size_t i;
    json_t *op;
    json_array_foreach(ops, i, op)
    {
        char at[32];
        snprintf(at, sizeof at, "[%zu]", i);
        const char *o = json_string_value(json_object_get(op, "op"));
        if (!json_is_object(op) || !o)
            return fail(err, at, "must be an operation object with a string op");
        bool move = !strcmp(o, "move") || !strcmp(o, "copy");
        bool value = !strcmp(o, "add") || !strcmp(o, "replace") || !strcmp(o, "test");
        if (!move && !value && strcmp(o, "remove") != 0)
            return fail(err, at, "op must be add, remove, replace, move, copy or test");
        if (!pointer_ok(json_object_get(op, "path")))
            return fail(err, at, "path must be a JSON Pointer");
        if (move && !pointer_ok(json_object_get(op, "from")))
            return fail(err, at, "from must be a JSON Pointer");
        if (value && !json_object_get(op, "value")) return fail(err, at, "value is required");
    }
    return true;
}

/* A content part as the client's schema takes it (parts of unknown types it drops). */
static bool part_ok(json_t *part)
{
    const char *type = json_string_value(json_object_get(part, "type"));
    json_t *id = json_object_get(part, "id"), *meta = json_object_get(part, "metadata");
    if (!type || (id && !json_is_string(id)) || (meta && !json_is_object(meta))) return false;
    if (!strcmp(type, "text")) return json_is_string(json_object_get(part, "text"));
    if (strcmp(type, "image") && strcmp(type, "audio") && strcmp(type, "video") &&
        strcmp(type, "document"))
        return true;
    json_t *src = json_object_get(part, "source");
    const char *kind = json_string_value(json_object_get(src, "type"));
    json_t *mime = json_object_get(src, "mimeType");
    return kind && json_is_string(json_object_get(src, "value")) &&
           (!strcmp(kind, "data") || !strcmp(kind, "url") || !strcmp(kind, "file")) &&
           (!mime || json_is_string(mime)) && (strcmp(kind, "data") || mime);
}

static bool content_ok(json_t *c)
{
    if (json_is_string(c)) return true;
    if (!json_is_array(c)) return false;
    size_t i;
    json_t *part;
    json_array_foreach(c, i, part)
    {
        if (!part_ok(part)) return false;
    }
    return true;
}

static bool check_members(json_t *obj, const struct member *m, struct agui_error *err);
static bool kind_ok(json_t *v, enum kind k, struct agui_error *err);

static bool messages_ok(json_t *arr, struct agui_error *err)
{
    if (!json_is_array(arr)) return fail(err, "", "must be an array of messages");
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m)
    {
        if (agui_message_check(m, err)) continue;
        char at[32];
        snprintf(at, sizeof at, "[%zu]", i);
        return nest(err, at);
    }
    return true;
}

static bool outcome_ok(json_t *o, struct agui_error *err)
{
    const char *type = json_string_value(json_object_get(o, "type"));
    if (!json_is_object(o) || !type) return fail(err, "", "must be an object with a string type");
    json_t *pending = json_object_get(o, "pendingToolCallIds");
    if (!strcmp(type, "success") && pending && !kind_ok(pending, K_STRARRAY, err))
        return nest(err, "pendingToolCallIds");
    if (strcmp(type, "interrupt") != 0) return true;
    static const struct member interrupt[] = {
        {"id", K_STR, REQ},          {"reason", K_STR, REQ},       {"message", K_STR, 0},
        {"toolCallId", K_STR, 0},    {"responseSchema", K_OBJ, 0}, {"expiresAt", K_STR, 0},
        {"subagentRunId", K_STR, 0}, {"metadata", K_OBJ, 0},       {NULL, K_ANY, 0}};
    json_t *list = json_object_get(o, "interrupts");
    if (!json_is_array(list) || json_array_size(list) == 0)
        return fail(err, "interrupts", "must be an array of at least one interrupt");
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it)
    {
        char at[40];
        snprintf(at, sizeof at, "interrupts[%zu]", i);
        if (!json_is_object(it)) return fail(err, at, "must be an object");
        if (!check_members(it, interrupt, err)) return nest(err, at);
    }
    return true;
}

/* Whether v is a safe integer (as zod's int()): the request parser reads every number as a real. */
static bool is_int(json_t *v, bool non_negative)
{
    double d = json_is_integer(v) ? (double)json_integer_value(v) : json_real_value(v);
    if (!json_is_number(v) || d != (double)(long long)d) return false;
    return d <= 9007199254740991.0 && d >= (non_negative ? 0 : -9007199254740991.0);
}

static const struct member usage[] = {{"provider", K_STR, 0},
                                      {"model", K_STR, 0},
                                      {"inputTokens", K_COUNT, 0},
                                      {"outputTokens", K_COUNT, 0},
                                      {"totalTokens", K_COUNT, 0},
                                      {"reasoningTokens", K_COUNT, 0},
                                      {"cachedInputTokens", K_COUNT, 0},
                                      {"cacheWriteInputTokens", K_COUNT, 0},
                                      {NULL, K_ANY, 0}};
static const struct member input_tool[] = {{"name", K_STR, REQ},
                                           {"description", K_STR, REQ},
                                           {"parameters", K_NONNULL, NULL_OK},
                                           {"metadata", K_OBJ, 0},
                                           {NULL, K_ANY, 0}};
static const struct member context[] = {
    {"description", K_STR, REQ}, {"value", K_STR, REQ}, {NULL, K_ANY, 0}};
static const struct member resume[] = {{"interruptId", K_STR, REQ},
                                       {"status", K_RESOLVED, REQ},
                                       {"payload", K_NONNULL, NULL_OK},
                                       {"metadata", K_OBJ, 0},
                                       {NULL, K_ANY, 0}};

/* Whether v is an array of objects with members m. */
static bool array_of(json_t *v, const struct member *m, struct agui_error *err)
{
    if (!json_is_array(v)) return fail(err, "", "must be an array of objects");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        char at[32];
        snprintf(at, sizeof at, "[%zu]", i);
        if (!json_is_object(e)) return fail(err, at, "must be an object");
        if (!check_members(e, m, err)) return nest(err, at);
    }
    return true;
}

/* Whether v is of kind k; on false err explains (field relative to v). */
static bool kind_ok(json_t *v, enum kind k, struct agui_error *err)
{
    static const char *const roles[] = {"developer", "system", "assistant", "user"};
    const char *s = json_string_value(v);
    switch (k) {
    case K_STR:
        return json_is_string(v) || fail(err, "", "must be a string");
    case K_ANY:
        return true;
    case K_NONNULL:
        return !json_is_null(v) || fail(err, "", "must not be null");
    case K_OBJ:
        return json_is_object(v) || fail(err, "", "must be an object");
    case K_BOOL:
        return json_is_boolean(v) || fail(err, "", "must be true or false");
    case K_INT:
        return is_int(v, false) || fail(err, "", "must be an integer");
    case K_COUNT:
        return is_int(v, true) || fail(err, "", "must be an integer from 0");
    case K_CONTENT:
        return content_ok(v) || fail(err, "", "must be a string or an array of content parts");
    case K_PATCH:
        return patch_ok(v, err);
    case K_MESSAGES:
        return messages_ok(v, err);
    case K_INPUT:
        return agui_input_check(v, err);
    case K_OUTCOME:
        return outcome_ok(v, err);
    case K_ARRAY:
        return json_is_array(v) || fail(err, "", "must be an array");
    case K_OBJARRAY: {
        size_t i;
        json_t *e;
        if (!json_is_array(v)) return fail(err, "", "must be an array of objects");
        json_array_foreach(v, i, e)
        {
            if (!json_is_object(e)) return fail(err, "", "must be an array of objects");
        }
        return true;
    }
    case K_STRARRAY: {
        size_t i;
        json_t *e;
        if (!json_is_array(v)) return fail(err, "", "must be an array of strings");
        json_array_foreach(v, i, e)
        {
            if (!json_is_string(e)) return fail(err, "", "must be an array of strings");
        }
        return true;
    }
    case K_USAGE:
        return array_of(v, usage, err);
    case K_TOOLS:
        return array_of(v, input_tool, err);
    case K_CONTEXT:
        return array_of(v, context, err);
    case K_RESUME:
        return array_of(v, resume, err);
    case K_RESOLVED:
        return (s && (!strcmp(s, "resolved") || !strcmp(s, "cancelled"))) ||
               fail(err, "", "must be resolved or cancelled");
    case K_TEXTROLE:
        for (size_t i = 0; s && i < sizeof roles / sizeof *roles; i++)
            if (!strcmp(s, roles[i])) return true;
        return fail(err, "", "must be one of developer, system, assistant, user");
    case K_SUBTYPE:
        return (s && (!strcmp(s, "tool-call") || !strcmp(s, "message"))) ||
               fail(err, "", "must be tool-call or message");
    case K_REASONING:
        return (s && !strcmp(s, "reasoning")) || fail(err, "", "must be \"reasoning\"");
    }
    return true;
}

/* Checks obj's members against the NULL-terminated list m. */
static bool check_members(json_t *obj, const struct member *m, struct agui_error *err)
{
    for (; m->name; m++) {
        json_t *v = json_object_get(obj, m->name);
        if (!v) {
            if (m->flags & REQ) return fail(err, m->name, "is required");
            continue;
        }
        if (json_is_null(v) && (m->flags & NULL_OK)) continue;
        if (json_is_null(v) && m->kind != K_ANY)
            return fail(err, m->name, "must not be null (leave it out)");
        if (!kind_ok(v, m->kind, err)) return nest(err, m->name);
    }
    return true;
}

bool agui_id_ok(json_t *s)
{
    return json_is_string(s) && valid_id(json_string_value(s));
}

static const struct member tool_call[] = {{"id", K_STR, REQ},       {"type", K_STR, REQ},
                                          {"function", K_OBJ, REQ}, {"encryptedValue", K_STR, 0},
                                          {"metadata", K_OBJ, 0},   {NULL, K_ANY, 0}};
static const struct member function[] = {
    {"name", K_STR, REQ}, {"arguments", K_STR, REQ}, {NULL, K_ANY, 0}};

static bool tool_calls_ok(json_t *calls, struct agui_error *err)
{
    if (!json_is_array(calls)) return fail(err, "toolCalls", "must be an array of tool calls");
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c)
    {
        char at[40];
        snprintf(at, sizeof at, "toolCalls[%zu]", i);
        if (!json_is_object(c)) return fail(err, at, "must be an object");
        if (!check_members(c, tool_call, err)) return nest(err, at);
        if (strcmp(json_string_value(json_object_get(c, "type")), "function") != 0)
            return fail(err, at, "type must be \"function\"");
        if (!check_members(json_object_get(c, "function"), function, err)) {
            nest(err, "function");
            return nest(err, at);
        }
    }
    return true;
}

bool agui_message_check(json_t *m, struct agui_error *err)
{
    static const struct member base[] = {{"id", K_STR, REQ},           {"role", K_STR, REQ},
                                         {"metadata", K_OBJ, 0},       {"subagentRunId", K_STR, 0},
                                         {"encryptedValue", K_STR, 0}, {NULL, K_ANY, 0}};
    static const struct member text[] = {
        {"content", K_STR, REQ}, {"name", K_STR, 0}, {NULL, K_ANY, 0}};
    static const struct member user[] = {
        {"content", K_CONTENT, REQ}, {"name", K_STR, 0}, {NULL, K_ANY, 0}};
    static const struct member assistant[] = {
        {"content", K_STR, 0}, {"name", K_STR, 0}, {NULL, K_ANY, 0}};
    static const struct member tool[] = {{"content", K_CONTENT, REQ},
                                         {"toolCallId", K_STR, REQ},
                                         {"error", K_STR, 0},
                                         {NULL, K_ANY, 0}};
    static const struct member activity[] = {
        {"activityType", K_STR, REQ}, {"content", K_OBJ, REQ}, {NULL, K_ANY, 0}};
    static const struct member reasoning[] = {{"content", K_STR, REQ}, {NULL, K_ANY, 0}};
    static const struct {
        const char *role;
        const struct member *m;
    } roles[] = {{"developer", text},      {"system", text}, {"user", user},
                 {"assistant", assistant}, {"tool", tool},   {"activity", activity},
                 {"reasoning", reasoning}};
    if (!json_is_object(m)) return fail(err, "", "must be a message object");
    if (!check_members(m, base, err)) return false;
    if (!agui_id_ok(json_object_get(m, "id")))
        return fail(err, "id", "must be 1-128 characters of [A-Za-z0-9._:-] (a convstore id)");
    const char *role = json_string_value(json_object_get(m, "role"));
    for (size_t i = 0; i < sizeof roles / sizeof *roles; i++) {
        if (strcmp(role, roles[i].role) != 0) continue;
        if (!check_members(m, roles[i].m, err)) return false;
        json_t *calls = json_object_get(m, "toolCalls");
        return !calls || strcmp(role, "assistant") != 0 || tool_calls_ok(calls, err);
    }
    return fail(err, "role",
                "must be one of developer, system, user, assistant, tool, activity, "
                "reasoning");
}

bool agui_input_check(json_t *in, struct agui_error *err)
{
    static const struct member input[] = {{"threadId", K_STR, REQ},
                                          {"runId", K_STR, REQ},
                                          {"messages", K_MESSAGES, REQ},
                                          {"parentRunId", K_STR, 0},
                                          {"state", K_ANY, 0},
                                          {"tools", K_TOOLS, 0},
                                          {"context", K_CONTEXT, 0},
                                          {"forwardedProps", K_ANY, 0},
                                          {"resume", K_RESUME, 0},
                                          {"protocolVersion", K_STR, 0},
                                          {NULL, K_ANY, 0}};
    if (!json_is_object(in)) return fail(err, "", "must be a RunAgentInput object");
    return check_members(in, input, err);
}

#define END                                                                                        \
    {                                                                                              \
        NULL, K_ANY, 0                                                                             \
    }
static const struct member m_run_started[] = {
    {"threadId", K_STR, REQ},  {"runId", K_STR, REQ}, {"protocolVersion", K_STR, 0},
    {"parentRunId", K_STR, 0}, {"input", K_INPUT, 0}, END};
static const struct member m_run_finished[] = {
    {"threadId", K_STR, REQ},        {"runId", K_STR, REQ}, {"result", K_NONNULL, NULL_OK},
    {"outcome", K_OUTCOME, NULL_OK}, {"usage", K_USAGE, 0}, END};
static const struct member m_run_error[] = {
    {"message", K_STR, REQ}, {"code", K_STR, 0}, {"usage", K_USAGE, 0}, END};
static const struct member m_step[] = {{"stepName", K_STR, REQ}, END};
static const struct member m_msg_id[] = {{"messageId", K_STR, REQ}, END};
static const struct member m_text_start[] = {
    {"messageId", K_STR, REQ}, {"role", K_TEXTROLE, 0}, {"name", K_STR, 0}, END};
static const struct member m_delta[] = {{"messageId", K_STR, REQ}, {"delta", K_STR, REQ}, END};
static const struct member m_text_chunk[] = {
    {"messageId", K_STR, 0}, {"role", K_TEXTROLE, 0}, {"delta", K_STR, 0}, {"name", K_STR, 0}, END};
static const struct member m_tool_start[] = {{"toolCallId", K_STR, REQ},
                                             {"toolCallName", K_STR, REQ},
                                             {"parentMessageId", K_STR, NULL_OK},
                                             END};
static const struct member m_tool_args[] = {{"toolCallId", K_STR, REQ}, {"delta", K_STR, REQ}, END};
static const struct member m_tool_end[] = {{"toolCallId", K_STR, REQ}, END};
static const struct member m_tool_chunk[] = {{"toolCallId", K_STR, 0},
                                             {"toolCallName", K_STR, 0},
                                             {"parentMessageId", K_STR, NULL_OK},
                                             {"delta", K_STR, 0},
                                             END};
static const struct member m_tool_result[] = {{"messageId", K_STR, REQ},
                                              {"toolCallId", K_STR, REQ},
                                              {"content", K_CONTENT, REQ},
                                              {"role", K_STR, 0},
                                              END};
static const struct member m_rmsg_start[] = {
    {"messageId", K_STR, REQ}, {"role", K_REASONING, REQ}, END};
static const struct member m_rmsg_chunk[] = {{"messageId", K_STR, 0}, {"delta", K_STR, 0}, END};
static const struct member m_encrypted[] = {
    {"subtype", K_SUBTYPE, REQ}, {"entityId", K_STR, REQ}, {"encryptedValue", K_STR, REQ}, END};
static const struct member m_state_snapshot[] = {{"snapshot", K_ANY, REQ}, END};
static const struct member m_state_delta[] = {{"delta", K_PATCH, REQ}, END};
static const struct member m_messages[] = {{"messages", K_MESSAGES, REQ}, END};
static const struct member m_activity_snapshot[] = {{"messageId", K_STR, REQ},
                                                    {"activityType", K_STR, REQ},
                                                    {"content", K_OBJ, REQ},
                                                    {"replace", K_BOOL, 0},
                                                    END};
static const struct member m_activity_delta[] = {
    {"messageId", K_STR, REQ}, {"activityType", K_STR, REQ}, {"patch", K_PATCH, REQ}, END};
static const struct member m_raw[] = {{"event", K_ANY, REQ}, {"source", K_STR, 0}, END};
static const struct member m_custom[] = {{"name", K_STR, REQ}, {"value", K_ANY, REQ}, END};
static const struct member m_sub_started[] = {{"subagentRunId", K_STR, REQ},
                                              {"name", K_STR, REQ},
                                              {"description", K_STR, 0},
                                              {"parentSubagentRunId", K_STR, 0},
                                              {"parentToolCallId", K_STR, 0},
                                              {"parentMessageId", K_STR, 0},
                                              END};
static const struct member m_sub_finished[] = {
    {"subagentRunId", K_STR, REQ}, {"result", K_NONNULL, NULL_OK}, {"outcome", K_OBJ, 0}, END};
static const struct member m_sub_error[] = {
    {"subagentRunId", K_STR, REQ}, {"message", K_STR, REQ}, {"code", K_STR, 0}, END};

static const struct member *const schemas[] = {
    [AG_RUN_STARTED] = m_run_started,
    [AG_RUN_FINISHED] = m_run_finished,
    [AG_RUN_ERROR] = m_run_error,
    [AG_STEP_STARTED] = m_step,
    [AG_STEP_FINISHED] = m_step,
    [AG_TEXT_START] = m_text_start,
    [AG_TEXT_CONTENT] = m_delta,
    [AG_TEXT_END] = m_msg_id,
    [AG_TEXT_CHUNK] = m_text_chunk,
    [AG_TOOL_START] = m_tool_start,
    [AG_TOOL_ARGS] = m_tool_args,
    [AG_TOOL_END] = m_tool_end,
    [AG_TOOL_CHUNK] = m_tool_chunk,
    [AG_TOOL_RESULT] = m_tool_result,
    [AG_REASONING_START] = m_msg_id,
    [AG_REASONING_END] = m_msg_id,
    [AG_RMSG_START] = m_rmsg_start,
    [AG_RMSG_CONTENT] = m_delta,
    [AG_RMSG_END] = m_msg_id,
    [AG_RMSG_CHUNK] = m_rmsg_chunk,
    [AG_REASONING_ENCRYPTED] = m_encrypted,
    [AG_STATE_SNAPSHOT] = m_state_snapshot,
    [AG_STATE_DELTA] = m_state_delta,
    [AG_MESSAGES_SNAPSHOT] = m_messages,
    [AG_ACTIVITY_SNAPSHOT] = m_activity_snapshot,
    [AG_ACTIVITY_DELTA] = m_activity_delta,
    [AG_RAW] = m_raw,
    [AG_CUSTOM] = m_custom,
    [AG_SUBAGENT_STARTED] = m_sub_started,
    [AG_SUBAGENT_FINISHED] = m_sub_finished,
    [AG_SUBAGENT_ERROR] = m_sub_error,
};

/* The ids convstore keeps as its own: a message's or a run's. */
static bool ids_ok(json_t *ev, enum agui_type t, struct agui_error *err)
{
    const char *key = t == AG_RUN_STARTED || t == AG_RUN_FINISHED ? "runId"
                      : t == AG_TEXT_START || t == AG_RMSG_START || t == AG_TOOL_RESULT ||
                              t == AG_ACTIVITY_SNAPSHOT || t == AG_TEXT_CHUNK || t == AG_RMSG_CHUNK
                          ? "messageId"
                          : NULL;
    json_t *v = key ? json_object_get(ev, key) : NULL;
    if (v && !agui_id_ok(v))
        return fail(err, key, "must be 1-128 characters of [A-Za-z0-9._:-] (a convstore id)");
    v = t == AG_RUN_STARTED ? json_object_get(ev, "parentRunId") : NULL;
    if (v && !agui_id_ok(v))
        return fail(err, "parentRunId", "must be 1-128 characters of [A-Za-z0-9._:-]");
    return true;
}

bool agui_event_check(json_t *ev, enum agui_type t, struct agui_error *err)
{
    static const struct member base[] = {{"timestamp", K_INT, 0},
                                         {"rawEvent", K_NONNULL, NULL_OK},
                                         {"metadata", K_OBJ, 0},
                                         {"subagentRunId", K_STR, 0},
                                         END};
    if (t == AG_UNKNOWN) return true; /* the client drops it before looking at anything */
    if (!check_members(ev, base, err)) return false;
    if (!check_members(ev, schemas[t], err)) return false;
    json_t *role = t == AG_TOOL_RESULT ? json_object_get(ev, "role") : NULL;
    if (role && strcmp(json_string_value(role), "tool") != 0)
        return fail(err, "role", "must be \"tool\"");
    return ids_ok(ev, t, err);
}
