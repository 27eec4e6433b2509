// Server-Sent Events over fetch: a frame parser and a reader that reconnects with Last-Event-ID.
import { errorFromResponse } from './errors.js';
import { backoffMs, retryAfterMs, sleep } from './http.js';

export interface SseFrame {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/**
 * Splits a text/event-stream body into frames (the WHATWG rules: CR, LF or CRLF line ends,
 * `field: value` with one optional space, comment lines starting with `:`, multi-line `data`
 * joined with LF, a frame dispatched on an empty line when it has data).
 */
export async function* parseSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseFrame> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let id: string | undefined;
  let event: string | undefined;
  let data: string[] = [];
  let sawCr = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      // A CRLF split across chunks: the LF after a CR that ended the previous chunk is no new line.
      if (sawCr && buf.startsWith('\n')) buf = buf.slice(1);
      sawCr = false;
      for (;;) {
        const m = /\r\n|\r|\n/.exec(buf);
        if (!m) break;
        if (m[0] === '\r' && m.index === buf.length - 1) sawCr = true;
        const line = buf.slice(0, m.index);
        buf = buf.slice(m.index + m[0].length);
        if (line === '') {
          if (data.length) yield { id, event, data: data.join('\n') };
          event = undefined;
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value2 = colon < 0 ? '' : line.slice(colon + 1);
        if (value2.startsWith(' ')) value2 = value2.slice(1);
        if (field === 'data') data.push(value2);
        else if (field === 'event') event = value2;
        else if (field === 'id' && !value2.includes('\0')) id = value2;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

export interface FollowSpec<T> {
  /** Opens one connection; `lastId` is the id of the last frame received (for Last-Event-ID), if any. */
  open: (lastId: string | undefined, signal: AbortSignal) => Promise<Response>;
  /** Turns a frame into the value to yield, or undefined to drop it (a duplicate). */
  accept: (frame: SseFrame) => T | undefined;
  signal?: AbortSignal;
  /** Reconnect after a drop (network error, end of stream, 503/429). */
  reconnect: boolean;
  maxDelayMs: number;
  lastId?: string;
}

const isAbort = (e: unknown, signal: AbortSignal) => signal.aborted || (e as { name?: string })?.name === 'AbortError';

/**
 * Reads an SSE endpoint frame by frame. With `reconnect`, a dropped or ended stream is opened
 * again with the last id received, after a jittered exponential backoff (capped); an error
 * answer other than 429/503 ends the iteration with a ConvstoreError. Aborting `signal` (or
 * leaving the loop) ends it quietly.
 */
export async function* followSse<T>(spec: FollowSpec<T>): AsyncGenerator<T> {
  const ctl = new AbortController();
  const onAbort = () => ctl.abort(spec.signal?.reason);
  if (spec.signal?.aborted) return;
  spec.signal?.addEventListener('abort', onAbort, { once: true });
  let lastId = spec.lastId;
  let failures = 0;
  try {
    while (!ctl.signal.aborted) {
      let wait: number | null = null;
      try {
        const res = await spec.open(lastId, ctl.signal);
        if (res.status === 503 || res.status === 429) {
          wait = retryAfterMs(res, spec.maxDelayMs);
          await res.body?.cancel().catch(() => {});
          if (!spec.reconnect) throw await errorFromResponse(res);
        } else if (!res.ok) {
          throw await errorFromResponse(res);
        } else if (res.body) {
          for await (const frame of parseSse(res.body)) {
            failures = 0;
            if (frame.id !== undefined) lastId = frame.id;
            const v = spec.accept(frame);
            if (v !== undefined) yield v;
          }
        }
        if (!spec.reconnect) return;
      } catch (e) {
        if (isAbort(e, ctl.signal)) return;
        if (!spec.reconnect || !(e instanceof TypeError)) throw e;
      }
      await sleep(wait ?? backoffMs(failures++, spec.maxDelayMs), ctl.signal).catch(() => {});
    }
  } finally {
    spec.signal?.removeEventListener('abort', onAbort);
    ctl.abort();
  }
}
