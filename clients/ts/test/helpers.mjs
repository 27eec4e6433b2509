// Shared by the test files: the server under test, a fresh org's client, and a TCP proxy that can
// cut connections, drop answers and answer 503, placed between a client and the server.
import net from 'node:net';
import { createClient } from '../dist/index.js';
import { createOrg, uniq } from './server.js';

export { uniq };

export function serverUrl() {
  const url = process.env.CONVSTORE_TEST_URL;
  if (!url) throw new Error('CONVSTORE_TEST_URL is not set: run the tests with `npm test` (test/run.mjs)');
  return url;
}

/** A fresh org (an empty store) and a client with its admin key; retries off unless asked. */
export async function freshClient(opts = {}) {
  const org = await createOrg();
  const cs = createClient({ baseUrl: opts.baseUrl ?? serverUrl(), apiKey: org.api_key, ...opts });
  return { cs, org };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A TCP proxy to the server. `cutAll()` destroys every open connection (a network drop).
 * `arm(kind, re)`: the next request whose request line matches `re` is sabotaged:
 *   'drop-response': forwarded to the server, its answer discarded and the connection destroyed;
 *   '503': answered 503 with Retry-After: 1 at once, never forwarded.
 * `requests` lists {line, headers} of every request seen that matched an armed or watched pattern.
 */
export async function startProxy(target = serverUrl()) {
  const { hostname, port } = new URL(target);
  const sockets = new Set();
  const seen = [];
  let armed = null; // {kind, re}
  let watch = null;
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    sockets.add(client);
    sockets.add(upstream);
    let dropAnswer = false;
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    client.on('data', (chunk) => {
      const text = chunk.toString('latin1');
      const line = /^[A-Z]+ \S+ HTTP\/1\.1/.exec(text)?.[0];
      if (line) {
        const headers = Object.fromEntries(
          text
            .split('\r\n\r\n')[0]
            .split('\r\n')
            .slice(1)
            .map((h) => [h.slice(0, h.indexOf(':')).toLowerCase(), h.slice(h.indexOf(':') + 1).trim()]),
        );
        const hit = armed && armed.re.test(line) ? armed : null;
        if (hit || (watch && watch.test(line))) seen.push({ line, headers });
        if (hit) {
          armed = null;
          if (hit.kind === '503') {
            const body = JSON.stringify({
              type: 'urn:convstore:error:database_unavailable',
              title: 'Database unavailable',
              status: 503,
              code: 'database_unavailable',
              detail: 'the proxy says so',
              request_id: 'proxy',
            });
            client.end(
              'HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\nRetry-After: 1\r\n' +
                `Connection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
            );
            upstream.destroy();
            return;
          }
          dropAnswer = true;
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (dropAnswer) return close();
      client.write(chunk);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests: seen,
    arm(kind, re) {
      armed = { kind, re };
    },
    watch(re) {
      watch = re;
    },
    cutAll() {
      for (const s of [...sockets]) s.destroy();
      sockets.clear();
    },
    async close() {
      this.cutAll();
      await new Promise((r) => server.close(r));
    },
  };
}
