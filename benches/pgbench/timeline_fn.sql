select * from public.ticket_timeline_page(:ticket, null, null, 51, false);
