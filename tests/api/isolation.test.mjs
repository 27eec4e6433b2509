// Tenancy: orgs never see each other's threads; user keys see only their own user's threads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, client, assertProblem, assertStatus, assertList, uniq } from './lib/harness.mjs';

let srv;
let A; // org A admin
let B; // org B admin

before(async () => {
  srv = await startServer();
  A = client(srv.url, (await createOrg(uniq('iso-a'))).api_key);
  B = client(srv.url, (await createOrg(uniq('iso-b'))).api_key);
});
after(async () => {
  await srv?.stop();
});

async function keyFor(admin, body) {
  const r = await admin.post('/v1/keys', body);
  assertStatus(r, 201);
  return client(srv.url, r.json.key);
}

test('two orgs may both own thread "t1", and each sees only its own', async () => {
  const a = await A.post('/v1/threads', { id: 't1', title: 'A', metadata: { owner: 'a' } });
  assertStatus(a, 201);
  const b = await B.post('/v1/threads', { id: 't1', title: 'B', metadata: { owner: 'b' } });
  assertStatus(b, 201, 'ids are unique per org, not globally');
  assert.equal((await A.get('/v1/threads/t1')).json.title, 'A');
  assert.equal((await B.get('/v1/threads/t1')).json.title, 'B');

  const pa = await A.patch('/v1/threads/t1', { title: 'A2' });
  assertStatus(pa, 200);
  assert.equal((await B.get('/v1/threads/t1')).json.title, 'B', "A's PATCH did not touch B's t1");
  assert.equal((await B.get('/v1/threads/t1')).json.version, 1);

  const listA = assertList(await A.get('/v1/threads?limit=100'));
  const listB = assertList(await B.get('/v1/threads?limit=100'));
  assert.deepEqual(listA.filter((t) => t.id === 't1').map((t) => t.title), ['A2']);
  assert.deepEqual(listB.filter((t) => t.id === 't1').map((t) => t.title), ['B']);

  // ?if_exists=return gives each org its own thread.
  const ra = await A.post('/v1/threads?if_exists=return', { id: 't1' });
  assertStatus(ra, 200);
  assert.equal(ra.json.title, 'A2');

  assertStatus(await B.del('/v1/threads/t1'), 200);
  assertStatus(await A.get('/v1/threads/t1'), 200);
  assert.equal((await A.get('/v1/threads/t1')).json.title, 'A2', "B's DELETE did not remove A's t1");
});

test("org B cannot read, change, delete or list org A's threads", async () => {
  const id = uniq('secret');
  const made = await A.post('/v1/threads', { id, title: 'A only', user_id: 'alice', metadata: { secret: true } });
  assertStatus(made, 201);
  const snapshot = (await A.get(`/v1/threads/${id}`)).json;

  assertProblem(await B.get(`/v1/threads/${id}`), 404, 'not_found');
  assertProblem(await B.patch(`/v1/threads/${id}`, { title: 'pwned' }), 404, 'not_found');
  assertProblem(await B.patch(`/v1/threads/${id}`, { title: 'pwned' }, { headers: { 'if-match': '"1"' } }), 404, 'not_found');
  assertProblem(await B.del(`/v1/threads/${id}`), 404, 'not_found');
  const q = encodeURIComponent(JSON.stringify({ secret: true }));
  assert.deepEqual(assertList(await B.get(`/v1/threads?metadata=${q}`)), []);
  assert.deepEqual(assertList(await B.get('/v1/threads?user_id=alice')), []);
  assertProblem(await B.get(`/v1/threads?after=${id}`), 400, 'invalid_cursor');

  // Unknown-to-B looks exactly like absent-for-B: same status and code as a random id.
  const missing = await B.get(`/v1/threads/${uniq('never')}`);
  const foreign = await B.get(`/v1/threads/${id}`);
  assert.equal(foreign.status, missing.status);
  assert.equal(foreign.json.code, missing.json.code);
  assert.equal(foreign.json.title, missing.json.title);

  assert.deepEqual((await A.get(`/v1/threads/${id}`)).json, snapshot, "A's thread unchanged");

  // B can create its own thread with the same id; A's stays as it was.
  const own = await B.post('/v1/threads', { id });
  assertStatus(own, 201);
  assert.equal(own.json.title, null);
  assert.deepEqual((await A.get(`/v1/threads/${id}`)).json, snapshot);
});

test("a user key sees only its own user's threads", async () => {
  const alice = await keyFor(A, { role: 'user', user_id: 'alice' });
  const bob = await keyFor(A, { role: 'user', user_id: 'bob' });

  const mine = await alice.post('/v1/threads', { title: 'alice implicit' });
  assertStatus(mine, 201);
  assert.equal(mine.json.user_id, 'alice', 'a user key creates threads for its own user');
  const explicit = await alice.post('/v1/threads', { title: 'alice explicit', user_id: 'alice' });
  assertStatus(explicit, 201);
  assert.equal(explicit.json.user_id, 'alice');

  const bobsId = uniq('bobs');
  const bobs = await A.post('/v1/threads', { id: bobsId, user_id: 'bob', title: 'bob private' });
  assertStatus(bobs, 201);
  const ownerless = await A.post('/v1/threads', { title: 'no user' });
  assertStatus(ownerless, 201);

  assertProblem(await alice.get(`/v1/threads/${bobsId}`), 404, 'not_found');
  assertProblem(await alice.patch(`/v1/threads/${bobsId}`, { title: 'x' }), 404, 'not_found');
  assertProblem(await alice.del(`/v1/threads/${bobsId}`), 404, 'not_found');
  assertProblem(await alice.get(`/v1/threads/${ownerless.json.id}`), 404, 'not_found');
  assertProblem(await alice.patch(`/v1/threads/${ownerless.json.id}`, { title: 'x' }), 404, 'not_found');
  assertProblem(await alice.del(`/v1/threads/${ownerless.json.id}`), 404, 'not_found');
  assert.deepEqual((await A.get(`/v1/threads/${bobsId}`)).json, bobs.json, "bob's thread unchanged");

  // Bob's thread id is taken in the org, and alice may not see it even through if_exists=return.
  const clash = await alice.post('/v1/threads?if_exists=return', { id: bobsId });
  assertProblem(clash, 409, 'thread_exists');
  assert.ok(!clash.text.includes('bob private'));

  assertProblem(await alice.post('/v1/threads', { user_id: 'bob' }), 403, 'forbidden');
  assertProblem(await alice.get('/v1/threads?user_id=bob'), 403, 'forbidden');
  assertProblem(await alice.get(`/v1/threads?after=${bobsId}`), 400, 'invalid_cursor');

  const listed = assertList(await alice.get('/v1/threads?limit=100'));
  assert.ok(listed.length >= 2);
  assert.ok(listed.every((t) => t.user_id === 'alice'), 'alice lists only her threads');
  assert.ok(listed.some((t) => t.id === mine.json.id));
  const filtered = assertList(await alice.get('/v1/threads?user_id=alice&limit=100'));
  assert.deepEqual(filtered.map((t) => t.id), listed.map((t) => t.id));

  // Bob sees his own thread and none of alice's.
  assertStatus(await bob.get(`/v1/threads/${bobsId}`), 200);
  assertProblem(await bob.get(`/v1/threads/${mine.json.id}`), 404, 'not_found');
  const bobList = assertList(await bob.get('/v1/threads?limit=100'));
  assert.ok(bobList.every((t) => t.user_id === 'bob'));
  assert.ok(bobList.some((t) => t.id === bobsId));
  const bp = await bob.patch(`/v1/threads/${bobsId}`, { title: 'bob edited' });
  assertStatus(bp, 200);
  assert.equal(bp.json.user_id, 'bob');
});

test('a service key sees every user and may set and filter user_id', async () => {
  const svc = await keyFor(A, { role: 'service', name: 'backend' });
  const alice = await keyFor(A, { role: 'user', user_id: 'alice' });
  const aliceT = (await alice.post('/v1/threads', { title: 'for svc' })).json;
  const carol = await svc.post('/v1/threads', { user_id: 'carol', title: 'carol via svc' });
  assertStatus(carol, 201);
  assert.equal(carol.json.user_id, 'carol');

  assertStatus(await svc.get(`/v1/threads/${aliceT.id}`), 200);
  assertStatus(await svc.get(`/v1/threads/${carol.json.id}`), 200);
  const onlyCarol = assertList(await svc.get('/v1/threads?user_id=carol&limit=100'));
  assert.deepEqual(onlyCarol.map((t) => t.id), [carol.json.id]);
  const onlyAlice = assertList(await svc.get('/v1/threads?user_id=alice&limit=100'));
  assert.ok(onlyAlice.length >= 1 && onlyAlice.every((t) => t.user_id === 'alice'));
  const all = assertList(await svc.get('/v1/threads?limit=100'));
  assert.ok(all.some((t) => t.user_id === 'alice') && all.some((t) => t.user_id === 'carol'));

  // alice cannot see carol's thread made by the service.
  assertProblem(await alice.get(`/v1/threads/${carol.json.id}`), 404, 'not_found');
  // The service key still cannot reach org B.
  const bT = await B.post('/v1/threads', { user_id: 'alice' });
  assertProblem(await svc.get(`/v1/threads/${bT.json.id}`), 404, 'not_found');
});
