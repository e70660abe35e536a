//! Article feedback endpoints: `POST /api/v1/articles/{slug}/feedback` (anyone) and
//! `GET /api/v1/articles/{slug}/feedback` (agents and admins: totals). Thin: parse,
//! check the article exists in the knowledge base, call `crate::feedback`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::auth::{claims_from_headers, MaybeAuthUser};
use super::error::{ApiError, InvalidParam, Problem};
use super::extract::{ApiJson, ArticlePath};
use super::reader::{reader_of, ReaderOf};
use super::AppState;
use crate::auth::Role;
use crate::db::Budget;
use crate::feedback;
use crate::kb::audience::Reader;
use crate::kb::types::Slug;

/// The path suffix of the feedback endpoints, after an article's slug.
const SUFFIX: &str = "/feedback";

/// The body of a vote.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteBody {
    /// Whether the article answered the reader's question.
    #[schema(value_type = bool, required = true)]
    helpful: Option<bool>,
    /// Why not (with `helpful: false` only): `outdated`, `unclear`, `incomplete`,
    /// `not-my-question` or `other`.
    #[schema(example = "outdated")]
    reason: Option<String>,
    /// A few words more (with `helpful: false` only), at most 500 characters.
    #[schema(max_length = 500)]
    comment: Option<String>,
}

/// What a vote answers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct VoteRecorded {
    /// The article voted on.
    pub slug: String,
    /// The vote as recorded.
    pub helpful: bool,
}

/// An article's vote totals.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FeedbackTotals {
    /// The article.
    pub slug: String,
    /// "Yes, helpful."
    pub helpful: i64,
    /// "No."
    pub not_helpful: i64,
    /// Every vote.
    pub total: i64,
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

/// The published article a feedback path names, if `reader` may read it, or 404.
fn article_of(state: &AppState, path: &str, reader: &Reader) -> Result<Slug, ApiError> {
    let not_found = || ApiError::NotFound(format!("no published article {path:?}"));
    let slug = path.strip_suffix(SUFFIX).ok_or_else(not_found)?;
    let slug = Slug::parse(slug).map_err(|_| not_found())?;
    if state.kb.has_article(&slug, reader)? {
        Ok(slug)
    } else {
        Err(ApiError::NotFound(format!(
            "no published article {:?}",
            slug.as_str()
        )))
    }
}

/// Vote on an article
///
/// "Was this helpful?": one vote per signed-in user per article (a new vote replaces
/// theirs: 200, the first is 201); without a token the vote is anonymous (201), limited
/// per client address (429).
#[utoipa::path(
    post, path = "/api/v1/articles/{slug}/feedback", tag = "knowledge base",
    params(("slug" = String, Path, example = "billing/invoices/download-invoice", description = "The article's slug.")),
    request_body = VoteBody,
    responses(
        (status = 200, description = "The caller's earlier vote was replaced.", body = VoteRecorded),
        (status = 201, description = "The vote was recorded.", body = VoteRecorded),
        (status = 400, description = "The body is not JSON or `helpful` is missing.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A token was given but is invalid.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No published article has this slug.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field has the wrong type.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many anonymous votes from this address.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable.", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])),
)]
pub async fn vote(
    State(state): State<AppState>,
    ArticlePath(path): ArticlePath,
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
    let why = parse_reason(helpful, body.reason, body.comment)?;
    let reader = match &claims {
        Some(claims) => reader_of(&state, claims).await,
        None => Reader::Anonymous,
    };
    let slug = article_of(&state, &path, &reader)?;
    let db = super::tickets::db(&state)?;
    let slug_text = slug.as_str().to_string();
    let status = match claims {
        Some(claims) => {
            let first = db
                .write_as_within(Budget::Votes, &claims, move |conn, session| {
                    Box::pin(async move {
                        feedback::vote_as_user(conn, session.user_id, &slug_text, helpful, &why)
                            .await
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
            // Refused here, a flood costs no transaction; PostgreSQL still counts the
            // hour for every replica.
            state.limits.anonymous_votes.take(&key).map_err(|wait| {
                ApiError::rate_limited(
                    "too many anonymous votes from this address; try again later or sign in",
                    wait,
                )
            })?;
            db.write_as_anonymous(move |conn| {
                Box::pin(async move {
                    feedback::vote_anonymously(conn, &key, &slug_text, helpful, &why).await
                })
            })
            .await?;
            StatusCode::CREATED
        }
    };
    Ok((
        status,
        Json(VoteRecorded {
            slug: slug.as_str().to_string(),
            helpful,
        }),
    )
        .into_response())
}

/// The reason and comment of a vote, checked: only with "no", a reason from the list,
/// a comment of at most 500 characters (blank is none).
fn parse_reason(
    helpful: bool,
    reason: Option<String>,
    comment: Option<String>,
) -> Result<feedback::VoteReason, ApiError> {
    let mut problems = Vec::new();
    let comment = comment.filter(|c| !c.trim().is_empty());
    if helpful && (reason.is_some() || comment.is_some()) {
        let name = if reason.is_some() {
            "reason"
        } else {
            "comment"
        };
        problems.push(InvalidParam {
            name: name.into(),
            reason: "goes with `helpful: false` only".into(),
        });
    }
    if let Some(r) = &reason {
        if !feedback::REASONS.contains(&r.as_str()) {
            problems.push(InvalidParam {
                name: "reason".into(),
                reason: format!("must be one of {}, got {r:?}", feedback::REASONS.join(", ")),
            });
        }
    }
    if let Some(c) = &comment {
        let chars = c.chars().count();
        if chars > feedback::MAX_COMMENT_CHARS {
            problems.push(InvalidParam {
                name: "comment".into(),
                reason: format!(
                    "must be at most {} characters, got {chars}",
                    feedback::MAX_COMMENT_CHARS
                ),
            });
        }
    }
    if problems.is_empty() {
        Ok(feedback::VoteReason {
            reason,
            comment: comment.map(|c| c.trim().to_string()),
        })
    } else {
        Err(ApiError::Unprocessable(problems))
    }
}

/// An article's votes
///
/// Vote totals, for agents and admins.
#[utoipa::path(
    get, path = "/api/v1/articles/{slug}/feedback", tag = "knowledge base",
    params(("slug" = String, Path, example = "billing/invoices/download-invoice", description = "The article's slug.")),
    responses(
        (status = 200, description = "The totals.", body = FeedbackTotals),
        (status = 401, description = "Missing or invalid token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Customers cannot read votes.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No published article has this slug.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn totals(
    state: &AppState,
    path: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let claims = claims_from_headers(headers, &state.jwt).await?;
    let slug = article_of(state, path, &reader_of(state, &claims).await)?;
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
    Ok(Json(FeedbackTotals {
        slug: slug.as_str().to_string(),
        helpful: totals.helpful,
        not_helpful: totals.not_helpful,
        total: totals.helpful + totals.not_helpful,
    })
    .into_response())
}

/// Whether a path under `/api/v1/articles/` names the feedback of an article rather
/// than an article (an article whose slug itself ends in `/feedback` wins, when the
/// reader may read it: otherwise it is not there for them).
pub fn is_feedback_path(state: &AppState, path: &str, reader: &Reader) -> bool {
    path.ends_with(SUFFIX)
        && Slug::parse(path)
            .ok()
            .is_none_or(|s| !state.kb.has_article(&s, reader).unwrap_or(false))
}

/// `GET /api/v1/articles/{slug}` (an article) or `GET /api/v1/articles/{slug}/feedback`
/// (its vote totals): one route, because slugs may contain `/`.
pub async fn article_or_totals(
    State(state): State<AppState>,
    ArticlePath(path): ArticlePath,
    who: ReaderOf,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if is_feedback_path(&state, &path, &who.reader) {
        return totals(&state, &path, &headers).await;
    }
    super::kb::article(&state, &who, &headers, &path).await
}
