-- One statement per read request.
--
-- A read used to be BEGIN; select hc_request_setup($claims); the query; and a
-- queued ROLLBACK: three round trips where the same read without RLS is one.
-- sqlx cannot pipeline them, and round trips, not policies, were most of the
-- RLS overhead (docs/tickets-performance.md). The two hottest reads, a page of
-- tickets and a page of a ticket's timeline, now run as ONE statement:
--
--   select * from public.hc_tickets_page($claims, ...filters)
--
-- The hc_* wrapper does exactly what the transaction did: hc_request_setup
-- sets `request.jwt.claims` and `role = authenticated` transaction-locally
-- (the statement's own transaction), creates the caller's profile on first
-- sight and gives the caller's role; then it runs the page function, so the
-- page's query is planned and executed as `authenticated`, under the
-- policies. When the statement ends, its transaction ends and the role and
-- claims with it.
--
-- The page functions (tickets_page, ticket_timeline_page) hold the queries
-- themselves, one static query per shape so that each keeps a cached plan.
-- They are SECURITY INVOKER: under RLS for `authenticated`, unrestricted for
-- the owner (the benchmark's baseline calls them directly, so both sides of
-- the comparison run the same queries).

create or replace function public.tickets_page(
    p_user         uuid,
    p_staff        boolean,
    p_status       text,
    p_pattern      text,
    p_any_assignee boolean,
    p_assignee     uuid,
    p_after_at     timestamptz,
    p_after_id     uuid,
    p_limit        integer
)
returns table (
    id uuid, subject text, status text, priority text, category text,
    requester_id uuid, assignee_id uuid, created_at timestamptz, updated_at timestamptz
)
language plpgsql
stable
as $$
#variable_conflict use_column
declare
    -- Keyset pagination: the first page starts after the largest possible key, so
    -- the same row comparison serves every page as an index condition.
    v_after_at timestamptz := coalesce(p_after_at, 'infinity');
    v_after_id uuid := coalesce(p_after_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff');
    v_sql      text;
begin
    -- The common pages get static queries, whose plans PL/pgSQL keeps: an index
    -- scan in (updated_at, id) order that stops after p_limit rows.
    if p_status is null and p_pattern is null then
        if not p_staff and p_any_assignee then
            -- RLS already limits customers to their own rows; saying so lets the
            -- planner walk tickets_requester_updated_idx.
            return query
            select t.id, t.subject, t.status, t.priority, t.category,
                   t.requester_id, t.assignee_id, t.created_at, t.updated_at
            from public.tickets t
            where t.requester_id = p_user
              and (t.updated_at, t.id) < (v_after_at, v_after_id)
            order by t.updated_at desc, t.id desc
            limit p_limit;
            return;
        elsif p_staff and p_any_assignee then
            return query
            select t.id, t.subject, t.status, t.priority, t.category,
                   t.requester_id, t.assignee_id, t.created_at, t.updated_at
            from public.tickets t
            where (t.updated_at, t.id) < (v_after_at, v_after_id)
            order by t.updated_at desc, t.id desc
            limit p_limit;
            return;
        elsif p_staff and p_assignee is not null then
            return query
            select t.id, t.subject, t.status, t.priority, t.category,
                   t.requester_id, t.assignee_id, t.created_at, t.updated_at
            from public.tickets t
            where t.assignee_id = p_assignee
              and (t.updated_at, t.id) < (v_after_at, v_after_id)
            order by t.updated_at desc, t.id desc
            limit p_limit;
            return;
        end if;
    end if;

    -- Filtered pages: one query per combination of filters, from fixed fragments,
    -- every value a parameter, planned for the values at hand (a cached generic
    -- plan cannot tell how selective an optional filter is).
    v_sql := 'select t.id, t.subject, t.status, t.priority, t.category, '
          || 't.requester_id, t.assignee_id, t.created_at, t.updated_at '
          || 'from public.tickets t where (t.updated_at, t.id) < ($1, $2)';
    if not p_staff then
        v_sql := v_sql || ' and t.requester_id = $3';
    end if;
    if p_status is not null then
        v_sql := v_sql || ' and t.status = $4';
    end if;
    if p_pattern is not null then
        v_sql := v_sql || ' and t.subject ilike $5 escape ''\''';
    end if;
    if not p_any_assignee then
        if p_assignee is null then
            v_sql := v_sql || ' and t.assignee_id is null';
        else
            v_sql := v_sql || ' and t.assignee_id = $6';
        end if;
    end if;
    v_sql := v_sql || ' order by t.updated_at desc, t.id desc limit $7';
    return query execute v_sql
        using v_after_at, v_after_id, p_user, p_status, p_pattern, p_assignee, p_limit;
end
$$;

-- The timeline: messages (internal notes only when p_staff; RLS hides them from
-- customers anyway) and status changes, oldest first, after the cursor
-- (created_at, sort_key). The outer `left join lateral` keeps one row with null
-- columns for a visible ticket without (more) entries and none for an invisible
-- one, so "not found" needs no second query.
create or replace function public.ticket_timeline_page(
    p_ticket    uuid,
    p_after_at  timestamptz,
    p_after_key text,
    p_limit     integer,
    p_staff     boolean
)
returns table (
    kind text, sort_key text, id text, author_id uuid, author_name text, body text,
    internal boolean, from_status text, to_status text, created_at timestamptz
)
language plpgsql
stable
as $$
#variable_conflict use_column
declare
    v_after_at  timestamptz := coalesce(p_after_at, '-infinity');
    v_after_key text := coalesce(p_after_key, '');
begin
    return query
    select e.kind, e.sort_key, e.id, e.author_id, n.display_name, e.body, e.internal,
           e.from_status, e.to_status, e.created_at
    from (select t.id from public.tickets t where t.id = p_ticket) t
    left join lateral (
        select u.* from (
            select 'message'::text as kind, '0' || m.id::text as sort_key, m.id::text as id,
                   m.author_id, m.body, m.internal, null::text as from_status,
                   null::text as to_status, m.created_at
            from public.ticket_messages m
            where m.ticket_id = t.id and (not m.internal or p_staff)
            union all
            select 'status_change', '1' || lpad(s.id::text, 20, '0'), s.id::text, s.changed_by,
                   null, null, s.from_status, s.to_status, s.created_at
            from public.ticket_status_changes s
            where s.ticket_id = t.id
        ) u
        where (u.created_at, u.sort_key) > (v_after_at, v_after_key)
        order by u.created_at, u.sort_key
        limit p_limit
    ) e on true
    left join public.ticket_participant_names(p_ticket) n on n.id = e.author_id
    order by e.created_at, e.sort_key;
end
$$;

-- The request set-up inside a statement: what hc_request_setup does, returning
-- just the role. The common case (a known profile) skips hc_request_setup's
-- set-returning call: measured with pgbench, 0.013 ms of a 0.13 ms page. Every
-- function on this path sets search_path = '' alike: a helper with a different
-- search_path made PostgreSQL re-plan the caller's cached page query on every
-- call (0.41 ms instead of 0.12).
create or replace function public.hc_enter(p_claims text)
returns text
language plpgsql
volatile
set search_path = ''
as $$
declare
    v_role text;
begin
    perform pg_catalog.set_config('request.jwt.claims', p_claims, true),
            pg_catalog.set_config('role', 'authenticated', true);
    v_role := public.current_user_role();
    if v_role is null then
        -- First sight (creates the profile) or claims without `sub` (P0401).
        select s.role into v_role from public.hc_request_setup(p_claims) s;
    end if;
    return v_role;
end
$$;

-- The request wrappers: set-up and read in one statement. Only the login role
-- may call them, like hc_request_setup.
create or replace function public.hc_tickets_page(
    p_claims       text,
    p_status       text,
    p_pattern      text,
    p_any_assignee boolean,
    p_assignee     uuid,
    p_after_at     timestamptz,
    p_after_id     uuid,
    p_limit        integer
)
returns table (
    id uuid, subject text, status text, priority text, category text,
    requester_id uuid, assignee_id uuid, created_at timestamptz, updated_at timestamptz
)
language plpgsql
volatile
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_staff boolean;
begin
    v_staff := public.hc_enter(p_claims) in ('agent', 'admin');
    if not p_any_assignee and not v_staff then
        raise exception using
            errcode = 'P0400',
            message = 'only agents may filter by assignee';
    end if;
    return query
    select * from public.tickets_page(
        auth.uid(), v_staff, p_status, p_pattern, p_any_assignee, p_assignee,
        p_after_at, p_after_id, p_limit
    );
end
$$;

create or replace function public.hc_ticket_timeline_page(
    p_claims    text,
    p_ticket    uuid,
    p_after_at  timestamptz,
    p_after_key text,
    p_limit     integer
)
returns table (
    kind text, sort_key text, id text, author_id uuid, author_name text, body text,
    internal boolean, from_status text, to_status text, created_at timestamptz
)
language plpgsql
volatile
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_staff boolean;
begin
    v_staff := public.hc_enter(p_claims) in ('agent', 'admin');
    return query
    select * from public.ticket_timeline_page(p_ticket, p_after_at, p_after_key, p_limit, v_staff);
end
$$;

revoke all on function
    public.hc_enter(text),
    public.tickets_page(uuid, boolean, text, text, boolean, uuid, timestamptz, uuid, integer),
    public.ticket_timeline_page(uuid, timestamptz, text, integer, boolean),
    public.hc_tickets_page(text, text, text, boolean, uuid, timestamptz, uuid, integer),
    public.hc_ticket_timeline_page(text, uuid, timestamptz, text, integer)
from public, anon, authenticated, authenticator;

-- The page functions run as the caller, under the caller's policies.
grant execute on function
    public.tickets_page(uuid, boolean, text, text, boolean, uuid, timestamptz, uuid, integer),
    public.ticket_timeline_page(uuid, timestamptz, text, integer, boolean)
to authenticated;

-- hc_enter falls back to hc_request_setup after it has switched to
-- `authenticated`. That gives `authenticated` nothing new: it may already set its
-- claims and insert its own profile (profiles_insert_own), which is all the
-- set-up does.
grant execute on function public.hc_request_setup(text) to authenticated;

-- Called by the login role before it has switched to `authenticated`.
grant execute on function
    public.hc_enter(text),
    public.hc_tickets_page(text, text, text, boolean, uuid, timestamptz, uuid, integer),
    public.hc_ticket_timeline_page(text, uuid, timestamptz, text, integer)
to authenticator;

-- A customer's messages and status changes: the ticket's requester by primary key,
-- one probe per row, instead of EXISTS, which the planner turned into a hashed
-- scan of every ticket the customer has (100 ids for one 5-entry timeline). The
-- inner select runs under the tickets policy, so it yields the requester only
-- for a ticket the caller may see. Same rule as 0007.
drop policy if exists ticket_messages_select on public.ticket_messages;
create policy ticket_messages_select on public.ticket_messages
    for select to authenticated
    using (
        (
            internal = false
            and (select t.requester_id from public.tickets t
                 where t.id = ticket_messages.ticket_id) = (select auth.uid())
        )
        or (select public.is_staff())
    );

drop policy if exists ticket_status_changes_select on public.ticket_status_changes;
create policy ticket_status_changes_select on public.ticket_status_changes
    for select to authenticated
    using (
        (select t.requester_id from public.tickets t
         where t.id = ticket_status_changes.ticket_id) = (select auth.uid())
        or (select public.is_staff())
    );
