-- CCs (issue 18): the requester (or an agent) copies existing users on a ticket by
-- email. A CC'd user reads the ticket, its public timeline and its live events, and
-- may reply; never internal notes, never the rating. Removing the CC removes the
-- access at once: every read and every event stream asks the policies again.
--
-- * public.ticket_ccs: one row per (ticket, user). Written only through
--   hc_add_ticket_cc / hc_remove_ticket_cc (SECURITY DEFINER: they look the user up
--   by email, which a customer may not read in profiles), readable by the ticket's
--   people under RLS.
-- * public.hc_is_cc(ticket): whether the caller is CC'd on the ticket, one primary-key
--   probe. The policies call it last, after the ownership test and the staff initplan,
--   so a requester's own rows and an agent's never pay for it; a customer's list pages
--   narrow by requester_id as before, so it runs only when a customer reads a ticket
--   that is not theirs by id (or its timeline's rows).
--
-- Errors (as in 0003): P0404 -> 404 (a ticket the caller may not see), P0403 -> 403
-- (a CC'd user managing CCs), P0409 -> 409 (a closed ticket), 23514 with the
-- constraint named after the field -> 422 (no user with that email, the limit).

create table if not exists public.ticket_ccs (
    ticket_id  uuid not null references public.tickets (id) on delete cascade,
    user_id    uuid not null references public.profiles (id) on delete cascade,
    added_by   uuid references public.profiles (id) on delete set null,
    created_at timestamptz not null default now(),
    primary key (ticket_id, user_id)
);
create index if not exists ticket_ccs_user_idx on public.ticket_ccs (user_id, ticket_id);
create index if not exists profiles_email_lower_idx on public.profiles (lower(email));

alter table public.ticket_ccs enable row level security;
alter table public.ticket_ccs force row level security;
revoke all on public.ticket_ccs from public, anon, authenticated;

create or replace function public.hc_is_cc(p_ticket uuid)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
    return exists (
        select 1 from public.ticket_ccs c
        where c.ticket_id = p_ticket and c.user_id = auth.uid()
    );
end
$$;
revoke all on function public.hc_is_cc(uuid) from public, anon, authenticated, authenticator;
grant execute on function public.hc_is_cc(uuid) to authenticated;

-- The ticket's people: the requester, agents, and the CC'd users themselves.
grant select on public.ticket_ccs to authenticated;
drop policy if exists ticket_ccs_select on public.ticket_ccs;
create policy ticket_ccs_select on public.ticket_ccs
    for select to authenticated
    using (
        user_id = (select auth.uid())
        or (select public.is_staff())
        or (select t.requester_id from public.tickets t where t.id = ticket_ccs.ticket_id)
           = (select auth.uid())
        or public.hc_is_cc(ticket_id)
    );

-- The policies of 0003/0007/0008/0010, each with the CC'd reader last.
drop policy if exists tickets_select on public.tickets;
create policy tickets_select on public.tickets
    for select to authenticated
    using (
        requester_id = (select auth.uid())
        or (select public.is_staff())
        or public.hc_is_cc(id)
    );

drop policy if exists ticket_messages_select on public.ticket_messages;
create policy ticket_messages_select on public.ticket_messages
    for select to authenticated
    using (
        (internal = false and requester_id = (select auth.uid()))
        or (select public.is_staff())
        or (internal = false and public.hc_is_cc(ticket_id))
    );

drop policy if exists ticket_messages_insert_own on public.ticket_messages;
create policy ticket_messages_insert_own on public.ticket_messages
    for insert to authenticated
    with check (
        author_id = (select auth.uid())
        and internal = false
        and (
            exists (
                select 1 from public.tickets t
                where t.id = ticket_messages.ticket_id
                  and t.requester_id = (select auth.uid())
            )
            or public.hc_is_cc(ticket_id)
        )
    );

drop policy if exists ticket_status_changes_select on public.ticket_status_changes;
create policy ticket_status_changes_select on public.ticket_status_changes
    for select to authenticated
    using (
        requester_id = (select auth.uid())
        or (select public.is_staff())
        or public.hc_is_cc(ticket_id)
    );

drop policy if exists ticket_events_select on public.ticket_events;
create policy ticket_events_select on public.ticket_events
    for select to authenticated
    using (
        (
            internal = false
            and kind <> 'ticket_created'
            and (
                exists (
                    select 1 from public.tickets t
                    where t.id = ticket_events.ticket_id
                      and t.requester_id = (select auth.uid())
                )
                or public.hc_is_cc(ticket_id)
            )
        )
        or (select public.is_staff())
    );

-- Author names for the CC'd too (0011's rule plus the CC).
create or replace function public.ticket_participant_names(p_ticket uuid)
returns table (id uuid, display_name text)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
    if not (
        (auth.uid() is null
         and session_user = current_user
         and pg_catalog.current_setting('role') = 'none')
        or exists (
            select 1 from public.tickets t
            where t.id = p_ticket
              and (t.requester_id = auth.uid() or public.is_staff())
        )
        or public.hc_is_cc(p_ticket)
    ) then
        return;
    end if;
    return query
    select p.id,
           coalesce(
               nullif(p.display_name, ''),
               case when p.role in ('agent', 'admin') then 'Support team'
                    else nullif(split_part(coalesce(p.email, ''), '@', 1), '') end,
               'Customer'
           )
    from public.profiles p
    where p.id = any (array(
              select t.requester_id from public.tickets t where t.id = p_ticket
              union
              select m.author_id from public.ticket_messages m where m.ticket_id = p_ticket
              union
              select s.changed_by from public.ticket_status_changes s where s.ticket_id = p_ticket
          ));
end
$$;

-- Who may manage a ticket's CCs: its requester and agents, while it is not closed.
-- Raises for anyone else; returns the ticket's requester.
create or replace function public.hc_check_cc_manager(p_ticket uuid)
returns uuid
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    v_requester uuid;
    v_status    text;
begin
    select t.requester_id, t.status into v_requester, v_status
    from public.tickets t where t.id = p_ticket;
    if not found
       or not (v_requester = auth.uid() or public.is_staff() or public.hc_is_cc(p_ticket)) then
        raise exception using errcode = 'P0404', message = 'no such ticket';
    end if;
    if not (v_requester = auth.uid() or public.is_staff()) then
        raise exception using
            errcode = 'P0403', message = 'only the requester and agents change who is copied';
    end if;
    if v_status = 'closed' then
        raise exception using
            errcode = 'P0409', message = format('ticket %s is closed', p_ticket);
    end if;
    return v_requester;
end
$$;
revoke all on function public.hc_check_cc_manager(uuid) from public, anon, authenticated, authenticator;

-- The CCs of a ticket the caller may see, with the names the ticket's people see.
create or replace function public.hc_ticket_ccs(p_ticket uuid)
returns table (user_id uuid, email text, display_name text, created_at timestamptz)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
    if not exists (
        select 1 from public.tickets t
        where t.id = p_ticket
          and (t.requester_id = auth.uid() or public.is_staff() or public.hc_is_cc(p_ticket))
    ) then
        return;
    end if;
    return query
    select c.user_id, p.email, coalesce(nullif(p.display_name, ''),
                                        nullif(split_part(coalesce(p.email, ''), '@', 1), ''),
                                        'Customer'),
           c.created_at
    from public.ticket_ccs c join public.profiles p on p.id = c.user_id
    where c.ticket_id = p_ticket
    order by c.created_at, c.user_id;
end
$$;
revoke all on function public.hc_ticket_ccs(uuid) from public, anon, authenticated, authenticator;
grant execute on function public.hc_ticket_ccs(uuid) to authenticated;

create or replace function public.hc_add_ticket_cc(p_ticket uuid, p_email text, p_limit integer)
returns uuid
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
    v_requester uuid := public.hc_check_cc_manager(p_ticket);
    v_user      uuid;
    v_count     integer;
begin
    -- Serializes CC changes of one ticket, so the limit holds under concurrency.
    perform 1 from public.tickets t where t.id = p_ticket for update;
    select p.id into v_user from public.profiles p
    where lower(p.email) = lower(p_email)
    order by p.created_at limit 1;
    if v_user is null then
        raise exception using
            errcode = '23514', constraint = 'ticket_ccs_email_check',
            message = 'no user with this email';
    end if;
    if v_user = v_requester then
        raise exception using
            errcode = '23514', constraint = 'ticket_ccs_email_check',
            message = 'the requester already follows the ticket';
    end if;
    select count(*) into v_count from public.ticket_ccs c where c.ticket_id = p_ticket;
    if v_count >= p_limit
       and not exists (select 1 from public.ticket_ccs c
                       where c.ticket_id = p_ticket and c.user_id = v_user) then
        raise exception using
            errcode = '23514', constraint = 'ticket_ccs_email_check',
            message = format('a ticket has at most %s CCs', p_limit);
    end if;
    insert into public.ticket_ccs (ticket_id, user_id, added_by)
    values (p_ticket, v_user, auth.uid())
    on conflict (ticket_id, user_id) do nothing;
    return v_user;
end
$$;
revoke all on function public.hc_add_ticket_cc(uuid, text, integer) from public, anon, authenticated, authenticator;
grant execute on function public.hc_add_ticket_cc(uuid, text, integer) to authenticated;

-- Removes a CC; whether there was one. A CC'd user may also remove themselves.
create or replace function public.hc_remove_ticket_cc(p_ticket uuid, p_user uuid)
returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
    v_removed integer;
begin
    if p_user is distinct from auth.uid() then
        perform public.hc_check_cc_manager(p_ticket);
    elsif not exists (select 1 from public.tickets t where t.id = p_ticket) then
        raise exception using errcode = 'P0404', message = 'no such ticket';
    end if;
    delete from public.ticket_ccs c where c.ticket_id = p_ticket and c.user_id = p_user;
    get diagnostics v_removed = row_count;
    return v_removed > 0;
end
$$;
revoke all on function public.hc_remove_ticket_cc(uuid, uuid) from public, anon, authenticated, authenticator;
grant execute on function public.hc_remove_ticket_cc(uuid, uuid) to authenticated;
