-- Indexes for ranking queries over long ranges (migration 0014's rollup, the reports of
-- src/insights/reports.rs): most (day, query) rows of a help center's long tail count
-- one search. A report first ranks the days where a query was searched (or found
-- nothing) at least twice, a small share of the rows, then counts its candidates
-- exactly by query id; a query left out saw at most one search a day, which the report
-- checks before trusting the ranking (else it aggregates every row, as before).

create index if not exists insight_query_days_heavy_idx
    on public.insight_query_days (day) include (query_id, searches)
    where searches >= 2;
create index if not exists insight_query_days_heavy_zero_idx
    on public.insight_query_days (day) include (query_id, zero_results)
    where zero_results >= 2;
create index if not exists insight_query_days_by_query_idx
    on public.insight_query_days (query_id, day) include (searches, zero_results, clicks);
drop index if exists public.insight_query_days_query_idx;
