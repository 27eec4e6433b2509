// Messages with tool calls, tool results, reasoning and activities through the REST API:
// round trips (the JSON text kept as sent), the role rules, and every refusal writing nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, client, listAll, assertStatus, uniq, expectRejected as rejectedWithout } from './lib/harness.mjs';

let srv;
let c;
const T = uniq('tools');
const M = `/v1/threads/${T}/messages`;
const NEW_THREAD = uniq('never');
const CALLS = '[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\\"city\\": \\"Oslo\\"}"}}]';

before(async () => {
  srv = await startServer();
  c = client(srv.url, (await createOrg(uniq('tools'))).api_key);
  assertStatus(await c.post('/v1/threads', { id: T }), 201);
});
after(async () => {
  await srv?.stop();
});

const snapshot = () => listAll(c, `${M}?order=asc&limit=100`);
const expectRejected = (t, cases) =>
  rejectedWithout(t, cases, snapshot, async () => assert.equal((await c.get(`/v1/threads/${NEW_THREAD}`)).status, 404));

test('an assistant message with tool calls and the tool message answering it round-trip', async () => {
  const a = await c.send('POST', M, `{"role":"assistant","content":null,"tool_calls":${CALLS}}`);
  assertStatus(a, 201);
  assert.equal(a.json.content, null);
  assert.ok(a.text.includes(`"tool_calls":${CALLS}`), 'the tool calls come back as the bytes sent');
  assert.equal(a.json.tool_call_id, undefined);
  const tool = await c.post(M, { role: 'tool', content: '{"temp": 4}', tool_call_id: 'call_1' });
  assertStatus(tool, 201);
  assert.equal(tool.json.tool_call_id, 'call_1');
  assert.equal(tool.json.tool_calls, undefined);
  const noContent = await c.post(M, { role: 'assistant', tool_calls: JSON.parse(CALLS) });
  assertStatus(noContent, 201);
  assert.equal(noContent.json.content, null);
  const got = await c.get(`${M}/${a.json.id}`);
  assert.deepEqual(got.json.tool_calls, JSON.parse(CALLS));
  const user = (await c.post(M, { role: 'user', content: 'plain' })).json;
  assert.ok(!('tool_calls' in user) && !('tool_call_id' in user), 'plain messages carry neither member');
});

test('reasoning and activity messages; the role filter finds them', async () => {
  const r = await c.post(M, { role: 'reasoning', content: 'Let me think.' });
  assertStatus(r, 201);
  const act = await c.post(M, { role: 'activity', name: 'PLAN', content: { steps: ['a', 'b'] } });
  assertStatus(act, 201);
  assert.deepEqual(act.json.content, { steps: ['a', 'b'] });
  const list = await c.get(`${M}?role=reasoning`);
  assertStatus(list, 200);
  assert.deepEqual(list.json.data.map((m) => m.id), [r.json.id]);
});

test('batch and thread creation take tool calls too', async () => {
  const b = await c.post(`${M}/batch`, {
    messages: [
      { id: uniq('a'), role: 'assistant', content: '', tool_calls: [{ id: 'c2', type: 'function', function: { name: 'f', arguments: '' } }] },
      { role: 'tool', content: 'ok', tool_call_id: 'c2' },
    ],
  });
  assertStatus(b, 201);
  assert.equal(b.json.data[0].tool_calls[0].id, 'c2');
  assert.equal(b.json.data[1].tool_call_id, 'c2');
  const tid = uniq('made');
  const t = await c.post('/v1/threads', { id: tid, messages: [{ role: 'assistant', tool_calls: [{ id: 'c3', type: 'function', function: { name: 'g', arguments: '{}' } }] }] });
  assertStatus(t, 201);
  const msgs = await c.get(`/v1/threads/${tid}/messages`);
  assert.equal(msgs.json.data[0].tool_calls[0].function.name, 'g');
});

test('PATCH replaces the tool calls of an assistant message, and only of one', async () => {
  const a = (await c.post(M, { role: 'assistant', content: 'calling', status: 'in_progress' })).json;
  const p = await c.patch(`${M}/${a.id}`, { tool_calls: JSON.parse(CALLS), status: 'completed' });
  assertStatus(p, 200);
  assert.deepEqual(p.json.tool_calls, JSON.parse(CALLS));
  assert.equal(p.json.status, 'completed');
  const u = (await c.post(M, { role: 'user', content: 'hi' })).json;
  const refused = await c.patch(`${M}/${u.id}`, { tool_calls: [] });
  assert.equal(refused.status, 400);
  assert.equal(refused.json.errors[0].field, 'tool_calls');
  assert.equal((await c.get(`${M}/${u.id}`)).json.tool_calls, undefined);
});

const call = (over = {}, fn = {}) => ({ id: 'c', type: 'function', function: { name: 'f', arguments: '{}', ...fn }, ...over });

test('bad tool calls and misplaced members are 400 naming the field; nothing is written', async (t) => {
  const bad = (label, body, field) => ({ label, send: () => c.post(M, body), status: 400, code: 'validation_failed', field });
  const asst = (tool_calls) => ({ role: 'assistant', content: 'x', tool_calls });
  await expectRejected(t, [
    bad('tool_calls on a user message', { role: 'user', content: 'x', tool_calls: [call()] }, 'tool_calls'),
    bad('tool_call_id on an assistant message', { role: 'assistant', content: 'x', tool_call_id: 'c' }, 'tool_call_id'),
    bad('tool_calls not an array', asst({}), 'tool_calls'),
    bad('129 tool calls', asst(Array.from({ length: 129 }, (_, i) => call({ id: `c${i}` }))), 'tool_calls'),
    bad('a tool call that is a string', asst(['c']), 'tool_calls[0]'),
    bad('a tool call without id', asst([{ type: 'function', function: { name: 'f', arguments: '' } }]), 'tool_calls[0]'),
    bad('an empty tool call id', asst([call({ id: '' })]), 'tool_calls[0]'),
    bad('a 257-character tool call id', asst([call({ id: 'x'.repeat(257) })]), 'tool_calls[0]'),
    bad('type other than function', asst([call({ type: 'code' })]), 'tool_calls[0]'),
    bad('function missing arguments', asst([{ id: 'c', type: 'function', function: { name: 'f' } }]), 'tool_calls[0]'),
    bad('arguments as an object', asst([call({}, { arguments: { a: 1 } })]), 'tool_calls[0]'),
    bad('an empty function name', asst([call({}, { name: '' })]), 'tool_calls[0]'),
    bad('an unknown member in a tool call', asst([call({ extra: 1 })]), 'tool_calls[0]'),
    bad('an unknown member in function', asst([call({}, { strict: true })]), 'tool_calls[0]'),
    bad('the second call bad', asst([call(), call({ type: 1 })]), 'tool_calls[1]'),
    bad('content null without tool calls', { role: 'assistant', content: null }, 'content'),
    bad('content missing on a tool message', { role: 'tool', tool_call_id: 'c' }, 'content'),
    bad('tool_call_id as a number', { role: 'tool', content: 'x', tool_call_id: 5 }, 'tool_call_id'),
    bad('tool_call_id with a newline', { role: 'tool', content: 'x', tool_call_id: 'a\nb' }, 'tool_call_id'),
    bad('activity content a string', { role: 'activity', content: 'x' }, 'content'),
    bad('reasoning content an object', { role: 'reasoning', content: { a: 1 } }, 'content'),
    { label: 'batch: the bad call is named with its index', send: () => c.post(`${M}/batch`, { messages: [{ role: 'user', content: 'ok' }, asst([call({ type: 'x' })])] }), status: 400, code: 'validation_failed', field: 'messages[1].tool_calls[0]' },
    { label: 'thread creation with a bad call', send: () => c.post('/v1/threads', { id: NEW_THREAD, messages: [asst([call({ id: 7 })])] }), status: 400, code: 'validation_failed', field: 'messages[0].tool_calls[0]' },
  ]);
});
