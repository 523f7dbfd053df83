#!/usr/bin/env bash
# Runs every test: all crates, on SQLite and, when PostgreSQL is installed, on a throwaway
# PostgreSQL server started here. CI sets STEWARD_REQUIRE_POSTGRES=1 so a missing server fails
# instead of being skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  eval "$(scripts/test-postgres.sh)"
  echo "PostgreSQL for tests: $STEWARD_TEST_POSTGRES_URL"
else
  echo "PostgreSQL is not installed: storage tests run on SQLite only (apt-get install -y postgresql)"
fi
# Segment's Python library (for the end-to-end ingestion test), if .ci/run or you made the
# venv: python3 -m venv .venv && .venv/bin/pip install segment-analytics-python
if [ -z "${STEWARD_TEST_PYTHON:-}" ] && [ -x .venv/bin/python ]; then
  export STEWARD_TEST_PYTHON="$PWD/.venv/bin/python"
fi
cargo test --workspace --locked "$@"
