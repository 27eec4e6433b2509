#!/usr/bin/env bash
# Runs README.md's quickstart block verbatim against a server of its own; fails unless the block creates
# a thread, reads it back, appends two events, records a run with two steps, reads its graph and
# summary, and streams the log, twice in a row (it is idempotent).
#
# Needs CONVSTORE_TEST_DATABASE_URL (scripts/test.sh sets it). CONVSTORE_BIN is the binary to test
# (default: build/convstore, built first).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

fail() { echo "quickstart: FAIL: $*" >&2; exit 1; }

: "${CONVSTORE_TEST_DATABASE_URL:?needs a PostgreSQL database to use (scripts/test.sh sets it)}"
if [ -z "${CONVSTORE_BIN:-}" ]; then
    make --no-print-directory build >&2
    bin=$root/build/convstore
else
    case $CONVSTORE_BIN in
        /*) bin=$CONVSTORE_BIN ;;
        *) bin=$root/$CONVSTORE_BIN ;;
    esac
fi
[ -x "$bin" ] || fail "no binary at $bin"

tmp=$(mktemp -d)
server_pid=
# shellcheck disable=SC2317 # (called by the trap)
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# The block: the first ```sh fence between <!-- quickstart --> and <!-- /quickstart -->.
awk '
    /<!-- quickstart -->/ { inside = 1; next }
    /<!-- \/quickstart -->/ { inside = 0 }
    inside && !done && /^```sh[ \t]*$/ { code = 1; next }
    code && /^```[ \t]*$/ { code = 0; done = 1; next }
    code { print }
' README.md >"$tmp/quickstart.sh"
[ -s "$tmp/quickstart.sh" ] || fail 'README.md has no ```sh block between <!-- quickstart --> and <!-- /quickstart -->'

# A fresh org whose admin key plays the part of `make run`'s .convstore/dev-key.
unset DATABASE_URL
export CONVSTORE_DATABASE_URL=$CONVSTORE_TEST_DATABASE_URL
"$bin" migrate 2>"$tmp/cli.log" || { cat "$tmp/cli.log" >&2; fail "convstore migrate failed"; }
out=$("$bin" org create quickstart 2>>"$tmp/cli.log") || { cat "$tmp/cli.log" >&2; fail "convstore org create failed"; }
key=$(sed -n 's/.*"api_key" *: *"\([^"]*\)".*/\1/p' <<<"$out")
[ -n "$key" ] || fail "no api_key in the output of 'org create': $out"
mkdir "$tmp/.convstore"
printf '%s\n' "$key" >"$tmp/.convstore/dev-key"

CONVSTORE_LISTEN=127.0.0.1:0 "$bin" serve 2>"$tmp/server.log" &
server_pid=$!
port=
for _ in $(seq 1 300); do
    port=$(sed -n '/"listening"/s/.*"port" *: *\([0-9][0-9]*\).*/\1/p' "$tmp/server.log" | head -n 1)
    [ -z "$port" ] || break
    kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; fail "the server exited before listening"; }
    sleep 0.1
done
[ -n "$port" ] || { cat "$tmp/server.log" >&2; fail 'no "listening" log line with a "port" within 30 s'; }

for run in 1 2; do
    echo "--- quickstart block, run $run, against http://127.0.0.1:$port"
    if ! (cd "$tmp" && CONVSTORE_URL=http://127.0.0.1:$port bash -euo pipefail quickstart.sh) >"$tmp/out" 2>&1; then
        cat "$tmp/out"
        tail -n 20 "$tmp/server.log" >&2
        fail "the block failed (run $run)"
    fi
    cat "$tmp/out"
    n=$(grep -o '"object": *"thread"' "$tmp/out" | wc -l)
    [ "$n" -ge 2 ] || fail "expected two thread objects (created, read back) in the output, got $n"
    grep -q '"id": *"quickstart"' "$tmp/out" || fail 'no thread with id "quickstart" in the output'
    grep -qx 'event: chat.output' "$tmp/out" || fail 'no chat.output frame in the event stream'
    # The log holds the two events and the run's six (created, two steps created and completed,
    # completed), each once, in seq order 1..8, whichever run of the block this is.
    [ "$(grep '^id: ' "$tmp/out" | tr '\n' ' ')" = "id: 1 id: 2 id: 3 id: 4 id: 5 id: 6 id: 7 id: 8 " ] ||
        fail "the event stream did not deliver seqs 1-8 once each: $(grep '^id: ' "$tmp/out" | tr '\n' ' ')"
    [ "$(grep -c '^event: \(run\|step\)\.' "$tmp/out")" = 6 ] || fail 'the run did not record six run/step events'
    grep -q '"object": *"run.graph"' "$tmp/out" || fail 'no run graph in the output'
    grep -q '"from": *"qs-plan", *"to": *"qs-search", *"kind": *"depends_on"' "$tmp/out" ||
        fail 'the graph lacks the depends_on edge qs-plan -> qs-search'
    grep -q '"critical_path": *\["qs-plan", *"qs-search"\]' "$tmp/out" ||
        fail 'the summary has not qs-plan, qs-search as its critical path'
    grep -q '"status": *"completed", *"duration_ms"' "$tmp/out" || fail 'the summary shows no completed run'
done

kill -TERM "$server_pid"
rc=0
wait "$server_pid" || rc=$?
server_pid=
[ "$rc" = 0 ] || { tail -n 20 "$tmp/server.log" >&2; fail "the server exited with status $rc on SIGTERM"; }
echo "quickstart: 1 passed, 0 failed"
