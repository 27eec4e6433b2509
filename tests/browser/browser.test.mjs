// The TypeScript client (clients/ts) in a real browser: headless Debian Chromium driven by
// playwright-core. A page served from another origin than the service loads the bundled client
// (clients/ts/dist/convstore.browser.js), creates a thread, appends messages and follows the thread's
// events while this test appends more; the DOM must show them all, in order, once each. A page from
// an origin not in CONVSTORE_CORS_ORIGINS must be refused by the browser itself.
//
//   CONVSTORE_BIN             the service binary, relative to the repo root (default build/convstore)
//   CONVSTORE_TEST_DATABASE_URL  its database (scripts/test.sh sets it)
//   CONVSTORE_BROWSER_BUNDLE  the client bundle (default clients/ts/dist/convstore.browser.js)
//   CHROMIUM                  the browser (default /usr/bin/chromium, Debian's package)
//
// Alone (scripts/test.sh runs it against build-asan/convstore after `npm run build` in clients/ts):
//   scripts/deps.sh --test && (cd clients/ts && npm run build) && cd tests/browser &&
//   CONVSTORE_TEST_DATABASE_URL=postgresql://... CONVSTORE_BIN=build/convstore npm test
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, createOrg, startPageServer, startServer, uniq } from './server.mjs';

const BUNDLE = path.resolve(ROOT, process.env.CONVSTORE_BROWSER_BUNDLE || 'clients/ts/dist/convstore.browser.js');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// As root Chromium needs --no-sandbox; without the background-networking flags it keeps trying to
// reach Google's hosts, which a machine without a network refuses. playwright-core gives each launch
// a fresh --user-data-dir of its own and removes it on close.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const WAIT_MS = 15000;

let service; // CONVSTORE_CORS_ORIGINS = allowed.origin
let allowed; // the page's web server on the allowed origin
let stranger; // the same page on an origin that is not listed
let browser;

before(async () => {
  if (!existsSync(BUNDLE)) {
    throw new Error(`no client bundle at ${BUNDLE}: run \`npm ci && npm run build\` in clients/ts (or set CONVSTORE_BROWSER_BUNDLE)`);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: run scripts/deps.sh --test (Debian's chromium) or set CHROMIUM`);
  const dir = path.dirname(BUNDLE);
  [allowed, stranger] = await Promise.all([startPageServer(dir), startPageServer(dir)]);
  assert.notEqual(allowed.origin, stranger.origin);
  service = await startServer({ CONVSTORE_CORS_ORIGINS: allowed.origin });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30000,
  });
});

after(async () => {
  await browser?.close();
  await Promise.all([allowed?.close(), stranger?.close()]);
  await service?.stop();
});

/** fetch on the service with a key; resolves {status, headers, json}. */
async function call(key, method, urlPath, body) {
  const r = await fetch(`${service.url}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body && JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.status, headers: r.headers, json, text };
}

/**
 * Opens the page from origin `site` against the service with `key`, recording what the browser says:
 * {page, console, errors, net}; net holds Chromium's own view of each request (CDP Network), so a
 * CORS preflight and the reason a request was blocked are visible, not only what the page sees.
 */
async function openPage(site, key) {
  const page = await (await browser.newContext()).newPage(); // one context (profile state) per page
  const consoleLines = [];
  const errors = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => errors.push(e));
  const net = new Map(); // requestId -> {url, method, type, origin, status, headers, failed}
  const cdp = await page.context().newCDPSession(page);
  const entry = (id) => net.get(id) ?? net.set(id, {}).get(id);
  cdp.on('Network.requestWillBeSent', (e) => Object.assign(entry(e.requestId), { url: e.request.url, method: e.request.method, type: e.type }));
  // The headers as sent (Origin is added below the page, so only these have it).
  cdp.on('Network.requestWillBeSentExtraInfo', (e) => Object.assign(entry(e.requestId), { origin: lower(e.headers).origin }));
  cdp.on('Network.responseReceived', (e) =>
    Object.assign(entry(e.requestId), { status: e.response.status, headers: lower(e.response.headers), type: e.type ?? entry(e.requestId).type }));
  cdp.on('Network.loadingFailed', (e) =>
    Object.assign(entry(e.requestId), { failed: { errorText: e.errorText, cors: e.corsErrorStatus?.corsError, canceled: e.canceled } }));
  await cdp.send('Network.enable');
  const q = new URLSearchParams({ base: service.url, key });
  await page.goto(`${site.origin}/?${q}`);
  return { page, console: consoleLines, errors, net: () => [...net.values()] };
}

const lower = (h) => Object.fromEntries(Object.entries(h ?? {}).map(([k, v]) => [k.toLowerCase(), v]));

/** Waits until body[data-state] is one of states; returns it. */
async function waitState(p, states) {
  try {
    await p.page.waitForFunction((s) => s.includes(document.body.dataset.state), states, { timeout: WAIT_MS });
  } catch (e) {
    throw new Error(`the page did not reach ${states.join(' or ')}: ${await describe(p)}`, { cause: e });
  }
  return p.page.evaluate(() => document.body.dataset.state);
}

/** What the page shows and what the browser said, for failure messages. */
async function describe(p) {
  const s = await p.page
    .evaluate(() => ({
      state: document.body.dataset.state,
      error: document.querySelector('#error').textContent,
      messages: [...document.querySelectorAll('#messages li')].map((li) => li.textContent),
      events: [...document.querySelectorAll('#events li')].map((li) => li.textContent),
    }))
    .catch((e) => ({ evaluate: String(e) }));
  return JSON.stringify({ ...s, console: p.console, pageErrors: p.errors.map(String) }, null, 1);
}

const rendered = (p, list) =>
  p.page.$$eval(`${list} li`, (lis) => lis.map((li) => ({ text: li.textContent, ...li.dataset })));

/** Waits until #events holds at least n items; returns them. */
async function waitEvents(p, n) {
  try {
    await p.page.waitForFunction((k) => document.querySelectorAll('#events li').length >= k, n, { timeout: WAIT_MS });
  } catch (e) {
    throw new Error(`the page did not render ${n} events: ${await describe(p)}`, { cause: e });
  }
  return rendered(p, '#events');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let org; // the allowed page's org
let tab; // the allowed page
let threadId;

test('a page on an allowed origin creates a thread and two messages with the bundled client and renders them', async () => {
  org = await createOrg(uniq('browser'));
  tab = await openPage(allowed, org.api_key);
  const state = await waitState(tab, ['following', 'error', 'ended']);
  assert.equal(state, 'following', await describe(tab));
  assert.ok(allowed.requests.includes('/dist/convstore.browser.js'), `the page loaded the bundle from its own origin: ${allowed.requests}`);

  threadId = await tab.page.$eval('#thread', (el) => el.dataset.id);
  assert.match(threadId ?? '', /^[0-9a-f-]{36}$/, 'the page shows the new thread id');
  const messages = await rendered(tab, '#messages');
  assert.deepEqual(
    messages.map((m) => m.text),
    ['user: hello from the browser', 'user: a <b>second</b> message'],
  );

  // The service has them, as the page created them.
  const t = await call(org.api_key, 'GET', `/v1/threads/${threadId}`);
  assert.equal(t.status, 200, t.text);
  assert.equal(t.json.title, 'browser');
  const ms = await call(org.api_key, 'GET', `/v1/threads/${threadId}/messages?order=asc`);
  assert.equal(ms.status, 200, ms.text);
  assert.deepEqual(
    ms.json.data.map((m) => [m.id, m.role, m.content]),
    messages.map((m) => [m.id, 'user', m.text.replace(/^user: /, '')]),
  );

  // Those calls crossed origins: the browser sent Origin and the service allowed it.
  const posts = tab.net().filter((r) => r.method === 'POST' && r.url.startsWith(service.url));
  assert.equal(posts.length, 3, `a thread and two messages: ${JSON.stringify(tab.net(), null, 1)}`);
  for (const r of posts) {
    assert.equal(r.origin, allowed.origin, `Origin of ${r.url}`);
    assert.equal(r.status, 201, `${r.url}: ${JSON.stringify(r)}`);
    assert.equal(r.headers['access-control-allow-origin'], allowed.origin, `Access-Control-Allow-Origin on ${r.url}`);
  }
});

test('the page follows the thread\'s events live while they are appended, in order, each once', async () => {
  assert.ok(threadId, 'the page has a thread (the test before passed)');
  const append = async (events) => {
    const r = await call(org.api_key, 'POST', `/v1/threads/${threadId}/events`, { events });
    assert.equal(r.status, 201, r.text);
    return r.json;
  };

  // The first event shows the stream is open; all later ones arrive on it live.
  await append([{ type: 'note', data: { n: 1 } }]);
  await waitEvents(tab, 1);
  await append([
    { type: 'note', data: { n: 2 } },
    { type: 'note', data: { n: 3, text: '<i>not markup</i> ✓' } },
  ]);
  await waitEvents(tab, 3);
  // An event appended by the page itself, through the client, across origins.
  await tab.page.evaluate(() => window.appendFromPage([{ type: 'page.note', data: { n: 4, from: 'page' } }]));
  await waitEvents(tab, 4);
  for (let n = 5; n <= 9; n++) await append([{ type: n % 2 ? 'note' : 'tool.result', data: { n } }]);
  await waitEvents(tab, 9);
  await sleep(300); // room for a duplicate to show up

  const shown = await rendered(tab, '#events');
  const stored = await call(org.api_key, 'GET', `/v1/threads/${threadId}/events?order=asc`);
  assert.equal(stored.status, 200, stored.text);
  assert.equal(stored.json.data.length, 9, stored.text);
  assert.deepEqual(
    shown.map((e) => [Number(e.seq), e.type, e.id]),
    stored.json.data.map((e) => [e.seq, e.type, e.id]),
    'the page rendered the stored events, in seq order, each once',
  );
  assert.deepEqual(shown.map((e) => Number(e.seq)), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(shown[2].text, '#3 note {"n":3,"text":"<i>not markup</i> ✓"}');
  assert.equal(shown[3].text, '#4 page.note {"n":4,"from":"page"}');

  // The stream itself was a cross-origin request the service allowed.
  const streams = tab
    .net()
    .filter((r) => r.method === 'GET' && r.url?.startsWith(`${service.url}/v1/threads/${threadId}/events/stream`));
  assert.ok(streams.length >= 1, `a stream request: ${JSON.stringify(tab.net(), null, 1)}`);
  assert.equal(streams[0].status, 200, JSON.stringify(streams[0]));
  assert.equal(streams[0].headers['access-control-allow-origin'], allowed.origin);
  assert.match(streams[0].headers['content-type'] ?? '', /^text\/event-stream/);

  // Aborting the follow ends the loop; what is appended after that is not rendered.
  await tab.page.evaluate(() => window.stopFollowing());
  assert.equal(await waitState(tab, ['stopped', 'error', 'ended']), 'stopped', await describe(tab));
  await append([{ type: 'note', data: { n: 10 } }]);
  await sleep(300);
  assert.equal((await rendered(tab, '#events')).length, 9, await describe(tab));

  const complaints = tab.console.filter((l) => /^error:/.test(l));
  assert.deepEqual(complaints, [], 'no errors in the allowed page\'s console');
  assert.deepEqual(tab.errors.map(String), []);
});

test('a page on an origin not in CONVSTORE_CORS_ORIGINS is refused by the browser', async (t) => {
  const other = await createOrg(uniq('browser'));
  const p = await openPage(stranger, other.api_key);
  assert.equal(await waitState(p, ['error', 'following', 'ended']), 'error', await describe(p));
  assert.ok(stranger.requests.includes('/dist/convstore.browser.js'), 'the page loaded the bundle (so only CORS stopped it)');

  // The page's first call failed as fetch fails on a CORS refusal: a TypeError (as such, or as
  // the cause of the client's error), and nothing else happened.
  const err = await p.page.$eval('#error', (el) => ({ text: el.textContent, ...el.dataset }));
  t.diagnostic(`the refused page shows: ${err.text}${err.cause ? ` (cause: ${err.cause})` : ''}`);
  assert.ok(err.name === 'TypeError' || err.cause === 'TypeError', `a TypeError: ${JSON.stringify(err)}`);
  assert.equal(await p.page.$eval('#thread', (el) => el.textContent), '');
  assert.deepEqual(await rendered(p, '#messages'), []);

  // Chromium's side: the preflight was answered without Access-Control-Allow-Origin, the POST was
  // blocked for that reason and never sent, and the console says so.
  const toService = p.net().filter((r) => r.url?.startsWith(service.url));
  const preflight = toService.find((r) => r.method === 'OPTIONS' || r.type === 'Preflight');
  assert.ok(preflight, `a preflight: ${JSON.stringify(toService, null, 1)}`);
  assert.equal(preflight.origin, stranger.origin);
  assert.equal(preflight.headers?.['access-control-allow-origin'], undefined, JSON.stringify(preflight));
  const post = toService.find((r) => r.method === 'POST');
  assert.ok(post?.failed, `the POST failed: ${JSON.stringify(toService, null, 1)}`);
  assert.equal(post.failed.cors, 'PreflightMissingAllowOriginHeader', JSON.stringify(post));
  assert.equal(post.status, undefined, 'the POST got no response');
  assert.ok(
    p.console.some((l) => l.includes(`from origin '${stranger.origin}' has been blocked by CORS policy`)),
    `the console reports the CORS block: ${p.console.join('\n')}`,
  );

  // And the service: the refused origin's org has no thread.
  const threads = await call(other.api_key, 'GET', '/v1/threads');
  assert.equal(threads.status, 200, threads.text);
  assert.deepEqual(threads.json.data, []);
});
