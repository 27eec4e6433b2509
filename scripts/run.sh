#!/usr/bin/env bash
# make run: serves build/convstore on 127.0.0.1:8080, with a private PostgreSQL under .convstore/pg
# unless DATABASE_URL or CONVSTORE_DATABASE_URL names a database. `make stop` stops that PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=build/convstore
state=.convstore
pg_port=25439 # below the ephemeral port range, where client sockets could take it
[ -x "$bin" ] || { echo "run.sh: $bin is missing: run make build" >&2; exit 1; }
mkdir -p "$state"

private=0
if [ -z "${CONVSTORE_DATABASE_URL:-}" ] && [ -z "${DATABASE_URL:-}" ]; then
    private=1
    scripts/pg.sh start "$state/pg" "$pg_port"
    scripts/pg.sh createdb "$state/pg" "$pg_port" convstore
    CONVSTORE_DATABASE_URL=$(scripts/pg.sh url "$state/pg" "$pg_port" convstore)
    export CONVSTORE_DATABASE_URL
fi

"$bin" migrate

# The dev org and its admin key are made once, on the private cluster's first start.
if [ "$private" = 1 ] && [ ! -s "$state/dev-key" ]; then
    out=$("$bin" org create dev)
    key=$(sed -n 's/.*"api_key" *: *"\([^"]*\)".*/\1/p' <<<"$out")
    [ -n "$key" ] || { echo "run.sh: no api_key in the output of 'org create': $out" >&2; exit 1; }
    (umask 077 && printf '%s\n' "$key" >"$state/dev-key.tmp")
    mv "$state/dev-key.tmp" "$state/dev-key"
fi

listen=${CONVSTORE_LISTEN:-127.0.0.1:8080}
echo
echo "  convstore on http://$listen"
if [ "$private" = 1 ]; then
    echo "  database    $CONVSTORE_DATABASE_URL (private; make stop stops it)"
    echo "  admin key   $(cat "$state/dev-key")"
    echo "  try:        KEY=\$(cat $state/dev-key); curl -H \"Authorization: Bearer \$KEY\" http://$listen/v1/me"
else
    echo "  database    from ${CONVSTORE_DATABASE_URL:+CONVSTORE_}DATABASE_URL"
    echo "  admin key   make one with: $bin org create NAME"
fi
echo "  Ctrl-C stops the server."
echo
exec "$bin" serve "$@"
