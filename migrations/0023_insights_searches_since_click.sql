-- The report of queries whose results nobody opens, on short and middle ranges (issue
-- 17: 209 ms over 30 days and 560 ms over 90 days of 5,000,000 searches, because its
-- top rows are tail queries and it summed every (day, query) row of the range).
--
-- insight_queries.searches_since_click counts a query's searches on the days after its
-- last click (all its days when it has none): exactly
--     sum(searches) of its insight_query_days rows with day > last_click_day.
-- For a range that ends today, a query without a click in the range is one whose last
-- click lies before the range, and all its searches in the range fall on days after
-- that click: so this count bounds its searches in the range from above. The report
-- walks such queries from the largest count down, sums the range for them only, and
-- stops once the page's last row has more searches in the range than any query left
-- can have (src/insights/unopened.rs).
--
-- Kept by triggers on the day rollup, which run inside hc_record_insights after
-- the batch has locked its query rows (its upsert into insight_queries, in query
-- order); the retention locks the rows it corrects in the same order.

alter table public.insight_queries
    add column if not exists searches_since_click integer not null default 0;

update public.insight_queries q set searches_since_click = x.searches
from (select d.query_id, sum(d.searches)::integer as searches
      from public.insight_query_days d
      join public.insight_queries q2 on q2.id = d.query_id
      where d.day > coalesce(q2.last_click_day, '-infinity'::date)
      group by d.query_id) x
where x.query_id = q.id;

create index if not exists insight_queries_unclicked_idx
    on public.insight_queries (searches_since_click desc, id) include (last_click_day)
    where searches_since_click > 0;

-- Replaces 0021's insight_query_days_mark_click. Statement triggers with the changed
-- rows (row triggers of an `insert ... on conflict` fire only once the statement has
-- written all its rows, so a per-row sum would count later rows twice): for each query
-- a statement touched, last_click_day moves to its newest clicked day, and the count
-- is summed again from the days after it (a few rows: the days since the last click).
create or replace function public.insight_query_days_track()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    update public.insight_queries q
    set last_click_day = greatest(q.last_click_day, x.clicked),
        searches_since_click = coalesce(
            (select sum(d.searches) from public.insight_query_days d
             where d.query_id = q.id
               and d.day > coalesce(greatest(q.last_click_day, x.clicked), '-infinity'::date)),
            0)
    from (select c.query_id, max(c.day) filter (where c.clicks > 0) as clicked
          from changed c group by c.query_id) x
    where q.id = x.query_id;
    return null;
end
$$;
revoke all on function public.insight_query_days_track() from public, anon, authenticated, authenticator;

drop trigger if exists insight_query_days_click_insert on public.insight_query_days;
drop trigger if exists insight_query_days_click_update on public.insight_query_days;
drop function if exists public.insight_query_days_mark_click();
drop trigger if exists insight_query_days_track_insert on public.insight_query_days;
create trigger insight_query_days_track_insert
    after insert on public.insight_query_days
    referencing new table as changed
    for each statement execute function public.insight_query_days_track();
drop trigger if exists insight_query_days_track_update on public.insight_query_days;
create trigger insight_query_days_track_update
    after update on public.insight_query_days
    referencing new table as changed
    for each statement execute function public.insight_query_days_track();

-- The retention as in 0016, and then the last click and the count of every query
-- whose old days it deleted are found again in the days left (a click the retention
-- deleted is no longer a click, for the walk as for a sum over the range). Those query rows are locked first, in
-- the batches' order (by text), so that no batch changes their days in between and
-- the two never wait on each other in opposite orders.
create or replace function public.hc_forget_insights(p_days integer)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
    v_before timestamptz := now() - pg_catalog.make_interval(days => p_days);
    v_day date := (v_before at time zone 'UTC')::date;
    v_deleted bigint := 0;
    v_n bigint;
    v_touched bigint[];
begin
    -- One replica at a time (each runs it hourly); the others skip this round.
    if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('hc_forget_insights')) then
        return 0;
    end if;
    delete from public.insight_searches where at < v_before;
    get diagnostics v_n = row_count; v_deleted := v_deleted + v_n;
    delete from public.insight_clicks where at < v_before;
    get diagnostics v_n = row_count; v_deleted := v_deleted + v_n;
    delete from public.insight_views where at < v_before;
    get diagnostics v_n = row_count; v_deleted := v_deleted + v_n;

    select coalesce(array_agg(l.id), '{}') into v_touched
    from (select q.id from public.insight_queries q
          where q.id in (select distinct d.query_id from public.insight_query_days d
                         where d.day < v_day)
          order by q.query
          for update) l;
    delete from public.insight_query_days where day < v_day;
    get diagnostics v_n = row_count; v_deleted := v_deleted + v_n;
    update public.insight_queries q
    set last_click_day = k.day,
        searches_since_click = coalesce(
            (select sum(d.searches) from public.insight_query_days d
             where d.query_id = q.id and d.day > coalesce(k.day, '-infinity'::date)), 0)
    from (select t.id, (select max(d.day) from public.insight_query_days d
                        where d.query_id = t.id and d.clicks > 0) as day
          from unnest(v_touched) as t(id)) k
    where q.id = k.id;

    delete from public.insight_days where day < v_day;
    get diagnostics v_n = row_count; v_deleted := v_deleted + v_n;
    delete from public.insight_session_days where day < v_day;
    get diagnostics v_n = row_count; v_deleted := v_deleted + v_n;
    -- Query texts no day counts any more.
    delete from public.insight_queries q
    where not exists (select 1 from public.insight_query_days d where d.query_id = q.id);
    return v_deleted;
end
$$;
revoke all on function public.hc_forget_insights(integer) from public, anon, authenticated;
grant execute on function public.hc_forget_insights(integer) to authenticator;
