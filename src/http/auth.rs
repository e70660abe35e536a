//! The extractors that authenticate a request: the `Authorization: Bearer` header
//! verified by [`crate::auth::JwtKeys`] once, at the edge, into [`Claims`].

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use super::AppState;
use crate::auth::{bearer_token, Claims, JwtKeys};

/// The caller of a ticket endpoint, verified from `Authorization: Bearer`.
#[derive(Debug, Clone)]
pub struct AuthUser(pub Claims);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(AuthUser(
            claims_from_headers(&parts.headers, &state.jwt).await?,
        ))
    }
}

/// Verifies the `Authorization: Bearer` token of a request: the one way a request is
/// authenticated ([`AuthUser`] and [`MaybeAuthUser`] call it).
pub async fn claims_from_headers(
    headers: &axum::http::HeaderMap,
    jwt: &JwtKeys,
) -> Result<Claims, ApiError> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    Ok(jwt.verify_fetching(bearer_token(header)?).await?)
}

/// The caller's claims when a bearer token is sent, `None` when none is: for endpoints
/// anyone may use. A token that is sent must be valid (401 otherwise), so a client with
/// a broken token never silently acts as anonymous.
pub struct MaybeAuthUser(pub Option<Claims>);

impl FromRequestParts<AppState> for MaybeAuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if !parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
        {
            return Ok(MaybeAuthUser(None));
        }
        let AuthUser(claims) = AuthUser::from_request_parts(parts, state).await?;
        Ok(MaybeAuthUser(Some(claims)))
    }
}

/// The raw bearer token of a request that [`AuthUser`] verified: event streams keep it
/// to check it again while they last (a key revoked from the set ends them).
pub struct BearerToken(pub String);

impl FromRequestParts<AppState> for BearerToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        Ok(BearerToken(bearer_token(header)?.to_string()))
    }
}

/// What `GET /api/v1/auth/status` answers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AuthStatus {
    /// Whether HS256 tokens signed with the shared secret are accepted.
    pub hs256: bool,
    /// The `iss` every token must carry, if checked.
    pub issuer: Option<String>,
    /// The issuer's key set, when tokens are verified by one.
    pub jwks: Option<crate::auth::jwks::JwksStatus>,
}

/// How tokens are verified
///
/// Which keys verify user tokens now: the shared HS256 secret (on or off), the issuer,
/// and the JWKS with its keys, when it was fetched and the last fetch error.
#[utoipa::path(
    get, path = "/api/v1/auth/status", tag = "service",
    responses((status = 200, description = "The verification keys' state.", body = AuthStatus)),
)]
pub async fn status(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::Json<AuthStatus> {
    axum::Json(AuthStatus {
        hs256: state.jwt.accepts_hs256(),
        issuer: state.jwt.issuer().map(str::to_string),
        jwks: state.jwt.jwks().map(|j| j.status()),
    })
}

/// Sign the pages in
///
/// Sets the `hc_session` cookie (HttpOnly, `SameSite=Lax`, for the browser session) to
/// the verified bearer token, so that the help center's pages (search, categories,
/// articles) show the articles this reader may read; once the token expires the pages
/// read as anonymous again. The portal calls it after sign-in. Only a bearer header
/// signs in: a cross-site form cannot.
#[utoipa::path(
    post, path = "/api/v1/auth/session", tag = "service",
    responses(
        (status = 204, description = "The pages' session cookie is set."),
        (status = 401, description = "Missing or invalid token.", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The signing keys cannot be fetched.", body = crate::http::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn sign_in_pages(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    claims_from_headers(&headers, &state.jwt).await?;
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    let token = bearer_token(header)?;
    Ok(session_cookie_response(
        &headers,
        &format!("{}={token}", super::reader::SESSION_COOKIE),
    ))
}

/// Sign the pages out
///
/// Removes the `hc_session` cookie: the pages read as anonymous again.
#[utoipa::path(
    delete, path = "/api/v1/auth/session", tag = "service",
    responses((status = 204, description = "The pages' session cookie is removed.")),
)]
pub async fn sign_out_pages(headers: axum::http::HeaderMap) -> axum::response::Response {
    session_cookie_response(
        &headers,
        &format!("{}=; Max-Age=0", super::reader::SESSION_COOKIE),
    )
}

/// A 204 that sets the session cookie `value` with its fixed attributes (`Secure` when
/// the request came over HTTPS through a proxy that says so).
fn session_cookie_response(
    headers: &axum::http::HeaderMap,
    value: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let cookie = format!(
        "{value}; Path=/; HttpOnly; SameSite=Lax{}",
        if https { "; Secure" } else { "" }
    );
    let mut response = axum::http::StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&cookie) {
        response
            .headers_mut()
            .insert(axum::http::header::SET_COOKIE, v);
    }
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}
