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

export_test_env
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
