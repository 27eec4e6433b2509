/* AG-UI events: their types, the schemas @ag-ui/core declares for them, and the order
 * @ag-ui/client enforces (with its expansion of *_CHUNK events), as pure logic over jansson. */
#ifndef CONVSTORE_AGUI_H
#define CONVSTORE_AGUI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum agui_type {
    AG_RUN_STARTED,
    AG_RUN_FINISHED,
    AG_RUN_ERROR,
    AG_STEP_STARTED,
    AG_STEP_FINISHED,
    AG_TEXT_START,
    AG_TEXT_CONTENT,
    AG_TEXT_END,
    AG_TEXT_CHUNK,
    AG_TOOL_START,
    AG_TOOL_ARGS,
    AG_TOOL_END,
    AG_TOOL_CHUNK,
    AG_TOOL_RESULT,
    AG_REASONING_START,
    AG_REASONING_END,
    AG_RMSG_START,
    AG_RMSG_CONTENT,
    AG_RMSG_END,
    AG_RMSG_CHUNK,
    AG_REASONING_ENCRYPTED,
    AG_STATE_SNAPSHOT,
    AG_STATE_DELTA,
    AG_MESSAGES_SNAPSHOT,
    AG_ACTIVITY_SNAPSHOT,
    AG_ACTIVITY_DELTA,
    AG_RAW,
    AG_CUSTOM,
    AG_SUBAGENT_STARTED,
    AG_SUBAGENT_FINISHED,
    AG_SUBAGENT_ERROR,
    AG_UNKNOWN /* a type this version does not know: stored verbatim, nothing else */
};

/* The wire name of t ("TEXT_MESSAGE_START"); NULL for AG_UNKNOWN. */
const char *agui_type_name(enum agui_type t);
enum agui_type agui_type_parse(const char *name);

/* Where a check failed: field is relative to the event ("delta", "messages[2].content"). */
struct agui_error {
    char field[128];
    char why[256];
};

/*
 * Checks event ev (an object with a string "type") against its type's schema as @ag-ui/client
 * enforces it: required members, member types, no null where the client rejects one. Unknown
 * members are allowed (the client strips them). False with *err set.
 */
bool agui_event_check(json_t *ev, enum agui_type t, struct agui_error *err);
/* Sets *err (field, and why as printf) and returns false. */
bool agui_fail(struct agui_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Whether an event of type t builds or continues a message named by its messageId, or a tool
 * call named by its toolCallId (what its metadata is merged into). */
bool agui_builds_message(enum agui_type t);
bool agui_builds_tool_call(enum agui_type t);
/* Checks one AG-UI message (as in MESSAGES_SNAPSHOT or RunAgentInput.messages). */
bool agui_message_check(json_t *m, struct agui_error *err);
/* Checks a RunAgentInput. */
bool agui_input_check(json_t *in, struct agui_error *err);
/* Whether s can be a convstore object id (messages and runs keep AG-UI's ids as theirs). */
bool agui_id_ok(json_t *s);

/*
 * The order the client enforces, kept across requests in ctx (a JSON object owned by the
 * caller, stored with the thread): the run that is open, the messages, tool calls, steps and
 * reasoning spans open in it, and the pending *_CHUNK stream.
 *
 * agui_expand turns one event into the events the client's chunk transformation makes of it
 * (out: a new array; a non-chunk event may be preceded by the END that closes a pending
 * chunk stream). agui_verify then checks one expanded event and records it in ctx.
 * `fresh_run`: the open run was started by this request (a RUN_STARTED while a run from an
 * earlier request is open abandons that run instead of failing: *abandoned receives its id).
 */
json_t *agui_ctx_new(void);
bool agui_expand(json_t *ctx, enum agui_type t, json_t *ev, json_t **out, struct agui_error *err);
bool agui_verify(json_t *ctx, enum agui_type t, json_t *ev, bool fresh_run, char abandoned[129],
                 struct agui_error *err);
/* The run open in ctx, or NULL. */
const char *agui_ctx_run(json_t *ctx);
/* Whether message id is streaming in ctx (a text or reasoning message started, not ended). */
bool agui_ctx_streaming(json_t *ctx, const char *message_id);
/* The message a tool call open in ctx belongs to, or NULL. */
const char *agui_ctx_tool_message(json_t *ctx, const char *tool_call_id);
void agui_ctx_set_tool_message(json_t *ctx, const char *tool_call_id, const char *message_id);
/* The step id recorded for an open step name, or NULL; and recording one. */
const char *agui_ctx_step(json_t *ctx, const char *name);
void agui_ctx_set_step(json_t *ctx, const char *name, const char *step_id);

#endif
