-- The ticket's requester on each message and status change, for their policies.
--
-- A customer may read the public messages and the status changes of their own
-- tickets. The policies asked the tickets table which customer that is, one
-- subquery per row (itself under the tickets policy): about 0.02 ms of a 5-entry
-- timeline's 0.05 ms of RLS overhead, measured with pgbench
-- (docs/tickets-performance.md). With the requester on the row, the test is a
-- column compared with `auth.uid()`, as Supabase's RLS guide advises.
--
-- The copy cannot drift: a BEFORE INSERT trigger fills it from the ticket
-- (whatever the insert said; `authenticated` has no INSERT privilege on the
-- column anyway), and a foreign key on (ticket_id, requester_id) makes the
-- database refuse a wrong pair and carry a ticket's new requester to its rows
-- (ON UPDATE CASCADE).

alter table public.tickets
    add constraint tickets_id_requester_key unique (id, requester_id);

create or replace function public.fill_ticket_requester()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    new.requester_id := (select t.requester_id from public.tickets t where t.id = new.ticket_id);
    return new;
end
$$;

revoke all on function public.fill_ticket_requester() from public, anon, authenticated, authenticator;

alter table public.ticket_messages add column requester_id uuid;
update public.ticket_messages m
set requester_id = t.requester_id
from public.tickets t
where t.id = m.ticket_id;
alter table public.ticket_messages alter column requester_id set not null;
alter table public.ticket_messages
    add constraint ticket_messages_ticket_requester_fkey
    foreign key (ticket_id, requester_id) references public.tickets (id, requester_id)
    on update cascade on delete cascade;
create trigger ticket_messages_fill_requester
    before insert on public.ticket_messages
    for each row execute function public.fill_ticket_requester();

alter table public.ticket_status_changes add column requester_id uuid;
update public.ticket_status_changes s
set requester_id = t.requester_id
from public.tickets t
where t.id = s.ticket_id;
alter table public.ticket_status_changes alter column requester_id set not null;
alter table public.ticket_status_changes
    add constraint ticket_status_changes_ticket_requester_fkey
    foreign key (ticket_id, requester_id) references public.tickets (id, requester_id)
    on update cascade on delete cascade;
create trigger ticket_status_changes_fill_requester
    before insert on public.ticket_status_changes
    for each row execute function public.fill_ticket_requester();

-- Same rules as 0003/0007/0008, without the per-row subquery.
drop policy if exists ticket_messages_select on public.ticket_messages;
create policy ticket_messages_select on public.ticket_messages
    for select to authenticated
    using (
        (internal = false and requester_id = (select auth.uid()))
        or (select public.is_staff())
    );

drop policy if exists ticket_status_changes_select on public.ticket_status_changes;
create policy ticket_status_changes_select on public.ticket_status_changes
    for select to authenticated
    using (
        requester_id = (select auth.uid())
        or (select public.is_staff())
    );

-- Participants' names by primary key. `p.id in (union)` let the planner choose a
-- hash join over a sequential scan of every profile once ANALYZE, sampling 5M
-- messages, took a ticket for 41 messages instead of 5 (1.5 ms instead of
-- 0.03 ms on the benchmark database). `= any(array(...))` is an index scan of
-- profiles_pkey whatever the estimate. Same rule as 0007, nobody's names unless
-- the caller may see the ticket, plus the system context of 0003's triggers: a
-- session of the owner itself without a JWT (session_user is this function's
-- owner; administration, and the benchmark's baseline, which until now looked
-- up no names and so did less work than a request) sees every ticket anyway.
create or replace function public.ticket_participant_names(p_ticket uuid)
returns table (id uuid, display_name text)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
    if not (
        (auth.uid() is null and session_user = current_user)
        or exists (
            select 1 from public.tickets t
            where t.id = p_ticket
              and (t.requester_id = auth.uid() or public.is_staff())
        )
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
