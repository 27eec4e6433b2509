// Threads: create, get, conflict handling, PATCH with merge and If-Match, delete, list filters and order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, api, client, assertProblem, assertStatus, assertList, uniq, micros, fromMicros, sleep, UUID_RE, TIME_RE } from './lib/harness.mjs';

let srv;
let org;
let c;

before(async () => {
  srv = await startServer();
  org = await createOrg(uniq('threads'));
  c = client(srv.url, org.api_key);
});
after(async () => {
  await srv?.stop();
});

function assertThread(t) {
  assert.equal(t.object, 'thread');
  assert.match(t.id, /^[A-Za-z0-9._:-]{1,128}$/);
  assert.ok(t.user_id === null || typeof t.user_id === 'string');
  assert.ok(t.title === null || typeof t.title === 'string');
  assert.ok(t.metadata && typeof t.metadata === 'object' && !Array.isArray(t.metadata));
  assert.ok(Number.isInteger(t.message_count) && t.message_count >= 0);
  assert.ok(t.last_message_at === null || TIME_RE.test(t.last_message_at));
  assert.ok(Number.isInteger(t.version) && t.version >= 1);
  assert.match(t.created_at, TIME_RE);
  assert.match(t.updated_at, TIME_RE);
}

async function create(body, qs = '') {
  const r = await c.post(`/v1/threads${qs}`, body);
  assertStatus(r, 201);
  assertThread(r.json);
  return r;
}

test('POST /v1/threads without an id generates a UUID and fills the defaults', async () => {
  const r = await create({});
  const t = r.json;
  assert.match(t.id, UUID_RE);
  assert.equal(t.user_id, null);
  assert.equal(t.title, null);
  assert.deepEqual(t.metadata, {});
  assert.equal(t.message_count, 0);
  assert.equal(t.last_message_at, null);
  assert.equal(t.version, 1);
  assert.equal(t.created_at, t.updated_at);
  assert.equal(r.headers.get('etag'), '"1"');
  const age = Date.now() - Number(micros(t.created_at) / 1000n);
  assert.ok(Math.abs(age) < 60000, `created_at is now (off by ${age} ms)`);

  const r2 = await create({});
  assert.notEqual(r2.json.id, t.id);
});

test('POST /v1/threads with an empty body (no bytes, no Content-Type) creates a thread', async () => {
  const r = await api(srv.url, 'POST', '/v1/threads', { key: org.api_key });
  assertStatus(r, 201);
  assert.match(r.json.id, UUID_RE);
});

test('POST /v1/threads with id, title, user_id and metadata stores them; GET returns the same', async () => {
  const id = uniq('t');
  const body = { id, title: 'Hello — ünïcødé ✓', user_id: 'u-42', metadata: { a: 1, b: 'two', c: { d: [1, 2, null] }, e: true } };
  const r = await create(body);
  for (const k of Object.keys(body)) assert.deepEqual(r.json[k], body[k], k);
  const g = await c.get(`/v1/threads/${id}`);
  assertStatus(g, 200);
  assert.deepEqual(g.json, r.json);
  assert.equal(g.headers.get('etag'), '"1"');
});

test('ids use the whole allowed alphabet and length', async () => {
  for (const id of ['a', 'A.b_c:d-e', 'x'.repeat(128), '0', 'urn:thread:1']) {
    const r = await create({ id });
    assert.equal(r.json.id, id);
    const g = await c.get(`/v1/threads/${encodeURIComponent(id)}`);
    assertStatus(g, 200);
    assert.equal(g.json.id, id);
  }
});

test('creating an existing id is 409 thread_exists; ?if_exists=return returns it', async () => {
  const id = uniq('dup');
  const first = await create({ id, title: 'original', metadata: { v: 1 } });
  const again = await c.post('/v1/threads', { id, title: 'changed' });
  assertProblem(again, 409, 'thread_exists');

  const ret = await c.post('/v1/threads?if_exists=return', { id, title: 'changed', metadata: { v: 2 } });
  assertStatus(ret, 200);
  assert.deepEqual(ret.json, first.json, 'the existing thread, unchanged');
  assert.equal(ret.headers.get('etag'), '"1"');

  const g = await c.get(`/v1/threads/${id}`);
  assert.deepEqual(g.json, first.json, 'nothing was overwritten');

  const fresh = uniq('fresh');
  const created = await c.post('/v1/threads?if_exists=return', { id: fresh });
  assertStatus(created, 201);
  assert.equal(created.json.id, fresh);
});

test('PATCH updates title, merges metadata key by key, bumps version and ETag', async () => {
  const id = uniq('patch');
  const t0 = (await create({ id, title: 'one', metadata: { keep: 'k', drop: 'd', change: 1 } })).json;
  await sleep(2);

  const p1 = await c.patch(`/v1/threads/${id}`, { title: 'two' });
  assertStatus(p1, 200);
  assertThread(p1.json);
  assert.equal(p1.json.title, 'two');
  assert.deepEqual(p1.json.metadata, t0.metadata);
  assert.equal(p1.json.version, 2);
  assert.equal(p1.headers.get('etag'), '"2"');
  assert.equal(p1.json.created_at, t0.created_at);
  assert.ok(micros(p1.json.updated_at) > micros(t0.updated_at), 'updated_at moves forward');

  const p2 = await c.patch(`/v1/threads/${id}`, { metadata: { drop: null, change: 2, added: { x: [1] } } });
  assertStatus(p2, 200);
  assert.deepEqual(p2.json.metadata, { keep: 'k', change: 2, added: { x: [1] } });
  assert.equal(p2.json.title, 'two', 'title untouched');
  assert.equal(p2.json.version, 3);
  assert.equal(p2.headers.get('etag'), '"3"');

  const p3 = await c.patch(`/v1/threads/${id}`, { title: null, metadata: { missing: null } });
  assertStatus(p3, 200);
  assert.equal(p3.json.title, null);
  assert.deepEqual(p3.json.metadata, { keep: 'k', change: 2, added: { x: [1] } });
  assert.equal(p3.json.version, 4);

  const g = await c.get(`/v1/threads/${id}`);
  assert.deepEqual(g.json, p3.json);
  assert.equal(g.headers.get('etag'), '"4"');
});

test('PATCH honours If-Match: a match is 200, a mismatch 412 with nothing changed', async () => {
  const id = uniq('ifm');
  await create({ id, title: 'v1' });
  const ok = await c.patch(`/v1/threads/${id}`, { title: 'v2' }, { headers: { 'if-match': '"1"' } });
  assertStatus(ok, 200);
  assert.equal(ok.json.version, 2);

  for (const etag of ['"1"', '"3"', '"0"', '"abc"', '1']) {
    const bad = await c.patch(`/v1/threads/${id}`, { title: 'lost update' }, { headers: { 'if-match': etag } });
    assertProblem(bad, 412, 'precondition_failed');
  }
  const g = await c.get(`/v1/threads/${id}`);
  assert.equal(g.json.title, 'v2');
  assert.equal(g.json.version, 2);

  const ok2 = await c.patch(`/v1/threads/${id}`, { title: 'v3' }, { headers: { 'if-match': g.headers.get('etag') } });
  assertStatus(ok2, 200);
  assert.equal(ok2.json.version, 3);
});

test('PATCH rejects user_id and unknown fields, and 404s an unknown thread', async () => {
  const id = uniq('pv');
  const t = (await create({ id, user_id: 'u1' })).json;
  assertProblem(await c.patch(`/v1/threads/${id}`, { user_id: 'u2' }), 400, 'validation_failed', 'user_id');
  assertProblem(await c.patch(`/v1/threads/${id}`, { id: 'other' }), 400, 'validation_failed', 'id');
  assertProblem(await c.patch(`/v1/threads/${id}`, { nope: 1 }), 400, 'validation_failed', 'nope');
  assert.deepEqual((await c.get(`/v1/threads/${id}`)).json, t);
  assertProblem(await c.patch(`/v1/threads/${uniq('missing')}`, { title: 'x' }), 404, 'not_found');
  assertProblem(await c.get(`/v1/threads/${uniq('missing')}`), 404, 'not_found');
});

test('DELETE removes the thread; GET, PATCH and DELETE then 404', async () => {
  const id = uniq('del');
  await create({ id, title: 'bye' });
  const d = await c.del(`/v1/threads/${id}`);
  assertStatus(d, 200);
  assert.deepEqual(d.json, { id, object: 'thread.deleted', deleted: true });
  assertProblem(await c.get(`/v1/threads/${id}`), 404, 'not_found');
  assertProblem(await c.patch(`/v1/threads/${id}`, { title: 'x' }), 404, 'not_found');
  assertProblem(await c.del(`/v1/threads/${id}`), 404, 'not_found');
  const list = assertList(await c.get('/v1/threads?limit=100'));
  assert.ok(!list.some((t) => t.id === id), 'gone from the list');
  // The id is free again.
  const again = await create({ id, title: 'reborn' });
  assert.equal(again.json.version, 1);
  assert.equal(again.json.title, 'reborn');
});

test('GET /v1/threads filters by user_id and metadata containment, newest first by default', async () => {
  const u = uniq('lister');
  const tag = uniq('tag');
  const made = [];
  for (let i = 0; i < 5; i++) {
    made.push((await create({ user_id: u, title: `t${i}`, metadata: { tag, i, even: i % 2 === 0, nested: { k: i < 2 ? 'low' : 'high' } } })).json);
    await sleep(2);
  }
  await create({ user_id: uniq('someone-else'), metadata: { tag } });

  const byUser = await c.get(`/v1/threads?user_id=${u}`);
  assert.deepEqual(assertList(byUser).map((t) => t.id), made.map((t) => t.id).reverse());
  assert.equal(byUser.json.has_more, false);
  assert.deepEqual(assertList(byUser)[0], made[4], 'list items are full thread objects');

  const asc = await c.get(`/v1/threads?user_id=${u}&order=asc`);
  assert.deepEqual(assertList(asc).map((t) => t.id), made.map((t) => t.id));
  const desc = await c.get(`/v1/threads?user_id=${u}&order=desc`);
  assert.deepEqual(assertList(desc).map((t) => t.id), made.map((t) => t.id).reverse());

  const q = (obj) => encodeURIComponent(JSON.stringify(obj));
  const even = await c.get(`/v1/threads?metadata=${q({ tag, even: true })}&order=asc`);
  assert.deepEqual(assertList(even).map((t) => t.title), ['t0', 't2', 't4']);
  const nested = await c.get(`/v1/threads?metadata=${q({ tag, nested: { k: 'low' } })}&order=asc`);
  assert.deepEqual(assertList(nested).map((t) => t.title), ['t0', 't1']);
  const both = await c.get(`/v1/threads?user_id=${u}&metadata=${q({ i: 3 })}`);
  assert.deepEqual(assertList(both).map((t) => t.title), ['t3']);
  const allTagged = await c.get(`/v1/threads?metadata=${q({ tag })}`);
  assert.equal(assertList(allTagged).length, 6);
  const none = await c.get(`/v1/threads?metadata=${q({ tag, i: 99 })}`);
  assert.deepEqual(assertList(none), []);
  assert.equal(none.json.has_more, false);
  const empty = await c.get(`/v1/threads?user_id=${u}&metadata=${q({})}`);
  assert.equal(assertList(empty).length, 5, 'an empty object matches everything');
  assert.deepEqual(assertList(await c.get(`/v1/threads?user_id=${uniq('nobody')}`)), []);
});

test('GET /v1/threads filters by created_after / created_before', async () => {
  const u = uniq('timed');
  const t = [];
  for (let i = 0; i < 3; i++) {
    t.push((await create({ user_id: u, title: `t${i}` })).json);
    await sleep(5);
  }
  const ts = t.map((x) => micros(x.created_at));
  assert.ok(ts[0] < ts[1] && ts[1] < ts[2]);
  const mid01 = encodeURIComponent(fromMicros((ts[0] + ts[1]) / 2n));
  const mid12 = encodeURIComponent(fromMicros((ts[1] + ts[2]) / 2n));
  const ids = async (qs) => assertList(await c.get(`/v1/threads?user_id=${u}&order=asc&${qs}`)).map((x) => x.title);
  assert.deepEqual(await ids(`created_after=${mid01}`), ['t1', 't2']);
  assert.deepEqual(await ids(`created_before=${mid12}`), ['t0', 't1']);
  assert.deepEqual(await ids(`created_after=${mid01}&created_before=${mid12}`), ['t1']);
  assert.deepEqual(await ids(`created_after=${mid12}&created_before=${mid01}`), []);
  assert.deepEqual(await ids(`created_after=2000-01-01T00:00:00Z`), ['t0', 't1', 't2']);
  assert.deepEqual(await ids(`created_before=2000-01-01T00:00:00Z`), []);
  assert.deepEqual(await ids(`created_after=${encodeURIComponent('2000-01-01T00:00:00.000000+00:00')}`), ['t0', 't1', 't2']);
});

test('GET /v1/threads rejects bad filters with 400 invalid_query naming the parameter', async () => {
  const bad = [
    ['metadata=notjson', 'metadata'],
    [`metadata=${encodeURIComponent('[1,2]')}`, 'metadata'],
    [`metadata=${encodeURIComponent('"str"')}`, 'metadata'],
    [`metadata=${encodeURIComponent('{"a":')}`, 'metadata'],
    ['created_after=yesterday', 'created_after'],
    ['created_after=2026-13-45T99:00:00Z', 'created_after'],
    ['created_before=12345', 'created_before'],
    ['order=sideways', 'order'],
    ['limit=0', 'limit'],
  ];
  for (const [qs, field] of bad) assertProblem(await c.get(`/v1/threads?${qs}`), 400, 'invalid_query', field);
});

test('PATCH with an empty body (no bytes, no Content-Type) is an empty update', async () => {
  const id = uniq('empty-patch');
  const t = (await create({ id, title: 'keep', metadata: { k: 1 } })).json;
  const r = await api(srv.url, 'PATCH', `/v1/threads/${id}`, { key: org.api_key });
  assertStatus(r, 200);
  assert.equal(r.json.title, 'keep');
  assert.deepEqual(r.json.metadata, { k: 1 });
  assert.ok(r.json.version >= t.version);
  assert.equal(r.headers.get('etag'), `"${r.json.version}"`);
});

test('concurrent creates of one id: exactly one 201, the rest 409 thread_exists', async () => {
  const id = uniq('race');
  const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => c.post('/v1/threads', { id, title: `racer ${i}` })));
  const won = rs.filter((r) => r.status === 201);
  assert.equal(won.length, 1, `statuses: ${rs.map((r) => r.status)}`);
  for (const r of rs.filter((x) => x.status !== 201)) assertProblem(r, 409, 'thread_exists');
  assert.equal((await c.get(`/v1/threads/${id}`)).json.title, won[0].json.title);

  const id2 = uniq('race-ret');
  const rs2 = await Promise.all(Array.from({ length: 12 }, () => c.post('/v1/threads?if_exists=return', { id: id2 })));
  assert.equal(rs2.filter((r) => r.status === 201).length, 1, `statuses: ${rs2.map((r) => r.status)}`);
  const created = rs2.find((r) => r.status === 201).json;
  for (const r of rs2.filter((x) => x.status !== 201)) {
    assertStatus(r, 200);
    assert.deepEqual(r.json, created);
  }
});

test('concurrent PATCHes lose no update; concurrent If-Match lets exactly one win', async () => {
  const id = uniq('merge-race');
  await create({ id });
  const n = 16;
  const rs = await Promise.all(Array.from({ length: n }, (_, i) => c.patch(`/v1/threads/${id}`, { metadata: { [`k${i}`]: i } })));
  for (const r of rs) assertStatus(r, 200);
  assert.deepEqual(rs.map((r) => r.json.version).sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i + 2), 'each PATCH got its own version');
  const g = (await c.get(`/v1/threads/${id}`)).json;
  assert.equal(g.version, n + 1);
  assert.deepEqual(g.metadata, Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])));

  const etag = `"${g.version}"`;
  const cas = await Promise.all(Array.from({ length: 10 }, (_, i) => c.patch(`/v1/threads/${id}`, { title: `cas ${i}` }, { headers: { 'if-match': etag } })));
  const winners = cas.filter((r) => r.status === 200);
  assert.equal(winners.length, 1, `statuses: ${cas.map((r) => r.status)}`);
  for (const r of cas.filter((x) => x.status !== 200)) assertProblem(r, 412, 'precondition_failed');
  const final = (await c.get(`/v1/threads/${id}`)).json;
  assert.equal(final.version, n + 2);
  assert.equal(final.title, winners[0].json.title);
});
