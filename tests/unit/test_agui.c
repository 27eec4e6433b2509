/* Unit tests: the order @ag-ui/client 1.0 enforces on a stream (verifyEvents) and its
 * *_CHUNK expansion (transformChunks), per /tmp/agui/REFERENCE.md sections 2 and 3.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "aguitest.h"

#define N(a) (sizeof(a) / sizeof *(a))

/* --- agui_verify ------------------------------------------------------------------------- */

/* Verifies one event on ctx; true when it passes (the error in *err, an abandoned run id in
 * abandoned). */
static bool ver(json_t *ctx, const char *text, bool fresh, char abandoned[129],
                struct agui_error *err)
{
    json_t *ev = jin(text);
    *err = (struct agui_error){{0}, {0}};
    bool ok = agui_verify(ctx, agui_type_parse(json_string_value(json_object_get(ev, "type"))), ev,
                          fresh, abandoned, err);
    json_decref(ev);
    return ok;
}

static void ok_(json_t *ctx, const char *text, int line)
{
    char ab[129];
    struct agui_error e;
    if (!ver(ctx, text, true, ab, &e))
        fail_msg("line %d: refused (%s: %s): %s", line, e.field, e.why, text);
}

/* Refused, with err.field `field` and `why_has` in err.why (when not NULL). */
static void no_(json_t *ctx, const char *text, const char *field, const char *why_has, int line)
{
    char ab[129];
    struct agui_error e;
    if (ver(ctx, text, true, ab, &e)) fail_msg("line %d: passed: %s", line, text);
    if (strcmp(e.field, field) != 0)
        fail_msg("line %d: field %s (%s), want %s", line, e.field, e.why, field);
    if (why_has && !strstr(e.why, why_has))
        fail_msg("line %d: why \"%s\" does not name %s", line, e.why, why_has);
}

#define OK(ctx, text) ok_(ctx, text, __LINE__)
#define NO(ctx, text, field, why) no_(ctx, text, field, why, __LINE__)

#define RS(r) "{'type':'RUN_STARTED','threadId':'t','runId':'" r "'}"
#define RF(r) "{'type':'RUN_FINISHED','threadId':'t','runId':'" r "'}"
#define RE "{'type':'RUN_ERROR','message':'boom'}"
#define CUSTOM "{'type':'CUSTOM','name':'c','value':1}"

/* Rule 3 (the first event is RUN_STARTED or RUN_ERROR), 1 (after RUN_ERROR only RUN_STARTED),
 * 2 (after RUN_FINISHED only RUN_STARTED or RUN_ERROR), 12 (RUN_ERROR anywhere). */
static void test_verify_run_phases(void **state)
{
    json_t *c = agui_ctx_new();
    NO(c, "{'type':'TEXT_MESSAGE_START','messageId':'m'}", "type", NULL);
    NO(c, RF("r1"), "type", NULL);
    NO(c, CUSTOM, "type", NULL);
    assert_null(agui_ctx_run(c));
    OK(c, "{'type':'FUTURE_EVENT'}"); /* dropped by the client: not a first event */
    OK(c, RE);                        /* 3, 12: RUN_ERROR first */
    NO(c, CUSTOM, "type", NULL);      /* 1 */
    NO(c, RE, "type", NULL);
    NO(c, RF("r1"), "type", NULL);
    OK(c, RS("r1"));
    assert_string_equal(agui_ctx_run(c), "r1");
    OK(c, CUSTOM);
    OK(c, RF("r1"));
    assert_null(agui_ctx_run(c));
    NO(c, CUSTOM, "type", NULL); /* 2 */
    NO(c, "{'type':'STEP_STARTED','stepName':'s'}", "type", NULL);
    NO(c, RF("r1"), "type", NULL);
    OK(c, RE); /* 12: after RUN_FINISHED */
    OK(c, RS("r2"));
    OK(c, "{'type':'TEXT_MESSAGE_START','messageId':'m'}");
    OK(c, "{'type':'STEP_STARTED','stepName':'s'}");
    OK(c, RE); /* 12: in the middle of a run, things open */
    assert_null(agui_ctx_run(c));
    OK(c, RS("r3")); /* a new run starts clean */
    OK(c, "{'type':'TEXT_MESSAGE_START','messageId':'m'}");
    OK(c, "{'type':'TEXT_MESSAGE_END','messageId':'m'}");
    OK(c, RF("r3"));
    json_decref(c);
}

/* Rule 4: RUN_STARTED while a run is open fails when this request started it; a run left open
 * by an earlier request is abandoned instead (its id in abandoned[], its entities forgotten). */
static void test_verify_run_started_while_open(void **state)
{
    json_t *c = agui_ctx_new();
    char ab[129];
    struct agui_error e;
    OK(c, RS("r1"));
    OK(c, "{'type':'TEXT_MESSAGE_START','messageId':'m'}");
    OK(c, "{'type':'TOOL_CALL_START','toolCallId':'tc','toolCallName':'f'}");
    assert_false(ver(c, RS("r2"), true, ab, &e));
    assert_string_equal(e.field, "type");
    assert_non_null(strstr(e.why, "r1"));
    assert_string_equal(agui_ctx_run(c), "r1");
    assert_true(ver(c, RS("r2"), false, ab, &e));
    assert_string_equal(ab, "r1");
    assert_string_equal(agui_ctx_run(c), "r2");
    NO(c, "{'type':'TEXT_MESSAGE_CONTENT','messageId':'m','delta':'x'}", "messageId", "m");
    NO(c, "{'type':'TOOL_CALL_END','toolCallId':'tc'}", "toolCallId", "tc");
    OK(c, RF("r2"));
    assert_true(ver(c, RS("r3"), false, ab, &e)); /* after a finished run: nothing abandoned */
    assert_string_equal(ab, "");
    json_decref(c);
}

/* An entity kind: how it is opened, continued (NULL: it is not) and closed, by member key. */
struct kind {
    const char *open, *cont, *close, *key;
};
static const struct kind kinds[] = {
    {"{'type':'TEXT_MESSAGE_START','messageId':'%s'}",
     "{'type':'TEXT_MESSAGE_CONTENT','messageId':'%s','delta':'d'}",
     "{'type':'TEXT_MESSAGE_END','messageId':'%s'}", "messageId"},
    {"{'type':'TOOL_CALL_START','toolCallId':'%s','toolCallName':'f'}",
     "{'type':'TOOL_CALL_ARGS','toolCallId':'%s','delta':'{'}",
     "{'type':'TOOL_CALL_END','toolCallId':'%s'}", "toolCallId"},
    {"{'type':'REASONING_MESSAGE_START','messageId':'%s','role':'reasoning'}",
     "{'type':'REASONING_MESSAGE_CONTENT','messageId':'%s','delta':'d'}",
     "{'type':'REASONING_MESSAGE_END','messageId':'%s'}", "messageId"},
    {"{'type':'REASONING_START','messageId':'%s'}", NULL,
     "{'type':'REASONING_END','messageId':'%s'}", "messageId"},
    {"{'type':'STEP_STARTED','stepName':'%s'}", NULL, "{'type':'STEP_FINISHED','stepName':'%s'}",
     "stepName"},
};

static const char *fill(char *buf, size_t n, const char *fmt, const char *id)
{
    snprintf(buf, n, fmt, id);
    return buf;
}

/* Rules 6-10: opening what is open fails, continuing or closing what is not open fails (the
 * id named), and an id may be opened again after it was closed. */
static void test_verify_open_and_close(void **state)
{
    for (size_t k = 0; k < N(kinds); k++) {
        const struct kind *K = &kinds[k];
        char o[200], c2[200], x[200];
        json_t *c = agui_ctx_new();
        OK(c, RS("r1"));
        fill(o, sizeof o, K->open, "e1");
        fill(x, sizeof x, K->close, "e1");
        if (K->cont) NO(c, fill(c2, sizeof c2, K->cont, "e1"), K->key, "e1");
        NO(c, x, K->key, "e1");
        OK(c, o);
        NO(c, o, K->key, "e1");
        OK(c, fill(c2, sizeof c2, K->open, "e2")); /* another id: both open at once */
        if (K->cont) OK(c, fill(c2, sizeof c2, K->cont, "e1"));
        OK(c, x);
        NO(c, x, K->key, "e1");
        if (K->cont) NO(c, fill(c2, sizeof c2, K->cont, "e1"), K->key, "e1");
        OK(c, o); /* reopened after its end */
        OK(c, x);
        OK(c, fill(c2, sizeof c2, K->close, "e2"));
        OK(c, RF("r1"));
        json_decref(c);
    }
}

/* Rule 11: RUN_FINISHED with anything open fails and names it: steps first, then text
 * messages, reasoning messages, reasoning spans, tool calls. */
static void test_verify_finish_names_open(void **state)
{
    static const char *const what[] = {"text messages", "tool calls", "reasoning messages",
                                       "reasoning", "steps"};
    for (size_t k = 0; k < N(kinds); k++) {
        char buf[200];
        json_t *c = agui_ctx_new();
        OK(c, RS("r1"));
        OK(c, fill(buf, sizeof buf, kinds[k].open, "open-one"));
        NO(c, RF("r1"), "type", "open-one");
        NO(c, RF("r1"), "type", what[k]);
        OK(c, fill(buf, sizeof buf, kinds[k].close, "open-one"));
        OK(c, RF("r1"));
        json_decref(c);
    }
    json_t *c = agui_ctx_new();
    OK(c, RS("r1"));
    static const char *const order[] = {"tc", "rs", "rm", "m", "s"}; /* opened last to first */
    static const size_t kind_of[] = {1, 3, 2, 0, 4};
    char buf[200];
    for (size_t i = 0; i < N(order); i++)
        OK(c, fill(buf, sizeof buf, kinds[kind_of[i]].open, order[i]));
    for (size_t i = N(order); i-- > 0;) {
        NO(c, RF("r1"), "type", what[kind_of[i]]);
        OK(c, fill(buf, sizeof buf, kinds[kind_of[i]].close, order[i]));
    }
    OK(c, RF("r1"));
    json_decref(c);
}

/* RUN_FINISHED names the open run (stricter than the client, which does not compare ids). */
static void test_verify_finish_other_run(void **state)
{
    json_t *c = agui_ctx_new();
    OK(c, RS("r1"));
    NO(c, RF("r2"), "runId", "r1");
    assert_string_equal(agui_ctx_run(c), "r1");
    OK(c, RF("r1"));
    json_decref(c);
}

/* Rule 9: a step name is active once; several names at once; finished by name. */
static void test_verify_steps(void **state)
{
    json_t *c = agui_ctx_new();
    OK(c, RS("r1"));
    OK(c, "{'type':'STEP_STARTED','stepName':'plan'}");
    OK(c, "{'type':'STEP_STARTED','stepName':'act'}");
    NO(c, "{'type':'STEP_STARTED','stepName':'plan'}", "stepName", "plan");
    NO(c, "{'type':'STEP_FINISHED','stepName':'other'}", "stepName", "other");
    agui_ctx_set_step(c, "plan", "step-1");
    assert_string_equal(agui_ctx_step(c, "plan"), "step-1");
    OK(c, "{'type':'STEP_FINISHED','stepName':'plan'}");
    assert_null(agui_ctx_step(c, "plan"));
    NO(c, RF("r1"), "type", "act");
    OK(c, "{'type':'STEP_FINISHED','stepName':'act'}");
    OK(c, RF("r1"));
    json_decref(c);
}

/* Rule 10: reasoning spans and reasoning messages are separate open-sets (one id may name
 * both), and text messages are a third. */
static void test_verify_reasoning_sets(void **state)
{
    json_t *c = agui_ctx_new();
    OK(c, RS("r1"));
    OK(c, "{'type':'REASONING_START','messageId':'x'}");
    OK(c, "{'type':'REASONING_MESSAGE_START','messageId':'x','role':'reasoning'}");
    OK(c, "{'type':'TEXT_MESSAGE_START','messageId':'x'}");
    NO(c, "{'type':'REASONING_START','messageId':'x'}", "messageId", "x");
    NO(c, "{'type':'REASONING_MESSAGE_START','messageId':'x','role':'reasoning'}", "messageId",
       "x");
    OK(c, "{'type':'REASONING_MESSAGE_END','messageId':'x'}");
    NO(c, "{'type':'REASONING_MESSAGE_CONTENT','messageId':'x','delta':'d'}", "messageId", "x");
    OK(c, "{'type':'TEXT_MESSAGE_CONTENT','messageId':'x','delta':'d'}");
    OK(c, "{'type':'REASONING_END','messageId':'x'}");
    NO(c, "{'type':'REASONING_END','messageId':'x'}", "messageId", "x");
    OK(c, "{'type':'REASONING_MESSAGE_START','messageId':'y','role':'reasoning'}");
    NO(c, "{'type':'REASONING_END','messageId':'y'}", "messageId", "y");
    NO(c, RF("r1"), "type", "text messages");
    OK(c, "{'type':'TEXT_MESSAGE_END','messageId':'x'}");
    NO(c, RF("r1"), "type", "reasoning messages are still active: y");
    OK(c, "{'type':'REASONING_MESSAGE_END','messageId':'y'}");
    OK(c, RF("r1"));
    json_decref(c);
}

/* What the client does not check passes anywhere in a run (REFERENCE.md 2, "Not checked"). */
static void test_verify_unchecked(void **state)
{
    json_t *c = agui_ctx_new();
    OK(c, RS("r1"));
    OK(c, "{'type':'TOOL_CALL_RESULT','messageId':'m','toolCallId':'nobody','content':'x'}");
    OK(c, "{'type':'REASONING_ENCRYPTED_VALUE','subtype':'message','entityId':'nobody',"
          "'encryptedValue':'v'}");
    OK(c, "{'type':'ACTIVITY_DELTA','messageId':'nobody','activityType':'P','patch':[]}");
    OK(c, "{'type':'STATE_DELTA','delta':[]}");
    OK(c, "{'type':'MESSAGES_SNAPSHOT','messages':[]}");
    OK(c, "{'type':'RAW','event':1}");
    OK(c, "{'type':'FUTURE_EVENT'}");
    OK(c, RF("r1"));
    OK(c, "{'type':'FUTURE_EVENT'}");
    json_decref(c);
}

/* --- agui_expand --------------------------------------------------------------------------- */

static void exp_(json_t *ctx, const char *text, const char *want, int line)
{
    json_t *ev = jin(text), *out;
    struct agui_error e;
    enum agui_type t = agui_type_parse(json_string_value(json_object_get(ev, "type")));
    if (!agui_expand(ctx, t, ev, &out, &e))
        fail_msg("line %d: refused (%s: %s): %s", line, e.field, e.why, text);
    char what[32];
    snprintf(what, sizeof what, "line %d", line);
    expect_events(out, want, what);
    json_decref(out);
    json_decref(ev);
}

static void exp_no(json_t *ctx, const char *text, const char *field, int line)
{
    json_t *ev = jin(text), *out;
    struct agui_error e = {{0}, {0}};
    enum agui_type t = agui_type_parse(json_string_value(json_object_get(ev, "type")));
    if (agui_expand(ctx, t, ev, &out, &e)) fail_msg("line %d: expanded: %s", line, text);
    if (field && strcmp(e.field, field) != 0)
        fail_msg("line %d: field %s (%s), want %s", line, e.field, e.why, field);
    json_decref(out);
    json_decref(ev);
}

#define EXP(ctx, text, want) exp_(ctx, text, want, __LINE__)
#define EXP_NO(ctx, text, field) exp_no(ctx, text, field, __LINE__)

#define TSTART(id, role) "{'type':'TEXT_MESSAGE_START','messageId':'" id "','role':'" role "'}"
#define TCONT(id, d) "{'type':'TEXT_MESSAGE_CONTENT','messageId':'" id "','delta':'" d "'}"
#define TEND(id) "{'type':'TEXT_MESSAGE_END','messageId':'" id "'}"

/* REFERENCE.md 3.1, TEXT_MESSAGE_CHUNK. */
static void test_expand_text_chunks(void **state)
{
    json_t *c = agui_ctx_new();
    EXP_NO(c, "{'type':'TEXT_MESSAGE_CHUNK','delta':'x'}", "messageId");
    EXP(c, "{'type':'TEXT_MESSAGE_CHUNK','messageId':'m1','delta':'a'}",
        "[" TSTART("m1", "assistant") "," TCONT("m1", "a") "]");
    EXP(c, "{'type':'TEXT_MESSAGE_CHUNK','delta':'b'}", "[" TCONT("m1", "b") "]");
    EXP(c, "{'type':'TEXT_MESSAGE_CHUNK','messageId':'m1','role':'assistant','delta':''}",
        "[" TCONT("m1", "") "]");
    EXP(c, "{'type':'TEXT_MESSAGE_CHUNK','rawEvent':{'p':1}}", "[" TCONT("m1", "") "]");
    EXP(c, "{'type':'TEXT_MESSAGE_CHUNK'}", "[]");
    EXP_NO(c, "{'type':'TEXT_MESSAGE_CHUNK','role':'user','delta':'x'}", NULL);
    EXP_NO(c, "{'type':'TEXT_MESSAGE_CHUNK','messageId':'m1','name':'bob'}", NULL);
    EXP(c, "{'type':'TEXT_MESSAGE_CHUNK','messageId':'m2','role':'user','name':'bob'}",
        "[" TEND("m1") ",{'type':'TEXT_MESSAGE_START','messageId':'m2','role':'user','name':"
                       "'bob'}]");
    EXP(c, "{'type':'TEXT_MESSAGE_CHUNK','name':'bob','delta':'x'}", "[" TCONT("m2", "x") "]");
    EXP(c, "{'type':'TOOL_CALL_CHUNK','toolCallId':'tc','toolCallName':'f'}",
        "[" TEND("m2") ",{'type':'TOOL_CALL_START','toolCallId':'tc','toolCallName':'f',"
                       "'parentMessageId':null}]");
    EXP(c, "{'type':'TEXT_MESSAGE_CHUNK','messageId':'m3'}",
        "[{'type':'TOOL_CALL_END','toolCallId':'tc'}," TSTART("m3", "assistant") "]");
    json_decref(c);
}

/* A non-chunk TEXT, TOOL, STATE, CUSTOM, STEP, REASONING or RUN event, or MESSAGES_SNAPSHOT,
 * closes the pending stream before it; RAW, ACTIVITY_*, REASONING_ENCRYPTED_VALUE do not. */
static void test_expand_closing(void **state)
{
    static const char *const closing[] = {
        TSTART("o", "assistant"),
        TCONT("o", "x"),
        "{'type':'TOOL_CALL_START','toolCallId':'tc','toolCallName':'f'}",
        "{'type':'TOOL_CALL_RESULT','messageId':'tr','toolCallId':'tc','content':'x'}",
        "{'type':'STATE_SNAPSHOT','snapshot':{}}",
        "{'type':'STATE_DELTA','delta':[]}",
        "{'type':'CUSTOM','name':'c','value':'v'}",
        "{'type':'STEP_STARTED','stepName':'s'}",
        "{'type':'STEP_FINISHED','stepName':'s'}",
        "{'type':'REASONING_START','messageId':'r'}",
        "{'type':'REASONING_MESSAGE_START','messageId':'r','role':'reasoning'}",
        "{'type':'REASONING_MESSAGE_END','messageId':'r'}",
        RS("r2"),
        RF("r1"),
        RE,
        "{'type':'MESSAGES_SNAPSHOT','messages':[]}",
    };
    static const char *const passing[] = {
        "{'type':'RAW','event':'e'}",
        "{'type':'ACTIVITY_SNAPSHOT','messageId':'a','activityType':'P','content':{}}",
        "{'type':'ACTIVITY_DELTA','messageId':'a','activityType':'P','patch':[]}",
        "{'type':'REASONING_ENCRYPTED_VALUE','subtype':'message','entityId':'m','encryptedValue':"
        "'v'}",
        "{'type':'FUTURE_EVENT'}",
    };
    char want[512];
    for (size_t i = 0; i < N(closing); i++) {
        json_t *c = agui_ctx_new();
        EXP(c, "{'type':'TEXT_MESSAGE_CHUNK','messageId':'m','delta':'a'}",
            "[" TSTART("m", "assistant") "," TCONT("m", "a") "]");
        snprintf(want, sizeof want, "[" TEND("m") ",%s]", closing[i]);
        EXP(c, closing[i], want);
        snprintf(want, sizeof want, "[%s]", closing[i]);
        EXP(c, closing[i], want); /* nothing pending any more */
        EXP_NO(c, "{'type':'TEXT_MESSAGE_CHUNK','delta':'b'}", "messageId");
        json_decref(c);
    }
    json_t *c = agui_ctx_new();
    EXP(c, "{'type':'TEXT_MESSAGE_CHUNK','messageId':'m','delta':'a'}",
        "[" TSTART("m", "assistant") "," TCONT("m", "a") "]");
    for (size_t i = 0; i < N(passing); i++) {
        snprintf(want, sizeof want, "[%s]", passing[i]);
        EXP(c, passing[i], want);
        EXP(c, "{'type':'TEXT_MESSAGE_CHUNK','delta':'b'}", "[" TCONT("m", "b") "]");
    }
    json_decref(c);
}

/* TOOL_CALL_CHUNK: the first needs toolCallId and toolCallName; continuations must agree. */
static void test_expand_tool_chunks(void **state)
{
    json_t *c = agui_ctx_new();
    EXP_NO(c, "{'type':'TOOL_CALL_CHUNK','toolCallName':'f','delta':'{'}", "toolCallId");
    EXP_NO(c, "{'type':'TOOL_CALL_CHUNK','toolCallId':'t1','delta':'{'}", "toolCallName");
    EXP(c,
        "{'type':'TOOL_CALL_CHUNK','toolCallId':'t1','toolCallName':'f','parentMessageId':'m',"
        "'delta':'{'}",
        "[{'type':'TOOL_CALL_START','toolCallId':'t1','toolCallName':'f','parentMessageId':'m'},"
        "{'type':'TOOL_CALL_ARGS','toolCallId':'t1','delta':'{'}]");
    EXP(c, "{'type':'TOOL_CALL_CHUNK','delta':'}'}",
        "[{'type':'TOOL_CALL_ARGS','toolCallId':'t1','delta':'}'}]");
    EXP(c,
        "{'type':'TOOL_CALL_CHUNK','toolCallId':'t1','toolCallName':'f','parentMessageId':'m',"
        "'delta':''}",
        "[{'type':'TOOL_CALL_ARGS','toolCallId':'t1','delta':''}]");
    EXP_NO(c, "{'type':'TOOL_CALL_CHUNK','toolCallName':'g','delta':'x'}", NULL);
    EXP_NO(c, "{'type':'TOOL_CALL_CHUNK','parentMessageId':'other','delta':'x'}", NULL);
    EXP(c, "{'type':'TOOL_CALL_CHUNK','toolCallId':'t2','toolCallName':'g'}",
        "[{'type':'TOOL_CALL_END','toolCallId':'t1'},{'type':'TOOL_CALL_START','toolCallId':"
        "'t2','toolCallName':'g','parentMessageId':null}]");
    EXP(c, "{'type':'TOOL_CALL_END','toolCallId':'t2'}",
        "[{'type':'TOOL_CALL_END','toolCallId':'t2'},{'type':'TOOL_CALL_END','toolCallId':'t2'}]");
    json_decref(c);
}

/* REASONING_MESSAGE_CHUNK: START (role reasoning), CONTENT, END. */
static void test_expand_reasoning_chunks(void **state)
{
    json_t *c = agui_ctx_new();
    EXP_NO(c, "{'type':'REASONING_MESSAGE_CHUNK','delta':'x'}", "messageId");
    EXP(c, "{'type':'REASONING_MESSAGE_CHUNK','messageId':'r1','delta':'hm'}",
        "[{'type':'REASONING_MESSAGE_START','messageId':'r1','role':'reasoning'},"
        "{'type':'REASONING_MESSAGE_CONTENT','messageId':'r1','delta':'hm'}]");
    EXP(c, "{'type':'REASONING_MESSAGE_CHUNK','delta':'m'}",
        "[{'type':'REASONING_MESSAGE_CONTENT','messageId':'r1','delta':'m'}]");
    EXP(c, "{'type':'REASONING_MESSAGE_CHUNK','messageId':'r2'}",
        "[{'type':'REASONING_MESSAGE_END','messageId':'r1'},"
        "{'type':'REASONING_MESSAGE_START','messageId':'r2','role':'reasoning'}]");
    EXP(c, "{'type':'TEXT_MESSAGE_CHUNK','messageId':'r2','delta':'t'}",
        "[{'type':'REASONING_MESSAGE_END','messageId':'r2'}," TSTART("r2", "assistant") "," TCONT(
            "r2", "t") "]");
    json_decref(c);
}

/* The client keeps one pending stream per subagent (REFERENCE.md 3.1, lanes): an event of
 * subagent s1 closes s1's stream, not the parent's, whose chunks go on without an id. */
static void test_expand_lanes_per_subagent(void **state)
{
    json_t *c = agui_ctx_new();
    EXP(c, "{'type':'TEXT_MESSAGE_CHUNK','messageId':'m','delta':'a'}",
        "[" TSTART("m", "assistant") "," TCONT("m", "a") "]");
    EXP(c, "{'type':'CUSTOM','name':'c','value':'v','subagentRunId':'s1'}",
        "[{'type':'CUSTOM','name':'c','value':'v','subagentRunId':'s1'}]");
    EXP(c, "{'type':'TEXT_MESSAGE_CHUNK','delta':'b'}", "[" TCONT("m", "b") "]");
    json_decref(c);
}

/* The whole order through expansion, as an ingest runs it: MAIN of REFERENCE.md section 7. */
static void test_expand_and_verify_main(void **state)
{
    json_t *events = jin("[" RS(
        "r1") ",{'type':'STEP_STARTED','stepName':'s1'},{'type':'TEXT_MESSAGE_CHUNK',"
              "'messageId':'c1','delta':'chunk1'},{'type':'TEXT_MESSAGE_CHUNK','delta':'+chunk2'},{"
              "'type':'TOOL_CALL_CHUNK','toolCallId':'tc4','toolCallName':'chunked','"
              "parentMessageId':"
              "'c1','delta':'{`a`'},{'type':'TOOL_CALL_CHUNK','delta':':1}'},{'type':'RAW','event':"
              "1},"
              "{'type':'REASONING_MESSAGE_CHUNK','messageId':'rm','delta':'x'},{'type':'STEP_"
              "FINISHED',"
              "'stepName':'s1'}," RF("r1") "," RS(
                  "r2") ",{'type':'TEXT_MESSAGE_CHUNK','messageId':'z'}"
                        "," RF("r2") "]");
    json_t *c = agui_ctx_new();
    struct agui_error e;
    int bad = verify_all(c, events, true, &e);
    if (bad >= 0) fail_msg("event %d refused (%s: %s)", bad, e.field, e.why);
    assert_null(agui_ctx_run(c));
    json_decref(c);
    json_decref(events);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_run_phases),
        cmocka_unit_test(test_verify_run_started_while_open),
        cmocka_unit_test(test_verify_open_and_close),
        cmocka_unit_test(test_verify_finish_names_open),
        cmocka_unit_test(test_verify_finish_other_run),
        cmocka_unit_test(test_verify_steps),
        cmocka_unit_test(test_verify_reasoning_sets),
        cmocka_unit_test(test_verify_unchecked),
        cmocka_unit_test(test_expand_text_chunks),
        cmocka_unit_test(test_expand_closing),
        cmocka_unit_test(test_expand_tool_chunks),
        cmocka_unit_test(test_expand_reasoning_chunks),
        cmocka_unit_test(test_expand_lanes_per_subagent),
        cmocka_unit_test(test_expand_and_verify_main),
    };
    return cmocka_run_group_tests_name("agui", tests, NULL, NULL);
}
