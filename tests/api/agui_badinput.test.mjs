// POST /v1/threads/{id}/agui with malformed bodies, events the AG-UI 1.0 schemas refuse, ids
// convstore cannot keep, events out of the order @ag-ui/client enforces, patches that do not apply,
// conflicts and oversized input: the exact 4xx naming the first bad event, nothing written (events,
// messages, state, runs, steps; a never-created thread stays absent), never a 5xx (the harness fails
// any 5xx but 503).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { EventSchema } from '@ag-ui/core/schemas';
import { startServer, createOrg, client, listAll, assertProblem, assertStatus, uniq, expectRejected as rejectedWithout } from './lib/harness.mjs';
import { agentView } from './lib/agui.mjs';

let srv;
let c;
const T = uniq('agui-target'); // RUN open; u1, m-done (with tool call tc-done), tr-done, act1; state {count:1, items:[]}
const T2 = uniq('agui-other'); // OTHER_RUN finished
const NEW = uniq('agui-never'); // never created
const RUN = uniq('run-open');
const OTHER_RUN = uniq('run-other');
const NR = uniq('run-new'); // a run id no request may leave behind
const STATE = { count: 1, items: [] };
const P = (tid) => `/v1/threads/${tid}/agui`;

const RS = (tid, runId, extra = {}) => ({ type: 'RUN_STARTED', threadId: tid, runId, ...extra });
const RF = (tid, runId, extra = {}) => ({ type: 'RUN_FINISHED', threadId: tid, runId, ...extra });
const GOOD = { type: 'CUSTOM', name: 'ping', value: 1 };

before(async () => {
  srv = await startServer();
  c = client(srv.url, (await createOrg(uniq('agui-bad'))).api_key);
  const seed = await c.post(P(T), {
    events: [
      RS(T, RUN, { input: { threadId: T, runId: RUN, messages: [{ id: 'u1', role: 'user', content: 'hi' }] } }),
      { type: 'TEXT_MESSAGE_START', messageId: 'm-done', role: 'assistant' },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm-done', delta: 'done' },
      { type: 'TEXT_MESSAGE_END', messageId: 'm-done' },
      { type: 'TOOL_CALL_START', toolCallId: 'tc-done', toolCallName: 'f', parentMessageId: 'm-done' },
      { type: 'TOOL_CALL_ARGS', toolCallId: 'tc-done', delta: '{}' },
      { type: 'TOOL_CALL_END', toolCallId: 'tc-done' },
      { type: 'TOOL_CALL_RESULT', messageId: 'tr-done', toolCallId: 'tc-done', content: 'ok' },
      { type: 'STATE_SNAPSHOT', snapshot: STATE },
      { type: 'ACTIVITY_SNAPSHOT', messageId: 'act1', activityType: 'PLAN', content: { steps: ['a'] } },
    ],
  });
  assertStatus(seed, 201);
  assertStatus(await c.post(P(T2), { events: [RS(T2, OTHER_RUN), RF(T2, OTHER_RUN)] }), 201);
});
after(async () => {
  await srv?.stop();
});

/** Everything a refused ingest could have changed. */
async function snapshot() {
  const per = async (tid, run) => {
    const ev = await c.get(`/v1/threads/${tid}/events?limit=1000`);
    assertStatus(ev, 200);
    const state = await c.get(`/v1/threads/${tid}/state`);
    assertStatus(state, 200);
    return {
      events: ev.json.data,
      last_seq: ev.json.last_seq,
      messages: await listAll(c, `/v1/threads/${tid}/messages?order=asc&limit=100`),
      state: state.json.state,
      runs: await listAll(c, `/v1/threads/${tid}/runs?limit=100`),
      steps: await listAll(c, `/v1/threads/${tid}/runs/${run}/steps?limit=100`),
    };
  };
  const [t, t2, threads] = await Promise.all([per(T, RUN), per(T2, OTHER_RUN), listAll(c, '/v1/threads?limit=100')]);
  return { t, t2, threads };
}

const show = (v) => {
  const s = v === undefined ? '(missing)' : JSON.stringify(v);
  return s.length > 70 ? `${s.slice(0, 67)}...(${s.length})` : s;
};

/**
 * Each case a subtest: k.send() (or POST {events: k.events} to k.tid, T by default) is refused with
 * k.status/k.code (400 validation_failed by default) naming k.field (or one of k.fields); k.msg is
 * the start of that error's message, k.detail a string the detail holds; nothing was written and
 * NEW (and k.tid when it is another new thread) is still absent.
 */
async function refuse(t, cases) {
  for (const k0 of cases) {
    const k = { status: 400, code: 'validation_failed', ...k0 };
    if (!k.send) k.send = () => c.post(P(k.tid ?? T), { events: k.events });
    await rejectedWithout(t, [k], snapshot, async (r) => {
      if (k.msg !== undefined) {
        const e = (r.json.errors || []).find((x) => x.field === k.field);
        assert.ok(e && e.message.startsWith(k.msg), `errors[] ${k.field} message starts with ${JSON.stringify(k.msg)}: ${r.text}`);
      }
      if (k.detail !== undefined) assert.ok(String(r.json.detail).includes(k.detail), `detail names ${k.detail}: ${r.text}`);
      for (const tid of new Set([NEW, k.tid ?? NEW])) if (tid !== T && tid !== T2) assertProblem(await c.get(`/v1/threads/${tid}`), 404, 'not_found');
    });
  }
}

/** Schema cases: the stock client's schema refuses the event too (so the table itself is right). */
function schemaCase(label, ev, member, at = 1) {
  assert.equal(EventSchema.safeParse(ev).success, false, `@ag-ui/core refuses ${label}`);
  const events = at === 1 ? [GOOD, ev] : [ev];
  return { label, events, field: `events[${at}]`, msg: `${member}` };
}

// ---------------------------------------------------------------------------------------------

test('a body that is not {events: [...], input?} is refused', async (t) => {
  const cases = [];
  for (const tid of [T, NEW]) {
    for (const text of ['{"events":[', '{"events":[{"type":"CUSTOM"}]', '{"events":[],}', '{"events":[] "input":{}}'])
      cases.push({ label: `${tid === T ? 'T' : 'new'}: not JSON ${show(text)}`, send: () => c.send('POST', P(tid), text), code: 'invalid_json' });
    for (const text of ['[]', '[{"type":"RUN_STARTED"}]', '"events"', '1', 'null', 'true'])
      cases.push({ label: `${tid === T ? 'T' : 'new'}: not an object ${text}`, send: () => c.send('POST', P(tid), text), code: 'invalid_json' });
  }
  cases.push(
    { label: 'no body', send: () => c.api('POST', P(T)), field: 'events' },
    { label: 'events missing', send: () => c.post(P(T), {}), field: 'events' },
    { label: 'events missing (new thread)', send: () => c.post(P(NEW), { input: { threadId: NEW, runId: NR, messages: [] } }), field: 'events' },
    { label: 'unknown member next to events', send: () => c.post(P(T), { events: [GOOD], stream: true }), field: 'stream' },
    { label: 'unknown member Events', send: () => c.post(P(NEW), { Events: [] }), field: 'Events' },
    { label: 'events over 10000 items', send: () => c.post(P(T), { events: Array.from({ length: 10001 }, () => GOOD) }), field: 'events' },
    { label: 'events over 10000 items (new thread)', send: () => c.post(P(NEW), { events: [RS(NEW, NR), ...Array.from({ length: 10000 }, () => GOOD)] }), field: 'events' },
    { label: 'input not an object', send: () => c.post(P(T), { events: [GOOD], input: 5 }), field: 'input' },
    { label: 'input without messages', send: () => c.post(P(NEW), { events: [RS(NEW, NR)], input: { threadId: NEW, runId: NR } }), field: 'input' },
    { label: 'input with a message of no role', send: () => c.post(P(NEW), { events: [RS(NEW, NR)], input: { threadId: NEW, runId: NR, messages: [{ id: 'x', content: 'x' }] } }), field: 'input' },
    { label: 'text/plain', send: () => c.send('POST', P(T), JSON.stringify({ events: [GOOD] }), { headers: { 'content-type': 'text/plain' } }), status: 415, code: 'unsupported_media_type' },
  );
  for (const v of [{}, 'RUN_STARTED', null, 5, true]) cases.push({ label: `events ${show(v)}`, send: () => c.post(P(T), { events: v }), field: 'events' });
  await refuse(t, cases);
});

test('an event that is no object with an AG-UI type is refused', async (t) => {
  const bad = [null, 1, 'x', [], [GOOD], true, {}, { name: 'n' }, { type: 1 }, { type: null }, { type: ['CUSTOM'] }, { type: { t: 'CUSTOM' } },
    { type: '' }, { type: 'text_message_start' }, { type: 'Custom' }, { type: 'TEXT.MESSAGE' }, { type: 'a.b' }, { type: 'run.started' },
    { type: '1ABC' }, { type: '_CUSTOM' }, { type: 'X-Y' }, { type: 'X Y' }, { type: 'CUSTOM ' }, { type: 'É' }, { type: 'A'.repeat(129) }];
  const cases = [];
  for (const ev of bad) {
    cases.push({ label: `after a good event: ${show(ev)}`, events: [GOOD, ev], field: 'events[1]' });
    cases.push({ label: `first of a new thread: ${show(ev)}`, tid: NEW, events: [ev, RS(NEW, NR)], field: 'events[0]' });
  }
  await refuse(t, cases);
});

/** A valid instance of every known event type (in T's open run). */
const VALID = {
  RUN_STARTED: { threadId: T, runId: 'r-new' }, RUN_FINISHED: { threadId: T, runId: RUN }, RUN_ERROR: { message: 'boom' },
  STEP_STARTED: { stepName: 's' }, STEP_FINISHED: { stepName: 's' }, TEXT_MESSAGE_START: { messageId: 'm-new', role: 'assistant' },
  TEXT_MESSAGE_CONTENT: { messageId: 'm-new', delta: 'x' }, TEXT_MESSAGE_END: { messageId: 'm-new' },
  TOOL_CALL_START: { toolCallId: 'tc-new', toolCallName: 'f' }, TOOL_CALL_ARGS: { toolCallId: 'tc-new', delta: '{}' },
  TOOL_CALL_END: { toolCallId: 'tc-new' }, TOOL_CALL_RESULT: { messageId: 'tr-new', toolCallId: 'tc-done', content: 'ok' },
  STATE_SNAPSHOT: { snapshot: {} }, STATE_DELTA: { delta: [] }, MESSAGES_SNAPSHOT: { messages: [] },
  ACTIVITY_SNAPSHOT: { messageId: 'act-new', activityType: 'PLAN', content: {} },
  ACTIVITY_DELTA: { messageId: 'act1', activityType: 'PLAN', patch: [] }, RAW: { event: {} }, CUSTOM: { name: 'n', value: 1 },
  REASONING_START: { messageId: 'rs-new' }, REASONING_END: { messageId: 'rs-new' },
  REASONING_MESSAGE_START: { messageId: 'rm-new', role: 'reasoning' }, REASONING_MESSAGE_CONTENT: { messageId: 'rm-new', delta: 'x' },
  REASONING_MESSAGE_END: { messageId: 'rm-new' }, REASONING_ENCRYPTED_VALUE: { subtype: 'message', entityId: 'm-done', encryptedValue: 'e' },
  SUBAGENT_STARTED: { subagentRunId: 'sa', name: 'n' }, SUBAGENT_FINISHED: { subagentRunId: 'sa' },
  SUBAGENT_ERROR: { subagentRunId: 'sa', message: 'm' },
};
/** The required members of each type (REFERENCE §1.2). */
const REQUIRED = {
  RUN_STARTED: ['threadId', 'runId'], RUN_FINISHED: ['threadId', 'runId'], RUN_ERROR: ['message'], STEP_STARTED: ['stepName'],
  STEP_FINISHED: ['stepName'], TEXT_MESSAGE_START: ['messageId'], TEXT_MESSAGE_CONTENT: ['messageId', 'delta'], TEXT_MESSAGE_END: ['messageId'],
  TOOL_CALL_START: ['toolCallId', 'toolCallName'], TOOL_CALL_ARGS: ['toolCallId', 'delta'], TOOL_CALL_END: ['toolCallId'],
  TOOL_CALL_RESULT: ['messageId', 'toolCallId', 'content'], STATE_SNAPSHOT: ['snapshot'], STATE_DELTA: ['delta'], MESSAGES_SNAPSHOT: ['messages'],
  ACTIVITY_SNAPSHOT: ['messageId', 'activityType', 'content'], ACTIVITY_DELTA: ['messageId', 'activityType', 'patch'], RAW: ['event'],
  CUSTOM: ['name', 'value'], REASONING_START: ['messageId'], REASONING_END: ['messageId'], REASONING_MESSAGE_START: ['messageId', 'role'],
  REASONING_MESSAGE_CONTENT: ['messageId', 'delta'], REASONING_MESSAGE_END: ['messageId'],
  REASONING_ENCRYPTED_VALUE: ['subtype', 'entityId', 'encryptedValue'], SUBAGENT_STARTED: ['subagentRunId', 'name'],
  SUBAGENT_FINISHED: ['subagentRunId'], SUBAGENT_ERROR: ['subagentRunId', 'message'],
};

/** What an instance of VALID needs open before it, in a run of its own. */
const OPENER = {
  TEXT_MESSAGE_CONTENT: 'TEXT_MESSAGE_START', TEXT_MESSAGE_END: 'TEXT_MESSAGE_START', TOOL_CALL_ARGS: 'TOOL_CALL_START', TOOL_CALL_END: 'TOOL_CALL_START',
  STEP_FINISHED: 'STEP_STARTED', REASONING_END: 'REASONING_START', REASONING_MESSAGE_CONTENT: 'REASONING_MESSAGE_START',
  REASONING_MESSAGE_END: 'REASONING_MESSAGE_START', SUBAGENT_FINISHED: 'SUBAGENT_STARTED', SUBAGENT_ERROR: 'SUBAGENT_STARTED',
};

test('the valid instances the tables below break are valid AG-UI that convstore accepts', async (t) => {
  for (const [type, v] of Object.entries(VALID)) {
    await t.test(type, async () => {
      assert.ok(EventSchema.safeParse({ type, ...v }).success, 'valid for @ag-ui/core');
      const tid = uniq('valid');
      const run = `${tid}-r`;
      const ev = type === 'RUN_FINISHED' ? RF(tid, run) : { type, ...v };
      const events = type === 'RUN_STARTED' ? [{ ...ev, threadId: tid, runId: run }] : [RS(tid, run), ...(OPENER[type] ? [{ type: OPENER[type], ...VALID[OPENER[type]] }] : []), ev];
      assertStatus(await c.post(P(tid), { events }), 201);
    });
  }
});

test('each known event type without each of its required members: 400 "<member>: ..."', async (t) => {
  const cases = [];
  for (const [type, members] of Object.entries(REQUIRED)) {
    for (const m of members) {
      const { [m]: _gone, ...rest } = VALID[type]; // eslint-disable-line no-unused-vars
      cases.push(schemaCase(`${type} without ${m}`, { type, ...rest }, `${m}:`));
    }
  }
  await refuse(t, cases);
});

/** [type, member, value, the member the message starts with] */
const WRONG = [
  ['TEXT_MESSAGE_CONTENT', 'delta', 5], ['TEXT_MESSAGE_CONTENT', 'delta', null], ['TOOL_CALL_ARGS', 'delta', {}],
  ['REASONING_MESSAGE_CONTENT', 'delta', ['x']], ['TEXT_MESSAGE_CONTENT', 'messageId', 7],
  ['CUSTOM', 'timestamp', 1700000000000.5], ['CUSTOM', 'timestamp', 1.5], ['CUSTOM', 'timestamp', '1700000000000'], ['CUSTOM', 'timestamp', null],
  ['CUSTOM', 'metadata', []], ['CUSTOM', 'metadata', 'x'], ['CUSTOM', 'metadata', null], ['CUSTOM', 'subagentRunId', null], ['CUSTOM', 'subagentRunId', 5],
  ['CUSTOM', 'name', null], ['CUSTOM', 'name', 5], ['STEP_STARTED', 'stepName', null], ['RUN_ERROR', 'code', 5], ['RUN_ERROR', 'message', null],
  ['RAW', 'source', 5], ['TEXT_MESSAGE_START', 'role', 'tool'], ['TEXT_MESSAGE_START', 'role', 'reasoning'], ['TEXT_MESSAGE_START', 'role', 'USER'],
  ['TEXT_MESSAGE_START', 'role', null], ['TEXT_MESSAGE_START', 'name', null], ['TEXT_MESSAGE_START', 'name', 5], ['TEXT_MESSAGE_CHUNK', 'role', 'tool'],
  ['TOOL_CALL_START', 'parentMessageId', 5], ['TOOL_CALL_START', 'toolCallName', null], ['TOOL_CALL_RESULT', 'role', 'user'], ['TOOL_CALL_RESULT', 'role', null],
  ['TOOL_CALL_RESULT', 'content', 5], ['TOOL_CALL_RESULT', 'content', null], ['TOOL_CALL_RESULT', 'content', [{ type: 'text' }]], ['TOOL_CALL_RESULT', 'content', [5]],
  ['REASONING_MESSAGE_START', 'role', 'assistant'], ['REASONING_MESSAGE_START', 'role', null], ['REASONING_ENCRYPTED_VALUE', 'subtype', 'other'],
  ['ACTIVITY_SNAPSHOT', 'content', []], ['ACTIVITY_SNAPSHOT', 'content', 'x'], ['ACTIVITY_SNAPSHOT', 'content', null], ['ACTIVITY_SNAPSHOT', 'replace', 'yes'],
  ['ACTIVITY_DELTA', 'patch', 'x'], ['ACTIVITY_DELTA', 'patch', [{ op: 'add', path: '/a' }]],
  ['STATE_DELTA', 'delta', {}], ['STATE_DELTA', 'delta', null], ['STATE_DELTA', 'delta', [5]], ['STATE_DELTA', 'delta', [{ op: 'bogus', path: '/a' }]],
  ['STATE_DELTA', 'delta', [{ op: 'add', path: 'a', value: 1 }]], ['STATE_DELTA', 'delta', [{ op: 'add', path: '/a' }]],
  ['STATE_DELTA', 'delta', [{ op: 'move', path: '/a' }]], ['STATE_DELTA', 'delta', [{ op: 'copy', path: '/a', from: 'b' }]],
  ['STATE_DELTA', 'delta', [{ op: 'remove', path: '/a~2' }]], ['STATE_DELTA', 'delta', [{ path: '/a' }]],
  ['MESSAGES_SNAPSHOT', 'messages', {}], ['MESSAGES_SNAPSHOT', 'messages', null], ['MESSAGES_SNAPSHOT', 'messages', [5]],
  ['MESSAGES_SNAPSHOT', 'messages', [{ id: 'w', role: 'wizard', content: 'x' }]], ['MESSAGES_SNAPSHOT', 'messages', [{ id: 't', role: 'tool', content: 'x' }]],
  ['MESSAGES_SNAPSHOT', 'messages', [{ role: 'user', content: 'x' }]], ['MESSAGES_SNAPSHOT', 'messages', [{ id: 'u', content: 'x' }]],
  ['MESSAGES_SNAPSHOT', 'messages', [{ id: 'u', role: 'user' }]], ['MESSAGES_SNAPSHOT', 'messages', [{ id: 'd', role: 'developer', content: [{ type: 'text', text: 'x' }] }]],
  ['MESSAGES_SNAPSHOT', 'messages', [{ id: 'r', role: 'reasoning' }]], ['MESSAGES_SNAPSHOT', 'messages', [{ id: 'a', role: 'activity', activityType: 'P', content: 'x' }]],
  ['MESSAGES_SNAPSHOT', 'messages', [{ id: 'a', role: 'assistant', toolCalls: {} }]],
  ['MESSAGES_SNAPSHOT', 'messages', [{ id: 'a', role: 'assistant', toolCalls: [{ id: 't', type: 'function', function: { name: 'n' } }] }]],
  ['MESSAGES_SNAPSHOT', 'messages', [{ id: 'a', role: 'assistant', toolCalls: [{ id: 't', type: 'other', function: { name: 'n', arguments: '' } }] }]],
  ['MESSAGES_SNAPSHOT', 'messages', [{ id: 'u', role: 'user', content: 'x', metadata: [] }]],
  ['RUN_FINISHED', 'outcome', 'done'], ['RUN_FINISHED', 'outcome', { type: 'interrupt', interrupts: [] }],
  ['RUN_FINISHED', 'outcome', { type: 'interrupt', interrupts: [{ id: 'i' }] }], ['RUN_FINISHED', 'usage', {}], ['RUN_FINISHED', 'usage', [5]],
  ['RUN_STARTED', 'protocolVersion', 1], ['RUN_STARTED', 'input', { threadId: T, runId: 'r-new' }], ['RUN_STARTED', 'input', 'x'],
  ['RUN_STARTED', 'input', { threadId: T, runId: 'r-new', messages: [{ id: 'q', role: 'user', content: 5 }] }],
  ['SUBAGENT_STARTED', 'name', 5], ['SUBAGENT_ERROR', 'message', null],
];

test('members of the wrong type or value: 400 "<member>...: ..."', async (t) => {
  await refuse(
    t,
    WRONG.map(([type, m, v]) => schemaCase(`${type} ${m} ${show(v)}`, { type, ...VALID[type], [m]: v }, m)),
  );
});

test('ids convstore keeps as its own must be convstore ids', async (t) => {
  const id = (type, m, v, extra = {}) => ({ label: `${type} ${m} ${show(v)}`, events: [GOOD, { type, ...VALID[type], ...extra, [m]: v }], field: 'events[1]', msg: `${m}:` });
  await refuse(t, [
    id('TEXT_MESSAGE_START', 'messageId', 'a b'),
    id('TEXT_MESSAGE_START', 'messageId', 'x'.repeat(129)),
    id('TEXT_MESSAGE_START', 'messageId', ''),
    id('TEXT_MESSAGE_START', 'messageId', 'é'),
    id('REASONING_MESSAGE_START', 'messageId', 'a/b'),
    id('TOOL_CALL_RESULT', 'messageId', 'a b'),
    id('ACTIVITY_SNAPSHOT', 'messageId', 'a?b'),
    id('RUN_STARTED', 'runId', 'a/b'),
    id('RUN_STARTED', 'runId', 'x'.repeat(129)),
    id('RUN_STARTED', 'parentRunId', 'a b'),
    id('RUN_FINISHED', 'runId', 'a/b'),
    { label: 'MESSAGES_SNAPSHOT message id "a b"', events: [{ type: 'MESSAGES_SNAPSHOT', messages: [{ id: 'a b', role: 'user', content: 'x' }] }], field: 'events[0]', msg: 'messages' },
    { label: 'RUN_STARTED input message id with a slash', tid: NEW, events: [RS(NEW, NR, { input: { threadId: NEW, runId: NR, messages: [{ id: 'a/b', role: 'user', content: 'x' }] } })], field: 'events[0]', msg: 'input' },
    { label: 'TOOL_CALL_START without parent: toolCallId names the message it creates', events: [{ type: 'TOOL_CALL_START', toolCallId: 'a b', toolCallName: 'f' }], field: 'events[0].toolCallId' },
    { label: 'TOOL_CALL_START parentMessageId naming a message to create, 129 chars', events: [{ type: 'TOOL_CALL_START', toolCallId: 't', toolCallName: 'f', parentMessageId: 'p'.repeat(129) }], field: 'events[0].parentMessageId' },
  ]);
});

// A *_CHUNK that opens a stream creates the message under its messageId: it gets the id check
// TEXT_MESSAGE_START gets (else a message "a b" that GET .../messages/{id} cannot address).
test('the messageId a first *_CHUNK creates a message under must be a convstore id', async (t) => {
  const chunk = (label, ev) => {
    const tid = uniq('chunk');
    return { label, tid, events: [RS(tid, `${tid}-r`), ev], fields: ['events[1]', 'events[1].messageId'] };
  };
  await refuse(t, [
    chunk('TEXT_MESSAGE_CHUNK messageId "a b"', { type: 'TEXT_MESSAGE_CHUNK', messageId: 'a b', delta: 'x' }),
    chunk('TEXT_MESSAGE_CHUNK messageId of 129 chars', { type: 'TEXT_MESSAGE_CHUNK', messageId: 'x'.repeat(129), delta: 'x' }),
    chunk('REASONING_MESSAGE_CHUNK messageId "a/b"', { type: 'REASONING_MESSAGE_CHUNK', messageId: 'a/b', delta: 'x' }),
  ]);
});

test('events out of the order the client enforces: 400 naming the event and member', async (t) => {
  const o = (label, events, field, tid = T) => ({ label, events, field, tid });
  const TS = (id, extra = {}) => ({ type: 'TEXT_MESSAGE_START', messageId: id, ...extra });
  const TC = (id) => ({ type: 'TEXT_MESSAGE_CONTENT', messageId: id, delta: 'x' });
  const TE = (id) => ({ type: 'TEXT_MESSAGE_END', messageId: id });
  const ERR = { type: 'RUN_ERROR', message: 'boom' };
  await refuse(t, [
    o('new thread: CUSTOM first', [GOOD], 'events[0].type', NEW),
    o('new thread: TEXT_MESSAGE_START first', [TS('m')], 'events[0].type', NEW),
    o('new thread: RUN_FINISHED first', [RF(NEW, NR)], 'events[0].type', NEW),
    o('new thread: STATE_SNAPSHOT first', [{ type: 'STATE_SNAPSHOT', snapshot: {} }], 'events[0].type', NEW),
    o('new thread: unknown type, then CUSTOM', [{ type: 'MY_EVENT' }, GOOD], 'events[1].type', NEW),
    o('new thread: CUSTOM after RUN_FINISHED', [RS(NEW, NR), GOOD, RF(NEW, NR), GOOD], 'events[3].type', NEW),
    o('new thread: CUSTOM after RUN_ERROR', [ERR, GOOD], 'events[1].type', NEW),
    o('new thread: a second RUN_STARTED while one is open', [RS(NEW, 'r1'), RS(NEW, 'r2')], 'events[1].type', NEW),
    o('CONTENT without START', [TC('ghost')], 'events[0].messageId'),
    o('CONTENT for a message ended in an earlier request', [TC('m-done')], 'events[0].messageId'),
    o('END without START', [TE('ghost')], 'events[0].messageId'),
    o('END twice', [TS('m'), TC('m'), TE('m'), TE('m')], 'events[3].messageId'),
    o('START twice while open', [TS('m'), TS('m')], 'events[1].messageId'),
    o('a first chunk of a text that is open', [TS('m'), { type: 'TEXT_MESSAGE_CHUNK', messageId: 'm', delta: 'x' }], 'events[1].messageId'),
    o('TOOL_CALL_ARGS for an unknown tool call', [{ type: 'TOOL_CALL_ARGS', toolCallId: 'ghost', delta: '{}' }], 'events[0].toolCallId'),
    o('TOOL_CALL_ARGS for a call ended earlier', [{ type: 'TOOL_CALL_ARGS', toolCallId: 'tc-done', delta: '{}' }], 'events[0].toolCallId'),
    o('TOOL_CALL_END for an unknown tool call', [{ type: 'TOOL_CALL_END', toolCallId: 'ghost' }], 'events[0].toolCallId'),
    o('TOOL_CALL_START twice while open', [{ type: 'TOOL_CALL_START', toolCallId: 't', toolCallName: 'f' }, { type: 'TOOL_CALL_START', toolCallId: 't', toolCallName: 'f' }], 'events[1].toolCallId'),
    o('STEP_FINISHED for a step not started', [{ type: 'STEP_FINISHED', stepName: 'never' }], 'events[0].stepName'),
    o('STEP_STARTED twice', [{ type: 'STEP_STARTED', stepName: 's' }, { type: 'STEP_STARTED', stepName: 's' }], 'events[1].stepName'),
    o('REASONING_MESSAGE_CONTENT without START', [{ type: 'REASONING_MESSAGE_CONTENT', messageId: 'ghost', delta: 'x' }], 'events[0].messageId'),
    o('REASONING_END without START', [{ type: 'REASONING_END', messageId: 'ghost' }], 'events[0].messageId'),
    o('RUN_FINISHED while a text message is open', [TS('m'), RF(T, RUN)], 'events[1].type'),
    o('RUN_FINISHED while a tool call is open', [{ type: 'TOOL_CALL_START', toolCallId: 't', toolCallName: 'f' }, RF(T, RUN)], 'events[1].type'),
    o('RUN_FINISHED while a step is open', [{ type: 'STEP_STARTED', stepName: 's' }, RF(T, RUN)], 'events[1].type'),
    o('RUN_FINISHED while a reasoning message is open', [{ type: 'REASONING_MESSAGE_START', messageId: 'r', role: 'reasoning' }, RF(T, RUN)], 'events[1].type'),
    o('RUN_FINISHED while a reasoning span is open', [{ type: 'REASONING_START', messageId: 'r' }, RF(T, RUN)], 'events[1].type'),
    o('RUN_FINISHED with another runId', [RF(T, 'not-the-run')], 'events[0].runId'),
    o('RUN_FINISHED with the runId of a run of another thread', [RF(T, OTHER_RUN)], 'events[0].runId'),
    o('a second RUN_STARTED while one is open in the same request', [RS(T, 'r1'), GOOD, RS(T, 'r2')], 'events[2].type'),
    o('CUSTOM after RUN_FINISHED', [RF(T, RUN), GOOD], 'events[1].type'),
    o('TEXT_MESSAGE_START after RUN_FINISHED', [RF(T, RUN), TS('m')], 'events[1].type'),
    o('STEP_STARTED after RUN_FINISHED', [RF(T, RUN), { type: 'STEP_STARTED', stepName: 's' }], 'events[1].type'),
    o('RUN_FINISHED twice', [RF(T, RUN), RF(T, RUN)], 'events[1].type'),
    o('CUSTOM after RUN_ERROR', [ERR, GOOD], 'events[1].type'),
    o('TOOL_CALL_START after RUN_ERROR', [ERR, { type: 'TOOL_CALL_START', toolCallId: 't', toolCallName: 'f' }], 'events[1].type'),
    o('RUN_FINISHED after RUN_ERROR', [ERR, RF(T, RUN)], 'events[1].type'),
    o('RUN_ERROR twice', [ERR, ERR], 'events[1].type'),
    o('a first TEXT_MESSAGE_CHUNK without messageId', [{ type: 'TEXT_MESSAGE_CHUNK', delta: 'x' }], 'events[0].messageId'),
    o('a first TOOL_CALL_CHUNK without toolCallName', [{ type: 'TOOL_CALL_CHUNK', toolCallId: 't', delta: '{}' }], 'events[0].toolCallName'),
    o('a chunk continuing a stream with another role', [{ type: 'TEXT_MESSAGE_CHUNK', messageId: 'c', role: 'assistant', delta: 'x' }, { type: 'TEXT_MESSAGE_CHUNK', role: 'user', delta: 'y' }], 'events[1]'),
  ]);
});

test('a patch that does not apply is 400 and leaves state and activity as they were', async (t) => {
  const SD = (...ops) => ({ type: 'STATE_DELTA', delta: ops });
  const AD = (id, ...ops) => ({ type: 'ACTIVITY_DELTA', messageId: id, activityType: 'PLAN', patch: ops });
  const p = (label, events, field) => ({ label, events, field });
  await refuse(t, [
    p('remove of a missing path', [SD({ op: 'remove', path: '/missing' })], 'events[0].delta'),
    p('a test that fails', [SD({ op: 'test', path: '/count', value: 99 })], 'events[0].delta'),
    p('replace of a missing path', [SD({ op: 'replace', path: '/nope', value: 1 })], 'events[0].delta'),
    p('add past the end of an array', [SD({ op: 'add', path: '/items/5', value: 1 })], 'events[0].delta'),
    p('add under a missing parent', [SD({ op: 'add', path: '/a/b', value: 1 })], 'events[0].delta'),
    p('move into its own child', [SD({ op: 'move', from: '/items', path: '/items/0' })], 'events[0].delta'),
    p('a good op, then a bad one in the same patch', [SD({ op: 'replace', path: '/count', value: 5 }, { op: 'remove', path: '/missing' })], 'events[0].delta'),
    p('a good delta, then a bad one', [SD({ op: 'replace', path: '/count', value: 5 }), SD({ op: 'remove', path: '/missing' })], 'events[1].delta'),
    p('a snapshot, then a delta that fails on it', [{ type: 'STATE_SNAPSHOT', snapshot: { fresh: true } }, SD({ op: 'test', path: '/fresh', value: false })], 'events[1].delta'),
    p('activity: remove of a missing path', [AD('act1', { op: 'remove', path: '/nope' })], 'events[0].patch'),
    p('activity: a test that fails', [AD('act1', { op: 'test', path: '/steps/0', value: 'z' })], 'events[0].patch'),
    p('activity: a good snapshot, then a delta that fails', [{ type: 'ACTIVITY_SNAPSHOT', messageId: 'act-new', activityType: 'PLAN', content: {} }, AD('act-new', { op: 'remove', path: '/x' })], 'events[1].patch'),
  ]);
  assert.deepEqual((await c.get(`/v1/threads/${T}/state`)).json.state, STATE);
});

test('conflicts: 409 naming the event, nothing written', async (t) => {
  const k = (label, events, code, detail, tid = T) => ({ label, events, tid, status: 409, code, detail });
  const TR = (id) => ({ type: 'TOOL_CALL_RESULT', messageId: id, toolCallId: 'tc-done', content: 'again' });
  await refuse(t, [
    k('RUN_STARTED with the run id of another thread of the org', [RS(T, OTHER_RUN)], 'run_exists', 'events[0]'),
    k('RUN_STARTED with a taken run id after a good event', [GOOD, RS(T, OTHER_RUN)], 'run_exists', 'events[1]'),
    k('new thread: RUN_STARTED with a run id the org has', [RS(NEW, OTHER_RUN)], 'run_exists', 'events[0]', NEW),
    k('RUN_STARTED reusing the open run id of this thread', [RS(T, RUN)], 'run_exists', 'events[0]'),
    k('TOOL_CALL_RESULT with the id of a user message', [TR('u1')], 'message_exists', 'events[0]'),
    k('TOOL_CALL_RESULT with the id of an earlier result', [GOOD, TR('tr-done')], 'message_exists', 'events[1]'),
    k('two TOOL_CALL_RESULTs with one id', [TR('tr-twice'), TR('tr-twice')], 'message_exists', 'events[1]'),
  ]);
});

test('oversized: an event over 256 KiB is 400, a body over 1 MiB is 413', async (t) => {
  const big = (n) => ({ type: 'CUSTOM', name: 'n', value: 'x'.repeat(n) });
  await refuse(t, [
    { label: 'a CUSTOM of 300 KiB', events: [big(300 * 1024)], field: 'events[0]' },
    { label: 'a delta of 300 KiB after a START', events: [{ type: 'TEXT_MESSAGE_START', messageId: 'm' }, { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'x'.repeat(300 * 1024) }], field: 'events[1]' },
    { label: 'one byte over 256 KiB', events: [GOOD, sized(262145)], field: 'events[1]' },
    { label: 'new thread: RUN_STARTED with an input over 256 KiB', tid: NEW, events: [RS(NEW, NR, { input: { threadId: NEW, runId: NR, messages: [{ id: 'q', role: 'user', content: 'x'.repeat(270000) }] } })], field: 'events[0]' },
    { label: 'a body over 1 MiB', events: [big(1100 * 1024)], status: 413, code: 'payload_too_large' },
    { label: 'five events under 256 KiB making a body over 1 MiB', events: Array.from({ length: 5 }, () => big(250 * 1024)), status: 413, code: 'payload_too_large' },
    { label: 'new thread: a body over 1 MiB', tid: NEW, events: [RS(NEW, NR), big(1100 * 1024)], status: 413, code: 'payload_too_large' },
  ]);
});

/** A CUSTOM event whose JSON text is exactly n bytes. */
function sized(n) {
  const ev = { type: 'CUSTOM', name: 'n', value: '' };
  ev.value = 'x'.repeat(n - JSON.stringify(ev).length);
  assert.equal(JSON.stringify(ev).length, n);
  return ev;
}

test('the error names the bad event in the middle of a batch of 50 good ones', async (t) => {
  const good = [{ type: 'TEXT_MESSAGE_START', messageId: 'batch' }, ...Array.from({ length: 48 }, (_, i) => ({ type: 'TEXT_MESSAGE_CONTENT', messageId: 'batch', delta: `${i} ` })), { type: 'TEXT_MESSAGE_END', messageId: 'batch' }];
  assert.equal(good.length, 50);
  const at25 = (bad) => [...good.slice(0, 25), bad, ...good.slice(25)];
  await refuse(t, [
    { label: 'not an object', events: at25(null), field: 'events[25]' },
    { label: 'a lower-case type', events: at25({ type: 'custom' }), field: 'events[25]' },
    { label: 'CONTENT without delta', events: at25({ type: 'TEXT_MESSAGE_CONTENT', messageId: 'batch' }), field: 'events[25]', msg: 'delta:' },
    { label: 'a float timestamp', events: at25({ ...GOOD, timestamp: 0.5 }), field: 'events[25]', msg: 'timestamp:' },
    { label: 'TOOL_CALL_ARGS for an unknown call', events: at25({ type: 'TOOL_CALL_ARGS', toolCallId: 'ghost', delta: '' }), field: 'events[25].toolCallId' },
    { label: 'RUN_FINISHED while the text is open', events: at25(RF(T, RUN)), field: 'events[25].type' },
    { label: 'a state patch that does not apply', events: at25({ type: 'STATE_DELTA', delta: [{ op: 'remove', path: '/x' }] }), field: 'events[25].delta' },
    { label: 'over 256 KiB', events: at25(sized(262145)), field: 'events[25]' },
    { label: 'a result with a taken message id', events: at25({ type: 'TOOL_CALL_RESULT', messageId: 'u1', toolCallId: 'x', content: '' }), status: 409, code: 'message_exists', detail: 'events[25]' },
    { label: 'a RUN_STARTED with a taken run id', events: at25(RS(T, OTHER_RUN)), status: 409, code: 'run_exists', detail: 'events[25]' },
  ]);
});

// ---------------------------------------------------------------------------------------------
// What is accepted: the nulls the client maps to absent, and events exactly at the size limit.

test('nulls the client takes as absent are accepted, and the stored stream replays', async () => {
  const tid = uniq('nulls');
  const events = [
    RS(tid, 'rn', { input: { threadId: tid, runId: 'rn', messages: [], state: null, forwardedProps: null } }),
    { type: 'CUSTOM', name: 'n', value: null, rawEvent: null },
    { type: 'STATE_SNAPSHOT', snapshot: null },
    { type: 'TOOL_CALL_START', toolCallId: 'tcn', toolCallName: 'f', parentMessageId: null },
    { type: 'TOOL_CALL_END', toolCallId: 'tcn' },
    RF(tid, 'rn', { result: null, outcome: null }),
  ];
  assertStatus(await c.post(P(tid), { events }), 201);
  const got = await agentView(`${srv.url}/v1/threads/${tid}/agui/replay`, { headers: { Authorization: `Bearer ${c.key}` }, forwardedProps: { convstore: { mode: 'events' } } });
  assert.deepEqual(got.messages.map((m) => m.id), ['tcn']);
});

test('an event of exactly 256 KiB is accepted', async () => {
  const tid = uniq('limit');
  assertStatus(await c.post(P(tid), { events: [RS(tid, 'rl'), sized(262144), RF(tid, 'rl')] }), 201);
});

// The request's `input` messages are stored: the 512 KiB content limit every other way of writing
// a message has holds (an event is at most 256 KiB, but `input` sits beside the events).
test('a message over 512 KiB in the request input is refused', async (t) => {
  const tid = uniq('big-input');
  const input = { threadId: tid, runId: `${tid}-r`, messages: [{ id: 'big', role: 'user', content: 'x'.repeat(600 * 1024) }] };
  await refuse(t, [{ label: 'a 600 KiB user message', tid, send: () => c.post(P(tid), { events: [RS(tid, `${tid}-r`)], input }), fields: ['input', 'events[0]'] }]);
});

// AG-UI's `timestamp` is an integer (e.g. Date.now()), read from a body parsed with numbers as reals.
test('integer timestamps are accepted', async () => {
  const tid = uniq('ts');
  const events = [RS(tid, 'rt', { timestamp: 1700000000000 }), { ...GOOD, timestamp: 0 }, RF(tid, 'rt', { timestamp: 1700000000001 })];
  for (const ev of events) assert.ok(EventSchema.safeParse(ev).success, 'valid AG-UI');
  assertStatus(await c.post(P(tid), { events }), 201);
});

// ---------------------------------------------------------------------------------------------
// The server's promise is that a stored stream always replays into the stock client. Each stream
// here is refused by the stock HttpAgent (checked below, from a producer that frames it verbatim),
// so convstore must refuse it too.

/** Whether the stock HttpAgent rejects the stream events (served as plain `data:` frames). */
async function clientRejects(events) {
  const s = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const e of events) res.write(`data: ${JSON.stringify(e)}\n\n`);
      res.end();
    });
  });
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const error = console.error;
  console.error = () => {};
  try {
    await agentView(`http://127.0.0.1:${s.address().port}/`);
    return false;
  } catch {
    return true;
  } finally {
    console.error = error;
    await new Promise((r) => s.close(r));
  }
}

const NESTED = [
  ['RUN_FINISHED usage with a negative count', (tid) => [RS(tid, `${tid}-r`), RF(tid, `${tid}-r`, { usage: [{ inputTokens: -1 }] })]],
  ['RUN_FINISHED usage with a fractional count', (tid) => [RS(tid, `${tid}-r`), RF(tid, `${tid}-r`, { usage: [{ outputTokens: 1.5 }] })]],
  ['RUN_FINISHED usage model not a string', (tid) => [RS(tid, `${tid}-r`), RF(tid, `${tid}-r`, { usage: [{ model: 5 }] })]],
  ['RUN_FINISHED success outcome with pendingToolCallIds [1]', (tid) => [RS(tid, `${tid}-r`), RF(tid, `${tid}-r`, { outcome: { type: 'success', pendingToolCallIds: [1] } })]],
  ['RUN_FINISHED interrupt metadata an array', (tid) => [RS(tid, `${tid}-r`), RF(tid, `${tid}-r`, { outcome: { type: 'interrupt', interrupts: [{ id: 'i', reason: 'r', metadata: [] }] } })]],
  ['RUN_STARTED input.tools [{}]', (tid) => [RS(tid, `${tid}-r`, { input: { threadId: tid, runId: `${tid}-r`, messages: [], tools: [{}] } }), RF(tid, `${tid}-r`)]],
  ['RUN_STARTED input.context [{}]', (tid) => [RS(tid, `${tid}-r`, { input: { threadId: tid, runId: `${tid}-r`, messages: [], context: [{}] } }), RF(tid, `${tid}-r`)]],
  ['RUN_STARTED input.resume with status "bogus"', (tid) => [RS(tid, `${tid}-r`, { input: { threadId: tid, runId: `${tid}-r`, messages: [], resume: [{ interruptId: 'i', status: 'bogus' }] } }), RF(tid, `${tid}-r`)]],
  ['TOOL_CALL_RESULT content: an image part without source', (tid) => [RS(tid, `${tid}-r`), { type: 'TOOL_CALL_RESULT', messageId: 'tr', toolCallId: 'x', content: [{ type: 'image' }] }, RF(tid, `${tid}-r`)]],
  ['TOOL_CALL_RESULT content: a text part with id 5', (tid) => [RS(tid, `${tid}-r`), { type: 'TOOL_CALL_RESULT', messageId: 'tr', toolCallId: 'x', content: [{ type: 'text', text: 't', id: 5 }] }, RF(tid, `${tid}-r`)]],
  ['MESSAGES_SNAPSHOT user content: an image part without source', (tid) => [RS(tid, `${tid}-r`), { type: 'MESSAGES_SNAPSHOT', messages: [{ id: 'u', role: 'user', content: [{ type: 'image' }] }] }, RF(tid, `${tid}-r`)]],
  ['MESSAGES_SNAPSHOT message subagentRunId null', (tid) => [RS(tid, `${tid}-r`), { type: 'MESSAGES_SNAPSHOT', messages: [{ id: 'u', role: 'user', content: 'x', subagentRunId: null }] }, RF(tid, `${tid}-r`)]],
  ['MESSAGES_SNAPSHOT message subagentRunId 5', (tid) => [RS(tid, `${tid}-r`), { type: 'MESSAGES_SNAPSHOT', messages: [{ id: 'u', role: 'user', content: 'x', subagentRunId: 5 }] }, RF(tid, `${tid}-r`)]],
  ['MESSAGES_SNAPSHOT message encryptedValue 5', (tid) => [RS(tid, `${tid}-r`), { type: 'MESSAGES_SNAPSHOT', messages: [{ id: 'u', role: 'user', content: 'x', encryptedValue: 5 }] }, RF(tid, `${tid}-r`)]],
  ['MESSAGES_SNAPSHOT tool call encryptedValue 5', (tid) => [RS(tid, `${tid}-r`), { type: 'MESSAGES_SNAPSHOT', messages: [{ id: 'a', role: 'assistant', toolCalls: [{ id: 't', type: 'function', function: { name: 'n', arguments: '' }, encryptedValue: 5 }] }] }, RF(tid, `${tid}-r`)]],
];

// The nested schemas (TokenUsage, Tool, Context, ResumeEntry, content parts, a message's
// subagentRunId/encryptedValue, an interrupt's metadata, pendingToolCallIds) are checked: stored,
// such a stream would fail in the stock client (ZodError) in every replay mode.
test('streams the stock client refuses for a nested member are refused', async (t) => {
  const cases = [];
  for (const [label, make] of NESTED) {
    assert.ok(await clientRejects(make('page')), `the stock client refuses: ${label}`);
    const tid = uniq('nested');
    cases.push({ label, tid, events: make(tid), fields: ['events[0]', 'events[1]'] });
  }
  await refuse(t, cases);
});

test('after every refusal the open run goes on as if none had been sent', async () => {
  const r = await c.post(P(T), {
    events: [
      { type: 'TEXT_MESSAGE_START', messageId: 'm-late' },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm-late', delta: 'late' },
      { type: 'TEXT_MESSAGE_END', messageId: 'm-late' },
      { type: 'STATE_DELTA', delta: [{ op: 'test', path: '/count', value: 1 }, { op: 'add', path: '/items/-', value: 'x' }] },
      RF(T, RUN, { result: { ok: true } }),
    ],
  });
  assertStatus(r, 201);
  assert.equal((await c.get(`/v1/threads/${T}/runs/${RUN}`)).json.status, 'completed');
  const msgs = await listAll(c, `/v1/threads/${T}/messages?order=asc&limit=100`);
  assert.deepEqual(msgs.map((m) => m.id), ['u1', 'm-done', 'tr-done', 'act1', 'm-late']);
  assert.deepEqual((await c.get(`/v1/threads/${T}/state`)).json.state, { count: 1, items: ['x'] });
  assertProblem(await c.get(`/v1/threads/${NEW}`), 404, 'not_found');
});
