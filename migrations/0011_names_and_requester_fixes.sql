-- Two fixes to 0010, found in review.
--
-- * ticket_participant_names let "the owner's own session without a JWT" see
--   every ticket's names, recognized by session_user = the function's owner.
--   A session that logged in as the owner but then switched to `authenticated`
--   (SET ROLE) with claims lacking `sub` matched too. The owner's system
--   context now also requires that no role was set: current_setting('role') is
--   'none' only when the session never switched (SECURITY DEFINER does not
--   change it).
-- * A message or status change for a ticket that does not exist got a NULL
--   requester from the trigger and failed as NOT NULL (23502), which the API
--   answers with a 500; the missing ticket is the caller's mistake, so the
--   trigger reports it as the foreign key would (23503, a 422).
--
-- Note for restores and bulk loads: with session_replication_role = replica,
-- triggers and foreign keys do not run, so requester_id must be written with
-- the rows, as benches/seed.sql does.

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

create or replace function public.fill_ticket_requester()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    new.requester_id := (select t.requester_id from public.tickets t where t.id = new.ticket_id);
    if new.requester_id is null then
        raise exception using
            errcode = 'foreign_key_violation',
            message = format('ticket %s does not exist', new.ticket_id);
    end if;
    return new;
end
$$;
