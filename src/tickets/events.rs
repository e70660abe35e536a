//! The ticket event log (migration 0006) as the live stream reads it: always under the
//! caller's claims, so Row Level Security decides which events exist for them.

use serde::Serialize;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

/// Most events read per query: a subscriber that is far behind catches up in pages.
pub const PAGE: i64 = 100;

/// One event of a ticket, as a subscriber receives it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TicketEvent {
    /// The stream's event id (`Last-Event-ID` resumes after it).
    pub id: i64,
    /// The ticket.
    pub ticket_id: Uuid,
    /// `ticket_created`, `message`, `status_changed` or `assigned`.
    pub kind: String,
    /// An internal note (only agents and admins ever receive these).
    pub internal: bool,
    /// Who caused it (`null` for the system).
    pub actor_id: Option<Uuid>,
    /// Details: `{"from","to"}` for a status change, `{"assignee_id"}` for an
    /// assignment, `{"author_id"}` for a message, `{"subject"}` for a new ticket.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// The message's text, for `message` events.
    pub body: Option<String>,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// The caller's visible events after `after`, oldest first, at most [`PAGE`].
pub async fn after(conn: &mut PgConnection, after: i64) -> Result<Vec<TicketEvent>, sqlx::Error> {
    sqlx::query_as(
        "select e.id, e.ticket_id, e.kind, e.internal, e.actor_id, e.data, m.body, e.created_at \
         from public.ticket_events e \
         left join public.ticket_messages m on m.id = e.message_id \
         where e.id > $1 \
         order by e.id \
         limit $2",
    )
    .bind(after)
    .bind(PAGE)
    .fetch_all(conn)
    .await
}

/// The newest event id the caller can see (0 when none): where a new stream starts.
pub async fn latest(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    let (id,): (Option<i64>,) = sqlx::query_as("select max(id) from public.ticket_events")
        .fetch_one(conn)
        .await?;
    Ok(id.unwrap_or(0))
}
