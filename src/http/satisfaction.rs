//! Satisfaction ratings: the requester rates a solved ticket, agents read the rates per
//! day and per agent. Thin: parse, run one query under the caller's claims (the
//! database decides who may rate what, migration 0018), serialize.

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::auth::AuthUser;
use super::error::{ApiError, InvalidParam, Problem};
use super::extract::ApiJson;
use super::tickets::{db, not_found, TicketPath};
use super::AppState;
use crate::tickets::queries;
use crate::tickets::satisfaction::{self, BadReason, NewRating, Rating, SatisfactionReport, Score};

/// The body of `PUT /api/v1/tickets/{id}/satisfaction`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateBody {
    /// `good` or `bad`.
    #[schema(value_type = Score)]
    score: String,
    /// Why it is bad (only with `bad`).
    #[serde(default)]
    #[schema(value_type = Option<BadReason>)]
    reason: Option<String>,
    /// Up to 2,000 characters; blank means none.
    #[serde(default)]
    #[schema(max_length = 2000)]
    comment: Option<String>,
}

fn parse_rating(body: &RateBody) -> Result<NewRating, ApiError> {
    let mut problems = Vec::new();
    let score = Score::parse(&body.score);
    if score.is_none() {
        problems.push(InvalidParam {
            name: "score".into(),
            reason: format!("must be one of {}, got {:?}", Score::expected(), body.score),
        });
    }
    let reason = match body.reason.as_deref() {
        None => None,
        Some(r) => match BadReason::parse(r) {
            Some(r) => Some(r),
            None => {
                problems.push(InvalidParam {
                    name: "reason".into(),
                    reason: format!("must be one of {}, got {r:?}", BadReason::expected()),
                });
                None
            }
        },
    };
    let Some(score) = score.filter(|_| problems.is_empty()) else {
        return Err(ApiError::Unprocessable(problems));
    };
    NewRating::parse(score, reason, body.comment.as_deref()).map_err(|problems| {
        ApiError::Unprocessable(
            problems
                .into_iter()
                .map(|(name, reason)| InvalidParam {
                    name: name.into(),
                    reason,
                })
                .collect(),
        )
    })
}

/// Rate a solved ticket
///
/// The ticket's requester rates it `good` or `bad` (with a reason and a comment if
/// they like) once it is solved, and may change the rating until the ticket closes.
#[utoipa::path(
    put, path = "/api/v1/tickets/{id}/satisfaction", tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id.")),
    request_body = RateBody,
    responses(
        (status = 200, description = "The rating as stored.", body = Rating),
        (status = 400, description = "The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the ticket's requester rates it.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket, or not the caller's.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The ticket is not solved yet, or closed (its rating no longer changes).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The ticket database is unreachable.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn rate(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    TicketPath(id): TicketPath,
    ApiJson(body): ApiJson<RateBody>,
) -> Result<Response, ApiError> {
    let rating = parse_rating(&body)?;
    let db = db(&state)?;
    let rated = db
        .write_as(&claims, move |conn, session| {
            Box::pin(async move {
                // 404 for a ticket the caller cannot see; a clear 403 for one it sees
                // but does not own (the insert policy would refuse it anyway).
                let Some(ticket) = queries::get(conn, id).await? else {
                    return Ok(Err(not_found()));
                };
                if ticket.requester_id != session.user_id {
                    return Ok(Err(ApiError::Forbidden(
                        "only the ticket's requester rates it".into(),
                    )));
                }
                Ok(Ok(satisfaction::rate(conn, id, &rating).await?))
            })
        })
        .await??;
    Ok(Json(rated).into_response())
}

/// Satisfaction per day and per agent
///
/// The ratings given (or last changed) in the date range, per day and per agent
/// assigned when rated. Agents and admins only.
#[utoipa::path(
    get, path = "/api/v1/satisfaction", tag = "tickets",
    params(
        ("from" = Option<String>, Query, description = "First day (UTC), `YYYY-MM-DD`; default 29 days before `to`."),
        ("to" = Option<String>, Query, description = "Last day (UTC), included; default today."),
    ),
    responses(
        (status = 200, description = "The rates.", body = SatisfactionReport),
        (status = 400, description = "A parameter is invalid.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an agent or admin.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The ticket database is unreachable.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn report(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    // Who asks comes first: a customer gets 403 whatever the parameters.
    let params = super::insights::parse_report_params(raw.as_deref());
    let range = params.as_ref().ok().map(|(range, _)| *range);
    let db = db(&state)?;
    let report = db
        .read_as(&claims, move |conn, session| {
            Box::pin(async move {
                if !session.role.is_staff() {
                    return Ok(Err(ApiError::Forbidden(
                        "only agents and admins read the satisfaction rates".into(),
                    )));
                }
                match range {
                    Some(r) => Ok(Ok(Some(satisfaction::report(conn, r.from, r.to).await?))),
                    None => Ok(Ok(None)),
                }
            })
        })
        .await??;
    params?;
    report
        .map(|r| Json(r).into_response())
        .ok_or_else(|| ApiError::Internal("satisfaction report without a range".into()))
}
