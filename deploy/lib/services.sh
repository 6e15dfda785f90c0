# Shared by quickstart.sh and test.sh: make sure PostgreSQL, Redis and Node.js are installed and running on this
# machine (Debian 12, root). Idempotent: does nothing when they already run.

PG_PORT=${PG_PORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}
LINLI_DB_ROLE=${LINLI_DB_ROLE:-linli}
LINLI_DB_PASSWORD=${LINLI_DB_PASSWORD:-linli}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

apt_updated=0
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "need root to install: $*" >&2
    return 1
  fi
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "installing PostgreSQL"
    apt_install postgresql postgresql-client
  fi
  if ! pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; then
    log "starting PostgreSQL"
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || pg_ctlcluster "$version" main start
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break; sleep 1; done
  fi
  pg_isready -q -h 127.0.0.1 -p "$PG_PORT" || { echo "PostgreSQL did not start" >&2; return 1; }
  # A login role that may create databases (the tests clone one per test from a template). Created through the
  # local socket as the postgres superuser, which works with Debian's default peer authentication.
  runuser -u postgres -- psql -qtA -p "$PG_PORT" -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${LINLI_DB_ROLE}') THEN
        CREATE ROLE ${LINLI_DB_ROLE} LOGIN CREATEDB PASSWORD '${LINLI_DB_PASSWORD}';
      END IF; END \$\$;" >/dev/null
}

ensure_database() {
  local name=$1
  if ! runuser -u postgres -- psql -qtA -p "$PG_PORT" -c "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
    log "creating database $name"
    runuser -u postgres -- psql -q -p "$PG_PORT" -c "CREATE DATABASE $name OWNER ${LINLI_DB_ROLE}" >/dev/null
  fi
}

ensure_redis() {
  if ! command -v redis-server >/dev/null 2>&1; then
    log "installing Redis"
    apt_install redis-server
  fi
  if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    log "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/linli.log
    for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.5; done
  fi
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null || { echo "Redis did not start" >&2; return 1; }
}

# Node.js and the pinned solc compiler (npm) for the contract artifact check.
ensure_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "installing Node.js"
    apt_install nodejs npm
  fi
  if [ -f ledger-client/contracts/package-lock.json ]; then
    if [ ! -d ledger-client/contracts/node_modules ] \
       || ! cmp -s ledger-client/contracts/package-lock.json ledger-client/contracts/node_modules/.package-lock.json; then
      log "installing the pinned solc (npm ci)"
      (cd ledger-client/contracts && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
  fi
}

ensure_build_tools() {
  if ! command -v cc >/dev/null 2>&1; then
    log "installing a C compiler"
    apt_install build-essential pkg-config
  fi
  if ! command -v curl >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then
    apt_install curl openssl ca-certificates
  fi
  # audit/recount.py (run by the meeting acceptance test) needs Python 3's standard library only.
  if ! command -v python3 >/dev/null 2>&1; then
    apt_install python3
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is not installed: install Rust (https://rustup.rs) first" >&2
    return 1
  fi
}

# Where the tests, fault runs and benchmarks find PostgreSQL and Redis (the services started above).
export_test_env() {
  export LINLI_TEST_DATABASE_URL=${LINLI_TEST_DATABASE_URL:-postgres://${LINLI_DB_ROLE}:${LINLI_DB_PASSWORD}@127.0.0.1:${PG_PORT}/postgres}
  export LINLI_TEST_REDIS_URL=${LINLI_TEST_REDIS_URL:-redis://127.0.0.1:${REDIS_PORT}/}
}
