// The service under test and the pages' web servers. `convstore serve` and `convstore org create`
// come from the LangGraph saver's test helpers (one copy for every client's tests: CONVSTORE_BIN
// relative to the repo root, CONVSTORE_TEST_DATABASE_URL); here only a static server for one origin.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export { ROOT, createOrg, startServer, uniq } from '../../clients/langgraph/test/server.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.map': 'application/json' };

/**
 * A static web server for one origin, http://<host>:<free port>: / is page/index.html, /app.js the
 * page's script, /dist/* the files next to the client bundle (the bundle and any chunk or source
 * map it loads). Resolves {origin, requests, close()}; requests lists the paths asked for.
 */
export async function startPageServer(bundleDir, host = '127.0.0.1') {
  const files = (p) => {
    if (p === '/' || p === '/index.html') return path.join(HERE, 'page/index.html');
    if (p === '/app.js') return path.join(HERE, 'page/app.js');
    if (p.startsWith('/dist/')) {
      const f = path.resolve(bundleDir, `.${p.slice(5)}`);
      if (f.startsWith(bundleDir + path.sep)) return f;
    }
    return null;
  };
  const requests = [];
  const srv = http.createServer(async (req, res) => {
    const p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    requests.push(p);
    const f = files(p);
    try {
      if (!f) throw Object.assign(new Error('not found'), { code: 'ENOENT' });
      const body = await readFile(f);
      res.writeHead(200, { 'content-type': TYPES[path.extname(f)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`no ${p}\n`);
    }
  });
  await new Promise((resolve, reject) => srv.once('error', reject).listen(0, host, resolve));
  return {
    origin: `http://${host}:${srv.address().port}`,
    requests,
    close: () => new Promise((resolve) => { srv.closeAllConnections(); srv.close(() => resolve()); }),
  };
}
