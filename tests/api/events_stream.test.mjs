// GET /v1/threads/{id}/events/stream: the event log as Server-Sent Events. Backlog after
// Last-Event-ID / after_seq, then live events; filters; pings; never a skip or a repeat across
// reconnects, concurrent appenders and instances; the ends (thread deleted, key revoked, SIGTERM,
// a reader too slow); abandoned streams free their threads and descriptors.
// (Restarts of the service and of PostgreSQL: serial/events_stream_restart.test.mjs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import readline from 'node:readline';
import { startServer, createOrg, client, raw, assertProblem, assertStatus, uniq, sleep } from './lib/harness.mjs';
import { openStream, eventually } from './lib/sse.mjs';
import { latencyProxy, viaProxy } from './lib/crash.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PING_MS = 300;

let srv; // pings every 300 ms
let A; // org A admin client
let B; // org B admin client
const opened = new Set();

before(async () => {
  srv = await startServer({ CONVSTORE_SSE_PING_MS: String(PING_MS) });
  A = client(srv.url, (await createOrg(uniq('sse-a'))).api_key);
  B = client(srv.url, (await createOrg(uniq('sse-b'))).api_key);
});
after(async () => {
  for (const s of opened) s.destroy();
  await srv?.stop();
});

const E = (tid) => `/v1/threads/${encodeURIComponent(tid)}/events`;
const S = (tid, q = '') => `${E(tid)}/stream${q}`;

/** Opens a stream; a 200 one is registered for cleanup. */
async function open(base, key, urlPath, opts = {}) {
  const s = await openStream(base, urlPath, { key, ...opts });
  if (s.status === 200) opened.add(s);
  return s;
}
async function openOk(base, key, urlPath, opts = {}) {
  const s = await open(base, key, urlPath, opts);
  assert.equal(s.status, 200, `stream ${urlPath}: ${s.status} ${s.text}`);
  return s;
}
function close(...streams) {
  for (const s of streams) {
    s.destroy();
    opened.delete(s);
  }
}

/** Appends events (objects, or type strings) to a thread; returns the reply's events. */
async function append(c, tid, events, status = 201) {
  const r = await c.post(E(tid), { events: events.map((e) => (typeof e === 'string' ? { type: e } : e)) });
  assertStatus(r, status);
  return r.json.data;
}

/** A new thread of org A, without events. */
async function newThread() {
  const r = await A.post('/v1/threads', {});
  assertStatus(r, 201);
  return r.json.id;
}

/** Every event of a thread, via the list (filters as a query string). */
async function listEvents(c, tid, query = '') {
  const out = [];
  let after = 0;
  for (;;) {
    const r = await c.get(`${E(tid)}?limit=1000&after_seq=${after}${query ? '&' + query : ''}`);
    assertStatus(r, 200);
    out.push(...r.json.data);
    if (!r.json.has_more) return out;
    after = r.json.data[r.json.data.length - 1].seq;
  }
}

const range = (from, to) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/** Asserts the stream's seqs are exactly want (in order, no repeat, no gap). */
function assertSeqs(s, want, what = 'stream') {
  const got = s.seqs();
  if (got.length === want.length && got.every((v, i) => v === want[i])) return;
  let i = got.findIndex((v, k) => v !== want[k]);
  if (i < 0) i = got.length;
  assert.fail(
    `${what}: got ${got.length} frames, want ${want.length}; first difference at #${i}: got ${got.slice(Math.max(0, i - 2), i + 3)} want ${want.slice(Math.max(0, i - 2), i + 3)}`,
  );
}

/** Waits until the stream has seen seq `last` (or more frames than expected), then checks seqs. */
async function expectSeqs(s, want, what, ms = 5000) {
  const last = want[want.length - 1];
  await s.waitFor((x) => x.frames.length >= want.length || (x.frames.length && Number(x.lastId()) >= last), ms, `${what}: seq ${last}`);
  assertSeqs(s, want, what);
}

/** Asserts nothing more arrives on s for ms. */
async function assertQuiet(s, ms, what) {
  const n = s.frames.length;
  await sleep(ms);
  assert.equal(s.frames.length, n, `${what}: unexpected frames ${s.seqs().slice(n)}`);
}

/** Every frame of s is exactly `id: <seq>`, `event: <type>`, `data: <JSON>` with LF line ends. */
function assertFrameFormat(s) {
  assert.ok(!s.sawCR, 'no CR anywhere in the stream');
  for (const f of s.frames) {
    assert.equal(f.lines.length, 3, `a frame is three lines: ${JSON.stringify(f.lines)}`);
    assert.match(f.lines[0], /^id: [1-9][0-9]*$/);
    assert.match(f.lines[1], /^event: [A-Za-z0-9_.:/-]{1,128}$/);
    assert.ok(f.lines[2].startsWith('data: {'), `data line: ${f.lines[2].slice(0, 80)}`);
    assert.ok(f.json, `data is JSON: ${f.data.slice(0, 200)}`);
    assert.equal(f.json.object, 'event');
    assert.equal(String(f.json.seq), f.id, 'id is the event seq');
    assert.equal(f.json.type, f.event, 'event is the event type');
  }
  for (const c of s.comments) assert.equal(c, ': ping', 'the only comment is the ping');
}

// ---------------------------------------------------------------------------------------------

test('a stream sends the backlog, then each event as it commits, one frame per event', async () => {
  const tid = uniq('t');
  const first = await append(A, tid, [
    { type: 'run.started', run_id: 'r1', data: { n: 1 } },
    { type: 'TEXT_MESSAGE_CONTENT', run_id: 'r1', step_id: 's1', message_id: 'm1', data: 'héllo 😀 "q" \\ \n', occurred_at: '2026-11-22T10:00:00.5+02:00' },
    { type: 'tool/call:x-y_z', data: [1, null, true, { a: {} }] },
  ]);
  const s = await openOk(A.base, A.key, S(tid));
  assert.equal(s.headers.get('content-type').split(';')[0].trim(), 'text/event-stream');
  assert.equal(s.headers.get('cache-control'), 'no-store');
  assert.ok(s.headers.get('x-request-id'), 'X-Request-Id');
  assert.equal(s.headers.get('content-length'), null, 'a stream has no Content-Length');
  await expectSeqs(s, [1, 2, 3], 'backlog');

  // Live: one event, then a batch, then the client's own whitespace inside data.
  await append(A, tid, [{ type: 'run.finished', run_id: 'r1' }]);
  await expectSeqs(s, [1, 2, 3, 4], 'live');
  await append(A, tid, ['b1', 'b2', 'b3']);
  await expectSeqs(s, range(1, 7), 'live batch');
  const pretty = '{"events":[{"type":"pretty","data":{\n  "a" : [1,\r\n 2],\t"s":"x\\ny",\r"u":"\u2028é"\n}}]}';
  assertStatus(await A.send('POST', E(tid), pretty), 201);
  await expectSeqs(s, range(1, 8), 'pretty data');
  assert.deepEqual(s.frames[7].json.data, { a: [1, 2], s: 'x\ny', u: '\u2028é' });

  assertFrameFormat(s);
  // Each frame's data is the event object, as GET /events/{id} returns it.
  const listed = await listEvents(A, tid);
  assert.equal(listed.length, 8);
  for (const [i, f] of s.frames.entries()) {
    assert.deepEqual(f.json, listed[i], `frame ${f.id} is the listed event`);
    const one = await A.get(`${E(tid)}/${encodeURIComponent(f.json.id)}`);
    assertStatus(one, 200);
    assert.deepEqual(f.json, one.json);
  }
  assert.deepEqual(s.frames[1].json.data, 'héllo 😀 "q" \\ \n');
  assert.equal(s.frames[1].json.run_id, 'r1');
  assert.equal(s.frames[1].json.step_id, 's1');
  assert.equal(s.frames[1].json.message_id, 'm1');
  assert.equal(s.frames[0].json.id, first[0].id);

  // A stream opened now reads the same events from the database: byte-identical frames.
  const again = await openOk(A.base, A.key, S(tid));
  await expectSeqs(again, range(1, 8), 'backlog of the same events');
  assert.deepEqual(
    again.frames.map((f) => f.lines.join('\n')),
    s.frames.map((f) => f.lines.join('\n')),
    'live frames and backlog frames are identical',
  );
  assert.ok(!s.ended && !again.ended, 'streams stay open');
  close(s, again);
});

test('a stream of a thread without events (or with only idempotent replays) waits for the first one', async () => {
  const made = await A.post('/v1/threads', {});
  assertStatus(made, 201);
  const tid = made.json.id;
  const s = await openOk(A.base, A.key, S(tid));
  await assertQuiet(s, 400, 'no events yet');
  const [e1] = await append(A, tid, [{ id: 'ev-1', type: 'one', data: { v: 1 } }]);
  await expectSeqs(s, [1], 'first event');
  // Replaying the same event id is not a new event: nothing is sent for it.
  const replay = await append(A, tid, [{ id: 'ev-1', type: 'one', data: { v: 1 } }], 200);
  assert.equal(replay[0].seq, e1.seq);
  // A batch mixing a replay and a new event: only the new one.
  await append(A, tid, [{ id: 'ev-1', type: 'one', data: { v: 1 } }, { id: 'ev-2', type: 'two' }]);
  await expectSeqs(s, [1, 2], 'only the new event of a mixed batch');
  await assertQuiet(s, 300, 'no repeat of a replayed event');
  close(s);
});

test('after_seq and Last-Event-ID choose where the stream starts; Last-Event-ID wins', async () => {
  const tid = uniq('t');
  await append(A, tid, range(1, 5).map((i) => `e${i}`));
  const cases = [
    ['', undefined, range(1, 5)],
    ['?after_seq=0', undefined, range(1, 5)],
    ['?after_seq=2', undefined, [3, 4, 5]],
    ['', '0', range(1, 5)],
    ['', '4', [5]],
    ['', '004', [5]],
    ['?after_seq=1', '3', [4, 5]],
    ['?after_seq=4', '1', [2, 3, 4, 5]],
    ['?after_seq=5', undefined, []],
    ['', '5', []],
  ];
  const streams = [];
  for (const [q, lastEventId, want] of cases) {
    const s = await openOk(A.base, A.key, S(tid, q), { lastEventId });
    if (want.length) await expectSeqs(s, want, `${q} Last-Event-ID ${lastEventId}`);
    streams.push([s, q, lastEventId, want]);
  }
  await sleep(300);
  for (const [s, q, id, want] of streams) assertSeqs(s, want, `${q} Last-Event-ID ${id} (backlog)`);
  // Then each one goes on live from 6.
  await append(A, tid, ['e6', 'e7']);
  for (const [s, q, id, want] of streams) await expectSeqs(s, [...want, 6, 7], `${q} Last-Event-ID ${id} (live)`);
  close(...streams.map((x) => x[0]));
});

test('a Last-Event-ID (or after_seq) beyond the last seq waits and delivers only what follows it', async () => {
  const tid = uniq('t');
  await append(A, tid, ['a', 'b', 'c']);
  const s = await openOk(A.base, A.key, S(tid), { lastEventId: '6' });
  const q = await openOk(A.base, A.key, S(tid, '?after_seq=7'));
  const far = await openOk(A.base, A.key, S(tid), { lastEventId: '999999999999999999' });
  await assertQuiet(s, 400, 'nothing before seq 7');
  assert.ok(!s.ended && !q.ended && !far.ended, 'a stream from the future waits');
  await append(A, tid, ['d', 'e']); // 4, 5
  await append(A, tid, ['f']); // 6
  await assertQuiet(s, 300, 'seqs 4-6 are not sent');
  await append(A, tid, ['g', 'h', 'i']); // 7, 8, 9
  await expectSeqs(s, [7, 8, 9], 'Last-Event-ID 6');
  await expectSeqs(q, [8, 9], 'after_seq=7');
  assert.equal(far.frames.length, 0);
  assert.ok(!far.ended);
  close(s, q, far);
});

test('pings: an idle stream gets a ": ping" comment every CONVSTORE_SSE_PING_MS', async () => {
  const tid = uniq('t');
  await append(A, tid, ['x']);
  const s = await openOk(A.base, A.key, S(tid));
  await expectSeqs(s, [1], 'backlog');
  await s.waitFor((x) => x.pings >= 3, PING_MS * 3 + 2000, '3 pings');
  assert.equal(s.frames.length, 1, 'pings are not events');
  for (const c of s.comments) assert.equal(c, ': ping');
  // A ping is a comment line followed by a blank line, LF only.
  assert.ok(s.body.includes('\n\n: ping\n\n'), JSON.stringify(s.body.slice(-60)));
  assert.ok(!s.sawCR);
  // Events still arrive between pings.
  await append(A, tid, ['y']);
  await expectSeqs(s, [1, 2], 'an event after pings');
  close(s);
});

test('a quiet stream outlives the idle-connection timeout thanks to its pings', async () => {
  const srv2 = await startServer({ CONVSTORE_SSE_PING_MS: '300', CONVSTORE_CONNECTION_TIMEOUT: '1' });
  try {
    const c = client(srv2.url, (await createOrg(uniq('sse-idle'))).api_key);
    const tid = uniq('t');
    await append(c, tid, ['x']);
    const s = await openOk(c.base, c.key, S(tid));
    await sleep(3000);
    assert.ok(!s.ended, `the stream was cut after ${s.pings} pings`);
    assert.ok(s.pings >= 5, `pings: ${s.pings}`);
    await append(c, tid, ['y']);
    await expectSeqs(s, [1, 2], 'after 3 quiet seconds');
    close(s);
  } finally {
    await srv2.stop();
  }
});

test('reconnecting with Last-Event-ID never skips or repeats, with appends in between and during', async () => {
  const tid = await newThread();
  const TOTAL = 400;
  let appended = 0;
  // One appender adds batches of 1-4 events while the client keeps reconnecting.
  const appender = (async () => {
    let i = 0;
    while (appended < TOTAL) {
      const n = Math.min(TOTAL - appended, 1 + (i++ % 4));
      const got = await append(A, tid, Array.from({ length: n }, (_, k) => ({ type: `k${(appended + k) % 3}`, data: appended + k })));
      appended = got[got.length - 1].seq;
      if (i % 5 === 0) await sleep(5);
    }
  })();
  const seen = [];
  let last;
  let reconnects = 0;
  const deadline = Date.now() + 30000;
  while (seen.length < TOTAL) {
    assert.ok(Date.now() < deadline, `only ${seen.length} of ${TOTAL} events in 30 s`);
    const s = await openOk(A.base, A.key, S(tid), { lastEventId: last });
    reconnects++;
    // Read a few frames (or wait a little when there is nothing yet), then drop the connection.
    const want = 1 + (reconnects % 17);
    await s.waitFor((x) => x.frames.length >= want, 300, 'frames').catch(() => {});
    close(s);
    assertFrameFormat(s);
    for (const f of s.frames) seen.push(Number(f.id));
    if (s.frames.length) last = s.lastId();
  }
  await appender;
  assert.deepEqual(seen, range(1, TOTAL), `${reconnects} reconnects: every seq exactly once, in order`);
  assert.ok(reconnects > 20, `reconnected ${reconnects} times`);
});

test('filters (type, type prefix, run_id, step_id, message_id) in the backlog and live, like the list', async () => {
  const tid = uniq('t');
  const pattern = [
    { type: 'run.started', run_id: 'r1' },
    { type: 'run.finished', run_id: 'r1' },
    { type: 'runner' },
    { type: 'step.started', run_id: 'r1', step_id: 's1' },
    { type: 'TEXT_MESSAGE_CONTENT', run_id: 'r1', step_id: 's1', message_id: 'm1', data: 'hi' },
    { type: 'a_b.c' },
    { type: 'aXb.c' },
    { type: 'run.started', run_id: 'r2' },
    { type: 'run.x.y', run_id: 'r2', step_id: 's2', message_id: 'm2' },
    { type: 'run', run_id: 'r1' },
  ];
  const all = [];
  const add = async (n) => {
    for (let i = 0; i < n; i++) all.push(...(await append(A, tid, pattern)));
  };
  await add(2); // backlog: seqs 1-20
  const filters = [
    ['type=run.started', (e) => e.type === 'run.started'],
    ['type=run.*', (e) => e.type.startsWith('run.')],
    ['type=run.started&type=runner', (e) => e.type === 'run.started' || e.type === 'runner'],
    ['type=run.*&type=step.*', (e) => e.type.startsWith('run.') || e.type.startsWith('step.')],
    ['type=a_b.*', (e) => e.type.startsWith('a_b.')],
    ['type=TEXT_MESSAGE_CONTENT', (e) => e.type === 'TEXT_MESSAGE_CONTENT'],
    ['run_id=r1', (e) => e.run_id === 'r1'],
    ['step_id=s1', (e) => e.step_id === 's1'],
    ['message_id=m2', (e) => e.message_id === 'm2'],
    ['type=run.*&run_id=r2', (e) => e.type.startsWith('run.') && e.run_id === 'r2'],
    ['run_id=r1&step_id=s1&message_id=m1', (e) => e.run_id === 'r1' && e.step_id === 's1' && e.message_id === 'm1'],
    ['type=nothing.like.this', () => false],
    ['run_id=nobody', () => false],
  ];
  const streams = [];
  for (const [q, pred] of filters) streams.push({ q, pred, s: await openOk(A.base, A.key, S(tid, `?${q}`)) });
  // Half of them opened at seq 10 with Last-Event-ID.
  for (const [q, pred] of filters) streams.push({ q, pred, s: await openOk(A.base, A.key, S(tid, `?${q}`), { lastEventId: '10' }), from: 10 });
  await add(3); // live: seqs 21-50
  const want = (x) => all.filter((e) => e.seq > (x.from || 0) && x.pred(e)).map((e) => e.seq);
  for (const x of streams) {
    const w = want(x);
    if (w.length) await expectSeqs(x.s, w, `${x.q} from ${x.from || 0}`);
  }
  await sleep(300);
  for (const x of streams) {
    assertSeqs(x.s, want(x), `${x.q} from ${x.from || 0} (settled)`);
    assertFrameFormat(x.s);
    // The same events as the list with the same filter.
    if (!x.from) {
      const listed = await listEvents(A, tid, x.q);
      assert.deepEqual(x.s.frames.map((f) => f.json), listed, `${x.q}: stream = list`);
    }
  }
  // Filtered-out events advance the position: reconnecting after the last match, with
  // non-matching events appended since, sends only the next match.
  const runStarted = streams[0];
  const lastMatch = runStarted.s.lastId();
  close(...streams.map((x) => x.s));
  await append(A, tid, ['runner', 'run.finished', { type: 'run.started', run_id: 'r9' }, 'zzz']);
  const re = await openOk(A.base, A.key, S(tid, '?type=run.started'), { lastEventId: lastMatch });
  await expectSeqs(re, [53], 'the next match after filtered-out events');
  await append(A, tid, ['zzz', 'run.started']);
  await expectSeqs(re, [53, 56], 'and the next live one');
  await assertQuiet(re, 200, 'nothing else');
  close(re);
});

test('a backlog longer than a page (1,200 events; filtered and not) arrives complete and in order', async () => {
  const tid = uniq('t');
  const mk = (from, n) => Array.from({ length: n }, (_, i) => ({ type: (from + i) % 2 ? 'odd.x' : 'even.x', data: from + i }));
  await append(A, tid, mk(1, 1000));
  await append(A, tid, mk(1001, 200));
  const all = await openOk(A.base, A.key, S(tid));
  const odd = await openOk(A.base, A.key, S(tid, '?type=odd.*'));
  const late = await openOk(A.base, A.key, S(tid, '?type=even.x&after_seq=77'));
  await expectSeqs(all, range(1, 1200), 'unfiltered', 15000);
  await expectSeqs(odd, range(1, 1200).filter((i) => i % 2), 'odd', 15000);
  await expectSeqs(late, range(78, 1200).filter((i) => i % 2 === 0), 'even after 77', 15000);
  await append(A, tid, mk(1201, 2));
  await expectSeqs(all, range(1, 1202), 'then live');
  await expectSeqs(odd, [...range(1, 1200).filter((i) => i % 2), 1201], 'odd then live');
  await expectSeqs(late, [...range(78, 1200).filter((i) => i % 2 === 0), 1202], 'even then live');
  for (const s of [all, odd, late]) assertFrameFormat(s);
  close(all, odd, late);
});

test('bad Last-Event-ID, after_seq and filters are 400 invalid_query (problem+json, not a stream)', async () => {
  const tid = uniq('t');
  await append(A, tid, ['x']);
  const cases = [
    ['Last-Event-ID abc', '', { lastEventId: 'abc' }, 'Last-Event-ID'],
    ['Last-Event-ID -1', '', { lastEventId: '-1' }, 'Last-Event-ID'],
    ['Last-Event-ID 1.5', '', { lastEventId: '1.5' }, 'Last-Event-ID'],
    ['Last-Event-ID +1', '', { lastEventId: '+1' }, 'Last-Event-ID'],
    ['Last-Event-ID 1e3', '', { lastEventId: '1e3' }, 'Last-Event-ID'],
    ['Last-Event-ID 0x10', '', { lastEventId: '0x10' }, 'Last-Event-ID'],
    ['Last-Event-ID 19 digits', '', { lastEventId: '9223372036854775808' }, 'Last-Event-ID'],
    ['Last-Event-ID 1,2', '', { lastEventId: '1,2' }, 'Last-Event-ID'],
    ['Last-Event-ID bad with a good after_seq', '?after_seq=1', { lastEventId: 'x1' }, 'Last-Event-ID'],
    ['after_seq abc', '?after_seq=abc', {}, 'after_seq'],
    ['after_seq -1', '?after_seq=-1', {}, 'after_seq'],
    ['after_seq 1.5', '?after_seq=1.5', {}, 'after_seq'],
    ['after_seq empty', '?after_seq=', {}, 'after_seq'],
    ['after_seq 20 digits', '?after_seq=99999999999999999999', {}, 'after_seq'],
    ['type empty', '?type=', {}, 'type'],
    ['type with a space', '?type=a%20b', {}, 'type'],
    ['type with a bad character', '?type=a%2Bb', {}, 'type'],
    ['type a*', '?type=a*', {}, 'type'],
    ['type a.**', '?type=a.**', {}, 'type'],
    ['type of 129 characters', `?type=${'t'.repeat(129)}`, {}, 'type'],
    ['a bad type among good ones', '?type=ok&type=b%20ad&type=ok2', {}, 'type'],
    ['33 types', `?${range(1, 33).map((i) => `type=t${i}`).join('&')}`, {}, 'type'],
    ['run_id not an id', '?run_id=a%20b', {}, 'run_id'],
    ['step_id not an id', `?step_id=${'s'.repeat(300)}`, {}, 'step_id'],
    ['message_id not an id', '?message_id=%E2%9C%93', {}, 'message_id'],
  ];
  for (const [label, q, opts, field] of cases) {
    const s = await open(A.base, A.key, S(tid, q), opts);
    if (s.status === 200) close(s);
    assert.equal(s.status, 400, `${label}: ${s.status} ${s.text}`);
    assertProblem(s, 400, 'invalid_query', field);
    assert.equal(s.headers.get('content-type'), 'application/problem+json', label);
    assert.notEqual(s.headers.get('cache-control'), 'no-store', `${label}: not a stream`);
  }
  // The same refusals for a thread that does not exist: and it still does not.
  const missing = uniq('nope');
  assertProblem(await open(A.base, A.key, S(missing), { lastEventId: 'abc' }), 400, 'invalid_query', 'Last-Event-ID');
  assertProblem(await open(A.base, A.key, S(missing, '?type=')), 400, 'invalid_query', 'type');
  assertProblem(await A.get(`/v1/threads/${missing}`), 404, 'not_found');
  // Good values still work: 18 digits, and 32 types.
  const ok = await openOk(A.base, A.key, S(tid, `?${range(1, 31).map((i) => `type=t${i}`).join('&')}&type=x`), { lastEventId: '000000000000000000' });
  await expectSeqs(ok, [1], '32 types, Last-Event-ID 0 in 18 digits');
  close(ok);
});

test('another org\'s thread, another user\'s thread and a missing thread: the same 404', async () => {
  const tid = uniq('t');
  await append(A, tid, ['secret']);
  const alice = (await A.post('/v1/keys', { role: 'user', user_id: 'alice' })).json.key;
  const bob = (await A.post('/v1/keys', { role: 'user', user_id: 'bob' })).json.key;
  const service = (await A.post('/v1/keys', { role: 'service' })).json.key;
  const ac = client(srv.url, alice);
  const aliceThread = uniq('al');
  await append(ac, aliceThread, ['mine']); // created by alice's first event, hers
  assert.equal((await A.get(`/v1/threads/${aliceThread}`)).json.user_id, 'alice');

  const missing = uniq('missing');
  const ref = await open(A.base, A.key, S(missing));
  assertProblem(ref, 404, 'not_found');
  const norm = (s, id) => ({ ...s.json, request_id: null, detail: (s.json.detail || '').split(id).join('<id>') });
  const same = (s, id, label) => {
    assertProblem(s, 404, 'not_found');
    assert.deepEqual(norm(s, id), norm(ref, missing), `${label}: identical to a missing thread`);
    assert.equal(s.headers.get('cache-control'), ref.headers.get('cache-control'), label);
  };
  same(await open(B.base, B.key, S(tid)), tid, 'org B reads org A\'s thread');
  same(await open(B.base, B.key, S(tid), { lastEventId: '0' }), tid, 'org B with Last-Event-ID');
  same(await open(B.base, B.key, S(tid, '?type=secret')), tid, 'org B with a filter');
  same(await open(srv.url, bob, S(aliceThread)), aliceThread, 'bob reads alice\'s thread');
  same(await open(srv.url, bob, S(tid)), tid, 'a user key reads a thread of no user');
  same(await open(srv.url, alice, S(missing)), missing, 'alice reads a missing thread');
  // A thread id that is not an id at all.
  const bad = await open(A.base, A.key, S('a b'));
  assertProblem(bad, 404, 'not_found');

  // Alice streams her own thread; the admin and a service key see it too.
  for (const k of [alice, A.key, service]) {
    const s = await openOk(srv.url, k, S(aliceThread));
    await expectSeqs(s, [1], 'alice\'s thread');
    close(s);
  }
  // Nothing leaked: org B still cannot see it, and an event appended by B goes to B's own thread.
  await append(B, tid, ['b-only']);
  const a = await openOk(A.base, A.key, S(tid));
  const b = await openOk(B.base, B.key, S(tid));
  await expectSeqs(a, [1], 'A');
  await expectSeqs(b, [1], 'B');
  assert.equal(a.frames[0].event, 'secret');
  assert.equal(b.frames[0].event, 'b-only');
  await append(B, tid, ['b-two']);
  await expectSeqs(b, [1, 2], 'B live');
  await assertQuiet(a, 300, 'A does not see B\'s events');
  close(a, b);

  // No key, a wrong key: 401.
  const none = await open(srv.url, undefined, S(tid));
  assertProblem(none, 401, 'unauthorized');
  const wrong = await open(srv.url, 'cs_live_' + 'x'.repeat(40), S(tid));
  assertProblem(wrong, 401, 'unauthorized');
});

test('deleting the thread ends its open streams (and only those)', async () => {
  const tid = uniq('t');
  const other = uniq('t');
  await append(A, tid, ['a', 'b']);
  await append(A, other, ['a']);
  const s1 = await openOk(A.base, A.key, S(tid));
  const s2 = await openOk(A.base, A.key, S(tid, '?type=nomatch'));
  const s3 = await openOk(A.base, A.key, S(tid), { lastEventId: '99' });
  const keep = await openOk(A.base, A.key, S(other));
  await expectSeqs(s1, [1, 2], 'before');
  await expectSeqs(keep, [1], 'other thread');
  const t0 = performance.now();
  assertStatus(await A.del(`/v1/threads/${tid}`), 200);
  for (const s of [s1, s2, s3]) await s.waitEnd(3000);
  const ms = Math.max(...[s1, s2, s3].map((s) => s.endedAt)) - t0;
  assert.ok(ms < 3000, `ended ${Math.round(ms)} ms after the delete`);
  assertSeqs(s1, [1, 2], 'nothing more');
  assert.ok(!keep.ended, 'another thread\'s stream goes on');
  await append(A, other, ['b']);
  await expectSeqs(keep, [1, 2], 'other thread live');
  assertProblem(await open(A.base, A.key, S(tid)), 404, 'not_found');
  // An append recreates the thread, with a new log; a new stream sees only that.
  await append(A, tid, ['new']);
  const fresh = await openOk(A.base, A.key, S(tid));
  await expectSeqs(fresh, [1], 'the new log');
  assert.equal(fresh.frames[0].event, 'new');
  close(keep, fresh);
});

test('revoking a key ends the streams opened with it within a few seconds, not the others', async () => {
  const tid = uniq('t');
  await append(A, tid, ['a']);
  const k = await A.post('/v1/keys', { role: 'service' });
  assertStatus(k, 201);
  const s1 = await openOk(srv.url, k.json.key, S(tid));
  const s3 = await openOk(srv.url, k.json.key, S(tid, '?type=x'), { lastEventId: '1' });
  const keep = await openOk(A.base, A.key, S(tid));
  await expectSeqs(s1, [1], 'before');
  const t0 = performance.now();
  assertStatus(await A.del(`/v1/keys/${k.json.id}`), 200);
  await s1.waitEnd(5000);
  await s3.waitEnd(5000);
  const ms = Math.max(s1.endedAt, s3.endedAt) - t0;
  assert.ok(ms < 5000, `ended ${Math.round(ms)} ms after the revocation`);
  assert.ok(!keep.ended, 'the admin key\'s stream goes on');
  await append(A, tid, ['b']);
  await expectSeqs(keep, [1, 2], 'other key live');
  assertSeqs(s1, [1], 'the revoked stream got nothing after');
  assertProblem(await open(srv.url, k.json.key, S(tid)), 401, 'unauthorized');
  close(keep);
});

/**
 * Opens n streams with key on tid while action() runs (started after half of them); resolves
 * {accepted, refused, acted} once every open has an answer.
 */
async function openDuring(base, key, tid, n, action) {
  const opens = [];
  let acted;
  for (let i = 0; i < n; i++) {
    opens.push(openStream(base, S(tid), { key, timeoutMs: 20000 }));
    if (i === n / 2) acted = action();
    if (i % 10 === 0) await sleep(0);
  }
  const got = await Promise.all(opens);
  const accepted = got.filter((s) => s.status === 200);
  for (const s of accepted) opened.add(s);
  return { accepted, refused: got.filter((s) => s.status !== 200), acted: await acted };
}

test('streams opened while their key is being revoked: every one accepted ends too', async () => {
  // A stream whose key was checked just before the revocation must not escape it by subscribing
  // just after. The race is narrow: several rounds of 300 opens around one revocation.
  for (let round = 0; round < 6; round++) {
    const tid = uniq('t');
    await append(A, tid, ['x']);
    const k = await A.post('/v1/keys', { role: 'service' });
    assertStatus(k, 201);
    const { accepted, refused, acted } = await openDuring(srv.url, k.json.key, tid, 300, () => A.del(`/v1/keys/${k.json.id}`));
    assertStatus(acted, 200);
    for (const s of refused) assertProblem(s, 401, 'unauthorized');
    await eventually(() => accepted.every((s) => s.ended), 5000, 'streams of the revoked key end').catch(() => {});
    const open = accepted.filter((s) => !s.ended);
    close(...accepted);
    assert.equal(open.length, 0, `round ${round}: ${open.length} of ${accepted.length} streams of the revoked key are still open 5 s after the revocation`);
  }
});

test('streams opened while their thread is being deleted: every one accepted ends too', async () => {
  for (let round = 0; round < 3; round++) {
    const tid = uniq('t');
    await append(A, tid, ['x']);
    const { accepted, refused, acted } = await openDuring(A.base, A.key, tid, 300, () => A.del(`/v1/threads/${tid}`));
    assertStatus(acted, 200);
    for (const s of refused) assertProblem(s, 404, 'not_found');
    await eventually(() => accepted.every((s) => s.ended), 3000, 'streams of the deleted thread end').catch(() => {});
    const open = accepted.filter((s) => !s.ended);
    close(...accepted);
    assert.equal(open.length, 0, `round ${round}: ${open.length} of ${accepted.length} streams of the deleted thread are still open 3 s after the delete`);
  }
});

test('concurrent appenders: every live stream gets every seq exactly once, in order', async () => {
  const tid = await newThread();
  const STREAMS = 8;
  const WRITERS = 6;
  const PER_WRITER = 40;
  const streams = [];
  for (let i = 0; i < STREAMS; i++) streams.push(await openOk(A.base, A.key, S(tid)));
  const filtered = await openOk(A.base, A.key, S(tid, '?type=w0.*'));
  let total = 0;
  const writers = Array.from({ length: WRITERS }, async (_, w) => {
    for (let i = 0; i < PER_WRITER; i++) {
      const n = 1 + ((i + w) % 5);
      const got = await append(A, tid, Array.from({ length: n }, (_, k) => ({ type: `w${w}.e`, data: { w, i, k } })));
      total += got.length;
      // A late subscriber joins mid-way, from the start.
      if (w === 0 && i === PER_WRITER / 2) streams.push(await openOk(A.base, A.key, S(tid)));
    }
  });
  await Promise.all(writers);
  const want = range(1, total);
  for (const [i, s] of streams.entries()) await expectSeqs(s, want, `stream ${i}`, 15000);
  const listed = await listEvents(A, tid);
  assert.equal(listed.length, total);
  const w0 = listed.filter((e) => e.type === 'w0.e').map((e) => e.seq);
  await expectSeqs(filtered, w0, 'type=w0.*', 15000);
  await sleep(300);
  for (const [i, s] of streams.entries()) {
    assertSeqs(s, want, `stream ${i} (settled)`);
    assertFrameFormat(s);
    for (const [j, f] of s.frames.entries()) assert.equal(f.json.id, listed[j].id, `stream ${i} frame ${f.id} is the listed event`);
  }
  assertSeqs(filtered, w0, 'filtered (settled)');
  close(...streams, filtered);
});

test('backpressure: a reader that stops reading is cut off after a bounded queue; appenders are not slowed', async (t) => {
  const tid = await newThread();
  const N = 200;
  const big = 'x'.repeat(64 * 1024);
  const slow = await openOk(A.base, A.key, S(tid));
  slow.pause(); // never reads from here on
  const fast = await openOk(A.base, A.key, S(tid));
  // A baseline of 10 appends on another thread, with no stream at all.
  const quiet = uniq('t');
  const tb = performance.now();
  for (let i = 0; i < 10; i++) await append(A, quiet, [{ type: 'big', data: big }]);
  const baseline = (performance.now() - tb) / 10;

  const lat = [];
  const dataOf = new Map(); // seq → data
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < N) {
        const i = next++;
        const a0 = performance.now();
        const [e] = await append(A, tid, [{ type: 'big', data: big + i }]);
        lat.push(performance.now() - a0);
        dataOf.set(e.seq, big + i);
      }
    }),
  );
  const total = performance.now() - t0;
  lat.sort((x, y) => x - y);
  const p50 = lat[Math.floor(lat.length / 2)];
  assert.ok(total < 30000, `${N} appends of 64 KiB took ${Math.round(total)} ms`);
  assert.ok(lat[lat.length - 1] < 3000, `slowest append ${Math.round(lat[lat.length - 1])} ms`);
  assert.ok(p50 < Math.max(10 * baseline, 200), `median append ${p50.toFixed(1)} ms vs ${baseline.toFixed(1)} ms without streams`);
  // The reader that reads gets everything, not slowed by the one that does not.
  await expectSeqs(fast, range(1, N), 'the reading stream', 20000);

  // The stalled reader: the server dropped its queue and ends it once it reads again.
  slow.resume();
  await slow.waitEnd(30000);
  const got = slow.seqs();
  t.diagnostic(`append p50 ${p50.toFixed(1)} ms (no streams: ${baseline.toFixed(1)} ms), max ${lat[lat.length - 1].toFixed(1)} ms, ${N} in ${Math.round(total)} ms; the stalled stream got ${got.length} of ${N} before the cut`);
  assert.ok(got.length < N, `the stalled stream was cut off (it received ${got.length} of ${N})`);
  assertSeqs(slow, range(1, got.length), 'what the stalled stream received is a prefix');
  assertFrameFormat(slow);
  for (const f of slow.frames) assert.ok(f.json.data === dataOf.get(Number(f.id)), `frame ${f.id} carries its event's data`);
  // It resumes with Last-Event-ID: the rest, exactly.
  const re = await openOk(A.base, A.key, S(tid), { lastEventId: slow.lastId() ?? '0' });
  await expectSeqs(re, range(got.length + 1, N), 'resumed after the cut', 20000);
  await append(A, tid, ['after']);
  await expectSeqs(re, range(got.length + 1, N + 1), 'and live');
  close(fast, re);
});

test('two instances on one database: events, deletions and revocations reach streams on the other', async (t) => {
  const srvB = await startServer({ CONVSTORE_SSE_PING_MS: String(PING_MS) });
  const onB = [];
  try {
    const Ab = client(srvB.url, A.key); // org A through instance B
    const tid = uniq('t');
    await append(A, tid, ['a1']);
    const sb = await openOk(srvB.url, A.key, S(tid));
    const sbf = await openOk(srvB.url, A.key, S(tid, '?type=from.a'));
    const sa = await openOk(A.base, A.key, S(tid));
    onB.push(sb, sbf);
    await expectSeqs(sb, [1], 'backlog on B');

    // One event through A: B's stream has it within a second or so.
    const t0 = performance.now();
    await append(A, tid, ['from.a']);
    await expectSeqs(sb, [1, 2], 'A → B', 3000);
    const ms = performance.now() - t0;
    t.diagnostic(`A → B delivery: ${Math.round(ms)} ms`);
    assert.ok(ms < 2000, `delivered across instances in ${Math.round(ms)} ms`);
    await expectSeqs(sbf, [2], 'A → B filtered', 3000);
    // Through B: A's stream has it.
    await append(Ab, tid, ['from.b']);
    await expectSeqs(sa, [1, 2, 3], 'B → A', 3000);
    await expectSeqs(sb, [1, 2, 3], 'B → B', 3000);

    // Concurrent appenders on both instances; streams on both get everything exactly once.
    let total = 3;
    await Promise.all(
      [A, Ab, A, Ab].map(async (c, w) => {
        for (let i = 0; i < 25; i++) {
          const got = await append(c, tid, Array.from({ length: 1 + (i % 3) }, () => ({ type: w % 2 ? 'from.b' : 'from.a' })));
          total += got.length;
        }
      }),
    );
    for (const [name, s] of [['A', sa], ['B', sb]]) await expectSeqs(s, range(1, total), `stream on ${name}`, 10000);
    const fromA = (await listEvents(A, tid, 'type=from.a')).map((e) => e.seq);
    await expectSeqs(sbf, fromA, 'filtered on B', 10000);
    await sleep(300);
    assertSeqs(sb, range(1, total), 'B settled');
    assertSeqs(sa, range(1, total), 'A settled');
    assertSeqs(sbf, fromA, 'B filtered settled');
    assertFrameFormat(sb);

    // A key revoked through A ends its streams on B.
    const k = await A.post('/v1/keys', { role: 'service' });
    assertStatus(k, 201);
    const sk = await openOk(srvB.url, k.json.key, S(tid, `?after_seq=${total}`));
    onB.push(sk);
    const t1 = performance.now();
    assertStatus(await A.del(`/v1/keys/${k.json.id}`), 200);
    await sk.waitEnd(5000);
    assert.ok(sk.endedAt - t1 < 5000);
    assert.ok(!sb.ended, 'the other key\'s stream on B goes on');

    // Deleting the thread through A ends its streams on B.
    const t2 = performance.now();
    assertStatus(await A.del(`/v1/threads/${tid}`), 200);
    await sa.waitEnd(3000);
    await sb.waitEnd(5000);
    await sbf.waitEnd(5000);
    assert.ok(sb.endedAt - t2 < 5000, `B's stream ended ${Math.round(sb.endedAt - t2)} ms after the delete`);
    assertSeqs(sb, range(1, total), 'nothing after the delete');
    close(sa);
  } finally {
    close(...onB);
    await srvB.stop();
  }
});

test('a thread deleted and recreated at once through another instance: the old streams end, with nothing of the new log', async () => {
  // The old log is gone: its streams must end (the client finds the new log by reconnecting),
  // never go on into the new log. A second instance, "slow", reaches PostgreSQL through a proxy
  // that delays what it sends by 40 ms: it looks at the thread only after the recreation through
  // the other instance has committed, and its own notifications come late. (Without a proxy,
  // 20 tries of each race.)
  const proxy = await latencyProxy(40);
  const slow = await startServer(viaProxy(proxy));
  const opened2 = [];
  const rounds = proxy ? 3 : 20;
  const check = (s, round, how) => {
    assert.ok(s.ended, `${how}, round ${round}: the stream of the deleted log is still open; it received ${s.frames.map((f) => `${f.id}:${f.event}`).join(' ')}`);
    assert.deepEqual(
      s.frames.map((f) => `${f.id}:${f.event}`),
      ['1:old1', '2:old2', '3:old3'],
      `${how}, round ${round}: nothing of the new log on the old stream`,
    );
  };
  try {
    // Deleted and recreated through srv; the stream is on "slow".
    for (let round = 0; round < rounds; round++) {
      const tid = uniq('t');
      await append(A, tid, ['old1', 'old2', 'old3']);
      const s = await openOk(slow.url, A.key, S(tid));
      opened2.push(s);
      await expectSeqs(s, [1, 2, 3], 'old log');
      assertStatus(await A.del(`/v1/threads/${tid}`), 200);
      await append(A, tid, ['new1']); // recreates the thread: seq 1 of a new log
      await append(A, tid, ['new2', 'new3', 'new4', 'new5']); // 2-5
      await s.waitEnd(3000).catch(() => {});
      check(s, round, 'deleted and recreated through another instance');
      close(s);
    }
    // Deleted through "slow" (whose notification comes late), recreated through srv, where the
    // stream is: the new log's events are published on the stream's own instance.
    const Aslow = client(slow.url, A.key);
    for (let round = 0; round < rounds; round++) {
      const tid = uniq('t');
      await append(A, tid, ['old1', 'old2', 'old3']);
      const s = await openOk(srv.url, A.key, S(tid));
      opened2.push(s);
      await expectSeqs(s, [1, 2, 3], 'old log');
      assertStatus(await Aslow.del(`/v1/threads/${tid}`), 200);
      await append(A, tid, ['new1', 'new2', 'new3', 'new4', 'new5']); // a new log, 1-5
      await s.waitEnd(3000).catch(() => {});
      check(s, round, 'deleted through another instance, recreated through this one');
      close(s);
    }
  } finally {
    close(...opened2);
    await slow.stop();
    await proxy?.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Process-level behaviour: each test has a server of its own.

function procThreads(pid) {
  const m = /^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]);
}
function procFds(pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}
async function metric(base, name) {
  const r = await raw(base, { method: 'GET', path: '/metrics', validate: false });
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(r.text);
  return m ? Number(m[1]) : NaN;
}
/** Waits until the process's thread and fd counts hold still; returns them. */
async function settledCounts(pid) {
  let prev = null;
  let same = 0;
  for (let i = 0; i < 50; i++) {
    const cur = { threads: procThreads(pid), fds: procFds(pid) };
    if (prev && cur.threads === prev.threads && cur.fds === prev.fds) {
      if (++same >= 3) return cur;
    } else same = 0;
    prev = cur;
    await sleep(100);
  }
  return prev;
}

// The 1,000 sockets are held by a child process with a raised descriptor limit (the test runner's
// own limit may be 1,024); it opens them, reports, waits for events, then destroys every socket
// without a word and stays alive, so only the server can free the connections.
const HOLDER = `
import { openStream } from ${JSON.stringify(path.join(HERE, 'lib/sse.mjs'))};
import readline from 'node:readline';
const [base, key, pathsJson, count] = process.argv.slice(-4);
const distinct = JSON.parse(pathsJson);
const paths = Array.from({ length: Number(count) }, (_, i) => distinct[i % distinct.length]);
const streams = [];
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
try {
  for (let i = 0; i < paths.length; i += 100) {
    streams.push(...(await Promise.all(paths.slice(i, i + 100).map((p) => openStream(base, p, { key, validate: false, timeoutMs: 20000 })))));
  }
  const bad = streams.filter((s) => s.status !== 200);
  say({ opened: streams.length, bad: bad.length, first: bad[0] && bad[0].status + ' ' + bad[0].text });
} catch (e) {
  say({ error: String(e && e.stack || e) });
}
for await (const line of readline.createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line);
  if (cmd.wait) {
    const t0 = Date.now();
    while (Date.now() - t0 < 15000 && !streams.every((s) => s.frames.length >= cmd.wait)) await new Promise((r) => setTimeout(r, 50));
    say({ received: streams.filter((s) => s.frames.length >= cmd.wait).length, ended: streams.filter((s) => s.ended).length });
  } else if (cmd.abandon) {
    for (const s of streams) s.destroy();
    say({ abandoned: streams.length });
  }
}
`;

/** Holds n streams, round-robin over paths, in a child process. */
function startHolder(base, key, paths, n) {
  const child = spawn('bash', ['-c', 'ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"', process.execPath, '--input-type=module', '-e', HOLDER, base, key, JSON.stringify(paths), String(n)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = [];
  const waiters = [];
  readline.createInterface({ input: child.stdout }).on('line', (l) => {
    const j = JSON.parse(l);
    const w = waiters.shift();
    if (w) w(j);
    else lines.push(j);
  });
  const next = (ms) =>
    new Promise((resolve, reject) => {
      if (lines.length) return resolve(lines.shift());
      const t = setTimeout(() => reject(new Error(`holder: no answer within ${ms} ms`)), ms);
      waiters.push((j) => {
        clearTimeout(t);
        resolve(j);
      });
    });
  return {
    child,
    next,
    send: (o) => child.stdin.write(JSON.stringify(o) + '\n'),
    kill: () => child.exitCode === null && child.kill('SIGKILL'),
  };
}

test('1,000 abandoned streams free their threads and descriptors at once', async (t) => {
  const N = 1000;
  const THREADS = 4;
  const s2 = await startServer({ CONVSTORE_POOL_SIZE: '4', CONVSTORE_POOL_TIMEOUT_MS: '20000', CONVSTORE_SSE_PING_MS: '60000' });
  let holder;
  try {
    const key = (await createOrg(uniq('sse-abandon'))).api_key;
    const tids = range(1, THREADS).map(() => uniq('t'));
    // Set up over one-shot connections (Connection: close), so no kept-alive connection of ours
    // holds a server thread while we count.
    for (const tid of tids) {
      const r = await raw(s2.url, { method: 'POST', path: E(tid), key, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [{ type: 'first' }] }) });
      assertStatus(r, 201);
    }
    // Open every pooled database connection first (streams read their backlog through the pool).
    const warm = await Promise.all(range(1, 16).map(() => raw(s2.url, { method: 'GET', path: `${E(tids[0])}?limit=1`, key, validate: false })));
    for (const r of warm) assertStatus(r, 200);
    const pid = s2.child.pid;
    await sleep(300);
    const base = await settledCounts(pid);
    assert.equal(await metric(s2.url, 'convstore_event_streams'), 0);

    holder = startHolder(s2.url, key, tids.map((tid) => S(tid)), N);
    const o = await holder.next(60000);
    assert.ok(!o.error, o.error);
    assert.equal(o.opened, N);
    assert.equal(o.bad, 0, `streams refused: ${o.first}`);
    const during = { threads: procThreads(pid), fds: procFds(pid) };
    assert.ok(during.fds >= base.fds + N, `fds with ${N} streams open: ${during.fds} (from ${base.fds})`);
    assert.equal(await metric(s2.url, 'convstore_event_streams'), N);
    // They are all live: one event per thread reaches every one of them.
    holder.send({ wait: 1 });
    const backlog = await holder.next(20000);
    assert.equal(backlog.received, N, 'every stream got its backlog');
    for (const tid of tids) {
      const r = await raw(s2.url, { method: 'POST', path: E(tid), key, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [{ type: 'second' }] }) });
      assertStatus(r, 201);
    }
    holder.send({ wait: 2 });
    const live = await holder.next(20000);
    assert.equal(live.received, N, 'every stream got the live event');
    assert.equal(live.ended, 0);

    holder.send({ abandon: true });
    assert.equal((await holder.next(10000)).abandoned, N);
    const t0 = performance.now();
    let now;
    await eventually(
      () => {
        now = { threads: procThreads(pid), fds: procFds(pid) };
        return now.threads <= base.threads && now.fds <= base.fds;
      },
      5000,
      'thread and fd counts back to where they started',
    ).catch((e) => {
      throw new Error(`${e.message}: now ${JSON.stringify(now)}, before ${JSON.stringify(base)}, with the streams open ${JSON.stringify(during)}`);
    });
    const ms = performance.now() - t0;
    t.diagnostic(`threads/fds: ${base.threads}/${base.fds} before, ${during.threads}/${during.fds} with ${N} streams, ${now.threads}/${now.fds} ${Math.round(ms)} ms after abandoning them`);
    assert.ok(ms < 5000, `freed in ${Math.round(ms)} ms`);
    assert.equal(await metric(s2.url, 'convstore_event_streams'), 0);
    // And the server still serves streams.
    const s = await openOk(s2.url, key, S(tids[0]));
    await expectSeqs(s, [1, 2], 'a new stream');
    close(s);
  } finally {
    holder?.kill();
    await s2.stop();
  }
});

test('SIGTERM ends every open stream promptly and the server exits 0', async (t) => {
  const s2 = await startServer();
  const streams = [];
  try {
    const c = client(s2.url, (await createOrg(uniq('sse-term'))).api_key);
    const t1 = uniq('t');
    const t2 = uniq('t');
    await append(c, t1, ['a']);
    await append(c, t2, ['a']);
    for (let i = 0; i < 20; i++) streams.push(await openOk(s2.url, c.key, S(i % 2 ? t1 : t2, i % 3 ? '' : '?type=none')));
    // One stream whose reader stalled with megabytes pending (the server is blocked writing to it).
    const stalled = await openOk(s2.url, c.key, S(t1));
    stalled.pause();
    streams.push(stalled);
    const big = 'y'.repeat(200 * 1024);
    for (let i = 0; i < 20; i++) await append(c, t1, [{ type: 'big', data: big }]);
    await sleep(200);
    for (const s of streams) assert.ok(!s.ended);
    const t0 = performance.now();
    await s2.stop({ timeoutMs: 5000 }); // SIGTERM; throws unless it exits 0
    const ms = performance.now() - t0;
    t.diagnostic(`exited ${Math.round(ms)} ms after SIGTERM with ${streams.length} streams open`);
    assert.ok(ms < 2000, `the server took ${Math.round(ms)} ms to exit with ${streams.length} streams open`);
    stalled.resume();
    for (const s of streams) await s.waitEnd(2000);
  } finally {
    for (const s of streams) s.destroy();
    await s2.stop().catch(() => {});
  }
});
