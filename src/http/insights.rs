//! Search insights over HTTP: the session pseudonym of a request, the click endpoint,
//! the recorder's status, and the agents' reports (`GET /api/v1/insights/...`: staff by
//! their profile, customers 403, no token 401). Thin: parse, call `crate::insights`.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::AuthUser;
use super::error::{ApiError, InvalidParam, Problem};
use super::extract::ApiJson;
use super::reader::ReaderOf;
use super::AppState;
use crate::auth::Claims;
use crate::insights::reports::{self, DateRange, Page};
use crate::insights::{normalize_query, Actor, Event, RecorderStatus, SessionId};
use crate::kb::types::Slug;

/// The header a browser tab sends its pseudonym in (the API).
pub const SESSION_HEADER: &str = "x-hc-session";
/// The cookie `site.js` mirrors it in, so that page navigations carry it too.
pub const SESSION_COOKIE: &str = "hc_sid";

/// The tab's pseudonym of a request: `X-HC-Session`, else the `hc_sid` cookie.
pub fn session_of(headers: &HeaderMap) -> Option<SessionId> {
    if let Some(s) = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(SessionId::parse)
    {
        return Some(s);
    }
    super::reader::cookie(headers, SESSION_COOKIE).and_then(|v| SessionId::parse(&v))
}

/// Who acts, for the recorder: the session of the request and the signed-in user, if
/// any. `None` without a session (a client that is not a browser tab is not recorded).
pub fn actor_of(headers: &HeaderMap, who: &ReaderOf) -> Option<Actor> {
    Some(Actor {
        session: session_of(headers)?,
        user_id: who.user,
    })
}

/// Records a settled (or settling) search of the request's session: a non-empty query,
/// its total, its first slugs and its filters.
pub fn record_search(
    state: &AppState,
    headers: &HeaderMap,
    who: &ReaderOf,
    req: &crate::kb::search::SearchRequest,
    results: &crate::kb::search::SearchResults,
    source: crate::insights::Source,
) {
    let query = normalize_query(&req.q);
    if query.is_empty() || req.offset > 0 {
        // An empty box lists articles; a later page is the same search.
        return;
    }
    let Some(actor) = actor_of(headers, who) else {
        return;
    };
    state.recorder.search(crate::insights::SearchEvent {
        actor,
        query,
        results: results.total,
        top_slugs: results
            .hits
            .iter()
            .take(crate::insights::TOP_SLUGS)
            .map(|h| h.slug.clone())
            .collect(),
        category: req.category.as_ref().map(|c| c.as_str().to_string()),
        tags: req.tags.iter().map(|t| t.as_str().to_string()).collect(),
        source,
    });
}

/// Records a view of an article by the request's session.
pub fn record_view(state: &AppState, headers: &HeaderMap, who: &ReaderOf, slug: &str) {
    if let Some(actor) = actor_of(headers, who) {
        state.recorder.event(Event::View {
            actor,
            slug: slug.to_string(),
            at: time::OffsetDateTime::now_utc(),
        });
    }
}

/// The body of a click.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClickBody {
    /// The tab's pseudonym (the body carries it: `navigator.sendBeacon` sets no
    /// headers).
    #[schema(min_length = 8, max_length = 64, pattern = "^[A-Za-z0-9_-]{8,64}$")]
    session: String,
    /// The query whose result was opened.
    #[schema(max_length = 512)]
    query: String,
    /// The article opened.
    slug: String,
    /// Its place in the results, 0 first.
    #[schema(minimum = 0, maximum = 1000)]
    position: u32,
}

/// Record a click
///
/// A result of `query` was opened. Recorded in the background (best effort): 202 once
/// queued. Only articles the caller may read are recorded.
#[utoipa::path(
    post, path = "/api/v1/insights/clicks", tag = "insights", operation_id = "insights_click",
    request_body = ClickBody,
    responses(
        (status = 202, description = "Queued."),
        (status = 400, description = "The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A bearer token was sent and is not valid.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No article the caller may read has this slug.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid.", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])),
)]
pub async fn click(
    State(state): State<AppState>,
    who: ReaderOf,
    ApiJson(body): ApiJson<ClickBody>,
) -> Result<Response, ApiError> {
    let mut problems = Vec::new();
    let session = SessionId::parse(&body.session);
    if session.is_none() {
        problems.push(InvalidParam {
            name: "session".into(),
            reason: "must be 8 to 64 letters, digits, `-` or `_`".into(),
        });
    }
    if body.query.chars().count() > crate::insights::MAX_QUERY_CHARS {
        problems.push(InvalidParam {
            name: "query".into(),
            reason: format!(
                "must be at most {} characters",
                crate::insights::MAX_QUERY_CHARS
            ),
        });
    }
    if body.position > 1000 {
        problems.push(InvalidParam {
            name: "position".into(),
            reason: "must be at most 1000".into(),
        });
    }
    let slug = Slug::parse(&body.slug);
    if slug.is_err() {
        problems.push(InvalidParam {
            name: "slug".into(),
            reason: "is not an article's slug".into(),
        });
    }
    let (Some(session), Ok(slug), true) = (session, slug, problems.is_empty()) else {
        return Err(ApiError::Unprocessable(problems));
    };
    if !state.kb.has_article(&slug, &who.reader)? {
        return Err(ApiError::NotFound(format!(
            "no published article {:?}",
            slug.as_str()
        )));
    }
    state.recorder.event(Event::Click {
        actor: Actor {
            session,
            user_id: who.user,
        },
        query: normalize_query(&body.query),
        slug: slug.as_str().to_string(),
        position: body.position,
        at: time::OffsetDateTime::now_utc(),
    });
    Ok(StatusCode::ACCEPTED.into_response())
}

/// The recorder's state
///
/// Whether searches are recorded, what is queued, written and dropped (the queue drops
/// its oldest events when the database is slow or down). Counts only.
#[utoipa::path(
    get, path = "/api/v1/insights/status", tag = "insights", operation_id = "insights_status",
    responses((status = 200, description = "The recorder's counters.", body = RecorderStatus)),
)]
pub async fn status(State(state): State<AppState>) -> Json<RecorderStatus> {
    Json(state.recorder.status())
}

/// Longest date range of a report, in days.
pub const MAX_RANGE_DAYS: i64 = 400;
/// Default date range, in days.
pub const DEFAULT_RANGE_DAYS: u32 = 30;

/// The parameters every report takes: `from`, `to` (dates, both included; default the
/// last 30 days), `limit` (1–100, default 20) and `offset`.
pub(crate) fn parse_report_params(raw: Option<&str>) -> Result<(DateRange, Page), ApiError> {
    let mut range = DateRange::last_days(DEFAULT_RANGE_DAYS);
    let mut page = Page {
        limit: 20,
        offset: 0,
    };
    let mut problems = Vec::new();
    let date = time::macros::format_description!("[year]-[month]-[day]");
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let mut bad = |reason: String| {
            problems.push(InvalidParam {
                name: key.to_string(),
                reason,
            })
        };
        match key.as_ref() {
            "from" | "to" => match time::Date::parse(value.trim(), &date) {
                Ok(d) if key == "from" => range.from = d,
                Ok(d) => range.to = d,
                Err(_) => bad(format!("must be a date like 2026-12-01, got {value:?}")),
            },
            "limit" => match value.trim().parse::<i64>() {
                Ok(n) if (1..=100).contains(&n) => page.limit = n,
                _ => bad(format!(
                    "must be a whole number from 1 to 100, got {value:?}"
                )),
            },
            "offset" => match value.trim().parse::<i64>() {
                Ok(n) if (0..=10_000).contains(&n) => page.offset = n,
                _ => bad(format!(
                    "must be a whole number from 0 to 10000, got {value:?}"
                )),
            },
            _ => {}
        }
    }
    if problems.is_empty() && range.to.next_day().is_none() {
        problems.push(InvalidParam {
            name: "to".into(),
            reason: "is too far in the future".into(),
        });
    }
    if problems.is_empty() {
        let days = (range.to - range.from).whole_days();
        if days < 0 {
            problems.push(InvalidParam {
                name: "from".into(),
                reason: "must not be after `to`".into(),
            });
        } else if days >= MAX_RANGE_DAYS {
            problems.push(InvalidParam {
                name: "from".into(),
                reason: format!("the range may span at most {MAX_RANGE_DAYS} days"),
            });
        }
    }
    if problems.is_empty() {
        Ok((range, page))
    } else {
        Err(ApiError::BadRequest(problems))
    }
}

/// A report's answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Report<T> {
    /// First day (UTC), `YYYY-MM-DD`.
    pub from: String,
    /// Last day (UTC), included.
    pub to: String,
    /// This page of the report.
    pub items: Vec<T>,
}

/// Runs a report as an agent: the caller's transaction under Row Level Security, 403
/// for a customer.
async fn staff_report<T, F>(
    state: &AppState,
    claims: &Claims,
    raw: Option<&str>,
    run: F,
) -> Result<Response, ApiError>
where
    T: Serialize + Send + 'static,
    F: for<'c> FnOnce(&'c mut sqlx::PgConnection, DateRange, Page) -> crate::db::Work<'c, Vec<T>>
        + Send
        + 'static,
{
    // Who asks comes first: a customer gets 403 whatever the parameters.
    let params = parse_report_params(raw);
    let db = super::tickets::db(state)?;
    let run_with = params.as_ref().ok().copied();
    let items = db
        .read_as(claims, move |conn, session| {
            Box::pin(async move {
                if !session.role.is_staff() {
                    return Ok(None);
                }
                match run_with {
                    Some((range, page)) => Ok(Some(Some(run(conn, range, page).await?))),
                    None => Ok(Some(None)),
                }
            })
        })
        .await?;
    let Some(items) = items else {
        return Err(ApiError::Forbidden(
            "only agents and admins read the insights".into(),
        ));
    };
    let (range, _) = params?;
    let items = items.unwrap_or_default();
    Ok(Json(Report {
        from: reports::iso_day(range.from),
        to: reports::iso_day(range.to),
        items,
    })
    .into_response())
}

/// A page of a per-day list (at most a row per day of the range, read whole).
fn paged<T>(items: Vec<T>, page: Page) -> Vec<T> {
    items
        .into_iter()
        .skip(page.offset.max(0) as usize)
        .take(page.limit.max(0) as usize)
        .collect()
}

macro_rules! report_endpoint {
    ($name:ident, $path:literal, $body:ty, $summary:literal, $doc:literal, $run:expr) => {
        #[doc = $summary]
        #[doc = ""]
        #[doc = $doc]
        #[utoipa::path(
            get, path = $path, tag = "insights",
            operation_id = concat!("insights_", stringify!($name)),
            params(
                ("from" = Option<String>, Query, example = "2026-11-01", description = "First day (UTC, included; default 30 days ago)."),
                ("to" = Option<String>, Query, example = "2026-11-30", description = "Last day (UTC, included; default today)."),
                ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Rows per page (default 20)."),
                ("offset" = Option<i64>, Query, minimum = 0, maximum = 10000, description = "Rows skipped (default 0)."),
            ),
            responses(
                (status = 200, description = "The report.", body = $body),
                (status = 400, description = "A parameter is invalid.", body = Problem, content_type = "application/problem+json"),
                (status = 401, description = "Missing or invalid token.", body = Problem, content_type = "application/problem+json"),
                (status = 403, description = "Customers do not read insights.", body = Problem, content_type = "application/problem+json"),
                (status = 503, description = "The database is unreachable.", body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = [])),
        )]
        pub async fn $name(
            State(state): State<AppState>,
            AuthUser(claims): AuthUser,
            RawQuery(raw): RawQuery,
        ) -> Result<Response, ApiError> {
            staff_report(&state, &claims, raw.as_deref(), $run).await
        }
    };
}

report_endpoint!(
    zero_results,
    "/api/v1/insights/zero-results",
    Report<reports::ZeroResultQuery>,
    "Queries that found nothing",
    "Most frequent first, with the last time and what up to three customers did next (another search, an article, a ticket, or nothing within 30 minutes).",
    |conn, range, page| Box::pin(reports::zero_results(conn, range, page))
);

report_endpoint!(
    top_queries,
    "/api/v1/insights/top-queries",
    Report<reports::QueryCount>,
    "Top queries",
    "Settled searches by query, with how many found nothing and their click-through.",
    |conn, range, page| Box::pin(reports::top_queries(conn, range, page))
);

report_endpoint!(
    unopened,
    "/api/v1/insights/unopened",
    Report<reports::QueryCount>,
    "Queries whose results nobody opens",
    "Queries that found articles but whose results were never opened, most searched first.",
    |conn, range, page| Box::pin(reports::unopened(conn, range, page))
);

report_endpoint!(
    daily,
    "/api/v1/insights/daily",
    Report<reports::DailyCounts>,
    "Searches per day",
    "Settled searches, those that found nothing, and clicks, per day (UTC).",
    |conn, range, page| Box::pin(
        async move { Ok(paged(reports::daily(conn, range).await?, page)) }
    )
);

report_endpoint!(
    deflection,
    "/api/v1/insights/deflection",
    Report<reports::DeflectionDay>,
    "Deflection per day",
    "Sessions that searched or read articles, those of them that opened a ticket, and the share that did not.",
    |conn, range, page| Box::pin(async move { Ok(paged(reports::deflection(conn, range).await?, page)) })
);

report_endpoint!(
    tickets,
    "/api/v1/insights/tickets",
    Report<reports::TicketSearches>,
    "Searches before each ticket",
    "Tickets opened from a recorded session, newest first, each with the searches of the 30 minutes before it.",
    |conn, range, page| Box::pin(reports::tickets_after_searches(conn, range, page))
);

report_endpoint!(
    unhelpful_articles,
    "/api/v1/insights/unhelpful-articles",
    Report<reports::UnhelpfulArticle>,
    "Articles voted not helpful",
    "Articles by their \"not helpful\" votes, with the reasons given and recent comments.",
    |conn, range, page| Box::pin(reports::unhelpful_articles(conn, range, page))
);
