//! Who reads the knowledge base: the [`ReaderOf`] extractor turns a request into the
//! engine's [`Reader`] once, at the edge, and [`private_if_signed_in`] marks the
//! answers that depend on it.
//!
//! * API requests are read from `Authorization: Bearer` (no header: anonymous; a header
//!   that does not verify: 401, so a broken client never silently reads less).
//! * Pages are read from the `hc_session` cookie that `POST /api/v1/auth/session` sets
//!   (a cookie that no longer verifies reads as anonymous: a page never fails on it).
//! * A signed-in reader's segments are the verified token's `app_metadata.segments`
//!   (only the server side writes `app_metadata`); staff is the user's profile in the
//!   database, never a claim, remembered per replica for [`STAFF_TTL`]. When the
//!   database cannot say, the reader is a customer: fail-closed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use uuid::Uuid;

use super::auth::claims_from_headers;
use super::error::ApiError;
use super::AppState;
use crate::auth::Claims;
use crate::kb::audience::Reader;

/// The cookie that carries a signed-in reader's token to the pages.
pub const SESSION_COOKIE: &str = "hc_session";

/// How long a replica trusts its last answer to "is this user staff?": a demoted agent
/// stops reading staff articles within this time.
pub const STAFF_TTL: Duration = Duration::from_secs(5);

/// Most users whose staff answer a replica remembers before it starts over.
const STAFF_CACHE_MAX: usize = 10_000;

/// The per-replica memory of whom the database called staff, and when.
#[derive(Default)]
pub struct StaffCache {
    answers: Mutex<HashMap<Uuid, (bool, Instant)>>,
}

impl StaffCache {
    fn get(&self, user: Uuid) -> Option<bool> {
        let answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        answers
            .get(&user)
            .filter(|(_, at)| at.elapsed() < STAFF_TTL)
            .map(|(staff, _)| *staff)
    }

    fn put(&self, user: Uuid, staff: bool) {
        let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        if answers.len() >= STAFF_CACHE_MAX {
            answers.clear();
        }
        answers.insert(user, (staff, Instant::now()));
    }
}

/// The reader of a request, and whether it sent credentials (its answers are then
/// private to it).
pub struct ReaderOf {
    /// Who reads.
    pub reader: Reader,
    /// Whether the answer depends on credentials the request sent.
    pub signed_in: bool,
    /// The verified token's user (what search insights record for a signed-in reader).
    pub user: Option<Uuid>,
    /// The verified token's claims (pages that read the database as the reader).
    pub claims: Option<Claims>,
}

impl FromRequestParts<AppState> for ReaderOf {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(ReaderOf {
                reader: Reader::Anonymous,
                signed_in: false,
                user: None,
                claims: None,
            });
        }
        let claims = claims_from_headers(&parts.headers, &state.jwt).await?;
        Ok(ReaderOf {
            reader: reader_of(state, &claims).await,
            signed_in: true,
            user: Some(claims.sub),
            claims: Some(claims),
        })
    }
}

/// The reader of a page: the `hc_session` cookie's token, verified; anonymous without
/// one or when it no longer verifies.
pub async fn page_reader(state: &AppState, headers: &HeaderMap) -> ReaderOf {
    let Some(token) = session_cookie(headers) else {
        return ReaderOf {
            reader: Reader::Anonymous,
            signed_in: false,
            user: None,
            claims: None,
        };
    };
    match state.jwt.verify_fetching(&token).await {
        Ok(claims) => ReaderOf {
            reader: reader_of(state, &claims).await,
            signed_in: true,
            user: Some(claims.sub),
            claims: Some(claims),
        },
        Err(e) => {
            tracing::debug!("session cookie refused ({e}); reading as anonymous");
            ReaderOf {
                reader: Reader::Anonymous,
                signed_in: true,
                user: None,
                claims: None,
            }
        }
    }
}

/// The `hc_session` cookie's value, if the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// The value of the request's cookie `name` (trimmed, not empty), if it has one.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The reader a verified token stands for.
pub async fn reader_of(state: &AppState, claims: &Claims) -> Reader {
    if is_staff(state, claims).await {
        return Reader::Staff;
    }
    let segments = claims
        .extra
        .get("app_metadata")
        .and_then(|m| m.get("segments"))
        .and_then(|s| s.as_array());
    Reader::signed_in(
        segments
            .into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_str),
    )
}

/// Whether the user's profile says staff (remembered for [`STAFF_TTL`]); `false` when
/// there is no database or it cannot answer now.
async fn is_staff(state: &AppState, claims: &Claims) -> bool {
    if let Some(known) = state.staff.get(claims.sub) {
        return known;
    }
    let Some(db) = state.db.as_ref().filter(|db| db.is_ready()) else {
        return false;
    };
    let answer = db
        .read_as(claims, |_, session| {
            Box::pin(async move { Ok(session.role.is_staff()) })
        })
        .await;
    match answer {
        Ok(staff) => {
            state.staff.put(claims.sub, staff);
            staff
        }
        Err(e) => {
            tracing::debug!("cannot tell whether the reader is staff ({e}); reading as a customer");
            false
        }
    }
}

/// Marks an answer that depends on who reads: `Vary` on the credential it was read
/// from (`Authorization` for the API, `Cookie` for pages), and `Cache-Control:
/// private` when credentials were sent, so no shared cache stores one reader's view
/// for another.
pub fn private_if_signed_in(
    mut response: Response,
    reader: &ReaderOf,
    vary: &'static str,
) -> Response {
    let h = response.headers_mut();
    h.append(header::VARY, HeaderValue::from_static(vary));
    if reader.signed_in {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
    }
    response
}
