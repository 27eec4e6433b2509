// The service under test and the pages' web servers: `convstore serve` (CONVSTORE_BIN, relative to
// the repo root, and CONVSTORE_TEST_DATABASE_URL, as for tests/api and clients/langgraph) on a free
// port, `convstore org create` for a fresh org and its admin key, and a static server for one origin.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../..');
const SANITIZER_MARKERS = ['AddressSanitizer', 'LeakSanitizer', 'runtime error:', 'ThreadSanitizer'];

export const uniq = (prefix) => `${prefix}-${randomBytes(6).toString('hex')}`;

export function binPath() {
  const bin = path.resolve(ROOT, process.env.CONVSTORE_BIN || 'build/convstore');
  if (!existsSync(bin)) throw new Error(`server binary ${bin} not found: run \`make build\` or set CONVSTORE_BIN`);
  return bin;
}

function databaseUrl() {
  const url = process.env.CONVSTORE_TEST_DATABASE_URL;
  if (!url) throw new Error('CONVSTORE_TEST_DATABASE_URL is not set (scripts/test.sh sets it)');
  return url;
}

const sanitizerLines = (text) => text.split('\n').filter((l) => SANITIZER_MARKERS.some((m) => l.includes(m)));

/** A new org: {org_id, api_key} (its first admin key), from `convstore org create`. */
export function createOrg(name = uniq('browser')) {
  return new Promise((resolve, reject) => {
    execFile(
      binPath(),
      ['org', 'create', name],
      { cwd: ROOT, env: { ...process.env, CONVSTORE_DATABASE_URL: databaseUrl() }, timeout: 60000 },
      (err, stdout, stderr) => {
        if (sanitizerLines(stderr).length) return reject(new Error(`convstore org create printed a sanitizer report:\n${stderr}`));
        if (err) return reject(new Error(`convstore org create failed (${err.code ?? err.signal}):\n${stderr}`));
        const j = JSON.parse(stdout);
        if (!/^cs_live_/.test(j.api_key)) return reject(new Error(`org create printed no key: ${stdout}`));
        resolve(j);
      },
    );
  });
}

/**
 * Starts `convstore serve` on a free port: {url, logs, stop()}. stop() sends SIGTERM and throws when
 * the server does not exit 0 or printed a sanitizer report.
 */
export async function startServer(env = {}, { startTimeoutMs = 30000 } = {}) {
  const child = spawn(binPath(), ['serve'], {
    cwd: ROOT,
    env: { ...process.env, CONVSTORE_DATABASE_URL: databaseUrl(), CONVSTORE_LISTEN: '127.0.0.1:0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs = [];
  let exit = null;
  const closed = new Promise((resolve) => child.on('close', (code, signal) => resolve((exit = { code, signal }))));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not listen within ${startTimeoutMs} ms:\n${logs.join('\n')}`)), startTimeoutMs);
    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      logs.push(line);
      if (logs.length > 5000) logs.splice(0, 1000);
      try {
        const j = JSON.parse(line);
        if (j.msg === 'listening' && Number.isInteger(j.port)) {
          clearTimeout(timer);
          resolve(j.port);
        }
      } catch {
        /* not JSON */
      }
    });
    closed.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited before listening (code ${code}, signal ${signal}):\n${logs.join('\n')}`));
    });
  }).catch(async (e) => {
    if (exit === null) child.kill('SIGKILL');
    await closed;
    throw e;
  });
  return {
    url: `http://127.0.0.1:${port}`,
    logs,
    async stop() {
      if (exit === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 15000);
        await closed;
        clearTimeout(t);
      }
      const tail = logs.slice(-40).join('\n');
      const found = sanitizerLines(logs.join('\n'));
      if (found.length) throw new Error(`server printed a sanitizer report:\n${found.join('\n')}\n--- stderr tail:\n${tail}`);
      if (exit.signal || exit.code !== 0) throw new Error(`server exited with ${exit.signal ?? `code ${exit.code}`}\n--- stderr tail:\n${tail}`);
    },
  };
}

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
