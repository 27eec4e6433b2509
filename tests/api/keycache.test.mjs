// The key cache never outlives a revocation: not on the revoking instance, not on another one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, client, assertStatus, assertProblem, uniq, sleep } from './lib/harness.mjs';

let a;
let b;
let org;

before(async () => {
  // Two instances on one database, as behind a load balancer.
  [a, b] = await Promise.all([startServer(), startServer()]);
  org = await createOrg(uniq('cache'));
});
after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

test('a key revoked on one instance is refused by every instance', async () => {
  const adminA = client(a.url, org.api_key);
  const made = await adminA.post('/v1/keys', { role: 'service' });
  assertStatus(made, 201);
  const onA = client(a.url, made.json.key);
  const onB = client(b.url, made.json.key);
  // Warm both caches.
  for (let i = 0; i < 3; i++) {
    assertStatus(await onA.get('/v1/me'), 200);
    assertStatus(await onB.get('/v1/me'), 200);
  }
  assertStatus(await adminA.del(`/v1/keys/${made.json.id}`), 200);
  // The revoking instance refuses the key on its very next request.
  assertProblem(await onA.get('/v1/me'), 401, 'unauthorized');
  // The other one learns it through NOTIFY; allow it a moment, then it must refuse for good.
  let refused = false;
  for (let i = 0; i < 50 && !refused; i++) {
    refused = (await onB.get('/v1/me')).status === 401;
    if (!refused) await sleep(20);
  }
  assert.ok(refused, 'instance B still accepted a revoked key after 1 s');
  for (let i = 0; i < 5; i++) assertProblem(await onB.get('/v1/me'), 401, 'unauthorized');
});

test('with the cache off every request reads the key table', async () => {
  const c = await startServer({ CONVSTORE_AUTH_CACHE_TTL_MS: '0' });
  try {
    const adminC = client(c.url, org.api_key);
    const made = await adminC.post('/v1/keys', { role: 'service' });
    const k = client(c.url, made.json.key);
    assertStatus(await k.get('/v1/me'), 200);
    assertStatus(await client(a.url, org.api_key).del(`/v1/keys/${made.json.id}`), 200);
    assertProblem(await k.get('/v1/me'), 401, 'unauthorized');
  } finally {
    await c.stop();
  }
});
