-- Fixes to the insights rollups after review (migrations 0013, 0014):
--
-- * Lock order: the recording batch now counts its sessions' days before the day's
--   totals, as the ticket trigger does, and every upsert inserts in key order, so a
--   batch, another replica's batch and a ticket never wait on each other in opposite
--   orders (a deadlock would have failed a ticket's creation).
-- * The batch's query texts are locked for its transaction, so the retention cannot
--   delete one between the text's insert and its day's counts.
-- * The retention runs on one replica at a time (an advisory lock; the others skip).
-- * A customer reads a session's events through a ticket of theirs only when the events
--   carry no user id (recorded signed out): another user's signed-in searches stay
--   theirs even if a ticket names that session.

create or replace function public.hc_count_session_days(p_days date[], p_sessions text[], p_ticket boolean)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
    with input as (
        select distinct d as day, s as session
        from unnest(p_days, p_sessions) as u(d, s)
    ),
    changed as (
        -- In key order: two batches (two replicas) lock their rows in the same order.
        insert into public.insight_session_days as sd (day, session, ticket)
        select day, session, p_ticket from input order by day, session
        on conflict (day, session) do update set ticket = true
            where p_ticket and not sd.ticket
        returning sd.day, (xmax = 0) as fresh
    ),
    per_day as (
        select day,
               count(*) filter (where fresh) as new_sessions,
               count(*) filter (where p_ticket) as new_tickets
        from changed group by day
    )
    insert into public.insight_days as dd (day, sessions, sessions_with_ticket)
    select day, new_sessions, new_tickets from per_day order by day
    on conflict (day) do update
        set sessions = dd.sessions + excluded.sessions,
            sessions_with_ticket = dd.sessions_with_ticket + excluded.sessions_with_ticket;
end
$$;
revoke all on function public.hc_count_session_days(date[], text[], boolean) from public, anon, authenticated;

create or replace function public.hc_record_insights(p_events jsonb)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
    v_count integer;
begin
    insert into public.insight_searches (at, session, user_id, query, results, top_slugs, category, tags, source)
    select (e->>'at')::timestamptz, e->>'session', (e->>'user_id')::uuid, e->>'query',
           (e->>'results')::integer,
           coalesce(array(select jsonb_array_elements_text(e->'top_slugs')), '{}'),
           e->>'category',
           coalesce(array(select jsonb_array_elements_text(e->'tags')), '{}'),
           e->>'source'
    from jsonb_array_elements(p_events) e
    where e->>'kind' = 'search';

    insert into public.insight_clicks (at, session, user_id, query, slug, position)
    select (e->>'at')::timestamptz, e->>'session', (e->>'user_id')::uuid, e->>'query',
           e->>'slug', (e->>'position')::integer
    from jsonb_array_elements(p_events) e
    where e->>'kind' = 'click';

    insert into public.insight_views (at, session, user_id, slug)
    select (e->>'at')::timestamptz, e->>'session', (e->>'user_id')::uuid, e->>'slug'
    from jsonb_array_elements(p_events) e
    where e->>'kind' = 'view';

    -- Sessions' days first, as the ticket trigger does (session rows, then the day's
    -- totals): the two never wait on each other in opposite orders.
    -- One aggregate pass, so the two arrays stay aligned element by element.
    perform public.hc_count_session_days(x.days, x.sessions, false)
    from (select array_agg(((e->>'at')::timestamptz at time zone 'UTC')::date) as days,
                 array_agg(e->>'session') as sessions
          from jsonb_array_elements(p_events) e
          where e->>'kind' in ('search', 'view')) x
    where x.days is not null;


    -- The batch's query texts, locked for this transaction (an update of a row that
    -- exists): the retention cannot delete one between here and its day's counts.
    insert into public.insight_queries as iq (query)
    select distinct e->>'query' from jsonb_array_elements(p_events) e
    where e->>'kind' in ('search', 'click')
    order by 1
    on conflict (query) do update set query = iq.query;

    insert into public.insight_query_days as d (day, query_id, searches, zero_results, clicks, last_seen)
    select ((e->>'at')::timestamptz at time zone 'UTC')::date, q.id,
           count(*) filter (where e->>'kind' = 'search'),
           count(*) filter (where e->>'kind' = 'search' and (e->>'results')::integer = 0),
           count(*) filter (where e->>'kind' = 'click'),
           max((e->>'at')::timestamptz)
    from jsonb_array_elements(p_events) e
    join public.insight_queries q on q.query = e->>'query'
    where e->>'kind' in ('search', 'click')
    group by 1, 2
    order by 1, 2
    on conflict (day, query_id) do update
        set searches = d.searches + excluded.searches,
            zero_results = d.zero_results + excluded.zero_results,
            clicks = d.clicks + excluded.clicks,
            last_seen = greatest(d.last_seen, excluded.last_seen);

    insert into public.insight_days as dd (day, searches, zero_results, clicks)
    select ((e->>'at')::timestamptz at time zone 'UTC')::date,
           count(*) filter (where e->>'kind' = 'search'),
           count(*) filter (where e->>'kind' = 'search' and (e->>'results')::integer = 0),
           count(*) filter (where e->>'kind' = 'click')
    from jsonb_array_elements(p_events) e
    where e->>'kind' in ('search', 'click')
    group by 1
    order by 1
    on conflict (day) do update
        set searches = dd.searches + excluded.searches,
            zero_results = dd.zero_results + excluded.zero_results,
            clicks = dd.clicks + excluded.clicks;

    select jsonb_array_length(p_events) into v_count;
    return v_count;
end
$$;

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
    delete from public.insight_query_days where day < v_day;
    get diagnostics v_n = row_count; v_deleted := v_deleted + v_n;
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

drop policy if exists insight_searches_select on public.insight_searches;
create policy insight_searches_select on public.insight_searches
    for select to authenticated
    using (
        user_id = (select auth.uid())
        or (user_id is null
            and session in (select t.insight_session from public.tickets t
                            where t.requester_id = (select auth.uid())
                              and t.insight_session is not null))
        or (select public.is_staff())
    );

drop policy if exists insight_clicks_select on public.insight_clicks;
create policy insight_clicks_select on public.insight_clicks
    for select to authenticated
    using (
        user_id = (select auth.uid())
        or (user_id is null
            and session in (select t.insight_session from public.tickets t
                            where t.requester_id = (select auth.uid())
                              and t.insight_session is not null))
        or (select public.is_staff())
    );

drop policy if exists insight_views_select on public.insight_views;
create policy insight_views_select on public.insight_views
    for select to authenticated
    using (
        user_id = (select auth.uid())
        or (user_id is null
            and session in (select t.insight_session from public.tickets t
                            where t.requester_id = (select auth.uid())
                              and t.insight_session is not null))
        or (select public.is_staff())
    );
