-- Row Level Security, business-rule triggers, customer views and grants.
--
-- Errors raised for the application (SQLSTATE -> meaning -> suggested HTTP):
--   P0409  illegal ticket status transition for a customer, or a customer
--          touching / replying to a 'closed' ticket              -> 409
--   P0403  a customer tried to change a field only staff may change
--          (requester_id, assignee_id, priority, idempotency_key), or anyone
--          tried to change id / created_at                         -> 403
--   P0422  assignee_id does not reference an agent/admin profile  -> 422
--   42501  insufficient_privilege: missing GRANT ("permission denied for
--          table ...") or a row rejected by a policy's WITH CHECK ("new row
--          violates row-level security policy for table ...")     -> 403
--   23514  check_violation (e.g. subject length, unknown status)  -> 422
--   23503  foreign_key_violation (e.g. no profile row yet)        -> 422
--   23505  unique_violation (e.g. same idempotency key)           -> 409
-- Rows hidden by a policy's USING clause are simply not visible: UPDATEs on
-- them affect 0 rows (-> 404), SELECTs return nothing.
--
-- Status rules (enforced by trigger tickets_before_update):
--   customer: new|open|pending -> solved, solved -> open, nothing else;
--             may change subject/category/status only; no change at all
--             once the ticket is 'closed'.
--   agent/admin: any transition.
--   no JWT (auth.uid() is null, i.e. the service as owner): unrestricted.

-- ---------------------------------------------------------------------------
-- Role helpers. SECURITY DEFINER so reading profiles here does not go
-- through the profiles policies (which call these functions themselves).
-- ---------------------------------------------------------------------------
create or replace function public.current_user_role()
returns text
language sql
stable
security definer
set search_path = ''
as $$
    select p.role from public.profiles p where p.id = (select auth.uid())
$$;

create or replace function public.is_staff()
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
    select coalesce(public.current_user_role() in ('agent', 'admin'), false)
$$;

-- ---------------------------------------------------------------------------
-- tickets: business rules on UPDATE, assignee validation, status history.
-- ---------------------------------------------------------------------------
create or replace function public.tickets_before_update()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
    v_uid  uuid := auth.uid();
    v_role text;
begin
    if new.id is distinct from old.id or new.created_at is distinct from old.created_at then
        raise exception using
            errcode = 'P0403',
            message = 'ticket id and created_at cannot be changed';
    end if;

    new.updated_at := now();

    if v_uid is null then
        return new;                             -- system context (no JWT)
    end if;

    v_role := public.current_user_role();
    if v_role in ('agent', 'admin') then
        return new;                             -- staff: unrestricted
    end if;

    -- Customer (or a JWT user without a profile).
    if new.requester_id is distinct from old.requester_id
       or new.assignee_id is distinct from old.assignee_id
       or new.priority is distinct from old.priority
       or new.idempotency_key is distinct from old.idempotency_key then
        raise exception using
            errcode = 'P0403',
            message = 'customers may not change requester, assignee, priority or idempotency key';
    end if;

    if old.status = 'closed' then
        raise exception using
            errcode = 'P0409',
            message = 'ticket is closed',
            detail  = format('ticket %s', old.id);
    end if;

    if new.status is distinct from old.status and not (
           (old.status in ('new', 'open', 'pending') and new.status = 'solved')
        or (old.status = 'solved' and new.status = 'open')
    ) then
        raise exception using
            errcode = 'P0409',
            message = format('illegal status transition %s -> %s', old.status, new.status),
            detail  = format('ticket %s', old.id);
    end if;

    return new;
end
$$;

create trigger tickets_before_update
    before update on public.tickets
    for each row execute function public.tickets_before_update();

create or replace function public.tickets_check_assignee()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if new.assignee_id is not null
       and (tg_op = 'INSERT' or new.assignee_id is distinct from old.assignee_id)
       and not exists (
           select 1 from public.profiles p
           where p.id = new.assignee_id and p.role in ('agent', 'admin')
       ) then
        raise exception using
            errcode = 'P0422',
            message = 'assignee must be an agent or admin';
    end if;
    return new;
end
$$;

create trigger tickets_check_assignee
    before insert or update on public.tickets
    for each row execute function public.tickets_check_assignee();

create or replace function public.tickets_record_status_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    insert into public.ticket_status_changes (ticket_id, changed_by, from_status, to_status)
    values (
        new.id,
        (select p.id from public.profiles p where p.id = auth.uid()),
        old.status,
        new.status
    );
    return null;
end
$$;

create trigger tickets_record_status_change
    after update on public.tickets
    for each row
    when (old.status is distinct from new.status)
    execute function public.tickets_record_status_change();

-- ---------------------------------------------------------------------------
-- ticket_messages: a customer's public reply reopens a solved ticket; every
-- message bumps the ticket's updated_at; customers cannot reply to a closed
-- ticket (P0409).
-- ---------------------------------------------------------------------------
create or replace function public.ticket_messages_after_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_status      text;
    v_author_role text;
begin
    select t.status into v_status
    from public.tickets t
    where t.id = new.ticket_id
    for update;

    select p.role into v_author_role
    from public.profiles p
    where p.id = new.author_id;

    if v_author_role = 'customer' then
        if v_status = 'closed' then
            raise exception using
                errcode = 'P0409',
                message = 'ticket is closed',
                detail  = format('ticket %s', new.ticket_id);
        end if;
        if v_status = 'solved' and not new.internal then
            update public.tickets set status = 'open' where id = new.ticket_id;
            return null;
        end if;
    end if;

    -- tickets_before_update sets updated_at = now().
    update public.tickets set updated_at = now() where id = new.ticket_id;
    return null;
end
$$;

create trigger ticket_messages_after_insert
    after insert on public.ticket_messages
    for each row execute function public.ticket_messages_after_insert();

-- ---------------------------------------------------------------------------
-- Row Level Security (enabled and forced on every table).
-- ---------------------------------------------------------------------------
alter table public.profiles              enable row level security;
alter table public.profiles              force  row level security;
alter table public.tickets               enable row level security;
alter table public.tickets               force  row level security;
alter table public.ticket_messages       enable row level security;
alter table public.ticket_messages       force  row level security;
alter table public.ticket_status_changes enable row level security;
alter table public.ticket_status_changes force  row level security;

-- profiles
create policy profiles_select_own on public.profiles
    for select to authenticated
    using (id = (select auth.uid()));

create policy profiles_select_staff on public.profiles
    for select to authenticated
    using ((select public.is_staff()));

create policy profiles_insert_own on public.profiles
    for insert to authenticated
    with check (id = (select auth.uid()) and role = 'customer');

-- Only display_name is updatable (column grant below), so no role changes.
create policy profiles_update_own on public.profiles
    for update to authenticated
    using (id = (select auth.uid()))
    with check (id = (select auth.uid()));

-- tickets
create policy tickets_select_own on public.tickets
    for select to authenticated
    using (requester_id = (select auth.uid()));

create policy tickets_select_staff on public.tickets
    for select to authenticated
    using ((select public.is_staff()));

create policy tickets_insert_own on public.tickets
    for insert to authenticated
    with check (
        requester_id = (select auth.uid())
        and status = 'new'
        and assignee_id is null
    );

create policy tickets_insert_staff on public.tickets
    for insert to authenticated
    with check ((select public.is_staff()));

create policy tickets_update_own on public.tickets
    for update to authenticated
    using (requester_id = (select auth.uid()))
    with check (requester_id = (select auth.uid()));

create policy tickets_update_staff on public.tickets
    for update to authenticated
    using ((select public.is_staff()))
    with check ((select public.is_staff()));

-- ticket_messages
create policy ticket_messages_select_own on public.ticket_messages
    for select to authenticated
    using (
        internal = false
        and exists (
            select 1 from public.tickets t
            where t.id = ticket_messages.ticket_id
              and t.requester_id = (select auth.uid())
        )
    );

create policy ticket_messages_select_staff on public.ticket_messages
    for select to authenticated
    using ((select public.is_staff()));

create policy ticket_messages_insert_own on public.ticket_messages
    for insert to authenticated
    with check (
        author_id = (select auth.uid())
        and internal = false
        and exists (
            select 1 from public.tickets t
            where t.id = ticket_messages.ticket_id
              and t.requester_id = (select auth.uid())
        )
    );

create policy ticket_messages_insert_staff on public.ticket_messages
    for insert to authenticated
    with check (
        author_id = (select auth.uid())
        and (select public.is_staff())
    );

-- ticket_status_changes (written only by tickets_record_status_change)
create policy ticket_status_changes_select_own on public.ticket_status_changes
    for select to authenticated
    using (
        exists (
            select 1 from public.tickets t
            where t.id = ticket_status_changes.ticket_id
              and t.requester_id = (select auth.uid())
        )
    );

create policy ticket_status_changes_select_staff on public.ticket_status_changes
    for select to authenticated
    using ((select public.is_staff()));

-- The SECURITY DEFINER helpers/triggers run as the migration role (the table
-- owner). With FORCE ROW LEVEL SECURITY the owner is subject to RLS unless it
-- is a superuser or has BYPASSRLS; in that case give it an explicit
-- full-access policy so the helpers keep working (no-op on a superuser).
do $$
declare
    v_tab text;
begin
    if not exists (
        select 1 from pg_catalog.pg_roles
        where rolname = current_user and (rolsuper or rolbypassrls)
    ) then
        foreach v_tab in array array['profiles', 'tickets', 'ticket_messages', 'ticket_status_changes'] loop
            execute format(
                'create policy %I on public.%I for all to %I using (true) with check (true)',
                v_tab || '_owner_all', v_tab, current_user
            );
        end loop;
    end if;
end
$$;

-- ---------------------------------------------------------------------------
-- Customer views: only customer-visible columns; security_invoker so the
-- caller's RLS policies apply.
-- ---------------------------------------------------------------------------
create view public.customer_tickets
    with (security_invoker = true)
as
select id, subject, status, priority, category, created_at, updated_at
from public.tickets;

create view public.customer_ticket_messages
    with (security_invoker = true)
as
select id, ticket_id, author_id, body, created_at
from public.ticket_messages
where internal = false;

-- ---------------------------------------------------------------------------
-- Grants. Revoke first: Supabase's default privileges grant ALL on new
-- objects in public to anon/authenticated. authenticator gets nothing
-- directly (it is NOINHERIT and must `set role authenticated`).
-- ---------------------------------------------------------------------------
revoke all on table
    public.profiles,
    public.tickets,
    public.ticket_messages,
    public.ticket_status_changes,
    public.customer_tickets,
    public.customer_ticket_messages
from public, anon, authenticated, authenticator;

revoke all on sequence public.ticket_status_changes_id_seq
from public, anon, authenticated, authenticator;

revoke all on function
    public.current_user_role(),
    public.is_staff(),
    public.tickets_before_update(),
    public.tickets_check_assignee(),
    public.tickets_record_status_change(),
    public.ticket_messages_after_insert()
from public, anon, authenticated, authenticator;

grant usage on schema public to authenticated;

grant execute on function public.current_user_role(), public.is_staff() to authenticated;

grant select on public.profiles to authenticated;
grant insert (id, email, display_name, role) on public.profiles to authenticated;
grant update (display_name) on public.profiles to authenticated;

grant select on public.tickets to authenticated;
grant insert (requester_id, subject, status, priority, category, assignee_id, idempotency_key)
    on public.tickets to authenticated;
grant update (requester_id, subject, status, priority, category, assignee_id)
    on public.tickets to authenticated;

grant select on public.ticket_messages to authenticated;
grant insert (ticket_id, author_id, body, internal) on public.ticket_messages to authenticated;

grant select on public.ticket_status_changes to authenticated;
grant usage on sequence public.ticket_status_changes_id_seq to authenticated;

grant select on public.customer_tickets, public.customer_ticket_messages to authenticated;
