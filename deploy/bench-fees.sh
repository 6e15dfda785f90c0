#!/usr/bin/env bash
# Fees benchmark (not part of deploy/test.sh): order creation and WeChat Pay notification handling of the real
# `linli serve` (release) against PostgreSQL, Redis and the sandbox, next to the empty `/healthz` of the same server
# measured in the same run with the same client and concurrency; prints throughput, p50/p99 and the ratios.
# Arguments go to the benchmark: --orders N (default 1000) --concurrency C (default 16).
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib/services.sh

ensure_postgres
ensure_redis

export_test_env

log "release build of linli and the benchmark"
cargo build --release --locked -p linli-server --bin linli -p linli-tests --bin linli-bench-fees
"${CARGO_TARGET_DIR:-target}/release/linli-bench-fees" "$@"
