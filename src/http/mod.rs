//! HTTP: the router, shared state, middleware and handlers. Handlers parse input at the
//! edge into the engine's types and never open the index writer or talk SQL themselves.

pub mod attachments;
pub mod auth;
pub mod ccs;
pub mod error;
pub mod events;
pub mod extract;
pub mod feedback;
pub mod insights;
pub mod kb;
pub mod openapi;
pub mod reader;
pub mod satisfaction;
pub mod tickets;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderName, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::{Json, Router};
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_http::CompressionLevel;

use self::error::ApiError;
use crate::auth::JwtKeys;
use crate::db::Database;
use crate::kb::KnowledgeBase;
use crate::limits::Limits;

/// Largest request body accepted.
pub const BODY_LIMIT_BYTES: usize = 256 * 1024;
/// A request taking longer is answered 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// The knowledge base engine.
    pub kb: Arc<KnowledgeBase>,
    /// The ticket database; `None` serves the knowledge base only (tickets answer 503).
    pub db: Option<Arc<Database>>,
    /// Verifies bearer tokens.
    pub jwt: Arc<JwtKeys>,
    /// Rate limits of ticket-portal requests (per user, per client address).
    pub limits: Arc<Limits>,
    /// Whom the database called staff lately (the knowledge base's readers).
    pub staff: Arc<reader::StaffCache>,
    /// Search insights' recorder (started by the caller with the database).
    pub recorder: Arc<crate::insights::Recorder>,
    /// Where attachments' bytes are and their limits; `None`: uploads answer 503.
    pub attachments: Option<Arc<crate::attachments::Attachments>>,
}

impl AppState {
    /// The state of a service with the default limits.
    pub fn new(kb: Arc<KnowledgeBase>, db: Option<Arc<Database>>, jwt: Arc<JwtKeys>) -> AppState {
        AppState {
            kb,
            db,
            jwt,
            limits: Arc::new(Limits::default()),
            staff: Arc::default(),
            recorder: Arc::new(crate::insights::Recorder::disabled()),
            attachments: None,
        }
    }

    /// The knowledge base alone: ticket endpoints answer 503.
    pub fn knowledge_base_only(kb: Arc<KnowledgeBase>) -> AppState {
        AppState::new(
            kb,
            None,
            Arc::new(JwtKeys::new(crate::auth::DEV_SECRET.as_bytes())),
        )
    }
}

/// Declares the routes once, as a table: `api_routes` builds the router from it and
/// [`ROUTES`] lists it, so the OpenAPI test compares the document with exactly what the
/// router serves.
macro_rules! route_table {
    ($($path:literal => { $($method:ident : $handler:expr),+ $(,)? }),* $(,)?) => {
        fn api_routes() -> Router<AppState> {
            Router::new()$(.route($path, MethodRouter::new()$(.$method($handler))+))*
        }

        /// Every route of the router: its axum path and its methods (lowercase).
        pub const ROUTES: &[(&str, &[&str])] = &[$(($path, &[$(stringify!($method)),+])),*];
    };
}

route_table! {
    "/api/v1/search" => { get: kb::search },
    // One route for an article and its feedback, because slugs may contain `/`.
    "/api/v1/articles/{*slug}" => { get: feedback::article_or_totals, post: feedback::vote },
    "/api/v1/categories" => { get: kb::categories },
    "/api/v1/index/status" => { get: kb::index_status },
    "/api/v1/auth/status" => { get: auth::status },
    "/api/v1/auth/session" => { post: auth::sign_in_pages, delete: auth::sign_out_pages },
    "/api/v1/suggestions" => { get: kb::suggestions },
    "/api/v1/insights/status" => { get: insights::status },
    "/api/v1/insights/clicks" => { post: insights::click },
    "/api/v1/insights/zero-results" => { get: insights::zero_results },
    "/api/v1/insights/top-queries" => { get: insights::top_queries },
    "/api/v1/insights/unopened" => { get: insights::unopened },
    "/api/v1/insights/daily" => { get: insights::daily },
    "/api/v1/insights/deflection" => { get: insights::deflection },
    "/api/v1/insights/tickets" => { get: insights::tickets },
    "/api/v1/insights/unhelpful-articles" => { get: insights::unhelpful_articles },
    "/api/v1/events" => { get: events::events },
    "/api/v1/tickets" => { get: tickets::list, post: tickets::create },
    "/api/v1/tickets/{id}" => { get: tickets::get, patch: tickets::patch },
    "/api/v1/tickets/{id}/timeline" => { get: tickets::timeline },
    "/api/v1/tickets/{id}/typing" => { post: events::typing },
    "/api/v1/tickets/{id}/viewing" => { post: events::viewing },
    "/api/v1/tickets/{id}/messages" => { post: tickets::post_message },
    "/api/v1/tickets/{id}/satisfaction" => { put: satisfaction::rate },
    "/api/v1/tickets/{id}/ccs" => { post: ccs::add },
    "/api/v1/tickets/{id}/ccs/{user_id}" => { delete: ccs::remove },
    "/api/v1/satisfaction" => { get: satisfaction::report },
    "/api/v1/openapi.json" => { get: openapi::openapi_json },
    "/healthz" => { get: healthz },
    "/readyz" => { get: readyz },
}

/// Routes whose request or answer streams (attachments): outside the API's body limit
/// and request timeout, with limits of their own in their handlers. Listed for the
/// OpenAPI test like [`ROUTES`].
pub const STREAMING_ROUTES: &[(&str, &[&str])] = &[
    ("/api/v1/uploads", &["post"]),
    ("/api/v1/tickets/{id}/attachments/{attachment_id}", &["get"]),
];

fn streaming_routes() -> Router<AppState> {
    Router::new()
        .route(
            STREAMING_ROUTES[0].0,
            axum::routing::post(attachments::upload),
        )
        .route(
            STREAMING_ROUTES[1].0,
            axum::routing::get(attachments::download),
        )
}

/// Builds the application router with its middleware.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let api = api_routes()
        .merge(crate::web::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(
            ServiceBuilder::new()
                .layer(RequestBodyLimitLayer::new(BODY_LIMIT_BYTES))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    REQUEST_TIMEOUT,
                )),
        )
        .merge(streaming_routes());
    api.with_state(state).layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path())
                }),
            )
            .layer(PropagateRequestIdLayer::new(request_id))
            // The fastest level: a search reply (~11 KB of JSON on MDN) shrinks to about
            // 30% instead of 23%, for a fraction of the CPU of the default level, which
            // cost a third as much as the search itself. Outside `hygiene`, so that it
            // reads error bodies uncompressed.
            .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
            .layer(axum::middleware::from_fn(hygiene)),
    )
}

/// What the health endpoints answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct HealthStatus {
    /// `ok` (alive) or `ready` (searchable).
    pub status: &'static str,
}

/// Liveness
///
/// The process is alive.
#[utoipa::path(
    get, path = "/healthz", tag = "service",
    responses((status = 200, description = "Alive.", body = HealthStatus)),
)]
async fn healthz() -> Json<HealthStatus> {
    Json(HealthStatus { status: "ok" })
}

/// Readiness
///
/// 200 once the search index is open and searchable.
#[utoipa::path(
    get, path = "/readyz", tag = "service",
    responses(
        (status = 200, description = "Searchable.", body = HealthStatus),
        (status = 503, description = "The index is still being built.", body = error::Problem, content_type = "application/problem+json"),
    ),
)]
async fn readyz(State(state): State<AppState>) -> Result<Json<HealthStatus>, ApiError> {
    if state.kb.is_ready() {
        Ok(Json(HealthStatus { status: "ready" }))
    } else {
        Err(ApiError::Unavailable(
            "the search index is still being built".into(),
        ))
    }
}

/// Longest request target (path and query) answered; longer is 414 problem+json. Room
/// for the longest documented query (`/api/v1/suggestions` with a whole ticket's
/// subject and body, percent-encoded), under hyper's own 64 KiB limit.
pub const URI_LIMIT: usize = 60 * 1024;
/// Most bytes of request headers (names and values) answered; more is 431
/// problem+json. hyper's own hard limits lie above (100 headers, 256 KiB of head): past
/// those, hyper answers 431 itself, without a body, before any handler runs.
pub const HEADER_BYTES_LIMIT: usize = 32 * 1024;
/// How much of a plain-text error body is kept as the problem's `detail`.
const PLAIN_DETAIL_LIMIT: usize = 1024;

/// Hygiene of every request and response: limits on the URI and the headers (answered
/// problem+json), every error of the API made problem+json even when it comes from
/// below the handlers (the body-limit layer's 413, an extractor's plain-text 400), and
/// `X-Content-Type-Options: nosniff` on everything.
async fn hygiene(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let api = is_api_path(request.uri().path());
    let uri = request.uri();
    let target_len = uri.path().len() + uri.query().map_or(0, |q| q.len() + 1);
    let mut response = if target_len > URI_LIMIT {
        ApiError::UriTooLong(format!(
            "the request target must be at most {URI_LIMIT} bytes"
        ))
        .into_response()
    } else if header_bytes(request.headers()) > HEADER_BYTES_LIMIT {
        ApiError::HeadersTooLarge(format!(
            "the request headers must be at most {HEADER_BYTES_LIMIT} bytes in all"
        ))
        .into_response()
    } else {
        let response = next.run(request).await;
        if api && needs_problem(&response) {
            problem_for_plain(response).await
        } else {
            response
        }
    };
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    response
}

/// The JSON API and the service endpoints: their errors are problem+json. Pages have
/// HTML error pages instead.
fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/") || path == "/healthz" || path == "/readyz"
}

fn header_bytes(headers: &axum::http::HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}

fn needs_problem(response: &Response) -> bool {
    let status = response.status();
    (status.is_client_error() || status.is_server_error())
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_none_or(|t| t.as_bytes() != b"application/problem+json")
}

/// An error answered in plain text (or nothing) below the handlers, made problem+json
/// with the same status and its text as the detail.
async fn problem_for_plain(response: Response) -> Response {
    let status = response.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::body_too_large().into_response();
    }
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let text = axum::body::to_bytes(response.into_body(), PLAIN_DETAIL_LIMIT * 4)
        .await
        .map(|b| {
            let text = String::from_utf8_lossy(&b).trim().to_string();
            text.chars().take(PLAIN_DETAIL_LIMIT).collect::<String>()
        })
        .unwrap_or_default();
    let detail = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("the request failed")
            .to_string()
    } else {
        text
    };
    let mut problem = ApiError::Rejected { status, detail }.into_response();
    if let Some(value) = retry_after {
        problem.headers_mut().insert(header::RETRY_AFTER, value);
    }
    problem
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed("this endpoint does not answer that method".into())
}

/// Unknown API paths answer problem+json; any other path is a page: the HTML 404.
async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::NotFound("no such endpoint".into()).into_response()
    } else {
        crate::web::unknown_page(uri).await
    }
}
