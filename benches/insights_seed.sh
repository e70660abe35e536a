#!/usr/bin/env bash
# Creates and fills the insights bench database (default `helpcenter_insights_bench` on
# the local PostgreSQL): migrations by the service itself, then
# benches/insights_seed.sql (a year of traffic: 5,000,000 searches). Takes a few
# minutes; re-running drops and recreates the database.
#
#   bash benches/insights_seed.sh        # then: cargo bench --bench insights_reports
set -euo pipefail
cd "$(dirname "$0")/.."
BASE="${HC_BENCH_PG:-postgres://postgres:postgres@127.0.0.1:5432}"
DB="${HC_INSIGHTS_BENCH_DB:-helpcenter_insights_bench}"
bash scripts/pg-up.sh >/dev/null
psql -X -q -v ON_ERROR_STOP=1 "$BASE/postgres" -c "drop database if exists \"$DB\" with (force)"
# `users set-role` creates the database if missing and runs the migrations first; the
# profile it makes an agent is the one the bench reads the reports as.
DATABASE_URL="$BASE/$DB" cargo run --quiet -- users set-role 00000000-0000-4000-9000-000000000001 agent
psql -X -v ON_ERROR_STOP=1 "$BASE/$DB" -f benches/insights_seed.sql
