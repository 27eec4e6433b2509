#!/usr/bin/env node
// make bench, group langgraph: one LangGraph.js graph, invoked by concurrent callers, checkpointed
// by ConvstoreSaver through the service or by PostgresSaver straight on the same PostgreSQL.
//
//   node bench/langgraph/bench.mjs check --url URL --key KEY --database-url DBURL [--schema S]
//       PostgresSaver.setup() in schema S (default langgraph_bench), then one invoke with each saver,
//       checked: the final state, the 6 checkpoints it leaves (steps -1..4), and what one invoke costs
//       in HTTP requests and SQL statements. Prints a JSON line; exits 1 when something is wrong.
//   node bench/langgraph/bench.mjs run --saver convstore|postgres|convstore_fetch --url URL --key KEY --database-url DBURL
//       [--schema S] [--seconds 5] [--warmup 1] [--callers 8] [--tag r1] --out RUN.json
//       [--cpu-snapshot 'JSON argv']
//       Warm-up invokes for --warmup s (untimed), then --callers callers each invoking the graph in a
//       loop for --seconds s, each invoke on a new thread id (lg-<saver>-<tag>-<time>-<pid>-<phase>-<caller>-<n>); writes
//       the run's figures (the harness's run format: rps = invokes/s, p50_ms/p99_ms per invoke, ...).
//       convstore: ConvstoreSaver as users get it (keep-alive node:http); convstore_fetch: given
//       Node's global fetch (undici) instead, for context: what the client's HTTP stack costs.
//       --cpu-snapshot: a command (a JSON array) printing a CPU snapshot line (bench.py cpu-snapshot),
//       run right before and after the timed window; its output, and this process's own CPU time
//       over the window, go into the run's JSON for bench.py cpu-annotate-run.
//
// The graph and what one invoke does: graph.mjs.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import pg from 'pg';

import { CHECKPOINTS_PER_INVOKE, NODE_RUNS_PER_INVOKE, SUPERSTEPS_PER_INVOKE, buildGraph, expectedFinal } from './graph.mjs';

// The saver as the working tree has it (its imports resolve in clients/langgraph/node_modules).
import { ConvstoreSaver } from '../../clients/langgraph/src/index.js';
import { nodeTransport } from '../../clients/langgraph/src/transport.js';

// ---- counting what a saver sends -----------------------------------------------------------------

/** Counts by kind, switched on and off (only the timed window counts). */
class Counter {
  constructor() {
    this.on = false;
    this.total = 0;
    this.kinds = {};
    this.ms = 0; // time spent waiting for the answers, summed over concurrent calls
  }
  add(kind, ms) {
    if (!this.on) return;
    this.total++;
    this.ms += ms;
    const k = (this.kinds[kind] ??= { n: 0, ms: 0 });
    k.n++;
    k.ms += ms;
  }
  reset() {
    this.total = 0;
    this.kinds = {};
    this.ms = 0;
  }
}

// HTTP: the fetch ConvstoreSaver is given counts every request, by method and route shape.
function countingFetch(counter, inner = globalThis.fetch) {
  return async (url, init) => {
    const t0 = performance.now();
    const res = await inner(url, init); // timed to the response's headers: the body is left to the saver
    const path = new URL(url).pathname
      .replace(/^\/v1\/threads\/[^/]+/, '/v1/threads/{id}')
      .replace(/\/checkpoints\/[^/]+(\/writes)?$/, (m, w) => (w ? '/checkpoints/{cid}/writes' : '/checkpoints/{cid}'));
    counter.add(`${init?.method ?? 'GET'} ${path} ${res.status}`, performance.now() - t0);
    return res;
  };
}

// SQL: every statement a pooled connection of PostgresSaver runs (pool.query goes through a
// client's query too), by its first words; BEGIN and COMMIT count: each is a round trip.
function statementKind(text) {
  const s = String(typeof text === 'object' && text !== null ? text.text : text)
    .replace(/\s+/g, ' ')
    .trim();
  const m = s.match(/^(INSERT INTO|DELETE FROM|UPDATE) ("?[\w.]+"?(?:\."?\w+"?)?)/i);
  if (/^(BEGIN|COMMIT|ROLLBACK)/i.test(s)) return s.split(' ')[0].toUpperCase();
  if (/^SELECT/i.test(s)) return /checkpoint_writes/.test(s) && !/checkpoints/.test(s) ? 'SELECT checkpoint_writes' : 'SELECT checkpoints';
  if (m) {
    const table = m[2].replace(/"/g, '').split('.').pop();
    return `${m[1].split(' ')[0].toUpperCase()} ${table}`;
  }
  return s.slice(0, 40);
}
function countingPool(pool, counter) {
  pool.on('connect', (client) => {
    const query = client.query.bind(client);
    client.query = (...args) => {
      const kind = statementKind(args[0]);
      const t0 = performance.now();
      const last = args.length - 1;
      if (typeof args[last] === 'function') {
        // pool.query hands the client a callback
        const cb = args[last];
        args[last] = (err, res) => {
          counter.add(err ? `${kind} (error)` : kind, performance.now() - t0);
          cb(err, res);
        };
        return query(...args);
      }
      const p = query(...args);
      if (p && typeof p.then === 'function') {
        return p.then(
          (r) => {
            counter.add(kind, performance.now() - t0);
            return r;
          },
          (e) => {
            counter.add(`${kind} (error)`, performance.now() - t0);
            throw e;
          },
        );
      }
      counter.add(kind, 0);
      return p;
    };
  });
  return pool;
}

// ---- the savers -----------------------------------------------------------------------------------

async function makeSaver(kind, opts, counter, poolSize) {
  if (kind === 'convstore' || kind === 'convstore_fetch') {
    const inner = kind === 'convstore' ? await nodeTransport() : globalThis.fetch;
    return { saver: new ConvstoreSaver({ url: opts.url, apiKey: opts.key, fetch: countingFetch(counter, inner) }), end: async () => {} };
  }
  if (kind === 'postgres') {
    // A pool of as many connections as the service's pool (the harness gives it 8).
    const pool = countingPool(new pg.Pool({ connectionString: opts['database-url'], max: poolSize }), counter);
    const saver = new PostgresSaver(pool, undefined, { schema: opts.schema });
    return { saver, end: () => pool.end() };
  }
  throw new Error(`no saver ${kind} (convstore, convstore_fetch or postgres)`);
}

async function invoke(graph, threadId, topic) {
  const out = await graph.invoke({ topic }, { configurable: { thread_id: threadId } });
  if (out.final !== expectedFinal(topic)) throw new Error(`thread ${threadId}: unexpected final state ${JSON.stringify(out)}`);
  return out;
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

const round3 = (x) => (x === null || x === undefined ? null : Math.round(x * 1000) / 1000);

// ---- check -----------------------------------------------------------------------------------------

async function check(opts) {
  const report = {};
  const setupPool = new pg.Pool({ connectionString: opts['database-url'], max: 1 });
  await new PostgresSaver(setupPool, undefined, { schema: opts.schema }).setup();
  await setupPool.end();
  for (const kind of ['convstore', 'convstore_fetch', 'postgres']) {
    const counter = new Counter();
    const { saver, end } = await makeSaver(kind, opts, counter, 2);
    try {
      const graph = buildGraph(saver);
      const threadId = `lg-check-${kind}-${process.pid}`;
      counter.on = true;
      await invoke(graph, threadId, 'check');
      counter.on = false;
      const config = { configurable: { thread_id: threadId } };
      const tuples = [];
      for await (const t of saver.list(config)) tuples.push(t);
      const steps = tuples.map((t) => t.metadata?.step).join(',');
      if (tuples.length !== CHECKPOINTS_PER_INVOKE || steps !== '4,3,2,1,0,-1') {
        throw new Error(`${kind}: ${tuples.length} checkpoints of steps ${steps}, not ${CHECKPOINTS_PER_INVOKE} of 4,3,2,1,0,-1`);
      }
      const latest = await saver.getTuple(config);
      const v = latest?.checkpoint?.channel_values ?? {};
      if (v.final !== expectedFinal('check') || v.parts?.length !== 2 || v.topic !== 'check') {
        throw new Error(`${kind}: the latest checkpoint reads back ${JSON.stringify(v)}`);
      }
      if (kind !== 'postgres' && Object.keys(counter.kinds).some((k) => !/ (2\d\d|404)$/.test(k))) {
        throw new Error(`convstore: unexpected answers ${JSON.stringify(counter.kinds)}`);
      }
      report[kind] = { per_invoke: counter.total, by_kind: Object.fromEntries(Object.entries(counter.kinds).map(([k, c]) => [k, c.n])) };
    } finally {
      await end();
    }
  }
  console.log(JSON.stringify(report));
}

// ---- run ---------------------------------------------------------------------------------------------

function cpuSnapshot(argv) {
  if (!argv) return null;
  return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' }).trim();
}

async function run(opts) {
  const kind = opts.saver;
  const callers = Number(opts.callers);
  const seconds = Number(opts.seconds);
  const warmup = Number(opts.warmup);
  const tag = opts.tag;
  const snapArgv = opts['cpu-snapshot'] ? JSON.parse(opts['cpu-snapshot']) : null;
  const counter = new Counter();
  const { saver, end } = await makeSaver(kind, opts, counter, callers);
  const graph = buildGraph(saver);
  let seq = 0;
  const runId = `${tag}-${Date.now().toString(36)}-${process.pid}`; // thread ids never repeat across runs
  const errors = [];

  // Callers: each invokes in a loop until the deadline, a new thread id per invoke.
  const phase = async (label, ms, latencies) => {
    const deadline = performance.now() + ms;
    const caller = async (c) => {
      while (performance.now() < deadline) {
        const id = `lg-${kind}-${runId}-${label}-${c}-${seq++}`;
        const t0 = performance.now();
        try {
          await invoke(graph, id, `topic ${c}`);
          latencies?.push(performance.now() - t0);
        } catch (e) {
          errors.push(String(e?.stack ?? e));
          if (errors.length > 100) throw e;
        }
      }
    };
    await Promise.all(Array.from({ length: callers }, (_, c) => caller(c)));
  };

  if (warmup > 0) await phase('w', warmup * 1000, null);
  const warmupErrors = errors.length;
  const latencies = [];
  counter.reset();
  const before = cpuSnapshot(snapArgv);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  counter.on = true;
  await phase('t', seconds * 1000, latencies);
  counter.on = false;
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const after = cpuSnapshot(snapArgv);
  await end();

  latencies.sort((a, b) => a - b);
  const n = latencies.length;
  const ticksPerS = 100; // USER_HZ on Linux, as /proc reports CPU time (bench.py reads SC_CLK_TCK)
  const res = {
    tool: 'langgraph',
    saver: kind,
    rps: round3(n / wall),
    requests: n,
    errors: errors.length - warmupErrors,
    p50_ms: round3(percentile(latencies, 50)),
    p99_ms: round3(percentile(latencies, 99)),
    mean_ms: round3(n ? latencies.reduce((a, b) => a + b, 0) / n : null),
    callers,
    timed_s: round3(wall),
    supersteps_per_invoke: SUPERSTEPS_PER_INVOKE,
    node_runs_per_invoke: NODE_RUNS_PER_INVOKE,
    steps_per_s: round3((n * SUPERSTEPS_PER_INVOKE) / wall),
    node_runs_per_s: round3((n * NODE_RUNS_PER_INVOKE) / wall),
    checkpoints_expected: n * CHECKPOINTS_PER_INVOKE,
    // HTTP requests (convstore) or SQL statements (postgres) per invoke, by kind, and the mean time
    // each waited for its answer
    calls_unit: kind === 'postgres' ? 'SQL statements' : 'HTTP requests',
    calls_per_invoke: n ? round3(counter.total / n) : null,
    calls_by_kind: Object.fromEntries(
      Object.entries(counter.kinds)
        .sort((a, b) => b[1].n - a[1].n)
        .map(([k, c]) => [k, { per_invoke: round3(c.n / n), mean_ms: round3(c.ms / c.n) }]),
    ),
    call_wait_ms_per_invoke: n ? round3(counter.ms / n) : null,
    client_self_cpu_us_per_invoke: n ? Math.round((cpu.user + cpu.system) / n) : null,
  };
  if (before && after) {
    res.cpu_before = before;
    res.cpu_after = after;
    res.client_ticks = Math.round(((cpu.user + cpu.system) / 1e6) * ticksPerS);
  }
  if (errors.length > warmupErrors) res.invalid = `${errors.length - warmupErrors} invokes failed; first: ${errors[warmupErrors].split('\n')[0]}`;
  else if (warmupErrors) res.invalid = `${warmupErrors} warm-up invokes failed; first: ${errors[0].split('\n')[0]}`;
  writeFileSync(opts.out, JSON.stringify(res, null, 1));
  if (errors.length) console.error(errors.slice(0, 3).join('\n'));
}

// ---- main ----------------------------------------------------------------------------------------------

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    saver: { type: 'string' },
    url: { type: 'string' },
    key: { type: 'string' },
    'database-url': { type: 'string' },
    schema: { type: 'string', default: 'langgraph_bench' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    callers: { type: 'string', default: '8' },
    tag: { type: 'string', default: 'r0' },
    out: { type: 'string' },
    'cpu-snapshot': { type: 'string' },
  },
});
const mode = positionals[0];
const need = (...names) => {
  for (const n of names) if (!opts[n]) throw new Error(`bench.mjs ${mode}: --${n} is required`);
};
try {
  if (mode === 'check') {
    need('url', 'key', 'database-url');
    await check(opts);
  } else if (mode === 'run') {
    need('saver', 'url', 'key', 'database-url', 'out');
    await run(opts);
  } else {
    console.error('usage: bench.mjs check|run ... (see the comment at the top of bench/langgraph/bench.mjs)');
    process.exit(2);
  }
} catch (e) {
  console.error(`bench.mjs: ${e?.stack ?? e}`);
  process.exit(1);
}
