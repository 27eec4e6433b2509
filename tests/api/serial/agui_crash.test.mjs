// AG-UI ingest survives crashes: many threads each receive one AG-UI run, split over many
// POST /v1/threads/{id}/agui requests sent in stream order (a text message whole, a message whose
// deltas span three requests, tool calls whole and split, state deltas, steps), every request
// under an Idempotency-Key of its own (AG-UI events carry no id convstore could deduplicate on).
// The service is killed with -9 under load (three times, replies held back so some requests
// commit without their answer reaching the client), or PostgreSQL is restarted under load; every
// request that got no answer is retried as it was sent until it gets one. Then, per thread, the
// log holds every request's events exactly once and in order, byte for byte as sent; the messages
// hold their deltas once (no doubled or lost delta); the run is completed, each step once and
// completed; the state has every key and every appended entry once; and every acknowledged
// request still replays its first answer and writes nothing.
// A third test loses the answer of a committed request deterministically (reply held, then a
// kill -9). The last pins down what an outage does to one request: a statement of the projection
// failing (here a statement timeout while psql holds a lock) must be a 503 that stores nothing
// under the key, not a 400 refusing the events nor a 500.
// Runs alone (the second test stops PostgreSQL): scripts/test.sh runs tests/api/serial/ after the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startServer, createOrg, api, client, listAll, uniq, sleep } from '../lib/harness.mjs';
import { pg, latencyProxy, viaProxy, kill9, replyProxy } from '../lib/crash.mjs';

const THREADS = 16; // one driver each: this many requests in flight
const BLOCKS = 2; // blocks of 8 requests per thread (see makeStream), between the RUN_STARTED and the RUN_FINISHED requests
const DB_DELAY_MS = 2; // see latencyProxy: lets a crash find requests half done
const REPLY_DELAY_MS = 50; // see replyProxy: lets a crash find requests committed and not yet answered
const RETRY_MS = 100;

const enc = encodeURIComponent;
const AGUI = (tid) => `/v1/threads/${enc(tid)}/agui`;
const EVENTS = (tid) => `/v1/threads/${enc(tid)}/events`;
const RUN = (tid, rid) => `/v1/threads/${enc(tid)}/runs/${enc(rid)}`;

// ---------------------------------------------------------------------------------------------
// The streams

/**
 * Thread tid's run as requests [{events, key}], and what it must leave behind: the messages (in
 * creation order), the state, the step names and the run's result. Every event differs from
 * every other (so one stored twice shows), and several requests hold only deltas (so one applied
 * twice shows in the content or the arguments, not as a conflict).
 */
function makeStream(tid) {
  const rid = `${tid}-run`;
  const reqs = [];
  const msgs = []; // expected messages, in creation order
  const byId = new Map();
  const state = { keys: {}, log: [] };
  const steps = [];
  const add = (events) => reqs.push({ events, key: `${tid}:${reqs.length}` });
  const newMsg = (m) => {
    const full = { id: m.id, role: m.role, content: m.content, status: 'completed', tool_calls: null, tool_call_id: m.tool_call_id ?? null };
    msgs.push(full);
    byId.set(m.id, full);
  };
  const text = (id, deltas) => {
    byId.get(id).content += deltas.join('');
    return deltas.map((delta) => ({ type: 'TEXT_MESSAGE_CONTENT', messageId: id, delta }));
  };
  const args = (mid, tc, deltas) => {
    const call = byId.get(mid).tool_calls.find((c) => c.id === tc);
    call.function.arguments += deltas.join('');
    return deltas.map((delta) => ({ type: 'TOOL_CALL_ARGS', toolCallId: tc, delta }));
  };
  const startCall = (mid, tc, name) => {
    const m = byId.get(mid);
    m.tool_calls = [...(m.tool_calls || []), { id: tc, type: 'function', function: { name, arguments: '' } }];
    return { type: 'TOOL_CALL_START', toolCallId: tc, toolCallName: name, parentMessageId: mid };
  };
  const result = (tc, id, content) => {
    newMsg({ id, role: 'tool', content, tool_call_id: tc });
    return { type: 'TOOL_CALL_RESULT', messageId: id, toolCallId: tc, content };
  };
  const logEntry = () => {
    const v = `${tid}/${reqs.length}`;
    state.log.push(v);
    return { op: 'add', path: '/log/-', value: v };
  };

  const question = `question of ${tid}`;
  newMsg({ id: 'u', role: 'user', content: question });
  add([
    { type: 'RUN_STARTED', threadId: tid, runId: rid, input: { threadId: tid, runId: rid, messages: [{ id: 'u', role: 'user', content: question }], state: {}, tools: [], context: [] } },
    { type: 'STATE_SNAPSHOT', snapshot: { keys: {}, log: [] } },
  ]);
  for (let b = 0; b < BLOCKS; b++) {
    const step = `step-${b}`;
    const a = `m${b}a`; // a message whole in one request
    const s = `m${b}b`; // a message over three requests
    steps.push(step);
    newMsg({ id: a, role: 'assistant', content: '' });
    add([
      { type: 'STEP_STARTED', stepName: step },
      { type: 'TEXT_MESSAGE_START', messageId: a, role: 'assistant' },
      ...text(a, [`${a} one, `, `${a} two, `, `${a} three.`]),
      { type: 'TEXT_MESSAGE_END', messageId: a },
    ]);
    newMsg({ id: s, role: 'assistant', content: '' });
    add([{ type: 'TEXT_MESSAGE_START', messageId: s, role: 'assistant' }, ...text(s, [`${s}: alpha `])]);
    add(text(s, ['beta ', 'gamma ']));
    add([...text(s, ['delta ✓ "é"']), { type: 'TEXT_MESSAGE_END', messageId: s }]);
    state.keys[`k${b}`] = { block: b, thread: tid };
    add([{ type: 'STATE_DELTA', delta: [{ op: 'add', path: `/keys/k${b}`, value: { block: b, thread: tid } }, logEntry()] }]);
    const tca = `tc${b}a`;
    add([startCall(a, tca, 'lookup'), ...args(a, tca, [`{"block":${b},`, `"q":"${tca}"}`]), { type: 'TOOL_CALL_END', toolCallId: tca }, result(tca, `r${b}a`, `result of ${tca}`)]);
    const tcb = `tc${b}b`;
    add([startCall(s, tcb, 'search'), ...args(s, tcb, ['{"terms":['])]);
    add([
      ...args(s, tcb, [`"${tcb}",`, '"x"]}']),
      { type: 'TOOL_CALL_END', toolCallId: tcb },
      result(tcb, `r${b}b`, `result of ${tcb}`),
      { type: 'STATE_DELTA', delta: [logEntry()] },
      { type: 'STEP_FINISHED', stepName: step },
    ]);
  }
  const runResult = { thread: tid, requests: reqs.length + 1 };
  add([{ type: 'RUN_FINISHED', threadId: tid, runId: rid, result: runResult }]);
  return { tid, rid, reqs, want: { messages: msgs, state, steps, result: runResult } };
}

// ---------------------------------------------------------------------------------------------
// Proxies and requests

/** One request: {res} for an answer within the contract, {err, conn} otherwise (conn: the connection failed). */
async function call(ctx, base, method, p, body, headers = {}, timeoutMs = 10000) {
  try {
    return { res: await api(base, method, p, { key: ctx.key, body, headers, timeoutMs }) };
  } catch (err) {
    const conn = !/violates the contract/.test(err.message);
    if (!conn) ctx.problems.push(`${method} ${p}: ${err.message.split('\n').slice(0, 3).join(' | ')}`);
    return { err, conn };
  }
}

// A 500 is outside the contract (recorded by call()), but no answer a client could act on either: retried.
const retryable = (r) => (r.err && (r.conn || / 5xx status /.test(r.err.message))) || (!r.err && (r.res.status === 503 || (r.res.status === 409 && r.res.json?.code === 'idempotency_key_in_use')));
const describe = (r) => (r.err ? `${r.conn ? 'connection error' : 'contract violation'}: ${r.err.message.split('\n')[0]}` : `${r.res.status} ${r.res.text.slice(0, 300)}`);

/**
 * Sends thread th's requests in order, each as it was first sent (same body, same key) until it
 * gets an answer that is not retryable, against whatever ctx.base is at the time (the crash tests
 * swap servers under it), until ctx.deadline. Records each request's final answer, whether it
 * needed retries and whether that retry was replayed (committed, its answer lost).
 */
async function drive(ctx, th) {
  while (th.next < th.reqs.length) {
    if (Date.now() > ctx.deadline) return;
    const q = th.reqs[th.next];
    const r = await call(ctx, ctx.base, 'POST', AGUI(th.tid), { events: q.events }, { 'Idempotency-Key': q.key });
    q.attempts++;
    if (retryable(r)) {
      ctx.unanswered++;
      await sleep(RETRY_MS);
      continue;
    }
    if (r.err || r.res.status !== 201) {
      // What a client retrying it anyway would get: is that answer stored under the key?
      const again = await call(ctx, ctx.base, 'POST', AGUI(th.tid), { events: q.events }, { 'Idempotency-Key': q.key });
      const replayed = again.res?.headers.get('idempotent-replayed') === 'true' ? ', replayed' : '';
      ctx.problems.push(`${th.tid} request ${th.next} (attempt ${q.attempts}, ${q.events.map((e) => e.type).join(' ')}): ${describe(r)} (sent again with its key: ${again.err ? describe(again) : `${again.res.status}${replayed}`})`);
      return;
    }
    const j = r.res.json;
    const n = q.events.length;
    if (j.thread_id !== th.tid || j.count !== n || j.last_seq - j.first_seq + 1 !== n) ctx.problems.push(`${th.tid} request ${th.next}: ${n} events sent, answered ${r.res.text}`);
    const replayed = r.res.headers.get('idempotent-replayed') === 'true';
    if (replayed && q.attempts === 1) ctx.problems.push(`${th.tid} request ${th.next}: replayed on its first attempt`);
    if (replayed) ctx.lost++;
    else if (q.attempts > 1) ctx.redone++;
    q.answer = r.res;
    th.next++;
    ctx.acks++;
    ctx.onAck();
  }
}

/** A fresh org and THREADS streams; the drivers start with run(). */
async function setup(tag) {
  const { api_key: key } = await createOrg(uniq(tag));
  const threads = Array.from({ length: THREADS }, () => ({ ...makeStream(uniq('ag')), next: 0 }));
  for (const th of threads) for (const q of th.reqs) Object.assign(q, { attempts: 0, answer: null });
  const ctx = { key, threads, base: null, deadline: 0, problems: [], acks: 0, unanswered: 0, lost: 0, redone: 0, onAck: () => {} };
  ctx.total = threads.reduce((n, th) => n + th.reqs.length, 0);
  ctx.run = (windowMs) => {
    ctx.deadline = Date.now() + windowMs;
    return Promise.all(threads.map((th) => drive(ctx, th)));
  };
  return ctx;
}

/** Resolves once ctx.acks reaches goal (or done settles first: then false). */
function acksReach(ctx, goal, done) {
  return new Promise((resolve) => {
    ctx.onAck = () => {
      if (ctx.acks >= goal) {
        ctx.onAck = () => {};
        resolve(true);
      }
    };
    done.then(() => resolve(false));
  });
}

// ---------------------------------------------------------------------------------------------
// The checks

async function readLog(c, tid) {
  const log = [];
  for (let after = 0; ; ) {
    const r = await c.get(`${EVENTS(tid)}?limit=1000&after_seq=${after}`);
    if (r.status !== 200) throw new Error(`GET events of ${tid}: ${r.status} ${r.text.slice(0, 300)}`);
    log.push(...r.json.data);
    if (!r.json.has_more) return log;
    after = r.json.data.at(-1).seq;
  }
}

const pick = (m) => ({ id: m.id, role: m.role, content: m.content, status: m.status, tool_calls: m.tool_calls ?? null, tool_call_id: m.tool_call_id ?? null });
const short = (x) => JSON.stringify(x).slice(0, 400);

/**
 * Every acknowledged request sent once more (must replay its first answer byte for byte and write
 * nothing), then every thread's log, messages, run, steps and state compared with what was sent.
 * Pushes what is wrong to ctx.problems; returns a summary line.
 */
async function check(ctx, base) {
  const problems = ctx.problems;
  const c = client(base, ctx.key);
  const notDone = ctx.threads.filter((th) => th.next < th.reqs.length);
  if (notDone.length) problems.push(`${notDone.length} threads never got all their requests acknowledged: ${notDone.slice(0, 5).map((th) => `${th.tid} at request ${th.next}`).join(', ')}`);

  // Acknowledged requests, sent again with their keys: the stored first answer, nothing written.
  let replays = 0;
  await Promise.all(
    ctx.threads.map(async (th) => {
      for (let i = 0; i < th.next; i++) {
        const q = th.reqs[i];
        const r = await call(ctx, base, 'POST', AGUI(th.tid), { events: q.events }, { 'Idempotency-Key': q.key });
        replays++;
        if (r.err || r.res.status !== 201 || r.res.headers.get('idempotent-replayed') !== 'true' || r.res.text !== q.answer.text)
          problems.push(`${th.tid} request ${i} sent again: ${describe(r)} replayed=${r.res?.headers.get('idempotent-replayed')}, first answer ${q.answer.text}`);
      }
    }),
  );

  let events = 0;
  for (const th of ctx.threads) {
    const bad = (msg) => problems.push(`${th.tid}: ${msg}`);
    // A thread left short (a request refused, reported above) is checked up to where it stopped.
    const complete = th.next === th.reqs.length;
    const sent = th.reqs.slice(0, th.next).flatMap((q) => q.events);
    const log = await readLog(c, th.tid);
    events += log.length;
    // The log: every request's events once, in order, as sent; seqs 1..N; each answer names its own events.
    if (log.some((e, k) => e.seq !== k + 1)) bad(`log seqs are not 1..${log.length}: ${log.map((e) => e.seq).join(' ').slice(0, 200)}`);
    const seen = new Map();
    for (const e of log) {
      const s = JSON.stringify(e.data);
      seen.set(s, (seen.get(s) || 0) + 1);
    }
    const twice = [...seen].filter(([, n]) => n > 1);
    if (twice.length) bad(`${twice.length} AG-UI events stored more than once, e.g. ${twice.slice(0, 3).map(([s, n]) => `${n}× ${s}`).join('; ')}`);
    if (log.length !== sent.length) bad(`the log holds ${log.length} events, ${sent.length} were sent${complete ? '' : ' and acknowledged'}`);
    const k = log.findIndex((e, i) => i >= sent.length || e.type !== sent[i].type || JSON.stringify(e.data) !== JSON.stringify(sent[i]) || e.run_id !== th.rid);
    if (k >= 0) bad(`log event ${k + 1} is ${e2s(log[k])}, expected ${short(sent[k] ?? null)}`);
    for (let i = 0; i < th.next; i++) {
      const { first_seq: f, last_seq: l } = th.reqs[i].answer.json;
      const got = log.slice(f - 1, l).map((e) => e.data);
      if (JSON.stringify(got) !== JSON.stringify(th.reqs[i].events)) {
        bad(`request ${i} was answered seqs ${f}..${l}, which hold ${short(got.map((d) => d.type))}, not its events ${short(th.reqs[i].events.map((d) => d.type))}`);
        break;
      }
    }
    if (!complete) continue;
    // The messages: each once, content and arguments fully accumulated (no delta twice or lost).
    const msgs = await listAll(c, `/v1/threads/${enc(th.tid)}/messages?order=asc&limit=100`);
    const got = msgs.map(pick);
    const want = th.want.messages;
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      const j = got.findIndex((m, i) => JSON.stringify(m) !== JSON.stringify(want[i]));
      bad(`messages: ${got.length}, expected ${want.length}; first difference at ${j}: ${short(got[j] ?? null)} expected ${short(want[j] ?? null)}`);
    }
    const wrongRun = msgs.filter((m) => m.run_id !== th.rid);
    if (wrongRun.length) bad(`${wrongRun.length} messages with a run_id other than ${th.rid}`);
    // The run and its steps.
    const run = await c.get(RUN(th.tid, th.rid));
    if (run.status !== 200) bad(`GET run: ${run.status} ${run.text.slice(0, 200)}`);
    else {
      if (run.json.status !== 'completed') bad(`run is ${run.json.status}, expected completed`);
      if (JSON.stringify(run.json.output) !== JSON.stringify({ result: th.want.result })) bad(`run output ${short(run.json.output)}, expected ${short({ result: th.want.result })}`);
      if (run.json.step_count !== th.want.steps.length) bad(`run.step_count ${run.json.step_count}, expected ${th.want.steps.length}`);
      const steps = await listAll(c, `${RUN(th.tid, th.rid)}/steps?order=asc&limit=100`);
      const gotSteps = steps.map((s) => `${s.name}:${s.status}`);
      const wantSteps = th.want.steps.map((n) => `${n}:completed`);
      if (JSON.stringify(gotSteps) !== JSON.stringify(wantSteps)) bad(`steps ${gotSteps.join(' ')}, expected ${wantSteps.join(' ')}`);
    }
    // The state: every key, every log entry once.
    const st = await c.get(`/v1/threads/${enc(th.tid)}/state`);
    if (st.status !== 200 || JSON.stringify(st.json.state) !== JSON.stringify(th.want.state)) bad(`state ${st.status} ${short(st.json?.state)}, expected ${short(th.want.state)}`);
  }
  return `${ctx.threads.length} threads, ${ctx.total} requests, ${events} events; ${ctx.unanswered} attempts unanswered, ${ctx.lost} requests committed without their answer (replayed on retry), ${ctx.redone} not committed (done on retry); ${replays} acknowledged requests replayed`;
}

const e2s = (e) => (e ? short({ seq: e.seq, type: e.type, run_id: e.run_id, data: e.data }) : 'missing');

// ---------------------------------------------------------------------------------------------

test('kill -9 under load, three times: every AG-UI request stored and projected once, in stream order', { timeout: 120000 }, async (t) => {
  const ROUNDS = 3;
  const proxy = await latencyProxy(DB_DELAY_MS);
  const servers = [];
  const fronts = [];
  let last = null;
  let drivers = null;
  let ctx = null;
  try {
    ctx = await setup('aguicrash');
    const killEvery = Math.floor(ctx.total / (ROUNDS + 1));
    for (let round = 0; round < ROUNDS; round++) {
      const srv = await startServer(viaProxy(proxy));
      servers.push(srv);
      const front = await replyProxy(srv.url, REPLY_DELAY_MS);
      fronts.push(front);
      ctx.base = front.url;
      if (!drivers) drivers = ctx.run(60000);
      const reached = await acksReach(ctx, (round + 1) * killEvery, drivers);
      front.cut(); // the replies on their way are lost with the server
      await kill9(srv);
      assert.ok(reached, `round ${round}: the server was killed under load (${ctx.acks} of ${ctx.total} requests acknowledged)\n${ctx.problems.join('\n')}`);
      t.diagnostic(`round ${round}: killed after ${ctx.acks} of ${ctx.total} requests acknowledged`);
    }
    // The drivers keep retrying what got no answer, now against a server that stays up.
    last = await startServer(viaProxy(proxy));
    ctx.base = last.url;
    await drivers;
    const summary = await check(ctx, last.url);
    t.diagnostic(summary);
    assert.deepEqual(ctx.problems, [], `after the crashes:\n${ctx.problems.join('\n')}`);
    assert.ok(ctx.lost > 0, `no request committed without its answer reaching the client: the retry of one was not exercised (${summary})`);
  } finally {
    if (ctx) ctx.deadline = 0;
    await drivers?.catch(() => {});
    for (const f of fronts) await f.close();
    for (const srv of servers) if (!srv.exited) await kill9(srv);
    await last?.stop();
    await proxy?.close();
  }
});

test('a PostgreSQL restart under load: every AG-UI request stored and projected once, in stream order', { timeout: 120000 }, async (t) => {
  if (!pg.STOP || !pg.START) {
    t.skip('CONVSTORE_TEST_PG_STOP / CONVSTORE_TEST_PG_START are not set');
    return;
  }
  const proxy = await latencyProxy(DB_DELAY_MS);
  let srv = null;
  let drivers = null;
  let ctx = null;
  try {
    srv = await startServer(viaProxy(proxy, { CONVSTORE_POOL_SIZE: '4' }));
    ctx = await setup('aguipg');
    ctx.base = srv.url;
    drivers = ctx.run(45000);
    const reached = await acksReach(ctx, Math.floor(ctx.total / 3), drivers);
    assert.ok(reached, `PostgreSQL is stopped under load (${ctx.acks} of ${ctx.total} requests acknowledged)\n${ctx.problems.join('\n')}`);
    const stopping = pg.stop();
    stopping.catch(() => {});
    await stopping;
    const atStop = ctx.acks;
    const failedBefore = ctx.unanswered;
    await sleep(1000); // the drivers meet the outage: 503s, retried
    await pg.start();
    await drivers;
    t.diagnostic(`PostgreSQL stopped after ${atStop} of ${ctx.total} requests acknowledged`);
    const summary = await check(ctx, srv.url);
    t.diagnostic(summary);
    assert.deepEqual(ctx.problems, [], `after the PostgreSQL restart:\n${ctx.problems.join('\n')}`);
    assert.ok(ctx.unanswered > failedBefore, 'requests met the outage and were retried');
  } finally {
    if (ctx) ctx.deadline = 0;
    await drivers?.catch(() => {});
    if (pg.down) await pg.start();
    await srv?.stop();
    await proxy?.close();
  }
});

test('a request committed whose answer was lost, then a kill -9: its retry replays, nothing is applied twice', { timeout: 60000 }, async () => {
  let srv = await startServer();
  let front = null;
  try {
    const { api_key: key } = await createOrg(uniq('aguilost'));
    const ctx = { key, problems: [] };
    const tid = uniq('lost');
    const rid = `${tid}-run`;
    const reqs = [
      [
        { type: 'RUN_STARTED', threadId: tid, runId: rid, input: { threadId: tid, runId: rid, messages: [{ id: 'u', role: 'user', content: 'q' }] } },
        { type: 'STATE_SNAPSHOT', snapshot: { log: [] } },
        { type: 'TEXT_MESSAGE_START', messageId: 'm', role: 'assistant' },
        { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'one ' },
      ],
      [{ type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'two ' }, { type: 'STATE_DELTA', delta: [{ op: 'add', path: '/log/-', value: 2 }] }],
      [{ type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'three' }, { type: 'TEXT_MESSAGE_END', messageId: 'm' }, { type: 'RUN_FINISHED', threadId: tid, runId: rid }],
    ];
    const keyOf = (i) => `${tid}:${i}`;
    const post = (base, i) => call(ctx, base, 'POST', AGUI(tid), { events: reqs[i] }, { 'Idempotency-Key': keyOf(i) }, 5000);
    let seqs = 0;
    // Requests 0 (it starts the run: without the key its retry would be 409 run_exists) and 1
    // (deltas only: without the key its retry would apply them twice) each commit, but their
    // answer is held back by the proxy and then lost with the server; the retry goes to a new one.
    for (const i of [0, 1]) {
      front = await replyProxy(srv.url, Infinity);
      const pending = post(front.url, i);
      const until = Date.now() + 10000;
      let log = [];
      while (log.length < seqs + reqs[i].length && Date.now() < until) {
        await sleep(20);
        log = await readLog(client(srv.url, key), tid).catch(() => []);
      }
      assert.equal(log.length, seqs + reqs[i].length, `request ${i} committed while its answer was held back`);
      front.cut();
      const first = await pending;
      assert.ok(first.err && first.conn, `request ${i}: the client saw no answer (${describe(first)})`);
      await kill9(srv);
      await front.close();
      front = null;
      srv = await startServer();
      const again = await post(srv.url, i);
      assert.equal(again.res?.status, 201, `request ${i} retried: ${describe(again)}`);
      assert.equal(again.res.headers.get('idempotent-replayed'), 'true', `request ${i} retried: replayed, not run again`);
      assert.deepEqual([again.res.json.first_seq, again.res.json.last_seq], [seqs + 1, seqs + reqs[i].length], `request ${i} retried: the seqs it got when it committed`);
      seqs += reqs[i].length;
    }
    const r = await post(srv.url, 2);
    assert.equal(r.res?.status, 201, describe(r));
    assert.equal(r.res.headers.get('idempotent-replayed'), null);
    const c = client(srv.url, key);
    const log = await readLog(c, tid);
    assert.deepEqual(log.map((e) => e.data), reqs.flat(), 'every event once, in order');
    const msgs = await listAll(c, `/v1/threads/${enc(tid)}/messages?order=asc&limit=100`);
    assert.deepEqual(msgs.map((m) => [m.id, m.content, m.status]), [['u', 'q', 'completed'], ['m', 'one two three', 'completed']]);
    assert.deepEqual((await c.get(`/v1/threads/${enc(tid)}/state`)).json.state, { log: [2] });
    assert.equal((await c.get(RUN(tid, rid))).json.status, 'completed');
    assert.deepEqual(ctx.problems, []);
  } finally {
    await front?.close();
    if (srv.exited?.signal === 'SIGKILL') return; // killed by the test, its successor failed to start
    await srv.stop();
  }
});

/** A psql session on the test database; lock(sql) runs sql in an open transaction and resolves
 * once it has, release() rolls it back and ends the session. */
function psqlSession() {
  const psql = spawn('psql', [process.env.CONVSTORE_TEST_DATABASE_URL, '-q', '-At', '-v', 'ON_ERROR_STOP=1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const closed = new Promise((resolve) => psql.once('close', resolve));
  psql.on('error', () => {});
  let out = '';
  return {
    lock(sql) {
      const done = new Promise((resolve, reject) => {
        psql.stdout.on('data', (d) => {
          out += d;
          if (/^locked$/m.test(out)) resolve();
        });
        closed.then(() => reject(new Error(`psql ended before the lock was taken: ${out}`)));
      });
      psql.stdin.write(`BEGIN; ${sql}; SELECT 'locked';\n`);
      return done;
    },
    async release() {
      if (psql.exitCode === null && !psql.stdin.destroyed) psql.stdin.end('ROLLBACK;\n');
      await Promise.race([closed, sleep(5000)]);
      psql.kill();
    },
  };
}

test('a statement failing mid-projection is a 503, stored under no key: the retry stores the events', { timeout: 60000 }, async () => {
  // What an outage does to one request, made repeatable: a row or table lock held by psql makes
  // one statement of the projection wait past the statement timeout, as a statement waits on a
  // connection PostgreSQL dropped. The whole request must fail as the database being away (503,
  // nothing stored under its Idempotency-Key), and its retry must then store it.
  const srv = await startServer({ CONVSTORE_STATEMENT_TIMEOUT_MS: '300' });
  try {
    const c = client(srv.url, (await createOrg(uniq('aguistmt'))).api_key);
    const cases = [
      {
        name: 'a text delta, the message row locked',
        before: [{ type: 'TEXT_MESSAGE_START', messageId: 'm', role: 'assistant' }],
        lock: (tid) => `SELECT 1 FROM messages WHERE thread_id = '${tid}' AND id = 'm' FOR UPDATE`,
        events: [{ type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'hello' }],
        stored: (msgs) => msgs.find((m) => m.id === 'm')?.content === 'hello',
      },
      {
        name: 'a tool result, the messages table locked against inserts',
        before: [{ type: 'TOOL_CALL_START', toolCallId: 'tc', toolCallName: 'f', parentMessageId: 'a' }, { type: 'TOOL_CALL_END', toolCallId: 'tc' }],
        lock: () => 'LOCK TABLE messages IN SHARE MODE',
        events: [{ type: 'TOOL_CALL_RESULT', messageId: 'res', toolCallId: 'tc', content: 'done' }],
        stored: (msgs) => msgs.some((m) => m.id === 'res' && m.content === 'done'),
      },
    ];
    const got = [];
    const texts = [];
    for (const k of cases) {
      const tid = uniq('stmt');
      const rid = `${tid}-run`;
      const first = await c.post(AGUI(tid), { events: [{ type: 'RUN_STARTED', threadId: tid, runId: rid }, ...k.before] });
      assert.equal(first.status, 201, first.text);
      const body = { events: k.events };
      const idem = { headers: { 'Idempotency-Key': `${tid}:1` }, validate: false }; // a 500 is judged here, not thrown
      const psql = psqlSession();
      let during;
      try {
        await psql.lock(k.lock(tid));
        during = await c.post(AGUI(tid), body, idem);
      } finally {
        await psql.release();
      }
      const retry = await c.post(AGUI(tid), body, idem);
      const msgs = (await c.get(`/v1/threads/${enc(tid)}/messages?order=asc`)).json.data;
      got.push({ case: k.name, during: `${during.status} ${during.json?.code}`, retry: `${retry.status} replayed=${retry.headers.get('idempotent-replayed')}`, stored: k.stored(msgs) });
      texts.push(`${k.name}: while the statement fails ${during.text}; the retry with the same key ${retry.text}`);
    }
    assert.deepEqual(
      got,
      cases.map((k) => ({ case: k.name, during: '503 database_unavailable', retry: '201 replayed=null', stored: true })),
      texts.join('\n'),
    );
  } finally {
    await srv.stop();
  }
});
