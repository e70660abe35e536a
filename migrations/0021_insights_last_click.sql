-- The report of queries whose results nobody opens, on long ranges (issue 17: 2.5 s
-- over 365 days of 5,000,000 searches; its ranking summed every (day, query) row of
-- the range, since a query clicked on any day of it is left out).
--
-- For a range that ends today, a query had no click in it exactly when its last click
-- lies before the range. insight_queries.last_click_day keeps that day (a trigger on
-- the day rollup, whenever a (day, query) row gets its first click), so the report
-- starts from the few queries not clicked since `from` (5,408 at 365 days on the bench
-- data: 50 ms) when they are few; otherwise it sums the range as before. The ranking
-- still checks every candidate's clicks in the range, so a stale day can only add a
-- candidate, never hide one.

alter table public.insight_queries add column if not exists last_click_day date;
update public.insight_queries q set last_click_day = x.day
from (select query_id, max(day) as day from public.insight_query_days
      where clicks > 0 group by query_id) x
where x.query_id = q.id;
create index if not exists insight_queries_last_click_idx
    on public.insight_queries (last_click_day);

-- Runs inside hc_record_insights, which has already locked the batch's query rows (its
-- upsert into insight_queries, in query order), so no new lock order arises.
create or replace function public.insight_query_days_mark_click()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    update public.insight_queries q set last_click_day = new.day
    where q.id = new.query_id and (q.last_click_day is null or q.last_click_day < new.day);
    return null;
end
$$;
revoke all on function public.insight_query_days_mark_click() from public, anon, authenticated, authenticator;

drop trigger if exists insight_query_days_click_insert on public.insight_query_days;
create trigger insight_query_days_click_insert
    after insert on public.insight_query_days
    for each row when (new.clicks > 0)
    execute function public.insight_query_days_mark_click();
drop trigger if exists insight_query_days_click_update on public.insight_query_days;
create trigger insight_query_days_click_update
    after update of clicks on public.insight_query_days
    for each row when (new.clicks > 0 and old.clicks = 0)
    execute function public.insight_query_days_mark_click();
