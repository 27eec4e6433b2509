/* Streams and helpers shared by the AG-UI view tests: MAIN of /tmp/agui/REFERENCE.md section 7
 * with what the client built from it, a busier run, and applying a list to a view. Include
 * after aguitest.h. */
#ifndef CONVSTORE_AGUISTREAMS_H
#define CONVSTORE_AGUISTREAMS_H

#include "aguiview.h"

#define N(a) (sizeof(a) / sizeof *(a))

/* Applies events [from, to) of the list to v (each parsed as the replay parses it). */
static inline void apply_list(struct aguiview *v, const char *const *events, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        json_t *ev = jout(events[i]);
        aguiview_apply(v, ev);
        json_decref(ev);
    }
}

/* Replaces v's messages with the JSON list (as agent.messages before a run). */
static inline void set_messages(struct aguiview *v, const char *messages)
{
    json_decref(v->messages);
    v->messages = jout(messages);
}

/* REFERENCE.md section 7, MAIN: two runs in one response (the CONTENT metadata left out, see
 * test_event_metadata). */
static const char *const main_stream[] = {
    "{'type':'RUN_STARTED','threadId':'t1','runId':'r1','input':{'threadId':'t1','runId':'r1',"
    "'messages':[{'id':'u1','role':'user','content':'Hi'}]}}",
    "{'type':'STEP_STARTED','stepName':'s1'}",
    "{'type':'REASONING_START','messageId':'rs1'}",
    "{'type':'REASONING_MESSAGE_START','messageId':'rm1','role':'reasoning'}",
    "{'type':'REASONING_MESSAGE_CONTENT','messageId':'rm1','delta':'thinking...'}",
    "{'type':'REASONING_MESSAGE_END','messageId':'rm1'}",
    "{'type':'REASONING_ENCRYPTED_VALUE','subtype':'message','entityId':'rm1','encryptedValue':"
    "'ENC'}",
    "{'type':'REASONING_END','messageId':'rs1'}",
    "{'type':'TEXT_MESSAGE_START','messageId':'a1','role':'assistant','timestamp':1700000000000,"
    "'foo':'unknown-field'}",
    "{'type':'TEXT_MESSAGE_CONTENT','messageId':'a1','delta':'Hello'}",
    "{'type':'TEXT_MESSAGE_CONTENT','messageId':'a1','delta':' there'}",
    "{'type':'TEXT_MESSAGE_END','messageId':'a1'}",
    "{'type':'TOOL_CALL_START','toolCallId':'tc1','toolCallName':'search','parentMessageId':'a1'}",
    "{'type':'TOOL_CALL_ARGS','toolCallId':'tc1','delta':'{`q`:'}",
    "{'type':'TOOL_CALL_ARGS','toolCallId':'tc1','delta':'`x`}'}",
    "{'type':'TOOL_CALL_END','toolCallId':'tc1'}",
    "{'type':'TEXT_MESSAGE_START','messageId':'a2'}",
    "{'type':'TEXT_MESSAGE_CONTENT','messageId':'a2','delta':'trailing text'}",
    "{'type':'TEXT_MESSAGE_END','messageId':'a2'}",
    "{'type':'TOOL_CALL_RESULT','messageId':'tr1','toolCallId':'tc1','content':'result!'}",
    "{'type':'STATE_SNAPSHOT','snapshot':{'count':1,'items':[]}}",
    "{'type':'STATE_DELTA','delta':[{'op':'replace','path':'/count','value':2},{'op':'add',"
    "'path':'/items/-','value':'a'}]}",
    "{'type':'STATE_DELTA','delta':[{'op':'replace','path':'/missing/x','value':1}]}",
    "{'type':'ACTIVITY_SNAPSHOT','messageId':'act1','activityType':'PLAN','content':{'steps':["
    "'a']}}",
    "{'type':'ACTIVITY_DELTA','messageId':'act1','activityType':'PLAN','patch':[{'op':'add',"
    "'path':'/steps/-','value':'b'}]}",
    "{'type':'RAW','event':{'provider':'x'},'source':'openai'}",
    "{'type':'CUSTOM','name':'my','value':{'a':1}}",
    "{'type':'STEP_FINISHED','stepName':'s1'}",
    "{'type':'TOOL_CALL_START','toolCallId':'tc2','toolCallName':'noparent'}",
    "{'type':'TOOL_CALL_ARGS','toolCallId':'tc2','delta':'{}'}",
    "{'type':'TOOL_CALL_END','toolCallId':'tc2'}",
    "{'type':'TEXT_MESSAGE_CHUNK','messageId':'c1','delta':'chunk1'}",
    "{'type':'TEXT_MESSAGE_CHUNK','delta':'+chunk2'}",
    "{'type':'TOOL_CALL_CHUNK','toolCallId':'tc4','toolCallName':'chunked','parentMessageId':'c1',"
    "'delta':'{`a`'}",
    "{'type':'TOOL_CALL_CHUNK','delta':':1}'}",
    "{'type':'RUN_FINISHED','threadId':'t1','runId':'r1','result':{'ok':true},'outcome':{'type':"
    "'success'}}",
    "{'type':'RUN_STARTED','threadId':'t1','runId':'r2'}",
    "{'type':'TOOL_CALL_START','toolCallId':'tc3','toolCallName':'approve','parentMessageId':"
    "'a3'}",
    "{'type':'TOOL_CALL_END','toolCallId':'tc3'}",
    "{'type':'RUN_FINISHED','threadId':'t1','runId':'r2','outcome':{'type':'interrupt',"
    "'interrupts':[{'id':'int1','reason':'approval','toolCallId':'tc3'}]}}",
};

/* agent.messages after MAIN, as the client printed them. */
static const char main_messages[] =
    "[{'id':'u1','role':'user','content':'Hi'},"
    "{'id':'rm1','role':'reasoning','content':'thinking...','encryptedValue':'ENC'},"
    "{'id':'a1','role':'assistant','content':'Hello there','toolCalls':[{'id':'tc1','type':"
    "'function','function':{'name':'search','arguments':'{`q`:`x`}'}}]},"
    "{'id':'tr1','toolCallId':'tc1','role':'tool','content':'result!'},"
    "{'id':'a2','role':'assistant','content':'trailing text'},"
    "{'id':'act1','role':'activity','activityType':'PLAN','content':{'steps':['a','b']}},"
    "{'id':'tc2','role':'assistant','toolCalls':[{'id':'tc2','type':'function','function':{"
    "'name':'noparent','arguments':'{}'}}]},"
    "{'id':'c1','role':'assistant','content':'chunk1+chunk2','toolCalls':[{'id':'tc4','type':"
    "'function','function':{'name':'chunked','arguments':'{`a`:1}'}}]},"
    "{'id':'a3','role':'assistant','toolCalls':[{'id':'tc3','type':'function','function':{"
    "'name':'approve','arguments':''}}]}]";

/* A run with everything open at once somewhere, and chunk streams of each kind. */
static const char *const busy_stream[] = {
    "{'type':'RUN_STARTED','threadId':'t1','runId':'r1','input':{'threadId':'t1','runId':'r1',"
    "'messages':[{'id':'u1','role':'user','content':'Q'}]}}",
    "{'type':'STEP_STARTED','stepName':'plan'}",
    "{'type':'REASONING_START','messageId':'rs'}",
    "{'type':'REASONING_MESSAGE_CHUNK','messageId':'rm','delta':'a'}",
    "{'type':'REASONING_MESSAGE_CHUNK','delta':'b'}",
    "{'type':'TEXT_MESSAGE_START','messageId':'m1'}",
    "{'type':'TEXT_MESSAGE_CONTENT','messageId':'m1','delta':'Hel'}",
    "{'type':'TOOL_CALL_START','toolCallId':'tc1','toolCallName':'search','parentMessageId':'m1'}",
    "{'type':'TOOL_CALL_ARGS','toolCallId':'tc1','delta':'{`q`:'}",
    "{'type':'TEXT_MESSAGE_CONTENT','messageId':'m1','delta':'lo'}",
    "{'type':'STATE_SNAPSHOT','snapshot':{'n':0,'log':[]}}",
    "{'type':'TOOL_CALL_ARGS','toolCallId':'tc1','delta':'`x`}'}",
    "{'type':'STATE_DELTA','delta':[{'op':'replace','path':'/n','value':1}]}",
    "{'type':'REASONING_END','messageId':'rs'}",
    "{'type':'TOOL_CALL_END','toolCallId':'tc1'}",
    "{'type':'TOOL_CALL_RESULT','messageId':'tr1','toolCallId':'tc1','content':'found'}",
    "{'type':'TEXT_MESSAGE_CONTENT','messageId':'m1','delta':'!'}",
    "{'type':'TEXT_MESSAGE_END','messageId':'m1'}",
    "{'type':'STEP_FINISHED','stepName':'plan'}",
    "{'type':'STEP_STARTED','stepName':'act'}",
    "{'type':'TEXT_MESSAGE_CHUNK','messageId':'c1','role':'assistant','delta':'chunk'}",
    "{'type':'TEXT_MESSAGE_CHUNK','messageId':'c1','role':'assistant','delta':'ed'}",
    "{'type':'RAW','event':{'n':1}}",
    "{'type':'TEXT_MESSAGE_CHUNK','delta':' text'}",
    "{'type':'TOOL_CALL_CHUNK','toolCallId':'tc2','toolCallName':'f','delta':'{'}",
    "{'type':'ACTIVITY_SNAPSHOT','messageId':'act1','activityType':'P','content':{'s':1}}",
    "{'type':'TOOL_CALL_CHUNK','toolCallId':'tc2','toolCallName':'f','delta':'}'}",
    "{'type':'REASONING_MESSAGE_CHUNK','messageId':'rm2','delta':'z'}",
    "{'type':'STATE_DELTA','delta':[{'op':'add','path':'/log/-','value':'x'}]}",
    "{'type':'STEP_FINISHED','stepName':'act'}",
    "{'type':'RUN_FINISHED','threadId':'t1','runId':'r1'}",
};

#endif
