// POST /v1/threads/{id}/agui with a text/event-stream body that goes wrong: the first frame that is
// not an AG-UI event, or is refused, is named frames[<i>] (400, or 409) once the body ends; the
// frames before it stay committed exactly, nothing after it is stored, and a thread whose first
// frame is refused is never created. Never a 5xx (the harness fails any 5xx but 503).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, createOrg, client, listAll, assertProblem, assertStatus, uniq, sleep } from './lib/harness.mjs';

let srv;
let c;
let bob; // a user key of the same org

before(async () => {
  srv = await startServer();
  c = client(srv.url, (await createOrg(uniq('agui-sse-bad'))).api_key);
  const k = await c.post('/v1/keys', { role: 'user', user_id: 'bob' });
  assertStatus(k, 201);
  bob = client(srv.url, k.json.key);
});
after(async () => {
  await srv?.stop();
});

const frame = (ev) => `data: ${JSON.stringify(ev)}\n\n`;
const RS = (tid) => ({ type: 'RUN_STARTED', threadId: tid, runId: `${tid}-r` });
const START = { type: 'TEXT_MESSAGE_START', messageId: 'm', role: 'assistant' };
const GOOD = [START, { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'kept' }];
const stream = (k, tid, body, headers = {}) =>
  k.api('POST', `/v1/threads/${tid}/agui`, { rawBody: body, headers: { 'content-type': 'text/event-stream', ...headers } });

/** [label, the bad frame's text (a complete frame, blank line included), field, code?] */
const BAD = [
  ['not JSON', 'data: {"type":\n\n', 'frames[N]'],
  ['JSON that is no object', 'data: 5\n\n', 'frames[N]'],
  ['an array', 'data: [{"type":"CUSTOM"}]\n\n', 'frames[N]'],
  ['null', 'data: null\n\n', 'frames[N]'],
  ['a duplicate key', 'data: {"type":"CUSTOM","name":"a","name":"b","value":1}\n\n', 'frames[N]'],
  ['a NUL in a string', 'data: {"type":"CUSTOM","name":"a\\u0000","value":1}\n\n', 'frames[N]'],
  ['a lower-case type', frame({ type: 'custom' }), 'frames[N]'],
  ['no type', frame({ name: 'x' }), 'frames[N]'],
  ['CONTENT without delta', frame({ type: 'TEXT_MESSAGE_CONTENT', messageId: 'm' }), 'frames[N]'],
  ['a float timestamp', frame({ type: 'CUSTOM', name: 'n', value: 1, timestamp: 0.5 }), 'frames[N]'],
  ['a messageId with a space', frame({ type: 'TEXT_MESSAGE_START', messageId: 'a b' }), 'frames[N]'],
  ['CONTENT for an unknown message', frame({ type: 'TEXT_MESSAGE_CONTENT', messageId: 'ghost', delta: 'x' }), 'frames[N].messageId'],
  ['a second RUN_STARTED while the run is open', frame({ type: 'RUN_STARTED', threadId: 'x', runId: 'another' }), 'frames[N].type'],
  ['a state patch that does not apply', frame({ type: 'STATE_DELTA', delta: [{ op: 'remove', path: '/nope' }] }), 'frames[N].delta'],
  ['a CR line end', 'data: {"type":"CUSTOM","name":"n","value":1}\r\n\r\n', 'frames[N]'],
  ['a line that is no SSE field', 'hello\n\n', 'frames[N]'],
  ['a frame over 256 KiB', frame({ type: 'CUSTOM', name: 'n', value: 'x'.repeat(300 * 1024) }), 'frames[N]'],
];

/** Everything stored in thread tid, or null when it does not exist. */
async function stored(tid) {
  const t = await c.get(`/v1/threads/${tid}`);
  if (t.status === 404) return null;
  return {
    events: (await listAll(c, `/v1/threads/${tid}/events?limit=100`)).map((e) => e.data),
    messages: (await listAll(c, `/v1/threads/${tid}/messages?order=asc&limit=100`)).map((m) => [m.id, m.content, m.status]),
    runs: (await listAll(c, `/v1/threads/${tid}/runs?limit=100`)).map((r) => [r.id, r.status]),
  };
}

test('a bad first frame: 400 naming frames[0], and the thread is never created', async (t) => {
  for (const [label, bad, field] of BAD) {
    if (field.includes('.')) continue; // order rules need a run before them
    await t.test(label, async () => {
      const tid = uniq('first');
      const r = await stream(c, tid, bad + frame(RS(tid)));
      assertProblem(r, 400, 'validation_failed', field.replace('N', '0'));
      assert.equal(await stored(tid), null);
    });
  }
  await t.test('a CUSTOM before any RUN_STARTED', async () => {
    const tid = uniq('first');
    assertProblem(await stream(c, tid, frame({ type: 'CUSTOM', name: 'n', value: 1 }) + frame(RS(tid))), 400, 'validation_failed', 'frames[0].type');
    assert.equal(await stored(tid), null);
  });
});

test('a bad frame after good ones: the frames before it are kept exactly, nothing after it', async (t) => {
  for (const [label, bad, field] of BAD) {
    await t.test(label, async () => {
      const tid = uniq('later');
      const before = [RS(tid), ...GOOD];
      const after = [{ type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: ' lost' }, { type: 'TEXT_MESSAGE_END', messageId: 'm' }];
      const r = await stream(c, tid, before.map(frame).join('') + bad + after.map(frame).join(''));
      assertProblem(r, 400, 'validation_failed', field.replace('N', String(before.length)));
      assert.deepEqual(await stored(tid), {
        events: before,
        messages: [['m', 'kept', 'in_progress']],
        runs: [[`${tid}-r`, 'running']],
      });
    });
  }
});

test('a conflict in a streamed body is 409 naming the frame, the frames before it kept', async () => {
  const tid = uniq('conflict');
  const result = { type: 'TOOL_CALL_RESULT', messageId: 'tr', toolCallId: 'x', content: 'ok' };
  const r = await stream(c, tid, [RS(tid), result, result, { type: 'CUSTOM', name: 'n', value: 1 }].map(frame).join(''));
  assertProblem(r, 409, 'message_exists');
  assert.match(r.json.detail, /frames\[2\]/);
  assert.deepEqual((await stored(tid)).events, [RS(tid), result]);
});

test('Idempotency-Key on a streamed body is 400 and nothing is stored', async () => {
  const tid = uniq('idem');
  const r = await stream(c, tid, [RS(tid), ...GOOD].map(frame).join(''), { 'Idempotency-Key': uniq('k') });
  assertProblem(r, 400, 'validation_failed', 'Idempotency-Key');
  assert.equal(await stored(tid), null);
});

test("a user key streaming into another user's thread gets 404 and stores nothing", async () => {
  const tid = uniq('theirs');
  assertStatus(await stream(c, tid, [RS(tid), ...GOOD].map(frame).join('')), 201);
  const was = await stored(tid);
  const r = await stream(bob, tid, [{ type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: ' intruder' }].map(frame).join(''));
  assertProblem(r, 404, 'not_found');
  assert.deepEqual(await stored(tid), was);
});

/** POSTs a streamed body in pieces, each written once the frames before it are committed. */
async function inPieces(tid, pieces) {
  const u = new URL(`${srv.url}/v1/threads/${tid}/agui`);
  let req;
  const answer = new Promise((resolve, reject) => {
    req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { authorization: `Bearer ${c.key}`, 'content-type': 'text/event-stream' } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(body) }));
    });
    req.on('error', reject);
  });
  let sent = 0;
  for (const piece of pieces) {
    await new Promise((r) => req.write(piece.map(frame).join(''), r));
    sent += piece.length;
    for (let i = 0; i < 400 && ((await stored(tid))?.events.length ?? 0) < sent; i++) await sleep(25);
  }
  req.end();
  return answer;
}

// The tee projects each piece of the body in its own transaction; the "second RUN_STARTED in one
// request" rule still sees the whole request, so the answer does not depend on how TCP cut the
// body.
test('a second RUN_STARTED in a later piece of the same streamed body is refused', async () => {
  const tid = uniq('pieces');
  const first = RS(tid);
  const second = { type: 'RUN_STARTED', threadId: tid, runId: `${tid}-r2` };
  const r = await inPieces(tid, [[first, START], [second]]);
  assert.equal(r.status, 400, `expected 400 naming frames[2].type: ${JSON.stringify(r.json)}`);
  assert.equal(r.json.errors[0].field, 'frames[2].type');
  assert.deepEqual((await stored(tid)).runs, [[`${tid}-r`, 'running']]);
});
