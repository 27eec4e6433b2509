// Test harness for the black-box API tests: starts build/convstore, creates orgs, and sends
// requests whose every response is checked against openapi/openapi.yaml and the error contract.
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../../..');
export const SPEC_PATH = path.join(ROOT, 'openapi/openapi.yaml');

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const TIME_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const SAFE_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const SANITIZER_MARKERS = ['AddressSanitizer', 'LeakSanitizer', 'runtime error:', 'ThreadSanitizer'];

/** Absolute path of the server binary under test. */
export function binPath() {
  return path.resolve(ROOT, process.env.CONVSTORE_BIN || 'build/convstore');
}

function testDatabaseUrl() {
  const url = process.env.CONVSTORE_TEST_DATABASE_URL;
  if (!url) throw new Error('CONVSTORE_TEST_DATABASE_URL is not set (scripts/test.sh sets it)');
  return url;
}

function requireBin() {
  const bin = binPath();
  if (!existsSync(bin)) throw new Error(`server binary ${bin} not found: run \`make build\` or set CONVSTORE_BIN`);
  return bin;
}

/** A name that no concurrently running test file will pick. */
export function uniq(prefix = 'x') {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sanitizerFindings(lines) {
  return lines.filter((l) => SANITIZER_MARKERS.some((m) => l.includes(m)));
}

/**
 * Starts `convstore serve` on a free port against the test database.
 * Returns {url, port, logs, waitForLog(pred, ms), stop()}; stop() throws when the process exits
 * non-zero, dies by a signal, or printed a sanitizer report.
 */
export async function startServer(env = {}, { startTimeoutMs = 30000 } = {}) {
  const bin = requireBin();
  const child = spawn(bin, ['serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      CONVSTORE_DATABASE_URL: testDatabaseUrl(),
      CONVSTORE_LISTEN: '127.0.0.1:0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs = [];
  const stdout = [];
  const waiters = new Set();
  let exit = null;
  const closed = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  child.on('error', (err) => {
    exit = { code: null, signal: null, error: err };
  });
  readline.createInterface({ input: child.stdout }).on('line', (l) => stdout.push(l));
  const rl = readline.createInterface({ input: child.stderr });

  const portPromise = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`server did not log "listening" within ${startTimeoutMs} ms; stderr:\n${logs.join('\n')}`));
    }, startTimeoutMs);
    rl.on('line', (line) => {
      logs.push(line);
      for (const w of waiters) w();
      let j;
      try {
        j = JSON.parse(line);
      } catch {
        return;
      }
      if (j && j.msg === 'listening') {
        clearTimeout(timer);
        if (!Number.isInteger(j.port) || j.port <= 0) reject(new Error(`"listening" line without a real port: ${line}`));
        else resolve(j.port);
      }
    });
    closed.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited before listening (code ${code}, signal ${signal}); stderr:\n${logs.join('\n')}`));
    });
  });

  let port;
  try {
    port = await portPromise;
  } catch (e) {
    // Never leave a half-started server behind (it would keep this test file alive).
    if (exit === null) child.kill('SIGKILL');
    await closed;
    throw e;
  }
  const url = `http://127.0.0.1:${port}`;
  let stopping = null;
  const server = {
    url,
    port,
    logs,
    stdout,
    child,
    get exited() {
      return exit;
    },
    /** Log lines parsed as JSON (lines that do not parse are skipped). */
    jsonLogs() {
      const out = [];
      for (const l of logs) {
        try {
          out.push(JSON.parse(l));
        } catch {
          /* not JSON: checked elsewhere */
        }
      }
      return out;
    },
    /** Resolves with the first parsed log line satisfying pred, waiting up to ms. */
    waitForLog(pred, ms = 3000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          for (const j of server.jsonLogs()) {
            if (pred(j)) {
              waiters.delete(check);
              clearTimeout(timer);
              resolve(j);
              return true;
            }
          }
          return false;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching log line within ${ms} ms; stderr:\n${logs.slice(-30).join('\n')}`));
        }, ms);
        if (!check()) waiters.add(check);
      });
    },
    async stop({ timeoutMs = 15000 } = {}) {
      if (!stopping) {
        stopping = (async () => {
          if (exit === null) {
            child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
            await closed;
            clearTimeout(t);
          }
          const tail = logs.slice(-40).join('\n');
          const found = sanitizerFindings(logs);
          if (found.length) throw new Error(`server printed a sanitizer report:\n${found.join('\n')}\n--- stderr tail:\n${tail}`);
          if (exit.error) throw new Error(`server process error: ${exit.error.message}`);
          if (exit.signal) throw new Error(`server was killed by ${exit.signal} (did not stop within ${timeoutMs} ms of SIGTERM, or crashed)\n--- stderr tail:\n${tail}`);
          if (exit.code !== 0) throw new Error(`server exited with code ${exit.code}\n--- stderr tail:\n${tail}`);
        })();
      }
      return stopping;
    },
  };
  return server;
}

/** Runs `convstore <args>` against the test database; resolves {code, stdout, stderr}. */
export function runCli(args, env = {}) {
  const bin = requireBin();
  return new Promise((resolve) => {
    execFile(
      bin,
      args,
      { cwd: ROOT, env: { ...process.env, CONVSTORE_DATABASE_URL: testDatabaseUrl(), ...env }, timeout: 30000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (err.code ?? err.signal ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** `convstore org create <name>` → {org_id, api_key} (the org's first admin key). */
export async function createOrg(name = uniq('org')) {
  const r = await runCli(['org', 'create', name]);
  const found = sanitizerFindings(r.stderr.split('\n'));
  if (found.length) throw new Error(`org create printed a sanitizer report:\n${r.stderr}`);
  if (r.code !== 0) throw new Error(`org create ${name} failed (${r.code}):\n${r.stderr}`);
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `org create must print exactly one JSON line, got:\n${r.stdout}`);
  const j = JSON.parse(lines[0]);
  assert.match(j.org_id, UUID_RE, 'org_id is a UUID');
  assert.match(j.api_key, /^cs_live_/, 'api_key starts with cs_live_');
  return j;
}

// ---------------------------------------------------------------------------------------------
// OpenAPI response validation

const SPEC_ID = 'https://convstore.invalid/openapi.json';
let specState = null;

function loadSpec() {
  if (specState) return specState;
  if (!existsSync(SPEC_PATH)) throw new Error(`${SPEC_PATH} not found: responses cannot be validated`);
  const spec = YAML.parse(readFileSync(SPEC_PATH, 'utf8'));
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  ajv.addSchema(spec, SPEC_ID);
  const templates = Object.keys(spec.paths || {}).map((tpl) => {
    const segs = tpl.split('/');
    const re = new RegExp(
      '^' + segs.map((s) => (/^\{[^}]+\}$/.test(s) ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/') + '$',
    );
    return { tpl, re, literal: segs.filter((s) => !/^\{[^}]+\}$/.test(s)).length };
  });
  templates.sort((a, b) => b.literal - a.literal);
  let prefix = '';
  const server0 = spec.servers && spec.servers[0] && spec.servers[0].url;
  if (server0) {
    try {
      prefix = new URL(server0, 'http://x').pathname.replace(/\/$/, '');
    } catch {
      prefix = '';
    }
  }
  const schemas = (spec.components && spec.components.schemas) || {};
  const problemName = schemas.Problem ? 'Problem' : Object.keys(schemas).find((k) => /problem/i.test(k));
  specState = { spec, ajv, templates, prefix, problemName, validators: new Map() };
  return specState;
}

/** The parsed openapi/openapi.yaml. */
export function spec() {
  return loadSpec().spec;
}

const ptrEsc = (s) => encodeURIComponent(String(s).replace(/~/g, '~0').replace(/\//g, '~1'));

function deref(spec, obj, ptr) {
  let guard = 0;
  while (obj && typeof obj.$ref === 'string' && obj.$ref.startsWith('#/')) {
    if (++guard > 20) throw new Error(`$ref loop at ${ptr}`);
    const parts = obj.$ref
      .slice(2)
      .split('/')
      .map((p) => decodeURIComponent(p).replace(/~1/g, '/').replace(/~0/g, '~'));
    ptr = '/' + parts.map(ptrEsc).join('/');
    obj = parts.reduce((o, k) => (o == null ? undefined : o[k]), spec);
  }
  return [obj, ptr];
}

function validatorAt(state, ptr) {
  let v = state.validators.get(ptr);
  if (!v) {
    v = state.ajv.compile({ $ref: `${SPEC_ID}#${ptr}` });
    state.validators.set(ptr, v);
  }
  return v;
}

function mediaType(ct) {
  return (ct || '').split(';')[0].trim().toLowerCase();
}

function mediaMatches(declared, actual) {
  const d = mediaType(declared);
  if (d === actual || d === '*/*') return true;
  if (d.endsWith('/*')) return actual.startsWith(d.slice(0, -1));
  return false;
}

function describe(req, res) {
  return `${req.method} ${req.path} → ${res.status}\n${(res.text || '').slice(0, 2000)}`;
}

/**
 * Checks one response against the spec and the contract-wide rules. Throws on any violation.
 * req: {method, path}; res: {status, headers (Headers), text}. Returns the parsed JSON body (or null).
 */
export function validateResponse(req, res) {
  const state = loadSpec();
  const { spec: s } = state;
  const method = req.method.toLowerCase();
  const pathOnly = req.path.split('?')[0];
  const ct = mediaType(res.headers.get('content-type'));
  const fail = (msg) => {
    throw new Error(`response violates the contract: ${msg}\n${describe(req, res)}`);
  };

  // Contract-wide invariants.
  const rid = res.headers.get('x-request-id');
  if (!rid) fail('missing X-Request-Id header');
  if (res.status >= 500 && res.status !== 503 && res.status !== 501) fail(`5xx status ${res.status}`);

  // Locate the operation.
  const candidates = [pathOnly];
  if (state.prefix && pathOnly.startsWith(state.prefix + '/')) candidates.push(pathOnly.slice(state.prefix.length));
  let tpl = null;
  for (const c of candidates) {
    const m = state.templates.find((t) => t.re.test(c));
    if (m) {
      tpl = m.tpl;
      break;
    }
  }
  let responseObj = null;
  let responsePtr = null;
  let operation = null;
  if (tpl) {
    const [pathItem, pathPtr] = deref(s, s.paths[tpl], `/paths/${ptrEsc(tpl)}`);
    operation = pathItem && pathItem[method];
    if (operation) {
      const opPtr = `${pathPtr}/${method}`;
      const responses = operation.responses || {};
      const code = String(res.status);
      const key = [code, `${code[0]}XX`, `${code[0]}xx`, 'default'].find((k) => k in responses);
      if (!key) fail(`status ${res.status} is not declared for ${method.toUpperCase()} ${tpl}`);
      [responseObj, responsePtr] = deref(s, responses[key], `${opPtr}/responses/${ptrEsc(key)}`);
    } else if (res.status !== 405 && res.status !== 404) {
      fail(`method ${method.toUpperCase()} is not declared for ${tpl} but the server answered ${res.status}`);
    }
  } else if (res.status !== 404) {
    fail(`path ${pathOnly} is not in the spec but the server answered ${res.status}`);
  }

  let body = null;
  const isJson = ct === 'application/json' || ct.endsWith('+json');
  if (isJson && res.text !== '') {
    try {
      body = JSON.parse(res.text);
    } catch (e) {
      fail(`body is not valid JSON (${e.message})`);
    }
  }

  if (responseObj) {
    const content = responseObj.content || {};
    const declared = Object.keys(content);
    if (res.text === '' && req.method !== 'HEAD') {
      if (declared.length) fail(`empty body, spec declares ${declared.join(', ')}`);
    } else if (res.text !== '') {
      if (!declared.length) fail('response has a body but the spec declares no content');
      const mt = declared.find((d) => mediaMatches(d, ct));
      if (!mt) fail(`Content-Type ${ct || '(none)'} is not one of the declared ${declared.join(', ')}`);
      const media = content[mt];
      if (isJson && media && media.schema) {
        const v = validatorAt(state, `${responsePtr}/content/${ptrEsc(mt)}/schema`);
        if (!v(body)) fail(`body does not match the schema: ${state.ajv.errorsText(v.errors, { separator: '; ' })}`);
      }
    }
    for (const [name, h0] of Object.entries(responseObj.headers || {})) {
      const [h] = deref(s, h0, '');
      if (h && h.required && res.headers.get(name) === null) fail(`required response header ${name} is missing`);
    }
  } else {
    // Unknown route (404) or undeclared method (405): still a problem document.
    if (ct !== 'application/problem+json') fail(`expected application/problem+json, got ${ct || '(none)'}`);
    if (state.problemName) {
      const v = validatorAt(state, `/components/schemas/${ptrEsc(state.problemName)}`);
      if (!v(body)) fail(`problem body does not match ${state.problemName}: ${state.ajv.errorsText(v.errors)}`);
    }
  }

  // The error contract (RFC 9457 + the code registry).
  if (res.status >= 400) {
    if (ct !== 'application/problem+json') fail(`error with Content-Type ${ct || '(none)'}, expected application/problem+json`);
    if (!body || typeof body !== 'object') fail('error without a JSON object body');
    if (body.status !== res.status) fail(`problem.status ${body.status} differs from the HTTP status`);
    if (typeof body.code !== 'string' || !/^[a-z][a-z0-9_]*$/.test(body.code)) fail('problem.code is not a snake_case string');
    if (body.type !== `urn:convstore:error:${body.code}`) fail(`problem.type ${body.type} is not urn:convstore:error:${body.code}`);
    if (typeof body.title !== 'string' || !body.title) fail('problem.title missing');
    // A replayed reply (Idempotency-Key) is the stored body of the first request, with its request_id.
    if (body.request_id !== rid && res.headers.get('idempotent-replayed') !== 'true') fail(`problem.request_id ${body.request_id} differs from X-Request-Id ${rid}`);
    if (res.status === 401 && !/^Bearer\b/i.test(res.headers.get('www-authenticate') || ''))
      fail('401 without WWW-Authenticate: Bearer');
    if (res.status === 405 && !res.headers.get('allow')) fail('405 without Allow');
    if ((res.status === 503 || res.status === 429) && !res.headers.get('retry-after')) fail(`${res.status} without Retry-After`);
  } else if (body !== null && ct !== 'application/json' && res.status < 300) {
    fail(`success body with Content-Type ${ct}, expected application/json`);
  }
  return body;
}

// ---------------------------------------------------------------------------------------------
// Requests

/**
 * Sends one request with fetch and validates the response.
 * opts: {key, body (JSON-serialised), rawBody (string|Buffer|stream, sent as is), headers, validate}.
 * Returns {status, headers, text, json}.
 */
export async function api(base, method, urlPath, opts = {}) {
  const { key, body, rawBody, headers = {}, validate = true, timeoutMs = 15000 } = opts;
  const h = { ...headers };
  if (key !== undefined && key !== null) h.authorization = `Bearer ${key}`;
  let payload;
  if (body !== undefined) {
    payload = JSON.stringify(body);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
  } else if (rawBody !== undefined) {
    payload = rawBody;
  }
  const init = { method, headers: h, body: payload, signal: AbortSignal.timeout(timeoutMs) };
  if (payload && typeof payload.getReader === 'function') init.duplex = 'half';
  let r;
  try {
    r = await fetch(base + urlPath, init);
  } catch (e) {
    throw new Error(`${method} ${urlPath} failed: ${e.message}${e.cause ? ` (${e.cause.message || e.cause})` : ''}`);
  }
  const text = await r.text();
  const res = { status: r.status, headers: r.headers, text, json: null };
  if (validate) {
    res.json = validateResponse({ method, path: urlPath }, res);
  } else {
    try {
      res.json = JSON.parse(text);
    } catch {
      res.json = null;
    }
  }
  return res;
}

/** A small client bound to a base URL and key: c.get(path), c.post(path, body), c.patch, c.del. */
export function client(base, key) {
  const withBody = (method) => (p, body, opts = {}) => api(base, method, p, { key, ...(body !== undefined ? { body } : {}), ...opts });
  return {
    base,
    key,
    get: (p, opts = {}) => api(base, 'GET', p, { key, ...opts }),
    post: withBody('POST'),
    patch: withBody('PATCH'),
    del: (p, opts = {}) => api(base, 'DELETE', p, { key, ...opts }),
    api: (method, p, opts = {}) => api(base, method, p, { key, ...opts }),
    /** Sends text (string|Buffer) as is, with Content-Type: application/json unless opts.headers sets one. */
    send: (method, p, text, opts = {}) => api(base, method, p, { key, ...opts, rawBody: text, headers: jsonHeaders(opts.headers) }),
  };
}

function jsonHeaders(headers = {}) {
  const h = { ...headers };
  if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
  return h;
}

/**
 * Walks a list endpoint with `after` until has_more is false, checking every page's envelope;
 * returns all items. listPath may carry a query string (limit, order, filters).
 */
export async function listAll(c, listPath, { maxPages = 10000 } = {}) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < maxPages; page++) {
    const sep = listPath.includes('?') ? '&' : '?';
    const r = await c.get(cursor ? `${listPath}${sep}after=${encodeURIComponent(cursor)}` : listPath);
    const data = assertList(r);
    items.push(...data);
    if (!r.json.has_more) return items;
    assert.ok(data.length > 0, `has_more with an empty page: ${listPath}`);
    cursor = r.json.last_id;
  }
  throw new Error(`${listPath}: more than ${maxPages} pages`);
}

/** The status line and headers of a raw HTTP response: {status, headers, rest} (rest: the bytes
 * after the head), or null while the head is incomplete. */
export function parseResponseHead(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
  if (!m) throw new Error(`not an HTTP response: ${head[0]}`);
  const headers = new Headers();
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return { status: Number(m[1]), headers, rest: buf.subarray(end + 4) };
}

function parseRawResponse(buf) {
  const head = parseResponseHead(buf);
  if (!head) return null;
  const { status, headers, rest } = head;
  if (/chunked/i.test(headers.get('transfer-encoding') || '')) {
    const parts = [];
    let off = 0;
    for (;;) {
      const nl = rest.indexOf('\r\n', off);
      if (nl < 0) return null;
      const size = parseInt(rest.subarray(off, nl).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size in response');
      if (size === 0) return { status, headers, body: Buffer.concat(parts) };
      if (rest.length < nl + 2 + size + 2) return null;
      parts.push(rest.subarray(nl + 2, nl + 2 + size));
      off = nl + 2 + size + 2;
    }
  }
  const cl = headers.get('content-length');
  if (cl !== null) {
    const n = Number(cl);
    if (rest.length < n) return null;
    return { status, headers, body: rest.subarray(0, n) };
  }
  if (status === 204 || status === 304) return { status, headers, body: Buffer.alloc(0) };
  return { status, headers, body: rest, untilClose: true };
}

/**
 * Sends a hand-made HTTP/1.1 request over a socket, for what fetch cannot send.
 * opts: {method, path, headers (object; sent as given), body (Buffer|string), chunks (array of
 * Buffer|string: sent with Transfer-Encoding: chunked), contentLength (override), key, timeoutMs,
 * validate}. Resolves {status, headers, text, json, closed}; status 0 when the server closed the
 * connection without answering. Rejects when nothing happens within timeoutMs (a hang).
 */
export function raw(base, opts = {}) {
  const { method = 'GET', path: p = '/', headers = {}, body, chunks, contentLength, key, timeoutMs = 10000, validate = true } = opts;
  const u = new URL(base);
  const lines = [`${method} ${p} HTTP/1.1`, `Host: ${u.host}`, 'Connection: close'];
  if (key) lines.push(`Authorization: Bearer ${key}`);
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  const bodyBuf = body === undefined ? null : Buffer.isBuffer(body) ? body : Buffer.from(body);
  if (chunks) lines.push('Transfer-Encoding: chunked');
  else if (contentLength !== undefined) lines.push(`Content-Length: ${contentLength}`);
  else if (bodyBuf) lines.push(`Content-Length: ${bodyBuf.length}`);
  const headBuf = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');

  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: u.hostname, port: Number(u.port) });
    let data = Buffer.alloc(0);
    let done = false;
    const finish = (err, val) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(val);
    };
    const timer = setTimeout(
      () => finish(new Error(`raw ${method} ${p}: no complete response within ${timeoutMs} ms (server hangs?)`)),
      timeoutMs,
    );
    const complete = (parsed, closed) => {
      const text = parsed.body.toString('utf8');
      const res = { status: parsed.status, headers: parsed.headers, text, json: null, closed };
      try {
        if (validate) res.json = validateResponse({ method, path: p }, res);
        else {
          try {
            res.json = JSON.parse(text);
          } catch {
            res.json = null;
          }
        }
      } catch (e) {
        finish(e);
        return;
      }
      finish(null, res);
    };
    // What came so far, parsed: null while incomplete, undefined after a malformed response failed it.
    const parsed = () => {
      try {
        return parseRawResponse(data);
      } catch (e) {
        finish(e);
        return undefined;
      }
    };
    sock.on('data', (d) => {
      data = Buffer.concat([data, d]);
      const r = parsed();
      if (r && !r.untilClose) complete(r, false);
    });
    const onClose = () => {
      if (done) return;
      if (data.length === 0) {
        finish(null, { status: 0, headers: new Headers(), text: '', json: null, closed: true });
        return;
      }
      const r = parsed();
      if (r === null) finish(new Error(`raw ${method} ${p}: connection closed mid-response:\n${data.toString('latin1').slice(0, 500)}`));
      else if (r) complete(r, true);
    };
    sock.on('end', onClose);
    sock.on('close', onClose);
    sock.on('error', () => {
      /* EPIPE/ECONNRESET while we still write: the server answered early or closed; 'close' decides */
    });
    sock.on('connect', async () => {
      // Writes in pieces and stops as soon as the server starts answering (e.g. an early 413):
      // writing on into a connection the server closes ends in EPIPE/RST, and Node then drops
      // the answer that had already arrived.
      const answered = () => done || sock.destroyed || data.length > 0;
      const write = (b) => new Promise((r) => (sock.destroyed ? r() : sock.write(b, () => setImmediate(r))));
      await write(headBuf);
      if (chunks) {
        for (const c of chunks) {
          if (answered()) return;
          const cb = Buffer.isBuffer(c) ? c : Buffer.from(c);
          await write(Buffer.concat([Buffer.from(cb.length.toString(16) + '\r\n'), cb, Buffer.from('\r\n')]));
        }
        if (!answered()) await write(Buffer.from('0\r\n\r\n'));
      } else if (bodyBuf) {
        for (let off = 0; off < bodyBuf.length; off += 65536) {
          if (answered()) return;
          await write(bodyBuf.subarray(off, off + 65536));
        }
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Assertions

/** Asserts res is the problem {status, code}; with field, that errors[] names it. */
export function assertProblem(res, status, code, field) {
  const ctx = `\n${res.status} ${res.text.slice(0, 1500)}`;
  assert.equal(res.status, status, `expected status ${status}${ctx}`);
  assert.equal(mediaType(res.headers.get('content-type')), 'application/problem+json', `problem content type${ctx}`);
  assert.ok(res.json && typeof res.json === 'object', `problem body${ctx}`);
  assert.equal(res.json.code, code, `expected code ${code}${ctx}`);
  if (field !== undefined) {
    assert.ok(Array.isArray(res.json.errors), `errors[] present${ctx}`);
    assert.ok(
      res.json.errors.some((e) => e && e.field === field),
      `errors[] names field ${JSON.stringify(field)}${ctx}`,
    );
  }
}

/**
 * Runs each bad-input case as a subtest: the response must be the case's problem (code, or one of
 * several codes with one of several statuses), errors[] must name one of case.fields when given,
 * and snapshot() — everything a refused request could have changed — must read the same after.
 * afterEach(r), when given, checks more once the snapshot matched.
 */
export async function expectRejected(t, cases, snapshot, afterEach) {
  for (const k of cases) {
    await t.test(k.label, async () => {
      const before = await snapshot();
      const r = await k.send();
      if (Array.isArray(k.code)) {
        const statuses = Array.isArray(k.status) ? k.status : [k.status];
        assert.ok(statuses.includes(r.status), `status ${r.status} is one of ${statuses}: ${r.text.slice(0, 500)}`);
        assert.ok(k.code.includes(r.json.code), `code ${r.json.code} is one of ${k.code}`);
      } else {
        assertProblem(r, k.status, k.code, k.field);
      }
      if (k.fields) {
        const named = (r.json.errors || []).map((e) => e.field);
        assert.ok(k.fields.some((f) => named.includes(f)), `errors[] names one of ${k.fields}: ${r.text}`);
      }
      assert.deepEqual(await snapshot(), before, 'nothing was written');
      if (afterEach) await afterEach(r);
    });
  }
}

/** Asserts a 2xx status with a readable failure message. */
export function assertStatus(res, status) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text.slice(0, 1500)}`);
}

/** Asserts the list envelope and its first_id/last_id rules; returns data. */
export function assertList(res) {
  assertStatus(res, 200);
  const j = res.json;
  assert.equal(j.object, 'list');
  assert.ok(Array.isArray(j.data));
  assert.equal(typeof j.has_more, 'boolean');
  assert.equal(j.first_id, j.data.length ? j.data[0].id : null, 'first_id is data[0].id (null when empty)');
  assert.equal(j.last_id, j.data.length ? j.data[j.data.length - 1].id : null, 'last_id is data[-1].id (null when empty)');
  return j.data;
}

/** Microseconds since the epoch of an RFC 3339 UTC timestamp with microseconds. */
export function micros(ts) {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z$/.exec(ts);
  assert.ok(m, `not an RFC 3339 UTC timestamp: ${ts}`);
  return BigInt(Date.parse(m[1] + 'Z')) * 1000n + BigInt((m[2] || '').padEnd(6, '0'));
}

/** The RFC 3339 UTC timestamp (microseconds) for a micros() value. */
export function fromMicros(us) {
  const ms = us / 1000n;
  const frac = String(us % 1000000n).padStart(6, '0');
  return new Date(Number(ms)).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
}

export { SAFE_ID_RE };
