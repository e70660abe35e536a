#!/usr/bin/env bash
# Database-side cost of each step of an RLS request, without HTTP or the Rust client:
# pgbench, one client, prepared statements, on the seeded benchmark database.
#   bash benches/pgbench/run.sh
# The scripts read as customer 00000000-0000-4000-8000-000000001474 (100 tickets).
set -euo pipefail
cd "$(dirname "$0")"
BASE="${HC_BENCH_PG:-postgres://postgres:postgres@127.0.0.1:5432}"
DB="${HC_BENCH_DB:-helpcenter_bench}"
for s in bare bare_tx tx_only pair_only setup_only pgrst rls; do
  printf '%-11s ' "$s"
  pgbench -n -M prepared -f "$s.sql" -t "${N:-5000}" -c 1 "$BASE/$DB" 2>&1 | grep 'latency average'
done
