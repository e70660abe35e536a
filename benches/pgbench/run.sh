#!/usr/bin/env bash
# Database-side cost of each step of an RLS request, without HTTP or the Rust client:
# pgbench, one client, prepared statements, on the seeded benchmark database.
#   bash benches/pgbench/run.sh
# The scripts read as customer 00000000-0000-4000-8000-000000001474 (100 tickets);
# the timeline ones read that customer's newest ticket.
set -euo pipefail
cd "$(dirname "$0")"
BASE="${HC_BENCH_PG:-postgres://postgres:postgres@127.0.0.1:5432}"
DB="${HC_BENCH_DB:-helpcenter_bench}"
TICKET=$(psql -At "$BASE/$DB" -c "select id from public.tickets \
  where requester_id = '00000000-0000-4000-8000-000000001474' order by updated_at desc limit 1")
# What the service runs today: page_rls / timeline_rls (one statement each), against
# the same page functions without RLS (page_fn / timeline_fn) and the bare list query.
# The older steps show what a transaction-per-request design costs.
for s in bare page_fn page_rls timeline_fn timeline_rls \
         bare_tx tx_only pair_only setup_only pgrst rls; do
  printf '%-13s ' "$s"
  pgbench -n -M prepared -D ticket="$TICKET" -f "$s.sql" -t "${N:-5000}" -c 1 "$BASE/$DB" 2>&1 \
    | grep 'latency average'
done
