// Messages with malformed and invalid input, foreign ids and illegal transitions: the exact 4xx,
// nothing written, never a 5xx (the harness fails any 5xx but 503).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, raw, client, listAll, assertProblem, assertStatus, assertList, uniq, expectRejected as rejectedWithout } from './lib/harness.mjs';

const MAX_CONTENT = 524288;
let srv;
let c; // org A admin
let B; // org B admin
const T = uniq('target');
const T2 = uniq('target2');
let S; // T: in_progress, string content
let A; // T: in_progress, array content
let C; // T: completed
let I; // T: incomplete
let O; // T2: completed

// Ids here are path-safe, or deliberately raw path text such as 'a%20b'.
const M = (tid) => `/v1/threads/${tid}/messages`;
const NEW_THREAD = uniq('never-created');

before(async () => {
  srv = await startServer();
  c = client(srv.url, (await createOrg(uniq('mbad-a'))).api_key);
  B = client(srv.url, (await createOrg(uniq('mbad-b'))).api_key);
  assertStatus(await c.post('/v1/threads', { id: T, title: 'target' }), 201);
  assertStatus(await c.post('/v1/threads', { id: T2, title: 'other' }), 201);
  const mk = async (tid, body) => {
    const r = await c.post(M(tid), body);
    assertStatus(r, 201);
    return r.json;
  };
  S = await mk(T, { id: uniq('S'), role: 'assistant', content: 'stream so far', status: 'in_progress', metadata: { a: 1 } });
  A = await mk(T, { id: uniq('A'), role: 'assistant', content: [{ type: 'text', text: 'parts' }], status: 'in_progress' });
  C = await mk(T, { id: uniq('C'), role: 'user', content: 'done', status: 'completed' });
  I = await mk(T, { id: uniq('I'), role: 'assistant', content: 'cut off', status: 'incomplete' });
  O = await mk(T2, { id: uniq('O'), role: 'user', content: 'elsewhere' });
});
after(async () => {
  await srv?.stop();
});

/** Everything a refused request could have changed in org A. */
async function snapshot() {
  const [threads, msgs, other] = await Promise.all([
    listAll(c, '/v1/threads?limit=100'),
    listAll(c, `${M(T)}?order=asc&limit=100`),
    listAll(c, `${M(T2)}?order=asc&limit=100`),
  ]);
  return { threads, msgs, other };
}

const show = (s) => (s.length > 60 ? `${s.slice(0, 57)}...(${s.length})` : s);
const label = (v) => (v === undefined ? '(missing)' : show(JSON.stringify(v)));

/** Each case a subtest: the given problem, nothing in org A changed, and no thread was made. */
const expectRejected = (t, cases) =>
  rejectedWithout(t, cases, snapshot, async () => assertProblem(await c.get(`/v1/threads/${NEW_THREAD}`), 404, 'not_found'));

const VALID = { role: 'user', content: 'fine' };

/** The three ways to send one message object, with the field prefix their errors use. */
const CARRIERS = [
  { name: 'POST message', method: 'POST', path: () => M(T), wrap: (m) => m, prefix: '' },
  { name: 'POST batch', method: 'POST', path: () => `${M(T)}/batch`, wrap: (m) => ({ messages: [VALID, m] }), prefix: 'messages[1].' },
  { name: 'POST thread', method: 'POST', path: () => '/v1/threads', wrap: (m) => ({ id: NEW_THREAD, messages: [m] }), prefix: 'messages[0].' },
];

const BODY_ENDPOINTS = () => [
  ['POST', M(T)],
  ['POST', `${M(T)}/batch`],
  ['PATCH', `${M(T)}/${S.id}`],
  ['POST', '/v1/threads'],
];

test('malformed JSON is 400 invalid_json', async (t) => {
  const bodies = [
    '{"role":',
    '{',
    '}',
    'nul',
    '{"role":"user",}',
    "{'role':'user'}",
    '{"role":"user"} trailing',
    '{"a":1}{"b":2}',
    '{role:"user"}',
    '{"content":"\\q"}',
    '{"content":"unterminated}',
    '{"messages":[{"role":"user","content":"x"},]}',
    '{"messages":[{"role":"user","content":"x"}}',
    '{"content":[{"type":"text",}]}',
    '{"append":"x" "y"}',
    '{"role":"user","role":"tool","content":"dup key"}',
    '\u00a0{}',
  ];
  const cases = [];
  for (const [m, p] of BODY_ENDPOINTS()) {
    for (const b of bodies) cases.push({ label: `${m} ${p} ${show(JSON.stringify(b))}`, send: () => c.send(m, p, b), status: 400, code: 'invalid_json' });
    cases.push({ label: `${m} ${p} invalid UTF-8`, send: () => c.send(m, p, Buffer.concat([Buffer.from('{"content":"'), Buffer.from([0xff, 0xfe]), Buffer.from('","append":"x"}')])), status: 400, code: 'invalid_json' });
    cases.push({ label: `${m} ${p} nesting 100 deep in content`, send: () => c.send(m, p, `{"role":"user","content":[{"type":"t","x":${'['.repeat(100)}${']'.repeat(100)}}]}`), status: 400, code: 'invalid_json' });
  }
  await expectRejected(t, cases);
});

test('JSON that is not an object is 400 invalid_json', async (t) => {
  const cases = [];
  for (const [m, p] of BODY_ENDPOINTS()) {
    for (const b of ['[]', '[{"role":"user","content":"x"}]', '"str"', '42', 'null', 'true', '""']) {
      cases.push({ label: `${m} ${p} ${b}`, send: () => c.send(m, p, b), status: 400, code: 'invalid_json' });
    }
  }
  await expectRejected(t, cases);
});

test('strings no database text can hold are 400', async (t) => {
  const cases = [];
  const bad = ['\\u0000', 'a\\u0000b', '\\ud800', '\\udc00x'];
  for (const esc of bad) {
    cases.push({ label: `POST content "${esc}"`, send: () => c.send('POST', M(T), `{"role":"user","content":"${esc}"}`), status: 400, code: ['invalid_json', 'validation_failed'] });
    cases.push({ label: `POST part text "${esc}"`, send: () => c.send('POST', M(T), `{"role":"user","content":[{"type":"text","text":"${esc}"}]}`), status: 400, code: ['invalid_json', 'validation_failed'] });
    cases.push({ label: `PATCH append "${esc}"`, send: () => c.send('PATCH', `${M(T)}/${S.id}`, `{"append":"${esc}"}`), status: 400, code: ['invalid_json', 'validation_failed'] });
    cases.push({ label: `batch name "${esc}"`, send: () => c.send('POST', `${M(T)}/batch`, `{"messages":[{"role":"user","content":"x","name":"${esc}"}]}`), status: 400, code: ['invalid_json', 'validation_failed'] });
  }
  await expectRejected(t, cases);
});

test('a body that is not application/json is 415; an empty POST lacks role and content', async (t) => {
  await expectRejected(t, [
    { label: 'POST message text/plain', send: () => c.send('POST', M(T), '{"role":"user","content":"x"}', { headers: { 'content-type': 'text/plain' } }), status: 415, code: 'unsupported_media_type' },
    { label: 'PATCH message form', send: () => c.send('PATCH', `${M(T)}/${S.id}`, 'append=x', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }), status: 415, code: 'unsupported_media_type' },
    { label: 'POST batch text/plain', send: () => c.send('POST', `${M(T)}/batch`, '{"messages":[]}', { headers: { 'content-type': 'text/plain' } }), status: 415, code: 'unsupported_media_type' },
    { label: 'POST message with no body', send: () => c.api('POST', M(T)), status: 400, code: 'validation_failed', field: 'role' },
    { label: 'POST message with no body names content', send: () => c.api('POST', M(T)), status: 400, code: 'validation_failed', field: 'content' },
    { label: 'POST batch with no body', send: () => c.api('POST', `${M(T)}/batch`), status: 400, code: 'validation_failed', field: 'messages' },
  ]);
});

/** [field, bad values] for one message object; undefined means "missing". */
const BAD_MESSAGE_FIELDS = [
  ['id', [123, true, [], {}, ['a'], '', 'x'.repeat(129), 'a b', 'a/b', 'é', 'a\nb', 'emoji😀', 'a%2Fb']],
  ['role', [undefined, null, 5, true, 'USER', 'admin', 'bot', '', ' user', ['user'], {}]],
  [
    'content',
    [
      undefined,
      null,
      5,
      0,
      true,
      {},
      { type: 'text', text: 'x' },
      [1],
      ['x'],
      [null],
      [[]],
      [{}],
      [{ type: 5 }],
      [{ type: null }],
      [{ type: ['text'] }],
      [{ type: { t: 1 } }],
      [{ text: 'no type' }],
      [{ type: 'text' }, 3],
      [{ type: 'text' }, { text: 'second has none' }],
    ],
  ],
  ['name', [5, true, [], {}, '', 'n'.repeat(257), 'é'.repeat(257), 'a\nb', 'a\tb', '\u007f', 'a\u0001b']],
  ['status', [null, 5, true, 'done', 'COMPLETED', '', 'queued', ['completed'], {}]],
  ['run_id', [5, true, [], {}, '', 'a b', 'x'.repeat(129), 'é', 'r/1']],
  ['metadata', ['x', 5, [], [1, 2], true, { big: 'x'.repeat(16400) }]],
];

test('wrong types and values in a message are 400 validation_failed naming the field', async (t) => {
  const cases = [];
  for (const car of CARRIERS) {
    for (const [field, values] of BAD_MESSAGE_FIELDS) {
      for (const v of values) {
        const msg = { ...VALID };
        if (v === undefined) delete msg[field];
        else msg[field] = v;
        cases.push({
          label: `${car.name} ${field}=${label(v)}`,
          send: () => c.api(car.method, car.path(), { body: car.wrap(msg) }),
          status: 400,
          code: 'validation_failed',
          field: `${car.prefix}${field}`,
        });
      }
    }
  }
  await expectRejected(t, cases);
});

test('unknown fields in a message are 400 validation_failed naming the field', async (t) => {
  const cases = [];
  for (const car of CARRIERS) {
    for (const f of ['bogus', 'object', 'seq', 'thread_id', 'created_at', 'updated_at', 'Role', 'delta_count', 'append', 'messages', '']) {
      const msg = { ...VALID, [f]: f === 'seq' ? 7 : 'x' };
      cases.push({ label: `${car.name} unknown ${JSON.stringify(f)}`, send: () => c.api(car.method, car.path(), { body: car.wrap(msg) }), status: 400, code: 'validation_failed', field: `${car.prefix}${f}` });
    }
  }
  await expectRejected(t, cases);
});

test('PATCH: wrong types, unknown fields, content with append are 400 validation_failed', async (t) => {
  const P = () => `${M(T)}/${S.id}`;
  const table = [
    ['content', [null, 5, true, {}, { type: 'text' }, [1], [{}], [{ type: 1 }], ['x'], [null]]],
    ['append', [null, 5, true, [], {}, ['x']]],
    ['status', [null, 5, true, 'done', '', 'COMPLETED', 'queued']],
    ['metadata', ['x', 5, [], true, { big: 'x'.repeat(16400) }]],
  ];
  const cases = [];
  for (const [field, values] of table) {
    for (const v of values) {
      cases.push({ label: `${field}=${label(v)}`, send: () => c.patch(P(), { [field]: v }), status: 400, code: 'validation_failed', field });
      // A bad field spoils an otherwise good PATCH: nothing of it is applied.
      cases.push({ label: `append + ${field}=${label(v)}`, send: () => c.patch(P(), { append: ' more', [field]: v }), status: 400, code: 'validation_failed', field: field === 'append' ? 'append' : undefined });
    }
  }
  for (const f of ['bogus', 'role', 'id', 'seq', 'name', 'run_id', 'thread_id', 'object', 'created_at', 'messages']) {
    cases.push({ label: `unknown ${f}`, send: () => c.patch(P(), { [f]: 'x' }), status: 400, code: 'validation_failed', field: f });
    cases.push({ label: `append + unknown ${f}`, send: () => c.patch(P(), { append: 'y', [f]: 'x' }), status: 400, code: 'validation_failed', field: f });
  }
  for (const body of [{ content: 'new', append: 'more' }, { content: [{ type: 'text' }], append: '' }, { content: 'x', append: 'y', status: 'completed' }]) {
    cases.push({ label: `together ${JSON.stringify(body)}`, send: () => c.patch(P(), body), status: 400, code: 'validation_failed', fields: ['append', 'content'] });
    cases.push({ label: `together, Prefer minimal ${JSON.stringify(body)}`, send: () => c.patch(P(), body, { headers: { prefer: 'return=minimal' } }), status: 400, code: 'validation_failed', fields: ['append', 'content'] });
  }
  await expectRejected(t, cases);
});

test('content size: 524288 bytes of JSON text are accepted, one more is 400', async (t) => {
  const SIZE = uniq('size');
  assertStatus(await c.post('/v1/threads', { id: SIZE }), 201);
  const str = (n) => 'x'.repeat(n - 2); // JSON text of n bytes
  const parts = (n) => {
    const head = '[{"type":"text","text":"';
    const tail = '"}]';
    return `${head}${'y'.repeat(n - head.length - tail.length)}${tail}`;
  };
  assert.equal(JSON.stringify(str(MAX_CONTENT)).length, MAX_CONTENT);
  assert.equal(parts(MAX_CONTENT).length, MAX_CONTENT);
  const spaced = (n) => {
    const head = '[ { "type" : "t" , "t" : "';
    const tail = '" } ]';
    return `${head}${'z'.repeat(n - head.length - tail.length)}${tail}`;
  };
  const nl = (n) => '\n'.repeat(n); // JSON text 2n + 2 bytes
  const e = (n) => 'é'.repeat(n); // UTF-8: 2n + 2 bytes
  const overText = [
    ['string', `"${str(MAX_CONTENT + 1)}"`],
    ['parts', parts(MAX_CONTENT + 1)],
    ['escaped newlines', JSON.stringify(nl(262144))],
    ['two-byte characters', JSON.stringify(e(262144))],
    ['parts with spaces inside', spaced(MAX_CONTENT + 1)],
  ];
  const underText = [
    ['string', `"${str(MAX_CONTENT)}"`],
    ['parts', parts(MAX_CONTENT)],
    ['escaped newlines', JSON.stringify(nl(262143))],
    ['two-byte characters', JSON.stringify(e(262143))],
    ['parts with spaces inside', spaced(MAX_CONTENT)],
  ];
  for (const [, txt] of overText) assert.equal(Buffer.byteLength(txt), MAX_CONTENT + 1 + (txt.startsWith('"\\n') || txt.includes('é') ? 1 : 0));
  for (const [, txt] of underText) assert.equal(Buffer.byteLength(txt), MAX_CONTENT);

  const cases = [];
  for (const [name, txt] of overText) {
    cases.push({ label: `POST message, ${name}`, send: () => c.send('POST', M(T), `{"role":"user","content":${txt}}`), status: 400, code: 'validation_failed', field: 'content' });
    cases.push({ label: `POST batch, ${name}`, send: () => c.send('POST', `${M(T)}/batch`, `{"messages":[{"role":"user","content":"ok"},{"role":"user","content":${txt}}]}`), status: 400, code: 'validation_failed', field: 'messages[1].content' });
    cases.push({ label: `POST thread, ${name}`, send: () => c.send('POST', '/v1/threads', `{"id":"${NEW_THREAD}","messages":[{"role":"user","content":${txt}}]}`), status: 400, code: 'validation_failed', field: 'messages[0].content' });
    cases.push({ label: `PATCH content, ${name}`, send: () => c.send('PATCH', `${M(T)}/${S.id}`, `{"content":${txt}}`), status: 400, code: 'validation_failed', field: 'content' });
  }
  await expectRejected(t, cases);

  // Two messages at the limit do not fit the 1 MiB body limit: 413, nothing written.
  cases.length = 0;
  const two = `{"messages":[{"role":"user","content":${underText[0][1]}},{"role":"user","content":${underText[0][1]}}]}`;
  assert.ok(Buffer.byteLength(two) > 1048576);
  cases.push({ label: 'POST batch of two 512 KiB messages', send: () => c.send('POST', `${M(T)}/batch`, two), status: 413, code: 'payload_too_large' });
  cases.push({ label: 'POST thread with two 512 KiB messages', send: () => c.send('POST', '/v1/threads', `{"id":"${NEW_THREAD}",${two.slice(1)}`), status: 413, code: 'payload_too_large' });
  await expectRejected(t, cases);

  // At the limit every carrier accepts, and the content comes back whole.
  for (const [name, txt] of underText) {
    await t.test(`at the limit: ${name}`, async () => {
      const want = JSON.parse(txt);
      const r = await c.send('POST', M(SIZE), `{"role":"user","content":${txt}}`);
      assertStatus(r, 201);
      assert.deepEqual(r.json.content, want);
      const g = await c.get(`${M(SIZE)}/${r.json.id}`);
      assert.deepEqual(g.json.content, want);
      const b = await c.send('POST', `${M(SIZE)}/batch`, `{"messages":[{"role":"user","content":${txt}}]}`);
      assertStatus(b, 201);
      assert.deepEqual(b.json.data[0].content, want);
      const th = await c.send('POST', '/v1/threads', `{"messages":[{"role":"user","content":${txt}}]}`);
      assertStatus(th, 201);
      assert.equal(th.json.message_count, 1);
      const p = await c.send('PATCH', `${M(SIZE)}/${r.json.id}`, `{"content":${txt}}`);
      assertStatus(p, 200);
      assert.deepEqual(p.json.content, want);
      assertStatus(await c.del(`/v1/threads/${th.json.id}`), 200);
    });
  }
});

test('metadata: 16384 bytes compact are accepted, more is 400; a merged PATCH result too', async (t) => {
  const SIZE = uniq('meta');
  assertStatus(await c.post('/v1/threads', { id: SIZE }), 201);
  const meta = (n) => ({ k: 'x'.repeat(n - 8) }); // compact {"k":"…"} is n bytes
  assert.equal(JSON.stringify(meta(16384)).length, 16384);
  const cases = [];
  for (const car of CARRIERS) {
    cases.push({ label: `${car.name} 16385 bytes`, send: () => c.api(car.method, car.path(), { body: car.wrap({ ...VALID, metadata: meta(16385) }) }), status: 400, code: 'validation_failed', field: `${car.prefix}metadata` });
  }
  cases.push({ label: 'PATCH 16385 bytes', send: () => c.patch(`${M(T)}/${S.id}`, { metadata: meta(16385) }), status: 400, code: 'validation_failed', field: 'metadata' });
  await expectRejected(t, cases);

  for (const car of CARRIERS) {
    const body = car.wrap({ ...VALID, metadata: meta(16384) });
    if (car.name === 'POST thread') delete body.id;
    const r = await c.api(car.method, car.name === 'POST thread' ? '/v1/threads' : car.path().replace(M(T), M(SIZE)), { body });
    assertStatus(r, 201);
  }

  // The merged result of a PATCH is limited too, and a refused merge leaves everything as it was.
  const m = await c.post(M(SIZE), { role: 'assistant', content: 'base', status: 'in_progress', metadata: { a: 'x'.repeat(9000) } });
  assertStatus(m, 201);
  const P = `${M(SIZE)}/${m.json.id}`;
  const before = (await c.get(P)).json;
  assertProblem(await c.patch(P, { metadata: { b: 'y'.repeat(9000) } }), 400, 'validation_failed', 'metadata');
  assertProblem(await c.patch(P, { append: ' delta', metadata: { b: 'y'.repeat(9000) } }), 400, 'validation_failed', 'metadata');
  assertProblem(await c.patch(P, { status: 'completed', metadata: { b: 'y'.repeat(9000) } }), 400, 'validation_failed', 'metadata');
  assertProblem(await c.patch(P, { content: 'replaced', metadata: { b: 'y'.repeat(9000) } }), 400, 'validation_failed', 'metadata');
  assert.deepEqual((await c.get(P)).json, before, 'nothing of a refused PATCH was applied');
  const ok = await c.patch(P, { metadata: { a: null, b: 'y'.repeat(9000) } });
  assertStatus(ok, 200);
  assert.deepEqual(ok.json.metadata, { b: 'y'.repeat(9000) });
});

test('batch: one invalid message rejects the whole batch, naming messages[i].field', async (t) => {
  const good = (i) => ({ role: 'user', content: `g${i}` });
  const five = (i, bad) => Array.from({ length: 5 }, (_, j) => (j === i ? bad : good(j)));
  const B_ = `${M(T)}/batch`;
  const cases = [
    { label: 'messages[3] without role', send: () => c.post(B_, { messages: five(3, { content: 'x' }) }), status: 400, code: 'validation_failed', field: 'messages[3].role' },
    { label: 'messages[0] with a bad role', send: () => c.post(B_, { messages: five(0, { role: 'robot', content: 'x' }) }), status: 400, code: 'validation_failed', field: 'messages[0].role' },
    { label: 'messages[4] content 5', send: () => c.post(B_, { messages: five(4, { role: 'user', content: 5 }) }), status: 400, code: 'validation_failed', field: 'messages[4].content' },
    { label: 'messages[2] is not an object', send: () => c.post(B_, { messages: five(2, 5) }), status: 400, code: 'validation_failed', field: 'messages[2]' },
    { label: 'messages[1] is null', send: () => c.post(B_, { messages: five(1, null) }), status: 400, code: 'validation_failed', field: 'messages[1]' },
    { label: 'messages[1] is an array', send: () => c.post(B_, { messages: five(1, [good(1)]) }), status: 400, code: 'validation_failed', field: 'messages[1]' },
    { label: 'messages[2] unknown field', send: () => c.post(B_, { messages: five(2, { ...good(2), extra: 1 }) }), status: 400, code: 'validation_failed', field: 'messages[2].extra' },
    { label: 'messages[3] bad id', send: () => c.post(B_, { messages: five(3, { ...good(3), id: 'a b' }) }), status: 400, code: 'validation_failed', field: 'messages[3].id' },
    { label: 'the last of 1000 is invalid', send: () => c.post(B_, { messages: [...Array.from({ length: 999 }, (_, i) => good(i)), { role: 'user' }] }), status: 400, code: 'validation_failed', field: 'messages[999].content' },
    { label: '1001 messages', send: () => c.post(B_, { messages: Array.from({ length: 1001 }, (_, i) => good(i)) }), status: 400, code: 'validation_failed', field: 'messages' },
    { label: 'no messages', send: () => c.post(B_, { messages: [] }), status: 400, code: 'validation_failed', field: 'messages' },
    { label: 'messages missing', send: () => c.post(B_, {}), status: 400, code: 'validation_failed', field: 'messages' },
    { label: 'messages null', send: () => c.post(B_, { messages: null }), status: 400, code: 'validation_failed', field: 'messages' },
    { label: 'messages an object', send: () => c.post(B_, { messages: good(0) }), status: 400, code: 'validation_failed', field: 'messages' },
    { label: 'messages a string', send: () => c.post(B_, { messages: 'x' }), status: 400, code: 'validation_failed', field: 'messages' },
    { label: 'unknown top-level field', send: () => c.post(B_, { messages: [good(0)], bogus: 1 }), status: 400, code: 'validation_failed', field: 'bogus' },
    { label: 'top-level thread_id', send: () => c.post(B_, { messages: [good(0)], thread_id: T }), status: 400, code: 'validation_failed', field: 'thread_id' },
    { label: 'top-level role/content (a single message sent to /batch)', send: () => c.post(B_, good(0)), status: 400, code: 'validation_failed', field: 'role' },
  ];
  await expectRejected(t, cases);

  await t.test('several invalid messages are all named', async () => {
    const msgs = five(1, { role: 'user', content: {} });
    msgs[4] = { role: 'nobody', content: 'x' };
    const r = await c.post(B_, { messages: msgs });
    assertProblem(r, 400, 'validation_failed', 'messages[1].content');
    assertProblem(r, 400, 'validation_failed', 'messages[4].role');
  });
});

test('POST /v1/threads with an invalid messages list creates no thread', async (t) => {
  const cases = [];
  const good = { role: 'user', content: 'ok' };
  const add = (lbl, body, field) => cases.push({ label: lbl, send: () => c.post('/v1/threads', { id: NEW_THREAD, title: 'must not exist', ...body }), status: 400, code: 'validation_failed', field });
  add('messages[2] without content', { messages: [good, good, { role: 'user' }] }, 'messages[2].content');
  add('messages[0] bad role', { messages: [{ role: 'x', content: 'y' }] }, 'messages[0].role');
  add('messages[1] not an object', { messages: [good, 'x'] }, 'messages[1]');
  add('101 messages', { messages: Array.from({ length: 101 }, () => good) }, 'messages');
  add('messages a string', { messages: 'x' }, 'messages');
  add('messages an object', { messages: good }, 'messages');
  add('messages a number', { messages: 5 }, 'messages');
  add('messages null', { messages: null }, 'messages');
  add('a bad thread field with good messages', { messages: [good], title: 5 }, 'title');
  await expectRejected(t, cases);
  // A user key's forbidden user_id with messages: 403, nothing created.
  const u = await c.post('/v1/keys', { role: 'user', user_id: uniq('u') });
  assertStatus(u, 201);
  const usr = client(srv.url, u.json.key);
  assertProblem(await usr.post('/v1/threads', { id: NEW_THREAD, user_id: 'someone-else', messages: [good] }), 403, 'forbidden');
  assertProblem(await c.get(`/v1/threads/${NEW_THREAD}`), 404, 'not_found');
});

test('a message id is unique in its thread: 409 message_exists, nothing written, no seq consumed', async (t) => {
  const fresh = uniq('fresh');
  await expectRejected(t, [
    { label: 'same thread', send: () => c.post(M(T), { id: S.id, role: 'user', content: 'dup' }), status: 409, code: 'message_exists' },
    { label: 'batch with a taken id at index 2', send: () => c.post(`${M(T)}/batch`, { messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }, { id: C.id, role: 'user', content: 'c' }] }), status: 409, code: 'message_exists' },
    { label: 'batch naming one new id twice', send: () => c.post(`${M(T)}/batch`, { messages: [{ id: fresh, role: 'user', content: 'a' }, { id: fresh, role: 'user', content: 'b' }] }), status: [400, 409], code: ['message_exists', 'validation_failed'] },
    { label: 'thread created naming one new id twice', send: () => c.post('/v1/threads', { id: NEW_THREAD, messages: [{ id: fresh, role: 'user', content: 'a' }, { id: fresh, role: 'user', content: 'b' }] }), status: [400, 409], code: ['message_exists', 'validation_failed'] },
  ]);

  await t.test("another thread of the org may reuse a message id (AG-UI's ids are per conversation)", async () => {
    const tid = uniq('reuse');
    const made = await c.post('/v1/threads', { id: tid, messages: [{ id: S.id, role: 'user', content: 'same id, other thread' }] });
    assertStatus(made, 201);
    const r = await c.get(`${M(tid)}/${S.id}`);
    assertStatus(r, 200);
    assert.equal(r.json.content, 'same id, other thread');
    assert.notEqual((await c.get(`${M(T)}/${S.id}`)).json.content, 'same id, other thread');
    assertStatus(await c.del(`/v1/threads/${tid}`), 200);
  });

  await t.test('the next append takes the next seq: refused appends left no gap', async () => {
    const all = await listAll(c, `${M(T)}?order=asc&limit=100`);
    const last = all.length ? all[all.length - 1].seq : 0;
    const tr = (await c.get(`/v1/threads/${T}`)).json;
    const r = await c.post(M(T), { role: 'user', content: 'after refusals' });
    assertStatus(r, 201);
    assert.equal(r.json.seq, last + 1);
    assert.equal((await c.get(`/v1/threads/${T}`)).json.message_count, tr.message_count + 1);
    assertStatus(await c.del(`${M(T)}/${r.json.id}`), 200);
  });

  await t.test('another org may use the same message ids (and thread ids)', async () => {
    assertStatus(await B.post('/v1/threads', { id: T }), 201);
    const r = await B.post(M(T), { id: S.id, role: 'user', content: "B's own" });
    assertStatus(r, 201);
    assert.equal(r.json.seq, 1);
    const b = await B.post(`${M(T)}/batch`, { messages: [{ id: C.id, role: 'user', content: 'c' }, { id: O.id, role: 'user', content: 'o' }] });
    assertStatus(b, 201);
    const th = await B.post('/v1/threads', { messages: [{ id: A.id, role: 'user', content: 'a' }] });
    assertStatus(th, 201);
    assert.equal((await B.get(`${M(T)}/${S.id}`)).json.content, "B's own");
    assert.equal((await c.get(`${M(T)}/${S.id}`)).json.content, S.content, "A's message untouched");
  });
});

/** All seven message endpoints against thread tid (message mid), each with a valid body. */
function everyEndpoint(cl, tid, mid) {
  return [
    ['POST message', () => cl.post(M(tid), { role: 'user', content: 'x' })],
    ['POST batch', () => cl.post(`${M(tid)}/batch`, { messages: [{ role: 'user', content: 'x' }] })],
    ['GET list', () => cl.get(M(tid))],
    ['GET list with a filter', () => cl.get(`${M(tid)}?role=user&order=asc`)],
    ['GET message', () => cl.get(`${M(tid)}/${mid}`)],
    ['PATCH message metadata', () => cl.patch(`${M(tid)}/${mid}`, { metadata: { pwned: true } })],
    ['PATCH message append', () => cl.patch(`${M(tid)}/${mid}`, { append: 'pwned' })],
    ['PATCH message append, minimal', () => cl.patch(`${M(tid)}/${mid}`, { append: 'pwned' }, { headers: { prefer: 'return=minimal' } })],
    ['PATCH message status', () => cl.patch(`${M(tid)}/${mid}`, { status: 'completed' })],
    ['PATCH message content', () => cl.patch(`${M(tid)}/${mid}`, { content: 'pwned' })],
    ['DELETE message', () => cl.del(`${M(tid)}/${mid}`)],
    ['DELETE messages (clear)', () => cl.del(M(tid))],
  ];
}

test('an unknown thread is 404 on every message endpoint', async (t) => {
  const cases = [];
  for (const tid of [uniq('nothread'), 'a%20b', 'x'.repeat(129), '%C3%A9']) {
    for (const [name, send] of everyEndpoint(c, tid, S.id)) cases.push({ label: `${name} ${tid.slice(0, 20)}`, send, status: 404, code: 'not_found' });
  }
  // A message path with an id that cannot exist, under the real thread.
  for (const mid of [uniq('nomsg'), 'a%20b', 'x'.repeat(129)]) {
    for (const [name, send] of everyEndpoint(c, T, mid).filter(([n]) => /message /.test(n) || /^(GET|DELETE) message$/.test(n))) {
      cases.push({ label: `${name} message ${mid.slice(0, 20)}`, send, status: 404, code: 'not_found' });
    }
  }
  await expectRejected(t, cases);
});

test("another org's thread is 404 on every message endpoint, and nothing changes", async (t) => {
  await expectRejected(
    t,
    everyEndpoint(B, T2, O.id).map(([name, send]) => ({ label: name, send, status: 404, code: 'not_found' })),
  );
  // Through org B's own thread of the same id, org A's message ids are still not found.
  const own = uniq('b-own');
  assertStatus(await B.post('/v1/threads', { id: own }), 201);
  await expectRejected(
    t,
    everyEndpoint(B, own, S.id)
      .filter(([n]) => /message /.test(n) || /^(GET|DELETE) message$/.test(n))
      .map(([name, send]) => ({ label: `via B's own thread: ${name}`, send, status: 404, code: 'not_found' })),
  );
});

test("a user key gets 404 on every message endpoint of another user's thread", async (t) => {
  const mk = async (user_id) => {
    const k = await c.post('/v1/keys', { role: 'user', user_id });
    assertStatus(k, 201);
    return client(srv.url, k.json.key);
  };
  const alice = await mk(uniq('alice'));
  const bobId = uniq('bob');
  const bob = await mk(bobId);
  const bt = await bob.post('/v1/threads', { messages: [{ role: 'assistant', content: 'bob streams', status: 'in_progress' }] });
  assertStatus(bt, 201);
  const bobThread = bt.json.id;
  const bobMsg = assertList(await bob.get(M(bobThread)))[0];
  const at = await alice.post('/v1/threads', {});
  assertStatus(at, 201);
  const aliceThread = at.json.id;

  const bobState = async () => ({ t: (await bob.get(`/v1/threads/${bobThread}`)).json, m: await listAll(bob, `${M(bobThread)}?order=asc`) });
  const before = await bobState();
  for (const [name, send] of everyEndpoint(alice, bobThread, bobMsg.id)) {
    await t.test(`alice: ${name}`, async () => assertProblem(await send(), 404, 'not_found'));
  }
  // Bob's message through alice's own thread is not hers either.
  for (const [name, send] of everyEndpoint(alice, aliceThread, bobMsg.id).filter(([n]) => /message /.test(n) || /^(GET|DELETE) message$/.test(n))) {
    await t.test(`alice via her own thread: ${name}`, async () => assertProblem(await send(), 404, 'not_found'));
  }
  // Bob's message id as a cursor in alice's thread.
  await t.test("bob's message is not a cursor for alice", async () => {
    assertProblem(await alice.get(`${M(aliceThread)}?after=${bobMsg.id}`), 400, 'invalid_cursor');
  });
  assert.deepEqual(await bobState(), before, "bob's thread and messages unchanged");
  assert.deepEqual(assertList(await alice.get(M(aliceThread))), [], "nothing landed in alice's thread");
});

test('cursors: a message of another thread, another org, a deleted or unknown one is 400 invalid_cursor', async () => {
  const gone = await c.post(M(T2), { role: 'user', content: 'to delete' });
  assertStatus(gone, 201);
  assertStatus(await c.del(`${M(T2)}/${gone.json.id}`), 200);
  const theirs = await B.post('/v1/threads', {});
  const theirMsg = await B.post(M(theirs.json.id), { id: uniq('their'), role: 'user', content: 'b' });
  assertStatus(theirMsg, 201);
  for (const p of ['after', 'before']) {
    for (const order of ['asc', 'desc']) {
      for (const cur of [O.id, gone.json.id, theirMsg.json.id, uniq('nope'), T, T2]) {
        assertProblem(await c.get(`${M(T)}?${p}=${cur}&order=${order}`), 400, 'invalid_cursor');
      }
      // With a filter the cursor still has to be a message of this thread.
      assertProblem(await c.get(`${M(T)}?${p}=${O.id}&role=user&order=${order}`), 400, 'invalid_cursor');
      assertProblem(await c.get(`${M(T2)}?${p}=${S.id}&order=${order}`), 400, 'invalid_cursor');
    }
  }
  // An empty thread has no cursors either.
  const empty = await c.post('/v1/threads', {});
  assertProblem(await c.get(`${M(empty.json.id)}?after=${S.id}`), 400, 'invalid_cursor');
});

test('invalid list parameters are 400 invalid_query naming the parameter', async () => {
  const cases = [
    ['role=admin', 'role'],
    ['role=', 'role'],
    ['role=USER', 'role'],
    ['role=user,assistant', 'role'],
    ['status=done', 'status'],
    ['status=', 'status'],
    ['status=Completed', 'status'],
    ['run_id=a%20b', 'run_id'],
    ['run_id=', 'run_id'],
    [`run_id=${'r'.repeat(129)}`, 'run_id'],
    ['run_id=%C3%A9', 'run_id'],
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=-1', 'limit'],
    ['order=sideways', 'order'],
    ['order=ASC', 'order'],
  ];
  for (const [qs, field] of cases) assertProblem(await c.get(`${M(T)}?${qs}`), 400, 'invalid_query', field);
  // A cursor that cannot be an id at all: a bad parameter or an unknown cursor, either way a 400.
  for (const qs of ['after=a%20b', 'before=a%2Fb', `after=${'x'.repeat(129)}`, 'before=']) {
    const r = await c.get(`${M(T)}?${qs}`);
    assert.equal(r.status, 400, `${qs}: ${r.text}`);
    assert.ok(['invalid_query', 'invalid_cursor'].includes(r.json.code), `${qs}: ${r.text}`);
  }
  assertProblem(await c.get(`${M(T)}?after=${S.id}&before=${C.id}`), 400, 'invalid_query');
  // Good values of the same parameters still work.
  assertList(await c.get(`${M(T)}?role=user&status=completed&run_id=r.1:x-y_z&limit=100&order=asc`));
});

test('illegal status transitions and appends are refused and change nothing', async (t) => {
  const P = (m) => `${M(T)}/${m.id}`;
  const cases = [];
  const add = (lbl, m, body, status, code, field) => {
    cases.push({ label: lbl, send: () => c.patch(P(m), body), status, code, field });
    cases.push({ label: `${lbl} (Prefer: return=minimal)`, send: () => c.patch(P(m), body, { headers: { prefer: 'return=minimal' } }), status, code, field });
  };
  add('completed → in_progress', C, { status: 'in_progress' }, 409, 'invalid_state_transition');
  add('completed → incomplete', C, { status: 'incomplete' }, 409, 'invalid_state_transition');
  add('incomplete → completed', I, { status: 'completed' }, 409, 'invalid_state_transition');
  add('incomplete → in_progress', I, { status: 'in_progress' }, 409, 'invalid_state_transition');
  add('completed → in_progress with metadata', C, { status: 'in_progress', metadata: { x: 1 } }, 409, 'invalid_state_transition');
  add('completed → in_progress with content', C, { status: 'in_progress', content: 'new' }, 409, 'invalid_state_transition');
  add('append to completed', C, { append: 'more' }, 409, 'invalid_state_transition');
  add('append "" to completed', C, { append: '' }, 409, 'invalid_state_transition');
  add('append to incomplete', I, { append: 'more' }, 409, 'invalid_state_transition');
  add('append to completed with status completed', C, { append: 'more', status: 'completed' }, 409, 'invalid_state_transition');
  add('append to completed with metadata', C, { append: 'more', metadata: { x: 1 } }, 409, 'invalid_state_transition');
  add('append to array content', A, { append: 'more' }, 400, 'validation_failed', 'append');
  add('append to array content with status completed', A, { append: 'more', status: 'completed' }, 400, 'validation_failed', 'append');
  add('append to array content with metadata', A, { append: 'more', metadata: { x: 1 } }, 400, 'validation_failed', 'append');
  await expectRejected(t, cases);

  await t.test('after a content replacement with parts, append is 400; back to a string, it works', async () => {
    const m = await c.post(M(T2), { role: 'assistant', content: 'abc', status: 'in_progress' });
    assertStatus(m, 201);
    const p = `${M(T2)}/${m.json.id}`;
    assertStatus(await c.patch(p, { content: [{ type: 'text', text: 'abc' }] }), 200);
    assertProblem(await c.patch(p, { append: 'd' }), 400, 'validation_failed', 'append');
    assertStatus(await c.patch(p, { content: 'xyz' }), 200);
    const ok = await c.patch(p, { append: '!' });
    assertStatus(ok, 200);
    assert.equal(ok.json.content, 'xyz!');
    assertStatus(await c.patch(p, { status: 'incomplete' }), 200);
    assertProblem(await c.patch(p, { append: '?' }), 409, 'invalid_state_transition');
    assertProblem(await c.patch(p, { status: 'completed' }), 409, 'invalid_state_transition');
    assert.equal((await c.get(p)).json.content, 'xyz!');
    assert.equal((await c.get(p)).json.status, 'incomplete');
  });
});

test('hand-made requests: a chunked message is appended; a truncated one is invalid_json', async () => {
  const body = JSON.stringify({ role: 'user', content: 'chunked' });
  const r = await raw(srv.url, { method: 'POST', path: M(T2), key: c.key, headers: { 'Content-Type': 'application/json' }, chunks: [body.slice(0, 5), body.slice(5)] });
  assertStatus(r, 201);
  assert.equal(r.json.content, 'chunked');
  assertStatus(await c.del(`${M(T2)}/${r.json.id}`), 200);
  const before = await snapshot();
  const short = await raw(srv.url, { method: 'POST', path: M(T2), key: c.key, headers: { 'Content-Type': 'application/json' }, body: '{"role":"user","content":"x"}', contentLength: 10 });
  assertProblem(short, 400, 'invalid_json');
  assert.deepEqual(await snapshot(), before, 'nothing was written');
});
