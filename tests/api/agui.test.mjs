// AG-UI with the stock @ag-ui/client: a recorded multi-run stream ingested, then replayed in each
// mode into an HttpAgent, which must end with what it builds from the original stream, and with
// what GET .../messages and GET .../state say.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, client, listAll, assertStatus, uniq } from './lib/harness.mjs';
import { recordedStream, originalView, agentView, asAgui, comparable, sseFrames } from './lib/agui.mjs';

let srv;
let key;
let c;

before(async () => {
  srv = await startServer();
  key = (await createOrg(uniq('agui'))).api_key;
  c = client(srv.url, key);
});
after(async () => {
  await srv?.stop();
});

const auth = () => ({ Authorization: `Bearer ${key}` });
const replayUrl = (tid) => `${srv.url}/v1/threads/${tid}/agui/replay`;

async function ingest(tid, events, extra = {}) {
  const r = await c.post(`/v1/threads/${tid}/agui`, { events, ...extra });
  assertStatus(r, 201);
  return r.json;
}

async function restView(tid) {
  const msgs = await listAll(c, `/v1/threads/${tid}/messages?order=asc&limit=100`);
  const state = (await c.get(`/v1/threads/${tid}/state`)).json.state;
  return { messages: msgs.map(asAgui), state };
}

test('a recorded stream replays in every mode to what the client builds from the original', async (t) => {
  const tid = uniq('rec');
  const events = recordedStream(tid);
  const want = await originalView(events);
  assert.equal(want.messages.length, 7, 'the stream builds seven messages');
  const stored = await ingest(tid, events);
  assert.equal(stored.count, events.length);

  await t.test('GET messages and state equal the client view', async () => {
    const rest = await restView(tid);
    assert.deepEqual(rest.messages, comparable(want.messages));
    assert.deepEqual(rest.state, want.state);
  });

  for (const mode of ['snapshot', 'events']) {
    await t.test(`mode ${mode} into an empty page`, async () => {
      const got = await agentView(replayUrl(tid), { headers: auth(), forwardedProps: { convstore: { mode } } });
      assert.deepEqual(comparable(got.messages), comparable(want.messages));
      assert.deepEqual(got.state, want.state);
      assert.deepEqual(got.interrupts, want.interrupts, 'the pending interrupt comes back');
    });
    await t.test(`mode ${mode} into a page that shows the thread already`, async () => {
      const got = await agentView(replayUrl(tid), { headers: auth(), forwardedProps: { convstore: { mode } }, messages: want.messages, state: want.state });
      if (mode === 'snapshot') assert.deepEqual(comparable(got.messages), comparable(want.messages));
      assert.deepEqual(got.state, want.state);
    });
  }

  await t.test('events mode sends every stored event byte for byte, each framed with its seq', async () => {
    const r = await fetch(`${srv.url}/v1/threads/${tid}/agui/events?mode=events`, { headers: auth() });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/event-stream/);
    const text = await r.text();
    assert.ok(!text.includes('\r'), 'LF line endings only');
    const frames = sseFrames(text);
    assert.deepEqual(frames.map((f) => f.data), events);
    assert.deepEqual(frames.map((f) => f.id), events.map((_, i) => i + 1));
  });

  await t.test('run_id replays one run', async () => {
    const r = await fetch(`${srv.url}/v1/threads/${tid}/agui/events?mode=events&run_id=${tid}-run-2`, { headers: auth() });
    const frames = sseFrames(await r.text());
    assert.equal(frames[0].data.runId, `${tid}-run-2`);
    assert.equal(frames.length, 6);
  });

  await t.test('the runs and steps the stream made', async () => {
    const r1 = (await c.get(`/v1/threads/${tid}/runs/${tid}-run-1`)).json;
    assert.equal(r1.status, 'completed');
    assert.deepEqual(r1.output, { result: { ok: true } });
    const r2 = (await c.get(`/v1/threads/${tid}/runs/${tid}-run-2`)).json;
    assert.equal(r2.status, 'interrupted');
    assert.equal(r2.output.outcome.interrupts[0].id, 'int-1');
    const steps = (await c.get(`/v1/threads/${tid}/runs/${tid}-run-1/steps`)).json.data;
    assert.deepEqual(steps.map((s) => [s.name, s.status, s.kind]), [['plan', 'completed', 'node']]);
  });
});

test('a run split over many requests projects as one stream would', async () => {
  const tid = uniq('split');
  const events = recordedStream(tid);
  const want = await originalView(events);
  for (let i = 0; i < events.length; i += 3) await ingest(tid, events.slice(i, i + 3));
  const rest = await restView(tid);
  assert.deepEqual(rest.messages, comparable(want.messages));
  assert.deepEqual(rest.state, want.state);
});

test("a RUN_STARTED without input replays with the request's input", async () => {
  const tid = uniq('input');
  const input = { threadId: tid, runId: 'ri', messages: [{ id: 'q', role: 'user', content: 'question' }] };
  await ingest(tid, [{ type: 'RUN_STARTED', threadId: tid, runId: 'ri' }, { type: 'RUN_FINISHED', threadId: tid, runId: 'ri' }], { input });
  const r = await fetch(`${srv.url}/v1/threads/${tid}/agui/events?mode=events`, { headers: auth() });
  const frames = sseFrames(await r.text());
  assert.deepEqual(frames[0].data.input, input);
  const got = await agentView(replayUrl(tid), { headers: auth(), forwardedProps: { convstore: { mode: 'events' } } });
  assert.deepEqual(got.messages, [{ id: 'q', role: 'user', content: 'question' }]);
});

test('a run abandoned by its producer is closed with RUN_ERROR when another run starts', async () => {
  const tid = uniq('abandon');
  await ingest(tid, [{ type: 'RUN_STARTED', threadId: tid, runId: 'ra' }, { type: 'TEXT_MESSAGE_START', messageId: 'm1' }, { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm1', delta: 'half' }]);
  await ingest(tid, [{ type: 'RUN_STARTED', threadId: tid, runId: 'rb' }, { type: 'RUN_FINISHED', threadId: tid, runId: 'rb' }]);
  assert.equal((await c.get(`/v1/threads/${tid}/runs/ra`)).json.status, 'failed');
  const got = await agentView(replayUrl(tid), { headers: auth(), forwardedProps: { convstore: { mode: 'events' } } });
  assert.deepEqual(got.messages.map((m) => [m.id, m.content]), [['m1', 'half']]);
});

test('compact mode is the client\'s own compactEvents of the stored stream', async () => {
  const { compactEvents } = await import('@ag-ui/client');
  const tid = uniq('compact');
  const events = recordedStream(tid);
  await ingest(tid, events);
  const r = await fetch(`${srv.url}/v1/threads/${tid}/agui/events?mode=compact`, { headers: auth() });
  const frames = sseFrames(await r.text());
  const quiet = console.warn;
  console.warn = () => {};
  const want = compactEvents(structuredClone(events));
  console.warn = quiet;
  assert.deepEqual(frames.map((f) => f.data), JSON.parse(JSON.stringify(want)));
  const original = await originalView(events);
  const got = await agentView(replayUrl(tid), { headers: auth(), forwardedProps: { convstore: { mode: 'compact' } } });
  assert.deepEqual(comparable(got.messages), comparable(original.messages));
  assert.deepEqual(got.state, original.state);
});

test('resuming in the middle of a run: into an empty page and into a page holding the partial run', async (t) => {
  const tid = uniq('resume');
  const events = recordedStream(tid);
  const want = await originalView(events);
  await ingest(tid, events);
  // Cut points inside run 1: mid text, mid tool call, mid reasoning, mid chunk stream, mid run 2.
  const cuts = [5, 11, 15, 17, 24, 29].filter((n) => n < events.length);
  for (const n of cuts) {
    const partial = await originalView(events.slice(0, n));
    await t.test(`after seq ${n}, Last-Event-ID, empty page`, async () => {
      const got = await agentView(replayUrl(tid), { headers: { ...auth(), 'Last-Event-ID': String(n) }, forwardedProps: { convstore: { mode: 'events' } } });
      assert.deepEqual(comparable(got.messages), comparable(want.messages));
      assert.deepEqual(got.state, want.state);
    });
    await t.test(`after seq ${n}, after_seq, page holding the partial run`, async () => {
      const got = await agentView(replayUrl(tid), { headers: auth(), forwardedProps: { convstore: { mode: 'events', after_seq: n } }, messages: partial.messages, state: partial.state });
      assert.deepEqual(comparable(got.messages), comparable(want.messages));
      assert.deepEqual(got.state, want.state);
    });
  }
});

test('a thread written through the REST API replays in snapshot mode to a client that takes it', async () => {
  const tid = uniq('rest');
  assertStatus(await c.post('/v1/threads', { id: tid, messages: [
    { id: 's', role: 'system', content: [{ type: 'text', text: 'Be ' }, { type: 'text', text: 'brief.' }] },
    { id: 'u', role: 'user', content: 'hi' },
    { id: 'a', role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
    { id: 't', role: 'tool', content: 'done' },
  ] }), 201);
  const got = await agentView(replayUrl(tid), { headers: auth() });
  assert.deepEqual(got.messages.map((m) => [m.id, m.role, m.content ?? null]), [['s', 'system', 'Be brief.'], ['u', 'user', 'hi'], ['a', 'assistant', null], ['t', 'tool', 'done']]);
  assert.equal(got.messages[2].toolCalls[0].id, 'c1');
});

test('a MESSAGES_SNAPSHOT that lists a message still streaming leaves it streaming', async () => {
  const tid = uniq('snapstream');
  const events = [
    { type: 'RUN_STARTED', threadId: tid, runId: `${tid}-r` },
    { type: 'TEXT_MESSAGE_START', messageId: 'm1', role: 'assistant' },
    { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm1', delta: 'draft' },
    { type: 'MESSAGES_SNAPSHOT', messages: [{ id: 'u0', role: 'user', content: 'q' }, { id: 'm1', role: 'assistant', content: 'Final: ' }] },
    { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm1', delta: 'yes' },
    { type: 'TEXT_MESSAGE_END', messageId: 'm1' },
    { type: 'RUN_FINISHED', threadId: tid, runId: `${tid}-r` },
  ];
  const want = await originalView(events);
  await ingest(tid, events);
  const rest = await restView(tid);
  assert.deepEqual(rest.messages, comparable(want.messages));
  assert.equal(want.messages.find((m) => m.id === 'm1').content, 'Final: yes');
});

test('an input of null is as no input (a RUN_STARTED without one stays without)', async () => {
  const tid = uniq('nullinput');
  await ingest(tid, [{ type: 'RUN_STARTED', threadId: tid, runId: `${tid}-r` }, { type: 'RUN_FINISHED', threadId: tid, runId: `${tid}-r` }], { input: null });
  assert.equal((await c.get(`/v1/threads/${tid}/runs/${tid}-r`)).json.input, null);
});
