//! Extractors whose rejections are problem+json like every other error.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// `axum::Json`, but a malformed body, a wrong content type or a field of the wrong
/// type answers 400/415-style problem+json naming the reason, never plain text.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::invalid("Content-Type", "must be application/json")
        }
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::invalid("body", format!("is not valid JSON: {}", e.body_text()))
        }
        JsonRejection::JsonDataError(e) => ApiError::unprocessable("body", e.body_text()),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::body_too_large()
        }
        JsonRejection::BytesRejection(e) => ApiError::invalid("body", e.body_text()),
        other => ApiError::invalid("body", other.body_text()),
    }
}

/// The `{*slug}` of an article path, as written. A segment that does not decode to
/// UTF-8 (`%FF`) cannot name an article, so it is simply not found, as an unknown slug
/// is: problem+json, never axum's plain-text 400.
#[derive(Debug, Clone)]
pub struct ArticlePath(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ArticlePath {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(path)) => Ok(ArticlePath(path)),
            Err(_) => Err(ApiError::NotFound(
                "no published article at this address (it is not valid UTF-8)".into(),
            )),
        }
    }
}

/// The two ids of a path like `/api/v1/tickets/{id}/ccs/{user_id}`: a ticket's and
/// another's. Anything but two UUIDs (even bytes that are not UTF-8) is not found, like
/// an unknown id: no probing by format.
#[derive(Debug, Clone, Copy)]
pub struct IdPair(pub uuid::Uuid, pub uuid::Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPair {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let not_found = || ApiError::NotFound("no such ticket".into());
        let Path((first, second)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        match (
            uuid::Uuid::parse_str(&first),
            uuid::Uuid::parse_str(&second),
        ) {
            (Ok(a), Ok(b)) => Ok(IdPair(a, b)),
            _ => Err(not_found()),
        }
    }
}
