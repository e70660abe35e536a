//! CCs: users copied on a ticket by email (migration 0019). A CC'd user reads the
//! ticket, its public timeline and its events, and may reply; the policies decide, so
//! these queries only carry values. Changes go through the `hc_*_ticket_cc` functions,
//! which look the user up by email (customers may not read other profiles).

use serde::Serialize;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::TicketId;

/// Most users copied on one ticket.
pub const MAX_CCS: i32 = 20;

/// An email address as typed into the CC field: trimmed, 3 to 254 characters, one `@`
/// with text on both sides, no spaces or control characters. Matched case-insensitively
/// against profiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CcEmail(String);

impl CcEmail {
    /// Parses the field; the error says why.
    pub fn parse(raw: &str) -> Result<CcEmail, String> {
        let email = raw.trim();
        let well_formed = (3..=254).contains(&email.len())
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && !domain.is_empty() && !domain.contains('@')
            });
        if well_formed {
            Ok(CcEmail(email.to_string()))
        } else {
            Err(format!("must be an email address, got {raw:?}"))
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user copied on a ticket.
#[derive(Debug, Clone, Serialize, PartialEq, sqlx::FromRow, utoipa::ToSchema)]
pub struct Cc {
    /// Their profile.
    pub user_id: Uuid,
    /// Their email.
    pub email: Option<String>,
    /// Their name as the ticket's people see it.
    pub display_name: Option<String>,
    /// When they were copied.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// The CCs of a ticket the caller may see (none otherwise), oldest first.
pub async fn list(conn: &mut PgConnection, ticket: TicketId) -> Result<Vec<Cc>, sqlx::Error> {
    sqlx::query_as("select user_id, email, display_name, created_at from public.hc_ticket_ccs($1)")
        .bind(ticket.0)
        .fetch_all(conn)
        .await
}

/// Copies the user with this email on the ticket (nothing changes when they already
/// are); their profile id. The database refuses a caller who may not, an unknown email,
/// the requester, a closed ticket and more than [`MAX_CCS`].
pub async fn add(
    conn: &mut PgConnection,
    ticket: TicketId,
    email: &CcEmail,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar("select public.hc_add_ticket_cc($1, $2, $3)")
        .bind(ticket.0)
        .bind(email.as_str())
        .bind(MAX_CCS)
        .fetch_one(conn)
        .await
}

/// Removes the user from the ticket's CCs; whether they were on it.
pub async fn remove(
    conn: &mut PgConnection,
    ticket: TicketId,
    user: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select public.hc_remove_ticket_cc($1, $2)")
        .bind(ticket.0)
        .bind(user)
        .fetch_one(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::CcEmail;

    #[test]
    fn cc_emails_are_addresses() {
        assert_eq!(
            CcEmail::parse("  Ada@Example.com ").unwrap().as_str(),
            "Ada@Example.com"
        );
        for bad in [
            "",
            "ada",
            "@x",
            "ada@",
            "a b@x.com",
            "a@b@c",
            "a\0@x.com",
            &"a".repeat(250),
        ] {
            assert!(CcEmail::parse(bad).is_err(), "{bad:?}");
        }
    }
}
