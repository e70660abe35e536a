select * from public.tickets_page('00000000-0000-4000-8000-000000001474', false, null, null, true, null, null, null, 26);
