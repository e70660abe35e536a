//! CCs of a ticket: add a user by email, remove one. Thin: the database decides who may
//! change what (migration 0019); a removal takes effect for every read and event
//! stream at once, since each asks the policies again.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::AuthUser;
use super::error::{ApiError, Problem};
use super::extract::{ApiJson, IdPair};
use super::tickets::{db, TicketPath};
use super::AppState;
use crate::tickets::ccs::{self, Cc, CcEmail};
use crate::tickets::{queries, TicketId};

/// The body of `POST /api/v1/tickets/{id}/ccs`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddCcBody {
    /// The email of an existing user.
    #[schema(min_length = 3, max_length = 254)]
    email: String,
}

/// A ticket's CCs after a change.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TicketCcs {
    /// Oldest first.
    pub ccs: Vec<Cc>,
}

/// Copy a user on a ticket
///
/// The requester or an agent copies an existing user, by email, on a ticket that is not
/// closed (at most 20 per ticket). The CC'd user reads the ticket, its public timeline
/// and its events, and may reply; never internal notes.
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/ccs", tag = "tickets",
    params(("id" = Uuid, Path, description = "The ticket's id.")),
    request_body = AddCcBody,
    responses(
        (status = 200, description = "The ticket's CCs, the new one among them.", body = TicketCcs),
        (status = 400, description = "The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A CC'd user may not change who is copied.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket, or not the caller's.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The ticket is closed.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an email, no user with this email, the requester, or the ticket has 20 CCs.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The caller changed too much lately (the replies' limit).", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The ticket database is unreachable.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn add(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    TicketPath(id): TicketPath,
    ApiJson(body): ApiJson<AddCcBody>,
) -> Result<Response, ApiError> {
    let email = CcEmail::parse(&body.email).map_err(|r| ApiError::unprocessable("email", r))?;
    let db = db(&state)?;
    // Each addition is a lookup by email: counted like a reply, so addresses cannot be
    // tried by the thousand.
    let limit = state.limits.replies;
    let list = db
        .write_as(&claims, move |conn, _| {
            Box::pin(async move {
                ccs::add(conn, id, &email).await?;
                if let Some(limit) = &limit {
                    queries::take_write_token(conn, limit).await?;
                }
                ccs::list(conn, id).await
            })
        })
        .await?;
    Ok(Json(TicketCcs { ccs: list }).into_response())
}

/// Remove a CC
///
/// The requester or an agent removes a user from the ticket's CCs, or a CC'd user
/// removes themselves. Their access ends at once, on open event streams too.
#[utoipa::path(
    delete, path = "/api/v1/tickets/{id}/ccs/{user_id}", tag = "tickets",
    params(
        ("id" = Uuid, Path, description = "The ticket's id."),
        ("user_id" = Uuid, Path, description = "The CC'd user's profile id."),
    ),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, description = "Missing or invalid token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A CC'd user may remove only themselves.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket, not the caller's, or the user is not CC'd.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The ticket is closed.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The ticket database is unreachable.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn remove(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    IdPair(ticket, user): IdPair,
) -> Result<Response, ApiError> {
    let db = db(&state)?;
    let removed = db
        .write_as(&claims, move |conn, _| {
            Box::pin(async move { ccs::remove(conn, TicketId(ticket), user).await })
        })
        .await?;
    if removed {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::NotFound("no such CC on this ticket".into()))
    }
}
