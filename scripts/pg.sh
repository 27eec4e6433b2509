#!/usr/bin/env bash
# Runs a private PostgreSQL cluster in a folder of its own, listening on 127.0.0.1 only.
#
#   pg.sh start DIR PORT [--fast]   initdb DIR if it holds no cluster yet, then start it (no-op when running);
#                                   --fast: fsync, synchronous_commit and full_page_writes off (throwaway test data)
#   pg.sh stop DIR                  fast shutdown; fine when not running or absent
#   pg.sh url DIR PORT DBNAME       print the libpq URL of a database in it
#   pg.sh createdb DIR PORT DBNAME  create the database unless it exists
#
# Trust authentication for the `postgres` role, UTF8, locale C, unix socket in DIR, server log in DIR/log.
# As root, the server programs run as the `postgres` system user, who must own DIR.
set -euo pipefail

die() { echo "pg.sh: $*" >&2; exit 1; }
usage() { die "usage: pg.sh start DIR PORT [--fast] | stop DIR | url DIR PORT DBNAME | createdb DIR PORT DBNAME"; }

# bindir: the newest installed PostgreSQL server's programs.
bindir() {
    local d
    d=$(pg_config --bindir 2>/dev/null || true)
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then echo "$d"; return; fi
    d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
    die "no PostgreSQL server found (pg_config --bindir, /usr/lib/postgresql/*/bin): run scripts/deps.sh"
}

# as_pg CMD...: run CMD as the user that owns the cluster (postgres when we are root), from /.
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

abspath() { mkdir -p "$1" && (cd "$1" && pwd -P); }

# let_postgres_in DIR: as root, give DIR to postgres and make sure postgres can reach it through its parents
# (a mktemp -d folder is 0700 root, for one): every ancestor it cannot search gets o+x, and says so.
let_postgres_in() {
    local dir=$1 p
    [ "$(id -u)" = 0 ] || return 0
    id postgres >/dev/null 2>&1 || die "no 'postgres' user; install the postgresql package (scripts/deps.sh)"
    chown postgres: "$dir"
    chmod 700 "$dir"
    if ! runuser -u postgres -- test -x "$dir"; then
        p=$(dirname "$dir")
        while [ "$p" != / ]; do
            if ! runuser -u postgres -- test -x "$p"; then
                echo "pg.sh: chmod o+x $p (so the postgres user can reach $dir)" >&2
                chmod o+x "$p"
            fi
            p=$(dirname "$p")
        done
    fi
    runuser -u postgres -- test -w "$dir" || die "the postgres user cannot write to $dir"
}

is_running() { [ -f "$1/PG_VERSION" ] && as_pg "$(bindir)/pg_ctl" status -D "$1" >/dev/null 2>&1; }

cmd_start() {
    [ $# -ge 2 ] || usage
    local dir port fast=0 bin opts sock
    dir=$(abspath "$1"); port=$2; shift 2
    for a in "$@"; do
        case $a in
            --fast) fast=1 ;;
            *) usage ;;
        esac
    done
    [[ $port =~ ^[0-9]+$ ]] || die "bad port: $port"
    bin=$(bindir)
    if is_running "$dir"; then
        echo "pg.sh: already running in $dir" >&2
    else
        let_postgres_in "$dir"
        if [ ! -f "$dir/PG_VERSION" ]; then
            [ -z "$(ls -A "$dir")" ] || die "$dir is neither empty nor a PostgreSQL cluster"
            echo "pg.sh: initdb $dir" >&2
            as_pg "$bin/initdb" -D "$dir" -A trust -U postgres -E UTF8 --locale=C >"$dir.initdb.log" 2>&1 \
                || { cat "$dir.initdb.log" >&2; die "initdb failed"; }
            rm -f "$dir.initdb.log"
        fi
        # A unix socket path is limited to 107 bytes; beyond that only TCP is offered.
        sock=$dir
        if [ $((${#dir} + 20)) -gt 107 ]; then sock=''; fi
        opts="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$sock' -c max_connections=200"
        if [ "$fast" = 1 ]; then
            opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        fi
        echo "pg.sh: starting PostgreSQL $(cat "$dir/PG_VERSION") on 127.0.0.1:$port (log: $dir/log)" >&2
        if ! as_pg "$bin/pg_ctl" start -D "$dir" -l "$dir/log" -w -t 60 -s -o "$opts"; then
            tail -n 20 "$dir/log" >&2 || true
            die "could not start PostgreSQL in $dir"
        fi
    fi
    # Ready means accepting TCP connections on our port (a running cluster may have been started elsewhere).
    for _ in $(seq 1 100); do
        if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; then return 0; fi
        sleep 0.1
    done
    die "PostgreSQL in $dir does not answer on 127.0.0.1:$port (log: $dir/log)"
}

cmd_stop() {
    [ $# -eq 1 ] || usage
    local dir=$1
    if [ ! -d "$dir" ]; then return 0; fi
    dir=$(abspath "$dir")
    if ! is_running "$dir"; then
        echo "pg.sh: not running in $dir" >&2
        return 0
    fi
    as_pg "$(bindir)/pg_ctl" stop -D "$dir" -m fast -w -t 60 -s
    echo "pg.sh: stopped $dir" >&2
}

cmd_url() {
    [ $# -eq 3 ] || usage
    echo "postgresql://postgres@127.0.0.1:$2/$3"
}

cmd_createdb() {
    [ $# -eq 3 ] || usage
    local port=$2 db=$3 bin exists
    [[ $db =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "bad database name: $db"
    bin=$(bindir)
    exists=$("$bin/psql" -X -q -t -A -v ON_ERROR_STOP=1 "$(cmd_url "$1" "$port" postgres)" \
        -c "SELECT 1 FROM pg_database WHERE datname = '$db'")
    if [ "$exists" != 1 ]; then
        "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
        echo "pg.sh: created database $db" >&2
    fi
}

[ $# -ge 1 ] || usage
cmd=$1; shift
case $cmd in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    url) cmd_url "$@" ;;
    createdb) cmd_createdb "$@" ;;
    *) usage ;;
esac
