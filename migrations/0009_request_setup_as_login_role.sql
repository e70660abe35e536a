-- Take back 0008's grant of hc_request_setup to `authenticated`.
--
-- 0008 let hc_enter call hc_request_setup after it had switched to
-- `authenticated`, and granted it for that. A raw SQL session as
-- `authenticated` gains nothing from it (it may set any claims itself), but a
-- Supabase client does: PostgREST exposes functions as `POST /rpc/...`, where
-- set_config is out of reach, and through hc_request_setup a customer could
-- take any other user's claims for the rest of that request (their role, a
-- profile created for an unused id). Found in review, checked by
-- tests/tickets_attacks.rs.
--
-- hc_enter now does what needs the login role first: it sets the claims, looks
-- up the caller's role still as `authenticator` (which may become any user
-- anyway), and only then becomes `authenticated`; a first request goes through
-- hc_request_setup as before, as the login role it was written for.
--
-- hc_enter and the hc_* wrappers scope the role and claims to the *current
-- transaction*: called as one statement outside a transaction
-- (Database::read_one_as) that is the statement. Inside an explicit
-- transaction they last until its end, like hc_request_setup.

revoke execute on function public.hc_request_setup(text) from authenticated;

grant execute on function public.current_user_role() to authenticator;

create or replace function public.hc_enter(p_claims text)
returns text
language plpgsql
volatile
set search_path = ''
as $$
declare
    v_role text;
begin
    perform pg_catalog.set_config('request.jwt.claims', p_claims, true);
    v_role := public.current_user_role();
    if v_role is null then
        -- First sight (creates the profile and becomes `authenticated`) or claims
        -- without `sub` (P0401).
        select s.role into v_role from public.hc_request_setup(p_claims) s;
    else
        perform pg_catalog.set_config('role', 'authenticated', true);
    end if;
    return v_role;
end
$$;
