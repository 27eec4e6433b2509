#!/usr/bin/env bash
# make bench: times the service against PostgreSQL doing the same statements (pgbench), side by side,
# on a throwaway PostgreSQL and a fresh build/convstore. See bench/README.md for what each figure means.
#
#   BENCH_DURATION=5    seconds of each timed run          BENCH_WARMUP=2   seconds of wrk warm-up per scenario
#   BENCH_ROUNDS=3      rounds of each scenario (1..45), in ABBA order; the report takes medians over them
#   BENCH_PG_FAST=1     PostgreSQL without fsync/synchronous_commit (default: durable commits)
#   BENCH_PROFILE=1     afterwards, perf-record the system during an extra append run and print the top symbols
#                       (=append|event|step|graph|summary: that service run)
#   BENCH_KEEP=1        keep the temp dir (database, logs, generated pgbench scripts) and say where
#   BENCH_SSE_STREAMS=10000  streams the SSE fan-out holds open (fewer when the fd limit does not allow them)
#   BENCH_SSE_SECONDS=10     seconds of paced appends (1,000 events/s) while they are open, per opening
#   BENCH_ONLY=runs     only these groups of scenarios (comma-separated): messages, events, runs, sse,
#                       langgraph (default all); only their data is seeded and only their checks run
#   BENCH_LANGGRAPH_SECONDS=10  seconds of each timed LangGraph run (bench/langgraph/bench.mjs)
#   BENCH_BIN=build/convstore   the binary to time (copied into the temp dir at the start)
#
# Prints a table and writes bench/results/latest.json; exits 1 when a run had errors.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-5}
WARMUP=${BENCH_WARMUP:-2}
ROUNDS=${BENCH_ROUNDS:-3}
CONNECTIONS=8     # wrk -c, pgbench -c and the service's pool: the same concurrency everywhere
THREADS=1000      # threads t1..t1000 in one org
PER_THREAD=50     # messages in each of them
BIG=1000000       # messages in thread `big`
LIMIT=20          # page size; the service fetches LIMIT+1 rows to know has_more
BATCH=100         # events per request in the batch appends
EV_THREADS=10     # threads ev1..ev10 for the event reads
EV_PER_THREAD=10000   # events in each of them
EV_LIMIT=100      # events per page read; the service fetches EV_LIMIT+1
SSE_STREAMS=${BENCH_SSE_STREAMS:-10000}   # open streams, round-robin over t1..t$THREADS
SSE_RATE=1000     # paced appends per second while they are open
SSE_SECONDS=${BENCH_SSE_SECONDS:-10}
RUN_STEPS=1000    # steps of run big-run in thread rt (bench/seed_runs.sql: 10 x 3 x 4 x 7 leaves, 4 levels)
RUN_EVENTS=2002   # its events: run.created, step.created and step.completed for each step, run.completed
RUN_EDGES=1829    # its graph's edges: 990 child, 839 depends_on
LG_SECONDS=${BENCH_LANGGRAPH_SECONDS:-10}   # each timed LangGraph run (invokes are slow: ~20/s)
LG_SCHEMA=langgraph_bench   # PostgresSaver's tables (its setup()), beside the service's in the same database
GRAPH_LIMIT=10001 # the rows the service asks for: graph, at most 10,000 steps (+1 to refuse more);
SUMMARY_LIMIT=1000000  # summary, at most 1,000,000 (routes/runs.c)

bin=${BENCH_BIN:-build/convstore}
bench=bench
results=bench/results

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

# BENCH_ONLY: the groups of scenarios to run. want GROUP: whether it is one of them.
GROUPS_ALL="messages events runs sse langgraph"
ONLY=${BENCH_ONLY:-}
ONLY=${ONLY//,/ }
for g in $ONLY; do [[ " $GROUPS_ALL " = *" $g "* ]] || die "BENCH_ONLY: no group $g (the groups: ${GROUPS_ALL// /, })"; done
want() { [ -z "$ONLY" ] || [[ " $ONLY " = *" $1 "* ]]; }

# ---- tools -------------------------------------------------------------------------------------

[ -x "$bin" ] || die "$bin is missing: run make build (make bench does), or point BENCH_BIN at a binary"
command -v wrk >/dev/null || die "wrk is not installed: run scripts/deps.sh (make deps)"
pgbin=$(pg_config --bindir 2>/dev/null || true)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/pgbench" ]; then
    pgbin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
[ -x "$pgbin/pgbench" ] || die "pgbench is not installed (it comes with the postgresql package: scripts/deps.sh)"
[ -x "$pgbin/psql" ] || die "psql is not installed (postgresql-client: scripts/deps.sh)"
pgbouncer=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
if want messages; then # the relay runs of the message scenarios
    [ -x "$pgbouncer" ] || die "pgbouncer is not installed: run scripts/deps.sh --bench (make bench does)"
fi
for t in python3 curl sha256sum; do command -v $t >/dev/null || die "$t is not installed"; done
if want sse; then
    command -v node >/dev/null || die "node is not installed (the SSE fan-out client, bench/sse/fanout.mjs, needs Node 18+)"
    [ "$(node -p 'parseInt(process.versions.node)')" -ge 18 ] || die "node is older than 18: $(node --version)"
fi
if want langgraph; then
    command -v node >/dev/null && command -v npm >/dev/null ||
        die "node and npm are not installed (the LangGraph scenarios, bench/langgraph, need Node 20.19+)"
    [ "$(node -p 'parseInt(process.versions.node)')" -ge 20 ] || die "node is older than 20: $(node --version)"
    [[ $LG_SECONDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_LANGGRAPH_SECONDS must be a whole number of seconds"
    # The npm packages of bench/langgraph (LangGraph, PostgresSaver, pg) and of clients/langgraph
    # (ConvstoreSaver, which bench.mjs imports from the working tree): npm ci when node_modules is
    # missing or older than the lock file (the rule of scripts/deps.sh's npm_ci).
    for dir in $bench/langgraph clients/langgraph; do
        if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
            [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
            say "npm ci in $dir"
            (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in $dir failed"
        fi
    done
fi
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "BENCH_DURATION must be a whole number of seconds"
[[ $SSE_STREAMS =~ ^[1-9][0-9]*$ ]] || die "BENCH_SSE_STREAMS must be a whole number, 1 or more"
[[ $SSE_SECONDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_SSE_SECONDS must be a whole number of seconds"

# Every open stream holds two descriptors in the service (its socket and its subscription's eventfd)
# and one in the client, so the SSE fan-out needs a descriptor limit above twice the streams. The
# service raises its soft limit to the hard one itself, and accepts at most (limit - 256 - 2 x
# pool) / 2 connections (service/server.c, connection_limit); the client (and wrk, pgbench) inherit
# ours. Without the right to raise the hard limit, hold as many streams as that leaves room for,
# less 64 connections for the appends and checks, and say so.
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
fd_limit=$(ulimit -Sn)
sse_wanted=$SSE_STREAMS
sse_room=$(((fd_limit - 256 - 2 * CONNECTIONS) / 2 - 64))
if want sse && [ "$fd_limit" != unlimited ] && [ "$SSE_STREAMS" -gt "$sse_room" ]; then
    SSE_STREAMS=$sse_room
    [ "$SSE_STREAMS" -ge 100 ] || die "the descriptor limit ($fd_limit) leaves no room for SSE streams: raise ulimit -n"
    say "WARNING: the descriptor limit is $fd_limit (ulimit -Hn), and each stream takes 2 in the service:" \
        "the SSE fan-out holds $SSE_STREAMS streams, not $sse_wanted (raise the hard limit for the full figure)"
fi
[[ $WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a whole number of seconds"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a whole number, 1 or more"

# ---- throwaway state, torn down on any exit ------------------------------------------------------

tmp=$(mktemp -d /tmp/convstore-bench.XXXXXX)
svc_pid=
relay_pid=
holder_pid=   # bench/sse/fanout.mjs while it holds the streams open
child=   # the wrk, pgbench or perf running now
cleanup() {
    local status=$?
    set +e
    if [ -n "$child" ]; then kill "$child" 2>/dev/null; fi
    if [ -n "$holder_pid" ]; then kill -KILL "$holder_pid" 2>/dev/null; fi
    if [ -n "$svc_pid" ] && kill -0 "$svc_pid" 2>/dev/null; then
        kill -TERM "$svc_pid"
        for _ in $(seq 1 50); do kill -0 "$svc_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$svc_pid" 2>/dev/null
    fi
    if [ -n "$relay_pid" ]; then kill -TERM "$relay_pid" 2>/dev/null; fi
    wait 2>/dev/null
    scripts/pg.sh stop "$tmp/pg" >/dev/null 2>&1
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        say "kept $tmp"
    else
        rm -rf "$tmp"
    fi
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# CPU time (user + sys, in clock ticks) of the children this shell has reaped, into $reaped: fields 16
# and 17 (cutime, cstime) of its /proc stat, read with builtins only, so that reading it reaps nothing.
reaped_ticks() {
    local line f
    read -r line <"/proc/$BASHPID/stat"
    read -ra f <<<"${line##*) }" # the fields after the name, from field 3 on
    reaped=$((f[13] + f[14]))
}

# Runs a command in the background and waits for it: a signal to this script then stops it at once
# (bash runs traps only after a foreground command ends). Sets $child_ticks to the CPU time the command
# used: nothing but it is reaped between the two readings (the only other child, the service, runs on).
waitfor() {
    local rc=0 t0
    reaped_ticks
    t0=$reaped
    "$@" &
    child=$!
    wait "$child" || rc=$?
    child=
    reaped_ticks
    child_ticks=$((reaped - t0))
    return $rc
}

# One binary for the whole run (SQL, migrations, server), even if build/ is rebuilt meanwhile.
cp "$bin" "$tmp/convstore"
bin=$tmp/convstore

# A port below the ephemeral range (32768+), where client sockets of the run could take it.
port_in_use() {
    if command -v ss >/dev/null; then
        [ -n "$(ss -Htan "( sport = :$1 or dport = :$1 )")" ]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}
free_port() {
    local p
    for _ in $(seq 1 500); do
        p=$((20000 + RANDOM % 12000))
        if ! port_in_use "$p"; then echo "$p"; return; fi
    done
    die "no free port found in 20000-31999"
}

# ---- PostgreSQL and data -------------------------------------------------------------------------

pg_port=$(free_port)
pg_opts=()
pg_mode="durable commits"
if [ "${BENCH_PG_FAST:-0}" = 1 ]; then pg_opts=(--fast) pg_mode="fast: fsync and synchronous_commit off"; fi
scripts/pg.sh start "$tmp/pg" "$pg_port" "${pg_opts[@]}" 2>"$tmp/pg.sh.log" || {
    cat "$tmp/pg.sh.log" >&2
    die "could not start PostgreSQL"
}
scripts/pg.sh createdb "$tmp/pg" "$pg_port" convstore_bench 2>>"$tmp/pg.sh.log"
url=$(scripts/pg.sh url "$tmp/pg" "$pg_port" convstore_bench)
export CONVSTORE_DATABASE_URL=$url
psql() { "$pgbin/psql" -X -q -t -A -v ON_ERROR_STOP=1 "$url" "$@"; }

"$bin" migrate 2>"$tmp/migrate.log" || { cat "$tmp/migrate.log" >&2; die "convstore migrate failed"; }
org_json=$("$bin" org create bench 2>>"$tmp/migrate.log")
org=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["org_id"])' "$org_json")
key=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["api_key"])' "$org_json")
key_hash='\x'$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)
[ "$(psql -c "SELECT count(*) FROM api_keys WHERE key_hash = '$key_hash'")" = 1 ] ||
    die "the admin key's SHA-256 is not in api_keys: key_lookup would not find it"

seeding="threads t1..t$THREADS and q1..q$THREADS"
if want messages; then seeding+=" + $PER_THREAD messages in each t + thread big x $BIG messages"; fi
if want events; then seeding+=" + $EV_THREADS threads x $EV_PER_THREAD events"; fi
if want runs; then seeding+=" + run big-run of $RUN_STEPS steps + $THREADS threads with a running run"; fi
if want langgraph; then seeding+="; PostgresSaver's tables in schema $LG_SCHEMA"; fi
[ -z "$ONLY" ] || say "BENCH_ONLY: only the ${ONLY// /, } scenarios"
say "PostgreSQL $(cat "$tmp/pg/PG_VERSION") on port $pg_port ($pg_mode); seeding $seeding"
bool() { if want "$1"; then echo true; else echo false; fi; }
seed_start=$(date +%s.%N)
psql -v org="$org" -v threads=$THREADS -v per_thread=$PER_THREAD -v big=$BIG -v ev_threads=$EV_THREADS \
    -v ev_per_thread=$EV_PER_THREAD -v seed_messages="$(bool messages)" -v seed_events="$(bool events)" \
    -v seed_runs="$(bool runs)" -f $bench/seed.sql >/dev/null
seed_s=$(python3 -c "import sys; print(round($(date +%s.%N) - $seed_start, 1))")
say "seeded in ${seed_s}s"

# The deep page: in desc order, the page after the message at seq LIMIT+2 holds seqs LIMIT+1..2, a
# full page ~1,000,000 items from the top with has_more true, like the first page.
deep_cursor=none
if want messages; then
    deep_cursor=$(psql -c "SELECT id FROM messages WHERE org_id = '$org' AND thread_id = 'big' AND seq = $((LIMIT + 2))")
    [ -n "$deep_cursor" ] || die "no message at seq $((LIMIT + 2)) of thread big"
fi

# ---- pgbench scripts, generated from the binary's own statements ------------------------------------

mkdir -p "$tmp/sql" "$tmp/pgbench" "$tmp/runs" "$tmp/pglog"
for s in msg_append key_lookup msg_list_desc event_append event_list_asc run_get step_all step_all_light \
    run_event_counts run_lock_thread step_insert event_append_one; do
    "$bin" sql $s >"$tmp/sql/$s.sql" || die "build/convstore sql $s failed"
done

# The message id ($4): a UUIDv7 like the ones the service generates, so that both sides insert keys of
# the same size at the right edge of the (org_id, id) index. pgbench cannot make strings, so
# PostgreSQL builds it: the milliseconds, then pgbench's client number and a per-client counter
# where the service has random bits, which keeps it unique without luck, also across runs.
uuid7="(lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::int8), 12, '0') || '7'"
uuid7+=" || lpad(to_hex({client_id}::int8), 3, '0') || '8' || lpad(to_hex({n}::int8), 15, '0'))::uuid::text"

# Parameters as the service passes them ({x} is a pgbench variable, NULL where the service sends NULL).
append_map=("1={org}" "2=('t' || {tn})" "3=NULL" "4=$uuid7" "5={role}" "6={content}" "7=NULL"
    "8={status}" "9=NULL" "10=NULL")
list_map=("1={org}" "2=('t' || {tn})" "3=NULL" "4=NULL" "5=NULL" "6=NULL" "7=NULL" "8={lim}")
big_map=("1={org}" "2={big}" "3=NULL" "4={cursor}" "5=NULL" "6=NULL" "7=NULL" "8={lim}")
first_map=("1={org}" "2={big}" "3=NULL" "4=NULL" "5=NULL" "6=NULL" "7=NULL" "8={lim}")
key_map=("1={keyhash}")

# event_append takes the batch as seven text[] literals, one element per event, as the service builds
# them (each element quoted, NULL for an absent field): ids, types, run_ids, step_ids, message_ids,
# data, occurred_ats. These are the same in every request but the ids: pgbench variables ev<N>_*
# for a batch of N, defined with -D (pgbench's \set makes numbers only). The ids are UUIDv7s like
# the message ids above, with the event's index in the batch as the last two hex digits: PostgreSQL
# puts the milliseconds, client and counter (the first 34 characters of the id) into the batch's
# template {X00,X01,...}.
ev_prefix="left((lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::int8), 12, '0') || '7'"
ev_prefix+=" || lpad(to_hex({client_id}::int8), 3, '0') || '8' || lpad(to_hex({n}::int8), 13, '0') || '00')::uuid::text, 34)"
ev_append_map() { # N: the mapping for a batch of N events, into ev_map
    ev_map=("1={org}" "2=('t' || {tn})" "3=NULL" "4=NULL" "5=replace({ev$1_ids}, 'X', $ev_prefix)"
        "6={ev$1_types}" "7={ev$1_nulls}" "8={ev$1_nulls}" "9={ev$1_nulls}" "10={ev$1_data}" "11={ev$1_nulls}")
}
# The arrays of a batch of N: NAME=VALUE lines, for pgbench -D and psql -v.
ev_arrays() { # N
    python3 - "$1" <<'PY'
import sys
n = int(sys.argv[1])
arr = lambda item: "{" + ",".join(item(i) for i in range(n)) + "}"
print(f"ev{n}_ids=" + arr(lambda i: f"X{i:02x}"))
print(f"ev{n}_types=" + arr(lambda i: '"bench.event"'))
print(f"ev{n}_nulls=" + arr(lambda i: "NULL"))
print(f"ev{n}_data=" + arr(lambda i: '"{\\"n\\":1}"'))  # the JSON {"n":1} as a quoted element
PY
}
# A page as the service asks for it: after a seq, before "infinity", limit+1; no user, no filters.
ev_list_map=("1={org}" "2=('ev' || {tn})" "3=NULL" "4={after}" "5=9223372036854775807" "6={ev_lim}")

sql_for() { # pgbench-sql|psql-sql NAME MAP...
    local style=$1 name=$2
    shift 2
    python3 $bench/bench.py "$style" "$tmp/sql/$name.sql" "$@"
}

append_sets='\set tn random(1, '$THREADS')
\set n :n + 1'
{
    echo "$append_sets"
    sql_for pgbench-sql msg_append "${append_map[@]}"
} >"$tmp/pgbench/append.sql"
{
    echo "$append_sets"
    sql_for pgbench-sql key_lookup "${key_map[@]}"
    sql_for pgbench-sql msg_append "${append_map[@]}"
} >"$tmp/pgbench/append_auth.sql"
{
    echo "\\set tn random(1, $THREADS)"
    sql_for pgbench-sql msg_list_desc "${list_map[@]}"
} >"$tmp/pgbench/newest.sql"
sql_for pgbench-sql msg_list_desc "${first_map[@]}" >"$tmp/pgbench/first.sql"
sql_for pgbench-sql msg_list_desc "${big_map[@]}" >"$tmp/pgbench/deep.sql"
ev_defs=()
for b in 1 $BATCH; do
    ev_append_map $b
    {
        echo "$append_sets"
        sql_for pgbench-sql event_append "${ev_map[@]}"
    } >"$tmp/pgbench/event_append_$b.sql"
    while IFS= read -r def; do ev_defs+=("$def"); done < <(ev_arrays $b)
done
{
    echo "\set tn random(1, $EV_THREADS)"
    echo "\set after random(0, $((EV_PER_THREAD - EV_LIMIT - 1)))"
    sql_for pgbench-sql event_list_asc "${ev_list_map[@]}"
} >"$tmp/pgbench/event_read.sql"

# Runs. The graph of run big-run in thread rt: run_get, then step_all (the service's two queries);
# its summary: run_get, step_all_light and run_event_counts. As the service passes them: no user,
# and the row limits it asks for.
run_get_map=("1={org}" "2={rt}" "3={bigrun}" "4=NULL")
graph_sql() { # pgbench-sql|psql-sql
    sql_for "$1" run_get "${run_get_map[@]}"
    sql_for "$1" step_all "1={org}" "2={bigrun}" "3={graph_lim}"
}
summary_sql() { # pgbench-sql|psql-sql
    sql_for "$1" run_get "${run_get_map[@]}"
    sql_for "$1" step_all_light "1={org}" "2={bigrun}" "3={summary_lim}"
    sql_for "$1" run_event_counts "1={org}" "2={rt}" "3={bigrun}"
}
graph_sql pgbench-sql >"$tmp/pgbench/graph.sql"
summary_sql pgbench-sql >"$tmp/pgbench/summary.sql"
# A step appended to run r<tn> of thread rt<tn>, as the service's transaction (routes/runlog.c,
# commit_body): lock the thread, insert the step (a UUIDv7 id like the messages' above; no parent,
# depends_on '{}', kind tool, name x, running, no input or metadata), append its step.created event
# with the step's id, which \gset takes from the insert's row as the service reads it. The event's
# data is a constant of the size the service's has ({"kind":"tool",...,"path":"12",...}): the path
# the service writes into it grows, 1, 2, ... per run, which SQL would have to build.
step_lock_map=("1={org}" "2=('rt' || {tn})" "3=NULL")
step_insert_map=("1={org}" "2=('rt' || {tn})" "3=('r' || {tn})" "4=$uuid7" "5=NULL" "6={no_deps}"
    "7={step_kind}" "8={step_name}" "9={step_status}" "10=NULL" "11=NULL" "12=NULL")
step_event_map=("1={org}" "2=('rt' || {tn})" "3=$uuid7" "4={step_event}" "5=('r' || {tn})" "6={s_id}" "7=NULL"
    "8={step_data}" "9=NULL")
step_tx() { # pgbench-sql|psql-sql
    echo "BEGIN;"
    sql_for "$1" run_lock_thread "${step_lock_map[@]}"
    sql_for "$1" step_insert "${step_insert_map[@]}" | sed 's/;$/ \\gset s_/'
    sql_for "$1" event_append_one "${step_event_map[@]}"
    echo "COMMIT;"
}
{
    echo "$append_sets"
    step_tx pgbench-sql
} >"$tmp/pgbench/step_append.sql"

pg_defs=(-D "org=$org" -D "role=user" -D 'content="hello world"' -D status=completed -D n=0
    -D "lim=$((LIMIT + 1))" -D big=big -D "cursor=$deep_cursor" -D "keyhash=$key_hash" -D "ev_lim=$((EV_LIMIT + 1))")
for def in "${ev_defs[@]}"; do pg_defs+=(-D "$def"); done
step_data='{"kind":"tool","name":"x","status":"running","path":"12","depth":0,"depends_on":[]}'
run_defs=(rt=rt bigrun=big-run "graph_lim=$GRAPH_LIMIT" "summary_lim=$SUMMARY_LIMIT" "no_deps={}" step_kind=tool
    step_name=x step_status=running step_event=step.created "step_data=$step_data")
for def in "${run_defs[@]}"; do pg_defs+=(-D "$def"); done

# Check each translation once with psql: the rows it returns are the rows the service would get.
check_sql() { # EXPECTED_ROWS PSQL-ARGS...
    local want=$1 got
    shift
    got=$(psql "$@" | grep -c . || true)
    [ "$got" = "$want" ] || die "a generated pgbench statement returned $got rows, not $want: $(cat "$tmp/check.sql")"
}
psql_vars=(-v "org=$org" -v role=user -v 'content="hello world"' -v status=completed
    -v "lim=$((LIMIT + 1))" -v big=big -v "cursor=$deep_cursor" -v "keyhash=$key_hash" -v tn=1
    -v client_id=0 -v n=1 -v "ev_lim=$((EV_LIMIT + 1))" -v after=0)
for def in "${ev_defs[@]}" "${run_defs[@]}"; do psql_vars+=(-v "$def"); done
if want messages; then
    sql_for psql-sql msg_list_desc "${list_map[@]}" >"$tmp/check.sql"
    check_sql $((LIMIT + 1)) "${psql_vars[@]}" -f "$tmp/check.sql"
    sql_for psql-sql msg_list_desc "${big_map[@]}" >"$tmp/check.sql"
    check_sql $((LIMIT + 1)) "${psql_vars[@]}" -f "$tmp/check.sql"
    sql_for psql-sql key_lookup "${key_map[@]}" >"$tmp/check.sql"
    check_sql 1 "${psql_vars[@]}" -f "$tmp/check.sql"
    sql_for psql-sql msg_append "${append_map[@]}" >"$tmp/check.sql"
    check_sql 1 "${psql_vars[@]}" -f "$tmp/check.sql"
fi
if want events; then
    # A page of events from the end of a thread's log: limit+1 rows, the last one at its last seq.
    sql_for psql-sql event_list_asc "${ev_list_map[@]}" >"$tmp/check.sql"
    [ "$(psql "${psql_vars[@]}" -v after=$((EV_PER_THREAD - EV_LIMIT - 1)) -F ' ' -f "$tmp/check.sql" |
        awk '{ n++; last = $3 } END { print n, last }')" = "$((EV_LIMIT + 1)) $EV_PER_THREAD" ] ||
        die "the generated event_list_asc did not return events $((EV_PER_THREAD - EV_LIMIT))..$EV_PER_THREAD of ev1: $(cat "$tmp/check.sql")"
    # The appends go to thread t1 (no events yet): one event at seq 1, then a batch at seqs 2..BATCH+1
    # (another counter n, so other ids). The rows' seq column (the third) must say so.
    ev_append_map 1
    sql_for psql-sql event_append "${ev_map[@]}" >"$tmp/check.sql"
    [ "$(psql "${psql_vars[@]}" -F ' ' -f "$tmp/check.sql" | cut -d' ' -f3 | paste -sd,)" = 1 ] ||
        die "the generated event_append did not append event 1 to t1: $(cat "$tmp/check.sql")"
    ev_append_map $BATCH
    sql_for psql-sql event_append "${ev_map[@]}" >"$tmp/check.sql"
    [ "$(psql "${psql_vars[@]}" -v n=2 -F ' ' -f "$tmp/check.sql" | cut -d' ' -f3 | paste -sd,)" = "$(seq -s, 2 $((BATCH + 1)))" ] ||
        die "the generated event_append did not append events 2..$((BATCH + 1)) to t1: $(cat "$tmp/check.sql")"
fi
if want runs; then
    # The graph's queries: the run, then its 1,000 steps; the summary's: the run, its steps, and its
    # 4 event types (run.created, run.completed, step.created, step.completed).
    graph_sql psql-sql >"$tmp/check.sql"
    check_sql $((1 + RUN_STEPS)) "${psql_vars[@]}" -f "$tmp/check.sql"
    summary_sql psql-sql >"$tmp/check.sql"
    check_sql $((1 + RUN_STEPS + 4)) "${psql_vars[@]}" -f "$tmp/check.sql"
    # A step appended to r2 in rt2: the lock's row and the event's; then the step is r2's first, at
    # path 1, and its step.created event follows run.created at seq 2.
    step_tx psql-sql >"$tmp/check.sql"
    check_sql 2 "${psql_vars[@]}" -v tn=2 -f "$tmp/check.sql"
    [ "$(psql -F ' ' -c "SELECT s.path, e.seq, e.type, r.step_count FROM steps s JOIN events e ON e.org_id = s.org_id
        AND e.thread_id = 'rt2' AND e.step_id = s.id JOIN runs r ON r.org_id = s.org_id AND r.id = s.run_id
        WHERE s.org_id = '$org' AND s.run_id = 'r2'")" = "1 2 step.created 1" ] ||
        die "the generated step append did not add step 1 of r2 with its event at seq 2: $(cat "$tmp/check.sql")"
fi

# ---- the service ------------------------------------------------------------------------------

svc_port=$(free_port)
base=http://127.0.0.1:$svc_port
# CONVSTORE_MAX_CONNECTIONS: room for the SSE fan-out's streams besides the load generators.
CONVSTORE_LISTEN=127.0.0.1:$svc_port CONVSTORE_LOG_LEVEL=warn CONVSTORE_POOL_SIZE=$CONNECTIONS \
    CONVSTORE_MAX_CONNECTIONS=$((SSE_STREAMS + 10000)) CONVSTORE_AUTO_MIGRATE=false "$bin" serve 2>"$tmp/service.log" &
svc_pid=$!
for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "$base/healthz" 2>/dev/null; then break; fi
    kill -0 "$svc_pid" 2>/dev/null || { cat "$tmp/service.log" >&2; die "convstore serve exited"; }
    sleep 0.1
done
curl -fsS -o /dev/null "$base/healthz" || die "convstore does not answer on $base (log: $tmp/service.log)"

# One request of each kind, checked, before timing them.
api() { curl -sS -H "Authorization: Bearer $key" -w '\n%{http_code}' "$@"; }
expect() { # WHAT STATUS PYTHON-CONDITION-ON-d RESPONSE
    local what=$1 status=$2 cond=$3 resp=$4
    [ "$(tail -n 1 <<<"$resp")" = "$status" ] || die "$what: expected $status, got: $resp"
    sed '$d' <<<"$resp" | python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if ($cond) else 1)" ||
        die "$what: unexpected response: $resp"
}
if want messages; then
    expect "append" 201 "d['seq'] == $PER_THREAD + 1" \
        "$(api -H 'Content-Type: application/json' -d '{"role":"user","content":"hello world"}' "$base/v1/threads/t7/messages")"
    expect "newest page" 200 "len(d['data']) == $LIMIT and d['has_more']" \
        "$(api "$base/v1/threads/t3/messages?limit=$LIMIT")"
    expect "first page" 200 "d['data'][0]['seq'] == $BIG and len(d['data']) == $LIMIT and d['has_more']" \
        "$(api "$base/v1/threads/big/messages?limit=$LIMIT")"
    expect "deep page" 200 "d['data'][0]['seq'] == $LIMIT + 1 and d['data'][-1]['seq'] == 2 and d['has_more']" \
        "$(api "$base/v1/threads/big/messages?limit=$LIMIT&after=$deep_cursor")"
fi
ev_body() { # N: the body the wrk script sends, N events
    python3 -c 'import sys; print("{\"events\":[" + ",".join(["{\"type\":\"bench.event\",\"data\":{\"n\":1}}"] * int(sys.argv[1])) + "]}")' "$1"
}
if want events || want sse; then
    expect "event append" 201 "d['first_seq'] == 1 and d['last_seq'] == 1 and d['data'][0]['data'] == {'n': 1}" \
        "$(api -H 'Content-Type: application/json' -d "$(ev_body 1)" "$base/v1/threads/t7/events")"
    # A stream from seq 0 of t7 sends its event (curl stops it after a second).
    stream_head=$(curl -s -N --max-time 1 -H "Authorization: Bearer $key" "$base/v1/threads/t7/events/stream" || true)
    grep -q '^event: bench.event$' <<<"$stream_head" && grep -q '^id: 1$' <<<"$stream_head" ||
        die "the event stream of t7 did not send event 1: $stream_head"
fi
if want events; then
    expect "event batch append" 201 "d['first_seq'] == 1 and d['last_seq'] == $BATCH and len(d['data']) == $BATCH" \
        "$(api -H 'Content-Type: application/json' -d "$(ev_body $BATCH)" "$base/v1/threads/t8/events")"
    expect "event page" 200 "len(d['data']) == $EV_LIMIT and d['data'][0]['seq'] == 501 and d['data'][-1]['seq'] == 500 + $EV_LIMIT and d['has_more'] and d['last_seq'] == $EV_PER_THREAD" \
        "$(api "$base/v1/threads/ev3/events?after_seq=500&limit=$EV_LIMIT")"
fi
if want runs; then
    # The whole graph (every step, child and depends_on edges), the summary (counts, a timeline of
    # every step, a critical path through the tree), and a step appended to r9 in rt9: its first.
    expect "run graph" 200 "len(d['nodes']) == $RUN_STEPS and len(d['edges']) == $RUN_EDGES and d['nodes'][0]['path'] == '1'" \
        "$(api "$base/v1/threads/rt/runs/big-run/graph")"
    expect "run summary" 200 "d['steps']['total'] == $RUN_STEPS and d['events']['total'] == $RUN_EVENTS and len(d['timeline']) == $RUN_STEPS and len(d['critical_path']) > 10" \
        "$(api "$base/v1/threads/rt/runs/big-run/summary")"
    expect "step append" 201 "d['path'] == '1' and d['depth'] == 0 and d['status'] == 'running' and d['run_id'] == 'r9'" \
        "$(api -H 'Content-Type: application/json' -d '{"kind":"tool","name":"x"}' "$base/v1/threads/rt9/runs/r9/steps")"
fi

if want langgraph; then
    # PostgresSaver's tables (its setup()), then one invoke of the graph with each saver, checked:
    # the final state, its 6 checkpoints read back, and what an invoke sends.
    lg_check=$(node $bench/langgraph/bench.mjs check --url "$base" --key "$key" --database-url "$url" \
        --schema $LG_SCHEMA 2>"$tmp/langgraph.check.log") || die "the LangGraph check failed: $(cat "$tmp/langgraph.check.log")"
    say "LangGraph: one invoke sends $(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["convstore"]["per_invoke"], "HTTP requests with ConvstoreSaver,", d["postgres"]["per_invoke"], "SQL statements with PostgresSaver")' "$lg_check")"
fi

# ---- the relay -------------------------------------------------------------------------------

# pgbouncer between pgbench and PostgreSQL: a C proxy that relays the same statements and parses no
# HTTP, JSON or keys. What pgbench loses through it is what any process in the middle costs here (two
# more socket exchanges per query, another process to schedule on the same cores); the service pays
# that and does its own work besides. It holds one server connection per client (session pooling),
# opened with the settings the service's pool sets; after each client, only its prepared statements go.
if want messages; then # only the message scenarios have relay runs
    relay_port=$(free_port)
    mkdir -p "$tmp/relay"
    cat >"$tmp/relay/pgbouncer.ini" <<EOF
[databases]
convstore_bench = host=127.0.0.1 port=$pg_port dbname=convstore_bench user=postgres connect_query='SET plan_cache_mode = force_generic_plan; SET jit = off; SET statement_timeout = 5000'

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $relay_port
unix_socket_dir =
auth_type = any
pool_mode = session
default_pool_size = $CONNECTIONS
max_client_conn = $((4 * CONNECTIONS))
server_reset_query = DEALLOCATE ALL
logfile = $tmp/relay/pgbouncer.log
pidfile = $tmp/relay/pgbouncer.pid
EOF
    as_relay_user=()
    if [ "$(id -u)" = 0 ]; then # pgbouncer will not run as root
        chown -R postgres: "$tmp/relay"
        as_relay_user=(runuser -u postgres --)
    fi
    "${as_relay_user[@]}" "$pgbouncer" -q -d "$tmp/relay/pgbouncer.ini" || die "pgbouncer did not start"
    for _ in $(seq 1 50); do [ -s "$tmp/relay/pgbouncer.pid" ] && break; sleep 0.1; done
    relay_pid=$(cat "$tmp/relay/pgbouncer.pid" 2>/dev/null) || die "pgbouncer wrote no pid file: $(cat "$tmp/relay/pgbouncer.log")"
    relay_url=postgresql://postgres@127.0.0.1:$relay_port/convstore_bench
    [ "$("$pgbin/psql" -X -q -t -A "$relay_url" -c 'SHOW plan_cache_mode')" = force_generic_plan ] ||
        die "pgbouncer on port $relay_port does not relay with the pool's settings: $(cat "$tmp/relay/pgbouncer.log")"
fi

# ---- timed runs ---------------------------------------------------------------------------------

# CPU over a run: the machine's, our PostgreSQL's, the service's, and this shell's reaped children
# (the client, and the harness's own helpers); what remains is other jobs on the machine, which make
# figures noisy. The client's own CPU time is waitfor's $child_ticks. While the SSE fan-out holds its
# streams open, its client's CPU is counted too (as the subscribers').
cpu_snapshot() { # [PID of the process in the middle: the service unless given]
    python3 $bench/bench.py cpu-snapshot "$(head -n 1 "$tmp/pg/postmaster.pid")" "${1:-${svc_pid:-0}}" $$ \
        ${holder_pid:+"$holder_pid"}
}
cpu_annotate() { # RUN_JSON BEFORE AFTER [CLIENT_TICKS]
    python3 $bench/bench.py cpu-annotate "$@"
}

appended() { psql -c "SELECT sum(message_count) FROM threads WHERE org_id = '$org' AND id <> 'big'"; }
events_appended() { psql -c "SELECT count(*) FROM events WHERE org_id = '$org'"; }
lg_checkpoints() { # convstore|convstore_fetch|postgres: the checkpoints stored by that saver
    if [ "$1" = postgres ]; then
        psql -c "SELECT count(*) FROM $LG_SCHEMA.checkpoints"
    else
        psql -c "SELECT count(*) FROM checkpoints WHERE org_id = '$org'"
    fi
}
steps_appended() { psql -c "SELECT sum(step_count) FROM runs WHERE org_id = '$org' AND id <> 'big-run'"; }

# The event scripts' settings (wrk/events_*.lua); BENCH_BATCH is set per run.
export BENCH_EV_THREADS=$EV_THREADS BENCH_EV_MAX_AFTER=$((EV_PER_THREAD - EV_LIMIT - 1)) BENCH_EV_LIMIT=$EV_LIMIT

# Untimed wrk, so the service's pooled connections exist and have prepared their statements.
warm_up() { # SCRIPT [PATH]
    [ "$WARMUP" -gt 0 ] || return 0
    export BENCH_WRK_DIR=$PWD/$bench/wrk BENCH_KEY=$key BENCH_THREADS=$THREADS BENCH_PATH=${2:-}
    BENCH_OUT=/dev/null waitfor wrk -t2 -c$CONNECTIONS -d"${WARMUP}s" -s "$bench/wrk/$1" "$base" >/dev/null ||
        die "wrk warm-up failed"
}

# Each run writes $tmp/runs/NAME.rROUND.json (and keeps the tool's output next to it).
run_wrk() { # NAME ROUND SCRIPT [PATH]
    local name=$1.r$2 script=$3 path=${4:-} out=$tmp/runs/$1.r$2.json before after
    export BENCH_WRK_DIR=$PWD/$bench/wrk BENCH_KEY=$key BENCH_THREADS=$THREADS BENCH_PATH=$path
    before=$(cpu_snapshot)
    BENCH_OUT=$out waitfor wrk -t2 -c$CONNECTIONS -d"${DURATION}s" --timeout 10s -s "$bench/wrk/$script" "$base" \
        >"$tmp/runs/$name.wrk.txt" || die "wrk failed: $(cat "$tmp/runs/$name.wrk.txt")"
    after=$(cpu_snapshot)
    [ -s "$out" ] || die "wrk wrote no summary for $name"
    cpu_annotate "$out" "$before" "$after" "$child_ticks"
}

run_pgbench() { # NAME ROUND SCRIPT [relay]
    local name=$1.r$2 script=$3 out=$tmp/runs/$1.r$2.json before after
    # The session settings the service's pool sets on every connection (db/pool.c, configure());
    # the relay sets them itself (connect_query) and would refuse them as startup options.
    local target=$url mid='' options="-c plan_cache_mode=force_generic_plan -c jit=off -c statement_timeout=5000"
    if [ "${4:-}" = relay ]; then target=$relay_url mid=$relay_pid options=; fi
    before=$(cpu_snapshot $mid)
    # pgbench's malloc: glibc shrinks a thread's heap as soon as its free top passes 128 KiB, so a
    # client reading 1,000-row results (the run graph and summary) gave its pages back to the
    # kernel and faulted them in again on every transaction (half its CPU on this kind of VM, and
    # half the tps). The service's allocator stops that by itself (its large response buffers raise
    # glibc's thresholds); a 16 MiB trim threshold does it for pgbench. Small results never reach it.
    if ! GLIBC_TUNABLES=glibc.malloc.trim_threshold=16777216 PGOPTIONS=$options waitfor "$pgbin/pgbench" -n -M prepared -c $CONNECTIONS -j 2 -T "$DURATION" \
        -l --log-prefix="$tmp/pglog/$name" -f "$tmp/pgbench/$script" "${pg_defs[@]}" \
        "$target" >"$tmp/runs/$name.pgbench.txt" 2>&1; then
        cat "$tmp/runs/$name.pgbench.txt" >&2
        die "pgbench $name failed"
    fi
    after=$(cpu_snapshot $mid)
    python3 $bench/bench.py pgbench-summary "$tmp/runs/$name.pgbench.txt" "$tmp/pglog/$name" "$out"
    cpu_annotate "$out" "$before" "$after" "$child_ticks"
}

# Appends must have written one message (or BATCH events, or one step) per success: else the run timed
# something else.
check_appended() { # RUN_JSON BEFORE [events PER_REQUEST | steps]
    local what=messages now per=1
    case ${3:-} in
    events) what=events per=$4 now=$(events_appended) ;;
    steps) what=steps now=$(steps_appended) ;;
    *) now=$(appended) ;;
    esac
    python3 - "$1" "$2" "$now" "$what" "$per" <<'PY'
import json, sys
path, before, after, what, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
d = json.load(open(path))
d[f"{what}_written"] = after - before
if per > 1:
    d["events_per_request"] = per
    d["events_per_s"] = round(d["rps"] * per, 1) if d.get("rps") else None
if after - before < d["requests"] * per and not d.get("invalid"):
    d["invalid"] = f"{d['requests']} appends of {per} reported, {after - before} {what} written"
json.dump(d, open(path, "w"), indent=1)
PY
}

# A LangGraph run: bench/langgraph/bench.mjs warms up (BENCH_WARMUP s: each run is a new Node
# process, whose JIT starts cold), then times LG_SECONDS s of 8 callers, taking the CPU snapshots
# itself around that window. Every invoke must have stored its 6 checkpoints.
run_langgraph() { # NAME ROUND SAVER
    local name=$1.r$2 saver=$3 out=$tmp/runs/$1.r$2.json n0 snap
    n0=$(lg_checkpoints "$saver")
    snap=$(printf '["python3","%s","cpu-snapshot","%s","%s","%s"]' "$PWD/$bench/bench.py" \
        "$(head -n 1 "$tmp/pg/postmaster.pid")" "$svc_pid" $$)
    waitfor node $bench/langgraph/bench.mjs run --saver "$saver" --url "$base" --key "$key" --database-url "$url" \
        --schema $LG_SCHEMA --seconds "$LG_SECONDS" --warmup "$WARMUP" --callers $CONNECTIONS --tag "r$2" \
        --cpu-snapshot "$snap" --out "$out" 2>"$tmp/runs/$name.node.txt" ||
        die "bench.mjs $name failed: $(cat "$tmp/runs/$name.node.txt")"
    python3 $bench/bench.py cpu-annotate-run "$out"
    python3 - "$out" "$n0" "$(lg_checkpoints "$saver")" <<'PY'
import json, sys
path, before, after = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
d = json.load(open(path))
d["checkpoints_written"] = after - before  # with the warm-up's
if after - before < d["checkpoints_expected"] and not d.get("invalid"):
    d["invalid"] = f"{d['requests']} invokes reported, {after - before} checkpoints written, not {d['checkpoints_expected']}"
json.dump(d, open(path, "w"), indent=1)
PY
}

show() { # RUN_JSON LABEL
    python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
us = lambda k: f"{d[k]:.0f}" if isinstance(d.get(k), (int, float)) else "-"
bad = f"  ERRORS: {d['errors']}" if d.get("errors") else ""
if d.get("tool") == "langgraph":
    bad = f"  {d['steps_per_s']:.1f} steps/s, {d['calls_per_invoke']} {d['calls_unit']}/invoke" + bad
print(f"bench: {sys.argv[2]:<23} {d['rps']:9.0f} req/s  p50 {d['p50_ms']:7.2f} ms  p99 {d['p99_ms']:7.2f} ms"
      f"  CPU µs/req: service {us('service_cpu_us_per_req')}, postgres {us('postgres_cpu_us_per_req')},"
      f" client {us('client_cpu_us_per_req')}; others {d['others_cpu_pct']:.0f}% of the machine{bad}",
      file=sys.stderr)
PY
}

# The SSE fan-out: bench/sse/fanout.mjs opens the streams, measures memory and paced delivery, and
# holds them open (counting and checking what arrives) until sse_close; each opening is a "hold",
# its figures in $tmp/runs/fanout_hold.hN.json.
holds=0
sse_open() {
    [ -z "$holder_pid" ] || return 0
    holds=$((holds + 1))
    local h=$holds
    mkdir -p "$tmp/sse"
    say "SSE fan-out, opening $h: $SSE_STREAMS streams over t1..t$THREADS, then $SSE_RATE events/s for ${SSE_SECONDS}s"
    node $bench/sse/fanout.mjs --base "$base" --key "$key" --pid "$svc_pid" --threads $THREADS \
        --streams $SSE_STREAMS --rate $SSE_RATE --seconds $SSE_SECONDS \
        --out "$tmp/runs/fanout_hold.h$h.json" --ready "$tmp/sse/ready.$h.json" 2>"$tmp/sse/fanout.$h.log" &
    holder_pid=$!
    for _ in $(seq 1 1200); do
        [ -s "$tmp/sse/ready.$h.json" ] && break
        if ! kill -0 "$holder_pid" 2>/dev/null; then
            cat "$tmp/sse/fanout.$h.log" >&2
            holder_pid=
            die "the SSE fan-out client exited"
        fi
        sleep 0.1
    done
    [ -s "$tmp/sse/ready.$h.json" ] || die "the SSE fan-out client was not ready within 2 minutes: $(cat "$tmp/sse/fanout.$h.log")"
    sed 's/^fanout: /bench: /' "$tmp/sse/fanout.$h.log" >&2
}
sse_close() {
    [ -n "$holder_pid" ] || return 0
    local h=$holds rc=0
    kill -TERM "$holder_pid"
    wait "$holder_pid" || rc=$?
    holder_pid=
    tail -n 1 "$tmp/sse/fanout.$h.log" | sed 's/^fanout: /bench: /' >&2
    [ "$rc" = 0 ] && [ -s "$tmp/runs/fanout_hold.h$h.json" ] ||
        die "the SSE fan-out client failed (exit $rc): $(cat "$tmp/sse/fanout.$h.log")"
}

# One timed run: NAME (the run kind: a row of the report) in round ROUND.
timed() { # NAME ROUND
    local name=$1 r=$2 n0 e0
    case $name in
    newest_service) run_wrk "$name" "$r" get.lua "/v1/threads/{thread}/messages?limit=$LIMIT" ;;
    newest_pgbench) run_pgbench "$name" "$r" newest.sql ;;
    newest_relay_pgbench) run_pgbench "$name" "$r" newest.sql relay ;;
    first_service) run_wrk "$name" "$r" get.lua "/v1/threads/big/messages?limit=$LIMIT" ;;
    deep_service) run_wrk "$name" "$r" get.lua "/v1/threads/big/messages?limit=$LIMIT&after=$deep_cursor" ;;
    first_pgbench) run_pgbench "$name" "$r" first.sql ;;
    deep_pgbench) run_pgbench "$name" "$r" deep.sql ;;
    append_*)
        n0=$(appended)
        # Every write run starts right after a checkpoint, so each pays the same full-page writes
        # (the first change of each page after a checkpoint logs the whole page), not just the first.
        psql -c CHECKPOINT
        case $name in
        append_service) run_wrk "$name" "$r" append.lua ;;
        append_pgbench) run_pgbench "$name" "$r" append.sql ;;
        append_auth_pgbench) run_pgbench "$name" "$r" append_auth.sql ;;
        append_relay_pgbench) run_pgbench "$name" "$r" append.sql relay ;;
        *) die "no run $name" ;;
        esac
        check_appended "$tmp/runs/$name.r$r.json" "$n0"
        ;;
    event_read_service) run_wrk "$name" "$r" events_read.lua ;;
    event_read_pgbench) run_pgbench "$name" "$r" event_read.sql ;;
    event_one_* | event_batch_* | fanout_*)
        case $name in
        fanout_open_service | fanout_elsewhere_service) sse_open ;;
        fanout_closed_service) sse_close ;;
        esac
        n0=$(events_appended)
        psql -c CHECKPOINT
        export BENCH_BATCH=1
        case $name in
        event_one_service | fanout_open_service | fanout_closed_service) run_wrk "$name" "$r" events_append.lua ;;
        fanout_elsewhere_service) BENCH_THREAD_PREFIX=q run_wrk "$name" "$r" events_append.lua ;;
        event_one_pgbench) run_pgbench "$name" "$r" event_append_1.sql ;;
        event_batch_service) BENCH_BATCH=$BATCH run_wrk "$name" "$r" events_append.lua ;;
        event_batch_pgbench) run_pgbench "$name" "$r" "event_append_$BATCH.sql" ;;
        *) die "no run $name" ;;
        esac
        check_appended "$tmp/runs/$name.r$r.json" "$n0" events "$([[ $name = event_batch_* ]] && echo $BATCH || echo 1)"
        ;;
    graph_service) run_wrk "$name" "$r" get.lua /v1/threads/rt/runs/big-run/graph ;;
    graph_pgbench) run_pgbench "$name" "$r" graph.sql ;;
    summary_service) run_wrk "$name" "$r" get.lua /v1/threads/rt/runs/big-run/summary ;;
    summary_pgbench) run_pgbench "$name" "$r" summary.sql ;;
    step_*)
        # A step and its event per success: both counts must grow by the successes.
        n0=$(steps_appended)
        e0=$(events_appended)
        psql -c CHECKPOINT
        case $name in
        step_service) run_wrk "$name" "$r" steps_append.lua ;;
        step_pgbench) run_pgbench "$name" "$r" step_append.sql ;;
        *) die "no run $name" ;;
        esac
        check_appended "$tmp/runs/$name.r$r.json" "$n0" steps
        check_appended "$tmp/runs/$name.r$r.json" "$e0" events 1
        ;;
    langgraph_*)
        # A writer: from the same full-page-write state each time, as the appends.
        psql -c CHECKPOINT
        run_langgraph "$name" "$r" "${name#langgraph_}"
        ;;
    *) die "no run $name" ;;
    esac
    show "$tmp/runs/$name.r$r.json" "$name r$r"
}

# ROUNDS rounds of one scenario's runs, back to back: the runs in the given order in odd rounds and in
# reverse in even ones (ABBA), so a slow drift (throughput falling as tables grow, caches, autovacuum)
# favours each side of a ratio as often as the other, instead of always the one that runs first.
rounds() { # NAME...
    local r i
    for r in $(seq 1 "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then
            for ((i = 1; i <= $#; i++)); do timed "${!i}" "$r"; done
        else
            for ((i = $#; i >= 1; i--)); do timed "${!i}" "$r"; done
        fi
    done
}

# Other jobs on this machine skew every figure: measure what they take before starting.
echo '{}' >"$tmp/background.json"
b0=$(cpu_snapshot)
sleep 2
cpu_annotate "$tmp/background.json" "$b0" "$(cpu_snapshot)"
background=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("others_cpu_pct", 0))' "$tmp/background.json")
say "before the runs, other processes use ${background}% of the machine's CPU"
if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 10 else 1)" "$background"; then
    say "WARNING: this machine is not quiet; figures will be noisy (busiest processes below)"
    ps -eo pid,pcpu,comm --sort=-pcpu | sed -n 2,6p >&2
fi

# All readers' rounds first, on the data as seeded, then the writers' rounds. Interleaving them per
# round would have the readers of round 2 read threads that round 1's appends grew (newest pages come
# from t1..t1000), so their rounds would not measure the same thing; the writers' tables grow from run
# to run anyway, a drift the ABBA order balances. Each scenario's warm-ups come before its first round.
say "timed runs: $ROUNDS rounds of ${DURATION}s runs, $CONNECTIONS connections" \
    "(wrk -t2 -c$CONNECTIONS, pgbench -c$CONNECTIONS -j2 -M prepared)$(want langgraph &&
        echo "; LangGraph: ${LG_SECONDS}s runs of $CONNECTIONS callers after ${WARMUP}s of warm-up")"
if want messages; then
    warm_up get.lua "/v1/threads/{thread}/messages?limit=$LIMIT"
    rounds newest_service newest_pgbench newest_relay_pgbench
    warm_up get.lua "/v1/threads/big/messages?limit=$LIMIT"
    warm_up get.lua "/v1/threads/big/messages?limit=$LIMIT&after=$deep_cursor"
    rounds first_service deep_service first_pgbench deep_pgbench
fi
if want events; then
    warm_up events_read.lua
    rounds event_read_service event_read_pgbench
fi
if want runs; then
    warm_up get.lua /v1/threads/rt/runs/big-run/graph
    rounds graph_service graph_pgbench
    warm_up get.lua /v1/threads/rt/runs/big-run/summary
    rounds summary_service summary_pgbench
fi
if want messages; then
    warm_up append.lua
    rounds append_service append_pgbench append_auth_pgbench append_relay_pgbench
fi
if want events; then
    export BENCH_BATCH=1
    warm_up events_append.lua
    rounds event_one_service event_one_pgbench
    export BENCH_BATCH=$BATCH
    warm_up events_append.lua
    rounds event_batch_service event_batch_pgbench
fi
if want runs; then
    warm_up steps_append.lua
    rounds step_service step_pgbench
fi
# LangGraph: the graph invoked by 8 callers with ConvstoreSaver through the service, and with
# PostgresSaver on the same PostgreSQL, and for context ConvstoreSaver given a fetch over node:http,
# ABBA (each run warms itself up).
if want langgraph; then
    rounds langgraph_convstore langgraph_postgres langgraph_convstore_fetch
fi
# Last, the fan-out: event appends with the streams held open (to their threads, and for context to
# threads q1..q1000 that no stream follows) and without, ABBA like the rest (the streams open and
# close as the order needs, so 3 rounds open them twice).
if want sse; then
    rounds fanout_open_service fanout_elsewhere_service fanout_closed_service
    sse_close
fi

# ---- optional profile ----------------------------------------------------------------------------

# BENCH_PROFILE=1 profiles the first of the selected groups' appends (a message, a step, an event);
# BENCH_PROFILE=append|event|step|graph|summary names the service run to profile.
profile=${BENCH_PROFILE:-0}
if [ "$profile" = 1 ]; then
    if want messages; then profile=append; elif want runs; then profile=step; else profile=event; fi
fi
if [ "$profile" != 0 ]; then
    case $profile in
    append) profile_wrk=(append.lua) ;;
    event) profile_wrk=(events_append.lua) ;;
    step) profile_wrk=(steps_append.lua) ;;
    graph) profile_wrk=(get.lua /v1/threads/rt/runs/big-run/graph) ;;
    summary) profile_wrk=(get.lua /v1/threads/rt/runs/big-run/summary) ;;
    *) die "BENCH_PROFILE: no run $profile (1, append, event, step, graph or summary)" ;;
    esac
    case $profile in append) grp=messages ;; event) grp=events ;; *) grp=runs ;; esac
    want $grp || die "BENCH_PROFILE=$profile: the $grp scenarios are not selected (BENCH_ONLY)"
    if command -v perf >/dev/null && perf record -o "$tmp/perf.test" -- true >/dev/null 2>&1; then
        say "profiling an extra ${DURATION}s $profile run (perf record -a -g)"
        export BENCH_BATCH=1 BENCH_PATH=${profile_wrk[1]:-}
        waitfor perf record -a -g -F 499 -o "$tmp/perf.data" -- \
            env BENCH_OUT=/dev/null wrk -t2 -c$CONNECTIONS -d"${DURATION}s" -s "$bench/wrk/${profile_wrk[0]}" "$base" \
            >/dev/null 2>"$tmp/perf.log" || die "perf record failed: $(cat "$tmp/perf.log")"
        perf report -i "$tmp/perf.data" --no-children --sort comm --stdio -g none >"$tmp/perf.comm.txt" 2>/dev/null
        perf report -i "$tmp/perf.data" --no-children --pid "$svc_pid" --percentage relative \
            --sort dso,symbol --stdio -g none >"$tmp/perf.service.txt" 2>/dev/null
        pg_pids=$(ps --ppid "$(head -n 1 "$tmp/pg/postmaster.pid")" -o pid= | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
        perf report -i "$tmp/perf.data" --no-children --pid "$pg_pids" --percentage relative \
            --sort symbol --stdio -g none >"$tmp/perf.postgres.txt" 2>/dev/null
        echo "== CPU by process name, all cores, during the service's $profile run (perf record -a)"
        grep -v '^#' "$tmp/perf.comm.txt" | grep . | sed -n 1,8p
        echo "== top symbols of the convstore process (self time, % of its samples)"
        grep -v '^#' "$tmp/perf.service.txt" | grep . | sed -n 1,25p
        echo "== top symbols of our PostgreSQL's processes (self time, % of their samples)"
        grep -v '^#' "$tmp/perf.postgres.txt" | grep . | sed -n 1,15p
    else
        say "BENCH_PROFILE=$BENCH_PROFILE: perf is missing or not permitted here; skipped"
    fi
fi

# ---- report ------------------------------------------------------------------------------------

# Anything the service logged at warn or above (pool timeouts, database errors) is worth a look.
svc_warnings=$(grep -c . "$tmp/service.log" || true)
if [ "$svc_warnings" -gt 0 ]; then
    say "the service logged $svc_warnings lines at warn or above; the first ones:"
    head -n 5 "$tmp/service.log" >&2
fi

mkdir -p "$results"
python3 - "$tmp/meta.json" <<EOF
import json, sys, datetime, os
json.dump({
    "generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "git_commit": "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- service routes db migrations 2>/dev/null || echo +dirty)",
    "machine": {"cores": os.cpu_count(), "postgresql": "$("$pgbin/postgres" --version | awk '{print $3}')",
                "pg_durable": "${BENCH_PG_FAST:-0}" != "1"},
    "config": {"duration_s": $DURATION, "warmup_s": $WARMUP, "rounds": $ROUNDS, "connections": $CONNECTIONS,
               "threads": $THREADS, "messages_per_thread": $PER_THREAD, "big_thread_messages": $BIG,
               "page_limit": $LIMIT, "seed_s": $seed_s, "deep_cursor": "$deep_cursor",
               "event_batch": $BATCH, "event_threads": $EV_THREADS, "events_per_thread": $EV_PER_THREAD,
               "event_page_limit": $EV_LIMIT, "sse_streams": $SSE_STREAMS, "sse_streams_wanted": $sse_wanted,
               "sse_rate": $SSE_RATE, "sse_seconds": $SSE_SECONDS, "fd_limit": "$fd_limit",
               "only": "${ONLY:-all}".split(), "run_steps": $RUN_STEPS, "run_events": $RUN_EVENTS,
               "run_edges": $RUN_EDGES, "runs_for_step_appends": $THREADS,
               "langgraph_seconds": $LG_SECONDS, "langgraph_callers": $CONNECTIONS, "langgraph_schema": "$LG_SCHEMA",
               "langgraph_threads": "a new thread per invoke"},
    "background_others_cpu_pct": $background,
    "service_log_lines_warn_or_above": $svc_warnings,
}, open(sys.argv[1], "w"))
EOF
python3 $bench/bench.py report "$tmp/runs" "$tmp/meta.json" "$results/latest.json"
say "wrote $results/latest.json"
