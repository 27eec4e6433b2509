// Runs and steps survive crashes: step creates through REST (under Idempotency-Key), step PATCHes
// (a retried status it already has is not a change) and step lifecycle events (their event ids are
// the idempotency handle) run under load; the service is killed with -9 (or PostgreSQL restarted),
// every request that got no answer is retried as it was sent, and then every acknowledged step and
// status exists, nothing is there twice (one step, one step.created, one end event per step), paths
// are unique and gap-free per parent, run.step_count counts the steps, and the event log agrees
// with the tables.
// Runs alone (the second test stops PostgreSQL): scripts/test.sh runs tests/api/serial/ after the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, api, client, listAll, assertStatus, uniq, sleep } from '../lib/harness.mjs';
import { pg, latencyProxy, viaProxy, eachLimit, kill9, replyProxy } from '../lib/crash.mjs';

const INFLIGHT = 16;
const DB_DELAY_MS = 2; // see latencyProxy: lets a crash find requests half done
const REPLY_DELAY_MS = 50; // see replyProxy: lets a crash find requests committed and not yet answered
const PARENTS = 3;

const enc = encodeURIComponent;
const E = (tid) => `/v1/threads/${enc(tid)}/events`;
const RUN = (tid, rid) => `/v1/threads/${enc(tid)}/runs/${enc(rid)}`;
const STEPS = (tid, rid) => `${RUN(tid, rid)}/steps`;
const STEP = (tid, rid, sid) => `${STEPS(tid, rid)}/${enc(sid)}`;

// Item i of the load, by i % 4:
//   0: REST step create at the top level, then PATCH → completed
//   1: REST step create under parent i % PARENTS, then PATCH → failed
//   2: one event batch [step.created, step.completed] (top level when i % 8 == 2, else under a parent)
//   3: two event appends, step.created (under a parent) then step.failed
const mode = (i) => i % 4;
const finalStatus = (i) => (mode(i) % 2 === 0 ? 'completed' : 'failed');
const parentOf = (i, parents) => (mode(i) === 0 || (mode(i) === 2 && i % 8 === 2) ? null : parents[i % PARENTS]);
const stepName = (i) => `n${i}`;
const evStepId = (i) => `es${i}`;

function createdEvent(ctx, i) {
  const parent = parentOf(i, ctx.parents);
  return {
    id: `ec${i}`,
    type: 'step.created',
    run_id: ctx.rid,
    step_id: evStepId(i),
    data: { kind: 'tool', name: stepName(i), ...(parent ? { parent_step_id: parent } : {}), status: 'running' },
  };
}
const endEvent = (ctx, i) => ({ id: `ed${i}`, type: `step.${finalStatus(i)}`, run_id: ctx.rid, step_id: evStepId(i) });

/** One request: {res} for an answer within the contract, {err, conn} otherwise (conn: the connection failed). */
async function call(ctx, base, method, p, body, headers = {}, timeoutMs = 10000) {
  try {
    return { res: await api(base, method, p, { key: ctx.key, body, headers, timeoutMs }) };
  } catch (err) {
    const conn = !/violates the contract/.test(err.message);
    if (!conn) ctx.problems.push(`${method} ${p}: ${err.message.split('\n').slice(0, 3).join(' | ')}`);
    return { err, conn };
  }
}

const retryable = (r) => (r.err && r.conn) || (!r.err && (r.res.status === 503 || (r.res.status === 409 && r.res.json?.code === 'idempotency_key_in_use')));

/**
 * Sends one request; under load (until === null) once, when settling again and again while the
 * answer is retryable and time remains. Returns the last answer.
 */
async function send(ctx, base, until, method, p, body, headers) {
  for (;;) {
    const r = await call(ctx, base, method, p, body, headers, until === null ? 10000 : 5000);
    if (!retryable(r) || until === null || Date.now() > until) return r;
    await sleep(150);
  }
}

const describe = (r) => (r.err ? `${r.conn ? 'connection error' : 'contract violation'}: ${r.err.message.split('\n')[0]}` : `${r.res.status} ${r.res.text.slice(0, 300)}`);

/**
 * Runs item i's requests in order against base. Under load (until === null) it stops at the first
 * request without a final answer; settling, it retries each until answered or until passes.
 * Records acknowledgements in ctx.acked (op → answer) and checks retries against them.
 * Resolves true when all the item's requests got their final answer.
 */
async function runItem(ctx, base, i, until) {
  const loading = until === null;
  const ack = (op, res) => {
    if (loading && !ctx.acked.has(op)) {
      ctx.acked.set(op, res);
      ctx.onAck();
    }
  };
  const st = ctx.items[i];
  if (mode(i) <= 1) {
    // REST create under its Idempotency-Key, no step id: only the key keeps a retry from making a second step.
    const parent = parentOf(i, ctx.parents);
    const body = { kind: 'tool', name: stepName(i), ...(parent ? { parent_step_id: parent } : {}) };
    const op = `create${i}`;
    const r = await send(ctx, base, until, 'POST', STEPS(ctx.tid, ctx.rid), body, { 'Idempotency-Key': `ck-${i}` });
    if (r.err || r.res.status === 503) return false;
    if (r.res.status !== 201) {
      ctx.problems.push(`item ${i}: step create answered ${describe(r)}`);
      return false;
    }
    const prev = ctx.acked.get(op);
    if (!loading && !prev && r.res.headers.get('idempotent-replayed') === 'true') ctx.lost++;
    if (prev) {
      if (r.res.json.id !== prev.json.id) ctx.problems.push(`item ${i}: acknowledged step ${prev.json.id}, the retry answered ${r.res.json.id}`);
      else if (r.res.headers.get('idempotent-replayed') !== 'true') ctx.problems.push(`item ${i}: the retried create ran again (no Idempotent-Replayed)`);
    }
    st.id = r.res.json.id;
    ack(op, r.res);
    const pop = `patch${i}`;
    const pr = await send(ctx, base, until, 'PATCH', STEP(ctx.tid, ctx.rid, st.id), { status: finalStatus(i) }, { 'Idempotency-Key': `pk-${i}` });
    if (pr.err || pr.res.status === 503) return false;
    if (pr.res.status !== 200 || pr.res.json.status !== finalStatus(i)) {
      ctx.problems.push(`item ${i}: PATCH ${finalStatus(i)} answered ${describe(pr)}${ctx.acked.has(pop) ? ' (retry of an acknowledged PATCH)' : ''}`);
      return false;
    }
    ack(pop, pr.res);
    return true;
  }
  const batches = mode(i) === 2 ? [[createdEvent(ctx, i), endEvent(ctx, i)]] : [[createdEvent(ctx, i)], [endEvent(ctx, i)]];
  for (let b = 0; b < batches.length; b++) {
    const op = `events${i}.${b}`;
    const r = await send(ctx, base, until, 'POST', E(ctx.tid), { events: batches[b] });
    if (r.err || r.res.status === 503) return false;
    if (r.res.status !== 201 && r.res.status !== 200) {
      ctx.problems.push(`item ${i}: append ${b} answered ${describe(r)}`);
      return false;
    }
    const prev = ctx.acked.get(op);
    if (!loading && !prev && r.res.status === 200) ctx.lost++;
    if (prev) {
      if (r.res.status !== 200) ctx.problems.push(`item ${i}: acknowledged append ${b} was written again (${r.res.status})`);
      const seqs = (x) => x.json.data.map((e) => e.seq);
      if (JSON.stringify(seqs(r.res)) !== JSON.stringify(seqs(prev))) ctx.problems.push(`item ${i}: acknowledged append ${b} had seqs ${seqs(prev)}, the retry ${seqs(r.res)}`);
    }
    ack(op, r.res);
  }
  st.id = evStepId(i);
  return true;
}

/** A fresh org, thread and running run with PARENTS top-level parent steps; returns the context. */
async function setup(base, tag) {
  const { api_key: key } = await createOrg(uniq(tag));
  const c = client(base, key);
  const tid = uniq('t');
  const rid = uniq('r');
  assertStatus(await c.post('/v1/threads', { id: tid }), 201);
  assertStatus(await c.post(`/v1/threads/${enc(tid)}/runs`, { id: rid, status: 'running' }), 201);
  const parents = [];
  for (let p = 0; p < PARENTS; p++) {
    const r = await c.post(STEPS(tid, rid), { id: `${rid}-p${p}`, kind: 'node', name: `parent ${p}` });
    assertStatus(r, 201);
    parents.push(r.json.id);
  }
  return { key, tid, rid, parents, items: [], acked: new Map(), problems: [], lost: 0, onAck: () => {} };
}

/** Every item retried until done; then the tables and the log checked. Returns a summary line. */
async function settleAndCheck(ctx, base, n, windowMs) {
  const until = Date.now() + windowMs;
  const done = new Set();
  await eachLimit(Array.from({ length: n }, (_, i) => i), INFLIGHT, async (i) => {
    if (await runItem(ctx, base, i, until)) done.add(i);
  });
  const notDone = Array.from({ length: n }, (_, i) => i).filter((i) => !done.has(i));
  const c = client(base, ctx.key);
  const problems = ctx.problems;
  if (notDone.length) problems.push(`${notDone.length} items never completed on retry: ${notDone.slice(0, 10).join(', ')}`);

  // The tables.
  const steps = await listAll(c, `${STEPS(ctx.tid, ctx.rid)}?order=asc&limit=100`);
  const run = (await c.get(RUN(ctx.tid, ctx.rid))).json;
  const ids = new Set(steps.map((s) => s.id));
  if (ids.size !== steps.length) problems.push(`${steps.length - ids.size} step ids listed twice`);
  if (steps.length !== PARENTS + n) problems.push(`the run has ${steps.length} steps, expected ${PARENTS + n} (${PARENTS} parents + one per item)`);
  if (run.step_count !== steps.length) problems.push(`run.step_count ${run.step_count}, but ${steps.length} steps are listed`);
  const byName = new Map();
  for (const s of steps) byName.set(s.name, [...(byName.get(s.name) || []), s]);
  const dupNames = [...byName].filter(([, l]) => l.length > 1).map(([name, l]) => `${name}×${l.length}`);
  if (dupNames.length) problems.push(`steps made twice: ${dupNames.slice(0, 10).join(', ')} (${dupNames.length} in all)`);
  for (let i = 0; i < n; i++) {
    const l = byName.get(stepName(i)) || [];
    if (!l.length) {
      problems.push(`item ${i}: no step named ${stepName(i)}`);
      continue;
    }
    const s = l[0];
    const ack = ctx.acked.get(mode(i) <= 1 ? `create${i}` : `events${i}.0`);
    if (ack && mode(i) <= 1 && s.id !== ack.json.id) problems.push(`item ${i}: acknowledged step ${ack.json.id}, the table has ${s.id}`);
    if (mode(i) >= 2 && s.id !== evStepId(i)) problems.push(`item ${i}: step id ${s.id}, expected ${evStepId(i)}`);
    if (s.status !== finalStatus(i)) problems.push(`item ${i}: step ${s.id} is ${s.status}, expected ${finalStatus(i)}`);
    const parent = parentOf(i, ctx.parents);
    if (s.parent_step_id !== parent) problems.push(`item ${i}: parent ${s.parent_step_id}, expected ${parent}`);
  }
  // Paths: unique, and per parent exactly 1..k in creation order, under the parent's path.
  const byPath = new Map(steps.map((s) => [s.path, s]));
  if (byPath.size !== steps.length) problems.push(`${steps.length - byPath.size} paths used twice`);
  const stepById = new Map(steps.map((s) => [s.id, s]));
  const groups = new Map();
  for (const s of steps) groups.set(s.parent_step_id, [...(groups.get(s.parent_step_id) || []), s]);
  for (const [parent, kids] of groups) {
    const prefix = parent === null ? '' : `${stepById.get(parent)?.path}.`;
    const want = kids.map((_, k) => `${prefix}${k + 1}`);
    const got = kids.map((s) => s.path);
    if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`children of ${parent ?? '(top level)'}: paths ${got.join(' ')} in creation order, expected ${want.join(' ')}`);
    const depth = parent === null ? 0 : stepById.get(parent).depth + 1;
    const badDepth = kids.filter((s) => s.depth !== depth);
    if (badDepth.length) problems.push(`children of ${parent ?? '(top level)'}: ${badDepth.length} with a depth other than ${depth}`);
  }

  // The log: gap-free, and it tells the same story as the tables.
  const log = [];
  for (let after = 0; ; ) {
    const r = await c.get(`${E(ctx.tid)}?limit=1000&after_seq=${after}`);
    assertStatus(r, 200);
    log.push(...r.json.data);
    if (!r.json.has_more) break;
    after = r.json.data.at(-1).seq;
  }
  if (log.some((e, k) => e.seq !== k + 1)) problems.push('the log seqs are not 1..N');
  if (new Set(log.map((e) => e.id)).size !== log.length) problems.push('an event id appears twice in the log');
  const runCreated = log.filter((e) => e.type === 'run.created');
  if (runCreated.length !== 1 || runCreated[0].run_id !== ctx.rid) problems.push(`${runCreated.length} run.created events`);
  const perStep = new Map();
  for (const e of log) {
    if (!e.type.startsWith('step.')) continue;
    if (e.run_id !== ctx.rid) problems.push(`event ${e.seq} ${e.type} has run_id ${e.run_id}`);
    perStep.set(e.step_id, [...(perStep.get(e.step_id) || []), e]);
  }
  const strays = [...perStep.keys()].filter((sid) => !stepById.has(sid));
  if (strays.length) problems.push(`step events for ${strays.length} steps that do not exist: ${strays.slice(0, 5).join(', ')}`);
  const bad = [];
  for (const s of steps) {
    const evs = perStep.get(s.id) || [];
    const created = evs.filter((e) => e.type === 'step.created');
    const ends = evs.filter((e) => ['step.completed', 'step.failed', 'step.cancelled'].includes(e.type));
    const others = evs.filter((e) => !['step.created', 'step.completed', 'step.failed', 'step.cancelled'].includes(e.type));
    if (created.length !== 1) bad.push(`${s.name}: ${created.length} step.created`);
    else {
      const d = created[0].data || {};
      if (evs[0] !== created[0]) bad.push(`${s.name}: step.created is not its first event`);
      if ((d.parent_step_id ?? null) !== s.parent_step_id) bad.push(`${s.name}: step.created says parent ${d.parent_step_id}, the table ${s.parent_step_id}`);
      if ('path' in d && d.path !== s.path) bad.push(`${s.name}: step.created says path ${d.path}, the table ${s.path}`);
      if (d.name !== s.name || d.kind !== s.kind) bad.push(`${s.name}: step.created names ${d.kind}/${d.name}`);
    }
    const isParent = s.name.startsWith('parent ');
    if (isParent) {
      if (ends.length || others.length) bad.push(`${s.name}: ${ends.length + others.length} events after step.created`);
    } else {
      if (ends.length !== 1) bad.push(`${s.name}: ${ends.length} end events (${ends.map((e) => e.type).join(', ')})`);
      else if (ends[0].type !== `step.${s.status}`) bad.push(`${s.name}: the log ends it ${ends[0].type}, the table says ${s.status}`);
      if (others.length) bad.push(`${s.name}: other events ${others.map((e) => e.type).join(', ')}`);
    }
  }
  if (bad.length) problems.push(`the log disagrees with the tables for ${bad.length} steps: ${bad.slice(0, 8).join('; ')}`);
  if (perStep.size !== steps.length && !strays.length) problems.push(`the log has events for ${perStep.size} steps, the table ${steps.length}`);

  return `${steps.length} steps (${PARENTS} parents), ${log.length} events, ${ctx.acked.size} requests acknowledged under load, ${ctx.lost} committed without an answer (found on retry)`;
}

/** Drives items ctx.next.. (up to n) against base with INFLIGHT workers until stop() says so. */
async function load(ctx, base, n, stop) {
  await Promise.all(
    Array.from({ length: INFLIGHT }, async () => {
      while (!stop() && ctx.next < n) {
        const i = ctx.next++;
        await runItem(ctx, base, i, null);
      }
    }),
  );
  return ctx.next;
}

function initItems(ctx, n) {
  ctx.items = Array.from({ length: n }, () => ({ id: null }));
  ctx.next = 0;
}

test('kill -9 under load, three times: retried step creates, PATCHes and step events leave every step once, paths gap-free', { timeout: 150000 }, async (t) => {
  const N = 240;
  const ROUNDS = 3;
  const KILL_AFTER = 50; // acknowledged requests per round
  const proxy = await latencyProxy(DB_DELAY_MS);
  const servers = [];
  const fronts = [];
  let last = null;
  try {
    let ctx = null;
    for (let round = 0; round < ROUNDS; round++) {
      const srv = await startServer(viaProxy(proxy));
      servers.push(srv);
      const front = await replyProxy(srv.url, REPLY_DELAY_MS);
      fronts.push(front);
      if (!ctx) {
        ctx = await setup(srv.url, 'runcrash');
        initItems(ctx, N);
      }
      const goal = ctx.acked.size + KILL_AFTER;
      let killing = null;
      ctx.onAck = () => {
        if (ctx.acked.size >= goal && !killing) {
          front.cut(); // the replies on their way are lost with the server
          killing = kill9(srv);
        }
      };
      const started = await load(ctx, front.url, N, () => killing !== null);
      assert.ok(killing, `round ${round}: the server was killed under load`);
      await killing;
      t.diagnostic(`round ${round}: ${started} items started so far, ${ctx.acked.size} requests acknowledged`);
    }
    // Every request that got no answer, in any round, is sent again as it was.
    last = await startServer();
    const summary = await settleAndCheck(ctx, last.url, N, 20000);
    t.diagnostic(summary);
    assert.deepEqual(ctx.problems, [], `after the crashes:\n${ctx.problems.join('\n')}`);
  } finally {
    for (const f of fronts) await f.close();
    for (const srv of servers) if (!srv.exited) await kill9(srv);
    await last?.stop();
    await proxy?.close();
  }
});

test('a PostgreSQL restart under load: retried requests leave every step once, the log agrees', { timeout: 150000 }, async (t) => {
  if (!pg.STOP || !pg.START) {
    t.skip('CONVSTORE_TEST_PG_STOP / CONVSTORE_TEST_PG_START are not set');
    return;
  }
  const N = 160;
  const STOP_AFTER = 40;
  const proxy = await latencyProxy(DB_DELAY_MS);
  let srv = null;
  try {
    srv = await startServer(viaProxy(proxy, { CONVSTORE_POOL_SIZE: '4' }));
    const ctx = await setup(srv.url, 'runpg');
    initItems(ctx, N);
    let stopping = null;
    ctx.onAck = () => {
      if (ctx.acked.size >= STOP_AFTER && !stopping) {
        stopping = pg.stop();
        stopping.catch(() => {});
      }
    };
    await load(ctx, srv.url, N, () => false);
    assert.ok(stopping, 'PostgreSQL was stopped under load');
    await stopping;
    const acked = ctx.acked.size;
    await pg.start();
    const summary = await settleAndCheck(ctx, srv.url, N, 30000);
    t.diagnostic(`${acked} requests acknowledged before and during the outage; ${summary}`);
    assert.deepEqual(ctx.problems, [], `after the PostgreSQL restart:\n${ctx.problems.join('\n')}`);
  } finally {
    if (pg.down) await pg.start();
    await srv?.stop();
    await proxy?.close();
  }
});
