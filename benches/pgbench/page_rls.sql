select * from public.hc_tickets_page('{"sub":"00000000-0000-4000-8000-000000001474","role":"authenticated"}', null, null, true, null, null, null, 26);
