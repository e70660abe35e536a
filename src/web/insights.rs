//! `GET /insights`: the agents' search insights as a page, rendered on the server from
//! the same reports as `/api/v1/insights/...`, read under Row Level Security as the
//! signed-in agent (the pages' session cookie, as the portal signs in). Charts are SVG
//! drawn here: a polyline per series, bars as rectangles; no chart library, no script.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::page;
use crate::http::insights::parse_report_params;
use crate::http::reader::page_reader;
use crate::http::AppState;
use crate::insights::reports::{
    self, DailyCounts, DateRange, DeflectionDay, Page, QueryCount, TicketSearches,
    UnhelpfulArticle, ZeroResultQuery,
};
use crate::kb::audience::Reader;

/// Rows per table on the page.
const ROWS: i64 = 10;

/// The chart area's size (SVG user units).
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 140.0;

/// One series of a line chart, ready to print.
pub struct Line {
    /// `x,y x,y ...` in the chart's units.
    pub points: String,
    /// What it counts.
    pub label: &'static str,
    /// Its CSS class (colour).
    pub class: &'static str,
}

/// A line chart over days.
pub struct LineChart {
    /// The series.
    pub lines: Vec<Line>,
    /// The top of the scale, as printed.
    pub max_label: String,
    /// First and last day.
    pub first_day: String,
    /// Last day.
    pub last_day: String,
    /// A text alternative (what the chart shows, in words).
    pub summary: String,
}

/// One bar of a bar chart.
pub struct Bar {
    /// The label.
    pub label: String,
    /// The value, as printed.
    pub value: i64,
    /// The bar's width in the chart's units.
    pub width: f64,
    /// Its top.
    pub y: f64,
}

fn line_chart(
    days: &[String],
    series: Vec<(&'static str, &'static str, Vec<f64>)>,
    max: f64,
    max_label: String,
    summary: String,
) -> LineChart {
    let n = days.len().max(1);
    let x = |i: usize| {
        if n == 1 {
            WIDTH / 2.0
        } else {
            i as f64 * WIDTH / (n - 1) as f64
        }
    };
    let y = |v: f64| HEIGHT - (v / max.max(f64::MIN_POSITIVE)).clamp(0.0, 1.0) * HEIGHT;
    LineChart {
        lines: series
            .into_iter()
            .map(|(label, class, values)| Line {
                points: values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
                    .collect::<Vec<_>>()
                    .join(" "),
                label,
                class,
            })
            .collect(),
        max_label,
        first_day: days.first().cloned().unwrap_or_default(),
        last_day: days.last().cloned().unwrap_or_default(),
        summary,
    }
}

fn bars(items: &[QueryCount]) -> Vec<Bar> {
    let max = items.iter().map(|q| q.searches).max().unwrap_or(1).max(1) as f64;
    items
        .iter()
        .enumerate()
        .map(|(i, q)| Bar {
            label: q.query.clone(),
            value: q.searches,
            width: (q.searches as f64 / max * 360.0).max(1.0),
            y: i as f64 * 24.0,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "insights.html")]
struct InsightsPage {
    from: String,
    to: String,
    searches: LineChart,
    deflection: LineChart,
    top_bars: Vec<Bar>,
    top: Vec<QueryCount>,
    zero: Vec<ZeroResultQuery>,
    unopened: Vec<QueryCount>,
    unhelpful: Vec<UnhelpfulArticle>,
    tickets: Vec<TicketSearches>,
    total_searches: i64,
    total_zero: i64,
}

#[derive(Template)]
#[template(path = "insights_denied.html")]
struct DeniedPage {
    signed_in: bool,
}

/// Every report of the page, read in one transaction as the agent.
struct Reports {
    daily: Vec<DailyCounts>,
    deflection: Vec<DeflectionDay>,
    top: Vec<QueryCount>,
    zero: Vec<ZeroResultQuery>,
    unopened: Vec<QueryCount>,
    unhelpful: Vec<UnhelpfulArticle>,
    tickets: Vec<TicketSearches>,
}

/// 503: the reports live in the ticket database, which cannot answer now.
fn unavailable() -> Response {
    let mut response = page(
        StatusCode::SERVICE_UNAVAILABLE,
        &super::UnavailablePage {
            headline: "Search insights are unavailable",
            detail: "The database that keeps them cannot be reached right now. The help \
                     center's articles keep working; try this page again in a minute.",
            reload: false,
        },
        None,
    );
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("30"),
    );
    response
}

/// `GET /insights?from=&to=`: for agents; a signed-out reader is asked to sign in
/// (401), a customer is told the page is for the support team (403).
pub async fn insights(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let who = page_reader(&state, &headers).await;
    let Some(db) = state.db.as_ref().filter(|db| db.is_ready()) else {
        return unavailable();
    };
    let (Reader::Staff, Some(claims)) = (&who.reader, &who.claims) else {
        let status = if who.reader.is_signed_in() {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::UNAUTHORIZED
        };
        return page(
            status,
            &DeniedPage {
                signed_in: who.reader.is_signed_in(),
            },
            Some(&who),
        );
    };
    // A person edits the address bar: a range that does not parse shows the default.
    let (range, _) = parse_report_params(raw.as_deref()).unwrap_or((
        DateRange::last_days(30),
        Page {
            limit: ROWS,
            offset: 0,
        },
    ));
    let page_of = Page {
        limit: ROWS,
        offset: 0,
    };
    let read = db
        .read_as(claims, move |conn, session| {
            Box::pin(async move {
                if !session.role.is_staff() {
                    return Ok(None);
                }
                Ok(Some(Reports {
                    daily: reports::daily(conn, range).await?,
                    deflection: reports::deflection(conn, range).await?,
                    top: reports::top_queries(conn, range, page_of).await?,
                    zero: reports::zero_results(conn, range, page_of).await?,
                    unopened: reports::unopened(conn, range, page_of).await?,
                    unhelpful: reports::unhelpful_articles(conn, range, page_of).await?,
                    tickets: reports::tickets_after_searches(conn, range, page_of).await?,
                }))
            })
        })
        .await;
    let reports = match read {
        Ok(Some(r)) => r,
        Ok(None) => {
            return page(
                StatusCode::FORBIDDEN,
                &DeniedPage { signed_in: true },
                Some(&who),
            )
        }
        Err(e) => {
            tracing::warn!("insights page: {e}");
            return unavailable();
        }
    };
    let days: Vec<String> = reports.daily.iter().map(|d| d.day.clone()).collect();
    let max = reports.daily.iter().map(|d| d.searches).max().unwrap_or(0);
    let total_searches: i64 = reports.daily.iter().map(|d| d.searches).sum();
    let total_zero: i64 = reports.daily.iter().map(|d| d.zero_results).sum();
    let searches = line_chart(
        &days,
        vec![
            (
                "searches",
                "series-all",
                reports.daily.iter().map(|d| d.searches as f64).collect(),
            ),
            (
                "found nothing",
                "series-zero",
                reports
                    .daily
                    .iter()
                    .map(|d| d.zero_results as f64)
                    .collect(),
            ),
        ],
        max as f64,
        max.to_string(),
        format!(
            "{total_searches} searches over {} days, {total_zero} of them found nothing.",
            days.len()
        ),
    );
    let deflection_days: Vec<String> = reports.deflection.iter().map(|d| d.day.clone()).collect();
    let sessions: i64 = reports.deflection.iter().map(|d| d.sessions).sum();
    let with_ticket: i64 = reports.deflection.iter().map(|d| d.with_ticket).sum();
    let deflection = line_chart(
        &deflection_days,
        vec![(
            "deflection rate",
            "series-deflection",
            reports
                .deflection
                .iter()
                .map(|d| d.deflection_rate)
                .collect(),
        )],
        1.0,
        "100%".into(),
        format!(
            "{sessions} sessions searched or read articles; {with_ticket} of them opened a ticket."
        ),
    );
    page(
        StatusCode::OK,
        &InsightsPage {
            from: reports::iso_day(range.from),
            to: reports::iso_day(range.to),
            searches,
            deflection,
            top_bars: bars(&reports.top),
            top: reports.top,
            zero: reports.zero,
            unopened: reports.unopened,
            unhelpful: reports.unhelpful,
            tickets: reports.tickets,
            total_searches,
            total_zero,
        },
        Some(&who),
    )
}
