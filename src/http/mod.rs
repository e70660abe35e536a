//! HTTP: the router, shared state, middleware and handlers. Handlers parse input at the
//! edge into the engine's types and never open the index writer or talk SQL themselves.

pub mod error;
pub mod events;
pub mod extract;
pub mod feedback;
pub mod kb;
pub mod openapi;
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
}

impl AppState {
    /// The knowledge base alone: ticket endpoints answer 503.
    pub fn knowledge_base_only(kb: Arc<KnowledgeBase>) -> AppState {
        AppState {
            kb,
            db: None,
            jwt: Arc::new(JwtKeys::new(crate::auth::DEV_SECRET.as_bytes())),
        }
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
    "/api/v1/suggestions" => { get: kb::suggestions },
    "/api/v1/events" => { get: events::events },
    "/api/v1/tickets" => { get: tickets::list, post: tickets::create },
    "/api/v1/tickets/{id}" => { get: tickets::get, patch: tickets::patch },
    "/api/v1/tickets/{id}/timeline" => { get: tickets::timeline },
    "/api/v1/tickets/{id}/typing" => { post: events::typing },
    "/api/v1/tickets/{id}/viewing" => { post: events::viewing },
    "/api/v1/tickets/{id}/messages" => { post: tickets::post_message },
    "/api/v1/openapi.json" => { get: openapi::openapi_json },
    "/healthz" => { get: healthz },
    "/readyz" => { get: readyz },
}

/// Builds the application router with its middleware.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let api = api_routes()
        .merge(crate::web::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
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
            .layer(axum::middleware::map_response(problem_for_plain_413))
            .layer(RequestBodyLimitLayer::new(BODY_LIMIT_BYTES))
            // The fastest level: a search reply (~11 KB of JSON on MDN) shrinks to about
            // 30% instead of 23%, for a fraction of the CPU of the default level, which
            // cost a third as much as the search itself.
            .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                REQUEST_TIMEOUT,
            )),
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

/// The body-limit layer answers a declared `Content-Length` over the limit itself, in
/// plain text, before any handler runs: made problem+json like every other error.
async fn problem_for_plain_413<B>(response: Response<B>) -> Response
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let plain = response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && response.headers().get(header::CONTENT_TYPE)
            != Some(&header::HeaderValue::from_static(
                "application/problem+json",
            ));
    if plain {
        ApiError::body_too_large().into_response()
    } else {
        response.map(axum::body::Body::new)
    }
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
