//! Ticket portal endpoints. Thin: authenticate (extractor), parse the input into the
//! model's types, run one query function in a user transaction, serialize.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use uuid::Uuid;

use super::auth::AuthUser;
use super::error::{ApiError, InvalidParam, Problem};
use super::extract::ApiJson;
use super::AppState;
use crate::attachments::{UploadToken, MAX_FILES_PER_MESSAGE};
use crate::db::Database;
use crate::tickets::{
    queries, AssigneeFilter, Body, Category, Cursor, ListQuery, Message, NewTicket, Priority,
    Subject, Ticket, TicketDetail, TicketId, TicketPage, TicketPatch, TicketStatus, TimelinePage,
    DEFAULT_LIMIT, MAX_IDEMPOTENCY_KEY, MAX_LIMIT, MAX_QUERY_CHARS,
};

/// The database, or 503 when the service runs without one.
pub(super) fn db(state: &AppState) -> Result<&Arc<Database>, ApiError> {
    state
        .db
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("tickets are not configured".into()))
}

/// The `{id}` of a ticket path. Anything but a UUID (including a segment that is not
/// even valid UTF-8) is simply not found, like an unknown id: no probing by format.
#[derive(Debug, Clone, Copy)]
pub struct TicketPath(pub TicketId);

impl<S: Send + Sync> FromRequestParts<S> for TicketPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        TicketId::parse(&raw).map(TicketPath).ok_or_else(not_found)
    }
}

/// The per-replica first check of a write limit (429 before any database work); the
/// count in PostgreSQL stays the one that holds across replicas.
fn take_local_write_token(
    limiter: Option<&crate::limits::KeyedLimiter<Uuid>>,
    claims: &crate::auth::Claims,
    what: &str,
) -> Result<(), ApiError> {
    match limiter.map(|l| l.take(&claims.sub)) {
        Some(Err(wait)) => Err(ApiError::rate_limited(
            format!("too many {what} from this user; try again later"),
            wait,
        )),
        _ => Ok(()),
    }
}

pub(super) fn not_found() -> ApiError {
    ApiError::NotFound("no such ticket".into())
}

fn params(raw: Option<&str>) -> impl Iterator<Item = (String, String)> + '_ {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
}

fn parse_limit(value: &str, problems: &mut Vec<InvalidParam>) -> i64 {
    match value.trim().parse::<i64>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
        Ok(n) => {
            problems.push(param(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}, got {n}"),
            ));
            DEFAULT_LIMIT
        }
        Err(_) => {
            problems.push(param(
                "limit",
                format!("must be a whole number, got {value:?}"),
            ));
            DEFAULT_LIMIT
        }
    }
}

fn param(name: &str, reason: impl Into<String>) -> InvalidParam {
    InvalidParam {
        name: name.into(),
        reason: reason.into(),
    }
}

/// Parses the list parameters, collecting every problem at once.
pub fn parse_list_params(raw: Option<&str>) -> Result<ListQuery, ApiError> {
    let mut query = ListQuery {
        status: None,
        q: None,
        limit: DEFAULT_LIMIT,
        cursor: None,
        assignee: None,
        copied: false,
    };
    let mut problems = Vec::new();
    for (key, value) in params(raw) {
        match key.as_str() {
            "status" if value.is_empty() => {}
            "status" => match TicketStatus::parse(&value) {
                Some(s) => query.status = Some(s),
                None => problems.push(param(
                    "status",
                    format!("must be one of {}, got {value:?}", TicketStatus::expected()),
                )),
            },
            "q" => {
                let q = value.trim();
                let n = q.chars().count();
                if n > MAX_QUERY_CHARS {
                    problems.push(param(
                        "q",
                        format!("must be at most {MAX_QUERY_CHARS} characters, got {n}"),
                    ));
                } else if q.contains('\0') {
                    problems.push(param("q", crate::tickets::NUL_REASON));
                } else if n > 0 {
                    query.q = Some(q.to_string());
                }
            }
            "limit" => query.limit = parse_limit(&value, &mut problems),
            "cursor" if value.is_empty() => {}
            "cursor" => match Cursor::decode(&value)
                .filter(|c| Uuid::parse_str(&c.id).is_ok() && c.at().is_some())
            {
                Some(c) => query.cursor = Some(c),
                None => problems.push(param("cursor", "is not a cursor this API returned")),
            },
            "cc" if value.is_empty() => {}
            "cc" if value == "me" => query.copied = true,
            "cc" => problems.push(param("cc", format!("must be me, got {value:?}"))),
            "assignee" if value.is_empty() => {}
            "assignee" => match value.as_str() {
                "me" => query.assignee = Some(AssigneeFilter::Me),
                "none" => query.assignee = Some(AssigneeFilter::Nobody),
                other => match Uuid::parse_str(other) {
                    Ok(id) => query.assignee = Some(AssigneeFilter::Profile(id)),
                    Err(_) => problems.push(param("assignee", "must be me, none or a profile id")),
                },
            },
            _ => {}
        }
    }
    if query.copied && problems.is_empty() {
        for (name, given) in [
            ("q", query.q.is_some()),
            ("assignee", query.assignee.is_some()),
        ] {
            if given {
                problems.push(param(
                    name,
                    "does not combine with cc=me (status, limit and cursor do)",
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(query)
    } else {
        Err(ApiError::BadRequest(problems))
    }
}

/// List tickets
///
/// The caller's tickets (a customer's own; every ticket for agents and admins), most
/// recently updated first, a page at a time; with `cc=me`, the tickets the caller is
/// CC'd on.
#[utoipa::path(
    get, path = "/api/v1/tickets", tag = "tickets",
    params(
        ("status" = Option<TicketStatus>, Query, description = "Only tickets in this status."),
        ("q" = Option<String>, Query, max_length = 200, description = "Words of the subject."),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size (default 25)."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page."),
        ("assignee" = Option<String>, Query, description = "Agents and admins: `me`, `none` or a profile id."),
        ("cc" = Option<String>, Query, description = "`me`: the tickets the caller is CC'd on instead of their own (with `status`, `limit`, `cursor`)."),
    ),
    responses(
        (status = 200, description = "A page of tickets.", body = TicketPage),
        (status = 400, description = "A parameter is invalid.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The ticket database is unreachable.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = parse_list_params(raw.as_deref())?;
    let db = db(&state)?;
    if query.copied {
        let page = db
            .read_as(&claims, move |conn, _| {
                Box::pin(async move { queries::list_copied(conn, &query).await })
            })
            .await?;
        return Ok(Json(page).into_response());
    }
    let page = db
        .read_one_as(&claims, move |conn, scope| {
            let query = query.clone();
            Box::pin(async move { queries::list(conn, &scope, &query).await })
        })
        .await?;
    match page {
        Some(page) => Ok(Json(page).into_response()),
        None => Err(ApiError::invalid(
            "assignee",
            "only agents may filter by assignee",
        )),
    }
}

/// The body of `POST /api/v1/tickets`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicketBody {
    /// What the ticket is about: 1 to 200 characters, not blank.
    #[schema(min_length = 1, max_length = 200)]
    subject: String,
    /// The first message: 1 to 20,000 characters, not blank.
    #[schema(min_length = 1, max_length = 20000)]
    body: String,
    /// Defaults to `normal`.
    #[serde(default)]
    #[schema(value_type = Option<Priority>)]
    priority: Option<String>,
    /// What kind of request it is.
    #[serde(default)]
    #[schema(value_type = Option<Category>)]
    category: Option<String>,
    /// Opens a follow-up of this closed ticket (one the caller may see); both
    /// timelines show the link.
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    via_followup_source_id: Option<String>,
    /// Tokens of the caller's uploads (`POST /api/v1/uploads`) to attach to the first
    /// message, at most 10.
    #[serde(default)]
    #[schema(max_items = 10)]
    uploads: Vec<String>,
}

/// Parses a create request, collecting every problem at once.
pub fn parse_new_ticket(
    body: CreateTicketBody,
    headers: &HeaderMap,
) -> Result<NewTicket, ApiError> {
    let mut problems = Vec::new();
    let subject = Subject::parse(&body.subject)
        .map_err(|r| problems.push(param("subject", r)))
        .ok();
    let text = Body::parse(&body.body)
        .map_err(|r| problems.push(param("body", r)))
        .ok();
    let priority = match body.priority.as_deref() {
        None => Some(Priority::Normal),
        Some(p) => Priority::parse(p).or_else(|| {
            problems.push(param(
                "priority",
                format!("must be one of {}, got {p:?}", Priority::expected()),
            ));
            None
        }),
    };
    let category = match body.category.as_deref() {
        None => None,
        Some(c) => match Category::parse(c) {
            Some(c) => Some(c),
            None => {
                problems.push(param(
                    "category",
                    format!("must be one of {}, got {c:?}", Category::expected()),
                ));
                None
            }
        },
    };
    let via_followup_source_id = match body.via_followup_source_id.as_deref() {
        None => None,
        Some(raw) => match TicketId::parse(raw.trim()) {
            Some(id) => Some(id),
            None => {
                problems.push(param(
                    "via_followup_source_id",
                    format!("must be a ticket id (a UUID), got {raw:?}"),
                ));
                None
            }
        },
    };
    let uploads = parse_uploads(&body.uploads)
        .map_err(|r| problems.push(r))
        .unwrap_or_default();
    let idempotency_key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str() {
            Ok(k) if !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY => Some(k.to_string()),
            _ => {
                return Err(ApiError::invalid(
                    "Idempotency-Key",
                    format!("must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"),
                ))
            }
        },
    };
    match (subject, text, priority) {
        (Some(subject), Some(body), Some(priority)) if problems.is_empty() => Ok(NewTicket {
            subject,
            body,
            priority,
            category,
            idempotency_key,
            insight_session: None,
            via_followup_source_id,
            uploads,
        }),
        _ => Err(ApiError::Unprocessable(problems)),
    }
}

/// The `uploads` of a new ticket or a reply: upload tokens, each once, at most
/// [`MAX_FILES_PER_MESSAGE`].
fn parse_uploads(raw: &[String]) -> Result<Vec<UploadToken>, InvalidParam> {
    if raw.len() > MAX_FILES_PER_MESSAGE {
        return Err(param(
            "uploads",
            format!("a message has at most {MAX_FILES_PER_MESSAGE} files"),
        ));
    }
    let mut tokens: Vec<UploadToken> = Vec::with_capacity(raw.len());
    for t in raw {
        let token = UploadToken::parse(t).ok_or_else(|| {
            param(
                "uploads",
                "must be upload tokens that POST /api/v1/uploads returned",
            )
        })?;
        if tokens.contains(&token) {
            return Err(param("uploads", "names the same upload twice"));
        }
        tokens.push(token);
    }
    Ok(tokens)
}

/// The most bytes one message's files may have together; uploads named without a store
/// configured are refused (503).
fn max_message_bytes(state: &AppState, uploads: usize) -> Result<u64, ApiError> {
    match &state.attachments {
        Some(a) => Ok(a.settings.max_message_bytes),
        None if uploads > 0 => Err(ApiError::Unavailable(
            "attachments are not configured".into(),
        )),
        None => Ok(0),
    }
}

/// Open a ticket
///
/// Creates a ticket for the caller, with its first message, and answers with it and the
/// published articles that may already answer it. With an `Idempotency-Key`, a retry
/// answers the same ticket instead of creating another.
#[utoipa::path(
    post, path = "/api/v1/tickets", tag = "tickets",
    params(
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, description = "Makes retries safe: the same key answers the same ticket."),
    ),
    request_body = CreateTicketBody,
    responses(
        (status = 201, description = "The ticket, and suggested articles.", body = CreatedTicket),
        (status = 400, description = "The body is not JSON, or a header is invalid.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The Idempotency-Key was used for a different ticket, or `via_followup_source_id` names a ticket that is not closed.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The caller opened too many tickets lately (per user, every replica counted); `Retry-After` says when to try again.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The ticket database is unreachable.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateTicketBody>,
) -> Result<Response, ApiError> {
    let new = parse_new_ticket(body, &headers)?;
    let db = db(&state)?;
    let text = (
        new.subject.as_str().to_string(),
        new.body.as_str().to_string(),
    );
    let limit = state.limits.new_tickets;
    let max_bytes = max_message_bytes(&state, new.uploads.len())?;
    take_local_write_token(state.limits.new_tickets_here.as_ref(), &claims, "tickets")?;
    let followup_of = new.via_followup_source_id;
    let mut new = new;
    if state.recorder.settings().enabled {
        // Recording off: the ticket is not linked to any session either.
        new.insight_session = super::insights::session_of(&headers);
    }
    if let Some(session) = &new.insight_session {
        // The searches the customer was still typing are what led to this ticket.
        state.recorder.settle_session(session);
    }
    let created = db
        .write_as(&claims, move |conn, session| {
            Box::pin(async move {
                queries::create(conn, session, &new, limit.as_ref(), max_bytes).await
            })
        })
        .await?;
    // Suggestions are a courtesy: a knowledge base still loading never fails a ticket.
    // They are the articles the ticket's author may read.
    let reader = super::reader::reader_of(&state, &claims).await;
    let suggested = |ticket: Ticket| CreatedTicket {
        via_followup_source_id: followup_of.map(|t| t.0),
        suggested_articles: state
            .kb
            .suggest(&text.0, &text.1, super::kb::MAX_SUGGESTIONS, &reader)
            .unwrap_or_default(),
        ticket,
    };
    match created {
        queries::Created::New(ticket) => {
            Ok((StatusCode::CREATED, Json(suggested(ticket))).into_response())
        }
        queries::Created::Replayed(ticket) => Ok((
            StatusCode::CREATED,
            [("idempotent-replayed", "true")],
            Json(suggested(ticket)),
        )
            .into_response()),
        queries::Created::KeyReused => Err(ApiError::Conflict(
            "this Idempotency-Key was already used for a different ticket".into(),
        )),
    }
}

/// What `POST /api/v1/tickets` answers: the ticket, and the published articles that
/// may already answer it (ticket deflection).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedTicket {
    /// The new ticket.
    #[serde(flatten)]
    pub ticket: Ticket,
    /// The closed ticket it follows up, if any.
    pub via_followup_source_id: Option<Uuid>,
    /// Up to five articles, best first.
    pub suggested_articles: Vec<crate::kb::search::Hit>,
}

/// Get a ticket
#[utoipa::path(
    get, path = "/api/v1/tickets/{id}", tag = "tickets",
    params(("id" = Uuid, Path, description = "The ticket's id.")),
    responses(
        (status = 200, description = "The ticket, its follow-up links and its rating.", body = TicketDetail),
        (status = 401, description = "Missing or invalid token.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket, or not the caller's.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The ticket database is unreachable.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn get(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    TicketPath(id): TicketPath,
) -> Result<Response, ApiError> {
    let db = db(&state)?;
    let ticket = db
        .read_as(&claims, move |conn, _| {
            Box::pin(async move { queries::detail(conn, id).await })
        })
        .await?;
    ticket
        .map(|t| Json(t).into_response())
        .ok_or_else(not_found)
}

/// A ticket's timeline
///
/// Messages and status changes, oldest first; internal notes only for agents and admins.
#[utoipa::path(
    get, path = "/api/v1/tickets/{id}/timeline", tag = "tickets",
    params(
        ("id" = Uuid, Path, description = "The ticket's id."),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size (default 50)."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of the timeline.", body = TimelinePage),
        (status = 400, description = "A parameter is invalid.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket, or not the caller's.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The ticket database is unreachable.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn timeline(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    TicketPath(id): TicketPath,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut problems = Vec::new();
    let mut cursor = None;
    let mut limit = 50;
    for (key, value) in params(raw.as_deref()) {
        match key.as_str() {
            "cursor" if value.is_empty() => {}
            "cursor" => match Cursor::decode(&value).filter(|c| c.at().is_some()) {
                Some(c) => cursor = Some(c),
                None => problems.push(param("cursor", "is not a cursor this API returned")),
            },
            "limit" => limit = parse_limit(&value, &mut problems),
            _ => {}
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::BadRequest(problems));
    }
    let db = db(&state)?;
    let page = db
        .read_one_as(&claims, move |conn, scope| {
            let cursor = cursor.clone();
            Box::pin(
                async move { queries::timeline(conn, &scope, id, cursor.as_ref(), limit).await },
            )
        })
        .await?;
    page.map(|p| Json(p).into_response()).ok_or_else(not_found)
}

/// The body of `POST /api/v1/tickets/{id}/messages`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessageBody {
    /// The message: 1 to 20,000 characters, not blank.
    #[schema(min_length = 1, max_length = 20000)]
    body: String,
    /// An internal note, visible to agents and admins only (agents and admins only).
    #[serde(default)]
    internal: bool,
    /// Tokens of the caller's uploads (`POST /api/v1/uploads`) to attach, at most 10.
    #[serde(default)]
    #[schema(max_items = 10)]
    uploads: Vec<String>,
}

/// Reply to a ticket
///
/// Adds a public message, or for agents and admins an internal note.
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/messages", tag = "tickets",
    params(("id" = Uuid, Path, description = "The ticket's id.")),
    request_body = PostMessageBody,
    responses(
        (status = 201, description = "The message.", body = Message),
        (status = 400, description = "The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A customer tried to post an internal note, or the ticket is closed to replies.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket, or not the caller's.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The ticket is closed (`type` `/problems/ticket-closed`): open a follow-up with `POST /api/v1/tickets` and `via_followup_source_id`, as the problem's `followup` says.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The caller posted too many messages lately (per user, every replica counted); `Retry-After` says when to try again.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The ticket database is unreachable.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn post_message(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    TicketPath(id): TicketPath,
    ApiJson(input): ApiJson<PostMessageBody>,
) -> Result<Response, ApiError> {
    let body = Body::parse(&input.body).map_err(|r| ApiError::unprocessable("body", r))?;
    let uploads = parse_uploads(&input.uploads).map_err(|p| ApiError::Unprocessable(vec![p]))?;
    let max_bytes = max_message_bytes(&state, uploads.len())?;
    let internal = input.internal;
    let limit = state.limits.replies;
    let db = db(&state)?;
    take_local_write_token(state.limits.replies_here.as_ref(), &claims, "replies")?;
    let posted = db
        .write_as(&claims, move |conn, session| {
            Box::pin(async move {
                if internal && !session.role.is_staff() {
                    // 404 for a ticket the caller cannot see, so ids cannot be probed.
                    return Ok(Err(match queries::get(conn, id).await? {
                        Some(_) => {
                            ApiError::Forbidden("only agents may post internal notes".into())
                        }
                        None => not_found(),
                    }));
                }
                let message =
                    queries::post_message(conn, session, id, &body, internal, &uploads, max_bytes)
                        .await?;
                if let (Some(_), Some(limit)) = (&message, &limit) {
                    // Counted once the reply exists; beyond the limit the transaction
                    // aborts and the reply is not stored.
                    queries::take_write_token(conn, limit).await?;
                }
                Ok(message.ok_or_else(not_found))
            })
        })
        .await
        .map_err(|e| closed_or(e, id))??;
    Ok((StatusCode::CREATED, Json(posted)).into_response())
}

/// A reply refused because the ticket is closed (migration 0003's trigger) becomes the
/// problem that points to a follow-up; any other error stays as it is.
fn closed_or(e: crate::db::DbError, ticket: TicketId) -> ApiError {
    match &e {
        crate::db::DbError::Sql(sql)
            if crate::db::sqlstate(sql).as_deref() == Some("P0409")
                && sql
                    .as_database_error()
                    .is_some_and(|d| d.message() == "ticket is closed") =>
        {
            ApiError::TicketClosed(ticket.0)
        }
        _ => ApiError::from(e),
    }
}

/// The body of `PATCH /api/v1/tickets/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTicketBody {
    /// The new status; customers may only move their own ticket to `solved` or back
    /// to `open`.
    #[serde(default)]
    #[schema(value_type = Option<TicketStatus>)]
    status: Option<String>,
    /// The new priority (agents and admins).
    #[serde(default)]
    #[schema(value_type = Option<Priority>)]
    priority: Option<String>,
    /// Absent: unchanged; `null`: unassign; `"me"` or a profile id (agents and admins).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    assignee: Option<Option<String>>,
}

/// Tells an explicit `null` (`Some(None)`) from an absent field (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Change a ticket
///
/// Status, priority or assignee. Customers may solve or reopen their own ticket; agents
/// and admins may change anything along the allowed status transitions.
#[utoipa::path(
    patch, path = "/api/v1/tickets/{id}", tag = "tickets",
    params(("id" = Uuid, Path, description = "The ticket's id.")),
    request_body = PatchTicketBody,
    responses(
        (status = 200, description = "The ticket as changed.", body = Ticket),
        (status = 400, description = "The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller may not make this change.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket, or not the caller's.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The status cannot move that way.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The ticket database is unreachable.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn patch(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    TicketPath(id): TicketPath,
    ApiJson(input): ApiJson<PatchTicketBody>,
) -> Result<Response, ApiError> {
    let mut problems = Vec::new();
    let mut patch = TicketPatch::default();
    if let Some(s) = &input.status {
        match TicketStatus::parse(s) {
            Some(s) => patch.status = Some(s),
            None => problems.push(param(
                "status",
                format!("must be one of {}, got {s:?}", TicketStatus::expected()),
            )),
        }
    }
    if let Some(p) = &input.priority {
        match Priority::parse(p) {
            Some(p) => patch.priority = Some(p),
            None => problems.push(param(
                "priority",
                format!("must be one of {}, got {p:?}", Priority::expected()),
            )),
        }
    }
    let mut assign_me = false;
    match &input.assignee {
        None => {}
        Some(None) => patch.assignee = Some(None),
        Some(Some(a)) if a == "me" => assign_me = true,
        Some(Some(a)) => match Uuid::parse_str(a) {
            Ok(u) => patch.assignee = Some(Some(u)),
            Err(_) => problems.push(param("assignee", "must be null, \"me\" or a profile id")),
        },
    }
    if !problems.is_empty() {
        return Err(ApiError::Unprocessable(problems));
    }
    if input.status.is_none() && input.priority.is_none() && input.assignee.is_none() {
        return Err(ApiError::unprocessable(
            "body",
            "nothing to change: give status, priority or assignee",
        ));
    }
    let db = db(&state)?;
    let updated = db
        .write_as(&claims, move |conn, session| {
            Box::pin(async move {
                // Customers' limits (own tickets, status solved/open only, no priority or
                // assignee) are enforced by RLS and the tickets_before_update trigger, so
                // another customer's ticket answers 404 whatever the patch says.
                if assign_me {
                    patch.assignee = Some(Some(session.user_id));
                }
                let ticket = queries::update(conn, id, &patch).await?;
                Ok(ticket.ok_or_else(not_found))
            })
        })
        .await??;
    Ok(Json(updated).into_response())
}
