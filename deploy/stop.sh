#!/usr/bin/env bash
# Stops what deploy/quickstart.sh started (PostgreSQL and Redis keep running: they may serve other things).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${LINLI_STATE_DIR:-$(pwd)/.linli}/run
for f in "$RUN"/*.pid; do
  [ -e "$f" ] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" && echo "stopped $(basename "$f" .pid) (pid $pid)"
  fi
  rm -f "$f"
done
