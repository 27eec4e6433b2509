// Runs and steps driven by the event log, and the one timeline: appending run.* / step.* lifecycle
// events through POST …/events creates and updates runs and steps under the REST rules (times from
// occurred_at, path and depth assigned, the whole batch or nothing, idempotent by event id), plain
// events of other run.* types change nothing, and a run driven through the REST endpoints can be
// rebuilt from GET …/events?run_id= alone — and replayed into another org to the same run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  createOrg,
  client,
  listAll,
  assertProblem,
  assertStatus,
  assertList,
  expectRejected,
  uniq,
  micros,
  TIME_RE,
  UUID_RE,
} from './lib/harness.mjs';
import { RUN_STATUSES, STEP_STATUSES } from './lib/runs.mjs';
import { openStream } from './lib/sse.mjs';

let srv;
let org;
let c; // org admin
const opened = new Set();

before(async () => {
  srv = await startServer();
  org = await createOrg(uniq('runs-ev'));
  c = client(srv.url, org.api_key);
});
after(async () => {
  for (const s of opened) s.destroy();
  await srv?.stop();
});

const enc = encodeURIComponent;
const T = (tid) => `/v1/threads/${enc(tid)}`;
const E = (tid) => `${T(tid)}/events`;
const RUNS = (tid) => `${T(tid)}/runs`;
const RUN = (tid, rid) => `${RUNS(tid)}/${enc(rid)}`;
const STEPS = (tid, rid) => `${RUN(tid, rid)}/steps`;
const STEP = (tid, rid, sid) => `${STEPS(tid, rid)}/${enc(sid)}`;

const RUN_KEYS = [
  'created_at', 'ended_at', 'error', 'id', 'input', 'metadata', 'name', 'object', 'output', 'parent_run_id',
  'started_at', 'status', 'step_count', 'thread_id', 'updated_at', 'usage', 'version',
];
const STEP_KEYS = [
  'created_at', 'depends_on', 'depth', 'ended_at', 'error', 'id', 'input', 'kind', 'metadata', 'name', 'object',
  'output', 'parent_step_id', 'path', 'run_id', 'started_at', 'status', 'thread_id', 'updated_at',
];
const KINDS = ['node', 'llm', 'tool', 'thinking', 'retrieval', 'custom'];

function assertRun(r, tid) {
  assert.deepEqual(Object.keys(r).sort(), RUN_KEYS, 'exactly the run fields');
  assert.equal(r.object, 'run');
  if (tid !== undefined) assert.equal(r.thread_id, tid);
  assert.ok(RUN_STATUSES.includes(r.status), `run status ${r.status}`);
  assert.ok(Number.isInteger(r.version) && r.version >= 1, `version ${r.version}`);
  assert.ok(Number.isInteger(r.step_count) && r.step_count >= 0, `step_count ${r.step_count}`);
  for (const k of ['created_at', 'updated_at']) assert.match(r[k], TIME_RE, k);
  for (const k of ['started_at', 'ended_at']) assert.ok(r[k] === null || TIME_RE.test(r[k]), `${k} ${r[k]}`);
  assert.ok(r.metadata && typeof r.metadata === 'object' && !Array.isArray(r.metadata), 'metadata is an object');
}

function assertStep(s, tid, rid) {
  assert.deepEqual(Object.keys(s).sort(), STEP_KEYS, 'exactly the step fields');
  assert.equal(s.object, 'run.step');
  if (tid !== undefined) assert.equal(s.thread_id, tid);
  if (rid !== undefined) assert.equal(s.run_id, rid);
  assert.ok(KINDS.includes(s.kind), `kind ${s.kind}`);
  assert.ok(STEP_STATUSES.includes(s.status), `step status ${s.status}`);
  assert.ok(Array.isArray(s.depends_on), 'depends_on is an array');
  assert.match(s.path, /^[1-9][0-9]*(\.[1-9][0-9]*)*$/, `path ${s.path}`);
  assert.equal(s.depth, s.path.split('.').length - 1, `depth ${s.depth} agrees with path ${s.path}`);
  for (const k of ['created_at', 'updated_at']) assert.match(s[k], TIME_RE, k);
  for (const k of ['started_at', 'ended_at']) assert.ok(s[k] === null || TIME_RE.test(s[k]), `${k} ${s[k]}`);
}

/** Appends events; asserts the status; returns the body. */
async function append(tid, events, { cl = c, status = 201 } = {}) {
  const r = await cl.post(E(tid), { events });
  assertStatus(r, status);
  assert.equal(r.json.data.length, events.length);
  return r.json;
}

async function getRun(tid, rid, cl = c) {
  const r = await cl.get(RUN(tid, rid));
  assertStatus(r, 200);
  assertRun(r.json, tid);
  assert.equal(r.headers.get('etag'), `"${r.json.version}"`, 'ETag is the version');
  return r.json;
}

async function getStep(tid, rid, sid, cl = c) {
  const r = await cl.get(STEP(tid, rid, sid));
  assertStatus(r, 200);
  assertStep(r.json, tid, rid);
  return r.json;
}

/** Every step of a run, in creation order, walked in pages of `limit`. */
async function steps(tid, rid, { cl = c, limit = 100 } = {}) {
  const all = await listAll(cl, `${STEPS(tid, rid)}?order=asc&limit=${limit}`);
  for (const s of all) assertStep(s, tid, rid);
  return all;
}

async function runsOf(tid, cl = c) {
  return listAll(cl, `${RUNS(tid)}?limit=100`);
}

async function lastSeq(tid, cl = c) {
  const r = await cl.get(`${E(tid)}?limit=1`);
  assertStatus(r, 200);
  return r.json.last_seq;
}

/** Every event of a thread matching qs, in seq order, walked in pages of `limit` with after_seq. */
async function events(tid, qs = '', { cl = c, limit = 1000 } = {}) {
  const out = [];
  let after = 0;
  for (let i = 0; i < 100000; i++) {
    const r = await cl.get(`${E(tid)}?limit=${limit}&after_seq=${after}${qs ? `&${qs}` : ''}`);
    const data = assertList(r);
    assert.ok(data.length <= limit);
    out.push(...data);
    if (!r.json.has_more) return out;
    assert.ok(data.length > 0, 'has_more with an empty page');
    after = data[data.length - 1].seq;
  }
  throw new Error('too many pages');
}

async function newThread(cl = c, body = {}) {
  const r = await cl.post('/v1/threads', body);
  assertStatus(r, 201);
  return r.json.id;
}

async function newKey(body) {
  const r = await c.post('/v1/keys', body);
  assertStatus(r, 201);
  return client(srv.url, r.json.key);
}

// Times sent as occurred_at, and their rendering.
const at = (n) => `2031-04-05T06:07:${String(n).padStart(2, '0')}.${String(100000 + n * 7).slice(-6)}Z`;

// ---------------------------------------------------------------------------------------------

test('lifecycle events create a run and steps and move them; times from occurred_at, fields from data', async () => {
  const tid = await newThread();
  const R = uniq('run');

  // run.created: a queued run with the fields of data.
  const created = await append(tid, [
    {
      id: 'ev-created',
      type: 'run.created',
      run_id: R,
      data: { name: 'agent', input: { q: 'hi', n: [1, 2.5, null] }, metadata: { team: 'a', keep: true } },
      occurred_at: at(1),
    },
  ]);
  const ev0 = created.data[0];
  assert.equal(ev0.type, 'run.created');
  assert.equal(ev0.run_id, R);
  assert.equal(ev0.step_id, null);
  assert.deepEqual(ev0.data, { name: 'agent', input: { q: 'hi', n: [1, 2.5, null] }, metadata: { team: 'a', keep: true } }, 'the event keeps the data sent');
  let run = await getRun(tid, R);
  assert.equal(run.id, R);
  assert.equal(run.status, 'queued', 'run.created without a status makes a queued run');
  assert.equal(run.name, 'agent');
  assert.deepEqual(run.input, { q: 'hi', n: [1, 2.5, null] });
  assert.deepEqual(run.metadata, { team: 'a', keep: true });
  assert.equal(run.parent_run_id, null);
  assert.equal(run.output, null);
  assert.equal(run.error, null);
  assert.equal(run.usage, null);
  assert.equal(run.started_at, null, 'a queued run has not started');
  assert.equal(run.ended_at, null);
  assert.equal(run.step_count, 0);
  assert.equal(run.version, 1);
  const listed = await runsOf(tid);
  assert.deepEqual(listed, [run], 'the run is listed under its thread');
  let v = run.version;

  // run.running: started_at is the event's occurred_at.
  await append(tid, [{ type: 'run.running', run_id: R, data: { status: 'running' }, occurred_at: at(2) }]);
  run = await getRun(tid, R);
  assert.equal(run.status, 'running');
  assert.equal(run.started_at, at(2), 'started_at from occurred_at');
  assert.equal(run.ended_at, null);
  assert.ok(run.version > v, 'version moved');
  v = run.version;

  // A tree of steps in one batch: paths, depths, parents, depends_on, statuses and started_at.
  const j = await append(tid, [
    { type: 'step.created', run_id: R, step_id: 's1', data: { kind: 'node', name: 'plan', input: { goal: 'x' }, metadata: { m: 1 } }, occurred_at: at(3) },
    { type: 'step.created', run_id: R, step_id: 's1a', data: { kind: 'llm', name: 'think', status: 'pending', parent_step_id: 's1' }, occurred_at: at(4) },
    { type: 'step.created', run_id: R, step_id: 's1b', data: { kind: 'tool', name: 'search', parent_step_id: 's1', depends_on: ['s1a'], status: 'running' }, occurred_at: at(5) },
    { type: 'step.created', run_id: R, step_id: 's2', data: { kind: 'retrieval', name: 'fetch', depends_on: ['s1', 's1b'] } },
    { type: 'step.created', run_id: R, step_id: 's1a1', data: { kind: 'thinking', name: 'deep', parent_step_id: 's1a', status: 'pending' } },
    { type: 'step.created', run_id: R, step_id: 's3', data: { kind: 'custom', name: 'n'.repeat(1000), status: 'pending' } },
  ]);
  assert.deepEqual(j.data.map((e) => e.step_id), ['s1', 's1a', 's1b', 's2', 's1a1', 's3']);
  assert.ok(j.data.every((e) => e.run_id === R && e.type === 'step.created'));
  const want = {
    s1: { parent_step_id: null, depends_on: [], kind: 'node', name: 'plan', status: 'running', path: '1', depth: 0, input: { goal: 'x' }, metadata: { m: 1 } },
    s1a: { parent_step_id: 's1', depends_on: [], kind: 'llm', name: 'think', status: 'pending', path: '1.1', depth: 1, input: null, metadata: {} },
    s1b: { parent_step_id: 's1', depends_on: ['s1a'], kind: 'tool', name: 'search', status: 'running', path: '1.2', depth: 1, input: null, metadata: {} },
    s2: { parent_step_id: null, depends_on: ['s1', 's1b'], kind: 'retrieval', name: 'fetch', status: 'running', path: '2', depth: 0, input: null, metadata: {} },
    s1a1: { parent_step_id: 's1a', depends_on: [], kind: 'thinking', name: 'deep', status: 'pending', path: '1.1.1', depth: 2, input: null, metadata: {} },
    s3: { parent_step_id: null, depends_on: [], kind: 'custom', name: 'n'.repeat(1000), status: 'pending', path: '3', depth: 0, input: null, metadata: {} },
  };
  let all = await steps(tid, R);
  assert.deepEqual(all.map((s) => s.id), Object.keys(want), 'steps listed in creation order');
  for (const s of all) {
    for (const [k, val] of Object.entries(want[s.id])) assert.deepEqual(s[k], val, `${s.id}.${k}`);
    assert.equal(s.output, null);
    assert.equal(s.error, null);
    assert.equal(s.ended_at, null);
    assert.deepEqual(await getStep(tid, R, s.id), s, 'GET one step = the listed step');
  }
  const byId = Object.fromEntries(all.map((s) => [s.id, s]));
  assert.equal(byId.s1.started_at, at(3), 'a step created running started at occurred_at');
  assert.equal(byId.s1b.started_at, at(5));
  assert.match(byId.s2.started_at, TIME_RE, 'a step created running without occurred_at starts now');
  assert.ok(Math.abs(Number(micros(byId.s2.started_at) / 1000n) - Date.now()) < 60000, 'now');
  assert.equal(byId.s1a.started_at, null, 'a pending step has not started');
  assert.equal(byId.s1a1.started_at, null);
  run = await getRun(tid, R);
  assert.equal(run.step_count, 6);
  assert.equal(run.status, 'running');

  // Status events for steps, with output / error / metadata in data.
  await append(tid, [
    { type: 'step.running', run_id: R, step_id: 's1a', occurred_at: at(6) },
    { type: 'step.running', run_id: R, step_id: 's1a1', occurred_at: at(7) },
    { type: 'step.completed', run_id: R, step_id: 's1a1', data: { status: 'completed', output: { text: 'done', n: 3 } }, occurred_at: at(8) },
    { type: 'step.completed', run_id: R, step_id: 's1a', data: { output: 'short' }, occurred_at: at(9) },
    { type: 'step.failed', run_id: R, step_id: 's1b', data: { error: { message: 'boom', code: 'E_TOOL' } }, occurred_at: at(10) },
    { type: 'step.updated', run_id: R, step_id: 's2', data: { metadata: { k: 'v', drop: 1 } } },
    { type: 'step.updated', run_id: R, step_id: 's2', data: { metadata: { drop: null, k2: [1] } } },
    { type: 'step.cancelled', run_id: R, step_id: 's3', occurred_at: at(11) },
    { type: 'step.completed', run_id: R, step_id: 's2', occurred_at: at(12) },
    { type: 'step.completed', run_id: R, step_id: 's1', data: { output: [1, 2], metadata: { m: null, done: true } }, occurred_at: at(13) },
  ]);
  all = await steps(tid, R);
  const got = Object.fromEntries(all.map((s) => [s.id, s]));
  assert.deepEqual([got.s1a.status, got.s1a.started_at, got.s1a.ended_at, got.s1a.output], ['completed', at(6), at(9), 'short']);
  assert.deepEqual([got.s1a1.status, got.s1a1.started_at, got.s1a1.ended_at], ['completed', at(7), at(8)]);
  assert.deepEqual(got.s1a1.output, { text: 'done', n: 3 });
  assert.equal(got.s1b.status, 'failed');
  assert.deepEqual(got.s1b.error, { message: 'boom', code: 'E_TOOL' });
  assert.equal(got.s1b.ended_at, at(10));
  assert.equal(got.s1b.started_at, at(5), 'started_at does not move');
  assert.deepEqual(got.s2.metadata, { k: 'v', k2: [1] }, 'step.updated merges metadata; null removes');
  assert.equal(got.s2.status, 'completed');
  assert.equal(got.s2.ended_at, at(12));
  assert.equal(got.s3.status, 'cancelled');
  assert.equal(got.s3.ended_at, at(11));
  assert.equal(got.s1.status, 'completed');
  assert.deepEqual(got.s1.output, [1, 2]);
  assert.deepEqual(got.s1.metadata, { done: true });
  for (const s of all) {
    // Tree and DAG fields never change.
    for (const k of ['parent_step_id', 'depends_on', 'kind', 'name', 'path', 'depth', 'input']) assert.deepEqual(s[k], want[s.id][k], `${s.id}.${k} unchanged`);
  }

  // The run: requires_action ⇄ running, run.updated, then completed with output and usage.
  await append(tid, [{ type: 'run.requires_action', run_id: R, occurred_at: at(14) }]);
  run = await getRun(tid, R);
  assert.equal(run.status, 'requires_action');
  assert.equal(run.ended_at, null);
  assert.ok(run.version > v);
  v = run.version;
  await append(tid, [
    { type: 'run.running', run_id: R, occurred_at: at(15) },
    { type: 'run.updated', run_id: R, data: { metadata: { phase: 2, keep: null } } },
  ]);
  run = await getRun(tid, R);
  assert.equal(run.status, 'running');
  assert.equal(run.started_at, at(2), 'started_at is the first entry into running');
  assert.deepEqual(run.metadata, { team: 'a', phase: 2 });
  assert.ok(run.version > v);
  v = run.version;
  await append(tid, [{ type: 'run.completed', run_id: R, data: { status: 'completed', output: { answer: 42 }, usage: { tokens: 10 } }, occurred_at: at(16) }]);
  run = await getRun(tid, R);
  assert.equal(run.status, 'completed');
  assert.equal(run.started_at, at(2));
  assert.equal(run.ended_at, at(16), 'ended_at from occurred_at');
  assert.deepEqual(run.output, { answer: 42 });
  assert.deepEqual(run.usage, { tokens: 10 });
  assert.equal(run.error, null);
  assert.equal(run.step_count, 6);
  assert.ok(run.version > v);
  assert.deepEqual(await runsOf(tid), [run]);
  const orgRuns = assertList(await c.get(`/v1/runs?thread_id=${enc(tid)}`));
  assert.deepEqual(orgRuns, [run], 'GET /v1/runs shows the event-made run');

  // The log holds what was sent, every lifecycle event carries its run (and step).
  const log = await events(tid, `run_id=${enc(R)}`);
  assert.equal(log.length, 1 + 1 + 6 + 10 + 1 + 2 + 1);
  assert.deepEqual(log[0], ev0);
  assert.ok(log.every((e) => e.run_id === R));
  assert.ok(log.filter((e) => e.type.startsWith('step.')).every((e) => e.step_id !== null));
});

test('run.created with status running, a parent run, and a run.failed / run.interrupted end', async () => {
  const tid = await newThread();
  const P = uniq('parent');
  const R = uniq('child');
  const Q = uniq('q');
  await append(tid, [
    { type: 'run.created', run_id: P, data: { status: 'running' }, occurred_at: at(20) },
    { type: 'run.interrupted', run_id: P, occurred_at: at(21) },
    { type: 'run.created', run_id: R, data: { status: 'running', parent_run_id: P, name: null, input: 'plain string' }, occurred_at: at(22) },
    { type: 'run.failed', run_id: R, data: { error: { message: 'it broke' } }, occurred_at: at(23) },
    { type: 'run.created', run_id: Q },
    { type: 'run.cancelled', run_id: Q, occurred_at: at(24) },
  ]);
  const p = await getRun(tid, P);
  assert.deepEqual([p.status, p.started_at, p.ended_at], ['interrupted', at(20), at(21)], 'created running: started at occurred_at');
  const r = await getRun(tid, R);
  assert.deepEqual([r.status, r.parent_run_id, r.name, r.input, r.started_at, r.ended_at], ['failed', P, null, 'plain string', at(22), at(23)]);
  assert.deepEqual(r.error, { message: 'it broke' });
  const q = await getRun(tid, Q);
  assert.deepEqual([q.status, q.started_at, q.ended_at, q.input, q.name], ['cancelled', null, at(24), null, null], 'queued → cancelled never started');
  assert.deepEqual(q.metadata, {});
  const kids = assertList(await c.get(`${RUNS(tid)}?parent_run_id=${enc(P)}`));
  assert.deepEqual(kids.map((x) => x.id), [R]);
  // Without occurred_at the times are now.
  const N = uniq('now');
  await append(tid, [{ type: 'run.created', run_id: N, data: { status: 'running' } }, { type: 'run.completed', run_id: N }]);
  const n = await getRun(tid, N);
  for (const k of ['started_at', 'ended_at']) assert.ok(Math.abs(Number(micros(n[k]) / 1000n) - Date.now()) < 60000, `${k} is now`);
  assert.ok(micros(n.started_at) <= micros(n.ended_at));
});

test('data keeps the client bytes; unknown data members are ignored by the run and step', async () => {
  const tid = await newThread();
  const R = uniq('bytes');
  const d1 = `{ "name" : "raw",  "input" : { "b": 1.50, "a": [ 1e2 ] }, "x-extra": {"anything": [1, 2]} }`;
  const d2 = `{"kind":"tool","name":"t","vendor_field":  true, "depends_on" : [ ]}`;
  const text = `{"events":[{"type":"run.created","run_id":"${R}","data":${d1}},{"type":"step.created","run_id":"${R}","step_id":"${R}-s","data":${d2}}]}`;
  const r = await c.send('POST', E(tid), text);
  assertStatus(r, 201);
  assert.ok(r.text.includes(`"data":${d1},`), `run.created data verbatim:\n${r.text}`);
  assert.ok(r.text.includes(`"data":${d2},`), `step.created data verbatim:\n${r.text}`);
  const run = await getRun(tid, R);
  assert.equal(run.name, 'raw');
  assert.deepEqual(run.input, { b: 1.5, a: [100] });
  assert.deepEqual(run.metadata, {});
  const s = await getStep(tid, R, `${R}-s`);
  assert.deepEqual([s.kind, s.name, s.status, s.path, s.depends_on], ['tool', 't', 'running', '1', []]);
  // A data of null, or none, is fine for every lifecycle type.
  await append(tid, [
    { type: 'step.completed', run_id: R, step_id: `${R}-s`, data: null },
    { type: 'run.running', run_id: R },
    { type: 'run.updated', run_id: R, data: null },
    { type: 'run.completed', run_id: R, data: {} },
  ]);
  assert.equal((await getRun(tid, R)).status, 'completed');
  assert.equal((await getStep(tid, R, `${R}-s`)).status, 'completed');
});

test('a thread created implicitly by its first event gets its run (admin and user keys)', async () => {
  const tid = uniq('implicit');
  const R = uniq('run');
  assertProblem(await c.get(T(tid)), 404, 'not_found');
  const j = await append(tid, [
    { type: 'run.created', run_id: R, data: { status: 'running', name: 'first' } },
    { type: 'step.created', run_id: R, step_id: `${R}.1`, data: { kind: 'llm', name: 'call' } },
  ]);
  assert.deepEqual(j.data.map((e) => e.seq), [1, 2]);
  const th = await c.get(T(tid));
  assertStatus(th, 200);
  assert.equal(th.json.user_id, null);
  const run = await getRun(tid, R);
  assert.deepEqual([run.status, run.name, run.step_count], ['running', 'first', 1]);
  assert.deepEqual((await runsOf(tid)).map((x) => x.id), [R]);
  assert.deepEqual((await steps(tid, R)).map((s) => [s.id, s.path]), [[`${R}.1`, '1']]);

  // A user key: the thread, and so the run, are the user's.
  const u = uniq('user');
  const usr = await newKey({ role: 'user', user_id: u });
  const tu = uniq('implicit-u');
  const RU = uniq('run-u');
  await append(tu, [{ type: 'run.created', run_id: RU }], { cl: usr });
  assert.equal((await usr.get(T(tu))).json.user_id, u);
  const ru = await getRun(tu, RU, usr);
  assert.equal(ru.status, 'queued');
  assert.deepEqual(assertList(await usr.get('/v1/runs?limit=100')).map((x) => x.id), [RU], "the user's runs: just this one");
  assert.ok(assertList(await c.get(`/v1/runs?user_id=${enc(u)}`)).some((x) => x.id === RU), 'the admin finds it by user_id');
});

test('re-appending the same event ids does not apply them again (200, same run and steps)', async () => {
  const tid = await newThread();
  const R = uniq('idem');
  const batch = [
    { id: 'i1', type: 'run.created', run_id: R, data: { name: 'n', metadata: { a: 1 } }, occurred_at: at(30) },
    { id: 'i2', type: 'run.running', run_id: R, occurred_at: at(31) },
    { id: 'i3', type: 'step.created', run_id: R, step_id: 'is1', data: { kind: 'node', name: 'x' }, occurred_at: at(32) },
    { id: 'i4', type: 'step.created', run_id: R, step_id: 'is2', data: { kind: 'node', name: 'y', parent_step_id: 'is1' } },
    { id: 'i5', type: 'run.updated', run_id: R, data: { metadata: { b: 2 } } },
    { id: 'i6', type: 'step.completed', run_id: R, step_id: 'is2', occurred_at: at(33) },
    { id: 'i7', type: 'step.failed', run_id: R, step_id: 'is1', data: { error: { message: 'e' } }, occurred_at: at(34) },
    { id: 'i8', type: 'run.completed', run_id: R, data: { output: 1 }, occurred_at: at(35) },
  ];
  const first = await append(tid, batch);
  const snap = async () => ({ seq: await lastSeq(tid), run: await getRun(tid, R), steps: await steps(tid, R), log: await events(tid) });
  const before = await snap();
  assert.equal(before.run.status, 'completed');
  assert.equal(before.steps.length, 2);
  assert.equal(before.run.step_count, 2);

  // The whole batch again: 200, the stored events, nothing applied (run.created would be run_exists,
  // step.created step_exists, run.running an illegal transition from completed).
  const again = await append(tid, batch, { status: 200 });
  assert.deepEqual(again, first);
  assert.deepEqual(await snap(), before);
  // Single events and another order.
  for (const e of [batch[0], batch[1], batch[2], batch[5]]) {
    const one = await append(tid, [e], { status: 200 });
    assert.deepEqual(one.data[0], first.data[batch.indexOf(e)]);
  }
  await append(tid, [batch[7], batch[3], batch[1]], { status: 200 });
  assert.deepEqual(await snap(), before, 'nothing changed by any retry');

  // A mixed batch: the stored events are skipped, only the new one is applied.
  const R2 = uniq('idem2');
  const mixed = await append(tid, [batch[1], { id: 'i9', type: 'run.created', run_id: R2 }, batch[0]]);
  assert.deepEqual(mixed.data.map((e) => e.seq), [2, 9, 1]);
  assert.equal((await getRun(tid, R2)).status, 'queued');
  assert.deepEqual(await getRun(tid, R), before.run);

  // A stored event retried next to a new one that the state refuses: 409, and nothing written.
  const seq = await lastSeq(tid);
  const bad = await c.post(E(tid), { events: [batch[7], { id: 'i10', type: 'step.created', run_id: R, step_id: 'late', data: { kind: 'node', name: 'z' } }] });
  assertProblem(bad, 409, 'invalid_state_transition');
  assert.equal(await lastSeq(tid), seq);
  assert.deepEqual(await steps(tid, R), before.steps);

  // The same id with other content is still 409 event_exists, and not applied.
  assertProblem(await c.post(E(tid), { events: [{ ...batch[7], type: 'run.failed' }] }), 409, 'event_exists', 'events[0].id');
  assertProblem(await c.post(E(tid), { events: [{ ...batch[3], data: { kind: 'node', name: 'other' } }] }), 409, 'event_exists', 'events[0].id');
  assert.deepEqual(await getRun(tid, R), before.run);
  assert.deepEqual(await steps(tid, R), before.steps);
});

test('a status event equal to the current status is accepted and changes nothing', async () => {
  const tid = await newThread();
  const R = uniq('same');
  await append(tid, [
    { type: 'run.created', run_id: R, data: { status: 'running' }, occurred_at: at(40) },
    { type: 'step.created', run_id: R, step_id: `${R}-a`, data: { kind: 'tool', name: 'a' }, occurred_at: at(41) },
  ]);
  const run = await getRun(tid, R);
  const st = await getStep(tid, R, `${R}-a`);
  await append(tid, [
    { type: 'run.running', run_id: R, occurred_at: at(42) },
    { type: 'step.running', run_id: R, step_id: `${R}-a`, data: { status: 'running' }, occurred_at: at(43) },
  ]);
  const run2 = await getRun(tid, R);
  assert.equal(run2.status, 'running');
  assert.equal(run2.started_at, at(40), 'started_at stays');
  assert.equal(run2.version, run.version, 'not a change: same version');
  const st2 = await getStep(tid, R, `${R}-a`);
  assert.equal(st2.started_at, at(41));
  assert.equal(st2.status, 'running');
  // Terminal too: completed again is not a change.
  await append(tid, [{ type: 'step.completed', run_id: R, step_id: `${R}-a`, occurred_at: at(44) }, { type: 'run.completed', run_id: R, occurred_at: at(45) }]);
  const done = await getRun(tid, R);
  await append(tid, [{ type: 'step.completed', run_id: R, step_id: `${R}-a`, occurred_at: at(46) }, { type: 'run.completed', run_id: R, occurred_at: at(47) }]);
  const done2 = await getRun(tid, R);
  assert.equal(done2.ended_at, at(45), 'ended_at stays');
  assert.equal(done2.version, done.version);
  assert.equal((await getStep(tid, R, `${R}-a`)).ended_at, at(44));
  assert.deepEqual(st2.input, st.input);
});

test('plain events of other run.* / step.* types are stored without effect', async () => {
  const tid = await newThread();
  const R = uniq('plain');
  const S = `${R}-s`;
  await append(tid, [
    { type: 'run.created', run_id: R, data: { status: 'running' } },
    { type: 'step.created', run_id: R, step_id: S, data: { kind: 'llm', name: 'call' } },
  ]);
  const snap = async () => ({ runs: await runsOf(tid), steps: await steps(tid, R) });
  const before = await snap();
  const plain = [
    { type: 'run.progress', run_id: R, data: { pct: 50 } },
    { type: 'run.progress', data: 7 },
    { type: 'run.queued', run_id: R, occurred_at: at(50) },
    { type: 'step.pending', run_id: R, step_id: S },
    { type: 'step.log', run_id: R, step_id: S, data: 'text, not an object' },
    { type: 'step.progress', data: [1, 2] },
    { type: 'run.started', run_id: uniq('no-such-run') },
    { type: 'run.step.started', run_id: R, step_id: uniq('no-such-step'), data: { status: 'completed' } },
    { type: 'run.created.extra', run_id: R },
    { type: 'Run.completed', run_id: R },
    { type: 'RUN_FINISHED', run_id: R },
  ];
  const j = await append(tid, plain);
  assert.deepEqual(j.data.map((e) => e.type), plain.map((e) => e.type));
  j.data.forEach((e, i) => assert.deepEqual(e.data, plain[i].data ?? null, `events[${i}].data stored`));
  assert.deepEqual(await snap(), before, 'runs and steps untouched');
  assert.deepEqual((await events(tid, 'type=run.progress')).length, 2);
});

test('bad input: every refused batch writes nothing (no event, no run or step change)', async (t) => {
  const tid = await newThread();
  const t2 = await newThread();
  const R = uniq('bad');
  const RO = uniq('other-run'); // another run of the same thread
  const R2 = uniq('elsewhere'); // a run of another thread
  const Rq = uniq('queued');
  await append(tid, [
    { type: 'run.created', run_id: R, data: { status: 'running' } },
    { type: 'step.created', run_id: R, step_id: `${R}-s1`, data: { kind: 'node', name: 's1' } },
    { type: 'step.created', run_id: R, step_id: `${R}-s2`, data: { kind: 'llm', name: 's2', parent_step_id: `${R}-s1` } },
    { type: 'step.created', run_id: R, step_id: `${R}-done`, data: { kind: 'llm', name: 'done' } },
    { type: 'step.completed', run_id: R, step_id: `${R}-done` },
    { type: 'run.created', run_id: RO, data: { status: 'running' } },
    { type: 'step.created', run_id: RO, step_id: `${RO}-o1`, data: { kind: 'tool', name: 'o1' } },
    { type: 'run.created', run_id: Rq },
  ]);
  await append(t2, [
    { type: 'run.created', run_id: R2, data: { status: 'running' } },
    { type: 'step.created', run_id: R2, step_id: `${R2}-x1`, data: { kind: 'tool', name: 'x1' } },
  ]);
  const s1 = `${R}-s1`;
  const o1 = `${RO}-o1`;
  const x1 = `${R2}-x1`;
  const NEW = uniq('new-run');
  const NS = uniq('new-step');
  const snapshot = async () => ({
    seq: await lastSeq(tid),
    seq2: await lastSeq(t2),
    runs: await runsOf(tid),
    runs2: await runsOf(t2),
    steps: await steps(tid, R),
    stepsO: await steps(tid, RO),
    steps2: await steps(t2, R2),
    newRun: (await c.get(`/v1/runs?limit=100&thread_id=${enc(tid)}`)).json.data.map((x) => x.id),
  });
  const ok = { type: 'run.progress', run_id: R }; // a harmless plain event in front
  const post = (evs) => () => c.post(E(tid), { events: evs });
  const cases = [];
  const bad = (label, evs, status, code, field, fields) => cases.push({ label, send: post(evs), status, code, field, fields });

  // run_id / step_id missing.
  for (const type of ['run.created', 'run.running', 'run.requires_action', 'run.completed', 'run.failed', 'run.cancelled', 'run.interrupted', 'run.updated']) {
    bad(`${type} without run_id`, [{ type }], 400, 'validation_failed', 'events[0].run_id');
    bad(`${type} with run_id null, second in the batch`, [ok, { type, run_id: null }], 400, 'validation_failed', 'events[1].run_id');
    bad(`${type} naming a step`, [ok, { type, run_id: R, step_id: s1 }], 400, 'validation_failed', 'events[1].step_id');
  }
  for (const type of ['step.created', 'step.running', 'step.completed', 'step.failed', 'step.cancelled', 'step.updated']) {
    bad(`${type} without step_id`, [{ type, run_id: R, data: { kind: 'node', name: 'x' } }], 400, 'validation_failed', 'events[0].step_id');
    bad(`${type} without run_id`, [ok, ok, { type, step_id: s1, data: { kind: 'node', name: 'x' } }], 400, 'validation_failed', 'events[2].run_id');
  }
  // data not an object.
  for (const d of [5, 'text', [1], true, [{ kind: 'node', name: 'x' }]]) {
    bad(`run.created data ${JSON.stringify(d)}`, [{ type: 'run.created', run_id: NEW, data: d }], 400, 'validation_failed', 'events[0].data');
    bad(`step.created data ${JSON.stringify(d)}`, [ok, { type: 'step.created', run_id: R, step_id: NS, data: d }], 400, 'validation_failed', 'events[1].data');
    bad(`run.completed data ${JSON.stringify(d)}`, [{ type: 'run.completed', run_id: R, data: d }], 400, 'validation_failed', 'events[0].data');
    bad(`step.updated data ${JSON.stringify(d)}`, [{ type: 'step.updated', run_id: R, step_id: s1, data: d }], 400, 'validation_failed', 'events[0].data');
  }
  // Wrong-typed or invalid members of data, validated as in the REST bodies.
  const runCreated = (data) => [{ type: 'run.created', run_id: NEW, data }];
  bad('run.created name 5', runCreated({ name: 5 }), 400, 'validation_failed', 'events[0].data.name');
  bad('run.created name of 1001 chars', runCreated({ name: 'x'.repeat(1001) }), 400, 'validation_failed', 'events[0].data.name');
  bad('run.created status completed', runCreated({ status: 'completed' }), 400, 'validation_failed', 'events[0].data.status');
  bad('run.created status bogus', runCreated({ status: 'bogus' }), 400, 'validation_failed', 'events[0].data.status');
  bad('run.created status 1', runCreated({ status: 1 }), 400, 'validation_failed', 'events[0].data.status');
  bad('run.created metadata []', runCreated({ metadata: [] }), 400, 'validation_failed', 'events[0].data.metadata');
  bad('run.created metadata "x"', runCreated({ metadata: 'x' }), 400, 'validation_failed', 'events[0].data.metadata');
  bad('run.created parent_run_id 5', runCreated({ parent_run_id: 5 }), 400, 'validation_failed', 'events[0].data.parent_run_id');
  bad('run.created parent_run_id unknown', runCreated({ parent_run_id: uniq('nope') }), 400, 'validation_failed', 'events[0].data.parent_run_id');
  bad('run.created parent_run_id of another thread', runCreated({ parent_run_id: R2 }), 400, 'validation_failed', 'events[0].data.parent_run_id');
  bad('run.created bad run_id', [{ type: 'run.created', run_id: 'a b' }], 400, 'validation_failed', 'events[0].run_id');
  const stepCreated = (data, sid = NS) => [ok, { type: 'step.created', run_id: R, step_id: sid, data }];
  bad('step.created without data', [ok, { type: 'step.created', run_id: R, step_id: NS }], 400, 'validation_failed', undefined, ['events[1].data', 'events[1].data.kind', 'events[1].data.name']);
  bad('step.created without kind', stepCreated({ name: 'x' }), 400, 'validation_failed', 'events[1].data.kind');
  bad('step.created kind robot', stepCreated({ kind: 'robot', name: 'x' }), 400, 'validation_failed', 'events[1].data.kind');
  bad('step.created kind 3', stepCreated({ kind: 3, name: 'x' }), 400, 'validation_failed', 'events[1].data.kind');
  bad('step.created without name', stepCreated({ kind: 'node' }), 400, 'validation_failed', 'events[1].data.name');
  bad('step.created name ""', stepCreated({ kind: 'node', name: '' }), 400, 'validation_failed', 'events[1].data.name');
  bad('step.created name 5', stepCreated({ kind: 'node', name: 5 }), 400, 'validation_failed', 'events[1].data.name');
  bad('step.created status completed', stepCreated({ kind: 'node', name: 'x', status: 'completed' }), 400, 'validation_failed', 'events[1].data.status');
  bad('step.created status queued', stepCreated({ kind: 'node', name: 'x', status: 'queued' }), 400, 'validation_failed', 'events[1].data.status');
  bad('step.created depends_on "x"', stepCreated({ kind: 'node', name: 'x', depends_on: s1 }), 400, 'validation_failed', 'events[1].data.depends_on');
  bad('step.created depends_on [5]', stepCreated({ kind: 'node', name: 'x', depends_on: [5] }), 400, 'validation_failed', undefined, ['events[1].data.depends_on', 'events[1].data.depends_on[0]']);
  bad('step.created depends_on duplicates', stepCreated({ kind: 'node', name: 'x', depends_on: [s1, s1] }), 400, 'validation_failed', undefined, ['events[1].data.depends_on', 'events[1].data.depends_on[1]']);
  bad('step.created depends_on 101 entries', stepCreated({ kind: 'node', name: 'x', depends_on: Array.from({ length: 101 }, (_, i) => `d${i}`) }), 400, 'validation_failed', 'events[1].data.depends_on');
  bad('step.created depends_on a step of another run', stepCreated({ kind: 'node', name: 'x', depends_on: [s1, o1] }), 400, 'validation_failed', undefined, ['events[1].data.depends_on', 'events[1].data.depends_on[1]']);
  bad('step.created depends_on itself', stepCreated({ kind: 'node', name: 'x', depends_on: [NS] }), 400, 'validation_failed', undefined, ['events[1].data.depends_on', 'events[1].data.depends_on[0]']);
  bad('step.created parent_step_id 5', stepCreated({ kind: 'node', name: 'x', parent_step_id: 5 }), 400, 'validation_failed', 'events[1].data.parent_step_id');
  bad('step.created parent_step_id of another run', stepCreated({ kind: 'node', name: 'x', parent_step_id: o1 }), 400, 'validation_failed', 'events[1].data.parent_step_id');
  bad('step.created parent_step_id of another thread', stepCreated({ kind: 'node', name: 'x', parent_step_id: x1 }), 400, 'validation_failed', 'events[1].data.parent_step_id');
  bad('step.created parent_step_id itself', stepCreated({ kind: 'node', name: 'x', parent_step_id: NS }), 400, 'validation_failed', 'events[1].data.parent_step_id');
  bad('step.created metadata 5', stepCreated({ kind: 'node', name: 'x', metadata: 5 }), 400, 'validation_failed', 'events[1].data.metadata');
  bad('step.created bad step_id', stepCreated({ kind: 'node', name: 'x' }, 'a/b'), 400, 'validation_failed', 'events[1].step_id');
  bad('run.completed error "boom"', [{ type: 'run.completed', run_id: R, data: { error: 'boom' } }], 400, 'validation_failed', 'events[0].data.error');
  bad('run.failed error without message', [{ type: 'run.failed', run_id: R, data: { error: { code: 'x' } } }], 400, 'validation_failed', undefined, ['events[0].data.error', 'events[0].data.error.message']);
  bad('run.failed error with another member', [{ type: 'run.failed', run_id: R, data: { error: { message: 'm', extra: 1 } } }], 400, 'validation_failed', undefined, ['events[0].data.error', 'events[0].data.error.extra']);
  bad('run.failed error.code 256 chars', [{ type: 'run.failed', run_id: R, data: { error: { message: 'm', code: 'c'.repeat(256) } } }], 400, 'validation_failed', undefined, ['events[0].data.error', 'events[0].data.error.code']);
  bad('run.updated metadata "x"', [{ type: 'run.updated', run_id: R, data: { metadata: 'x' } }], 400, 'validation_failed', 'events[0].data.metadata');
  bad('step.failed error [1]', [{ type: 'step.failed', run_id: R, step_id: s1, data: { error: [1] } }], 400, 'validation_failed', 'events[0].data.error');
  bad('step.updated metadata []', [{ type: 'step.updated', run_id: R, step_id: s1, data: { metadata: [] } }], 400, 'validation_failed', 'events[0].data.metadata');
  // data.status disagreeing with the type.
  bad('run.completed data.status failed', [{ type: 'run.completed', run_id: R, data: { status: 'failed' } }], 400, 'validation_failed', 'events[0].data.status');
  bad('run.running data.status 5', [ok, { type: 'run.running', run_id: R, data: { status: 5 } }], 400, 'validation_failed', 'events[1].data.status');
  bad('step.completed data.status running', [{ type: 'step.completed', run_id: R, step_id: s1, data: { status: 'running' } }], 400, 'validation_failed', 'events[0].data.status');
  bad('step.cancelled data.status CANCELLED', [{ type: 'step.cancelled', run_id: R, step_id: s1, data: { status: 'CANCELLED' } }], 400, 'validation_failed', 'events[0].data.status');
  // Runs and steps that are not there (in this thread, under this run).
  bad('run.running of an unknown run', [{ type: 'run.running', run_id: uniq('nope') }], 400, 'validation_failed', 'events[0].run_id');
  bad('run.updated of an unknown run', [{ type: 'run.updated', run_id: uniq('nope'), data: { metadata: { a: 1 } } }], 400, 'validation_failed', 'events[0].run_id');
  bad('step.created in an unknown run', stepCreated({ kind: 'node', name: 'x' }).map((e) => (e.type === 'step.created' ? { ...e, run_id: uniq('nope') } : e)), 400, 'validation_failed', 'events[1].run_id');
  bad('step.completed of an unknown step', [{ type: 'step.completed', run_id: R, step_id: uniq('nope') }], 400, 'validation_failed', 'events[0].step_id');
  bad('step.completed: step_id of another run', [{ type: 'step.completed', run_id: R, step_id: o1 }], 400, 'validation_failed', undefined, ['events[0].step_id', 'events[0].run_id']);
  bad('step.updated: step_id of another thread', [{ type: 'step.updated', run_id: R, step_id: x1, data: { metadata: { a: 1 } } }], 400, 'validation_failed', undefined, ['events[0].step_id', 'events[0].run_id']);
  bad('run.completed: run_id of another thread', [ok, { type: 'run.completed', run_id: R2 }], 400, 'validation_failed', 'events[1].run_id');
  bad('step.created: run_id of another thread', [{ type: 'step.created', run_id: R2, step_id: NS, data: { kind: 'node', name: 'x' } }], 400, 'validation_failed', 'events[0].run_id');
  bad('step.completed: run_id and step_id of another thread', [{ type: 'step.completed', run_id: R2, step_id: x1 }], 400, 'validation_failed', undefined, ['events[0].run_id', 'events[0].step_id']);
  // Illegal transitions, alone and in the middle of a batch after valid changes.
  const good = [
    ok,
    { type: 'step.created', run_id: R, step_id: NS, data: { kind: 'node', name: 'new', parent_step_id: s1 } },
    { type: 'step.completed', run_id: R, step_id: `${R}-s2` },
    { type: 'run.requires_action', run_id: R },
    { type: 'run.created', run_id: NEW },
  ];
  bad('completed → running in the middle of a batch', [...good, { type: 'run.completed', run_id: R }, { type: 'run.running', run_id: R }, ok], 409, 'invalid_state_transition');
  bad('failed → completed', [...good, { type: 'run.failed', run_id: R }, { type: 'run.completed', run_id: R }], 409, 'invalid_state_transition');
  bad('queued → requires_action', [{ type: 'run.requires_action', run_id: Rq }], 409, 'invalid_state_transition');
  bad('queued → requires_action of a run made in the batch', [...good, { type: 'run.requires_action', run_id: NEW }], 409, 'invalid_state_transition');
  bad('interrupted → running', [{ type: 'run.interrupted', run_id: R }, { type: 'run.running', run_id: R }], 409, 'invalid_state_transition');
  bad('cancelled → requires_action', [{ type: 'run.cancelled', run_id: Rq }, { type: 'run.requires_action', run_id: Rq }], 409, 'invalid_state_transition');
  bad('step completed → running', [{ type: 'step.running', run_id: R, step_id: `${R}-done` }], 409, 'invalid_state_transition');
  bad('step completed → failed', [...good, { type: 'step.failed', run_id: R, step_id: `${R}-done` }], 409, 'invalid_state_transition');
  bad('step failed in the batch → completed', [...good, { type: 'step.failed', run_id: R, step_id: s1 }, { type: 'step.completed', run_id: R, step_id: s1 }], 409, 'invalid_state_transition');
  bad('step created in the batch, cancelled, then running', [...good, { type: 'step.cancelled', run_id: R, step_id: NS }, { type: 'step.running', run_id: R, step_id: NS }], 409, 'invalid_state_transition');
  bad('step.created in a run the batch ended', [...good, { type: 'run.completed', run_id: R }, { type: 'step.created', run_id: R, step_id: uniq('late'), data: { kind: 'node', name: 'late' } }], 409, 'invalid_state_transition');
  // Ids that exist.
  bad('run.created for an existing run', [{ type: 'run.created', run_id: R }], 409, 'run_exists');
  bad('run.created for a run of another thread', [...good, { type: 'run.created', run_id: R2 }], 409, 'run_exists');
  bad('run.created twice in one batch', [...good, { type: 'run.created', run_id: NEW, data: { status: 'running' } }], 409, 'run_exists');
  bad('step.created for an existing step', stepCreated({ kind: 'node', name: 'again' }, s1), 409, 'step_exists');
  bad('step.created for a step of another run', stepCreated({ kind: 'node', name: 'again' }, o1), 409, 'step_exists');
  bad('step.created for a step of another thread', stepCreated({ kind: 'node', name: 'again' }, x1), 409, 'step_exists');
  bad('step.created twice in one batch', [...good, { type: 'step.created', run_id: R, step_id: NS, data: { kind: 'llm', name: 'again' } }], 409, 'step_exists');
  // An expected_seq that matches does not make a bad batch pass.
  cases.push({ label: 'with a matching expected_seq', send: async () => c.post(E(tid), { events: [{ type: 'run.running', run_id: R2 }], expected_seq: await lastSeq(tid) }), status: 400, code: 'validation_failed', field: 'events[0].run_id' });

  await expectRejected(t, cases, snapshot);

  // The same good prefix alone is fine: the refusals above came from their last events.
  await t.test('the good prefix alone is accepted', async () => {
    const j = await append(tid, good);
    assert.equal(j.data.length, good.length);
    assert.equal((await getRun(tid, R)).status, 'requires_action');
    assert.equal((await getStep(tid, R, NS)).path, '1.2');
    assert.equal((await getRun(tid, NEW)).status, 'queued');
  });
});

// ---------------------------------------------------------------------------------------------
// The replay: a run driven through REST, rebuilt from its events alone, then replayed elsewhere.

const LIFECYCLE = new Set([
  'run.created', 'run.running', 'run.requires_action', 'run.completed', 'run.failed', 'run.cancelled', 'run.interrupted', 'run.updated',
  'step.created', 'step.running', 'step.completed', 'step.failed', 'step.cancelled', 'step.updated',
]);

/** Rebuilds {run, history, steps (Map id → step, creation order)} from the events of one run;
 * events of other types (plain events that name the run) change nothing. */
function rebuild(log, rid) {
  let run = null;
  const history = [];
  const steps = new Map();
  const childCount = new Map(); // parent id (or '' for top level) → children so far
  const merge = (into, patch) => {
    const out = { ...into };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k];
      else out[k] = v;
    }
    return out;
  };
  const applyFields = (obj, data, fields) => {
    for (const f of fields) {
      if (!(f in data)) continue;
      if (f === 'metadata') obj.metadata = merge(obj.metadata, data.metadata);
      else obj[f] = data[f];
    }
  };
  for (const e of log) {
    assert.equal(e.run_id, rid, `event ${e.seq} belongs to the run`);
    if (!LIFECYCLE.has(e.type)) continue;
    const data = e.data ?? {};
    const [kind, what] = e.type.split('.');
    if (kind === 'run') {
      assert.equal(e.step_id, null, `run event ${e.seq} has no step_id`);
      if (what === 'created') {
        assert.equal(run, null, 'one run.created');
        run = {
          id: e.run_id,
          status: data.status ?? 'queued',
          name: data.name ?? null,
          parent_run_id: data.parent_run_id ?? null,
          input: data.input ?? null,
          output: null,
          error: null,
          usage: null,
          metadata: data.metadata ?? {},
        };
        history.push(run.status);
      } else if (what === 'updated') {
        applyFields(run, data, ['output', 'error', 'usage', 'metadata']);
      } else {
        assert.ok(RUN_STATUSES.includes(what), `run event type ${e.type}`);
        if ('status' in data) assert.equal(data.status, what, `data.status of ${e.type}`);
        assert.notEqual(run.status, what, `${e.type} at seq ${e.seq} is a change`);
        run.status = what;
        history.push(what);
        applyFields(run, data, ['output', 'error', 'usage', 'metadata']);
      }
    } else {
      assert.equal(kind, 'step', `event type ${e.type}`);
      assert.ok(e.step_id, `step event ${e.seq} has a step_id`);
      if (what === 'created') {
        assert.ok(!steps.has(e.step_id), `one step.created for ${e.step_id}`);
        const parent = data.parent_step_id ?? null;
        const n = (childCount.get(parent ?? '') ?? 0) + 1;
        childCount.set(parent ?? '', n);
        const path = parent === null ? String(n) : `${steps.get(parent).path}.${n}`;
        const s = {
          id: e.step_id,
          parent_step_id: parent,
          depends_on: data.depends_on ?? [],
          kind: data.kind,
          name: data.name,
          status: data.status ?? 'running',
          path,
          depth: parent === null ? 0 : steps.get(parent).depth + 1,
          input: data.input ?? null,
          output: null,
          error: null,
          metadata: data.metadata ?? {},
          history: [data.status ?? 'running'],
        };
        if ('path' in data) assert.equal(data.path, s.path, `step.created of ${e.step_id} carries the path the tree gives`);
        if ('depth' in data) assert.equal(data.depth, s.depth, `step.created of ${e.step_id} carries its depth`);
        steps.set(e.step_id, s);
      } else {
        const s = steps.get(e.step_id);
        assert.ok(s, `${e.type} of ${e.step_id} after its step.created`);
        if (what === 'updated') {
          applyFields(s, data, ['output', 'error', 'metadata']);
        } else {
          assert.ok(STEP_STATUSES.includes(what), `step event type ${e.type}`);
          if ('status' in data) assert.equal(data.status, what);
          assert.notEqual(s.status, what, `${e.type} at seq ${e.seq} is a change`);
          s.status = what;
          s.history.push(what);
          applyFields(s, data, ['output', 'error', 'metadata']);
        }
      }
    }
  }
  return { run, history, steps };
}

const STEP_FIELDS = ['id', 'parent_step_id', 'depends_on', 'kind', 'name', 'status', 'path', 'depth', 'input', 'output', 'error', 'metadata'];
const RUN_FIELDS = ['id', 'status', 'name', 'parent_run_id', 'input', 'output', 'error', 'usage', 'metadata'];
const pick = (o, fields) => Object.fromEntries(fields.map((f) => [f, o[f]]));

test('replay: a REST-driven run is rebuilt from GET …/events?run_id= alone, and replays into another org', { timeout: 120000 }, async () => {
  const tid = await newThread(c, { title: 'replay' });
  const R = uniq('replay');
  const mk = async (body) => {
    const r = await c.post(STEPS(tid, R), body);
    assertStatus(r, 201);
    assertStep(r.json, tid, R);
    return r.json.id;
  };
  const patchStep = async (sid, body) => {
    const r = await c.patch(STEP(tid, R, sid), body);
    assertStatus(r, 200);
    return r.json;
  };
  const patchRun = async (body) => {
    const r = await c.patch(RUN(tid, R), body);
    assertStatus(r, 200);
    return r.json;
  };
  // Noise in the same thread: another run and plain events, which the run_id filter leaves out.
  const other = uniq('noise');
  assertStatus(await c.post(RUNS(tid), { id: other, status: 'running' }), 201);
  await append(tid, [{ type: 'note', data: 1 }]);

  const made = await c.post(RUNS(tid), { id: R, name: 'replayed', input: { task: 'x', n: [1, 2] }, metadata: { a: 1, b: 'two' } });
  assertStatus(made, 201);
  assert.equal(made.json.status, 'queued');
  const history = ['queued'];
  await patchRun({ status: 'running' });
  history.push('running');

  // The tree: root1 { c1 { g1 }, c2 (after c1) }, root2 (after root1) { 24 tool steps in a DAG }, root3.
  const root1 = await mk({ id: `${R}-root1`, kind: 'node', name: 'plan', input: { steps: 3 }, metadata: { lvl: 0 } });
  const c1 = await mk({ id: `${R}-c1`, kind: 'llm', name: 'draft', parent_step_id: root1, status: 'pending' });
  const c2 = await mk({ kind: 'tool', name: 'search', parent_step_id: root1, depends_on: [c1] }); // a generated id
  assert.match(c2, UUID_RE);
  const g1 = await mk({ id: `${R}-g1`, kind: 'thinking', name: 'deep', parent_step_id: c1 });
  const root2 = await mk({ id: `${R}-root2`, kind: 'retrieval', name: 'gather', depends_on: [root1] });
  const root3 = await mk({ kind: 'custom', name: 'cleanup', status: 'pending', input: 'text input' });
  const leaves = [];
  for (let i = 0; i < 24; i++) {
    const deps = leaves.filter((_, k) => (i + k) % 5 === 0).slice(-3);
    leaves.push(await mk({ id: i % 3 ? `${R}-leaf${i}` : undefined, kind: KINDS[i % KINDS.length], name: `leaf ${i}`, parent_step_id: i % 4 === 3 ? leaves[i - 1] : root2, depends_on: deps, status: i % 2 ? 'pending' : 'running', metadata: { i } }));
  }
  await patchStep(c1, { status: 'running' });
  // A plain event naming the run is part of its log, and changes nothing.
  await append(tid, [{ type: 'run.progress', run_id: R, data: { pct: 30 } }, { type: 'step.log', run_id: R, step_id: c1, data: 'thinking' }]);
  await patchStep(g1, { status: 'completed', output: { thought: 'ok' } });
  await patchStep(c1, { metadata: { tokens: 12 } }); // step.updated
  await patchStep(c1, { status: 'running' }); // the status it has: no change, no event
  await patchStep(c1, { status: 'completed', output: 'draft text' });
  await patchStep(c2, { status: 'failed', error: { message: 'search failed', code: 'E_SEARCH' } });
  await patchStep(root1, { status: 'failed', error: { message: 'child failed' }, metadata: { lvl: null, failed: true } });
  for (let i = 0; i < leaves.length; i++) {
    if (i % 2) await patchStep(leaves[i], { status: 'running' });
    await patchStep(leaves[i], { status: ['completed', 'failed', 'cancelled', 'completed'][i % 4], ...(i % 4 === 1 ? { error: { message: `leaf ${i}` } } : { output: { i } }) });
  }
  await patchStep(root2, { status: 'completed' });
  await patchStep(root3, { status: 'cancelled' });

  await patchRun({ status: 'requires_action' });
  history.push('requires_action');
  await patchRun({ status: 'running', metadata: { resumed: true } });
  history.push('running');
  await patchRun({ metadata: { b: null, c: 3 } }); // run.updated
  const same = await patchRun({ status: 'running' }); // no change, no event
  const again = await patchRun({ status: 'running' });
  assert.equal(again.version, same.version, 'setting the status the run has is not a change');
  await patchRun({ status: 'completed', output: { answer: 'forty-two' }, usage: { prompt_tokens: 5, completion_tokens: 7 } });
  history.push('completed');

  const run = await getRun(tid, R);
  const stepList = await steps(tid, R, { limit: 7 });
  assert.equal(stepList.length, 6 + 24);
  assert.equal(run.step_count, stepList.length);

  // Read the run's events only, in pages of 7.
  const log = await events(tid, `run_id=${enc(R)}`, { limit: 7 });
  assert.ok(log.length > 7 * 3, 'several pages');
  assert.ok(log.every((e) => e.run_id === R), 'the filter gives this run only');
  const seqs = log.map((e) => e.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in seq order');
  assert.deepEqual(log, await events(tid, `run_id=${enc(R)}`), 'the same log in one page');
  const types = log.map((e) => e.type);
  assert.equal(types[0], 'run.created');
  assert.equal(types.at(-1), 'run.completed');
  assert.equal(types.filter((x) => x === 'step.created').length, stepList.length, 'one step.created per step');
  assert.equal(types.filter((x) => x === 'step.updated').length, 1, 'one step.updated (the metadata-only PATCH)');
  assert.equal(types.filter((x) => x === 'run.updated').length, 1, 'one run.updated (the metadata-only PATCH)');

  const rebuilt = rebuild(log, R);
  assert.deepEqual(rebuilt.history, history, "the run's status history");
  assert.deepEqual(pick(rebuilt.run, RUN_FIELDS), pick(run, RUN_FIELDS), 'the run as the events tell it = GET …/runs/R');
  assert.deepEqual([...rebuilt.steps.keys()], stepList.map((s) => s.id), 'the steps in creation order');
  for (const s of stepList) {
    const r = rebuilt.steps.get(s.id);
    assert.deepEqual(pick(r, STEP_FIELDS), pick(s, STEP_FIELDS), `step ${s.id} as the events tell it`);
    // started_at / ended_at agree with the status history.
    assert.equal(s.started_at !== null, r.history.includes('running'), `${s.id}: started_at set iff it ran`);
    assert.equal(s.ended_at !== null, ['completed', 'failed', 'cancelled'].includes(s.status), `${s.id}: ended_at set iff terminal`);
  }
  assert.ok(run.started_at && run.ended_at && micros(run.started_at) <= micros(run.ended_at));
  // The graph agrees too.
  const graph = await c.get(`${RUN(tid, R)}/graph`);
  assertStatus(graph, 200);
  assert.deepEqual(graph.json.nodes.map((n) => n.id), stepList.map((s) => s.id));
  const edges = [];
  for (const s of rebuilt.steps.values()) {
    if (s.parent_step_id) edges.push(`${s.parent_step_id}>${s.id}:child`);
    for (const d of s.depends_on) edges.push(`${d}>${s.id}:depends_on`);
  }
  assert.deepEqual(graph.json.edges.map((e) => `${e.from}>${e.to}:${e.kind}`).sort(), edges.sort());

  // Replay into a thread of another org: the same types, ids, data and times, batches of 10.
  const B = client(srv.url, (await createOrg(uniq('runs-ev-b'))).api_key);
  for (let i = 0; i < log.length; i += 10) {
    const chunk = log.slice(i, i + 10).map((e) => ({ type: e.type, run_id: e.run_id, step_id: e.step_id, data: e.data, occurred_at: e.occurred_at }));
    const r = await B.post(E(tid), { events: chunk });
    assertStatus(r, 201);
  }
  const runB = await getRun(tid, R, B);
  const stepsB = await steps(tid, R, { cl: B });
  // REST events are dated with the time of the change they record, so starts and ends replay too;
  // only when each row was written differs.
  assert.ok(log.filter((e) => LIFECYCLE.has(e.type)).every((e) => TIME_RE.test(e.occurred_at)), 'every REST-made event has occurred_at');
  const core = (s) => ({ ...s, created_at: undefined, updated_at: undefined });
  assert.deepEqual(core(runB), core(run), "the other org's run equals the original, times included");
  assert.deepEqual(stepsB.map(core), stepList.map(core), "the other org's steps equal the original, times included");
  const logB = await events(tid, `run_id=${enc(R)}`, { cl: B });
  assert.deepEqual(logB.map((e) => [e.type, e.step_id]), log.map((e) => [e.type, e.step_id]), 'its log: the same events, nothing added');
  // And org A is untouched by org B's replay.
  assert.deepEqual(await getRun(tid, R), run);
  assert.deepEqual(await steps(tid, R), stepList);
});

test('a subscriber to the thread stream sees a REST-driven run progress live, in order', async () => {
  const tid = await newThread();
  const R = uniq('live');
  const s = await openStream(srv.url, `${E(tid)}/stream`, { key: org.api_key });
  assert.equal(s.status, 200, s.text);
  opened.add(s);
  const want = [];
  const step = async (body) => {
    const r = await c.post(STEPS(tid, R), body);
    assertStatus(r, 201);
    want.push(['step.created', r.json.id]);
    return r.json.id;
  };
  const patch = async (sid, status) => {
    assertStatus(await c.patch(STEP(tid, R, sid), { status }), 200);
    want.push([`step.${status}`, sid]);
  };
  assertStatus(await c.post(RUNS(tid), { id: R, name: 'live' }), 201);
  want.push(['run.created', null]);
  await s.waitFrames(1);
  assert.equal(s.frames[0].event, 'run.created', 'the run appears at once');
  assertStatus(await c.patch(RUN(tid, R), { status: 'running' }), 200);
  want.push(['run.running', null]);
  const a = await step({ kind: 'llm', name: 'a' });
  const b = await step({ kind: 'tool', name: 'b', parent_step_id: a, status: 'pending' });
  await patch(b, 'running');
  await patch(b, 'completed');
  const d = await step({ kind: 'node', name: 'd', depends_on: [b] });
  await patch(d, 'failed');
  await patch(a, 'completed');
  assertStatus(await c.patch(RUN(tid, R), { status: 'completed', output: { ok: true } }), 200);
  want.push(['run.completed', null]);
  await s.waitFor(() => s.frames.some((f) => f.event === 'run.completed'), 10000, 'run.completed');
  await s.waitFrames(want.length);
  assert.deepEqual(s.frames.map((f) => [f.event, f.json.step_id]), want, 'every change, in order');
  s.frames.forEach((f, i) => {
    assert.equal(f.json.type, f.event);
    assert.equal(f.json.run_id, R);
    assert.equal(Number(f.id), f.json.seq);
    assert.equal(f.json.seq, i + 1, 'seqs 1.. without gaps');
  });
  assert.deepEqual(s.frames.at(-1).json.data.output, { ok: true });
  assert.deepEqual(s.frames.map((f) => f.json), await events(tid), 'the stream is the log');
  s.destroy();
  opened.delete(s);
});

test("a user key cannot touch another user's runs through events", async () => {
  const alice = await newKey({ role: 'user', user_id: uniq('alice') });
  const bob = await newKey({ role: 'user', user_id: uniq('bob') });
  const tb = uniq('bobs');
  const RB = uniq('bob-run');
  await append(tb, [
    { type: 'run.created', run_id: RB, data: { status: 'running' } },
    { type: 'step.created', run_id: RB, step_id: `${RB}-s`, data: { kind: 'node', name: 'b' } },
  ], { cl: bob });
  const snap = async () => ({ run: await getRun(tb, RB, bob), steps: await steps(tb, RB, { cl: bob }), seq: await lastSeq(tb, bob) });
  const before = await snap();
  for (const evs of [
    [{ type: 'run.completed', run_id: RB }],
    [{ type: 'run.updated', run_id: RB, data: { metadata: { owned: true } } }],
    [{ type: 'step.failed', run_id: RB, step_id: `${RB}-s` }],
    [{ type: 'step.created', run_id: RB, step_id: uniq('x'), data: { kind: 'node', name: 'x' } }],
    [{ type: 'run.created', run_id: uniq('r') }],
    [{ type: 'run.progress', run_id: RB }],
  ]) {
    assertProblem(await alice.post(E(tb), { events: evs }), 404, 'not_found');
  }
  assertProblem(await alice.get(RUN(tb, RB)), 404, 'not_found');
  assertProblem(await alice.get(`${E(tb)}?run_id=${enc(RB)}`), 404, 'not_found');
  // From her own thread, bob's run is not hers to move: it is not a run of that thread.
  const ta = uniq('alices');
  await append(ta, [{ type: 'note' }], { cl: alice });
  assertProblem(await alice.post(E(ta), { events: [{ type: 'run.completed', run_id: RB }] }), 400, 'validation_failed', 'events[0].run_id');
  assertProblem(await alice.post(E(ta), { events: [{ type: 'step.completed', run_id: RB, step_id: `${RB}-s` }] }), 400, 'validation_failed');
  assertProblem(await alice.post(E(ta), { events: [{ type: 'step.created', run_id: RB, step_id: uniq('x'), data: { kind: 'node', name: 'x' } }] }), 400, 'validation_failed', 'events[0].run_id');
  // Run ids are per org: the id is taken (409, as for thread ids), nothing more is learnt or changed.
  assertProblem(await alice.post(E(ta), { events: [{ type: 'run.created', run_id: RB }] }), 409, 'run_exists');
  assert.deepEqual(assertList(await alice.get('/v1/runs?limit=100')), [], 'alice has no runs');
  assert.deepEqual(await snap(), before, "bob's run, steps and log are unchanged");
  // Another org's key: 404 too, and its own thread of the same id is its own.
  const O = client(srv.url, (await createOrg(uniq('runs-ev-o'))).api_key);
  assertProblem(await O.get(RUN(tb, RB)), 404, 'not_found');
  const own = await O.post(E(tb), { events: [{ type: 'run.created', run_id: RB, data: { name: 'same id, other org' } }] });
  assertStatus(own, 201);
  assert.equal((await getRun(tb, RB, O)).name, 'same id, other org');
  assert.deepEqual(await snap(), before);
});

test('data.path / data.depth of step.created are not the client\'s to choose; the tree assigns them', async () => {
  const tid = await newThread();
  const R = uniq('paths');
  await append(tid, [
    { type: 'run.created', run_id: R, data: { status: 'running' } },
    { type: 'step.created', run_id: R, step_id: `${R}-a`, data: { kind: 'node', name: 'a', path: '9.9', depth: 7 } },
    { type: 'step.created', run_id: R, step_id: `${R}-b`, data: { kind: 'node', name: 'b', parent_step_id: `${R}-a`, path: '1', depth: 0 } },
  ]);
  const got = (await steps(tid, R)).map((s) => [s.id, s.path, s.depth]);
  assert.deepEqual(got, [[`${R}-a`, '1', 0], [`${R}-b`, '1.1', 1]]);
});

test('a batch of 1000 lifecycle events: a run and 999 steps in a tree, in one transaction', { timeout: 60000 }, async () => {
  const tid = await newThread();
  const R = uniq('big');
  const evs = [{ type: 'run.created', run_id: R, data: { status: 'running' } }];
  const want = [];
  const kids = new Map();
  for (let i = 0; i < 999; i++) {
    // A tree of depth 4: parents are earlier steps (i >> 2 style), top level every 10th.
    const parent = i % 10 === 0 ? null : Math.floor(i / 4) < i ? `${R}-${Math.floor(i / 4)}` : null;
    const p = parent === null ? null : want.find((w) => w.id === parent);
    const usable = p && p.depth < 3 ? p : null;
    const n = (kids.get(usable?.id ?? '') ?? 0) + 1;
    kids.set(usable?.id ?? '', n);
    const w = { id: `${R}-${i}`, parent_step_id: usable?.id ?? null, path: usable ? `${usable.path}.${n}` : String(n), depth: usable ? usable.depth + 1 : 0 };
    want.push(w);
    evs.push({ type: 'step.created', run_id: R, step_id: w.id, data: { kind: KINDS[i % 6], name: `s${i}`, ...(usable ? { parent_step_id: usable.id } : {}), ...(i > 0 && i % 7 === 0 ? { depends_on: [`${R}-${i - 1}`] } : {}) } });
  }
  assert.equal(evs.length, 1000);
  const j = await append(tid, evs);
  assert.deepEqual(j.data.map((e) => e.seq), Array.from({ length: 1000 }, (_, i) => i + 1));
  const all = await steps(tid, R);
  assert.deepEqual(all.map((s) => pick(s, ['id', 'parent_step_id', 'path', 'depth'])), want);
  assert.equal((await getRun(tid, R)).step_count, 999);
  assert.ok(Math.max(...all.map((s) => s.depth)) === 3, 'depth 4 reached');
});

test('a refused expected_seq applies nothing; Idempotency-Key on an append of lifecycle events replays it', async () => {
  const tid = await newThread();
  const R = uniq('cond');
  await append(tid, [{ type: 'run.created', run_id: R }]);
  const r = await c.post(E(tid), { events: [{ type: 'run.running', run_id: R }, { type: 'step.created', run_id: R, step_id: `${R}-s`, data: { kind: 'node', name: 's' } }], expected_seq: 0 });
  assertProblem(r, 409, 'seq_conflict');
  assert.equal((await getRun(tid, R)).status, 'queued');
  assert.deepEqual(await steps(tid, R), []);
  // Without event ids, the Idempotency-Key alone keeps a retry from applying the batch twice.
  const body = { events: [{ type: 'run.running', run_id: R }, { type: 'step.created', run_id: R, step_id: `${R}-s`, data: { kind: 'node', name: 's' } }], expected_seq: 1 };
  const first = await c.post(E(tid), body, { headers: { 'Idempotency-Key': `k-${R}` } });
  assertStatus(first, 201);
  const run = await getRun(tid, R);
  const again = await c.post(E(tid), body, { headers: { 'Idempotency-Key': `k-${R}` } });
  assertStatus(again, 201);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(again.text, first.text);
  assert.deepEqual(await getRun(tid, R), run);
  assert.equal(await lastSeq(tid), 3);
});

test('deleting the thread deletes its runs and steps; their ids can be used again', async () => {
  const tid = await newThread();
  const R = uniq('del');
  await append(tid, [
    { type: 'run.created', run_id: R, data: { status: 'running' } },
    { type: 'step.created', run_id: R, step_id: `${R}-s`, data: { kind: 'node', name: 's' } },
  ]);
  assertStatus(await c.del(T(tid)), 200);
  assertProblem(await c.get(RUN(tid, R)), 404, 'not_found');
  assert.deepEqual(assertList(await c.get(`/v1/runs?thread_id=${enc(tid)}`)), [], 'gone from /v1/runs');
  // Another thread may now take both ids, through events.
  const t2 = await newThread();
  await append(t2, [
    { type: 'run.created', run_id: R },
    { type: 'step.created', run_id: R, step_id: `${R}-s`, data: { kind: 'llm', name: 'again', status: 'pending' } },
  ]);
  const run = await getRun(t2, R);
  assert.deepEqual([run.status, run.step_count], ['queued', 1]);
  const s = await getStep(t2, R, `${R}-s`);
  assert.deepEqual([s.kind, s.name, s.path], ['llm', 'again', '1']);
});

test('names count characters, not bytes: 1000 two-byte characters are fine, 1001 are not', async () => {
  const tid = await newThread();
  const R = uniq('chars');
  await append(tid, [
    { type: 'run.created', run_id: R, data: { status: 'running', name: 'é'.repeat(1000) } },
    { type: 'step.created', run_id: R, step_id: `${R}-s`, data: { kind: 'node', name: '😀'.repeat(1000) } },
  ]);
  assert.equal((await getRun(tid, R)).name, 'é'.repeat(1000));
  assert.equal((await getStep(tid, R, `${R}-s`)).name, '😀'.repeat(1000));
  const seq = await lastSeq(tid);
  assertProblem(await c.post(E(tid), { events: [{ type: 'run.created', run_id: uniq('x'), data: { name: 'é'.repeat(1001) } }] }), 400, 'validation_failed', 'events[0].data.name');
  assertProblem(await c.post(E(tid), { events: [{ type: 'step.created', run_id: R, step_id: uniq('x'), data: { kind: 'node', name: '😀'.repeat(1001) } }] }), 400, 'validation_failed', 'events[0].data.name');
  assert.equal(await lastSeq(tid), seq);
});
