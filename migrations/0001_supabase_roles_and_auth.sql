-- Supabase-compatible access model.
--
-- On a plain PostgreSQL this creates the roles `anon`, `authenticated`
-- (NOLOGIN) and `authenticator` (LOGIN, NOINHERIT, member of both), the
-- schema `auth` and the JWT helper functions `auth.uid()`, `auth.jwt()` and
-- `auth.role()`. On a Supabase database all of these already exist and are
-- left untouched (every step checks the catalogs first).
--
-- The password of `authenticator` is deliberately NOT set here: the service
-- sets it at runtime.
--
-- How a request is scoped (inside one transaction):
--   select set_config('request.jwt.claims', '{"sub":"<uuid>","role":"authenticated"}', true);
--   set local role authenticated;

-- ---------------------------------------------------------------------------
-- Roles (cluster-wide, so they may already exist from another database).
-- ---------------------------------------------------------------------------
do $$
begin
    if not exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
        begin
            create role anon nologin noinherit;
        exception when duplicate_object then null;  -- created concurrently
        end;
    end if;

    if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
        begin
            create role authenticated nologin noinherit;
        exception when duplicate_object then null;
        end;
    end if;

    if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticator') then
        begin
            create role authenticator login noinherit;
        exception when duplicate_object then null;
        end;
    end if;

    -- authenticator may `set role anon|authenticated`; being NOINHERIT it has
    -- none of their privileges until it does so.
    if not exists (
        select 1
        from pg_catalog.pg_auth_members m
        where m.roleid = 'anon'::regrole and m.member = 'authenticator'::regrole
    ) then
        grant anon to authenticator;
    end if;

    if not exists (
        select 1
        from pg_catalog.pg_auth_members m
        where m.roleid = 'authenticated'::regrole and m.member = 'authenticator'::regrole
    ) then
        grant authenticated to authenticator;
    end if;
end
$$;

-- ---------------------------------------------------------------------------
-- Schema auth and JWT helpers (same semantics as Supabase's).
-- ---------------------------------------------------------------------------
create schema if not exists auth;

do $do$
begin
    if not exists (
        select 1 from pg_catalog.pg_proc
        where pronamespace = 'auth'::regnamespace and proname = 'jwt'
    ) then
        execute $fn$
            create function auth.jwt() returns jsonb
            language sql stable
            as $body$
                select coalesce(
                    nullif(current_setting('request.jwt.claim', true), ''),
                    nullif(current_setting('request.jwt.claims', true), '')
                )::jsonb
            $body$
        $fn$;
        execute 'grant execute on function auth.jwt() to anon, authenticated';
    end if;

    if not exists (
        select 1 from pg_catalog.pg_proc
        where pronamespace = 'auth'::regnamespace and proname = 'uid'
    ) then
        execute $fn$
            create function auth.uid() returns uuid
            language sql stable
            as $body$
                select coalesce(
                    nullif(current_setting('request.jwt.claim.sub', true), ''),
                    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
                )::uuid
            $body$
        $fn$;
        execute 'grant execute on function auth.uid() to anon, authenticated';
    end if;

    if not exists (
        select 1 from pg_catalog.pg_proc
        where pronamespace = 'auth'::regnamespace and proname = 'role'
    ) then
        execute $fn$
            create function auth.role() returns text
            language sql stable
            as $body$
                select coalesce(
                    nullif(current_setting('request.jwt.claim.role', true), ''),
                    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
                )::text
            $body$
        $fn$;
        execute 'grant execute on function auth.role() to anon, authenticated';
    end if;

    -- On Supabase the schema belongs to supabase_admin and these grants
    -- already exist; don't fail if we may not grant them ourselves.
    begin
        grant usage on schema auth to anon, authenticated;
    exception when insufficient_privilege then
        raise notice 'skipping grant usage on schema auth (insufficient privilege)';
    end;
end
$do$;
