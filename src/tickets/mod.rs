//! Tickets: the model (newtypes parsed once at the edge) and the queries ([`queries`]).
//! Knows nothing about HTTP; who may see or change what is enforced by PostgreSQL's
//! Row Level Security and triggers (migrations 0003 and 0004).

pub mod ccs;
pub mod closing;
pub mod events;
pub mod queries;

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// Longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest message body, in characters.
pub const MAX_BODY_CHARS: usize = 20_000;
/// Longest idempotency key, in bytes.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;
/// Largest page.
pub const MAX_LIMIT: i64 = 100;
/// Default page.
pub const DEFAULT_LIMIT: i64 = 25;
/// Longest `q`.
pub const MAX_QUERY_CHARS: usize = 200;

/// A ticket's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TicketId(pub Uuid);

impl TicketId {
    /// Parses a path segment; `None` for anything but a UUID.
    pub fn parse(s: &str) -> Option<TicketId> {
        Uuid::parse_str(s).ok().map(TicketId)
    }
}

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        $(#[$m])*
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Parses the stored or wire name.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The stored and wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// "a, b or c", for error messages.
            pub fn expected() -> String {
                let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                names.join(", ")
            }
        }
    };
}

// After the macro: the ratings' enums use it.
pub mod satisfaction;

text_enum!(
    /// Where a ticket is in its life.
    TicketStatus {
        /// Just created.
        New = "new",
        /// Being worked on.
        Open = "open",
        /// Waiting for the customer.
        Pending = "pending",
        /// Answered; the customer may reopen it.
        Solved = "solved",
        /// Final.
        Closed = "closed",
    }
);

text_enum!(
    /// How urgent a ticket is.
    Priority {
        /// Low.
        Low = "low",
        /// Normal (default).
        Normal = "normal",
        /// High.
        High = "high",
        /// Urgent.
        Urgent = "urgent",
    }
);

text_enum!(
    /// What a ticket is about.
    #[schema(as = TicketCategory)]
    Category {
        /// Invoices, payments, refunds.
        Billing = "billing",
        /// Sign-in, profile, security.
        Account = "account",
        /// Something does not work.
        Technical = "technical",
        /// An idea or request.
        FeatureRequest = "feature_request",
        /// Anything else.
        Other = "other",
    }
);

/// Why text with a NUL character is refused: PostgreSQL cannot store it in `text`.
pub const NUL_REASON: &str = "must not contain NUL (U+0000) characters";

/// A validated subject (1 to 200 characters, not blank, no NUL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject(String);

impl Subject {
    /// Trims and checks the length.
    pub fn parse(s: &str) -> Result<Subject, String> {
        let s = s.trim();
        let n = s.chars().count();
        if n == 0 {
            Err("must not be empty".into())
        } else if s.contains('\0') {
            Err(NUL_REASON.into())
        } else if n > MAX_SUBJECT_CHARS {
            Err(format!(
                "must be at most {MAX_SUBJECT_CHARS} characters, got {n}"
            ))
        } else {
            Ok(Subject(s.to_string()))
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated message body (1 to 20,000 characters, not blank, no NUL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body(String);

impl Body {
    /// Checks the length (the text is kept as written).
    pub fn parse(s: &str) -> Result<Body, String> {
        let n = s.chars().count();
        if s.trim().is_empty() {
            Err("must not be empty".into())
        } else if s.contains('\0') {
            Err(NUL_REASON.into())
        } else if n > MAX_BODY_CHARS {
            Err(format!(
                "must be at most {MAX_BODY_CHARS} characters, got {n}"
            ))
        } else {
            Ok(Body(s.to_string()))
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A position in a list ordered by `(timestamp, id)`: the last row of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Microseconds since the epoch.
    pub micros: i64,
    /// The row's id as text.
    pub id: String,
}

impl Cursor {
    /// The cursor after `at`/`id`.
    pub fn after(at: OffsetDateTime, id: impl Into<String>) -> Cursor {
        Cursor {
            micros: (at.unix_timestamp_nanos() / 1000) as i64,
            id: id.into(),
        }
    }

    /// `<micros>.<id>`: opaque to clients.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.micros, self.id)
    }

    /// Parses [`Cursor::encode`]'s output.
    pub fn decode(s: &str) -> Option<Cursor> {
        let (micros, id) = s.split_once('.')?;
        let micros: i64 = micros.parse().ok()?;
        let id_ok = !id.is_empty()
            && id.len() <= 40
            && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        id_ok.then(|| Cursor {
            micros,
            id: id.to_string(),
        })
    }

    /// The timestamp.
    pub fn at(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp_nanos(self.micros as i128 * 1000).ok()
    }
}

/// Who a list is filtered to by assignee (staff only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// Assigned to the caller.
    Me,
    /// Unassigned.
    Nobody,
    /// Assigned to this profile.
    Profile(Uuid),
}

/// A list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Only this status.
    pub status: Option<TicketStatus>,
    /// Subject contains this (case-insensitive).
    pub q: Option<String>,
    /// Page size, 1 to 100.
    pub limit: i64,
    /// After this position.
    pub cursor: Option<Cursor>,
    /// Staff only.
    pub assignee: Option<AssigneeFilter>,
    /// Only the tickets the caller is CC'd on (`cc=me`), instead of their own.
    pub copied: bool,
}

/// A new ticket.
#[derive(Debug, Clone)]
pub struct NewTicket {
    /// Subject.
    pub subject: Subject,
    /// The first message.
    pub body: Body,
    /// Priority (default normal).
    pub priority: Priority,
    /// Category.
    pub category: Option<Category>,
    /// Makes a retried create return the first ticket.
    pub idempotency_key: Option<String>,
    /// The browser tab's pseudonym it was opened from (search insights link the
    /// ticket to that session's searches).
    pub insight_session: Option<crate::insights::SessionId>,
    /// The closed ticket this one follows up (the database checks that the caller may
    /// see it and that it is closed).
    pub via_followup_source_id: Option<TicketId>,
    /// The caller's uploads to attach to the first message.
    pub uploads: Vec<crate::attachments::UploadToken>,
}

/// A change to a ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketPatch {
    /// New status.
    pub status: Option<TicketStatus>,
    /// New priority.
    pub priority: Option<Priority>,
    /// `Some(None)` unassigns.
    pub assignee: Option<Option<Uuid>>,
}

/// A ticket as served.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Ticket {
    /// Id.
    pub id: Uuid,
    /// Subject.
    pub subject: String,
    /// Status.
    pub status: TicketStatus,
    /// Priority.
    pub priority: Priority,
    /// Category.
    pub category: Option<String>,
    /// The customer who opened it.
    pub requester_id: Uuid,
    /// The agent working on it.
    pub assignee_id: Option<Uuid>,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change or message.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// One ticket with everything linked to it, as `GET /api/v1/tickets/{id}` serves it
/// (the list serves [`Ticket`]s, which stay lean).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct TicketDetail {
    /// The ticket.
    #[serde(flatten)]
    pub ticket: Ticket,
    /// The closed ticket this one follows up, if any.
    pub via_followup_source_id: Option<Uuid>,
    /// The follow-ups opened from this ticket that the caller may see, oldest first.
    pub followup_ids: Vec<Uuid>,
    /// The requester's rating (the requester and agents only; null when not rated).
    pub satisfaction: Option<satisfaction::Rating>,
    /// The users copied on the ticket, oldest first.
    pub ccs: Vec<ccs::Cc>,
}

/// A page of tickets.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketPage {
    /// Newest update first.
    pub tickets: Vec<Ticket>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// A message as served.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Message {
    /// Id.
    pub id: Uuid,
    /// Ticket.
    pub ticket_id: Uuid,
    /// Author.
    pub author_id: Uuid,
    /// Text.
    pub body: String,
    /// An internal note (staff only).
    pub internal: bool,
    /// Posted.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Its files, as uploaded.
    pub attachments: Vec<crate::attachments::Attachment>,
}

/// One entry of a ticket's timeline.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimelineEntry {
    /// A message or internal note.
    Message {
        /// Id.
        id: String,
        /// Author.
        author_id: Option<Uuid>,
        /// Author's display name.
        author_name: Option<String>,
        /// Text.
        body: String,
        /// Internal note (only ever served to staff).
        internal: bool,
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        created_at: OffsetDateTime,
        /// Its files, as uploaded (download each with
        /// `GET /api/v1/tickets/{id}/attachments/{attachment_id}`).
        attachments: Vec<crate::attachments::Attachment>,
    },
    /// A follow-up link: a ticket opened from this one (`relation` `follow_up`, at its
    /// creation) or the ticket this one follows up (`source`, at this one's creation).
    Followup {
        /// The linked ticket's id (also in `ticket_id`).
        id: String,
        /// The linked ticket.
        ticket_id: Uuid,
        /// `follow_up` or `source`.
        relation: String,
        /// The linked ticket's subject.
        subject: String,
        /// The linked ticket's status.
        status: TicketStatus,
        /// When the follow-up was opened.
        #[serde(with = "time::serde::rfc3339")]
        created_at: OffsetDateTime,
    },
    /// A status change.
    StatusChange {
        /// Id.
        id: String,
        /// Who changed it (null: the system).
        author_id: Option<Uuid>,
        /// Their display name.
        author_name: Option<String>,
        /// Before.
        from_status: String,
        /// After.
        to_status: String,
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        created_at: OffsetDateTime,
    },
}

/// A page of a timeline.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimelinePage {
    /// Oldest first.
    pub entries: Vec<TimelineEntry>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        let c = Cursor {
            micros: 1_700_000_000_123_456,
            id: Uuid::nil().to_string(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("12.34").map(|c| c.id), Some("34".into()));
        for junk in ["", "x", "1.", "a.b", "1.'; drop table tickets;--", "1.zz"] {
            assert_eq!(Cursor::decode(junk), None, "{junk}");
        }
    }

    #[test]
    fn subjects_and_bodies_are_bounded() {
        assert!(Subject::parse("  ").is_err());
        assert!(Subject::parse(&"é".repeat(200)).is_ok());
        assert!(Subject::parse(&"é".repeat(201)).is_err());
        assert!(Body::parse(&"x".repeat(20_000)).is_ok());
        assert!(Body::parse(&"x".repeat(20_001)).is_err());
    }

    #[test]
    fn enums_parse_only_known_names() {
        assert_eq!(TicketStatus::parse("solved"), Some(TicketStatus::Solved));
        assert_eq!(TicketStatus::parse("Solved"), None);
        assert_eq!(Priority::parse("urgent"), Some(Priority::Urgent));
        assert_eq!(
            Category::parse("feature_request"),
            Some(Category::FeatureRequest)
        );
        assert!(TicketStatus::expected().contains("closed"));
    }
}
