-- Benchmark data set: 10,000 customers, 20 agents, 1,000,000 tickets and
-- 5,000,000 messages (every 5th an internal note), plus a status change per
-- solved ticket. Run on a migrated, empty database as its owner (a
-- superuser: triggers are switched off for the bulk load with
-- session_replication_role, so the message trigger does not update a
-- ticket 5,000,000 times; the rows carry their ticket's requester here,
-- which a trigger fills otherwise). See benches/seed.sh.
\set ON_ERROR_STOP on
\timing on

set session_replication_role = replica;
set maintenance_work_mem = '512MB';
set synchronous_commit = off;

insert into public.profiles (id, email, display_name, role)
select ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid,
       'customer' || i || '@example.com', 'Customer ' || i, 'customer'
from generate_series(1, 10000) i;

insert into public.profiles (id, email, display_name, role)
select ('00000000-0000-4000-9000-' || lpad(to_hex(i), 12, '0'))::uuid,
       'agent' || i || '@example.com', 'Agent ' || i, 'agent'
from generate_series(1, 20) i;

-- Ticket i belongs to customer (i % 10000) + 1: 100 tickets each, updates
-- spread over the last year.
insert into public.tickets (id, requester_id, subject, status, priority, category,
                            assignee_id, created_at, updated_at)
select gen_random_uuid(),
       ('00000000-0000-4000-8000-' || lpad(to_hex((i % 10000) + 1), 12, '0'))::uuid,
       'Ticket ' || i || ': ' || (array['label printer jams', 'refund for order', 'cannot sign in',
                                        'parcel stuck in transit', 'invoice address wrong'])[1 + i % 5],
       (array['new', 'open', 'pending', 'solved', 'closed'])[1 + i % 5],
       (array['low', 'normal', 'normal', 'high', 'urgent'])[1 + (i / 7) % 5],
       (array['billing', 'account', 'technical', 'other'])[1 + (i / 3) % 4],
       case when i % 3 = 0 then null
            else ('00000000-0000-4000-9000-' || lpad(to_hex((i % 20) + 1), 12, '0'))::uuid end,
       ts - interval '2 days', ts
from (select i, now() - (random() * interval '365 days') as ts
      from generate_series(1, 1000000) i) s;

insert into public.ticket_messages (ticket_id, requester_id, author_id, body, internal, created_at)
select t.id,
       t.requester_id,
       case when k in (1, 3, 5) then t.requester_id
            else coalesce(t.assignee_id, '00000000-0000-4000-9000-000000000001'::uuid) end,
       'Message ' || k || ' on this ticket. ' || repeat('Some words of the conversation. ', 4),
       k = 4,
       t.created_at + k * interval '1 hour'
from public.tickets t, generate_series(1, 5) k;

insert into public.ticket_status_changes (ticket_id, requester_id, changed_by, from_status, to_status, created_at)
select t.id, t.requester_id, t.assignee_id, 'open', t.status, t.created_at + interval '6 hours'
from public.tickets t
where t.status in ('solved', 'closed');

set session_replication_role = origin;
vacuum analyze public.profiles, public.tickets, public.ticket_messages, public.ticket_status_changes;

select (select count(*) from public.profiles) as profiles,
       (select count(*) from public.tickets) as tickets,
       (select count(*) from public.ticket_messages) as messages,
       (select count(*) from public.ticket_status_changes) as status_changes;
