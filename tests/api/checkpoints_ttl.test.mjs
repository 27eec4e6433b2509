// Checkpoint retention: a thread whose checkpoints were put with ttl_seconds loses them that long
// after its last put, deleted by the service's sweeper (CONVSTORE_CHECKPOINT_SWEEP_MS) as
// DELETE …/checkpoints would: every namespace, and late writes for them stay ignored.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, client, assertProblem, assertStatus, uniq, sleep } from './lib/harness.mjs';

let srv;
let c;

before(async () => {
  srv = await startServer({ CONVSTORE_CHECKPOINT_SWEEP_MS: '100' });
  c = client(srv.url, (await createOrg(uniq('ckpt-ttl'))).api_key);
});
after(async () => {
  await srv?.stop();
});

const CK = (tid, id) => `/v1/threads/${encodeURIComponent(tid)}/checkpoints/${encodeURIComponent(id)}`;

function put(tid, id, { ns = '', parent = null, ttl } = {}) {
  const body = {
    checkpoint_ns: ns,
    parent_checkpoint_id: parent,
    checkpoint: { v: 4, id, ts: '2026-12-01T00:00:00.000Z', channel_versions: { a: `v-${id}` }, versions_seen: {} },
    metadata: { type: 'json', data: '{"step":1}' },
    blobs: [['a', `v-${id}`, 'json', `"${id}"`]],
  };
  if (ttl !== undefined) body.ttl_seconds = ttl;
  return c.api('PUT', CK(tid, id), { body });
}

const latest = (tid, ns = '') => c.get(`${CK(tid, 'latest')}?checkpoint_ns=${encodeURIComponent(ns)}`);

/** Waits until GET latest answers `status` (the sweeper runs every 100 ms), at most `ms`. */
async function until(tid, status, ms) {
  const end = Date.now() + ms;
  for (;;) {
    const r = await latest(tid);
    if (r.status === status || Date.now() > end) return r;
    await sleep(100);
  }
}

test('a thread put with ttl_seconds loses its checkpoints (all namespaces) once the TTL runs out', async () => {
  const tid = uniq('ttl');
  const keep = uniq('keep'); // no TTL: untouched
  // A TTL well above what a loaded 2-core CI machine may take between two requests.
  assertStatus(await put(tid, '0001', { ttl: 6 }), 201);
  assertStatus(await put(tid, '0002', { ns: 'child:x', ttl: 6 }), 201);
  assertStatus(await put(keep, '0001'), 201);
  assertStatus(await latest(tid), 200);
  const gone = await until(tid, 404, 15000);
  assertProblem(gone, 404, 'not_found');
  assertProblem(await latest(tid, 'child:x'), 404, 'not_found');
  assertStatus(await latest(keep), 200);
  // A late write for an expired checkpoint is accepted and ignored (the tombstone).
  const w = await c.post(`${CK(tid, '0001')}/writes`, { checkpoint_ns: '', task_id: 't', task_path: '', writes: [[0, 'a', 'json', '"late"']] });
  assertStatus(w, 204);
  assertStatus(await put(tid, '0001'), 201);
  assertProblem(await latest(tid), 404, 'not_found');
  // A newer checkpoint starts the thread again, and keeps its TTL: it expires too.
  assertStatus(await put(tid, '0003'), 201);
  assert.equal((await latest(tid)).json.checkpoint_id, '0003');
  assertProblem(await until(tid, 404, 15000), 404, 'not_found');
});

test('each put pushes the expiry back: a thread in use keeps its checkpoints', async () => {
  const tid = uniq('ttl-live');
  let parent = null;
  for (let i = 1; i <= 8; i++) {
    const id = String(i).padStart(4, '0');
    assertStatus(await put(tid, id, { parent, ttl: 3 }), 201);
    parent = id;
    await sleep(600); // 4.8 s in all, longer than the TTL, never 3 s without a put
  }
  assert.equal((await latest(tid)).json.checkpoint_id, '0008');
  assertProblem(await until(tid, 404, 15000), 404, 'not_found');
});

test('ttl_seconds must be an integer of seconds from 1', async () => {
  for (const ttl of [0, -1, 1.5, '60', true, 315360001]) {
    assertProblem(await put(uniq('ttl-bad'), '0001', { ttl }), 400, 'validation_failed', 'ttl_seconds');
  }
  assertStatus(await put(uniq('ttl-null'), '0001', { ttl: null }), 201);
});
