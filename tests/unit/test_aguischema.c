/* Unit tests: AG-UI events checked against the schemas @ag-ui/client 1.0 enforces
 * (/tmp/agui/REFERENCE.md section 1), as the ingest parses them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "aguitest.h"

/* --- agui_event_check ---------------------------------------------------------------------- */

/* Checks event text as the ingest does; true when it passes (the error in *err). */
static bool check(const char *text, struct agui_error *err)
{
    json_t *ev = jin(text);
    *err = (struct agui_error){{0}, {0}};
    bool ok =
        agui_event_check(ev, agui_type_parse(json_string_value(json_object_get(ev, "type"))), err);
    json_decref(ev);
    return ok;
}

static void expect_pass(const char *const *events, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct agui_error e;
        if (!check(events[i], &e)) fail_msg("refused (%s: %s): %s", e.field, e.why, events[i]);
    }
}

struct refusal {
    const char *field, *event;
};

static void expect_refused(const struct refusal *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct agui_error e;
        if (check(r[i].event, &e)) fail_msg("passed: %s", r[i].event);
        if (strcmp(e.field, r[i].field) != 0)
            fail_msg("field %s (%s), want %s: %s", e.field, e.why, r[i].field, r[i].event);
    }
}

#define N(a) (sizeof(a) / sizeof *(a))

/* One valid example of every type (each optional member once); every type name reads back. */
static void test_check_each_type(void **state)
{
    static const char *const valid[] = {
        "{'type':'RUN_STARTED','threadId':'t1','runId':'r1','parentRunId':'r0','protocolVersion':"
        "'1.0','input':{'threadId':'t1','runId':'r1','messages':[{'id':'u1','role':'user',"
        "'content':'Hi'}],'state':null,'tools':[{'name':'f','description':'d'}],'context':[],"
        "'forwardedProps':{},'resume':[{'interruptId':'i0','status':'resolved'}]}}",
        "{'type':'RUN_FINISHED','threadId':'t1','runId':'r1','result':{'ok':true},'outcome':{"
        "'type':'interrupt','interrupts':[{'id':'i1','reason':'approval','toolCallId':'tc1'}]},"
        "'usage':[{'model':'m'}]}",
        "{'type':'RUN_FINISHED','threadId':'t1','runId':'r1','outcome':{'type':'success',"
        "'pendingToolCallIds':['tc1']}}",
        "{'type':'RUN_ERROR','message':'boom','code':'E1'}",
        "{'type':'STEP_STARTED','stepName':'s1','metadata':{'k':'v'}}",
        "{'type':'STEP_FINISHED','stepName':'s1','subagentRunId':'sa1'}",
        "{'type':'TEXT_MESSAGE_START','messageId':'m1','role':'user','name':'bob'}",
        "{'type':'TEXT_MESSAGE_CONTENT','messageId':'m1','delta':''}",
        "{'type':'TEXT_MESSAGE_END','messageId':'m1','rawEvent':{'x':1}}",
        "{'type':'TEXT_MESSAGE_CHUNK'}",
        "{'type':'TEXT_MESSAGE_CHUNK','messageId':'m1','role':'developer','delta':'d','name':'n'}",
        "{'type':'TOOL_CALL_START','toolCallId':'tc1','toolCallName':'f','parentMessageId':'m1'}",
        "{'type':'TOOL_CALL_ARGS','toolCallId':'tc1','delta':'{`a`:1}'}",
        "{'type':'TOOL_CALL_END','toolCallId':'tc1'}",
        "{'type':'TOOL_CALL_CHUNK','toolCallId':'tc1','toolCallName':'f','delta':'{'}",
        "{'type':'TOOL_CALL_RESULT','messageId':'tr1','toolCallId':'tc1','role':'tool','content':["
        "{'type':'text','text':'ok'}]}",
        "{'type':'REASONING_START','messageId':'rs1'}",
        "{'type':'REASONING_END','messageId':'rs1'}",
        "{'type':'REASONING_MESSAGE_START','messageId':'rm1','role':'reasoning'}",
        "{'type':'REASONING_MESSAGE_CONTENT','messageId':'rm1','delta':'hm'}",
        "{'type':'REASONING_MESSAGE_END','messageId':'rm1'}",
        "{'type':'REASONING_MESSAGE_CHUNK','delta':'more'}",
        "{'type':'REASONING_ENCRYPTED_VALUE','subtype':'tool-call','entityId':'tc1',"
        "'encryptedValue':'E'}",
        "{'type':'STATE_SNAPSHOT','snapshot':null}",
        "{'type':'STATE_DELTA','delta':[]}",
        "{'type':'STATE_DELTA','delta':[{'op':'add','path':'/a~1b/~0','value':null},{'op':'move',"
        "'from':'/a','path':''},{'op':'test','path':'/x','value':1},{'op':'remove','path':'/x'}]}",
        "{'type':'MESSAGES_SNAPSHOT','messages':[{'id':'d1','role':'developer','content':'x'},"
        "{'id':'s1','role':'system','content':'x','name':'n'},{'id':'u1','role':'user','content':"
        "[{'type':'image','source':{'type':'url','value':'u'}}]},{'id':'a1','role':'assistant',"
        "'toolCalls':[{'id':'tc1','type':'function','function':{'name':'f','arguments':''}}]},"
        "{'id':'t1','role':'tool','content':'r','toolCallId':'tc1','error':'e'},{'id':'act1',"
        "'role':'activity','activityType':'PLAN','content':{}},{'id':'r1','role':'reasoning',"
        "'content':'c','metadata':{}}]}",
        "{'type':'ACTIVITY_SNAPSHOT','messageId':'act1','activityType':'PLAN','content':{'s':[]},"
        "'replace':false}",
        "{'type':'ACTIVITY_DELTA','messageId':'act1','activityType':'PLAN','patch':[{'op':'add',"
        "'path':'/s/-','value':'b'}]}",
        "{'type':'RAW','event':null,'source':'openai'}",
        "{'type':'CUSTOM','name':'c','value':null}",
        "{'type':'SUBAGENT_STARTED','subagentRunId':'sa1','name':'helper','parentToolCallId':'tc1'"
        "}",
        "{'type':'SUBAGENT_FINISHED','subagentRunId':'sa1','outcome':{'type':'success'}}",
        "{'type':'SUBAGENT_ERROR','subagentRunId':'sa1','message':'m','code':'c'}",
    };
    expect_pass(valid, N(valid));
    for (int t = 0; t < AG_UNKNOWN; t++) {
        bool seen = false;
        for (size_t i = 0; i < N(valid) && !seen; i++) {
            json_t *ev = jin(valid[i]);
            seen = (int)agui_type_parse(json_string_value(json_object_get(ev, "type"))) == t;
            json_decref(ev);
        }
        if (!seen) fail_msg("no valid example of %s", agui_type_name((enum agui_type)t));
        assert_int_equal(agui_type_parse(agui_type_name((enum agui_type)t)), t);
    }
    assert_int_equal(agui_type_parse("THINKING_START"), AG_UNKNOWN);
    assert_null(agui_type_name(AG_UNKNOWN));
}

/* A missing required member or one of the wrong type is refused, and named. */
static void test_check_required_and_types(void **state)
{
    static const struct refusal r[] = {
        {"threadId", "{'type':'RUN_STARTED','runId':'r1'}"},
        {"input.messages", "{'type':'RUN_STARTED','threadId':'t','runId':'r','input':{"
                           "'threadId':'t','runId':'r'}}"},
        {"input.tools[0]", "{'type':'RUN_STARTED','threadId':'t','runId':'r','input':{'threadId':"
                           "'t','runId':'r','messages':[],'tools':[1]}}"},
        {"runId", "{'type':'RUN_FINISHED','threadId':'t1'}"},
        {"outcome.interrupts", "{'type':'RUN_FINISHED','threadId':'t','runId':'r','outcome':{"
                               "'type':'interrupt','interrupts':[]}}"},
        {"outcome.interrupts[0].reason", "{'type':'RUN_FINISHED','threadId':'t','runId':'r',"
                                         "'outcome':{'type':'interrupt','interrupts':[{'id':"
                                         "'i'}]}}"},
        {"message", "{'type':'RUN_ERROR','code':'x'}"},
        {"stepName", "{'type':'STEP_STARTED','stepName':3}"},
        {"role", "{'type':'TEXT_MESSAGE_START','messageId':'m1','role':'tool'}"},
        {"delta", "{'type':'TEXT_MESSAGE_CONTENT','messageId':'m1'}"},
        {"delta", "{'type':'TEXT_MESSAGE_CONTENT','messageId':'m1','delta':1}"},
        {"messageId", "{'type':'TEXT_MESSAGE_END'}"},
        {"delta", "{'type':'TEXT_MESSAGE_CHUNK','delta':['a']}"},
        {"toolCallName", "{'type':'TOOL_CALL_START','toolCallId':'tc1'}"},
        {"toolCallId", "{'type':'TOOL_CALL_ARGS','delta':'x'}"},
        {"content", "{'type':'TOOL_CALL_RESULT','messageId':'m','toolCallId':'t','content':5}"},
        {"content", "{'type':'TOOL_CALL_RESULT','messageId':'m','toolCallId':'t','content':[{"
                    "'type':'text'}]}"},
        {"role", "{'type':'TOOL_CALL_RESULT','messageId':'m','toolCallId':'t','content':'x',"
                 "'role':'assistant'}"},
        {"role", "{'type':'REASONING_MESSAGE_START','messageId':'rm1'}"},
        {"subtype", "{'type':'REASONING_ENCRYPTED_VALUE','subtype':'x','entityId':'e',"
                    "'encryptedValue':'v'}"},
        {"snapshot", "{'type':'STATE_SNAPSHOT'}"},
        {"delta[0]", "{'type':'STATE_DELTA','delta':[{'op':'add','path':'b','value':1}]}"},
        {"delta[0]", "{'type':'STATE_DELTA','delta':[{'op':'replace','path':'/b'}]}"},
        {"delta[1]", "{'type':'STATE_DELTA','delta':[{'op':'remove','path':'/a'},{'op':'copy',"
                     "'path':'/b'}]}"},
        {"delta[0]", "{'type':'STATE_DELTA','delta':[{'op':'inc','path':'/b'}]}"},
        {"delta", "{'type':'STATE_DELTA','delta':{}}"},
        {"messages[1].content", "{'type':'MESSAGES_SNAPSHOT','messages':[{'id':'a','role':"
                                "'assistant'},{'id':'u','role':'user'}]}"},
        {"messages[0].toolCallId", "{'type':'MESSAGES_SNAPSHOT','messages':[{'id':'t','role':"
                                   "'tool','content':'x'}]}"},
        {"messages[0].role", "{'type':'MESSAGES_SNAPSHOT','messages':[{'id':'w','role':'wizard'}"
                             "]}"},
        {"messages[0].toolCalls[0].function.arguments",
         "{'type':'MESSAGES_SNAPSHOT','messages':[{'id':'a','role':'assistant','toolCalls':[{"
         "'id':'tc','type':'function','function':{'name':'f'}}]}]}"},
        {"input.messages[0].content", "{'type':'RUN_STARTED','threadId':'t','runId':'r','input':"
                                      "{'threadId':'t','runId':'r','messages':[{'id':'s','role':"
                                      "'system'}]}}"},
        {"content", "{'type':'ACTIVITY_SNAPSHOT','messageId':'a','activityType':'P','content':[]}"},
        {"patch", "{'type':'ACTIVITY_DELTA','messageId':'a','activityType':'P'}"},
        {"event", "{'type':'RAW','source':'s'}"},
        {"value", "{'type':'CUSTOM','name':'c'}"},
        {"name", "{'type':'SUBAGENT_STARTED','subagentRunId':'sa'}"},
        {"metadata", "{'type':'CUSTOM','name':'c','value':1,'metadata':[]}"},
        {"subagentRunId", "{'type':'TEXT_MESSAGE_END','messageId':'m','subagentRunId':7}"},
    };
    expect_refused(r, N(r));
}

/* Null: refused where the client refuses it; the legacy nulls it maps to absent pass. */
static void test_check_nulls(void **state)
{
    static const char *const pass[] = {
        "{'type':'TEXT_MESSAGE_END','messageId':'m','rawEvent':null}",
        "{'type':'TOOL_CALL_START','toolCallId':'tc','toolCallName':'f','parentMessageId':null}",
        "{'type':'TOOL_CALL_CHUNK','toolCallId':'tc','parentMessageId':null}",
        "{'type':'RUN_FINISHED','threadId':'t','runId':'r','outcome':null,'result':null}",
        "{'type':'SUBAGENT_FINISHED','subagentRunId':'sa','result':null}",
        "{'type':'STATE_SNAPSHOT','snapshot':null}",
    };
    expect_pass(pass, N(pass));
    static const struct refusal r[] = {
        {"subagentRunId", "{'type':'CUSTOM','name':'c','value':1,'subagentRunId':null}"},
        {"metadata", "{'type':'CUSTOM','name':'c','value':1,'metadata':null}"},
        {"timestamp", "{'type':'CUSTOM','name':'c','value':1,'timestamp':null}"},
        {"name", "{'type':'TEXT_MESSAGE_START','messageId':'m','name':null}"},
        {"role", "{'type':'TEXT_MESSAGE_START','messageId':'m','role':null}"},
        {"delta", "{'type':'TEXT_MESSAGE_CHUNK','delta':null}"},
        {"code", "{'type':'RUN_ERROR','message':'m','code':null}"},
        {"parentRunId", "{'type':'RUN_STARTED','threadId':'t','runId':'r','parentRunId':null}"},
        {"usage", "{'type':'RUN_FINISHED','threadId':'t','runId':'r','usage':null}"},
        {"replace", "{'type':'ACTIVITY_SNAPSHOT','messageId':'a','activityType':'P','content':{"
                    "},'replace':null}"},
        {"source", "{'type':'RAW','event':1,'source':null}"},
        {"role", "{'type':'TOOL_CALL_RESULT','messageId':'m','toolCallId':'t','content':'x',"
                 "'role':null}"},
        {"messages[0].name", "{'type':'MESSAGES_SNAPSHOT','messages':[{'id':'u','role':'user',"
                             "'content':'x','name':null}]}"},
        {"outcome.interrupts[0].subagentRunId",
         "{'type':'RUN_FINISHED','threadId':'t','runId':'r','outcome':{'type':'interrupt',"
         "'interrupts':[{'id':'i','reason':'r','subagentRunId':null}]}}"},
    };
    expect_refused(r, N(r));
}

/* Rule 5 of REFERENCE.md section 2: `subagentRunId: null` inside the messages of a
 * MESSAGES_SNAPSHOT or of RUN_STARTED.input fails the client's run; so do a subagentRunId or an
 * encryptedValue that is not a string (section 1.3: every message takes them, as strings). */
static void test_check_message_owner_members(void **state)
{
    static const struct refusal r[] = {
        {"messages[0].subagentRunId", "{'type':'MESSAGES_SNAPSHOT','messages':[{'id':'a','role':"
                                      "'assistant','subagentRunId':5}]}"},
        {"messages[0].encryptedValue", "{'type':'MESSAGES_SNAPSHOT','messages':[{'id':'a','role':"
                                       "'assistant','encryptedValue':5}]}"},
        {"messages[0].subagentRunId", "{'type':'MESSAGES_SNAPSHOT','messages':[{'id':'u','role':"
                                      "'user','content':'x','subagentRunId':null}]}"},
        {"input.messages[0].subagentRunId",
         "{'type':'RUN_STARTED','threadId':'t','runId':'r','input':{'threadId':'t','runId':'r',"
         "'messages':[{'id':'u','role':'user','content':'x','subagentRunId':null}]}}"},
    };
    expect_refused(r, N(r));
}

/* The timestamp is an integer (zod z.int()): a fraction is refused, null too. */
static void test_check_float_timestamp(void **state)
{
    static const struct refusal r[] = {
        {"timestamp", "{'type':'RAW','event':1,'timestamp':1700000000000.5}"},
        {"timestamp", "{'type':'RAW','event':1,'timestamp':'1700000000000'}"},
    };
    expect_refused(r, N(r));
}

/* An integer timestamp, as every producer sends it, passes once the ingest has parsed the body
 * (the server reads every number as a real: JSON_DECODE_INT_AS_REAL). */
static void test_check_integer_timestamp(void **state)
{
    static const char *const pass[] = {
        "{'type':'RAW','event':1,'timestamp':1700000000000}",
        "{'type':'RUN_STARTED','threadId':'t','runId':'r','timestamp':0}",
    };
    expect_pass(pass, N(pass));
}

/* Ids convstore keeps as its own (messages, runs) must be convstore ids. */
static void test_check_ids(void **state)
{
    static const struct refusal r[] = {
        {"messageId", "{'type':'TEXT_MESSAGE_START','messageId':'a b'}"},
        {"messageId", "{'type':'REASONING_MESSAGE_START','messageId':'a/b','role':'reasoning'}"},
        {"messageId", "{'type':'TOOL_CALL_RESULT','messageId':'','toolCallId':'t','content':'x'}"},
        {"messageId", "{'type':'ACTIVITY_SNAPSHOT','messageId':'a b','activityType':'P','content':"
                      "{}}"},
        {"runId", "{'type':'RUN_STARTED','threadId':'t','runId':'r 1'}"},
        {"runId", "{'type':'RUN_FINISHED','threadId':'t','runId':'"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'}"}, /* 129 characters */
        {"parentRunId", "{'type':'RUN_STARTED','threadId':'t','runId':'r','parentRunId':'p q'}"},
        {"messages[0].id", "{'type':'MESSAGES_SNAPSHOT','messages':[{'id':'a b','role':'user',"
                           "'content':'x'}]}"},
    };
    expect_refused(r, N(r));
    static const char *const pass[] = {
        "{'type':'RUN_STARTED','threadId':'any thread text','runId':'A-z_0.9:x'}",
        "{'type':'TEXT_MESSAGE_CONTENT','messageId':'not an id, never stored','delta':'x'}",
    };
    expect_pass(pass, N(pass));
}

/* A chunk's messageId becomes the id of the message its expansion opens: it must be a
 * convstore id as much as TEXT_MESSAGE_START's. */
static void test_check_chunk_ids(void **state)
{
    static const struct refusal r[] = {
        {"messageId", "{'type':'TEXT_MESSAGE_CHUNK','messageId':'a b','delta':'x'}"},
        {"messageId", "{'type':'REASONING_MESSAGE_CHUNK','messageId':'a b','delta':'x'}"},
    };
    expect_refused(r, N(r));
}

/* An unknown type is stored verbatim with whatever it carries. */
static void test_check_unknown(void **state)
{
    static const char *const pass[] = {
        "{'type':'FUTURE_EVENT'}",
        "{'type':'THINKING_START','title':null,'delta':5,'messageId':'a b','messages':7}",
    };
    expect_pass(pass, N(pass));
}

/* The client drops an unknown type before any schema is applied (REFERENCE.md 1.0), base
 * members included: convstore should not refuse what the client ignores. */
static void test_check_unknown_base_members(void **state)
{
    static const char *const pass[] = {
        "{'type':'FUTURE_EVENT','timestamp':1.5,'metadata':[],'subagentRunId':null}",
    };
    expect_pass(pass, N(pass));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_each_type),
        cmocka_unit_test(test_check_required_and_types),
        cmocka_unit_test(test_check_nulls),
        cmocka_unit_test(test_check_message_owner_members),
        cmocka_unit_test(test_check_float_timestamp),
        cmocka_unit_test(test_check_integer_timestamp),
        cmocka_unit_test(test_check_ids),
        cmocka_unit_test(test_check_chunk_ids),
        cmocka_unit_test(test_check_unknown),
        cmocka_unit_test(test_check_unknown_base_members),
    };
    return cmocka_run_group_tests_name("aguischema", tests, NULL, NULL);
}
