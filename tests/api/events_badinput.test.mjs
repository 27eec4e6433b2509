// The event log with malformed and invalid input, refused conflicts and foreign threads: the exact
// 4xx problem, nothing written (no event, no thread), never a 5xx (the harness fails any 5xx but
// 503).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, raw, client, listAll, assertProblem, assertStatus, assertList, uniq, expectRejected as rejectedWithout } from './lib/harness.mjs';

const MAX_DATA = 262144;
let srv;
let c; // org A admin
let B; // org B admin
let alice; // a user key of org A, not the owner of T
const T = uniq('target');
const T2 = uniq('target2');
const NEW_THREAD = uniq('never-created');
const STORED = { id: 'stored-1', type: 'run.started', run_id: 'r1', data: { a: 1 } };

// Thread ids here are path-safe, or deliberately raw path text such as 'a%20b'.
const E = (tid) => `/v1/threads/${tid}/events`;

before(async () => {
  srv = await startServer();
  c = client(srv.url, (await createOrg(uniq('ebad-a'))).api_key);
  B = client(srv.url, (await createOrg(uniq('ebad-b'))).api_key);
  const k = await c.post('/v1/keys', { role: 'user', user_id: uniq('alice') });
  assertStatus(k, 201);
  alice = client(srv.url, k.json.key);
  assertStatus(await c.post(E(T), { events: [STORED, { id: 'stored-2', type: 'TEXT_MESSAGE_CONTENT', data: 'x' }, { type: 'run.finished' }] }), 201);
  assertStatus(await c.post(E(T2), { events: [{ id: 'other-1', type: 'x' }] }), 201);
});
after(async () => {
  await srv?.stop();
});

/** Everything a refused request could have changed in org A: its threads and both logs. */
async function snapshot() {
  const log = async (tid) => {
    const r = await c.get(`${E(tid)}?limit=1000`);
    const data = assertList(r);
    return { data, last_seq: r.json.last_seq };
  };
  const [threads, t, t2] = await Promise.all([listAll(c, '/v1/threads?limit=100'), log(T), log(T2)]);
  return { threads, t, t2 };
}

const show = (s) => (s.length > 60 ? `${s.slice(0, 57)}...(${s.length})` : s);
const label = (v) => (v === undefined ? '(missing)' : show(JSON.stringify(v)));

/** Each case a subtest: the given problem, nothing in org A changed, and no thread was made. */
const expectRejected = (t, cases) =>
  rejectedWithout(t, cases, snapshot, async () => {
    assertProblem(await c.get(`/v1/threads/${NEW_THREAD}`), 404, 'not_found');
    assertProblem(await c.get(E(NEW_THREAD)), 404, 'not_found');
  });

const VALID = { type: 'ok' };
/** The ways to send one event: alone to T, second in a batch to T, alone to a thread that does not exist. */
const CARRIERS = [
  { name: 'alone', tid: () => T, wrap: (e) => ({ events: [e] }), prefix: 'events[0].' },
  { name: 'second of three', tid: () => T, wrap: (e) => ({ events: [VALID, e, VALID] }), prefix: 'events[1].' },
  { name: 'new thread', tid: () => NEW_THREAD, wrap: (e) => ({ events: [e] }), prefix: 'events[0].' },
];
const TARGETS = () => [T, NEW_THREAD];

test('malformed JSON is 400 invalid_json', async (t) => {
  const bodies = [
    '{"events":',
    '{',
    '}',
    'nul',
    '{"events":[{"type":"a"}],}',
    "{'events':[{'type':'a'}]}",
    '{"events":[{"type":"a"}]} trailing',
    '{"events":[{"type":"a"}]}{"events":[]}',
    '{events:[{"type":"a"}]}',
    '{"events":[{"type":"a"},]}',
    '{"events":[{"type":"a"}}',
    '{"events":[{"type":"a",}]}',
    '{"events":[{"type":"\\q"}]}',
    '{"events":[{"type":"unterminated}]}',
    '{"events":[{"type":"a","data":{"x":1,}}]}',
    '{"events":[{"type":"a","data":}]}',
    '{"events":[{"type":"a","data":01}]}',
    '{"events":[{"type":"a","data":.5}]}',
    '{"events":[{"type":"a","data":NaN}]}',
    '{"events":[{"type":"a","data":Infinity}]}',
    '{"events":[{"type":"a","data":undefined}]}',
    '{"events":[{"type":"a","data":1e999}]}',
    '{"events":[{"type":"a","data":"\\u0000"}]}',
    '{"events":[{"type":"a","data":"a\tb"}]}',
    '{"events":[{"type":"a","type":"b"}]}',
    '{"events":[{"type":"a"}],"events":[{"type":"b"}]}',
    '{"events":[{"type":"a"}],"expected_seq":01}',
    '{"events":[{"type":"a"}],"expected_seq":+1}',
    '{"events":[{"type":"a"}],"expected_seq":1.}',
    '\u00a0{"events":[{"type":"a"}]}',
  ];
  const cases = [];
  for (const tid of TARGETS()) {
    for (const b of bodies) cases.push({ label: `${tid === T ? 'T' : 'new'} ${show(JSON.stringify(b))}`, send: () => c.send('POST', E(tid), b), status: 400, code: 'invalid_json' });
    cases.push({ label: `${tid === T ? 'T' : 'new'} invalid UTF-8 in a type`, send: () => c.send('POST', E(tid), Buffer.concat([Buffer.from('{"events":[{"type":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')])), status: 400, code: 'invalid_json' });
    cases.push({ label: `${tid === T ? 'T' : 'new'} invalid UTF-8 in data`, send: () => c.send('POST', E(tid), Buffer.concat([Buffer.from('{"events":[{"type":"a","data":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]}')])), status: 400, code: 'invalid_json' });
    cases.push({ label: `${tid === T ? 'T' : 'new'} overlong UTF-8 in data`, send: () => c.send('POST', E(tid), Buffer.concat([Buffer.from('{"events":[{"type":"a","data":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}]}')])), status: 400, code: 'invalid_json' });
    cases.push({ label: `${tid === T ? 'T' : 'new'} data nested 100 deep`, send: () => c.send('POST', E(tid), `{"events":[{"type":"a","data":${'['.repeat(100)}${']'.repeat(100)}}]}`), status: 400, code: 'invalid_json' });
  }
  await expectRejected(t, cases);
});

test('strings no database text can hold, in data, are refused', async (t) => {
  const cases = [];
  for (const esc of ['\\ud800', '\\udc00x', 'a\\u0000b']) {
    for (const tid of TARGETS()) {
      cases.push({ label: `${tid === T ? 'T' : 'new'} data "${esc}"`, send: () => c.send('POST', E(tid), `{"events":[{"type":"a","data":"${esc}"}]}`), status: 400, code: ['invalid_json', 'validation_failed'] });
      cases.push({ label: `${tid === T ? 'T' : 'new'} data {"k":"${esc}"}`, send: () => c.send('POST', E(tid), `{"events":[{"type":"a","data":{"k":"${esc}"}}]}`), status: 400, code: ['invalid_json', 'validation_failed'] });
    }
  }
  await expectRejected(t, cases);
});

test('a body that is not a JSON object is 400 invalid_json; not application/json is 415', async (t) => {
  const cases = [];
  for (const tid of TARGETS()) {
    for (const b of ['[]', '[{"type":"a"}]', '"str"', '42', 'null', 'true', '""']) {
      cases.push({ label: `${tid === T ? 'T' : 'new'} ${b}`, send: () => c.send('POST', E(tid), b), status: 400, code: 'invalid_json' });
    }
    const good = '{"events":[{"type":"a"}]}';
    cases.push({ label: `${tid === T ? 'T' : 'new'} text/plain`, send: () => c.send('POST', E(tid), good, { headers: { 'content-type': 'text/plain' } }), status: 415, code: 'unsupported_media_type' });
    cases.push({ label: `${tid === T ? 'T' : 'new'} form`, send: () => c.send('POST', E(tid), 'events=x', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }), status: 415, code: 'unsupported_media_type' });
  }
  await expectRejected(t, cases);
});

test('events missing, not an array, empty or over 1000 is 400 naming events', async (t) => {
  const cases = [];
  const many = (n) => Array.from({ length: n }, (_, i) => ({ id: `m${i}`, type: 'x' }));
  for (const tid of TARGETS()) {
    const tn = tid === T ? 'T' : 'new';
    cases.push({ label: `${tn} no body`, send: () => c.api('POST', E(tid)), status: 400, code: 'validation_failed', field: 'events' });
    cases.push({ label: `${tn} {}`, send: () => c.post(E(tid), {}), status: 400, code: 'validation_failed', field: 'events' });
    cases.push({ label: `${tn} only expected_seq`, send: () => c.post(E(tid), { expected_seq: 0 }), status: 400, code: 'validation_failed', field: 'events' });
    for (const v of [null, 5, 'x', true, {}, { type: 'a' }, { 0: { type: 'a' } }, []]) {
      cases.push({ label: `${tn} events=${label(v)}`, send: () => c.post(E(tid), { events: v }), status: 400, code: 'validation_failed', field: 'events' });
    }
    cases.push({ label: `${tn} 1001 events`, send: () => c.post(E(tid), { events: many(1001) }), status: 400, code: 'validation_failed', field: 'events' });
    cases.push({ label: `${tn} 5000 events`, send: () => c.post(E(tid), { events: many(5000) }), status: 400, code: 'validation_failed', field: 'events' });
    // An element that is not an event object is named by its index.
    for (const [events, field] of [
      [[5], 'events[0]'],
      [['x'], 'events[0]'],
      [[null], 'events[0]'],
      [[[]], 'events[0]'],
      [[[{ type: 'a' }]], 'events[0]'],
      [[{ type: 'a' }, 7], 'events[1]'],
      [[{ type: 'a' }, { type: 'b' }, true], 'events[2]'],
    ]) {
      cases.push({ label: `${tn} events=${label(events)}`, send: () => c.post(E(tid), { events }), status: 400, code: 'validation_failed', field });
    }
  }
  await expectRejected(t, cases);
});

test('unknown fields at the top level and in an event are 400 naming them', async (t) => {
  const cases = [];
  for (const tid of TARGETS()) {
    const tn = tid === T ? 'T' : 'new';
    for (const f of ['bogus', 'event', 'Events', 'expectedSeq', 'thread_id', 'data', 'type', 'idempotency_key', '']) {
      cases.push({ label: `${tn} top-level ${JSON.stringify(f)}`, send: () => c.post(E(tid), { events: [VALID], [f]: 1 }), status: 400, code: 'validation_failed', field: f });
    }
  }
  for (const car of CARRIERS) {
    for (const f of ['bogus', 'seq', 'object', 'thread_id', 'created_at', 'Type', 'metadata', 'content', 'role', 'expected_seq', 'events', '']) {
      cases.push({ label: `${car.name} event field ${JSON.stringify(f)}`, send: () => c.post(E(car.tid()), car.wrap({ ...VALID, [f]: f === 'seq' ? 7 : 'x' })), status: 400, code: 'validation_failed', field: `${car.prefix}${f}` });
    }
  }
  await expectRejected(t, cases);
});

/** [field, bad values] for one event; undefined means "missing". */
const BAD_EVENT_FIELDS = [
  [
    'type',
    [
      undefined, null, 5, true, [], {}, ['a'], '', 't'.repeat(129), 'a b', ' a', 'a ', 'é', '日本', 'emoji😀', 'a\nb', 'a\tb', '\u007f',
      'run.*', '*', 'TEXT_*', 'a,b', 'a%b', 'a\\b', 'a"b', 'a?b', 'a#b', 'a&b', 'a=b', 'a+b', 'a~b', 'a@b', 'a;b', 'a|b', 'a(b)', 'a[0]', '{a}',
    ],
  ],
  ['id', [null, 123, 0, true, [], {}, ['a'], '', 'x'.repeat(129), 'a b', 'a/b', 'é', 'a\nb', 'emoji😀', 'a%2Fb', 'a+b', 'a#b']],
  ['run_id', [5, true, [], {}, '', 'a b', 'x'.repeat(129), 'é', 'r/1']],
  ['step_id', [5, true, [], {}, '', 'a b', 'x'.repeat(129), 'é', 's/1']],
  ['message_id', [5, true, [], {}, '', 'a b', 'x'.repeat(129), 'é', 'm/1']],
  [
    'occurred_at',
    [
      5, 1704067200, true, {}, [], '', 'garbage', 'now', 'today', 'infinity', '-infinity', 'epoch', '1704067200',
      '2024-13-01T00:00:00Z', '2024-00-10T00:00:00Z', '2024-01-00T00:00:00Z', '2024-01-32T00:00:00Z', '2024-02-30T00:00:00Z', '2023-02-29T00:00:00Z', '2024-04-31T00:00:00Z',
      '2024-01-01T24:00:00Z', '2024-01-01T00:60:00Z', '2024-01-01T00:00:60Z', '2024-01-01T00:00:61Z',
      '2024-01-01 00:00:00Z', '2024-01-01T00:00:00', '2024-01-01', '2024-01-01T00:00Z', '2024-01-01T00:00:00.Z', '2024-01-01T00:00:00,5Z',
      '2024-01-01T00:00:00+0100', '2024-01-01T00:00:00+01', '2024-01-01T00:00:00+24:00', '2024-01-01T00:00:00+01:60', '2024-01-01T00:00:00 UTC', '2024-01-01T00:00:00Z ',
      ' 2024-01-01T00:00:00Z', '2024-1-01T00:00:00Z', '24-01-01T00:00:00Z', '+2024-01-01T00:00:00Z', '-0001-01-01T00:00:00Z',
      '0000-01-01T00:00:00Z', '0000-12-31T23:59:59.999999Z', '10000-01-01T00:00:00Z', '0001-01-01T00:00:00+00:01', '9999-12-31T23:59:59-00:01', '9999-12-31T23:00:00-01:00',
      'Mon, 01 Jan 2024 00:00:00 GMT', '2024-01-01T00:00:00.000000000000000000001Zjunk',
    ],
  ],
];

test('wrong types and values in an event are 400 validation_failed naming events[i].field', async (t) => {
  const cases = [];
  for (const car of CARRIERS) {
    for (const [field, values] of BAD_EVENT_FIELDS) {
      for (const v of values) {
        const ev = { ...VALID };
        if (v === undefined) delete ev[field];
        else ev[field] = v;
        cases.push({ label: `${car.name} ${field}=${label(v)}`, send: () => c.post(E(car.tid()), car.wrap(ev)), status: 400, code: 'validation_failed', field: `${car.prefix}${field}` });
      }
    }
  }
  await expectRejected(t, cases);
});

test('every invalid event of a batch is named, and one bad event spoils a batch of valid ones', async (t) => {
  const events = Array.from({ length: 10 }, (_, i) => ({ id: `ok${i}`, type: 'fine', data: { i } }));
  events[3] = { ...events[3], type: 'bad type' };
  events[7] = { ...events[7], occurred_at: 'never' };
  events[9] = { ...events[9], bogus: 1 };
  const big = Array.from({ length: 1000 }, (_, i) => ({ type: 'fine', data: i }));
  big[999] = { type: '' };
  await expectRejected(t, [
    { label: 'events[3].type', send: () => c.post(E(T), { events }), status: 400, code: 'validation_failed', field: 'events[3].type' },
    { label: 'events[7].occurred_at', send: () => c.post(E(T), { events }), status: 400, code: 'validation_failed', field: 'events[7].occurred_at' },
    { label: 'events[9].bogus', send: () => c.post(E(T), { events }), status: 400, code: 'validation_failed', field: 'events[9].bogus' },
    { label: 'the last of 1000', send: () => c.post(E(T), { events: big }), status: 400, code: 'validation_failed', field: 'events[999].type' },
    { label: 'to a new thread', send: () => c.post(E(NEW_THREAD), { events }), status: 400, code: 'validation_failed', field: 'events[3].type' },
    { label: 'with a good expected_seq', send: () => c.post(E(T), { events, expected_seq: 3 }), status: 400, code: 'validation_failed', field: 'events[3].type' },
    { label: 'with a bad expected_seq too', send: () => c.post(E(T), { events, expected_seq: -1 }), status: 400, code: 'validation_failed', fields: ['expected_seq', 'events[3].type'] },
  ]);
});

test('duplicate ids in one batch are 400 naming the repeat', async (t) => {
  const cases = [];
  for (const tid of TARGETS()) {
    const tn = tid === T ? 'T' : 'new';
    for (const [events, field] of [
      [[{ id: 'd', type: 'a' }, { id: 'd', type: 'a' }], 'events[1].id'],
      [[{ id: 'd', type: 'a' }, { id: 'd', type: 'b', data: 1 }], 'events[1].id'],
      [[{ id: 'd', type: 'a' }, { type: 'b' }, { id: 'e', type: 'c' }, { id: 'd', type: 'a' }], 'events[3].id'],
      [[STORED, STORED], 'events[1].id'],
      [[{ type: 'x' }, STORED, { ...STORED, data: { a: 2 } }], 'events[2].id'],
    ]) {
      cases.push({ label: `${tn} ${field} of ${events.length}`, send: () => c.post(E(tid), { events }), status: 400, code: 'validation_failed', field });
    }
  }
  await expectRejected(t, cases);
});

test('expected_seq that is not an integer ≥ 0 is 400 naming expected_seq', async (t) => {
  const cases = [];
  const bad = ['-1', '-0', '1.5', '1.0', '0.0', '1e3', '1E0', '0e0', '3e-0', '"3"', '"0"', 'true', 'false', 'null', '[]', '[3]', '{}', '-9007199254740993', '10000000000000000000', '99999999999999999999999'];
  for (const tid of TARGETS()) {
    const tn = tid === T ? 'T' : 'new';
    for (const v of bad) {
      cases.push({ label: `${tn} expected_seq ${v}`, send: () => c.send('POST', E(tid), `{"events":[{"type":"a"}],"expected_seq":${v}}`), status: 400, code: 'validation_failed', field: 'expected_seq' });
      cases.push({ label: `${tn} expected_seq ${v} first`, send: () => c.send('POST', E(tid), `{ "expected_seq" : ${v} , "events":[{"type":"a"}]}`), status: 400, code: 'validation_failed', field: 'expected_seq' });
    }
  }
  await expectRejected(t, cases);
});

test('data over 256 KiB as sent is 400 naming events[i].data; a body over the limit is 413', async (t) => {
  const str = (n) => `"${'x'.repeat(n - 2)}"`; // JSON text of n bytes
  const e2 = (n) => `"${'é'.repeat((n - 2) / 2)}"`; // n bytes of UTF-8 text (n even)
  const spaced = (n) => {
    const head = '[ ';
    const tail = ' ]';
    return `${head}${' '.repeat(n - head.length - tail.length - 1)}1${tail}`;
  };
  const nested = (n) => {
    const head = '{"a":"';
    const tail = '"}';
    return `${head}${'y'.repeat(n - head.length - tail.length)}${tail}`;
  };
  const over = [
    ['string', str(MAX_DATA + 1)],
    ['two-byte characters', e2(MAX_DATA + 2)],
    ['whitespace counts as sent', spaced(MAX_DATA + 1)],
    ['object', nested(MAX_DATA + 1)],
    ['escapes', `"${'\\n'.repeat(131072)}"`],
    ['far over', str(900000)],
  ];
  for (const [name, d] of over) assert.ok(Buffer.byteLength(d) > MAX_DATA, name);
  const cases = [];
  for (const [name, d] of over) {
    cases.push({ label: `alone: ${name}`, send: () => c.send('POST', E(T), `{"events":[{"type":"big","data":${d}}]}`), status: 400, code: 'validation_failed', field: 'events[0].data' });
    cases.push({ label: `second: ${name}`, send: () => c.send('POST', E(T), `{"events":[{"type":"ok","data":1},{"data":${d},"type":"big"}]}`), status: 400, code: 'validation_failed', field: 'events[1].data' });
    cases.push({ label: `new thread: ${name}`, send: () => c.send('POST', E(NEW_THREAD), `{"events":[{"type":"big","data":${d}}]}`), status: 400, code: 'validation_failed', field: 'events[0].data' });
  }
  // Events each within the limit whose body exceeds 1 MiB: 413, nothing written.
  const at = str(MAX_DATA);
  const five = `{"events":[${Array.from({ length: 5 }, () => `{"type":"big","data":${at}}`).join(',')}]}`;
  assert.ok(Buffer.byteLength(five) > 1048576);
  cases.push({ label: 'five events of 256 KiB', send: () => c.send('POST', E(T), five), status: 413, code: 'payload_too_large' });
  cases.push({ label: 'five events of 256 KiB to a new thread', send: () => c.send('POST', E(NEW_THREAD), five), status: 413, code: 'payload_too_large' });
  await expectRejected(t, cases);
});

test('refused conflicts write nothing: event_exists and seq_conflict', async (t) => {
  await expectRejected(t, [
    { label: 'event_exists alone', send: () => c.post(E(T), { events: [{ ...STORED, data: { a: 2 } }] }), status: 409, code: 'event_exists', field: 'events[0].id' },
    { label: 'event_exists after new events', send: () => c.post(E(T), { events: [{ type: 'new1' }, { id: 'new-2', type: 'new2' }, { ...STORED, type: 'other' }] }), status: 409, code: 'event_exists', field: 'events[2].id' },
    { label: 'event_exists with data re-spaced', send: () => c.send('POST', E(T), '{"events":[{"id":"stored-1","type":"run.started","run_id":"r1","data":{"a": 1}}]}'), status: 409, code: 'event_exists', field: 'events[0].id' },
    { label: 'event_exists: run_id dropped', send: () => c.post(E(T), { events: [{ id: 'stored-1', type: 'run.started', data: { a: 1 } }] }), status: 409, code: 'event_exists', field: 'events[0].id' },
    { label: 'seq_conflict behind', send: () => c.post(E(T), { events: [{ type: 'x' }], expected_seq: 2 }), status: 409, code: 'seq_conflict' },
    { label: 'seq_conflict ahead', send: () => c.post(E(T), { events: [{ type: 'x' }], expected_seq: 4 }), status: 409, code: 'seq_conflict' },
    { label: 'seq_conflict 0', send: () => c.post(E(T), { events: [{ type: 'x' }], expected_seq: 0 }), status: 409, code: 'seq_conflict' },
    { label: 'seq_conflict with stored and new events', send: () => c.post(E(T), { events: [STORED, { type: 'x' }], expected_seq: 1 }), status: 409, code: 'seq_conflict' },
    // (Its own thread id, so that a thread made by mistake does not spoil the other cases.)
    { label: 'seq_conflict on a thread that does not exist', send: () => c.post(E(uniq('never')), { events: [{ type: 'x' }], expected_seq: 1 }), status: 409, code: 'seq_conflict' },
  ]);
  const r = await c.post(E(T), { events: [{ type: 'x' }], expected_seq: 7 });
  assertProblem(r, 409, 'seq_conflict');
  assert.equal(r.json.current_seq, 3);
});

test('threads that cannot exist, and another user\'s or org\'s thread: 404, nothing written', async (t) => {
  const good = { events: [{ type: 'a' }] };
  const bobs = uniq('bobs');
  const bob = await c.post('/v1/keys', { role: 'user', user_id: uniq('bob') });
  const bobC = client(srv.url, bob.json.key);
  assertStatus(await bobC.post(E(bobs), { events: [{ id: 'b1', type: 'b' }] }), 201);
  const bobState = async () => [await snapshot(), assertList(await bobC.get(E(bobs)))];
  const before = await bobState();
  await expectRejected(t, [
    { label: 'thread id with a space', send: () => c.post(E('a%20b'), good), status: 404, code: 'not_found' },
    { label: 'thread id of 129 characters', send: () => c.post(E('x'.repeat(129)), good), status: 404, code: 'not_found' },
    { label: 'thread id with é', send: () => c.post(E('%C3%A9'), good), status: 404, code: 'not_found' },
    { label: 'a user key to an admin thread', send: () => alice.post(E(T), good), status: 404, code: 'not_found' },
    { label: 'a user key to an admin thread, all stored already', send: () => alice.post(E(T), { events: [STORED] }), status: 404, code: 'not_found' },
    { label: 'a user key to an admin thread, expected_seq', send: () => alice.post(E(T), { ...good, expected_seq: 3 }), status: 404, code: 'not_found' },
    { label: "a user key to another user's thread", send: () => alice.post(E(bobs), good), status: 404, code: 'not_found' },
    { label: 'a user key lists an admin thread', send: () => alice.get(E(T)), status: 404, code: 'not_found' },
    { label: 'a user key reads an event of an admin thread', send: () => alice.get(`${E(T)}/stored-1`), status: 404, code: 'not_found' },
    { label: 'another org lists the thread', send: () => B.get(E(T)), status: 404, code: 'not_found' },
    { label: 'another org reads an event', send: () => B.get(`${E(T)}/stored-1`), status: 404, code: 'not_found' },
    { label: 'another org lists with filters', send: () => B.get(`${E(T)}?type=run.*&after_seq=0`), status: 404, code: 'not_found' },
  ]);
  assert.deepEqual(await bobState(), before);
});

test('other methods on the event paths are 405', async (t) => {
  const cases = [];
  for (const [m, p] of [
    ['PUT', E(T)],
    ['PATCH', E(T)],
    ['DELETE', E(T)],
    ['PUT', `${E(T)}/stored-1`],
    ['PATCH', `${E(T)}/stored-1`],
    ['DELETE', `${E(T)}/stored-1`],
    ['POST', `${E(T)}/stored-1`],
  ]) {
    cases.push({ label: `${m} ${p}`, send: () => c.api(m, p, { body: { events: [{ type: 'a' }] } }), status: 405, code: 'method_not_allowed' });
  }
  await expectRejected(t, cases);
});

test('invalid list parameters are 400 invalid_query naming the parameter', async () => {
  const t129 = 't'.repeat(129);
  const cases = [
    ...['-1', 'abc', '1.5', '', '1e3', '0x10', '9999999999999999999', '99999999999999999999999', '5%20x', '%C3%A9', '1,2'].flatMap((v) => [
      [`after_seq=${v}`, 'after_seq'],
      [`before_seq=${v}`, 'before_seq'],
    ]),
    ...['0', '1001', '-1', 'abc', '', '1.5', '1e2', '99999999999999999999', '100x'].map((v) => [`limit=${v}`, 'limit']),
    ...['ASC', 'Desc', 'sideways', '', 'asc%20', 'up'].map((v) => [`order=${v}`, 'order']),
    ...['', 'a%20b', '*', 'TEXT_*', 'run*', 'run.**', 'a.*.*', '.**', '%C3%A9', t129, `${t129}.*`, 'a,b', 'a%2Cb', '%00', 'a%0Ab', '%2A', 'a%25b', 'a%5Cb'].map((v) => [`type=${v}`, 'type']),
    [Array.from({ length: 33 }, (_, i) => `type=t${i}`).join('&'), 'type'],
    [`type=ok&type=&type=run.*`, 'type'],
    ...['run_id', 'step_id', 'message_id'].flatMap((f) => ['', 'a%20b', 'x'.repeat(129), '%C3%A9', 'a%2Fb', '%00'].map((v) => [`${f}=${v}`, f])),
  ];
  for (const [qs, field] of cases) {
    for (const tid of [T, NEW_THREAD]) {
      const r = await c.get(`${E(tid)}?${qs}`);
      // A missing thread may be reported first; a bad parameter must never pass.
      if (tid === NEW_THREAD && r.status === 404) continue;
      assertProblem(r, 400, 'invalid_query', field);
    }
  }
  // Several bad parameters are all named.
  const r = await c.get(`${E(T)}?limit=0&order=x&after_seq=-1&type=`);
  assertProblem(r, 400, 'invalid_query');
  const named = r.json.errors.map((e) => e.field).sort();
  assert.deepEqual(named, ['after_seq', 'limit', 'order', 'type']);
  // The edges of the good values still work.
  for (const qs of ['limit=1', 'limit=1000', 'after_seq=0', 'before_seq=0', 'after_seq=999999999999999999', 'before_seq=999999999999999999', 'order=asc', 'order=desc', 'type=.', 'type=.*', `type=${'t'.repeat(128)}`, `type=${'t'.repeat(127)}.*`, Array.from({ length: 32 }, (_, i) => `type=t${i}`).join('&'), 'run_id=r.1:x-y_z', `step_id=${'s'.repeat(128)}`, 'message_id=m']) {
    const l = await c.get(`${E(T)}?${qs}`);
    assertList(l);
  }
});

test('GET one event with an id that cannot exist is 404', async () => {
  for (const id of ['a%20b', 'x'.repeat(129), '%C3%A9', 'a%2Fb', '%00', uniq('nope')]) {
    assertProblem(await c.get(`${E(T)}/${id}`), 404, 'not_found');
  }
  assertProblem(await c.get(`${E(NEW_THREAD)}/stored-1`), 404, 'not_found');
});

test('occurred_at that the database would round past 9999-12-31 is refused or truncated, never turned into another time', async () => {
  const tid = uniq('round');
  const r = await c.post(E(tid), { events: [{ type: 'edge', occurred_at: '9999-12-31T23:59:59.9999999Z' }] });
  if (r.status === 400) {
    assertProblem(r, 400, 'validation_failed', 'events[0].occurred_at');
  } else {
    assertStatus(r, 201);
    assert.equal(r.json.data[0].occurred_at, '9999-12-31T23:59:59.999999Z', `occurred_at kept (${r.json.data[0].occurred_at})`);
  }
});

test('hand-made requests: a chunked append works; a truncated body is invalid_json and writes nothing', async () => {
  const tid = uniq('chunked');
  const body = JSON.stringify({ events: [{ id: 'c1', type: 'chunked', data: { a: [1, 2, 3] } }] });
  const r = await raw(srv.url, { method: 'POST', path: E(tid), key: c.key, headers: { 'Content-Type': 'application/json' }, chunks: [body.slice(0, 7), body.slice(7, 30), body.slice(30)] });
  assertStatus(r, 201);
  assert.equal(r.json.data[0].seq, 1);
  assert.deepEqual(r.json.data[0].data, { a: [1, 2, 3] });
  const before = await snapshot();
  const short = await raw(srv.url, { method: 'POST', path: E(T), key: c.key, headers: { 'Content-Type': 'application/json' }, body: '{"events":[{"type":"x"}]}', contentLength: 12 });
  assertProblem(short, 400, 'invalid_json');
  const shortNew = await raw(srv.url, { method: 'POST', path: E(NEW_THREAD), key: c.key, headers: { 'Content-Type': 'application/json' }, body: '{"events":[{"type":"x"}]}', contentLength: 12 });
  assertProblem(shortNew, 400, 'invalid_json');
  assert.deepEqual(await snapshot(), before, 'nothing was written');
  assertProblem(await c.get(`/v1/threads/${NEW_THREAD}`), 404, 'not_found');
});
