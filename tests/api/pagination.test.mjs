// Keyset pagination over 250 threads: forwards and backwards in both orders, has_more, cursors, bad params.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, client, assertProblem, assertStatus, assertList, uniq } from './lib/harness.mjs';

const N = 250;
let srv;
let c;
let other;
let user;
let created; // ids in creation order (oldest first)

before(async () => {
  srv = await startServer();
  const org = await createOrg(uniq('pages'));
  c = client(srv.url, org.api_key);
  other = client(srv.url, (await createOrg(uniq('pages-other'))).api_key);
  user = uniq('pager');
  created = [];
  for (let i = 0; i < N; i++) {
    const r = await c.post('/v1/threads', { user_id: user, title: `p${i}` });
    assertStatus(r, 201);
    created.push(r.json.id);
  }
  // Noise outside the filter, in the same org.
  for (let i = 0; i < 5; i++) assertStatus(await c.post('/v1/threads', { user_id: uniq('noise') }), 201);
});
after(async () => {
  await srv?.stop();
});

const expected = (order) => (order === 'asc' ? created.slice() : created.slice().reverse());
const list = (qs) => c.get(`/v1/threads?user_id=${user}&${qs}`);

/** Walks forwards with `after` from the start; checks every page; returns all ids. */
async function walkForward(order, limit) {
  const want = expected(order);
  const got = [];
  let cursor = null;
  for (let page = 0; page < N + 2; page++) {
    const r = await list(`order=${order}&limit=${limit}${cursor ? `&after=${cursor}` : ''}`);
    const data = assertList(r);
    assert.ok(data.length <= limit, 'page not larger than limit');
    const start = got.length;
    assert.deepEqual(data.map((t) => t.id), want.slice(start, start + limit), `page ${page} (${order}, limit ${limit}) holds the next items`);
    got.push(...data.map((t) => t.id));
    assert.equal(r.json.has_more, got.length < N, `has_more on page ${page} (${order}, limit ${limit}, ${got.length}/${N})`);
    if (!r.json.has_more) break;
    cursor = r.json.last_id;
  }
  assert.equal(got.length, N);
  assert.equal(new Set(got).size, N, 'no duplicates');
  assert.deepEqual(got, want);
  return got;
}

/** Walks backwards with `before` from the end (the page before the last item); returns all ids. */
async function walkBackward(order, limit) {
  const want = expected(order);
  let cursor = want[N - 1];
  let end = N - 1; // want[end] is the cursor: the page must be want[end - limit .. end)
  const pages = [];
  for (let page = 0; page < N + 2; page++) {
    const r = await list(`order=${order}&limit=${limit}&before=${cursor}`);
    const data = assertList(r);
    const start = Math.max(0, end - limit);
    assert.deepEqual(data.map((t) => t.id), want.slice(start, end), `backward page ${page} (${order}, limit ${limit}) in requested order`);
    assert.equal(r.json.has_more, start > 0, `has_more on backward page ${page} (${order}, limit ${limit})`);
    pages.unshift(...data.map((t) => t.id));
    if (!r.json.has_more) break;
    cursor = r.json.first_id;
    end = start;
  }
  assert.equal(pages.length, N - 1);
  assert.equal(new Set(pages).size, N - 1, 'no duplicates');
  assert.deepEqual(pages, want.slice(0, N - 1));
  return pages;
}

test('the default page is the 20 newest', async () => {
  const r = await list('');
  const data = assertList(r);
  assert.deepEqual(data.map((t) => t.id), expected('desc').slice(0, 20));
  assert.equal(r.json.has_more, true);
});

for (const order of ['desc', 'asc']) {
  for (const limit of [100, 37, 50, 1]) {
    if (limit === 1 && order === 'asc') continue;
    test(`forwards with after: order=${order}, limit=${limit}`, async () => {
      await walkForward(order, limit);
    });
  }
  for (const limit of [100, 37, 49]) {
    test(`backwards with before: order=${order}, limit=${limit}`, async () => {
      await walkBackward(order, limit);
    });
  }
}

test('pages at the ends are empty with null ids', async () => {
  for (const order of ['desc', 'asc']) {
    const want = expected(order);
    const afterLast = await list(`order=${order}&after=${want[N - 1]}`);
    assert.deepEqual(assertList(afterLast), []);
    assert.equal(afterLast.json.first_id, null);
    assert.equal(afterLast.json.last_id, null);
    assert.equal(afterLast.json.has_more, false);

    const beforeFirst = await list(`order=${order}&before=${want[0]}`);
    assert.deepEqual(assertList(beforeFirst), []);
    assert.equal(beforeFirst.json.has_more, false);

    const one = await list(`order=${order}&limit=5&after=${want[N - 2]}`);
    assert.deepEqual(assertList(one).map((t) => t.id), [want[N - 1]]);
    assert.equal(one.json.has_more, false);

    const exact = await list(`order=${order}&limit=5&after=${want[N - 6]}`);
    assert.deepEqual(assertList(exact).map((t) => t.id), want.slice(N - 5));
    assert.equal(exact.json.has_more, false, 'a page that ends exactly at the last item has no more');

    const mid = await list(`order=${order}&limit=3&before=${want[100]}`);
    assert.deepEqual(assertList(mid).map((t) => t.id), want.slice(97, 100));
    assert.equal(mid.json.has_more, true);
  }
});

test('limit 100 is the maximum and limit 1 the minimum', async () => {
  assert.equal(assertList(await list('limit=100')).length, 100);
  assert.equal(assertList(await list('limit=1')).length, 1);
});

test('an unknown cursor is 400 invalid_cursor', async () => {
  for (const p of ['after', 'before']) {
    assertProblem(await list(`${p}=${uniq('nope')}`), 400, 'invalid_cursor');
    assertProblem(await list(`${p}=00000000-0000-0000-0000-000000000000`), 400, 'invalid_cursor');
  }
});

test("another org's thread id is not a cursor (400 invalid_cursor)", async () => {
  const theirs = await other.post('/v1/threads', { user_id: user });
  assertStatus(theirs, 201);
  for (const p of ['after', 'before']) {
    assertProblem(await list(`${p}=${theirs.json.id}`), 400, 'invalid_cursor');
    assertProblem(await c.get(`/v1/threads?${p}=${theirs.json.id}`), 400, 'invalid_cursor');
  }
});

test('bad limit, order, or both cursors are 400 invalid_query', async () => {
  for (const limit of ['0', '101', '-1', 'abc', '1.5', '10abc', '1e1', '99999999999999999999']) {
    assertProblem(await list(`limit=${limit}`), 400, 'invalid_query', 'limit');
  }
  for (const order of ['sideways', 'ASCENDING', '1']) {
    assertProblem(await list(`order=${order}`), 400, 'invalid_query', 'order');
  }
  assertProblem(await list(`after=${created[10]}&before=${created[20]}`), 400, 'invalid_query');
});
