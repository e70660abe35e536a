//! `GET /api/v1/events`: the signed-in user's live ticket events (Server-Sent Events).
//!
//! Every replica LISTENs once (`Database::subscribe_ticket_events`); a NOTIFY only
//! wakes the streams, which then read `id > last` from the event log under their own
//! claims, so Row Level Security decides what each receives, events written through
//! another replica arrive the same way, and `Last-Event-ID` resumes from the table.
//! Streams read a page at a time and only when the client takes them, so a slow client
//! holds at most one page; a comment every 15 s keeps proxies from closing the stream.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};

use super::auth::{AuthUser, BearerToken};
use super::error::{ApiError, InvalidParam, Problem};
use super::extract::ApiJson;
use super::tickets::TicketPath;
use super::AppState;
use crate::auth::Claims;
use crate::auth::Role;
use crate::db::{Budget, Database, TicketSignal};
use crate::tickets::events::{self, TicketEvent};
use crate::tickets::{queries, TicketId};

/// How often a stream reads the log even without a notification (a lost NOTIFY, a
/// listener reconnecting): the upper bound on an event's delay in the worst case.
const POLL_ANYWAY: Duration = Duration::from_secs(5);

struct Subscriber {
    db: Arc<Database>,
    claims: Claims,
    /// The stream's token and the keys that verified it: checked again at every read
    /// of the log, so a token whose key was revoked from the key set ends the stream
    /// within the set's TTL plus [`POLL_ANYWAY`].
    token: String,
    jwt: Arc<crate::auth::JwtKeys>,
    /// Whether the user is an agent or admin, as the newest read of the log found
    /// (every read runs the set-up, which looks the profile up): a role change reaches
    /// an open stream within [`POLL_ANYWAY`].
    staff: bool,
    /// When the token expires: the stream ends then, with a last `end` event.
    expires: tokio::time::Instant,
    /// Set once the last event was sent: the next poll ends the stream.
    ended: bool,
    /// Whether the log may hold something unread: set at the start and by every
    /// wake-up of the log, cleared by a read that found nothing. A delivered signal
    /// leaves it as it was, so signals cost no read.
    log_unread: bool,
    /// When the log is read even without a wake-up ([`POLL_ANYWAY`] after the last
    /// read, however many signals passed meanwhile).
    next_look: tokio::time::Instant,
    last: i64,
    wake: tokio::sync::watch::Receiver<i64>,
    signals: tokio::sync::broadcast::Receiver<TicketSignal>,
    closing: tokio::sync::watch::Receiver<bool>,
    pending: VecDeque<TicketEvent>,
}

/// What a stream waited for.
enum Woken {
    /// The log may have grown (or it is time to look anyway).
    Log,
    /// An ephemeral signal to pass on.
    Signal(Event),
    /// The server is shutting down: end the stream.
    Closing,
    /// The token expired: say so and end the stream.
    Expired,
}

/// The last event of a stream whose token expired: the client signs in again and
/// reconnects with `Last-Event-ID`.
fn token_expired_event() -> Event {
    end_event("token_expired")
}

/// The last event of a stream: `end` with why.
fn end_event(reason: &str) -> Event {
    Event::default()
        .event("end")
        .data(format!(r#"{{"reason":"{reason}"}}"#))
}

impl Subscriber {
    /// The next event, or `None` when the stream must end (server shutting down, or
    /// after the `end` event of an expired token).
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if *self.closing.borrow() || self.ended {
                return None;
            }
            if tokio::time::Instant::now() >= self.expires {
                self.ended = true;
                return Some(token_expired_event());
            }
            if let Some(e) = self.pending.pop_front() {
                self.last = e.id;
                return Some(
                    Event::default()
                        .id(e.id.to_string())
                        .event(e.kind.clone())
                        .json_data(&e)
                        .unwrap_or_else(|_| Event::default().comment("unencodable event")),
                );
            }
            if self.log_unread || tokio::time::Instant::now() >= self.next_look {
                match self.jwt.verify(&self.token) {
                    Ok(_) | Err(crate::auth::AuthError::Unavailable(_)) => {}
                    Err(crate::auth::AuthError::Expired) => {
                        self.ended = true;
                        return Some(token_expired_event());
                    }
                    Err(_) => {
                        self.ended = true;
                        return Some(end_event("token_revoked"));
                    }
                }
                let after = self.last;
                let page = self
                    .db
                    .read_as_within(Budget::Streams, &self.claims, move |conn, session| {
                        Box::pin(
                            async move { Ok((events::after(conn, after).await?, session.role)) },
                        )
                    })
                    .await;
                self.next_look = tokio::time::Instant::now() + POLL_ANYWAY;
                match page {
                    Ok((page, role)) => {
                        self.staff = role.is_staff();
                        self.log_unread = !page.is_empty();
                        if !page.is_empty() {
                            self.pending.extend(page);
                            continue;
                        }
                    }
                    // The database is away for a moment: read again at the next wake-up
                    // or periodic look.
                    Err(_) => self.log_unread = true,
                }
            }
            match self.wait().await {
                Woken::Signal(event) => return Some(event),
                Woken::Closing => return None,
                // The check at the top of the loop ends the stream.
                Woken::Expired => {}
                Woken::Log => self.log_unread = true,
            }
        }
    }

    /// Waits for the log to grow, for a signal this subscriber may see, or for the
    /// periodic look.
    async fn wait(&mut self) -> Woken {
        let deadline = self.next_look;
        loop {
            tokio::select! {
                _ = self.closing.changed() => return Woken::Closing,
                _ = tokio::time::sleep_until(self.expires) => return Woken::Expired,
                _ = self.wake.changed() => return Woken::Log,
                _ = tokio::time::sleep_until(deadline) => return Woken::Log,
                signal = self.signals.recv() => match signal {
                    Ok(signal) => {
                        if let Some(event) = self.deliverable(&signal) {
                            return Woken::Signal(event);
                        }
                    }
                    // Skipped stale signals, or the replica is shutting down.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        return Woken::Log;
                    }
                },
            }
        }
    }

    /// The event for `signal` if this subscriber should see it: never their own;
    /// agents' presence only for agents and admins; typing for agents and admins and
    /// for the ticket's requester. No database read per stream: the sender's request
    /// read the ticket under its own RLS and put the requester (whom the ticket's
    /// policies let read it, beside staff) in the signal, so a signal costs one read
    /// however many streams are open; staff is this stream's newest database answer.
    fn deliverable(&self, signal: &TicketSignal) -> Option<Event> {
        if signal.user_id == self.claims.sub {
            return None;
        }
        let audience =
            self.staff || (signal.kind == "typing" && signal.requester_id == Some(self.claims.sub));
        if !audience {
            return None;
        }
        Event::default()
            .event(signal.kind.clone())
            .json_data(signal)
            .ok()
    }
}

fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let bad = || {
        ApiError::BadRequest(vec![InvalidParam {
            name: "Last-Event-ID".into(),
            reason: "must be an event id from this stream (a whole number)".into(),
        }])
    };
    let id: i64 = value
        .to_str()
        .map_err(|_| bad())?
        .trim()
        .parse()
        .map_err(|_| bad())?;
    if id < 0 {
        return Err(bad());
    }
    Ok(Some(id))
}

/// Live ticket events
///
/// A Server-Sent Events stream: new public messages, status changes and assignments of
/// the caller's tickets; for agents and admins also internal notes and new tickets, and
/// other agents viewing a ticket. Stored events have an `id` and the JSON of a
/// `TicketEvent` as data; `typing`, `viewing` and `left` events have no id. With
/// `Last-Event-ID`, what was missed since comes first. The stream ends with an `end`
/// event (`{"reason": "token_expired"}` or `"token_revoked"`) when its token stops
/// being accepted.
#[utoipa::path(
    get, path = "/api/v1/events", tag = "tickets",
    params(
        ("Last-Event-ID" = Option<i64>, Header, minimum = 0, description = "Resume after this event."),
    ),
    responses(
        (status = 200, description = "The event stream (`TicketEvent` as each stored event's data).", body = String, content_type = "text/event-stream"),
        (status = 400, description = "`Last-Event-ID` is not an event id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The ticket database is unreachable.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn events(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    BearerToken(token): BearerToken,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let resume = last_event_id(&headers)?;
    let db = super::tickets::db(&state)?.clone();
    // Subscribe before reading the starting point, so nothing falls in between.
    let wake = db.subscribe_ticket_events();
    let signals = db.subscribe_ticket_signals();
    let (latest, role) = db
        .read_as_within(Budget::Streams, &claims, |conn, session| {
            Box::pin(async move { Ok((events::latest(conn).await?, session.role)) })
        })
        .await?;
    // Until the moment verification would refuse the token (`exp` plus the leeway every
    // endpoint allows), so the stream ends exactly when the token stops working.
    // (verification refuses once `exp + leeway < now` in whole seconds: one second more).
    let lifetime =
        (claims.exp + crate::auth::LEEWAY_SECS + 1).saturating_sub(crate::auth::now_secs());
    let subscriber = Subscriber {
        closing: db.event_streams_closing(),
        db,
        expires: tokio::time::Instant::now() + Duration::from_secs(lifetime),
        ended: false,
        token,
        jwt: state.jwt.clone(),
        log_unread: true,
        next_look: tokio::time::Instant::now() + POLL_ANYWAY,
        claims,
        staff: role.is_staff(),
        last: resume.unwrap_or(latest),
        wake,
        signals,
        pending: VecDeque::new(),
    };
    let stream = stream::unfold(subscriber, |mut s| async move {
        let event = s.next_event().await?;
        Some((Ok(event), s))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Takes a token of the per-replica signal limits (before any database work, so a
/// refused signal costs nothing): 429 with `Retry-After` when the caller sends too many.
fn take_signal_token(limiter_result: Result<(), Duration>, what: &str) -> Result<(), ApiError> {
    limiter_result
        .map_err(|wait| ApiError::rate_limited(format!("too many {what} signals; slow down"), wait))
}

/// Checks the caller can read the ticket (404 otherwise, as every ticket endpoint) and
/// returns its requester and the caller's role.
async fn visible_ticket(
    db: &Arc<Database>,
    claims: &Claims,
    id: TicketId,
) -> Result<(uuid::Uuid, Role), ApiError> {
    let (ticket, role) = db
        .read_as(claims, move |conn, session| {
            Box::pin(async move { Ok((queries::get(conn, id).await?, session.role)) })
        })
        .await?;
    match ticket {
        Some(ticket) => Ok((ticket.requester_id, role)),
        None => Err(ApiError::NotFound("no such ticket".into())),
    }
}

/// Signal typing
///
/// Tells the other people on the ticket, right now, that the caller is typing (not
/// stored; at most once a second per ticket: 429).
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/typing", tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id.")),
    responses(
        (status = 202, description = "Sent to the ticket's other subscribers."),
        (status = 401, description = "Missing or invalid token.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket, or not the caller's.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Another typing signal for this ticket came less than a second ago, or too many signals from the caller (`Retry-After`).", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The ticket database is unreachable.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn typing(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    TicketPath(id): TicketPath,
) -> Result<StatusCode, ApiError> {
    let db = super::tickets::db(&state)?.clone();
    take_signal_token(
        state.limits.typing_per_ticket.take(&(claims.sub, id.0)),
        "typing",
    )?;
    take_signal_token(state.limits.signals_per_user.take(&claims.sub), "typing")?;
    let (requester, _) = visible_ticket(&db, &claims, id).await?;
    db.send_ticket_signal(&TicketSignal {
        kind: "typing".into(),
        ticket_id: id.0,
        user_id: claims.sub,
        requester_id: Some(requester),
    })
    .await?;
    Ok(StatusCode::ACCEPTED)
}

/// The body of `POST /api/v1/tickets/{id}/viewing`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewingBody {
    /// `true` while the ticket is open on the agent's screen, `false` when they leave.
    #[schema(value_type = bool, required = true)]
    viewing: Option<bool>,
}

/// Share presence on a ticket
///
/// `{"viewing": true|false}` (agents and admins): tells the other agents on their streams that the caller opened (`viewing`) or left
/// (`left`) the ticket, so two agents do not answer one customer at once. Not stored:
/// a client repeats `true` every 30 s while the ticket is open, and front ends drop a
/// viewer they have not heard from in a minute.
#[utoipa::path(
    post, path = "/api/v1/tickets/{id}/viewing", tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id.")),
    request_body = ViewingBody,
    responses(
        (status = 202, description = "Sent to the other agents' streams."),
        (status = 400, description = "The body is not JSON or `viewing` is missing.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Customers do not share presence.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket, or not the caller's.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field has the wrong type.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many presence signals from the caller (`Retry-After`).", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The ticket database is unreachable.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn viewing(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    TicketPath(id): TicketPath,
    ApiJson(body): ApiJson<ViewingBody>,
) -> Result<StatusCode, ApiError> {
    let Some(viewing) = body.viewing else {
        return Err(ApiError::BadRequest(vec![InvalidParam {
            name: "viewing".into(),
            reason: "is required: true or false".into(),
        }]));
    };
    let db = super::tickets::db(&state)?.clone();
    take_signal_token(state.limits.signals_per_user.take(&claims.sub), "viewing")?;
    let (requester, role) = visible_ticket(&db, &claims, id).await?;
    if role == Role::Customer {
        return Err(ApiError::Forbidden(
            "only agents and admins share their presence".into(),
        ));
    }
    db.send_ticket_signal(&TicketSignal {
        kind: if viewing { "viewing" } else { "left" }.into(),
        ticket_id: id.0,
        user_id: claims.sub,
        requester_id: Some(requester),
    })
    .await?;
    Ok(StatusCode::ACCEPTED)
}
