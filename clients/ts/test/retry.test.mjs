// The retry policy through a sabotaging proxy: a POST whose answer was lost is retried with the
// same Idempotency-Key and creates one object; 503 with Retry-After is waited out and retried;
// nothing else is retried.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConvstoreError, createClient } from '../dist/index.js';
import { freshClient, startProxy } from './helpers.mjs';

async function setup(t, retry) {
  const { cs, org } = await freshClient();
  const proxy = await startProxy();
  t.after(() => proxy.close());
  const viaProxy = createClient({ baseUrl: proxy.url, apiKey: org.api_key, retry });
  const { id: tid } = await cs.threads.create();
  return { cs, proxy, viaProxy, tid };
}

const POST_MESSAGE = /^POST \/v1\/threads\/[^/]+\/messages HTTP/;

test('a POST committed but whose answer was lost is retried with the same key: one message', async (t) => {
  const { cs, proxy, viaProxy, tid } = await setup(t, { maxDelayMs: 100 });
  proxy.watch(POST_MESSAGE);
  proxy.arm('drop-response', POST_MESSAGE);
  const m = await viaProxy.messages.create(tid, { role: 'user', content: 'exactly once' });
  assert.equal(proxy.requests.length, 2, 'the first attempt and one retry');
  const [k1, k2] = proxy.requests.map((r) => r.headers['idempotency-key']);
  assert.ok(k1 && k1 === k2, `one Idempotency-Key for both attempts: ${k1} ${k2}`);
  const all = await cs.messages.list(tid).toArray();
  assert.deepEqual(all.map((x) => x.id), [m.id]);
  assert.equal(all[0].content, 'exactly once');
});

test('each call gets its own Idempotency-Key; a caller-provided one wins', async (t) => {
  const { proxy, viaProxy, tid } = await setup(t);
  proxy.watch(POST_MESSAGE);
  await viaProxy.messages.create(tid, { role: 'user', content: 'a' });
  await viaProxy.messages.create(tid, { role: 'user', content: 'b' });
  await viaProxy.messages.create(tid, { role: 'user', content: 'c' }, { idempotencyKey: 'my-key-1' });
  const keys = proxy.requests.map((r) => r.headers['idempotency-key']);
  assert.equal(new Set(keys).size, 3);
  assert.equal(keys[2], 'my-key-1');
  // The caller's key makes its own retry safe as well: the same call again replays the answer.
  const again = await viaProxy.messages.create(tid, { role: 'user', content: 'c' }, { idempotencyKey: 'my-key-1' });
  assert.equal((await viaProxy.messages.list(tid).toArray()).length, 3);
  assert.equal(again.content, 'c');
});

test('503 with Retry-After is waited out and retried', async (t) => {
  const { cs, proxy, viaProxy, tid } = await setup(t);
  proxy.watch(POST_MESSAGE);
  proxy.arm('503', POST_MESSAGE);
  const t0 = Date.now();
  const m = await viaProxy.messages.create(tid, { role: 'user', content: 'after 503' });
  assert.ok(Date.now() - t0 >= 900, 'waited for Retry-After: 1');
  assert.equal(proxy.requests.length, 2);
  assert.equal((await cs.messages.list(tid).toArray()).length, 1);
  assert.equal(m.content, 'after 503');
  // A GET too; and with the budget spent (attempts: 1) the 503 comes back as a ConvstoreError.
  proxy.arm('503', /^GET \/v1\/threads\//);
  assert.equal((await viaProxy.threads.get(tid)).id, tid);
  const once = createClient({ baseUrl: proxy.url, apiKey: 'cs_live_x', retry: { attempts: 1 } });
  proxy.arm('503', /^GET \/v1\/me/);
  await assert.rejects(once.me(), (e) => e instanceof ConvstoreError && e.status === 503 && e.code === 'database_unavailable');
});

test('nothing else is retried: 4xx at once, an append whose answer was lost is not sent twice', async (t) => {
  const { cs, proxy, viaProxy, tid } = await setup(t, { maxDelayMs: 100 });
  proxy.watch(/^(POST|PATCH) \/v1\/threads/);
  await assert.rejects(viaProxy.threads.create({ id: tid }), (e) => e.code === 'thread_exists');
  assert.equal(proxy.requests.length, 1);
  const m = await cs.messages.create(tid, { role: 'assistant', content: '', status: 'in_progress' });
  proxy.requests.length = 0;
  proxy.arm('drop-response', /^PATCH /);
  await assert.rejects(viaProxy.messages.append(tid, m.id, 'once'), (e) => !(e instanceof ConvstoreError));
  assert.equal(proxy.requests.length, 1, 'the append was sent once');
  assert.equal((await cs.messages.get(tid, m.id)).content, 'once');
  // With If-Match a PATCH is retried: a second application would fail with 412 instead.
  const th = await cs.threads.get(tid);
  proxy.requests.length = 0;
  proxy.arm('503', /^PATCH /);
  const u = await viaProxy.threads.update(tid, { title: 'x' }, { ifMatch: th.version });
  assert.equal(u.title, 'x');
  assert.equal(proxy.requests.length, 2);
});
