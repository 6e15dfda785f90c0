#!/usr/bin/env bash
# Ballot sheets per second end to end (device-signed, PIN, Idempotency-Key, sheet + outbox row committed) next to
# the bare PIN verification and the bare SQL transaction measured in the same run, the ratio to the slower one, and
# latency percentiles at a fixed offered rate. Release build; not part of ./deploy/test.sh. A benchmark, not a test:
# it prints figures. Knobs (environment): BENCH_VOTERS (300), BENCH_CONCURRENCY (16), BENCH_RATE (40 sheets/s),
# BENCH_RATE_SECS (10), BENCH_PIN_SLOTS (2). See tests/benches/meetings.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib/services.sh

ensure_build_tools
ensure_postgres
ensure_redis

export_test_env

log "building the release binaries the benchmark starts"
cargo build --release --workspace --bins --locked
log "benchmark"
cargo bench -p linli-tests --bench meetings --locked
