//! The help center's own pages, rendered on the server from the same engine and the
//! same ticket API as the JSON endpoints: home, search, articles, categories, and the
//! customer portal's shell (its data comes from `/api/v1`). Pages work without
//! JavaScript; `assets/site.js` adds suggestions as you type and article feedback, and
//! `assets/portal.js` runs the portal. Templates (askama) are checked at compile time
//! and escape everything they print, except the article HTML and search snippets,
//! which the engine sanitized (ammonia) and escaped (snippets) already.

pub mod assets;
pub mod insights;

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::http::reader::{page_reader, private_if_signed_in, ReaderOf};
use crate::http::AppState;
use crate::kb::audience::Reader;
use crate::kb::search::{RecentArticle, SearchRequest, SearchResults};
use crate::kb::types::{Category, Slug};
use crate::kb::{ArticleView, CategoryNode, KbError};

/// Results per search page.
pub const PAGE_SIZE: usize = 10;
/// Articles per category page.
pub const CATEGORY_PAGE_SIZE: usize = 50;
/// Recently updated articles on the home page.
pub const RECENT: usize = 6;

/// What the pages allow: their own scripts, styles and requests only (no inline
/// script, no CDN), images also from https (articles may show them) and `blob:` (the
/// portal shows attached images it fetched with the customer's token).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data: blob: https:; connect-src 'self'; font-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The page routes (not part of the API document: they answer HTML).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/search", get(search))
        .route("/articles/{*slug}", get(article))
        .route("/categories/{*path}", get(category))
        .route("/portal", get(portal))
        .route("/insights", get(insights::insights))
        .route("/assets/{name}", get(assets::serve))
}

/// A rendered page with the pages' security headers. `who` is the reader a page was
/// rendered for, when its content depends on who reads (then it varies on the cookie,
/// is private to a signed-in reader, and tells `site.js` how it was rendered).
fn page(status: StatusCode, template: &impl Template, who: Option<&ReaderOf>) -> Response {
    match template.render() {
        Ok(mut html) => {
            if let Some(who) = who {
                let kind = match who.reader {
                    Reader::Anonymous => "anonymous",
                    Reader::SignedIn { .. } => "signed-in",
                    Reader::Staff => "staff",
                };
                html = html.replacen(
                    "<head>\n",
                    &format!("<head>\n<meta name=\"hc-reader\" content=\"{kind}\">\n"),
                    1,
                );
            }
            let mut response = (status, html).into_response();
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            match who {
                Some(who) => private_if_signed_in(response, who, "cookie"),
                None => response,
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "page template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page failed to render.",
            )
                .into_response()
        }
    }
}

/// The page for an engine error: 503 while the index is built, 500 otherwise (logged).
fn engine_error(e: KbError) -> Response {
    let (status, headline, detail, reload) = match e {
        KbError::NotReady => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The help center is starting",
            "Articles are being indexed and will be here in a moment. This page reloads by \
             itself in a few seconds.",
            true,
        ),
        other => {
            tracing::error!(error = %other, "page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The error has been logged. Please try again later.",
                false,
            )
        }
    };
    let mut response = page(
        status,
        &UnavailablePage {
            headline,
            detail,
            reload,
        },
        None,
    );
    if reload {
        // Only a starting index is worth retrying soon; a fault is not.
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    response
}

/// A 404 page naming what was not found.
pub fn not_found(what: String) -> Response {
    page(
        StatusCode::NOT_FOUND,
        &NotFoundPage {
            what,
            q: String::new(),
            category: None,
            sign_in: false,
        },
        None,
    )
}

/// The 404 of an article page that `who` cannot open: the same for a missing article
/// and for one this reader may not read (not yours looks like missing). A signed-out
/// reader is offered to sign in, with neither title nor excerpt of anything.
fn article_not_found(slug: &str, who: &ReaderOf) -> Response {
    page(
        StatusCode::NOT_FOUND,
        &NotFoundPage {
            what: format!("There is no article “{slug}” here."),
            q: String::new(),
            category: None,
            sign_in: !who.reader.is_signed_in(),
        },
        Some(who),
    )
}

/// The HTML 404 for any unknown page (the API's own fallback answers problem+json).
pub async fn unknown_page(uri: Uri) -> Response {
    not_found(format!("There is no page at {}.", uri.path()))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    q: String,
    category: Option<String>,
    categories: Vec<CategoryNode>,
    recent: Vec<RecentArticle>,
}

/// `GET /`: the search box, the categories as tiles, the recently updated articles.
async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let who = page_reader(&state, &headers).await;
    let result = state
        .kb
        .categories(&who.reader)
        .and_then(|tree| Ok((tree, state.kb.recent(RECENT, &who.reader)?)));
    match result {
        Ok((tree, recent)) => page(
            StatusCode::OK,
            &HomePage {
                q: String::new(),
                category: None,
                categories: tree.categories,
                recent,
            },
            Some(&who),
        ),
        Err(e) => engine_error(e),
    }
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    q: String,
    category: Option<String>,
    results: SearchResults,
    page: usize,
    pages: usize,
    prev_page: Option<String>,
    next_page: Option<String>,
}

/// The query string of a search page.
fn search_url(q: &str, category: Option<&str>, page: usize) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("q", q);
    if let Some(c) = category {
        query.append_pair("category", c);
    }
    if page > 1 {
        query.append_pair("page", &page.to_string());
    }
    format!("/search?{}", query.finish())
}

/// `GET /search?q=&category=&page=`: lenient with what a person may type or edit in
/// the address bar: an over-long query is cut, an unknown category or page is ignored.
async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let who = page_reader(&state, &headers).await;
    let (mut q, mut category, mut page_number) = (String::new(), None, 1usize);
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "q" => {
                q = value
                    .chars()
                    .take(crate::kb::query::MAX_QUERY_CHARS)
                    .collect()
            }
            "category" => category = Category::parse(&value).ok().filter(|c| !c.is_root()),
            "page" => page_number = value.trim().parse().unwrap_or(1),
            _ => {}
        }
    }
    let max_page = crate::http::kb::MAX_OFFSET / PAGE_SIZE;
    let mut page_number = page_number.clamp(1, max_page);
    let mut request = SearchRequest {
        q: q.clone(),
        category: category.clone(),
        tags: Vec::new(),
        limit: PAGE_SIZE,
        offset: (page_number - 1) * PAGE_SIZE,
        semantic_ratio: None,
        reader: who.reader.clone(),
    };
    let mut results = match state.kb.search(&request) {
        Ok(results) => results,
        Err(e) => return engine_error(e),
    };
    // A search page is a settled query (its later pages are the same search).
    crate::http::insights::record_search(
        &state,
        &headers,
        &who,
        &request,
        &results,
        crate::insights::Source::Page,
    );
    let last_page = (results.total as usize)
        .div_ceil(PAGE_SIZE)
        .clamp(1, max_page);
    if page_number > last_page {
        // A page past the end (an old link, an edited URL) shows the last one.
        page_number = last_page;
        request.offset = (page_number - 1) * PAGE_SIZE;
        results = match state.kb.search(&request) {
            Ok(results) => results,
            Err(e) => return engine_error(e),
        };
    }
    // The sidebar shows the category facet as a tree: parents before their children.
    results
        .facets
        .category
        .sort_by(|a, b| a.value.cmp(&b.value));
    let category = category.map(|c| c.as_str().to_string());
    let pages = last_page;
    let link = |p: usize| search_url(&q, category.as_deref(), p);
    page(
        StatusCode::OK,
        &SearchPage {
            prev_page: (page_number > 1).then(|| link(page_number - 1)),
            next_page: (page_number < pages).then(|| link(page_number + 1)),
            page: page_number,
            pages,
            results,
            category,
            q,
        },
        Some(&who),
    )
}

#[derive(Template)]
#[template(path = "article.html")]
struct ArticlePage {
    view: ArticleView,
    breadcrumb: Vec<(String, String)>,
}

/// `(name, path)` of every level of a category path.
fn breadcrumb(path: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut at = String::new();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        if !at.is_empty() {
            at.push('/');
        }
        at.push_str(segment);
        out.push((category_name(segment), at.clone()));
    }
    out
}

/// `GET /articles/{slug}`
async fn article(
    State(state): State<AppState>,
    headers: HeaderMap,
    slug: Result<Path<String>, PathRejection>,
) -> Response {
    let who = page_reader(&state, &headers).await;
    // A path that does not even decode (`%FF`) is simply not found, as a page.
    let Ok(Path(slug)) = slug else {
        return article_not_found("", &who);
    };
    let missing = || article_not_found(&slug, &who);
    let Ok(parsed) = Slug::parse(&slug) else {
        return missing();
    };
    match state.kb.article(&parsed, &who.reader) {
        Ok(Some(view)) => {
            crate::http::insights::record_view(&state, &headers, &who, &view.slug);
            page(
                StatusCode::OK,
                &ArticlePage {
                    breadcrumb: breadcrumb(&view.category),
                    view,
                },
                Some(&who),
            )
        }
        Ok(None) => missing(),
        Err(e) => engine_error(e),
    }
}

#[derive(Template)]
#[template(path = "category.html")]
struct CategoryPage {
    path: String,
    name: String,
    breadcrumb: Vec<(String, String)>,
    subcategories: Vec<CategoryNode>,
    results: SearchResults,
    next_page: Option<String>,
}

/// The node of `path` in the tree.
fn find_node<'a>(nodes: &'a [CategoryNode], path: &str) -> Option<&'a CategoryNode> {
    nodes.iter().find_map(|n| {
        if n.path == path {
            Some(n)
        } else if path.starts_with(&format!("{}/", n.path)) {
            find_node(&n.children, path)
        } else {
            None
        }
    })
}

/// `GET /categories/{path}?page=`: the articles of a category and its subcategories.
async fn category(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Response {
    let who = page_reader(&state, &headers).await;
    let Ok(Path(path)) = path else {
        return not_found("There is no such category.".into());
    };
    let path = path.trim_end_matches('/').to_string();
    let missing = || {
        page(
            StatusCode::NOT_FOUND,
            &NotFoundPage {
                what: format!("There is no category “{path}”."),
                q: String::new(),
                category: None,
                sign_in: false,
            },
            Some(&who),
        )
    };
    let Ok(parsed) = Category::parse(&path) else {
        return missing();
    };
    let tree = match state.kb.categories(&who.reader) {
        Ok(tree) => tree,
        Err(e) => return engine_error(e),
    };
    let Some(node) = find_node(&tree.categories, parsed.as_str()) else {
        return missing();
    };
    let page_number: usize = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(1);
    // The node knows how many articles there are: a page past the end (or past the
    // deepest page search serves) shows the last one.
    let last_page = (node.count as usize)
        .div_ceil(CATEGORY_PAGE_SIZE)
        .clamp(1, crate::http::kb::MAX_OFFSET / CATEGORY_PAGE_SIZE);
    let page_number = page_number.clamp(1, last_page);
    let results = match state.kb.search(&SearchRequest {
        q: String::new(),
        category: Some(parsed.clone()),
        tags: Vec::new(),
        limit: CATEGORY_PAGE_SIZE,
        offset: (page_number - 1) * CATEGORY_PAGE_SIZE,
        semantic_ratio: None,
        reader: who.reader.clone(),
    }) {
        Ok(results) => results,
        Err(e) => return engine_error(e),
    };
    let more = page_number < last_page;
    page(
        StatusCode::OK,
        &CategoryPage {
            name: node.name.clone(),
            breadcrumb: breadcrumb(&node.path),
            subcategories: node.children.clone(),
            next_page: more.then(|| format!("/categories/{}?page={}", node.path, page_number + 1)),
            path: node.path.clone(),
            results,
        },
        Some(&who),
    )
}

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    tickets_available: bool,
}

/// `GET /portal`: the portal's shell; `portal.js` signs in from the link's
/// `#access_token=` and talks to `/api/v1`. Says so at once when the ticket database
/// is unreachable (the knowledge base keeps working).
async fn portal(State(state): State<AppState>) -> Response {
    let tickets_available = state.db.as_ref().is_some_and(|db| db.is_ready());
    page(StatusCode::OK, &PortalPage { tickets_available }, None)
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    what: String,
    q: String,
    category: Option<String>,
    /// Offer to sign in (an article page opened while signed out).
    sign_in: bool,
}

#[derive(Template)]
#[template(path = "unavailable.html")]
struct UnavailablePage {
    headline: &'static str,
    detail: &'static str,
    /// Whether the page reloads itself (the index is still being built).
    reload: bool,
}

/// The human name of a category path's last segment: `returns-and-refunds` ->
/// `Returns and refunds`.
pub fn category_name(path: impl AsRef<str>) -> String {
    let last = path.as_ref().rsplit('/').next().unwrap_or_default();
    let words = last.replace(['-', '_'], " ");
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "General".to_string(),
    }
}

/// How deep a category path is (0 for top level).
pub fn depth(path: impl AsRef<str>) -> usize {
    path.as_ref().matches('/').count()
}

/// The date part of an RFC 3339 timestamp.
pub fn day(rfc3339: impl AsRef<str>) -> String {
    rfc3339.as_ref().chars().take(10).collect()
}
