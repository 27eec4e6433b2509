// Runs and steps (issue 10): create with defaults, client ids and parents; get; per-thread and
// org-wide lists with filters and keyset pages; PATCH with the status lifecycle, started_at/ended_at,
// opaque JSON kept byte for byte, metadata merge, version/ETag/If-Match; steps with paths, depths and
// depends_on; the graph; summaries (with durations made exact by events carrying occurred_at); the
// event every REST change appends; and deletion with the thread.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, client, assertProblem, assertStatus, assertList, listAll, uniq, micros, fromMicros, sleep, UUID_RE, TIME_RE, SAFE_ID_RE } from './lib/harness.mjs';
import { RUN_STATUSES, STEP_STATUSES } from './lib/runs.mjs';

let srv;
let org;
let c; // org admin

before(async () => {
  srv = await startServer();
  org = await createOrg(uniq('runs'));
  c = client(srv.url, org.api_key);
});
after(async () => {
  await srv?.stop();
});

const RUN_KEYS = ['created_at', 'ended_at', 'error', 'id', 'input', 'metadata', 'name', 'object', 'output', 'parent_run_id', 'started_at', 'status', 'step_count', 'thread_id', 'updated_at', 'usage', 'version'];
const STEP_KEYS = ['created_at', 'depends_on', 'depth', 'ended_at', 'error', 'id', 'input', 'kind', 'metadata', 'name', 'object', 'output', 'parent_step_id', 'path', 'run_id', 'started_at', 'status', 'thread_id', 'updated_at'];
const KINDS = ['node', 'llm', 'tool', 'thinking', 'retrieval', 'custom'];

const R = (tid, rid) => `/v1/threads/${tid}/runs${rid === undefined ? '' : `/${rid}`}`;
const S = (tid, rid, sid) => `${R(tid, rid)}/steps${sid === undefined ? '' : `/${sid}`}`;
const E = (tid) => `/v1/threads/${tid}/events`;
const q = (obj) => encodeURIComponent(JSON.stringify(obj));

function assertRun(r, tid) {
  assert.deepEqual(Object.keys(r).sort(), RUN_KEYS, 'exactly the run fields');
  assert.equal(r.object, 'run');
  assert.match(r.id, SAFE_ID_RE);
  if (tid !== undefined) assert.equal(r.thread_id, tid);
  assert.ok(RUN_STATUSES.includes(r.status), `status ${r.status}`);
  assert.ok(r.parent_run_id === null || SAFE_ID_RE.test(r.parent_run_id));
  assert.ok(r.name === null || typeof r.name === 'string');
  assert.ok(r.metadata && typeof r.metadata === 'object' && !Array.isArray(r.metadata));
  assert.ok(Number.isInteger(r.version) && r.version >= 1);
  assert.ok(Number.isInteger(r.step_count) && r.step_count >= 0);
  assert.match(r.created_at, TIME_RE);
  assert.match(r.updated_at, TIME_RE);
  for (const k of ['started_at', 'ended_at']) assert.ok(r[k] === null || TIME_RE.test(r[k]), `${k} ${r[k]}`);
}

function assertStep(s, tid, rid) {
  assert.deepEqual(Object.keys(s).sort(), STEP_KEYS, 'exactly the step fields');
  assert.equal(s.object, 'run.step');
  assert.match(s.id, SAFE_ID_RE);
  if (tid !== undefined) assert.equal(s.thread_id, tid);
  if (rid !== undefined) assert.equal(s.run_id, rid);
  assert.ok(KINDS.includes(s.kind), `kind ${s.kind}`);
  assert.ok(STEP_STATUSES.includes(s.status), `status ${s.status}`);
  assert.ok(Array.isArray(s.depends_on));
  assert.match(s.path, /^[1-9][0-9]*(\.[1-9][0-9]*)*$/);
  assert.equal(s.depth, s.path.split('.').length - 1, 'depth is the number of ancestors');
  assert.ok(s.metadata && typeof s.metadata === 'object' && !Array.isArray(s.metadata));
  assert.match(s.created_at, TIME_RE);
  assert.match(s.updated_at, TIME_RE);
  for (const k of ['started_at', 'ended_at']) assert.ok(s[k] === null || TIME_RE.test(s[k]), `${k} ${s[k]}`);
}

async function newThread(body = {}, cl = c) {
  const id = uniq('th');
  const r = await cl.post('/v1/threads', { id, ...body });
  assertStatus(r, 201);
  return id;
}

async function newRun(tid, body = {}, cl = c) {
  const r = await cl.post(R(tid), body);
  assertStatus(r, 201);
  assertRun(r.json, tid);
  assert.equal(r.headers.get('etag'), `"${r.json.version}"`, 'ETag on create');
  return r.json;
}

async function getRun(tid, rid, cl = c) {
  const r = await cl.get(R(tid, rid));
  assertStatus(r, 200);
  assertRun(r.json, tid);
  assert.equal(r.headers.get('etag'), `"${r.json.version}"`, 'ETag on GET');
  return r.json;
}

async function patchRun(tid, rid, body, opts = {}) {
  const r = await c.patch(R(tid, rid), body, opts);
  assertStatus(r, 200);
  assertRun(r.json, tid);
  assert.equal(r.headers.get('etag'), `"${r.json.version}"`, 'ETag on PATCH');
  return r.json;
}

async function newStep(tid, rid, body) {
  const r = await c.post(S(tid, rid), body);
  assertStatus(r, 201);
  assertStep(r.json, tid, rid);
  return r.json;
}

async function getStep(tid, rid, sid) {
  const r = await c.get(S(tid, rid, sid));
  assertStatus(r, 200);
  assertStep(r.json, tid, rid);
  return r.json;
}

async function patchStep(tid, rid, sid, body) {
  const r = await c.patch(S(tid, rid, sid), body);
  assertStatus(r, 200);
  assertStep(r.json, tid, rid);
  return r.json;
}

/** The events of run rid in thread tid, in seq order. */
async function runEvents(tid, rid) {
  const r = await c.get(`${E(tid)}?run_id=${rid}&limit=1000`);
  const data = assertList(r);
  for (const e of data) assert.equal(e.run_id, rid);
  return data;
}

const ids = (xs) => xs.map((x) => x.id);
const nearMs = (got, want, what) => assert.ok(typeof got === 'number' && Math.abs(got - want) < 0.0015, `${what}: ${got} ≈ ${want}`);
const ageMs = (ts) => Math.abs(Date.now() - Number(micros(ts) / 1000n));

// ---------------------------------------------------------------------------------------------
// Runs

test('POST a run with an empty object: a generated UUID and the defaults; GET returns the same', async () => {
  const tid = await newThread();
  const run = await newRun(tid, {});
  assert.match(run.id, UUID_RE);
  assert.equal(run.status, 'queued');
  for (const k of ['parent_run_id', 'name', 'input', 'output', 'error', 'usage', 'started_at', 'ended_at']) assert.equal(run[k], null, k);
  assert.deepEqual(run.metadata, {});
  assert.equal(run.version, 1);
  assert.equal(run.step_count, 0);
  assert.equal(run.created_at, run.updated_at);
  assert.ok(ageMs(run.created_at) < 60000, 'created_at is now');
  assert.deepEqual(await getRun(tid, run.id), run);
  const other = await newRun(tid, {});
  assert.notEqual(other.id, run.id);
});

test('POST a run with a client id, name, input and metadata; created running it has started_at at once', async () => {
  const tid = await newThread();
  const id = uniq('run');
  const input = '{"messages": [ {"role":"user", "content":"caf\\u00e9"} ],\n  "n": 1.50 }';
  const text = `{"id":"${id}","status":"running","name":"Plan — ünïcødé","input":${input},"metadata":{"a":1,"b":{"c":[true,null]}}}`;
  const r = await c.send('POST', R(tid), text);
  assertStatus(r, 201);
  assertRun(r.json, tid);
  assert.equal(r.json.id, id);
  assert.equal(r.json.status, 'running');
  assert.equal(r.json.name, 'Plan — ünïcødé');
  assert.deepEqual(r.json.metadata, { a: 1, b: { c: [true, null] } });
  assert.deepEqual(r.json.input, JSON.parse(input));
  assert.ok(r.text.includes(`"input":${input}`), `input byte for byte in the create reply:\n${r.text}`);
  assert.match(r.json.started_at, TIME_RE, 'a run created running has started_at');
  assert.ok(micros(r.json.started_at) >= micros(r.json.created_at) - 1000000n && ageMs(r.json.started_at) < 60000, 'started_at is now');
  assert.equal(r.json.ended_at, null);
  const g = await c.get(R(tid, id));
  assertStatus(g, 200);
  assert.ok(g.text.includes(`"input":${input}`), `input byte for byte in GET:\n${g.text}`);
  assert.deepEqual(g.json, r.json);
  const l = await c.get(R(tid));
  assert.ok(l.text.includes(`"input":${input}`), `input byte for byte in the list:\n${l.text}`);
  // The whole id alphabet.
  for (const rid of [uniq('A.b_c:d-e'), (uniq('L') + 'x'.repeat(128)).slice(0, 128)]) {
    const x = await newRun(tid, { id: rid });
    assert.equal(x.id, rid);
    assert.equal((await getRun(tid, rid)).id, rid);
  }
  // Scalars and null as input.
  for (const inp of ['"just text"', '42', 'null', '[ ]', 'true']) {
    const x = await c.send('POST', R(tid), `{"input":${inp}}`);
    assertStatus(x, 201);
    assert.ok(x.text.includes(`"input":${inp}`), `input ${inp} verbatim:\n${x.text}`);
  }
});

test('parent_run_id names a run of the same thread (a resumed run after an interrupt)', async () => {
  const tid = await newThread();
  const first = await newRun(tid, { status: 'running' });
  const stopped = await patchRun(tid, first.id, { status: 'interrupted' });
  assert.equal(stopped.status, 'interrupted');
  const resumed = await newRun(tid, { parent_run_id: first.id, status: 'running' });
  assert.equal(resumed.parent_run_id, first.id);
  assert.deepEqual(await getRun(tid, resumed.id), resumed);
  const sub = await newRun(tid, { parent_run_id: resumed.id });
  assert.equal(sub.parent_run_id, resumed.id);
  assert.equal(sub.status, 'queued');
});

test('a run id is unique in the org (409 run_exists across threads); another org may use it', async () => {
  const t1 = await newThread();
  const t2 = await newThread();
  const id = uniq('dup');
  const first = await newRun(t1, { id, name: 'first' });
  assertProblem(await c.post(R(t1), { id, name: 'again' }), 409, 'run_exists');
  assertProblem(await c.post(R(t2), { id, name: 'elsewhere' }), 409, 'run_exists');
  assert.deepEqual(await getRun(t1, id), first);
  assert.deepEqual(assertList(await c.get(R(t2))), []);
  const other = client(srv.url, (await createOrg(uniq('runs-other'))).api_key);
  const ot = await newThread({}, other);
  const theirs = await newRun(ot, { id }, other);
  assert.equal(theirs.id, id);
  assert.deepEqual(await getRun(t1, id), first, 'ours unchanged');
});

test('GET a thread\'s runs: newest first, status (repeatable) and parent_run_id filters, keyset pages', async () => {
  const tid = await newThread();
  const made = [];
  for (let i = 0; i < 5; i++) {
    made.push(await newRun(tid, { id: uniq(`r${i}`), name: `r${i}`, status: i % 2 ? 'running' : 'queued' }));
  }
  // r1 → requires_action, r3 → completed; two children of r0.
  await patchRun(tid, made[1].id, { status: 'requires_action' });
  await patchRun(tid, made[3].id, { status: 'completed' });
  const kid1 = await newRun(tid, { parent_run_id: made[0].id, name: 'kid1' });
  const kid2 = await newRun(tid, { parent_run_id: made[0].id, name: 'kid2' });
  const all = [...ids(made), kid1.id, kid2.id];
  const newest = all.slice().reverse();
  // Another thread's runs never show.
  const other = await newThread();
  await newRun(other, {});

  const l = await c.get(R(tid));
  assert.deepEqual(ids(assertList(l)), newest);
  assert.equal(l.json.has_more, false);
  for (const x of l.json.data) assertRun(x, tid);
  assert.deepEqual(l.json.data[0], await getRun(tid, kid2.id), 'list items are full run objects');
  assert.deepEqual(ids(assertList(await c.get(`${R(tid)}?order=asc`))), all);
  assert.deepEqual(ids(assertList(await c.get(`${R(tid)}?order=desc`))), newest);

  const st = async (qs) => ids(assertList(await c.get(`${R(tid)}?${qs}`)));
  assert.deepEqual(await st('status=queued'), [kid2.id, kid1.id, made[4].id, made[2].id, made[0].id]);
  assert.deepEqual(await st('status=requires_action'), [made[1].id]);
  assert.deepEqual(await st('status=completed&status=requires_action'), [made[3].id, made[1].id]);
  assert.deepEqual(await st('status=failed'), []);
  assert.deepEqual(await st(`parent_run_id=${made[0].id}`), [kid2.id, kid1.id]);
  assert.deepEqual(await st(`parent_run_id=${made[0].id}&order=asc`), [kid1.id, kid2.id]);
  assert.deepEqual(await st(`parent_run_id=${made[0].id}&status=completed`), []);
  assert.deepEqual(await st(`parent_run_id=${made[1].id}`), []);

  // Pages of 2 forwards, then backwards.
  const p1 = await c.get(`${R(tid)}?limit=2`);
  assert.deepEqual(ids(assertList(p1)), newest.slice(0, 2));
  assert.equal(p1.json.has_more, true);
  const p2 = await c.get(`${R(tid)}?limit=2&after=${p1.json.last_id}`);
  assert.deepEqual(ids(assertList(p2)), newest.slice(2, 4));
  assert.equal(p2.json.has_more, true);
  const p3 = await c.get(`${R(tid)}?limit=2&after=${p2.json.last_id}`);
  assert.deepEqual(ids(assertList(p3)), newest.slice(4, 6));
  assert.equal(p3.json.has_more, true);
  const p4 = await c.get(`${R(tid)}?limit=2&after=${p3.json.last_id}`);
  assert.deepEqual(ids(assertList(p4)), newest.slice(6));
  assert.equal(p4.json.has_more, false);
  const back = await c.get(`${R(tid)}?limit=2&before=${newest[4]}`);
  assert.deepEqual(ids(assertList(back)), newest.slice(2, 4), 'before: the previous page, in the requested order');
  assert.equal(back.json.has_more, true);
  const back2 = await c.get(`${R(tid)}?limit=2&before=${newest[2]}`);
  assert.deepEqual(ids(assertList(back2)), newest.slice(0, 2));
  assert.equal(back2.json.has_more, false);
  const ascPage = await c.get(`${R(tid)}?order=asc&limit=3&after=${all[1]}`);
  assert.deepEqual(ids(assertList(ascPage)), all.slice(2, 5));
  assert.equal(ascPage.json.has_more, true);
  // A filtered walk.
  assert.deepEqual(ids(await listAll(c, `${R(tid)}?status=queued&limit=2`)), [kid2.id, kid1.id, made[4].id, made[2].id, made[0].id]);
  // An empty thread lists nothing.
  const empty = await c.get(R(await newThread()));
  assert.deepEqual(assertList(empty), []);
  assert.equal(empty.json.has_more, false);
});

test('PATCH walks the lifecycle: started_at on first running, ended_at on a terminal state, version and ETag', async () => {
  const tid = await newThread();
  const r0 = await newRun(tid, { name: 'life' });
  assert.equal(r0.started_at, null);
  await sleep(2);
  const r1 = await patchRun(tid, r0.id, { status: 'running' });
  assert.equal(r1.status, 'running');
  assert.equal(r1.version, 2);
  assert.match(r1.started_at, TIME_RE, 'started_at set on entering running');
  assert.ok(micros(r1.started_at) > micros(r0.created_at));
  assert.ok(micros(r1.updated_at) > micros(r0.updated_at));
  assert.equal(r1.ended_at, null);
  assert.equal(r1.created_at, r0.created_at);
  await sleep(2);
  const r2 = await patchRun(tid, r0.id, { status: 'requires_action' });
  assert.equal(r2.version, 3);
  assert.equal(r2.started_at, r1.started_at);
  assert.equal(r2.ended_at, null);
  await sleep(2);
  const r3 = await patchRun(tid, r0.id, { status: 'running' });
  assert.equal(r3.version, 4);
  assert.equal(r3.started_at, r1.started_at, 'started_at stays the first entry into running');
  await sleep(2);
  const r4 = await patchRun(tid, r0.id, { status: 'completed', output: { answer: 42 } });
  assert.equal(r4.status, 'completed');
  assert.equal(r4.version, 5);
  assert.deepEqual(r4.output, { answer: 42 });
  assert.match(r4.ended_at, TIME_RE, 'ended_at set on entering a terminal state');
  assert.ok(micros(r4.ended_at) > micros(r3.updated_at));
  assert.equal(r4.started_at, r1.started_at);
  assert.deepEqual(await getRun(tid, r0.id), r4);
  // Terminal is final.
  for (const s of ['running', 'queued', 'failed', 'requires_action']) assertProblem(await c.patch(R(tid, r0.id), { status: s }), 409, 'invalid_state_transition');
  assert.deepEqual(await getRun(tid, r0.id), r4);
});

test('a run can end without ever running: started_at stays null, ended_at is set', async () => {
  const tid = await newThread();
  for (const end of ['completed', 'failed', 'cancelled', 'interrupted']) {
    const r = await newRun(tid, {});
    const p = await patchRun(tid, r.id, { status: end });
    assert.equal(p.status, end);
    assert.equal(p.started_at, null);
    assert.match(p.ended_at, TIME_RE);
    assert.equal(p.version, 2);
  }
});

test('PATCH keeps output, error and usage byte for byte and merges metadata (null removes)', async () => {
  const tid = await newThread();
  const run = await newRun(tid, { status: 'running', metadata: { keep: 'k', drop: 'd', change: 1 } });
  const output = '{"text": "caf\\u00e9 \\"q\\"",  "n":[1.10, 2e3 ]}';
  const usage = '{ "prompt_tokens":12,"completion_tokens" : 7 }';
  const error = '{"message":"tool timed out",  "code":"E_TIMEOUT"}';
  const r = await c.send('PATCH', R(tid, run.id), `{"output":${output},"usage":${usage},"error":${error}}`);
  assertStatus(r, 200);
  assertRun(r.json, tid);
  for (const [k, v] of [['output', output], ['usage', usage], ['error', error]]) {
    assert.ok(r.text.includes(`"${k}":${v}`), `${k} byte for byte in the PATCH reply:\n${r.text}`);
    assert.deepEqual(r.json[k], JSON.parse(v), k);
  }
  assert.equal(r.json.version, 2);
  assert.equal(r.json.status, 'running');
  const g = await c.get(R(tid, run.id));
  for (const [k, v] of [['output', output], ['usage', usage], ['error', error]]) assert.ok(g.text.includes(`"${k}":${v}`), `${k} byte for byte in GET:\n${g.text}`);
  const all = await c.get(`/v1/runs?thread_id=${tid}`);
  assert.ok(all.text.includes(`"output":${output}`), 'output byte for byte in /v1/runs');

  const m = await patchRun(tid, run.id, { metadata: { drop: null, change: 2, added: { x: [1] } } });
  assert.deepEqual(m.metadata, { keep: 'k', change: 2, added: { x: [1] } });
  assert.equal(m.version, 3);
  assert.deepEqual(m.output, JSON.parse(output), 'output untouched by a metadata PATCH');
  // Error without a code; output replaced by a scalar, then by null.
  const e2 = await patchRun(tid, run.id, { error: { message: 'only a message' }, output: 'plain' });
  assert.deepEqual(e2.error, { message: 'only a message' });
  assert.equal(e2.output, 'plain');
  assert.equal(e2.version, 4);
  const cleared = await patchRun(tid, run.id, { output: null, error: null, usage: null });
  assert.equal(cleared.output, null);
  assert.equal(cleared.error, null);
  assert.equal(cleared.usage, null);
  assert.equal(cleared.version, 5);
  assert.equal(cleared.status, 'running');
});

test('PATCH honours If-Match: a match is 200, a mismatch 412 with nothing changed and no event', async () => {
  const tid = await newThread();
  const run = await newRun(tid, {});
  const ok = await patchRun(tid, run.id, { status: 'running' }, { headers: { 'if-match': '"1"' } });
  assert.equal(ok.version, 2);
  const evBefore = await runEvents(tid, run.id);
  for (const etag of ['"1"', '"3"', '"0"', '"abc"', '1']) {
    assertProblem(await c.patch(R(tid, run.id), { status: 'completed' }, { headers: { 'if-match': etag } }), 412, 'precondition_failed');
    assertProblem(await c.patch(R(tid, run.id), { metadata: { lost: true } }, { headers: { 'if-match': etag } }), 412, 'precondition_failed');
  }
  assert.deepEqual(await getRun(tid, run.id), ok);
  assert.deepEqual(await runEvents(tid, run.id), evBefore, 'no event for a refused PATCH');
  const g = await c.get(R(tid, run.id));
  const ok2 = await patchRun(tid, run.id, { metadata: { won: true } }, { headers: { 'if-match': g.headers.get('etag') } });
  assert.equal(ok2.version, 3);
  assert.deepEqual(ok2.metadata, { won: true });
});

test('a PATCH that changes nothing returns the run unchanged: same version, no event', async () => {
  const tid = await newThread();
  const run = await newRun(tid, { status: 'running', metadata: { a: 1 } });
  const evBefore = await runEvents(tid, run.id);
  const same1 = await patchRun(tid, run.id, {});
  assert.deepEqual(same1, run);
  const same2 = await patchRun(tid, run.id, { status: 'running' });
  assert.deepEqual(same2, run, 'the status it already has is not a change');
  const same3 = await patchRun(tid, run.id, { status: 'running' }, { headers: { 'if-match': '"1"' } });
  assert.deepEqual(same3, run);
  assert.deepEqual(await runEvents(tid, run.id), evBefore, 'no event appended');
  // The same for a terminal run: its own status again is 200, unchanged.
  const done = await patchRun(tid, run.id, { status: 'failed', error: { message: 'x' } });
  const evDone = await runEvents(tid, run.id);
  assert.deepEqual(await patchRun(tid, run.id, { status: 'failed' }), done);
  assert.deepEqual(await patchRun(tid, run.id, {}), done);
  assert.deepEqual(await runEvents(tid, run.id), evDone);
});

test('GET /v1/runs: the org\'s runs across threads, newest first, with filters and pages', async () => {
  const tag = uniq('tag');
  const u1 = uniq('u1');
  const u2 = uniq('u2');
  const tA = await newThread({ user_id: u1 });
  const tB = await newThread({ user_id: u2 });
  const tC = await newThread();
  const made = [];
  const mk = async (tid, body) => {
    made.push(await newRun(tid, body));
    await sleep(5);
  };
  await mk(tA, { name: 'a0', metadata: { tag, k: 'a', n: 0 } });
  await mk(tB, { name: 'b1', status: 'running', metadata: { tag, k: 'b', n: 1 } });
  await mk(tA, { name: 'a2', status: 'running', metadata: { tag, k: 'a', n: 2 } });
  await mk(tC, { name: 'c3', metadata: { tag, k: 'c', n: 3, deep: { x: 1 } } });
  await mk(tB, { name: 'b4', status: 'running', metadata: { tag, k: 'b', n: 4 } });
  await patchRun(tB, made[1].id, { status: 'interrupted' });
  await patchRun(tA, made[2].id, { status: 'requires_action' });
  await newRun(tC, { metadata: { other: tag } }); // noise: not containing {tag}

  const names = async (qs) => assertList(await c.get(`/v1/runs?metadata=${q({ tag })}&${qs}`)).map((r) => r.name);
  const l = await c.get(`/v1/runs?metadata=${q({ tag })}`);
  const data = assertList(l);
  for (const r of data) assertRun(r);
  assert.deepEqual(data.map((r) => r.name), ['b4', 'c3', 'a2', 'b1', 'a0']);
  assert.equal(l.json.has_more, false);
  assert.deepEqual(data[0], await getRun(tB, made[4].id), 'full run objects');
  assert.deepEqual(await names('order=asc'), ['a0', 'b1', 'a2', 'c3', 'b4']);
  // What a restarted agent asks for.
  assert.deepEqual(await names('status=interrupted&status=requires_action'), ['a2', 'b1']);
  assert.deepEqual(await names('status=queued'), ['c3', 'a0']);
  assert.deepEqual(await names('status=running'), ['b4']);
  assert.deepEqual(await names(`thread_id=${tA}`), ['a2', 'a0']);
  assert.deepEqual(await names(`thread_id=${tB}&status=running`), ['b4']);
  assert.deepEqual(await names(`user_id=${u2}`), ['b4', 'b1']);
  assert.deepEqual(await names(`user_id=${u1}&order=asc`), ['a0', 'a2']);
  assert.deepEqual(await names(`user_id=${uniq('nobody')}`), []);
  assert.deepEqual(await names(`thread_id=${uniq('nothread')}`), []);
  assert.deepEqual(assertList(await c.get(`/v1/runs?metadata=${q({ tag, k: 'b' })}`)).map((r) => r.name), ['b4', 'b1']);
  assert.deepEqual(assertList(await c.get(`/v1/runs?metadata=${q({ tag, deep: { x: 1 } })}`)).map((r) => r.name), ['c3']);
  assert.deepEqual(assertList(await c.get(`/v1/runs?metadata=${q({ tag, n: 99 })}`)), []);
  assert.equal(assertList(await c.get(`/v1/runs?thread_id=${tC}`)).length, 2, 'without metadata the noise run counts too');
  // Time windows.
  const ts = made.map((r) => micros(r.created_at));
  for (let i = 1; i < ts.length; i++) assert.ok(ts[i - 1] < ts[i]);
  const mid = (i) => encodeURIComponent(fromMicros((ts[i] + ts[i + 1]) / 2n));
  assert.deepEqual(await names(`created_after=${mid(1)}`), ['b4', 'c3', 'a2']);
  assert.deepEqual(await names(`created_before=${mid(1)}`), ['b1', 'a0']);
  assert.deepEqual(await names(`created_after=${mid(0)}&created_before=${mid(3)}&order=asc`), ['b1', 'a2', 'c3']);
  assert.deepEqual(await names(`created_after=${mid(3)}&created_before=${mid(0)}`), []);
  assert.deepEqual(await names('created_after=2000-01-01T00:00:00Z&status=queued'), ['c3', 'a0']);
  // Pages of 2.
  const p1 = await c.get(`/v1/runs?metadata=${q({ tag })}&limit=2`);
  assert.deepEqual(assertList(p1).map((r) => r.name), ['b4', 'c3']);
  assert.equal(p1.json.has_more, true);
  const p2 = await c.get(`/v1/runs?metadata=${q({ tag })}&limit=2&after=${p1.json.last_id}`);
  assert.deepEqual(assertList(p2).map((r) => r.name), ['a2', 'b1']);
  assert.equal(p2.json.has_more, true);
  const p3 = await c.get(`/v1/runs?metadata=${q({ tag })}&limit=2&after=${p2.json.last_id}`);
  assert.deepEqual(assertList(p3).map((r) => r.name), ['a0']);
  assert.equal(p3.json.has_more, false);
  const pb = await c.get(`/v1/runs?metadata=${q({ tag })}&limit=2&before=${made[0].id}`);
  assert.deepEqual(assertList(pb).map((r) => r.name), ['a2', 'b1']);
  assert.equal(pb.json.has_more, true);
  assert.deepEqual((await listAll(c, `/v1/runs?metadata=${q({ tag })}&limit=1`)).map((r) => r.name), ['b4', 'c3', 'a2', 'b1', 'a0']);
  assert.deepEqual((await listAll(c, `/v1/runs?user_id=${u2}&limit=1&order=asc`)).map((r) => r.name), ['b1', 'b4']);
});

test('GET /v1/runs with a user key: only the runs of its own threads; a service key may filter by user', async () => {
  const ua = uniq('alice');
  const ub = uniq('bob');
  const key = async (body) => {
    const r = await c.post('/v1/keys', body);
    assertStatus(r, 201);
    return client(srv.url, r.json.key);
  };
  const alice = await key({ role: 'user', user_id: ua });
  const bob = await key({ role: 'user', user_id: ub });
  const svc = await key({ role: 'service' });
  const ta = await newThread({}, alice);
  const tb = await newThread({}, bob);
  const ra = await newRun(ta, { name: 'alice-run' }, alice);
  const rb = await newRun(tb, { name: 'bob-run' }, bob);
  const adminRun = await newRun(await newThread(), { name: 'admin-run' });
  const mine = assertList(await alice.get('/v1/runs?limit=100'));
  assert.deepEqual(ids(mine), [ra.id], 'alice sees only her run');
  assert.deepEqual(ids(assertList(await alice.get(`/v1/runs?user_id=${ua}`))), [ra.id]);
  assert.deepEqual(ids(assertList(await bob.get('/v1/runs?limit=100'))), [rb.id]);
  assertProblem(await alice.get(`/v1/runs?user_id=${ub}`), 403, 'forbidden');
  assert.deepEqual(ids(assertList(await svc.get(`/v1/runs?user_id=${ub}`))), [rb.id]);
  const adminView = ids(await listAll(c, '/v1/runs?limit=100'));
  for (const id of [ra.id, rb.id, adminRun.id]) assert.ok(adminView.includes(id), `admin sees ${id}`);
  // Alice's own run through the thread, and steps on it.
  assert.deepEqual((await alice.get(R(ta, ra.id))).json, ra);
  const st = await alice.post(S(ta, ra.id), { kind: 'llm', name: 'think' });
  assertStatus(st, 201);
  assertProblem(await alice.get(R(tb, rb.id)), 404, 'not_found');
  assertProblem(await bob.get(S(ta, ra.id, st.json.id)), 404, 'not_found');
});

// ---------------------------------------------------------------------------------------------
// Steps

test('steps: defaults, kinds, paths "1", "2", "1.1", "1.2", "1.1.1" and depths, depends_on; step_count', async () => {
  const tid = await newThread();
  const run = await newRun(tid, { status: 'running' });
  const s1 = await newStep(tid, run.id, { kind: 'node', name: 'root' });
  assert.match(s1.id, UUID_RE);
  assert.equal(s1.status, 'running', 'the default status is running');
  assert.match(s1.started_at, TIME_RE, 'a step created running has started_at at once');
  assert.ok(ageMs(s1.started_at) < 60000);
  assert.equal(s1.ended_at, null);
  assert.equal(s1.path, '1');
  assert.equal(s1.depth, 0);
  assert.equal(s1.parent_step_id, null);
  assert.deepEqual(s1.depends_on, []);
  for (const k of ['input', 'output', 'error']) assert.equal(s1[k], null, k);
  assert.deepEqual(s1.metadata, {});
  assert.deepEqual(await getStep(tid, run.id, s1.id), s1);

  const s2id = uniq('s2');
  const input = '{"prompt": "hi",  "t":0.70}';
  const r2 = await c.send('POST', S(tid, run.id), `{"id":"${s2id}","kind":"llm","name":"second","status":"pending","input":${input},"metadata":{"m":1}}`);
  assertStatus(r2, 201);
  const s2 = r2.json;
  assertStep(s2, tid, run.id);
  assert.ok(r2.text.includes(`"input":${input}`), `input byte for byte:\n${r2.text}`);
  assert.equal(s2.id, s2id);
  assert.equal(s2.status, 'pending');
  assert.equal(s2.started_at, null, 'a pending step has not started');
  assert.equal(s2.path, '2');
  assert.deepEqual(s2.metadata, { m: 1 });
  const g2 = await c.get(S(tid, run.id, s2id));
  assert.ok(g2.text.includes(`"input":${input}`), `input byte for byte in GET:\n${g2.text}`);

  const s11 = await newStep(tid, run.id, { parent_step_id: s1.id, kind: 'tool', name: 'c1' });
  assert.equal(s11.path, '1.1');
  assert.equal(s11.depth, 1);
  assert.equal(s11.parent_step_id, s1.id);
  const s12 = await newStep(tid, run.id, { parent_step_id: s1.id, kind: 'thinking', name: 'c2', depends_on: [s11.id] });
  assert.equal(s12.path, '1.2');
  assert.deepEqual(s12.depends_on, [s11.id]);
  const s111 = await newStep(tid, run.id, { parent_step_id: s11.id, kind: 'retrieval', name: 'gc', depends_on: [s2id, s12.id], status: 'running' });
  assert.equal(s111.path, '1.1.1');
  assert.equal(s111.depth, 2);
  assert.deepEqual(s111.depends_on, [s2id, s12.id]);
  const s3 = await newStep(tid, run.id, { kind: 'custom', name: 'third', depends_on: [s111.id] });
  assert.equal(s3.path, '3', 'top-level numbering is not disturbed by children');
  const s21 = await newStep(tid, run.id, { parent_step_id: s2id, kind: 'tool', name: 'child of pending' });
  assert.equal(s21.path, '2.1');
  const s112 = await newStep(tid, run.id, { parent_step_id: s11.id, kind: 'llm', name: 'gc2' });
  assert.equal(s112.path, '1.1.2');
  const s1111 = await newStep(tid, run.id, { parent_step_id: s111.id, kind: 'node', name: 'ggc' });
  assert.equal(s1111.path, '1.1.1.1');
  assert.equal(s1111.depth, 3);

  const r = await getRun(tid, run.id);
  assert.equal(r.step_count, 9);
  for (const k of KINDS) {
    const s = await newStep(tid, run.id, { kind: k, name: `kind ${k}` });
    assert.equal(s.kind, k);
  }
  assert.equal((await getRun(tid, run.id)).step_count, 15);
  // A step in a queued run, and a name of 1000 characters.
  const queued = await newRun(tid, {});
  const long = await newStep(tid, queued.id, { kind: 'node', name: 'n'.repeat(1000) });
  assert.equal(long.name.length, 1000);
  assert.equal(long.path, '1', 'paths are per run');
  assert.equal((await getRun(tid, queued.id)).step_count, 1);
  // 100 depends_on entries are allowed.
  const many = [];
  const big = await newRun(tid, { status: 'running' });
  for (let i = 0; i < 100; i++) many.push((await newStep(tid, big.id, { kind: 'tool', name: `t${i}` })).id);
  const join = await newStep(tid, big.id, { kind: 'node', name: 'join', depends_on: many });
  assert.deepEqual(join.depends_on, many);
  assert.equal(join.path, '101');
});

test('steps list in creation order, filters status, kind (repeatable) and parent_step_id, keyset pages', async () => {
  const tid = await newThread();
  const run = await newRun(tid, { status: 'running' });
  const a = await newStep(tid, run.id, { kind: 'node', name: 'a' });
  const b = await newStep(tid, run.id, { kind: 'llm', name: 'b', status: 'pending' });
  const a1 = await newStep(tid, run.id, { kind: 'tool', name: 'a1', parent_step_id: a.id });
  const a2 = await newStep(tid, run.id, { kind: 'tool', name: 'a2', parent_step_id: a.id, status: 'pending' });
  const c1 = await newStep(tid, run.id, { kind: 'custom', name: 'c' });
  const b1 = await newStep(tid, run.id, { kind: 'llm', name: 'b1', parent_step_id: b.id });
  await patchStep(tid, run.id, a1.id, { status: 'completed' });
  await patchStep(tid, run.id, c1.id, { status: 'failed' });
  const order = [a, b, a1, a2, c1, b1].map((s) => s.id);
  // Steps of another run never show.
  const other = await newRun(tid, { status: 'running' });
  await newStep(tid, other.id, { kind: 'node', name: 'elsewhere' });

  const l = await c.get(S(tid, run.id));
  const data = assertList(l);
  assert.deepEqual(ids(data), order, 'creation order by default');
  assert.equal(l.json.has_more, false);
  for (const s of data) assertStep(s, tid, run.id);
  assert.deepEqual(data[2], await getStep(tid, run.id, a1.id));
  assert.deepEqual(ids(assertList(await c.get(`${S(tid, run.id)}?order=asc`))), order);
  assert.deepEqual(ids(assertList(await c.get(`${S(tid, run.id)}?order=desc`))), order.slice().reverse());
  const f = async (qs) => ids(assertList(await c.get(`${S(tid, run.id)}?${qs}`)));
  assert.deepEqual(await f('status=pending'), [b.id, a2.id]);
  assert.deepEqual(await f('status=completed&status=failed'), [a1.id, c1.id]);
  assert.deepEqual(await f('status=running'), [a.id, b1.id]);
  assert.deepEqual(await f('status=cancelled'), []);
  assert.deepEqual(await f('kind=tool'), [a1.id, a2.id]);
  assert.deepEqual(await f('kind=llm&kind=custom'), [b.id, c1.id, b1.id]);
  assert.deepEqual(await f('kind=thinking'), []);
  assert.deepEqual(await f(`parent_step_id=${a.id}`), [a1.id, a2.id]);
  assert.deepEqual(await f(`parent_step_id=${b.id}`), [b1.id]);
  assert.deepEqual(await f(`parent_step_id=${a1.id}`), []);
  assert.deepEqual(await f(`parent_step_id=${a.id}&status=pending`), [a2.id]);
  assert.deepEqual(await f('kind=tool&status=completed'), [a1.id]);
  // Pages.
  const p1 = await c.get(`${S(tid, run.id)}?limit=4`);
  assert.deepEqual(ids(assertList(p1)), order.slice(0, 4));
  assert.equal(p1.json.has_more, true);
  const p2 = await c.get(`${S(tid, run.id)}?limit=4&after=${p1.json.last_id}`);
  assert.deepEqual(ids(assertList(p2)), order.slice(4));
  assert.equal(p2.json.has_more, false);
  const pb = await c.get(`${S(tid, run.id)}?limit=2&before=${order[4]}`);
  assert.deepEqual(ids(assertList(pb)), order.slice(2, 4));
  assert.equal(pb.json.has_more, true);
  assert.deepEqual(ids(await listAll(c, `${S(tid, run.id)}?limit=1`)), order);
  assert.deepEqual(ids(await listAll(c, `${S(tid, run.id)}?limit=1&order=desc&kind=tool&kind=llm`)), [b1.id, a2.id, a1.id, b.id]);
  // A run without steps.
  const none = await c.get(S(tid, (await newRun(tid, {})).id));
  assert.deepEqual(assertList(none), []);
});

test('step PATCH: pending → running → completed sets started_at then ended_at; output byte for byte; terminal is final', async () => {
  const tid = await newThread();
  const run = await newRun(tid, { status: 'running' });
  const s = await newStep(tid, run.id, { kind: 'tool', name: 'search', status: 'pending', metadata: { a: 1, b: 2 } });
  assert.equal(s.started_at, null);
  await sleep(2);
  const p1 = await patchStep(tid, run.id, s.id, { status: 'running' });
  assert.equal(p1.status, 'running');
  assert.match(p1.started_at, TIME_RE);
  assert.ok(micros(p1.started_at) > micros(s.created_at));
  assert.ok(micros(p1.updated_at) > micros(s.updated_at));
  assert.equal(p1.ended_at, null);
  assert.equal(p1.path, s.path);
  const m = await patchStep(tid, run.id, s.id, { metadata: { a: null, c: 3 } });
  assert.deepEqual(m.metadata, { b: 2, c: 3 });
  assert.equal(m.status, 'running');
  await sleep(2);
  const output = '[ {"hit": "caf\\u00e9"}, 1.50 ]';
  const r = await c.send('PATCH', S(tid, run.id, s.id), `{"status":"completed","output":${output}}`);
  assertStatus(r, 200);
  assertStep(r.json, tid, run.id);
  assert.ok(r.text.includes(`"output":${output}`), `output byte for byte:\n${r.text}`);
  assert.equal(r.json.status, 'completed');
  assert.match(r.json.ended_at, TIME_RE);
  assert.ok(micros(r.json.ended_at) > micros(p1.started_at));
  assert.equal(r.json.started_at, p1.started_at);
  const g = await c.get(S(tid, run.id, s.id));
  assert.ok(g.text.includes(`"output":${output}`), `output byte for byte in GET:\n${g.text}`);
  assert.deepEqual(g.json, r.json);
  for (const st of ['running', 'pending', 'failed', 'cancelled']) assertProblem(await c.patch(S(tid, run.id, s.id), { status: st }), 409, 'invalid_state_transition');
  assert.deepEqual(await getStep(tid, run.id, s.id), r.json);
  // Same status again is fine; an error object with a code.
  assert.deepEqual(await patchStep(tid, run.id, s.id, { status: 'completed' }), r.json);
  const f = await newStep(tid, run.id, { kind: 'llm', name: 'fails' });
  const ff = await patchStep(tid, run.id, f.id, { status: 'failed', error: { message: 'rate limited', code: '429' } });
  assert.deepEqual(ff.error, { message: 'rate limited', code: '429' });
  assert.match(ff.ended_at, TIME_RE);
  // Pending straight to cancelled: never started.
  const x = await newStep(tid, run.id, { kind: 'llm', name: 'skipped', status: 'pending' });
  const xc = await patchStep(tid, run.id, x.id, { status: 'cancelled' });
  assert.equal(xc.started_at, null);
  assert.match(xc.ended_at, TIME_RE);
});

test('graph: every step in creation order and exactly the child and depends_on edges', async () => {
  const tid = await newThread();
  const run = await newRun(tid, { status: 'running' });
  const a = await newStep(tid, run.id, { id: uniq('a'), kind: 'node', name: 'a' });
  const b = await newStep(tid, run.id, { id: uniq('b'), kind: 'llm', name: 'b', status: 'pending' });
  const a1 = await newStep(tid, run.id, { id: uniq('a1'), kind: 'tool', name: 'a1', parent_step_id: a.id });
  const a2 = await newStep(tid, run.id, { id: uniq('a2'), kind: 'tool', name: 'a2', parent_step_id: a.id, depends_on: [a1.id] });
  const a11 = await newStep(tid, run.id, { id: uniq('a11'), kind: 'retrieval', name: 'a11', parent_step_id: a1.id, depends_on: [b.id, a2.id] });
  const b1 = await newStep(tid, run.id, { id: uniq('b1'), kind: 'thinking', name: 'b1', parent_step_id: b.id });
  const cc = await newStep(tid, run.id, { id: uniq('c'), kind: 'custom', name: 'c', depends_on: [a.id, b.id] });
  const g = await c.get(`${R(tid, run.id)}/graph`);
  assertStatus(g, 200);
  assert.deepEqual(Object.keys(g.json).sort(), ['edges', 'nodes', 'object', 'run_id']);
  assert.equal(g.json.object, 'run.graph');
  assert.equal(g.json.run_id, run.id);
  assert.deepEqual(g.json.nodes, assertList(await c.get(`${S(tid, run.id)}?limit=100`)), 'the nodes are the steps in creation order');
  assert.deepEqual(ids(g.json.nodes), [a, b, a1, a2, a11, b1, cc].map((s) => s.id));
  const key = (e) => `${e.kind} ${e.from} → ${e.to}`;
  for (const e of g.json.edges) assert.deepEqual(Object.keys(e).sort(), ['from', 'kind', 'to']);
  const want = [
    { from: a.id, to: a1.id, kind: 'child' },
    { from: a.id, to: a2.id, kind: 'child' },
    { from: a1.id, to: a11.id, kind: 'child' },
    { from: b.id, to: b1.id, kind: 'child' },
    { from: a1.id, to: a2.id, kind: 'depends_on' },
    { from: b.id, to: a11.id, kind: 'depends_on' },
    { from: a2.id, to: a11.id, kind: 'depends_on' },
    { from: a.id, to: cc.id, kind: 'depends_on' },
    { from: b.id, to: cc.id, kind: 'depends_on' },
  ];
  assert.deepEqual(g.json.edges.map(key).sort(), want.map(key).sort());
  // An empty run.
  const empty = await newRun(tid, {});
  const ge = await c.get(`${R(tid, empty.id)}/graph`);
  assertStatus(ge, 200);
  assert.deepEqual(ge.json, { object: 'run.graph', run_id: empty.id, nodes: [], edges: [] });
});

// ---------------------------------------------------------------------------------------------
// Summaries

function assertSummaryShape(sm, runId) {
  assert.deepEqual(Object.keys(sm).sort(), ['critical_path', 'duration_ms', 'events', 'object', 'run_id', 'status', 'steps', 'timeline']);
  assert.equal(sm.object, 'run.summary');
  assert.equal(sm.run_id, runId);
  assert.deepEqual(Object.keys(sm.steps).sort(), ['by_kind', 'by_status', 'total']);
  assert.deepEqual(Object.keys(sm.steps.by_status).sort(), STEP_STATUSES.slice().sort(), 'all 5 statuses');
  assert.deepEqual(Object.keys(sm.steps.by_kind).sort(), KINDS.slice().sort(), 'all 6 kinds');
  assert.equal(Object.values(sm.steps.by_status).reduce((x, y) => x + y, 0), sm.steps.total);
  assert.equal(Object.values(sm.steps.by_kind).reduce((x, y) => x + y, 0), sm.steps.total);
  assert.deepEqual(Object.keys(sm.events).sort(), ['by_type', 'total']);
  assert.equal(Object.values(sm.events.by_type).reduce((x, y) => x + y, 0), sm.events.total);
  assert.equal(sm.timeline.length, sm.steps.total, 'every step is on the timeline');
  for (const t of sm.timeline) {
    assert.deepEqual(Object.keys(t).sort(), ['duration_ms', 'ended_at', 'kind', 'name', 'path', 'started_at', 'status', 'step_id']);
    assert.ok(t.started_at === null || TIME_RE.test(t.started_at));
    assert.ok(t.ended_at === null || TIME_RE.test(t.ended_at));
    if (t.started_at === null) assert.equal(t.duration_ms, null, 'never started: duration null');
    else assert.ok(typeof t.duration_ms === 'number' && t.duration_ms >= 0, `duration_ms ${t.duration_ms}`);
  }
  // Started steps by started_at, never-started last.
  let seenNull = false;
  for (let i = 0; i < sm.timeline.length; i++) {
    const t = sm.timeline[i];
    if (t.started_at === null) seenNull = true;
    else {
      assert.ok(!seenNull, 'never-started steps come last');
      if (i > 0) assert.ok(micros(sm.timeline[i - 1].started_at) <= micros(t.started_at), 'timeline in start order');
    }
  }
  assert.ok(Array.isArray(sm.critical_path));
}

test('summary of a REST-built run: counts with all keys, events by type, timeline order, a critical path along edges', async () => {
  const tid = await newThread();
  const run = await newRun(tid, { status: 'running' });
  const a = await newStep(tid, run.id, { kind: 'node', name: 'a' });
  const b = await newStep(tid, run.id, { kind: 'llm', name: 'b', status: 'pending' });
  await sleep(3);
  const c1 = await newStep(tid, run.id, { kind: 'tool', name: 'c', parent_step_id: a.id });
  await sleep(3);
  await patchStep(tid, run.id, c1.id, { status: 'completed' });
  const d = await newStep(tid, run.id, { kind: 'tool', name: 'd', depends_on: [c1.id] });
  await sleep(3);
  await patchStep(tid, run.id, d.id, { status: 'failed', error: { message: 'x' } });
  const e = await newStep(tid, run.id, { kind: 'custom', name: 'e', status: 'pending' });
  await patchStep(tid, run.id, e.id, { status: 'cancelled' });
  await patchStep(tid, run.id, a.id, { metadata: { note: 1 } });

  const r = await c.get(`${R(tid, run.id)}/summary`);
  assertStatus(r, 200);
  const sm = r.json;
  assertSummaryShape(sm, run.id);
  assert.equal(sm.status, 'running');
  assert.ok(typeof sm.duration_ms === 'number' && sm.duration_ms > 0, 'a running run: now − started_at');
  assert.deepEqual(sm.steps, {
    total: 5,
    by_status: { pending: 1, running: 1, completed: 1, failed: 1, cancelled: 1 },
    by_kind: { node: 1, llm: 1, tool: 2, thinking: 0, retrieval: 0, custom: 1 },
  });
  assert.deepEqual(sm.events.by_type, {
    'run.created': 1,
    'step.created': 5,
    'step.completed': 1,
    'step.failed': 1,
    'step.cancelled': 1,
    'step.updated': 1,
  });
  assert.equal(sm.events.total, 10);
  // Timeline: started steps in start order, then b and e (never started) in creation order.
  assert.deepEqual(sm.timeline.map((t) => t.step_id), [a.id, c1.id, d.id, b.id, e.id]);
  const tc = sm.timeline[1];
  const sc = await getStep(tid, run.id, c1.id);
  assert.deepEqual(tc, { step_id: c1.id, path: '1.1', name: 'c', kind: 'tool', status: 'completed', started_at: sc.started_at, ended_at: sc.ended_at, duration_ms: tc.duration_ms });
  nearMs(tc.duration_ms, Number(micros(sc.ended_at) - micros(sc.started_at)) / 1000, 'step duration is ended_at − started_at');
  assert.ok(sm.timeline[0].duration_ms > 0, 'a running step: now − started_at');
  // The critical path is a chain along the graph's edges.
  const g = (await c.get(`${R(tid, run.id)}/graph`)).json;
  const edge = new Set(g.edges.map((x) => `${x.from}>${x.to}`));
  assert.ok(sm.critical_path.length >= 1);
  for (let i = 1; i < sm.critical_path.length; i++) assert.ok(edge.has(`${sm.critical_path[i - 1]}>${sm.critical_path[i]}`), `critical path ${sm.critical_path} follows edges`);
  // Here the running step a (since the start) dominates: a → c → d is the only chain through a.
  assert.deepEqual(sm.critical_path, [a.id, c1.id, d.id]);

  // A queued run with no steps.
  const q0 = await newRun(tid, {});
  const s0 = await c.get(`${R(tid, q0.id)}/summary`);
  assertStatus(s0, 200);
  assertSummaryShape(s0.json, q0.id);
  assert.equal(s0.json.status, 'queued');
  assert.equal(s0.json.duration_ms, null, 'never started: null');
  assert.deepEqual(s0.json.steps, {
    total: 0,
    by_status: { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 },
    by_kind: { node: 0, llm: 0, tool: 0, thinking: 0, retrieval: 0, custom: 0 },
  });
  assert.deepEqual(s0.json.events, { total: 1, by_type: { 'run.created': 1 } });
  assert.deepEqual(s0.json.timeline, []);
  assert.deepEqual(s0.json.critical_path, []);
  // A finished run: ended_at − started_at.
  const done = await newRun(tid, { status: 'running' });
  await sleep(5);
  const fin = await patchRun(tid, done.id, { status: 'completed' });
  const sd = (await c.get(`${R(tid, done.id)}/summary`)).json;
  assertSummaryShape(sd, done.id);
  nearMs(sd.duration_ms, Number(micros(fin.ended_at) - micros(fin.started_at)) / 1000, 'run duration');
  assert.deepEqual(sd.events.by_type, { 'run.created': 1, 'run.completed': 1 });
});

test('summary with known durations (steps driven by events with occurred_at): timeline, durations and the critical path', async () => {
  const tid = await newThread();
  const rid = uniq('timed');
  const T0 = micros('2024-03-01T10:00:00.000000Z');
  const at = (ms) => fromMicros(T0 + BigInt(Math.round(ms * 1000)));
  const sid = (n) => `${rid}-${n}`;
  // step: [kind, parent, depends_on, start ms, end ms]; h never starts.
  const plan = {
    a: ['node', null, [], 0, 100],
    c: ['llm', null, [], 10, 160],
    d: ['thinking', 'a', [], 20, 30],
    b: ['tool', null, ['a'], 100, 150],
    g: ['retrieval', 'b', [], 105, 145.5],
    e: ['custom', null, ['b'], 150, 170],
    f: ['tool', 'c', [], 40, 45],
    h: ['llm', null, [], null, null],
  };
  const events = [{ type: 'run.created', run_id: rid, data: { status: 'running', name: 'timed' }, occurred_at: at(0) }];
  for (const [n, [kind, parent, deps, start]] of Object.entries(plan)) {
    const data = { kind, name: `step ${n}`, status: start === null ? 'pending' : 'running' };
    if (parent) data.parent_step_id = sid(parent);
    if (deps.length) data.depends_on = deps.map(sid);
    const ev = { type: 'step.created', run_id: rid, step_id: sid(n), data };
    if (start !== null) ev.occurred_at = at(start);
    events.push(ev);
  }
  for (const [n, [, , , start, end]] of Object.entries(plan)) {
    if (start !== null) events.push({ type: 'step.completed', run_id: rid, step_id: sid(n), occurred_at: at(end) });
  }
  events.push({ type: 'run.completed', run_id: rid, data: { output: { ok: true } }, occurred_at: at(1000) });
  const ap = await c.post(E(tid), { events });
  assertStatus(ap, 201);
  assert.equal(ap.json.data.length, events.length);

  const run = await getRun(tid, rid);
  assert.equal(run.status, 'completed');
  assert.equal(run.started_at, at(0), 'started_at is the occurred_at of the event');
  assert.equal(run.ended_at, at(1000));
  assert.equal(run.step_count, 8);
  assert.deepEqual(run.output, { ok: true });
  assert.equal(run.name, 'timed');
  const steps = assertList(await c.get(`${S(tid, rid)}?limit=100`));
  assert.deepEqual(ids(steps), Object.keys(plan).map(sid));
  assert.deepEqual(steps.map((s) => s.path), ['1', '2', '1.1', '3', '3.1', '4', '2.1', '5']);
  for (const s of steps) {
    const [kind, , , start, end] = plan[s.id.slice(rid.length + 1)];
    assert.equal(s.kind, kind);
    assert.equal(s.started_at, start === null ? null : at(start), `${s.id} started_at`);
    assert.equal(s.ended_at, end === null ? null : at(end), `${s.id} ended_at`);
    assert.equal(s.status, start === null ? 'pending' : 'completed');
  }

  const r = await c.get(`${R(tid, rid)}/summary`);
  assertStatus(r, 200);
  const sm = r.json;
  assertSummaryShape(sm, rid);
  assert.equal(sm.status, 'completed');
  nearMs(sm.duration_ms, 1000, 'run duration_ms');
  assert.deepEqual(sm.steps, {
    total: 8,
    by_status: { pending: 1, running: 0, completed: 7, failed: 0, cancelled: 0 },
    by_kind: { node: 1, llm: 2, tool: 2, thinking: 1, retrieval: 1, custom: 1 },
  });
  assert.deepEqual(sm.events, { total: 17, by_type: { 'run.created': 1, 'step.created': 8, 'step.completed': 7, 'run.completed': 1 } });
  assert.deepEqual(sm.timeline.map((t) => t.step_id), ['a', 'c', 'd', 'f', 'b', 'g', 'e', 'h'].map(sid), 'by started_at, never-started last');
  for (const t of sm.timeline) {
    const n = t.step_id.slice(rid.length + 1);
    const [kind, , , start, end] = plan[n];
    assert.equal(t.kind, kind);
    assert.equal(t.name, `step ${n}`);
    assert.equal(t.path, steps.find((s) => s.id === t.step_id).path);
    assert.equal(t.started_at, start === null ? null : at(start));
    assert.equal(t.ended_at, end === null ? null : at(end));
    if (start === null) assert.equal(t.duration_ms, null);
    else nearMs(t.duration_ms, end - start, `${n} duration_ms`);
  }
  // Chains: a→b→g = 100+50+40.5, a→b→e = 170, a→d = 110, c→f = 155, c alone = 150.
  assert.deepEqual(sm.critical_path, ['a', 'b', 'g'].map(sid));
});

test('timeline ties on started_at keep creation order', async () => {
  const tid = await newThread();
  const rid = uniq('ties');
  const t = '2024-05-01T00:00:00.000000Z';
  const events = [{ type: 'run.created', run_id: rid, data: { status: 'running' }, occurred_at: t }];
  for (const n of ['z', 'y', 'x']) events.push({ type: 'step.created', run_id: rid, step_id: `${rid}-${n}`, data: { kind: 'tool', name: n }, occurred_at: t });
  assertStatus(await c.post(E(tid), { events }), 201);
  const sm = (await c.get(`${R(tid, rid)}/summary`)).json;
  assertSummaryShape(sm, rid);
  assert.deepEqual(sm.timeline.map((x) => x.name), ['z', 'y', 'x']);
});

// ---------------------------------------------------------------------------------------------
// The event log

test('every REST change appends the right event, in order, with run_id, step_id and the changed fields; a replay rebuilds the run', async () => {
  const tid = await newThread();
  const rid = uniq('ev');
  const parent = await newRun(tid, {});
  const expect = []; // [type, step_id, data]
  await newRun(tid, { id: rid, name: 'n', input: { q: 1 }, metadata: { m: 1 }, parent_run_id: parent.id });
  expect.push(['run.created', null, { status: 'queued', name: 'n', input: { q: 1 }, metadata: { m: 1 }, parent_run_id: parent.id }]);
  await patchRun(tid, rid, { status: 'running' });
  expect.push(['run.running', null, { status: 'running' }]);
  const s1 = uniq('s1');
  await newStep(tid, rid, { id: s1, kind: 'llm', name: 'plan', input: [1] });
  expect.push(['step.created', s1, { kind: 'llm', name: 'plan', status: 'running', path: '1', depth: 0, input: [1] }]);
  const s2 = uniq('s2');
  await newStep(tid, rid, { id: s2, parent_step_id: s1, depends_on: [], kind: 'tool', name: 't', status: 'pending', metadata: { x: 1 } });
  expect.push(['step.created', s2, { kind: 'tool', name: 't', status: 'pending', path: '1.1', depth: 1, parent_step_id: s1, depends_on: [], metadata: { x: 1 } }]);
  const s3 = uniq('s3');
  await newStep(tid, rid, { id: s3, depends_on: [s1, s2], kind: 'custom', name: 'join' });
  expect.push(['step.created', s3, { kind: 'custom', name: 'join', status: 'running', path: '2', depth: 0, depends_on: [s1, s2] }]);
  await patchStep(tid, rid, s2, { status: 'running' });
  expect.push(['step.running', s2, { status: 'running' }]);
  await patchStep(tid, rid, s2, { metadata: { y: 2 } });
  expect.push(['step.updated', s2, { metadata: { y: 2 } }]);
  await patchStep(tid, rid, s2, { status: 'completed', output: 'ok' });
  expect.push(['step.completed', s2, { status: 'completed', output: 'ok' }]);
  await patchStep(tid, rid, s1, { status: 'failed', error: { message: 'boom', code: 'E1' } });
  expect.push(['step.failed', s1, { status: 'failed', error: { message: 'boom', code: 'E1' } }]);
  await patchStep(tid, rid, s3, { status: 'cancelled' });
  expect.push(['step.cancelled', s3, { status: 'cancelled' }]);
  await patchRun(tid, rid, { metadata: { m: null, k: 2 } });
  expect.push(['run.updated', null, { metadata: { m: null, k: 2 } }]);
  await patchRun(tid, rid, { usage: { tokens: 5 } });
  expect.push(['run.updated', null, { usage: { tokens: 5 } }]);
  await patchRun(tid, rid, { status: 'requires_action' });
  expect.push(['run.requires_action', null, { status: 'requires_action' }]);
  await patchRun(tid, rid, { status: 'running', metadata: { again: true } });
  expect.push(['run.running', null, { status: 'running', metadata: { again: true } }]);
  await patchRun(tid, rid, { status: 'completed', output: { a: 1 }, usage: { t: 1 } });
  expect.push(['run.completed', null, { status: 'completed', output: { a: 1 }, usage: { t: 1 } }]);
  // No-ops append nothing.
  await patchRun(tid, rid, { status: 'completed' });
  await patchStep(tid, rid, s2, { status: 'completed' });

  const evs = await runEvents(tid, rid);
  assert.deepEqual(evs.map((e) => e.type), expect.map((x) => x[0]), 'types in order');
  evs.forEach((e, i) => {
    const [type, step, data] = expect[i];
    assert.equal(e.thread_id, tid, `${i} ${type} thread_id`);
    assert.equal(e.run_id, rid, `${i} ${type} run_id`);
    assert.equal(e.step_id, step, `${i} ${type} step_id`);
    // (depends_on is not listed as always present in step.created data; an empty array when not
    // given is accepted here — see the report.)
    const got = type === 'step.created' && !('depends_on' in data) && Array.isArray(e.data?.depends_on) && e.data.depends_on.length === 0 ? (({ depends_on, ...rest }) => rest)(e.data) : e.data;
    assert.deepEqual(got, data, `${i} ${type} data`);
    if (i > 0) assert.ok(e.seq > evs[i - 1].seq);
  });
  const stepEvs = assertList(await c.get(`${E(tid)}?step_id=${s2}&limit=1000`));
  assert.deepEqual(stepEvs.map((e) => e.type), ['step.created', 'step.running', 'step.updated', 'step.completed']);
  const parentEvs = await runEvents(tid, parent.id);
  assert.deepEqual(parentEvs.map((e) => e.type), ['run.created']);
  assert.deepEqual(parentEvs[0].data, { status: 'queued' });
  const typed = assertList(await c.get(`${E(tid)}?run_id=${rid}&type=step.*&limit=1000`));
  assert.equal(typed.length, expect.filter((x) => x[0].startsWith('step.')).length);

  // Replay: fold the log into runs and steps and compare with what the API reports.
  const runState = {};
  const stepState = {};
  for (const e of evs) {
    const [kind, what] = e.type.split('.');
    if (kind === 'run') {
      if (what === 'created') runState.status = e.data.status;
      else if (what !== 'updated') runState.status = what;
    } else if (what === 'created') stepState[e.step_id] = { status: e.data.status, path: e.data.path, kind: e.data.kind, name: e.data.name, parent_step_id: e.data.parent_step_id ?? null, depends_on: e.data.depends_on ?? [] };
    else if (what !== 'updated') stepState[e.step_id].status = what;
  }
  assert.equal(runState.status, (await getRun(tid, rid)).status);
  const steps = assertList(await c.get(`${S(tid, rid)}?limit=100`));
  assert.deepEqual(
    Object.fromEntries(steps.map((s) => [s.id, { status: s.status, path: s.path, kind: s.kind, name: s.name, parent_step_id: s.parent_step_id, depends_on: s.depends_on }])),
    stepState,
  );
});

test('the events a REST change appends arrive in the thread log with the rest; events drive runs the other way', async () => {
  const tid = await newThread();
  assertStatus(await c.post(E(tid), { events: [{ type: 'note', data: 1 }] }), 201);
  const run = await newRun(tid, { status: 'running' });
  const log = assertList(await c.get(`${E(tid)}?limit=1000`));
  assert.deepEqual(log.map((e) => [e.seq, e.type]), [[1, 'note'], [2, 'run.created']]);
  assert.equal(log[1].run_id, run.id);
  // A step by event, then a PATCH by REST: the step exists and its log continues.
  const sid = uniq('evstep');
  assertStatus(await c.post(E(tid), { events: [{ type: 'step.created', run_id: run.id, step_id: sid, data: { kind: 'tool', name: 'by event', extra: 'ignored' } }] }), 201);
  const st = await getStep(tid, run.id, sid);
  assert.equal(st.status, 'running');
  assert.equal(st.path, '1');
  await patchStep(tid, run.id, sid, { status: 'completed' });
  assert.deepEqual((await runEvents(tid, run.id)).map((e) => e.type), ['run.created', 'step.created', 'step.completed']);
  // Re-appending an event with the same id and content is not applied again.
  const eid = uniq('once');
  const s2 = uniq('s2');
  const ev = { id: eid, type: 'step.created', run_id: run.id, step_id: s2, data: { kind: 'llm', name: 'once' } };
  assertStatus(await c.post(E(tid), { events: [ev] }), 201);
  assertStatus(await c.post(E(tid), { events: [ev] }), 200);
  assert.equal((await getRun(tid, run.id)).step_count, 2);
});

test('deleting a thread deletes its runs and steps: after recreating the thread id they are gone', async () => {
  const tid = await newThread();
  const rid = uniq('gone');
  await newRun(tid, { id: rid, status: 'running' });
  const sid = uniq('gone-step');
  await newStep(tid, rid, { id: sid, kind: 'tool', name: 'x' });
  const child = await newStep(tid, rid, { kind: 'tool', name: 'y', parent_step_id: sid });
  assertStatus(await c.del(`/v1/threads/${tid}`), 200);
  assertProblem(await c.get(R(tid, rid)), 404, 'not_found');
  assertStatus(await c.post('/v1/threads', { id: tid }), 201);
  assertProblem(await c.get(R(tid, rid)), 404, 'not_found');
  assertProblem(await c.get(S(tid, rid)), 404, 'not_found');
  assertProblem(await c.get(S(tid, rid, sid)), 404, 'not_found');
  assertProblem(await c.get(`${R(tid, rid)}/graph`), 404, 'not_found');
  assertProblem(await c.get(`${R(tid, rid)}/summary`), 404, 'not_found');
  assertProblem(await c.patch(R(tid, rid), { status: 'completed' }), 404, 'not_found');
  assert.deepEqual(assertList(await c.get(R(tid))), []);
  assert.deepEqual(assertList(await c.get(`/v1/runs?thread_id=${tid}`)), []);
  assert.ok(!ids(await listAll(c, '/v1/runs?limit=100')).includes(rid));
  assert.deepEqual(assertList(await c.get(`${E(tid)}?limit=1000`)), []);
  // The ids are free again.
  const again = await newRun(tid, { id: rid });
  assert.equal(again.step_count, 0);
  assert.equal(again.version, 1);
  const s = await newStep(tid, rid, { id: sid, kind: 'llm', name: 'again' });
  assert.equal(s.path, '1');
  await newStep(tid, rid, { id: child.id, kind: 'llm', name: 'child id reused' });
});

// ---------------------------------------------------------------------------------------------
// Events driving runs, concurrency, retries and large runs

test('events with occurred_at drive the lifecycle: started_at on the first running only, ended_at, versions; data members kept byte for byte', async () => {
  const tid = await newThread();
  const rid = uniq('occ');
  const sid = `${rid}-s`;
  const input = '{"a" :  1, "b":[ 1.50 ]}';
  const first = await c.send('POST', E(tid), `{"events":[{"type":"run.created","run_id":"${rid}","data":{"status":"queued","input":${input},"unknown":1},"occurred_at":"2024-01-01T00:00:00Z"}]}`);
  assertStatus(first, 201);
  const g0 = await c.get(R(tid, rid));
  assertStatus(g0, 200);
  assert.ok(g0.text.includes(`"input":${input}`), `input from event data byte for byte:\n${g0.text}`);
  assert.equal(g0.json.started_at, null);
  assert.equal(g0.json.version, 1);
  const at = (s) => `2024-01-01T00:00:0${s}.000000Z`;
  const r = await c.post(E(tid), {
    events: [
      { type: 'run.running', run_id: rid, occurred_at: at(1) },
      { type: 'run.requires_action', run_id: rid, occurred_at: at(2) },
      { type: 'run.running', run_id: rid, occurred_at: at(3) },
      { type: 'run.running', run_id: rid, occurred_at: at(4) }, // equal status: accepted, no-op
      { type: 'step.created', run_id: rid, step_id: sid, data: { kind: 'tool', name: 'p', status: 'pending' }, occurred_at: at(4) },
      { type: 'step.running', run_id: rid, step_id: sid, occurred_at: at(5) },
      { type: 'step.failed', run_id: rid, step_id: sid, data: { error: { message: 'e' } }, occurred_at: at(6) },
      { type: 'run.updated', run_id: rid, data: { metadata: { k: 1 } } },
      { type: 'run.cancelled', run_id: rid, occurred_at: at(7) },
    ],
  });
  assertStatus(r, 201);
  const run = await getRun(tid, rid);
  assert.equal(run.status, 'cancelled');
  assert.equal(run.started_at, at(1), 'started_at: the first entry into running');
  assert.equal(run.ended_at, at(7));
  assert.deepEqual(run.metadata, { k: 1 });
  assert.equal(run.version, 6, 'created, running, requires_action, running, updated, cancelled');
  const st = await getStep(tid, rid, sid);
  assert.equal(st.status, 'failed');
  assert.equal(st.started_at, at(5));
  assert.equal(st.ended_at, at(6));
  assert.deepEqual(st.error, { message: 'e' });
  const sm = (await c.get(`${R(tid, rid)}/summary`)).json;
  nearMs(sm.duration_ms, 6000, 'run duration from the event times');
  nearMs(sm.timeline[0].duration_ms, 1000, 'step duration from the event times');
  assert.equal(sm.events.by_type['run.running'], 3, 'every appended event counts, the no-op too');
});

test('concurrent step creation gives every step its own path; concurrent terminal PATCHes: one wins, one event', async () => {
  const tid = await newThread();
  const run = await newRun(tid, { status: 'running' });
  const parent = await newStep(tid, run.id, { kind: 'node', name: 'p' });
  const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => c.post(S(tid, run.id), i % 2 ? { kind: 'tool', name: `c${i}`, parent_step_id: parent.id } : { kind: 'tool', name: `t${i}` })));
  for (const r of rs) assertStatus(r, 201);
  const paths = rs.map((r) => r.json.path);
  assert.equal(new Set(paths).size, 30, 'no path twice');
  assert.deepEqual(paths.filter((p) => !p.includes('.')).map(Number).sort((x, y) => x - y), Array.from({ length: 15 }, (_, i) => i + 2));
  assert.deepEqual(paths.filter((p) => p.startsWith('1.')).map((p) => Number(p.slice(2))).sort((x, y) => x - y), Array.from({ length: 15 }, (_, i) => i + 1));
  assert.equal((await getRun(tid, run.id)).step_count, 31);

  const r2 = await newRun(tid, { status: 'running' });
  const ps = await Promise.all(Array.from({ length: 12 }, (_, i) => c.patch(R(tid, r2.id), { status: i % 2 ? 'completed' : 'failed' })));
  const final = await getRun(tid, r2.id);
  assert.ok(['completed', 'failed'].includes(final.status));
  assert.equal(final.version, 2);
  for (const p of ps) {
    if (p.status === 200) assert.equal(p.json.status, final.status);
    else assertProblem(p, 409, 'invalid_state_transition');
  }
  assert.equal(ps.filter((p) => p.status === 200).length, 6, 'the winner and those asking for the same status');
  assert.deepEqual((await runEvents(tid, r2.id)).map((e) => e.type), ['run.created', `run.${final.status}`]);

  const r3 = await newRun(tid, {});
  const ms = await Promise.all(Array.from({ length: 16 }, (_, i) => c.patch(R(tid, r3.id), { metadata: { [`k${i}`]: i } })));
  for (const m of ms) assertStatus(m, 200);
  assert.deepEqual(ms.map((m) => m.json.version).sort((x, y) => x - y), Array.from({ length: 16 }, (_, i) => i + 2));
  assert.deepEqual((await getRun(tid, r3.id)).metadata, Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])));
  assert.equal((await runEvents(tid, r3.id)).length, 17);
});

test('Idempotency-Key on POST run and POST step replays the first reply', async () => {
  const tid = await newThread();
  const k = uniq('idem');
  const a1 = await c.post(R(tid), { name: 'once' }, { headers: { 'idempotency-key': k } });
  assertStatus(a1, 201);
  const a2 = await c.post(R(tid), { name: 'once' }, { headers: { 'idempotency-key': k } });
  assertStatus(a2, 201);
  assert.equal(a2.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(a2.json, a1.json);
  assert.equal(assertList(await c.get(R(tid))).length, 1);
  const ks = uniq('idem-step');
  const s1 = await c.post(S(tid, a1.json.id), { kind: 'llm', name: 'once' }, { headers: { 'idempotency-key': ks } });
  const s2 = await c.post(S(tid, a1.json.id), { kind: 'llm', name: 'once' }, { headers: { 'idempotency-key': ks } });
  assertStatus(s1, 201);
  assert.deepEqual(s2.json, s1.json);
  assert.equal((await getRun(tid, a1.json.id)).step_count, 1);
  assert.equal((await runEvents(tid, a1.json.id)).length, 2);
  assertProblem(await c.post(S(tid, a1.json.id), { kind: 'llm', name: 'different' }, { headers: { 'idempotency-key': ks } }), 409, 'idempotency_key_reused');
});

test('large runs: a 10,000-step chain has a graph and a summary; step 10,001 makes the graph 409 graph_too_large; a 1,000-deep tree', async () => {
  const tid = await newThread();
  const rid = uniq('big');
  assertStatus(await c.post(E(tid), { events: [{ type: 'run.created', run_id: rid, data: { status: 'running' } }] }), 201);
  let prev = null;
  for (let b = 0; b < 10; b++) {
    const evs = [];
    for (let i = 0; i < 1000; i++) {
      const sid = `${rid}-${b * 1000 + i}`;
      evs.push({ type: 'step.created', run_id: rid, step_id: sid, data: prev ? { kind: 'llm', name: 'n', depends_on: [prev] } : { kind: 'llm', name: 'n' } });
      prev = sid;
    }
    assertStatus(await c.post(E(tid), { events: evs }, { timeoutMs: 120000 }), 201);
  }
  const g = await c.get(`${R(tid, rid)}/graph`, { timeoutMs: 120000 });
  assertStatus(g, 200);
  assert.equal(g.json.nodes.length, 10000);
  assert.equal(g.json.edges.length, 9999);
  assert.ok(g.json.edges.every((e) => e.kind === 'depends_on'));
  const sm = await c.get(`${R(tid, rid)}/summary`, { timeoutMs: 120000 });
  assertStatus(sm, 200);
  assert.equal(sm.json.steps.total, 10000);
  assert.equal(sm.json.critical_path.length, 10000, 'the whole chain');
  assert.equal(sm.json.critical_path[0], `${rid}-0`);
  assert.equal(sm.json.critical_path[9999], `${rid}-9999`);
  await newStep(tid, rid, { kind: 'llm', name: 'one too many' });
  assertProblem(await c.get(`${R(tid, rid)}/graph`, { timeoutMs: 120000 }), 409, 'graph_too_large');
  const sm2 = await c.get(`${R(tid, rid)}/summary`, { timeoutMs: 120000 });
  assertStatus(sm2, 200);
  assert.equal(sm2.json.steps.total, 10001);
  assert.equal(assertList(await c.get(`${S(tid, rid)}?limit=100&after=${rid}-9950`)).length, 50, 'its steps still page');

  // A tree 1,000 deep.
  const deep = uniq('deep');
  assertStatus(await c.post(E(tid), { events: [{ type: 'run.created', run_id: deep, data: { status: 'running' } }] }), 201);
  const evs = [];
  for (let i = 0; i < 1000; i++) evs.push({ type: 'step.created', run_id: deep, step_id: `${deep}-${i}`, data: i ? { kind: 'node', name: 'd', parent_step_id: `${deep}-${i - 1}` } : { kind: 'node', name: 'd' } });
  assertStatus(await c.post(E(tid), { events: evs }, { timeoutMs: 120000 }), 201);
  const last = await getStep(tid, deep, `${deep}-999`);
  assert.equal(last.depth, 999);
  assert.equal(last.path, Array(1000).fill('1').join('.'));
  const dg = await c.get(`${R(tid, deep)}/graph`, { timeoutMs: 120000 });
  assertStatus(dg, 200);
  assert.equal(dg.json.edges.length, 999);
  const ds = await c.get(`${R(tid, deep)}/summary`, { timeoutMs: 120000 });
  assertStatus(ds, 200);
  assert.equal(ds.json.critical_path.length, 1000);
});

test('a PATCH repeating the status with other fields is run.updated carrying only those fields', async () => {
  const tid = await newThread();
  const run = await newRun(tid, { status: 'running' });
  const p = await patchRun(tid, run.id, { status: 'running', output: [1, 2], metadata: { x: 1 } });
  assert.equal(p.version, 2);
  assert.equal(p.started_at, run.started_at);
  const evs = await runEvents(tid, run.id);
  assert.deepEqual(evs.map((e) => e.type), ['run.created', 'run.updated']);
  assert.deepEqual(evs[1].data, { output: [1, 2], metadata: { x: 1 } });
  const s = await newStep(tid, run.id, { kind: 'llm', name: 'x' });
  await patchStep(tid, run.id, s.id, { status: 'running', output: 'partial' });
  const sev = assertList(await c.get(`${E(tid)}?step_id=${s.id}`));
  assert.deepEqual(sev.map((e) => e.type), ['step.created', 'step.updated']);
  assert.deepEqual(sev[1].data, { output: 'partial' });
});
