#!/usr/bin/env bash
# Runs every test of the workspace against a real PostgreSQL and Redis on this machine (started if needed).
# Exits non-zero on any failure. Long fault runs and benchmarks are separate: see the README.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib/services.sh

ensure_build_tools
ensure_postgres
ensure_redis
ensure_node

export LINLI_TEST_DATABASE_URL=${LINLI_TEST_DATABASE_URL:-postgres://${LINLI_DB_ROLE}:${LINLI_DB_PASSWORD}@127.0.0.1:${PG_PORT}/postgres}
export LINLI_TEST_REDIS_URL=${LINLI_TEST_REDIS_URL:-redis://127.0.0.1:${REDIS_PORT}/}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

log "lints (clippy, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "building the binaries the end-to-end tests start"
cargo build --workspace --bins --locked

log "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
