// Concurrent appends to one event log: seqs stay gap-free and in commit order, so a reader tailing
// by after_seq sees every event exactly once; expected_seq lets exactly one of racing writers win;
// racing appends of one new event id store it once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, client, assertProblem, assertStatus, assertList, uniq } from './lib/harness.mjs';

let srv;
let c;

before(async () => {
  srv = await startServer();
  c = client(srv.url, (await createOrg(uniq('econc'))).api_key);
});
after(async () => {
  await srv?.stop();
});

const E = (tid) => `/v1/threads/${tid}/events`;
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function page(tid, qs) {
  const r = await c.get(`${E(tid)}?${qs}`);
  const data = assertList(r);
  assert.ok(Number.isInteger(r.json.last_seq), 'last_seq');
  return { data, has_more: r.json.has_more, last_seq: r.json.last_seq };
}

/** The whole log in seq order. */
async function all(tid, qs = '') {
  const out = [];
  let after = 0;
  for (;;) {
    const p = await page(tid, `${qs}${qs ? '&' : ''}order=asc&limit=1000&after_seq=${after}`);
    out.push(...p.data);
    if (!p.has_more) return out;
    after = p.data[p.data.length - 1].seq;
  }
}

test('8 writers × 50 appends of 1–5 events while readers tail by after_seq: every seq once, in order, no gaps', async () => {
  const W = 8;
  const N = 50;
  const tid = uniq('tail'); // created by the writers' first events, racing each other
  const returned = [];
  const batches = [];
  let writing = true;

  const writer = async (w) => {
    let lastSeq = 0;
    for (let i = 0; i < N; i++) {
      const size = 1 + ((w * 7 + i * 3) % 5);
      const events = Array.from({ length: size }, (_, k) => ({ id: `w${w}-${i}-${k}`, type: `w${w}.e`, run_id: `w${w}`, data: { w, i, k } }));
      const r = await c.post(E(tid), { events });
      assertStatus(r, 201);
      const seqs = r.json.data.map((e) => e.seq);
      assert.deepEqual(seqs, range(seqs[0], seqs[0] + size - 1), `writer ${w} append ${i}: consecutive seqs`);
      assert.ok(seqs[0] > lastSeq, `writer ${w}: seq ${seqs[0]} after ${lastSeq}`);
      assert.equal(r.json.first_seq, seqs[0]);
      assert.equal(r.json.last_seq, seqs[size - 1]);
      lastSeq = seqs[size - 1];
      returned.push(...r.json.data);
      batches.push({ w, i, first: seqs[0], size });
    }
  };

  // A tailing reader: asks for what follows the last seq it saw; each page must continue exactly
  // there. Small pages sometimes, so has_more is exercised while the log grows.
  const tail = async (filter, limits) => {
    const seen = [];
    let last = 0;
    let reads = 0;
    for (;;) {
      const done = !writing; // read once more after the writers finished
      const limit = limits[reads++ % limits.length];
      const r = await c.get(`${E(tid)}?${filter}${filter ? '&' : ''}after_seq=${last}&limit=${limit}`);
      if (r.status === 404 && !filter && seen.length === 0) {
        // The thread does not exist until the first event commits.
        assertProblem(r, 404, 'not_found');
        if (done) throw new Error('the thread never appeared');
        await new Promise((res) => setTimeout(res, 1));
        continue;
      }
      if (r.status === 404 && filter) {
        assertProblem(r, 404, 'not_found');
        await new Promise((res) => setTimeout(res, 1));
        continue;
      }
      const data = assertList(r);
      const { has_more: more, last_seq: lastSeq } = r.json;
      if (!filter) {
        assert.deepEqual(data.map((e) => e.seq), range(last + 1, last + data.length), `the page after ${last} continues without a gap`);
        if (!more) {
          // The page and last_seq are one snapshot: nothing committed lies between them.
          assert.equal(lastSeq, data.length ? data[data.length - 1].seq : last, `last_seq of a final page after ${last}`);
        } else {
          assert.equal(data.length, limit);
        }
      } else {
        for (const e of data) assert.ok(e.seq > last, 'filtered pages move forward');
      }
      if (data.length) assert.ok(lastSeq >= data[data.length - 1].seq, 'last_seq is at least the newest seq on the page');
      seen.push(...data);
      if (data.length) last = data[data.length - 1].seq;
      if (done && !more) return seen;
      if (!data.length) await new Promise((res) => setTimeout(res, 1));
    }
  };

  const writers = Promise.all(Array.from({ length: W }, (_, w) => writer(w))).finally(() => {
    writing = false;
  });
  const [, seen, seen0] = await Promise.all([writers, tail('', [1000, 1000, 3]), tail('type=w0.*', [1000, 2])]);

  const total = batches.reduce((n, b) => n + b.size, 0);
  assert.deepEqual(returned.map((e) => e.seq).sort((a, b) => a - b), range(1, total), 'the responses hold every seq once');
  assert.deepEqual(seen.map((e) => e.seq), range(1, total), 'the tailing reader saw every seq exactly once, in order');
  const list = await all(tid);
  assert.deepEqual(list.map((e) => e.seq), range(1, total), 'the final list is 1..N');
  const byId = new Map(returned.map((e) => [e.id, e]));
  for (const e of list) assert.deepEqual(e, byId.get(e.id), `the stored event ${e.id} is what its append returned`);
  assert.deepEqual(seen, list, 'the reader saw the stored events');
  for (const b of batches) {
    const slice = list.slice(b.first - 1, b.first - 1 + b.size);
    assert.ok(slice.every((e, k) => e.data.w === b.w && e.data.i === b.i && e.data.k === k), `writer ${b.w} append ${b.i} is one block at seq ${b.first}`);
  }
  for (let w = 0; w < W; w++) {
    const mine = list.filter((e) => e.data.w === w);
    assert.deepEqual(mine.map((e) => `${e.data.i}.${e.data.k}`), mine.map((e) => `${e.data.i}.${e.data.k}`).sort((x, y) => {
      const [a1, a2] = x.split('.').map(Number);
      const [b1, b2] = y.split('.').map(Number);
      return a1 - b1 || a2 - b2;
    }), `writer ${w}'s events are in the order it sent them`);
  }
  assert.deepEqual(seen0.map((e) => e.id), list.filter((e) => e.data.w === 0).map((e) => e.id), 'the filtered tail saw exactly writer 0\'s events, in order');
  const final = await page(tid, 'order=desc&limit=1');
  assert.equal(final.last_seq, total);
  assert.equal(final.data[0].seq, total);
});

test('expected_seq race: of 10 appends with the same expected_seq exactly one wins, the rest are 409 seq_conflict', async () => {
  const tid = uniq('race');
  const winners = [];
  let expected = 0;
  for (let round = 0; round < 15; round++) {
    // Round 0 races on a thread that does not exist yet (expected_seq 0 creates it).
    const rs = await Promise.all(
      Array.from({ length: 10 }, (_, k) => {
        const size = 1 + ((round + k) % 3);
        return c.post(E(tid), { events: Array.from({ length: size }, (_, j) => ({ id: `r${round}-k${k}-${j}`, type: 'race', data: { round, k, j } })), expected_seq: expected });
      }),
    );
    const won = rs.filter((r) => r.status === 201);
    assert.equal(won.length, 1, `round ${round}: exactly one 201, got ${rs.map((r) => r.status).join(',')}`);
    const w = won[0].json;
    assert.deepEqual(w.data.map((e) => e.seq), range(expected + 1, expected + w.data.length), `round ${round}: the winner continues at ${expected + 1}`);
    for (const r of rs) {
      if (r.status === 201) continue;
      assertProblem(r, 409, 'seq_conflict');
      assert.equal(r.json.current_seq, expected + w.data.length, `round ${round}: current_seq is the winner's last seq`);
    }
    winners.push(...w.data);
    expected += w.data.length;
  }
  const list = await all(tid);
  assert.deepEqual(list, winners, 'exactly the winners\' events are stored, in order');
  assert.deepEqual(list.map((e) => e.seq), range(1, expected));

  // Two writers that each retry after a conflict with the current_seq they were told: both land.
  const tid2 = uniq('retry');
  const writer = async (name) => {
    let exp = 0;
    const mine = [];
    for (let i = 0; i < 20; i++) {
      for (let attempt = 0; ; attempt++) {
        assert.ok(attempt < 100, 'a retrying writer gets through');
        const r = await c.post(E(tid2), { events: [{ id: `${name}-${i}`, type: name }], expected_seq: exp });
        if (r.status === 201) {
          assert.equal(r.json.data[0].seq, exp + 1);
          exp = r.json.data[0].seq;
          mine.push(exp);
          break;
        }
        assertProblem(r, 409, 'seq_conflict');
        assert.ok(r.json.current_seq > exp, `current_seq ${r.json.current_seq} is past the stale ${exp}`);
        exp = r.json.current_seq;
      }
    }
    return mine;
  };
  const [a, b] = await Promise.all([writer('a'), writer('b')]);
  assert.deepEqual([...a, ...b].sort((x, y) => x - y), range(1, 40));
  assert.deepEqual((await all(tid2)).map((e) => e.seq), range(1, 40));
});

test('10 concurrent appends of one new event id store it once; every answer has the same event and seq', async () => {
  for (const fresh of [true, false]) {
    for (let round = 0; round < 6; round++) {
      const tid = uniq(fresh ? 'same-new' : 'same-old');
      if (!fresh) assertStatus(await c.post(E(tid), { events: [{ type: 'before' }, { type: 'before' }] }), 201);
      const base = fresh ? 0 : 2;
      const ev = { id: uniq('once'), type: 'once', run_id: 'r', data: { round, text: 'x'.repeat(round * 100) } };
      const rs = await Promise.all(Array.from({ length: 10 }, () => c.post(E(tid), { events: [ev] })));
      const statuses = rs.map((r) => r.status);
      assert.ok(statuses.every((s) => s === 200 || s === 201), `200 or 201: ${statuses.join(',')} ${rs.find((r) => r.status >= 300)?.text}`);
      assert.equal(statuses.filter((s) => s === 201).length, 1, `exactly one append wrote it (${statuses.join(',')})`);
      for (const r of rs) assert.deepEqual(r.json, rs[0].json, 'every answer holds the same stored event');
      assert.equal(rs[0].json.data[0].seq, base + 1);
      const list = await all(tid);
      assert.equal(list.length, base + 1, 'stored once');
      assert.deepEqual(list[base], rs[0].json.data[0]);
    }
  }

  // Batches sharing one new id, each with an event of its own: all 201, the shared one stored once.
  const tid = uniq('shared');
  const shared = { id: 'shared', type: 'shared', data: [1, 2, 3] };
  const rs = await Promise.all(Array.from({ length: 10 }, (_, k) => c.post(E(tid), { events: k % 2 ? [shared, { id: `own-${k}`, type: 'own' }] : [{ id: `own-${k}`, type: 'own' }, shared] })));
  for (const r of rs) assertStatus(r, 201);
  const sharedSeqs = new Set(rs.map((r) => r.json.data.find((e) => e.id === 'shared').seq));
  assert.equal(sharedSeqs.size, 1, 'one seq for the shared event in every answer');
  const list = await all(tid);
  assert.deepEqual(list.map((e) => e.seq), range(1, 11), 'gap-free: 10 own events and the shared one');
  assert.equal(list.filter((e) => e.id === 'shared').length, 1);
  assert.deepEqual(list.map((e) => e.id).filter((id) => id !== 'shared').sort(), Array.from({ length: 10 }, (_, k) => `own-${k}`).sort());
  for (const r of rs) {
    for (const e of r.json.data) assert.deepEqual(e, list.find((x) => x.id === e.id), `${e.id} as stored`);
  }

  // One id with different content at once: one wins, the others are 409 event_exists.
  for (let round = 0; round < 4; round++) {
    const t2 = uniq('differ');
    if (round % 2) assertStatus(await c.post(E(t2), { events: [{ type: 'before' }] }), 201);
    const rs2 = await Promise.all(Array.from({ length: 10 }, (_, k) => c.post(E(t2), { events: [{ id: 'contested', type: 'c', data: { k } }] })));
    const won = rs2.filter((r) => r.status === 201);
    assert.equal(won.length, 1, `one winner: ${rs2.map((r) => r.status).join(',')}`);
    for (const r of rs2) if (r.status !== 201) assertProblem(r, 409, 'event_exists', 'events[0].id');
    const l2 = await all(t2);
    assert.equal(l2.filter((e) => e.id === 'contested').length, 1);
    assert.deepEqual(l2[l2.length - 1], won[0].json.data[0]);
  }
});

test('the same new event id appended at once under Idempotency-Keys of its own: stored once, never a 5xx', async () => {
  // Each request runs in its Idempotency-Key's transaction, where the losers' unique violation
  // must be undone (a savepoint) before they retry and find the winner's event.
  for (let round = 0; round < 5; round++) {
    const tid = uniq('idemrace');
    assertStatus(await c.post(E(tid), { events: [{ type: 'first' }] }), 201);
    const rs = await Promise.all(
      Array.from({ length: 10 }, (_, k) => c.post(E(tid), { events: [{ id: 'same', type: 'x' }] }, { headers: { 'Idempotency-Key': `${tid}-${k}` } })),
    );
    assert.deepEqual(rs.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    assert.equal(new Set(rs.map((r) => r.json.data[0].seq)).size, 1, 'one seq in every answer');
    assert.deepEqual((await all(tid)).map((e) => e.seq), [1, 2]);
  }
});

test('appends racing deletions of their thread: never a 5xx, and the log left behind is gap-free from 1', async () => {
  const tid = uniq('churn');
  let stop = false;
  const statuses = new Map();
  const count = (s) => statuses.set(s, (statuses.get(s) || 0) + 1);
  const appender = async (a) => {
    for (let i = 0; i < 60; i++) {
      const size = 1 + ((a + i) % 3);
      const r = await c.post(E(tid), { events: Array.from({ length: size }, (_, k) => ({ id: `a${a}-${i}-${k}`, type: 'churn' })) });
      count(r.status);
      if (r.status === 201) {
        const seqs = r.json.data.map((e) => e.seq);
        assert.deepEqual(seqs, range(seqs[0], seqs[0] + size - 1), 'consecutive seqs in one append');
      } else {
        // A thread deleted twice during one append may come back as missing; nothing else.
        assertProblem(r, 404, 'not_found');
      }
    }
  };
  const deleter = async () => {
    let deletions = 0;
    while (!stop) {
      const r = await c.del(`/v1/threads/${tid}`);
      assert.ok(r.status === 200 || r.status === 404, `DELETE: ${r.status} ${r.text}`);
      if (r.status === 200) deletions++;
      await new Promise((res) => setTimeout(res, 3));
    }
    return deletions;
  };
  const d = deleter();
  await Promise.all([appender(0), appender(1), appender(2), appender(3)]);
  stop = true;
  const deletions = await d;
  assert.ok(deletions > 0, 'the thread was deleted while appends ran');
  assert.ok((statuses.get(201) || 0) > 0, `appends succeeded: ${[...statuses]}`);
  const r = await c.get(`${E(tid)}?limit=1`);
  if (r.status === 404) return; // the last deletion came after the last append
  const list = await all(tid);
  assert.deepEqual(list.map((e) => e.seq), range(1, list.length), 'gap-free from 1');
  assert.equal((await page(tid, 'limit=1')).last_seq, list.length, 'last_seq is the last stored seq');
});
