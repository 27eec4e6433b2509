// Database outage: requests fail fast with 503 + Retry-After, and the pool recovers without a restart.
// Runs alone (it stops the shared PostgreSQL): scripts/test.sh runs tests/api/serial/ after the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { startServer, createOrg, api, assertProblem, assertStatus, uniq, sleep } from '../lib/harness.mjs';

const STOP = process.env.CONVSTORE_TEST_PG_STOP;
const START = process.env.CONVSTORE_TEST_PG_START;

function sh(cmd) {
  execSync(cmd, { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60000 });
}

// Stops and starts the shared PostgreSQL, remembering whether it is down.
const pg = {
  down: false,
  stop() {
    sh(STOP);
    this.down = true;
  },
  start() {
    sh(START);
    this.down = false;
  },
};

// Runs body(srv, key) with a service of its own (pool of 4) and a new org, or skips the test when
// the commands are not set. Afterwards PostgreSQL runs again, whatever happened, for the tests after.
async function withOutage(t, orgName, body) {
  if (!STOP || !START) {
    t.skip('CONVSTORE_TEST_PG_STOP / CONVSTORE_TEST_PG_START are not set');
    return;
  }
  const srv = await startServer({ CONVSTORE_POOL_SIZE: '4' });
  try {
    const org = await createOrg(uniq(orgName));
    await body(srv, org.api_key);
  } finally {
    if (pg.down) pg.start();
    await srv.stop();
  }
}

test('a database outage gives 503 + Retry-After within 3 s, and the pool reconnects afterwards', (t) =>
  withOutage(t, 'restart', async (srv, key) => {
    const made = await api(srv.url, 'POST', '/v1/threads', { key, body: { id: 'before-outage' } });
    assertStatus(made, 201);
    // Warm several pooled connections so every one of them goes stale in the outage.
    const warm = await Promise.all(Array.from({ length: 12 }, () => api(srv.url, 'GET', '/v1/threads/before-outage', { key })));
    for (const r of warm) assertStatus(r, 200);

    pg.stop();

    const requests = [
      ['GET', '/v1/threads/before-outage', undefined],
      ['GET', '/v1/threads', undefined],
      ['POST', '/v1/threads', { title: 'during outage' }],
      ['GET', '/v1/me', undefined],
      ['PATCH', '/v1/threads/before-outage', { title: 'x' }],
      ['GET', '/v1/threads/before-outage', undefined],
    ];
    for (const [m, p, body] of requests) {
      const t0 = performance.now();
      const r = await api(srv.url, m, p, { key, body, timeoutMs: 3000 }).catch((e) => {
        throw new Error(`${m} ${p} during the outage did not answer within 3 s: ${e.message}`);
      });
      const ms = performance.now() - t0;
      assertProblem(r, 503, 'database_unavailable');
      assert.ok(r.headers.get('retry-after'), 'Retry-After is set');
      assert.match(r.headers.get('retry-after'), /^\d+$/, 'Retry-After is a number of seconds');
      assert.ok(ms < 3000, `${m} ${p} took ${Math.round(ms)} ms`);
    }
    const ready = await api(srv.url, 'GET', '/readyz', { timeoutMs: 3000 });
    assertProblem(ready, 503, 'database_unavailable');
    assertStatus(await api(srv.url, 'GET', '/healthz', { timeoutMs: 3000 }), 200);
    // Concurrent requests during the outage also fail fast.
    const during = await Promise.all(Array.from({ length: 10 }, () => api(srv.url, 'GET', '/v1/threads', { key, timeoutMs: 3000 })));
    for (const r of during) assertProblem(r, 503, 'database_unavailable');

    pg.start();

    // Within a few seconds every pooled connection works again: a burst of concurrent requests,
    // writes included, all succeed. Until then, failures may only be 503 database_unavailable.
    const burst = (n) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          i % 2 ? api(srv.url, 'GET', '/v1/threads', { key, timeoutMs: 5000 }) : api(srv.url, 'POST', '/v1/threads', { key, body: { title: `after ${i}` }, timeoutMs: 5000 }),
        ),
      );
    const t0 = Date.now();
    for (;;) {
      const rs = await burst(8);
      const bad = rs.filter((r) => r.status !== 200 && r.status !== 201);
      if (!bad.length) break;
      for (const r of bad) assertProblem(r, 503, 'database_unavailable');
      if (Date.now() - t0 > 10000) {
        assert.fail(`requests still fail 10 s after the database came back: ${bad[0].status} ${bad[0].text}\n--- server log tail:\n${srv.logs.slice(-20).join('\n')}`);
      }
      await sleep(200);
    }
    for (const r of await burst(8)) assert.ok(r.status === 200 || r.status === 201, `after recovery: ${r.status} ${r.text.slice(0, 300)}`);
    assertStatus(await api(srv.url, 'GET', '/readyz'), 200);
    // The outage wrote nothing.
    const g = await api(srv.url, 'GET', '/v1/threads/before-outage', { key });
    assert.equal(g.json.title, null);
    assert.equal(g.json.version, 1);
  }));

test('a database restart while the service is idle is invisible to the next requests', (t) =>
  withOutage(t, 'restart-idle', async (srv, key) => {
    assertStatus(await api(srv.url, 'POST', '/v1/threads', { key, body: { id: 'idle' } }), 201);
    // Open every pooled connection.
    for (const r of await Promise.all(Array.from({ length: 16 }, () => api(srv.url, 'GET', '/v1/threads/idle', { key })))) assertStatus(r, 200);

    pg.stop();
    pg.start();

    // The database is up again before these requests are sent: every one of them must succeed,
    // whichever pooled connection it gets (the pool notices the dead connections and reconnects).
    const seq = [];
    for (let i = 0; i < 6; i++) seq.push(await api(srv.url, 'GET', '/v1/threads/idle', { key }));
    const par = await Promise.all(Array.from({ length: 16 }, () => api(srv.url, 'GET', '/v1/threads/idle', { key })));
    const bad = [...seq, ...par].filter((r) => r.status !== 200);
    assert.equal(bad.length, 0, `${bad.length} of ${seq.length + par.length} requests failed after the database came back: ${bad[0]?.status} ${bad[0]?.text}`);
    for (const l of srv.logs) assert.doesNotThrow(() => JSON.parse(l), `every stderr line is JSON, got: ${l}`);
  }));
