-- What the ticket portal API needs on top of 0001-0003.
--
-- * public.hc_request_setup(claims): the one statement a request runs after
--   BEGIN. Sets `request.jwt.claims` and the role `authenticated` for the
--   rest of the transaction (like PostgREST's set_config pair), creates the
--   caller's customer profile on its first request, and returns the caller's
--   role so the service needs no extra round trip to learn it.
-- * public.ticket_participant_names(ticket): display names of the people on a
--   ticket the caller can see (customers cannot read agents' profiles).
-- * Staff transitions: 'closed' is final and nothing goes back to 'new'
--   (SQLSTATE P0409, like the customer rules of 0003).

create or replace function public.hc_request_setup(p_claims text)
returns table (role text, created boolean)
language plpgsql
volatile
set search_path = ''
as $$
declare
    v_uid   uuid;
    v_email text;
    v_role  text;
begin
    perform pg_catalog.set_config('request.jwt.claims', p_claims, true);
    perform pg_catalog.set_config('role', 'authenticated', true);

    v_uid := auth.uid();
    if v_uid is null then
        raise exception using errcode = 'P0401', message = 'claims without sub';
    end if;

    v_role := public.current_user_role();
    if v_role is not null then
        return query select v_role, false;
        return;
    end if;

    v_email := nullif(auth.jwt() ->> 'email', '');
    -- Runs as `authenticated`: the profiles_insert_own policy applies.
    insert into public.profiles (id, email, role)
    values (v_uid, v_email, 'customer')
    on conflict (id) do nothing;
    return query select coalesce(public.current_user_role(), 'customer'), true;
end
$$;

revoke all on function public.hc_request_setup(text) from public, anon, authenticated;
-- Called by the login role before it has switched to `authenticated`.
grant execute on function public.hc_request_setup(text) to authenticator;

create or replace function public.ticket_participant_names(p_ticket uuid)
returns table (id uuid, display_name text)
language sql
stable
security definer
set search_path = ''
as $$
    select p.id,
           coalesce(
               nullif(p.display_name, ''),
               case when p.role in ('agent', 'admin') then 'Support team'
                    else nullif(split_part(coalesce(p.email, ''), '@', 1), '') end,
               'Customer'
           )
    from public.profiles p
    where exists (
              select 1 from public.tickets t
              where t.id = p_ticket
                and (t.requester_id = (select auth.uid()) or (select public.is_staff()))
          )
      and p.id in (
              select t.requester_id from public.tickets t where t.id = p_ticket
              union
              select m.author_id from public.ticket_messages m where m.ticket_id = p_ticket
              union
              select s.changed_by from public.ticket_status_changes s where s.ticket_id = p_ticket
          )
$$;

revoke all on function public.ticket_participant_names(uuid) from public, anon, authenticated, authenticator;
grant execute on function public.ticket_participant_names(uuid) to authenticated;

create or replace function public.tickets_staff_transition_rules()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if auth.uid() is null then
        return new;                             -- system context (no JWT)
    end if;
    if old.status = 'closed' then
        raise exception using
            errcode = 'P0409',
            message = 'ticket is closed',
            detail  = format('ticket %s', old.id);
    end if;
    if new.status = 'new' then
        raise exception using
            errcode = 'P0409',
            message = format('illegal status transition %s -> %s', old.status, new.status),
            detail  = format('ticket %s', old.id);
    end if;
    return new;
end
$$;

revoke all on function public.tickets_staff_transition_rules() from public, anon, authenticated, authenticator;

create trigger tickets_staff_transition_rules
    before update of status on public.tickets
    for each row
    when (old.status is distinct from new.status)
    execute function public.tickets_staff_transition_rules();
