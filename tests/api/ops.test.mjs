// Operational endpoints, request ids, routing errors and the per-request log line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { startServer, createOrg, api, assertProblem, assertStatus, uniq, UUID_RE, SPEC_PATH } from './lib/harness.mjs';

let srv;
let org;

before(async () => {
  srv = await startServer();
  org = await createOrg(uniq('ops'));
});
after(async () => {
  await srv?.stop();
});

test('GET /healthz is 200 {"status":"ok"} without a key', async () => {
  const r = await api(srv.url, 'GET', '/healthz');
  assertStatus(r, 200);
  assert.deepEqual(r.json, { status: 'ok' });
});

test('GET /readyz is 200 {"status":"ready"} with the database up', async () => {
  const r = await api(srv.url, 'GET', '/readyz');
  assertStatus(r, 200);
  assert.deepEqual(r.json, { status: 'ready' });
});

test('GET /openapi.json serves the OpenAPI 3.1 document built from openapi/openapi.yaml', async () => {
  const r = await api(srv.url, 'GET', '/openapi.json');
  assertStatus(r, 200);
  assert.equal(r.headers.get('content-type').split(';')[0], 'application/json');
  const doc = JSON.parse(r.text);
  assert.equal(doc.openapi, '3.1.0');
  assert.ok(doc.paths['/v1/threads'], 'documents /v1/threads');
  assert.deepEqual(doc, YAML.parse(readFileSync(SPEC_PATH, 'utf8')), 'same document as openapi/openapi.yaml');
});

test('a safe X-Request-Id is echoed, on success and on error responses', async () => {
  for (const id of ['abc-123.X:y_z', 'a', 'r'.repeat(128)]) {
    const ok = await api(srv.url, 'GET', '/healthz', { headers: { 'x-request-id': id } });
    assert.equal(ok.headers.get('x-request-id'), id);
    const err = await api(srv.url, 'GET', '/v1/threads', { headers: { 'x-request-id': id } });
    assertProblem(err, 401, 'unauthorized');
    assert.equal(err.headers.get('x-request-id'), id);
    assert.equal(err.json.request_id, id);
  }
});

test('an unsafe or too long X-Request-Id is replaced by a generated UUID', async () => {
  for (const id of ['has space', 'semi;colon', 'slash/x', 'q"uote', 'r'.repeat(129), 'é']) {
    const r = await api(srv.url, 'GET', '/healthz', { headers: { 'x-request-id': id } });
    const got = r.headers.get('x-request-id');
    assert.notEqual(got, id, `unsafe id ${JSON.stringify(id)} must not be echoed`);
    assert.match(got, UUID_RE, `a generated UUID replaces ${JSON.stringify(id)}`);
  }
});

test('without X-Request-Id every response gets a fresh UUID', async () => {
  const a = await api(srv.url, 'GET', '/healthz');
  const b = await api(srv.url, 'GET', '/healthz');
  assert.match(a.headers.get('x-request-id'), UUID_RE);
  assert.match(b.headers.get('x-request-id'), UUID_RE);
  assert.notEqual(a.headers.get('x-request-id'), b.headers.get('x-request-id'));
});

test('an unknown path is a 404 not_found problem', async () => {
  assertProblem(await api(srv.url, 'GET', '/nope'), 404, 'not_found');
  assertProblem(await api(srv.url, 'GET', '/v1/nope', { key: org.api_key }), 404, 'not_found');
  assertProblem(await api(srv.url, 'GET', '/v1/threads/x/y/z/w', { key: org.api_key }), 404, 'not_found');
  assertProblem(await api(srv.url, 'POST', '/v2/threads', { key: org.api_key, body: {} }), 404, 'not_found');
});

test('a known path with an unsupported method is 405 with Allow', async () => {
  const r = await api(srv.url, 'PUT', '/v1/threads', { key: org.api_key, body: {} });
  assertProblem(r, 405, 'method_not_allowed');
  const allow = r.headers.get('allow').split(',').map((s) => s.trim());
  assert.ok(allow.includes('GET') && allow.includes('POST'), `Allow lists GET and POST: ${allow}`);
  assert.ok(!allow.includes('PUT'));

  const t = await api(srv.url, 'POST', '/v1/threads/some-id', { key: org.api_key, body: {} });
  assertProblem(t, 405, 'method_not_allowed');
  const allowT = t.headers.get('allow').split(',').map((s) => s.trim());
  for (const m of ['GET', 'PATCH', 'DELETE']) assert.ok(allowT.includes(m), `Allow for /v1/threads/{id} lists ${m}: ${allowT}`);

  const k = await api(srv.url, 'GET', '/v1/keys/00000000-0000-0000-0000-000000000000', { key: org.api_key });
  assertProblem(k, 405, 'method_not_allowed');
  assert.deepEqual(k.headers.get('allow').split(',').map((s) => s.trim()), ['DELETE']);

  const h = await api(srv.url, 'DELETE', '/healthz');
  assertProblem(h, 405, 'method_not_allowed');
  assert.ok(h.headers.get('allow').includes('GET'));
});

test('each request logs one JSON line with ts, level, msg, request_id, method, path, status, ms', async () => {
  const id = uniq('log').replace(/-/g, '.');
  await api(srv.url, 'GET', '/healthz', { headers: { 'x-request-id': id } });
  const line = await srv.waitForLog((j) => j.request_id === id);
  assert.match(line.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, 'ts is RFC 3339 UTC');
  assert.equal(typeof line.level, 'string');
  assert.equal(typeof line.msg, 'string');
  assert.equal(line.method, 'GET');
  assert.equal(line.path, '/healthz');
  assert.equal(line.status, 200);
  assert.equal(typeof line.ms, 'number');
  assert.ok(line.ms >= 0);

  const id2 = uniq('log').replace(/-/g, '.');
  await api(srv.url, 'GET', '/v1/threads?limit=5', { key: org.api_key, headers: { 'x-request-id': id2 } });
  const l2 = await srv.waitForLog((j) => j.request_id === id2);
  assert.equal(l2.status, 200);
  assert.equal(l2.method, 'GET');
  assert.ok(l2.path.startsWith('/v1/threads'), `path logged: ${l2.path}`);

  const id3 = uniq('log').replace(/-/g, '.');
  await api(srv.url, 'GET', '/nope', { headers: { 'x-request-id': id3 } });
  const l3 = await srv.waitForLog((j) => j.request_id === id3);
  assert.equal(l3.status, 404);
  assert.equal(srv.jsonLogs().filter((j) => j.request_id === id3).length, 1, 'exactly one line per request');
});

test('the API key never appears in the logs', async () => {
  const id = uniq('log').replace(/-/g, '.');
  await api(srv.url, 'GET', '/v1/me', { key: org.api_key, headers: { 'x-request-id': id } });
  await srv.waitForLog((j) => j.request_id === id);
  assert.ok(!srv.logs.some((l) => l.includes(org.api_key)), 'the secret key is not logged');
});

test('every stderr line is one JSON object', () => {
  assert.ok(srv.logs.length > 0);
  for (const l of srv.logs) {
    let j;
    assert.doesNotThrow(() => (j = JSON.parse(l)), `not JSON: ${l}`);
    assert.equal(typeof j, 'object');
    assert.ok(j !== null && !Array.isArray(j), `not an object: ${l}`);
  }
});
