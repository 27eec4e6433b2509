// Compiled by the type test (tsc --noEmit -p test/tsconfig.json), never run: typed calls that
// must compile, and lines marked @ts-expect-error that must not (tsc fails when one compiles).
import {
  createClient,
  ConvstoreError,
  type ErrorCode,
  type Event,
  type Message,
  type Page,
  type Run,
  type Thread,
} from '../dist/index.js';

const cs = createClient({ baseUrl: 'http://127.0.0.1:8080', apiKey: 'cs_live_x', retry: { attempts: 2, maxDelayMs: 1000 } });

export async function ok(signal: AbortSignal): Promise<void> {
  const t: Thread = await cs.threads.create({ title: 'x', metadata: { a: 1 } }, { ifExists: 'return' });
  const v: number = t.version;
  await cs.threads.update(t.id, { title: null }, { ifMatch: v });
  const m: Message = await cs.messages.create(t.id, { role: 'assistant', content: '', status: 'in_progress' });
  await cs.messages.create(t.id, { role: 'user', content: [{ type: 'text', text: 'hi' }] });
  const none: void = await cs.messages.append(t.id, m.id, 'piece');
  const page: Page<Message> = await cs.messages.list(t.id, { order: 'asc', role: 'user' }).page({ after: m.id });
  for await (const x of cs.messages.list(t.id)) {
    const seq: number = x.seq;
    void seq;
  }
  for await (const ev of cs.events.follow(t.id, { afterSeq: 3, types: ['run.*'], signal })) {
    const e: Event = ev;
    void e.seq;
  }
  const ep = await cs.events.list(t.id, { after_seq: 1, type: ['a'] }).page();
  const lastSeq: number = ep.last_seq;
  const run: Run = await cs.runs.create(t.id, { status: 'running' });
  await cs.runs.update(t.id, run.id, { status: 'completed', output: { answer: 42 } }, { ifMatch: run.version });
  await cs.runs.listAll({ status: ['interrupted', 'requires_action'] }).page();
  await cs.steps.create(t.id, run.id, { kind: 'tool', name: 'search' });
  await cs.checkpoints.get(t.id, 'latest', { checkpoint_ns: '' });
  const cp = await cs.checkpoints.list({ thread_id: t.id }).page();
  const next: string | null = cp.next_before;
  await cs.agui.ingest(t.id, { events: [{ type: 'RUN_STARTED', threadId: t.id, runId: 'r' }], input: { messages: [] } });
  for await (const a of cs.agui.events(t.id, { mode: 'events', follow: true, signal })) void a.type;
  await cs.keys.create({ role: 'user', user_id: 'u1' });
  void [none, page, lastSeq, next];
  try {
    await cs.me();
  } catch (e) {
    if (e instanceof ConvstoreError) {
      const code: ErrorCode | 'unexpected_response' = e.code;
      if (e.code === 'seq_conflict') void e.problem?.current_seq;
      void [code, e.status, e.detail, e.errors[0]?.field, e.requestId];
    }
  }
}

export async function wrong(): Promise<void> {
  // @ts-expect-error a misspelt field ("tittle")
  await cs.threads.create({ tittle: 'x' });
  // @ts-expect-error a role the spec does not have
  await cs.messages.create('t', { role: 'wizard', content: 'x' });
  // @ts-expect-error a missing required field (role)
  await cs.messages.create('t', { content: 'x' });
  // @ts-expect-error a run status the spec does not have
  await cs.runs.update('t', 'r', { status: 'done' });
  // @ts-expect-error a run may only be created queued or running
  await cs.runs.create('t', { status: 'completed' });
  // @ts-expect-error a step kind the spec does not have
  await cs.steps.create('t', 'r', { kind: 'magic', name: 'x' });
  // @ts-expect-error a message status the spec does not have
  await cs.messages.list('t', { status: 'done' });
  // @ts-expect-error a query parameter the route does not take
  await cs.threads.list({ role: 'user' });
  // @ts-expect-error events page by after_seq, not by after
  await cs.events.list('t').page({ after: 'e1' });
  // @ts-expect-error an API key role the spec does not have
  await cs.keys.create({ role: 'root' });
  // @ts-expect-error messages.createBatch takes the array itself
  await cs.messages.createBatch('t', { messages: [] });
  // @ts-expect-error ifExists is 'return' or a boolean
  await cs.threads.create({}, { ifExists: 'replace' });
  const t = await cs.threads.get('t');
  // @ts-expect-error an answer field the spec does not have (threads have no "name")
  void t.name;
  // @ts-expect-error limit is a number
  await cs.messages.list('t', { limit: 'ten' }).page();
  const run = await cs.runs.get('t', 'r');
  // @ts-expect-error a run status the spec does not have, in a comparison with an answer
  if (run.status === 'done') return;
  const e = new ConvstoreError(400, null, null);
  // @ts-expect-error not an ErrorCode
  if (e.code === 'no_such_code') return;
}
