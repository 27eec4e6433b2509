// Checkpoints (issue 11) with malformed and invalid input, bodies over the limits, ids that cannot
// exist, and other orgs' and users' threads: the exact 4xx problem, nothing written (no checkpoint,
// blob, write or thread, in either org), and nothing of anyone else's revealed or touched. The
// harness fails any 5xx but 503.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, client, listAll, assertProblem, assertStatus, uniq, expectRejected as rejectedWithout } from './lib/harness.mjs';

const SMALL_LIMIT = 262144; // CONVSTORE_MAX_CHECKPOINT_BYTES of the second server
let srv;
let small; // a server with a small checkpoint limit
let c; // org A admin
let B; // org B admin
let alice; // user keys of org A
let bob;
const T = uniq('target'); // org A admin's thread; org B has a thread of the same id
const T2 = uniq('target2'); // org A admin's thread only
const BOBS = uniq('bobs'); // bob's thread
const ALICES = uniq('alices'); // alice's thread
const NEW_THREAD = uniq('never-created');
// Inputs the implementation may wrongly accept go to threads of their own, so that what they
// write cannot spoil the other tests.
const BUGT = uniq('bug-target');
const BUG_NEW = uniq('bug-never-created');

const CK = (tid, id) => `/v1/threads/${tid}/checkpoints/${id}`;
const W = (tid, id) => `${CK(tid, id)}/writes`;
const P = (tid) => `/v1/threads/${tid}/checkpoints/prune`;
const D = (tid) => `/v1/threads/${tid}/checkpoints`;
const cid = (n) => `1ef4f797-8335-6428-8${String(n).padStart(3, '0')}-8a1503f9b875`;
const B_ID = cid(50); // org B's checkpoint: within the range of org A's ids

function putBody(id, over = {}) {
  return {
    checkpoint_ns: '',
    parent_checkpoint_id: null,
    checkpoint: { v: 4, id, ts: '2026-11-22T10:00:00+00:00', channel_versions: { a: '9', e: '9' }, versions_seen: {} },
    metadata: { type: 'json', data: '{"source":"loop","step":9}' },
    blobs: [
      ['a', '9', 'json', '"new value"'],
      ['e', '9', 'empty', null],
    ],
    ...over,
  };
}
const writesBody = (over = {}) => ({ checkpoint_ns: '', task_id: 'task-new', task_path: '', writes: [[0, 'a', 'json', '"w"']], ...over });

async function seed(cl, tid, id, o = {}) {
  const body = putBody(id, { checkpoint_ns: o.ns ?? '', checkpoint: { v: 4, id, channel_versions: { a: String(o.n ?? 1) } }, blobs: [['a', String(o.n ?? 1), 'json', `"${tid} ${id}"`]], metadata: { type: 'json', data: JSON.stringify({ owner: o.owner ?? 'a', step: o.n ?? 1 }) } });
  assertStatus(await cl.api('PUT', CK(tid, id), { body }), 201);
  const w = await cl.post(W(tid, id), { checkpoint_ns: o.ns ?? '', task_id: 'task', task_path: 'p', writes: [[0, 'a', 'json', `"w ${id}"`], [-1, '__error__', 'json', '"e"']] });
  assertStatus(w, 204);
}

before(async () => {
  [srv, small] = await Promise.all([startServer(), startServer({ CONVSTORE_MAX_CHECKPOINT_BYTES: String(SMALL_LIMIT) })]);
  c = client(srv.url, (await createOrg(uniq('ckbad-a'))).api_key);
  B = client(srv.url, (await createOrg(uniq('ckbad-b'))).api_key);
  const ka = await c.post('/v1/keys', { role: 'user', user_id: uniq('alice') });
  const kb = await c.post('/v1/keys', { role: 'user', user_id: uniq('bob') });
  assertStatus(ka, 201);
  assertStatus(kb, 201);
  alice = client(srv.url, ka.json.key);
  bob = client(srv.url, kb.json.key);
  for (const n of [1, 2, 3]) await seed(c, T, cid(n), { n });
  await seed(c, T, cid(2), { ns: 'sub', n: 2 });
  await seed(c, T2, cid(60), { n: 60 });
  await seed(bob, BOBS, cid(40), { owner: 'bob', n: 40 });
  await seed(alice, ALICES, cid(30), { owner: 'alice', n: 30 });
  await seed(B, T, B_ID, { owner: 'b', n: 50 });
  await seed(B, uniq('b-other'), cid(70), { owner: 'b', n: 70 });
  await seed(c, BUGT, cid(1), { n: 1 });
});
after(async () => {
  await Promise.all([srv?.stop(), small?.stop()]);
});

/** Every page of a checkpoint list. */
async function listCk(cl, query = '') {
  const out = [];
  let beforeId = null;
  for (let i = 0; i < 100; i++) {
    const sep = query ? '&' : '';
    const r = await cl.get(`/v1/checkpoints?limit=1000${sep}${query}${beforeId ? `&before=${beforeId}` : ''}`);
    assertStatus(r, 200);
    out.push(...r.json.data);
    if (!r.json.has_more) return out;
    beforeId = r.json.next_before;
  }
  throw new Error('too many pages');
}

/** Everything a refused request could have changed, in both orgs: threads and every tuple. */
async function snapshot() {
  const [a, b, threadsA, threadsB] = await Promise.all([listCk(c), listCk(B), listAll(c, '/v1/threads?limit=100'), listAll(B, '/v1/threads?limit=100')]);
  return { a, b, threadsA, threadsB };
}

const show = (s) => (s.length > 60 ? `${s.slice(0, 57)}...(${s.length})` : s);
const label = (v) => (v === undefined ? '(missing)' : show(JSON.stringify(v)));

/** Each case a subtest: the given problem, nothing changed in either org, no thread made. */
const expectRejected = (t, cases) =>
  rejectedWithout(t, cases, snapshot, async () => {
    assertProblem(await c.get(`/v1/threads/${NEW_THREAD}`), 404, 'not_found');
    assertProblem(await B.get(`/v1/threads/${NEW_THREAD}`), 404, 'not_found');
  });

test('lists never show another org\'s or user\'s checkpoints; before of theirs is a bare id comparison', async () => {
  const all = await listCk(c);
  const mine = all.map((x) => `${x.thread_id} ${x.checkpoint_ns} ${x.checkpoint_id}`).sort();
  assert.deepEqual(
    mine,
    [
      ...[1, 2, 3].map((n) => `${T}  ${cid(n)}`),
      `${T} sub ${cid(2)}`,
      `${T2}  ${cid(60)}`,
      `${BOBS}  ${cid(40)}`,
      `${ALICES}  ${cid(30)}`,
      `${BUGT}  ${cid(1)}`,
    ].sort(),
    'the admin sees every thread of its org, and only those',
  );
  assert.ok(all.every((x) => JSON.parse(x.metadata.data).owner !== 'b'));
  const bAll = await listCk(B);
  assert.deepEqual(bAll.map((x) => x.checkpoint_id).sort(), [B_ID, cid(70)].sort());
  assert.ok(bAll.every((x) => JSON.parse(x.metadata.data).owner === 'b'));
  // Users see their own threads only, with or without thread_id.
  assert.deepEqual((await listCk(alice)).map((x) => x.thread_id), [ALICES]);
  assert.deepEqual((await listCk(bob)).map((x) => x.thread_id), [BOBS]);
  for (const q of [`thread_id=${T}`, `thread_id=${BOBS}`, `thread_id=${T}&checkpoint_ns=sub`, `thread_id=${BOBS}&metadata=${encodeURIComponent('{"owner":"bob"}')}`]) {
    assert.deepEqual(await listCk(alice, q), [], q);
  }
  assert.deepEqual(await listCk(alice, `metadata=${encodeURIComponent('{"owner":"bob"}')}`), []);
  assert.deepEqual(await listCk(B, `thread_id=${T2}`), []);
  const bT = await listCk(B, `thread_id=${T}`);
  assert.deepEqual(bT.map((x) => x.checkpoint_id), [B_ID], "org B's own thread T holds only its checkpoint");
  assert.deepEqual(await listCk(B, `metadata=${encodeURIComponent('{"owner":"a"}')}`), []);
  // before=<an id only org B has>: org A's ids less than it, exactly as for an id nobody has.
  const expectBefore = (list, id) => list.filter((x) => Buffer.compare(Buffer.from(x.checkpoint_id), Buffer.from(id)) < 0);
  assert.deepEqual(await listCk(c, `before=${B_ID}`), expectBefore(all, B_ID));
  assert.deepEqual(await listCk(c, `before=${cid(51)}`), expectBefore(all, cid(51)));
  assert.deepEqual(await listCk(c, `before=${cid(50)}&thread_id=${T}`), expectBefore(await listCk(c, `thread_id=${T}`), cid(50)));
  assert.deepEqual(await listCk(alice, `before=${cid(40)}`), (await listCk(alice)).filter((x) => x.checkpoint_id < cid(40)));
  const r = await c.get(`/v1/checkpoints?before=${B_ID}&limit=1`);
  assertStatus(r, 200);
  assert.equal(r.json.data[0].checkpoint_id, cid(40), 'the first of org A below it, nothing of org B');
});

test('org B deleting its own thread T\'s checkpoints leaves org A\'s thread T alone', async () => {
  const a = await listCk(c, `thread_id=${T}`);
  assert.equal(a.length, 4);
  assertStatus(await B.del(D(T)), 204);
  assert.deepEqual(await listCk(B, `thread_id=${T}`), []);
  assert.deepEqual(await listCk(c, `thread_id=${T}`), a);
});

/** Where a PUT goes: a new id of an existing thread, an existing checkpoint, a thread that does not exist. */
const PUT_TARGETS = [
  { name: 'new id', tid: T, id: cid(7) },
  { name: 'existing id', tid: T, id: cid(2) },
  { name: 'new thread', tid: NEW_THREAD, id: cid(7) },
];
/** Where writes go: an existing checkpoint, an id without a checkpoint, a thread that does not exist. */
const WRITE_TARGETS = [
  { name: 'existing checkpoint', tid: T, id: cid(3) },
  { name: 'no checkpoint', tid: T, id: cid(9) },
  { name: 'new thread', tid: NEW_THREAD, id: cid(9) },
];

const INVALID_JSON = [
  '{',
  '{"checkpoint":',
  '}',
  'nul',
  '{"blobs":[],}',
  "{'blobs':[]}",
  '{"blobs":[]} trailing',
  '{"blobs":[]}{"blobs":[]}',
  '{"blobs":[],"blobs":[]}',
  '{"checkpoint_ns":"a\\u0000"}',
  '{"checkpoint_ns":"\\ud800"}',
  '{"checkpoint_ns":"a\tb"}',
  `{"checkpoint":${'['.repeat(100)}${']'.repeat(100)}}`,
  '{"blobs":[[1e999]]}',
];
const NOT_OBJECTS = ['[]', '[{"checkpoint":{}}]', '"str"', '42', 'null', 'true'];

test('malformed JSON, bodies that are not objects, and other content types are refused', async (t) => {
  const cases = [];
  const sends = [
    ...PUT_TARGETS.map((g) => [`PUT ${g.name}`, (b, h) => c.send('PUT', CK(g.tid, g.id), b, h)]),
    ...WRITE_TARGETS.map((g) => [`writes ${g.name}`, (b, h) => c.send('POST', W(g.tid, g.id), b, h)]),
    ['prune', (b, h) => c.send('POST', P(T), b, h)],
  ];
  for (const [name, send] of sends) {
    for (const b of [...INVALID_JSON, ...NOT_OBJECTS]) cases.push({ label: `${name} ${show(JSON.stringify(b))}`, send: () => send(b), status: 400, code: 'invalid_json' });
    cases.push({ label: `${name} invalid UTF-8`, send: () => send(Buffer.concat([Buffer.from('{"checkpoint_ns":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])), status: 400, code: 'invalid_json' });
    cases.push({ label: `${name} text/plain`, send: () => send('{}', { headers: { 'content-type': 'text/plain' } }), status: 415, code: 'unsupported_media_type' });
  }
  // A valid body with the wrong content type.
  cases.push({ label: 'PUT a good body as text/plain', send: () => c.send('PUT', CK(T, cid(7)), JSON.stringify(putBody(cid(7))), { headers: { 'content-type': 'text/plain' } }), status: 415, code: 'unsupported_media_type' });
  cases.push({ label: 'writes a good body as form', send: () => c.send('POST', W(T, cid(3)), JSON.stringify(writesBody()), { headers: { 'content-type': 'application/x-www-form-urlencoded' } }), status: 415, code: 'unsupported_media_type' });
  await expectRejected(t, cases);
});

test('PUT: unknown members are 400 naming them', async (t) => {
  const cases = [];
  for (const g of PUT_TARGETS) {
    for (const f of ['bogus', 'channel_values', 'pending_sends', 'pending_writes', 'thread_id', 'checkpoint_id', 'new_versions', 'config', 'Checkpoint', '']) {
      cases.push({ label: `${g.name} ${JSON.stringify(f)}`, send: () => c.api('PUT', CK(g.tid, g.id), { body: { ...putBody(g.id), [f]: 1 } }), status: 400, code: 'validation_failed', field: f });
    }
    cases.push({ label: `${g.name} metadata with a third member`, send: () => c.api('PUT', CK(g.tid, g.id), { body: putBody(g.id, { metadata: { type: 'json', data: '{}', extra: 1 } }) }), status: 400, code: 'validation_failed', field: 'metadata' });
  }
  await expectRejected(t, cases);
});

test('PUT: a bad checkpoint, metadata, namespace or parent is 400 naming it', async (t) => {
  const cases = [];
  for (const g of PUT_TARGETS) {
    const send = (body) => () => c.api('PUT', CK(g.tid, g.id), { body });
    const ck = (over) => ({ ...putBody(g.id).checkpoint, ...over });
    const without = (k) => {
      const b = putBody(g.id);
      delete b[k];
      return b;
    };
    cases.push({ label: `${g.name} no body`, send: () => c.api('PUT', CK(g.tid, g.id)), status: 400, code: 'validation_failed', fields: ['checkpoint', 'metadata', 'blobs'] });
    cases.push({ label: `${g.name} {}`, send: send({}), status: 400, code: 'validation_failed', fields: ['checkpoint', 'metadata', 'blobs'] });
    cases.push({ label: `${g.name} checkpoint missing`, send: send(without('checkpoint')), status: 400, code: 'validation_failed', field: 'checkpoint' });
    for (const v of [null, 5, 'x', [], [{}], true]) cases.push({ label: `${g.name} checkpoint=${label(v)}`, send: send(putBody(g.id, { checkpoint: v })), status: 400, code: 'validation_failed', field: 'checkpoint' });
    for (const v of ['other-id', cid(8), `${g.id} `, g.id.toUpperCase(), 5, null, '', [], {}]) {
      cases.push({ label: `${g.name} checkpoint.id=${label(v)}`, send: send(putBody(g.id, { checkpoint: ck({ id: v }) })), status: 400, code: 'validation_failed', field: 'checkpoint.id' });
    }
    for (const v of ['4', 1.5, true, null, [], {}, [4]]) {
      cases.push({ label: `${g.name} checkpoint.v=${label(v)}`, send: send(putBody(g.id, { checkpoint: ck({ v }) })), status: 400, code: 'validation_failed', field: 'checkpoint.v' });
    }
    for (const v of [[], 'x', 5, true, null, [['a', '1']]]) {
      cases.push({ label: `${g.name} channel_versions=${label(v)}`, send: send(putBody(g.id, { checkpoint: ck({ channel_versions: v }) })), status: 400, code: 'validation_failed', field: 'checkpoint.channel_versions' });
    }
    for (const v of [true, null, {}, [], ['9'], 1.5]) {
      cases.push({ label: `${g.name} channel_versions.a=${label(v)}`, send: send(putBody(g.id, { checkpoint: ck({ channel_versions: { a: v } }) })), status: 400, code: 'validation_failed', field: 'checkpoint.channel_versions' });
    }
    cases.push({ label: `${g.name} metadata missing`, send: send(without('metadata')), status: 400, code: 'validation_failed', field: 'metadata' });
    for (const v of [null, 'x', 5, [], {}, { type: 'json' }, { data: '{}' }, { type: '', data: '{}' }, { type: 5, data: '{}' }, { type: null, data: '{}' }, { type: 'json', data: {} }, { type: 'json', data: null }, { type: 'json', data: 5 }, { type: 'json', data: ['{}'] }]) {
      cases.push({ label: `${g.name} metadata=${label(v)}`, send: send(putBody(g.id, { metadata: v })), status: 400, code: 'validation_failed', field: 'metadata' });
    }
    for (const v of [5, null, [], {}, true]) cases.push({ label: `${g.name} checkpoint_ns=${label(v)}`, send: send(putBody(g.id, { checkpoint_ns: v })), status: 400, code: 'validation_failed', field: 'checkpoint_ns' });
    for (const v of [0, -1, 1.5, '60', true, [], {}, 315360001, 1e20]) cases.push({ label: `${g.name} ttl_seconds=${label(v)}`, send: send(putBody(g.id, { ttl_seconds: v })), status: 400, code: 'validation_failed', field: 'ttl_seconds' });
    for (const v of [5, [], {}, true]) cases.push({ label: `${g.name} parent_checkpoint_id=${label(v)}`, send: send(putBody(g.id, { parent_checkpoint_id: v })), status: 400, code: 'validation_failed', field: 'parent_checkpoint_id' });
  }
  await expectRejected(t, cases);
});

/** Data of a non-json type that is not base64 (RFC 4648, padded, standard alphabet). */
const NOT_BASE64 = ['not base64!', 'abc', 'YW Jj', 'YWJj\n', ' YWJj', '====', 'YQ', 'YQ=', '-_-_', 'YQ==YQ==', 'A===', 'é', 'YWJj\u0000'.slice(0, 4) + '*'];

test('PUT: blobs that are not arrays of 4 well-typed elements are 400 naming blobs[i]', async (t) => {
  const cases = [];
  for (const g of PUT_TARGETS) {
    const send = (blobs) => () => c.api('PUT', CK(g.tid, g.id), { body: putBody(g.id, { blobs }) });
    const without = putBody(g.id);
    delete without.blobs;
    cases.push({ label: `${g.name} blobs missing`, send: () => c.api('PUT', CK(g.tid, g.id), { body: without }), status: 400, code: 'validation_failed', field: 'blobs' });
    for (const v of [null, {}, 'x', 5, true, { 0: ['a', '9', 'json', '"v"'] }]) cases.push({ label: `${g.name} blobs=${label(v)}`, send: send(v), status: 400, code: 'validation_failed', field: 'blobs' });
    const good = ['a', '9', 'json', '"v"'];
    const shapes = [
      [[5], 'blobs[0]'],
      [[null], 'blobs[0]'],
      [[[]], 'blobs[0]'],
      [[{}], 'blobs[0]'],
      [['a'], 'blobs[0]'],
      [[['a', '9', 'json']], 'blobs[0]'],
      [[['a', '9', 'json', '"v"', 'extra']], 'blobs[0]'],
      [[[['a', '9', 'json', '"v"']]], 'blobs[0]'],
      [[good, 7], 'blobs[1]'],
      [[good, good.slice(0, 3)], 'blobs[1]'],
    ];
    for (const v of [5, null, [], {}, true]) shapes.push([[[v, '9', 'json', '"v"']], 'blobs[0]']);
    for (const v of [9, 1.5, null, true, [], {}, ['9']]) shapes.push([[['a', v, 'json', '"v"']], 'blobs[0]']);
    for (const v of [5, null, '', [], {}, true]) shapes.push([[['a', '9', v, '"v"']], 'blobs[0]']);
    for (const v of [5, 0, {}, [], true, false, ['x']]) shapes.push([[['a', '9', 'json', v]], 'blobs[0]']);
    for (const v of NOT_BASE64) shapes.push([[['a', '9', 'bytes', v]], 'blobs[0]']);
    shapes.push([[['e', '9', 'empty', 'not base64!']], 'blobs[0]']);
    shapes.push([[good, ['b', 9, 'json', '"v"']], 'blobs[1]']);
    for (const [blobs, field] of shapes) cases.push({ label: `${g.name} blobs=${label(blobs)}`, send: send(blobs), status: 400, code: 'validation_failed', field });
  }
  await expectRejected(t, cases);
});

test('writes: unknown members, bad task, namespace and writes are 400 naming them', async (t) => {
  const cases = [];
  for (const g of WRITE_TARGETS) {
    const send = (body) => () => c.post(W(g.tid, g.id), body);
    const without = (k) => {
      const b = writesBody();
      delete b[k];
      return b;
    };
    cases.push({ label: `${g.name} no body`, send: () => c.api('POST', W(g.tid, g.id)), status: 400, code: 'validation_failed', fields: ['task_id', 'writes'] });
    cases.push({ label: `${g.name} {}`, send: send({}), status: 400, code: 'validation_failed', fields: ['task_id', 'writes'] });
    for (const f of ['bogus', 'checkpoint_id', 'thread_id', 'idx', 'channel', 'blobs', 'Writes', '']) {
      cases.push({ label: `${g.name} unknown ${JSON.stringify(f)}`, send: send({ ...writesBody(), [f]: 1 }), status: 400, code: 'validation_failed', field: f });
    }
    cases.push({ label: `${g.name} task_id missing`, send: send(without('task_id')), status: 400, code: 'validation_failed', field: 'task_id' });
    for (const v of [null, 5, [], {}, true]) cases.push({ label: `${g.name} task_id=${label(v)}`, send: send(writesBody({ task_id: v })), status: 400, code: 'validation_failed', field: 'task_id' });
    for (const v of [null, 5, [], {}]) cases.push({ label: `${g.name} task_path=${label(v)}`, send: send(writesBody({ task_path: v })), status: 400, code: 'validation_failed', field: 'task_path' });
    for (const v of [null, 5, [], {}]) cases.push({ label: `${g.name} checkpoint_ns=${label(v)}`, send: send(writesBody({ checkpoint_ns: v })), status: 400, code: 'validation_failed', field: 'checkpoint_ns' });
    cases.push({ label: `${g.name} writes missing`, send: send(without('writes')), status: 400, code: 'validation_failed', field: 'writes' });
    for (const v of [null, {}, 'x', 5, true]) cases.push({ label: `${g.name} writes=${label(v)}`, send: send(writesBody({ writes: v })), status: 400, code: 'validation_failed', field: 'writes' });
    const good = [0, 'a', 'json', '"v"'];
    const shapes = [
      [[5], 'writes[0]'],
      [[null], 'writes[0]'],
      [[[]], 'writes[0]'],
      [[{}], 'writes[0]'],
      [[[0, 'a', 'json']], 'writes[0]'],
      [[[0, 'a', 'json', '"v"', 1]], 'writes[0]'],
      [[good, 7], 'writes[1]'],
      [[good, [1, 'a', 'json']], 'writes[1]'],
    ];
    for (const v of ['0', 1.5, -0.5, null, true, [], {}, [0], 1e10, -1e10, 9007199254740993]) shapes.push([[[v, 'a', 'json', '"v"']], 'writes[0]']);
    for (const v of [5, null, [], {}]) shapes.push([[[0, v, 'json', '"v"']], 'writes[0]']);
    for (const v of [5, null, '', []]) shapes.push([[[0, 'a', v, '"v"']], 'writes[0]']);
    for (const v of [5, {}, [], true]) shapes.push([[[0, 'a', 'json', v]], 'writes[0]']);
    for (const v of NOT_BASE64) shapes.push([[[0, 'a', 'bytes', v]], 'writes[0]']);
    shapes.push([[good, [1, 'a', 'json', '"v"'], ['2', 'a', 'json', '"v"']], 'writes[2]']);
    for (const [writes, field] of shapes) cases.push({ label: `${g.name} writes=${label(writes)}`, send: send(writesBody({ writes })), status: 400, code: 'validation_failed', field });
    // One batch may not repeat an idx.
    for (const writes of [
      [good, good],
      [good, [0, 'b', 'json', '"other"']],
      [
        [-1, '__error__', 'json', '"a"'],
        [-1, '__error__', 'json', '"b"'],
      ],
      [good, [1, 'a', 'json', '"x"'], [-3, 'i', 'json', '"x"'], [-3, 'i', 'json', '"y"']],
    ]) {
      cases.push({ label: `${g.name} repeated idx ${label(writes)}`, send: send(writesBody({ writes })), status: 400, code: 'validation_failed', field: 'writes' });
    }
  }
  await expectRejected(t, cases);
});

test('prune: keep_latest < 1 or not an integer, unknown members and a bad namespace are 400', async (t) => {
  const cases = [];
  for (const tid of [T, T2]) {
    const send = (body) => () => c.post(P(tid), body);
    cases.push({ label: `${tid === T ? 'T' : 'T2'} no body`, send: () => c.api('POST', P(tid)), status: 400, code: 'validation_failed', field: 'keep_latest' });
    cases.push({ label: `${tid === T ? 'T' : 'T2'} {}`, send: send({}), status: 400, code: 'validation_failed', field: 'keep_latest' });
    cases.push({ label: `${tid === T ? 'T' : 'T2'} only checkpoint_ns`, send: send({ checkpoint_ns: '' }), status: 400, code: 'validation_failed', field: 'keep_latest' });
    for (const v of [0, -1, -0, -1000, 0.5, 1.5, '2', '1', null, true, [], {}, [1]]) {
      cases.push({ label: `${tid === T ? 'T' : 'T2'} keep_latest=${label(v)}`, send: send({ keep_latest: v }), status: 400, code: 'validation_failed', field: 'keep_latest' });
    }
    for (const v of [5, null, [], {}, true]) cases.push({ label: `${tid === T ? 'T' : 'T2'} checkpoint_ns=${label(v)}`, send: send({ keep_latest: 1, checkpoint_ns: v }), status: 400, code: 'validation_failed', field: 'checkpoint_ns' });
    for (const f of ['bogus', 'keep', 'keepLatest', 'thread_id', 'before', '']) {
      cases.push({ label: `${tid === T ? 'T' : 'T2'} unknown ${JSON.stringify(f)}`, send: send({ keep_latest: 1, [f]: 1 }), status: 400, code: 'validation_failed', field: f });
    }
  }
  await expectRejected(t, cases);
});

test('bodies over the limits are 413: checkpoint PUTs over CONVSTORE_MAX_CHECKPOINT_BYTES, writes and prune over 1 MiB', async (t) => {
  const s = client(small.url, c.key);
  const bigPut = (id) => JSON.stringify(putBody(id, { blobs: [['a', '9', 'json', `"${'x'.repeat(SMALL_LIMIT)}"`]] }));
  const bigWrites = JSON.stringify(writesBody({ writes: [[0, 'a', 'json', `"${'y'.repeat(1100000)}"`]] }));
  const bigPrune = JSON.stringify({ keep_latest: 1, checkpoint_ns: 'z'.repeat(1100000) });
  const cases = [];
  for (const g of PUT_TARGETS) cases.push({ label: `PUT ${g.name} over the checkpoint limit`, send: () => s.send('PUT', CK(g.tid, g.id), bigPut(g.id)), status: 413, code: 'payload_too_large' });
  for (const g of WRITE_TARGETS) {
    cases.push({ label: `writes ${g.name} over 1 MiB`, send: () => c.send('POST', W(g.tid, g.id), bigWrites), status: 413, code: 'payload_too_large' });
    cases.push({ label: `writes ${g.name} over 1 MiB, small server`, send: () => s.send('POST', W(g.tid, g.id), bigWrites), status: 413, code: 'payload_too_large' });
  }
  cases.push({ label: 'prune over 1 MiB', send: () => c.send('POST', P(T), bigPrune), status: 413, code: 'payload_too_large' });
  await expectRejected(t, cases);
});

/** Ids no thread or checkpoint can have: as sent in the path. */
const BAD_IDS = ['a%20b', 'x'.repeat(129), '%C3%A9', 'a+b', 'a%2Fb', '%00', 'a%3Fb', 'a%23b', '%2E%2E%2Fx', 'a*b', 'a~b', 'a@b', 'a,b'];

test('thread and checkpoint ids with forbidden characters are 404, nothing written', async (t) => {
  const cases = [];
  for (const id of BAD_IDS) {
    cases.push({ label: `PUT thread ${show(id)}`, send: () => c.api('PUT', CK(id, cid(7)), { body: putBody(cid(7)) }), status: 404, code: 'not_found' });
    cases.push({ label: `PUT checkpoint ${show(id)}`, send: () => c.api('PUT', CK(T, id), { body: putBody(decodeURIComponent(id.replace(/%00/, ''))) }), status: 404, code: 'not_found' });
    cases.push({ label: `PUT checkpoint ${show(id)} to a new thread`, send: () => c.api('PUT', CK(NEW_THREAD, id), { body: putBody(cid(7)) }), status: 404, code: 'not_found' });
    cases.push({ label: `writes thread ${show(id)}`, send: () => c.post(W(id, cid(3)), writesBody()), status: 404, code: 'not_found' });
    cases.push({ label: `writes checkpoint ${show(id)}`, send: () => c.post(W(T, id), writesBody()), status: 404, code: 'not_found' });
    cases.push({ label: `writes checkpoint ${show(id)} to a new thread`, send: () => c.post(W(NEW_THREAD, id), writesBody()), status: 404, code: 'not_found' });
    cases.push({ label: `GET thread ${show(id)}`, send: () => c.get(CK(id, 'latest')), status: 404, code: 'not_found' });
    cases.push({ label: `GET checkpoint ${show(id)}`, send: () => c.get(CK(T, id)), status: 404, code: 'not_found' });
    cases.push({ label: `prune thread ${show(id)}`, send: () => c.post(P(id), { keep_latest: 1 }), status: 404, code: 'not_found' });
  }
  await expectRejected(t, cases);
});

test('DELETE with a thread id that cannot exist is 404', async (t) => {
  await expectRejected(
    t,
    BAD_IDS.map((id) => ({ label: `DELETE ${show(id)}`, send: () => c.del(D(id)), status: 404, code: 'not_found' })),
  );
});

test('another user\'s or org\'s thread: GET, PUT, writes and prune are 404 and write nothing', async (t) => {
  const cases = [
    { label: 'user GETs an admin thread by id', send: () => alice.get(CK(T, cid(1))), status: 404, code: 'not_found' },
    { label: 'user GETs latest of an admin thread', send: () => alice.get(CK(T, 'latest')), status: 404, code: 'not_found' },
    { label: 'user GETs latest of an admin thread namespace', send: () => alice.get(`${CK(T, 'latest')}?checkpoint_ns=sub`), status: 404, code: 'not_found' },
    { label: "user GETs another user's checkpoint", send: () => alice.get(CK(BOBS, cid(40))), status: 404, code: 'not_found' },
    { label: "user GETs another user's latest", send: () => alice.get(CK(BOBS, 'latest')), status: 404, code: 'not_found' },
    { label: 'another org GETs by id', send: () => B.get(CK(T2, cid(60))), status: 404, code: 'not_found' },
    { label: 'another org GETs latest', send: () => B.get(CK(T2, 'latest')), status: 404, code: 'not_found' },
    { label: "another org GETs A's id in its own same-named thread", send: () => B.get(CK(T, cid(1))), status: 404, code: 'not_found' },
    { label: "user PUTs into another user's thread", send: () => alice.api('PUT', CK(BOBS, cid(41)), { body: putBody(cid(41)) }), status: 404, code: 'not_found' },
    { label: "user re-PUTs another user's checkpoint", send: () => alice.api('PUT', CK(BOBS, cid(40)), { body: putBody(cid(40)) }), status: 404, code: 'not_found' },
    { label: "user writes into another user's thread", send: () => alice.post(W(BOBS, cid(40)), writesBody()), status: 404, code: 'not_found' },
    { label: "user writes for a new id in another user's thread", send: () => alice.post(W(BOBS, cid(49)), writesBody()), status: 404, code: 'not_found' },
    { label: "user prunes another user's thread", send: () => alice.post(P(BOBS), { keep_latest: 1 }), status: 404, code: 'not_found' },
    { label: 'user prunes an admin thread', send: () => alice.post(P(T), { keep_latest: 1 }), status: 404, code: 'not_found' },
    { label: 'another org prunes a thread it does not have', send: () => B.post(P(T2), { keep_latest: 1 }), status: 404, code: 'not_found' },
    { label: 'prune a thread that does not exist', send: () => c.post(P(NEW_THREAD), { keep_latest: 1 }), status: 404, code: 'not_found' },
  ];
  await expectRejected(t, cases);
});

test('a user key PUTting or writing into an admin\'s thread gets 404 and writes nothing (a server each: a crash must not take the other cases down)', async (t) => {
  const cases = [
    ['user PUTs a new id into an admin thread', (a2) => a2.api('PUT', CK(T, cid(8)), { body: putBody(cid(8)) })],
    ['user re-PUTs an admin checkpoint', (a2) => a2.api('PUT', CK(T, cid(1)), { body: putBody(cid(1)) })],
    ['user writes into an admin thread', (a2) => a2.post(W(T, cid(1)), writesBody())],
    ['user writes for a new id into an admin thread', (a2) => a2.post(W(T, cid(8)), writesBody())],
  ];
  for (const [name, send] of cases) {
    await t.test(name, async () => {
      const before = await snapshot();
      const own = await startServer();
      let r;
      try {
        r = await send(client(own.url, alice.key));
      } finally {
        await own.stop();
      }
      assertProblem(r, 404, 'not_found');
      assert.deepEqual(await snapshot(), before, 'nothing was written');
    });
  }
});

test('DELETE of another user\'s or org\'s checkpoints is 204 and touches nothing; a thread that does not exist stays absent', async (t) => {
  const cases = [
    ['user deletes an admin thread\'s checkpoints', () => alice.del(D(T))],
    ["user deletes another user's checkpoints", () => alice.del(D(BOBS))],
    ['another org deletes a thread it does not have', () => B.del(D(T2))],
    ['a thread that does not exist', () => c.del(D(NEW_THREAD))],
  ];
  for (const [name, send] of cases) {
    await t.test(name, async () => {
      const before = await snapshot();
      const r = await send();
      assertStatus(r, 204);
      assert.equal(r.text, '');
      assert.deepEqual(await snapshot(), before, 'nothing changed');
      assertProblem(await c.get(`/v1/threads/${NEW_THREAD}`), 404, 'not_found');
      assertProblem(await B.get(`/v1/threads/${NEW_THREAD}`), 404, 'not_found');
    });
  }
  // Their own checkpoints are all still readable, whole.
  assert.equal((await bob.get(CK(BOBS, cid(40)))).status, 200);
  assert.equal((await c.get(CK(T, 'latest'))).json.checkpoint_id, cid(3));
});

test('invalid list and GET parameters are 400 invalid_query naming the parameter', async () => {
  const q = encodeURIComponent;
  const cases = [
    ...['0', '1001', '-1', 'abc', '', '1.5', '1e2', '10x', '99999999999999999999', '0x10'].map((v) => [`limit=${q(v)}`, 'limit']),
    ...BAD_IDS.filter((v) => v !== '%00').map((v) => [`thread_id=${v}`, 'thread_id']),
    ['thread_id=', 'thread_id'],
    ...BAD_IDS.filter((v) => v !== '%00').map((v) => [`before=${v}`, 'before']),
    ['before=', 'before'],
    ...BAD_IDS.filter((v) => v !== '%00').map((v) => [`checkpoint_id=${v}`, 'checkpoint_id']),
    ['checkpoint_id=', 'checkpoint_id'],
    ...['[]', '5', 'x', '{', '"s"', 'null', 'true', '{"a":1,"a":2}', '{"a":"\\u0000"}', '{"a":"\\ud800"}', `${'{"a":'.repeat(100)}1${'}'.repeat(100)}`, '', '{} x'].map((v) => [`metadata=${q(v)}`, 'metadata']),
    ['checkpoint_ns=%00', 'checkpoint_ns'],
    ['thread_id=%00', 'thread_id'],
  ];
  for (const [qs, field] of cases) {
    const r = await c.get(`/v1/checkpoints?${qs}`);
    assertProblem(r, 400, 'invalid_query', field);
  }
  const r = await c.get('/v1/checkpoints?limit=0&before=a%20b&metadata=5&thread_id=x%20y');
  assertProblem(r, 400, 'invalid_query');
  assert.deepEqual(r.json.errors.map((e) => e.field).sort(), ['before', 'limit', 'metadata', 'thread_id']);
  assertProblem(await c.get(`${CK(T, 'latest')}?checkpoint_ns=%00`), 400, 'invalid_query', 'checkpoint_ns');
  // The edges of the good values.
  for (const qs of ['limit=1', 'limit=1000', `before=${'z'.repeat(128)}`, 'metadata=%7B%7D', `thread_id=${'t'.repeat(128)}`, 'checkpoint_ns=', 'checkpoint_ns=%20']) {
    assertStatus(await c.get(`/v1/checkpoints?${qs}`), 200);
  }
});

test('other methods on the checkpoint paths are 405', async (t) => {
  const cases = [];
  for (const [m, p] of [
    ['POST', CK(T, cid(1))],
    ['PATCH', CK(T, cid(1))],
    ['DELETE', CK(T, cid(1))],
    ['GET', W(T, cid(1))],
    ['PUT', W(T, cid(1))],
    ['DELETE', W(T, cid(1))],
    ['GET', D(T)],
    ['POST', D(T)],
    ['PUT', D(T)],
    ['PATCH', D(T)],
    ['DELETE', P(T)],
    ['POST', '/v1/checkpoints'],
    ['DELETE', '/v1/checkpoints'],
  ]) {
    cases.push({ label: `${m} ${p}`, send: () => c.api(m, p, m === 'GET' ? {} : { body: { keep_latest: 1 } }), status: 405, code: 'method_not_allowed' });
  }
  await expectRejected(t, cases);
});

const BUG_PUT_TARGETS = [
  { name: 'new id', tid: BUGT, id: cid(7) },
  { name: 'existing id', tid: BUGT, id: cid(1) },
  { name: 'new thread', tid: BUG_NEW, id: cid(7) },
];

test('PUT: metadata of a non-json type whose data is not base64 is 400', async (t) => {
  const cases = [];
  for (const g of BUG_PUT_TARGETS) {
    for (const data of ['not base64!', 'abc', '{"source":"loop"}']) {
      cases.push({ label: `${g.name} msgpack ${label(data)}`, send: () => c.api('PUT', CK(g.tid, g.id), { body: putBody(g.id, { metadata: { type: 'msgpack', data } }) }), status: 400, code: 'validation_failed', fields: ['metadata', 'metadata.data'] });
    }
  }
  await expectRejected(t, cases);
});

test('writes: a long batch repeating an idx is 400 too', async (t) => {
  const long = (repeat) => {
    const w = Array.from({ length: 70 }, (_, i) => [i, 'a', 'json', `"${i}"`]);
    w[69] = [repeat, 'a', 'json', '"again"'];
    return w;
  };
  const neg = Array.from({ length: 70 }, (_, i) => [i, 'a', 'json', `"${i}"`]);
  neg[0] = [-1, '__error__', 'json', '"first"'];
  neg[69] = [-1, '__error__', 'json', '"again"'];
  const cases = [];
  for (const g of [
    { name: 'existing checkpoint', tid: BUGT, id: cid(1) },
    { name: 'new thread', tid: BUG_NEW, id: cid(9) },
  ]) {
    cases.push({ label: `${g.name} 70 writes, the last repeats idx 0`, send: () => c.post(W(g.tid, g.id), writesBody({ writes: long(0) })), status: 400, code: 'validation_failed', field: 'writes' });
    cases.push({ label: `${g.name} 70 writes, the last repeats idx 68`, send: () => c.post(W(g.tid, g.id), writesBody({ writes: long(68) })), status: 400, code: 'validation_failed', field: 'writes' });
    cases.push({ label: `${g.name} 70 writes, idx -1 first and last`, send: () => c.post(W(g.tid, g.id), writesBody({ writes: neg })), status: 400, code: 'validation_failed', field: 'writes' });
  }
  await expectRejected(t, cases);
});

// Last: a checkpoint without an id, once wrongly stored, fails every later list's schema check.
test('PUT: a checkpoint without an id is 400 (it must carry the path\'s id)', async (t) => {
  const cases = [];
  for (const g of BUG_PUT_TARGETS) {
    const b = putBody(g.id);
    delete b.checkpoint.id;
    cases.push({ label: `${g.name} checkpoint.id missing`, send: () => c.api('PUT', CK(g.tid, g.id), { body: b }), status: 400, code: 'validation_failed', field: 'checkpoint.id' });
  }
  await expectRejected(t, cases);
});
