-- Search insights for writers (issue 17): what customers look for, what they miss, and
-- which searches end in a ticket.
--
-- * public.insight_searches: settled searches (the search page, the last query of an
--   as-you-type burst, ticket suggestions), normalized, with their result count, the
--   top slugs, the filters, where they came from and when. `session` is a random
--   pseudonym the browser tab keeps (never an address); `user_id` is set only for a
--   signed-in reader (never for anonymous visitors).
-- * public.insight_clicks: which result was opened, at which position, for which query.
-- * public.insight_views: article views.
-- * public.insight_query_daily: counts per day and normalized query, kept by the same
--   batch that records the searches and clicks, so that reports over a year of traffic
--   read thousands of rows instead of millions.
-- * article votes gain an optional reason and comment ("Was this helpful?" → no).
-- * public.tickets.insight_session: the session a ticket was opened in; a ticket links
--   to that session's searches and views of the 30 minutes before it.
--
-- Who reads: agents and admins everything; a customer only their own events (those
-- recorded while signed in, and those of the sessions they opened tickets in). Nobody
-- writes the tables directly: only hc_record_insights() (SECURITY DEFINER, granted to
-- the login role the service's batches run as) and the retention function.

create table if not exists public.insight_searches (
    id          bigint generated always as identity primary key,
    at          timestamptz not null,
    session     text not null check (char_length(session) between 8 and 64),
    user_id     uuid,
    query       text not null check (char_length(query) <= 512),
    results     integer not null check (results >= 0),
    top_slugs   text[] not null default '{}',
    category    text check (category is null or char_length(category) <= 300),
    tags        text[] not null default '{}',
    source      text not null check (source in ('page', 'api', 'suggestions'))
);

create table if not exists public.insight_clicks (
    id        bigint generated always as identity primary key,
    at        timestamptz not null,
    session   text not null check (char_length(session) between 8 and 64),
    user_id   uuid,
    query     text not null check (char_length(query) <= 512),
    slug      text not null check (char_length(slug) between 1 and 512),
    position  integer not null check (position >= 0)
);

create table if not exists public.insight_views (
    id        bigint generated always as identity primary key,
    at        timestamptz not null,
    session   text not null check (char_length(session) between 8 and 64),
    user_id   uuid,
    slug      text not null check (char_length(slug) between 1 and 512)
);

create table if not exists public.insight_query_daily (
    day           date not null,
    query         text not null check (char_length(query) <= 512),
    searches      integer not null default 0,
    zero_results  integer not null default 0,
    clicks        integer not null default 0,
    last_seen     timestamptz not null,
    primary key (day, query)
);

create index if not exists insight_searches_at_idx on public.insight_searches (at);
create index if not exists insight_searches_session_idx on public.insight_searches (session, at);
create index if not exists insight_searches_user_idx on public.insight_searches (user_id, at)
    where user_id is not null;
create index if not exists insight_searches_zero_idx on public.insight_searches (query, at)
    where results = 0;
create index if not exists insight_clicks_at_idx on public.insight_clicks (at);
create index if not exists insight_clicks_session_idx on public.insight_clicks (session, at);
create index if not exists insight_views_at_idx on public.insight_views (at);
create index if not exists insight_views_session_idx on public.insight_views (session, at);
create index if not exists insight_query_daily_query_idx on public.insight_query_daily (query, day);

alter table public.tickets
    add column if not exists insight_session text
    check (insight_session is null or char_length(insight_session) between 8 and 64);
create index if not exists tickets_insight_session_idx on public.tickets (insight_session)
    where insight_session is not null;
grant insert (insight_session) on public.tickets to authenticated;

alter table public.article_feedback
    add column if not exists reason text
        check (reason is null or reason in ('outdated', 'unclear', 'incomplete', 'not-my-question', 'other')),
    add column if not exists comment text
        check (comment is null or char_length(comment) <= 500);
alter table public.article_feedback_anonymous
    add column if not exists reason text
        check (reason is null or reason in ('outdated', 'unclear', 'incomplete', 'not-my-question', 'other')),
    add column if not exists comment text
        check (comment is null or char_length(comment) <= 500);
grant insert (reason, comment) on public.article_feedback to authenticated;
grant update (reason, comment) on public.article_feedback to authenticated;

alter table public.insight_searches enable row level security;
alter table public.insight_searches force row level security;
alter table public.insight_clicks enable row level security;
alter table public.insight_clicks force row level security;
alter table public.insight_views enable row level security;
alter table public.insight_views force row level security;
alter table public.insight_query_daily enable row level security;
alter table public.insight_query_daily force row level security;

revoke all on public.insight_searches, public.insight_clicks, public.insight_views,
    public.insight_query_daily from public, anon, authenticated;
grant select on public.insight_searches, public.insight_clicks, public.insight_views,
    public.insight_query_daily to authenticated;

-- The sessions the caller opened tickets in: their events are the caller's own data.
-- An uncorrelated subquery, planned once per statement (not once per row).
drop policy if exists insight_searches_select on public.insight_searches;
create policy insight_searches_select on public.insight_searches
    for select to authenticated
    using (
        user_id = (select auth.uid())
        or session in (select t.insight_session from public.tickets t
                       where t.requester_id = (select auth.uid()) and t.insight_session is not null)
        or (select public.is_staff())
    );

drop policy if exists insight_clicks_select on public.insight_clicks;
create policy insight_clicks_select on public.insight_clicks
    for select to authenticated
    using (
        user_id = (select auth.uid())
        or session in (select t.insight_session from public.tickets t
                       where t.requester_id = (select auth.uid()) and t.insight_session is not null)
        or (select public.is_staff())
    );

drop policy if exists insight_views_select on public.insight_views;
create policy insight_views_select on public.insight_views
    for select to authenticated
    using (
        user_id = (select auth.uid())
        or session in (select t.insight_session from public.tickets t
                       where t.requester_id = (select auth.uid()) and t.insight_session is not null)
        or (select public.is_staff())
    );

-- Aggregates of everyone's queries: staff only.
drop policy if exists insight_query_daily_select on public.insight_query_daily;
create policy insight_query_daily_select on public.insight_query_daily
    for select to authenticated
    using ((select public.is_staff()));

-- Records one batch of events (a JSON array of {"kind": "search"|"click"|"view", ...})
-- and adds its searches and clicks to the daily counts, in one transaction.
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

    insert into public.insight_query_daily as d (day, query, searches, zero_results, clicks, last_seen)
    select ((e->>'at')::timestamptz at time zone 'UTC')::date, e->>'query',
           count(*) filter (where e->>'kind' = 'search'),
           count(*) filter (where e->>'kind' = 'search' and (e->>'results')::integer = 0),
           count(*) filter (where e->>'kind' = 'click'),
           max((e->>'at')::timestamptz)
    from jsonb_array_elements(p_events) e
    where e->>'kind' in ('search', 'click')
    group by 1, 2
    on conflict (day, query) do update
        set searches = d.searches + excluded.searches,
            zero_results = d.zero_results + excluded.zero_results,
            clicks = d.clicks + excluded.clicks,
            last_seen = greatest(d.last_seen, excluded.last_seen);

    select jsonb_array_length(p_events) into v_count;
    return v_count;
end
$$;

-- Deletes what is older than the retention period (days), in every insight table.
create or replace function public.hc_forget_insights(p_days integer)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
    v_before timestamptz := now() - pg_catalog.make_interval(days => p_days);
    v_deleted bigint := 0;
    v_n bigint;
begin
    delete from public.insight_searches where at < v_before;
    get diagnostics v_n = row_count; v_deleted := v_deleted + v_n;
    delete from public.insight_clicks where at < v_before;
    get diagnostics v_n = row_count; v_deleted := v_deleted + v_n;
    delete from public.insight_views where at < v_before;
    get diagnostics v_n = row_count; v_deleted := v_deleted + v_n;
    delete from public.insight_query_daily where day < (v_before at time zone 'UTC')::date;
    get diagnostics v_n = row_count; v_deleted := v_deleted + v_n;
    return v_deleted;
end
$$;

revoke all on function public.hc_record_insights(jsonb) from public, anon, authenticated;
revoke all on function public.hc_forget_insights(integer) from public, anon, authenticated;
grant execute on function public.hc_record_insights(jsonb) to authenticator;
grant execute on function public.hc_forget_insights(integer) to authenticator;

-- An anonymous vote with the reason and comment of a "no" (0005's function, which it
-- calls, still counts the client's votes per hour).
create or replace function public.hc_vote_anonymously(
    p_slug text,
    p_client_key text,
    p_helpful boolean,
    p_per_hour integer,
    p_reason text,
    p_comment text
)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
    perform public.hc_vote_anonymously(p_slug, p_client_key, p_helpful, p_per_hour);
    update public.article_feedback_anonymous f
       set reason = p_reason, comment = p_comment
     where f.id = (select max(g.id) from public.article_feedback_anonymous g
                   where g.client_key = p_client_key and g.article_slug = p_slug);
end
$$;

revoke all on function public.hc_vote_anonymously(text, text, boolean, integer, text, text)
    from public, authenticated;
grant execute on function public.hc_vote_anonymously(text, text, boolean, integer, text, text) to anon;
