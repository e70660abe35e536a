-- "Was this article helpful?" votes, kept for later ranking.
--
-- * public.article_feedback: one vote per signed-in user per article (a second vote
--   replaces the first). A user sees and changes only their own votes; agents and
--   admins read them all (per-article totals).
-- * public.article_feedback_anonymous: votes without an account, each with a
--   pseudonymous client key (a hash of the client address, never the address). Only
--   public.hc_vote_anonymously() writes them, which limits each client key to
--   ANON_VOTES_PER_HOUR votes per hour across every replica (the count lives here,
--   not in a replica's memory) and raises P0429 beyond.
-- * Articles live in files, not here: the slug is checked against the knowledge base
--   by the service before a vote is stored.

create table if not exists public.article_feedback (
    article_slug text not null check (char_length(article_slug) between 1 and 512),
    voter_id     uuid not null references public.profiles (id) on delete cascade,
    helpful      boolean not null,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    primary key (article_slug, voter_id)
);

create table if not exists public.article_feedback_anonymous (
    id           bigint generated always as identity primary key,
    article_slug text not null check (char_length(article_slug) between 1 and 512),
    client_key   text not null check (char_length(client_key) = 64),
    helpful      boolean not null,
    created_at   timestamptz not null default now()
);

create index if not exists article_feedback_anonymous_client_idx
    on public.article_feedback_anonymous (client_key, created_at);
create index if not exists article_feedback_anonymous_slug_idx
    on public.article_feedback_anonymous (article_slug);

alter table public.article_feedback enable row level security;
alter table public.article_feedback force row level security;
alter table public.article_feedback_anonymous enable row level security;
alter table public.article_feedback_anonymous force row level security;

drop policy if exists article_feedback_select on public.article_feedback;
create policy article_feedback_select on public.article_feedback
    for select to authenticated
    using (voter_id = (select auth.uid()) or (select public.is_staff()));

drop policy if exists article_feedback_insert_own on public.article_feedback;
create policy article_feedback_insert_own on public.article_feedback
    for insert to authenticated
    with check (voter_id = (select auth.uid()));

drop policy if exists article_feedback_update_own on public.article_feedback;
create policy article_feedback_update_own on public.article_feedback
    for update to authenticated
    using (voter_id = (select auth.uid()))
    with check (voter_id = (select auth.uid()));

drop policy if exists article_feedback_anonymous_staff_select on public.article_feedback_anonymous;
create policy article_feedback_anonymous_staff_select on public.article_feedback_anonymous
    for select to authenticated
    using ((select public.is_staff()));

revoke all on public.article_feedback, public.article_feedback_anonymous from public, anon, authenticated;
grant select on public.article_feedback to authenticated;
grant insert (article_slug, voter_id, helpful) on public.article_feedback to authenticated;
grant update (helpful, updated_at) on public.article_feedback to authenticated;
grant select on public.article_feedback_anonymous to authenticated;

-- The only way to store an anonymous vote. SECURITY DEFINER: it must count the
-- client's recent votes, which `anon` may not read.
create or replace function public.hc_vote_anonymously(
    p_slug text,
    p_client_key text,
    p_helpful boolean,
    p_per_hour integer
)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
    v_recent integer;
begin
    -- Two replicas counting the same client at once must not both let a vote past.
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('hc_vote:' || p_client_key));
    select count(*) into v_recent
    from public.article_feedback_anonymous f
    where f.client_key = p_client_key
      and f.created_at > pg_catalog.now() - interval '1 hour';
    if v_recent >= p_per_hour then
        raise exception using errcode = 'P0429',
            message = 'too many anonymous votes from this address; try again later or sign in';
    end if;
    insert into public.article_feedback_anonymous (article_slug, client_key, helpful)
    values (p_slug, p_client_key, p_helpful);
end
$$;

revoke all on function public.hc_vote_anonymously(text, text, boolean, integer) from public, authenticated;
grant usage on schema public to anon;
grant execute on function public.hc_vote_anonymously(text, text, boolean, integer) to anon;
