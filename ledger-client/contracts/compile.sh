#!/usr/bin/env bash
# Recompiles the contracts into artifacts/ with solc 0.8.11 from npm.
#   ./compile.sh          write artifacts/<Contract>.json
#   ./compile.sh --check  compile into a temporary folder and fail if any committed artifact differs
set -euo pipefail
cd "$(dirname "$0")"

command -v node >/dev/null || { echo "compile.sh: node is required (with npm)" >&2; exit 2; }
command -v npm >/dev/null || { echo "compile.sh: npm is required" >&2; exit 2; }

installed_solc="$(node -p 'try { require("solc/package.json").version } catch (e) { "" }' 2>/dev/null || true)"
if [ "$installed_solc" != "0.8.11" ]; then
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

if [ "${1:-}" = "--check" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  node compile.js "$tmp" >/dev/null
  status=0
  for fresh in "$tmp"/*.json; do
    name="$(basename "$fresh")"
    if ! cmp -s "$fresh" "artifacts/$name"; then
      echo "compile.sh --check: artifacts/$name differs from a fresh compile (run ./compile.sh)" >&2
      status=1
    fi
  done
  for committed in artifacts/*.json; do
    [ -e "$tmp/$(basename "$committed")" ] || { echo "compile.sh --check: stale $committed" >&2; status=1; }
  done
  [ "$status" -eq 0 ] && echo "compile.sh --check: artifacts match solc 0.8.11 output"
  exit "$status"
fi

node compile.js artifacts
