// CORS (CONVSTORE_CORS_ORIGINS): preflights without a key, the headers on every /v1 response to a
// listed origin (errors and event streams included), nothing for other origins, other paths, or a
// server without the setting, and a bad setting failing startup.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, api, client, runCli, assertProblem, assertStatus, uniq } from './lib/harness.mjs';
import { openStream } from './lib/sse.mjs';

const APP = 'https://app.example.com';
const DEV = 'http://localhost:5173';
const STRANGERS = [
  'https://evil.example',
  'https://app.example.com.evil.example',
  'http://app.example.com',
  'https://app.example.com:8443',
  'https://APP.example.com',
  'null',
];
const EXPOSED = ['X-Request-Id', 'ETag', 'Retry-After'];
const REQUEST_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key', 'If-Match', 'Last-Event-ID', 'X-Request-Id'];
const CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-allow-credentials',
  'access-control-expose-headers',
  'access-control-max-age',
];

let srv; // CONVSTORE_CORS_ORIGINS = APP, DEV
let plain; // no setting
let c;
let thread;

before(async () => {
  [srv, plain] = await Promise.all([
    startServer({ CONVSTORE_CORS_ORIGINS: `${APP}, ${DEV}`, CONVSTORE_MAX_BODY_BYTES: '1024' }),
    startServer(),
  ]);
  const org = await createOrg(uniq('cors'));
  c = client(srv.url, org.api_key);
  const r = await c.post('/v1/threads', {});
  assertStatus(r, 201);
  thread = r.json.id;
});
after(async () => {
  await Promise.all([srv?.stop(), plain?.stop()]);
});

const list = (v) => (v || '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);

function preflight(base, path, origin, method = 'POST', extra = {}) {
  return api(base, 'OPTIONS', path, {
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type', ...extra },
  });
}

/** The headers of a response to a listed origin on an actual (non-preflight) request. */
function assertCors(r, origin) {
  const ctx = `\n${r.status} ${[...r.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}`;
  assert.equal(r.headers.get('access-control-allow-origin'), origin, `Access-Control-Allow-Origin${ctx}`);
  assert.ok(list(r.headers.get('vary')).includes('origin'), `Vary: Origin${ctx}`);
  assert.deepEqual(list(r.headers.get('access-control-expose-headers')), EXPOSED.map((h) => h.toLowerCase()), `Expose-Headers${ctx}`);
  assert.equal(r.headers.get('access-control-allow-credentials'), null, `never Allow-Credentials${ctx}`);
}

function assertNoCors(r) {
  for (const h of CORS_HEADERS) assert.equal(r.headers.get(h), null, `${h} must be absent on ${r.status}`);
}

test('a preflight from a listed origin is 204 with everything a browser needs, without a key', async () => {
  for (const [path, methods] of [
    ['/v1/threads', ['GET', 'POST']],
    [`/v1/threads/${thread}`, ['GET', 'PATCH', 'DELETE']],
    [`/v1/threads/${thread}/checkpoints/cp1`, ['PUT', 'GET']],
    [`/v1/threads/${thread}/events/stream`, ['GET']],
  ]) {
    for (const origin of [APP, DEV]) {
      const r = await preflight(srv.url, path, origin, methods[methods.length - 1]);
      assertStatus(r, 204);
      assert.equal(r.text, '');
      assert.equal(r.headers.get('access-control-allow-origin'), origin);
      assert.deepEqual(list(r.headers.get('access-control-allow-methods')).sort(), methods.map((m) => m.toLowerCase()).sort(), path);
      const allowed = list(r.headers.get('access-control-allow-headers'));
      for (const h of REQUEST_HEADERS) assert.ok(allowed.includes(h.toLowerCase()), `Allow-Headers names ${h}: ${allowed}`);
      assert.ok(Number(r.headers.get('access-control-max-age')) >= 60, 'Max-Age caches the answer');
      assert.ok(list(r.headers.get('vary')).includes('origin'));
      assert.equal(r.headers.get('access-control-allow-credentials'), null);
    }
  }
});

test('a preflight from any other origin is 403 cors_origin_refused with no Access-Control-Allow-* header', async () => {
  for (const origin of STRANGERS) {
    const r = await preflight(srv.url, '/v1/threads', origin);
    assertProblem(r, 403, 'cors_origin_refused');
    assertNoCors(r);
    assert.ok(list(r.headers.get('vary')).includes('origin'));
  }
});

test('OPTIONS that is no preflight keeps its 405 with Allow', async () => {
  for (const headers of [{}, { origin: APP }, { 'access-control-request-method': 'POST' }]) {
    const r = await api(srv.url, 'OPTIONS', '/v1/threads', { headers });
    assertProblem(r, 405, 'method_not_allowed');
    assert.deepEqual(list(r.headers.get('allow')).sort(), ['get', 'post']);
    assert.equal(r.headers.get('access-control-allow-methods'), null);
  }
});

test('actual requests from a listed origin carry the CORS headers, errors included', async () => {
  const me = await c.get('/v1/me', { headers: { origin: APP } });
  assertStatus(me, 200);
  assertCors(me, APP);

  const created = await c.post('/v1/threads', { title: 'from a browser' }, { headers: { origin: DEV } });
  assertStatus(created, 201);
  assertCors(created, DEV);
  assert.ok(created.headers.get('etag'), 'the ETag it exposes is there');

  const unauthorized = await api(srv.url, 'GET', '/v1/me', { headers: { origin: APP } });
  assertProblem(unauthorized, 401, 'unauthorized');
  assertCors(unauthorized, APP);

  const missing = await c.get('/v1/threads/no-such-thread', { headers: { origin: APP } });
  assertProblem(missing, 404, 'not_found');
  assertCors(missing, APP);

  const noRoute = await c.get('/v1/no-such-route', { headers: { origin: APP } });
  assertProblem(noRoute, 404, 'not_found');
  assertCors(noRoute, APP);

  const notAllowed = await c.api('DELETE', '/v1/me', { headers: { origin: APP } });
  assertProblem(notAllowed, 405, 'method_not_allowed');
  assertCors(notAllowed, APP);

  const tooLarge = await c.send('POST', '/v1/threads', JSON.stringify({ title: 'x'.repeat(2000) }), { headers: { origin: APP } });
  assertProblem(tooLarge, 413, 'payload_too_large');
  assertCors(tooLarge, APP);

  const wrongType = await c.send('POST', '/v1/threads', '{}', { headers: { origin: APP, 'content-type': 'text/plain' } });
  assertProblem(wrongType, 415, 'unsupported_media_type');
  assertCors(wrongType, APP);
});

test('an idempotent replay carries the CORS headers of the request that gets it', async () => {
  const headers = { origin: APP, 'idempotency-key': uniq('idem') };
  const first = await c.post('/v1/threads', {}, { headers });
  assertStatus(first, 201);
  const again = await c.post('/v1/threads', {}, { headers: { ...headers, origin: DEV } });
  assertStatus(again, 201);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assertCors(again, DEV);
});

test('an event stream to a listed origin carries the CORS headers; to another origin none', async () => {
  const s = await openStream(srv.url, `/v1/threads/${thread}/events/stream`, { key: c.key, headers: { Origin: APP } });
  try {
    assert.equal(s.status, 200);
    assert.match(s.headers.get('content-type'), /^text\/event-stream/);
    assertCors(s, APP);
  } finally {
    s.destroy();
  }
  const other = await openStream(srv.url, `/v1/threads/${thread}/events/stream`, { key: c.key, headers: { Origin: STRANGERS[0] } });
  try {
    assert.equal(other.status, 200);
    assertNoCors(other);
    assert.ok(list(other.headers.get('vary')).includes('origin'));
  } finally {
    other.destroy();
  }
});

test('other origins, and requests without Origin, get no CORS headers', async () => {
  for (const origin of [...STRANGERS, undefined]) {
    const headers = origin ? { origin } : {};
    const ok = await c.get('/v1/me', { headers });
    assertStatus(ok, 200);
    assertNoCors(ok);
    assert.ok(list(ok.headers.get('vary')).includes('origin'), 'Vary: Origin, so caches keep them apart');
    const unauthorized = await api(srv.url, 'GET', '/v1/me', { headers });
    assertProblem(unauthorized, 401, 'unauthorized');
    assertNoCors(unauthorized);
  }
});

test('paths outside /v1 get no CORS headers and no preflight', async () => {
  for (const path of ['/healthz', '/openapi.json']) {
    const r = await api(srv.url, 'GET', path, { headers: { origin: APP } });
    assertStatus(r, 200);
    assertNoCors(r);
    assert.equal(r.headers.get('vary'), null);
  }
  const pre = await preflight(srv.url, '/healthz', APP, 'GET');
  assertProblem(pre, 405, 'method_not_allowed');
  assertNoCors(pre);
});

test('a server without CONVSTORE_CORS_ORIGINS sends no CORS headers and answers preflights 405', async () => {
  const org = await createOrg(uniq('nocors'));
  const me = await api(plain.url, 'GET', '/v1/me', { key: org.api_key, headers: { origin: APP } });
  assertStatus(me, 200);
  assertNoCors(me);
  assert.equal(me.headers.get('vary'), null);
  const pre = await preflight(plain.url, '/v1/threads', APP);
  assertProblem(pre, 405, 'method_not_allowed');
  assertNoCors(pre);
});

test('CONVSTORE_CORS_ORIGINS=* allows every origin as *', async () => {
  const any = await startServer({ CONVSTORE_CORS_ORIGINS: '*' });
  try {
    const org = await createOrg(uniq('star'));
    for (const origin of ['https://anything.example', 'null']) {
      const me = await api(any.url, 'GET', '/v1/me', { key: org.api_key, headers: { origin } });
      assertStatus(me, 200);
      assertCors(me, '*');
      const pre = await preflight(any.url, '/v1/me', origin, 'GET');
      assertStatus(pre, 204);
      assert.equal(pre.headers.get('access-control-allow-origin'), '*');
      assert.deepEqual(list(pre.headers.get('access-control-allow-methods')), ['get']);
    }
    const noOrigin = await api(any.url, 'GET', '/v1/me', { key: org.api_key });
    assertNoCors(noOrigin);
  } finally {
    await any.stop();
  }
});

test('a value that is not a list of origins fails startup, naming the bad entry', async () => {
  const bad = [
    'https://app.example.com/',
    'app.example.com',
    'HTTPS://app.example.com',
    'https://app.example.com:443',
    'null',
    `${APP}, https://ok.example/path`,
    `*, ${APP}`,
  ];
  for (const value of bad) {
    const r = await runCli(['serve'], { CONVSTORE_CORS_ORIGINS: value, CONVSTORE_LISTEN: '127.0.0.1:0' });
    assert.equal(r.code, 2, `'${value}' must fail startup (exit 2), got ${r.code}:\n${r.stderr}`);
    assert.match(r.stderr, /CONVSTORE_CORS_ORIGINS/, r.stderr);
    assert.ok(!r.stderr.includes('"listening"'), r.stderr);
  }
  const flag = await runCli(['--cors-origins', 'https://a.example/', 'serve'], { CONVSTORE_LISTEN: '127.0.0.1:0' });
  assert.equal(flag.code, 2, flag.stderr);
  assert.match(flag.stderr, /--cors-origins.*'https:\/\/a\.example\/'/, flag.stderr);
});

test('--help lists the setting', async () => {
  const r = await runCli(['--help']);
  assert.match(r.stdout, /--cors-origins\s+CONVSTORE_CORS_ORIGINS\s+.*\(default: none\)/);
});
