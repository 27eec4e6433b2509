/* Unit tests: what @ag-ui/client 1.0 builds from a stream (aguiview_apply against its
 * defaultApplyEvents) and its compactEvents (aguicompact), per /tmp/agui/REFERENCE.md
 * sections 3.2, 4 and 7. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "aguitest.h"
#include "aguistreams.h"

static void test_apply_main(void **state)
{
    struct aguiview v;
    aguiview_init(&v);
    apply_list(&v, main_stream, 0, N(main_stream));
    expect_json(v.messages, main_messages, "messages");
    expect_json(v.state, "{'count':2,'items':['a']}", "state");
    assert_false(aguiview_in_run(&v));
    aguiview_free(&v);
}

#define RS1 "{'type':'RUN_STARTED','threadId':'t1','runId':'r1'}"
#define RF1 "{'type':'RUN_FINISHED','threadId':'t1','runId':'r1'}"

/* TOOL_CALL_START: the parent when it is an assistant message, else a new assistant message
 * (the parent's id when no message has it, the toolCallId when there is no parent or it is
 * not an assistant's); an existing toolCallId is reused (renamed, arguments kept).
 * TOOL_CALL_RESULT: right after the message owning the call and the tool messages already
 * after it; at the end when no message owns it. */
static void test_apply_tool_calls(void **state)
{
    static const char *const events[] = {
        RS1,
        "{'type':'TOOL_CALL_START','toolCallId':'tA','toolCallName':'a','parentMessageId':'u'}",
        "{'type':'TOOL_CALL_START','toolCallId':'tB','toolCallName':'b','parentMessageId':"
        "'missing'}",
        "{'type':'TOOL_CALL_START','toolCallId':'tC','toolCallName':'c','parentMessageId':"
        "'missing'}",
        "{'type':'TOOL_CALL_START','toolCallId':'tD','toolCallName':'d'}",
        "{'type':'TOOL_CALL_START','toolCallId':'old-tc','toolCallName':'renamed',"
        "'parentMessageId':'u'}",
        "{'type':'TOOL_CALL_ARGS','toolCallId':'old-tc','delta':'MORE'}",
        "{'type':'TOOL_CALL_ARGS','toolCallId':'tA','delta':'{}'}",
        "{'type':'TOOL_CALL_END','toolCallId':'tA'}",
        "{'type':'TOOL_CALL_END','toolCallId':'tB'}",
        "{'type':'TOOL_CALL_END','toolCallId':'tC'}",
        "{'type':'TOOL_CALL_END','toolCallId':'tD'}",
        "{'type':'TOOL_CALL_END','toolCallId':'old-tc'}",
        "{'type':'TOOL_CALL_RESULT','messageId':'r-old','toolCallId':'old-tc','content':'1'}",
        "{'type':'TOOL_CALL_RESULT','messageId':'r-c','toolCallId':'tC','content':'2'}",
        "{'type':'TOOL_CALL_RESULT','messageId':'r-b','toolCallId':'tB','content':'3','role':"
        "'tool'}",
        "{'type':'TOOL_CALL_RESULT','messageId':'r-x','toolCallId':'nobody','content':[{'type':"
        "'text','text':'4'}]}",
        RF1,
    };
    struct aguiview v;
    aguiview_init(&v);
    set_messages(&v, "[{'id':'u','role':'user','content':'q'},{'id':'old','role':'assistant',"
                     "'content':'existing','toolCalls':[{'id':'old-tc','type':'function',"
                     "'function':{'name':'f','arguments':'{}'}}]}]");
    apply_list(&v, events, 0, N(events));
    expect_json(
        v.messages,
        "[{'id':'u','role':'user','content':'q'},{'id':'old','role':'assistant','content':"
        "'existing','toolCalls':[{'id':'old-tc','type':'function','function':{'name':'renamed',"
        "'arguments':'{}MORE'}}]},{'id':'r-old','toolCallId':'old-tc','role':'tool','content':"
        "'1'},{'id':'tA','role':'assistant','toolCalls':[{'id':'tA','type':'function','function':"
        "{'name':'a','arguments':'{}'}}]},{'id':'missing','role':'assistant','toolCalls':[{'id':"
        "'tB','type':'function','function':{'name':'b','arguments':''}},{'id':'tC','type':"
        "'function','function':{'name':'c','arguments':''}}]},{'id':'r-c','toolCallId':'tC',"
        "'role':'tool','content':'2'},{'id':'r-b','toolCallId':'tB','role':'tool','content':'3'},"
        "{'id':'tD','role':'assistant','toolCalls':[{'id':'tD','type':'function','function':{"
        "'name':'d','arguments':''}}]},{'id':'r-x','toolCallId':'nobody','role':'tool','content':"
        "[{'type':'text','text':'4'}]}]",
        "messages");
    aguiview_free(&v);
}

/* MESSAGES_SNAPSHOT (REFERENCE.md 7(e)): listed ids replaced in place in local order, unlisted
 * ones dropped, new ones appended; local reasoning (activity) kept unless the snapshot has
 * reasoning (activity) of its own. */
static void test_apply_messages_snapshot(void **state)
{
    static const char initial[] =
        "[{'id':'u1','role':'user','content':'q'},{'id':'m1','role':'assistant','content':'old'},"
        "{'id':'local','role':'user','content':'not in snapshot'},{'id':'r9','role':'reasoning',"
        "'content':'local reasoning'},{'id':'act9','role':'activity','activityType':'P',"
        "'content':{}}]";
    static const char *const first[] = {
        RS1,
        "{'type':'MESSAGES_SNAPSHOT','messages':[{'id':'m1','role':'assistant','content':"
        "'REPLACED'},{'id':'u1','role':'user','content':'user replaced'},{'id':'n1','role':"
        "'assistant','content':'new'}]}",
    };
    struct aguiview v;
    aguiview_init(&v);
    set_messages(&v, initial);
    apply_list(&v, first, 0, N(first));
    expect_json(v.messages,
                "[{'id':'u1','role':'user','content':'user replaced'},{'id':'m1','role':"
                "'assistant','content':'REPLACED'},{'id':'r9','role':'reasoning','content':"
                "'local reasoning'},{'id':'act9','role':'activity','activityType':'P',"
                "'content':{}},{'id':'n1','role':'assistant','content':'new'}]",
                "snapshot without reasoning or activity");
    static const char *const second[] = {
        "{'type':'MESSAGES_SNAPSHOT','messages':[{'id':'m1','role':'assistant','content':'R'},"
        "{'id':'r2','role':'reasoning','content':'canonical'}]}",
        "{'type':'MESSAGES_SNAPSHOT','messages':[{'id':'m1','role':'assistant','content':'R'},"
        "{'id':'act2','role':'activity','activityType':'P','content':{'a':1}}]}",
    };
    set_messages(&v, initial);
    apply_list(&v, second, 0, N(second));
    expect_json(v.messages,
                "[{'id':'m1','role':'assistant','content':'R'},{'id':'r2','role':'reasoning',"
                "'content':'canonical'},{'id':'act2','role':'activity','activityType':'P',"
                "'content':{'a':1}}]",
                "snapshots with reasoning, then activity");
    aguiview_free(&v);
}

/* RUN_STARTED.input.messages (REFERENCE.md 7(g)): only ids not held yet, appended; the local
 * copy wins. */
static void test_apply_input_messages(void **state)
{
    static const char *const events[] = {
        "{'type':'RUN_STARTED','threadId':'t1','runId':'r1','input':{'threadId':'t1','runId':"
        "'r1','messages':[{'id':'u1','role':'user','content':'DIFFERENT TEXT'},{'id':'u2',"
        "'role':'user','content':'new from input'}]}}",
        RF1,
    };
    struct aguiview v;
    aguiview_init(&v);
    set_messages(&v, "[{'id':'u1','role':'user','content':'original'},{'id':'a0','role':"
                     "'assistant','content':'x'}]");
    apply_list(&v, events, 0, N(events));
    expect_json(v.messages,
                "[{'id':'u1','role':'user','content':'original'},{'id':'a0','role':'assistant',"
                "'content':'x'},{'id':'u2','role':'user','content':'new from input'}]",
                "messages");
    aguiview_free(&v);
}

/* STATE_SNAPSHOT replaces; STATE_DELTA applies all or nothing, a failing one is skipped
 * (REFERENCE.md 7(x)); a delta before any snapshot applies to {}. */
static void test_apply_state(void **state)
{
    static const char *const deltas[] = {
        RS1,
        "{'type':'STATE_DELTA','delta':[{'op':'add','path':'/a','value':1}]}",
        "{'type':'STATE_DELTA','delta':[{'op':'add','path':'/b','value':2},{'op':'test','path':"
        "'/a','value':5}]}",
        "{'type':'STATE_DELTA','delta':[{'op':'add','path':'/b','value':3}]}",
    };
    struct aguiview v;
    aguiview_init(&v);
    assert_null(v.state);
    apply_list(&v, deltas, 0, N(deltas));
    expect_json(v.state, "{'a':1,'b':3}", "deltas");
    static const char *const snapshot[] = {
        "{'type':'STATE_SNAPSHOT','snapshot':[1]}",
        "{'type':'STATE_DELTA','delta':[{'op':'add','path':'/-','value':2}]}",
        "{'type':'STATE_DELTA','delta':[{'op':'remove','path':'/5'}]}",
    };
    apply_list(&v, snapshot, 0, N(snapshot));
    expect_json(v.state, "[1,2]", "snapshot and deltas");
    aguiview_free(&v);
}

/* TEXT_MESSAGE_START of a held id appends to it, its role kept (REFERENCE.md 7(f), 7(m)). */
static void test_apply_text_reopen(void **state)
{
    static const char *const events[] = {
        RS1,
        "{'type':'TEXT_MESSAGE_START','messageId':'m1','role':'user'}",
        "{'type':'TEXT_MESSAGE_CONTENT','messageId':'m1','delta':' + appended'}",
        "{'type':'TEXT_MESSAGE_END','messageId':'m1'}",
        "{'type':'TEXT_MESSAGE_START','messageId':'m2','role':'developer','name':'dev'}",
        "{'type':'TEXT_MESSAGE_CONTENT','messageId':'m2','delta':'A'}",
        "{'type':'TEXT_MESSAGE_END','messageId':'m2'}",
        "{'type':'TEXT_MESSAGE_START','messageId':'m2'}",
        "{'type':'TEXT_MESSAGE_CONTENT','messageId':'m2','delta':'B'}",
        "{'type':'TEXT_MESSAGE_END','messageId':'m2'}",
        RF1,
    };
    struct aguiview v;
    aguiview_init(&v);
    set_messages(&v, "[{'id':'m1','role':'assistant','content':'existing'}]");
    apply_list(&v, events, 0, N(events));
    expect_json(v.messages,
                "[{'id':'m1','role':'assistant','content':'existing + appended'},{'id':'m2',"
                "'role':'developer','content':'AB','name':'dev'}]",
                "messages");
    aguiview_free(&v);
}

/* ACTIVITY_SNAPSHOT: new, replacing (an activity in place, any other message at its index),
 * or with replace:false changing nothing; ACTIVITY_DELTA patches the content and sets the
 * type, and is ignored for an unknown or non-activity id; text for an activity id is dropped. */
static void test_apply_activity(void **state)
{
    static const char *const events[] = {
        RS1,
        "{'type':'ACTIVITY_DELTA','messageId':'nobody','activityType':'PLAN','patch':[{'op':"
        "'add','path':'/x','value':1}]}",
        "{'type':'ACTIVITY_SNAPSHOT','messageId':'act1','activityType':'PLAN','content':{'s':["
        "'a']}}",
        "{'type':'ACTIVITY_DELTA','messageId':'act1','activityType':'PLAN2','patch':[{'op':'add',"
        "'path':'/s/-','value':'b'}]}",
        "{'type':'ACTIVITY_SNAPSHOT','messageId':'act1','activityType':'PLAN','content':{'s':[]},"
        "'replace':false}",
        "{'type':'TEXT_MESSAGE_START','messageId':'act1'}",
        "{'type':'TEXT_MESSAGE_CONTENT','messageId':'act1','delta':'x'}",
        "{'type':'TEXT_MESSAGE_END','messageId':'act1'}",
        "{'type':'ACTIVITY_DELTA','messageId':'m0','activityType':'PLAN','patch':[]}",
        "{'type':'ACTIVITY_SNAPSHOT','messageId':'m0','activityType':'CARD','content':{'c':1}}",
        "{'type':'ACTIVITY_SNAPSHOT','messageId':'act2','activityType':'CARD','content':{'c':2}}",
        RF1,
    };
    struct aguiview v;
    aguiview_init(&v);
    set_messages(&v, "[{'id':'m0','role':'assistant','content':'hi'},{'id':'u','role':'user',"
                     "'content':'q'}]");
    apply_list(&v, events, 0, N(events));
    expect_json(v.messages,
                "[{'id':'m0','role':'activity','activityType':'CARD','content':{'c':1}},{'id':"
                "'u','role':'user','content':'q'},{'id':'act1','role':'activity','activityType':"
                "'PLAN2','content':{'s':['a','b']}},{'id':'act2','role':'activity',"
                "'activityType':'CARD','content':{'c':2}}]",
                "messages");
    aguiview_free(&v);
}

/* An ACTIVITY_DELTA whose patch fails changes nothing: the client sets activityType only with
 * the patched content (default.ts, ACTIVITY_DELTA: both inside the try). */
static void test_apply_activity_failed_delta(void **state)
{
    static const char *const events[] = {
        RS1,
        "{'type':'ACTIVITY_SNAPSHOT','messageId':'act1','activityType':'PLAN','content':{'s':[]}}",
        "{'type':'ACTIVITY_DELTA','messageId':'act1','activityType':'OTHER','patch':[{'op':"
        "'test','path':'/s','value':5}]}",
    };
    struct aguiview v;
    aguiview_init(&v);
    apply_list(&v, events, 0, N(events));
    expect_json(v.messages,
                "[{'id':'act1','role':'activity','activityType':'PLAN','content':{"
                "'s':[]}}]",
                "messages");
    aguiview_free(&v);
}

/* The messages an event creates carry its subagentRunId (REFERENCE.md 3.2: TEXT_MESSAGE_START,
 * TOOL_CALL_RESULT, REASONING_MESSAGE_START, TOOL_CALL_START's new message). */
static void test_apply_subagent_owner(void **state)
{
    static const char *const events[] = {
        RS1,
        "{'type':'TEXT_MESSAGE_START','messageId':'a1','subagentRunId':'s1'}",
        "{'type':'TEXT_MESSAGE_END','messageId':'a1'}",
        "{'type':'TOOL_CALL_RESULT','messageId':'tr','toolCallId':'x','content':'c',"
        "'subagentRunId':'s1'}",
        RF1,
    };
    struct aguiview v;
    aguiview_init(&v);
    apply_list(&v, events, 0, N(events));
    expect_json(v.messages,
                "[{'id':'a1','role':'assistant','content':'','subagentRunId':'s1'},{'id':'tr',"
                "'toolCallId':'x','role':'tool','content':'c','subagentRunId':'s1'}]",
                "messages");
    aguiview_free(&v);
}

/* --- aguicompact ----------------------------------------------------------------------------- */

struct collected {
    json_t *events, *seqs;
};

static void collect(void *cls, long long seq, json_t *ev)
{
    struct collected *c = cls;
    json_array_append(c->events, ev);
    json_array_append_new(c->seqs, json_integer(seq));
}

/* Compacts the list (event i with seq i + 1) into *out. */
static void compact_list(const char *const *events, size_t n, struct collected *out)
{
    out->events = json_array();
    out->seqs = json_array();
    struct aguicompact *c = aguicompact_new(collect, out);
    for (size_t i = 0; i < n; i++) {
        json_t *ev = jout(events[i]);
        aguicompact_feed(c, (long long)i + 1, ev);
        json_decref(ev);
    }
    aguicompact_finish(c);
}

/*
 * REFERENCE.md section 4 on MAIN's run 1, with a CUSTOM arriving while a1 streams: deltas
 * merged, the CUSTOM moved after a1's END, the state events reduced to one snapshot (the
 * failing delta skipped) placed before RUN_FINISHED, chunks untouched. The expected events
 * are what compactEvents of @ag-ui/client 1.0 returned for this very input.
 */
static void test_compact_main(void **state)
{
    const char *events[40];
    size_t n = 0;
    for (size_t i = 0; i < 36; i++) { /* run 1 */
        events[n++] = main_stream[i];
        if (i == 9) events[n++] = "{'type':'CUSTOM','name':'during','value':1}";
    }
    struct collected got;
    compact_list(events, n, &got);
    char *want = malloc(8192);
    snprintf(
        want, 8192, "[%s,%s,%s,%s,%s,%s,%s,%s,%s,%s", main_stream[0], main_stream[1],
        main_stream[2], main_stream[3], main_stream[4], main_stream[5], main_stream[6],
        main_stream[7], main_stream[8],
        "{'type':'TEXT_MESSAGE_CONTENT','messageId':'a1','delta':'Hello there'},"
        "{'type':'TEXT_MESSAGE_END','messageId':'a1'},"
        "{'type':'CUSTOM','name':'during','value':1},"
        "{'type':'TOOL_CALL_START','toolCallId':'tc1','toolCallName':'search','parentMessageId':"
        "'a1'},{'type':'TOOL_CALL_ARGS','toolCallId':'tc1','delta':'{`q`:`x`}'},"
        "{'type':'TOOL_CALL_END','toolCallId':'tc1'},"
        "{'type':'TEXT_MESSAGE_START','messageId':'a2'},"
        "{'type':'TEXT_MESSAGE_CONTENT','messageId':'a2','delta':'trailing text'},"
        "{'type':'TEXT_MESSAGE_END','messageId':'a2'}");
    size_t len = strlen(want);
    for (size_t i = 19; i < 35; i++) /* TOOL_CALL_RESULT to the last chunk, state left out */
        if (i < 20 || i > 22)
            len += (size_t)snprintf(want + len, 8192 - len, ",%s", main_stream[i]);
    snprintf(want + len, 8192 - len,
             ",{'type':'STATE_SNAPSHOT','snapshot':{'count':2,'items':['a']}},%s]",
             main_stream[35]);
    expect_json(got.events, want, "events");
    /* Every event of a message sent whole carries the seq of its END; a moved event keeps its
     * own; the snapshot has the seq of the last state event it holds. */
    expect_json(got.seqs,
                "[1,2,3,4,5,6,7,8,13,13,13,11,17,17,17,20,20,20,21,25,26,27,28,29,32,32,32,33,34,"
                "35,36,24,37]",
                "seqs");
    free(want);
    json_decref(got.events);
    json_decref(got.seqs);
}

/* Without a snapshot the state events pass unchanged; a message cut off (no END) is flushed
 * at the end, text before tool calls; *_CHUNK events are not compacted. */
static void test_compact_unfinished(void **state)
{
    static const char *const events[] = {
        RS1,
        "{'type':'STATE_DELTA','delta':[{'op':'add','path':'/a','value':1}]}",
        "{'type':'TOOL_CALL_START','toolCallId':'tc','toolCallName':'f'}",
        "{'type':'TOOL_CALL_ARGS','toolCallId':'tc','delta':'{'}",
        "{'type':'TEXT_MESSAGE_START','messageId':'m'}",
        "{'type':'TEXT_MESSAGE_CONTENT','messageId':'m','delta':'a'}",
        "{'type':'STEP_STARTED','stepName':'s'}",
        "{'type':'TEXT_MESSAGE_CONTENT','messageId':'m','delta':'b'}",
        "{'type':'STATE_DELTA','delta':[{'op':'add','path':'/b','value':2}]}",
        "{'type':'TEXT_MESSAGE_CHUNK','messageId':'c','delta':'x'}",
    };
    struct collected got;
    compact_list(events, N(events), &got);
    expect_json(got.events,
                "[" RS1 ",{'type':'TEXT_MESSAGE_START','messageId':'m'},"
                "{'type':'TEXT_MESSAGE_CONTENT','messageId':'m','delta':'ab'},"
                "{'type':'STEP_STARTED','stepName':'s'},"
                "{'type':'TEXT_MESSAGE_CHUNK','messageId':'c','delta':'x'},"
                "{'type':'TOOL_CALL_START','toolCallId':'tc','toolCallName':'f'},"
                "{'type':'TOOL_CALL_ARGS','toolCallId':'tc','delta':'{'},"
                "{'type':'STATE_DELTA','delta':[{'op':'add','path':'/a','value':1}]},"
                "{'type':'STATE_DELTA','delta':[{'op':'add','path':'/b','value':2}]}]",
                "events");
    json_decref(got.events);
    json_decref(got.seqs);
}

/* Event metadata is merged into the message or tool call the event builds or continues
 * (REFERENCE.md 3.2; MAIN: a1 has metadata {k:1}), and compactEvents keeps it on the merged
 * delta (section 4). */
static void test_event_metadata(void **state)
{
    static const char *const events[] = {
        RS1,
        "{'type':'TEXT_MESSAGE_START','messageId':'a1','metadata':{'a':1}}",
        "{'type':'TEXT_MESSAGE_CONTENT','messageId':'a1','delta':'x','metadata':{'k':1}}",
        "{'type':'TEXT_MESSAGE_END','messageId':'a1'}",
        RF1,
    };
    struct aguiview v;
    aguiview_init(&v);
    apply_list(&v, events, 0, N(events));
    expect_json(v.messages,
                "[{'id':'a1','role':'assistant','content':'x','metadata':{'a':1,'k':1}}]",
                "messages");
    aguiview_free(&v);
    struct collected got;
    compact_list(events, N(events), &got);
    expect_json(json_array_get(got.events, 2),
                "{'type':'TEXT_MESSAGE_CONTENT','messageId':'a1','delta':'x','metadata':{'k':1}}",
                "compacted content");
    json_decref(got.events);
    json_decref(got.seqs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply_main),
        cmocka_unit_test(test_apply_tool_calls),
        cmocka_unit_test(test_apply_messages_snapshot),
        cmocka_unit_test(test_apply_input_messages),
        cmocka_unit_test(test_apply_state),
        cmocka_unit_test(test_apply_text_reopen),
        cmocka_unit_test(test_apply_activity),
        cmocka_unit_test(test_apply_activity_failed_delta),
        cmocka_unit_test(test_apply_subagent_owner),
        cmocka_unit_test(test_compact_main),
        cmocka_unit_test(test_compact_unfinished),
        cmocka_unit_test(test_event_metadata),
    };
    return cmocka_run_group_tests_name("aguiview", tests, NULL, NULL);
}
