// Messages: append one or a batch, read, list and page, stream-free PATCH, delete, clear, and
// threads created with messages. Seq is 1-based, gap-free and never reused; content comes back as
// the client's own JSON text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, client, listAll, assertProblem, assertStatus, assertList, uniq, micros, sleep, UUID_RE, TIME_RE, SAFE_ID_RE } from './lib/harness.mjs';

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool'];
const STATUSES = ['in_progress', 'completed', 'incomplete'];

let srv;
let org;
let c;

before(async () => {
  srv = await startServer();
  org = await createOrg(uniq('msgs'));
  c = client(srv.url, org.api_key);
});
after(async () => {
  await srv?.stop();
});

function assertMessage(m, threadId) {
  assert.equal(m.object, 'message');
  assert.match(m.id, SAFE_ID_RE);
  if (threadId !== undefined) assert.equal(m.thread_id, threadId);
  assert.ok(Number.isInteger(m.seq) && m.seq >= 1, `seq ${m.seq}`);
  assert.ok(ROLES.includes(m.role), `role ${m.role}`);
  assert.ok(typeof m.content === 'string' || Array.isArray(m.content), 'content is a string or an array');
  assert.ok(m.name === null || typeof m.name === 'string');
  assert.ok(STATUSES.includes(m.status), `status ${m.status}`);
  assert.ok(m.run_id === null || typeof m.run_id === 'string');
  assert.ok(m.metadata && typeof m.metadata === 'object' && !Array.isArray(m.metadata));
  assert.match(m.created_at, TIME_RE);
  assert.match(m.updated_at, TIME_RE);
  assert.deepEqual(
    Object.keys(m).sort(),
    ['content', 'created_at', 'id', 'metadata', 'name', 'object', 'role', 'run_id', 'seq', 'status', 'thread_id', 'updated_at'],
    'exactly the message fields',
  );
}

async function newThread(body = {}) {
  const r = await c.post('/v1/threads', body);
  assertStatus(r, 201);
  return r.json.id;
}

const M = (tid) => `/v1/threads/${encodeURIComponent(tid)}/messages`;

async function append(tid, body) {
  const r = await c.post(M(tid), body);
  assertStatus(r, 201);
  assertMessage(r.json, tid);
  return r.json;
}

async function thread(tid) {
  const r = await c.get(`/v1/threads/${encodeURIComponent(tid)}`);
  assertStatus(r, 200);
  return r.json;
}

async function allMessages(tid, qs = 'order=asc&limit=100') {
  const items = await listAll(c, `${M(tid)}?${qs}`);
  for (const m of items) assertMessage(m, tid);
  return items;
}

test('appending assigns seq 1, 2, 3 and keeps message_count and last_message_at current', async () => {
  const tid = await newThread();
  const t0 = await thread(tid);
  assert.equal(t0.message_count, 0);
  assert.equal(t0.last_message_at, null);

  const got = [];
  for (let i = 1; i <= 3; i++) {
    const m = await append(tid, { role: i % 2 ? 'user' : 'assistant', content: `hello ${i}` });
    assert.equal(m.seq, i);
    assert.equal(m.thread_id, tid);
    assert.match(m.id, UUID_RE, 'a generated id is a UUID');
    assert.equal(m.content, `hello ${i}`);
    assert.equal(m.name, null);
    assert.equal(m.status, 'completed', 'status defaults to completed');
    assert.equal(m.run_id, null);
    assert.deepEqual(m.metadata, {});
    assert.equal(m.created_at, m.updated_at);
    const age = Date.now() - Number(micros(m.created_at) / 1000n);
    assert.ok(Math.abs(age) < 60000, `created_at is now (off by ${age} ms)`);

    const t = await thread(tid);
    assert.equal(t.message_count, i, 'message_count follows the appends');
    assert.ok(t.last_message_at !== null, 'last_message_at is set');
    assert.ok(micros(t.last_message_at) >= micros(m.created_at) - 1000000n && micros(t.last_message_at) <= micros(m.created_at) + 1000000n, 'last_message_at is the time of the newest append');
    if (got.length) assert.ok(micros(t.last_message_at) >= micros(got[got.length - 1].created_at), 'last_message_at moves forward');
    got.push(m);
    await sleep(2);
  }
  assert.equal(new Set(got.map((m) => m.id)).size, 3, 'generated ids differ');
  for (const m of got) {
    assert.equal(m.id[14], '7', `${m.id} is a version-7 UUID`);
    const ms = parseInt(m.id.slice(0, 8) + m.id.slice(9, 13), 16);
    const created = Number(micros(m.created_at) / 1000n);
    assert.ok(Math.abs(ms - created) < 60000, `${m.id} carries its creation time (${ms} vs ${created})`);
  }
  const ids = got.map((m) => m.id);
  assert.deepEqual([...ids].sort(), ids, 'ids made milliseconds apart sort in creation order');
});

test('client-supplied ids use the whole alphabet and length; GET finds them', async () => {
  const tid = await newThread();
  const ids = [uniq('a'), uniq('A.b_c:d-e'), (uniq('L') + 'x'.repeat(128)).slice(0, 128), uniq('urn:msg:1'), uniq('0')];
  assert.equal(ids[2].length, 128);
  let seq = 0;
  for (const id of ids) {
    const m = await append(tid, { id, role: 'user', content: id });
    assert.equal(m.id, id);
    assert.equal(m.seq, ++seq);
    const g = await c.get(`${M(tid)}/${encodeURIComponent(id)}`);
    assertStatus(g, 200);
    assert.deepEqual(g.json, m);
  }
});

test('every field is stored and returned; GET and the list show the same object', async () => {
  const tid = await newThread();
  const made = [];
  for (const [i, role] of ROLES.entries()) {
    const body = {
      id: uniq(`f${i}`),
      role,
      content: `Grüße ✓ "quoted" \\ back\nnew line\ttab 😀 ${role}`,
      name: i % 2 ? `name-${role} ✓` : null,
      status: STATUSES[i % 3],
      run_id: i % 2 ? null : `run:${i}`,
      metadata: { i, nested: { a: [1, 'two', null, true] }, s: 'ü' },
    };
    const m = await append(tid, body);
    for (const k of Object.keys(body)) assert.deepEqual(m[k], body[k], `${role}: ${k}`);
    made.push(m);
  }
  // Omitted metadata and metadata null both become {}.
  const nul = await append(tid, { role: 'user', content: 'x', metadata: null, name: null, run_id: null });
  assert.deepEqual(nul.metadata, {});
  made.push(nul);
  for (const m of made) {
    const g = await c.get(`${M(tid)}/${m.id}`);
    assertStatus(g, 200);
    assert.deepEqual(g.json, m);
  }
  assert.deepEqual(await allMessages(tid), made);
});

test('a name of 256 characters (not bytes) is accepted', async () => {
  const tid = await newThread();
  for (const name of ['n'.repeat(256), 'é'.repeat(256), '日'.repeat(256), 'x']) {
    const m = await append(tid, { role: 'tool', content: 'r', name });
    assert.equal(m.name, name);
  }
});

test('content as an array of parts comes back as the client sent it, byte for byte', async () => {
  const tid = await newThread();
  const parts = '[{"type":"text","text":"x","w":0.1,"n":1e2}]';
  const r = await c.send('POST', M(tid), `{"role":"user","content":${parts}}`);
  assertStatus(r, 201);
  assertMessage(r.json, tid);
  assert.ok(r.text.includes(`"content":${parts}`), `content verbatim in the POST response:\n${r.text}`);

  const g = await c.get(`${M(tid)}/${r.json.id}`);
  assertStatus(g, 200);
  assert.ok(g.text.includes(`"content":${parts}`), `content verbatim in GET:\n${g.text}`);
  const l = await c.get(M(tid));
  assertStatus(l, 200);
  assert.ok(l.text.includes(`"content":${parts}`), `content verbatim in the list:\n${l.text}`);

  // Key order, big and precise numbers, escapes and nested values are kept as written.
  const odd =
    '[{"z":1,"type":"image_url","a":{"url":"https://x.invalid/a.png","detail":"low"}},' +
    '{"type":"text","text":"caf\\u00e9 \\"q\\" \\n","f":1.10,"e":-0E+0,"l":[1.5e-7,true,null],"x":9007199254740993}]';
  const r2 = await c.send('POST', M(tid), `{"content":${odd},"role":"assistant","name":"n"}`);
  assertStatus(r2, 201);
  assert.ok(r2.text.includes(`"content":${odd}`), `content verbatim:\n${r2.text}`);
  const g2 = await c.get(`${M(tid)}/${r2.json.id}`);
  assert.ok(g2.text.includes(`"content":${odd}`), `content verbatim in GET:\n${g2.text}`);
  assert.equal(r2.json.content[1].text, 'café "q" \n');

  // A string content is the same string, and an empty array of parts is a valid array.
  const s = await append(tid, { role: 'user', content: '' });
  assert.equal(s.content, '');
  const e = await append(tid, { role: 'user', content: [] });
  assert.deepEqual(e.content, []);
  const p1 = await append(tid, { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'input_audio', data: { format: 'wav' } }] });
  assert.deepEqual(p1.content, [{ type: 'text', text: 'hi' }, { type: 'input_audio', data: { format: 'wav' } }]);
});

test('content holding an integer beyond 64 bits is valid JSON: accepted and kept verbatim', async () => {
  const tid = await newThread();
  const parts = '[{"type":"data","big":12345678901234567890123,"neg":-98765432109876543210}]';
  const r = await c.send('POST', M(tid), `{"role":"tool","content":${parts}}`);
  assertStatus(r, 201);
  assert.ok(r.text.includes(`"content":${parts}`), r.text);
});

test('content is verbatim also when the client escapes the member name ("c\\u006fntent", "m\\u0065ssages")', async () => {
  const tid = await newThread();
  const parts = '[{"type":"text","w":0.1,"n":1e2}]';
  const r = await c.send('POST', M(tid), `{"role":"user","c\\u006fntent":${parts}}`);
  assertStatus(r, 201);
  assert.ok(r.text.includes(`"content":${parts}`), `content verbatim with an escaped key:\n${r.text}`);
  const b = await c.send('POST', `${M(tid)}/batch`, `{"m\\u0065ssages":[{"role":"user","content":${parts}}]}`);
  assertStatus(b, 201);
  assert.ok(b.text.includes(`"content":${parts}`), `batch content verbatim with an escaped key:\n${b.text}`);
});

test('GET of an unknown message, or of a message of another thread, is 404', async () => {
  const t1 = await newThread();
  const t2 = await newThread();
  const m = await append(t1, { role: 'user', content: 'in t1' });
  assertProblem(await c.get(`${M(t1)}/${uniq('nope')}`), 404, 'not_found');
  assertProblem(await c.get(`${M(t2)}/${m.id}`), 404, 'not_found');
  assertProblem(await c.patch(`${M(t2)}/${m.id}`, { metadata: { x: 1 } }), 404, 'not_found');
  assertProblem(await c.del(`${M(t2)}/${m.id}`), 404, 'not_found');
  assertProblem(await c.get(`${M(t1)}/a%20b`), 404, 'not_found');
  assertProblem(await c.get(`${M(t1)}/${'x'.repeat(129)}`), 404, 'not_found');
  assertProblem(await c.get(`${M(uniq('nothread'))}/${m.id}`), 404, 'not_found');
  assert.deepEqual((await c.get(`${M(t1)}/${m.id}`)).json, m, 'untouched');
});

test('a message may be called "batch"; other methods on message paths are 405', async () => {
  const tid = await newThread();
  const m = await append(tid, { id: 'batch', role: 'user', content: 'named batch' });
  // OpenAPI matches the literal path …/messages/batch (POST only) before …/messages/{message_id},
  // so these answers cannot be checked against the spec: they are checked here instead.
  const nv = { validate: false };
  const g = await c.get(`${M(tid)}/batch`, nv);
  assertStatus(g, 200);
  assert.deepEqual(g.json, m);
  const p = await c.patch(`${M(tid)}/batch`, { metadata: { a: 1 } }, nv);
  assertStatus(p, 200);
  assertMessage(p.json, tid);
  assert.deepEqual(p.json.metadata, { a: 1 });
  const b = await c.post(`${M(tid)}/batch`, { messages: [{ role: 'user', content: 'real batch' }] });
  assertStatus(b, 201);
  assert.equal(b.json.data[0].seq, 2);
  const d = await c.del(`${M(tid)}/batch`, nv);
  assertStatus(d, 200);
  assert.deepEqual(d.json, { id: 'batch', object: 'message.deleted', deleted: true });
  const gone = await c.get(`${M(tid)}/batch`, nv);
  assert.equal(gone.status, 404);
  assert.equal(gone.json.code, 'not_found');

  for (const [method, path] of [
    ['PUT', M(tid)],
    ['PATCH', M(tid)],
    ['PUT', `${M(tid)}/${b.json.data[0].id}`],
    ['POST', `${M(tid)}/${b.json.data[0].id}`],
  ]) {
    const r = await c.api(method, path, { body: {} });
    assertProblem(r, 405, 'method_not_allowed');
  }
});

test('the list is newest first by default, oldest first with order=asc; filters role, run_id, status', async () => {
  const tid = await newThread();
  const specs = [];
  for (let i = 0; i < 30; i++) {
    specs.push({ id: `l${i}-${uniq('')}`, role: ROLES[i % 5], content: `m${i}`, status: STATUSES[i % 3], run_id: i % 4 === 0 ? null : `run-${i % 4}` });
  }
  const made = [];
  for (const s of specs) made.push(await append(tid, s));
  const ids = made.map((m) => m.id);

  const def = await c.get(M(tid));
  const d = assertList(def);
  assert.deepEqual(d.map((m) => m.id), ids.slice().reverse().slice(0, 20), 'default: the 20 newest, newest first');
  assert.equal(def.json.has_more, true);
  for (const m of d) assertMessage(m, tid);

  const asc = assertList(await c.get(`${M(tid)}?order=asc&limit=100`));
  assert.deepEqual(asc, made, 'order=asc: everything, oldest first, same objects as created');
  const desc = await c.get(`${M(tid)}?order=desc&limit=100`);
  assert.deepEqual(assertList(desc).map((m) => m.id), ids.slice().reverse());
  assert.equal(desc.json.has_more, false);

  const check = async (qs, pred) => {
    for (const order of ['asc', 'desc']) {
      const want = made.filter(pred).map((m) => m.id);
      if (order === 'desc') want.reverse();
      const r = await c.get(`${M(tid)}?${qs}&order=${order}&limit=100`);
      assert.deepEqual(assertList(r).map((m) => m.id), want, `${qs} ${order}`);
      assert.equal(r.json.has_more, false);
      // Paged with a small limit the filtered walk is the same.
      const paged = await listAll(c, `${M(tid)}?${qs}&order=${order}&limit=2`);
      assert.deepEqual(paged.map((m) => m.id), want, `${qs} ${order} paged by 2`);
    }
  };
  for (const role of ROLES) await check(`role=${role}`, (m) => m.role === role);
  for (const status of STATUSES) await check(`status=${status}`, (m) => m.status === status);
  for (const run of ['run-1', 'run-2', 'run-3']) await check(`run_id=${run}`, (m) => m.run_id === run);
  await check('role=user&status=completed', (m) => m.role === 'user' && m.status === 'completed');
  await check('role=tool&run_id=run-1&status=in_progress', (m) => m.role === 'tool' && m.run_id === 'run-1' && m.status === 'in_progress');
  await check('run_id=no-such-run', () => false);

  const none = await c.get(`${M(tid)}?run_id=no-such-run`);
  assert.deepEqual(assertList(none), []);
  assert.equal(none.json.first_id, null);
  assert.equal(none.json.last_id, null);
  assert.equal(none.json.has_more, false);

  const empty = await c.get(M(await newThread()));
  assert.deepEqual(assertList(empty), []);
  assert.equal(empty.json.has_more, false);

  // Backwards through a filter, both orders.
  for (const order of ['asc', 'desc']) {
    const want = made.filter((x) => x.role === 'user').map((x) => x.id);
    if (order === 'desc') want.reverse();
    const lastId = want[want.length - 1];
    const r = await c.get(`${M(tid)}?role=user&order=${order}&limit=2&before=${lastId}`);
    assert.deepEqual(assertList(r).map((x) => x.id), want.slice(-3, -1), `role=user ${order} before the last`);
    assert.equal(r.json.has_more, want.length > 3);
  }

  // A filtered page may start after a cursor that does not itself match the filter.
  const firstUser = made.findIndex((m) => m.role === 'user');
  const r = await c.get(`${M(tid)}?order=asc&role=assistant&after=${ids[firstUser]}&limit=100`);
  assert.deepEqual(assertList(r).map((m) => m.id), made.slice(firstUser + 1).filter((m) => m.role === 'assistant').map((m) => m.id));
});

test('keyset pagination over 250 messages: forwards and backwards, both orders, exact has_more', async () => {
  const N = 250;
  const tid = await newThread();
  const made = [];
  // 150 by batch, 100 one by one: the order is seq order either way.
  const b = await c.post(`${M(tid)}/batch`, { messages: Array.from({ length: 150 }, (_, i) => ({ role: 'user', content: `b${i}` })) });
  assertStatus(b, 201);
  made.push(...b.json.data);
  for (let i = 0; i < 100; i++) made.push(await append(tid, { role: 'assistant', content: `s${i}` }));
  assert.deepEqual(made.map((m) => m.seq), Array.from({ length: N }, (_, i) => i + 1));
  const ids = { asc: made.map((m) => m.id), desc: made.map((m) => m.id).reverse() };
  const list = (qs) => c.get(`${M(tid)}?${qs}`);

  for (const order of ['asc', 'desc']) {
    const want = ids[order];
    for (const limit of [100, 37, 1]) {
      // Forwards with after.
      const got = [];
      let cursor = null;
      for (let page = 0; page <= N; page++) {
        const r = await list(`order=${order}&limit=${limit}${cursor ? `&after=${cursor}` : ''}`);
        const data = assertList(r);
        const start = got.length;
        assert.deepEqual(data.map((m) => m.id), want.slice(start, start + limit), `forward page ${page} (${order}, limit ${limit})`);
        got.push(...data.map((m) => m.id));
        assert.equal(r.json.has_more, got.length < N, `has_more on forward page ${page} (${order}, limit ${limit})`);
        if (!r.json.has_more) break;
        cursor = r.json.last_id;
      }
      assert.deepEqual(got, want, `forward walk ${order} ${limit}: no gaps, no duplicates`);

      // Backwards with before, from the last item.
      let end = N - 1;
      cursor = want[end];
      const back = [];
      for (let page = 0; page <= N; page++) {
        const r = await list(`order=${order}&limit=${limit}&before=${cursor}`);
        const data = assertList(r);
        const start = Math.max(0, end - limit);
        assert.deepEqual(data.map((m) => m.id), want.slice(start, end), `backward page ${page} (${order}, limit ${limit}), in the requested order`);
        assert.equal(r.json.has_more, start > 0, `has_more on backward page ${page} (${order}, limit ${limit})`);
        back.unshift(...data.map((m) => m.id));
        if (!r.json.has_more) break;
        cursor = r.json.first_id;
        end = start;
      }
      assert.deepEqual(back, want.slice(0, N - 1), `backward walk ${order} ${limit}: no gaps, no duplicates`);
    }

    // The ends.
    const afterLast = await list(`order=${order}&after=${want[N - 1]}`);
    assert.deepEqual(assertList(afterLast), []);
    assert.equal(afterLast.json.has_more, false);
    assert.equal(afterLast.json.first_id, null);
    assert.equal(afterLast.json.last_id, null);
    const beforeFirst = await list(`order=${order}&before=${want[0]}`);
    assert.deepEqual(assertList(beforeFirst), []);
    assert.equal(beforeFirst.json.has_more, false);
    const exact = await list(`order=${order}&limit=5&after=${want[N - 6]}`);
    assert.deepEqual(assertList(exact).map((m) => m.id), want.slice(N - 5));
    assert.equal(exact.json.has_more, false, 'a page ending exactly at the last item has no more');
    const exactBack = await list(`order=${order}&limit=5&before=${want[5]}`);
    assert.deepEqual(assertList(exactBack).map((m) => m.id), want.slice(0, 5));
    assert.equal(exactBack.json.has_more, false, 'a backward page ending exactly at the first item has no more');
    const mid = await list(`order=${order}&limit=3&before=${want[100]}`);
    assert.deepEqual(assertList(mid).map((m) => m.id), want.slice(97, 100));
    assert.equal(mid.json.has_more, true);
    assert.equal(mid.json.first_id, want[97]);
    assert.equal(mid.json.last_id, want[99]);
  }
  assert.equal((await thread(tid)).message_count, N);
});

test('batch: 201 list envelope, input order, consecutive seqs after the existing ones', async () => {
  const tid = await newThread();
  await append(tid, { role: 'system', content: 'first' });
  const msgs = [
    { id: uniq('b0'), role: 'user', content: 'one', name: 'alice', metadata: { k: 1 } },
    { role: 'assistant', content: [{ type: 'text', text: 'two' }], status: 'in_progress', run_id: 'r1' },
    { role: 'tool', content: 'three', name: 'calc', status: 'incomplete' },
    { id: uniq('b3'), role: 'developer', content: '' },
  ];
  const r = await c.post(`${M(tid)}/batch`, { messages: msgs });
  assertStatus(r, 201);
  const l = r.json;
  assert.equal(l.object, 'list');
  assert.equal(l.has_more, false);
  assert.equal(l.data.length, 4);
  assert.equal(l.first_id, l.data[0].id);
  assert.equal(l.last_id, l.data[3].id);
  assert.deepEqual(l.data.map((m) => m.seq), [2, 3, 4, 5]);
  l.data.forEach((m, i) => {
    assertMessage(m, tid);
    for (const k of Object.keys(msgs[i])) assert.deepEqual(m[k], msgs[i][k], `data[${i}].${k}`);
  });
  assert.equal(l.data[0].id, msgs[0].id);
  assert.match(l.data[1].id, UUID_RE);
  assert.equal(l.data[1].name, null);
  assert.equal(l.data[0].status, 'completed');
  assert.deepEqual(l.data[2].metadata, {});
  assert.equal(new Set(l.data.map((m) => m.id)).size, 4);

  const t = await thread(tid);
  assert.equal(t.message_count, 5);
  assert.ok(t.last_message_at !== null);
  assert.deepEqual((await allMessages(tid)).slice(1), l.data, 'GET shows what the batch returned');

  const next = await append(tid, { role: 'user', content: 'after batch' });
  assert.equal(next.seq, 6);

  // A batch of one, and the maximum of 1000.
  const one = await c.post(`${M(tid)}/batch`, { messages: [{ role: 'user', content: 'solo' }] });
  assertStatus(one, 201);
  assert.deepEqual(one.json.data.map((m) => m.seq), [7]);
  const big = await c.post(`${M(tid)}/batch`, { messages: Array.from({ length: 1000 }, (_, i) => ({ role: 'user', content: `n${i}` })) });
  assertStatus(big, 201);
  assert.equal(big.json.data.length, 1000);
  assert.equal(big.json.has_more, false);
  big.json.data.forEach((m, i) => {
    assert.equal(m.seq, 8 + i);
    assert.equal(m.content, `n${i}`);
  });
  assert.equal((await thread(tid)).message_count, 1007);
});

test('batch content is verbatim per message', async () => {
  const tid = await newThread();
  const a = '[{"type":"text","text":"x","w":0.1,"n":1e2}]';
  const b = '{"type":"ignored"}';
  const text = `{"messages":[{"role":"user","content":${a}},{"content":"plain \\u00e9","role":"assistant","metadata":{"m":${b}}}]}`;
  const r = await c.send('POST', `${M(tid)}/batch`, text);
  assertStatus(r, 201);
  assert.ok(r.text.includes(`"content":${a}`), r.text);
  assert.equal(r.json.data[1].content, 'plain é');
  assert.deepEqual(r.json.data[1].metadata, { m: { type: 'ignored' } });
  const g = await c.get(`${M(tid)}/${r.json.data[0].id}`);
  assert.ok(g.text.includes(`"content":${a}`), g.text);
});

test('POST /v1/threads with messages: seq 1..n, message_count n, then appends continue', async () => {
  const id = uniq('withmsgs');
  const msgs = [
    { role: 'system', content: 'be brief' },
    { id: uniq('m1'), role: 'user', content: [{ type: 'text', text: 'hi' }], metadata: { a: 1 } },
    { role: 'assistant', content: 'hello', name: 'bot', status: 'incomplete', run_id: 'r-1' },
  ];
  const r = await c.post('/v1/threads', { id, title: 'seeded', messages: msgs });
  assertStatus(r, 201);
  assert.equal(r.json.id, id);
  assert.equal(r.json.message_count, 3);
  assert.match(r.json.last_message_at, TIME_RE);
  assert.ok(!('messages' in r.json), 'the thread object does not embed messages');
  const all = await allMessages(id);
  assert.deepEqual(all.map((m) => m.seq), [1, 2, 3]);
  all.forEach((m, i) => {
    for (const k of Object.keys(msgs[i])) assert.deepEqual(m[k], msgs[i][k], `messages[${i}].${k}`);
  });
  assert.equal(all[1].id, msgs[1].id);
  assert.deepEqual(await thread(id), r.json);
  const next = await append(id, { role: 'user', content: 'more' });
  assert.equal(next.seq, 4);
  assert.equal((await thread(id)).message_count, 4);

  // Verbatim content through thread creation too.
  const parts = '[{"type":"text","w":0.1,"n":1e2}]';
  const raw = await c.send('POST', '/v1/threads', `{"messages":[{"role":"user","content":${parts}}]}`);
  assertStatus(raw, 201);
  const g = await c.get(`${M(raw.json.id)}?order=asc`);
  assert.ok(g.text.includes(`"content":${parts}`), g.text);

  // An empty list is a thread without messages; 100 is the maximum.
  const e = await c.post('/v1/threads', { messages: [] });
  assertStatus(e, 201);
  assert.equal(e.json.message_count, 0);
  assert.equal(e.json.last_message_at, null);
  const h = await c.post('/v1/threads', { messages: Array.from({ length: 100 }, (_, i) => ({ role: 'user', content: `c${i}` })) });
  assertStatus(h, 201);
  assert.equal(h.json.message_count, 100);
  const hm = await allMessages(h.json.id);
  assert.deepEqual(hm.map((m) => m.content), Array.from({ length: 100 }, (_, i) => `c${i}`));
  assert.deepEqual(hm.map((m) => m.seq), Array.from({ length: 100 }, (_, i) => i + 1));
});

test('deleting a message: deletion record, 404 afterwards, message_count drops, seq not reused', async () => {
  const tid = await newThread();
  const ms = [];
  for (let i = 0; i < 4; i++) ms.push(await append(tid, { role: 'user', content: `d${i}` }));
  const d = await c.del(`${M(tid)}/${ms[3].id}`);
  assertStatus(d, 200);
  assert.deepEqual(d.json, { id: ms[3].id, object: 'message.deleted', deleted: true });
  assertProblem(await c.get(`${M(tid)}/${ms[3].id}`), 404, 'not_found');
  assertProblem(await c.del(`${M(tid)}/${ms[3].id}`), 404, 'not_found');
  assertProblem(await c.patch(`${M(tid)}/${ms[3].id}`, { metadata: { a: 1 } }), 404, 'not_found');
  assert.equal((await thread(tid)).message_count, 3);

  const next = await append(tid, { role: 'user', content: 'after delete' });
  assert.equal(next.seq, 5, 'the deleted last seq is not reused');

  assertStatus(await c.del(`${M(tid)}/${ms[1].id}`), 200);
  assert.equal((await thread(tid)).message_count, 3);
  assert.deepEqual((await allMessages(tid)).map((m) => m.seq), [1, 3, 5]);
  // A deleted id is free again in the org.
  const reuse = await append(tid, { id: ms[1].id, role: 'user', content: 'reused id' });
  assert.equal(reuse.seq, 6);
});

test('clearing a thread: deleted_count, message_count 0, last_message_at null, seq continues', async () => {
  const tid = await newThread({ title: 'keep me' });
  const b = await c.post(`${M(tid)}/batch`, { messages: Array.from({ length: 7 }, (_, i) => ({ role: 'user', content: `c${i}` })) });
  assertStatus(b, 201);
  assertStatus(await c.del(`${M(tid)}/${b.json.data[6].id}`), 200);
  const r = await c.del(M(tid));
  assertStatus(r, 200);
  assert.deepEqual(r.json, { object: 'thread.messages.deleted', thread_id: tid, deleted_count: 6 });
  const t = await thread(tid);
  assert.equal(t.message_count, 0);
  assert.equal(t.last_message_at, null);
  assert.equal(t.title, 'keep me', 'the thread is kept');
  assert.deepEqual(assertList(await c.get(M(tid))), []);
  for (const m of b.json.data) assertProblem(await c.get(`${M(tid)}/${m.id}`), 404, 'not_found');

  const next = await append(tid, { role: 'user', content: 'after clear' });
  assert.equal(next.seq, 8, 'seq continues after a clear');
  const t2 = await thread(tid);
  assert.equal(t2.message_count, 1);
  assert.ok(t2.last_message_at !== null);

  // Clearing an empty thread deletes nothing; an unknown thread is 404.
  const empty = await newThread();
  const e = await c.del(M(empty));
  assertStatus(e, 200);
  assert.deepEqual(e.json, { object: 'thread.messages.deleted', thread_id: empty, deleted_count: 0 });
  assertProblem(await c.del(M(uniq('none'))), 404, 'not_found');
});

test('deleting the thread removes its messages', async () => {
  const tid = uniq('gone');
  await newThread({ id: tid });
  const mid = uniq('gone-m');
  const m = await append(tid, { id: mid, role: 'user', content: 'bye' });
  await append(tid, { role: 'assistant', content: 'streaming', status: 'in_progress' });
  const s = await c.post(M(tid), { role: 'assistant', content: 'x', status: 'in_progress' });
  assertStatus(await c.patch(`${M(tid)}/${s.json.id}`, { append: ' delta' }), 200);
  assertStatus(await c.del(`/v1/threads/${tid}`), 200);
  assertProblem(await c.get(`${M(tid)}/${m.id}`), 404, 'not_found');
  assertProblem(await c.get(M(tid)), 404, 'not_found');
  assertProblem(await c.post(M(tid), { role: 'user', content: 'x' }), 404, 'not_found');

  // Recreated with the same id, the thread is empty and the message ids are free again.
  await newThread({ id: tid });
  assert.deepEqual(assertList(await c.get(M(tid))), []);
  const again = await append(tid, { id: mid, role: 'user', content: 'again' });
  assert.equal(again.seq, 1);
  assert.equal((await thread(tid)).message_count, 1);
});

test('PATCH: metadata merges, content replaces, status moves from in_progress, updated_at advances', async () => {
  const tid = await newThread();
  const m = await append(tid, { role: 'assistant', content: 'draft', status: 'in_progress', metadata: { keep: 1, drop: 2, change: 'a' } });
  await sleep(2);
  const p1 = await c.patch(`${M(tid)}/${m.id}`, { metadata: { drop: null, change: 'b', added: { x: [1] } } });
  assertStatus(p1, 200);
  assertMessage(p1.json, tid);
  assert.deepEqual(p1.json.metadata, { keep: 1, change: 'b', added: { x: [1] } });
  assert.equal(p1.json.content, 'draft');
  assert.equal(p1.json.seq, m.seq);
  assert.equal(p1.json.created_at, m.created_at);
  assert.ok(micros(p1.json.updated_at) > micros(m.updated_at), 'updated_at moves forward');

  const parts = '[{"type":"text","text":"final","p":0.1}]';
  const p2 = await c.send('PATCH', `${M(tid)}/${m.id}`, `{"content":${parts}}`);
  assertStatus(p2, 200);
  assert.ok(p2.text.includes(`"content":${parts}`), p2.text);
  assert.equal(p2.json.status, 'in_progress');

  const same = await c.patch(`${M(tid)}/${m.id}`, { status: 'in_progress' });
  assertStatus(same, 200);
  assert.equal(same.json.status, 'in_progress');

  const done = await c.patch(`${M(tid)}/${m.id}`, { status: 'completed' });
  assertStatus(done, 200);
  assert.equal(done.json.status, 'completed');
  assert.ok(done.text.includes(`"content":${parts}`), done.text);
  const again = await c.patch(`${M(tid)}/${m.id}`, { status: 'completed' });
  assertStatus(again, 200, 'the same status again is a no-op');
  assert.equal(again.json.status, 'completed');

  // Content may be replaced in any status; metadata too.
  const late = await c.patch(`${M(tid)}/${m.id}`, { content: 'edited', metadata: { keep: null } });
  assertStatus(late, 200);
  assert.equal(late.json.content, 'edited');
  assert.deepEqual(late.json.metadata, { change: 'b', added: { x: [1] } });
  assert.equal(late.json.status, 'completed');

  const inc = await append(tid, { role: 'assistant', content: 'partial', status: 'in_progress' });
  const pi = await c.patch(`${M(tid)}/${inc.id}`, { status: 'incomplete' });
  assertStatus(pi, 200);
  assert.equal(pi.json.status, 'incomplete');
  assertStatus(await c.patch(`${M(tid)}/${inc.id}`, { status: 'incomplete' }), 200);

  // An empty PATCH changes nothing.
  const before = (await c.get(`${M(tid)}/${inc.id}`)).json;
  const nop = await c.patch(`${M(tid)}/${inc.id}`, {});
  assertStatus(nop, 200);
  for (const k of ['id', 'seq', 'role', 'content', 'name', 'status', 'run_id', 'metadata', 'created_at']) assert.deepEqual(nop.json[k], before[k], k);
  assert.equal((await thread(tid)).message_count, 2, 'PATCH does not change message_count');
});

test('PATCH with Prefer: return=minimal is 204 without a body, also for non-append changes', async () => {
  const tid = await newThread();
  const m = await append(tid, { role: 'assistant', content: 'a', status: 'in_progress' });
  const h = { prefer: 'return=minimal' };
  const r1 = await c.patch(`${M(tid)}/${m.id}`, { metadata: { x: 1 } }, { headers: h });
  assertStatus(r1, 204);
  assert.equal(r1.text, '');
  const r2 = await c.patch(`${M(tid)}/${m.id}`, { append: 'b' }, { headers: h });
  assertStatus(r2, 204);
  assert.equal(r2.text, '');
  const r3 = await c.patch(`${M(tid)}/${m.id}`, { append: 'c', status: 'completed' }, { headers: h });
  assertStatus(r3, 204);
  assert.equal(r3.text, '');
  const g = (await c.get(`${M(tid)}/${m.id}`)).json;
  assert.equal(g.content, 'abc');
  assert.equal(g.status, 'completed');
  assert.deepEqual(g.metadata, { x: 1 });
  const r4 = await c.patch(`${M(tid)}/${m.id}`, { metadata: { y: 2 } }, { headers: { prefer: 'return=representation' } });
  assertStatus(r4, 200);
  assert.deepEqual(r4.json.metadata, { x: 1, y: 2 });
});

test('Prefer is read as a list of preferences: only return=minimal itself asks for 204', async () => {
  const tid = await newThread();
  const m = await append(tid, { role: 'assistant', content: '', status: 'in_progress' });
  let want = '';
  for (const [prefer, status] of [
    ['respond-async, return=minimal', 204],
    ['return=minimal; foo="bar"', 204],
    ['  return=minimal  ', 204],
    ['return=representation', 200],
    ['return=minimalist', 200],
    ['x-return=minimal', 200],
    ['handling=lenient', 200],
  ]) {
    const r = await c.patch(`${M(tid)}/${m.id}`, { append: '.' }, { headers: { prefer } });
    assertStatus(r, status);
    want += '.';
    if (status === 204) assert.equal(r.text, '', `${prefer}: no body`);
    else assert.equal(r.json.content, want, `${prefer}: the message`);
  }
});

test('Idempotency-Key: a retried append or batch is replayed, not appended twice', async () => {
  const tid = await newThread();
  const key = uniq('idem');
  const h = { headers: { 'Idempotency-Key': key } };
  const first = await c.post(M(tid), { role: 'user', content: 'once' }, h);
  assertStatus(first, 201);
  const again = await c.post(M(tid), { role: 'user', content: 'once' }, h);
  assertStatus(again, 201);
  assert.deepEqual(again.json, first.json, 'the same message, replayed');
  const bkey = { headers: { 'Idempotency-Key': uniq('idem-b') } };
  const b1 = await c.post(`${M(tid)}/batch`, { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }, bkey);
  assertStatus(b1, 201);
  const b2 = await c.post(`${M(tid)}/batch`, { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }, bkey);
  assertStatus(b2, 201);
  assert.deepEqual(b2.json, b1.json);
  assert.deepEqual((await allMessages(tid)).map((x) => x.seq), [1, 2, 3]);
  assert.equal((await thread(tid)).message_count, 3);
  assertProblem(await c.post(M(tid), { role: 'user', content: 'different' }, h), 409, 'idempotency_key_reused');
});

test('POST /v1/threads?if_exists=return with messages does not append them to the existing thread', async () => {
  const id = uniq('ifx');
  const msgs = [{ role: 'user', content: 'seed' }];
  const r1 = await c.post('/v1/threads?if_exists=return', { id, messages: msgs });
  assertStatus(r1, 201);
  assert.equal(r1.json.message_count, 1);
  const r2 = await c.post('/v1/threads?if_exists=return', { id, messages: msgs });
  assertStatus(r2, 200);
  assert.equal(r2.json.message_count, 1);
  assertProblem(await c.post('/v1/threads', { id, messages: msgs }), 409, 'thread_exists');
  assert.deepEqual((await allMessages(id)).map((x) => x.content), ['seed']);
});

test('service and user keys append to and read the threads they may see', async () => {
  const svcR = await c.post('/v1/keys', { role: 'service' });
  assertStatus(svcR, 201);
  const svc = client(srv.url, svcR.json.key);
  const u = uniq('u');
  const userR = await c.post('/v1/keys', { role: 'user', user_id: u });
  assertStatus(userR, 201);
  const usr = client(srv.url, userR.json.key);

  const own = await usr.post('/v1/threads', { messages: [{ role: 'user', content: 'mine' }] });
  assertStatus(own, 201);
  assert.equal(own.json.user_id, u);
  assert.equal(own.json.message_count, 1);
  const tid = own.json.id;
  const m = await usr.post(M(tid), { role: 'user', content: 'second' });
  assertStatus(m, 201);
  assert.equal(m.json.seq, 2);
  const s = await svc.post(M(tid), { role: 'assistant', content: 'from the backend' });
  assertStatus(s, 201);
  assert.equal(s.json.seq, 3);
  assert.deepEqual(assertList(await usr.get(`${M(tid)}?order=asc`)).map((x) => x.content), ['mine', 'second', 'from the backend']);
  assertStatus(await usr.patch(`${M(tid)}/${s.json.id}`, { metadata: { seen: true } }), 200);
  assertStatus(await usr.del(`${M(tid)}/${m.json.id}`), 200);
  const b = await usr.post(`${M(tid)}/batch`, { messages: [{ role: 'user', content: 'b1' }, { role: 'user', content: 'b2' }] });
  assertStatus(b, 201);
  assert.deepEqual(b.json.data.map((x) => x.seq), [4, 5]);
  const cl = await usr.del(M(tid));
  assertStatus(cl, 200);
  assert.equal(cl.json.deleted_count, 4);
});
