//! Article feedback endpoints: `POST /api/v1/articles/{slug}/feedback` (anyone) and
//! `GET /api/v1/articles/{slug}/feedback` (agents and admins: totals). Thin: parse,
//! check the article exists in the knowledge base, call `crate::feedback`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::error::{ApiError, InvalidParam};
use super::extract::ApiJson;
use super::AppState;
use crate::auth::{claims_from_headers, MaybeAuthUser, Role};
use crate::feedback;
use crate::kb::types::Slug;

/// The path suffix of the feedback endpoints, after an article's slug.
const SUFFIX: &str = "/feedback";

/// The body of a vote.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoteBody {
    helpful: Option<bool>,
}

/// The client's address as the server's socket saw it (`None` without connection info,
/// as in-process routers have).
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The published article a feedback path names, or 404.
fn article_of(state: &AppState, path: &str) -> Result<Slug, ApiError> {
    let not_found = || ApiError::NotFound(format!("no published article {path:?}"));
    let slug = path.strip_suffix(SUFFIX).ok_or_else(not_found)?;
    let slug = Slug::parse(slug).map_err(|_| not_found())?;
    if state.kb.has_article(&slug)? {
        Ok(slug)
    } else {
        Err(ApiError::NotFound(format!(
            "no published article {:?}",
            slug.as_str()
        )))
    }
}

/// `POST /api/v1/articles/{slug}/feedback` `{"helpful": true|false}`: one vote per
/// signed-in user per article (a new vote replaces theirs: 200, the first is 201);
/// without a token the vote is anonymous (201), limited per client address (429).
pub async fn vote(
    State(state): State<AppState>,
    Path(path): Path<String>,
    MaybeAuthUser(claims): MaybeAuthUser,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<VoteBody>,
) -> Result<Response, ApiError> {
    let Some(helpful) = body.helpful else {
        return Err(ApiError::BadRequest(vec![InvalidParam {
            name: "helpful".into(),
            reason: "is required: true or false".into(),
        }]));
    };
    let slug = article_of(&state, &path)?;
    let db = super::tickets::db(&state)?;
    let slug_text = slug.as_str().to_string();
    let status = match claims {
        Some(claims) => {
            let first = db
                .write_as(&claims, move |conn, session| {
                    Box::pin(async move {
                        feedback::vote_as_user(conn, session.user_id, &slug_text, helpful).await
                    })
                })
                .await?;
            if first {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            }
        }
        None => {
            let key = feedback::client_key(
                addr.unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
            );
            db.write_as_anonymous(move |conn| {
                Box::pin(async move {
                    feedback::vote_anonymously(conn, &key, &slug_text, helpful).await
                })
            })
            .await?;
            StatusCode::CREATED
        }
    };
    Ok((
        status,
        Json(serde_json::json!({"slug": slug.as_str(), "helpful": helpful})),
    )
        .into_response())
}

/// `GET /api/v1/articles/{slug}/feedback`: vote totals, for agents and admins.
pub async fn totals(
    state: &AppState,
    path: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let claims = claims_from_headers(headers, &state.jwt)?;
    let slug = article_of(state, path)?;
    let db = super::tickets::db(state)?;
    let slug_text = slug.as_str().to_string();
    let (role, totals) = db
        .read_as(&claims, move |conn, session| {
            Box::pin(async move { Ok((session.role, feedback::totals(conn, &slug_text).await?)) })
        })
        .await?;
    if role == Role::Customer {
        return Err(ApiError::Forbidden(
            "only agents and admins read article feedback".into(),
        ));
    }
    Ok(Json(serde_json::json!({
        "slug": slug.as_str(),
        "helpful": totals.helpful,
        "not_helpful": totals.not_helpful,
        "total": totals.helpful + totals.not_helpful,
    }))
    .into_response())
}

/// Whether a path under `/api/v1/articles/` names the feedback of an article rather
/// than an article (an article whose slug itself ends in `/feedback` wins).
pub fn is_feedback_path(state: &AppState, path: &str) -> bool {
    path.ends_with(SUFFIX)
        && Slug::parse(path)
            .ok()
            .is_none_or(|s| !state.kb.has_article(&s).unwrap_or(false))
}

/// `GET /api/v1/articles/{slug}` (an article) or `GET /api/v1/articles/{slug}/feedback`
/// (its vote totals): one route, because slugs may contain `/`.
pub async fn article_or_totals(
    State(state): State<AppState>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if is_feedback_path(&state, &path) {
        return totals(&state, &path, &headers).await;
    }
    super::kb::article(State(state), Path(path))
        .await
        .map(IntoResponse::into_response)
}
