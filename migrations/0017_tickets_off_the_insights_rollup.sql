-- Opening a ticket no longer touches the insights rollups: 0014's trigger counted the
-- ticket's session in today's row of insight_days inside the ticket's own
-- transaction, so every ticket creation of every replica queued on that one row (and
-- behind the recording batches). The deflection report now counts, per day, the
-- distinct sessions of the day's tickets that searched or read that day
-- (insight_session_days, by its primary key): a few thousand lookups for a month of a
-- busy help center.

drop trigger if exists tickets_mark_insight_session on public.tickets;
drop function if exists public.hc_ticket_marks_session_day();

create index if not exists tickets_insight_created_idx
    on public.tickets (created_at) include (insight_session)
    where insight_session is not null;
