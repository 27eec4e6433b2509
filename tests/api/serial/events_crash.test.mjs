// Event appends survive crashes: an event's id is its idempotency handle, so after a kill -9 of the
// service or a PostgreSQL restart under load, retrying every batch as it was sent stores each event
// exactly once, acknowledged events keep their seq, and the log stays gap-free (1..N).
// Runs alone (the second test stops the shared PostgreSQL): scripts/test.sh runs tests/api/serial/
// after the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, api, assertStatus, uniq, sleep } from '../lib/harness.mjs';
import { pg, latencyProxy, viaProxy, eachLimit, kill9 } from '../lib/crash.mjs';

const INFLIGHT = 16;
const PER_BATCH = 3;
const DB_DELAY_MS = 2; // see latencyProxy: lets a crash find appends half done
const E = (tid) => `/v1/threads/${encodeURIComponent(tid)}/events`;
const batch = (i) => ({
  events: Array.from({ length: PER_BATCH }, (_, j) => ({ id: `e${i}-${j}`, type: 'crash.test', data: { i, j } })),
});

/** Appends batch i: {res} for an answer, {err} when the connection failed. */
async function append(base, key, tid, i, timeoutMs = 10000) {
  try {
    return { res: await api(base, 'POST', E(tid), { key, body: batch(i), timeoutMs }) };
  } catch (err) {
    if (/violates the contract/.test(err.message)) throw err;
    return { err };
  }
}

/** Sends batches until each is stored (200/201); 503s and dead connections are sent again for
 * up to windowMs. Returns Map i → the final answer. */
async function settle(base, key, tid, indices, windowMs) {
  const final = new Map();
  const until = Date.now() + windowMs;
  let pending = indices;
  while (pending.length) {
    const again = [];
    await eachLimit(pending, INFLIGHT, async (i) => {
      const r = await append(base, key, tid, i, 5000);
      if (r.err || r.res.status === 503) again.push(i);
      else final.set(i, r.res);
    });
    if (!again.length || Date.now() > until) break;
    await sleep(200);
    pending = again;
  }
  return final;
}

/** The whole log, in seq order. */
async function readLog(base, key, tid) {
  const all = [];
  for (let after = 0; ; ) {
    const r = await api(base, 'GET', `${E(tid)}?limit=1000&after_seq=${after}`, { key });
    assertStatus(r, 200);
    all.push(...r.json.data);
    if (!r.json.has_more) return all;
    after = r.json.data.at(-1).seq;
  }
}

/** Every batch stored once, acknowledged seqs kept, and the log exactly 1..N. */
async function checkLog(base, key, tid, n, acked, final) {
  for (let i = 0; i < n; i++) {
    const r = final.get(i);
    assert.ok(r, `batch ${i} was never stored`);
    assert.ok([200, 201].includes(r.status), `batch ${i} ended with ${r.status} ${r.text.slice(0, 200)}`);
    if (acked.has(i)) {
      assert.equal(r.status, 200, `acknowledged batch ${i} was written again`);
      assert.deepEqual(r.json.data.map((e) => e.seq), acked.get(i), `acknowledged batch ${i} kept its seqs`);
    }
  }
  const log = await readLog(base, key, tid);
  assert.equal(log.length, n * PER_BATCH, 'one event per id sent');
  assert.deepEqual(log.map((e) => e.seq), Array.from({ length: log.length }, (_, k) => k + 1), 'seqs are 1..N without gaps');
  assert.equal(new Set(log.map((e) => e.id)).size, log.length, 'no id twice');
  for (let i = 0; i < n; i++) {
    const seqs = final.get(i).json.data.map((e) => e.seq);
    assert.deepEqual(seqs, [seqs[0], seqs[0] + 1, seqs[0] + 2], `batch ${i} is contiguous`);
  }
}

test('kill -9 under load: retried batches store each event once, acknowledged seqs hold', { timeout: 120000 }, async (t) => {
  const N = 120;
  const KILL_AFTER = 30;
  const proxy = await latencyProxy(DB_DELAY_MS);
  let srv1 = null;
  let srv2 = null;
  try {
    srv1 = await startServer(viaProxy(proxy));
    const { api_key: key } = await createOrg(uniq('evcrash'));
    const tid = uniq('log');
    const acked = new Map();
    let next = 0;
    let killing = null;
    await Promise.all(
      Array.from({ length: INFLIGHT }, async () => {
        while (!killing && next < N) {
          const i = next++;
          const r = await append(srv1.url, key, tid, i);
          if (r.err || r.res.status === 503) continue; // not acknowledged (503: no pooled connection in time, under load): retried below
          assertStatus(r.res, 201);
          acked.set(i, r.res.json.data.map((e) => e.seq));
          if (acked.size === KILL_AFTER && !killing) killing = kill9(srv1);
        }
      }),
    );
    assert.ok(killing, 'the server was killed under load');
    await killing;
    t.diagnostic(`before the kill: ${acked.size} batches acknowledged, ${next - acked.size} sent and not acknowledged`);
    srv2 = await startServer();
    const final = await settle(srv2.url, key, tid, Array.from({ length: N }, (_, i) => i), 5000);
    await checkLog(srv2.url, key, tid, N, acked, final);
  } finally {
    if (srv1 && !srv1.exited) await kill9(srv1);
    await srv2?.stop();
    await proxy?.close();
  }
});

test('a PostgreSQL restart under load: retried batches store each event once', { timeout: 120000 }, async (t) => {
  if (!pg.STOP || !pg.START) {
    t.skip('CONVSTORE_TEST_PG_STOP / CONVSTORE_TEST_PG_START are not set');
    return;
  }
  let N = 120; // at least; appends go on until one meets the outage (on a fast, idle machine the
  // first 120 can all finish before PostgreSQL has stopped)
  const STOP_AFTER = 20;
  const proxy = await latencyProxy(DB_DELAY_MS);
  let srv = null;
  try {
    srv = await startServer(viaProxy(proxy, { CONVSTORE_POOL_SIZE: '4' }));
    const { api_key: key } = await createOrg(uniq('evpg'));
    const tid = uniq('log');
    const acked = new Map();
    let next = 0;
    let stopping = null;
    let failed = 0;
    const deadline = Date.now() + 30000;
    await Promise.all(
      Array.from({ length: INFLIGHT }, async () => {
        while (next < N || (!failed && Date.now() < deadline)) {
          const i = next++;
          const r = await append(srv.url, key, tid, i, 5000);
          if (r.err || r.res.status === 503) {
            failed++;
            continue;
          }
          assertStatus(r.res, 201);
          acked.set(i, r.res.json.data.map((e) => e.seq));
          if (acked.size === STOP_AFTER && !stopping) {
            stopping = pg.stop();
            stopping.catch(() => {});
          }
        }
      }),
    );
    N = next;
    assert.ok(stopping, 'PostgreSQL was stopped under load');
    await stopping;
    assert.ok(failed > 0, 'some appends met the outage');
    await pg.start();
    const final = await settle(srv.url, key, tid, Array.from({ length: N }, (_, i) => i), 15000);
    await checkLog(srv.url, key, tid, N, acked, final);
  } finally {
    if (pg.down) await pg.start();
    await srv?.stop();
    await proxy?.close();
  }
});
