#!/usr/bin/env bash
# Start the local PostgreSQL cluster (if needed), make sure the `postgres`
# role has the password `postgres` and that the `helpcenter` database exists.
# Idempotent: safe to run any number of times. Prints one line on success.
set -euo pipefail

PGHOST_ADDR="127.0.0.1"
PGPORT_NUM="5432"
DB_NAME="helpcenter"
PG_PASSWORD="postgres"

log() { echo "pg-up: $*" >&2; }

is_root() { [ "$(id -u)" -eq 0 ]; }

ready() { pg_isready -q -h "$PGHOST_ADDR" -p "$PGPORT_NUM" >/dev/null 2>&1; }

# Run psql as the postgres OS user (peer auth over the unix socket) when root,
# otherwise over TCP with the password.
run_psql() {
  if is_root && id -u postgres >/dev/null 2>&1; then
    # cd / so psql does not complain about an unreadable working directory.
    (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PGPORT_NUM" "$@")
  else
    PGPASSWORD="$PG_PASSWORD" psql -X -q -v ON_ERROR_STOP=1 \
      -h "$PGHOST_ADDR" -p "$PGPORT_NUM" -U postgres "$@"
  fi
}

# 1. Install if missing.
if ! command -v pg_lsclusters >/dev/null 2>&1 || ! command -v pg_isready >/dev/null 2>&1; then
  if is_root && command -v apt-get >/dev/null 2>&1; then
    log "postgresql not installed; installing via apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq postgresql >/dev/null
  else
    log "postgresql is not installed and cannot be installed automatically"
    exit 1
  fi
fi

# 2. Start the cluster if not accepting connections.
if ! ready; then
  version=""
  cluster=""
  start_out=""
  if command -v pg_lsclusters >/dev/null 2>&1; then
    # Prefer the cluster on our port; fall back to the first one listed.
    read -r version cluster < <(pg_lsclusters -h 2>/dev/null \
      | awk -v p="$PGPORT_NUM" '$3 == p { print $1, $2; exit }') || true
    if [ -z "${version:-}" ]; then
      read -r version cluster < <(pg_lsclusters -h 2>/dev/null | awk 'NR == 1 { print $1, $2 }') || true
    fi
  fi
  version="${version:-15}"
  cluster="${cluster:-main}"
  if is_root || [ "$(id -un)" = "postgres" ]; then
    # "already running" is not an error for us; real failures show up after the wait below.
    start_out="$(pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start 2>&1)" || true
  else
    log "postgres is down and we are not root; cannot start cluster $version/$cluster"
    exit 1
  fi

  # 3. Bounded wait (~30 s).
  for _ in $(seq 1 60); do
    ready && break
    sleep 0.5
  done
  if ! ready; then
    log "postgres did not become ready on $PGHOST_ADDR:$PGPORT_NUM within 30s"
    [ -n "${start_out:-}" ] && log "pg_ctlcluster $version $cluster start said: $start_out"
    exit 1
  fi
fi

# 4. Password for role postgres.
if is_root && id -u postgres >/dev/null 2>&1; then
  run_psql -d postgres -c "alter role postgres password '$PG_PASSWORD'" >/dev/null
elif ! PGPASSWORD="$PG_PASSWORD" psql -X -q -h "$PGHOST_ADDR" -p "$PGPORT_NUM" -U postgres -d postgres -c 'select 1' >/dev/null 2>&1; then
  log "not root and cannot connect as postgres/$PG_PASSWORD over TCP"
  exit 1
fi

# 5. Database.
exists="$(run_psql -d postgres -tA -c "select 1 from pg_database where datname = '$DB_NAME'")"
if [ "$exists" != "1" ]; then
  run_psql -d postgres -c "create database \"$DB_NAME\"" >/dev/null
fi

echo "postgres ready: postgres://postgres:${PG_PASSWORD}@${PGHOST_ADDR}:${PGPORT_NUM}/${DB_NAME}"
