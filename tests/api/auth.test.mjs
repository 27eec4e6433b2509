// Authentication, /v1/me, and API key management (create, list, revoke) with their role rules.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { startServer, createOrg, api, client, assertProblem, assertStatus, assertList, uniq, UUID_RE, TIME_RE } from './lib/harness.mjs';

let srv;
let org;
let admin;

before(async () => {
  srv = await startServer();
  org = await createOrg(uniq('auth'));
  admin = client(srv.url, org.api_key);
});
after(async () => {
  await srv?.stop();
});

function assertKeyObject(k) {
  assert.match(k.id, UUID_RE);
  assert.equal(k.object, 'api_key');
  assert.ok(['admin', 'service', 'user'].includes(k.role));
  assert.ok(k.user_id === null || typeof k.user_id === 'string');
  assert.ok(k.name === null || typeof k.name === 'string');
  assert.equal(typeof k.prefix, 'string');
  assert.equal(k.prefix.length, 12);
  assert.match(k.created_at, TIME_RE);
  assert.ok(k.revoked_at === null || TIME_RE.test(k.revoked_at));
}

async function newKey(body) {
  const r = await admin.post('/v1/keys', body);
  assertStatus(r, 201);
  return r.json;
}

test('requests without a valid key are 401 unauthorized with WWW-Authenticate: Bearer', async () => {
  const fake = 'cs_live_' + randomBytes(32).toString('base64url');
  const cases = [
    {},
    { authorization: 'Bearer nope' },
    { authorization: `Bearer ${fake}` },
    { authorization: 'Bearer ' },
    { authorization: 'Bearer' },
    { authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` },
    { authorization: `Token ${org.api_key}` },
    { authorization: org.api_key },
    { authorization: `Bearer ${org.api_key}x` },
    { authorization: `Bearer ${org.api_key.slice(0, -1)}` },
    { authorization: `Bearer ${org.api_key.slice(0, 12)}` },
  ];
  for (const headers of cases) {
    for (const [m, p] of [
      ['GET', '/v1/threads'],
      ['GET', '/v1/me'],
      ['POST', '/v1/keys'],
    ]) {
      const r = await api(srv.url, m, p, { headers, ...(m === 'POST' ? { body: { role: 'admin' } } : {}) });
      assertProblem(r, 401, 'unauthorized');
      assert.match(r.headers.get('www-authenticate'), /^Bearer/i, `${JSON.stringify(headers)} ${m} ${p}`);
    }
  }
  // Nothing was created by the rejected POSTs.
  const keys = assertList(await admin.get('/v1/keys?limit=100'));
  assert.equal(keys.length, 1, 'only the org create key exists');
});

test('GET /v1/me describes the calling key for every role', async () => {
  const me = await admin.get('/v1/me');
  assertStatus(me, 200);
  assert.equal(me.json.object, 'me');
  assert.equal(me.json.org_id, org.org_id);
  assert.match(me.json.key_id, UUID_RE);
  assert.equal(me.json.role, 'admin');
  assert.equal(me.json.user_id, null);

  const svc = await newKey({ role: 'service', name: 'backend' });
  const usr = await newKey({ role: 'user', user_id: 'alice' });
  for (const [k, role, user] of [
    [svc, 'service', null],
    [usr, 'user', 'alice'],
  ]) {
    const r = await api(srv.url, 'GET', '/v1/me', { key: k.key });
    assertStatus(r, 200);
    assert.deepEqual(r.json, { object: 'me', org_id: org.org_id, key_id: k.id, role, user_id: user });
  }
});

test('POST /v1/keys creates each role and shows the secret once', async () => {
  const made = [];
  for (const body of [{ role: 'admin' }, { role: 'admin', name: 'ops' }, { role: 'service', name: 'svc' }, { role: 'user', user_id: 'u-1', name: 'n'.repeat(200) }]) {
    const r = await admin.post('/v1/keys', body);
    assertStatus(r, 201);
    const k = r.json;
    assertKeyObject(k);
    assert.equal(k.role, body.role);
    assert.equal(k.user_id, body.user_id ?? null);
    assert.equal(k.name, body.name ?? null);
    assert.equal(k.revoked_at, null);
    assert.match(k.key, /^cs_live_[A-Za-z0-9_-]{43,}$/, 'cs_live_ + at least 43 base64url chars (256 bits)');
    assert.equal(k.prefix, k.key.slice(0, 12));
    made.push(k);
    // The new key works.
    const me = await api(srv.url, 'GET', '/v1/me', { key: k.key });
    assertStatus(me, 200);
    assert.equal(me.json.key_id, k.id);
  }
  assert.equal(new Set(made.map((k) => k.key)).size, made.length, 'secrets are distinct');

  const list = assertList(await admin.get('/v1/keys?limit=100'));
  for (const k of made) {
    const listed = list.find((x) => x.id === k.id);
    assert.ok(listed, `key ${k.id} is listed`);
    assertKeyObject(listed);
    assert.ok(!('key' in listed), 'GET /v1/keys never returns the secret');
    const { key, ...rest } = k;
    assert.deepEqual(listed, rest);
  }
  assert.ok(!made.some((k) => (JSON.stringify(list)).includes(k.key)), 'no secret in the list');
});

test('POST /v1/keys validates its body', async () => {
  const before = assertList(await admin.get('/v1/keys?limit=100'));
  const cases = [
    [{ role: 'user' }, 'user_id'],
    [{ role: 'user', user_id: '' }, 'user_id'],
    [{ role: 'user', user_id: 'u'.repeat(256) }, 'user_id'],
    [{ role: 'user', user_id: 5 }, 'user_id'],
    [{ role: 'admin', user_id: 'alice' }, 'user_id'],
    [{ role: 'service', user_id: 'alice' }, 'user_id'],
    [{ role: 'root' }, 'role'],
    [{ role: 'Admin' }, 'role'],
    [{ role: '' }, 'role'],
    [{ role: 1 }, 'role'],
    [{ role: null }, 'role'],
    [{}, 'role'],
    [{ name: 'x' }, 'role'],
    [{ role: 'admin', name: 'n'.repeat(201) }, 'name'],
    [{ role: 'admin', name: 7 }, 'name'],
    [{ role: 'admin', foo: 1 }, 'foo'],
    [{ role: 'admin', key: 'cs_live_chosen' }, 'key'],
    [{ role: 'admin', org_id: randomUUID() }, 'org_id'],
  ];
  for (const [body, field] of cases) {
    const r = await admin.post('/v1/keys', body);
    assertProblem(r, 400, 'validation_failed', field);
  }
  const afterList = assertList(await admin.get('/v1/keys?limit=100'));
  assert.deepEqual(afterList, before, 'no key was created by an invalid request');
});

test('GET /v1/keys is newest first and paginates with after/before', async () => {
  const o = await createOrg(uniq('keys'));
  const a = client(srv.url, o.api_key);
  for (let i = 0; i < 6; i++) assertStatus(await a.post('/v1/keys', { role: 'service', name: `k${i}` }), 201);
  const all = assertList(await a.get('/v1/keys?limit=100'));
  assert.equal(all.length, 7);
  for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].created_at >= all[i].created_at, 'newest first');
  assert.equal(all[0].name, 'k5');
  const me = await a.get('/v1/me');
  assert.equal(all[all.length - 1].id, me.json.key_id, 'the org create key is the oldest');

  const seen = [];
  let after = null;
  for (let page = 0; page < 10; page++) {
    const r = await a.get(`/v1/keys?limit=3${after ? `&after=${after}` : ''}`);
    const data = assertList(r);
    seen.push(...data);
    assert.equal(r.json.has_more, seen.length < all.length, `has_more on page ${page}`);
    if (!r.json.has_more) break;
    after = r.json.last_id;
  }
  assert.deepEqual(seen.map((k) => k.id), all.map((k) => k.id));

  const back = await a.get(`/v1/keys?limit=3&before=${all[4].id}`);
  assert.deepEqual(assertList(back).map((k) => k.id), all.slice(1, 4).map((k) => k.id));
  assert.equal(back.json.has_more, true);

  const asc = assertList(await a.get('/v1/keys?limit=100&order=asc'));
  assert.deepEqual(asc.map((k) => k.id), all.map((k) => k.id).reverse());
});

test('DELETE /v1/keys/{id} revokes immediately and idempotently', async () => {
  const k = await newKey({ role: 'service', name: 'to-revoke' });
  assertStatus(await api(srv.url, 'GET', '/v1/threads', { key: k.key }), 200);

  const d = await admin.del(`/v1/keys/${k.id}`);
  assertStatus(d, 200);
  assertKeyObject(d.json);
  assert.equal(d.json.id, k.id);
  assert.match(d.json.revoked_at, TIME_RE);
  assert.ok(!('key' in d.json));

  assertProblem(await api(srv.url, 'GET', '/v1/threads', { key: k.key }), 401, 'unauthorized');
  assertProblem(await api(srv.url, 'GET', '/v1/me', { key: k.key }), 401, 'unauthorized');

  const again = await admin.del(`/v1/keys/${k.id}`);
  assertStatus(again, 200);
  assert.equal(again.json.id, k.id);
  assert.equal(again.json.revoked_at, d.json.revoked_at, 'revoking again keeps the first revocation time');

  const listed = assertList(await admin.get('/v1/keys?limit=100')).find((x) => x.id === k.id);
  assert.ok(listed, 'revoked keys are still listed');
  assert.equal(listed.revoked_at, d.json.revoked_at);
});

test('a revoked admin key loses access at once', async () => {
  const k = await newKey({ role: 'admin', name: 'second-admin' });
  const second = client(srv.url, k.key);
  assertStatus(await second.get('/v1/keys'), 200);
  assertStatus(await admin.del(`/v1/keys/${k.id}`), 200);
  assertProblem(await second.get('/v1/keys'), 401, 'unauthorized');
  assertProblem(await second.post('/v1/keys', { role: 'admin' }), 401, 'unauthorized');
});

test('DELETE /v1/keys/{id}: unknown or foreign ids are 404', async () => {
  assertProblem(await admin.del(`/v1/keys/${randomUUID()}`), 404, 'not_found');
  assertProblem(await admin.del('/v1/keys/not-a-uuid'), 404, 'not_found');

  const other = await createOrg(uniq('auth-other'));
  const otherMe = await api(srv.url, 'GET', '/v1/me', { key: other.api_key });
  assertStatus(otherMe, 200);
  assertProblem(await admin.del(`/v1/keys/${otherMe.json.key_id}`), 404, 'not_found');
  // The other org's key still works, and is not in our list.
  assertStatus(await api(srv.url, 'GET', '/v1/me', { key: other.api_key }), 200);
  const ours = assertList(await admin.get('/v1/keys?limit=100'));
  assert.ok(!ours.some((k) => k.id === otherMe.json.key_id));
});

test('service and user keys may not manage keys (403 forbidden)', async () => {
  const svc = await newKey({ role: 'service' });
  const usr = await newKey({ role: 'user', user_id: 'bob' });
  const victim = await newKey({ role: 'service', name: 'victim' });
  for (const k of [svc, usr]) {
    const c = client(srv.url, k.key);
    assertProblem(await c.get('/v1/keys'), 403, 'forbidden');
    assertProblem(await c.post('/v1/keys', { role: 'admin' }), 403, 'forbidden');
    assertProblem(await c.post('/v1/keys', { role: 'user', user_id: 'bob' }), 403, 'forbidden');
    assertProblem(await c.del(`/v1/keys/${victim.id}`), 403, 'forbidden');
    assertProblem(await c.del(`/v1/keys/${k.id}`), 403, 'forbidden');
  }
  assertStatus(await api(srv.url, 'GET', '/v1/me', { key: victim.key }), 200);
  const listed = assertList(await admin.get('/v1/keys?limit=100')).find((x) => x.id === victim.id);
  assert.equal(listed.revoked_at, null);
});

test('a key of one org cannot read another org', async () => {
  const other = await createOrg(uniq('auth-iso'));
  const o = client(srv.url, other.api_key);
  const mine = assertList(await admin.get('/v1/keys?limit=100'));
  const theirs = assertList(await o.get('/v1/keys?limit=100'));
  assert.equal(theirs.length, 1);
  assert.ok(!theirs.some((k) => mine.some((m) => m.id === k.id)));
});

test('authentication and role checks come before body validation', async () => {
  for (const bad of ['{not json', '[]', '{"role":"nope"}']) {
    const r = await api(srv.url, 'POST', '/v1/keys', { rawBody: bad, headers: { 'content-type': 'application/json' } });
    assertProblem(r, 401, 'unauthorized');
    const t = await api(srv.url, 'POST', '/v1/threads', { rawBody: bad, headers: { 'content-type': 'application/json' } });
    assertProblem(t, 401, 'unauthorized');
  }
  const svc = await newKey({ role: 'service' });
  const r = await api(srv.url, 'POST', '/v1/keys', { key: svc.key, body: { role: 'nope', bogus: 1 } });
  assertProblem(r, 403, 'forbidden');
});

test('GET /v1/keys rejects unknown and foreign cursors', async () => {
  assertProblem(await admin.get(`/v1/keys?after=${randomUUID()}`), 400, 'invalid_cursor');
  assertProblem(await admin.get(`/v1/keys?before=${randomUUID()}`), 400, 'invalid_cursor');
  assertProblem(await admin.get('/v1/keys?after=not-a-uuid'), 400, 'invalid_cursor');
  const other = await createOrg(uniq('auth-cur'));
  const otherMe = await api(srv.url, 'GET', '/v1/me', { key: other.api_key });
  assertProblem(await admin.get(`/v1/keys?after=${otherMe.json.key_id}`), 400, 'invalid_cursor');
  assertProblem(await admin.get('/v1/keys?limit=0'), 400, 'invalid_query', 'limit');
  assertProblem(await admin.get('/v1/keys?limit=101'), 400, 'invalid_query', 'limit');
  assertProblem(await admin.get('/v1/keys?order=up'), 400, 'invalid_query', 'order');
});

test('a user key may carry a 255-character user_id', async () => {
  const u = 'u'.repeat(255);
  const k = await newKey({ role: 'user', user_id: u });
  assert.equal(k.user_id, u);
  const t = await api(srv.url, 'POST', '/v1/threads', { key: k.key, body: {} });
  assertStatus(t, 201);
  assert.equal(t.json.user_id, u);
});
