#!/usr/bin/env bash
# Creates and fills the benchmark database (default `helpcenter_bench` on the local
# PostgreSQL): migrations by the service itself, then benches/seed.sql.
# Takes several minutes. Re-running drops and recreates the database.
#
#   bash benches/seed.sh                 # then: cargo bench --bench tickets_latency
set -euo pipefail
cd "$(dirname "$0")/.."
BASE="${HC_BENCH_PG:-postgres://postgres:postgres@127.0.0.1:5432}"
DB="${HC_BENCH_DB:-helpcenter_bench}"
bash scripts/pg-up.sh >/dev/null
psql -X -q -v ON_ERROR_STOP=1 "$BASE/postgres" -c "drop database if exists \"$DB\" with (force)"
# `users set-role` creates the database if missing and runs the migrations first.
DATABASE_URL="$BASE/$DB" cargo run --quiet -- users set-role 00000000-0000-4000-9000-000000000000 admin
psql -X -v ON_ERROR_STOP=1 "$BASE/$DB" -f benches/seed.sql
