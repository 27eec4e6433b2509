// AG-UI routes across tenants and users (ingest, state, GET /agui/events, POST /agui/replay, and the
// stock HttpAgent on the replay URL), replay query errors, CORS for a browser page on those routes,
// and Idempotency-Key on ingest.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HttpAgent } from '@ag-ui/client';
import { startServer, createOrg, client, api, listAll, assertProblem, assertStatus, uniq, expectRejected } from './lib/harness.mjs';
import { agentView, sseFrames } from './lib/agui.mjs';

const APP = 'https://app.example';
const EVIL = 'https://evil.example';

let srv;
let A; // org A admin
let S; // org A service key
let alice; // org A, user alice
let bob; // org A, user bob
let B; // org B admin
const TS = uniq('svc-thread'); // made by S: user_id null
const TA = uniq('alice-thread'); // made by alice
const P = (tid) => `/v1/threads/${tid}/agui`;
const RS = (tid, runId, extra = {}) => ({ type: 'RUN_STARTED', threadId: tid, runId, ...extra });
const RF = (tid, runId, extra = {}) => ({ type: 'RUN_FINISHED', threadId: tid, runId, ...extra });

/** A whole run: a user message from the input, an assistant reply, a state snapshot. */
function run(tid, runId, text) {
  return [
    RS(tid, runId, { input: { threadId: tid, runId, messages: [{ id: `${runId}-q`, role: 'user', content: 'question' }] } }),
    { type: 'TEXT_MESSAGE_START', messageId: `${runId}-a`, role: 'assistant' },
    { type: 'TEXT_MESSAGE_CONTENT', messageId: `${runId}-a`, delta: text },
    { type: 'TEXT_MESSAGE_END', messageId: `${runId}-a` },
    { type: 'STATE_SNAPSHOT', snapshot: { owner: text } },
    RF(tid, runId),
  ];
}

async function keyFor(admin, body) {
  const r = await admin.post('/v1/keys', body);
  assertStatus(r, 201);
  return client(srv.url, r.json.key);
}

before(async () => {
  srv = await startServer({ CONVSTORE_CORS_ORIGINS: APP });
  A = client(srv.url, (await createOrg(uniq('agui-iso-a'))).api_key);
  B = client(srv.url, (await createOrg(uniq('agui-iso-b'))).api_key);
  S = await keyFor(A, { role: 'service' });
  alice = await keyFor(A, { role: 'user', user_id: 'alice' });
  bob = await keyFor(A, { role: 'user', user_id: 'bob' });
  assertStatus(await S.post(P(TS), { events: run(TS, `${TS}-r`, 'service') }), 201);
  assertStatus(await alice.post(P(TA), { events: run(TA, `${TA}-r`, 'alice') }), 201);
});
after(async () => {
  await srv?.stop();
});

/** Org A's threads TS and TA as the admin sees them: everything an ingest could change. */
async function snapshot() {
  const per = async (tid) => ({
    thread: (await A.get(`/v1/threads/${tid}`)).json,
    events: (await A.get(`/v1/threads/${tid}/events?limit=1000`)).json.data,
    messages: await listAll(A, `/v1/threads/${tid}/messages?order=asc&limit=100`),
    state: (await A.get(`/v1/threads/${tid}/state`)).json.state,
    runs: await listAll(A, `/v1/threads/${tid}/runs?limit=100`),
  });
  return { ts: await per(TS), ta: await per(TA), threads: await listAll(A, '/v1/threads?limit=100') };
}

const replayUrl = (tid) => `${srv.url}/v1/threads/${tid}/agui/replay`;
const eventsPath = (tid, q = '') => `/v1/threads/${tid}/agui/events${q}`;

/** A 404 with nothing that tells a foreign thread from one that never existed. */
function sameAsAbsent(r, absent, tid, other) {
  const norm = (x, id) => ({ status: x.status, code: x.json.code, title: x.json.title, detail: String(x.json.detail).replaceAll(id, '<id>') });
  assert.deepEqual(norm(r, tid), norm(absent, other), 'a foreign thread answers as an absent one');
}

test('a user key ingesting into a new thread id creates the thread as its own', async () => {
  assert.equal((await A.get(`/v1/threads/${TA}`)).json.user_id, 'alice');
  assert.equal((await A.get(`/v1/threads/${TS}`)).json.user_id, null);
  assert.deepEqual((await alice.get(`/v1/threads/${TA}/state`)).json.state, { owner: 'alice' });
  const got = await agentView(replayUrl(TA), { headers: { Authorization: `Bearer ${alice.key}` } });
  assert.deepEqual(got.messages.map((m) => [m.id, m.content]), [[`${TA}-r-q`, 'question'], [`${TA}-r-a`, 'alice']]);
  assert.deepEqual(got.state, { owner: 'alice' });
  const mine = uniq('bob-thread');
  assertStatus(await bob.post(P(mine), { events: run(mine, `${mine}-r`, 'bob') }), 201);
  assert.equal((await A.get(`/v1/threads/${mine}`)).json.user_id, 'bob');
  assertProblem(await alice.get(`/v1/threads/${mine}/state`), 404, 'not_found');
});

test("another user's key gets 404 on every AG-UI route of a thread it does not own, and writes nothing", async (t) => {
  const cases = [];
  for (const [who, k, tid] of [['bob', () => bob, TA], ['alice', () => alice, TS], ['bob', () => bob, TS]]) {
    const name = `${who} on ${tid === TA ? "alice's" : "the service's"} thread`;
    const absent = uniq('absent');
    const check = (send, sendAbsent) => async () => {
      const r = await send();
      assertProblem(r, 404, 'not_found');
      sameAsAbsent(r, await sendAbsent(), tid, absent);
      return r;
    };
    cases.push(
      { label: `${name}: ingest a new run`, send: check(() => k().post(P(tid), { events: run(tid, uniq('r'), 'intruder') }), () => k().get(`/v1/threads/${absent}/state`)), status: 404, code: 'not_found' },
      { label: `${name}: ingest a lone RUN_ERROR`, send: () => k().post(P(tid), { events: [{ type: 'RUN_ERROR', message: 'x' }] }), status: 404, code: 'not_found' },
      { label: `${name}: GET state`, send: check(() => k().get(`/v1/threads/${tid}/state`), () => k().get(`/v1/threads/${absent}/state`)), status: 404, code: 'not_found' },
      { label: `${name}: GET agui/events`, send: check(() => k().get(eventsPath(tid, '?mode=events')), () => k().get(eventsPath(absent, '?mode=events'))), status: 404, code: 'not_found' },
      { label: `${name}: GET agui/events snapshot`, send: () => k().get(eventsPath(tid)), status: 404, code: 'not_found' },
      { label: `${name}: GET agui/events compact`, send: () => k().get(eventsPath(tid, '?mode=compact')), status: 404, code: 'not_found' },
      { label: `${name}: GET agui/events follow`, send: () => k().get(eventsPath(tid, '?mode=events&follow=true'), { timeoutMs: 5000 }), status: 404, code: 'not_found' },
      { label: `${name}: POST agui/replay follow`, send: () => k().post(`/v1/threads/${tid}/agui/replay`, { threadId: tid, runId: 'x', messages: [], forwardedProps: { convstore: { mode: 'events', follow: true } } }, { timeoutMs: 5000 }), status: 404, code: 'not_found' },
      { label: `${name}: POST agui/replay`, send: check(() => k().post(`/v1/threads/${tid}/agui/replay`, { threadId: tid, runId: 'x', messages: [] }), () => k().post(`/v1/threads/${absent}/agui/replay`, { threadId: absent, runId: 'x', messages: [] })), status: 404, code: 'not_found' },
    );
  }
  await expectRejected(t, cases, snapshot);
});

test('the stock HttpAgent pointed at a thread the key does not own fails with HTTP 404', async () => {
  for (const [k, tid] of [[bob, TA], [alice, TS], [B, TA]]) {
    const agent = new HttpAgent({ url: replayUrl(tid), headers: { Authorization: `Bearer ${k.key}` }, threadId: tid });
    const error = console.error;
    console.error = () => {};
    try {
      await assert.rejects(agent.runAgent({ forwardedProps: { convstore: { mode: 'events' } } }), (e) => e.status === 404);
    } finally {
      console.error = error;
    }
    assert.deepEqual(agent.messages, []);
  }
});

test("another org sees none of org A's AG-UI threads, and its ingest under the same id makes its own", async () => {
  for (const tid of [TA, TS]) {
    assertProblem(await B.get(`/v1/threads/${tid}/state`), 404, 'not_found');
    assertProblem(await B.get(eventsPath(tid, '?mode=events')), 404, 'not_found');
    assertProblem(await B.post(`/v1/threads/${tid}/agui/replay`, { threadId: tid, runId: 'x', messages: [] }), 404, 'not_found');
  }
  const before = await snapshot();
  // Ids are unique per org: B's thread TA and run `${TA}-r` are B's own, A's stay as they were.
  assertStatus(await B.post(P(TA), { events: run(TA, `${TA}-r`, 'org B') }), 201);
  assert.deepEqual(await snapshot(), before, "org A's threads are untouched");
  assert.deepEqual((await B.get(`/v1/threads/${TA}/state`)).json.state, { owner: 'org B' });
  assert.deepEqual((await alice.get(`/v1/threads/${TA}/state`)).json.state, { owner: 'alice' });
  const frames = sseFrames((await B.get(eventsPath(TA, '?mode=events'))).text);
  assert.deepEqual(frames.map((f) => f.data), run(TA, `${TA}-r`, 'org B'), "B's replay holds only B's events");
});

test('replay query errors are 400 invalid_query naming the parameter', async (t) => {
  const q = (query, field, headers = {}) => ({ label: `GET ?${query} ${JSON.stringify(headers)}`, send: () => A.get(eventsPath(TS, `?${query}`), { headers }), status: 400, code: 'invalid_query', field });
  await expectRejected(t, [
    q('mode=bogus', 'mode'),
    q('mode=', 'mode'),
    q('mode=EVENTS', 'mode'),
    q('after_seq=-1', 'after_seq'),
    q('after_seq=abc', 'after_seq'),
    q('after_seq=1.5', 'after_seq'),
    q('run_id=a%20b', 'run_id'),
    q(`run_id=${'x'.repeat(129)}`, 'run_id'),
    q('follow=maybe', 'follow'),
    q('follow=1', 'follow'),
    q('mode=events', 'Last-Event-ID', { 'Last-Event-ID': 'abc' }),
    q('mode=events', 'Last-Event-ID', { 'Last-Event-ID': '-1' }),
  ], snapshot);
});

test('POST replay options that are not replay options are 400 validation_failed', async (t) => {
  const bad = (convstore, field) => ({
    label: `forwardedProps.convstore ${JSON.stringify(convstore)}`,
    send: () => A.post(`/v1/threads/${TS}/agui/replay`, { threadId: TS, runId: 'x', messages: [], forwardedProps: { convstore } }),
    status: 400,
    code: 'validation_failed',
    field,
  });
  await expectRejected(t, [
    bad({ mode: 5 }, 'forwardedProps.convstore.mode'),
    bad({ mode: 'bogus' }, 'forwardedProps.convstore.mode'),
    bad({ mode: null }, 'forwardedProps.convstore.mode'),
    bad({ after_seq: -1 }, 'forwardedProps.convstore.after_seq'),
    bad({ after_seq: 1.5 }, 'forwardedProps.convstore.after_seq'),
    bad({ after_seq: '3' }, 'forwardedProps.convstore.after_seq'),
    bad({ run_id: 'a b' }, 'forwardedProps.convstore.run_id'),
    bad({ follow: 'yes' }, 'forwardedProps.convstore.follow'),
    bad({ speed: 2 }, 'forwardedProps.convstore.speed'),
    bad('events', 'forwardedProps.convstore'),
    bad([], 'forwardedProps.convstore'),
    { label: 'POST replay with a body that is not JSON', send: () => A.send('POST', `/v1/threads/${TS}/agui/replay`, '{"threadId":'), status: 400, code: 'invalid_json' },
  ], snapshot);
});

// ---------------------------------------------------------------------------------------------
// CORS: a page on APP talks to the AG-UI routes; a page elsewhere cannot.

const list = (v) => (v || '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
const preflight = (path, origin, method) =>
  api(srv.url, 'OPTIONS', path, { headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type' } });

test('a preflight from the listed origin to each AG-UI route is 204 and allows the method, Authorization and Content-Type', async () => {
  for (const [path, method] of [['/v1/threads/x/agui/replay', 'POST'], ['/v1/threads/x/agui', 'POST'], ['/v1/threads/x/state', 'GET'], ['/v1/threads/x/agui/events', 'GET']]) {
    const r = await preflight(path, APP, method);
    assertStatus(r, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), APP, path);
    assert.ok(list(r.headers.get('access-control-allow-methods')).includes(method.toLowerCase()), `${path} allows ${method}: ${r.headers.get('access-control-allow-methods')}`);
    const allowed = list(r.headers.get('access-control-allow-headers'));
    for (const h of ['authorization', 'content-type']) assert.ok(allowed.includes(h), `${path} allows ${h}: ${allowed}`);
    assert.ok(list(r.headers.get('vary')).includes('origin'));
  }
});

test('a preflight from another origin is 403 without Access-Control-Allow-Origin', async () => {
  for (const path of ['/v1/threads/x/agui/replay', '/v1/threads/x/agui', `/v1/threads/${TS}/state`]) {
    const r = await preflight(path, EVIL, 'POST');
    assertProblem(r, 403, 'cors_origin_refused');
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    assert.equal(r.headers.get('access-control-allow-methods'), null);
  }
});

test('the actual replay from the listed origin carries Access-Control-Allow-Origin; from another origin none', async () => {
  const body = { threadId: TS, runId: 'x', messages: [], forwardedProps: { convstore: { mode: 'events' } } };
  const ok = await A.post(`/v1/threads/${TS}/agui/replay`, body, { headers: { origin: APP, accept: 'text/event-stream' } });
  assertStatus(ok, 200);
  assert.match(ok.headers.get('content-type'), /^text\/event-stream/);
  assert.equal(ok.headers.get('access-control-allow-origin'), APP);
  assert.ok(list(ok.headers.get('access-control-expose-headers')).includes('x-request-id'));
  assert.equal(sseFrames(ok.text).length, run(TS, 'r', 'x').length);
  const refused = await bob.post(`/v1/threads/${TS}/agui/replay`, body, { headers: { origin: APP } });
  assertProblem(refused, 404, 'not_found');
  assert.equal(refused.headers.get('access-control-allow-origin'), APP, 'the page can read the 404');
  const ingest = await A.post(P(uniq('cors')), { events: [] }, { headers: { origin: APP } });
  assertStatus(ingest, 201);
  assert.equal(ingest.headers.get('access-control-allow-origin'), APP);
  const evil = await A.post(`/v1/threads/${TS}/agui/replay`, body, { headers: { origin: EVIL } });
  assertStatus(evil, 200);
  assert.equal(evil.headers.get('access-control-allow-origin'), null);
});

// ---------------------------------------------------------------------------------------------
// Idempotency-Key on ingest

test('Idempotency-Key: a retry replays the first 201 and stores nothing twice; another body is 409', async () => {
  const tid = uniq('idem');
  const key = uniq('idem-key');
  const headers = { 'Idempotency-Key': key };
  const body = { events: run(tid, `${tid}-r`, 'once') };
  const first = await A.post(P(tid), body, { headers });
  assertStatus(first, 201);
  assert.equal(first.headers.get('idempotent-replayed'), null);
  assert.equal(first.json.count, body.events.length);
  const stored = async () => ({
    events: (await A.get(`/v1/threads/${tid}/events?limit=1000`)).json.data,
    messages: await listAll(A, `/v1/threads/${tid}/messages?order=asc&limit=100`),
    runs: await listAll(A, `/v1/threads/${tid}/runs?limit=100`),
    state: (await A.get(`/v1/threads/${tid}/state`)).json.state,
  });
  const once = await stored();
  assert.equal(once.events.length, body.events.length);

  for (let i = 0; i < 2; i++) {
    const again = await A.post(P(tid), body, { headers });
    assertStatus(again, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.text, first.text, 'the first reply, byte for byte');
  }
  assert.deepEqual(await stored(), once, 'nothing stored twice');

  const other = await A.post(P(tid), { events: run(tid, `${tid}-r2`, 'twice') }, { headers });
  assertProblem(other, 409, 'idempotency_key_reused');
  const otherThread = await A.post(P(uniq('idem-other')), body, { headers });
  assertProblem(otherThread, 409, 'idempotency_key_reused');
  assert.deepEqual(await stored(), once, 'the refused retry wrote nothing');

  // Without the key the same body is a new request: its run id is taken now.
  assertProblem(await A.post(P(tid), body), 409, 'run_exists');
  assert.deepEqual(await stored(), once);
});
