#!/usr/bin/env bash
# The long owners' meeting fault run (issue 6, Acceptance), in release: enrolled owners send ballot sheets at a
# steady rate into several open meetings while the server is SIGKILLed and restarted several times, the devnode
# is stopped for a minute, and the server's PostgreSQL sessions are cut (as a restart of the database ends them)
# and the database is unreachable for 10 s; then every acknowledged sheet must be on chain exactly once, nothing
# else counted, the outbox drained, receipts carrying transaction hash and block, and every meeting finalized with
# a result that agrees with the chain. Not part of ./deploy/test.sh (about 4 minutes plus the release build).
#
# Sizing (defaults in brackets): LINLI_FAULT_VOTERS [20, at most the demo's voters in distinct units],
# LINLI_FAULT_MEETINGS [6], LINLI_FAULT_RATE [1 sheet/s], LINLI_FAULT_KILLS [4], LINLI_FAULT_DEVNODE_DOWN_SECS [60],
# LINLI_FAULT_DB_CUTS [4], LINLI_FAULT_DB_DOWN_SECS [10], LINLI_FAULT_MARGIN_SECS [30].
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib/services.sh

ensure_build_tools
ensure_postgres
ensure_redis

export_test_env

log "release build of the binaries the run starts"
cargo build --release --workspace --bins --locked

log "fault run"
cargo test --release --locked -p linli-tests --test chain_faults -- --ignored --exact fault_run_long --nocapture
