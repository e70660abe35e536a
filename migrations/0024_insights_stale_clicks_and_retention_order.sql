-- Two mends to 0023, found by a review.
--
-- 1. Before 0023 the retention deleted old click rows but left
--    insight_queries.last_click_day pointing at them. The unopened report's walk reads
--    "last click before the range" as "no click in it", which a deleted click makes
--    wrong (a query clicked 100 days ago and searched 10 days ago would be left out of
--    a 365-day range, while a sum over the rows kept lists it). The last click day is
--    found again in the rows kept, and the counts after it summed again.
-- 2. 0023's retention locked the query rows before it deleted the day totals and the
--    session days, which a batch locks in the other order (its session days first,
--    then its query rows, then the day totals). Now in the batch's order: session
--    days, query rows, their day rows, the day totals.

update public.insight_queries q
set last_click_day = k.day,
    searches_since_click = coalesce(
        (select sum(d.searches) from public.insight_query_days d
         where d.query_id = q.id and d.day > coalesce(k.day, '-infinity'::date)), 0)
from (select q2.id,
             (select max(d.day) from public.insight_query_days d
              where d.query_id = q2.id and d.clicks > 0) as day
      from public.insight_queries q2) k
where k.id = q.id
  and (q.last_click_day is distinct from k.day
       or q.searches_since_click <> coalesce(
           (select sum(d.searches) from public.insight_query_days d
            where d.query_id = q.id and d.day > coalesce(k.day, '-infinity'::date)), 0));

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
        searches_since_click = coalesce(
            (select sum(d.searches) from public.insight_query_days d
             where d.query_id = q.id and d.day > coalesce(k.day, '-infinity'::date)), 0)
    from (select t.id, (select max(d.day) from public.insight_query_days d
                        where d.query_id = t.id and d.clicks > 0) as day
          from unnest(v_touched) as t(id)) k
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
