// AG-UI test helpers: a recorded multi-run stream, and what the stock @ag-ui/client builds from a
// stream served by a producer, from convstore's replay, and from convstore's REST view.
import http from 'node:http';
import { HttpAgent } from '@ag-ui/client';
import { EventEncoder } from '@ag-ui/encoder';

/** Two runs: text, a tool call with streamed arguments and its result, reasoning, a state
 * snapshot and delta, RAW and CUSTOM, steps, chunks; the second ends in an interrupt. */
export function recordedStream(threadId) {
  const r1 = `${threadId}-run-1`;
  const r2 = `${threadId}-run-2`;
  return [
    { type: 'RUN_STARTED', threadId, runId: r1, input: { threadId, runId: r1, messages: [{ id: 'u1', role: 'user', content: 'Weather in Oslo?' }], state: {}, tools: [], context: [] } },
    { type: 'STEP_STARTED', stepName: 'plan' },
    { type: 'REASONING_START', messageId: 'rs1' },
    { type: 'REASONING_MESSAGE_START', messageId: 'rm1', role: 'reasoning' },
    { type: 'REASONING_MESSAGE_CONTENT', messageId: 'rm1', delta: 'The user wants ' },
    { type: 'REASONING_MESSAGE_CONTENT', messageId: 'rm1', delta: 'the weather.' },
    { type: 'REASONING_MESSAGE_END', messageId: 'rm1' },
    { type: 'REASONING_END', messageId: 'rs1' },
    { type: 'STEP_FINISHED', stepName: 'plan' },
    { type: 'TEXT_MESSAGE_START', messageId: 'a1', role: 'assistant' },
    { type: 'TEXT_MESSAGE_CONTENT', messageId: 'a1', delta: 'Let me ' },
    { type: 'TEXT_MESSAGE_CONTENT', messageId: 'a1', delta: 'check.\n', metadata: { model: 'm1', n: 2 } },
    { type: 'TEXT_MESSAGE_END', messageId: 'a1' },
    { type: 'TOOL_CALL_START', toolCallId: 'tc1', toolCallName: 'get_weather', parentMessageId: 'a1', metadata: { tool: 'v2' } },
    { type: 'TOOL_CALL_ARGS', toolCallId: 'tc1', delta: '{"city":' },
    { type: 'TOOL_CALL_ARGS', toolCallId: 'tc1', delta: '"Oslo"}' },
    { type: 'TOOL_CALL_END', toolCallId: 'tc1' },
    { type: 'TOOL_CALL_RESULT', messageId: 'tr1', toolCallId: 'tc1', content: '{"temp":4}' },
    { type: 'STATE_SNAPSHOT', snapshot: { city: 'Oslo', steps: [], count: 1 } },
    { type: 'STATE_DELTA', delta: [{ op: 'replace', path: '/count', value: 2 }, { op: 'add', path: '/steps/-', value: { name: 'lookup', done: true } }] },
    { type: 'RAW', event: { provider: 'x', n: 1 }, source: 'proxy' },
    { type: 'CUSTOM', name: 'progress', value: { pct: 50 } },
    { type: 'TEXT_MESSAGE_CHUNK', messageId: 'a2', role: 'assistant', delta: 'It is ' },
    { type: 'TEXT_MESSAGE_CHUNK', delta: '4 °C — "mild" ✓' },
    { type: 'RUN_FINISHED', threadId, runId: r1, result: { ok: true } },
    { type: 'RUN_STARTED', threadId, runId: r2, input: { threadId, runId: r2, messages: [{ id: 'u1', role: 'user', content: 'Weather in Oslo?' }, { id: 'u2', role: 'user', content: 'Book a table?' }] } },
    { type: 'TOOL_CALL_START', toolCallId: 'tc2', toolCallName: 'book', parentMessageId: 'a3' },
    { type: 'TOOL_CALL_ARGS', toolCallId: 'tc2', delta: '{"seats":2}' },
    { type: 'TOOL_CALL_END', toolCallId: 'tc2' },
    { type: 'STATE_DELTA', delta: [{ op: 'add', path: '/booking', value: { pending: true } }] },
    { type: 'RUN_FINISHED', threadId, runId: r2, outcome: { type: 'interrupt', interrupts: [{ id: 'int-1', reason: 'approval', toolCallId: 'tc2' }] } },
  ];
}

/** An HTTP server answering every POST with events as the AG-UI encoder frames them. */
export async function producer(events) {
  const enc = new EventEncoder();
  const srv = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const e of events) res.write(enc.encode(e));
      res.end();
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${srv.address().port}/`, close: () => new Promise((r) => srv.close(r)) };
}

const quiet = async (fn) => {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
};

/** The stock client's view after one runAgent against url: messages, state, interrupts. */
export async function agentView(url, { headers = {}, forwardedProps = {}, messages = [], state } = {}) {
  const agent = new HttpAgent({ url, headers, threadId: 'page', initialMessages: structuredClone(messages), initialState: state });
  const result = await quiet(() => agent.runAgent({ forwardedProps }));
  return { messages: agent.messages, state: agent.state, interrupts: agent.pendingInterrupts ?? [], result };
}

/** What the stock client builds from the original stream. */
export async function originalView(events, opts) {
  const p = await producer(events);
  try {
    return await agentView(p.url, opts);
  } finally {
    await p.close();
  }
}

/** convstore's REST messages in AG-UI's shape. */
export function asAgui(m) {
  const out = { id: m.id, role: m.role };
  if (m.content !== null) out.content = m.content;
  if (m.role === 'activity') out.activityType = m.name;
  else if (m.name !== null && ['user', 'assistant', 'system', 'developer'].includes(m.role)) out.name = m.name;
  if (m.tool_calls) out.toolCalls = m.tool_calls;
  if (m.tool_call_id) out.toolCallId = m.tool_call_id;
  if (m.metadata && Object.keys(m.metadata).length) out.metadata = m.metadata;
  return out;
}

/** The client's messages without what convstore does not keep on messages (encrypted values). */
export function comparable(messages) {
  return messages.map((m) => {
    const { encryptedValue, ...rest } = m; // eslint-disable-line no-unused-vars
    if (rest.toolCalls) rest.toolCalls = rest.toolCalls.map(({ encryptedValue: _e, ...c }) => c);
    return rest;
  });
}

/** Frames of a text/event-stream body: [{id, data}] (data parsed). */
export function sseFrames(text) {
  return text
    .split('\n\n')
    .filter((b) => b.trim() && !b.startsWith(':'))
    .map((b) => {
      const lines = b.split('\n');
      const id = lines.find((l) => l.startsWith('id: '))?.slice(4);
      const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      return { id: id === undefined ? undefined : Number(id), data: JSON.parse(data) };
    });
}
