// A Server-Sent-Events reader for the black-box tests: opens a stream over a raw socket (an
// event stream never completes, so fetch's text() cannot be used), decodes the chunked body
// incrementally and parses SSE frames ("id:", "event:", "data:" lines, a blank line ends a frame,
// ":" lines are comments such as the server's ": ping").
import net from 'node:net';
import { validateResponse, sleep, parseResponseHead } from './harness.mjs';

/**
 * Opens GET urlPath as an event stream.
 * opts: {key, lastEventId, headers, timeoutMs (for the response head, and for the whole body of
 * an error), validate (check the head, or the whole error reply, against openapi.yaml)}.
 * Resolves with a stream object once the head has arrived (a non-200 reply: once it is complete):
 *   status, headers, text/json (non-200 only), frames [{id, event, data, json, lines}], comments,
 *   pings, body (the decoded body so far), sawCR, ended, endedBy ('eof': terminating chunk,
 *   'close': the connection closed), endedAt (ms), and the methods below.
 */
export function openStream(base, urlPath, opts = {}) {
  const { key, lastEventId, headers = {}, timeoutMs = 10000, validate = true } = opts;
  const u = new URL(base);
  const lines = [`GET ${urlPath} HTTP/1.1`, `Host: ${u.host}`, 'Accept: text/event-stream'];
  if (key) lines.push(`Authorization: Bearer ${key}`);
  if (lastEventId !== undefined && lastEventId !== null) lines.push(`Last-Event-ID: ${lastEventId}`);
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  const request = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');

  const s = {
    path: urlPath,
    status: 0,
    headers: null,
    text: '',
    json: null,
    frames: [],
    comments: [],
    pings: 0,
    body: '',
    sawCR: false,
    ended: false,
    endedBy: null,
    endedAt: 0,
    error: null,
    sock: null,
    /** The seqs (frame ids as numbers) received so far. */
    seqs() {
      return s.frames.map((f) => Number(f.id));
    },
    /** The id of the last frame received (undefined before any). */
    lastId() {
      return s.frames.length ? s.frames[s.frames.length - 1].id : undefined;
    },
    /** Waits until pred(s) holds; rejects after ms with what in the message. */
    waitFor(pred, ms = 5000, what = 'condition') {
      return waitUntil(s, pred, ms, what);
    },
    /** Waits until at least n frames have arrived. */
    waitFrames(n, ms = 5000) {
      return waitUntil(s, () => s.frames.length >= n, ms, `${n} frames`);
    },
    /** Waits until the server ends the response (terminating chunk or close). */
    waitEnd(ms = 5000) {
      return waitUntil(s, () => s.ended, ms, 'the end of the stream');
    },
    pause() {
      s.sock.pause();
    },
    resume() {
      s.sock.resume();
    },
    /** Abandons the stream: the socket is destroyed without a word to the server. */
    destroy() {
      s.sock.destroy();
    },
  };
  const waiters = new Set();
  s._waiters = waiters;
  const notify = () => {
    for (const w of [...waiters]) w();
  };

  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        sock.destroy();
        reject(err);
      } else resolve(s);
    };
    const timer = setTimeout(() => settle(new Error(`stream ${urlPath}: no response within ${timeoutMs} ms`)), timeoutMs);
    const sock = net.connect({ host: u.hostname, port: Number(u.port) });
    s.sock = sock;
    sock.setNoDelay(true);
    let head = Buffer.alloc(0);
    let chunked = false;
    let contentLength = null;
    // chunked decoding state
    let cbuf = Buffer.alloc(0);
    let need = -1; // bytes of chunk data (+2 for CRLF) still expected; -1: reading a size line
    // SSE line state
    let lbuf = Buffer.alloc(0);
    let cur = null;
    let errBody = [];

    const end = (how) => {
      if (s.ended) return;
      s.ended = true;
      s.endedBy = how;
      s.endedAt = performance.now();
      if (how === 'eof') sock.destroy(); // our side of a kept-alive connection: done with it
      notify();
    };

    const sseLine = (line) => {
      if (line.includes(0x0d)) s.sawCR = true;
      const text = line.toString('utf8');
      if (text === '') {
        if (cur) {
          const data = cur.data === undefined ? undefined : cur.data.join('\n');
          let json;
          try {
            json = data === undefined ? undefined : JSON.parse(data);
          } catch {
            json = undefined;
          }
          s.frames.push({ id: cur.id, event: cur.event, data, json, lines: cur.lines });
          cur = null;
        }
        return;
      }
      if (text.startsWith(':')) {
        s.comments.push(text);
        if (text === ': ping') s.pings++;
        return;
      }
      if (!cur) cur = { lines: [] };
      cur.lines.push(text);
      const i = text.indexOf(':');
      const field = i < 0 ? text : text.slice(0, i);
      let value = i < 0 ? '' : text.slice(i + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') (cur.data ||= []).push(value);
      else if (field === 'id') cur.id = value;
      else if (field === 'event') cur.event = value;
      else (cur.other ||= []).push(text);
    };

    const sseBytes = (b) => {
      if (!b.length) return;
      s.body += b.toString('utf8');
      lbuf = lbuf.length ? Buffer.concat([lbuf, b]) : b;
      let nl;
      while ((nl = lbuf.indexOf(0x0a)) >= 0) {
        sseLine(lbuf.subarray(0, nl));
        lbuf = lbuf.subarray(nl + 1);
      }
      notify();
    };

    const bodyBytes = (b) => {
      if (s.status !== 200) {
        errBody.push(b);
        return;
      }
      if (!chunked) {
        sseBytes(b);
        return;
      }
      cbuf = cbuf.length ? Buffer.concat([cbuf, b]) : b;
      for (;;) {
        if (need < 0) {
          const nl = cbuf.indexOf('\r\n');
          if (nl < 0) return;
          const size = parseInt(cbuf.subarray(0, nl).toString('latin1').split(';')[0], 16);
          if (Number.isNaN(size)) {
            s.error = new Error(`bad chunk size line: ${cbuf.subarray(0, Math.min(nl, 40)).toString('latin1')}`);
            sock.destroy();
            return;
          }
          cbuf = cbuf.subarray(nl + 2);
          if (size === 0) {
            end('eof');
            return;
          }
          need = size + 2;
        }
        if (cbuf.length < need) return;
        sseBytes(cbuf.subarray(0, need - 2));
        cbuf = cbuf.subarray(need);
        need = -1;
      }
    };

    const finishError = () => {
      const buf = Buffer.concat(errBody);
      let body = buf;
      if (chunked) {
        // decode a complete chunked body
        const parts = [];
        let off = 0;
        for (;;) {
          const nl = buf.indexOf('\r\n', off);
          if (nl < 0) return false;
          const size = parseInt(buf.subarray(off, nl).toString('latin1'), 16);
          if (size === 0) break;
          if (buf.length < nl + 2 + size + 2) return false;
          parts.push(buf.subarray(nl + 2, nl + 2 + size));
          off = nl + 2 + size + 2;
        }
        body = Buffer.concat(parts);
      } else if (contentLength !== null) {
        if (buf.length < contentLength) return false;
        body = buf.subarray(0, contentLength);
      } else {
        return false; // until close
      }
      completeError(body);
      return true;
    };
    const completeError = (body) => {
      s.text = body.toString('utf8');
      try {
        if (validate) s.json = validateResponse({ method: 'GET', path: urlPath }, s);
        else {
          try {
            s.json = JSON.parse(s.text);
          } catch {
            s.json = null;
          }
        }
      } catch (e) {
        settle(e);
        return;
      }
      sock.destroy();
      settle(null);
    };

    sock.on('connect', () => sock.write(request));
    sock.on('data', (d) => {
      if (!s.headers) {
        head = Buffer.concat([head, d]);
        let h;
        try {
          h = parseResponseHead(head);
        } catch (e) {
          settle(e);
          return;
        }
        if (!h) return;
        s.status = h.status;
        s.headers = h.headers;
        chunked = /chunked/i.test(h.headers.get('transfer-encoding') || '');
        contentLength = h.headers.get('content-length') === null ? null : Number(h.headers.get('content-length'));
        if (s.status === 200) {
          if (validate) {
            try {
              // The body never completes: check the status, content type and headers.
              validateResponse({ method: 'GET', path: urlPath }, { status: 200, headers: h.headers, text: '(event stream)' });
            } catch (e) {
              settle(e);
              return;
            }
          }
          settle(null);
        }
        d = h.rest;
      }
      bodyBytes(d);
      if (s.status !== 200 && !settled) finishError();
    });
    sock.on('error', (e) => {
      s.error = e;
    });
    sock.on('close', () => {
      if (!s.headers) {
        settle(new Error(`stream ${urlPath}: connection closed before a response (${s.error ? s.error.message : 'no error'})`));
        return;
      }
      if (s.status !== 200 && !settled) {
        if (!finishError()) completeError(Buffer.concat(errBody));
      }
      end('close');
    });
  });
}

function waitUntil(s, pred, ms, what) {
  return new Promise((resolve, reject) => {
    const check = () => {
      let ok;
      try {
        ok = pred(s);
      } catch (e) {
        s._waiters.delete(check);
        clearTimeout(timer);
        reject(e);
        return true;
      }
      if (ok) {
        s._waiters.delete(check);
        clearTimeout(timer);
        resolve(s);
        return true;
      }
      if (s.ended && !pred(s)) {
        // nothing more will come
        s._waiters.delete(check);
        clearTimeout(timer);
        reject(
          new Error(
            `stream ${s.path} ended (${s.endedBy}) before ${what}; ${s.frames.length} frames, last id ${s.lastId()}` +
              (s.error ? ` (${s.error.message})` : ''),
          ),
        );
        return true;
      }
      return false;
    };
    const timer = setTimeout(() => {
      s._waiters.delete(check);
      reject(new Error(`stream ${s.path}: no ${what} within ${ms} ms; ${s.frames.length} frames, last id ${s.lastId()}, ended ${s.ended}`));
    }, ms);
    if (!check()) s._waiters.add(check);
  });
}

/** Waits until pred() holds, polling every step ms; throws with what after ms. */
export async function eventually(pred, ms = 5000, what = 'condition', step = 50) {
  const t0 = performance.now();
  let last;
  for (;;) {
    last = await pred();
    if (last) return last;
    if (performance.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(step);
  }
}
