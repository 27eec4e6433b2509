// The page of the browser test: loads the bundled client from this page's own origin and calls the
// service on another (?base=<service url>&key=<api key>): creates a thread, appends two messages and
// renders them, then follows the thread's events and renders each as it arrives. body[data-state]
// tells the test how far it got: loading, creating, following, stopped (by the test), ended (the
// stream ended by itself) or error (#error).
import { createClient } from '/dist/convstore.browser.js';

const q = new URLSearchParams(location.search);
const $ = (sel) => document.querySelector(sel);
const setState = (s) => { document.body.dataset.state = s; };

function add(list, text, data) {
  const li = document.createElement('li');
  li.textContent = text;
  Object.assign(li.dataset, data);
  $(list).append(li);
}

function showError(e) {
  const el = $('#error');
  el.hidden = false;
  el.textContent = `${e?.name}: ${e?.message}`;
  el.dataset.name = e?.name ?? typeof e;
  if (e?.cause) el.dataset.cause = e.cause.name ?? String(e.cause);
  if (e?.status !== undefined) el.dataset.status = e.status;
  setState('error');
}

async function main() {
  const cs = createClient({ baseUrl: q.get('base'), apiKey: q.get('key') });
  setState('creating');
  const thread = await cs.threads.create({ title: 'browser' });
  $('#thread').textContent = thread.id;
  $('#thread').dataset.id = thread.id;
  for (const content of ['hello from the browser', 'a <b>second</b> message']) {
    const m = await cs.messages.create(thread.id, { role: 'user', content });
    add('#messages', `${m.role}: ${m.content}`, { id: m.id, seq: m.seq });
  }

  // For the test: stop following, and append an event from the page itself.
  const ctl = new AbortController();
  window.stopFollowing = () => ctl.abort();
  window.appendFromPage = (events) => cs.events.append(thread.id, { events });

  setState('following');
  for await (const ev of cs.events.follow(thread.id, { afterSeq: 0, signal: ctl.signal })) {
    add('#events', `#${ev.seq} ${ev.type} ${JSON.stringify(ev.data)}`, { seq: ev.seq, type: ev.type, id: ev.id });
  }
  // Aborting may end the loop quietly or with an AbortError; either way the page stopped following.
  setState(ctl.signal.aborted ? 'stopped' : 'ended');
}

main().catch((e) => {
  if (e?.name === 'AbortError') setState('stopped');
  else showError(e);
});
