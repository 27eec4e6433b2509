// LangGraph checkpoints (issue 11) through the raw HTTP API: put/get/latest in byte order,
// namespaces, blobs stored once per (channel, version) and channel_values rebuilt from
// channel_versions, values kept byte for byte, pending writes (first wins / later replaces, before
// their checkpoint), pending_sends of v < 4 checkpoints, list pages and the metadata filter, re-puts,
// the threads PUT and writes create, DELETE with its tombstone, prune (every kept checkpoint reads
// back exactly as before), thread deletion, and the checkpoint body limit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, createOrg, client, raw, assertProblem, assertStatus, uniq } from './lib/harness.mjs';

let srv;
let c; // org admin
let alice; // a user key of the org
let aliceUser;

before(async () => {
  srv = await startServer();
  c = client(srv.url, (await createOrg(uniq('ckpt'))).api_key);
  aliceUser = uniq('alice');
  const k = await c.post('/v1/keys', { role: 'user', user_id: aliceUser });
  assertStatus(k, 201);
  alice = client(srv.url, k.json.key);
});
after(async () => {
  await srv?.stop();
});

const CK = (tid, id) => `/v1/threads/${tid}/checkpoints/${id}`;
const W = (tid, id) => `${CK(tid, id)}/writes`;
/** A query string of the defined params; objects are sent as JSON. */
const qs = (params = {}) => {
  const s = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(typeof v === 'object' ? JSON.stringify(v) : String(v))}`)
    .join('&');
  return s ? `?${s}` : '';
};
/** uuid6-like checkpoint ids that sort by n (n < 1000). */
const cid = (n) => `1ef4f797-8335-6428-8${String(n).padStart(3, '0')}-8a1503f9b875`;
const J = (v) => ({ type: 'json', data: JSON.stringify(v) });
const b64 = (n) => randomBytes(n).toString('base64');

function checkpoint(id, versions = {}, extra = {}) {
  return { v: 4, id, ts: '2026-11-22T10:00:00.000000+00:00', channel_versions: versions, versions_seen: { __input__: {} }, ...extra };
}

/** PUTs a checkpoint (201 with its key) and returns the body sent. */
async function put(cl, tid, id, o = {}) {
  const body = {
    checkpoint_ns: o.ns ?? '',
    parent_checkpoint_id: o.parent ?? null,
    checkpoint: o.checkpoint ?? checkpoint(id, o.versions, o.extra),
    metadata: o.metadata ?? J({ source: 'loop', step: 1 }),
    blobs: o.blobs ?? [],
  };
  const r = await cl.api('PUT', CK(tid, id), { body });
  assertStatus(r, 201);
  assert.deepEqual(r.json, { thread_id: tid, checkpoint_ns: body.checkpoint_ns, checkpoint_id: id });
  return body;
}

/** POSTs one task's writes (204, no body). */
async function writes(cl, tid, id, task, list, o = {}) {
  const r = await cl.post(W(tid, id), { checkpoint_ns: o.ns ?? '', task_id: task, task_path: o.path ?? '', writes: list });
  assertStatus(r, 204);
  assert.equal(r.text, '');
}

async function get(cl, tid, id, ns) {
  const r = await cl.get(`${CK(tid, id)}${qs({ checkpoint_ns: ns })}`);
  assertStatus(r, 200);
  return r.json;
}

async function absent(cl, tid, id, ns) {
  assertProblem(await cl.get(`${CK(tid, id)}${qs({ checkpoint_ns: ns })}`), 404, 'not_found');
}

/** The tuple a GET should return for a PUT body. */
const tuple = (tid, b, rest = {}) => ({
  object: 'checkpoint',
  thread_id: tid,
  checkpoint_ns: b.checkpoint_ns,
  checkpoint_id: b.checkpoint.id,
  parent_checkpoint_id: b.parent_checkpoint_id,
  checkpoint: b.checkpoint,
  metadata: b.metadata,
  channel_values: [],
  pending_writes: [],
  pending_sends: [],
  ...rest,
});

/** One list page, envelope checked. */
async function list(cl, params = {}) {
  const r = await cl.get(`/v1/checkpoints${qs(params)}`);
  assertStatus(r, 200);
  const j = r.json;
  assert.deepEqual(Object.keys(j).sort(), ['data', 'has_more', 'next_before', 'object']);
  assert.equal(j.object, 'list');
  assert.equal(j.next_before, j.has_more ? j.data[j.data.length - 1].checkpoint_id : null, 'next_before is the last id when has_more');
  for (let i = 1; i < j.data.length; i++) {
    assert.ok(Buffer.compare(Buffer.from(j.data[i - 1].checkpoint_id), Buffer.from(j.data[i].checkpoint_id)) >= 0, 'newest first, byte order');
  }
  return j;
}

/** Every page of a list, following next_before. */
async function listAll(cl, params = {}) {
  const out = [];
  let beforeId;
  for (let i = 0; i < 1000; i++) {
    const j = await list(cl, { ...params, before: beforeId });
    out.push(...j.data);
    if (!j.has_more) return out;
    beforeId = j.next_before;
  }
  throw new Error('too many pages');
}

const ids = (data) => data.map((t) => t.checkpoint_id);
const byChannel = (cv) => [...cv].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

test('a put reads back as the tuple, by id and as latest; PUT and writes create the thread, owned by the caller', async () => {
  const tid = uniq('rt');
  const b1 = await put(c, tid, cid(1), { metadata: J({ source: 'input', step: -1, parents: {} }) });
  assert.deepEqual(await get(c, tid, cid(1)), tuple(tid, b1));
  assert.deepEqual(await get(c, tid, cid(1), ''), tuple(tid, b1), 'checkpoint_ns= is the root');
  assert.deepEqual(await get(c, tid, 'latest'), tuple(tid, b1));
  const b2 = await put(c, tid, cid(2), { parent: cid(1), metadata: J({ source: 'loop', step: 0, parents: {} }) });
  assert.deepEqual(await get(c, tid, cid(2)), tuple(tid, b2));
  assert.deepEqual(await get(c, tid, 'latest'), tuple(tid, b2));
  assert.deepEqual(await get(c, tid, cid(1)), tuple(tid, b1), 'the first one is unchanged');
  await absent(c, tid, cid(3));
  await absent(c, uniq('none'), 'latest');
  const th = await c.get(`/v1/threads/${tid}`);
  assertStatus(th, 200);
  assert.equal(th.json.user_id, null, 'an admin key makes a thread without user');

  // A user key's PUT makes a thread of its user; so do writes.
  const tu = uniq('rt-user');
  const bu = await put(alice, tu, cid(1));
  assert.deepEqual(await get(alice, tu, 'latest'), tuple(tu, bu));
  assert.equal((await c.get(`/v1/threads/${tu}`)).json.user_id, aliceUser);
  const tw = uniq('rt-writes');
  await writes(alice, tw, cid(1), 'task-1', [[0, 'messages', 'json', '"hi"']]);
  const thw = await alice.get(`/v1/threads/${tw}`);
  assertStatus(thw, 200);
  assert.equal(thw.json.user_id, aliceUser);
  await absent(alice, tw, cid(1));
  await absent(alice, tw, 'latest');
});

test('the checkpoint object is returned as put, big integers and number spellings included', async () => {
  const tid = uniq('ckraw');
  const id = cid(1);
  const text = `{"checkpoint_ns":"","parent_checkpoint_id":null,"metadata":{"type":"json","data":"{}"},"blobs":[],"checkpoint":{"v":4,"id":"${id}","ts":"2026-11-22T10:00:00+00:00","channel_versions":{"a":"1"},"versions_seen":{"n":{"a":"1"}},"big":123456789012345678901234567890,"f":0.10,"e":1E+2,"s":"\\u00e9\\/"}}`;
  const r = await c.send('PUT', CK(tid, id), text);
  assertStatus(r, 201);
  const g = await c.get(CK(tid, id));
  assertStatus(g, 200);
  for (const tok of ['"big":123456789012345678901234567890', '"f":0.10', '"e":1E+2']) assert.ok(g.text.includes(tok), `${tok} kept: ${g.text}`);
  assert.deepEqual(g.json.checkpoint, JSON.parse(text).checkpoint);
});

test('latest is the greatest checkpoint id in byte order, per namespace, whatever the order of the puts', async () => {
  const tid = uniq('latest');
  for (const n of [5, 1, 9, 2]) await put(c, tid, cid(n));
  assert.equal((await get(c, tid, 'latest')).checkpoint_id, cid(9));
  await put(c, tid, cid(3));
  assert.equal((await get(c, tid, 'latest')).checkpoint_id, cid(9));
  await put(c, tid, cid(99), { ns: 'child:1' });
  assert.equal((await get(c, tid, 'latest')).checkpoint_id, cid(9), 'another namespace does not count');
  assert.equal((await get(c, tid, 'latest', 'child:1')).checkpoint_id, cid(99));
  await absent(c, tid, 'latest', 'child:2');

  // Byte order, not a locale's: 'B1' < 'Z9' < '_5' < 'a0'.
  const t2 = uniq('bytes');
  for (const id of ['Z9', 'a0', '_5', 'B1']) await put(c, t2, id);
  assert.equal((await get(c, t2, 'latest')).checkpoint_id, 'a0');
  assert.deepEqual(ids((await list(c, { thread_id: t2 })).data), ['a0', '_5', 'Z9', 'B1']);
  assert.deepEqual(ids((await list(c, { thread_id: t2, before: 'a' })).data), ['_5', 'Z9', 'B1']);

  // Only subgraph checkpoints: the root has no latest.
  const t3 = uniq('subonly');
  await put(c, t3, cid(1), { ns: 'sub' });
  await absent(c, t3, 'latest');
  assert.equal((await get(c, t3, 'latest', 'sub')).checkpoint_id, cid(1));
});

test('namespaces: the same id in the root and a subgraph, free-text namespaces, and list filters', async () => {
  const tid = uniq('ns');
  const NS = 'agent:1ef4f797-8335-6428-8001-8a1503f9b875|tools:7f2e';
  const ODD = 'spaces & ünïcode/?#%=+|x';
  const root1 = await put(c, tid, cid(1), { metadata: J({ where: 'root' }) });
  const ns1 = await put(c, tid, cid(1), { ns: NS, metadata: J({ where: 'ns' }) });
  const ns2 = await put(c, tid, cid(2), { ns: NS, parent: cid(1) });
  const odd3 = await put(c, tid, cid(3), { ns: ODD });
  assert.deepEqual(await get(c, tid, cid(1)), tuple(tid, root1));
  assert.deepEqual(await get(c, tid, cid(1), NS), tuple(tid, ns1));
  assert.deepEqual(await get(c, tid, cid(2), NS), tuple(tid, ns2));
  assert.deepEqual(await get(c, tid, 'latest', ODD), tuple(tid, odd3));
  await absent(c, tid, cid(2));
  await absent(c, tid, cid(3), NS);
  assert.equal((await get(c, tid, 'latest')).checkpoint_id, cid(1));

  const all = (await list(c, { thread_id: tid })).data;
  assert.deepEqual(ids(all), [cid(3), cid(2), cid(1), cid(1)], 'no checkpoint_ns: every namespace');
  assert.deepEqual(all.map((t) => t.checkpoint_ns).slice(0, 2), [ODD, NS]);
  assert.deepEqual(all.slice(2).map((t) => t.checkpoint_ns).sort(), ['', NS]);
  for (const t of all) assert.deepEqual(t, await get(c, tid, t.checkpoint_id, t.checkpoint_ns), 'a listed tuple is the GET tuple');
  assert.deepEqual((await list(c, { thread_id: tid, checkpoint_ns: '' })).data, [tuple(tid, root1)], 'checkpoint_ns= is the root only');
  assert.deepEqual((await list(c, { thread_id: tid, checkpoint_ns: NS })).data, [tuple(tid, ns2), tuple(tid, ns1)]);
  assert.deepEqual((await list(c, { thread_id: tid, checkpoint_ns: ODD })).data, [tuple(tid, odd3)]);
  assert.deepEqual((await list(c, { thread_id: tid, checkpoint_ns: 'nope' })).data, []);
  // A raw `checkpoint_ns=` with nothing after it.
  const r = await c.get(`/v1/checkpoints?thread_id=${tid}&checkpoint_ns=`);
  assertStatus(r, 200);
  assert.deepEqual(ids(r.json.data), [cid(1)]);
  assert.equal(r.json.data[0].checkpoint_ns, '');
});

test('blobs are stored once per (channel, version) and namespace; channel_values follow channel_versions, empty ones left out', async () => {
  const tid = uniq('blobs');
  const bytes = b64(300);
  const b1 = await put(c, tid, cid(1), {
    versions: { a: '1', b: '1', e: '1', m: '1', z: '1' },
    blobs: [
      ['a', '1', 'json', '"x"'],
      ['b', '1', 'bytes', bytes],
      ['e', '1', 'empty', null],
      ['n', '1', 'json', '"not named yet"'],
      ['z', '1', 'json', null],
    ],
  });
  // m is named but has no blob: left out. n has a blob but is not named: left out.
  const cv1 = [
    ['a', 'json', '"x"'],
    ['b', 'bytes', bytes],
    ['z', 'json', null],
  ];
  const g1 = await get(c, tid, cid(1));
  assert.deepEqual(byChannel(g1.channel_values), cv1);
  assert.deepEqual({ ...g1, channel_values: [] }, tuple(tid, b1));

  const b2 = await put(c, tid, cid(2), {
    parent: cid(1),
    versions: { a: '2', b: '1', e: '2', m: '1', n: '1', z: '1' },
    blobs: [
      ['a', '2', 'json', '"y"'],
      ['b', '1', 'json', '"a second value for b@1 is not stored"'],
      ['e', '2', 'json', '"now set"'],
    ],
  });
  const g2 = await get(c, tid, cid(2));
  assert.deepEqual(byChannel(g2.channel_values), [
    ['a', 'json', '"y"'],
    ['b', 'bytes', bytes],
    ['e', 'json', '"now set"'],
    ['n', 'json', '"not named yet"'],
    ['z', 'json', null],
  ]);
  assert.deepEqual({ ...g2, channel_values: [] }, tuple(tid, b2));
  assert.deepEqual(byChannel((await get(c, tid, cid(1))).channel_values), cv1, 'the older checkpoint still reads its versions');

  // Blobs belong to their namespace.
  await put(c, tid, cid(3), { ns: 'sub', versions: { a: '1', b: '1' } });
  assert.deepEqual((await get(c, tid, cid(3), 'sub')).channel_values, []);
  await put(c, tid, cid(4), { ns: 'sub', versions: { a: '1' }, blobs: [['a', '1', 'json', '"sub x"']] });
  assert.deepEqual((await get(c, tid, cid(4), 'sub')).channel_values, [['a', 'json', '"sub x"']]);
  assert.deepEqual(byChannel((await get(c, tid, cid(1))).channel_values), cv1);
  // And to their thread.
  const other = uniq('blobs-other');
  await put(c, other, cid(1), { versions: { a: '1' } });
  assert.deepEqual((await get(c, other, cid(1))).channel_values, []);
});

// Serializer output that a JSON (jsonb) round trip would change: escapes of NUL and lone
// surrogates, big integers, 1 vs 1.0, spacing, key order, text that is not JSON at all.
const TRICKY = [
  '{"nul":"a\\u0000b","lone":"\\ud800","low":"x\\udc00","pair":"\\ud83d\\ude00","big":123456789012345678901234567890,"one":1,"onef":1.0,"neg0":-0,"exp":1E+400}',
  '  [ 1.0 , 1 ,"\\u00e9",  "é" , {"b":1,"a":2,"b ":3} ]  ',
  '"\\\\u0000"',
  'é😀 not JSON at all \\',
  '',
  '0.1000000000000000055511151231257827',
];

test('values are kept byte for byte: blobs, writes and metadata, json text and base64', async () => {
  const tid = uniq('bytes');
  const versions = {};
  const blobs = [];
  const expected = [];
  TRICKY.forEach((d, i) => {
    versions[`j${i}`] = `v${i}`;
    blobs.push([`j${i}`, `v${i}`, 'json', d]);
    expected.push([`j${i}`, 'json', d]);
  });
  for (const [i, d] of ['', 'AA==', 'AAE=', b64(1), b64(2), b64(3), b64(4096), Buffer.from([0, 0xff, 0xfe, 0x80]).toString('base64')].entries()) {
    versions[`b${i}`] = `v${i}`;
    blobs.push([`b${i}`, `v${i}`, i % 2 ? 'bytes' : 'msgpack', d]);
    expected.push([`b${i}`, i % 2 ? 'bytes' : 'msgpack', d]);
  }
  const b = await put(c, tid, cid(1), { versions, blobs, metadata: { type: 'json', data: TRICKY[0] } });
  await writes(
    c,
    tid,
    cid(1),
    'task',
    TRICKY.map((d, i) => [i, `w${i}`, 'json', d]),
  );
  await writes(c, tid, cid(1), 'task2', [[0, 'bin', 'bytes', 'AAECAwQ=']]);
  const g = await get(c, tid, cid(1));
  assert.deepEqual(byChannel(g.channel_values), byChannel(expected));
  assert.deepEqual(g.pending_writes, [...TRICKY.map((d, i) => ['task', `w${i}`, 'json', d]), ['task2', 'bin', 'bytes', 'AAECAwQ=']]);
  assert.deepEqual(g.metadata, b.metadata);
  const listed = (await list(c, { thread_id: tid })).data[0];
  assert.deepEqual(listed, g);

  // Escapes in the request body are the body's JSON, not the value: "\u00e9\/" is the value "é/".
  const t2 = uniq('escapes');
  const text = `{"checkpoint":{"v":4,"id":"${cid(1)}","channel_versions":{"a":"1"}},"metadata":{"type":"json","data":"{\\"k\\":\\"\\u00e9\\/\\"}"},"blobs":[["a","1","json","\\u0022\\u00e9\\/\\u0022"]]}`;
  assertStatus(await c.send('PUT', CK(t2, cid(1)), text), 201);
  const g2 = await get(c, t2, cid(1));
  assert.deepEqual(g2.channel_values, [['a', 'json', '"é/"']]);
  assert.deepEqual(g2.metadata, { type: 'json', data: '{"k":"é/"}' });
  assert.equal(g2.checkpoint_ns, '', 'checkpoint_ns defaults to the root');
  assert.equal(g2.parent_checkpoint_id, null, 'parent_checkpoint_id defaults to null');
});

test('pending writes: idx >= 0 first wins, negative idx later replaces, ordered by task and idx', async () => {
  const tid = uniq('writes');
  const b = await put(c, tid, cid(1));
  await writes(c, tid, cid(1), 'task-b', [
    [0, 'a', 'json', '"b0"'],
    [1, 'b', 'json', null],
  ], { path: '~pull, b' });
  await writes(c, tid, cid(1), 'task-a', [
    [0, 'a', 'json', '"a0"'],
    [-1, '__error__', 'json', '"err1"'],
  ]);
  await writes(c, tid, cid(1), 'task-a', [
    [0, 'a', 'json', '"a0 again: ignored"'],
    [-1, '__error__', 'json', '"err2"'],
    [2, 'c', 'bytes', 'AAEC'],
  ]);
  await writes(c, tid, cid(1), 'task-a', [
    [-3, '__interrupt__', 'json', '"i1"'],
    [-4, '__resume__', 'json', '"r1"'],
    [-2, '__scheduled__', 'json', 'null'],
  ]);
  await writes(c, tid, cid(1), 'task-a', [[-3, '__interrupt__', 'bytes', 'aTI=']]);
  await writes(c, tid, cid(1), 'task-b', [[0, 'a', 'json', '"b0 again: ignored"']]);
  const expected = [
    ['task-a', '__resume__', 'json', '"r1"'],
    ['task-a', '__interrupt__', 'bytes', 'aTI='],
    ['task-a', '__scheduled__', 'json', 'null'],
    ['task-a', '__error__', 'json', '"err2"'],
    ['task-a', 'a', 'json', '"a0"'],
    ['task-a', 'c', 'bytes', 'AAEC'],
    ['task-b', 'a', 'json', '"b0"'],
    ['task-b', 'b', 'json', null],
  ];
  assert.deepEqual(await get(c, tid, cid(1)), tuple(tid, b, { pending_writes: expected }));
  // Tasks are ordered by task_path first (byte order), then task_id and idx.
  const t3 = uniq('writes-path');
  const b3 = await put(c, t3, cid(1));
  await writes(c, t3, cid(1), 'task-a', [[0, 'x', 'json', '"a at p2"']], { path: 'p2' });
  await writes(c, t3, cid(1), 'task-b', [[1, 'x', 'json', '"b1 at p1"'], [0, 'x', 'json', '"b0 at p1"']], { path: 'p1' });
  await writes(c, t3, cid(1), 'task-c', [[0, 'x', 'json', '"c at P0"']], { path: 'P0' });
  await writes(c, t3, cid(1), 'task-d', [[0, 'x', 'json', '"d at no path"']]);
  assert.deepEqual(
    await get(c, t3, cid(1)),
    tuple(t3, b3, {
      pending_writes: [
        ['task-d', 'x', 'json', '"d at no path"'],
        ['task-c', 'x', 'json', '"c at P0"'],
        ['task-b', 'x', 'json', '"b0 at p1"'],
        ['task-b', 'x', 'json', '"b1 at p1"'],
        ['task-a', 'x', 'json', '"a at p2"'],
      ],
    }),
  );
  // An empty batch is fine and changes nothing.
  await writes(c, tid, cid(1), 'task-c', []);
  assert.deepEqual((await get(c, tid, cid(1))).pending_writes, expected);

  // Writes of another checkpoint or namespace are not this one's.
  await writes(c, tid, cid(2), 'task-a', [[0, 'a', 'json', '"other checkpoint"']]);
  await writes(c, tid, cid(1), 'task-a', [[5, 'a', 'json', '"other namespace"']], { ns: 'sub' });
  assert.deepEqual((await get(c, tid, cid(1))).pending_writes, expected);

  // Writes before their checkpoint (async durability): kept, and read once it is put.
  const t2 = uniq('early');
  await writes(c, t2, cid(5), 'task-x', [[0, 'a', 'json', '"early"']]);
  await absent(c, t2, cid(5));
  assert.deepEqual((await list(c, { thread_id: t2 })).data, []);
  const b5 = await put(c, t2, cid(5));
  assert.deepEqual(await get(c, t2, cid(5)), tuple(t2, b5, { pending_writes: [['task-x', 'a', 'json', '"early"']] }));
  // A re-put keeps the writes.
  const b5b = await put(c, t2, cid(5), { metadata: J({ source: 'update' }) });
  assert.deepEqual(await get(c, t2, cid(5)), tuple(t2, b5b, { pending_writes: [['task-x', 'a', 'json', '"early"']] }));
});

test('pending_sends: for v < 4 the parent\'s __pregel_tasks writes by task_path, task_id, idx; [] for v >= 4', async () => {
  const tid = uniq('sends');
  const p = await put(c, tid, cid(1), { checkpoint: checkpoint(cid(1), {}, { v: 1 }) });
  assert.deepEqual(await get(c, tid, cid(1)), tuple(tid, p), 'no parent: no sends');
  await writes(c, tid, cid(1), 'tc', [
    [0, '__pregel_tasks', 'json', '"c0"'],
    [1, 'other', 'json', '"not a send"'],
    [2, '__pregel_tasks', 'json', '"c2"'],
  ], { path: 'p1' });
  await writes(c, tid, cid(1), 'ta', [[0, '__pregel_tasks', 'bytes', 'AAAA']], { path: 'p2' });
  await writes(c, tid, cid(1), 'tb', [[0, '__pregel_tasks', 'json', '"b0"']], { path: 'p0' });
  await writes(c, tid, cid(1), 'ta2', [[0, '__pregel_tasks', 'json', '"a0 at p1"']], { path: 'p1' });
  await writes(c, tid, cid(1), 'tx', [[0, '__pregel_tasks', 'json', '"other namespace"']], { path: 'p0', ns: 'sub' });
  const sends = [
    ['json', '"b0"'],
    ['json', '"a0 at p1"'],
    ['json', '"c0"'],
    ['json', '"c2"'],
    ['bytes', 'AAAA'],
  ];
  for (const v of [1, 2, 3]) {
    const b = await put(c, tid, cid(1 + v), { parent: cid(1), checkpoint: checkpoint(cid(1 + v), {}, { v }) });
    assert.deepEqual(await get(c, tid, cid(1 + v)), tuple(tid, b, { pending_sends: sends }), `v ${v}`);
  }
  const b4 = await put(c, tid, cid(9), { parent: cid(1) });
  assert.deepEqual(await get(c, tid, cid(9)), tuple(tid, b4), 'v 4: no sends');
  const b5 = await put(c, tid, cid(10), { parent: cid(1), checkpoint: checkpoint(cid(10), {}, { v: 5 }) });
  assert.deepEqual((await get(c, tid, cid(10))).pending_sends, [], 'v 5: no sends');
  assert.deepEqual((await get(c, tid, cid(10))).checkpoint, b5.checkpoint);
  // The parent's own tuple lists them as plain pending writes.
  assert.equal((await get(c, tid, cid(1))).pending_writes.length, 6);
  // A v < 4 checkpoint in another namespace has its own parent there.
  await put(c, tid, cid(1), { ns: 'sub', checkpoint: checkpoint(cid(1), {}, { v: 1 }) });
  await put(c, tid, cid(2), { ns: 'sub', parent: cid(1), checkpoint: checkpoint(cid(2), {}, { v: 1 }) });
  assert.deepEqual((await get(c, tid, cid(2), 'sub')).pending_sends, [['json', '"other namespace"']]);
  // Listed tuples carry the same.
  const listed = (await list(c, { thread_id: tid, checkpoint_ns: '' })).data;
  for (const t of listed) assert.deepEqual(t, await get(c, tid, t.checkpoint_id));
  // A missing v is the current format: no sends.
  const t2 = uniq('sends-nov');
  await put(c, t2, cid(1));
  await writes(c, t2, cid(1), 't', [[0, '__pregel_tasks', 'json', '"s"']]);
  const ck = checkpoint(cid(2));
  delete ck.v;
  await put(c, t2, cid(2), { parent: cid(1), checkpoint: ck });
  assert.deepEqual((await get(c, t2, cid(2))).pending_sends, []);
});

test('list: newest first across threads, keyset pages with before/next_before/has_more and limit', async () => {
  const o = client(srv.url, (await createOrg(uniq('ckpt-list'))).api_key);
  const T1 = uniq('l1');
  const T2 = uniq('l2');
  for (const n of [1, 3, 5, 7]) await put(o, T1, cid(n));
  for (const n of [2, 4]) await put(o, T2, cid(n));
  await put(o, T2, cid(6), { ns: 'sub' });
  const everything = await list(o);
  assert.deepEqual(ids(everything.data), [7, 6, 5, 4, 3, 2, 1].map(cid), 'no thread_id: every thread, default limit');
  assert.equal(everything.has_more, false);
  assert.deepEqual(everything.data.map((t) => t.thread_id), [T1, T2, T1, T2, T1, T2, T1]);

  let p = await list(o, { limit: 3 });
  assert.deepEqual(ids(p.data), [7, 6, 5].map(cid));
  assert.equal(p.has_more, true);
  p = await list(o, { limit: 3, before: p.next_before });
  assert.deepEqual(ids(p.data), [4, 3, 2].map(cid));
  assert.equal(p.has_more, true);
  p = await list(o, { limit: 3, before: p.next_before });
  assert.deepEqual(ids(p.data), [cid(1)]);
  assert.equal(p.has_more, false);
  assert.equal(p.next_before, null);
  assert.equal((await list(o, { limit: 7 })).has_more, false, 'exactly limit left: no more');
  assert.equal((await list(o, { limit: 6 })).has_more, true);
  assert.deepEqual(ids((await list(o, { limit: 1000 })).data), ids(everything.data));
  assert.deepEqual(await listAll(o, { limit: 1 }), everything.data, 'one by one, the same tuples');
  assert.deepEqual(await listAll(o, { limit: 2 }), everything.data);

  // One thread.
  p = await list(o, { thread_id: T1, limit: 2 });
  assert.deepEqual(ids(p.data), [7, 5].map(cid));
  assert.equal(p.has_more, true);
  p = await list(o, { thread_id: T1, limit: 2, before: p.next_before });
  assert.deepEqual(ids(p.data), [3, 1].map(cid));
  assert.equal(p.has_more, false);

  // before is a bare id comparison, across threads; it need not exist.
  assert.deepEqual(ids((await list(o, { before: cid(4) })).data), [3, 2, 1].map(cid));
  assert.deepEqual(ids((await list(o, { before: `${cid(4)}z` })).data), [4, 3, 2, 1].map(cid));
  assert.deepEqual(ids((await list(o, { thread_id: T2, before: cid(5) })).data), [4, 2].map(cid));
  assert.deepEqual((await list(o, { before: cid(1) })).data, []);
  assert.deepEqual(ids((await list(o, { checkpoint_ns: '', before: cid(7) })).data), [5, 4, 3, 2, 1].map(cid));
  assert.deepEqual(ids((await list(o, { checkpoint_ns: 'sub' })).data), [cid(6)]);
  // checkpoint_id: that id only, in every thread and namespace the other filters allow.
  await put(o, T2, cid(3), { ns: 'sub' });
  const three = (await list(o, { checkpoint_id: cid(3) })).data;
  assert.deepEqual(three.map((t) => `${t.thread_id}|${t.checkpoint_ns}`).sort(), [`${T1}|`, `${T2}|sub`].sort());
  for (const t of three) assert.equal(t.checkpoint_id, cid(3));
  assert.deepEqual((await list(o, { checkpoint_id: cid(3), thread_id: T2 })).data.map((t) => t.checkpoint_ns), ['sub']);
  assert.deepEqual((await list(o, { checkpoint_id: cid(3), checkpoint_ns: '' })).data.map((t) => t.thread_id), [T1]);
  assert.deepEqual((await list(o, { checkpoint_id: cid(3), before: cid(3) })).data, []);
  assert.deepEqual((await list(o, { checkpoint_id: cid(8) })).data, []);
  // A thread with no checkpoints, or unknown: an empty list.
  assert.deepEqual((await list(o, { thread_id: uniq('none') })).data, []);
  // Every listed tuple is the GET tuple.
  for (const t of everything.data) assert.deepEqual(t, await get(o, t.thread_id, t.checkpoint_id, t.checkpoint_ns));
});

test('the metadata filter: equality on every given key, nested values compared whole', async () => {
  const o = client(srv.url, (await createOrg(uniq('ckpt-meta'))).api_key);
  const tid = uniq('meta');
  await put(o, tid, cid(1), { metadata: J({ source: 'input', step: -1, parents: {} }) });
  await put(o, tid, cid(2), { metadata: J({ source: 'loop', step: 0, writes: { agent: { messages: [1, 'x'] } }, parents: {} }) });
  await put(o, tid, cid(3), { metadata: J({ source: 'loop', step: 1, tags: ['x', 'y'], nested: { a: { b: 1 } }, flag: true, none: null }) });
  await put(o, tid, cid(4), { metadata: { type: 'msgpack', data: 'gqZzb3VyY2WkbG9vcA==' } });
  await put(o, tid, cid(5), { metadata: { type: 'json', data: '{"source": "loop", not json' } });
  await put(o, tid, cid(6), { metadata: J({ source: 'update', step: 2 }), ns: 'sub' });
  await put(o, uniq('meta-other'), cid(7), { metadata: J({ source: 'loop', step: 1 }) });
  const match = async (filter, params = {}) => ids((await list(o, { thread_id: tid, metadata: filter, ...params })).data);
  assert.deepEqual(ids((await list(o, { thread_id: tid })).data), [6, 5, 4, 3, 2, 1].map(cid), 'no filter: every checkpoint');
  assert.deepEqual(await match({}), [6, 3, 2, 1].map(cid), '{} matches every checkpoint with JSON metadata');
  assert.deepEqual(await match({ source: 'loop' }), [3, 2].map(cid));
  assert.deepEqual(await match({ source: 'loop', step: 1 }), [cid(3)]);
  assert.deepEqual(await match({ source: 'loop', step: 5 }), []);
  assert.deepEqual(await match({ step: -1 }), [cid(1)]);
  assert.deepEqual(await match({ step: '1' }), [], 'a string is not a number');
  assert.deepEqual(await match({ writes: { agent: { messages: [1, 'x'] } } }), [cid(2)]);
  assert.deepEqual(await match({ writes: { agent: {} } }), [], 'equality, not containment');
  assert.deepEqual(await match({ nested: { a: { b: 1 } } }), [cid(3)]);
  assert.deepEqual(await match({ tags: ['x', 'y'] }), [cid(3)]);
  assert.deepEqual(await match({ tags: ['x'] }), []);
  assert.deepEqual(await match({ tags: ['y', 'x'] }), []);
  assert.deepEqual(await match({ flag: true }), [cid(3)]);
  assert.deepEqual(await match({ none: null }), [cid(3)]);
  assert.deepEqual(await match({ parents: {} }), [2, 1].map(cid));
  assert.deepEqual(await match({ source: 'nope' }), []);
  assert.deepEqual(await match({ source: 'update' }), [cid(6)]);
  assert.deepEqual(await match({ source: 'update' }, { checkpoint_ns: '' }), []);
  assert.deepEqual(await match({ source: 'loop' }, { before: cid(3) }), [cid(2)]);
  // Across threads, with pages.
  const all = await listAll(o, { metadata: { source: 'loop' }, limit: 1 });
  assert.deepEqual(ids(all), [7, 3, 2].map(cid));
});

test('the metadata filter matches JSON metadata holding big integers (valid JSON that jsonb holds)', async () => {
  const o = client(srv.url, (await createOrg(uniq('ckpt-bigmeta'))).api_key);
  const tid = uniq('bigmeta');
  await put(o, tid, cid(1), { metadata: { type: 'json', data: '{"source":"loop","n":123456789012345678901234567890}' } });
  await put(o, tid, cid(2), { metadata: { type: 'json', data: '{"source":"loop","f":1.5e300}' } });
  assert.deepEqual(ids((await list(o, { thread_id: tid, metadata: { source: 'loop' } })).data), [2, 1].map(cid));
  const r = await o.get(`/v1/checkpoints?thread_id=${tid}&metadata=${encodeURIComponent('{"n":123456789012345678901234567890}')}`);
  assertStatus(r, 200);
  assert.deepEqual(ids(r.json.data), [cid(1)], 'a big integer in the filter');
});

test('a re-put replaces parent, checkpoint and metadata; stored blobs and writes stay', async () => {
  const tid = uniq('reput');
  await put(c, tid, cid(1), { versions: { a: '1' }, blobs: [['a', '1', 'json', '"v1"']], metadata: J({ source: 'input' }) });
  await writes(c, tid, cid(1), 't', [[0, 'a', 'json', '"w"']]);
  const b = await put(c, tid, cid(1), {
    parent: cid(0),
    versions: { a: '1', b: '1' },
    blobs: [
      ['a', '1', 'json', '"replaced? no"'],
      ['b', '1', 'json', '"b"'],
    ],
    metadata: J({ source: 'update', step: 3 }),
    extra: { note: 'second put' },
  });
  assert.deepEqual(
    await get(c, tid, cid(1)),
    tuple(tid, b, {
      channel_values: [
        ['a', 'json', '"v1"'],
        ['b', 'json', '"b"'],
      ],
      pending_writes: [['t', 'a', 'json', '"w"']],
    }),
  );
  assert.deepEqual((await list(c, { thread_id: tid, metadata: { source: 'input' } })).data, []);
  assert.deepEqual(ids((await list(c, { thread_id: tid, metadata: { source: 'update' } })).data), [cid(1)]);
  assert.equal((await list(c, { thread_id: tid })).data.length, 1, 'still one checkpoint');
  // The parent can be put back to null, and the format changed.
  const b2 = await put(c, tid, cid(1), { checkpoint: checkpoint(cid(1), {}, { v: 1 }) });
  assert.deepEqual(await get(c, tid, cid(1)), tuple(tid, b2, { pending_writes: [['t', 'a', 'json', '"w"']] }));
});

test('DELETE removes every namespace, leaves the thread, and its tombstone ignores late puts and writes', async () => {
  const tid = uniq('del');
  await put(c, tid, cid(1), { versions: { a: '1' }, blobs: [['a', '1', 'json', '"a1"']] });
  await put(c, tid, cid(2), { parent: cid(1), versions: { a: '1' } });
  await put(c, tid, cid(3), { parent: cid(2), versions: { a: '1' } });
  await put(c, tid, cid(2), { ns: 'sub', versions: { s: '1' }, blobs: [['s', '1', 'json', '"s1"']] });
  await writes(c, tid, cid(3), 't', [[0, 'a', 'json', '"w3"']]);
  await writes(c, tid, cid(2), 't', [[0, 'a', 'json', '"sub w2"']], { ns: 'sub' });
  assertStatus(await c.post(`/v1/threads/${tid}/messages`, { role: 'user', content: 'kept' }), 201);

  const d = await c.del(`/v1/threads/${tid}/checkpoints`);
  assertStatus(d, 204);
  assert.equal(d.text, '');
  await absent(c, tid, 'latest');
  await absent(c, tid, 'latest', 'sub');
  for (const n of [1, 2, 3]) await absent(c, tid, cid(n));
  assert.deepEqual((await list(c, { thread_id: tid })).data, []);
  const th = await c.get(`/v1/threads/${tid}`);
  assertStatus(th, 200);
  assert.equal(th.json.message_count, 1, 'messages stay');

  // The tombstone: ids up to cid(3) are accepted and ignored, in every namespace, blobs included.
  await put(c, tid, cid(2), { versions: { z: '9' }, blobs: [['z', '9', 'json', '"ghost"']] });
  await put(c, tid, cid(3), { versions: { a: '1' }, blobs: [['a', '1', 'json', '"ghost a"']] });
  await put(c, tid, cid(1), { ns: 'sub' });
  await put(c, tid, cid(3), { ns: 'other' });
  await writes(c, tid, cid(3), 't', [[0, 'a', 'json', '"late"']]);
  await writes(c, tid, cid(2), 't', [[-1, '__error__', 'json', '"late"']], { ns: 'sub' });
  for (const n of [1, 2, 3]) await absent(c, tid, cid(n));
  await absent(c, tid, 'latest', 'sub');
  await absent(c, tid, 'latest', 'other');
  assert.deepEqual((await list(c, { thread_id: tid })).data, []);

  // A newer id whose parent was deleted is a late step of the deleted run: ignored as well.
  await put(c, tid, cid(4), { parent: cid(3), versions: { a: '1' }, blobs: [['a', '1', 'json', '"ghost child"']] });
  await put(c, tid, cid(5), { parent: cid(1), ns: 'sub' });
  await absent(c, tid, cid(4));
  await absent(c, tid, cid(5), 'sub');
  // A newer id of a new run is stored as usual, and sees none of the deleted or ignored blobs and writes.
  const b4 = await put(c, tid, cid(4), { versions: { a: '1', s: '1', z: '9' } });
  assert.deepEqual(await get(c, tid, cid(4)), tuple(tid, b4));
  await writes(c, tid, cid(4), 't', [[0, 'a', 'json', '"w4"']]);
  assert.deepEqual((await get(c, tid, cid(4))).pending_writes, [['t', 'a', 'json', '"w4"']]);
  const s4 = await put(c, tid, cid(4), { ns: 'sub', versions: { s: '1' }, blobs: [['s', '1', 'json', '"s again"']] });
  assert.deepEqual(await get(c, tid, cid(4), 'sub'), tuple(tid, s4, { channel_values: [['s', 'json', '"s again"']] }));
  await writes(c, tid, cid(5), 't', [[0, 'a', 'json', '"early w5"']]);
  assert.deepEqual(ids((await list(c, { thread_id: tid })).data), [cid(4), cid(4)]);

  // A second delete raises the tombstone to the greatest id it had.
  assertStatus(await c.del(`/v1/threads/${tid}/checkpoints`), 204);
  await put(c, tid, cid(4));
  await absent(c, tid, cid(4));
  await put(c, tid, cid(6), { parent: cid(5) });
  await absent(c, tid, cid(6));
  const b6 = await put(c, tid, cid(6));
  assert.deepEqual(await get(c, tid, 'latest'), tuple(tid, b6));
  const b7 = await put(c, tid, cid(7), { parent: cid(6) });
  assert.deepEqual(await get(c, tid, 'latest'), tuple(tid, b7), 'a parent above the tombstone is fine');

  // Nothing to delete is 204 too, and creates no thread.
  assertStatus(await c.del(`/v1/threads/${tid}/checkpoints`), 204);
  assertStatus(await c.del(`/v1/threads/${tid}/checkpoints`), 204);
  const ghost = uniq('del-none');
  assertStatus(await c.del(`/v1/threads/${ghost}/checkpoints`), 204);
  assertProblem(await c.get(`/v1/threads/${ghost}`), 404, 'not_found');
  // A thread without checkpoints has no tombstone: its first put is stored.
  const plain = uniq('del-plain');
  assertStatus(await c.post('/v1/threads', { id: plain }), 201);
  assertStatus(await c.del(`/v1/threads/${plain}/checkpoints`), 204);
  const p1 = await put(c, plain, cid(1));
  assert.deepEqual(await get(c, plain, cid(1)), tuple(plain, p1));
});

/** Builds a thread with five root checkpoints and three in `sub`, with blobs and writes. */
async function pruneFixture(cl, tid) {
  for (let i = 1; i <= 5; i++) {
    const versions = { a: '1', b: String(i), e: i >= 3 ? '3' : '1' };
    const blobs = [['b', String(i), 'json', `"b${i}"`]];
    if (i === 1) blobs.push(['a', '1', 'json', '"a1"'], ['e', '1', 'empty', null]);
    if (i === 3) blobs.push(['e', '3', 'json', '"e3"']);
    await put(cl, tid, cid(i), { parent: i > 1 ? cid(i - 1) : null, versions, blobs, metadata: J({ source: 'loop', step: i }) });
    await writes(cl, tid, cid(i), 't', [[0, 'b', 'json', `"w${i}"`]], { path: 'p' });
  }
  await writes(cl, tid, cid(5), 't', [[-1, '__error__', 'json', '"boom"']]);
  for (let i = 11; i <= 13; i++) {
    const blobs = [['b', String(i), 'json', `"sb${i}"`]];
    if (i === 11) blobs.push(['a', '1', 'json', '"sub a"']);
    await put(cl, tid, cid(i), { ns: 'sub', parent: i > 11 ? cid(i - 1) : null, versions: { a: '1', b: String(i) }, blobs });
    await writes(cl, tid, cid(i), 't', [[0, 'b', 'json', `"sw${i}"`]], { ns: 'sub' });
  }
}

test('prune keeps the N newest per namespace with the blobs and writes they need; kept checkpoints read back exactly as before', async () => {
  const tid = uniq('prune');
  await pruneFixture(c, tid);
  const before = await listAll(c, { thread_id: tid });
  assert.equal(before.length, 8);
  const prune = (body) => c.post(`/v1/threads/${tid}/checkpoints/prune`, body);

  let r = await prune({ keep_latest: 2 });
  assertStatus(r, 200);
  // Root: cid 1-3 go with their 3 writes and blobs b@1, b@2, b@3, e@1 (a@1, e@3 are still named).
  // Sub: cid 11 goes with its write and b@11 (a@1 of sub is still named).
  assert.deepEqual(r.json, { deleted_checkpoints: 4, deleted_blobs: 5, deleted_writes: 4 });
  const kept = before.filter((t) => [4, 5, 12, 13].map(cid).includes(t.checkpoint_id));
  assert.equal(kept.length, 4);
  assert.deepEqual(await listAll(c, { thread_id: tid }), kept, 'the kept tuples, whole');
  for (const t of kept) assert.deepEqual(await get(c, tid, t.checkpoint_id, t.checkpoint_ns), t);
  for (const n of [1, 2, 3]) await absent(c, tid, cid(n));
  await absent(c, tid, cid(11), 'sub');
  assert.deepEqual(byChannel((await get(c, tid, cid(5))).channel_values), [
    ['a', 'json', '"a1"'],
    ['b', 'json', '"b5"'],
    ['e', 'json', '"e3"'],
  ]);

  // Nothing more to prune.
  r = await prune({ keep_latest: 2 });
  assert.deepEqual(r.json, { deleted_checkpoints: 0, deleted_blobs: 0, deleted_writes: 0 });
  r = await prune({ keep_latest: 1000 });
  assert.deepEqual(r.json, { deleted_checkpoints: 0, deleted_blobs: 0, deleted_writes: 0 });

  // One namespace only.
  r = await prune({ keep_latest: 1, checkpoint_ns: 'sub' });
  assert.deepEqual(r.json, { deleted_checkpoints: 1, deleted_blobs: 1, deleted_writes: 1 });
  assert.deepEqual(await listAll(c, { thread_id: tid }), kept.filter((t) => t.checkpoint_id !== cid(12)));
  r = await prune({ keep_latest: 1, checkpoint_ns: '' });
  assert.deepEqual(r.json, { deleted_checkpoints: 1, deleted_blobs: 1, deleted_writes: 1 });
  assert.deepEqual(await listAll(c, { thread_id: tid }), kept.filter((t) => [cid(5), cid(13)].includes(t.checkpoint_id)));
  r = await prune({ keep_latest: 1, checkpoint_ns: 'nope' });
  assert.deepEqual(r.json, { deleted_checkpoints: 0, deleted_blobs: 0, deleted_writes: 0 });

  // New checkpoints after a prune still find the blobs they name.
  const b6 = await put(c, tid, cid(6), { parent: cid(5), versions: { a: '1', b: '5', e: '3' } });
  assert.deepEqual(await get(c, tid, cid(6)), tuple(tid, b6, { channel_values: (await get(c, tid, cid(5))).channel_values }));

  // A thread without checkpoints: nothing to prune.
  const empty = uniq('prune-empty');
  assertStatus(await c.post('/v1/threads', { id: empty }), 201);
  r = await c.post(`/v1/threads/${empty}/checkpoints/prune`, { keep_latest: 1 });
  assertStatus(r, 200);
  assert.deepEqual(r.json, { deleted_checkpoints: 0, deleted_blobs: 0, deleted_writes: 0 });
});

test('prune keeps what a kept v < 4 checkpoint needs: its parent\'s __pregel_tasks writes (pending_sends)', async () => {
  const tid = uniq('prune-sends');
  await put(c, tid, cid(1), { checkpoint: checkpoint(cid(1), {}, { v: 1 }) });
  await writes(c, tid, cid(1), 't', [[0, '__pregel_tasks', 'json', '"send"']], { path: 'p' });
  await put(c, tid, cid(2), { parent: cid(1), checkpoint: checkpoint(cid(2), {}, { v: 1 }) });
  const kept = await get(c, tid, cid(2));
  assert.deepEqual(kept.pending_sends, [['json', '"send"']]);
  const r = await c.post(`/v1/threads/${tid}/checkpoints/prune`, { keep_latest: 1 });
  assertStatus(r, 200);
  assert.equal(r.json.deleted_checkpoints, 1);
  assert.deepEqual(await get(c, tid, cid(2)), kept, 'the kept checkpoint reads back exactly as before');
});

test('prune with an Idempotency-Key replays its counts; writes with one replay 204', async () => {
  const tid = uniq('prune-idem');
  await pruneFixture(c, tid);
  const key = uniq('idem');
  const first = await c.post(`/v1/threads/${tid}/checkpoints/prune`, { keep_latest: 4 }, { headers: { 'Idempotency-Key': key } });
  assertStatus(first, 200);
  assert.deepEqual(first.json, { deleted_checkpoints: 1, deleted_blobs: 1, deleted_writes: 1 });
  const again = await c.post(`/v1/threads/${tid}/checkpoints/prune`, { keep_latest: 4 }, { headers: { 'Idempotency-Key': key } });
  assertStatus(again, 200);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(again.text, first.text);
  const wkey = uniq('idem-w');
  const body = { checkpoint_ns: '', task_id: 'tw', writes: [[0, 'a', 'json', '"x"']] };
  assertStatus(await c.post(W(tid, cid(5)), body, { headers: { 'Idempotency-Key': wkey } }), 204);
  const w2 = await c.post(W(tid, cid(5)), body, { headers: { 'Idempotency-Key': wkey } });
  assertStatus(w2, 204);
  assert.equal(w2.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual((await get(c, tid, cid(5))).pending_writes.filter((w) => w[0] === 'tw'), [['tw', 'a', 'json', '"x"']]);
});

test('deleting the thread deletes its checkpoints, blobs, writes and tombstone', async () => {
  const tid = uniq('thdel');
  await put(c, tid, cid(1), { versions: { a: '1' }, blobs: [['a', '1', 'json', '"a"']] });
  await put(c, tid, cid(2), { versions: { a: '1' } });
  await writes(c, tid, cid(2), 't', [[0, 'a', 'json', '"w"']]);
  assertStatus(await c.del(`/v1/threads/${tid}/checkpoints`), 204); // a tombstone at cid(2)
  await put(c, tid, cid(3), { versions: { a: '1' }, blobs: [['a', '1', 'json', '"a3"']] });
  await writes(c, tid, cid(3), 't', [[0, 'a', 'json', '"w3"']]);
  const d = await c.del(`/v1/threads/${tid}`);
  assertStatus(d, 200);
  await absent(c, tid, 'latest');
  await absent(c, tid, cid(3));
  assert.deepEqual((await list(c, { thread_id: tid })).data, []);
  assert.ok(!(await listAll(c)).some((t) => t.thread_id === tid), 'not in the org-wide list');
  // A new thread of the same id starts empty: no tombstone, no old blobs or writes.
  const b1 = await put(c, tid, cid(1), { versions: { a: '1' } });
  assert.deepEqual(await get(c, tid, cid(1)), tuple(tid, b1));
  const b3 = await put(c, tid, cid(3), { versions: { a: '1' } });
  assert.deepEqual(await get(c, tid, cid(3)), tuple(tid, b3));
});

/** A PUT body of exactly n bytes (n >= 400), its size made up in one blob's data. */
function putOfSize(id, n) {
  const head = { checkpoint_ns: '', parent_checkpoint_id: null, checkpoint: checkpoint(id, { big: id }), metadata: J({}), blobs: [['big', id, 'json', '']] };
  const base = Buffer.byteLength(JSON.stringify(head));
  head.blobs[0][3] = 'x'.repeat(n - base);
  const text = JSON.stringify(head);
  assert.equal(Buffer.byteLength(text), n);
  return text;
}

test('a checkpoint PUT of 2 MiB is accepted (over the 1 MiB general limit), also chunked', async () => {
  const tid = uniq('big');
  const data = b64(1572864); // 2 MiB of base64
  assert.ok(data.length >= 2 * 1048576);
  const b = await put(c, tid, cid(1), { versions: { big: '1' }, blobs: [['big', '1', 'bytes', data]] });
  const g = await get(c, tid, cid(1));
  assert.ok(g.channel_values.length === 1 && g.channel_values[0][2] === data, 'the 2 MiB value reads back');
  assert.deepEqual({ ...g, channel_values: [] }, tuple(tid, b));
  const text = putOfSize(cid(2), 1536 * 1024);
  const r = await raw(srv.url, {
    method: 'PUT',
    path: CK(tid, cid(2)),
    key: c.key,
    headers: { 'Content-Type': 'application/json' },
    chunks: [text.slice(0, 100), text.slice(100, 800000), text.slice(800000)],
  });
  assertStatus(r, 201);
  const g2 = await get(c, tid, cid(2));
  assert.ok(g2.channel_values.length === 1 && g2.channel_values[0][2] === JSON.parse(text).blobs[0][3], 'the chunked value reads back');
});

test('CONVSTORE_MAX_CHECKPOINT_BYTES bounds checkpoint PUTs (413, nothing written); other routes keep the general limit', async () => {
  const LIMIT = 65536;
  const small = await startServer({ CONVSTORE_MAX_CHECKPOINT_BYTES: String(LIMIT) });
  try {
    const s = client(small.url, c.key);
    const tid = uniq('limit');
    assertStatus(await s.send('PUT', CK(tid, cid(1)), putOfSize(cid(1), LIMIT)), 201);
    assert.equal((await get(s, tid, cid(1))).checkpoint_id, cid(1));
    const over = await s.send('PUT', CK(tid, cid(2)), putOfSize(cid(2), LIMIT + 1));
    assertProblem(over, 413, 'payload_too_large');
    await absent(s, tid, cid(2));
    const t2 = uniq('limit-new');
    assertProblem(await s.send('PUT', CK(t2, cid(1)), putOfSize(cid(1), 200000)), 413, 'payload_too_large');
    assertProblem(await s.get(`/v1/threads/${t2}`), 404, 'not_found');
    // Writes keep CONVSTORE_MAX_BODY_BYTES (1 MiB), even above the checkpoint limit.
    await writes(s, tid, cid(1), 't', [[0, 'big', 'json', `"${'y'.repeat(200000)}"`]]);
    assert.equal((await get(s, tid, cid(1))).pending_writes[0][3].length, 200002);
  } finally {
    await small.stop();
  }
});
