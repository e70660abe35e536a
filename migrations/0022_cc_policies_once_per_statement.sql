-- The CC'd reader of 0019, once per statement instead of once per row.
--
-- 0019 added `or public.hc_is_cc(id)` to every ticket policy. A function call per row
-- in a policy also hides the row filter's selectivity from the planner: an agent's
-- insights report that joins a year of tickets (deflection over 365 days) went from
-- 111 ms to 14.8 s (benches/insights_reports). Here the caller's CC'd tickets are an
-- array computed once per statement (an initplan: `(select ...)`, as Supabase's RLS
-- guide advises) and each row tests membership, which costs nothing when the array is
-- empty, as it is for nearly every caller. Same rules as 0019.

create or replace function public.hc_cc_ticket_ids()
returns uuid[]
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
    return coalesce(
        (select array_agg(c.ticket_id) from public.ticket_ccs c where c.user_id = auth.uid()),
        '{}'::uuid[]);
end
$$;
revoke all on function public.hc_cc_ticket_ids() from public, anon, authenticated, authenticator;
grant execute on function public.hc_cc_ticket_ids() to authenticated;

drop policy if exists tickets_select on public.tickets;
create policy tickets_select on public.tickets
    for select to authenticated
    using (
        requester_id = (select auth.uid())
        or (select public.is_staff())
        or id = any ((select public.hc_cc_ticket_ids())::uuid[])
    );

drop policy if exists ticket_messages_select on public.ticket_messages;
create policy ticket_messages_select on public.ticket_messages
    for select to authenticated
    using (
        (internal = false and requester_id = (select auth.uid()))
        or (select public.is_staff())
        or (internal = false and ticket_id = any ((select public.hc_cc_ticket_ids())::uuid[]))
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
            or ticket_id = any ((select public.hc_cc_ticket_ids())::uuid[])
        )
    );

drop policy if exists ticket_status_changes_select on public.ticket_status_changes;
create policy ticket_status_changes_select on public.ticket_status_changes
    for select to authenticated
    using (
        requester_id = (select auth.uid())
        or (select public.is_staff())
        or ticket_id = any ((select public.hc_cc_ticket_ids())::uuid[])
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
                or ticket_id = any ((select public.hc_cc_ticket_ids())::uuid[])
            )
        )
        or (select public.is_staff())
    );

drop policy if exists ticket_ccs_select on public.ticket_ccs;
create policy ticket_ccs_select on public.ticket_ccs
    for select to authenticated
    using (
        user_id = (select auth.uid())
        or (select public.is_staff())
        or (select t.requester_id from public.tickets t where t.id = ticket_ccs.ticket_id)
           = (select auth.uid())
        or ticket_id = any ((select public.hc_cc_ticket_ids())::uuid[])
    );
