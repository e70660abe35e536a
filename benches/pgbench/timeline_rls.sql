select * from public.hc_ticket_timeline_page('{"sub":"00000000-0000-4000-8000-000000001474","role":"authenticated"}', :ticket, null, null, 51);
