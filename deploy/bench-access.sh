#!/usr/bin/env bash
# Door-access benchmark (not part of deploy/test.sh): online opening of the real `linli serve` (release) through
# to the sandbox's Hikvision terminal vs the empty `/healthz` of the same server, p99 at a fixed rate; pass
# issuance vs the bare ES256 signature; reader verification vs two bare ES256 verifications. Each figure is printed
# next to its reference measured in the same run, with the ratio.
# Arguments go to the benchmark: --requests N (default 2000) --concurrency C (default 16) --rate R (default 200).
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib/services.sh

ensure_postgres
ensure_redis

export_test_env

log "release build of linli and the benchmark"
cargo build --release --locked -p linli-server --bin linli -p linli-tests --bin linli-bench-access
"${CARGO_TARGET_DIR:-target}/release/linli-bench-access" "$@"
