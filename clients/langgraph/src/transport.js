// The saver's default transport in Node: the part of fetch's contract the saver uses (ok, status,
// statusText, headers.get, text()) over node:http(s) with keep-alive agents. Node's global fetch
// (undici) costs the client about twice the CPU per request (bench/README.md, "The LangGraph
// savers"); elsewhere, or when given a fetch, the saver uses fetch.

/** A fetch-like function over node:http and node:https, or null outside Node. */
export async function nodeTransport() {
  if (typeof process === 'undefined' || !process.versions?.node) return null;
  const [http, https] = await Promise.all([import('node:http'), import('node:https')]);
  const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };
  const modules = { 'http:': http, 'https:': https };
  return (url, init = {}) =>
    new Promise((resolve, reject) => {
      const u = new URL(url);
      const mod = modules[u.protocol];
      if (!mod) return reject(new TypeError(`unsupported protocol ${u.protocol}`));
      const req = mod.request(u, { method: init.method ?? 'GET', headers: init.headers, agent: agents[u.protocol] }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({
            ok: res.statusCode >= 200 && res.statusCode < 300,
            status: res.statusCode,
            statusText: res.statusMessage,
            headers: { get: (k) => res.headers[k.toLowerCase()] ?? null },
            text: async () => body,
          });
        });
      });
      req.on('error', reject);
      req.end(init.body);
    });
}
