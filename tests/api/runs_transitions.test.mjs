// Every pair of the run (7×7) and step (5×5) state machines through PATCH: a legal change is 200
// with the new status and one event, the same status changes nothing, an illegal one is 409
// invalid_state_transition with nothing changed (version, status, events).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, client, assertProblem, assertStatus, assertList, uniq } from './lib/harness.mjs';
import { RUN_STATUSES, STEP_STATUSES, TERMINAL_RUN, RU, ST, EV, ok } from './lib/runs.mjs';

let srv;
let c;
const TM = uniq('TM');

before(async () => {
  srv = await startServer();
  c = client(srv.url, (await createOrg(uniq('runs-sm'))).api_key);
  await ok(c.post('/v1/threads', { id: TM }), 201);
});
after(async () => {
  await srv?.stop();
});

// ---------------------------------------------------------------------------------------------
// The state machines, every pair, through PATCH

const RUN_LEGAL = {
  queued: ['running', 'completed', 'failed', 'cancelled', 'interrupted'],
  running: ['requires_action', 'completed', 'failed', 'cancelled', 'interrupted'],
  requires_action: ['running', 'completed', 'failed', 'cancelled', 'interrupted'],
  completed: [],
  failed: [],
  cancelled: [],
  interrupted: [],
};
/** The legal PATCHes that lead from a new (queued) run to each state. */
const RUN_PATH = {
  queued: [],
  running: ['running'],
  requires_action: ['running', 'requires_action'],
  completed: ['running', 'completed'],
  failed: ['running', 'failed'],
  cancelled: ['running', 'cancelled'],
  interrupted: ['running', 'requires_action', 'interrupted'],
};

const runEvents = async (tid, rid) => assertList(await c.get(`${EV(tid)}?run_id=${rid}&limit=1000`));

test('the run state machine, every pair of the 7×7 table through PATCH', async (t) => {
  for (const from of RUN_STATUSES) {
    for (const to of RUN_STATUSES) {
      const kind = from === to ? 'same' : RUN_LEGAL[from].includes(to) ? 'legal' : 'illegal';
      await t.test(`${from} → ${to}: ${kind}`, async () => {
        const run = await ok(c.post(RU(TM), { name: `${from}>${to}` }), 201);
        for (const s of RUN_PATH[from]) await ok(c.patch(RU(TM, run.id), { status: s }), 200);
        const g0 = await c.get(RU(TM, run.id));
        assertStatus(g0, 200);
        const was = g0.json;
        assert.equal(was.status, from);
        assert.equal(was.version, 1 + RUN_PATH[from].length);
        const ev0 = await runEvents(TM, run.id);
        assert.deepEqual(ev0.map((e) => e.type), ['run.created', ...RUN_PATH[from].map((s) => `run.${s}`)]);

        const r = await c.patch(RU(TM, run.id), { status: to });
        const now = (await c.get(RU(TM, run.id))).json;
        const ev1 = await runEvents(TM, run.id);
        if (kind === 'illegal') {
          assertProblem(r, 409, 'invalid_state_transition');
          assert.deepEqual(now, was, 'nothing changed');
          assert.deepEqual(ev1, ev0, 'no event appended');
          return;
        }
        assertStatus(r, 200);
        assert.equal(r.headers.get('etag'), `"${r.json.version}"`);
        assert.deepEqual(r.json, now);
        if (kind === 'same') {
          assert.deepEqual(now, was, 'the status it already has is not a change');
          assert.deepEqual(ev1, ev0, 'no event appended');
          return;
        }
        assert.equal(now.status, to);
        assert.equal(now.version, was.version + 1);
        assert.equal(ev1.length, ev0.length + 1, 'one event appended');
        const last = ev1[ev1.length - 1];
        assert.equal(last.type, `run.${to}`);
        assert.equal(last.run_id, run.id);
        assert.equal(last.step_id, null);
        assert.equal(last.data.status, to);
        if (to === 'running') {
          if (was.started_at === null) assert.notEqual(now.started_at, null, 'started_at set on first entering running');
          else assert.equal(now.started_at, was.started_at, 'started_at kept');
        } else {
          assert.equal(now.started_at, was.started_at, 'started_at unchanged');
        }
        if (TERMINAL_RUN.includes(to)) assert.notEqual(now.ended_at, null, 'ended_at set on a terminal state');
        else assert.equal(now.ended_at, null);
      });
    }
  }
});

const STEP_LEGAL = {
  pending: ['running', 'completed', 'failed', 'cancelled'],
  running: ['completed', 'failed', 'cancelled'],
  completed: [],
  failed: [],
  cancelled: [],
};
const STEP_PATH = {
  pending: [],
  running: ['running'],
  completed: ['running', 'completed'],
  failed: ['running', 'failed'],
  cancelled: ['running', 'cancelled'],
};

test('the step state machine, every pair of the 5×5 table through PATCH', async (t) => {
  const rid = uniq('steps-sm');
  await ok(c.post(RU(TM), { id: rid, status: 'running' }), 201);
  for (const from of STEP_STATUSES) {
    for (const to of STEP_STATUSES) {
      const kind = from === to ? 'same' : STEP_LEGAL[from].includes(to) ? 'legal' : 'illegal';
      await t.test(`${from} → ${to}: ${kind}`, async () => {
        const step = await ok(c.post(ST(TM, rid), { kind: 'tool', name: `${from}>${to}`, status: 'pending' }), 201);
        for (const s of STEP_PATH[from]) await ok(c.patch(ST(TM, rid, step.id), { status: s }), 200);
        const was = (await c.get(ST(TM, rid, step.id))).json;
        assert.equal(was.status, from);
        const evOf = async () => assertList(await c.get(`${EV(TM)}?step_id=${step.id}&limit=1000`));
        const ev0 = await evOf();
        assert.deepEqual(ev0.map((e) => e.type), ['step.created', ...STEP_PATH[from].map((s) => `step.${s}`)]);

        const r = await c.patch(ST(TM, rid, step.id), { status: to });
        const now = (await c.get(ST(TM, rid, step.id))).json;
        const ev1 = await evOf();
        if (kind === 'illegal') {
          assertProblem(r, 409, 'invalid_state_transition');
          assert.deepEqual(now, was, 'nothing changed');
          assert.deepEqual(ev1, ev0, 'no event appended');
          return;
        }
        assertStatus(r, 200);
        assert.deepEqual(r.json, now);
        if (kind === 'same') {
          assert.deepEqual(now, was, 'the status it already has is not a change');
          assert.deepEqual(ev1, ev0, 'no event appended');
          return;
        }
        assert.equal(now.status, to);
        assert.equal(ev1.length, ev0.length + 1, 'one event appended');
        const last = ev1[ev1.length - 1];
        assert.equal(last.type, `step.${to}`);
        assert.equal(last.run_id, rid);
        assert.equal(last.step_id, step.id);
        if (to === 'running') assert.notEqual(now.started_at, null, 'started_at set on entering running');
        else assert.equal(now.started_at, was.started_at, 'started_at unchanged');
        if (to !== 'running') assert.notEqual(now.ended_at, null, 'ended_at set on a terminal state');
        else assert.equal(now.ended_at, null);
      });
    }
  }
});
