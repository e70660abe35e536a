begin;
select * from public.hc_request_setup('{"sub":"00000000-0000-4000-8000-000000001474","role":"authenticated"}');
rollback;
