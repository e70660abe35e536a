begin;
select set_config('role', 'authenticated', true), set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-000000001474","role":"authenticated"}', true);
select t.id, t.subject, t.status, t.priority, t.category, t.requester_id, t.assignee_id, t.created_at, t.updated_at from public.tickets t where true and t.requester_id = '00000000-0000-4000-8000-000000001474' order by t.updated_at desc, t.id desc limit 26;
rollback;
