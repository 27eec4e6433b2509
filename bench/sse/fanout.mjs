#!/usr/bin/env node
// bench/sse/fanout.mjs: the SSE fan-out load client of make bench (bench/run.sh), one Node process
// with no dependencies. It
//
//   1. reads each thread's last event seq (GET /v1/threads/t<i>/events?order=desc&limit=1), so the
//      streams start at the live edge instead of replaying the threads' backlogs;
//   2. reads the service's VmRSS, Threads and open descriptors (/proc/<pid>), opens STREAMS streams
//      (GET /v1/threads/t<i>/events/stream?after_seq=<last>, round-robin over t1..tTHREADS: PER_THREAD
//      per thread by default) on raw TCP sockets, waits IDLE_MS and reads them again: memory per idle
//      stream;
//   3. appends RATE events/s for SECONDS seconds, paced and spread round-robin over the threads (each
//      POST one event {"type":"bench.fanout","data":{"t":<wall clock ms>,"i":<n>}}), and measures, for
//      every delivery of those events on every stream, the latency from the event's created_at (the
//      start of its statement in PostgreSQL: an upper bound of commit-to-delivery) and from the
//      sender's clock before its POST; senders and receivers share the process and its clock, and
//      PostgreSQL runs on the same machine's clock;
//   4. writes a JSON line to READY and holds the streams open, counting what arrives, until SIGTERM
//      or SIGINT (bench/run.sh runs wrk appends meanwhile); then reads the threads' last seqs again
//      and waits for every stream to have received its thread's last event, closes every stream,
//      waits for the service's thread and descriptor counts to come back, and writes the whole
//      summary to OUT (with "invalid" set when a check failed).
//
// Every stream checks what it receives: seqs must follow one another (id: last + 1), so a skipped or
// repeated event, or a stream the server ends, is counted and reported.
const USAGE = `usage: node fanout.mjs --base URL --key KEY --pid SERVICE_PID --out OUT.json --ready READY.json
       [--threads 1000] [--per-thread 10] [--streams THREADS*PER_THREAD] [--rate 1000] [--seconds 10]
       [--open-parallel 200] [--idle-ms 2000]
The process needs a descriptor per stream: raise \`ulimit -n\` in the shell that starts it.`;
import http from "node:http";
import net from "node:net";
import fs from "node:fs";
import { performance } from "node:perf_hooks";

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i];
  if (!k.startsWith("--") || i + 1 >= process.argv.length) usage(`bad argument ${k}`);
  args[k.slice(2)] = process.argv[i + 1];
}
function usage(msg) {
  process.stderr.write(`fanout.mjs: ${msg}\n${USAGE}\n`);
  process.exit(2);
}
for (const k of ["base", "key", "pid", "out", "ready"]) if (!args[k]) usage(`--${k} is required`);
const num = (k, d) => {
  const v = args[k] === undefined ? d : Number(args[k]);
  if (!Number.isFinite(v) || v < 0) usage(`--${k} must be a number`);
  return v;
};
const BASE = new URL(args.base);
const KEY = args.key;
const PID = args.pid;
const THREADS = num("threads", 1000);
const PER_THREAD = num("per-thread", 10);
const RATE = num("rate", 1000);
const SECONDS = num("seconds", 10);
const OPEN_PARALLEL = num("open-parallel", 200);
const IDLE_MS = num("idle-ms", 2000);
// --streams below THREADS * PER_THREAD (a low descriptor limit) leaves the last threads one stream short.
const STREAMS = num("streams", THREADS * PER_THREAD);

const say = (m) => process.stderr.write(`fanout: ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Wall clock in ms with sub-ms resolution (created_at is PostgreSQL's wall clock, in µs).
const wallMs = () => performance.timeOrigin + performance.now();

// ---- the service's process ----------------------------------------------------------------------

// CPU time (user + sys) in seconds: the service's from /proc, this process's own.
const HZ = 100; // USER_HZ: /proc/<pid>/stat counts in 1/100 s on Linux
function serviceCpuS() {
  const text = fs.readFileSync(`/proc/${PID}/stat`, "utf8");
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / HZ;
}
function ownCpuS() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function procStatus() {
  const text = fs.readFileSync(`/proc/${PID}/status`, "utf8");
  const kb = (name) => Number((text.match(new RegExp(`^${name}:\\s+(\\d+)`, "m")) || [])[1]);
  let fds = null;
  try {
    fds = fs.readdirSync(`/proc/${PID}/fd`).length;
  } catch {}
  return { rss_kib: kb("VmRSS"), threads: kb("Threads"), fds };
}

// ---- plain requests -------------------------------------------------------------------------------

let apiAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });

function request(method, path, body) {
  return new Promise((resolve) => {
    const headers = { Authorization: `Bearer ${KEY}` };
    if (body) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = Buffer.byteLength(body);
    }
    const req = http.request(
      { host: BASE.hostname, port: BASE.port, method, path, headers, agent: apiAgent },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
        res.on("error", (e) => resolve({ status: 0, body: String(e) }));
      },
    );
    req.on("error", (e) => resolve({ status: 0, body: String(e) }));
    if (body) req.write(body);
    req.end();
  });
}

async function lastSeqs() {
  const last = new Array(THREADS + 1).fill(0);
  let next = 1;
  async function worker() {
    while (next <= THREADS) {
      const t = next++;
      const r = await request("GET", `/v1/threads/t${t}/events?order=desc&limit=1`);
      if (r.status !== 200) throw new Error(`GET events of t${t}: ${r.status} ${r.body.slice(0, 200)}`);
      last[t] = JSON.parse(r.body).last_seq;
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker));
  return last;
}

// ---- streams --------------------------------------------------------------------------------------

const streams = [];
const stats = {
  frames: 0, // every event frame, any type
  pings: 0,
  gaps: 0, // a frame whose seq is not the previous one + 1 (skipped or repeated events)
  ended: 0, // streams the server ended or that failed after opening
  open_failed: 0,
  open_errors: [],
};
let measuring = false; // paced phase: parse the bench.fanout events' data
let closing = false;
const commitLat = []; // ms from created_at to delivery
const sendLat = []; // ms from the sender's clock to delivery
let fanoutDelivered = 0;

function createdAtMs(s) {
  // "YYYY-MM-DDTHH:MM:SS.uuuuuuZ": Date.parse keeps milliseconds only
  const dot = s.indexOf(".");
  if (dot < 0) return Date.parse(s);
  return Date.parse(s.slice(0, dot) + "Z") + Number("0" + s.slice(dot, s.length - 1)) * 1000;
}

function onFrame(st, id, type, data) {
  if (id === null) return;
  stats.frames++;
  const seq = Number(id);
  if (seq !== st.last + 1) stats.gaps++;
  st.last = seq;
  if (measuring && type === "bench.fanout") {
    const now = wallMs();
    const ev = JSON.parse(data);
    fanoutDelivered++;
    commitLat.push(now - createdAtMs(ev.created_at));
    sendLat.push(now - ev.data.t);
  }
}

// A minimal SSE parser: frames are "id: N\nevent: T\ndata: JSON\n\n", pings ": ping\n\n".
function feed(st, chunk) {
  st.buf += chunk;
  let start = 0;
  for (;;) {
    const nl = st.buf.indexOf("\n", start);
    if (nl < 0) break;
    const line = st.buf.slice(start, nl);
    start = nl + 1;
    if (line === "") {
      onFrame(st, st.id, st.type, st.data);
      st.id = st.type = st.data = null;
    } else if (line.startsWith("id: ")) st.id = line.slice(4);
    else if (line.startsWith("event: ")) st.type = line.slice(7);
    else if (line.startsWith("data: ")) st.data = line.slice(6);
    else if (line.startsWith(":")) stats.pings++;
  }
  st.buf = st.buf.slice(start);
}

// A stream is a raw TCP connection (node:net): the request written by hand, the response's head
// parsed once, then its chunked body decoded into the SSE parser. Cheaper per frame than node:http,
// so the client takes less of the CPU it shares with the service.
function openStream(thread, after) {
  return new Promise((resolve) => {
    const st = {
      thread, last: after, buf: "", id: null, type: null, data: null, sock: null, open: false,
      head: "", chunkLeft: 0, sizeLine: "", crlf: 0,
    };
    let settled = false;
    const failed = (why) => {
      sock.destroy();
      if (settled) return;
      settled = true;
      stats.open_failed++;
      if (stats.open_errors.length < 5) stats.open_errors.push(`t${thread}: ${why}`);
      resolve(null);
    };
    const sock = net.connect({ host: BASE.hostname, port: Number(BASE.port) });
    st.sock = sock;
    sock.setNoDelay(true);
    // Bytes as characters, so chunk sizes count right; the bench's events are ASCII (their JSON too).
    sock.setEncoding("latin1");
    sock.on("connect", () => {
      sock.write(
        `GET /v1/threads/t${thread}/events/stream?after_seq=${after} HTTP/1.1\r\n` +
          `Host: ${BASE.host}\r\nAuthorization: Bearer ${KEY}\r\nAccept: text/event-stream\r\n\r\n`,
      );
    });
    sock.on("data", (text) => {
      if (!st.open) {
        st.head += text;
        const end = st.head.indexOf("\r\n\r\n");
        if (end < 0) return;
        const status = st.head.slice(9, 12);
        if (status !== "200") return failed(`HTTP ${status}`);
        if (!/\r\ntransfer-encoding: *chunked/i.test(st.head.slice(0, end + 2)))
          return failed("the response is not chunked");
        st.open = settled = true;
        text = st.head.slice(end + 4);
        st.head = "";
        resolve(st);
      }
      dechunk(st, text);
    });
    sock.on("error", (e) => {
      if (!st.open) failed(e.code || e.message);
    });
    sock.on("close", () => {
      if (st.open && !closing) stats.ended++;
      if (!st.open && !closing) failed("closed");
      st.open = false;
    });
  });
}

// Chunked transfer coding: "<hex size>\r\n<size bytes>\r\n" ..., "0\r\n\r\n" at the end.
function dechunk(st, text) {
  let i = 0;
  while (i < text.length) {
    if (st.crlf > 0) {
      // the CRLF after a chunk's data
      const n = Math.min(st.crlf, text.length - i);
      st.crlf -= n;
      i += n;
    } else if (st.chunkLeft > 0) {
      const n = Math.min(st.chunkLeft, text.length - i);
      feed(st, text.slice(i, i + n));
      st.chunkLeft -= n;
      i += n;
      if (st.chunkLeft === 0) st.crlf = 2;
    } else {
      const nl = text.indexOf("\n", i);
      if (nl < 0) {
        st.sizeLine += text.slice(i);
        return;
      }
      const line = st.sizeLine + text.slice(i, nl);
      st.sizeLine = "";
      i = nl + 1;
      const size = parseInt(line, 16);
      if (size === 0) return; // the last chunk: the server ends the stream (counted at close)
      st.chunkLeft = size;
    }
  }
}

async function openAll(last) {
  let next = 0;
  async function worker() {
    while (next < STREAMS) {
      const i = next++;
      const thread = (i % THREADS) + 1; // stream i: thread i mod THREADS + 1 (round-robin)
      const st = await openStream(thread, last[thread]);
      if (st) streams.push(st);
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, OPEN_PARALLEL) }, worker));
}

// ---- paced appends ------------------------------------------------------------------------------

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}
const r3 = (v) => (v === null || v === undefined ? null : Math.round(v * 1000) / 1000);
function latencySummary(values) {
  const s = Float64Array.from(values).sort();
  return {
    samples: s.length,
    p50_ms: r3(percentile(s, 50)),
    p90_ms: r3(percentile(s, 90)),
    p99_ms: r3(percentile(s, 99)),
    max_ms: r3(s.length ? s[s.length - 1] : null),
  };
}

async function paced(openOf) {
  const total = Math.round(RATE * SECONDS);
  const postLat = [];
  let sent = 0,
    created = 0,
    expected = 0, // deliveries: each created event on each open stream of its thread
    failed = 0,
    inflight = 0;
  const failures = [];
  const t0 = performance.now();
  await new Promise((resolve) => {
    function sendOne() {
      const i = sent++;
      const thread = (i % THREADS) + 1;
      const t = wallMs();
      const body = `{"events":[{"type":"bench.fanout","data":{"t":${t.toFixed(3)},"i":${i}}}]}`;
      inflight++;
      request("POST", `/v1/threads/t${thread}/events`, body).then((r) => {
        inflight--;
        postLat.push(wallMs() - t);
        if (r.status === 201) {
          created++;
          expected += openOf[thread];
        }
        else {
          failed++;
          if (failures.length < 5) failures.push(`${r.status} ${r.body.slice(0, 200)}`);
        }
        if (sent >= total && inflight === 0) resolve();
      });
    }
    function tick() {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
      while (sent < due) sendOne();
      if (sent < total) setTimeout(tick, 1);
    }
    tick();
  });
  const elapsed = (performance.now() - t0) / 1000;
  return { total, created, expected, failed, failures, elapsed, postLat };
}

// ---- main -----------------------------------------------------------------------------------------

async function main() {
  const result = {
    streams_wanted: STREAMS,
    threads: THREADS,
    rate_wanted: RATE,
    seconds: SECONDS,
  };
  const last = await lastSeqs();
  apiAgent.destroy(); // its connections' server threads end before the baseline is read
  await sleep(500);
  const before = procStatus();
  const tOpen = performance.now();
  await openAll(last);
  result.open_s = r3((performance.now() - tOpen) / 1000);
  result.streams_open = streams.length;
  say(`${streams.length} of ${STREAMS} streams open in ${result.open_s}s` +
      (stats.open_failed ? `; ${stats.open_failed} failed: ${stats.open_errors.join("; ")}` : ""));
  await sleep(IDLE_MS);
  const idle = procStatus();
  result.service = { before, idle };
  result.rss_growth_kib = idle.rss_kib - before.rss_kib;
  result.rss_per_stream_kib = streams.length ? r3(result.rss_growth_kib / streams.length) : null;
  result.threads_per_stream = streams.length ? r3((idle.threads - before.threads) / streams.length) : null;
  result.fds_per_stream =
    streams.length && idle.fds !== null ? r3((idle.fds - before.fds) / streams.length) : null;
  say(`service RSS ${before.rss_kib} -> ${idle.rss_kib} KiB (${result.rss_per_stream_kib} KiB per stream), ` +
      `threads ${before.threads} -> ${idle.threads}, fds ${before.fds} -> ${idle.fds}`);

  // Paced appends: each delivered to every stream of its thread.
  if (RATE > 0 && SECONDS > 0 && streams.length) {
    const openOf = new Array(THREADS + 1).fill(0);
    for (const st of streams) openOf[st.thread]++;
    const frames0 = stats.frames;
    const cpu0 = { svc: serviceCpuS(), own: ownCpuS(), t: performance.now() };
    measuring = true;
    const p = await paced(openOf);
    const secs = (performance.now() - cpu0.t) / 1000;
    const cpu = {
      service_pct_of_one_core: r3((100 * (serviceCpuS() - cpu0.svc)) / secs),
      client_pct_of_one_core: r3((100 * (ownCpuS() - cpu0.own)) / secs),
    };
    const expected = p.expected;
    // Whatever is still on its way arrives within this drain.
    for (let waited = 0; waited < 2000 && fanoutDelivered < expected; waited += 50) await sleep(50);
    measuring = false;
    result.paced = {
      events_sent: p.total,
      events_created: p.created,
      events_failed: p.failed,
      failures: p.failures,
      rate_achieved: r3(p.total / p.elapsed),
      elapsed_s: r3(p.elapsed),
      deliveries_expected: expected,
      deliveries: fanoutDelivered,
      deliveries_missing: Math.max(0, expected - fanoutDelivered),
      frames: stats.frames - frames0,
      commit_to_delivery: latencySummary(commitLat),
      send_to_delivery: latencySummary(sendLat),
      append_response: latencySummary(p.postLat),
      cpu,
    };
    say(`paced: ${p.created}/${p.total} events in ${r3(p.elapsed)}s, ${fanoutDelivered}/${expected} deliveries, ` +
        `commit-to-delivery p50 ${result.paced.commit_to_delivery.p50_ms} ms p99 ${result.paced.commit_to_delivery.p99_ms} ms, ` +
        `send-to-delivery p50 ${result.paced.send_to_delivery.p50_ms} ms p99 ${result.paced.send_to_delivery.p99_ms} ms; ` +
        `CPU: service ${cpu.service_pct_of_one_core}%, client ${cpu.client_pct_of_one_core}% of a core`);
  }
  apiAgent.destroy();

  // Hold: count what arrives until told to stop.
  const held0 = { frames: stats.frames, gaps: stats.gaps, ended: stats.ended, t: performance.now() };
  result.ready_streams_open = streams.filter((s) => s.open).length;
  fs.writeFileSync(args.ready, JSON.stringify({ streams_open: result.ready_streams_open }) + "\n");
  await new Promise((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  const heldFor = (performance.now() - held0.t) / 1000;
  // Every stream must have received its thread's last event: read the threads' last seqs and give
  // what is still on its way a few seconds to arrive.
  apiAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const lastNow = await lastSeqs();
  apiAgent.destroy();
  const behind = () => streams.filter((st) => st.last < lastNow[st.thread]).length;
  for (let waited = 0; waited < 5000 && behind() > 0; waited += 50) await sleep(50);
  result.hold = {
    seconds: r3(heldFor),
    frames: stats.frames - held0.frames,
    streams_open_at_end: streams.filter((s) => s.open).length,
    behind: behind(),
  };

  // Close every stream; the service must let go of their threads and descriptors.
  closing = true;
  const tClose = performance.now();
  for (const st of streams) st.sock.destroy();
  let after = procStatus();
  const released = (st) => st.threads <= before.threads && (st.fds === null || st.fds <= before.fds);
  while (performance.now() - tClose < 10000 && !released(after)) {
    await sleep(100);
    after = procStatus();
  }
  result.service.after_close = after;
  result.release_s = r3((performance.now() - tClose) / 1000);
  result.threads_released = released(after);
  result.gaps = stats.gaps;
  result.ended_by_server = stats.ended;
  result.open_failed = stats.open_failed;
  result.open_errors = stats.open_errors;
  result.frames = stats.frames;
  result.pings = stats.pings;
  const problems = [];
  if (streams.length < STREAMS) problems.push(`${STREAMS - streams.length} streams did not open`);
  if (stats.gaps) problems.push(`${stats.gaps} frames out of sequence (skipped or repeated events)`);
  if (stats.ended) problems.push(`${stats.ended} streams ended by the server`);
  if (result.hold.behind) problems.push(`${result.hold.behind} streams had not received their thread's last event`);
  if (result.paced && result.paced.events_failed) problems.push(`${result.paced.events_failed} paced appends failed`);
  if (result.paced && result.paced.deliveries_missing)
    problems.push(`${result.paced.deliveries_missing} deliveries missing`);
  if (!result.threads_released)
    problems.push(`the service kept ${after.threads - before.threads} threads and ${after.fds - before.fds}` +
      ` descriptors 10 s after the streams closed`);
  if (problems.length) result.invalid = problems.join("; ");
  fs.writeFileSync(args.out, JSON.stringify(result, null, 1) + "\n");
  say(`closed; service threads ${after.threads}, fds ${after.fds} (baseline ${before.threads}, ${before.fds})` +
      ` after ${result.release_s}s` +
      (result.invalid ? `; INVALID: ${result.invalid}` : ""));
  process.exit(0);
}

main().catch((e) => {
  say(`failed: ${e.stack || e}`);
  process.exit(1);
});
