//! The reports' SQL (all values bound). Each runs on a connection the caller set up:
//! an agent's transaction under Row Level Security (the HTTP reports), or the owner's
//! connection (`helpcenter insights` in a terminal). The counts come from the daily
//! rollups (`insight_query_days`, `insight_days`), the samples and the ticket links from the events of
//! the page being shown only, so a report over a year of traffic stays fast.

use serde::Serialize;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

pub use super::unhelpful::UnhelpfulPlan;
use super::unhelpful::VOTES;
pub use super::unopened::UnopenedPlan;

/// A date range, both days included (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    /// First day.
    pub from: Date,
    /// Last day.
    pub to: Date,
}

impl DateRange {
    /// The last `days` days, today included.
    pub fn last_days(days: u32) -> DateRange {
        let today = OffsetDateTime::now_utc().date();
        DateRange {
            from: today - time::Duration::days(days.saturating_sub(1) as i64),
            to: today,
        }
    }

    pub(super) fn start(&self) -> OffsetDateTime {
        self.from.midnight().assume_utc()
    }

    pub(super) fn end(&self) -> OffsetDateTime {
        (self.to + time::Duration::days(1)).midnight().assume_utc()
    }
}

/// A page of a report.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Rows per page.
    pub limit: i64,
    /// Rows skipped.
    pub offset: i64,
}

/// What a customer did after a search, within 30 minutes in the same session.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct NextStep {
    /// `search` (another query), `click` (opened an article), `ticket` (opened a
    /// ticket), or `nothing` (nothing more within 30 minutes).
    pub kind: String,
    /// The next query, the article's slug or the ticket's subject.
    pub text: Option<String>,
    /// The ticket's id, for `ticket`.
    pub ticket_id: Option<String>,
}

/// A query that found nothing.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ZeroResultQuery {
    /// The normalized query.
    pub query: String,
    /// How many times it found nothing in the range.
    pub count: i64,
    /// The last time it found nothing (RFC 3339).
    pub last_seen: Option<String>,
    /// What up to three customers did next, most recent first.
    pub next: Vec<NextStep>,
}

/// A query by how often it was searched.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct QueryCount {
    /// The normalized query.
    pub query: String,
    /// Settled searches.
    pub searches: i64,
    /// Of which found nothing.
    pub zero_results: i64,
    /// Results opened from it.
    pub clicks: i64,
    /// Clicks per search (0 when nobody opens its results).
    pub click_through: f64,
}

/// One day of searching.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct DailyCounts {
    /// The day (UTC), `YYYY-MM-DD`.
    pub day: String,
    /// Settled searches.
    pub searches: i64,
    /// Of which found nothing.
    pub zero_results: i64,
    /// Results opened.
    pub clicks: i64,
}

/// Searches, zero-result searches and clicks per day (days without any left out).
pub async fn daily(
    conn: &mut PgConnection,
    range: DateRange,
) -> Result<Vec<DailyCounts>, sqlx::Error> {
    sqlx::query_as(
        "select to_char(day, 'YYYY-MM-DD') as day, searches::bigint, \
                zero_results::bigint, clicks::bigint \
         from public.insight_days where day between $1 and $2 and searches > 0 order by day",
    )
    .bind(range.from)
    .bind(range.to)
    .fetch_all(conn)
    .await
}

/// One day of deflection.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct DeflectionDay {
    /// The day (UTC), `YYYY-MM-DD`.
    pub day: String,
    /// Sessions that searched or read an article.
    pub sessions: i64,
    /// Of which opened a ticket that day.
    pub with_ticket: i64,
    /// Sessions that did not open a ticket, per session (1 when none did).
    pub deflection_rate: f64,
}

/// A ticket and the searches of its session in the 30 minutes before it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketSearches {
    /// The ticket.
    pub ticket_id: String,
    /// Its subject.
    pub subject: String,
    /// When it was opened (RFC 3339).
    pub created_at: String,
    /// The queries searched before it, oldest first, with their result counts.
    pub searches: Vec<PrecedingSearch>,
}

/// A search that preceded a ticket.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PrecedingSearch {
    /// The normalized query.
    pub query: String,
    /// How many articles it found.
    pub results: i32,
}

/// An article by its "not helpful" votes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnhelpfulArticle {
    /// The article.
    pub slug: String,
    /// "No" votes in the range.
    pub not_helpful: i64,
    /// "Yes" votes in the range.
    pub helpful: i64,
    /// The reasons given with "no", by count.
    pub reasons: Vec<ReasonCount>,
    /// Up to three recent comments.
    pub comments: Vec<String>,
}

/// How often a reason was given.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReasonCount {
    /// `outdated`, `unclear`, `incomplete`, `not-my-question` or `other`.
    pub reason: String,
    /// Votes.
    pub count: i64,
}

use super::rfc3339;

/// A day as reports print it: `YYYY-MM-DD`.
pub fn iso_day(d: Date) -> String {
    d.format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// Lets this transaction's aggregates over a range hash their groups in memory (a
/// 30-day range of a busy help center has over a hundred thousand distinct queries;
/// the default 4 MB spills them to disk). Transaction-local.
pub(super) async fn wide_aggregates(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("set local work_mem = '32MB'")
        .execute(conn)
        .await
        .map(|_| ())
}

/// How a query report ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rank {
    /// By searches.
    Searches,
    /// By searches that found nothing (only queries that did).
    ZeroResults,
}

impl Rank {
    /// The summed column the rank orders by.
    fn metric(self) -> &'static str {
        match self {
            Rank::ZeroResults => "zero_results",
            Rank::Searches => "searches",
        }
    }

    /// Which queries the report lists.
    fn having(self) -> &'static str {
        match self {
            Rank::Searches => "sum(searches) > 0",
            Rank::ZeroResults => "sum(zero_results) > 0",
        }
    }
}

/// A ranked query: id, searches, zero results, clicks.
pub(super) type Ranked = (i64, i64, i64, i64);

/// One page of queries ranked over the range, exactly. Most (day, query) rows of a long
/// tail count one search, so the ranking first sums only the days where a query was
/// searched (or found nothing) at least twice (partial indexes, migration 0015), keeps
/// the best candidates, and counts them exactly by query id. Any query left out sums at
/// most its candidates' smallest partial count plus one a day; when the page's last row
/// is above that bound, the page is exact. Otherwise (a flat tail, as for queries whose
/// results nobody opens) every row of the range is summed.
async fn ranked_queries(
    conn: &mut PgConnection,
    range: DateRange,
    page: Page,
    rank: Rank,
) -> Result<Vec<Ranked>, sqlx::Error> {
    wide_aggregates(conn).await?;
    let (metric, having) = (rank.metric(), rank.having());
    let days = (range.to - range.from).whole_days() + 1;
    let candidates_max = (page.offset + page.limit) * 5 + 100;
    let candidates: Vec<(i64, i64)> = sqlx::query_as(&format!(
        "select query_id, sum({metric})::bigint from public.insight_query_days \
         where day between $1 and $2 and {metric} >= 2 \
         group by query_id order by 2 desc, 1 limit $3"
    ))
    .bind(range.from)
    .bind(range.to)
    .bind(candidates_max)
    .fetch_all(&mut *conn)
    .await?;
    let truncated = candidates.len() as i64 == candidates_max;
    let smallest = if truncated {
        candidates.last().map_or(0, |c| c.1)
    } else {
        0
    };
    let bound = smallest + days;
    let ids: Vec<i64> = candidates.iter().map(|c| c.0).collect();
    let exact: Vec<Ranked> = sqlx::query_as(&format!(
        "select query_id, sum(searches)::bigint, sum(zero_results)::bigint, sum(clicks)::bigint \
         from public.insight_query_days \
         where query_id = any($1) and day between $2 and $3 \
         group by query_id having {having} \
         order by sum({metric}) desc, query_id limit $4 offset $5"
    ))
    .bind(&ids)
    .bind(range.from)
    .bind(range.to)
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(&mut *conn)
    .await?;
    let value = |r: &Ranked| if rank == Rank::ZeroResults { r.2 } else { r.1 };
    if exact.len() as i64 == page.limit && exact.last().is_some_and(|r| value(r) > bound) {
        return Ok(exact);
    }
    sqlx::query_as(&format!(
        "select query_id, sum(searches)::bigint, sum(zero_results)::bigint, sum(clicks)::bigint \
         from public.insight_query_days where day between $1 and $2 \
         group by query_id having {having} \
         order by sum({metric}) desc, query_id limit $3 offset $4"
    ))
    .bind(range.from)
    .bind(range.to)
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(conn)
    .await
}

/// The texts of ranked queries, in rank order.
async fn with_texts(
    conn: &mut PgConnection,
    ranked: Vec<Ranked>,
) -> Result<Vec<QueryCount>, sqlx::Error> {
    let ids: Vec<i64> = ranked.iter().map(|r| r.0).collect();
    let texts: Vec<(i64, String)> =
        sqlx::query_as("select id, query from public.insight_queries where id = any($1)")
            .bind(&ids)
            .fetch_all(conn)
            .await?;
    let text: std::collections::HashMap<i64, String> = texts.into_iter().collect();
    Ok(ranked
        .into_iter()
        .filter_map(|(id, searches, zero_results, clicks)| {
            Some(QueryCount {
                query: text.get(&id)?.clone(),
                searches,
                zero_results,
                clicks,
                click_through: if searches > 0 {
                    clicks as f64 / searches as f64
                } else {
                    0.0
                },
            })
        })
        .collect())
}

/// Queries that found nothing, most frequent first.
pub async fn zero_results(
    conn: &mut PgConnection,
    range: DateRange,
    page: Page,
) -> Result<Vec<ZeroResultQuery>, sqlx::Error> {
    let ranked = ranked_queries(&mut *conn, range, page, Rank::ZeroResults).await?;
    let rows = with_texts(&mut *conn, ranked).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let (query, count) = (row.query, row.zero_results);
        let samples: Vec<(OffsetDateTime, String)> = sqlx::query_as(
            "select at, session from public.insight_searches \
             where query = $1 and results = 0 and at >= $2 and at < $3 \
             order by at desc limit 3",
        )
        .bind(&query)
        .bind(range.start())
        .bind(range.end())
        .fetch_all(&mut *conn)
        .await?;
        let mut next = Vec::with_capacity(samples.len());
        for (at, session) in &samples {
            next.push(next_step(conn, session, *at, &query).await?);
        }
        out.push(ZeroResultQuery {
            last_seen: samples.first().map(|(at, _)| rfc3339(*at)),
            query,
            count,
            next,
        });
    }
    Ok(out)
}

/// What the session did first in the 30 minutes after a search at `at`.
async fn next_step(
    conn: &mut PgConnection,
    session: &str,
    at: OffsetDateTime,
    query: &str,
) -> Result<NextStep, sqlx::Error> {
    let step: Option<NextStep> = sqlx::query_as(
        "select kind, text, ticket_id from ( \
           select 'search' as kind, s.query as text, null::text as ticket_id, s.at \
             from public.insight_searches s \
             where s.session = $1 and s.at > $2 and s.at <= $2 + interval '30 minutes' \
               and s.query <> $3 \
           union all \
           select 'click', c.slug, null, c.at from public.insight_clicks c \
             where c.session = $1 and c.at > $2 and c.at <= $2 + interval '30 minutes' \
           union all \
           select 'ticket', t.subject, t.id::text, t.created_at from public.tickets t \
             where t.insight_session = $1 and t.created_at > $2 \
               and t.created_at <= $2 + interval '30 minutes' \
         ) k order by at limit 1",
    )
    .bind(session)
    .bind(at)
    .bind(query)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(step.unwrap_or(NextStep {
        kind: "nothing".into(),
        text: None,
        ticket_id: None,
    }))
}

/// Queries by how often they were searched, with their click-through.
pub async fn top_queries(
    conn: &mut PgConnection,
    range: DateRange,
    page: Page,
) -> Result<Vec<QueryCount>, sqlx::Error> {
    let ranked = ranked_queries(&mut *conn, range, page, Rank::Searches).await?;
    with_texts(conn, ranked).await
}

/// Queries that found articles but whose results nobody opened, most searched first.
pub async fn unopened(
    conn: &mut PgConnection,
    range: DateRange,
    page: Page,
) -> Result<Vec<QueryCount>, sqlx::Error> {
    unopened_with(conn, range, page, UnopenedPlan::default()).await
}

/// [`unopened`], walking as far as `plan` allows (see `insights/unopened.rs`).
pub async fn unopened_with(
    conn: &mut PgConnection,
    range: DateRange,
    page: Page,
    plan: UnopenedPlan,
) -> Result<Vec<QueryCount>, sqlx::Error> {
    let ranked = super::unopened::ranked(&mut *conn, range, page, plan).await?;
    with_texts(conn, ranked).await
}

/// Per day: sessions that searched or read, and those of them that opened a ticket.
pub async fn deflection(
    conn: &mut PgConnection,
    range: DateRange,
) -> Result<Vec<DeflectionDay>, sqlx::Error> {
    sqlx::query_as(
        "with ticketed as ( \
           select sd.day, count(*) as n \
           from (select distinct (t.created_at at time zone 'UTC')::date as day, t.insight_session as session \
                 from public.tickets t \
                 where t.insight_session is not null and t.created_at >= $3 and t.created_at < $4) tk \
           join public.insight_session_days sd on sd.day = tk.day and sd.session = tk.session \
           group by sd.day) \
         select to_char(d.day, 'YYYY-MM-DD') as day, d.sessions::bigint, \
                coalesce(tk.n, 0)::bigint as with_ticket, \
                1 - coalesce(tk.n, 0)::float8 / d.sessions as deflection_rate \
         from public.insight_days d left join ticketed tk on tk.day = d.day \
         where d.day between $1 and $2 and d.sessions > 0 order by d.day",
    )
    .bind(range.from)
    .bind(range.to)
    .bind(range.start())
    .bind(range.end())
    .fetch_all(conn)
    .await
}

/// Tickets opened in the range from a recorded session, newest first, each with the
/// searches of its session in the 30 minutes before it.
pub async fn tickets_after_searches(
    conn: &mut PgConnection,
    range: DateRange,
    page: Page,
) -> Result<Vec<TicketSearches>, sqlx::Error> {
    let tickets: Vec<(uuid::Uuid, String, OffsetDateTime, String)> = sqlx::query_as(
        "select id, subject, created_at, insight_session from public.tickets \
         where insight_session is not null and created_at >= $1 and created_at < $2 \
         order by created_at desc, id limit $3 offset $4",
    )
    .bind(range.start())
    .bind(range.end())
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(tickets.len());
    for (id, subject, created_at, session) in tickets {
        let searches: Vec<(String, i32)> = sqlx::query_as(
            "select query, results from public.insight_searches \
             where session = $1 and at <= $2 and at > $2 - interval '30 minutes' \
             order by at",
        )
        .bind(&session)
        .bind(created_at)
        .fetch_all(&mut *conn)
        .await?;
        out.push(TicketSearches {
            ticket_id: id.to_string(),
            subject,
            created_at: rfc3339(created_at),
            searches: searches
                .into_iter()
                .map(|(query, results)| PrecedingSearch { query, results })
                .collect(),
        });
    }
    Ok(out)
}

/// Articles by their "not helpful" votes in the range, with the reasons and comments.
pub async fn unhelpful_articles(
    conn: &mut PgConnection,
    range: DateRange,
    page: Page,
) -> Result<Vec<UnhelpfulArticle>, sqlx::Error> {
    unhelpful_articles_with(conn, range, page, UnhelpfulPlan::default()).await
}

/// [`unhelpful_articles`], walking as far as `plan` allows (see `insights/unhelpful.rs`).
pub async fn unhelpful_articles_with(
    conn: &mut PgConnection,
    range: DateRange,
    page: Page,
    plan: UnhelpfulPlan,
) -> Result<Vec<UnhelpfulArticle>, sqlx::Error> {
    let rows = super::unhelpful::ranked(&mut *conn, range, page, plan).await?;
    let mut out = Vec::with_capacity(rows.len());
    for (slug, not_helpful, helpful) in rows {
        let reasons: Vec<(String, i64)> = sqlx::query_as(&format!(
            "select reason, count(*)::bigint from {VOTES} v \
             where article_slug = $1 and not helpful and reason is not null \
               and at >= $2 and at < $3 \
             group by reason order by 2 desc, 1"
        ))
        .bind(&slug)
        .bind(range.start())
        .bind(range.end())
        .fetch_all(&mut *conn)
        .await?;
        let comments: Vec<(String,)> = sqlx::query_as(&format!(
            "select comment from {VOTES} v \
             where article_slug = $1 and not helpful and comment is not null \
               and at >= $2 and at < $3 order by at desc limit 3"
        ))
        .bind(&slug)
        .bind(range.start())
        .bind(range.end())
        .fetch_all(&mut *conn)
        .await?;
        out.push(UnhelpfulArticle {
            slug,
            not_helpful,
            helpful,
            reasons: reasons
                .into_iter()
                .map(|(reason, count)| ReasonCount { reason, count })
                .collect(),
            comments: comments.into_iter().map(|(c,)| c).collect(),
        });
    }
    Ok(out)
}
