-- Live ticket updates: an append-only log of ticket events, written by triggers,
-- announced with NOTIFY so that every replica's subscribers wake up, and read back
-- under Row Level Security, so a subscriber only ever receives what the REST
-- endpoints would show them.
--
-- * Event ids are the stream's `id:` fields: a client reconnecting with
--   Last-Event-ID is served `id > last` from this table, never from memory.
-- * NOTIFY carries only the new id (no ticket data crosses the channel); the
--   subscriber reads the event as itself.
-- * Customers see the public events of their own tickets (messages that are not
--   internal, status changes, assignment); agents and admins see every event,
--   internal notes and new tickets included.

create table if not exists public.ticket_events (
    id         bigint generated always as identity primary key,
    ticket_id  uuid not null references public.tickets (id) on delete cascade,
    kind       text not null
               check (kind in ('ticket_created', 'message', 'status_changed', 'assigned')),
    internal   boolean not null default false,
    actor_id   uuid,
    message_id uuid,
    data       jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now()
);

create index if not exists ticket_events_ticket_idx on public.ticket_events (ticket_id, id);

alter table public.ticket_events enable row level security;
alter table public.ticket_events force row level security;

drop policy if exists ticket_events_select_staff on public.ticket_events;
create policy ticket_events_select_staff on public.ticket_events
    for select to authenticated
    using ((select public.is_staff()));

drop policy if exists ticket_events_select_own on public.ticket_events;
create policy ticket_events_select_own on public.ticket_events
    for select to authenticated
    using (
        internal = false
        and kind <> 'ticket_created'
        and exists (
            select 1 from public.tickets t
            where t.id = ticket_events.ticket_id
              and t.requester_id = (select auth.uid())
        )
    );

revoke all on public.ticket_events from public, anon, authenticated;
grant select on public.ticket_events to authenticated;

-- Appends an event and announces its id. SECURITY DEFINER: callers cannot insert
-- into the log themselves.
create or replace function public.hc_record_ticket_event(
    p_ticket uuid, p_kind text, p_internal boolean, p_message uuid, p_data jsonb
)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
    v_id bigint;
begin
    insert into public.ticket_events (ticket_id, kind, internal, actor_id, message_id, data)
    values (p_ticket, p_kind, p_internal, auth.uid(), p_message, coalesce(p_data, '{}'::jsonb))
    returning id into v_id;
    -- Delivered at commit, to every listening replica.
    perform pg_catalog.pg_notify('hc_ticket_events', v_id::text);
end
$$;

revoke all on function public.hc_record_ticket_event(uuid, text, boolean, uuid, jsonb)
    from public, anon, authenticated;

create or replace function public.ticket_events_on_ticket()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if tg_op = 'INSERT' then
        perform public.hc_record_ticket_event(new.id, 'ticket_created', false, null,
            pg_catalog.jsonb_build_object('subject', new.subject));
    elsif new.assignee_id is distinct from old.assignee_id then
        perform public.hc_record_ticket_event(new.id, 'assigned', false, null,
            pg_catalog.jsonb_build_object('assignee_id', new.assignee_id));
    end if;
    return null;
end
$$;

create or replace function public.ticket_events_on_message()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform public.hc_record_ticket_event(new.ticket_id, 'message', new.internal, new.id,
        pg_catalog.jsonb_build_object('author_id', new.author_id));
    return null;
end
$$;

create or replace function public.ticket_events_on_status_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform public.hc_record_ticket_event(new.ticket_id, 'status_changed', false, null,
        pg_catalog.jsonb_build_object('from', new.from_status, 'to', new.to_status));
    return null;
end
$$;

drop trigger if exists ticket_events_on_ticket on public.tickets;
create trigger ticket_events_on_ticket
    after insert or update of assignee_id on public.tickets
    for each row execute function public.ticket_events_on_ticket();

drop trigger if exists ticket_events_on_message on public.ticket_messages;
create trigger ticket_events_on_message
    after insert on public.ticket_messages
    for each row execute function public.ticket_events_on_message();

drop trigger if exists ticket_events_on_status_change on public.ticket_status_changes;
create trigger ticket_events_on_status_change
    after insert on public.ticket_status_changes
    for each row execute function public.ticket_events_on_status_change();
