-- Follow-ups, closing solved tickets, satisfaction ratings (issue 18).
--
-- * tickets.via_followup_source_id: a follow-up names the closed ticket whose problem
--   came back. The source must be a ticket the creator may see (the check runs under
--   the creator's policies, so another customer's ticket is "no such ticket", exactly
--   like a made-up id) and it must be closed (a solved or open ticket takes a reply
--   instead). Set once, at creation. Both timelines show the link
--   (ticket_timeline_page's `followup` entries).
-- * hc_close_solved_tickets(after, batch): solved tickets without a change or a reply
--   for `after` become closed, as the system (the status change has no author). Every
--   replica calls it every little while; rows another replica is closing are skipped.
-- * public.ticket_ratings: the requester rates a solved ticket good or bad (a reason
--   from a short list for bad, an optional comment), one row per ticket, changeable
--   until the ticket closes. The agent assigned when the rating was given is kept on
--   the row for the per-agent report. Staff read every rating; a customer their own.
--
-- SQLSTATEs, as in 0003: P0409 -> 409 (source not closed, rating a ticket that is
-- not solved or is closed); 23514 with the constraint named after the field -> 422.

alter table public.tickets
    add column if not exists via_followup_source_id uuid
        references public.tickets (id) on delete set null;
create index if not exists tickets_followup_source_idx
    on public.tickets (via_followup_source_id) where via_followup_source_id is not null;
-- The closer's scan: solved tickets by their last change.
create index if not exists tickets_solved_updated_idx
    on public.tickets (updated_at) where status = 'solved';

create or replace function public.tickets_check_followup()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
    v_status text;
begin
    if tg_op = 'UPDATE' then
        if new.via_followup_source_id is distinct from old.via_followup_source_id then
            raise exception using
                errcode = 'P0403',
                message = 'via_followup_source_id is set when the follow-up is created and cannot change';
        end if;
        return new;
    end if;
    if new.via_followup_source_id is null then
        return new;
    end if;
    -- SECURITY INVOKER: the caller's policies decide whether the source exists.
    select t.status into v_status from public.tickets t where t.id = new.via_followup_source_id;
    if not found then
        raise exception using
            errcode = '23514',
            constraint = 'tickets_via_followup_source_id_check',
            message = 'no such ticket';
    end if;
    if v_status <> 'closed' then
        raise exception using
            errcode = 'P0409',
            message = format('ticket %s is %s, not closed: reply to it instead of opening a follow-up',
                             new.via_followup_source_id, v_status);
    end if;
    return new;
end
$$;
revoke all on function public.tickets_check_followup() from public, anon, authenticated, authenticator;

drop trigger if exists tickets_check_followup on public.tickets;
create trigger tickets_check_followup
    before insert or update of via_followup_source_id on public.tickets
    for each row execute function public.tickets_check_followup();

-- The timeline gains the follow-up links, both ways, each under the tickets policy:
--   kind 'followup', id = the linked ticket, body = its subject, to_status = its
--   status, from_status = 'follow_up' (a ticket opened from this one, at its
--   creation) or 'source' (the ticket this one follows up, at this one's creation).
-- Same signature and columns as 0008's, so the hc_ wrapper is unchanged.
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
    from (select t.id, t.via_followup_source_id, t.created_at
          from public.tickets t where t.id = p_ticket) t
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
            union all
            select 'followup', '2' || f.id::text, f.id::text, null,
                   f.subject, null, 'follow_up', f.status, f.created_at
            from public.tickets f
            where f.via_followup_source_id = t.id
            union all
            select 'followup', '2' || src.id::text, src.id::text, null,
                   src.subject, null, 'source', src.status, t.created_at
            from public.tickets src
            where src.id = t.via_followup_source_id
        ) u
        where (u.created_at, u.sort_key) > (v_after_at, v_after_key)
        order by u.created_at, u.sort_key
        limit p_limit
    ) e on true
    left join public.ticket_participant_names(p_ticket) n on n.id = e.author_id
    order by e.created_at, e.sort_key;
end
$$;

create or replace function public.hc_close_solved_tickets(p_after_seconds integer, p_batch integer)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
    v_closed integer;
begin
    -- No claims on this connection: auth.uid() is null, the triggers' system context,
    -- so the status change is recorded without an author.
    perform pg_catalog.set_config('request.jwt.claims', '', true);
    with due as (
        select t.id from public.tickets t
        where t.status = 'solved'
          and t.updated_at < now() - pg_catalog.make_interval(secs => p_after_seconds)
        order by t.updated_at
        limit p_batch
        for update skip locked
    )
    update public.tickets t set status = 'closed'
    from due where t.id = due.id;
    get diagnostics v_closed = row_count;
    return v_closed;
end
$$;
revoke all on function public.hc_close_solved_tickets(integer, integer) from public, anon, authenticated;
grant execute on function public.hc_close_solved_tickets(integer, integer) to authenticator;

create table if not exists public.ticket_ratings (
    ticket_id    uuid primary key,
    requester_id uuid not null,
    score        text not null,
    reason       text,
    comment      text,
    assignee_id  uuid references public.profiles (id) on delete set null,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    constraint ticket_ratings_score_check check (score in ('good', 'bad')),
    constraint ticket_ratings_reason_check check (
        reason is null
        or (score = 'bad' and reason in ('not_solved', 'too_slow', 'unhelpful', 'impolite', 'other'))
    ),
    constraint ticket_ratings_comment_check check (comment is null or char_length(comment) between 1 and 2000),
    constraint ticket_ratings_ticket_requester_fkey foreign key (ticket_id, requester_id)
        references public.tickets (id, requester_id) on update cascade on delete cascade
);
create index if not exists ticket_ratings_updated_idx
    on public.ticket_ratings (updated_at) include (score, assignee_id);

-- The ticket's requester, status and assignee decide: only a solved ticket is rated
-- (a closed one keeps its rating), by its requester only (the insert policy), and the
-- row records the assignee of the moment. Definer: it reads the ticket whatever the
-- caller's policies, but only to check it; the policies decide who writes.
create or replace function public.ticket_ratings_before_write()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_ticket public.tickets%rowtype;
begin
    select * into v_ticket from public.tickets t where t.id = new.ticket_id for share;
    if not found then
        raise exception using
            errcode = '23514', constraint = 'ticket_ratings_ticket_check', message = 'no such ticket';
    end if;
    if v_ticket.status = 'closed' then
        raise exception using
            errcode = 'P0409',
            message = format('ticket %s is closed: its rating can no longer change', new.ticket_id);
    end if;
    if v_ticket.status <> 'solved' then
        raise exception using
            errcode = 'P0409',
            message = format('ticket %s is %s: a ticket is rated once it is solved', new.ticket_id, v_ticket.status);
    end if;
    new.requester_id := v_ticket.requester_id;
    new.assignee_id := v_ticket.assignee_id;
    new.updated_at := now();
    if tg_op = 'UPDATE' then
        new.created_at := old.created_at;
    end if;
    return new;
end
$$;
revoke all on function public.ticket_ratings_before_write() from public, anon, authenticated, authenticator;

drop trigger if exists ticket_ratings_before_write on public.ticket_ratings;
create trigger ticket_ratings_before_write
    before insert or update on public.ticket_ratings
    for each row execute function public.ticket_ratings_before_write();

alter table public.ticket_ratings enable row level security;
alter table public.ticket_ratings force row level security;
revoke all on public.ticket_ratings from public, anon, authenticated;
grant select on public.ticket_ratings to authenticated;
grant insert (ticket_id, requester_id, score, reason, comment) on public.ticket_ratings to authenticated;
grant update (score, reason, comment) on public.ticket_ratings to authenticated;

drop policy if exists ticket_ratings_select on public.ticket_ratings;
create policy ticket_ratings_select on public.ticket_ratings
    for select to authenticated
    using (requester_id = (select auth.uid()) or (select public.is_staff()));
-- The requester_id checked here is the one the trigger copied from the ticket.
drop policy if exists ticket_ratings_insert_own on public.ticket_ratings;
create policy ticket_ratings_insert_own on public.ticket_ratings
    for insert to authenticated
    with check (requester_id = (select auth.uid()));
drop policy if exists ticket_ratings_update_own on public.ticket_ratings;
create policy ticket_ratings_update_own on public.ticket_ratings
    for update to authenticated
    using (requester_id = (select auth.uid()))
    with check (requester_id = (select auth.uid()));

-- Customers and agents name the source when they open a follow-up (the trigger
-- above checks it; updates are refused there too).
grant insert (via_followup_source_id) on public.tickets to authenticated;
