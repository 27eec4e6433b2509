#!/usr/bin/env bash
# make test: build, unit tests, OpenAPI lint, API tests against a throwaway PostgreSQL, the README quickstart,
# then the unit and API tests again under AddressSanitizer + UBSan, then each fuzz target briefly
# (FUZZ_SECONDS, default 30). Exits non-zero when anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

ASAN_CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer'
jobs=$(nproc 2>/dev/null || echo 2)
t_start=$SECONDS

scripts/deps.sh --test

# A throwaway cluster in a temp dir, stopped and removed on any exit.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/convstore-test.XXXXXX")
chmod 755 "$tmp" # the postgres user (when we are root) must reach $tmp/pg
mkdir -p "$tmp/logs" "$tmp/san"
pgdir=$tmp/pg
# shellcheck disable=SC2317 # (called by the trap)
cleanup() {
    local rc=$?
    "$root/scripts/pg.sh" stop "$pgdir" >/dev/null 2>&1 || true
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free port below the kernel's ephemeral range (32768+): there, an outgoing connection could take
# the port while the restart tests have PostgreSQL stopped, and it could not start again.
port=$(/usr/bin/python3 -c '
import random, socket
for p in random.sample(range(20000, 32000), 200):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError: pass
    finally: s.close()
')
scripts/pg.sh start "$pgdir" "$port" --fast
scripts/pg.sh createdb "$pgdir" "$port" convstore_test
CONVSTORE_TEST_DATABASE_URL=$(scripts/pg.sh url "$pgdir" "$port" convstore_test)
export CONVSTORE_TEST_DATABASE_URL
# Shell commands that stop and start this same cluster (for the tests that restart PostgreSQL).
export CONVSTORE_TEST_PG_STOP="'$root/scripts/pg.sh' stop '$pgdir'"
export CONVSTORE_TEST_PG_START="'$root/scripts/pg.sh' start '$pgdir' $port --fast"
unset DATABASE_URL CONVSTORE_DATABASE_URL
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1

results=() # one line per step, for the summary
passed=0 failed=0 skipped=0 # test counts, as the runners report them
any_failed=0

# count LOG: add up the counts that node's test runner (spec reporter), cmocka and our own scripts
# ("name: N passed, N failed", the name may hold a hyphen: "ts-client") print at their ends.
# Prints "P F S".
count() {
    awk '
        /^(ℹ|#) pass [0-9]+$/ { p += $3 }
        /^(ℹ|#) (fail|cancelled) [0-9]+$/ { f += $3 }
        /^(ℹ|#) (skipped|todo) [0-9]+$/ { s += $3 }
        /^\[  PASSED  \] [0-9]+ test/ { p += $4 }
        /^\[  FAILED  \] [0-9]+ test/ { f += $4 }
        /^\[  SKIPPED \] [0-9]+ test/ { s += $4 }
        /^[A-Za-z][A-Za-z-]*: [0-9]+ passed, [0-9]+ failed$/ { p += $2; f += $4 }
        END { printf "%d %d %d\n", p, f, s }
    ' "$1"
}

# step NAME SECONDS CMD...: run CMD (output shown and kept) with a time limit, and record how it went.
# Sanitizer reports (ASAN_OPTIONS log_path) left in $tmp/san by CMD make the step fail, too.
step() {
    local name=$1 secs=$2 log rc p f s t0=$SECONDS verdict san=0
    shift 2
    log="$tmp/logs/${#results[@]}.log"
    echo
    echo "=== $name"
    set +e
    timeout --foreground -k 20 "$secs" "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    read -r p f s < <(count "$log")
    local counts=""
    [ $((p + f + s)) = 0 ] || counts=" [$p passed, $f failed, $s skipped]"
    if compgen -G "$tmp/san/*" >/dev/null; then
        local reports=("$tmp/san/"*)
        echo "--- ${#reports[@]} sanitizer report(s); the first:"
        head -n 60 "${reports[0]}"
        rm -f "${reports[@]}"
        san=1
    fi
    passed=$((passed + p)) skipped=$((skipped + s))
    local why=""
    if [ "$rc" = 0 ] && [ "$f" = 0 ] && [ "$san" = 0 ]; then
        verdict=ok
    else
        verdict=FAILED
        any_failed=1
        [ "$f" != 0 ] || f=1 # a failure without test counts (a build, a lint, a crash, a leak) counts as one
        [ "$rc" = 0 ] || why=", exit status $rc"
        [ "$rc" != 124 ] || why=", timed out after ${secs}s"
        [ "$san" = 0 ] || why="$why, sanitizer report"
    fi
    failed=$((failed + f))
    results+=("$(printf '%-8s %s%s (%ss%s)' "$verdict" "$name" "$counts" $((SECONDS - t0)) "$why")")
    [ "$verdict" = ok ]
}

skip() {
    echo
    echo "=== $1: skipped ($2)"
    results+=("$(printf '%-8s %s (%s)' skipped "$1" "$2")")
}

summary() {
    echo
    echo "=== summary ($((SECONDS - t_start))s)"
    printf '%s\n' "${results[@]}"
    if [ $((passed + failed)) = 0 ]; then echo "warning: no test ran"; fi
    echo "summary: $passed passed, $failed failed, $skipped skipped"
    exit "$any_failed"
}

have() { compgen -G "$1" >/dev/null; }

# node's test runner; a test that takes over 3 minutes fails instead of hanging the run.
node_test=(node --test --test-reporter=spec --test-timeout=180000)

# api_suite LABEL BIN: the API tests, the tests that restart PostgreSQL, and the README quickstart, against BIN.
api_suite() {
    local label=$1
    export CONVSTORE_BIN=$root/$2
    if have 'tests/api/*.test.mjs'; then
        step "API tests$label" 1200 "${node_test[@]}" --test-concurrency=2 tests/api/*.test.mjs || true
    else
        skip "API tests$label" "no tests/api/*.test.mjs yet"
    fi
    if have 'tests/api/serial/*.test.mjs'; then
        step "API tests, serial (restart PostgreSQL)$label" 900 "${node_test[@]}" --test-concurrency=1 tests/api/serial/*.test.mjs || true
        # Whatever those tests did to PostgreSQL, the next steps need it up.
        scripts/pg.sh start "$pgdir" "$port" --fast
    else
        skip "API tests, serial$label" "no tests/api/serial/*.test.mjs yet"
    fi
    step "README quickstart$label" 120 tests/quickstart.sh || true
}

# --- plain build
if ! step build 900 make --no-print-directory -j"$jobs" build; then summary; fi
if have 'tests/unit/test_*.c'; then
    step "unit tests" 300 make --no-print-directory unit || true
else
    skip "unit tests" "no tests/unit/test_*.c yet"
fi

# --- formatter and C linter
step "clang-format" 120 make --no-print-directory check-format || true
step "cppcheck" 600 make --no-print-directory lint || true

# --- OpenAPI lint
if [ -f openapi/openapi.yaml ]; then
    if [ -x tests/api/node_modules/.bin/redocly ]; then
        step "OpenAPI lint" 300 npx --no --prefix tests/api redocly lint openapi/openapi.yaml || true
    else
        step "OpenAPI lint" 10 sh -c 'echo "no redocly: add @redocly/cli to tests/api devDependencies" >&2; exit 1' || true
    fi
else
    skip "OpenAPI lint" "no openapi/openapi.yaml yet"
fi

api_suite "" build/convstore

# --- the same again under AddressSanitizer + UndefinedBehaviorSanitizer
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$tmp/san/asan"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
[ ! -f tests/lsan.supp ] || export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp"
if step "build (ASan+UBSan)" 900 make --no-print-directory -j"$jobs" B=build-asan CFLAGS="$ASAN_CFLAGS" build; then
    if have 'tests/unit/test_*.c'; then
        step "unit tests (ASan+UBSan)" 300 make --no-print-directory B=build-asan CFLAGS="$ASAN_CFLAGS" unit || true
    else
        skip "unit tests (ASan+UBSan)" "no tests/unit/test_*.c yet"
    fi
    api_suite " (ASan+UBSan)" build-asan/convstore
    # The LangGraph.js saver against the sanitized service: LangGraph's own validation suite, a real
    # StateGraph stopped at an interrupt and resumed by another process, time travel, isolation.
    if [ -f clients/langgraph/package.json ]; then
        step "LangGraph saver (ASan+UBSan)" 900 sh -c 'cd clients/langgraph && CONVSTORE_BIN=build-asan/convstore npm test --silent' || true
    fi
    # The typed TypeScript client against the sanitized service: every resource, pagination, a
    # stream followed across cut connections, retries through a sabotaging proxy, type tests.
    # Then the same client in a real browser (tests/browser): headless Debian Chromium, a page on
    # another origin than the service loading the client's bundle (built first), following a
    # thread's events live, and a page on an origin not in CONVSTORE_CORS_ORIGINS refused.
    if [ -f clients/ts/package.json ]; then
        step "TypeScript client (ASan+UBSan)" 600 sh -c 'cd clients/ts && CONVSTORE_BIN=build-asan/convstore npm test --silent' || true
        step "browser (chromium, ASan+UBSan)" 300 sh -c 'cd clients/ts && npm run build --silent && cd ../../tests/browser && CONVSTORE_BIN=build-asan/convstore npm test --silent' || true
    fi
fi

# --- every libFuzzer target for a while, from its seed corpus; a crash or leak fails the run
fuzz_seconds=${FUZZ_SECONDS:-30}
step "fuzz (${fuzz_seconds} s per target)" 900 make --no-print-directory -j1 fuzz FUZZ_SECONDS="$fuzz_seconds" || true
summary
