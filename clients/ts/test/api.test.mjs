// Every resource's happy path through the client against the real service, error mapping, and
// walking long lists with the iterator and .page().
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConvstoreError, createClient } from '../dist/index.js';
import { freshClient, serverUrl, uniq } from './helpers.mjs';

test('me and keys: create, list (iterator), revoke', async () => {
  const { cs, org } = await freshClient();
  const me = await cs.me();
  assert.equal(me.org_id, org.org_id);
  assert.equal(me.role, 'admin');
  const k = await cs.keys.create({ role: 'user', user_id: 'u1', name: 'frontend' });
  assert.match(k.key, /^cs_live_/);
  const user = createClient({ baseUrl: serverUrl(), apiKey: k.key });
  assert.deepEqual((await user.me()).user_id, 'u1');
  const ids = [];
  for await (const key of cs.keys.list()) ids.push(key.id);
  assert.ok(ids.includes(k.id) && ids.includes(me.key_id));
  const revoked = await cs.keys.revoke(k.id);
  assert.ok(revoked.revoked_at);
  await assert.rejects(user.me(), (e) => e instanceof ConvstoreError && e.status === 401 && e.code === 'unauthorized');
});

test('threads: create, get, update with ifMatch, list with a metadata filter, if_exists, delete', async () => {
  const { cs } = await freshClient();
  const id = uniq('t');
  const t = await cs.threads.create({ id, title: 'hello', metadata: { app: 'x' }, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(t.id, id);
  assert.equal(t.message_count, 1);
  assert.equal((await cs.threads.get(id)).title, 'hello');
  const u = await cs.threads.update(id, { title: 'renamed' }, { ifMatch: t.version });
  assert.equal(u.title, 'renamed');
  assert.equal(u.version, t.version + 1);
  await assert.rejects(cs.threads.update(id, { title: 'stale' }, { ifMatch: t.version }), (e) => e.status === 412 && e.code === 'precondition_failed');
  await cs.threads.create({ id: uniq('t'), metadata: { app: 'y' } });
  const mine = [];
  for await (const x of cs.threads.list({ metadata: { app: 'x' } })) mine.push(x.id);
  assert.deepEqual(mine, [id]);
  const again = await cs.threads.create({ id, title: 'ignored' }, { ifExists: 'return' });
  assert.equal(again.title, 'renamed');
  const del = await cs.threads.delete(id);
  assert.deepEqual(del, { id, object: 'thread.deleted', deleted: true });
  await assert.rejects(cs.threads.get(id), (e) => e.status === 404);
});

test('messages: create, batch, get, update, streamed append, delete, clear, list filters', async () => {
  const { cs } = await freshClient();
  const { id: tid } = await cs.threads.create();
  const m = await cs.messages.create(tid, { role: 'assistant', content: '', status: 'in_progress' });
  assert.equal(m.seq, 1);
  for (const piece of ['Hel', 'lo', ', world']) assert.equal(await cs.messages.append(tid, m.id, piece), undefined);
  const done = await cs.messages.update(tid, m.id, { status: 'completed', metadata: { k: 1 } });
  assert.equal(done.content, 'Hello, world');
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.metadata, { k: 1 });
  const batch = await cs.messages.createBatch(tid, [
    { role: 'user', content: 'a' },
    { role: 'tool', content: 'b', tool_call_id: 'c1' },
  ]);
  assert.deepEqual(batch.data.map((x) => x.seq), [2, 3]);
  assert.equal((await cs.messages.get(tid, batch.data[1].id)).tool_call_id, 'c1');
  const users = [];
  for await (const x of cs.messages.list(tid, { role: 'user' })) users.push(x.content);
  assert.deepEqual(users, ['a']);
  assert.equal((await cs.messages.delete(tid, m.id)).deleted, true);
  const cleared = await cs.messages.clear(tid);
  assert.equal(cleared.deleted_count, 2);
  assert.equal((await cs.threads.get(tid)).message_count, 0);
});

test('events: append (conditional), get, list pages by after_seq', async () => {
  const { cs } = await freshClient();
  const tid = uniq('t');
  const a = await cs.events.append(tid, { events: [{ type: 'note', data: { n: 1 } }, { id: 'e2', type: 'note', data: { n: 2 } }], expected_seq: 0 });
  assert.equal(a.first_seq, 1);
  assert.equal(a.last_seq, 2);
  await assert.rejects(cs.events.append(tid, { events: [{ type: 'note' }], expected_seq: 0 }), (e) => e.code === 'seq_conflict' && e.problem.current_seq === 2);
  await cs.events.append(tid, { events: Array.from({ length: 5 }, (_, i) => ({ type: 'tick', data: i })) });
  assert.deepEqual((await cs.events.get(tid, 'e2')).data, { n: 2 });
  const seqs = [];
  for await (const e of cs.events.list(tid, { limit: 3 })) seqs.push(e.seq);
  assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6, 7]);
  const desc = [];
  for await (const e of cs.events.list(tid, { limit: 2, order: 'desc', type: ['tick'] })) desc.push(e.seq);
  assert.deepEqual(desc, [7, 6, 5, 4, 3]);
  const page = await cs.events.list(tid, { limit: 3 }).page({ after_seq: 5 });
  assert.deepEqual(page.data.map((e) => e.seq), [6, 7]);
  assert.equal(page.has_more, false);
  assert.equal(page.last_seq, 7);
});

test('runs and steps: create, update, get, lists, graph, summary, the org-wide list', async () => {
  const { cs } = await freshClient();
  const { id: tid } = await cs.threads.create();
  const run = await cs.runs.create(tid, { status: 'running', name: 'agent', input: { q: 1 } });
  assert.equal(run.status, 'running');
  const s1 = await cs.steps.create(tid, run.id, { kind: 'llm', name: 'plan', status: 'running' });
  const s2 = await cs.steps.create(tid, run.id, { kind: 'tool', name: 'search', parent_step_id: s1.id, depends_on: [s1.id] });
  assert.equal(s2.path, '1.1');
  assert.equal((await cs.steps.update(tid, run.id, s1.id, { status: 'completed' })).status, 'completed');
  assert.equal((await cs.steps.get(tid, run.id, s2.id)).name, 'search');
  const names = [];
  for await (const s of cs.steps.list(tid, run.id)) names.push(s.name);
  assert.deepEqual(names, ['plan', 'search']);
  const graph = await cs.runs.graph(tid, run.id);
  assert.equal(graph.nodes.length, 2);
  assert.ok(graph.edges.some((e) => e.kind === 'depends_on' && e.from === s1.id && e.to === s2.id));
  const got = await cs.runs.get(tid, run.id);
  const ended = await cs.runs.update(tid, run.id, { status: 'interrupted', output: 'wait' }, { ifMatch: got.version });
  assert.equal(ended.status, 'interrupted');
  await assert.rejects(cs.runs.update(tid, run.id, { status: 'running' }), (e) => e.status === 409 && e.code === 'invalid_state_transition');
  const summary = await cs.runs.summary(tid, run.id);
  assert.equal(summary.steps.total, 2);
  const listed = [];
  for await (const r of cs.runs.list(tid)) listed.push(r.id);
  assert.deepEqual(listed, [run.id]);
  const waiting = [];
  for await (const r of cs.runs.listAll({ status: ['interrupted'] })) waiting.push(r.id);
  assert.deepEqual(waiting, [run.id]);
});

test('checkpoints: put, writes, get (latest), list, prune, delete', async () => {
  const { cs } = await freshClient();
  const tid = uniq('t');
  const put = (id, parent) =>
    cs.checkpoints.put(tid, id, {
      checkpoint_ns: '',
      parent_checkpoint_id: parent,
      checkpoint: { v: 1, id, ts: '2026-12-01T00:00:00Z', channel_versions: { a: '1' }, versions_seen: {} },
      metadata: { type: 'json', data: '{"step":1}' },
      blobs: [['a', '1', 'json', '"x"']],
    });
  assert.equal((await put('c1', null)).checkpoint_id, 'c1');
  await put('c2', 'c1');
  await put('c3', 'c2');
  assert.equal(await cs.checkpoints.writes(tid, 'c3', { checkpoint_ns: '', task_id: 'task', task_path: '', writes: [[0, 'a', 'json', '"y"']] }), undefined);
  const latest = await cs.checkpoints.get(tid, 'latest', { checkpoint_ns: '' });
  assert.equal(latest.checkpoint_id, 'c3');
  assert.deepEqual(latest.channel_values, [['a', 'json', '"x"']]);
  assert.equal(latest.pending_writes.length, 1);
  const ids = [];
  for await (const c of cs.checkpoints.list({ thread_id: tid, limit: 2 })) ids.push(c.checkpoint_id);
  assert.deepEqual(ids, ['c3', 'c2', 'c1']);
  const pruned = await cs.checkpoints.prune(tid, { keep_latest: 1 });
  assert.equal(pruned.deleted_checkpoints, 2);
  assert.equal(await cs.checkpoints.delete(tid), undefined);
  await assert.rejects(cs.checkpoints.get(tid, 'latest'), (e) => e.status === 404);
});

test('AG-UI: ingest, state, events replayed as parsed AG-UI events', async () => {
  const { cs } = await freshClient();
  const tid = uniq('t');
  const r = await cs.agui.ingest(tid, {
    events: [
      { type: 'RUN_STARTED', threadId: tid, runId: 'r1' },
      { type: 'TEXT_MESSAGE_START', messageId: 'm1', role: 'assistant' },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm1', delta: 'Hi there' },
      { type: 'TEXT_MESSAGE_END', messageId: 'm1' },
      { type: 'STATE_SNAPSHOT', snapshot: { count: 1 } },
      { type: 'RUN_FINISHED', threadId: tid, runId: 'r1' },
    ],
  });
  assert.equal(r.count, 6);
  assert.deepEqual((await cs.agui.state(tid)).state, { count: 1 });
  assert.equal((await cs.messages.get(tid, 'm1')).content, 'Hi there');
  const types = [];
  for await (const e of cs.agui.events(tid, { mode: 'events' })) types.push(e.type);
  assert.deepEqual(types, ['RUN_STARTED', 'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_END', 'STATE_SNAPSHOT', 'RUN_FINISHED']);
  const snap = [];
  for await (const e of cs.agui.events(tid)) snap.push(e);
  assert.ok(snap.some((e) => e.type === 'MESSAGES_SNAPSHOT' && e.messages.some((m) => m.id === 'm1')));
});

test('errors: 404, 400 with errors[], 409 with its code, all ConvstoreError with the request id', async () => {
  const { cs } = await freshClient();
  const e404 = await cs.threads.get('nope').catch((e) => e);
  assert.ok(e404 instanceof ConvstoreError);
  assert.equal(e404.status, 404);
  assert.equal(e404.code, 'not_found');
  assert.ok(e404.requestId);
  const { id: tid } = await cs.threads.create();
  const e400 = await cs.messages.create(tid, { role: 'wizard', content: 'x' }).catch((e) => e);
  assert.equal(e400.status, 400);
  assert.equal(e400.code, 'validation_failed');
  assert.equal(e400.errors[0].field, 'role');
  assert.ok(e400.detail);
  const e409 = await cs.threads.create({ id: tid }).catch((e) => e);
  assert.equal(e409.status, 409);
  assert.equal(e409.code, 'thread_exists');
  const eq = await cs.messages.list(tid, { after: 'no-such-id' }).page().catch((e) => e);
  assert.equal(eq.code, 'invalid_cursor');
});

test('a network failure is not a ConvstoreError', async () => {
  const cs = createClient({ baseUrl: 'http://127.0.0.1:9', apiKey: 'cs_live_x', retry: { attempts: 1 } });
  const e = await cs.me().catch((x) => x);
  assert.ok(!(e instanceof ConvstoreError));
  assert.ok(e instanceof TypeError);
});

test('250 messages: the iterator walks every page in order; .page() gives one page and its cursors', async () => {
  const { cs } = await freshClient();
  const { id: tid } = await cs.threads.create();
  const all = Array.from({ length: 250 }, (_, i) => ({ role: 'user', content: `m${i + 1}` }));
  await cs.messages.createBatch(tid, all.slice(0, 200));
  await cs.messages.createBatch(tid, all.slice(200));
  const asc = [];
  for await (const m of cs.messages.list(tid, { order: 'asc', limit: 100 })) asc.push(m.seq);
  assert.deepEqual(asc, Array.from({ length: 250 }, (_, i) => i + 1));
  let n = 0;
  let prev = Infinity;
  for await (const m of cs.messages.list(tid)) {
    assert.ok(m.seq < prev);
    prev = m.seq;
    n++;
  }
  assert.equal(n, 250);
  const list = cs.messages.list(tid, { order: 'asc', limit: 100 });
  const p1 = await list.page();
  assert.equal(p1.data.length, 100);
  assert.equal(p1.has_more, true);
  assert.equal(p1.first_id, p1.data[0].id);
  assert.equal(p1.last_id, p1.data[99].id);
  const p3 = await list.page({ after: (await list.page({ after: p1.last_id })).last_id });
  assert.equal(p3.data.length, 50);
  assert.equal(p3.has_more, false);
  assert.equal(p3.data[49].content, 'm250');
  const back = await list.page({ before: p3.first_id, limit: 10 });
  assert.deepEqual(back.data.map((m) => m.seq), [191, 192, 193, 194, 195, 196, 197, 198, 199, 200]);
});
