// LangGraph checkpoints survive crashes. Several simulated runs go on in parallel, each a chain of
// checkpoint PUTs (parent = the previous id, uuid6-like ids that grow, blobs for the channels that
// changed, with growing versions) interleaved with pending-write batches (idx ≥ 0 writes, a second
// batch for the same task whose idx 0 must lose, an ERROR (−1) write that a later batch replaces,
// some batches sent before their checkpoint as with async durability), while two threads are pruned
// under the load and one thread's checkpoints are deleted mid-run, together with a burst of late
// re-puts and writes for its old ids, after which its run goes on and keeps sending late writes
// and re-puts for old ids. The service is killed with -9 (or PostgreSQL restarted) under that load,
// every request without a 2xx answer is sent again as it was, run by run in order, and then:
// every checkpoint put reads back exactly (checkpoint, metadata, parent, channel_values rebuilt
// from its channel_versions, pending writes by the first-wins / last-wins rules, pending_sends of
// v < 4 checkpoints), nothing is there twice, `latest` is the greatest id, list pages (per thread,
// root namespace only, org-wide, metadata filter) agree with the reads, pruned threads keep a
// suffix of each namespace's chain, no shorter than the prunes allow and no longer (their answers
// count what is gone), and the deleted thread shows nothing of what was put before its delete:
// its tombstone held through the crash, the late requests racing the DELETE and the retried ones.
// Runs alone (the second test stops PostgreSQL): scripts/test.sh runs tests/api/serial/ after the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, createOrg, api, client, assertStatus, uniq, sleep } from '../lib/harness.mjs';
import { pg, latencyProxy, viaProxy, kill9 } from '../lib/crash.mjs';

const DB_DELAY_MS = 2; // see latencyProxy: lets a crash find requests half done
const STEPS = 24; // checkpoints per run
const KEEP = 3; // prune's keep_latest
const PRUNE_AT = [8, 16]; // a prune starts when the put of this step is acknowledged
const DEL_AT = 8; // the delete run deletes its thread's checkpoints after this step
const BURST = 16; // late re-puts and writes for old ids sent along with the DELETE

// The runs: thread index, namespace, checkpoint format v; prune: the body of the thread's prune
// (sent by the thread's first run); del: this run's thread is deleted mid-run.
const RUNS = [
  { t: 0, ns: '', v: 4 },
  { t: 0, ns: 'inner:6a1e|child:2f07', v: 4 },
  { t: 1, ns: '', v: 1, prune: { keep_latest: KEEP, checkpoint_ns: '' } },
  { t: 2, ns: '', v: 4, prune: { keep_latest: KEEP } },
  { t: 2, ns: 'tools:9c4d', v: 4 },
  { t: 3, ns: '', v: 1 },
  { t: 4, ns: '', v: 4, del: true },
  { t: 5, ns: '', v: 4 },
  { t: 6, ns: 'x|y:1', v: 4 },
];
const THREADS = 1 + Math.max(...RUNS.map((r) => r.t));

const enc = encodeURIComponent;
const CK = (tid, id) => `/v1/threads/${enc(tid)}/checkpoints/${enc(id)}`;
/** uuid6-like ids: in byte order by step, then run; unique across runs. */
const cid = (k, r) => `1ef4f797-8335-6${String(k).padStart(3, '0')}-8${String(r).padStart(3, '0')}-8a1503f9b875`;
const version = (k) => `${String(k + 1).padStart(32, '0')}.0.${randomBytes(8).toString('hex')}`;
const bytesCmp = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const short = (s, n = 400) => (s.length > n ? `${s.slice(0, n)}…` : s);

// ---------------------------------------------------------------------------------------------
// The plan: every request of every run, in order, and what the store must hold afterwards.

/** A request: acknowledged once it gets its 2xx answer; sent again (same body) until then. */
function op(kind, method, path, body, extra = {}) {
  return { kind, method, path, body, acked: false, attempts: 0, tries: [], resent: false, firstSent: null, ackAt: null, res: null, fired: false, ...extra };
}

function planRun(ctx, r) {
  const spec = RUNS[r];
  const tid = ctx.tids[spec.t];
  const tag = `run${r}-${randomBytes(3).toString('hex')}`;
  const run = { r, ...spec, tid, tag, ops: [], pos: 0, puts: [], putOps: [], writeOps: [], sides: [] };
  const W = (k) => `${CK(tid, cid(k, r))}/writes`;
  const writesOp = (k, task, path, list, extra) => {
    const o = op('writes', 'POST', W(k), { checkpoint_ns: spec.ns, task_id: task, task_path: path, writes: list }, { step: k, ...extra });
    if (!extra?.late) (run.writeOps[k] ||= []).push(o);
    return o;
  };
  const cv = {};
  let errorReplacement = null; // step k's replacing ERROR write goes out after step k+1's put
  for (let k = 0; k < STEPS; k++) {
    const id = cid(k, r);
    const changed = k === 0 ? ['branch:to:x', 'bytes', 'counter', 'messages'] : ['counter'];
    if (k > 0 && k % 2 === 0) changed.push('messages');
    if (k > 0 && k % 3 === 0) changed.push('bytes');
    if (k % 4 === 1) changed.push('branch:to:x');
    const blobs = changed.map((ch) => {
      const ver = version(k);
      cv[ch] = ver;
      if (ch === 'branch:to:x') return [ch, ver, 'empty', null];
      if (ch === 'bytes') return [ch, ver, 'bytes', randomBytes(5 + k).toString('base64')];
      if (ch === 'counter') return [ch, ver, 'json', `${k}.0`];
      // Kept byte for byte: a big integer, 1.0, an escaped NUL and a lone surrogate.
      return [ch, ver, 'json', `[{"role":"ai","step":${k},"n":1.0,"big":123456789012345678901234567890,"s":"\\u0000\\ud800 ${tag}"}]`];
    });
    const body = {
      checkpoint_ns: spec.ns,
      parent_checkpoint_id: k ? cid(k - 1, r) : null,
      checkpoint: {
        v: spec.v,
        id,
        ts: new Date(Date.UTC(2026, 10, 22, 10, 0, k)).toISOString().replace('Z', '000+00:00'),
        channel_versions: { ...cv },
        versions_seen: { __input__: {}, [`n${k % 3}`]: { counter: cv.counter } },
      },
      metadata: { type: 'json', data: `{"source":"${k ? 'loop' : 'input'}","step":${k - 1},"run":"${tag}","parents":{},"score":1.0}` },
      blobs,
    };
    run.puts[k] = body;
    const put = op('put', 'PUT', CK(tid, id), body, { step: k });
    run.putOps[k] = put;
    const a = writesOp(k, `a${k}`, `~__pregel_pull, n${k % 3}`, [
      [0, 'messages', 'json', `[{"role":"tool","step":${k},"x":2.50}]`],
      [1, 'bytes', 'bytes', randomBytes(7).toString('base64')],
      ...(spec.v < 4 ? [[2, '__pregel_tasks', 'json', `{"node":"fan","arg":${k},"run":"${tag}"}`]] : []),
    ]);
    // Async durability: on odd steps the task's writes arrive before their checkpoint.
    const stepOps = k % 2 ? [a, put] : [put, a];
    if (errorReplacement) stepOps.push(errorReplacement);
    errorReplacement = null;
    if (k % 2 === 0) {
      stepOps.push(writesOp(k, `e${k}`, '~__pregel_pull, err', [[-1, '__error__', 'json', `{"message":"attempt 1","step":${k}}`]]));
      errorReplacement = writesOp(k, `e${k}`, '~__pregel_pull, err', [
        [-1, '__error__', 'json', `{"message":"attempt 2","step":${k}}`],
        [-3, '__interrupt__', 'json', `[{"value":"approve?","step":${k}}]`],
      ]);
    }
    if (k % 3 === 0) {
      // The same task's writes again (a retried task): idx 0 must keep the first value, idx 3 is new.
      stepOps.push(writesOp(k, `a${k}`, `~__pregel_pull, n${k % 3}`, [
        [0, 'messages', 'json', '"a second write that must not win"'],
        [3, 'extra', 'json', `{"kept":${k}}`],
      ]));
    }
    if (spec.del && k > DEL_AT) {
      // The run goes on after its thread's delete, and late requests for old ids keep coming.
      const old = (k * 5) % (DEL_AT + 1);
      stepOps.push(
        k % 2
          ? writesOp(old, `late${k}`, '~late', [[0, 'messages', 'json', `"late ${k}"`], [-1, '__error__', 'json', `"late ${k}"`]], { late: true })
          : op('put', 'PUT', CK(tid, cid(old, r)), run.puts[old], { step: old, late: true }),
      );
    }
    run.ops.push(...stepOps);
    if (spec.del && k === DEL_AT) {
      const burst = Array.from({ length: BURST }, (_, i) => {
        const old = i % (DEL_AT + 1);
        return i % 2
          ? writesOp(old, `burst${i}`, '~burst', [[0, 'messages', 'json', `"burst ${i}"`], [-2, '__scheduled__', 'json', `"burst ${i}"`]], { late: true })
          : op('put', 'PUT', CK(tid, cid(old, r)), run.puts[old], { step: old, late: true });
      });
      run.deleteOp = op('delete', 'DELETE', `/v1/threads/${enc(tid)}/checkpoints`, undefined, { burst });
      run.ops.push(run.deleteOp);
    }
    if (spec.prune && PRUNE_AT.includes(k)) {
      const p = op('prune', 'POST', `/v1/threads/${enc(tid)}/checkpoints/prune`, spec.prune);
      put.triggers = p;
      run.sides.push(p);
    }
  }
  if (errorReplacement) run.ops.push(errorReplacement);
  return run;
}

/** The checkpoint steps of a run that must (or may) be stored: del runs lose everything up to
 * the step after the delete (that one's parent was deleted). */
const firstKept = (run) => (run.del ? DEL_AT + 2 : 0);

/** A run's stored pending writes of step k, by the rules: idx ≥ 0 first wins, idx < 0 last wins;
 * in the service's order (task_path, task_id, idx). */
function expectedWrites(run, k) {
  const m = new Map();
  for (const o of run.writeOps[k] || []) {
    for (const [idx, channel, type, data] of o.body.writes) {
      const key = `${o.body.task_id}\u0000${idx}`;
      if (idx >= 0 && m.has(key)) continue;
      m.set(key, { task_id: o.body.task_id, task_path: o.body.task_path, idx, channel, type, data });
    }
  }
  return [...m.values()].sort((x, y) => bytesCmp(x.task_path, y.task_path) || bytesCmp(x.task_id, y.task_id) || x.idx - y.idx);
}

/** The tuple GET must return for step k of a run. */
function expectedTuple(run, k) {
  const b = run.puts[k];
  const blobs = new Map();
  for (let j = firstKept(run); j < STEPS; j++) for (const [ch, ver, type, data] of run.puts[j].blobs) blobs.set(`${ch}\u0000${ver}`, [type, data]);
  const channelValues = [];
  for (const [ch, ver] of Object.entries(b.checkpoint.channel_versions)) {
    const blob = blobs.get(`${ch}\u0000${ver}`);
    if (blob && blob[0] !== 'empty') channelValues.push([ch, ...blob]);
  }
  const sends = run.v < 4 && k > 0 ? expectedWrites(run, k - 1).filter((w) => w.channel === '__pregel_tasks').map((w) => [w.type, w.data]) : [];
  return {
    object: 'checkpoint',
    thread_id: run.tid,
    checkpoint_ns: run.ns,
    checkpoint_id: b.checkpoint.id,
    parent_checkpoint_id: b.parent_checkpoint_id,
    checkpoint: b.checkpoint,
    metadata: b.metadata,
    channel_values: channelValues.sort((x, y) => bytesCmp(x[0], y[0])),
    pending_writes: expectedWrites(run, k).map((w) => [w.task_id, w.channel, w.type, w.data]),
    pending_sends: sends,
  };
}

/** channel_values in channel order (the contract does not fix their order). */
const norm = (t) => (t && Array.isArray(t.channel_values) ? { ...t, channel_values: [...t.channel_values].sort((x, y) => bytesCmp(x[0], y[0])) } : t);

async function setup(base, tag) {
  const { api_key: key } = await createOrg(uniq(tag));
  const ctx = {
    key,
    tids: Array.from({ length: THREADS }, (_, t) => uniq(`ck${t}`)),
    clock: 0,
    acked: 0,
    failed: 0,
    retried: 0,
    problems: [],
    background: [],
    onAck: () => {},
    onSend: () => {},
  };
  ctx.runs = RUNS.map((_, r) => planRun(ctx, r));
  ctx.total = ctx.runs.reduce((n, run) => n + run.ops.length, 0);
  return ctx;
}

// ---------------------------------------------------------------------------------------------
// Sending

const EXPECT = { put: 201, writes: 204, delete: 204, prune: 200 };

/**
 * Sends o until it is acknowledged; a 503 or a failed connection is sent again after a pause,
 * unless stop() says the load is over (or until passes): then false. Any other answer is a problem.
 */
async function send(ctx, base, o, { stop = () => false, until = Infinity, loading = false } = {}) {
  if (o.acked) return true;
  if (o.burst && !o.fired) {
    // Late re-puts and writes for the thread's old ids race the DELETE itself.
    o.fired = true;
    o.burst.forEach((b, i) => fire(ctx, base, b, { stop, until, loading }, (i % 8) * 0.5));
  }
  for (;;) {
    const sentAt = ctx.clock++;
    if (o.firstSent === null) o.firstSent = sentAt;
    ctx.onSend(o);
    if (!loading) {
      if (o.attempts > 0) ctx.retried++;
      o.resent = true;
    }
    o.attempts++;
    let res = null;
    try {
      res = await api(base, o.method, o.path, { key: ctx.key, body: o.body, timeoutMs: loading ? 10000 : 5000 });
    } catch (err) {
      if (/violates the contract/.test(err.message)) {
        ctx.problems.push(`${o.method} ${o.path}: ${short(err.message.split('\n').slice(0, 4).join(' | '), 1500)}`);
        return false;
      }
    }
    o.tries.push({ sentAt, endAt: ctx.clock++, answered: res?.status === EXPECT[o.kind] });
    if (res && res.status === EXPECT[o.kind]) {
      const bad = answerProblem(o, res);
      if (bad) ctx.problems.push(`${o.method} ${o.path}: ${bad}`);
      o.acked = true;
      o.ackAt = ctx.clock++;
      o.res = res;
      ctx.acked++;
      if (o.triggers) fire(ctx, base, o.triggers, { stop, until, loading });
      ctx.onAck();
      return true;
    }
    if (res && res.status !== 503) {
      ctx.problems.push(`${o.method} ${o.path} ${JSON.stringify(o.body)?.slice(0, 200)} answered ${res.status} ${short(res.text)}`);
      return false;
    }
    if (loading && ctx.faulting) ctx.failed++;
    if (stop() || Date.now() > until) return false;
    await sleep(loading ? 50 : 150);
  }
}

/** A request on the side of a run (a prune, a burst request): sent in the background. */
function fire(ctx, base, o, opts, delayMs = 0) {
  o.fired = true;
  ctx.background.push((delayMs ? sleep(delayMs) : Promise.resolve()).then(() => send(ctx, base, o, opts)));
}

function answerProblem(o, res) {
  if (o.kind === 'put') {
    const want = { thread_id: decodeURIComponent(o.path.split('/')[3]), checkpoint_ns: o.body.checkpoint_ns, checkpoint_id: o.body.checkpoint.id };
    if (JSON.stringify(res.json) !== JSON.stringify(want)) return `answered ${res.text}, expected ${JSON.stringify(want)}`;
  } else if (o.kind === 'prune') {
    const j = res.json;
    if (!j || !['deleted_checkpoints', 'deleted_blobs', 'deleted_writes'].every((f) => Number.isInteger(j[f]) && j[f] >= 0)) return `answered ${res.text}`;
  } else if (res.text !== '') {
    return `${res.status} with a body: ${short(res.text)}`;
  }
  return null;
}

/** Each run's requests in order, all runs at once, until each run is done or stop() (a request
 * without an answer then ends the run's load: it is sent again later, in order). */
async function load(ctx, base, stop) {
  await Promise.all(
    ctx.runs.map(async (run) => {
      while (run.pos < run.ops.length && !stop()) {
        if (!(await send(ctx, base, run.ops[run.pos], { stop, loading: true }))) return;
        run.pos++;
      }
    }),
  );
  await drain(ctx);
}

async function drain(ctx) {
  while (ctx.background.length) await Promise.all(ctx.background.splice(0));
}

/** Every request not acknowledged is sent again as it was (side requests at once, each run from
 * where it stopped, in order) until acknowledged or windowMs passes. */
async function settle(ctx, base, windowMs) {
  const until = Date.now() + windowMs;
  for (const run of ctx.runs) {
    for (const s of run.sides) if (s.fired && !s.acked) fire(ctx, base, s, { until });
    for (const b of run.deleteOp?.burst || []) if (b.fired && !b.acked) fire(ctx, base, b, { until });
  }
  await Promise.all(
    ctx.runs.map(async (run) => {
      while (run.pos < run.ops.length) {
        if (!(await send(ctx, base, run.ops[run.pos], { until }))) return;
        run.pos++;
      }
    }),
  );
  await drain(ctx);
  for (const run of ctx.runs) {
    if (run.pos < run.ops.length) ctx.problems.push(`run ${run.r}: request ${run.pos} of ${run.ops.length} (${run.ops[run.pos].method} ${run.ops[run.pos].path}) never acknowledged`);
    const stray = [...run.sides, ...(run.deleteOp?.burst || [])].filter((s) => s.fired && !s.acked);
    if (stray.length) ctx.problems.push(`run ${run.r}: ${stray.length} side requests never acknowledged`);
    const unfired = run.sides.filter((s) => !s.fired);
    if (unfired.length) ctx.problems.push(`run ${run.r}: ${unfired.length} prunes never started`);
  }
}

// ---------------------------------------------------------------------------------------------
// Checks

async function listPages(ctx, c, params, limit, what) {
  const out = [];
  let before = null;
  for (let page = 0; page < 1000; page++) {
    const q = new URLSearchParams({ ...params, limit: String(limit), ...(before ? { before } : {}) });
    const r = await c.get(`/v1/checkpoints?${q}`);
    assertStatus(r, 200);
    const j = r.json;
    if (j.object !== 'list' || !Array.isArray(j.data) || typeof j.has_more !== 'boolean') ctx.problems.push(`${what}: bad envelope ${short(r.text)}`);
    if (j.data.length > limit || (j.has_more && j.data.length !== limit)) ctx.problems.push(`${what}: a page of ${j.data.length} with limit ${limit}, has_more ${j.has_more}`);
    if (j.next_before !== (j.has_more ? j.data.at(-1).checkpoint_id : null)) ctx.problems.push(`${what}: next_before ${j.next_before}, has_more ${j.has_more}`);
    out.push(...j.data);
    if (!j.has_more) return out;
    before = j.next_before;
  }
  ctx.problems.push(`${what}: more than 1000 pages`);
  return out;
}

function sameTuples(ctx, got, want, what) {
  const key = (t) => `${t.thread_id}/${t.checkpoint_ns}/${t.checkpoint_id}`;
  const keys = got.map(key);
  if (new Set(keys).size !== keys.length) ctx.problems.push(`${what}: ${keys.length - new Set(keys).size} tuples listed twice`);
  const wantKeys = want.map(key);
  if (JSON.stringify(keys) !== JSON.stringify(wantKeys)) {
    const missing = wantKeys.filter((k) => !keys.includes(k));
    const extra = keys.filter((k) => !wantKeys.includes(k));
    ctx.problems.push(`${what}: ${got.length} tuples, expected ${want.length}; missing ${missing.slice(0, 4).join(', ') || 'none'}; unexpected ${extra.slice(0, 4).join(', ') || 'none'}${!missing.length && !extra.length ? '; out of order' : ''}`);
    return;
  }
  for (let i = 0; i < got.length; i++) {
    try {
      assert.deepEqual(norm(got[i]), want[i]);
    } catch {
      ctx.problems.push(`${what}: tuple ${keys[i]} differs from its GET: ${short(JSON.stringify(got[i]), 600)}`);
      return;
    }
  }
}

/** Reads every checkpoint back and checks the whole store against the plan. Returns a summary. */
async function check(ctx, base) {
  const c = client(base, ctx.key);
  const problems = ctx.problems;
  const present = new Map(); // run → expected tuples of the stored steps, newest first
  const pruned = new Map(); // thread → checkpoints pruned away
  await Promise.all(
    ctx.runs.map(async (run) => {
      const qns = `?checkpoint_ns=${enc(run.ns)}`;
      const stored = [];
      for (let k = 0; k < STEPS; k++) {
        const r = await c.get(`${CK(run.tid, cid(k, run.r))}${qns}`);
        if (r.status === 404) continue;
        assertStatus(r, 200);
        stored.push(k);
        if (k < firstKept(run)) {
          problems.push(`run ${run.r} (deleted mid-run): step ${k}, put before the delete${k === DEL_AT + 1 ? ' (child of a deleted checkpoint)' : ''}, reads back after it: ${short(r.text, 300)}`);
          continue;
        }
        try {
          assert.deepEqual(norm(r.json), expectedTuple(run, k));
        } catch (e) {
          problems.push(`run ${run.r} step ${k}: GET differs from what was put:\n${short(e.message, 1500)}`);
        }
      }
      // Which steps must be there.
      let from = firstKept(run);
      const owner = ctx.runs.find((o) => o.t === run.t && o.sides.length);
      if (owner) {
        // Each prune keeps the KEEP newest of its snapshot per namespace (and all put after it),
        // so what is left is a suffix of the chain. An answered prune saw every put acknowledged
        // before it was sent; no prune saw a put sent after its end (answer or failure).
        const tries = owner.sides.flatMap((s) => s.tries);
        const lastStep = (pred) => run.putOps.reduce((m, p, k) => (pred(p) ? k : m), -1);
        const lo = Math.max(0, ...tries.filter((x) => x.answered).map((x) => lastStep((p) => p.ackAt !== null && p.ackAt < x.sentAt) - KEEP + 1));
        const hi = Math.max(0, ...tries.map((x) => lastStep((p) => p.firstSent !== null && p.firstSent < x.endAt) - KEEP + 1));
        from = stored.length ? stored[0] : STEPS;
        if (from > hi) problems.push(`run ${run.r} (pruned): the oldest checkpoint kept is step ${from}, but steps from ${hi} on had to stay`);
        if (from < lo) problems.push(`run ${run.r} (pruned): step ${from} is still there, but an answered prune had to delete every step before ${lo}`);
        pruned.set(run.t, (pruned.get(run.t) || 0) + from);
      }
      const want = Array.from({ length: STEPS - from }, (_, i) => from + i);
      if (JSON.stringify(stored) !== JSON.stringify(want)) {
        const missing = want.filter((k) => !stored.includes(k));
        if (missing.length) problems.push(`run ${run.r}: steps ${missing.join(', ')} are missing (acknowledged: ${missing.filter((k) => run.putOps[k].ackAt !== null && run.putOps[k].ackAt < ctx.ackedBeforeFault).join(', ') || 'none'} before the fault)`);
      }
      const tuples = stored.filter((k) => k >= firstKept(run)).map((k) => expectedTuple(run, k)).reverse();
      present.set(run, tuples);
      const latest = await c.get(`${CK(run.tid, 'latest')}${qns}`);
      if (!tuples.length) {
        if (latest.status !== 404) problems.push(`run ${run.r}: latest answered ${latest.status} with nothing stored`);
      } else {
        assertStatus(latest, 200);
        if (latest.json.checkpoint_id !== tuples[0].checkpoint_id) problems.push(`run ${run.r}: latest is ${latest.json.checkpoint_id}, the greatest id is ${tuples[0].checkpoint_id}`);
        else
          try {
            assert.deepEqual(norm(latest.json), tuples[0]);
          } catch {
            problems.push(`run ${run.r}: latest differs from the GET of ${tuples[0].checkpoint_id}`);
          }
      }
    }),
  );

  // Prune answers account for what is gone (exactly, when every prune was answered at its first try).
  let prunedAll = 0;
  for (const [t, gone] of pruned) {
    const owner = ctx.runs.find((o) => o.t === t && o.sides.length);
    const told = owner.sides.reduce((n, s) => n + (s.res?.json?.deleted_checkpoints ?? 0), 0);
    const exact = owner.sides.every((s) => s.attempts === 1 && s.acked);
    if (exact ? gone !== told : gone < told) problems.push(`thread ${t}: ${gone} checkpoints pruned, the prune answers say ${told}`);
    prunedAll += gone;
  }
  if (!prunedAll) problems.push('no prune removed anything: the test did not test prune');

  // Lists: per thread (every namespace, then the root only), org-wide, and a metadata filter.
  const byId = (x, y) => bytesCmp(y.checkpoint_id, x.checkpoint_id) || bytesCmp(y.checkpoint_ns, x.checkpoint_ns);
  for (let t = 0; t < THREADS; t++) {
    const runs = ctx.runs.filter((run) => run.t === t);
    const want = runs.flatMap((run) => present.get(run)).sort(byId);
    sameTuples(ctx, await listPages(ctx, c, { thread_id: ctx.tids[t] }, 4, `list thread ${t}`), want, `list thread ${t}`);
    sameTuples(ctx, await listPages(ctx, c, { thread_id: ctx.tids[t], checkpoint_ns: '' }, 5, `list thread ${t} ns=""`), want.filter((x) => x.checkpoint_ns === ''), `list thread ${t} ns=""`);
  }
  const all = ctx.runs.flatMap((run) => present.get(run)).sort(byId);
  sameTuples(ctx, await listPages(ctx, c, {}, 17, 'org-wide list'), all, 'org-wide list');
  const run0 = ctx.runs[0];
  sameTuples(ctx, await listPages(ctx, c, { metadata: JSON.stringify({ run: run0.tag, source: 'loop' }) }, 6, 'metadata filter'), present.get(run0).filter((x) => x.parent_checkpoint_id !== null), 'metadata filter');

  const late = ctx.runs.flatMap((run) => run.ops.filter((o) => o.late).concat(run.deleteOp?.burst || []));
  const lateRetried = late.filter((o) => o.resent && o.attempts > 1).length;
  return `${ctx.total} requests planned (+${BURST} burst, ${RUNS.filter((r) => r.prune).length * PRUNE_AT.length} prunes), ${ctx.retried} resent after the fault (${lateRetried} of them late requests for deleted ids), ${all.length} checkpoints stored, ${prunedAll} pruned`;
}

// ---------------------------------------------------------------------------------------------

test('kill -9 under load: retried checkpoint puts, writes, prunes and a delete leave exactly what was acknowledged', { timeout: 120000 }, async (t) => {
  const KILL_AFTER = 320; // acknowledged requests (of ~750), once the delete is acknowledged
  const proxy = await latencyProxy(DB_DELAY_MS);
  let srv1 = null;
  let srv2 = null;
  try {
    srv1 = await startServer(viaProxy(proxy));
    const ctx = await setup(srv1.url, 'ckcrash');
    const del = ctx.runs.find((run) => run.del);
    let killing = null;
    let killed = false;
    const killNow = (delayMs) => {
      ctx.ackedBeforeFault = ctx.clock;
      ctx.faulting = true;
      killing = sleep(delayMs).then(() => {
        killed = true;
        return kill9(srv1);
      });
    };
    // Best a few milliseconds after the deleted thread's run sent a late request for an old id,
    // so that the kill finds it half done; else after 1.6 × KILL_AFTER acknowledgements.
    ctx.onSend = (o) => {
      if (!killing && o.late && del.deleteOp.acked && ctx.acked >= KILL_AFTER) killNow(DB_DELAY_MS + 1);
    };
    ctx.onAck = () => {
      if (!killing && ctx.acked >= 1.6 * KILL_AFTER) killNow(0);
    };
    await load(ctx, srv1.url, () => killed);
    assert.ok(killing, 'the server was killed under load');
    await killing;
    const unacked = ctx.runs.reduce((n, run) => n + run.ops.length - run.pos, 0);
    t.diagnostic(`before the kill: ${ctx.acked} requests acknowledged; the delete ${del.deleteOp.acked ? 'was' : 'was not'} acknowledged; ${unacked} run requests left`);
    const t0 = Date.now();
    srv2 = await startServer();
    await settle(ctx, srv2.url, 20000);
    const t1 = Date.now();
    const summary = await check(ctx, srv2.url);
    t.diagnostic(`${summary}; restart and resend ${t1 - t0} ms, checks ${Date.now() - t1} ms`);
    assert.deepEqual(ctx.problems, [], `after the crash:\n${ctx.problems.join('\n')}`);
  } finally {
    if (srv1 && !srv1.exited) await kill9(srv1);
    await srv2?.stop();
    await proxy?.close();
  }
});

test('a PostgreSQL restart under load: retried checkpoint requests leave exactly what was acknowledged', { timeout: 150000 }, async (t) => {
  if (!pg.STOP || !pg.START) {
    t.skip('CONVSTORE_TEST_PG_STOP / CONVSTORE_TEST_PG_START are not set');
    return;
  }
  const STOP_AFTER = 200;
  const proxy = await latencyProxy(DB_DELAY_MS);
  let srv = null;
  try {
    srv = await startServer(viaProxy(proxy, { CONVSTORE_POOL_SIZE: '4' }));
    const ctx = await setup(srv.url, 'ckpg');
    let stopping = null;
    let down = false;
    ctx.onAck = () => {
      if (!stopping && ctx.acked >= STOP_AFTER) {
        ctx.ackedBeforeFault = ctx.clock;
        ctx.faulting = true;
        stopping = pg.stop().then(() => {
          down = true;
        });
        stopping.catch(() => {});
      }
    };
    // Requests go on (503s sent again) until PostgreSQL is down; then each run stops at its next failure.
    await load(ctx, srv.url, () => down);
    assert.ok(stopping, 'PostgreSQL was stopped under load');
    await stopping;
    assert.ok(ctx.failed > 0, 'some requests met the outage');
    t.diagnostic(`before and during the outage: ${ctx.acked} requests acknowledged, ${ctx.failed} answers were 503s or failed connections`);
    const t0 = Date.now();
    await pg.start();
    await settle(ctx, srv.url, 30000);
    const t1 = Date.now();
    const summary = await check(ctx, srv.url);
    t.diagnostic(`${summary}; restart and resend ${t1 - t0} ms, checks ${Date.now() - t1} ms`);
    assert.deepEqual(ctx.problems, [], `after the PostgreSQL restart:\n${ctx.problems.join('\n')}`);
  } finally {
    if (pg.down) await pg.start();
    await srv?.stop();
    await proxy?.close();
  }
});
