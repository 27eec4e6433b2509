#!/usr/bin/env bash
# Installs the Debian packages convstore needs to build, run and test; a quick no-op when all are there.
#
#   scripts/deps.sh          the Debian packages (make deps; run before every make run/test/bench)
#   scripts/deps.sh --test   also the npm packages of the API tests, of tests/browser and of clients/* (npm ci
#                            when needed), and Debian's chromium for the browser test (tests/browser)
#   scripts/deps.sh --bench  also what make bench runs: wrk, and pgbouncer as the relay it compares with
set -euo pipefail
cd "$(dirname "$0")/.."

# What each package is for is in README.md, "Dependencies".
pkgs=(
    build-essential pkg-config                             # compiler, make, library flags
    libmicrohttpd-dev libjansson-dev uuid-dev libssl-dev   # HTTP server, JSON, ids, SHA-256 of API keys
    libpq-dev                                              # PostgreSQL client library (and pg_config)
    postgresql                                             # server for make run / make test
    python3 python3-yaml                                   # scripts/embed.sh: openapi.yaml -> JSON
    libcmocka-dev                                          # C unit tests
    clang-format cppcheck                                  # make check-format, make lint
    clang libclang-rt-dev                                  # make fuzz: libFuzzer and the sanitizers
    curl                                                   # README quickstart, tests/quickstart.sh
)
if [ "${1:-}" = --bench ]; then
    pkgs+=(wrk pgbouncer) # load generator; a do-nothing relay to compare the service with
fi
# The browser test drives Debian's Chromium through playwright-core (which downloads no browser of its
# own); a /usr/bin/chromium already there, from the package or not, is kept.
if [ "${1:-}" = --test ] && [ ! -x /usr/bin/chromium ]; then
    pkgs+=(chromium) # tests/browser: a real browser, headless
fi
# The API tests need Node.js 20 with npm. A Node already on PATH (e.g. from /usr/local or
# another vendor's package) is kept; Debian's is installed only when there is none.
if ! command -v node >/dev/null 2>&1; then
    pkgs+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
    pkgs+=(npm)
fi

missing=()
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${pkgs[@]}" 2>/dev/null || true)
for p in "${pkgs[@]}"; do
    if ! grep -q "^$p ii" <<<"$installed"; then missing+=("$p"); fi
done

if [ ${#missing[@]} -gt 0 ]; then
    line="apt-get install -y --no-install-recommends ${missing[*]}"
    if [ "$(id -u)" != 0 ]; then
        echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
        echo "deps.sh: as root, run: apt-get update && DEBIAN_FRONTEND=noninteractive $line" >&2
        exit 1
    fi
    echo "deps.sh: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $line
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
    echo "deps.sh: warning: the API tests need Node.js >= 20 (node --test-concurrency); found $(node --version 2>/dev/null || echo none)" >&2
fi

# npm_ci DIR: the npm packages of DIR's lock file, when node_modules is missing or older than it
# (npm ci leaves node_modules/.package-lock.json behind).
npm_ci() {
    if [ ! -f "$1/node_modules/.package-lock.json" ] ||
        [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
        echo "deps.sh: npm ci in $1" >&2
        (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
    fi
}

if [ "${1:-}" = --test ]; then
    # The API tests' packages, the browser test's (playwright-core), and those of each client package
    # (tested against the service).
    for dir in tests/api tests/browser clients/*; do
        if [ -f "$dir/package-lock.json" ]; then npm_ci "$dir"; fi
    done
fi
