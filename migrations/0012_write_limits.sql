-- Per-user write limits shared by every replica (issue: the ticket API survives floods).
--
-- * public.write_limits: one row per (user, action) holding a fixed window's start and
--   how many writes it has seen. Nobody reads or writes it directly: RLS is forced and
--   no policy grants anything; only public.hc_take_write_token() (SECURITY DEFINER)
--   touches it.
-- * public.hc_take_write_token(action, limit, window_seconds) counts one write of the
--   caller (auth.uid(), from the claims the request set-up installed) and raises P0429
--   beyond the limit, with the seconds until the window ends in the HINT (the service's
--   Retry-After). The upsert locks the caller's row, so two replicas counting the same
--   user at once see each other's writes; other users never wait on it.
-- * Raising aborts the caller's transaction: a refused write leaves nothing behind, not
--   even its count.

create table if not exists public.write_limits (
    user_id      uuid not null,
    action       text not null check (char_length(action) between 1 and 64),
    window_start timestamptz not null,
    writes       integer not null,
    primary key (user_id, action)
);

alter table public.write_limits enable row level security;
alter table public.write_limits force row level security;
revoke all on public.write_limits from public, anon, authenticated;

create or replace function public.hc_take_write_token(
    p_action text,
    p_limit integer,
    p_window_seconds integer
)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
    v_user uuid := auth.uid();
    v_window interval := pg_catalog.make_interval(secs => p_window_seconds);
    v_start timestamptz;
    v_writes integer;
begin
    if v_user is null then
        raise exception using errcode = 'P0403', message = 'writes need a signed-in user';
    end if;
    insert into public.write_limits as w (user_id, action, window_start, writes)
    values (v_user, p_action, pg_catalog.now(), 1)
    on conflict (user_id, action) do update set
        window_start = case when w.window_start <= pg_catalog.now() - v_window
                            then pg_catalog.now() else w.window_start end,
        writes = case when w.window_start <= pg_catalog.now() - v_window
                      then 1 else w.writes + 1 end
    returning w.window_start, w.writes into v_start, v_writes;
    if v_writes > p_limit then
        raise exception using errcode = 'P0429',
            message = pg_catalog.format('too many %s: at most %s every %s seconds',
                                        p_action, p_limit, p_window_seconds),
            -- Clamped to the window: a writer that waited on the row lock has an
            -- older now() than the window's start.
            hint = least(p_window_seconds, greatest(1, ceil(extract(epoch from
                       (v_start + v_window - pg_catalog.now())))::integer))::text;
    end if;
end
$$;

revoke all on function public.hc_take_write_token(text, integer, integer) from public, anon;
grant execute on function public.hc_take_write_token(text, integer, integer) to authenticated;
