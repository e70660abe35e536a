//! The one place where errors become HTTP responses: RFC 9457 `application/problem+json`.
//!
//! Client mistakes name the parameter or field and the reason. Server faults are logged
//! with their details and answered with a generic 500 that reveals nothing.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::kb::KbError;

/// One invalid parameter or field.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InvalidParam {
    /// Query parameter, header or JSON field name.
    pub name: String,
    /// Why it was refused.
    pub reason: String,
}

/// Every error an HTTP handler can return.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query parameter, field or header is invalid (400).
    #[error("invalid request: {0:?}")]
    BadRequest(Vec<InvalidParam>),
    /// Nothing at this address, or not visible to the caller (404).
    #[error("not found: {0}")]
    NotFound(String),
    /// The service cannot answer yet (503).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A fault of the service; details are logged, never returned (500).
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 for one parameter.
    pub fn invalid(name: &str, reason: impl Into<String>) -> Self {
        ApiError::BadRequest(vec![InvalidParam {
            name: name.to_string(),
            reason: reason.into(),
        }])
    }
}

/// The RFC 9457 body.
#[derive(Debug, Serialize)]
pub struct Problem {
    /// A URI reference naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short, human summary of the type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// This occurrence, in words.
    pub detail: String,
    /// Invalid parameters, for 400s.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub invalid_params: Vec<InvalidParam>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, title, detail, invalid_params) = match self {
            ApiError::BadRequest(params) => {
                let detail = params
                    .iter()
                    .map(|p| format!("{}: {}", p.name, p.reason))
                    .collect::<Vec<_>>()
                    .join("; ");
                (
                    StatusCode::BAD_REQUEST,
                    "invalid-parameter",
                    "Invalid request parameter",
                    detail,
                    params,
                )
            }
            ApiError::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                what,
                Vec::new(),
            ),
            ApiError::Unavailable(why) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                why,
                Vec::new(),
            ),
            ApiError::Internal(details) => {
                tracing::error!(error = %details, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal server error",
                    "The server failed to answer; the error has been logged.".to_string(),
                    Vec::new(),
                )
            }
        };
        let body = Problem {
            kind: format!("/problems/{kind}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail,
            invalid_params,
        };
        let mut response = (status, axum::Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<KbError> for ApiError {
    fn from(e: KbError) -> Self {
        match e {
            KbError::NotReady => ApiError::Unavailable(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}
