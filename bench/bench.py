#!/usr/bin/env python3
"""Helpers of bench/run.sh: pgbench scripts from the service's own SQL, run summaries, the report.

  bench.py pgbench-sql SQL_FILE N=TEMPLATE...   the statement with each $N replaced by TEMPLATE, where
                                                {name} becomes the pgbench variable :name; prints it
  bench.py psql-sql SQL_FILE N=TEMPLATE...      the same, with {name} as psql's quoted :'name' (to check
                                                the translation once with psql before timing it)
  bench.py pgbench-summary STDOUT LOG_PREFIX OUT.json   tps and latency percentiles of one pgbench run
  bench.py cpu-snapshot POSTMASTER_PID SERVICE_PID SHELL_PID   CPU jiffies so far (a JSON line): the machine's
                                                total and idle, our PostgreSQL (postmaster, its backends and
                                                the ones it reaped), the service, the shell's reaped children
  bench.py cpu-annotate RUN.json BEFORE AFTER [CLIENT_TICKS]   adds the CPU used between two snapshots to
                                                a run: shares of a core and per request; CLIENT_TICKS is the
                                                client's own CPU time (else the shell's reaped children's)
  bench.py report RUNS_DIR META.json OUT.json   medians over rounds of the runs NAME.rROUND.json and ratios
                                                per round; prints the table, writes OUT.json; exit 1 if a
                                                run is invalid

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


def cpu_snapshot(postmaster, service, shell):
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
    print(json.dumps({"total": total, "idle": idle, "pg": pg, "service": svc[1] if svc else 0,
                      "children": sh[2] if sh else 0, "t": time.monotonic()}))


def cpu_annotate(run_file, before, after, client_ticks=None):
    a, b = json.loads(before), json.loads(after)
    d = {k: b[k] - a[k] for k in a}
    hz = os.sysconf("SC_CLK_TCK")
    client = int(client_ticks) if client_ticks is not None else d["children"]
    run = json.load(open(run_file))
    if d["total"] > 0:
        busy = d["total"] - d["idle"]
        ours = d["pg"] + d["service"] + max(d["children"], client)
        run["machine_busy_pct"] = round(100.0 * busy / d["total"], 1)
        # Whatever else ran meanwhile (other jobs on this machine) took this share of all cores.
        run["others_cpu_pct"] = round(max(0.0, 100.0 * (busy - ours) / d["total"]), 1)
    cpu = {"service": d["service"], "postgres": d["pg"], "client": client}
    run["cpu_s"] = {k: round(v / hz, 2) for k, v in cpu.items()}
    run["wall_s"] = round(d["t"], 3)
    for k, v in cpu.items():
        run[f"{k}_cpu_pct_of_one_core"] = round(100.0 * v / hz / d["t"], 1)
        if run.get("requests"):
            run[f"{k}_cpu_us_per_req"] = round(1e6 * v / hz / run["requests"], 1)
    json.dump(run, open(run_file, "w"), indent=1)


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
MEDIAN_FIGURES = ["rps", "p50_ms", "p99_ms", "mean_ms", "requests",
                  "service_cpu_pct_of_one_core", "postgres_cpu_pct_of_one_core", "client_cpu_pct_of_one_core",
                  "service_cpu_us_per_req", "postgres_cpu_us_per_req", "client_cpu_us_per_req",
                  "others_cpu_pct", "machine_busy_pct"]


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


def report(runs_dir, meta_file, out_file):
    runs = {name: summarize(rounds) for name, rounds in load_runs(runs_dir).items()}
    meta = json.load(open(meta_file))
    nrounds = max((s["rounds_run"] for s in runs.values()), default=0)
    width = 160
    print()
    print(f"Each figure: the median over {nrounds} round{'s' if nrounds != 1 else ''}"
          f" of {meta['config']['duration_s']} s runs."
          f" CPU: % of one core, and µs of CPU time per completed request (transaction for pgbench).")
    print()
    print(f"{'scenario':<23} {'run':<48} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
          f" {'svc CPU':>8} {'pg CPU':>8} {'others':>7} {'svc µs/req':>11} {'pg µs/req':>10} {'client µs/req':>14}")
    print("-" * width)
    for group, name, label in ROWS:
        r = runs.get(name)
        if r is None:
            continue
        note = f"  INVALID: {r['invalid']}" if r.get("invalid") else ""
        middle = r.get("tool") == "wrk" or "_relay_" in name  # else the service idles: not shown
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
    noisy = {f"{k}.r{d['round']}": d["others_cpu_pct"] for k, s in runs.items() for d in s["rounds"]
             if (d.get("others_cpu_pct") or 0) > 10}
    total = sum(s["rounds_run"] for s in runs.values())
    if noisy:
        worst = max(noisy.values())
        print(f"WARNING: other processes took up to {worst:.0f}% of the machine's CPU during {len(noisy)} of"
              f" {total} runs (column 'others'): the figures and ratios are unreliable; rerun on a quiet machine.")
        print()
    invalid = {k: s["invalid"] for k, s in runs.items() if s.get("invalid")}
    doc = dict(meta)
    doc["runs"] = runs
    doc["ratios"] = ratios
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
    elif len(argv) == 4 and argv[0] == "cpu-snapshot":
        cpu_snapshot(*argv[1:])
    elif len(argv) in (4, 5) and argv[0] == "cpu-annotate":
        cpu_annotate(*argv[1:])
    elif len(argv) == 4 and argv[0] == "report":
        report(*argv[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
