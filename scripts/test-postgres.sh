#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the test suite and prints its URL.
# Usage: eval "$(scripts/test-postgres.sh)"   (sets STEWARD_TEST_POSTGRES_URL)
# Needs Debian's postgresql package (apt-get install -y postgresql). Idempotent: a server it
# started earlier on the same port is reused.
set -euo pipefail
PORT="${STEWARD_TEST_PG_PORT:-54329}"
DIR="${STEWARD_TEST_PG_DIR:-/tmp/steward-test-pg}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -n "$BIN" ] || { echo "echo 'PostgreSQL is not installed (apt-get install -y postgresql)' >&2; exit 1"; exit 1; }
RUN_AS=()
if [ "$(id -u)" = "0" ]; then RUN_AS=(runuser -u postgres --); fi
if ! "${RUN_AS[@]}" "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; then
  rm -rf "$DIR"
  mkdir -p "$DIR"
  [ "$(id -u)" = "0" ] && chown postgres:postgres "$DIR"
  "${RUN_AS[@]}" "$BIN/initdb" -D "$DIR/data" -U steward --auth=trust -E UTF8 >/dev/null
  # Tests need speed, not durability: this cluster is thrown away.
  "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
fi
echo "export STEWARD_TEST_POSTGRES_URL=postgres://steward@127.0.0.1:$PORT/postgres"
