-- Help-center tables (schema public). Row Level Security, triggers, views and
-- grants follow in 0003.

create table public.profiles (
    id           uuid primary key,                 -- = JWT `sub` (auth.uid())
    email        text,
    display_name text,
    role         text not null default 'customer'
                 check (role in ('customer', 'agent', 'admin')),
    created_at   timestamptz not null default now()
);

create table public.tickets (
    id              uuid primary key default gen_random_uuid(),
    requester_id    uuid not null references public.profiles (id),
    subject         text not null
                    check (char_length(subject) between 1 and 200),
    status          text not null default 'new'
                    check (status in ('new', 'open', 'pending', 'solved', 'closed')),
    priority        text not null default 'normal'
                    check (priority in ('low', 'normal', 'high', 'urgent')),
    category        text,
    assignee_id     uuid references public.profiles (id),
    idempotency_key text
                    check (idempotency_key is null or char_length(idempotency_key) between 1 and 255),
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    -- NULL keys are distinct, so tickets without a key never conflict.
    constraint tickets_requester_idempotency_key unique (requester_id, idempotency_key)
);

create table public.ticket_messages (
    id         uuid primary key default gen_random_uuid(),
    ticket_id  uuid not null references public.tickets (id) on delete cascade,
    author_id  uuid not null references public.profiles (id),
    body       text not null
               check (char_length(body) between 1 and 20000),
    internal   boolean not null default false,
    created_at timestamptz not null default now()
);

create table public.ticket_status_changes (
    id          bigint generated always as identity primary key,
    ticket_id   uuid not null references public.tickets (id) on delete cascade,
    changed_by  uuid references public.profiles (id),  -- NULL = system (no JWT)
    from_status text not null,
    to_status   text not null,
    created_at  timestamptz not null default now()
);

-- List queries (keyset pagination on (updated_at desc, id desc)) and the
-- lookups done by the RLS policies.
create index tickets_requester_updated_idx
    on public.tickets (requester_id, updated_at desc, id desc);
create index tickets_updated_idx
    on public.tickets (updated_at desc, id desc);
create index tickets_assignee_updated_idx
    on public.tickets (assignee_id, updated_at desc, id desc);
create index ticket_messages_ticket_created_idx
    on public.ticket_messages (ticket_id, created_at, id);
create index ticket_status_changes_ticket_created_idx
    on public.ticket_status_changes (ticket_id, created_at);
