/* Unit tests: the lead-in that lets @ag-ui/client 1.0 resume in the middle of a run
 * (aguiview_lead_in): what it holds, and that a client given it and the rest of the stream
 * builds what a client given the whole stream builds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "aguitest.h"
#include "aguistreams.h"

/* The lead-in after a prefix that leaves a step, a reasoning span, a text message and a tool
 * call open: the run, the messages, the state, and a START for each. */
static void test_lead_in_open_entities(void **state)
{
    struct aguiview v;
    aguiview_init(&v);
    apply_list(&v, busy_stream, 0, 13); /* up to the first STATE_DELTA */
    assert_true(aguiview_in_run(&v));
    json_t *lead = aguiview_lead_in(&v, "t1");
    expect_events(lead,
                  "[{'type':'RUN_STARTED','threadId':'t1','runId':'r1'},"
                  "{'type':'MESSAGES_SNAPSHOT'},"
                  "{'type':'STATE_SNAPSHOT','snapshot':{'n':1,'log':[]}},"
                  "{'type':'STEP_STARTED','stepName':'plan'},"
                  "{'type':'REASONING_START','messageId':'rs'},"
                  "{'type':'TEXT_MESSAGE_START','messageId':'m1','role':'assistant'},"
                  "{'type':'TOOL_CALL_START','toolCallId':'tc1','toolCallName':'search',"
                  "'parentMessageId':'m1'}]",
                  "lead-in");
    expect_json(json_object_get(json_array_get(lead, 1), "messages"),
                "[{'id':'u1','role':'user','content':'Q'},{'id':'rm','role':'reasoning',"
                "'content':'ab'},{'id':'m1','role':'assistant','content':'Hello','toolCalls':[{"
                "'id':'tc1','type':'function','function':{'name':'search','arguments':"
                "'{`q`:`x`}'}}]}]",
                "MESSAGES_SNAPSHOT");
    json_decref(lead);
    aguiview_free(&v);
}

/*
 * The property the lead-in exists for: for every point of a stream where a run is open, a
 * client that receives the lead-in and then the rest of the stream builds what a client that
 * received the whole stream builds, and the order checks accept what it receives.
 */
static void check_every_cut(const char *const *events, size_t n)
{
    struct aguiview whole;
    aguiview_init(&whole);
    apply_list(&whole, events, 0, n);
    int cuts = 0;
    for (size_t cut = 1; cut < n; cut++) {
        struct aguiview before, after;
        aguiview_init(&before);
        apply_list(&before, events, 0, cut);
        if (!aguiview_in_run(&before)) {
            aguiview_free(&before);
            continue;
        }
        cuts++;
        json_t *lead = aguiview_lead_in(&before, "t1");
        json_t *sent = json_deep_copy(lead);
        for (size_t i = cut; i < n; i++)
            json_array_append_new(sent, jout(events[i]));
        aguiview_init(&after);
        size_t i;
        json_t *ev;
        json_array_foreach(sent, i, ev)
        {
            aguiview_apply(&after, ev);
        }
        char what[64], *want = jtext(whole.messages);
        snprintf(what, sizeof what, "messages, cut after event %zu", cut - 1);
        expect_json(after.messages, want, what);
        free(want);
        want = jtext(whole.state ? whole.state : json_null());
        snprintf(what, sizeof what, "state, cut after event %zu", cut - 1);
        expect_json(after.state ? after.state : json_null(), want, what);
        free(want);
        json_t *ctx = agui_ctx_new();
        struct agui_error e;
        int bad = verify_all(ctx, sent, true, &e);
        if (bad >= 0) {
            char *s = jtext(json_array_get(sent, (size_t)bad));
            fail_msg("cut after event %zu: event %d of the lead-in and the rest refused (%s: %s): "
                     "%s",
                     cut - 1, bad, e.field, e.why, s);
        }
        json_decref(ctx);
        json_decref(sent);
        json_decref(lead);
        aguiview_free(&after);
        aguiview_free(&before);
    }
    assert_true(cuts > 0);
    aguiview_free(&whole);
}

static void test_lead_in_every_cut(void **state)
{
    check_every_cut(busy_stream, N(busy_stream));
    check_every_cut(main_stream, N(main_stream));
}

#define RS1 "{'type':'RUN_STARTED','threadId':'t1','runId':'r1'}"
#define RF1 "{'type':'RUN_FINISHED','threadId':'t1','runId':'r1'}"

/* A text chunk stream that names its author on every chunk: resumed in the middle, the next
 * chunk's name must agree with the stream the lead-in opens (REFERENCE.md 3.1: "role/name
 * must agree if present, or it throws"). */
static void test_lead_in_named_chunk(void **state)
{
    static const char *const events[] = {
        RS1,
        "{'type':'TEXT_MESSAGE_CHUNK','messageId':'m','name':'bob','delta':'a'}",
        "{'type':'TEXT_MESSAGE_CHUNK','name':'bob','delta':'b'}",
        RF1,
    };
    check_every_cut(events, N(events));
}

/* A tool chunk stream whose parentMessageId names a user message (the call goes to a new
 * assistant message with the toolCallId as id): a continuation repeating that parent must
 * agree with the stream the lead-in opens. */
static void test_lead_in_chunk_parent(void **state)
{
    static const char *const events[] = {
        "{'type':'RUN_STARTED','threadId':'t1','runId':'r1','input':{'threadId':'t1','runId':"
        "'r1','messages':[{'id':'u','role':'user','content':'q'}]}}",
        "{'type':'TOOL_CALL_CHUNK','toolCallId':'tc','toolCallName':'f','parentMessageId':'u',"
        "'delta':'{'}",
        "{'type':'TOOL_CALL_CHUNK','toolCallId':'tc','parentMessageId':'u','delta':'}'}",
        RF1,
    };
    check_every_cut(events, N(events));
}

/* A MESSAGES_SNAPSHOT that leaves out a message still streaming drops it: the rest of its
 * deltas find no message (REFERENCE.md 3.2). Resumed after that, the lead-in must not bring
 * the message back. */
static void test_lead_in_dropped_message(void **state)
{
    static const char *const events[] = {
        RS1,
        "{'type':'TEXT_MESSAGE_START','messageId':'m'}",
        "{'type':'TEXT_MESSAGE_CONTENT','messageId':'m','delta':'a'}",
        "{'type':'MESSAGES_SNAPSHOT','messages':[{'id':'u','role':'user','content':'q'}]}",
        "{'type':'TEXT_MESSAGE_CONTENT','messageId':'m','delta':'b'}",
        "{'type':'TEXT_MESSAGE_END','messageId':'m'}",
        RF1,
    };
    check_every_cut(events, N(events));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lead_in_open_entities),   cmocka_unit_test(test_lead_in_every_cut),
        cmocka_unit_test(test_lead_in_named_chunk),     cmocka_unit_test(test_lead_in_chunk_parent),
        cmocka_unit_test(test_lead_in_dropped_message),
    };
    return cmocka_run_group_tests_name("aguilead", tests, NULL, NULL);
}
