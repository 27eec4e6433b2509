// Idempotency-Key survives crashes: the stored reply commits with the write it describes, so after
// a kill -9 of the service or a PostgreSQL restart a retry either replays the committed reply or runs
// for the first time. Nothing is appended twice, nothing is lost, and no key stays "in use" once no
// request with it is running any more.
// Runs alone (the second test stops the shared PostgreSQL): scripts/test.sh runs tests/api/serial/
// after the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, client, api, listAll, assertStatus, uniq, sleep } from '../lib/harness.mjs';
import { pg, latencyProxy, viaProxy, eachLimit, kill9 } from '../lib/crash.mjs';

const { STOP, START } = pg;

const INFLIGHT = 16; // concurrent requests
// Added to every message from the service to PostgreSQL (see latencyProxy): without it the service
// answers faster than this process sends, and a crash finds no request half done.
const DB_DELAY_MS = 2;
const M = (tid) => `/v1/threads/${encodeURIComponent(tid)}/messages`;
const idemKey = (i) => `k${i}`;
// No message id: only the Idempotency-Key can keep a retry from appending a second message.
const bodyOf = (i) => ({ role: 'user', content: `c${i}` });

/**
 * Appends message i with its Idempotency-Key. Resolves {res} for an answer that keeps to the
 * contract, {err, conn: true} when the connection failed (refused, reset, cut mid-response), or
 * {err, conn: false} for an answer that breaks the contract (e.g. a 500).
 */
async function append(base, key, tid, i, timeoutMs = 10000) {
  try {
    const res = await api(base, 'POST', M(tid), { key, body: bodyOf(i), headers: { 'Idempotency-Key': idemKey(i) }, timeoutMs });
    return { res };
  } catch (err) {
    return { err, conn: !/violates the contract/.test(err.message) };
  }
}

const isInUse = (r) => !r.err && r.res.status === 409 && r.res.json?.code === 'idempotency_key_in_use';
const is503 = (r) => !r.err && r.res.status === 503;

/**
 * Sends every key again until its answer is final: answers for which retryable(r) holds are sent
 * again (whole passes over the keys still pending, 150 ms apart) until windowMs after the first
 * pass. Returns {first, last}: the first and the last answer per key.
 */
async function settleAll(indices, send, retryable, windowMs) {
  const first = new Map();
  const last = new Map();
  let pending = indices;
  let until = null;
  for (;;) {
    const again = [];
    await eachLimit(pending, INFLIGHT, async (i) => {
      const r = await send(i);
      if (!first.has(i)) first.set(i, r);
      last.set(i, r);
      if (retryable(r)) again.push(i);
    });
    if (!again.length) break;
    if (until === null) until = Date.now() + windowMs;
    if (Date.now() >= until) break;
    await sleep(150);
    pending = again.sort((a, b) => a - b);
  }
  return { first, last };
}

const describeAnswer = (r) =>
  r.err ? `${r.conn ? 'connection error' : 'contract violation'}: ${r.err.message.split('\n')[0]}` : `${r.res.status} ${r.res.json?.code ?? ''}`.trim();

function tally(answers) {
  const n = {};
  for (const r of answers) {
    let k;
    if (r.err) k = r.conn ? 'connection error' : 'contract violation';
    else if (r.res.status === 201) k = r.res.headers.get('idempotent-replayed') === 'true' ? '201 replayed' : '201 fresh';
    else k = describeAnswer(r);
    n[k] = (n[k] || 0) + 1;
  }
  return JSON.stringify(n);
}

const sample = (xs, n = 10) => (xs.length > n ? `${xs.slice(0, n).join(', ')}, … (${xs.length} in all)` : xs.join(', '));

/**
 * The checks both tests share, after every key has been retried. keys: the indices sent;
 * acked: Map i → the 201 {id, text} the client got before the crash; last: Map i → the last retry
 * answer. Returns a list of problems (empty when everything holds) and a summary line.
 */
async function checkOutcome(c, tid, keys, acked, last) {
  const problems = [];

  // (1) Every acknowledged key replays its 201: same message, same body, Idempotent-Replayed.
  const badReplays = [];
  for (const [i, a] of acked) {
    const r = last.get(i);
    if (r.err || r.res.status !== 201) badReplays.push(`${idemKey(i)}: ${describeAnswer(r)}`);
    else if (r.res.headers.get('idempotent-replayed') !== 'true') badReplays.push(`${idemKey(i)}: 201 without Idempotent-Replayed: true (ran again as ${r.res.json.id}, first was ${a.id})`);
    else if (r.res.json.id !== a.id) badReplays.push(`${idemKey(i)}: replayed message ${r.res.json.id}, acknowledged ${a.id}`);
    else if (r.res.text !== a.text) badReplays.push(`${idemKey(i)}: the replayed body differs from the acknowledged one`);
  }
  if (badReplays.length) problems.push(`${badReplays.length} of ${acked.size} acknowledged keys did not replay their 201: ${sample(badReplays, 5)}`);

  // Every key ends with a 201 (a 409 idempotency_key_in_use here means a claim outlived its request).
  const notCreated = keys.filter((i) => !acked.has(i) && (last.get(i).err || last.get(i).res.status !== 201));
  if (notCreated.length) {
    const ans = notCreated.map((i) => last.get(i));
    problems.push(`${notCreated.length} of ${keys.length - acked.size} unacknowledged keys never got a 201 on retry: ${tally(ans)}; e.g. ${sample(notCreated.map((i) => `${idemKey(i)} → ${describeAnswer(last.get(i))}`), 3)}`);
  }

  // (2), (3) The thread holds exactly one message per key.
  const msgs = await listAll(c, `${M(tid)}?order=asc&limit=100`);
  const byContent = new Map();
  for (const m of msgs) {
    const list = byContent.get(m.content) || [];
    list.push(m.id);
    byContent.set(m.content, list);
  }
  const sent = new Set(keys.map((i) => `c${i}`));
  const dup = [...byContent].filter(([content, ids]) => sent.has(content) && ids.length > 1);
  const missing = keys.filter((i) => !byContent.has(`c${i}`));
  const stray = [...byContent.keys()].filter((content) => !sent.has(content));
  if (dup.length) problems.push(`${dup.length} keys appended more than once (${dup.reduce((s, [, ids]) => s + ids.length - 1, 0)} extra messages): ${sample(dup.map(([content, ids]) => `${content}×${ids.length}`), 5)}`);
  if (missing.length) {
    const stuck = missing.filter((i) => isInUse(last.get(i))).length;
    problems.push(`${missing.length} keys have no message: ${sample(missing.map((i) => `c${i}`))}${stuck ? ` (${stuck} of them still 409 idempotency_key_in_use)` : ''}`);
  }
  if (stray.length) problems.push(`${stray.length} messages with a content no request sent: ${sample(stray.map((s) => JSON.stringify(s)))}`);
  if (msgs.length !== keys.length) problems.push(`the thread has ${msgs.length} messages, expected ${keys.length} (one per key)`);

  // A 201 (replayed or fresh) names a message that exists, with that key's content.
  const byId = new Map(msgs.map((m) => [m.id, m]));
  const dangling = keys.filter((i) => {
    const r = last.get(i);
    return !r.err && r.res.status === 201 && byId.get(r.res.json.id)?.content !== `c${i}`;
  });
  if (dangling.length) problems.push(`${dangling.length} keys answered 201 with a message that is not in the thread with their content: ${sample(dangling.map(idemKey))}`);

  // Keys still held "in use" although nothing runs: was their write committed (the reply lost)?
  // Those would be appended a second time once the claim is taken over.
  const inUse = keys.filter((i) => isInUse(last.get(i)));
  const inUseCommitted = inUse.filter((i) => byContent.has(`c${i}`)).length;
  if (inUse.length)
    problems.push(`${inUse.length} keys still 409 idempotency_key_in_use after the retries: ${inUseCommitted} of them with their message already committed (a later run would append it again), ${inUse.length - inUseCommitted} with none`);

  const summary = `thread: ${msgs.length} messages for ${keys.length} keys, ${dup.length} duplicated, ${missing.length} missing; retries ended ${tally(keys.map((i) => last.get(i)))}`;
  return { problems, summary };
}

test('kill -9 under load: every key retried on a new server gives exactly one message, acknowledged ones replay', { timeout: 120000 }, async (t) => {
  const N = 200;
  const KILL_AFTER = 50; // acknowledged appends before the kill
  const proxy = await latencyProxy(DB_DELAY_MS);
  if (!proxy) t.diagnostic('CONVSTORE_TEST_DATABASE_URL names no TCP host: running without the latency proxy');
  let srv1 = null;
  let srv2 = null;
  let killed = false;
  try {
    srv1 = await startServer(viaProxy(proxy));
    const org = await createOrg(uniq('idemcrash'));
    const key = org.api_key;
    const made = await api(srv1.url, 'POST', '/v1/threads', { key, body: {} });
    assertStatus(made, 201);
    const tid = made.json.id;

    // Phase 1: N appends, INFLIGHT at a time; SIGKILL once KILL_AFTER of them are acknowledged.
    const acked = new Map(); // i → {id, text} of the 201 the client received
    const failed = []; // connection died (in flight at the kill, or sent after it)
    const unexpected = []; // any other answer before the kill
    let next = 0;
    let killing = null;
    const worker = async () => {
      while (!killing && next < N) {
        const i = next++;
        const r = await append(srv1.url, key, tid, i);
        if (r.err && r.conn) failed.push(i);
        else if (r.err) unexpected.push(`${idemKey(i)}: ${r.err.message.split('\n')[0]}`);
        else if (r.res.status === 201) {
          acked.set(i, { id: r.res.json.id, text: r.res.text });
          if (acked.size === KILL_AFTER && !killing) {
            killed = true;
            killing = kill9(srv1);
          }
        } else unexpected.push(`${idemKey(i)}: ${describeAnswer(r)}`);
      }
    };
    await Promise.all(Array.from({ length: INFLIGHT }, worker));
    assert.ok(killing, `the server was not killed: only ${acked.size} of ${N} appends acknowledged; ${unexpected.slice(0, 3).join('; ')}`);
    await killing;
    assert.deepEqual(unexpected, [], 'before the kill, every append is 201');
    const unsent = N - next;
    t.diagnostic(`before the kill: ${acked.size} acknowledged, ${failed.length} failed in flight, ${unsent} never sent`);

    // Phase 2: a new server on the same database; retry every key with the same request. Nothing
    // runs any more, so 409 idempotency_key_in_use is a failure (retried for at most ~2 s).
    srv2 = await startServer();
    const keys = Array.from({ length: N }, (_, i) => i);
    const { first, last } = await settleAll(keys, (i) => append(srv2.url, key, tid, i), isInUse, 2000);
    const firstInUse = keys.filter((i) => isInUse(first.get(i))).length;
    t.diagnostic(`first retries: ${tally(keys.map((i) => first.get(i)))}; ${firstInUse} keys 409 idempotency_key_in_use at first`);

    const { problems, summary } = await checkOutcome(client(srv2.url, key), tid, keys, acked, last);
    t.diagnostic(summary);
    if (problems.length) assert.fail(`after kill -9 (${acked.size} acknowledged, ${failed.length} cut off in flight, ${unsent} never sent):\n- ${problems.join('\n- ')}`);
  } finally {
    try {
      if (srv1 && !killed) await srv1.stop();
      else if (srv1 && !srv1.exited) await kill9(srv1);
      if (srv2) await srv2.stop();
    } finally {
      await proxy?.close();
    }
  }
});

test('a PostgreSQL restart under load: every key retried gives exactly one message, acknowledged ones replay', { timeout: 120000 }, async (t) => {
  if (!STOP || !START) {
    t.skip('CONVSTORE_TEST_PG_STOP / CONVSTORE_TEST_PG_START are not set');
    return;
  }
  const STOP_AFTER = 30; // acknowledged appends before PostgreSQL is stopped
  const DURING = 2 * INFLIGHT; // appends sent once it is down
  const MAX_KEYS = 3000;
  const proxy = await latencyProxy(DB_DELAY_MS);
  if (!proxy) t.diagnostic('CONVSTORE_TEST_DATABASE_URL names no TCP host: running without the latency proxy');
  let srv = null;
  try {
    srv = await startServer(viaProxy(proxy, { CONVSTORE_POOL_SIZE: '4' }));
    const org = await createOrg(uniq('idempg'));
    const key = org.api_key;
    const made = await api(srv.url, 'POST', '/v1/threads', { key, body: {} });
    assertStatus(made, 201);
    const tid = made.json.id;

    // Phase 1: appends with new keys, INFLIGHT at a time, until PostgreSQL has been stopped and
    // DURING more appends were sent into the outage. Answers: 201, 503, or a dead connection.
    const acked = new Map();
    const unavailable = [];
    const failed = [];
    const unexpected = [];
    let next = 0;
    let stopping = null;
    let down = false;
    let sentWhileDown = 0;
    const worker = async () => {
      while (next < MAX_KEYS && sentWhileDown < DURING) {
        const i = next++;
        if (down) sentWhileDown++;
        const r = await append(srv.url, key, tid, i, 5000);
        if (r.err && r.conn) failed.push(i);
        else if (r.err) unexpected.push(`${idemKey(i)}: ${r.err.message.split('\n')[0]}`);
        else if (r.res.status === 201) {
          acked.set(i, { id: r.res.json.id, text: r.res.text });
          if (acked.size === STOP_AFTER && !stopping) {
            stopping = pg.stop().then(() => {
              down = true;
            });
            stopping.catch(() => {}); // awaited (and reported) below
          }
        } else if (r.res.status === 503) unavailable.push(i);
        else unexpected.push(`${idemKey(i)}: ${describeAnswer(r)}`);
      }
    };
    await Promise.all(Array.from({ length: INFLIGHT }, worker));
    assert.ok(stopping, `PostgreSQL was not stopped: only ${acked.size} appends acknowledged; ${unexpected.slice(0, 3).join('; ')}`);
    await stopping;
    const keys = Array.from({ length: next }, (_, i) => i);
    t.diagnostic(`before PostgreSQL came back: ${keys.length} keys sent, ${acked.size} acknowledged, ${unavailable.length} 503, ${failed.length} connection errors, ${sentWhileDown} sent while it was down`);
    assert.deepEqual(unexpected, [], 'around the outage, every append is 201 or 503');
    assert.ok(unavailable.length + failed.length > 0, 'some appends met the outage');

    await pg.start();

    // Phase 2: retry every key until it gets a 201; 503 is retried for up to 10 s while the pool
    // reconnects, anything else is final.
    const { first, last } = await settleAll(keys, (i) => append(srv.url, key, tid, i, 5000), is503, 10000);
    const firstInUse = keys.filter((i) => isInUse(first.get(i))).length;
    t.diagnostic(`first retries: ${tally(keys.map((i) => first.get(i)))}; ${firstInUse} keys 409 idempotency_key_in_use at first`);

    const { problems, summary } = await checkOutcome(client(srv.url, key), tid, keys, acked, last);
    t.diagnostic(summary);
    if (problems.length) assert.fail(`after a PostgreSQL restart (${keys.length} keys: ${acked.size} acknowledged, ${unavailable.length} 503, ${failed.length} connection errors):\n- ${problems.join('\n- ')}`);
  } finally {
    try {
      if (pg.down) await pg.start();
      await srv?.stop();
    } finally {
      await proxy?.close();
    }
  }
});
