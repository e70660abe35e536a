//! The ticket queries. Each runs on a connection already scoped to the caller by
//! [`crate::db::Database::read_as`] / [`crate::db::Database::write_as`]: Row Level
//! Security decides what is visible, and these queries never widen that.
//!
//! Every value is a bind parameter. The two hottest reads, a page of tickets and a page
//! of a timeline, are SQL functions (migration 0008) called in one statement, so that
//! a request under RLS costs one round trip.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    AssigneeFilter, Body, Cursor, ListQuery, Message, NewTicket, Priority, Ticket, TicketDetail,
    TicketId, TicketPage, TicketPatch, TicketStatus, TimelineEntry, TimelinePage,
};
use crate::db::{sqlstate, ReadScope, Session};

const TICKET_COLUMNS: &str = "t.id, t.subject, t.status, t.priority, t.category, \
     t.requester_id, t.assignee_id, t.created_at, t.updated_at";

#[derive(sqlx::FromRow)]
struct TicketRow {
    id: Uuid,
    subject: String,
    status: String,
    priority: String,
    category: Option<String>,
    requester_id: Uuid,
    assignee_id: Option<Uuid>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl TryFrom<TicketRow> for Ticket {
    type Error = sqlx::Error;

    fn try_from(r: TicketRow) -> Result<Ticket, sqlx::Error> {
        let status = TicketStatus::parse(&r.status)
            .ok_or_else(|| decode_error(format!("unknown status {:?}", r.status)))?;
        let priority = Priority::parse(&r.priority)
            .ok_or_else(|| decode_error(format!("unknown priority {:?}", r.priority)))?;
        Ok(Ticket {
            id: r.id,
            subject: r.subject,
            status,
            priority,
            category: r.category,
            requester_id: r.requester_id,
            assignee_id: r.assignee_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn decode_error(msg: String) -> sqlx::Error {
    sqlx::Error::Decode(msg.into())
}

/// Escapes `%`, `_` and `\` for `LIKE ... ESCAPE '\'`.
fn like_pattern(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A page of tickets as one statement, for a request (the `hc_*` wrapper sets up RLS
/// for the claims in $1) or for the benchmark's baseline (the page function directly).
const HC_TICKETS_PAGE_SQL: &str = "select id, subject, status, priority, category, requester_id, \
     assignee_id, created_at, updated_at \
     from public.hc_tickets_page($1, $2, $3, $4, $5, $6, $7, $8)";
const TICKETS_PAGE_SQL: &str = "select id, subject, status, priority, category, requester_id, \
     assignee_id, created_at, updated_at \
     from public.tickets_page($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// A cursor's time and ticket id, for a keyset page's "after" bound.
fn cursor_bound(
    cursor: Option<&Cursor>,
) -> Result<(Option<OffsetDateTime>, Option<Uuid>), sqlx::Error> {
    match cursor {
        Some(cursor) => Ok((
            Some(
                cursor
                    .at()
                    .ok_or_else(|| decode_error("cursor time".into()))?,
            ),
            Some(Uuid::parse_str(&cursor.id).map_err(|e| decode_error(e.to_string()))?),
        )),
        None => Ok((None, None)),
    }
}

/// A page from `limit + 1` fetched rows: the extra row only says a next page exists.
fn ticket_page(rows: Vec<TicketRow>, limit: i64) -> Result<TicketPage, sqlx::Error> {
    let mut tickets = rows
        .into_iter()
        .map(Ticket::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if tickets.len() as i64 > limit {
        tickets.truncate(limit as usize);
        tickets
            .last()
            .map(|t| Cursor::after(t.updated_at, t.id.to_string()).encode())
    } else {
        None
    };
    Ok(TicketPage {
        tickets,
        next_cursor,
    })
}

/// One page of the tickets the caller may see, newest update first; `None` when the
/// caller asked for an assignee filter, which only agents and admins may use.
///
/// One statement (see [`crate::db::Database::read_one_as`]); the queries themselves
/// are `public.tickets_page` (migration 0008).
pub async fn list(
    conn: &mut PgConnection,
    scope: &ReadScope,
    query: &ListQuery,
) -> Result<Option<TicketPage>, sqlx::Error> {
    let (after_at, after_id) = cursor_bound(query.cursor.as_ref())?;
    let (any_assignee, assignee) = match query.assignee {
        None => (true, None),
        Some(AssigneeFilter::Me) => (false, Some(scope.user_id())),
        Some(AssigneeFilter::Nobody) => (false, None),
        Some(AssigneeFilter::Profile(id)) => (false, Some(id)),
    };
    let status = query.status.map(|s| s.as_str());
    let pattern = query.q.as_deref().map(like_pattern);
    // One more than asked, to know whether a next page exists.
    let fetch = i32::try_from(query.limit + 1).map_err(|e| decode_error(e.to_string()))?;
    // Who is asking comes first: the claims for the wrapper to set up RLS with, or the
    // baseline's known caller; the filters follow in the same order for both.
    let statement = match scope {
        ReadScope::Claims { json, .. } => {
            sqlx::query_as::<_, TicketRow>(HC_TICKETS_PAGE_SQL).bind(json.as_str())
        }
        ReadScope::Bypassed(session) => {
            if !any_assignee && !session.role.is_staff() {
                return Ok(None);
            }
            sqlx::query_as(TICKETS_PAGE_SQL)
                .bind(session.user_id)
                .bind(session.role.is_staff())
        }
    };
    let rows = statement
        .bind(status)
        .bind(pattern)
        .bind(any_assignee)
        .bind(assignee)
        .bind(after_at)
        .bind(after_id)
        .bind(fetch)
        .fetch_all(&mut *conn)
        .await;
    let rows = match rows {
        // The wrapper refuses an assignee filter from a customer (on a first request
        // that also rolls back the new profile; the next request makes it).
        Err(e) if sqlstate(&e).as_deref() == Some("P0400") => return Ok(None),
        rows => rows?,
    };
    ticket_page(rows, query.limit).map(Some)
}

/// One page of the tickets the caller is CC'd on (`cc=me`), newest update first, in a
/// transaction scoped to the caller: the CC rows are the caller's own and each ticket
/// passes the tickets policy (a removed CC lists nothing).
pub async fn list_copied(
    conn: &mut PgConnection,
    query: &ListQuery,
) -> Result<TicketPage, sqlx::Error> {
    let (after_at, after_id) = cursor_bound(query.cursor.as_ref())?;
    let sql = format!(
        "select {TICKET_COLUMNS} from public.ticket_ccs c \
         join public.tickets t on t.id = c.ticket_id \
         where c.user_id = (select auth.uid()) \
           and ($1::text is null or t.status = $1) \
           and (t.updated_at, t.id) < (coalesce($2, 'infinity'::timestamptz), \
                                      coalesce($3, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid)) \
         order by t.updated_at desc, t.id desc limit $4"
    );
    let rows: Vec<TicketRow> = sqlx::query_as(&sql)
        .bind(query.status.map(|s| s.as_str()))
        .bind(after_at)
        .bind(after_id)
        .bind(query.limit + 1)
        .fetch_all(&mut *conn)
        .await?;
    ticket_page(rows, query.limit)
}

/// The ticket, if it exists and the caller may see it.
pub async fn get(conn: &mut PgConnection, id: TicketId) -> Result<Option<Ticket>, sqlx::Error> {
    let sql = format!("select {TICKET_COLUMNS} from public.tickets t where t.id = $1");
    let row: Option<TicketRow> = sqlx::query_as(&sql)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(Ticket::try_from).transpose()
}

/// The ticket with its follow-up links and rating, if it exists and the caller may see
/// it (the linked tickets and the rating each under their own policies).
pub async fn detail(
    conn: &mut PgConnection,
    id: TicketId,
) -> Result<Option<TicketDetail>, sqlx::Error> {
    let Some(ticket) = get(&mut *conn, id).await? else {
        return Ok(None);
    };
    let (source, followups): (Option<Uuid>, Vec<Uuid>) = sqlx::query_as(
        "select t.via_followup_source_id, \
                array(select f.id from public.tickets f where f.via_followup_source_id = t.id \
                      order by f.created_at, f.id) \
         from public.tickets t where t.id = $1",
    )
    .bind(id.0)
    .fetch_one(&mut *conn)
    .await?;
    let satisfaction = super::satisfaction::rating_of(&mut *conn, id).await?;
    let ccs = super::ccs::list(&mut *conn, id).await?;
    Ok(Some(TicketDetail {
        ticket,
        via_followup_source_id: source,
        followup_ids: followups,
        satisfaction,
        ccs,
    }))
}

/// What [`create`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    /// A new ticket.
    New(Ticket),
    /// The ticket an earlier request with the same idempotency key created.
    Replayed(Ticket),
    /// The key was used before for a different ticket.
    KeyReused,
}

/// Creates a ticket with its first message, or finds the one created earlier with the
/// same idempotency key. A new ticket counts against `limit` (a replay does not).
pub async fn create(
    conn: &mut PgConnection,
    session: Session,
    new: &NewTicket,
    limit: Option<&crate::limits::WriteLimit>,
    max_message_bytes: u64,
) -> Result<Created, sqlx::Error> {
    let sql = format!(
        "insert into public.tickets as t (requester_id, subject, priority, category, idempotency_key, insight_session, via_followup_source_id) \
         values ($1, $2, $3, $4, $5, $6, $7) \
         on conflict (requester_id, idempotency_key) do nothing \
         returning {TICKET_COLUMNS}"
    );
    let inserted: Option<TicketRow> = sqlx::query_as(&sql)
        .bind(session.user_id)
        .bind(new.subject.as_str())
        .bind(new.priority.as_str())
        .bind(new.category.map(|c| c.as_str()))
        .bind(new.idempotency_key.as_deref())
        .bind(new.insight_session.as_ref().map(|s| s.as_str()))
        .bind(new.via_followup_source_id.map(|t| t.0))
        .fetch_optional(&mut *conn)
        .await?;
    let ticket = match inserted {
        Some(row) => Ticket::try_from(row)?,
        None => {
            let sql = format!(
                "select {TICKET_COLUMNS} from public.tickets t \
                 where t.requester_id = $1 and t.idempotency_key = $2"
            );
            let row: TicketRow = sqlx::query_as(&sql)
                .bind(session.user_id)
                .bind(new.idempotency_key.as_deref())
                .fetch_one(&mut *conn)
                .await?;
            let earlier = Ticket::try_from(row)?;
            return Ok(if earlier.subject == new.subject.as_str() {
                Created::Replayed(earlier)
            } else {
                Created::KeyReused
            });
        }
    };
    if let Some(limit) = limit {
        take_write_token(conn, limit).await?;
    }
    let message: Uuid = sqlx::query_scalar(
        "insert into public.ticket_messages (ticket_id, author_id, body) values ($1, $2, $3) \
         returning id",
    )
    .bind(ticket.id)
    .bind(session.user_id)
    .bind(new.body.as_str())
    .fetch_one(&mut *conn)
    .await?;
    crate::attachments::queries::attach(
        conn,
        ticket.id,
        message,
        session.user_id,
        &new.uploads,
        max_message_bytes,
    )
    .await?;
    Ok(Created::New(ticket))
}

/// Posts a message with the caller's `uploads` attached (all or none: see
/// [`crate::attachments::queries::attach`]); `None` when the ticket does not exist or is
/// not visible.
pub async fn post_message(
    conn: &mut PgConnection,
    session: Session,
    ticket: TicketId,
    body: &Body,
    internal: bool,
    uploads: &[crate::attachments::UploadToken],
    max_message_bytes: u64,
) -> Result<Option<Message>, sqlx::Error> {
    let row: Option<(Uuid, Uuid, Uuid, String, bool, OffsetDateTime)> = sqlx::query_as(
        "insert into public.ticket_messages (ticket_id, author_id, body, internal) \
         select $1, $2, $3, $4 where exists (select 1 from public.tickets where id = $1) \
         returning id, ticket_id, author_id, body, internal, created_at",
    )
    .bind(ticket.0)
    .bind(session.user_id)
    .bind(body.as_str())
    .bind(internal)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, ticket_id, author_id, body, internal, created_at)) = row else {
        return Ok(None);
    };
    let attachments = crate::attachments::queries::attach(
        conn,
        ticket_id,
        id,
        session.user_id,
        uploads,
        max_message_bytes,
    )
    .await?;
    Ok(Some(Message {
        id,
        ticket_id,
        author_id,
        body,
        internal,
        created_at,
        attachments,
    }))
}

/// Applies `patch`; `None` when the ticket does not exist or is not visible.
pub async fn update(
    conn: &mut PgConnection,
    ticket: TicketId,
    patch: &TicketPatch,
) -> Result<Option<Ticket>, sqlx::Error> {
    let sql = format!(
        "update public.tickets as t set \
             status = coalesce($2, t.status), \
             priority = coalesce($3, t.priority), \
             assignee_id = case when $4 then $5 else t.assignee_id end \
         where t.id = $1 \
         returning {TICKET_COLUMNS}"
    );
    let row: Option<TicketRow> = sqlx::query_as(&sql)
        .bind(ticket.0)
        .bind(patch.status.map(|s| s.as_str()))
        .bind(patch.priority.map(|p| p.as_str()))
        .bind(patch.assignee.is_some())
        .bind(patch.assignee.flatten())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(Ticket::try_from).transpose()
}

/// A page of a ticket's timeline as one statement, for a request (the `hc_*` wrapper
/// sets up RLS for the claims in $1) or for the benchmark's baseline.
const HC_TIMELINE_PAGE_SQL: &str = "select kind, sort_key, id, author_id, author_name, body, \
     internal, from_status, to_status, created_at, attachments \
     from public.hc_ticket_timeline_page($1, $2, $3, $4, $5)";
/// $1 is whether the caller is staff, so that both statements take the caller first.
const TIMELINE_PAGE_SQL: &str = "select kind, sort_key, id, author_id, author_name, body, \
     internal, from_status, to_status, created_at, attachments \
     from public.ticket_timeline_page($2, $3, $4, $5, $1)";

#[derive(sqlx::FromRow)]
struct TimelineRow {
    kind: Option<String>,
    sort_key: Option<String>,
    id: Option<String>,
    author_id: Option<Uuid>,
    author_name: Option<String>,
    body: Option<String>,
    internal: Option<bool>,
    from_status: Option<String>,
    to_status: Option<String>,
    created_at: Option<OffsetDateTime>,
    attachments: Option<sqlx::types::Json<Vec<crate::attachments::Attachment>>>,
}

/// One page of a ticket's timeline, oldest first (a message before the status change it
/// caused in the same transaction); `None` when the ticket does not exist
/// or is not visible. Internal notes are served to staff only (RLS hides them from
/// customers; the query says so too).
///
/// One statement (see [`crate::db::Database::read_one_as`]); the query itself is
/// `public.ticket_timeline_page` (migration 0008).
pub async fn timeline(
    conn: &mut PgConnection,
    scope: &ReadScope,
    ticket: TicketId,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Option<TimelinePage>, sqlx::Error> {
    let (after_at, after_id) = match cursor {
        Some(c) => (
            Some(c.at().ok_or_else(|| decode_error("cursor time".into()))?),
            Some(c.id.clone()),
        ),
        None => (None, None),
    };
    let fetch = i32::try_from(limit + 1).map_err(|e| decode_error(e.to_string()))?;
    let statement = match scope {
        ReadScope::Claims { json, .. } => {
            sqlx::query_as::<_, TimelineRow>(HC_TIMELINE_PAGE_SQL).bind(json.as_str())
        }
        ReadScope::Bypassed(session) => {
            sqlx::query_as(TIMELINE_PAGE_SQL).bind(session.role.is_staff())
        }
    };
    let rows = statement
        .bind(ticket.0)
        .bind(after_at)
        .bind(after_id)
        .bind(fetch)
        .fetch_all(&mut *conn)
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut entries = Vec::with_capacity(rows.len());
    let mut keys = Vec::with_capacity(rows.len());
    for r in rows {
        let (Some(kind), Some(key), Some(id), Some(created_at)) =
            (r.kind, r.sort_key, r.id, r.created_at)
        else {
            continue; // the visible ticket has no (more) entries
        };
        keys.push((created_at, key));
        entries.push(match kind.as_str() {
            "message" => TimelineEntry::Message {
                id,
                author_id: r.author_id,
                author_name: r.author_name,
                body: r.body.unwrap_or_default(),
                internal: r.internal.unwrap_or(false),
                created_at,
                attachments: r.attachments.map(|a| a.0).unwrap_or_default(),
            },
            "followup" => TimelineEntry::Followup {
                ticket_id: Uuid::parse_str(&id).map_err(|e| decode_error(e.to_string()))?,
                id,
                relation: r.from_status.unwrap_or_default(),
                subject: r.body.unwrap_or_default(),
                status: r
                    .to_status
                    .as_deref()
                    .and_then(TicketStatus::parse)
                    .ok_or_else(|| decode_error("follow-up status".into()))?,
                created_at,
            },
            _ => TimelineEntry::StatusChange {
                id,
                author_id: r.author_id,
                author_name: r.author_name,
                from_status: r.from_status.unwrap_or_default(),
                to_status: r.to_status.unwrap_or_default(),
                created_at,
            },
        });
    }
    let next_cursor = if entries.len() as i64 > limit {
        entries.truncate(limit as usize);
        keys.get(limit as usize - 1)
            .map(|(at, key)| Cursor::after(*at, key.clone()).encode())
    } else {
        None
    };
    Ok(Some(TimelinePage {
        entries,
        next_cursor,
    }))
}

/// Counts one write of the caller against `limit` in PostgreSQL, for every replica
/// (migration 0012): SQLSTATE P0429, with the seconds to wait in its HINT, beyond it.
/// The count is taken inside the write's own transaction, so a refused write leaves
/// nothing behind.
pub async fn take_write_token(
    conn: &mut PgConnection,
    limit: &crate::limits::WriteLimit,
) -> Result<(), sqlx::Error> {
    sqlx::query("select public.hc_take_write_token($1, $2, $3)")
        .bind(limit.action)
        .bind(i32::try_from(limit.writes).unwrap_or(i32::MAX))
        .bind(i32::try_from(limit.window.as_secs()).unwrap_or(i32::MAX))
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
