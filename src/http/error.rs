//! The one place where errors become HTTP responses: RFC 9457 `application/problem+json`.
//!
//! Client mistakes name the parameter or field and the reason. Server faults are logged
//! with their details and answered with a generic 500 that reveals nothing.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::AuthError;
use crate::db::{sqlstate, DbError};
use crate::kb::KbError;

/// One invalid parameter or field.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
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
    /// Missing, malformed, expired or forged credentials (401).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed to do this (403).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Nothing at this address, or not visible to the caller (404).
    #[error("not found: {0}")]
    NotFound(String),
    /// The endpoint exists but not for this method (405).
    #[error("method not allowed: {0}")]
    MethodNotAllowed(String),
    /// The request conflicts with the resource's state, e.g. an illegal transition (409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A reply to a closed ticket (409): the problem names the follow-up to open
    /// instead.
    #[error("ticket {0} is closed")]
    TicketClosed(uuid::Uuid),
    /// Well-formed, but the content breaks a rule (422).
    #[error("unprocessable: {0:?}")]
    Unprocessable(Vec<InvalidParam>),
    /// The body's bytes are not a type the service accepts (415).
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// The request body is larger than the service accepts (413).
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    /// The caller sent too many requests of this kind; try again after `retry_after`
    /// seconds (429 with `Retry-After`).
    #[error("too many requests: {detail}")]
    TooManyRequests {
        /// What was limited, in words.
        detail: String,
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// The request target is longer than the service reads (414).
    #[error("URI too long: {0}")]
    UriTooLong(String),
    /// The request headers are larger than the service reads (431).
    #[error("headers too large: {0}")]
    HeadersTooLarge(String),
    /// An error answered below the handlers in plain text (an extractor's rejection,
    /// a layer's), with its status and text, made problem+json.
    #[error("{status}: {detail}")]
    Rejected {
        /// The status it was answered with.
        status: StatusCode,
        /// Its text.
        detail: String,
    },
    /// The service is busy for this request only (every connection of its budget in
    /// use); try again in a second (503 with `Retry-After: 1`).
    #[error("busy: {0}")]
    Busy(String),
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

    /// The 429 for a per-replica limiter's refusal (`wait`: until a token is back).
    pub fn rate_limited(detail: impl Into<String>, wait: std::time::Duration) -> Self {
        ApiError::TooManyRequests {
            detail: detail.into(),
            retry_after: crate::limits::retry_after_secs(wait),
        }
    }

    /// A 422 for one field.
    pub fn unprocessable(name: &str, reason: impl Into<String>) -> Self {
        ApiError::Unprocessable(vec![InvalidParam {
            name: name.to_string(),
            reason: reason.into(),
        }])
    }
}

fn join_params(params: &[InvalidParam]) -> String {
    params
        .iter()
        .map(|p| format!("{}: {}", p.name, p.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The RFC 9457 body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
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
    /// For a reply to a closed ticket (`/problems/ticket-closed`): how to open its
    /// follow-up instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub followup: Option<FollowupHint>,
}

/// The request that opens a follow-up of a closed ticket.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FollowupHint {
    /// `POST`.
    pub method: String,
    /// `/api/v1/tickets`.
    pub href: String,
    /// The closed ticket, to send as the new ticket's `via_followup_source_id`.
    pub via_followup_source_id: uuid::Uuid,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut retry_after_secs = 1;
        let mut followup = None;
        let (status, kind, title, detail, invalid_params) = match self {
            ApiError::BadRequest(params) => (
                StatusCode::BAD_REQUEST,
                "invalid-parameter",
                "Invalid request parameter",
                join_params(&params),
                params,
            ),
            ApiError::Unauthorized(why) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
                why,
                Vec::new(),
            ),
            ApiError::Forbidden(why) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                why,
                Vec::new(),
            ),
            ApiError::MethodNotAllowed(why) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                why,
                Vec::new(),
            ),
            ApiError::Conflict(why) => (
                StatusCode::CONFLICT,
                "conflict",
                "Conflict",
                why,
                Vec::new(),
            ),
            ApiError::TicketClosed(ticket) => {
                followup = Some(FollowupHint {
                    method: "POST".into(),
                    href: "/api/v1/tickets".into(),
                    via_followup_source_id: ticket,
                });
                (
                    StatusCode::CONFLICT,
                    "ticket-closed",
                    "Ticket closed",
                    format!(
                        "ticket {ticket} is closed and takes no more replies; open a \
                         follow-up instead: POST /api/v1/tickets with \
                         \"via_followup_source_id\": \"{ticket}\""
                    ),
                    Vec::new(),
                )
            }
            ApiError::Unprocessable(params) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable",
                "Unprocessable content",
                join_params(&params),
                params,
            ),
            ApiError::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                what,
                Vec::new(),
            ),
            ApiError::UnsupportedMediaType(why) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                why,
                Vec::new(),
            ),
            ApiError::PayloadTooLarge(why) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
                why,
                Vec::new(),
            ),
            ApiError::TooManyRequests {
                detail,
                retry_after,
            } => {
                retry_after_secs = retry_after.max(1);
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    "too-many-requests",
                    "Too many requests",
                    detail,
                    Vec::new(),
                )
            }
            ApiError::UriTooLong(why) => (
                StatusCode::URI_TOO_LONG,
                "uri-too-long",
                "URI too long",
                why,
                Vec::new(),
            ),
            ApiError::HeadersTooLarge(why) => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers-too-large",
                "Request headers too large",
                why,
                Vec::new(),
            ),
            ApiError::Rejected { status, detail } => {
                let params = if status == StatusCode::BAD_REQUEST {
                    vec![InvalidParam {
                        name: "request".into(),
                        reason: detail.clone(),
                    }]
                } else {
                    Vec::new()
                };
                (
                    status,
                    "rejected",
                    status.canonical_reason().unwrap_or("Request failed"),
                    detail,
                    params,
                )
            }
            ApiError::Busy(why) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "Service busy",
                why,
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
            followup,
        };
        let mut response = (status, axum::Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(retry_after_secs),
            );
        }
        response
    }
}

impl ApiError {
    /// The answer to a body over [`super::BODY_LIMIT_BYTES`].
    pub fn body_too_large() -> ApiError {
        ApiError::PayloadTooLarge(format!(
            "the request body must be at most {} bytes",
            super::BODY_LIMIT_BYTES
        ))
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unavailable(_) => ApiError::Unavailable(e.to_string()),
            other => ApiError::Unauthorized(other.to_string()),
        }
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

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(why) => ApiError::Unavailable(why),
            DbError::Busy(why) => ApiError::Busy(why),
            DbError::Sql(e) => ApiError::from(e),
            DbError::Task(why) => ApiError::Internal(why),
        }
    }
}

/// The one mapping from PostgreSQL errors to answers; the SQLSTATEs are those listed in
/// migration 0003's header (raised by its triggers, policies and constraints).
impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        let message = match &e {
            sqlx::Error::Database(db) => db.message().to_string(),
            _ => String::new(),
        };
        let field = match &e {
            sqlx::Error::Database(db) => db.constraint().map(field_of_constraint),
            _ => None,
        };
        match sqlstate(&e).as_deref() {
            Some("P0409") => ApiError::Conflict(message),
            Some("P0429") => ApiError::TooManyRequests {
                detail: message,
                retry_after: retry_hint(&e).unwrap_or(60),
            },
            Some("P0403") => ApiError::Forbidden(message),
            Some("P0404") => ApiError::NotFound(message),
            Some("P0413") => ApiError::PayloadTooLarge(message),
            Some("P0422") => ApiError::unprocessable("assignee", message),
            Some("42501") => ApiError::Forbidden("not allowed".into()),
            Some("23514") | Some("23503") | Some("22P02") | Some("22001") => {
                ApiError::unprocessable(field.as_deref().unwrap_or("body"), message)
            }
            Some("23505") => ApiError::Conflict(message),
            // A NUL or a character the database encoding lacks, in text that no parser
            // at the edge checked (the edge refuses NUL in every field it knows).
            Some("22021") | Some("22P05") => ApiError::unprocessable(
                field.as_deref().unwrap_or("body"),
                "contains a character the database cannot store",
            ),
            _ => ApiError::Internal(e.to_string()),
        }
    }
}

/// The seconds a P0429 names in its HINT (migration 0012), if any.
fn retry_hint(e: &sqlx::Error) -> Option<u64> {
    let db = e.as_database_error()?;
    let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()?;
    pg.hint()?.trim().parse().ok()
}

/// `tickets_subject_check` -> `subject`.
fn field_of_constraint(name: &str) -> String {
    let name = name
        .strip_suffix("_check")
        .or_else(|| name.strip_suffix("_fkey"))
        .or_else(|| name.strip_suffix("_key"))
        .unwrap_or(name);
    [
        "ticket_status_changes_",
        "ticket_messages_",
        "ticket_ratings_",
        "ticket_ccs_",
        "ticket_attachments_",
        "tickets_",
        "profiles_",
    ]
    .iter()
    .find_map(|p| name.strip_prefix(p))
    .unwrap_or(name)
    .to_string()
}
