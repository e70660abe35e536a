-- Rollups that keep the insights reports under 200 ms on a year of traffic (measured
-- with 5,000,000 searches: benches/insights_seed.sh, cargo bench --bench
-- insights_reports). 0013's per-day rollup keyed by the query's text made a 30-day
-- report aggregate ~340,000 text keys (0.5 s); here:
--
-- * public.insight_queries: each normalized query once, with an integer id.
-- * public.insight_query_days: counts per day and query id, with a covering index on
--   the day, so a range is an index-only scan aggregated on integers; the texts of the
--   page's rows only are looked up.
-- * public.insight_days: one row per day (searches, zero results, clicks, sessions,
--   sessions that opened a ticket): the daily chart and the deflection report read
--   at most a row per day.
-- * public.insight_session_days: each session once per day, and whether it opened a
--   ticket that day (what insight_days counts).
--
-- hc_record_insights keeps them all; a trigger on tickets marks the ticket's session.
-- 0013's insight_query_daily is folded in and dropped.

create table if not exists public.insight_queries (
    id    bigint generated always as identity primary key,
    query text not null unique check (char_length(query) <= 512)
);

create table if not exists public.insight_query_days (
    day           date not null,
    query_id      bigint not null references public.insight_queries (id) on delete cascade,
    searches      integer not null default 0,
    zero_results  integer not null default 0,
    clicks        integer not null default 0,
    last_seen     timestamptz not null,
    primary key (day, query_id)
);
create index if not exists insight_query_days_cover_idx
    on public.insight_query_days (day) include (query_id, searches, zero_results, clicks);
create index if not exists insight_query_days_query_idx on public.insight_query_days (query_id);

create table if not exists public.insight_days (
    day                   date primary key,
    searches              integer not null default 0,
    zero_results          integer not null default 0,
    clicks                integer not null default 0,
    sessions              integer not null default 0,
    sessions_with_ticket  integer not null default 0
);

create table if not exists public.insight_session_days (
    day      date not null,
    session  text not null check (char_length(session) between 8 and 64),
    ticket   boolean not null default false,
    primary key (day, session)
);

-- What 0013 recorded, folded into the new rollups.
insert into public.insight_queries (query)
select distinct query from public.insight_query_daily
on conflict (query) do nothing;
insert into public.insight_query_days (day, query_id, searches, zero_results, clicks, last_seen)
select d.day, q.id, d.searches, d.zero_results, d.clicks, d.last_seen
from public.insight_query_daily d join public.insight_queries q on q.query = d.query
on conflict (day, query_id) do nothing;
insert into public.insight_session_days (day, session)
select distinct (at at time zone 'UTC')::date, session from public.insight_searches
union
select distinct (at at time zone 'UTC')::date, session from public.insight_views
on conflict do nothing;
update public.insight_session_days sd set ticket = true
from public.tickets t
where t.insight_session = sd.session and (t.created_at at time zone 'UTC')::date = sd.day;
insert into public.insight_days (day, searches, zero_results, clicks)
select day, sum(searches), sum(zero_results), sum(clicks)
from public.insight_query_days group by day
on conflict (day) do nothing;
update public.insight_days d
set sessions = s.n, sessions_with_ticket = s.t
from (select day, count(*) as n, count(*) filter (where ticket) as t
      from public.insight_session_days group by day) s
where s.day = d.day;
drop table if exists public.insight_query_daily;

alter table public.insight_queries enable row level security;
alter table public.insight_queries force row level security;
alter table public.insight_query_days enable row level security;
alter table public.insight_query_days force row level security;
alter table public.insight_days enable row level security;
alter table public.insight_days force row level security;
alter table public.insight_session_days enable row level security;
alter table public.insight_session_days force row level security;
revoke all on public.insight_queries, public.insight_query_days, public.insight_days,
    public.insight_session_days from public, anon, authenticated;
grant select on public.insight_queries, public.insight_query_days, public.insight_days,
    public.insight_session_days to authenticated;

-- Aggregates of everyone's searches: staff only.
drop policy if exists insight_queries_select on public.insight_queries;
create policy insight_queries_select on public.insight_queries
    for select to authenticated using ((select public.is_staff()));
drop policy if exists insight_query_days_select on public.insight_query_days;
create policy insight_query_days_select on public.insight_query_days
    for select to authenticated using ((select public.is_staff()));
drop policy if exists insight_days_select on public.insight_days;
create policy insight_days_select on public.insight_days
    for select to authenticated using ((select public.is_staff()));
drop policy if exists insight_session_days_select on public.insight_session_days;
create policy insight_session_days_select on public.insight_session_days
    for select to authenticated using ((select public.is_staff()));

-- Counts a session's day once, and whether it opened a ticket that day, in
-- insight_days. Called with the service's privileges (the recorder, the ticket trigger).
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
        insert into public.insight_session_days as sd (day, session, ticket)
        select day, session, p_ticket from input
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
    select day, new_sessions, new_tickets from per_day
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

    insert into public.insight_queries (query)
    select distinct e->>'query' from jsonb_array_elements(p_events) e
    where e->>'kind' in ('search', 'click')
    on conflict (query) do nothing;

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
    on conflict (day) do update
        set searches = dd.searches + excluded.searches,
            zero_results = dd.zero_results + excluded.zero_results,
            clicks = dd.clicks + excluded.clicks;

    -- One aggregate pass, so the two arrays stay aligned element by element.
    perform public.hc_count_session_days(x.days, x.sessions, false)
    from (select array_agg(((e->>'at')::timestamptz at time zone 'UTC')::date) as days,
                 array_agg(e->>'session') as sessions
          from jsonb_array_elements(p_events) e
          where e->>'kind' in ('search', 'view')) x
    where x.days is not null;

    select jsonb_array_length(p_events) into v_count;
    return v_count;
end
$$;

-- A ticket opened from a recorded session marks that session's day.
create or replace function public.hc_ticket_marks_session_day()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform public.hc_count_session_days(
        array[(new.created_at at time zone 'UTC')::date], array[new.insight_session], true);
    return null;
end
$$;
drop trigger if exists tickets_mark_insight_session on public.tickets;
create trigger tickets_mark_insight_session
    after insert on public.tickets
    for each row when (new.insight_session is not null)
    execute function public.hc_ticket_marks_session_day();

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
