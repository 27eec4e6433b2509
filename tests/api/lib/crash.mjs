// Helpers for the crash tests in serial/: stop and start the shared PostgreSQL, slow the service's
// database traffic so a crash finds requests half done, run work a few at a time, kill -9 a server.
import { exec } from 'node:child_process';
import net from 'node:net';
import { sleep, ROOT } from './harness.mjs';

function sh(cmd) {
  return new Promise((resolve, reject) => {
    exec(cmd, { cwd: ROOT, timeout: 60000 }, (err, _stdout, stderr) => {
      if (stderr) process.stderr.write(stderr);
      if (err) reject(new Error(`${cmd} failed: ${err.message}`));
      else resolve();
    });
  });
}

// The shared PostgreSQL, stopped and started without blocking the event loop (requests keep going
// while it stops), remembering whether it may be down.
export const pg = {
  STOP: process.env.CONVSTORE_TEST_PG_STOP,
  START: process.env.CONVSTORE_TEST_PG_START,
  down: false,
  async stop() {
    this.down = true;
    await sh(this.STOP);
  },
  async start() {
    await sh(this.START);
    this.down = false;
  },
};

/** Keeps the two sockets of a proxied connection in `sockets` while open; either one failing
 * closes both. */
function track(sockets, down, up) {
  for (const s of [down, up]) {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {
      down.destroy();
      up.destroy();
    });
  }
}

/**
 * A TCP proxy in front of the test database that holds every chunk the service sends for
 * delayMs (order kept; replies pass at once), so that each request spends several milliseconds
 * between its statements and transactions, where a crash or an outage can catch it. Either side
 * closing or failing closes the other. Resolves {url, close()}, url being the test database's
 * URL through the proxy; null when that URL names no TCP host and port (then tests run without).
 */
export async function latencyProxy(delayMs) {
  let target;
  try {
    target = new URL(process.env.CONVSTORE_TEST_DATABASE_URL);
  } catch {
    return null;
  }
  if (!/^postgres(ql)?:$/.test(target.protocol) || !target.hostname || target.searchParams.has('host')) return null;
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(target.port || 5432);
  const sockets = new Set();
  const server = net.createServer((down) => {
    const up = net.connect({ host, port });
    track(sockets, down, up);
    // service → PostgreSQL: delayed, in order.
    let chain = Promise.resolve();
    down.on('data', (d) => {
      const due = Date.now() + delayMs;
      chain = chain.then(async () => {
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        if (!up.destroyed) up.write(d);
      });
    });
    down.on('end', () => {
      chain = chain.then(() => up.end());
    });
    // PostgreSQL → service: as is.
    up.pipe(down);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(server.address().port);
  return {
    url: url.toString(),
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Server environment that sends the database traffic through proxy (when there is one). */
export const viaProxy = (proxy, env = {}) => (proxy ? { ...env, CONVSTORE_DATABASE_URL: proxy.url } : env);

/** Runs fn(item) for each item, `width` at a time. */
export async function eachLimit(items, width, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/** SIGKILLs the server and waits for the process to be gone (its stop() would then throw: not called). */
export async function kill9(srv) {
  const gone = new Promise((resolve) => {
    if (srv.exited) resolve();
    else srv.child.once('close', () => resolve());
  });
  srv.child.kill('SIGKILL');
  await gone;
}

/**
 * A TCP proxy in front of the server that holds each chunk of its replies for delayMs (requests
 * pass at once). cut() drops every held reply and every connection, as a crash of the host would:
 * requests the server committed in the last delayMs then never get their answer, which is the
 * case a retry must find already done. delayMs Infinity holds every reply until cut(). Resolves
 * {url, cut(), close()}.
 */
export async function replyProxy(targetUrl, delayMs) {
  const target = new URL(targetUrl);
  const sockets = new Set();
  let isCut = false;
  const server = net.createServer((down) => {
    if (isCut) {
      down.destroy();
      return;
    }
    const up = net.connect({ host: target.hostname, port: Number(target.port) });
    track(sockets, down, up);
    down.pipe(up);
    let chain = Promise.resolve();
    up.on('data', (d) => {
      if (delayMs === Infinity) return; // held until cut(), which drops it
      const due = Date.now() + delayMs;
      chain = chain.then(async () => {
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        if (!isCut && !down.destroyed) down.write(d);
      });
    });
    up.on('end', () => {
      chain = chain.then(() => (isCut ? down.destroy() : down.end()));
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    cut() {
      isCut = true;
      for (const s of sockets) s.destroy();
    },
    close() {
      this.cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
