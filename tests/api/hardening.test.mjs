// Hardening regressions: raw-path routing, values PostgreSQL rejects, header framing, transfer codings, idempotency scope, /readyz.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';
import { startServer, createOrg, api, client, validateResponse, assertProblem, assertStatus, assertList, expectRejected, uniq, sleep } from './lib/harness.mjs';

const DB = process.env.CONVSTORE_TEST_DATABASE_URL;
let srv;
let org;
let admin; // admin client of org
let alice; // user keys of org
let bob;

before(async () => {
  srv = await startServer();
  org = await createOrg(uniq('hard'));
  admin = client(srv.url, org.api_key);
  const userKey = async (user_id) => {
    const r = await admin.post('/v1/keys', { role: 'user', user_id });
    assertStatus(r, 201);
    return client(srv.url, r.json.key);
  };
  [alice, bob] = await Promise.all([userKey('alice'), userKey('bob')]);
});
after(async () => {
  await srv?.stop();
});

const withIdem = (key) => ({ headers: { 'Idempotency-Key': key } });
const noCheck = { validate: false };

/** A fresh thread with a completed message m1 and an in_progress message m2. */
async function setupThread() {
  const id = uniq('T');
  const [m1, m2] = [uniq('m1'), uniq('m2')];
  assertStatus(await admin.post('/v1/threads', { id, title: 'orig' }), 201);
  assertStatus(await admin.post(`/v1/threads/${id}/messages`, { id: m1, role: 'user', content: 'a' }), 201);
  assertStatus(await admin.post(`/v1/threads/${id}/messages`, { id: m2, role: 'assistant', content: '', status: 'in_progress' }), 201);
  return { id, m1, m2 };
}

/** What a misrouted request could have changed: the thread and its messages. */
async function threadState(id) {
  const t = await admin.get(`/v1/threads/${id}`);
  assertStatus(t, 200);
  const msgs = assertList(await admin.get(`/v1/threads/${id}/messages?order=asc`));
  return { title: t.json.title, version: t.json.version, count: t.json.message_count, messages: msgs.map((m) => [m.id, m.status, m.updated_at]) };
}

// ---------------------------------------------------------------------------------------------
// 1. Routing happens on the raw path; only the parameters are percent-decoded.

test('1: an encoded NUL or slash in a path parameter never reaches another resource', async (t) => {
  await t.test('DELETE /v1/threads/T%00/messages is 404 and clears nothing', async () => {
    const { id } = await setupThread();
    const before = await threadState(id);
    assertProblem(await admin.del(`/v1/threads/${id}%00/messages`, noCheck), 404, 'not_found');
    assert.deepEqual(await threadState(id), before);
    assert.equal(before.count, 2);
  });
  for (const body of [{ title: 'pwned' }, { status: 'completed' }]) {
    await t.test(`PATCH /v1/threads/T%00/messages/M ${JSON.stringify(body)} is 404 or 400`, async () => {
      const { id, m2 } = await setupThread();
      const before = await threadState(id);
      const r = await admin.patch(`/v1/threads/${id}%00/messages/${m2}`, body, noCheck);
      assert.ok([400, 404].includes(r.status), `expected 404 or 400, got ${r.status}: ${r.text}`);
      assertProblem(r, r.status, r.status === 404 ? 'not_found' : r.json?.code);
      assert.deepEqual(await threadState(id), before, 'neither the thread nor its messages changed');
    });
  }
  await t.test('DELETE /v1/keys/<id>%00junk is 404 and the key stays valid', async () => {
    const k = await admin.post('/v1/keys', { role: 'service', name: 'victim' });
    assertStatus(k, 201);
    assertProblem(await admin.del(`/v1/keys/${k.json.id}%00junk`, noCheck), 404, 'not_found');
    assertStatus(await api(srv.url, 'GET', '/v1/me', { key: k.json.key }), 200);
  });
  await t.test('DELETE /v1/threads/T%2Fmessages is 404 and clears nothing', async () => {
    const { id } = await setupThread();
    const before = await threadState(id);
    assertProblem(await admin.del(`/v1/threads/${id}%2Fmessages`, noCheck), 404, 'not_found');
    assert.deepEqual(await threadState(id), before);
  });
  await t.test('a percent-encoded thread id is still decoded (%54-… is T-…)', async () => {
    const { id } = await setupThread();
    const r = await admin.get(`/v1/threads/%54${id.slice(1)}`);
    assertStatus(r, 200);
    assert.equal(r.json.id, id);
  });
  await t.test('an encoded NUL in a query parameter is 400 invalid_query', async () => {
    const { id, m1 } = await setupThread();
    assertProblem(await admin.get(`/v1/threads/${id}/messages?after=${m1}%00x`), 400, 'invalid_query');
    assertProblem(await admin.get('/v1/threads?user_id=alice%00x'), 400, 'invalid_query');
  });
});

// ---------------------------------------------------------------------------------------------
// 2–4. Values the request parser accepts but PostgreSQL cannot hold, or renders larger.

test('2: numbers and NULs that jsonb cannot hold are 400, never 5xx', async (t) => {
  const { id, m2 } = await setupThread();
  const targets = [
    ['POST', '/v1/threads', (m) => `{"metadata":${m}}`],
    ['PATCH', `/v1/threads/${id}`, (m) => `{"metadata":${m}}`],
    ['POST', `/v1/threads/${id}/messages`, (m) => `{"role":"user","content":"x","metadata":${m}}`],
    ['PATCH', `/v1/threads/${id}/messages/${m2}`, (m) => `{"metadata":${m}}`],
  ];
  const cases = [];
  for (const [m, p, wrap] of targets) {
    cases.push({ label: `${m} ${p} metadata 1e-20000`, send: () => admin.send(m, p, wrap('{"k":1e-20000}')), status: 400, code: 'validation_failed', field: 'metadata' });
    cases.push({ label: `${m} ${p} metadata "\\u0000"`, send: () => admin.send(m, p, wrap('{"k":"\\u0000"}')), status: 400, code: ['invalid_json', 'validation_failed'] });
  }
  cases.push({ label: 'GET /v1/threads?metadata={"k":1e-20000}', send: () => admin.get(`/v1/threads?metadata=${encodeURIComponent('{"k":1e-20000}')}`), status: 400, code: 'invalid_query' });
  const snapshot = async () => ({ t: await threadState(id), all: assertList(await admin.get('/v1/threads?limit=100')).map((x) => x.id) });
  await expectRejected(t, cases, snapshot);
});

test('3: created_after/created_before before year 1 in UTC are 400 invalid_query', async (t) => {
  for (const p of ['created_after', 'created_before']) {
    await t.test(p, async () => {
      assertProblem(await admin.get(`/v1/threads?${p}=0001-01-01T00:00:00%2B23:59`), 400, 'invalid_query', p);
    });
  }
});

/** Bytes of the "metadata" member's value as the server wrote it, less whitespace outside strings. */
function metadataBytes(text) {
  const at = text.indexOf('"metadata":');
  assert.ok(at >= 0, 'response has metadata');
  let n = 0;
  let depth = 0;
  let inStr = false;
  let esc = false;
  for (const ch of text.slice(at + '"metadata":'.length)) {
    if (!inStr && /\s/.test(ch)) continue;
    n += ch.charCodeAt(0) < 128 ? 1 : Buffer.byteLength(ch);
    if (inStr) {
      if (esc) esc = false;
      else if (ch === '\\') esc = true;
      else if (ch === '"') inStr = false;
    } else if (ch === '"') inStr = true;
    else if (ch === '{' || ch === '[') depth++;
    else if ((ch === '}' || ch === ']') && --depth === 0) return n;
  }
  throw new Error('unbalanced metadata');
}

test('4: metadata is limited to 16384 bytes as PostgreSQL renders it', async (t) => {
  const o = await createOrg(uniq('meta'));
  const c = client(srv.url, o.api_key);
  const tiny = '{' + Array.from({ length: 1000 }, (_, i) => `"k${i}":1e-16383`).join(',') + '}';
  const huge = '{' + Array.from({ length: 60 }, (_, i) => `"k${i}":1e300`).join(',') + '}';
  assert.ok(tiny.length < 16384, 'the 1e-16383 metadata is within the limit as sent');
  const small = await c.send('POST', '/v1/threads', '{"title":"small","metadata":{"a":1e2,"b":0.5}}');
  assertStatus(small, 201);
  const sid = small.json.id;
  for (const [name, meta] of [['1000 × 1e-16383', tiny], ['60 × 1e300', huge]]) {
    await t.test(`POST ${name} is 400 validation_failed`, async () => {
      assertProblem(await c.send('POST', '/v1/threads', `{"metadata":${meta}}`), 400, 'validation_failed', 'metadata');
    });
    await t.test(`PATCH ${name} is 400 validation_failed, nothing changes`, async () => {
      assertProblem(await c.send('PATCH', `/v1/threads/${sid}`, `{"metadata":${meta}}`), 400, 'validation_failed', 'metadata');
      assert.equal((await c.get(`/v1/threads/${sid}`)).json.version, 1);
    });
  }
  await t.test('small numbers stay small and the thread can be PATCHed', async () => {
    const g = await c.get(`/v1/threads/${sid}`);
    assertStatus(g, 200);
    assert.ok(metadataBytes(g.text) <= 40, `metadata rendered in ${metadataBytes(g.text)} bytes: ${g.text}`);
    assertStatus(await c.patch(`/v1/threads/${sid}`, { metadata: { c: 1 } }), 200);
  });
  await t.test('no thread of the org returns more than 16384 bytes of metadata', async () => {
    for (const th of assertList(await c.get('/v1/threads?limit=100', noCheck))) {
      const g = await c.get(`/v1/threads/${th.id}`, noCheck);
      assertStatus(g, 200);
      const n = metadataBytes(g.text);
      assert.ok(n <= 16384, `thread ${th.id} returns ${n} bytes of metadata`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 5–6. Framing: hand-written bytes on a socket, every response counted.

/** Parses one response at the start of buf → {res, used}, or null while incomplete. */
function parseOne(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`);
  const headers = new Headers();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers.append(l.slice(0, i).trim(), l.slice(i + 1).trim());
  }
  assert.ok(!headers.has('transfer-encoding'), 'responses carry Content-Length');
  const off = end + 4 + Number(headers.get('content-length') ?? 0);
  if (buf.length < off) return null;
  const body = buf.subarray(end + 4, off);
  const text = body.toString('utf8');
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { res: { status: Number(m[1]), headers, text, json }, used: off };
}

/**
 * Writes bytes on a new socket; resolves {responses (each with ms since the write), closed} once
 * the server closed the connection, `want` responses arrived, or timeoutMs passed.
 */
function exchange(bytes, { want = Infinity, timeoutMs = 2500 } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const sock = net.connect({ host: '127.0.0.1', port: srv.port });
    let buf = Buffer.alloc(0);
    const responses = [];
    let done = false;
    const finish = (err, closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve({ responses, closed });
    };
    const timer = setTimeout(() => finish(null, false), timeoutMs);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      try {
        for (let p; (p = parseOne(buf)); buf = buf.subarray(p.used)) responses.push({ ...p.res, ms: Date.now() - t0 });
      } catch (e) {
        finish(e);
      }
      if (responses.length >= want) finish(null, false);
    });
    sock.on('end', () => finish(null, true));
    sock.on('close', () => finish(null, true));
    sock.on('error', () => {});
    sock.on('connect', () => sock.write(Buffer.from(bytes, 'latin1')));
  });
}

const summary = (r) => r.responses.map((x) => `${x.status} ${x.text.slice(0, 200)}`).join(' | ') || '(no response)';

/** Exactly one answer, the given problem with Connection: close, and the server closed the socket. */
function assertRefusedAndClosed(r, path, status, code, validate = true) {
  assert.equal(r.responses.length, 1, `exactly one response on the socket: ${summary(r)}`);
  const res = r.responses[0];
  assert.equal(res.status, status, `status: ${summary(r)}`);
  assert.equal((res.headers.get('content-type') || '').split(';')[0].trim(), 'application/problem+json');
  assert.equal(res.json?.code, code, `code: ${summary(r)}`);
  assert.match(res.headers.get('connection') || '', /close/i, 'Connection: close');
  assert.ok(r.closed, 'the server closed the connection');
  if (validate) validateResponse({ method: 'POST', path }, res);
}

test('5: malformed header lines are 400 malformed_request and end the connection', async (t) => {
  const o = await createOrg(uniq('frame'));
  const listIds = async () => assertList(await api(srv.url, 'GET', '/v1/threads?limit=100', { key: o.api_key })).map((x) => x.id);
  const head = `POST /v1/threads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${o.api_key}\r\nContent-Type: application/json\r\n`;
  const next = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
  const lines = {
    'space before colon': 'Content-Length : 30\r\n',
    'tab before colon': 'Content-Length\t: 30\r\n',
    'obs-fold': 'Content-Length:\r\n 30\r\n',
    'NUL in Content-Length': 'Content-Length: 0\x00100\r\n',
    'NUL in another header': 'X-Foo: a\x00b\r\n',
  };
  for (const [name, line] of Object.entries(lines)) {
    await t.test(name, async () => {
      const before = await listIds();
      const r = await exchange(head + line + '\r\n' + next);
      assertRefusedAndClosed(r, '/v1/threads', 400, 'malformed_request');
      assert.deepEqual(await listIds(), before, 'no thread was created');
    });
  }
  await t.test('a 20 KB header value is fine', async () => {
    const r = await exchange(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20480)}\r\nConnection: close\r\n\r\n`, { want: 1 });
    assert.equal(r.responses[0]?.status, 200, summary(r));
  });
  await t.test('two pipelined keep-alive requests get two answers', async () => {
    const r = await exchange(next + next, { want: 2 });
    assert.deepEqual(r.responses.map((x) => x.status), [200, 200], summary(r));
  });
});

test('6: transfer codings are answered at once', async (t) => {
  const req = (te, body) =>
    `POST /v1/threads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${org.api_key}\r\nContent-Type: application/json\r\nTransfer-Encoding: ${te}\r\n\r\n${body}`;
  const chunked = (s) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n0\r\n\r\n`;
  const refused = [
    ['gzip, chunked', chunked('{}'), 501, 'transfer_coding_not_implemented'],
    ['chunked, identity', chunked('{}'), 400, 'malformed_request'],
    ['identity', '{}', 400, 'malformed_request'],
  ];
  for (const [te, body, status, code] of refused) {
    await t.test(`Transfer-Encoding: ${te} → ${status} ${code}`, async () => {
      const r = await exchange(req(te, body), { timeoutMs: 3000 });
      assert.ok(r.responses.length && r.responses[0].ms < 2000, `an answer within 2 s: ${summary(r)}`);
      assertRefusedAndClosed(r, '/v1/threads', status, code, status !== 501); // the spec may not declare 501 yet
    });
  }
  for (const te of ['chunked', 'Chunked']) {
    await t.test(`Transfer-Encoding: ${te} with a valid body → 201`, async () => {
      const r = await exchange(req(te, chunked('{"title":"te"}')), { want: 1, timeoutMs: 3000 });
      assert.equal(r.responses[0]?.status, 201, summary(r));
      assert.equal(r.responses[0].json.title, 'te');
    });
  }
});

// ---------------------------------------------------------------------------------------------
// 7, 9. Idempotency.

test('7: a replayed POST /v1/keys never returns, and the database never holds, the secret', async (t) => {
  const k = uniq('idem');
  const first = await admin.post('/v1/keys', { role: 'service', name: 'idem' }, withIdem(k));
  assertStatus(first, 201);
  assert.equal(typeof first.json.key, 'string');
  await t.test('the replay is 201 with the same id and key: null', async () => {
    const again = await admin.post('/v1/keys', { role: 'service', name: 'idem' }, { ...withIdem(k), ...noCheck });
    assertStatus(again, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.ok(again.headers.get('x-request-id'), 'X-Request-Id');
    assert.equal(again.json.id, first.json.id);
    assert.equal(again.json.key, null, 'the replay has key: null');
  });
  await t.test('idempotency_keys does not hold the secret', () => {
    const stored = execFileSync('psql', [DB, '-At', '-c', 'select body from idempotency_keys'], { encoding: 'utf8', timeout: 10000, maxBuffer: 1 << 28 });
    assert.ok(!stored.includes(first.json.key), 'the secret is not stored in idempotency_keys');
  });
});

test('9: idempotency keys are scoped per user for user keys; service and admin share a scope', async (t) => {
  await t.test('two user keys of different users may use the same key', async () => {
    const k = uniq('idem');
    const a = await alice.post('/v1/threads', { title: 'alice t' }, withIdem(k));
    assertStatus(a, 201);
    const b = await bob.post('/v1/threads', { title: 'bob t' }, withIdem(k));
    assertStatus(b, 201);
    assert.equal(b.headers.get('idempotent-replayed'), null);
    assert.notEqual(b.json.id, a.json.id);
    assert.equal(b.json.user_id, 'bob');
  });
  await t.test('a service key and an admin key share one scope', async () => {
    const svc = await admin.post('/v1/keys', { role: 'service' });
    assertStatus(svc, 201);
    const k2 = uniq('idem');
    assertStatus(await api(srv.url, 'POST', '/v1/threads', { key: svc.json.key, body: { title: 's' }, ...withIdem(k2) }), 201);
    assertProblem(await admin.post('/v1/threads', { title: 'a' }, withIdem(k2)), 409, 'idempotency_key_reused');
  });
});

// ---------------------------------------------------------------------------------------------
// 10, 11.

/** Resolves once stream has printed text matching re. */
function waitForOutput(stream, re, ms) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no ${re} within ${ms} ms; got ${JSON.stringify(seen)}`)), ms);
    stream.on('data', (d) => {
      seen += d;
      if (re.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

test('10: /readyz is 200 while every pooled connection is busy', async () => {
  const s = await startServer({ CONVSTORE_POOL_SIZE: '1', CONVSTORE_POOL_TIMEOUT_MS: '5000' });
  const psql = spawn('psql', [DB, '-q', '-At', '-v', 'ON_ERROR_STOP=1'], { stdio: ['pipe', 'pipe', 'pipe'] });
  try {
    const c = client(s.url, org.api_key);
    const id = uniq('lock');
    assertStatus(await c.post('/v1/threads', { id }), 201);
    const locked = waitForOutput(psql.stdout, /^1$/m, 5000);
    psql.stdin.write(`BEGIN; SELECT 1 FROM threads WHERE id = '${id}' FOR UPDATE;\n`);
    await locked;
    const patch = c.patch(`/v1/threads/${id}`, { title: 'x' }, { timeoutMs: 20000 }).catch((e) => e);
    await sleep(500); // the PATCH now holds the only connection, waiting for the row lock
    const t0 = Date.now();
    const ready = await api(s.url, 'GET', '/readyz', { timeoutMs: 2000 }).catch((e) => e);
    psql.stdin.end('ROLLBACK;\n');
    assert.ok(!(ready instanceof Error), `GET /readyz within 2 s: ${ready.message}`);
    assertStatus(ready, 200);
    assert.ok(Date.now() - t0 < 2000);
    const p = await patch;
    assert.ok(!(p instanceof Error), `PATCH completes: ${p.message}`);
    assertStatus(p, 200);
  } finally {
    psql.kill();
    await s.stop();
  }
});

test('11: a thread id taken by another user is 409 thread_exists and reveals nothing', async () => {
  const id = uniq('X');
  const secret = uniq('secret-title');
  assertStatus(await alice.post('/v1/threads', { id, title: secret }), 201);
  for (const qs of ['', '?if_exists=return']) {
    const r = await bob.post(`/v1/threads${qs}`, { id });
    assertProblem(r, 409, 'thread_exists');
    assert.ok(!r.text.includes(secret) && !r.text.includes('alice'), `nothing of alice's thread: ${r.text}`);
  }
});
