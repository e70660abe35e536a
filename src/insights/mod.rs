//! Search insights for writers: what customers look for, what they miss, which results
//! nobody opens, and which searches end in a ticket. The domain side: the events
//! (`SearchEvent`, click, view), the recorder that batches them into PostgreSQL without
//! ever making a search wait (`recorder.rs`), and the reports' SQL (`reports.rs`; the
//! unopened and unhelpful-articles reports' rankings in `unopened.rs` and
//! `unhelpful.rs`).
//!
//! Privacy, as stored (migration 0013): no IP address; a session is a random pseudonym
//! the browser tab keeps (`X-HC-Session` or the `hc_sid` cookie), never derived from
//! the person; a user id only for a signed-in reader; a retention period the service
//! enforces (default 90 days); recording can be turned off.

pub mod recorder;
pub mod reports;
mod unhelpful;
mod unopened;

use serde::Serialize;
use uuid::Uuid;

pub use self::recorder::{Recorder, RecorderSettings, RecorderStatus};

/// Longest query stored (characters), as search accepts.
pub const MAX_QUERY_CHARS: usize = 512;
/// Most top slugs stored per search.
pub const TOP_SLUGS: usize = 5;

/// A browser tab's pseudonym: 8 to 64 characters of `A-Z a-z 0-9 - _` (a random id the
/// tab keeps in its session storage). Anything else is not a session.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SessionId(String);

impl SessionId {
    /// Parses a session id as a client sent it.
    pub fn parse(s: &str) -> Option<SessionId> {
        let s = s.trim();
        let valid = (8..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| SessionId(s.to_string()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a search came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The search page (`/search`): settled by definition.
    Page,
    /// `GET /api/v1/search` (as-you-type suggestions): the last query of a burst.
    Api,
    /// `GET /api/v1/suggestions` while a ticket is written.
    Suggestions,
}

/// The query as reports group it: lowercase, control characters as spaces, spaces
/// collapsed, at most [`MAX_QUERY_CHARS`] characters. (A NUL would make PostgreSQL
/// refuse the whole batch; an escape sequence would reach an agent's terminal.)
pub fn normalize_query(q: &str) -> String {
    q.replace(|c: char| c.is_control(), " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .chars()
        .take(MAX_QUERY_CHARS)
        .collect()
}

/// Who did something, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The tab's pseudonym.
    pub session: SessionId,
    /// The signed-in user, if any (never set for anonymous visitors).
    pub user_id: Option<Uuid>,
}

/// One settled search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchEvent {
    /// Who searched.
    pub actor: Actor,
    /// The normalized query.
    pub query: String,
    /// How many articles matched.
    pub results: u64,
    /// The first slugs shown.
    pub top_slugs: Vec<String>,
    /// The category filter.
    pub category: Option<String>,
    /// The tag filters.
    pub tags: Vec<String>,
    /// Where it came from.
    pub source: Source,
}

/// One recorded event, with when it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A settled search.
    Search(SearchEvent, time::OffsetDateTime),
    /// A result opened: the query, the article and its position (0-based).
    Click {
        /// Who opened it.
        actor: Actor,
        /// The normalized query it was a result of.
        query: String,
        /// The article.
        slug: String,
        /// Its place in the results, 0 first.
        position: u32,
        /// When.
        at: time::OffsetDateTime,
    },
    /// An article read.
    View {
        /// Who read it.
        actor: Actor,
        /// The article.
        slug: String,
        /// When.
        at: time::OffsetDateTime,
    },
}

impl Event {
    /// The session it belongs to.
    pub fn session(&self) -> &SessionId {
        match self {
            Event::Search(s, _) => &s.actor.session,
            Event::Click { actor, .. } | Event::View { actor, .. } => &actor.session,
        }
    }

    /// The JSON object `hc_record_insights` reads.
    pub fn to_json(&self) -> serde_json::Value {
        let at = |t: &time::OffsetDateTime| rfc3339(*t);
        match self {
            Event::Search(s, t) => serde_json::json!({
                "kind": "search",
                "at": at(t),
                "session": s.actor.session.as_str(),
                "user_id": s.actor.user_id,
                "query": s.query,
                "results": s.results.min(i32::MAX as u64),
                "top_slugs": s.top_slugs,
                "category": s.category,
                "tags": s.tags,
                "source": s.source,
            }),
            Event::Click {
                actor,
                query,
                slug,
                position,
                at: t,
            } => serde_json::json!({
                "kind": "click",
                "at": at(t),
                "session": actor.session.as_str(),
                "user_id": actor.user_id,
                "query": query,
                "slug": slug,
                "position": position,
            }),
            Event::View { actor, slug, at: t } => serde_json::json!({
                "kind": "view",
                "at": at(t),
                "session": actor.session.as_str(),
                "user_id": actor.user_id,
                "slug": slug,
            }),
        }
    }
}

/// A time as the events and reports carry it (RFC 3339).
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_grouped_by_case_and_spacing() {
        assert_eq!(
            normalize_query("  Refund   BANK\ttransfer "),
            "refund bank transfer"
        );
        assert_eq!(normalize_query(&"a".repeat(600)).len(), MAX_QUERY_CHARS);
        assert_eq!(
            normalize_query("nul\u{0}here \u{1b}[31mred"),
            "nul here [31mred"
        );
    }

    #[test]
    fn a_session_is_a_short_random_looking_id() {
        assert!(SessionId::parse("k3J9-x_0aa").is_some());
        assert!(SessionId::parse("short").is_none());
        assert!(SessionId::parse("has space inside it").is_none());
        assert!(SessionId::parse(&"a".repeat(65)).is_none());
    }
}
