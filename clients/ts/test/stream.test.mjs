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

test('agui.events with follow: a snapshot, then live events, resumed after a cut without a second snapshot', async (t) => {
  const { cs, org } = await freshClient();
  const proxy = await startProxy();
  t.after(() => proxy.close());
  const viaProxy = createClient({ baseUrl: proxy.url, apiKey: org.api_key, retry: { maxDelayMs: 200 } });
  const tid = uniq('t');
  const run = (id, text) => [
    { type: 'RUN_STARTED', threadId: tid, runId: id },
    { type: 'TEXT_MESSAGE_START', messageId: `${id}-m`, role: 'assistant' },
    { type: 'TEXT_MESSAGE_CONTENT', messageId: `${id}-m`, delta: text },
    { type: 'TEXT_MESSAGE_END', messageId: `${id}-m` },
    { type: 'RUN_FINISHED', threadId: tid, runId: id },
  ];
  await cs.agui.ingest(tid, { events: run('r1', 'one') });
  proxy.watch(/^GET \/v1\/threads\/[^/]+\/agui\/events/);
  const ac = new AbortController();
  const got = [];
  const reader = (async () => {
    for await (const e of viaProxy.agui.events(tid, { follow: true, signal: ac.signal })) got.push(e);
  })();
  await until(() => got.some((e) => e.type === 'RUN_FINISHED'), 10000, 'the snapshot');
  const snapshot = got.length;
  assert.ok(got.some((e) => e.type === 'MESSAGES_SNAPSHOT'));
  await cs.agui.ingest(tid, { events: run('r2', 'two').slice(0, 2) });
  await until(() => got.length === snapshot + 2, 10000, 'live events');
  proxy.cutAll();
  await cs.agui.ingest(tid, { events: run('r2', 'two').slice(2) });
  await until(() => got.length >= snapshot + 5, 10000, 'the events after the cut');
  await sleep(100);
  ac.abort();
  await reader;
  assert.deepEqual(
    got.slice(snapshot).map((e) => e.type),
    ['RUN_STARTED', 'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_END', 'RUN_FINISHED'],
  );
  assert.equal(got.filter((e) => e.type === 'MESSAGES_SNAPSHOT').length, 1);
  assert.equal(proxy.requests.length, 2);
  assert.match(proxy.requests[1].line, /mode=events/);
  assert.ok(Number(proxy.requests[1].headers['last-event-id']) > 0);
});
