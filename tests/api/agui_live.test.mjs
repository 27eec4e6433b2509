// AG-UI live: a producer tees its SSE output into convstore with one streamed request while a
// stock @ag-ui/client HttpAgent follows the thread live; a producer cut mid-run leaves what it
// sent committed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import { EventEncoder } from '@ag-ui/encoder';
import { HttpAgent } from '@ag-ui/client';
import { startServer, createOrg, client, listAll, uniq, sleep } from './lib/harness.mjs';
import { recordedStream, originalView, comparable, sseFrames } from './lib/agui.mjs';

let srv;
let key;
let c;

before(async () => {
  srv = await startServer();
  key = (await createOrg(uniq('live'))).api_key;
  c = client(srv.url, key);
});
after(async () => {
  await srv?.stop();
});

/** A streamed POST of the thread's AG-UI ingest: send(events) writes frames as the encoder
 * does, end() finishes the body and resolves the answer, cut() drops the connection. */
function teeRequest(tid) {
  const u = new URL(`${srv.url}/v1/threads/${tid}/agui`);
  const enc = new EventEncoder();
  let answer;
  const done = new Promise((resolve, reject) => {
    answer = { resolve, reject };
  });
  const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'text/event-stream' } }, (res) => {
    let body = '';
    res.on('data', (d) => (body += d));
    res.on('end', () => answer.resolve({ status: res.statusCode, json: JSON.parse(body) }));
  });
  req.on('error', (e) => answer.reject(e));
  return {
    send: (events) => new Promise((r) => req.write(events.map((e) => enc.encode(e)).join(''), r)),
    end: () => {
      req.end();
      return done;
    },
    cut: () => {
      done.catch(() => {}); // the answer never comes
      req.destroy();
    },
  };
}

/** The thread's events, or [] while it does not exist. */
const eventsOf = async (tid) => ((await c.get(`/v1/threads/${tid}/events?limit=1000`)).json?.data ?? []);

const until = async (what, cond, ms = 10000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(25);
  }
};

const quietly = (fn) => {
  const warn = console.warn;
  const error = console.error;
  console.warn = console.error = () => {};
  return fn().finally(() => {
    console.warn = warn;
    console.error = error;
  });
};

test('a teed run reaches a live follower event by event, and the producer gets its count', async () => {
  const tid = uniq('tee');
  const events = recordedStream(tid);
  const want = await originalView(events);
  const tee = teeRequest(tid);
  await tee.send(events.slice(0, 1));
  await until('the thread', async () => (await c.get(`/v1/threads/${tid}/state`)).status === 200);
  const agent = new HttpAgent({ url: `${srv.url}/v1/threads/${tid}/agui/replay`, headers: { Authorization: `Bearer ${key}` } });
  const following = quietly(() => agent.runAgent({ forwardedProps: { convstore: { mode: 'events', follow: true } } }).catch(() => {}));
  for (let i = 1; i < events.length; i += 4) {
    await tee.send(events.slice(i, i + 4));
    await sleep(10);
  }
  const answer = await tee.end();
  assert.equal(answer.status, 201);
  assert.equal(answer.json.count, events.length);
  const caughtUp = () => isDeepStrictEqual([comparable(agent.messages), agent.state], [comparable(want.messages), want.state]);
  await until('the follower to hold every message and the state', caughtUp);
  agent.abortRun();
  await following;
});

test('a follower that starts in the middle of a live run gets the lead-in and the rest', async () => {
  const tid = uniq('mid');
  const events = recordedStream(tid);
  const want = await originalView(events);
  const tee = teeRequest(tid);
  await tee.send(events.slice(0, 12)); // inside run 1, a text message open
  await until('twelve events', async () => (await eventsOf(tid)).length === 12);
  const agent = new HttpAgent({ url: `${srv.url}/v1/threads/${tid}/agui/replay`, headers: { Authorization: `Bearer ${key}` } });
  const following = quietly(() => agent.runAgent({ forwardedProps: { convstore: { mode: 'snapshot', follow: true } } }).catch(() => {}));
  await until('the snapshot', () => agent.messages.length > 0);
  await tee.send(events.slice(12));
  assert.equal((await tee.end()).status, 201);
  await until('the follower to hold every message', () => isDeepStrictEqual(comparable(agent.messages), comparable(want.messages)));
  agent.abortRun();
  await following;
});

test('a producer cut in the middle of its run leaves every frame it sent committed', async () => {
  const tid = uniq('cut');
  const events = recordedStream(tid);
  const tee = teeRequest(tid);
  const sent = events.slice(0, 12);
  await tee.send(sent);
  await until('the frames', async () => (await eventsOf(tid)).length === sent.length);
  tee.cut();
  await sleep(100);
  const stored = await listAll(c, `/v1/threads/${tid}/events?limit=100`);
  assert.deepEqual(stored.map((e) => e.data), sent);
  const msgs = await listAll(c, `/v1/threads/${tid}/messages?order=asc&limit=100`);
  const a1 = msgs.find((m) => m.id === 'a1');
  assert.equal(a1.content, 'Let me check.\n');
  assert.equal(a1.status, 'in_progress', 'its END never came');
  const r = await fetch(`${srv.url}/v1/threads/${tid}/agui/events?mode=events`, { headers: { Authorization: `Bearer ${key}` } });
  assert.deepEqual(sseFrames(await r.text()).map((f) => f.data), sent);
  // The run can go on in a new request, where the cut left it.
  const rest = await c.post(`/v1/threads/${tid}/agui`, { events: events.slice(12) });
  assert.equal(rest.status, 201);
});

test('a bad frame in a streamed body: 400 naming it once the body ends, the frames before it kept', async () => {
  const tid = uniq('badframe');
  const events = recordedStream(tid).slice(0, 6);
  const tee = teeRequest(tid);
  await tee.send(events.slice(0, 3));
  await tee.send([{ type: 'TEXT_MESSAGE_CONTENT', messageId: 'nope', delta: 'x' }]);
  await tee.send(events.slice(3));
  const answer = await tee.end();
  assert.equal(answer.status, 400);
  assert.equal(answer.json.errors[0].field, 'frames[3].messageId');
  const stored = await listAll(c, `/v1/threads/${tid}/events?limit=100`);
  assert.deepEqual(stored.map((e) => e.data), events.slice(0, 3));
});
