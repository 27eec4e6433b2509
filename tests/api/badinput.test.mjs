// Malformed and invalid input: exact 4xx answers, nothing written, never a 5xx, a crash or a hang.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, createOrg, api, raw, client, assertProblem, assertStatus, assertList, uniq, expectRejected as rejectedWithout } from './lib/harness.mjs';

const SMALL_LIMIT = 4096;
let srv; // default limits
let small; // CONVSTORE_MAX_BODY_BYTES=4096
let org;
let c;
const TARGET = 'target-thread';

before(async () => {
  [srv, small] = await Promise.all([startServer(), startServer({ CONVSTORE_MAX_BODY_BYTES: String(SMALL_LIMIT) })]);
  org = await createOrg(uniq('bad'));
  c = client(srv.url, org.api_key);
  assertStatus(await c.post('/v1/threads', { id: TARGET, title: 'target', metadata: { a: 1 } }), 201);
});
after(async () => {
  await Promise.all([srv?.stop(), small?.stop()]);
});

async function snapshot() {
  const threads = await c.get('/v1/threads?limit=100');
  const keys = await c.get('/v1/keys?limit=100');
  return { threads: assertList(threads), keys: assertList(keys) };
}

const ENDPOINTS = [
  ['POST', '/v1/threads'],
  ['PATCH', `/v1/threads/${TARGET}`],
  ['POST', '/v1/keys'],
];

/** Sends bytes as the body with the given Content-Type (null: none). */
function sendBytes(base, method, path, bytes, contentType = 'application/json') {
  const headers = {};
  if (contentType !== null) headers['Content-Type'] = contentType;
  return raw(base, { method, path, key: org.api_key, headers, body: Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'utf8') });
}

/** Each case a subtest: the given problem, and neither the thread list nor the key list changed. */
const expectRejected = (t, cases) => rejectedWithout(t, cases, snapshot);

const show = (s) => (s.length > 40 ? `${s.slice(0, 37)}...(${s.length})` : s);

test('malformed JSON is 400 invalid_json', async (t) => {
  const bodies = ['{"title":', '{', '}', 'nul', '{"a":1,}', "{'a':1}", '{"a":1} trailing', '{"a":1}{"b":2}', '{"title":"x"', '{"title":"\\q"}', '{title:"x"}', '\u00a0{}', '[', '{"a" 1}'];
  const cases = [];
  for (const [m, p] of ENDPOINTS) {
    for (const b of bodies) cases.push({ label: `${m} ${p} ${show(JSON.stringify(b))}`, send: () => sendBytes(srv.url, m, p, b), status: 400, code: 'invalid_json' });
  }
  await expectRejected(t, cases);
});

test('JSON that is not an object is 400 invalid_json', async (t) => {
  const cases = [];
  for (const [m, p] of ENDPOINTS) {
    for (const b of ['[]', '[{"title":"x"}]', '"str"', '42', '-1.5', 'null', 'true', 'false', '""']) {
      cases.push({ label: `${m} ${p} ${b}`, send: () => sendBytes(srv.url, m, p, b), status: 400, code: 'invalid_json' });
    }
  }
  await expectRejected(t, cases);
});

test('invalid UTF-8 in the body is 400 invalid_json', async (t) => {
  const wrap = (bytes) => Buffer.concat([Buffer.from('{"title":"'), Buffer.from(bytes), Buffer.from('"}')]);
  const seqs = {
    'ff fe': [0xff, 0xfe],
    'lone continuation 80': [0x80],
    'overlong c0 af': [0xc0, 0xaf],
    'surrogate ed a0 80': [0xed, 0xa0, 0x80],
    'truncated e2 82': [0xe2, 0x82],
    'beyond U+10FFFF f4 90 80 80': [0xf4, 0x90, 0x80, 0x80],
  };
  const cases = [];
  for (const [m, p] of ENDPOINTS) {
    for (const [name, bytes] of Object.entries(seqs)) {
      cases.push({ label: `${m} ${p} ${name}`, send: () => sendBytes(srv.url, m, p, wrap(bytes)), status: 400, code: 'invalid_json' });
    }
    cases.push({ label: `${m} ${p} invalid UTF-8 in a key`, send: () => sendBytes(srv.url, m, p, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), status: 400, code: 'invalid_json' });
  }
  await expectRejected(t, cases);
});

test('escapes that no database text can hold are rejected with 400', async (t) => {
  const cases = [];
  for (const [m, p] of ENDPOINTS.slice(0, 2)) {
    for (const esc of ['\\ud800', '\\udc00x', '\\u0000', 'a\\u0000b']) {
      cases.push({ label: `${m} ${p} title "${esc}"`, send: () => sendBytes(srv.url, m, p, `{"title":"${esc}"}`), status: 400, code: ['invalid_json', 'validation_failed'] });
      cases.push({ label: `${m} ${p} metadata key "${esc}"`, send: () => sendBytes(srv.url, m, p, `{"metadata":{"${esc}":1}}`), status: 400, code: ['invalid_json', 'validation_failed'] });
    }
  }
  cases.push({ label: 'POST /v1/threads id "a\\u0000b"', send: () => sendBytes(srv.url, 'POST', '/v1/threads', '{"id":"a\\u0000b"}'), status: 400, code: ['invalid_json', 'validation_failed'] });
  cases.push({ label: 'POST /v1/keys name "\\u0000"', send: () => sendBytes(srv.url, 'POST', '/v1/keys', '{"role":"admin","name":"\\u0000"}'), status: 400, code: ['invalid_json', 'validation_failed'] });
  await expectRejected(t, cases);
});

test('nesting deeper than 64 is 400 invalid_json, not a crash', async (t) => {
  const deepArr = (n) => '['.repeat(n) + ']'.repeat(n);
  const deepObj = (n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const nestMeta = (n) => `{"metadata":${deepObj(n)}}`;
  const cases = [];
  for (const [m, p] of ENDPOINTS) {
    cases.push({ label: `${m} ${p} 10000 [ unclosed`, send: () => sendBytes(srv.url, m, p, '['.repeat(10000)), status: 400, code: 'invalid_json' });
    cases.push({ label: `${m} ${p} 10000 [ closed`, send: () => sendBytes(srv.url, m, p, deepArr(10000)), status: 400, code: 'invalid_json' });
    cases.push({ label: `${m} ${p} 100000 {"a": closed`, send: () => sendBytes(srv.url, m, p, deepObj(100000)), status: 400, code: 'invalid_json' });
    cases.push({ label: `${m} ${p} {"x": 10000 [ }`, send: () => sendBytes(srv.url, m, p, `{"x":${deepArr(10000)}}`), status: 400, code: 'invalid_json' });
  }
  for (const [m, p] of ENDPOINTS.slice(0, 2)) {
    cases.push({ label: `${m} ${p} metadata nested 100 deep`, send: () => sendBytes(srv.url, m, p, nestMeta(100)), status: 400, code: 'invalid_json' });
  }
  await expectRejected(t, cases);

  // Within the limit, deep metadata is fine.
  const ok = await sendBytes(srv.url, 'POST', '/v1/threads', `{"id":"deep-ok",${nestMeta(60).slice(1)}`);
  assertStatus(ok, 201);
  let d = ok.json.metadata;
  let depth = 0;
  while (d && typeof d === 'object') {
    d = d.a;
    depth++;
  }
  assert.equal(depth, 60, 'metadata stored with all 60 levels');
  assertStatus(await c.del('/v1/threads/deep-ok'), 200);
});

test('unknown fields are 400 validation_failed naming the field', async (t) => {
  const T = `/v1/threads/${TARGET}`;
  const table = [
    ['POST', '/v1/threads', { bogus: 1 }, 'bogus'],
    ['POST', '/v1/threads', { title: 'x', Title: 'y' }, 'Title'],
    ['POST', '/v1/threads', { object: 'thread' }, 'object'],
    ['POST', '/v1/threads', { version: 3 }, 'version'],
    ['POST', '/v1/threads', { created_at: '2020-01-01T00:00:00.000000Z' }, 'created_at'],
    ['POST', '/v1/threads', { '': 1 }, ''],
    ['PATCH', T, { bogus: 1 }, 'bogus'],
    ['PATCH', T, { id: 'new' }, 'id'],
    ['PATCH', T, { user_id: 'u' }, 'user_id'],
    ['PATCH', T, { version: 9 }, 'version'],
    ['PATCH', T, { title: 'ok', created_at: '2020-01-01T00:00:00.000000Z' }, 'created_at'],
    ['POST', '/v1/keys', { role: 'admin', bogus: 1 }, 'bogus'],
    ['POST', '/v1/keys', { role: 'admin', id: 'x' }, 'id'],
    ['POST', '/v1/keys', { role: 'admin', prefix: 'cs_live_xxxx' }, 'prefix'],
  ];
  await expectRejected(
    t,
    table.map(([m, p, body, field]) => ({ label: `${m} ${p} ${JSON.stringify(body)}`, send: () => c.api(m, p, { body }), status: 400, code: 'validation_failed', field })),
  );
});

test('wrong field types and values are 400 validation_failed naming the field', async (t) => {
  const cases = [];
  const add = (m, p, body, field) => cases.push({ label: `${m} ${p} ${show(JSON.stringify(body))}`, send: () => c.api(m, p, { body }), status: 400, code: 'validation_failed', field });
  const badIds = ['', 'x'.repeat(129), 'a/b', 'a b', 'a%b', 'a%2Fb', 'é', '日本', 'a\nb', 'a?b', 'a#b', 'a+b', 'a,b', 'a\\b', '\u2028', 'emoji😀'];
  for (const id of badIds) add('POST', '/v1/threads', { id }, 'id');
  for (const id of [123, true, [], {}, ['a']]) add('POST', '/v1/threads', { id }, 'id');
  for (const [m, p] of ENDPOINTS.slice(0, 2)) {
    for (const title of [5, true, [], {}, ['x'], 'x'.repeat(1001), 'é'.repeat(1001), '日'.repeat(1001)]) add(m, p, { title }, 'title');
    for (const metadata of ['x', 5, [], [1, 2], true]) add(m, p, { metadata }, 'metadata');
    add(m, p, { metadata: { big: 'x'.repeat(16400) } }, 'metadata');
    add(m, p, { title: 'ok', metadata: 'x' }, 'metadata');
  }
  for (const user_id of [5, '', 'u'.repeat(256), [], {}, true]) add('POST', '/v1/threads', { user_id }, 'user_id');
  for (const role of [5, null, 'ADMIN', 'superuser', ['admin'], '']) add('POST', '/v1/keys', { role }, 'role');
  add('POST', '/v1/keys', { role: 'user', user_id: 5 }, 'user_id');
  add('POST', '/v1/keys', { role: 'user', user_id: '' }, 'user_id');
  add('POST', '/v1/keys', { role: 'user' }, 'user_id');
  add('POST', '/v1/keys', { role: 'service', user_id: 'x' }, 'user_id');
  add('POST', '/v1/keys', { role: 'admin', name: 5 }, 'name');
  add('POST', '/v1/keys', { role: 'admin', name: 'n'.repeat(201) }, 'name');
  await expectRejected(t, cases);
});

test('limits are inclusive: 128-char id, 1000-char title (in characters), 16 KiB metadata', async () => {
  const id = 'i'.repeat(128);
  assertStatus(await c.post('/v1/threads', { id }), 201);
  const t1 = await c.post('/v1/threads', { title: 't'.repeat(1000) });
  assertStatus(t1, 201);
  const t2 = await c.post('/v1/threads', { title: 'é'.repeat(1000) });
  assertStatus(t2, 201);
  assert.equal(t2.json.title, 'é'.repeat(1000));
  const t3 = await c.post('/v1/threads', { title: '😀'.repeat(1000) });
  assertStatus(t3, 201);
  assert.equal(t3.json.title, '😀'.repeat(1000));

  // Compact serialization {"k":"xxx…"} of exactly 16384 bytes is accepted, one byte more is not.
  const meta = (n) => ({ k: 'x'.repeat(n - '{"k":""}'.length) });
  assert.equal(JSON.stringify(meta(16384)).length, 16384);
  const ok = await c.post('/v1/threads', { metadata: meta(16384) });
  assertStatus(ok, 201);
  assert.deepEqual(ok.json.metadata, meta(16384));
  assertProblem(await c.post('/v1/threads', { metadata: meta(16385) }), 400, 'validation_failed', 'metadata');
  for (const tid of [id, t1.json.id, t2.json.id, t3.json.id, ok.json.id]) assertStatus(await c.del(`/v1/threads/${encodeURIComponent(tid)}`), 200);
});

test('PATCH may not grow merged metadata beyond 16 KiB', async () => {
  const id = uniq('grow');
  assertStatus(await c.post('/v1/threads', { id, metadata: { a: 'x'.repeat(10000) } }), 201);
  const r = await c.patch(`/v1/threads/${id}`, { metadata: { b: 'y'.repeat(10000) } });
  assertProblem(r, 400, 'validation_failed', 'metadata');
  const g = await c.get(`/v1/threads/${id}`);
  assert.deepEqual(Object.keys(g.json.metadata), ['a']);
  assert.equal(g.json.version, 1);
  // Shrinking by deleting a key and adding another is fine.
  const ok = await c.patch(`/v1/threads/${id}`, { metadata: { a: null, b: 'y'.repeat(10000) } });
  assertStatus(ok, 200);
  assert.deepEqual(Object.keys(ok.json.metadata), ['b']);
  assertStatus(await c.del(`/v1/threads/${id}`), 200);
});

test('a body that is not application/json is 415', async (t) => {
  const cases = [];
  for (const [m, p] of ENDPOINTS) {
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'application/json-patch+json', 'text/json', 'multipart/form-data; boundary=x']) {
      cases.push({ label: `${m} ${p} ${ct}`, send: () => sendBytes(srv.url, m, p, '{"title":"x","role":"admin"}', ct), status: 415, code: 'unsupported_media_type' });
    }
    cases.push({ label: `${m} ${p} no Content-Type`, send: () => sendBytes(srv.url, m, p, '{"title":"x","role":"admin"}', null), status: 415, code: 'unsupported_media_type' });
  }
  await expectRejected(t, cases);

  const ok = await sendBytes(srv.url, 'POST', '/v1/threads', '{"title":"charset ok"}', 'application/json; charset=utf-8');
  assertStatus(ok, 201);
  assert.equal(ok.json.title, 'charset ok');
  assertStatus(await c.del(`/v1/threads/${ok.json.id}`), 200);
});

test('bodies over CONVSTORE_MAX_BODY_BYTES are 413; at the limit they are accepted', async (t) => {
  const padTo = (n) => {
    const s = `{"metadata":{"p":""}}`;
    return `{"metadata":{"p":"${'x'.repeat(n - s.length)}"}}`;
  };
  assert.equal(padTo(SMALL_LIMIT).length, SMALL_LIMIT);
  const cases = [];
  for (const [m, p] of ENDPOINTS) {
    cases.push({ label: `${m} ${p} limit+1 bytes`, send: () => sendBytes(small.url, m, p, padTo(SMALL_LIMIT + 1)), status: 413, code: 'payload_too_large' });
    cases.push({ label: `${m} ${p} 64 KiB`, send: () => sendBytes(small.url, m, p, padTo(65536)), status: 413, code: 'payload_too_large' });
    cases.push({
      label: `${m} ${p} Content-Length 100 MB, body never sent: answered without waiting for it`,
      send: () => raw(small.url, { method: m, path: p, key: org.api_key, headers: { 'Content-Type': 'application/json' }, contentLength: 100 * 1024 * 1024, timeoutMs: 5000 }),
      status: 413,
      code: 'payload_too_large',
    });
  }
  cases.push({ label: 'default limit: POST /v1/threads 1 MiB + 1 byte', send: () => sendBytes(srv.url, 'POST', '/v1/threads', padTo(1048577)), status: 413, code: 'payload_too_large' });
  await expectRejected(t, cases);

  const ok = await sendBytes(small.url, 'POST', '/v1/threads', padTo(SMALL_LIMIT));
  assertStatus(ok, 201);
  assertStatus(await c.del(`/v1/threads/${ok.json.id}`), 200);
});

test('chunked bodies: small ones work, oversized ones are refused and the server goes on', async () => {
  const okc = await raw(small.url, { method: 'POST', path: '/v1/threads', key: org.api_key, headers: { 'Content-Type': 'application/json' }, chunks: ['{"title":', '"chunked"', '}'] });
  assertStatus(okc, 201);
  assert.equal(okc.json.title, 'chunked');
  assertStatus(await c.del(`/v1/threads/${okc.json.id}`), 200);

  for (const [m, p] of ENDPOINTS) {
    const before = await snapshot();
    const chunks = ['{"metadata":{"p":"'];
    for (let i = 0; i < 40; i++) chunks.push('x'.repeat(1000));
    chunks.push('"}}');
    const r = await raw(small.url, { method: m, path: p, key: org.api_key, headers: { 'Content-Type': 'application/json' }, chunks, timeoutMs: 5000 });
    assert.ok(r.status === 413 || (r.status === 0 && r.closed), `chunked oversize ${m} ${p}: 413 or closed, got ${r.status} ${r.text.slice(0, 300)}`);
    if (r.status === 413) assertProblem(r, 413, 'payload_too_large');
    assert.deepEqual(await snapshot(), before, 'nothing was written');
    assertStatus(await api(small.url, 'GET', '/healthz'), 200);
    assertStatus(await api(small.url, 'GET', `/v1/threads/${TARGET}`, { key: org.api_key }), 200);
  }
});

test('odd ids in the path are 400 or 404, never 5xx', async () => {
  const paths = ['%2F', 'a%20b', '%25', 'x'.repeat(129), '%C3%A9', '%FF', '%00', 'a%00b', '%E2%80%A8', '..%2F..%2Fetc', "'%20OR%201=1--", '%22'];
  for (const id of paths) {
    for (const m of ['GET', 'PATCH', 'DELETE']) {
      const r = await raw(srv.url, {
        method: m,
        path: `/v1/threads/${id}`,
        key: org.api_key,
        ...(m === 'PATCH' ? { headers: { 'Content-Type': 'application/json' }, body: '{"title":"x"}' } : {}),
      });
      assert.ok([400, 404].includes(r.status), `${m} /v1/threads/${id}: ${r.status} ${r.text.slice(0, 300)}`);
    }
  }
  assertStatus(await c.get(`/v1/threads/${TARGET}`), 200);
});

test('odd query strings are 400 or handled, never 5xx', async () => {
  const qs = ['limit=%FF', 'metadata=%FF', `metadata=${encodeURIComponent('{"a":"\\u0000"}')}`, 'user_id=%00', 'user_id=%FF', 'after=%00', 'before=%FF', 'order=%00', 'limit=%00', 'created_after=%00', 'metadata=%7B%22a%22%3A' + '%5B'.repeat(5000), 'limit=1&limit=2', '%%%=%%%', '=&&=', 'user_id'];
  for (const q of qs) {
    const r = await raw(srv.url, { path: `/v1/threads?${q}`, key: org.api_key });
    assert.ok([200, 400].includes(r.status), `GET /v1/threads?${q.slice(0, 60)}: ${r.status} ${r.text.slice(0, 300)}`);
    if (r.status === 400) assert.ok(['invalid_query', 'invalid_cursor'].includes(r.json.code), `code ${r.json.code}`);
  }
});

test('odd Authorization headers are 401, never 5xx', async () => {
  const values = [Buffer.from([0x42, 0x65, 0x61, 0x72, 0x65, 0x72, 0x20, 0xff, 0xfe]).toString('latin1'), `Bearer ${'x'.repeat(8000)}`, 'Bearer cs_live_', `Bearer ${org.api_key} extra`, `Bearer  ${org.api_key.slice(0, 5)}`, 'Bearer %00', `Bearer cs_live_${'A'.repeat(43)}`];
  for (const v of values) {
    const r = await raw(srv.url, { path: '/v1/threads', headers: { Authorization: v } });
    assertProblem(r, 401, 'unauthorized');
  }
});

test('malformed HTTP gets a 4xx or a closed connection, and the server goes on', async () => {
  const K = org.api_key;
  const head = (lines) => lines.join('\r\n') + '\r\n\r\n';
  const post = ['POST /v1/threads HTTP/1.1', 'Host: x', 'Connection: close', `Authorization: Bearer ${K}`, 'Content-Type: application/json'];
  const cases = {
    'garbage request line': 'HELLO\r\n\r\n',
    'Content-Length: abc': head([...post, 'Content-Length: abc']) + '{}',
    'Content-Length: -5': head([...post, 'Content-Length: -5']) + '{}',
    'bad chunk size': head([...post, 'Transfer-Encoding: chunked']) + 'zz\r\n{}\r\n0\r\n\r\n',
    'header 100 KB': head(['GET /healthz HTTP/1.1', 'Host: x', 'Connection: close', `X-Big: ${'a'.repeat(100000)}`]),
    'URL 100 KB': head([`GET /v1/threads/${'a'.repeat(100000)} HTTP/1.1`, 'Host: x', 'Connection: close', `Authorization: Bearer ${K}`]),
    'header without colon': head(['GET /healthz HTTP/1.1', 'Host: x', 'Connection: close', 'NoColonHere']),
  };
  const before = await snapshot();
  for (const [label, req] of Object.entries(cases)) {
    const got = await new Promise((resolve, reject) => {
      const u = new URL(srv.url);
      const s = net.connect(Number(u.port), u.hostname);
      let d = Buffer.alloc(0);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`${label}: no answer and no close within 10 s`));
      }, 10000);
      s.on('data', (x) => (d = Buffer.concat([d, x])));
      s.on('error', () => {});
      s.on('close', () => {
        clearTimeout(timer);
        resolve(d.toString('latin1'));
      });
      s.write(Buffer.from(req, 'latin1'));
    });
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
    if (got.length) assert.ok(m, `${label}: not an HTTP response: ${got.slice(0, 100)}`);
    if (m) assert.ok(Number(m[1]) >= 400 && Number(m[1]) < 500, `${label}: answered ${m[1]}`);
    assertStatus(await api(srv.url, 'GET', '/healthz'), 200);
  }
  assert.deepEqual(await snapshot(), before, 'nothing was written');
});
