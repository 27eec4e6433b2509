// The event log: appends (single and batch, idempotent by event id, conditional on expected_seq),
// seqs 1-based and gap-free per thread, data returned as the client's own bytes, threads created by
// their first event and owned by the caller, filtered pages by seq in both orders, one event by id,
// isolation between orgs and users, and deletion with the thread.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, client, assertProblem, assertStatus, assertList, uniq, micros, sleep, UUID_RE, TIME_RE, SAFE_ID_RE } from './lib/harness.mjs';

let srv;
let org;
let c; // org admin

before(async () => {
  srv = await startServer();
  org = await createOrg(uniq('events'));
  c = client(srv.url, org.api_key);
});
after(async () => {
  await srv?.stop();
});

const E = (tid) => `/v1/threads/${encodeURIComponent(tid)}/events`;
const EV = (tid, id) => `${E(tid)}/${encodeURIComponent(id)}`;
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function assertEvent(e, tid) {
  assert.equal(e.object, 'event');
  assert.match(e.id, SAFE_ID_RE);
  if (tid !== undefined) assert.equal(e.thread_id, tid);
  assert.ok(Number.isInteger(e.seq) && e.seq >= 1, `seq ${e.seq}`);
  assert.match(e.type, /^[A-Za-z0-9_.:/-]{1,128}$/);
  for (const k of ['run_id', 'step_id', 'message_id']) assert.ok(e[k] === null || SAFE_ID_RE.test(e[k]), `${k} ${e[k]}`);
  assert.ok(e.occurred_at === null || TIME_RE.test(e.occurred_at), `occurred_at ${e.occurred_at}`);
  assert.match(e.created_at, TIME_RE);
  assert.ok('data' in e);
  assert.deepEqual(
    Object.keys(e).sort(),
    ['created_at', 'data', 'id', 'message_id', 'object', 'occurred_at', 'run_id', 'seq', 'step_id', 'thread_id', 'type'],
    'exactly the event fields',
  );
}

/** Checks the append envelope; returns the body. */
function assertAppended(r, status, tid) {
  assertStatus(r, status);
  const j = r.json;
  assert.equal(j.object, 'list');
  assert.ok(Array.isArray(j.data) && j.data.length >= 1);
  for (const e of j.data) assertEvent(e, tid);
  assert.equal(j.first_seq, j.data[0].seq, 'first_seq is the seq of data[0]');
  assert.equal(j.last_seq, j.data[j.data.length - 1].seq, 'last_seq is the seq of data[-1]');
  assert.deepEqual(Object.keys(j).sort(), ['data', 'first_seq', 'last_seq', 'object']);
  return j;
}

async function append(tid, events, { cl = c, status = 201, expected_seq } = {}) {
  const body = { events };
  if (expected_seq !== undefined) body.expected_seq = expected_seq;
  return assertAppended(await cl.post(E(tid), body), status, tid);
}

/** One page; checks the envelope (first_id, last_id, has_more, last_seq). */
async function page(tid, qs = '', cl = c) {
  const r = await cl.get(`${E(tid)}${qs ? `?${qs}` : ''}`);
  const data = assertList(r);
  assert.ok(Number.isInteger(r.json.last_seq) && r.json.last_seq >= 0, `last_seq ${r.json.last_seq}`);
  assert.deepEqual(Object.keys(r.json).sort(), ['data', 'first_id', 'has_more', 'last_id', 'last_seq', 'object']);
  for (const e of data) assertEvent(e, tid);
  return r.json;
}

/** Every event matching qs, walked page by page with after_seq (asc) or before_seq (desc). */
async function walk(tid, qs = '', { order = 'asc', limit = 1000, cl = c } = {}) {
  const out = [];
  let cursor = null;
  for (let i = 0; i < 10000; i++) {
    const q = [qs, `order=${order}`, `limit=${limit}`, cursor === null ? '' : `${order === 'asc' ? 'after_seq' : 'before_seq'}=${cursor}`].filter(Boolean).join('&');
    const p = await page(tid, q, cl);
    out.push(...p.data);
    if (!p.has_more) return out;
    assert.ok(p.data.length > 0, 'has_more with an empty page');
    cursor = p.data[p.data.length - 1].seq;
  }
  throw new Error('too many pages');
}

async function getThread(tid, cl = c) {
  const r = await cl.get(`/v1/threads/${encodeURIComponent(tid)}`);
  assertStatus(r, 200);
  return r.json;
}

async function newKey(body) {
  const r = await c.post('/v1/keys', body);
  assertStatus(r, 201);
  return client(srv.url, r.json.key);
}

test('single appends get seq 1, 2, 3; generated ids are UUIDv7 carrying the creation time', async () => {
  const tid = uniq('single');
  const got = [];
  for (let i = 1; i <= 3; i++) {
    const j = await append(tid, [{ type: 'run.started' }]);
    assert.equal(j.data.length, 1);
    const e = j.data[0];
    assert.equal(e.seq, i);
    assert.equal(j.first_seq, i);
    assert.equal(j.last_seq, i);
    assert.equal(e.type, 'run.started');
    assert.equal(e.data, null, 'data defaults to null');
    assert.equal(e.run_id, null);
    assert.equal(e.step_id, null);
    assert.equal(e.message_id, null);
    assert.equal(e.occurred_at, null, 'occurred_at is null when not sent');
    assert.match(e.id, UUID_RE, 'a generated id is a UUID');
    assert.equal(e.id[14], '7', `${e.id} is a version-7 UUID`);
    assert.match(e.id[19], /[89ab]/, `${e.id} has the RFC 9562 variant`);
    const ms = parseInt(e.id.slice(0, 8) + e.id.slice(9, 13), 16);
    const created = Number(micros(e.created_at) / 1000n);
    assert.ok(Math.abs(ms - created) < 60000, `${e.id} carries its creation time (${ms} vs ${created})`);
    assert.ok(Math.abs(Date.now() - created) < 60000, 'created_at is now');
    got.push(e);
    await sleep(2);
  }
  assert.equal(new Set(got.map((e) => e.id)).size, 3, 'generated ids differ');
  assert.ok(micros(got[0].created_at) <= micros(got[1].created_at) && micros(got[1].created_at) <= micros(got[2].created_at), 'created_at follows the appends');
  const ids = got.map((e) => e.id);
  assert.deepEqual([...ids].sort(), ids, 'ids made milliseconds apart sort in creation order');
  // GET one and the list return the same objects as the append.
  for (const e of got) {
    const g = await c.get(EV(tid, e.id));
    assertStatus(g, 200);
    assertEvent(g.json, tid);
    assert.deepEqual(g.json, e);
  }
  const p = await page(tid);
  assert.deepEqual(p.data, got);
  assert.equal(p.last_seq, 3);
  assert.equal(p.has_more, false);
});

test('a batch gets consecutive seqs in request order; every field is stored and returned', async () => {
  const tid = uniq('batch');
  await append(tid, [{ type: 'first' }]);
  const events = [
    { id: uniq('e1'), type: 'TEXT_MESSAGE_START', run_id: 'run-1', step_id: 'step.1', message_id: 'msg:1', data: { role: 'assistant' }, occurred_at: '2024-05-06T07:08:09.123456Z' },
    { id: uniq('E.2_x:y-z'), type: 'TEXT_MESSAGE_CONTENT', run_id: 'run-1', data: { delta: 'Grüße ✓ "q" \\ 😀\n' } },
    { type: 'a/b:c-d_e.f', data: [1, 'two', null, true, { n: -2.5 }] },
    { id: (uniq('L') + 'x'.repeat(128)).slice(0, 128), type: 't'.repeat(128), run_id: null, step_id: null, message_id: null, data: null, occurred_at: null },
    { type: 'scalar', data: 'just a string' },
    { type: 'num', data: 0 },
    { type: 'bool', data: false },
    { type: 'empty', data: {} },
  ];
  const j = await append(tid, events);
  assert.equal(j.data.length, events.length);
  assert.deepEqual(j.data.map((e) => e.seq), range(2, 1 + events.length));
  assert.equal(j.first_seq, 2);
  assert.equal(j.last_seq, 1 + events.length);
  j.data.forEach((e, i) => {
    for (const k of Object.keys(events[i])) if (k !== 'occurred_at') assert.deepEqual(e[k], events[i][k], `events[${i}].${k}`);
  });
  assert.equal(j.data[0].occurred_at, '2024-05-06T07:08:09.123456Z');
  assert.equal(j.data[3].occurred_at, null);
  assert.equal(new Set(j.data.map((e) => e.created_at)).size, 1, 'one batch, one commit time');
  assert.match(j.data[2].id, UUID_RE);
  assert.equal(j.data[2].id[14], '7');
  for (const e of j.data) {
    const g = await c.get(EV(tid, e.id));
    assertStatus(g, 200);
    assert.deepEqual(g.json, e);
  }
  const all = await walk(tid);
  assert.deepEqual(all.map((e) => e.seq), range(1, 1 + events.length));
  assert.deepEqual(all.slice(1), j.data);
});

test('1000 events in one batch are accepted; seqs continue after them', async () => {
  const tid = uniq('big');
  const j = await append(tid, Array.from({ length: 1000 }, (_, i) => ({ id: `b${i}`, type: 'tick', data: { i } })));
  assert.deepEqual(j.data.map((e) => e.seq), range(1, 1000));
  assert.deepEqual(j.data.map((e) => e.data.i), range(0, 999));
  assert.equal(j.first_seq, 1);
  assert.equal(j.last_seq, 1000);
  const next = await append(tid, [{ type: 'tock' }]);
  assert.equal(next.data[0].seq, 1001);
  const p = await page(tid, 'limit=1000');
  assert.equal(p.data.length, 1000);
  assert.equal(p.has_more, true);
  assert.equal(p.last_seq, 1001);
  const d = await page(tid);
  assert.equal(d.data.length, 100, 'the default limit is 100');
  assert.deepEqual(d.data.map((e) => e.seq), range(1, 100), 'the default order is ascending');
  assert.equal(d.has_more, true);
});

test('data comes back byte for byte as sent, in the append, GET and the list', async () => {
  const tid = uniq('bytes');
  const datas = [
    '{"a": 1.10, "b":[ 1e2 ]}',
    '[{"z":1,"a":{"url":"https://x.invalid/a.png"}},{"t":"caf\\u00e9 \\"q\\" \\n\\/","f":1.10,"e":-0E+0,"l":[1.5e-7,true,null],"x":9007199254740993}]',
    '12345678901234567890123',
    '-98765432109876543210.000000000000000000001',
    '"caf\\u00e9 \\ud83d\\ude00"',
    '"Grüße 😀"',
    '{ }',
    '[ ]',
    '{\n  "pretty": [\n    1,\n    2\n  ]\n}',
    'true',
    '1.0',
  ];
  for (const d of datas) {
    const r = await c.send('POST', E(tid), `{"events":[{"type":"raw","data":${d}}]}`);
    const j = assertAppended(r, 201, tid);
    assert.ok(r.text.includes(`"data":${d},`), `data verbatim in the append:\n${d}\n${r.text}`);
    assert.deepEqual(j.data[0].data, JSON.parse(d));
    const g = await c.get(EV(tid, j.data[0].id));
    assertStatus(g, 200);
    assert.ok(g.text.includes(`"data":${d},`), `data verbatim in GET:\n${g.text}`);
    const l = await c.get(`${E(tid)}?after_seq=${j.data[0].seq - 1}&limit=1`);
    assertStatus(l, 200);
    assert.ok(l.text.includes(`"data":${d},`), `data verbatim in the list:\n${l.text}`);
  }
  // In a batch each event keeps its own bytes, whitespace around it not included, whatever the
  // member order and even when the member names are escaped.
  const a = '{"a": 1.10, "b":[ 1e2 ]}';
  const b = '[ "x" , 2.50 ]';
  const text = `{ "ev\\u0065nts" : [ { "d\\u0061ta" :  ${a}  , "type" : "one" } ,\n{"type":"two","data":${b}},{"type":"three"} ] }`;
  const r = await c.send('POST', E(tid), text);
  const j = assertAppended(r, 201, tid);
  assert.ok(r.text.includes(`"data":${a},`), `first data verbatim with an escaped key:\n${r.text}`);
  assert.ok(r.text.includes(`"data":${b},`), `second data verbatim:\n${r.text}`);
  assert.deepEqual(j.data.map((e) => e.type), ['one', 'two', 'three']);
  assert.equal(j.data[2].data, null);
  // Strings holding brackets, quotes and backslashes do not shift one event's bytes onto another.
  const tricky = [
    ['"]},{\\"x"', 'first'],
    ['{"k":"\\\\","data":{"data":"inner"}}', 'second'],
    ['[ "[" , "{" , "\\"]" ]', 'third'],
    ['"\\\\"', 'fourth'],
  ];
  const tt = `{"events":[${tricky.map(([d, ty], i) => (i % 2 ? `{"data":${d},"type":"${ty}"}` : `{"type":"${ty}","data":${d}}`)).join(' , ')}]}`;
  const tr = await c.send('POST', E(tid), tt);
  const tj = assertAppended(tr, 201, tid);
  tricky.forEach(([d, ty], i) => {
    assert.equal(tj.data[i].type, ty);
    assert.ok(tr.text.includes(`"type":"${ty}","run_id":null,"step_id":null,"message_id":null,"data":${d},`), `events[${i}] data verbatim:\n${d}\n${tr.text}`);
    assert.deepEqual(tj.data[i].data, JSON.parse(d));
  });
  // Explicit null is null.
  const n = await c.send('POST', E(tid), '{"events":[{"type":"n","data":null}]}');
  assert.ok(assertAppended(n, 201, tid) && n.text.includes('"data":null,'), n.text);
});

test('data of exactly 256 KiB as sent is accepted and returned whole', async () => {
  const tid = uniq('bigdata');
  const d = `"${'x'.repeat(262142)}"`;
  assert.equal(Buffer.byteLength(d), 262144);
  const r = await c.send('POST', E(tid), `{"events":[{"type":"big","data":${d}}]}`);
  const j = assertAppended(r, 201, tid);
  assert.equal(j.data[0].data.length, 262142);
  const g = await c.get(EV(tid, j.data[0].id));
  assert.ok(g.text.includes(`"data":${d},`));
  // Two-byte characters count as two bytes: 131071 of them plus the quotes fit.
  const u = `"${'é'.repeat(131071)}"`;
  assert.equal(Buffer.byteLength(u), 262144);
  assertAppended(await c.send('POST', E(tid), `{"events":[{"type":"big","data":${u}}]}`), 201, tid);
});

test('occurred_at is kept as the instant sent, rendered in UTC with microseconds', async () => {
  const tid = uniq('occ');
  const cases = [
    ['2024-05-06T07:08:09Z', '2024-05-06T07:08:09.000000Z'],
    ['2024-05-06T07:08:09.1Z', '2024-05-06T07:08:09.100000Z'],
    ['2024-05-06T07:08:09.123456Z', '2024-05-06T07:08:09.123456Z'],
    ['2024-05-06T07:08:09.123456+05:30', '2024-05-06T01:38:09.123456Z'],
    ['2024-05-06T00:30:00-01:00', '2024-05-06T01:30:00.000000Z'],
    ['2024-02-29T23:59:59.999999Z', '2024-02-29T23:59:59.999999Z'],
    ['2000-01-01T00:00:00+00:00', '2000-01-01T00:00:00.000000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000000Z'],
    ['9999-12-31T23:59:59.999999Z', '9999-12-31T23:59:59.999999Z'],
    ['1969-12-31T23:59:59.5Z', '1969-12-31T23:59:59.500000Z'],
    ['2024-05-06t07:08:09z', '2024-05-06T07:08:09.000000Z'],
  ];
  for (const [sent, want] of cases) {
    const j = await append(tid, [{ type: 'occ', occurred_at: sent }]);
    assert.equal(j.data[0].occurred_at, want, `occurred_at ${sent}`);
    const g = await c.get(EV(tid, j.data[0].id));
    assert.equal(g.json.occurred_at, want);
  }
});

test('the first event creates the thread, owned by the caller; later appends use it', async () => {
  // An admin key: a thread without user_id.
  const t1 = uniq('auto');
  assertProblem(await c.get(`/v1/threads/${t1}`), 404, 'not_found');
  assertProblem(await c.get(E(t1)), 404, 'not_found');
  await append(t1, [{ type: 'hello' }]);
  const th = await getThread(t1);
  assert.equal(th.id, t1);
  assert.equal(th.user_id, null);
  assert.equal(th.message_count, 0, 'events are not messages');

  // A thread made with POST /v1/threads takes events from seq 1.
  const made = await c.post('/v1/threads', { title: 'made first' });
  assertStatus(made, 201);
  const j = await append(made.json.id, [{ type: 'x' }, { type: 'y' }]);
  assert.deepEqual(j.data.map((e) => e.seq), [1, 2]);
  assert.equal((await getThread(made.json.id)).title, 'made first', 'the existing thread is used, not replaced');

  // A service key: no user_id either.
  const svc = await newKey({ role: 'service' });
  const t2 = uniq('auto-svc');
  await append(t2, [{ type: 'hello' }], { cl: svc });
  assert.equal((await getThread(t2)).user_id, null);

  // A user key: the thread is the user's.
  const u = uniq('u');
  const usr = await newKey({ role: 'user', user_id: u });
  const t3 = uniq('auto-usr');
  await append(t3, [{ type: 'hello' }], { cl: usr });
  assert.equal((await getThread(t3, usr)).user_id, u);
  assert.equal((await getThread(t3)).user_id, u, 'the admin sees the same owner');
  // Another key of the same user appends and reads; the service and the admin may too.
  const usr2 = await newKey({ role: 'user', user_id: u });
  assert.equal((await append(t3, [{ type: 'again' }], { cl: usr2 })).data[0].seq, 2);
  assert.equal((await append(t3, [{ type: 'backend' }], { cl: svc })).data[0].seq, 3);
  assert.equal((await append(t3, [{ type: 'admin' }])).data[0].seq, 4);
  assert.deepEqual((await walk(t3, '', { cl: usr })).map((e) => e.type), ['hello', 'again', 'backend', 'admin']);
  assert.equal((await getThread(t3)).user_id, u, 'appends by others do not change the owner');
});

test('a user key cannot append to, list or read another user\'s thread: 404 as if missing', async () => {
  const alice = await newKey({ role: 'user', user_id: uniq('alice') });
  const bob = await newKey({ role: 'user', user_id: uniq('bob') });
  const tb = uniq('bobs');
  const bobEv = (await append(tb, [{ id: 'b1', type: 'mine', data: { secret: 1 } }], { cl: bob })).data[0];
  const missing = uniq('missing');
  const before = await walk(tb, '', { cl: bob });

  const appendTo = (tid) => alice.post(E(tid), { events: [{ type: 'intrude' }] });
  const appendSame = (tid) => alice.post(E(tid), { events: [{ id: 'b1', type: 'mine', data: { secret: 1 } }] });
  const r1 = await appendTo(tb);
  assertProblem(r1, 404, 'not_found');
  assertProblem(await appendSame(tb), 404, 'not_found');
  assertProblem(await alice.post(E(tb), { events: [{ type: 'x' }], expected_seq: 1 }), 404, 'not_found');
  assertProblem(await alice.get(E(tb)), 404, 'not_found');
  assertProblem(await alice.get(`${E(tb)}?type=mine&order=desc`), 404, 'not_found');
  assertProblem(await alice.get(EV(tb, bobEv.id)), 404, 'not_found');
  assertProblem(await alice.get(EV(tb, 'nope')), 404, 'not_found');
  // The same answers as for a thread of another org or none at all (only request ids differ).
  const strip = (j) => ({ ...j, request_id: undefined, detail: undefined });
  const rm = await alice.get(E(missing));
  assertProblem(rm, 404, 'not_found');
  assert.deepEqual(strip((await alice.get(E(tb))).json), strip(rm.json));
  assert.deepEqual(Object.keys(r1.json).sort(), Object.keys(rm.json).sort());

  // A thread without user_id (made by an admin or a service key) is not a user's either.
  const ta = uniq('admins');
  await append(ta, [{ type: 'svc' }]);
  assertProblem(await alice.post(E(ta), { events: [{ type: 'x' }] }), 404, 'not_found');
  assertProblem(await alice.get(E(ta)), 404, 'not_found');

  assert.deepEqual(await walk(tb, '', { cl: bob }), before, "bob's log is unchanged");
  assert.deepEqual((await walk(ta)).map((e) => e.type), ['svc']);
  assert.equal((await getThread(tb)).user_id, (await getThread(tb, bob)).user_id);
  // Alice's own thread under another id works.
  const own = await append(uniq('alices'), [{ type: 'ok' }], { cl: alice });
  assert.equal(own.data[0].seq, 1);
});

test('another org: the thread id is its own (a new thread), the first org\'s log is invisible and untouched', async () => {
  const other = client(srv.url, (await createOrg(uniq('events-b'))).api_key);
  const tid = uniq('shared-id');
  const mine = await append(tid, [{ id: 'e1', type: 'a', data: { org: 'A' } }, { id: 'e2', type: 'b' }]);
  assertProblem(await other.get(EV(tid, 'e1')), 404, 'not_found');
  assertProblem(await other.get(E(tid)), 404, 'not_found');
  assertProblem(await other.get(`${E(tid)}?after_seq=0&type=a`), 404, 'not_found');
  // An append from the other org makes that org's own thread: same event id, other content, no clash.
  const theirs = assertAppended(await other.post(E(tid), { events: [{ id: 'e1', type: 'z', data: { org: 'B' } }] }), 201, tid);
  assert.equal(theirs.data[0].seq, 1, "the other org's thread starts at seq 1");
  assert.deepEqual(theirs.data[0].data, { org: 'B' });
  assert.deepEqual(await walk(tid), mine.data, "the first org's log is untouched");
  assert.deepEqual((await c.get(EV(tid, 'e1'))).json, mine.data[0]);
  assert.deepEqual((await other.get(EV(tid, 'e1'))).json, theirs.data[0]);
  assertProblem(await other.get(EV(tid, 'e2')), 404, 'not_found');
  assert.equal((await page(tid, '', other)).last_seq, 1);
  assert.equal((await page(tid)).last_seq, 2);
});

test('GET one event: by id; unknown, malformed or other-thread ids are 404', async () => {
  const t1 = uniq('get1');
  const t2 = uniq('get2');
  const e = (await append(t1, [{ id: 'only-in-t1', type: 'x', data: [1] }])).data[0];
  await append(t2, [{ type: 'y' }]);
  const g = await c.get(EV(t1, 'only-in-t1'));
  assertStatus(g, 200);
  assertEvent(g.json, t1);
  assert.deepEqual(g.json, e);
  assertProblem(await c.get(EV(t2, 'only-in-t1')), 404, 'not_found');
  assertProblem(await c.get(EV(t1, uniq('nope'))), 404, 'not_found');
  assertProblem(await c.get(`${E(t1)}/a%20b`), 404, 'not_found');
  assertProblem(await c.get(`${E(t1)}/${'x'.repeat(129)}`), 404, 'not_found');
  assertProblem(await c.get(EV(uniq('nothread'), 'only-in-t1')), 404, 'not_found');
});

test('event ids are per thread: the same id in two threads is two events', async () => {
  const t1 = uniq('per1');
  const t2 = uniq('per2');
  const a = await append(t1, [{ id: 'same', type: 'a', data: 1 }]);
  const b = await append(t2, [{ type: 'pad' }, { id: 'same', type: 'b', data: 2 }]);
  assert.equal(a.data[0].seq, 1);
  assert.equal(b.data[1].seq, 2);
  assert.deepEqual((await c.get(EV(t1, 'same'))).json, a.data[0]);
  assert.deepEqual((await c.get(EV(t2, 'same'))).json, b.data[1]);
  // Re-appending to each thread is idempotent against that thread's own event.
  await append(t1, [{ id: 'same', type: 'a', data: 1 }], { status: 200 });
  assertProblem(await c.post(E(t1), { events: [{ id: 'same', type: 'b', data: 2 }] }), 409, 'event_exists', 'events[0].id');
});

test('idempotent re-append: the same events again are 200 with their original seqs, nothing written', async () => {
  const tid = uniq('idem');
  const batch = [
    { id: 'i1', type: 'run.started', run_id: 'r1', data: { a: 1.5 } },
    { id: 'i2', type: 'step', run_id: 'r1', step_id: 's1', message_id: 'm1', data: [1, 2], occurred_at: '2024-01-01T00:00:00.5Z' },
    { id: 'i3', type: 'run.finished' },
  ];
  const first = await append(tid, batch);
  assert.deepEqual(first.data.map((e) => e.seq), [1, 2, 3]);
  const again = await append(tid, batch, { status: 200 });
  assert.deepEqual(again, first, 'the stored events, unchanged (seq, created_at and all)');
  // One event of the batch alone, and the batch in another order: still nothing new.
  const one = await append(tid, [batch[1]], { status: 200 });
  assert.deepEqual(one.data, [first.data[1]]);
  assert.equal(one.first_seq, 2);
  assert.equal(one.last_seq, 2);
  const rev = await append(tid, [batch[2], batch[0]], { status: 200 });
  assert.deepEqual(rev.data, [first.data[2], first.data[0]]);
  assert.equal(rev.first_seq, 3, 'first_seq is the seq of data[0]');
  assert.equal(rev.last_seq, 1, 'last_seq is the seq of data[-1]');
  // Omitted data is null: the same as data null; omitted ids are null too.
  await append(tid, [{ id: 'i3', type: 'run.finished', data: null, run_id: null, step_id: null, message_id: null, occurred_at: null }], { status: 200 });
  // The same instant written another way is the same occurred_at.
  await append(tid, [{ ...batch[1], occurred_at: '2024-01-01T01:00:00.500000+01:00' }], { status: 200 });
  const all = await walk(tid);
  assert.deepEqual(all, first.data, 'nothing was written by the retries');

  // A mixed batch: the stored ones come back as they are, the new ones are appended: 201.
  const mixed = await append(tid, [batch[0], { id: 'i4', type: 'new' }, batch[2], { type: 'generated' }]);
  assert.deepEqual(mixed.data.map((e) => e.seq), [1, 4, 3, 5]);
  assert.deepEqual(mixed.data[0], first.data[0]);
  assert.deepEqual(mixed.data[2], first.data[2]);
  assert.equal(mixed.first_seq, 1);
  assert.equal(mixed.last_seq, 5);
  assert.equal(mixed.data[1].created_at, mixed.data[3].created_at);
  assert.deepEqual((await walk(tid)).map((e) => e.id), ['i1', 'i2', 'i3', 'i4', mixed.data[3].id]);
  const p = await page(tid);
  assert.equal(p.last_seq, 5);
});

test('the same id with other content is 409 event_exists naming events[i].id; nothing of the batch is written', async () => {
  const tid = uniq('exists');
  const stored = { id: 'x1', type: 't', run_id: 'r', step_id: 's', message_id: 'm', data: { a: 1 }, occurred_at: '2024-01-01T00:00:00Z' };
  const first = await append(tid, [stored, { id: 'x2', type: 'u' }]);
  const snapshot = await walk(tid);
  const variants = [
    ['type', { ...stored, type: 'T' }],
    ['data value', { ...stored, data: { a: 2 } }],
    ['data bytes (whitespace)', null], // sent as text below
    ['data absent', (({ data, ...rest }) => rest)(stored)],
    ['run_id', { ...stored, run_id: 'r2' }],
    ['run_id null', { ...stored, run_id: null }],
    ['step_id', { ...stored, step_id: 'other' }],
    ['message_id absent', (({ message_id, ...rest }) => rest)(stored)],
    ['occurred_at', { ...stored, occurred_at: '2024-01-01T00:00:00.000001Z' }],
    ['occurred_at absent', (({ occurred_at, ...rest }) => rest)(stored)],
  ];
  for (const [what, ev] of variants) {
    for (const pos of [0, 2]) {
      const fresh = [{ id: uniq('n'), type: 'new' }, { type: 'new2' }];
      let r;
      if (ev === null) {
        const body = JSON.stringify({ events: [...fresh.slice(0, pos), { ...stored, data: '@@' }, ...fresh.slice(pos)] }).replace('"@@"', '{ "a" : 1 }');
        r = await c.send('POST', E(tid), body);
      } else {
        r = await c.post(E(tid), { events: [...fresh.slice(0, pos), ev, ...fresh.slice(pos)] });
      }
      assertProblem(r, 409, 'event_exists', `events[${pos}].id`);
      assert.deepEqual(await walk(tid), snapshot, `${what} at ${pos}: nothing written`);
    }
  }
  // The second of two conflicting events is not named before the first.
  const r = await c.post(E(tid), { events: [{ type: 'ok' }, { ...stored, type: 'X' }, { id: 'x2', type: 'changed' }] });
  assertProblem(r, 409, 'event_exists', 'events[1].id');
  assert.equal(r.json.errors[0].field, 'events[1].id');
  // With a correct expected_seq it is the same 409.
  assertProblem(await c.post(E(tid), { events: [{ ...stored, type: 'X' }], expected_seq: 2 }), 409, 'event_exists', 'events[0].id');
  assert.deepEqual(await walk(tid), snapshot);
  assert.deepEqual((await c.get(EV(tid, 'x1'))).json, first.data[0], 'the stored event is unchanged');
  // The new events of a refused batch really were not written: they append now.
  assert.equal((await append(tid, [{ type: 'after' }])).data[0].seq, 3);
});

test('two events of one batch with the same id are 400 naming the later one; nothing written', async () => {
  const tid = uniq('dupbatch');
  await append(tid, [{ id: 'stored', type: 'a' }]);
  for (const [events, field] of [
    [[{ id: 'd', type: 'a' }, { id: 'd', type: 'a' }], 'events[1].id'],
    [[{ id: 'd', type: 'a' }, { id: 'e', type: 'b' }, { id: 'd', type: 'c' }], 'events[2].id'],
    [[{ id: 'stored', type: 'a' }, { id: 'stored', type: 'a' }], 'events[1].id'],
  ]) {
    assertProblem(await c.post(E(tid), { events }), 400, 'validation_failed', field);
  }
  assert.deepEqual((await walk(tid)).map((e) => e.id), ['stored']);
  // Ids are case-sensitive: D and d are two events.
  const j = await append(tid, [{ id: 'd', type: 'a' }, { id: 'D', type: 'a' }]);
  assert.deepEqual(j.data.map((e) => e.seq), [2, 3]);
});

test('expected_seq: 0 for a new thread, the last seq after; a mismatch is 409 seq_conflict with current_seq', async () => {
  const tid = uniq('cond');
  const a = await append(tid, [{ type: 'a' }, { type: 'b' }], { expected_seq: 0 });
  assert.deepEqual(a.data.map((e) => e.seq), [1, 2]);
  for (const wrong of [0, 1, 3, 100, 9007199254740991]) {
    const r = await c.post(E(tid), { events: [{ type: 'c' }], expected_seq: wrong });
    assertProblem(r, 409, 'seq_conflict');
    assert.equal(r.json.current_seq, 2, `current_seq in the problem (expected_seq ${wrong})`);
  }
  assert.deepEqual((await walk(tid)).map((e) => e.seq), [1, 2], 'refused appends write nothing');
  const b = await append(tid, [{ id: 'c1', type: 'c' }], { expected_seq: 2 });
  assert.equal(b.data[0].seq, 3);
  // A retry of what is stored already writes nothing, so a stale expected_seq does not matter: 200.
  const retry = await append(tid, [{ id: 'c1', type: 'c' }], { expected_seq: 2, status: 200 });
  assert.deepEqual(retry.data, b.data);
  await append(tid, [{ id: 'c1', type: 'c' }], { expected_seq: 0, status: 200 });
  // A mixed batch writes something, so it is checked.
  const r = await c.post(E(tid), { events: [{ id: 'c1', type: 'c' }, { id: 'c2', type: 'c' }], expected_seq: 2 });
  assertProblem(r, 409, 'seq_conflict');
  assert.equal(r.json.current_seq, 3);
  const m = await append(tid, [{ id: 'c1', type: 'c' }, { id: 'c2', type: 'c' }], { expected_seq: 3 });
  assert.deepEqual(m.data.map((e) => e.seq), [3, 4]);
  assert.equal((await page(tid)).last_seq, 4);

  // A thread made without events takes expected_seq 0.
  const made = await c.post('/v1/threads', {});
  assertStatus(made, 201);
  const r0 = await c.post(E(made.json.id), { events: [{ type: 'x' }], expected_seq: 1 });
  assertProblem(r0, 409, 'seq_conflict');
  assert.equal(r0.json.current_seq, 0);
  assert.equal((await append(made.json.id, [{ type: 'x' }], { expected_seq: 0 })).data[0].seq, 1);
});

test('a refused conditional append to a missing thread creates no thread', async () => {
  const tid = uniq('cond-missing');
  const r = await c.post(E(tid), { events: [{ type: 'x' }], expected_seq: 3 });
  assertProblem(r, 409, 'seq_conflict');
  assert.equal(r.json.current_seq, 0, 'a missing thread is at seq 0');
  assertProblem(await c.get(`/v1/threads/${tid}`), 404, 'not_found', undefined);
  assertProblem(await c.get(E(tid)), 404, 'not_found');
});

test('list: both orders, after_seq and before_seq bounds, exact has_more, last_seq on every page', async () => {
  const tid = uniq('pages');
  const N = 57;
  const made = [];
  made.push(...(await append(tid, Array.from({ length: 30 }, (_, i) => ({ id: `p${i + 1}`, type: 'p' })))).data);
  for (let i = 31; i <= N; i++) made.push(...(await append(tid, [{ id: `p${i}`, type: 'p' }])).data);
  assert.deepEqual(made.map((e) => e.seq), range(1, N));
  const seqs = (p) => p.data.map((e) => e.seq);

  // Every window, both orders, some limits: exactly the seqs in (after, before), has_more exact.
  const bounds = [undefined, 0, 1, 10, 29, 56, 57, 58, 1000];
  for (const order of ['asc', 'desc']) {
    for (const lo of bounds) {
      for (const hi of bounds) {
        for (const limit of [1, 7, 100]) {
          const q = [`order=${order}`, `limit=${limit}`];
          if (lo !== undefined) q.push(`after_seq=${lo}`);
          if (hi !== undefined) q.push(`before_seq=${hi}`);
          const all = range(1, N).filter((s) => s > (lo ?? 0) && s < (hi ?? Infinity));
          if (order === 'desc') all.reverse();
          const p = await page(tid, q.join('&'));
          assert.deepEqual(seqs(p), all.slice(0, limit), q.join('&'));
          assert.equal(p.has_more, all.length > limit, `has_more ${q.join('&')}`);
          assert.equal(p.last_seq, N, `last_seq ${q.join('&')}`);
        }
      }
    }
  }
  // Walking the whole log: ascending with after_seq, descending with before_seq.
  for (const limit of [1, 10, 57, 100]) {
    assert.deepEqual((await walk(tid, '', { limit })).map((e) => e.seq), range(1, N), `asc by ${limit}`);
    assert.deepEqual((await walk(tid, '', { order: 'desc', limit })).map((e) => e.seq), range(1, N).reverse(), `desc by ${limit}`);
  }
  assert.deepEqual(await walk(tid), made, 'the list holds the objects the appends returned');
  // The default is ascending; an empty page still tells the last seq.
  assert.deepEqual(seqs(await page(tid, 'limit=3')), [1, 2, 3]);
  const empty = await page(tid, `after_seq=${N}`);
  assert.deepEqual(empty.data, []);
  assert.equal(empty.has_more, false);
  assert.equal(empty.last_seq, N);
  assert.equal(empty.first_id, null);
  const e2 = await page(tid, 'order=desc&before_seq=1');
  assert.deepEqual(e2.data, []);
  assert.equal(e2.last_seq, N);
  const e3 = await page(tid, 'after_seq=30&before_seq=31');
  assert.deepEqual(e3.data, []);
  assert.equal(e3.has_more, false);
  const e4 = await page(tid, 'after_seq=40&before_seq=20&order=desc');
  assert.deepEqual(e4.data, [], 'crossed bounds are an empty page');
  // A thread without events: an empty page with last_seq 0.
  const made2 = await c.post('/v1/threads', {});
  const z = await page(made2.json.id);
  assert.deepEqual(z.data, []);
  assert.equal(z.last_seq, 0);
  assert.equal(z.has_more, false);
  // last_seq moves with appends; a page read before an append does not show it.
  await append(tid, [{ type: 'late' }]);
  assert.equal((await page(tid, 'limit=1')).last_seq, N + 1);
});

test('filters: type (repeated, prefix .*), run_id, step_id, message_id, combined, in both orders and paged', async () => {
  const tid = uniq('filters');
  const types = [
    'run.started', 'run.step.started', 'run', 'runner.x', 'run.', 'run.finished', 'RUN.started',
    'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_END', 'TEXTXMESSAGE.x', 'TEXT_MESSAGE.x', 'TEXTXMESSAGE_CONTENT',
    'a/b', 'a:b', 'a-b', 'tool.call', 'TOOL_CALL_START',
  ];
  const specs = [];
  for (let i = 0; i < 90; i++) {
    specs.push({
      id: `f${i}`,
      type: types[i % types.length],
      run_id: i % 3 === 0 ? null : `run-${i % 3}`,
      step_id: i % 4 === 0 ? null : `step_${i % 4}`,
      message_id: i % 5 === 0 ? null : `msg.${i % 5}`,
      data: { i },
    });
  }
  const made = [];
  for (let i = 0; i < specs.length; i += 20) made.push(...(await append(tid, specs.slice(i, i + 20))).data);
  assert.equal(made.length, 90);

  const check = async (qs, pred) => {
    const want = made.filter(pred);
    assert.ok(want.length < 90, `${qs} filters something`);
    for (const order of ['asc', 'desc']) {
      const w = order === 'asc' ? want : [...want].reverse();
      const p = await page(tid, `${qs}&order=${order}&limit=1000`);
      assert.deepEqual(p.data.map((e) => e.id), w.map((e) => e.id), `${qs} ${order}`);
      assert.equal(p.has_more, false);
      assert.equal(p.last_seq, 90, `${qs}: last_seq is the thread's, not the filter's`);
      for (const limit of [1, 4]) {
        const paged = await walk(tid, qs, { order, limit });
        assert.deepEqual(paged.map((e) => e.id), w.map((e) => e.id), `${qs} ${order} paged by ${limit}`);
      }
      // Bounds apply to filtered pages too.
      const p2 = await page(tid, `${qs}&order=${order}&after_seq=20&before_seq=70&limit=1000`);
      assert.deepEqual(p2.data.map((e) => e.id), w.filter((e) => e.seq > 20 && e.seq < 70).map((e) => e.id), `${qs} ${order} in (20, 70)`);
    }
    return want;
  };
  for (const t of ['run.started', 'run', 'TEXT_MESSAGE_CONTENT', 'a/b', 'a:b', 'tool.call', 'run.']) await check(`type=${encodeURIComponent(t)}`, (e) => e.type === t);
  await check('type=no.such.type', () => false);
  await check('type=run.started&type=TEXT_MESSAGE_END&type=a-b', (e) => ['run.started', 'TEXT_MESSAGE_END', 'a-b'].includes(e.type));
  await check('type=run.started&type=run.started', (e) => e.type === 'run.started');

  // Prefix matches: the value up to and including the dot, nothing else.
  const runs = await check('type=run.*', (e) => e.type.startsWith('run.'));
  assert.deepEqual([...new Set(runs.map((e) => e.type))].sort(), ['run.', 'run.finished', 'run.started', 'run.step.started']);
  await check('type=run.step.*', (e) => e.type.startsWith('run.step.'));
  await check('type=RUN.*', (e) => e.type === 'RUN.started');
  // _ is a plain character, not a wildcard: TEXT_MESSAGE.* does not match TEXTXMESSAGE.x.
  const tm = await check('type=TEXT_MESSAGE.*', (e) => e.type === 'TEXT_MESSAGE.x');
  assert.ok(tm.length > 0 && tm.every((e) => e.type === 'TEXT_MESSAGE.x'), 'only TEXT_MESSAGE.x');
  await check('type=TEXT_MESSAGE_CONTENT', (e) => e.type === 'TEXT_MESSAGE_CONTENT');
  await check('type=run.*&type=tool.call', (e) => e.type.startsWith('run.') || e.type === 'tool.call');
  await check('type=run.*&type=TEXT_MESSAGE.*&type=a/b', (e) => e.type.startsWith('run.') || e.type.startsWith('TEXT_MESSAGE.') || e.type === 'a/b');
  await check('type=no.*', () => false);

  for (const r of ['run-1', 'run-2']) await check(`run_id=${r}`, (e) => e.run_id === r);
  for (const s of ['step_1', 'step_2', 'step_3']) await check(`step_id=${s}`, (e) => e.step_id === s);
  for (const m of ['msg.1', 'msg.4']) await check(`message_id=${m}`, (e) => e.message_id === m);
  await check('run_id=nope', () => false);
  await check('run_id=run-1&step_id=step_2', (e) => e.run_id === 'run-1' && e.step_id === 'step_2');
  await check('run_id=run-2&step_id=step_1&message_id=msg.3', (e) => e.run_id === 'run-2' && e.step_id === 'step_1' && e.message_id === 'msg.3');
  await check('type=run.*&run_id=run-1', (e) => e.type.startsWith('run.') && e.run_id === 'run-1');
  await check('type=TEXT_MESSAGE_START&type=TEXT_MESSAGE_END&message_id=msg.2', (e) => ['TEXT_MESSAGE_START', 'TEXT_MESSAGE_END'].includes(e.type) && e.message_id === 'msg.2');

  // 32 type values are allowed.
  const many = Array.from({ length: 31 }, (_, i) => `type=nothing${i}`).join('&');
  await check(`${many}&type=a:b`, (e) => e.type === 'a:b');
  // Filtered has_more is exact: a page that ends on the last match says no more.
  const ab = made.filter((e) => e.type === 'a:b');
  const p = await page(tid, `type=a:b&limit=${ab.length}`);
  assert.equal(p.data.length, ab.length);
  assert.equal(p.has_more, false);
  const p1 = await page(tid, `type=a:b&limit=${ab.length - 1}`);
  assert.equal(p1.has_more, true);
});

test('deleting the thread deletes its events; the id starts again at seq 1', async () => {
  const tid = uniq('del');
  const first = await append(tid, [{ id: 'keep-id', type: 'a', data: 1 }, { type: 'b' }, { type: 'c' }]);
  assertStatus(await c.del(`/v1/threads/${tid}`), 200);
  assertProblem(await c.get(E(tid)), 404, 'not_found');
  assertProblem(await c.get(EV(tid, 'keep-id')), 404, 'not_found');
  for (const e of first.data) assertProblem(await c.get(EV(tid, e.id)), 404, 'not_found');
  // A new first event makes a new thread: seq 1, and the old ids are free again.
  const again = await append(tid, [{ id: 'keep-id', type: 'other', data: 2 }], { expected_seq: 0 });
  assert.equal(again.data[0].seq, 1);
  assert.equal(again.data[0].type, 'other');
  const p = await page(tid);
  assert.equal(p.last_seq, 1);
  assert.deepEqual(p.data, again.data);

  // A thread recreated with POST /v1/threads after the delete is empty too.
  const t2 = uniq('del2');
  await append(t2, [{ type: 'a' }, { type: 'b' }]);
  assertStatus(await c.del(`/v1/threads/${t2}`), 200);
  assertStatus(await c.post('/v1/threads', { id: t2 }), 201);
  const z = await page(t2);
  assert.deepEqual(z.data, []);
  assert.equal(z.last_seq, 0);
  assert.equal((await append(t2, [{ type: 'c' }])).data[0].seq, 1);
});

test('events and messages of one thread are separate logs with their own seqs', async () => {
  const tid = uniq('both');
  await append(tid, [{ type: 'a' }, { type: 'b' }]);
  const m = await c.post(`/v1/threads/${tid}/messages`, { role: 'user', content: 'hi' });
  assertStatus(m, 201);
  assert.equal(m.json.seq, 1, 'messages count from 1 on their own');
  assert.equal((await append(tid, [{ type: 'c', message_id: m.json.id }])).data[0].seq, 3);
  assert.equal((await getThread(tid)).message_count, 1);
});
