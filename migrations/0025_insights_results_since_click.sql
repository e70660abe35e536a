-- The unopened report's walk (0023) starts from the queries with the most searches
-- since their last click. Queries that always find nothing are never clicked, so they
-- hold the largest counts, yet the report never lists them (it lists queries that
-- found articles): on a help center with many such misses they would fill the walk's
-- first round and send it back to summing the whole range. A review noted it.
--
-- insight_queries.results_since_click counts the searches that found something on the
-- days after the last click: exactly
--     sum(searches - zero_results) of its insight_query_days rows with day > last_click_day.
-- A query listed for a range ending after its last click found something in it, so it
-- has a count above 0 here; the walk skips the others. Kept where 0023 and 0024 keep
-- searches_since_click: the day rollup's statement triggers and the retention.

alter table public.insight_queries
    add column if not exists results_since_click integer not null default 0;

update public.insight_queries q set results_since_click = x.results
from (select d.query_id, sum(d.searches - d.zero_results)::integer as results
      from public.insight_query_days d
      join public.insight_queries q2 on q2.id = d.query_id
      where d.day > coalesce(q2.last_click_day, '-infinity'::date)
      group by d.query_id) x
where x.query_id = q.id;

drop index if exists public.insight_queries_unclicked_idx;
create index if not exists insight_queries_unclicked_found_idx
    on public.insight_queries (searches_since_click desc, id) include (last_click_day)
    where searches_since_click > 0 and results_since_click > 0;

create or replace function public.insight_query_days_track()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    update public.insight_queries q
    set last_click_day = greatest(q.last_click_day, x.clicked),
        searches_since_click = coalesce(s.searches, 0),
        results_since_click = coalesce(s.results, 0)
    from (select c.query_id, max(c.day) filter (where c.clicks > 0) as clicked
          from changed c group by c.query_id) x
    cross join lateral (
        select sum(d.searches) as searches, sum(d.searches - d.zero_results) as results
        from public.insight_query_days d
        where d.query_id = x.query_id
          and d.day > coalesce(
              greatest((select q2.last_click_day from public.insight_queries q2
                        where q2.id = x.query_id), x.clicked),
              '-infinity'::date)
    ) s
    where q.id = x.query_id;
    return null;
end
$$;
revoke all on function public.insight_query_days_track() from public, anon, authenticated, authenticator;

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
    delete from public.insight_session_days where day < v_day;
    get diagnostics v_n = row_count; v_deleted := v_deleted + v_n;

    -- The query rows whose old days go, locked in the batches' order (by text), so
    -- that no batch changes their days before their counts are found again.
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
        searches_since_click = coalesce(s.searches, 0),
        results_since_click = coalesce(s.results, 0)
    from (select t.id, (select max(d.day) from public.insight_query_days d
                        where d.query_id = t.id and d.clicks > 0) as day
          from unnest(v_touched) as t(id)) k
    cross join lateral (
        select sum(d.searches) as searches, sum(d.searches - d.zero_results) as results
        from public.insight_query_days d
        where d.query_id = k.id and d.day > coalesce(k.day, '-infinity'::date)
    ) s
    where q.id = k.id;

    delete from public.insight_days where day < v_day;
    get diagnostics v_n = row_count; v_deleted := v_deleted + v_n;
    -- Query texts no day counts any more.
    delete from public.insight_queries q
    where not exists (select 1 from public.insight_query_days d where d.query_id = q.id);
    return v_deleted;
end
$$;
revoke all on function public.hc_forget_insights(integer) from public, anon, authenticated;
grant execute on function public.hc_forget_insights(integer) to authenticator;
