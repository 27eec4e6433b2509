// Runs and steps with malformed and invalid input, foreign ids and refused conflicts: the exact 4xx
// problem, nothing written (no run, no step, no event), never a 5xx (the harness fails any 5xx but
// 503). Every pair of both state machines is in runs_transitions.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, client, listAll, assertProblem, assertStatus, assertList, uniq, expectRejected as rejectedWithout } from './lib/harness.mjs';
import { RUN_STATUSES, TERMINAL_RUN, RU, ST, EV, ok } from './lib/runs.mjs';

const MAX_JSON = 524288; // input, output, usage: 512 KiB as sent
const MAX_META = 16384;

let srv;
let c; // org A admin
let b; // org B admin
let alice; // org A user keys
let bob;
const T = uniq('T'); // admin thread of org A: runs R (steps S1, S2 ⊂ S1, SP pending), R2 (step X1), RQ (queued)
const T2 = uniq('T2'); // run RO (step O1)
const TT = uniq('TT'); // the terminal runs
const TBIG = uniq('TBIG'); // a run of 101 steps
const TA = uniq('TA'); // alice's: run RA (step SA)
const TBo = uniq('TBo'); // bob's: run RBo (step SBo)
const TB = uniq('TB'); // org B: run RB (step SB)
const NEW_THREAD = uniq('never-created');
const R = uniq('R');
const R2 = uniq('R2');
const RQ = uniq('RQ');
const RO = uniq('RO');
const RA = uniq('RA');
const RBo = uniq('RBo');
const RB = uniq('RB');
const RBIG = uniq('RBIG');
const S1 = uniq('S1');
const S2 = uniq('S2');
const SP = uniq('SP');
const X1 = uniq('X1');
const O1 = uniq('O1');
const SA = uniq('SA');
const SBo = uniq('SBo');
const SB = uniq('SB');
const TERM = {}; // terminal status → run id in TT
let BIG_STEPS = []; // the 101 step ids of RBIG

// Ids here are path-safe, or deliberately raw path text such as 'a%20b'.

before(async () => {
  srv = await startServer();
  c = client(srv.url, (await createOrg(uniq('rbad-a'))).api_key);
  b = client(srv.url, (await createOrg(uniq('rbad-b'))).api_key);
  alice = client(srv.url, (await ok(c.post('/v1/keys', { role: 'user', user_id: uniq('alice') }), 201)).key);
  bob = client(srv.url, (await ok(c.post('/v1/keys', { role: 'user', user_id: uniq('bob') }), 201)).key);
  for (const t of [T, T2, TT, TBIG]) await ok(c.post('/v1/threads', { id: t }), 201);
  await ok(alice.post('/v1/threads', { id: TA }), 201);
  await ok(bob.post('/v1/threads', { id: TBo }), 201);
  await ok(b.post('/v1/threads', { id: TB }), 201);

  await ok(c.post(RU(T), { id: R, status: 'running', name: 'main', metadata: { a: 1 } }), 201);
  await ok(c.post(ST(T, R), { id: S1, kind: 'node', name: 's1' }), 201);
  await ok(c.post(ST(T, R), { id: S2, kind: 'llm', name: 's2', parent_step_id: S1 }), 201);
  await ok(c.post(ST(T, R), { id: SP, kind: 'tool', name: 'sp', status: 'pending', depends_on: [S1] }), 201);
  await ok(c.post(RU(T), { id: R2, status: 'running' }), 201);
  await ok(c.post(ST(T, R2), { id: X1, kind: 'node', name: 'x1' }), 201);
  await ok(c.post(RU(T), { id: RQ }), 201);
  await ok(c.post(RU(T2), { id: RO, status: 'running' }), 201);
  await ok(c.post(ST(T2, RO), { id: O1, kind: 'node', name: 'o1' }), 201);
  await ok(alice.post(RU(TA), { id: RA, status: 'running' }), 201);
  await ok(alice.post(ST(TA, RA), { id: SA, kind: 'node', name: 'sa' }), 201);
  await ok(bob.post(RU(TBo), { id: RBo, status: 'running' }), 201);
  await ok(bob.post(ST(TBo, RBo), { id: SBo, kind: 'node', name: 'sbo' }), 201);
  await ok(b.post(RU(TB), { id: RB, status: 'running' }), 201);
  await ok(b.post(ST(TB, RB), { id: SB, kind: 'node', name: 'sb' }), 201);
  for (const s of TERMINAL_RUN) {
    TERM[s] = uniq(`term-${s}`);
    await ok(c.post(RU(TT), { id: TERM[s], status: 'running' }), 201);
    await ok(c.post(ST(TT, TERM[s]), { kind: 'node', name: 'done before' }), 201);
    await ok(c.patch(RU(TT, TERM[s]), { status: s }), 200);
  }
  await ok(c.post(RU(TBIG), { id: RBIG, status: 'running' }), 201);
  BIG_STEPS = [];
  for (let i = 0; i < 101; i++) BIG_STEPS.push((await ok(c.post(ST(TBIG, RBIG), { id: `${RBIG}-${i}`, kind: 'tool', name: `t${i}` }), 201)).id);
});
after(async () => {
  await srv?.stop();
});

const events = async (cl, tid) => {
  const r = await cl.get(`${EV(tid)}?limit=1000`);
  return { data: assertList(r), last_seq: r.json.last_seq };
};

/** Everything a refused request could have changed, in both orgs. */
async function snapshot() {
  const [runsA, runsB, sR, sR2, sRO, sRQ, sRA, sRBo, sRB, sBig, eT, eT2, eTT, eTA, eTBo, eTB, threads] = await Promise.all([
    listAll(c, '/v1/runs?limit=100'),
    listAll(b, '/v1/runs?limit=100'),
    listAll(c, `${ST(T, R)}?limit=100`),
    listAll(c, `${ST(T, R2)}?limit=100`),
    listAll(c, `${ST(T2, RO)}?limit=100`),
    listAll(c, `${ST(T, RQ)}?limit=100`),
    listAll(c, `${ST(TA, RA)}?limit=100`),
    listAll(c, `${ST(TBo, RBo)}?limit=100`),
    listAll(b, `${ST(TB, RB)}?limit=100`),
    listAll(c, `${ST(TBIG, RBIG)}?limit=100`),
    events(c, T),
    events(c, T2),
    events(c, TT),
    events(c, TA),
    events(c, TBo),
    events(b, TB),
    listAll(c, '/v1/threads?limit=100'),
  ]);
  return { runsA, runsB, sR, sR2, sRO, sRQ, sRA, sRBo, sRB, sBig, eT, eT2, eTT, eTA, eTBo, eTB, threads };
}

const show = (s) => (s.length > 60 ? `${s.slice(0, 57)}...(${s.length})` : s);
const label = (v) => (v === undefined ? '(missing)' : show(JSON.stringify(v)));

/** Each case a subtest: the given problem, nothing changed, and no thread was made. */
const expectRejected = (t, cases) =>
  rejectedWithout(t, cases, snapshot, async () => assertProblem(await c.get(`/v1/threads/${NEW_THREAD}`), 404, 'not_found'));

/** The four endpoints that take a body, with a valid body each. */
const BODY_ENDPOINTS = () => [
  { m: 'POST', p: RU(T), good: { name: 'x' } },
  { m: 'PATCH', p: RU(T, R), good: { metadata: { b: 2 } } },
  { m: 'POST', p: ST(T, R), good: { kind: 'llm', name: 'x' } },
  { m: 'PATCH', p: ST(T, R, S2), good: { metadata: { b: 2 } } },
];

test('malformed JSON is 400 invalid_json', async (t) => {
  const bodies = [
    '{"name":',
    '{',
    '}',
    'nul',
    '{"name":"x",}',
    "{'name':'x'}",
    '{"name":"x"} trailing',
    '{"a":1}{"b":2}',
    '{name:"x"}',
    '{"name":"\\q"}',
    '{"name":"unterminated}',
    '{"input":[1,2,]}',
    '{"input":{"a":1,}}',
    '{"output":01}',
    '{"output":.5}',
    '{"usage":NaN}',
    '{"input":Infinity}',
    '{"input":undefined}',
    '{"output":1e999}',
    '{"name":"a\tb"}',
    '{"depends_on":["a",]}',
    '{"metadata":{"a":1,"a":2}}',
    '{"name":"x","name":"y"}',
    '\u00a0{}',
  ];
  const cases = [];
  for (const { m, p } of BODY_ENDPOINTS()) {
    for (const body of bodies) cases.push({ label: `${m} ${p} ${show(JSON.stringify(body))}`, send: () => c.send(m, p, body), status: 400, code: 'invalid_json' });
    cases.push({ label: `${m} ${p} invalid UTF-8`, send: () => c.send(m, p, Buffer.concat([Buffer.from('{"metadata":{"k":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')])), status: 400, code: 'invalid_json' });
    cases.push({ label: `${m} ${p} overlong UTF-8`, send: () => c.send(m, p, Buffer.concat([Buffer.from('{"metadata":{"k":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}}')])), status: 400, code: 'invalid_json' });
    cases.push({ label: `${m} ${p} nested 100 deep`, send: () => c.send(m, p, `{"metadata":{"k":${'['.repeat(100)}${']'.repeat(100)}}}`), status: 400, code: 'invalid_json' });
    for (const body of ['[]', '[{"name":"x"}]', '"str"', '42', 'null', 'true', '""']) {
      cases.push({ label: `${m} ${p} not an object: ${body}`, send: () => c.send(m, p, body), status: 400, code: 'invalid_json' });
    }
  }
  await expectRejected(t, cases);
});

test('strings no database text can hold are 400', async (t) => {
  const cases = [];
  for (const esc of ['\\u0000', 'a\\u0000b', '\\ud800', '\\udc00x']) {
    for (const { m, p } of BODY_ENDPOINTS()) {
      cases.push({ label: `${m} ${p} metadata "${esc}"`, send: () => c.send(m, p, `{"metadata":{"k":"${esc}"}}`), status: 400, code: ['invalid_json', 'validation_failed'] });
    }
    cases.push({ label: `run name "${esc}"`, send: () => c.send('POST', RU(T), `{"name":"${esc}"}`), status: 400, code: ['invalid_json', 'validation_failed'] });
    cases.push({ label: `run input "${esc}"`, send: () => c.send('POST', RU(T), `{"input":"${esc}"}`), status: 400, code: ['invalid_json', 'validation_failed'] });
    cases.push({ label: `run output "${esc}"`, send: () => c.send('PATCH', RU(T, R), `{"output":{"x":"${esc}"}}`), status: 400, code: ['invalid_json', 'validation_failed'] });
    cases.push({ label: `run error.message "${esc}"`, send: () => c.send('PATCH', RU(T, R), `{"error":{"message":"${esc}"}}`), status: 400, code: ['invalid_json', 'validation_failed'] });
    cases.push({ label: `step name "${esc}"`, send: () => c.send('POST', ST(T, R), `{"kind":"llm","name":"${esc}"}`), status: 400, code: ['invalid_json', 'validation_failed'] });
    cases.push({ label: `step output "${esc}"`, send: () => c.send('PATCH', ST(T, R, S2), `{"output":"${esc}"}`), status: 400, code: ['invalid_json', 'validation_failed'] });
  }
  await expectRejected(t, cases);
});

test('a body that is not application/json is 415', async (t) => {
  const cases = [];
  for (const { m, p, good } of BODY_ENDPOINTS()) {
    cases.push({ label: `${m} ${p} text/plain`, send: () => c.send(m, p, JSON.stringify(good), { headers: { 'content-type': 'text/plain' } }), status: 415, code: 'unsupported_media_type' });
    cases.push({ label: `${m} ${p} form`, send: () => c.send(m, p, 'name=x', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }), status: 415, code: 'unsupported_media_type' });
  }
  await expectRejected(t, cases);
});

test('unknown members are 400 naming them', async (t) => {
  const cases = [];
  const unknown = {
    [`POST ${RU(T)}`]: [RU(T), 'POST', {}, ['bogus', 'thread_id', 'object', 'version', 'output', 'error', 'usage', 'step_count', 'created_at', 'started_at', 'ended_at', 'user_id', 'Status', 'kind', '']],
    [`PATCH ${RU(T, R)}`]: [RU(T, R), 'PATCH', {}, ['bogus', 'id', 'name', 'input', 'parent_run_id', 'thread_id', 'object', 'version', 'step_count', 'created_at', 'started_at', 'ended_at', 'updated_at', 'Status', '']],
    [`POST ${ST(T, R)}`]: [ST(T, R), 'POST', { kind: 'llm', name: 'x' }, ['bogus', 'run_id', 'thread_id', 'object', 'path', 'depth', 'output', 'error', 'usage', 'started_at', 'ended_at', 'created_at', 'parent_id', 'dependsOn', '']],
    [`PATCH ${ST(T, R, S2)}`]: [ST(T, R, S2), 'PATCH', {}, ['bogus', 'id', 'kind', 'name', 'input', 'parent_step_id', 'depends_on', 'path', 'depth', 'run_id', 'thread_id', 'usage', 'object', 'started_at', '']],
  };
  for (const [name, [p, m, base, fields]] of Object.entries(unknown)) {
    for (const f of fields) cases.push({ label: `${name} ${JSON.stringify(f)}`, send: () => c.api(m, p, { body: { ...base, [f]: f === 'depth' ? 1 : 'x' } }), status: 400, code: 'validation_failed', field: f });
  }
  await expectRejected(t, cases);
});

const BAD_ID = [5, 0, true, [], {}, ['a'], '', 'x'.repeat(129), 'a b', 'a/b', 'é', 'a\nb', 'emoji😀', 'a%2Fb', 'a+b', 'a#b'];
const BAD_META = [5, 'x', true, [], [1], { big: 'x'.repeat(MAX_META) }];
const BAD_ERROR = [5, 'x', true, [], ['m'], {}, { code: 'x' }, { message: 5 }, { message: null }, { message: [] }, { message: 'm', code: 5 }, { message: 'm', code: {} }, { message: 'm', code: 'c'.repeat(256) }, { message: 'm', extra: 1 }, { message: 'm', details: {} }];
const ERROR_FIELDS = ['error', 'error.message', 'error.code', 'error.extra', 'error.details'];

test('POST run: wrong types and values are 400 naming the field', async (t) => {
  const bad = [
    ['id', BAD_ID],
    ['status', [5, true, [], {}, '', 'bogus', 'QUEUED', 'Running', 'requires_action', 'completed', 'failed', 'cancelled', 'interrupted', 'pending', ' queued']],
    ['parent_run_id', [5, true, [], {}, '', 'a b', 'x'.repeat(129), 'é', uniq('unknown'), RO, RB, RBo, RA, TERM.completed]],
    ['name', [5, true, [], {}, ['n'], 'n'.repeat(1001)]],
    ['metadata', BAD_META],
  ];
  const cases = [];
  for (const [field, values] of bad) {
    for (const v of values) cases.push({ label: `${field}=${label(v)}`, send: () => c.post(RU(T), { [field]: v }), status: 400, code: 'validation_failed', field });
  }
  // A run naming itself as its parent does not exist yet.
  const self = uniq('self');
  cases.push({ label: 'parent_run_id = its own id', send: () => c.post(RU(T), { id: self, parent_run_id: self }), status: 400, code: 'validation_failed', field: 'parent_run_id' });
  // A user key: a run of another user's thread, or of an admin thread, is no parent.
  for (const v of [R, RBo]) cases.push({ label: `alice parent_run_id=${v}`, send: () => alice.post(RU(TA), { parent_run_id: v }), status: 400, code: 'validation_failed', field: 'parent_run_id' });
  // Existing ids.
  for (const v of [R, RO, RA, RBo, TERM.failed]) cases.push({ label: `id ${v} exists in the org`, send: () => c.post(RU(T), { id: v }), status: 409, code: 'run_exists' });
  cases.push({ label: 'alice: an id of bob\'s run', send: () => alice.post(RU(TA), { id: RBo }), status: 409, code: 'run_exists' });
  await expectRejected(t, cases);
});

test('PATCH run: wrong types and values are 400 naming the field', async (t) => {
  const cases = [];
  for (const v of [5, true, [], {}, '', 'bogus', 'QUEUED', 'Running', 'pending', 'done', 'completed ']) {
    cases.push({ label: `status=${label(v)}`, send: () => c.patch(RU(T, R), { status: v }), status: 400, code: 'validation_failed', field: 'status' });
  }
  for (const v of BAD_ERROR) cases.push({ label: `error=${label(v)}`, send: () => c.patch(RU(T, R), { error: v }), status: 400, code: 'validation_failed', fields: ERROR_FIELDS });
  for (const v of BAD_META) cases.push({ label: `metadata=${label(v)}`, send: () => c.patch(RU(T, R), { metadata: v }), status: 400, code: 'validation_failed', field: 'metadata' });
  // A valid status with a bad field: nothing happens.
  cases.push({ label: 'completed with a bad error', send: () => c.patch(RU(T, R), { status: 'completed', error: { message: 5 } }), status: 400, code: 'validation_failed', fields: ERROR_FIELDS });
  cases.push({ label: 'completed with bad metadata', send: () => c.patch(RU(T, R), { status: 'completed', metadata: [] }), status: 400, code: 'validation_failed', field: 'metadata' });
  await expectRejected(t, cases);
});

test('POST step: unknown kinds and statuses, wrong types, bad parents and depends_on are 400 naming the field', async (t) => {
  const base = { kind: 'llm', name: 'x' };
  const bad = [
    ['id', BAD_ID],
    ['kind', [undefined, null, 5, true, [], {}, '', 'Node', 'LLM', 'agent', 'tool ', 'step', 'tools', 'node,llm']],
    ['name', [undefined, null, 5, true, [], {}, '', 'n'.repeat(1001)]],
    ['status', [null, 5, true, [], {}, '', 'bogus', 'completed', 'failed', 'cancelled', 'queued', 'requires_action', 'interrupted', 'Running', 'PENDING']],
    ['metadata', BAD_META],
    ['parent_step_id', [5, true, [], {}, '', 'a b', 'x'.repeat(129), 'é', uniq('unknown'), X1, O1, SA, SBo, SB, R, T]],
  ];
  const cases = [];
  for (const [field, values] of bad) {
    for (const v of values) {
      const body = { ...base };
      if (v === undefined) delete body[field];
      else body[field] = v;
      cases.push({ label: `${field}=${label(v)}`, send: () => c.post(ST(T, R), body), status: 400, code: 'validation_failed', field });
    }
  }
  const depFields = (n) => ['depends_on', ...Array.from({ length: n }, (_, i) => `depends_on[${i}]`)];
  for (const v of [5, 'x', S1, true, {}, { 0: S1 }, [5], [null], [true], [[S1]], [''], ['a b'], ['x'.repeat(129)], [uniq('unknown')], [X1], [O1], [SA], [SBo], [SB], [S1, X1], [S1, S2, uniq('nope')], [S1, S1], [S1, S2, S1], [R]]) {
    cases.push({ label: `depends_on=${label(v)}`, send: () => c.post(ST(T, R), { ...base, depends_on: v }), status: 400, code: 'validation_failed', fields: depFields(Array.isArray(v) ? v.length : 0) });
  }
  // Itself.
  const self = uniq('self');
  cases.push({ label: 'parent_step_id = its own id', send: () => c.post(ST(T, R), { ...base, id: self, parent_step_id: self }), status: 400, code: 'validation_failed', field: 'parent_step_id' });
  cases.push({ label: 'depends_on its own id', send: () => c.post(ST(T, R), { ...base, id: self, depends_on: [self] }), status: 400, code: 'validation_failed', fields: depFields(1) });
  cases.push({ label: 'depends_on its own id among others', send: () => c.post(ST(T, R), { ...base, id: self, depends_on: [S1, self] }), status: 400, code: 'validation_failed', fields: depFields(2) });
  // More than 100 entries, each an existing step of the run; 100 with a repeat.
  cases.push({ label: 'depends_on 101 existing steps', send: () => c.post(ST(TBIG, RBIG), { ...base, depends_on: BIG_STEPS }), status: 400, code: 'validation_failed', fields: depFields(101) });
  cases.push({ label: 'depends_on 100 with a duplicate', send: () => c.post(ST(TBIG, RBIG), { ...base, depends_on: [...BIG_STEPS.slice(0, 99), BIG_STEPS[0]] }), status: 400, code: 'validation_failed', fields: depFields(100) });
  cases.push({ label: 'depends_on 1000 entries', send: () => c.post(ST(TBIG, RBIG), { ...base, depends_on: Array.from({ length: 1000 }, (_, i) => `${RBIG}-${i}`) }), status: 400, code: 'validation_failed', fields: depFields(1000) });
  // A user key naming another user's step (or the admin's) as a parent or dependency.
  for (const v of [SBo, S1]) {
    cases.push({ label: `alice parent_step_id=${v}`, send: () => alice.post(ST(TA, RA), { ...base, parent_step_id: v }), status: 400, code: 'validation_failed', field: 'parent_step_id' });
    cases.push({ label: `alice depends_on=[${v}]`, send: () => alice.post(ST(TA, RA), { ...base, depends_on: [SA, v] }), status: 400, code: 'validation_failed', fields: depFields(2) });
  }
  // Existing step ids (per org).
  for (const v of [S1, X1, O1, SA, SBo, BIG_STEPS[5]]) cases.push({ label: `id ${v} exists`, send: () => c.post(ST(T, R), { ...base, id: v }), status: 409, code: 'step_exists' });
  await expectRejected(t, cases);
});

test('PATCH step: unknown statuses, wrong types are 400 naming the field', async (t) => {
  const cases = [];
  for (const v of [5, true, [], {}, '', 'bogus', 'queued', 'requires_action', 'interrupted', 'Running', 'COMPLETED']) {
    cases.push({ label: `status=${label(v)}`, send: () => c.patch(ST(T, R, S2), { status: v }), status: 400, code: 'validation_failed', field: 'status' });
  }
  for (const v of BAD_ERROR) cases.push({ label: `error=${label(v)}`, send: () => c.patch(ST(T, R, S2), { error: v }), status: 400, code: 'validation_failed', fields: ERROR_FIELDS });
  for (const v of BAD_META) cases.push({ label: `metadata=${label(v)}`, send: () => c.patch(ST(T, R, S2), { metadata: v }), status: 400, code: 'validation_failed', field: 'metadata' });
  cases.push({ label: 'completed with a bad error', send: () => c.patch(ST(T, R, S2), { status: 'completed', error: 'x' }), status: 400, code: 'validation_failed', fields: ERROR_FIELDS });
  await expectRejected(t, cases);
});

test('input, output and usage over 512 KiB as sent are 400 naming the field; a body over 1 MiB is 413', async (t) => {
  const str = (n) => `"${'x'.repeat(n - 2)}"`; // JSON text of n bytes
  const e2 = (n) => `"${'é'.repeat((n - 2) / 2)}"`;
  const spaced = (n) => `[ ${' '.repeat(n - 5)}1 ]`;
  const nested = (n) => `{"a":"${'y'.repeat(n - 8)}"}`;
  const over = [
    ['string', str(MAX_JSON + 1)],
    ['two-byte characters', e2(MAX_JSON + 2)],
    ['whitespace counts as sent', spaced(MAX_JSON + 1)],
    ['object', nested(MAX_JSON + 1)],
    ['escapes', `"${'\\n'.repeat(MAX_JSON / 2)}"`],
    ['far over', str(900000)],
  ];
  for (const [name, d] of over) assert.ok(Buffer.byteLength(d) > MAX_JSON && Buffer.byteLength(d) < 1000000, name);
  const cases = [];
  for (const [name, d] of over) {
    cases.push({ label: `POST run input: ${name}`, send: () => c.send('POST', RU(T), `{"name":"big","input":${d}}`), status: 400, code: 'validation_failed', field: 'input' });
    cases.push({ label: `PATCH run output: ${name}`, send: () => c.send('PATCH', RU(T, R), `{"output":${d}}`), status: 400, code: 'validation_failed', field: 'output' });
    cases.push({ label: `PATCH run usage: ${name}`, send: () => c.send('PATCH', RU(T, R), `{"usage":${d},"status":"completed"}`), status: 400, code: 'validation_failed', field: 'usage' });
    cases.push({ label: `POST step input: ${name}`, send: () => c.send('POST', ST(T, R), `{"kind":"llm","name":"big","input":${d}}`), status: 400, code: 'validation_failed', field: 'input' });
    cases.push({ label: `PATCH step output: ${name}`, send: () => c.send('PATCH', ST(T, R, S2), `{"status":"completed","output":${d}}`), status: 400, code: 'validation_failed', field: 'output' });
  }
  const at = str(MAX_JSON);
  cases.push({ label: 'PATCH run output and usage at the limit: body over 1 MiB', send: () => c.send('PATCH', RU(T, R), `{"output":${at},"usage":${at}}`), status: 413, code: 'payload_too_large' });
  cases.push({ label: 'POST run input over 1 MiB', send: () => c.send('POST', RU(T), `{"input":${str(1100000)}}`), status: 413, code: 'payload_too_large' });
  await expectRejected(t, cases);
});

test('input and output of exactly 512 KiB are accepted and returned whole', async () => {
  const d = `"${'x'.repeat(MAX_JSON - 2)}"`;
  const u = `"${'é'.repeat((MAX_JSON - 2) / 2)}"`;
  const tid = uniq('edge');
  await ok(c.post('/v1/threads', { id: tid }), 201);
  const r = await c.send('POST', RU(tid), `{"status":"running","input":${d}}`);
  assertStatus(r, 201);
  assert.equal(r.json.input.length, MAX_JSON - 2);
  const p = await c.send('PATCH', RU(tid, r.json.id), `{"output":${u}}`);
  assertStatus(p, 200);
  assert.ok(p.text.includes(`"output":${u}`));
  const s = await c.send('POST', ST(tid, r.json.id), `{"kind":"llm","name":"big","input":${u}}`);
  assertStatus(s, 201);
  const sp = await c.send('PATCH', ST(tid, r.json.id, s.json.id), `{"output":${d}}`);
  assertStatus(sp, 200);
  assert.equal(sp.json.output.length, MAX_JSON - 2);
  // Metadata just under its limit is fine too.
  assertStatus(await c.post(RU(tid), { metadata: { k: 'x'.repeat(MAX_META - 100) } }), 201);
});

test('steps cannot be added to a run in a terminal state (409); a terminal run stays final', async (t) => {
  const cases = [];
  for (const s of TERMINAL_RUN) {
    cases.push({ label: `POST step to a ${s} run`, send: () => c.post(ST(TT, TERM[s]), { kind: 'llm', name: 'late' }), status: 409, code: 'invalid_state_transition' });
    cases.push({ label: `POST pending step to a ${s} run`, send: () => c.post(ST(TT, TERM[s]), { kind: 'llm', name: 'late', status: 'pending' }), status: 409, code: 'invalid_state_transition' });
    for (const to of RUN_STATUSES.filter((x) => x !== s)) {
      cases.push({ label: `PATCH a ${s} run to ${to}`, send: () => c.patch(RU(TT, TERM[s]), { status: to, metadata: { late: true } }), status: 409, code: 'invalid_state_transition' });
    }
  }
  await expectRejected(t, cases);
});

test('bad list parameters are 400 invalid_query / invalid_cursor naming the parameter', async (t) => {
  const cases = [];
  const q = (path, qs, code, field) => cases.push({ label: `${path}?${qs}`, send: () => c.get(`${path}?${qs}`), status: 400, code, field });
  for (const p of [RU(T), '/v1/runs', ST(T, R)]) {
    for (const v of ['0', '101', '-1', 'abc', '1.5', '1e1', '']) q(p, `limit=${v}`, 'invalid_query', 'limit');
    for (const v of ['sideways', 'ASC', '']) q(p, `order=${v}`, 'invalid_query', 'order');
    for (const v of [uniq('nope'), '00000000-0000-0000-0000-000000000000']) {
      q(p, `after=${v}`, 'invalid_cursor');
      q(p, `before=${v}`, 'invalid_cursor');
    }
  }
  for (const p of [RU(T), '/v1/runs']) {
    for (const v of ['bogus', 'pending', 'QUEUED', '', 'running,completed']) q(p, `status=${v}`, 'invalid_query', 'status');
    q(p, 'status=running&status=bogus', 'invalid_query', 'status');
  }
  for (const v of ['bogus', 'queued', 'requires_action', 'Running', '']) q(ST(T, R), `status=${v}`, 'invalid_query', 'status');
  for (const v of ['bogus', 'LLM', 'agent', '', 'llm,tool']) q(ST(T, R), `kind=${v}`, 'invalid_query', 'kind');
  q(ST(T, R), 'kind=llm&kind=bogus', 'invalid_query', 'kind');
  for (const [qs, f] of [
    ['created_after=yesterday', 'created_after'],
    ['created_after=2026-13-45T99:00:00Z', 'created_after'],
    ['created_before=12345', 'created_before'],
    ['metadata=notjson', 'metadata'],
    [`metadata=${encodeURIComponent('[1,2]')}`, 'metadata'],
    [`metadata=${encodeURIComponent('"s"')}`, 'metadata'],
    [`metadata=${encodeURIComponent('{"a":')}`, 'metadata'],
  ]) q('/v1/runs', qs, 'invalid_query', f);
  // Cursors from elsewhere are no cursors.
  q(RU(T), `after=${RO}`, 'invalid_cursor');
  q(RU(T), `before=${RB}`, 'invalid_cursor');
  q(ST(T, R), `after=${X1}`, 'invalid_cursor');
  q(ST(T, R), `after=${SB}`, 'invalid_cursor');
  q('/v1/runs', `after=${RB}`, 'invalid_cursor');
  q('/v1/runs', `after=${S1}`, 'invalid_cursor');
  cases.push({ label: 'alice: a run of bob as a cursor', send: () => alice.get(`/v1/runs?after=${RBo}`), status: 400, code: 'invalid_cursor' });
  cases.push({ label: 'after and before', send: () => c.get(`${RU(T)}?after=${R}&before=${R2}`), status: 400, code: 'invalid_query' });
  await expectRejected(t, cases);
});

test('a user key listing /v1/runs with another user_id is 403 forbidden', async (t) => {
  const cases = [];
  for (const u of [uniq('someone'), 'x', '']) {
    cases.push({ label: `alice user_id=${JSON.stringify(u)}`, send: () => alice.get(`/v1/runs?user_id=${u}`), status: u === '' ? [400, 403] : 403, code: u === '' ? ['invalid_query', 'forbidden'] : 'forbidden' });
  }
  const bobMe = (await bob.get('/v1/me')).json.user_id;
  cases.push({ label: 'alice names bob', send: () => alice.get(`/v1/runs?user_id=${bobMe}`), status: 403, code: 'forbidden' });
  cases.push({ label: 'alice names bob with other filters', send: () => alice.get(`/v1/runs?user_id=${bobMe}&status=running&thread_id=${TBo}`), status: 403, code: 'forbidden' });
  await expectRejected(t, cases);
  const me = (await alice.get('/v1/me')).json.user_id;
  assert.deepEqual(assertList(await alice.get(`/v1/runs?user_id=${me}`)).map((r) => r.id), [RA]);
});

/** A 404 for a foreign id must read like the 404 for an id nobody has. */
function sameAbsence(foreign, absent, masks, { detail = true } = {}) {
  assertProblem(foreign, 404, 'not_found');
  assertProblem(absent, 404, 'not_found');
  if (!detail) return;
  const norm = (j) => {
    let d = j.detail ?? '';
    for (const m of masks) d = d.split(m).join('<id>');
    return { status: j.status, code: j.code, title: j.title, type: j.type, detail: d, errors: j.errors };
  };
  assert.deepEqual(norm(foreign.json), norm(absent.json), 'indistinguishable from an absent id');
}

test('foreign ids everywhere (other org, other user, admin thread, another thread\'s run or step) are 404 like absent ones', async (t) => {
  // [who, viewer, foreign (t, r, s), which levels are foreign: 't' | 'r' | 's', compare details]
  // (Ids that cannot exist anywhere reveal nothing: for them only the 404 itself is required.)
  const scenarios = [
    ['A admin, org B ids', () => c, [TB, RB, SB], 't'],
    ['B admin, org A ids', () => b, [T, R, S1], 't'],
    ['alice, bob\'s ids', () => alice, [TBo, RBo, SBo], 't'],
    ['alice, the admin thread', () => alice, [T, R, S1], 't'],
    ['bob, alice\'s thread', () => bob, [TA, RA, SA], 't'],
    ['A admin, own thread, org B run', () => c, [T, RB, SB], 'r'],
    ['A admin, own run, org B step', () => c, [T, R, SB], 's'],
    ['alice, own thread, bob\'s run', () => alice, [TA, RBo, SBo], 'r'],
    ['alice, own thread, admin run', () => alice, [TA, R, S1], 'r'],
    ['alice, own run, bob\'s step', () => alice, [TA, RA, SBo], 's'],
    ['A admin, a run of another thread', () => c, [T, RO, O1], 'r'],
    ['A admin, a run of T in T2', () => c, [T2, R, S1], 'r'],
    ['A admin, a step of another thread', () => c, [T, R, O1], 's'],
    ['A admin, a step of another run of the thread', () => c, [T, R, X1], 's'],
    ['A admin, a step of R under R2', () => c, [T, R2, S1], 's'],
    ['A admin, thread ids that cannot exist', () => c, ['a%20b', R, S1], 't', false],
    ['A admin, run ids that cannot exist', () => c, [T, 'x'.repeat(129), S1], 'r', false],
    ['A admin, step ids that cannot exist', () => c, [T, R, '%C3%A9'], 's', false],
  ];
  const cases = [];
  for (const [who, viewer, [ft, fr, fs], level, detail = true] of scenarios) {
    const fresh = [uniq('absent-t'), uniq('absent-r'), uniq('absent-s')];
    // The absent twin keeps what is not foreign and replaces what is.
    const at = level === 't' ? fresh[0] : ft;
    const ar = level === 't' || level === 'r' ? fresh[1] : fr;
    const as = fresh[2];
    const masks = [ft, fr, fs, ...fresh].flatMap((m) => [m, decodeURIComponent(m)]).sort((x, y) => y.length - x.length);
    const endpoints = [];
    if (level === 't') {
      endpoints.push(['GET runs', (t0) => ['GET', RU(t0)]]);
      endpoints.push(['POST run', (t0) => ['POST', RU(t0), { name: 'sneak' }]]);
    }
    if (level !== 's') {
      endpoints.push(['GET run', (t0, r0) => ['GET', RU(t0, r0)]]);
      endpoints.push(['PATCH run', (t0, r0) => ['PATCH', RU(t0, r0), { metadata: { sneak: true } }]]);
      endpoints.push(['PATCH run status', (t0, r0) => ['PATCH', RU(t0, r0), { status: 'cancelled' }]]);
      endpoints.push(['GET steps', (t0, r0) => ['GET', ST(t0, r0)]]);
      endpoints.push(['POST step', (t0, r0) => ['POST', ST(t0, r0), { kind: 'llm', name: 'sneak' }]]);
      endpoints.push(['GET graph', (t0, r0) => ['GET', `${RU(t0, r0)}/graph`]]);
      endpoints.push(['GET summary', (t0, r0) => ['GET', `${RU(t0, r0)}/summary`]]);
    }
    endpoints.push(['GET step', (t0, r0, s0) => ['GET', ST(t0, r0, s0)]]);
    endpoints.push(['PATCH step', (t0, r0, s0) => ['PATCH', ST(t0, r0, s0), { metadata: { sneak: true } }]]);
    endpoints.push(['PATCH step status', (t0, r0, s0) => ['PATCH', ST(t0, r0, s0), { status: 'cancelled' }]]);
    for (const [name, mk] of endpoints) {
      cases.push({
        label: `${who}: ${name}`,
        send: async () => {
          const send = ([m, p, body]) => viewer().api(m, p, body === undefined ? {} : { body });
          const foreign = await send(mk(ft, fr, fs));
          const absent = await send(mk(at, ar, as));
          sameAbsence(foreign, absent, masks, { detail });
          return foreign;
        },
        status: 404,
        code: 'not_found',
      });
    }
  }
  await expectRejected(t, cases);
  // Lists across threads never show a foreign run, and filtering by a foreign thread reads like an absent one.
  const aliceRuns = (await listAll(alice, '/v1/runs?limit=100')).map((r) => r.id);
  assert.deepEqual(aliceRuns, [RA]);
  for (const [viewer, tid] of [[alice, TBo], [alice, T], [c, TB], [b, T]]) {
    const f = await viewer.get(`/v1/runs?thread_id=${tid}`);
    const a = await viewer.get(`/v1/runs?thread_id=${uniq('absent')}`);
    assert.equal(f.status, a.status, `thread_id filter on a foreign thread: ${f.text}`);
    if (f.status === 200) assert.deepEqual(assertList(f), []);
    else sameAbsence(f, a, [tid]);
  }
  assert.ok(!(await listAll(b, '/v1/runs?limit=100')).some((r) => [R, R2, RO, RA, RBo].includes(r.id)));
});

test('other methods on the run paths are 405', async (t) => {
  const cases = [];
  for (const [m, p] of [
    ['DELETE', RU(T, R)],
    ['PUT', RU(T, R)],
    ['POST', RU(T, R)],
    ['PUT', RU(T)],
    ['DELETE', RU(T)],
    ['DELETE', ST(T, R, S1)],
    ['PUT', ST(T, R, S1)],
    ['POST', ST(T, R, S1)],
    ['DELETE', ST(T, R)],
    ['POST', `${RU(T, R)}/graph`],
    ['DELETE', `${RU(T, R)}/graph`],
    ['POST', `${RU(T, R)}/summary`],
    ['PATCH', `${RU(T, R)}/summary`],
    ['POST', '/v1/runs'],
    ['DELETE', '/v1/runs'],
  ]) {
    cases.push({ label: `${m} ${p}`, send: () => c.api(m, p, { body: { status: 'cancelled' } }), status: 405, code: 'method_not_allowed' });
  }
  await expectRejected(t, cases);
});

test('run and step events through POST /events: missing ids, foreign steps, bad data, illegal transitions in a batch — nothing written', async (t) => {
  const ok1 = { type: 'step.completed', run_id: R, step_id: S2 }; // legal on its own
  const cases = [
    { label: 'run.created without run_id', send: () => c.post(EV(T), { events: [{ type: 'run.created' }] }), status: 400, code: 'validation_failed', field: 'events[0].run_id' },
    { label: 'run.completed without run_id, second', send: () => c.post(EV(T), { events: [{ type: 'note' }, { type: 'run.completed' }] }), status: 400, code: 'validation_failed', field: 'events[1].run_id' },
    { label: 'step.created without run_id', send: () => c.post(EV(T), { events: [{ type: 'step.created', step_id: uniq('s'), data: { kind: 'llm', name: 'x' } }] }), status: 400, code: 'validation_failed', field: 'events[0].run_id' },
    { label: 'step.completed without step_id', send: () => c.post(EV(T), { events: [{ type: 'step.completed', run_id: R }] }), status: 400, code: 'validation_failed', fields: ['events[0].step_id', 'events[0].run_id'] },
    { label: 'step.created without step_id', send: () => c.post(EV(T), { events: [{ type: 'step.created', run_id: R, data: { kind: 'llm', name: 'x' } }] }), status: 400, code: 'validation_failed', fields: ['events[0].step_id', 'events[0].run_id'] },
    { label: 'step.completed with a step of another run', send: () => c.post(EV(T), { events: [{ type: 'step.completed', run_id: R, step_id: X1 }] }), status: 400, code: 'validation_failed' },
    { label: 'step.completed with a step of another thread', send: () => c.post(EV(T), { events: [{ type: 'step.completed', run_id: R, step_id: O1 }] }), status: 400, code: 'validation_failed' },
    { label: 'step.completed with a step of another org', send: () => c.post(EV(T), { events: [{ type: 'step.completed', run_id: R, step_id: SB }] }), status: 400, code: 'validation_failed' },
    { label: 'run.completed for a run of another thread', send: () => c.post(EV(T), { events: [{ type: 'run.completed', run_id: RO }] }), status: 400, code: 'validation_failed' },
    { label: 'run.completed for an unknown run', send: () => c.post(EV(T), { events: [{ type: 'run.completed', run_id: uniq('nope') }] }), status: 400, code: 'validation_failed' },
    { label: 'run.running for another org\'s run', send: () => c.post(EV(T), { events: [{ type: 'run.running', run_id: RB }] }), status: 400, code: 'validation_failed' },
    { label: 'step.created with an unknown kind', send: () => c.post(EV(T), { events: [{ type: 'step.created', run_id: R, step_id: uniq('s'), data: { kind: 'agent', name: 'x' } }] }), status: 400, code: 'validation_failed', field: 'events[0].data.kind' },
    { label: 'step.created without a name', send: () => c.post(EV(T), { events: [{ type: 'step.created', run_id: R, step_id: uniq('s'), data: { kind: 'llm' } }] }), status: 400, code: 'validation_failed', field: 'events[0].data.name' },
    { label: 'step.created with a parent of another run', send: () => c.post(EV(T), { events: [{ type: 'step.created', run_id: R, step_id: uniq('s'), data: { kind: 'llm', name: 'x', parent_step_id: X1 } }] }), status: 400, code: 'validation_failed', field: 'events[0].data.parent_step_id' },
    { label: 'step.created depending on a step of another thread', send: () => c.post(EV(T), { events: [{ type: 'step.created', run_id: R, step_id: uniq('s'), data: { kind: 'llm', name: 'x', depends_on: [O1] } }] }), status: 400, code: 'validation_failed', fields: ['events[0].data.depends_on', 'events[0].data.depends_on[0]'] },
    { label: 'step.created with data not an object', send: () => c.post(EV(T), { events: [{ type: 'step.created', run_id: R, step_id: uniq('s'), data: 5 }] }), status: 400, code: 'validation_failed', field: 'events[0].data' },
    { label: 'run.created with status completed', send: () => c.post(EV(T), { events: [{ type: 'run.created', run_id: uniq('r'), data: { status: 'completed' } }] }), status: 400, code: 'validation_failed', field: 'events[0].data.status' },
    { label: 'run.completed with data.status failed', send: () => c.post(EV(T), { events: [{ type: 'run.completed', run_id: R, data: { status: 'failed' } }] }), status: 400, code: 'validation_failed', field: 'events[0].data.status' },
    { label: 'run.created with input over 512 KiB', send: () => c.send('POST', EV(T), `{"events":[{"type":"run.created","run_id":"${uniq('r')}","data":{"input":"${'x'.repeat(MAX_JSON)}"}}]}`), status: 400, code: 'validation_failed', fields: ['events[0].data.input', 'events[0].data'] },
    { label: 'a run of another thread after a legal event', send: () => c.post(EV(T), { events: [ok1, { type: 'run.running', run_id: TERM.completed }] }), status: 400, code: 'validation_failed' },
    { label: 'illegal transition inside one run: running back after completed', send: () => c.post(EV(T), { events: [ok1, { type: 'step.running', run_id: R, step_id: S2 }] }), status: 409, code: 'invalid_state_transition' },
    { label: 'a completed run running again', send: () => c.post(EV(TT), { events: [{ type: 'note' }, { type: 'run.running', run_id: TERM.completed }] }), status: 409, code: 'invalid_state_transition' },
    { label: 'a step added to a completed run', send: () => c.post(EV(TT), { events: [{ type: 'step.created', run_id: TERM.failed, step_id: uniq('late'), data: { kind: 'llm', name: 'late' } }] }), status: 409, code: 'invalid_state_transition' },
    { label: 'run.created for an existing run', send: () => c.post(EV(T), { events: [ok1, { type: 'run.created', run_id: R }] }), status: 409, code: 'run_exists' },
    { label: 'run.created for a run of another thread', send: () => c.post(EV(T), { events: [{ type: 'run.created', run_id: RO }] }), status: 409, code: 'run_exists' },
    { label: 'step.created for an existing step', send: () => c.post(EV(T), { events: [ok1, { type: 'step.created', run_id: R, step_id: S1, data: { kind: 'llm', name: 'x' } }] }), status: 409, code: 'step_exists' },
    { label: 'step.created after run.completed in one batch', send: () => c.post(EV(T), { events: [{ type: 'run.completed', run_id: R2 }, { type: 'step.created', run_id: R2, step_id: uniq('s'), data: { kind: 'llm', name: 'x' } }] }), status: 409, code: 'invalid_state_transition' },
    { label: 'a completed step failing, third in a batch', send: () => c.post(EV(T), { events: [{ type: 'step.running', run_id: R, step_id: SP }, { type: 'step.completed', run_id: R, step_id: SP }, { type: 'step.failed', run_id: R, step_id: SP }] }), status: 409, code: 'invalid_state_transition' },
  ];
  await expectRejected(t, cases);
});
