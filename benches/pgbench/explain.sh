#!/usr/bin/env bash
# The plans of the statements inside the page functions, with and without RLS, on the
# seeded benchmark database: auto_explain logs nested statements, and psql prints the
# log lines. Each call runs twice; the second shows the cached plan a request gets.
#   bash benches/pgbench/explain.sh
set -euo pipefail
BASE="${HC_BENCH_PG:-postgres://postgres:postgres@127.0.0.1:5432}"
DB="${HC_BENCH_DB:-helpcenter_bench}"
CUSTOMER=00000000-0000-4000-8000-000000001474
CLAIMS="{\"sub\":\"$CUSTOMER\",\"role\":\"authenticated\"}"
TICKET=$(psql -At "$BASE/$DB" -c "select id from public.tickets \
  where requester_id = '$CUSTOMER' order by updated_at desc limit 1")
explain() { # label, statement
  printf '\n--- %s ---\n' "$1"
  # Only the page query's own plan: the log block whose text is the page's select.
  psql -qAt "$BASE/$DB" 2>&1 >/dev/null <<SQL | awk '
    /^LOG:/ { show = 0; next }
    /^Query Text: (select t\.id|select e\.kind)/ { show = 1 }
    show' || true
load 'auto_explain';
set auto_explain.log_min_duration = 0;
set auto_explain.log_analyze = on;
set auto_explain.log_buffers = on;
set auto_explain.log_nested_statements = on;
$2;
set client_min_messages = log;
$2;
SQL
}
explain "list-my-tickets, with RLS" \
  "select * from public.hc_tickets_page('$CLAIMS', null, null, true, null, null, null, 26)"
explain "list-my-tickets, without RLS" \
  "select * from public.tickets_page('$CUSTOMER', false, null, null, true, null, null, null, 26)"
explain "timeline, with RLS" \
  "select * from public.hc_ticket_timeline_page('$CLAIMS', '$TICKET', null, null, 51)"
explain "timeline, without RLS" \
  "select * from public.ticket_timeline_page('$TICKET', null, null, 51, false)"
