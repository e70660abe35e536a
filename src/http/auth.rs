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
        Ok(AuthUser(claims_from_headers(&parts.headers, &state.jwt)?))
    }
}

/// Verifies the `Authorization: Bearer` token of a request: the one way a request is
/// authenticated ([`AuthUser`] and [`MaybeAuthUser`] call it).
pub fn claims_from_headers(
    headers: &axum::http::HeaderMap,
    jwt: &JwtKeys,
) -> Result<Claims, ApiError> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    Ok(jwt.verify(bearer_token(header)?)?)
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
