//! Knowledge-base endpoints: search, articles, categories. Thin: parse, call the engine,
//! serialize.

use axum::extract::{Path, RawQuery, State};
use axum::Json;

use super::error::{ApiError, InvalidParam};
use super::AppState;
use crate::kb::query::MAX_QUERY_CHARS;
use crate::kb::search::{SearchRequest, SearchResults};
use crate::kb::types::{Category, Slug, Tag};
use crate::kb::{ArticleView, CategoryTree, IndexStatus};

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

/// `GET /api/v1/search`
pub async fn search(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<SearchResults>, ApiError> {
    let req = parse_search_params(raw.as_deref())?;
    let kb = state.kb.clone();
    // Searches are CPU work of a millisecond or less: run inline rather than hop threads.
    let results = kb.search(&req)?;
    Ok(Json(results))
}

/// `GET /api/v1/articles/{*slug}`
pub async fn article(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<ArticleView>, ApiError> {
    let slug =
        Slug::parse(&slug).map_err(|e| ApiError::NotFound(format!("no article {slug:?} ({e})")))?;
    match state.kb.article(&slug)? {
        Some(view) => Ok(Json(view)),
        None => Err(ApiError::NotFound(format!(
            "no published article {:?}",
            slug.as_str()
        ))),
    }
}

/// `GET /api/v1/categories`
pub async fn categories(State(state): State<AppState>) -> Result<Json<CategoryTree>, ApiError> {
    Ok(Json(state.kb.categories()?))
}

/// `GET /api/v1/index/status`: counts, the last update, files with problems and the
/// watcher's state. Paths, counts and parse messages only (never article text), so it
/// can stay public.
pub async fn index_status(State(state): State<AppState>) -> Json<IndexStatus> {
    Json(state.kb.status())
}
