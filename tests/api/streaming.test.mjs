// Streaming a message with PATCH {append}: thousands of deltas, exact concatenation, folding on
// completion, refusal afterwards; concurrent streams and concurrent writers to one message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, client, assertProblem, assertStatus, assertList, uniq, micros } from './lib/harness.mjs';

let srv;
let c;

before(async () => {
  srv = await startServer();
  c = client(srv.url, (await createOrg(uniq('stream'))).api_key);
});
after(async () => {
  await srv?.stop();
});

const M = (tid) => `/v1/threads/${tid}/messages`;
const MINIMAL = { headers: { prefer: 'return=minimal' } };

/** Delta i: whole code points only, with newlines, quotes, backslashes, unicode and emoji. */
const PIECES = ['Hello', ' ', 'world', '\n', '"quoted"', '\\', 'back\\slash\\n', 'é', '日本語', '😀', '👩‍💻', '\r\n', '\t', '', '{"json":[1,2]}', '</script>', '\u2028', '\u0001', "it's", '\\u0041', 'x'.repeat(40)];
const delta = (i) => `${PIECES[i % PIECES.length]}${i % 7 === 0 ? `[${i}]` : ''}`;

async function newThread() {
  const r = await c.post('/v1/threads', {});
  assertStatus(r, 201);
  return r.json.id;
}

async function startMessage(tid, body = {}) {
  const r = await c.post(M(tid), { role: 'assistant', content: '', status: 'in_progress', ...body });
  assertStatus(r, 201);
  return r.json;
}

async function content(tid, mid) {
  const r = await c.get(`${M(tid)}/${mid}`);
  assertStatus(r, 200);
  return r.json.content;
}

function assertSame(got, want, what) {
  if (got === want) return;
  let i = 0;
  while (i < got.length && got[i] === want[i]) i++;
  assert.fail(`${what}: differs at char ${i} of ${want.length} (got ${got.length}): got ${JSON.stringify(got.slice(i, i + 40))}, want ${JSON.stringify(want.slice(i, i + 40))}`);
}

test('5000 deltas with Prefer: return=minimal concatenate exactly; completion folds them', async () => {
  const N = 5000;
  const tid = await newThread();
  const m = await startMessage(tid);
  const P = `${M(tid)}/${m.id}`;
  let want = '';
  const t0 = Date.now();
  for (let i = 0; i < N; i++) {
    const d = delta(i);
    if (i === 2500) {
      // Without Prefer the answer is the whole message so far.
      const full = await c.patch(P, { append: d });
      assertStatus(full, 200);
      want += d;
      assertSame(full.json.content, want, 'PATCH without Prefer returns the content so far');
      assert.equal(full.json.status, 'in_progress');
      assert.equal(full.json.seq, m.seq);
      continue;
    }
    const r = await c.patch(P, { append: d }, MINIMAL);
    if (r.status !== 204 || r.text !== '') assert.fail(`delta ${i}: expected 204 without a body, got ${r.status} ${r.text.slice(0, 300)}`);
    want += d;
    if (i % 1000 === 999) assertSame(await content(tid, m.id), want, `GET after ${i + 1} deltas`);
  }
  const elapsed = Date.now() - t0;
  assertSame(await content(tid, m.id), want, 'GET after all deltas');
  const listed = assertList(await c.get(M(tid)));
  assertSame(listed[0].content, want, 'the list shows the streamed content');
  assert.equal(listed[0].status, 'in_progress');
  const mid = (await c.get(`${M(tid)}/${m.id}`)).json;
  assert.ok(micros(mid.updated_at) > micros(m.updated_at), 'appends move updated_at');
  assert.equal((await c.get(`/v1/threads/${tid}`)).json.message_count, 1, 'appends are not messages');

  const done = await c.patch(P, { status: 'completed' });
  assertStatus(done, 200);
  assert.equal(done.json.status, 'completed');
  assertSame(done.json.content, want, 'the completing PATCH returns the folded content');
  assertSame(await content(tid, m.id), want, 'GET after completion');
  assertSame(assertList(await c.get(M(tid)))[0].content, want, 'the list after completion');

  for (const body of [{ append: 'late' }, { append: '' }, { append: 'late', status: 'completed' }]) {
    assertProblem(await c.patch(P, body), 409, 'invalid_state_transition');
    assertProblem(await c.patch(P, body, MINIMAL), 409, 'invalid_state_transition');
  }
  const again = await c.patch(P, { status: 'completed' });
  assertStatus(again, 200);
  assertSame(again.json.content, want, 'completed again: a no-op');
  assertSame(await content(tid, m.id), want, 'nothing appended after completion');
  console.log(`# ${N} sequential appends in ${elapsed} ms`);
});

test('an append and the completion in one PATCH; incomplete also folds', async () => {
  const tid = await newThread();
  const a = await startMessage(tid, { content: 'start:' });
  for (let i = 0; i < 50; i++) assertStatus(await c.patch(`${M(tid)}/${a.id}`, { append: delta(i) }, MINIMAL), 204);
  let want = 'start:' + Array.from({ length: 50 }, (_, i) => delta(i)).join('');
  const r = await c.patch(`${M(tid)}/${a.id}`, { append: ' THE END', status: 'completed', metadata: { tokens: 51 } });
  assertStatus(r, 200);
  want += ' THE END';
  assertSame(r.json.content, want, 'final append then fold');
  assert.equal(r.json.status, 'completed');
  assert.deepEqual(r.json.metadata, { tokens: 51 });
  assertSame(await content(tid, a.id), want, 'GET');

  const b = await startMessage(tid);
  let wb = '';
  for (let i = 0; i < 30; i++) {
    assertStatus(await c.patch(`${M(tid)}/${b.id}`, { append: delta(i + 5) }, MINIMAL), 204);
    wb += delta(i + 5);
  }
  const inc = await c.patch(`${M(tid)}/${b.id}`, { status: 'incomplete' }, MINIMAL);
  assertStatus(inc, 204);
  assert.equal(inc.text, '');
  const g = (await c.get(`${M(tid)}/${b.id}`)).json;
  assert.equal(g.status, 'incomplete');
  assertSame(g.content, wb, 'incomplete keeps what was streamed');
  assertProblem(await c.patch(`${M(tid)}/${b.id}`, { append: 'x' }, MINIMAL), 409, 'invalid_state_transition');
  assertSame(await content(tid, b.id), wb, 'unchanged');
});

test('replacing the content mid-stream drops the pending deltas; appends continue from the new content', async () => {
  const tid = await newThread();
  const m = await startMessage(tid, { content: 'draft' });
  const P = `${M(tid)}/${m.id}`;
  for (let i = 0; i < 40; i++) assertStatus(await c.patch(P, { append: delta(i) }, MINIMAL), 204);
  const r = await c.patch(P, { content: 'rewritten' });
  assertStatus(r, 200);
  assert.equal(r.json.content, 'rewritten');
  assert.equal(await content(tid, m.id), 'rewritten');
  for (const d of [' and', ' "continued"', '\n😀']) assertStatus(await c.patch(P, { append: d }, MINIMAL), 204);
  assert.equal(await content(tid, m.id), 'rewritten and "continued"\n😀');
  const done = await c.patch(P, { status: 'completed' });
  assert.equal(done.json.content, 'rewritten and "continued"\n😀');
  // Metadata changes in between do not disturb the stream.
  const n = await startMessage(tid, { content: 'a' });
  const Q = `${M(tid)}/${n.id}`;
  assertStatus(await c.patch(Q, { append: 'b' }, MINIMAL), 204);
  assertStatus(await c.patch(Q, { metadata: { k: 1 } }), 200);
  assertStatus(await c.patch(Q, { append: 'c' }, MINIMAL), 204);
  const g = await c.patch(Q, { append: 'd', metadata: { k: null, j: 2 } });
  assertStatus(g, 200);
  assert.equal(g.json.content, 'abcd');
  assert.deepEqual(g.json.metadata, { j: 2 });
});

test('content the client wrote with escapes or spaces still streams', async () => {
  const tid = await newThread();
  const r = await c.send('POST', M(tid), '{ "role" : "assistant" , "status" : "in_progress" , "content" :  "caf\\u00e9 \\"x\\"\\n"  }');
  assertStatus(r, 201);
  assert.equal(r.json.content, 'café "x"\n');
  const P = `${M(tid)}/${r.json.id}`;
  const a = await c.send('PATCH', P, '{"append":"\\u00e9\\ud83d\\ude00\\\\"}');
  assertStatus(a, 200);
  assert.equal(a.json.content, 'café "x"\n' + 'é😀\\');
  assert.equal(await content(tid, r.json.id), 'café "x"\n' + 'é😀\\');
  const done = await c.patch(P, { status: 'completed' });
  assert.equal(done.json.content, 'café "x"\n' + 'é😀\\');
});

test('two messages streamed at the same time in one thread stay apart', async () => {
  const tid = await newThread();
  const ms = [await startMessage(tid), await startMessage(tid, { role: 'tool', content: '>' })];
  const wants = ['', '>'];
  await Promise.all(
    ms.map(async (m, k) => {
      for (let i = 0; i < 300; i++) {
        const d = `${k}:${delta(i + k)}`;
        const r = await c.patch(`${M(tid)}/${m.id}`, { append: d }, MINIMAL);
        assertStatus(r, 204);
        wants[k] += d;
      }
    }),
  );
  for (const [k, m] of ms.entries()) {
    assertSame(await content(tid, m.id), wants[k], `message ${k}`);
    const done = await c.patch(`${M(tid)}/${m.id}`, { status: 'completed' });
    assertSame(done.json.content, wants[k], `message ${k} folded`);
  }
  assert.equal((await c.get(`/v1/threads/${tid}`)).json.message_count, 2);
});

test('4 writers appending to one message: every delta lands once, each writer in its order', async () => {
  const tid = await newThread();
  const m = await startMessage(tid);
  const P = `${M(tid)}/${m.id}`;
  const W = 4;
  const N = 150;
  await Promise.all(
    Array.from({ length: W }, async (_, w) => {
      for (let i = 0; i < N; i++) assertStatus(await c.patch(P, { append: `<${w}:${i}>` }, MINIMAL), 204);
    }),
  );
  const check = (text, what) => {
    const tokens = text.match(/<\d+:\d+>/g) || [];
    assert.equal(tokens.join(''), text, `${what}: nothing but whole tokens`);
    assert.equal(tokens.length, W * N, `${what}: every delta once`);
    for (let w = 0; w < W; w++) {
      const mine = tokens.filter((t) => t.startsWith(`<${w}:`)).map((t) => Number(t.slice(t.indexOf(':') + 1, -1)));
      assert.deepEqual(mine, Array.from({ length: N }, (_, i) => i), `${what}: writer ${w} in order`);
    }
  };
  const streamed = await content(tid, m.id);
  check(streamed, 'streamed');
  const done = await c.patch(P, { status: 'completed' });
  assert.equal(done.json.content, streamed, 'folding keeps the order');
  check(await content(tid, m.id), 'folded');
});

test('completing races the stream: appends after the completion are refused, none is lost or half-applied', async () => {
  const tid = await newThread();
  const m = await startMessage(tid);
  const P = `${M(tid)}/${m.id}`;
  const accepted = [];
  let refused = 0;
  const streamer = async (w) => {
    for (let i = 0; i < 200; i++) {
      const d = `<${w}:${i}>`;
      const r = await c.patch(P, { append: d }, MINIMAL);
      if (r.status === 204) accepted.push(d);
      else {
        assertProblem(r, 409, 'invalid_state_transition');
        refused++;
      }
    }
  };
  const completer = (async () => {
    await new Promise((res) => setTimeout(res, 30));
    const r = await c.patch(P, { status: 'completed' });
    assertStatus(r, 200);
    return r.json.content;
  })();
  const [, , folded] = await Promise.all([streamer(0), streamer(1), completer]);
  const final = await content(tid, m.id);
  assert.equal(final, folded, 'nothing changed after the completing PATCH answered');
  const tokens = final.match(/<\d+:\d+>/g) || [];
  assert.equal(tokens.join(''), final);
  assert.deepEqual(tokens.slice().sort(), accepted.slice().sort(), 'exactly the accepted deltas are in the content');
  assert.equal(accepted.length + refused, 400);
});

test('appends cannot grow the content past 524288 bytes of JSON text', async () => {
  const LIMIT = 524288;
  const tid = await newThread();
  const base = 'x'.repeat(LIMIT - 2 - 100); // JSON text LIMIT - 100
  const m = await startMessage(tid, { content: base });
  const P = `${M(tid)}/${m.id}`;
  assertStatus(await c.patch(P, { append: 'y'.repeat(50) }, MINIMAL), 204);
  const before = await content(tid, m.id);
  for (const [body, opts] of [
    [{ append: 'z'.repeat(51) }, MINIMAL],
    [{ append: 'z'.repeat(51) }, {}],
    [{ append: 'z'.repeat(1000) }, MINIMAL],
    [{ append: 'z'.repeat(51), status: 'completed' }, {}],
    [{ append: 'z'.repeat(51), metadata: { k: 1 } }, MINIMAL],
  ]) {
    assertProblem(await c.patch(P, body, opts), 400, 'validation_failed', 'append');
    assert.equal(await content(tid, m.id), before, `nothing of ${Object.keys(body)} was applied`);
  }
  assert.equal((await c.get(P)).json.status, 'in_progress');
  // Exactly up to the limit is fine; one byte more is not.
  assertStatus(await c.patch(P, { append: 'y'.repeat(50) }, MINIMAL), 204);
  const full = await content(tid, m.id);
  assert.equal(JSON.stringify(full).length, LIMIT);
  assertProblem(await c.patch(P, { append: 'z' }, MINIMAL), 400, 'validation_failed', 'append');
  assertStatus(await c.patch(P, { append: '' }, MINIMAL), 204);
  const done = await c.patch(P, { status: 'completed' });
  assertStatus(done, 200);
  assert.equal(done.json.content, full);
});

test('the append limit counts the JSON text of the content, escapes included', async () => {
  const LIMIT = 524288;
  const tid = await newThread();
  // 262143 newlines are 524288 bytes of JSON text ("\n" is two bytes): the most there may be.
  for (const [name, ch, per] of [
    ['newlines', '\n', 2],
    ['quotes', '"', 2],
    ['backslashes', '\\', 2],
  ]) {
    const max = (LIMIT - 2) / per;
    const m = await startMessage(tid);
    const P = `${M(tid)}/${m.id}`;
    assertStatus(await c.patch(P, { append: ch.repeat(max - 10) }, MINIMAL), 204);
    const over = await c.patch(P, { append: ch.repeat(11) }, MINIMAL);
    assert.equal(over.status, 400, `${name}: this append makes the content ${2 * (max + 1) + 2} bytes of JSON text (limit ${LIMIT}); got ${over.status}`);
    assertProblem(over, 400, 'validation_failed', 'append');
    assertStatus(await c.patch(P, { append: ch.repeat(10) }, MINIMAL), 204);
    const got = await c.get(P);
    assert.equal(got.json.content, ch.repeat(max), name);
    assert.ok(JSON.stringify(got.json.content).length <= LIMIT, `${name}: content within the limit`);
    assertProblem(await c.patch(P, { append: 'x' }, MINIMAL), 400, 'validation_failed', 'append');
    const done = await c.patch(P, { status: 'completed' });
    assertStatus(done, 200);
    assert.equal(done.json.content, ch.repeat(max));
    // What the server holds can be sent back as content unchanged.
    assertStatus(await c.patch(P, { content: done.json.content }), 200);
  }
});

test('deleting a streaming message, or clearing its thread, ends the stream with 404', async () => {
  const tid = await newThread();
  const m = await startMessage(tid);
  for (let i = 0; i < 20; i++) assertStatus(await c.patch(`${M(tid)}/${m.id}`, { append: delta(i) }, MINIMAL), 204);
  assertStatus(await c.del(`${M(tid)}/${m.id}`), 200);
  assertProblem(await c.patch(`${M(tid)}/${m.id}`, { append: 'x' }, MINIMAL), 404, 'not_found');
  assertProblem(await c.patch(`${M(tid)}/${m.id}`, { status: 'completed' }), 404, 'not_found');
  const n = await startMessage(tid);
  for (let i = 0; i < 20; i++) assertStatus(await c.patch(`${M(tid)}/${n.id}`, { append: delta(i) }, MINIMAL), 204);
  const cl = await c.del(M(tid));
  assertStatus(cl, 200);
  assert.equal(cl.json.deleted_count, 1);
  assertProblem(await c.patch(`${M(tid)}/${n.id}`, { append: 'x' }, MINIMAL), 404, 'not_found');
  // The id is free again, and a new message with it starts empty.
  const again = await startMessage(tid, { id: n.id });
  assert.equal(again.content, '');
  assertStatus(await c.patch(`${M(tid)}/${n.id}`, { append: 'fresh' }, MINIMAL), 204);
  assert.equal(await content(tid, n.id), 'fresh');
});
