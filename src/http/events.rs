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
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};

use super::error::{ApiError, InvalidParam};
use super::AppState;
use crate::auth::{AuthUser, Claims};
use crate::db::Database;
use crate::tickets::events::{self, TicketEvent};

/// How often a stream reads the log even without a notification (a lost NOTIFY, a
/// listener reconnecting): the upper bound on an event's delay in the worst case.
const POLL_ANYWAY: Duration = Duration::from_secs(5);

struct Subscriber {
    db: Arc<Database>,
    claims: Claims,
    last: i64,
    wake: tokio::sync::watch::Receiver<i64>,
    pending: VecDeque<TicketEvent>,
}

impl Subscriber {
    async fn next_event(&mut self) -> Event {
        loop {
            if let Some(e) = self.pending.pop_front() {
                self.last = e.id;
                return Event::default()
                    .id(e.id.to_string())
                    .event(e.kind.clone())
                    .json_data(&e)
                    .unwrap_or_else(|_| Event::default().comment("unencodable event"));
            }
            let after = self.last;
            let page = self
                .db
                .read_as(&self.claims, move |conn, _| {
                    Box::pin(async move { events::after(conn, after).await })
                })
                .await;
            match page {
                Ok(page) if !page.is_empty() => {
                    self.pending.extend(page);
                    continue;
                }
                // Nothing new, or the database is away for a moment: wait for a wake-up.
                Ok(_) | Err(_) => {}
            }
            let _ = tokio::time::timeout(POLL_ANYWAY, self.wake.changed()).await;
        }
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

/// `GET /api/v1/events` (bearer auth): new public messages, status changes and
/// assignments of the caller's tickets; for agents and admins also internal notes and
/// new tickets. With `Last-Event-ID`, what was missed since comes first.
pub async fn events(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let resume = last_event_id(&headers)?;
    let db = state
        .db
        .clone()
        .ok_or_else(|| ApiError::Unavailable("tickets are not configured".into()))?;
    // Subscribe before reading the starting point, so nothing falls in between.
    let wake = db.subscribe_ticket_events();
    let last = match resume {
        Some(id) => id,
        None => {
            db.read_as(&claims, |conn, _| {
                Box::pin(async move { events::latest(conn).await })
            })
            .await?
        }
    };
    let subscriber = Subscriber {
        db,
        claims,
        last,
        wake,
        pending: VecDeque::new(),
    };
    let stream = stream::unfold(subscriber, |mut s| async move {
        let event = s.next_event().await;
        Some((Ok(event), s))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
