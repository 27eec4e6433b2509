// Test helpers: the convstore binary and database under test (the same variables as tests/api:
// CONVSTORE_TEST_DATABASE_URL, CONVSTORE_BIN relative to the repo root), `convstore serve` on a
// free port, and `convstore org create` for a fresh org (an empty store) and its admin key.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SANITIZER_MARKERS = ['AddressSanitizer', 'LeakSanitizer', 'runtime error:', 'ThreadSanitizer'];

export function binPath() {
  const bin = path.resolve(ROOT, process.env.CONVSTORE_BIN || 'build/convstore');
  if (!existsSync(bin)) throw new Error(`server binary ${bin} not found: run \`make build\` or set CONVSTORE_BIN`);
  return bin;
}

export function databaseUrl() {
  const url = process.env.CONVSTORE_TEST_DATABASE_URL;
  if (!url) throw new Error('CONVSTORE_TEST_DATABASE_URL is not set (scripts/test.sh sets it)');
  return url;
}

export const uniq = (prefix) => `${prefix}-${randomBytes(6).toString('hex')}`;

const sanitizerLines = (text) => text.split('\n').filter((l) => SANITIZER_MARKERS.some((m) => l.includes(m)));

/** Runs `convstore <args>` against the test database; resolves stdout, rejects on failure. */
export function cli(args) {
  return new Promise((resolve, reject) => {
    execFile(
      binPath(),
      args,
      { cwd: ROOT, env: { ...process.env, CONVSTORE_DATABASE_URL: databaseUrl() }, timeout: 60000 },
      (err, stdout, stderr) => {
        const found = sanitizerLines(stderr);
        if (found.length) reject(new Error(`convstore ${args.join(' ')} printed a sanitizer report:\n${stderr}`));
        else if (err) reject(new Error(`convstore ${args.join(' ')} failed (${err.code ?? err.signal}):\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/** A new org: {org_id, api_key} (its first admin key). */
export async function createOrg(name = uniq('ts')) {
  const out = (await cli(['org', 'create', name])).trim();
  const j = JSON.parse(out);
  if (!/^cs_live_/.test(j.api_key)) throw new Error(`org create printed no key: ${out}`);
  return j;
}

/** POST /v1/keys with an admin key: a new key of the org, e.g. {role: 'user', user_id}. */
export async function createKey(url, adminKey, body) {
  const r = await fetch(`${url}/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const j = await r.json();
  if (r.status !== 201) throw new Error(`POST /v1/keys: ${r.status} ${JSON.stringify(j)}`);
  return j.key;
}

/**
 * Starts `convstore serve` on a free port: {url, logs, stop()}. stop() sends SIGTERM and throws
 * when the server does not exit 0 or printed a sanitizer report.
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
