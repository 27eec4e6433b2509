// events.follow: the live stream through a proxy that cuts every connection mid-stream, while
// events are appended: every event arrives exactly once, in seq order; aborting ends it quietly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClient } from '../dist/index.js';
import { freshClient, sleep, startProxy, uniq } from './helpers.mjs';

/** Resolves when cond() holds, polling; fails after ms. */
async function until(cond, ms, what) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test('follow survives forced drops: no duplicate, no gap', async (t) => {
  const { cs, org } = await freshClient();
  const proxy = await startProxy();
  t.after(() => proxy.close());
  const tid = uniq('t');
  const viaProxy = createClient({ baseUrl: proxy.url, apiKey: org.api_key, retry: { maxDelayMs: 200 } });
  const append = (n) => cs.events.append(tid, { events: Array.from({ length: n }, () => ({ type: 'tick' })) });
  await append(10);
  const ac = new AbortController();
  const got = [];
  proxy.watch(/^GET \/v1\/threads\/[^/]+\/events\/stream/);
  const reader = (async () => {
    for await (const ev of viaProxy.events.follow(tid, { signal: ac.signal })) got.push(ev.seq);
  })();
  let total = 10;
  const CUTS = 3;
  for (let cut = 1; cut <= CUTS; cut++) {
    // Live: events flow through the open stream ...
    await until(() => got.length === total, 10000, `event ${total}`);
    await append(7);
    total += 7;
    await until(() => got.length >= total - 6, 10000, 'the stream to deliver');
    // ... when every connection is cut, mid-stream; more events commit while the client is away.
    proxy.cutAll();
    await append(5);
    total += 5;
    await until(() => proxy.requests.length === cut + 1, 10000, `reconnect ${cut}`);
  }
  await append(3);
  total += 3;
  await until(() => got.length >= total, 10000, `all ${total} events`);
  await sleep(100); // a duplicate would arrive now
  ac.abort();
  await reader;
  assert.deepEqual(got, Array.from({ length: total }, (_, i) => i + 1));
  // Every reconnect resumed with Last-Event-ID: the last seq the client had received.
  const resumed = proxy.requests.slice(1).map((r) => Number(r.headers['last-event-id']));
  assert.equal(resumed.length, CUTS);
  assert.ok(resumed.every((s) => s > 10), `every reconnect resumes after a seq: ${resumed}`);
});

test('follow: afterSeq and types filter; aborting the signal ends the iteration without an error', async () => {
  const { cs } = await freshClient();
  const tid = uniq('t');
  await cs.events.append(tid, { events: [{ type: 'a' }, { type: 'run.x' }, { type: 'b' }, { type: 'run.y' }] });
  const ac = new AbortController();
  const got = [];
  setTimeout(() => cs.events.append(tid, { events: [{ type: 'run.z' }] }), 100);
  for await (const ev of cs.events.follow(tid, { afterSeq: 2, types: ['run.*'], signal: ac.signal })) {
    got.push([ev.seq, ev.type]);
    if (got.length === 2) setTimeout(() => ac.abort(), 50);
  }
  assert.deepEqual(got, [
    [4, 'run.y'],
    [5, 'run.z'],
  ]);
});

test('follow: leaving the loop closes the stream; a deleted thread ends it with 404', async () => {
  const { cs } = await freshClient();
  const tid = uniq('t');
  await cs.events.append(tid, { events: [{ type: 'a' }, { type: 'b' }] });
  for await (const ev of cs.events.follow(tid)) {
    assert.equal(ev.seq, 1);
    break;
  }
  const seen = [];
  const done = (async () => {
    for await (const ev of cs.events.follow(tid)) seen.push(ev.seq);
  })();
  await sleep(200);
  await cs.threads.delete(tid);
  await assert.rejects(done, (e) => e.name === 'ConvstoreError' && e.status === 404);
  assert.deepEqual(seen, [1, 2]);
});
