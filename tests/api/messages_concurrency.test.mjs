// Concurrent appends to one thread: seqs stay gap-free and unique, each writer's messages keep
// the order it sent them in, batches stay contiguous, message_count is exact.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, client, listAll, assertStatus, uniq } from './lib/harness.mjs';

let srv;
let c;

before(async () => {
  srv = await startServer();
  c = client(srv.url, (await createOrg(uniq('mconc'))).api_key);
});
after(async () => {
  await srv?.stop();
});

const M = (tid) => `/v1/threads/${tid}/messages`;

async function newThread() {
  const r = await c.post('/v1/threads', {});
  assertStatus(r, 201);
  return r.json.id;
}

const range = (n) => Array.from({ length: n }, (_, i) => i + 1);

test('8 writers × 200 appends to one thread: seqs exactly 1..1600, per-writer order kept', async () => {
  const W = 8;
  const N = 200;
  const tid = await newThread();
  const returned = []; // every 201 body
  const writer = async (w) => {
    let lastSeq = 0;
    for (let i = 0; i < N; i++) {
      const r = await c.post(M(tid), { id: `w${w}-${i}`, role: w % 2 ? 'assistant' : 'user', content: `writer ${w} message ${i}`, metadata: { w, i } });
      assertStatus(r, 201);
      assert.ok(r.json.seq > lastSeq, `writer ${w}: seq ${r.json.seq} after ${lastSeq}`);
      lastSeq = r.json.seq;
      returned.push(r.json);
    }
  };
  await Promise.all(Array.from({ length: W }, (_, w) => writer(w)));

  assert.equal(returned.length, W * N);
  assert.deepEqual(returned.map((m) => m.seq).sort((a, b) => a - b), range(W * N), 'the responses hold every seq once');

  const all = await listAll(c, `${M(tid)}?order=asc&limit=100`);
  assert.equal(all.length, W * N);
  assert.deepEqual(all.map((m) => m.seq), range(W * N), 'the list holds seqs 1..1600 in order, each once');
  assert.equal(new Set(all.map((m) => m.id)).size, W * N, 'no id twice');
  const byId = new Map(returned.map((m) => [m.id, m]));
  for (const m of all) assert.deepEqual(m, byId.get(m.id), `the stored message ${m.id} is what its POST returned`);
  for (let w = 0; w < W; w++) {
    const mine = all.filter((m) => m.metadata.w === w);
    assert.equal(mine.length, N, `writer ${w} has all its messages`);
    assert.deepEqual(mine.map((m) => m.metadata.i), Array.from({ length: N }, (_, i) => i), `writer ${w}'s messages are in the order it sent them`);
  }
  const t = (await c.get(`/v1/threads/${tid}`)).json;
  assert.equal(t.message_count, W * N);
  const newest = all[all.length - 1];
  assert.ok(t.last_message_at >= newest.created_at, 'last_message_at is no older than the newest message');

  const desc = await listAll(c, `${M(tid)}?limit=100`);
  assert.deepEqual(desc.map((m) => m.seq), range(W * N).reverse());
});

test('concurrent batches interleave as whole blocks without gaps', async () => {
  const W = 6;
  const BATCHES = 15;
  const tid = await newThread();
  const blocks = [];
  const writer = async (w) => {
    for (let b = 0; b < BATCHES; b++) {
      const size = 1 + ((w * 7 + b * 13) % 40);
      const r = await c.post(`${M(tid)}/batch`, { messages: Array.from({ length: size }, (_, k) => ({ role: 'user', content: `w${w} b${b} k${k}`, metadata: { w, b, k } })) });
      assertStatus(r, 201);
      const seqs = r.json.data.map((m) => m.seq);
      assert.deepEqual(seqs, Array.from({ length: size }, (_, k) => seqs[0] + k), `writer ${w} batch ${b}: consecutive seqs`);
      assert.deepEqual(r.json.data.map((m) => m.metadata.k), Array.from({ length: size }, (_, k) => k), 'input order');
      blocks.push({ w, b, first: seqs[0], size });
    }
  };
  // Single appends from two more writers run alongside the batches.
  const singles = [];
  const single = async (s) => {
    for (let i = 0; i < 40; i++) {
      const r = await c.post(M(tid), { role: 'assistant', content: `single ${s} ${i}`, metadata: { s, i } });
      assertStatus(r, 201);
      singles.push(r.json.seq);
    }
  };
  await Promise.all([...Array.from({ length: W }, (_, w) => writer(w)), single(0), single(1)]);

  const total = blocks.reduce((n, x) => n + x.size, 0) + singles.length;
  const all = await listAll(c, `${M(tid)}?order=asc&limit=100`);
  assert.deepEqual(all.map((m) => m.seq), range(total), 'gap-free 1..total');
  for (const x of blocks) {
    const slice = all.slice(x.first - 1, x.first - 1 + x.size);
    assert.ok(
      slice.every((m, k) => m.metadata.w === x.w && m.metadata.b === x.b && m.metadata.k === k),
      `batch ${x.w}/${x.b} is one contiguous block at seq ${x.first}`,
    );
  }
  for (let w = 0; w < W; w++) {
    const firsts = blocks.filter((x) => x.w === w).sort((p, q) => p.b - q.b).map((x) => x.first);
    assert.deepEqual(firsts, firsts.slice().sort((p, q) => p - q), `writer ${w}'s batches are in the order it sent them`);
  }
  assert.equal((await c.get(`/v1/threads/${tid}`)).json.message_count, total);
});

test('appends racing deletes and a clear keep seqs unique and message_count exact', async () => {
  const tid = await newThread();
  const created = [];
  const deleted = new Set();
  let stop = false;
  const appender = async (a) => {
    for (let i = 0; i < 120; i++) {
      const r = await c.post(M(tid), { role: 'user', content: `a${a}-${i}` });
      assertStatus(r, 201);
      created.push(r.json);
    }
  };
  const deleter = async () => {
    while (!stop) {
      const victim = created[Math.floor(Math.random() * created.length)];
      if (victim && !deleted.has(victim.id)) {
        deleted.add(victim.id);
        const r = await c.del(`${M(tid)}/${victim.id}`);
        assertStatus(r, 200);
      } else {
        await new Promise((res) => setTimeout(res, 1));
      }
    }
  };
  const d = deleter();
  await Promise.all([appender(0), appender(1), appender(2), appender(3)]);
  stop = true;
  await d;
  const all = await listAll(c, `${M(tid)}?order=asc&limit=100`);
  assert.deepEqual(created.map((m) => m.seq).sort((a, b) => a - b), range(480), 'every append got its own seq');
  assert.deepEqual(all.map((m) => m.id).sort(), created.filter((m) => !deleted.has(m.id)).map((m) => m.id).sort(), 'the survivors');
  assert.equal((await c.get(`/v1/threads/${tid}`)).json.message_count, all.length);

  // Clear while appends run: afterwards, count and list agree, and seqs never repeat.
  const more = [];
  const appendMore = async () => {
    for (let i = 0; i < 60; i++) {
      const r = await c.post(M(tid), { role: 'user', content: `more ${i}` });
      assertStatus(r, 201);
      more.push(r.json.seq);
    }
  };
  const clearing = (async () => {
    await new Promise((res) => setTimeout(res, 20));
    const r = await c.del(M(tid));
    assertStatus(r, 200);
    return r.json.deleted_count;
  })();
  await Promise.all([appendMore(), appendMore(), clearing]);
  assert.deepEqual(more.sort((a, b) => a - b), Array.from({ length: 120 }, (_, i) => 481 + i), 'seqs continue through the clear');
  const left = await listAll(c, `${M(tid)}?order=asc&limit=100`);
  assert.equal((await c.get(`/v1/threads/${tid}`)).json.message_count, left.length, 'message_count matches the list after a racing clear');
  assert.ok(left.every((m) => m.seq > 480));
});
