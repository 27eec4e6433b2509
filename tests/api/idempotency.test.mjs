// Idempotency-Key on POST: retries replay the first reply; a key is never reused for another request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, client, assertStatus, assertProblem, uniq } from './lib/harness.mjs';

let srv;
let org;
let admin;

before(async () => {
  srv = await startServer();
  org = await createOrg(uniq('idem'));
  admin = client(srv.url, org.api_key);
});
after(async () => {
  await srv?.stop();
});

const withKey = (key) => ({ headers: { 'Idempotency-Key': key } });

async function countThreads(c, tag) {
  const r = await c.get(`/v1/threads?limit=100&metadata=${encodeURIComponent(JSON.stringify({ tag }))}`);
  assertStatus(r, 200);
  return r.json.data.length;
}

test('a retry with the same key and body replays the first reply and creates nothing new', async () => {
  const tag = uniq('t');
  const key = uniq('k');
  const first = await admin.post('/v1/threads', { title: 'once', metadata: { tag } }, withKey(key));
  assertStatus(first, 201);
  assert.equal(first.headers.get('idempotent-replayed'), null);
  for (let i = 0; i < 3; i++) {
    const again = await admin.post('/v1/threads', { title: 'once', metadata: { tag } }, withKey(key));
    assertStatus(again, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.text, first.text, 'the replay is the stored body, byte for byte');
    assert.equal(again.headers.get('etag'), first.headers.get('etag'));
  }
  assert.equal(await countThreads(admin, tag), 1);
});

test('the same key with a different request is 409 idempotency_key_reused', async () => {
  const key = uniq('k');
  assertStatus(await admin.post('/v1/threads', { title: 'a' }, withKey(key)), 201);
  assertProblem(await admin.post('/v1/threads', { title: 'b' }, withKey(key)), 409, 'idempotency_key_reused');
  // Another path is another request too.
  const t = await admin.post('/v1/threads', {});
  assertProblem(await admin.post(`/v1/threads/${t.json.id}/messages`, { title: 'a' }, withKey(key)), 409, 'idempotency_key_reused');
});

test('client errors are replayed too; the key stays bound to that request', async () => {
  const key = uniq('k');
  const bad = await admin.post('/v1/threads', { title: 7 }, withKey(key));
  assertProblem(bad, 400, 'validation_failed', 'title');
  const again = await admin.post('/v1/threads', { title: 7 }, withKey(key));
  assertProblem(again, 400, 'validation_failed', 'title');
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
});

test('keys are per org, and per user for user keys: no user replays, blocks or learns of another\'s', async () => {
  const other = await createOrg(uniq('idem2'));
  const otherAdmin = client(srv.url, other.api_key);
  const key = uniq('k');
  const a = await admin.post('/v1/threads', { title: 'same' }, withKey(key));
  const b = await otherAdmin.post('/v1/threads', { title: 'same' }, withKey(key));
  assertStatus(a, 201);
  assertStatus(b, 201);
  assert.notEqual(a.json.id, b.json.id);
  assert.equal(b.headers.get('idempotent-replayed'), null);

  const mk = async (user) => client(srv.url, (await admin.post('/v1/keys', { role: 'user', user_id: user })).json.key);
  const alice = await mk(uniq('alice'));
  const bob = await mk(uniq('bob'));
  const k2 = uniq('k');
  const mine = await alice.post('/v1/threads', { title: 'mine' }, withKey(k2));
  assertStatus(mine, 201);
  const his = await bob.post('/v1/threads', { title: 'mine' }, withKey(k2));
  assertStatus(his, 201);
  assert.notEqual(his.json.id, mine.json.id);
  assert.equal(his.headers.get('idempotent-replayed'), null);
  // Each scope still replays its own reply.
  const again = await alice.post('/v1/threads', { title: 'mine' }, withKey(k2));
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(again.json.id, mine.json.id);
});

test('concurrent requests with one key create exactly one thread', async () => {
  const tag = uniq('t');
  const key = uniq('k');
  const replies = await Promise.all(
    Array.from({ length: 8 }, () => admin.post('/v1/threads', { metadata: { tag } }, withKey(key))),
  );
  const created = replies.filter((r) => r.status === 201);
  assert.ok(created.length >= 1);
  for (const r of replies) {
    if (r.status === 409) assertProblem(r, 409, 'idempotency_key_in_use');
    else assert.equal(r.json.id, created[0].json.id);
  }
  assert.equal(await countThreads(admin, tag), 1);
});

test('a malformed Idempotency-Key is 400', async () => {
  for (const key of [' ', 'has space', 'x'.repeat(256), 'tab\tkey']) {
    assertProblem(await admin.post('/v1/threads', {}, withKey(key)), 400, 'validation_failed', 'Idempotency-Key');
  }
  assertStatus(await admin.post('/v1/threads', {}, withKey('x'.repeat(255))), 201);
});
