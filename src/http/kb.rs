//! Knowledge-base endpoints: search, articles, categories. Thin: parse, call the engine,
//! serialize.

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::error::{ApiError, InvalidParam, Problem};
use super::reader::{private_if_signed_in, ReaderOf};
use super::AppState;
use crate::insights::Source;
use crate::kb::query::MAX_QUERY_CHARS;
use crate::kb::search::{Hit, SearchRequest, SearchResults};
use crate::kb::types::{Category, Slug, Tag};
#[allow(unused_imports)] // named by the OpenAPI annotations
use crate::kb::ArticleView;
use crate::kb::{CategoryTree, IndexStatus};
use crate::tickets::MAX_SUBJECT_CHARS;

/// Largest page.
pub const MAX_LIMIT: usize = 100;
/// Default page.
pub const DEFAULT_LIMIT: usize = 10;
/// Deepest page start.
pub const MAX_OFFSET: usize = 10_000;

/// Parses the search parameters, collecting every problem at once.
pub fn parse_search_params(raw: Option<&str>) -> Result<SearchRequest, ApiError> {
    let mut req = SearchRequest {
        limit: DEFAULT_LIMIT,
        ..SearchRequest::default()
    };
    let mut problems = Vec::new();
    let mut bad = |name: &str, reason: String| {
        problems.push(InvalidParam {
            name: name.to_string(),
            reason,
        })
    };
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "q" => {
                let chars = value.chars().count();
                if chars > MAX_QUERY_CHARS {
                    bad(
                        "q",
                        format!("must be at most {MAX_QUERY_CHARS} characters, got {chars}"),
                    );
                } else {
                    req.q = value.into_owned();
                }
            }
            "limit" => match value.trim().parse::<i64>() {
                Ok(n) if (0..=MAX_LIMIT as i64).contains(&n) => req.limit = n as usize,
                Ok(n) => bad(
                    "limit",
                    format!("must be between 0 and {MAX_LIMIT}, got {n}"),
                ),
                Err(_) => bad("limit", format!("must be a whole number, got {value:?}")),
            },
            "offset" => match value.trim().parse::<i64>() {
                Ok(n) if (0..=MAX_OFFSET as i64).contains(&n) => req.offset = n as usize,
                Ok(n) if n < 0 => bad("offset", format!("must not be negative, got {n}")),
                Ok(n) => bad("offset", format!("must be at most {MAX_OFFSET}, got {n}")),
                Err(_) => bad("offset", format!("must be a whole number, got {value:?}")),
            },
            "semantic_ratio" => match value.trim().parse::<f32>() {
                Ok(r) if (0.0..=1.0).contains(&r) => req.semantic_ratio = Some(r),
                Ok(r) => bad(
                    "semantic_ratio",
                    format!("must be between 0 and 1, got {r}"),
                ),
                Err(_) => bad(
                    "semantic_ratio",
                    format!("must be a number between 0 and 1, got {value:?}"),
                ),
            },
            "category" => match Category::parse(&value) {
                Ok(c) => req.category = Some(c),
                Err(e) => bad("category", format!("{e}")),
            },
            "tag" => {
                if value.len() > 100 {
                    bad("tag", "must be at most 100 characters".to_string());
                } else if let Some(t) = Tag::parse(&value) {
                    req.tags.push(t);
                }
            }
            _ => {}
        }
    }
    if req.tags.len() > 10 {
        problems.push(InvalidParam {
            name: "tag".into(),
            reason: "at most 10 tags".into(),
        });
    }
    if problems.is_empty() {
        Ok(req)
    } else {
        Err(ApiError::BadRequest(problems))
    }
}

/// Search articles
///
/// Published articles matching the words of `q` (typos and a half-typed last word
/// included) or its meaning (hybrid search: an article whose best section is close
/// enough to the question in meaning matches without sharing its words), best first,
/// with highlighted snippets. `total` and the facets count every article shown: the
/// lexical matches and the semantic ones, all within the filters, exclusions and
/// phrases. An empty `q` lists every article in the category or tag.
///
/// Only the articles the caller may read exist for the search: anonymous callers see
/// public articles; a bearer token adds `signed-in` articles, the segments its
/// `app_metadata.segments` lists, and for agents every article.
#[utoipa::path(
    get, path = "/api/v1/search", tag = "knowledge base",
    params(
        ("q" = Option<String>, Query, max_length = 512, example = "downlod invoice", description = "The words to look for."),
        ("category" = Option<String>, Query, example = "billing", description = "Only this category and its subcategories (`billing/invoices`)."),
        ("tag" = Option<Vec<String>>, Query, max_items = 10, description = "Only articles with every one of these tags (repeatable)."),
        ("limit" = Option<i64>, Query, minimum = 0, maximum = 100, description = "Page size (default 10)."),
        ("offset" = Option<i64>, Query, minimum = 0, maximum = 10000, description = "Page start (default 0)."),
        ("semantic_ratio" = Option<f32>, Query, minimum = 0, maximum = 1, example = 0.4, description = "How much the ranking leans on meaning rather than words: 0 is lexical search alone (no semantic matches), 1 ranks by meaning alone (default: the server's setting, 0.4)."),
    ),
    responses(
        (status = 200, description = "A page of results.", body = SearchResults),
        (status = 400, description = "A parameter is invalid.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A bearer token was sent and is not valid (no token reads as anonymous).", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The index is still being built.", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])),
)]
pub async fn search(
    State(state): State<AppState>,
    who: ReaderOf,
    headers: axum::http::HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut req = parse_search_params(raw.as_deref())?;
    req.reader = who.reader.clone();
    // Searches are CPU work of a millisecond or less: run inline rather than hop threads.
    let results = state.kb.search(&req)?;
    super::insights::record_search(&state, &headers, &who, &req, &results, Source::Api);
    Ok(private_if_signed_in(
        Json(results).into_response(),
        &who,
        "authorization",
    ))
}

/// Read an article
///
/// The sanitized HTML of a published article, its table of contents and related
/// articles. Slugs may contain `/` (`billing/invoices/download-invoice`). An article
/// the caller may not read answers 404, exactly as a missing one does.
#[utoipa::path(
    get, path = "/api/v1/articles/{slug}", tag = "knowledge base",
    params(("slug" = String, Path, example = "billing/invoices/download-invoice", description = "The article's slug.")),
    responses(
        (status = 200, description = "The article.", body = ArticleView),
        (status = 401, description = "A bearer token was sent and is not valid (no token reads as anonymous).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No published article the caller may read has this slug.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The index is still being built.", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])),
)]
pub async fn article(
    state: &AppState,
    who: &ReaderOf,
    headers: &axum::http::HeaderMap,
    slug: &str,
) -> Result<Response, ApiError> {
    let missing = || ApiError::NotFound(format!("no published article {slug:?}"));
    let slug = Slug::parse(slug).map_err(|_| missing())?;
    match state.kb.article(&slug, &who.reader)? {
        Some(view) => {
            super::insights::record_view(state, headers, who, slug.as_str());
            Ok(private_if_signed_in(
                Json(view).into_response(),
                who,
                "authorization",
            ))
        }
        None => Err(missing()),
    }
}

/// The category tree
///
/// Every category with the number of published articles the caller may read in it.
#[utoipa::path(
    get, path = "/api/v1/categories", tag = "knowledge base",
    responses(
        (status = 200, description = "Every category with its published article count.", body = CategoryTree),
        (status = 401, description = "A bearer token was sent and is not valid (no token reads as anonymous).", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The index is still being built.", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])),
)]
pub async fn categories(
    State(state): State<AppState>,
    who: ReaderOf,
) -> Result<Response, ApiError> {
    let tree: CategoryTree = state.kb.categories(&who.reader)?;
    Ok(private_if_signed_in(
        Json(tree).into_response(),
        &who,
        "authorization",
    ))
}

/// The index's state
///
/// Counts, the last update, files with problems and the watcher's state. Paths, counts
/// and parse messages only (never article text). `articles` counts what the caller may
/// read; once the help center uses audiences (a restricted article or a
/// `_folder.toml`), the files with problems are listed to agents only.
#[utoipa::path(
    get, path = "/api/v1/index/status", tag = "knowledge base",
    responses(
        (status = 200, description = "The index's state.", body = IndexStatus),
        (status = 401, description = "A bearer token was sent and is not valid (no token reads as anonymous).", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])),
)]
pub async fn index_status(State(state): State<AppState>, who: ReaderOf) -> Response {
    let status: IndexStatus = state.kb.status(&who.reader);
    private_if_signed_in(Json(status).into_response(), &who, "authorization")
}

/// Longest `body` of a suggestion request. Only the first words of a ticket count
/// (`query::MAX_WORDS` twice over), and a whole 20,000-character body in a query string
/// would pass the 64 KiB that a URI may have: a front end sends the beginning.
pub const MAX_SUGGESTION_BODY_CHARS: usize = 2_000;

/// Most articles suggested for a ticket.
pub const MAX_SUGGESTIONS: usize = 5;

/// What `GET /api/v1/suggestions` answers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Suggestions {
    /// Up to five published articles, best first.
    pub articles: Vec<Hit>,
}

/// The text of a ticket being written, checked against the ticket's own limits.
fn parse_suggestion_params(raw: Option<&str>) -> Result<(String, String), ApiError> {
    let (mut subject, mut body) = (String::new(), String::new());
    let mut problems = Vec::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let (slot, max) = match key.as_ref() {
            "subject" => (&mut subject, MAX_SUBJECT_CHARS),
            "body" => (&mut body, MAX_SUGGESTION_BODY_CHARS),
            _ => continue,
        };
        let chars = value.chars().count();
        if chars > max {
            problems.push(InvalidParam {
                name: key.into_owned(),
                reason: format!("must be at most {max} characters, got {chars}"),
            });
        } else {
            *slot = value.into_owned();
        }
    }
    if problems.is_empty() {
        Ok((subject, body))
    } else {
        Err(ApiError::BadRequest(problems))
    }
}

/// Articles for a ticket being written
///
/// Up to five published articles that may answer a ticket as the customer writes it
/// (ticket deflection). Like search, it suggests only articles the caller may read.
#[utoipa::path(
    get, path = "/api/v1/suggestions", tag = "knowledge base",
    params(
        ("subject" = Option<String>, Query, max_length = 200, example = "Where can I get my invoice?", description = "The ticket's subject so far."),
        ("body" = Option<String>, Query, max_length = 2000, description = "The beginning of the ticket's text (only its first words count)."),
    ),
    responses(
        (status = 200, description = "Up to five articles, best first.", body = Suggestions),
        (status = 400, description = "A parameter is too long.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A bearer token was sent and is not valid (no token reads as anonymous).", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The index is still being built.", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])),
)]
pub async fn suggestions(
    State(state): State<AppState>,
    who: ReaderOf,
    headers: axum::http::HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (subject, body) = parse_suggestion_params(raw.as_deref())?;
    let articles = state
        .kb
        .suggest(&subject, &body, MAX_SUGGESTIONS, &who.reader)?;
    // Recorded as the ticket's subject, settled as they type: what the customer asks.
    // Never the text (a draft may hold personal details, and may never be sent).
    let asked = subject.clone();
    super::insights::record_search(
        &state,
        &headers,
        &who,
        &SearchRequest {
            q: asked,
            ..SearchRequest::default()
        },
        &SearchResults {
            query: String::new(),
            total: articles.len() as u64,
            hits: articles.clone(),
            facets: Default::default(),
            took_ms: 0.0,
        },
        Source::Suggestions,
    );
    Ok(private_if_signed_in(
        Json(Suggestions { articles }).into_response(),
        &who,
        "authorization",
    ))
}
