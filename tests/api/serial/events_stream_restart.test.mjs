// The event stream across restarts: a client reconnecting with Last-Event-ID after its service
// instance was killed (or stopped) continues without a gap or a repeat, events appended meanwhile
// included; across a PostgreSQL restart a stream keeps working (or ends so that a reconnect with
// Last-Event-ID continues exactly), and events appended afterwards reach it, through its own
// instance and through another one.
// Runs alone (the PostgreSQL tests stop the shared database): scripts/test.sh runs tests/api/serial/
// after the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { startServer, createOrg, client, api, assertProblem, assertStatus, uniq, sleep } from '../lib/harness.mjs';
import { openStream } from '../lib/sse.mjs';

const STOP = process.env.CONVSTORE_TEST_PG_STOP;
const START = process.env.CONVSTORE_TEST_PG_START;

const pg = {
  down: false,
  stop() {
    this.down = true;
    execSync(STOP, { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60000 });
  },
  start() {
    execSync(START, { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60000 });
    this.down = false;
  },
};

const E = (tid) => `/v1/threads/${encodeURIComponent(tid)}/events`;
const S = (tid, q = '') => `${E(tid)}/stream${q}`;
const range = (from, to) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/** SIGKILLs a server and waits until the process is gone (its stop() would throw: not called). */
async function kill9(srv) {
  const gone = new Promise((resolve) => {
    if (srv.exited) resolve();
    else srv.child.once('close', () => resolve());
  });
  srv.child.kill('SIGKILL');
  await gone;
}

async function stopQuietly(srv) {
  if (!srv) return;
  if (srv.exited) return; // killed on purpose
  await srv.stop();
}

async function append(c, tid, events, opts = {}) {
  const r = await c.post(E(tid), { events: events.map((e) => (typeof e === 'string' ? { type: e } : e)) }, opts);
  assertStatus(r, 201);
  return r.json.data;
}

// What a test leaves open (streams, followers) is closed in its finally, failed or not: an open
// socket or a follower still reconnecting would keep this file running.
const leftovers = new Set();
async function closeLeftovers() {
  for (const x of leftovers) await (x.stop ? x.stop() : x.destroy());
  leftovers.clear();
}

async function openOk(base, key, urlPath, opts = {}) {
  const s = await openStream(base, urlPath, { key, ...opts });
  if (s.status === 200) leftovers.add(s);
  assert.equal(s.status, 200, `stream ${urlPath}: ${s.status} ${s.text}`);
  return s;
}

/** Asserts seqs is exactly want, with a readable message. */
function assertExactly(seqs, want, what) {
  if (seqs.length === want.length && seqs.every((v, i) => v === want[i])) return;
  let i = seqs.findIndex((v, k) => v !== want[k]);
  if (i < 0) i = seqs.length;
  assert.fail(`${what}: got ${seqs.length} seqs, want ${want.length}; first difference at #${i}: got ${seqs.slice(Math.max(0, i - 3), i + 3)} want ${want.slice(Math.max(0, i - 3), i + 3)}`);
}

/**
 * A client that follows a thread like EventSource does: on every end it reconnects to base() with
 * the last id received. Collects every seq in arrival order.
 */
function follower(base, key, tid, q = '') {
  const f = { seqs: [], reconnects: 0, stopped: false, current: null, lastId: undefined, refused: [] };
  leftovers.add(f);
  f.done = (async () => {
    while (!f.stopped) {
      let s;
      try {
        s = await openStream(base(), S(tid, q), { key, lastEventId: f.lastId, timeoutMs: 3000 });
      } catch {
        await sleep(100); // the instance is down: try again
        continue;
      }
      if (s.status !== 200) {
        f.refused.push(`${s.status} ${s.json?.code}`);
        await sleep(100);
        continue;
      }
      f.current = s;
      let taken = 0;
      const take = () => {
        for (; taken < s.frames.length; taken++) {
          f.seqs.push(Number(s.frames[taken].id));
          f.lastId = s.frames[taken].id;
        }
      };
      while (!s.ended && !f.stopped) {
        take();
        await s.waitFor((x) => x.frames.length > taken || x.ended || f.stopped, 200, 'news').catch(() => {});
      }
      take();
      s.destroy();
      f.current = null;
      if (!f.stopped) f.reconnects++;
    }
  })();
  f.stop = async () => {
    f.stopped = true;
    f.current?.destroy();
    await f.done;
    leftovers.delete(f);
  };
  f.waitFor = async (n, ms, what) => {
    const t0 = Date.now();
    while (f.seqs.length < n) {
      if (Date.now() - t0 > ms) assert.fail(`${what}: ${f.seqs.length} of ${n} seqs within ${ms} ms (last ${f.seqs.at(-1)}, reconnects ${f.reconnects}, refused ${f.refused.slice(-3)})`);
      await sleep(20);
    }
  };
  return f;
}

// ---------------------------------------------------------------------------------------------

test('service restart (SIGKILL, then SIGTERM): reconnecting with Last-Event-ID continues without a gap or a repeat', async () => {
  let s1; // the instance the client follows, killed and restarted
  let other; // an instance that stays up, for appends while s1 is down
  const cur = { url: null };
  try {
    s1 = await startServer();
    other = await startServer();
    cur.url = s1.url;
    const key = (await createOrg(uniq('sse-restart'))).api_key;
    const A = client(other.url, key);
    const tid = uniq('t');
    await append(A, tid, range(1, 10).map((i) => ({ type: `e${i % 3}`, data: i })));

    const f = follower(() => cur.url, key, tid);
    await f.waitFor(10, 5000, 'backlog');

    // A steady appender through the other instance, all the way through the restarts.
    let stop = false;
    let total = 10;
    const appender = (async () => {
      let i = 0;
      while (!stop) {
        const got = await append(A, tid, Array.from({ length: 1 + (i++ % 3) }, () => ({ type: 'live', data: i })));
        total = Math.max(total, got[got.length - 1].seq);
        await sleep(5);
      }
    })();
    appender.catch(() => {}); // awaited below; a failure elsewhere must not leave it unhandled
    leftovers.add({ stop: () => ((stop = true), appender.catch(() => {})) });
    await f.waitFor(60, 10000, 'live before the kill');

    // kill -9 the instance the client is connected to; it comes back on a new port 300 ms later.
    const before = f.seqs.length;
    await kill9(s1);
    await sleep(300);
    s1 = await startServer();
    cur.url = s1.url;
    await f.waitFor(before + 80, 15000, 'live after the SIGKILL restart');
    assert.ok(f.reconnects >= 1, 'the stream of the killed instance ended');

    // A graceful restart (SIGTERM) the same way.
    const before2 = f.seqs.length;
    const r0 = f.reconnects;
    await s1.stop();
    await sleep(300);
    s1 = await startServer();
    cur.url = s1.url;
    await f.waitFor(before2 + 80, 15000, 'live after the SIGTERM restart');
    assert.ok(f.reconnects > r0, 'the stream of the stopped instance ended');

    stop = true;
    await appender;
    await f.waitFor(total, 10000, 'everything');
    await sleep(300);
    await f.stop();
    assertExactly(f.seqs, range(1, total), `across ${f.reconnects} reconnects`);
  } finally {
    await closeLeftovers();
    await stopQuietly(s1);
    await stopQuietly(other);
  }
});

test('a stream reconnected after its instance was killed gets the events appended while it was down', async () => {
  let s1;
  let other;
  try {
    s1 = await startServer();
    other = await startServer();
    const key = (await createOrg(uniq('sse-down'))).api_key;
    const tid = uniq('t');
    await append(client(s1.url, key), tid, ['a', 'b', 'c']);
    const s = await openOk(s1.url, key, S(tid));
    await s.waitFrames(3);
    await append(client(s1.url, key), tid, ['d']);
    await s.waitFrames(4);
    await kill9(s1);
    await s.waitEnd(3000);
    assertExactly(s.seqs(), [1, 2, 3, 4], 'before the kill');
    // While it is down, through the other instance.
    await append(client(other.url, key), tid, ['e', 'f', 'g']); // 5-7
    s1 = await startServer();
    const s2 = await openOk(s1.url, key, S(tid), { lastEventId: s.lastId() });
    await s2.waitFrames(3);
    await append(client(s1.url, key), tid, ['h']); // 8, through the new instance
    await append(client(other.url, key), tid, ['i']); // 9, through the other one
    await s2.waitFrames(5, 5000);
    await sleep(200);
    assertExactly([...s.seqs(), ...s2.seqs()], range(1, 9), 'before and after the restart');
    assert.deepEqual(s2.frames.map((x) => x.event), ['e', 'f', 'g', 'h', 'i']);
    s2.destroy();
  } finally {
    await closeLeftovers();
    await stopQuietly(s1);
    await stopQuietly(other);
  }
});

// Runs body with two instances (A, B; pools of 4) and a key, or skips without the PostgreSQL
// commands. PostgreSQL runs again afterwards, whatever happened.
async function withOutage(t, body) {
  if (!STOP || !START) {
    t.skip('CONVSTORE_TEST_PG_STOP / CONVSTORE_TEST_PG_START are not set');
    return;
  }
  let a;
  let b;
  try {
    a = await startServer({ CONVSTORE_POOL_SIZE: '4', CONVSTORE_SSE_PING_MS: '500' });
    b = await startServer({ CONVSTORE_POOL_SIZE: '4', CONVSTORE_SSE_PING_MS: '500' });
    const key = (await createOrg(uniq('sse-pg'))).api_key;
    await body(a, b, key);
  } finally {
    await closeLeftovers();
    if (pg.down) pg.start();
    await stopQuietly(a);
    await stopQuietly(b);
  }
}

/** Appends through c until it succeeds (503 database_unavailable until the pool reconnects). */
async function appendWhenBack(c, tid, events, ms = 15000) {
  const t0 = Date.now();
  for (;;) {
    const r = await c.post(E(tid), { events }, { timeoutMs: 5000 });
    if (r.status === 201) return r.json.data;
    assertProblem(r, 503, 'database_unavailable');
    if (Date.now() - t0 > ms) assert.fail(`appends still fail ${ms} ms after PostgreSQL came back: ${r.text}`);
    await sleep(200);
  }
}

test('PostgreSQL restart: open streams go on (or resume exactly) and get the events appended afterwards', (t) =>
  withOutage(t, async (a, b, key) => {
    const A = client(a.url, key);
    const tid = uniq('t');
    await append(A, tid, range(1, 5).map((i) => `e${i}`));
    // Followers on both instances (reconnecting with Last-Event-ID whenever a stream ends).
    const fa = follower(() => a.url, key, tid);
    const fb = follower(() => b.url, key, tid);
    const fbf = follower(() => b.url, key, tid, '?type=after.*');
    await fa.waitFor(5, 5000, 'backlog on A');
    await fb.waitFor(5, 5000, 'backlog on B');
    // Both instances have announced and received an append before the outage.
    await append(A, tid, ['before']); // 6
    await append(client(b.url, key), tid, ['before']); // 7
    await fa.waitFor(7, 5000, 'live on A');
    await fb.waitFor(7, 5000, 'live on B');

    pg.stop();
    // During the outage: new streams and appends fail fast with 503; open streams stay quiet.
    const refused = await openStream(a.url, S(tid), { key, timeoutMs: 5000 });
    assertProblem(refused, 503, 'database_unavailable');
    assert.ok(refused.headers.get('retry-after'), 'Retry-After');
    assertProblem(await A.post(E(tid), { events: [{ type: 'lost' }] }, { timeoutMs: 5000 }), 503, 'database_unavailable');
    await sleep(1000);
    pg.start();

    // Through A (the instance of fa): delivered to A's and B's streams.
    const [e8] = await appendWhenBack(A, tid, [{ type: 'after.1' }]);
    assert.equal(e8.seq, 8, 'nothing was appended during the outage');
    await fa.waitFor(8, 10000, 'the first append after the restart, on A');
    await fb.waitFor(8, 10000, 'the first append after the restart (through A), on B');
    await fbf.waitFor(1, 10000, 'the first append after the restart (through A), on B, filtered');
    // Through B.
    await appendWhenBack(client(b.url, key), tid, [{ type: 'after.2' }, { type: 'x' }]); // 9, 10
    await fa.waitFor(10, 10000, 'through B, on A');
    await fb.waitFor(10, 10000, 'through B, on B');
    await append(A, tid, [{ type: 'after.3' }]); // 11
    await fa.waitFor(11, 10000, 'on A');
    await fb.waitFor(11, 10000, 'on B');
    await fbf.waitFor(3, 10000, 'filtered on B');
    await sleep(300);
    for (const f of [fa, fb, fbf]) await f.stop();
    assertExactly(fa.seqs, range(1, 11), `A (${fa.reconnects} reconnects)`);
    assertExactly(fb.seqs, range(1, 11), `B (${fb.reconnects} reconnects)`);
    assertExactly(fbf.seqs, [8, 9, 11], `B filtered (${fbf.reconnects} reconnects)`);
  }));

test('PostgreSQL restart: a stream on one instance gets the first event appended through another one afterwards', (t) =>
  withOutage(t, async (a, b, key) => {
    // The cross-instance path alone: the appending instance must notify again once PostgreSQL is
    // back, even for the very first append after the restart.
    const A = client(a.url, key);
    const tid = uniq('t');
    await append(A, tid, ['one']);
    const sb = await openOk(b.url, key, S(tid));
    await sb.waitFrames(1);
    await append(A, tid, ['two']); // A's notifications work before the outage
    await sb.waitFrames(2, 5000);

    pg.stop();
    await sleep(500);
    pg.start();
    // Wait until both instances query again, and B listens again (it retries about once a second).
    for (const srv of [a, b]) {
      const t0 = Date.now();
      for (;;) {
        const r = await api(srv.url, 'GET', '/readyz', { timeoutMs: 5000 });
        if (r.status === 200) break;
        if (Date.now() - t0 > 15000) assert.fail(`${srv.url} not ready 15 s after PostgreSQL came back`);
        await sleep(200);
      }
    }
    await sleep(2500);
    const [e3] = await appendWhenBack(A, tid, [{ type: 'three' }]);
    assert.equal(e3.seq, 3);
    const t0 = performance.now();
    await sb.waitFrames(3, 5000).catch((e) => {
      throw new Error(
        `the event appended through A after the restart did not reach B's stream within 5 s (${e.message}); ` +
          `A logged: ${a.logs.filter((l) => /notify|listen/i.test(l)).slice(-3).join(' | ')}`,
      );
    });
    assert.ok(performance.now() - t0 < 5000);
    if (!sb.ended) {
      await append(A, tid, ['four']);
      await sb.waitFrames(4, 5000);
    }
    assertExactly(sb.seqs(), sb.ended ? [1, 2, 3] : [1, 2, 3, 4], 'B');
    sb.destroy();
  }));
