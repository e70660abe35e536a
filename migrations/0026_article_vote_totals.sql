-- The unhelpful-articles report over long ranges (issue 17: 190 to 300 ms over 365 days
-- of 200,000 votes, as it counted every vote of the range). Each article's "not
-- helpful" votes in total bound those in any range from above: the report counts the
-- range only for the articles with the most, and stops once no article left can reach
-- its page (src/insights/unhelpful.rs), as the unopened report does (migration 0023).
--
-- Kept by row triggers on both vote tables: each vote adds or takes away its own one,
-- whatever the order the rows of a statement are handled in.

create table if not exists public.article_vote_totals (
    article_slug text primary key,
    not_helpful  integer not null default 0
);

insert into public.article_vote_totals (article_slug, not_helpful)
select v.article_slug, count(*) filter (where not v.helpful)
from (select article_slug, helpful from public.article_feedback
      union all
      select article_slug, helpful from public.article_feedback_anonymous) v
group by v.article_slug
on conflict (article_slug) do update set not_helpful = excluded.not_helpful;

create index if not exists article_vote_totals_not_helpful_idx
    on public.article_vote_totals (not_helpful desc, article_slug)
    where not_helpful > 0;

alter table public.article_vote_totals enable row level security;
alter table public.article_vote_totals force row level security;
revoke all on public.article_vote_totals from public, anon, authenticated;
grant select on public.article_vote_totals to authenticated;
drop policy if exists article_vote_totals_staff_select on public.article_vote_totals;
create policy article_vote_totals_staff_select on public.article_vote_totals
    for select to authenticated
    using ((select public.is_staff()));

create or replace function public.article_vote_totals_track()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_old integer := 0;
    v_new integer := 0;
begin
    if tg_op in ('UPDATE', 'DELETE') and not old.helpful then
        v_old := 1;
    end if;
    if tg_op in ('INSERT', 'UPDATE') and not new.helpful then
        v_new := 1;
    end if;
    if tg_op = 'UPDATE' and old.article_slug <> new.article_slug then
        update public.article_vote_totals set not_helpful = not_helpful - v_old
        where article_slug = old.article_slug;
        v_old := 0;
    end if;
    if v_new <> v_old then
        insert into public.article_vote_totals as t (article_slug, not_helpful)
        values (case when tg_op = 'DELETE' then old.article_slug else new.article_slug end,
                v_new - v_old)
        on conflict (article_slug) do update set not_helpful = t.not_helpful + excluded.not_helpful;
    end if;
    return null;
end
$$;
revoke all on function public.article_vote_totals_track() from public, anon, authenticated, authenticator;

drop trigger if exists article_feedback_totals on public.article_feedback;
create trigger article_feedback_totals
    after insert or update of helpful, article_slug or delete on public.article_feedback
    for each row execute function public.article_vote_totals_track();
drop trigger if exists article_feedback_anonymous_totals on public.article_feedback_anonymous;
create trigger article_feedback_anonymous_totals
    after insert or update of helpful, article_slug or delete on public.article_feedback_anonymous
    for each row execute function public.article_vote_totals_track();
