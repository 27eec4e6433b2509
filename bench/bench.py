#!/usr/bin/env python3
"""Helpers of bench/run.sh: pgbench scripts from the service's own SQL, run summaries, the report.

  bench.py pgbench-sql SQL_FILE N=TEMPLATE...   the statement with each $N replaced by TEMPLATE, where
                                                {name} becomes the pgbench variable :name; prints it
  bench.py psql-sql SQL_FILE N=TEMPLATE...      the same, with {name} as psql's quoted :'name' (to check
                                                the translation once with psql before timing it)
  bench.py pgbench-summary STDOUT LOG_PREFIX OUT.json   tps and latency percentiles of one pgbench run
  bench.py cpu-snapshot POSTMASTER_PID SERVICE_PID SHELL_PID [SUBSCRIBERS_PID]   CPU jiffies so far (a JSON
                                                line): the machine's total and idle, our PostgreSQL (postmaster,
                                                its backends and the ones it reaped), the service, the shell's
                                                reaped children, and the SSE client holding streams open if any
  bench.py cpu-annotate RUN.json BEFORE AFTER [CLIENT_TICKS]   adds the CPU used between two snapshots to
                                                a run: shares of a core and per request; CLIENT_TICKS is the
                                                client's own CPU time (else the shell's reaped children's)
  bench.py cpu-annotate-run RUN.json            the same for a run that took its own snapshots (cpu_before,
                                                cpu_after, client_ticks in RUN.json: langgraph/bench.mjs)
  bench.py report RUNS_DIR META.json OUT.json   medians over rounds of the runs NAME.rROUND.json and ratios
                                                per round, and the SSE fan-out's openings fanout_hold.hN.json;
                                                prints the table, writes OUT.json; exit 1 if a run is invalid

Every $N of the statement must be mapped and every mapping must be used, so a change of the service's
SQL makes the harness stop instead of timing something else.
"""
import glob
import json
import math
import os
import re
import statistics
import sys
import time

PARAM = re.compile(r"\$(\d+)(?!\d)")
VAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def translate(sql_file, mappings, style):
    sql = open(sql_file).read().strip().rstrip(";")
    if not sql:
        sys.exit(f"bench.py: {sql_file} is empty")
    table = {}
    for m in mappings:
        n, _, template = m.partition("=")
        if not n.isdigit() or not template:
            sys.exit(f"bench.py: bad mapping {m!r} (want N=TEMPLATE)")
        table[int(n)] = template
    used = {int(n) for n in PARAM.findall(sql)}
    if used != set(table):
        sys.exit(f"bench.py: {sql_file} uses parameters {sorted(used)}, mapped {sorted(table)}")

    def var(m):
        return f":{m.group(1)}" if style == "pgbench" else f":'{m.group(1)}'"

    def param(m):
        return VAR.sub(var, table[int(m.group(1))])

    return PARAM.sub(param, sql) + ";"


def percentile(sorted_values, p):
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it."""
    if not sorted_values:
        return None
    k = max(0, math.ceil(p / 100.0 * len(sorted_values)) - 1)
    return sorted_values[k]


def pgbench_summary(stdout_file, log_prefix, out_file):
    text = open(stdout_file).read()

    def grab(pattern, cast=float, default=None):
        m = re.search(pattern, text, re.M)
        return cast(m.group(1)) if m else default

    tps = grab(r"^tps = ([0-9.]+) \(without initial connection time\)")
    processed = grab(r"^number of transactions actually processed: (\d+)", int, 0)
    failed = grab(r"^number of failed transactions: (\d+)", int, 0)
    lat = []
    for path in glob.glob(log_prefix + ".*"):
        with open(path) as f:
            for line in f:
                cols = line.split()
                if len(cols) >= 3 and cols[2].isdigit():  # failed ones log "failed"/"skipped"
                    lat.append(int(cols[2]))
    lat.sort()
    res = {
        "tool": "pgbench",
        "rps": tps,
        "requests": processed,
        "errors": failed,
        "p50_ms": percentile(lat, 50) / 1000.0 if lat else None,
        "p99_ms": percentile(lat, 99) / 1000.0 if lat else None,
        "mean_ms": sum(lat) / len(lat) / 1000.0 if lat else None,
        "samples": len(lat),
    }
    if tps is None:
        res["invalid"] = "no tps line in pgbench's output"
    elif failed:
        res["invalid"] = f"{failed} transactions failed"
    json.dump(res, open(out_file, "w"), indent=1)


def proc_stat(pid):
    """(ppid, utime + stime, cutime + cstime) of a process, or None when it is gone."""
    try:
        text = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None
    f = text[text.rindex(")") + 2:].split()  # the name may hold spaces and parentheses
    return int(f[1]), int(f[11]) + int(f[12]), int(f[13]) + int(f[14])


def cpu_snapshot(postmaster, service, shell, subscribers=None):
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    total, idle = sum(cpu[:8]), cpu[3] + cpu[4]
    pg = 0
    pm = proc_stat(postmaster)
    if pm:
        pg = pm[1] + pm[2]
        for d in os.listdir("/proc"):
            if d.isdigit():
                st = proc_stat(d)
                if st and st[0] == int(postmaster):
                    pg += st[1]
    svc = proc_stat(service) if service else None
    sh = proc_stat(shell)
    snap = {"total": total, "idle": idle, "pg": pg, "service": svc[1] if svc else 0,
            "children": sh[2] if sh else 0, "t": time.monotonic()}
    if subscribers:
        sub = proc_stat(subscribers)
        snap["subscribers"] = sub[1] if sub else 0
    print(json.dumps(snap))


def cpu_annotate(run_file, before, after, client_ticks=None):
    a, b = json.loads(before), json.loads(after)
    d = {k: b[k] - a[k] for k in a if k in b}
    hz = os.sysconf("SC_CLK_TCK")
    client = int(client_ticks) if client_ticks is not None else d["children"]
    run = json.load(open(run_file))
    if d["total"] > 0:
        busy = d["total"] - d["idle"]
        ours = d["pg"] + d["service"] + max(d["children"], client) + d.get("subscribers", 0)
        run["machine_busy_pct"] = round(100.0 * busy / d["total"], 1)
        # Whatever else ran meanwhile (other jobs on this machine) took this share of all cores.
        run["others_cpu_pct"] = round(max(0.0, 100.0 * (busy - ours) / d["total"]), 1)
    cpu = {"service": d["service"], "postgres": d["pg"], "client": client}
    if "subscribers" in d:  # the SSE client holding the streams open, receiving what the run appends
        cpu["subscribers"] = d["subscribers"]
    run["cpu_s"] = {k: round(v / hz, 2) for k, v in cpu.items()}
    run["wall_s"] = round(d["t"], 3)
    for k, v in cpu.items():
        run[f"{k}_cpu_pct_of_one_core"] = round(100.0 * v / hz / d["t"], 1)
        if run.get("requests"):
            run[f"{k}_cpu_us_per_req"] = round(1e6 * v / hz / run["requests"], 1)
    json.dump(run, open(run_file, "w"), indent=1)


def cpu_annotate_run(run_file):
    """cpu_annotate with the snapshots a run took itself around its timed window, which it keeps."""
    run = json.load(open(run_file))
    if run.get("cpu_before") and run.get("cpu_after"):
        cpu_annotate(run_file, run["cpu_before"], run["cpu_after"], run.get("client_ticks"))


RUN_FILE = re.compile(r"(.+)\.r(\d+)\.json")


def load_runs(runs_dir):
    """{name: [the run's figures in round 1, round 2, ...]} from RUNS_DIR/NAME.rROUND.json."""
    runs = {}
    for path in glob.glob(runs_dir + "/*.json"):
        m = RUN_FILE.fullmatch(os.path.basename(path))
        if m:
            d = json.load(open(path))
            d["round"] = int(m.group(2))
            runs.setdefault(m.group(1), []).append(d)
    for rounds in runs.values():
        rounds.sort(key=lambda d: d["round"])
    return runs


def number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def median(values):
    values = [v for v in values if number(v)]
    return statistics.median(values) if values else None


def rounded(v):
    return round(v, 3) if v is not None else None


# The figures of a run kind that the report gives as their median over its rounds.
MEDIAN_FIGURES = ["rps", "p50_ms", "p99_ms", "mean_ms", "requests", "events_per_s",
                  "service_cpu_pct_of_one_core", "postgres_cpu_pct_of_one_core", "client_cpu_pct_of_one_core",
                  "service_cpu_us_per_req", "postgres_cpu_us_per_req", "client_cpu_us_per_req",
                  "subscribers_cpu_pct_of_one_core", "subscribers_cpu_us_per_req",
                  "others_cpu_pct", "machine_busy_pct",
                  # langgraph runs (bench/langgraph/bench.mjs): rps and requests are invokes
                  "steps_per_s", "node_runs_per_s", "calls_per_invoke", "call_wait_ms_per_invoke",
                  "client_self_cpu_us_per_invoke"]


def summarize(rounds):
    s = {"tool": rounds[0].get("tool"), "rounds_run": len(rounds)}
    for k in MEDIAN_FIGURES:
        s[k] = rounded(median([r.get(k) for r in rounds]))
    s["errors"] = sum(r.get("errors") or 0 for r in rounds)
    for r in rounds:
        if r.get("errors") and not r.get("invalid"):  # wrk: non-2xx responses, socket errors, timeouts
            r["invalid"] = f"{r['errors']} errors"
    bad = [f"r{r['round']}: {r['invalid']}" for r in rounds if r.get("invalid")]
    if bad:
        s["invalid"] = "; ".join(bad)
    if rounds[0].get("tool") == "langgraph":
        s["calls_unit"] = rounds[0].get("calls_unit")
        kinds = {}
        for r in rounds:
            for k, c in (r.get("calls_by_kind") or {}).items():
                kinds.setdefault(k, []).append(c.get("per_invoke"))
        s["calls_by_kind_per_invoke"] = {k: rounded(median(v)) for k, v in kinds.items()}
    else:
        for k in MEDIAN_FIGURES[MEDIAN_FIGURES.index("steps_per_s"):]:
            del s[k]
    if rounds[0].get("events_per_request"):
        s["events_per_request"] = rounds[0]["events_per_request"]
    else:
        del s["events_per_s"]
    if s.get("subscribers_cpu_pct_of_one_core") is None:
        del s["subscribers_cpu_pct_of_one_core"], s["subscribers_cpu_us_per_req"]
    s["rounds"] = rounds
    return s


def pct(v):
    return f"{v:.0f}%" if number(v) else "-"


def fmt(v, spec):
    return format(v, spec) if number(v) else "-"


ROWS = [
    # (group, run name, label); the svc columns are the process between client and PostgreSQL: the
    # service under wrk, pgbouncer in the relay runs (none in the other pgbench runs)
    ("append one message", "append_service", "service  POST .../messages"),
    ("", "append_pgbench", "pgbench  msg_append"),
    ("", "append_auth_pgbench", "pgbench  key_lookup + msg_append (context)"),
    ("", "append_relay_pgbench", "pgbench  msg_append via pgbouncer (context)"),
    ("newest 20 messages", "newest_service", "service  GET .../messages?limit=20"),
    ("", "newest_pgbench", "pgbench  msg_list_desc"),
    ("", "newest_relay_pgbench", "pgbench  msg_list_desc via pgbouncer (context)"),
    ("page at depth 1,000,000", "first_service", "service  first page"),
    ("", "deep_service", "service  deep page"),
    ("", "first_pgbench", "pgbench  msg_list_desc, first page (context)"),
    ("", "deep_pgbench", "pgbench  msg_list_desc, deep page (context)"),
    ("append one event", "event_one_service", "service  POST .../events, 1 event"),
    ("", "event_one_pgbench", "pgbench  event_append, 1 event"),
    ("append 100 events", "event_batch_service", "service  POST .../events, 100 events"),
    ("", "event_batch_pgbench", "pgbench  event_append, 100 events"),
    ("read 100 events", "event_read_service", "service  GET .../events?after_seq=&limit=100"),
    ("", "event_read_pgbench", "pgbench  event_list_asc, limit 101"),
    ("graph of 1,000 steps", "graph_service", "service  GET .../runs/big-run/graph"),
    ("", "graph_pgbench", "pgbench  run_get + step_all"),
    ("summary of 1,000 steps", "summary_service", "service  GET .../runs/big-run/summary"),
    ("", "summary_pgbench", "pgbench  run_get + step_all_light + event counts"),
    ("append one step", "step_service", "service  POST .../runs/r<i>/steps"),
    ("", "step_pgbench", "pgbench  BEGIN, lock, step_insert, event, COMMIT"),
    ("SSE fan-out appends", "fanout_open_service", "service  POST .../events, streams open"),
    ("", "fanout_elsewhere_service", "service  ... to threads no stream follows (context)"),
    ("", "fanout_closed_service", "service  POST .../events, no streams"),
    ("LangGraph invokes", "langgraph_convstore", "node     ConvstoreSaver via the service"),
    ("", "langgraph_postgres", "node     PostgresSaver on PostgreSQL"),
    ("", "langgraph_convstore_fetch", "node     ConvstoreSaver on Node's global fetch (context)"),
]

RATIOS = [
    # (name, numerator run, denominator run, figure, comparison, target, meaning)
    ("append", "append_service", "append_pgbench", "rps", ">=", 0.8, "service req/s / pgbench insert tps"),
    ("append_vs_auth_insert", "append_service", "append_auth_pgbench", "rps", None, None,
     "service req/s / pgbench auth+insert tps"),
    ("append_relay", "append_relay_pgbench", "append_pgbench", "rps", None, None,
     "pgbench via pgbouncer tps / pgbench tps"),
    ("append_vs_relay", "append_service", "append_relay_pgbench", "rps", None, None,
     "service req/s / pgbench via pgbouncer tps"),
    ("newest_20", "newest_service", "newest_pgbench", "rps", ">=", 0.5, "service req/s / pgbench tps"),
    ("newest_20_relay", "newest_relay_pgbench", "newest_pgbench", "rps", None, None,
     "pgbench via pgbouncer tps / pgbench tps"),
    ("newest_20_vs_relay", "newest_service", "newest_relay_pgbench", "rps", None, None,
     "service req/s / pgbench via pgbouncer tps"),
    ("deep_page_p50", "deep_service", "first_service", "p50_ms", "<=", 1.2, "deep p50 / first p50"),
    ("deep_page_p99", "deep_service", "first_service", "p99_ms", None, None, "deep p99 / first p99"),
    ("deep_page_rps", "deep_service", "first_service", "rps", None, None, "deep req/s / first req/s"),
    ("event_append", "event_one_service", "event_one_pgbench", "rps", None, None,
     "service req/s / pgbench event_append tps"),
    ("event_batch", "event_batch_service", "event_batch_pgbench", "rps", None, None,
     "service events/s / pgbench events/s (100 a batch)"),
    ("event_read", "event_read_service", "event_read_pgbench", "rps", None, None,
     "service req/s / pgbench event_list_asc tps"),
    ("run_graph", "graph_service", "graph_pgbench", "rps", None, None,
     "service req/s / pgbench run_get+step_all tps"),
    ("run_summary", "summary_service", "summary_pgbench", "rps", None, None,
     "service req/s / pgbench its 3 queries tps"),
    ("step_append", "step_service", "step_pgbench", "rps", None, None,
     "service req/s / pgbench step transaction tps"),
    ("append_with_streams", "fanout_open_service", "fanout_closed_service", "rps", ">=", 0.9,
     "service req/s, streams open / none open"),
    ("append_streams_elsewhere", "fanout_elsewhere_service", "fanout_closed_service", "rps", None, None,
     "the same, appending to threads without streams"),
    ("langgraph_steps", "langgraph_convstore", "langgraph_postgres", "steps_per_s", ">=", 2.0,
     "ConvstoreSaver steps/s / PostgresSaver steps/s"),
    ("langgraph_p50", "langgraph_convstore", "langgraph_postgres", "p50_ms", None, None,
     "ConvstoreSaver p50 / PostgresSaver p50, per invoke"),
    ("langgraph_steps_global_fetch", "langgraph_convstore_fetch", "langgraph_postgres", "steps_per_s", None, None,
     "the same, ConvstoreSaver fetching over node:http"),
]


def per_round_ratios(num_rounds, den_rounds, figure):
    """[(round, numerator's figure / denominator's figure in that round)] for the rounds both ran."""
    den = {d["round"]: d for d in den_rounds}
    out = []
    for a in num_rounds:
        b = den.get(a["round"])
        if b is not None and number(a.get(figure)) and number(b.get(figure)) and b[figure]:
            out.append((a["round"], a[figure] / b[figure]))
    return out


HOLD_FILE = re.compile(r"fanout_hold\.h(\d+)\.json")


def load_holds(runs_dir):
    """The SSE fan-out's openings (bench/sse/fanout.mjs summaries), in order."""
    holds = []
    for path in glob.glob(runs_dir + "/fanout_hold.h*.json"):
        m = HOLD_FILE.fullmatch(os.path.basename(path))
        if m:
            d = json.load(open(path))
            d["opening"] = int(m.group(1))
            holds.append(d)
    return sorted(holds, key=lambda d: d["opening"])


def dig(d, *keys):
    for k in keys:
        d = d.get(k) if isinstance(d, dict) else None
    return d


# The SSE figures: (name, where in a hold's summary, meaning, comparison, target, over: "first" opening
# or the "median" of all openings).
SSE_FIGURES = [
    ("memory_per_stream_kib", ("rss_per_stream_kib",), "service VmRSS growth per idle stream, KiB",
     "<", 64, "first"),
    ("commit_to_delivery_p50_ms", ("paced", "commit_to_delivery", "p50_ms"),
     "created_at to delivery p50, ms", None, None, "median"),
    ("commit_to_delivery_p99_ms", ("paced", "commit_to_delivery", "p99_ms"),
     "created_at to delivery p99, ms", "<", 100, "median"),
    ("send_to_delivery_p50_ms", ("paced", "send_to_delivery", "p50_ms"),
     "sender's clock to delivery p50, ms", None, None, "median"),
    ("send_to_delivery_p99_ms", ("paced", "send_to_delivery", "p99_ms"),
     "sender's clock to delivery p99, ms", None, None, "median"),
    ("paced_append_p50_ms", ("paced", "append_response", "p50_ms"),
     "paced POST response p50, ms", None, None, "median"),
    ("paced_events_per_s", ("paced", "rate_achieved"), "paced appends per second", None, None, "median"),
    ("paced_service_cpu_pct", ("paced", "cpu", "service_pct_of_one_core"),
     "service CPU while paced, % of a core", None, None, "median"),
    ("paced_client_cpu_pct", ("paced", "cpu", "client_pct_of_one_core"),
     "SSE client CPU while paced, % of a core", None, None, "median"),
    ("open_s", ("open_s",), "seconds to open every stream", None, None, "median"),
    ("threads_per_stream", ("threads_per_stream",), "service threads per stream", None, None, "median"),
    ("fds_per_stream", ("fds_per_stream",), "service descriptors per stream", None, None, "median"),
    ("release_s", ("release_s",), "seconds until the service's threads are back", None, None, "median"),
]


def sse_report(holds, meta, width):
    """Prints the SSE fan-out section; returns its JSON (or None without openings)."""
    if not holds:
        return None
    cfg = meta.get("config", {})
    first = holds[0]
    opened = first.get("streams_open")
    wanted = cfg.get("sse_streams_wanted") or first.get("streams_wanted")
    print(f"SSE fan-out: {opened} streams open on one instance over t1..t{first.get('threads')}"
          f" (round-robin), {cfg.get('sse_rate')} paced events/s for {cfg.get('sse_seconds')} s,"
          f" {len(holds)} opening{'s' if len(holds) != 1 else ''}")
    if wanted and first.get("streams_wanted") and first["streams_wanted"] < wanted:
        print(f"  NOTE: {wanted} streams wanted; the descriptor limit ({cfg.get('fd_limit')}) allows"
              f" {first['streams_wanted']}: each stream takes 2 descriptors in the service")
    print()
    print(f"{'figure':<27} {'what':<44} {'median (min–max of openings)':>30} {'target':>8} {'result':>8}")
    print("-" * width)
    figures = []
    for name, path, meaning, cmp, target, over in SSE_FIGURES:
        values = [dig(h, *path) for h in holds]
        values = [v for v in values if number(v)]
        if not values:
            continue
        value = values[0] if over == "first" else median(values)
        lo, hi = min(values), max(values)
        invalid = [h for h in holds if h.get("invalid")]
        result = None
        if cmp:
            result = "INVALID" if invalid else ("PASS" if (value < target) else "MISS")
        figures.append({"name": name, "value": rounded(value), "min": rounded(lo), "max": rounded(hi),
                        "per_opening": [rounded(dig(h, *path)) for h in holds], "over": over,
                        "meaning": meaning, "target": f"{cmp} {target}" if cmp else None, "result": result})
        shown = fmt(value, ".2f" if value < 100 else ".0f")
        if over == "first":
            shown += " (1st opening)"
        elif len(values) > 1:
            shown += f" ({lo:.2f}–{hi:.2f})" if hi < 100 else f" ({lo:.0f}–{hi:.0f})"
        tgt = f"{cmp}{target}" if cmp else ""
        print(f"{name:<27} {meaning:<44} {shown:>30} {tgt:>8} {result or '':>8}")
    checks = []
    for h in holds:
        p = h.get("paced") or {}
        checks.append(f"opening {h['opening']}: {h.get('streams_open')} open, {p.get('deliveries', 0)} of"
                      f" {p.get('deliveries_expected', 0)} paced deliveries, {h.get('frames', 0)} frames in all,"
                      f" {h.get('gaps', 0)} out of sequence, {h.get('ended_by_server', 0)} ended by the server,"
                      f" {dig(h, 'hold', 'behind') or 0} behind at the end")
    for c in checks:
        print(f"  {c}")
    if len(holds) > 1:
        print("  (memory: the first opening, by a service that had held no streams; later openings reuse"
              " memory it kept and read lower)")
    print()
    bad = [f"opening {h['opening']}: {h['invalid']}" for h in holds if h.get("invalid")]
    return {"streams": opened, "streams_wanted": wanted, "figures": figures, "openings": holds,
            "invalid": "; ".join(bad) if bad else None}


def langgraph_report(runs, meta):
    """The LangGraph runs' own figures: steps, invokes, and what an invoke sends, by kind."""
    lg = [(n, runs[n]) for n in ("langgraph_convstore", "langgraph_postgres", "langgraph_convstore_fetch") if n in runs]
    if not lg:
        return
    cfg = meta.get("config", {})
    print(f"LangGraph (bench/langgraph): {cfg.get('langgraph_callers')} callers, runs of {cfg.get('langgraph_seconds')} s"
          f" (not the table's {cfg.get('duration_s')} s), a fresh thread per invoke; steps = supersteps of the graph's"
          " nodes, 4 an invoke (plan, 2 workers, write, review: 5 node runs); medians over the rounds")
    for name, r in lg:
        cpu = " + ".join(f"{k} {fmt(r.get(k + '_cpu_us_per_req'), '.0f')}" for k in ("client", "service", "postgres")
                         if name != "langgraph_postgres" or k != "service")
        print(f"  {name:<24} {fmt(r.get('steps_per_s'), '.1f')} steps/s, {fmt(r.get('node_runs_per_s'), '.1f')} node runs/s,"
              f" {fmt(r.get('rps'), '.1f')} invokes/s, p50 {fmt(r.get('p50_ms'), '.1f')} ms, p99 {fmt(r.get('p99_ms'), '.1f')} ms;"
              f" CPU µs/invoke: {cpu}")
        kinds = ", ".join(f"{k} {v:g}" for k, v in (r.get("calls_by_kind_per_invoke") or {}).items())
        print(f"  {'':<24} {fmt(r.get('calls_per_invoke'), '.1f')} {r.get('calls_unit')} per invoke: {kinds};"
              f" {fmt(r.get('call_wait_ms_per_invoke'), '.0f')} ms waiting for them per invoke (summed)")
    print()


def report(runs_dir, meta_file, out_file):
    runs = {name: summarize(rounds) for name, rounds in load_runs(runs_dir).items()}
    meta = json.load(open(meta_file))
    nrounds = max((s["rounds_run"] for s in runs.values()), default=0)
    width = 160
    print()
    print(f"Each figure: the median over {nrounds} round{'s' if nrounds != 1 else ''}"
          f" of {meta['config']['duration_s']} s runs."
          f" CPU: % of one core, and µs of CPU time per completed request (transaction for pgbench,"
          f" graph invoke for LangGraph).")
    print()
    print(f"{'scenario':<23} {'run':<48} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
          f" {'svc CPU':>8} {'pg CPU':>8} {'others':>7} {'svc µs/req':>11} {'pg µs/req':>10} {'client µs/req':>14}")
    print("-" * width)
    for group, name, label in ROWS:
        r = runs.get(name)
        if r is None:
            continue
        note = f"  INVALID: {r['invalid']}" if r.get("invalid") else ""
        if number(r.get("events_per_s")):
            note = f"  = {r['events_per_s']:.0f} events/s" + note
        if r.get("tool") == "langgraph":
            note = (f"  = {fmt(r.get('steps_per_s'), '.0f')} steps/s,"
                    f" {fmt(r.get('calls_per_invoke'), '.1f')} {r.get('calls_unit')}/invoke" + note)
        if number(r.get("subscribers_cpu_pct_of_one_core")):
            note = (f"  + SSE client {r['subscribers_cpu_pct_of_one_core']:.0f}% CPU,"
                    f" {fmt(r.get('subscribers_cpu_us_per_req'), '.0f')} µs/req" + note)
        # else the service idles: not shown
        middle = r.get("tool") == "wrk" or "_relay_" in name or name.startswith("langgraph_convstore")
        svc = r.get("service_cpu_pct_of_one_core") if middle else None
        svc_us = r.get("service_cpu_us_per_req") if middle else None
        print(f"{group:<23} {label:<48} {fmt(r.get('rps'), '.0f'):>9} {fmt(r.get('p50_ms'), '.2f'):>8}"
              f" {fmt(r.get('p99_ms'), '.2f'):>8} {pct(svc):>8} {pct(r.get('postgres_cpu_pct_of_one_core')):>8}"
              f" {pct(r.get('others_cpu_pct')):>7} {fmt(svc_us, '.0f'):>11}"
              f" {fmt(r.get('postgres_cpu_us_per_req'), '.0f'):>10} {fmt(r.get('client_cpu_us_per_req'), '.0f'):>14}"
              f"{note}")
    print()
    ratios = []
    print(f"{'ratio':<23} {'what':<48} {'median (min–max of rounds)':>28} {'target':>8} {'result':>8}")
    print("-" * width)
    for name, num, den, figure, cmp, target, meaning in RATIOS:
        a, b = runs.get(num), runs.get(den)
        if a is None or b is None:
            continue
        per_round = per_round_ratios(a["rounds"], b["rounds"], figure)
        values = [v for _, v in per_round]
        value = median(values)
        lo, hi = (min(values), max(values)) if values else (None, None)
        result = None
        if cmp and value is not None and not a.get("invalid") and not b.get("invalid"):
            ok = value >= target if cmp == ">=" else value <= target
            result = "PASS" if ok else "MISS"
        elif cmp:
            result = "INVALID"
        ratios.append({"name": name, "value": rounded(value), "min": rounded(lo), "max": rounded(hi),
                       "per_round": [{"round": r, "value": round(v, 3)} for r, v in per_round],
                       "figure": figure, "numerator": num, "denominator": den, "meaning": meaning,
                       "target": f"{cmp} {target}" if cmp else None, "result": result})
        shown = fmt(value, ".2f")
        if len(values) > 1:
            shown += f" ({lo:.2f}–{hi:.2f})"
        tgt = f"{cmp}{target}" if cmp else ""
        print(f"{name:<23} {meaning:<48} {shown:>28} {tgt:>8} {result or '':>8}")
    print()
    langgraph_report(runs, meta)
    sse = sse_report(load_holds(runs_dir), meta, width)
    noisy = {f"{k}.r{d['round']}": d["others_cpu_pct"] for k, s in runs.items() for d in s["rounds"]
             if (d.get("others_cpu_pct") or 0) > 10}
    total = sum(s["rounds_run"] for s in runs.values())
    if noisy:
        worst = max(noisy.values())
        print(f"WARNING: other processes took up to {worst:.0f}% of the machine's CPU during {len(noisy)} of"
              f" {total} runs (column 'others'): the figures and ratios are unreliable; rerun on a quiet machine.")
        print()
    invalid = {k: s["invalid"] for k, s in runs.items() if s.get("invalid")}
    if sse and sse.get("invalid"):
        invalid["sse_fanout"] = sse["invalid"]
    doc = dict(meta)
    doc["runs"] = runs
    doc["ratios"] = ratios
    doc["sse"] = sse
    doc["invalid"] = invalid
    doc["noisy_runs"] = noisy
    with open(out_file, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    if invalid:
        for k, v in invalid.items():
            print(f"bench: run {k} is invalid: {v}", file=sys.stderr)
        sys.exit(1)


def main(argv):
    if len(argv) >= 2 and argv[0] in ("pgbench-sql", "psql-sql"):
        print(translate(argv[1], argv[2:], "pgbench" if argv[0] == "pgbench-sql" else "psql"))
    elif len(argv) == 4 and argv[0] == "pgbench-summary":
        pgbench_summary(*argv[1:])
    elif len(argv) in (4, 5) and argv[0] == "cpu-snapshot":
        cpu_snapshot(*argv[1:])
    elif len(argv) in (4, 5) and argv[0] == "cpu-annotate":
        cpu_annotate(*argv[1:])
    elif len(argv) == 2 and argv[0] == "cpu-annotate-run":
        cpu_annotate_run(argv[1])
    elif len(argv) == 4 and argv[0] == "report":
        report(*argv[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
