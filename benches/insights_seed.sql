-- A year of help-center traffic for the insights reports' bench
-- (benches/insights_seed.sh): 5,000,000 settled searches in 1,250,000 sessions (four
-- each, 20 seconds apart), 200,000 distinct queries with a long tail (a few are very
-- common), one in five finding nothing; 1,500,000 clicks and 2,000,000 article views
-- in those sessions; 30,000 tickets opened from them by 1,000 customers; 200,000
-- votes. The rollups (migration 0014) are filled from the raw events, as the recorder
-- keeps them.
\timing on
set synchronous_commit = off;

insert into public.profiles (id, email, role)
select ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid,
       'customer' || g || '@example.com', 'customer'
from generate_series(1, 1000) g
on conflict (id) do nothing;

insert into public.insight_searches (at, session, query, results, top_slugs, source)
select now() - interval '365 days' * ((g / 4)::float8 / 1250000) + (g % 4) * interval '20 seconds',
       'seed-session-' || (g / 4),
       'query ' || floor(power(random(), 3) * 200000)::int,
       case when random() < 0.2 then 0 else 1 + floor(random() * 40)::int end,
       '{a/b,c/d}', 'api'
from generate_series(0, 4999999) g;

insert into public.insight_clicks (at, session, query, slug, position)
select s.at + interval '5 seconds', s.session, s.query, 'articles/n' || (s.id % 5000), (s.id % 5)::int
from public.insight_searches s
where s.results > 0 and s.id % 10 < 4
limit 1500000;

insert into public.insight_views (at, session, slug)
select s.at + interval '8 seconds', s.session, 'articles/n' || (s.id % 5000)
from public.insight_searches s
where s.id % 5 < 2
limit 2000000;

insert into public.tickets (requester_id, subject, created_at, updated_at, insight_session)
select ('00000000-0000-4000-8000-' || lpad((1 + g % 1000)::text, 12, '0'))::uuid,
       'Seeded ticket ' || g,
       s.at + interval '2 minutes', s.at + interval '2 minutes', s.session
from generate_series(1, 30000) g
join public.insight_searches s on s.id = g * 160;

insert into public.article_feedback_anonymous (article_slug, client_key, helpful, reason, created_at)
select 'articles/n' || (g % 5000), lpad(to_hex(g), 64, '0'), g % 3 <> 0,
       case when g % 3 = 0 then (array['outdated', 'unclear', 'incomplete', 'not-my-question', 'other'])[1 + g % 5] end,
       now() - interval '365 days' * random()
from generate_series(1, 200000) g;

insert into public.insight_queries (query)
select distinct query from public.insight_searches;

insert into public.insight_query_days (day, query_id, searches, zero_results, clicks, last_seen)
select (s.at at time zone 'UTC')::date, q.id, count(*), count(*) filter (where s.results = 0), 0, max(s.at)
from public.insight_searches s join public.insight_queries q on q.query = s.query
group by 1, 2;

update public.insight_query_days d set clicks = c.n
from (select (c.at at time zone 'UTC')::date as day, q.id as query_id, count(*) as n
      from public.insight_clicks c join public.insight_queries q on q.query = c.query
      group by 1, 2) c
where d.day = c.day and d.query_id = c.query_id;

-- The seeded tickets went in before their sessions' days were counted: count them all.
truncate public.insight_session_days, public.insight_days;
insert into public.insight_session_days (day, session)
select (at at time zone 'UTC')::date, session from public.insight_searches
union
select (at at time zone 'UTC')::date, session from public.insight_views;
update public.insight_session_days sd set ticket = true
from public.tickets t
where t.insight_session = sd.session and (t.created_at at time zone 'UTC')::date = sd.day;
insert into public.insight_days (day, searches, zero_results, clicks, sessions, sessions_with_ticket)
select d.day, d.searches, d.zero_results, d.clicks, coalesce(s.n, 0), coalesce(s.t, 0)
from (select day, sum(searches) as searches, sum(zero_results) as zero_results, sum(clicks) as clicks
      from public.insight_query_days group by day) d
left join (select day, count(*) as n, count(*) filter (where ticket) as t
           from public.insight_session_days group by day) s on s.day = d.day;

vacuum analyze;
