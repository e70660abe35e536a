//! Article feedback ("Was this helpful?"): the only SQL of votes, all with binds.
//! Who may write or read what is decided by migration 0005's grants and policies.

use sqlx::PgConnection;

/// Anonymous votes one client address may cast per hour (enforced in the database, so
/// the limit holds across replicas).
pub const ANON_VOTES_PER_HOUR: i32 = 20;

/// The reasons a reader may give for "not helpful".
pub const REASONS: [&str; 5] = [
    "outdated",
    "unclear",
    "incomplete",
    "not-my-question",
    "other",
];

/// Longest comment with a vote (characters).
pub const MAX_COMMENT_CHARS: usize = 500;

/// Why a reader voted "no": a reason from [`REASONS`] and a comment, both optional and
/// validated at the edge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VoteReason {
    /// One of [`REASONS`].
    pub reason: Option<String>,
    /// At most [`MAX_COMMENT_CHARS`] characters.
    pub comment: Option<String>,
}

/// Per-article vote totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    /// "Yes, helpful."
    pub helpful: i64,
    /// "No."
    pub not_helpful: i64,
}

/// Records (or replaces) the signed-in caller's vote; true when it is their first on
/// this article.
pub async fn vote_as_user(
    conn: &mut PgConnection,
    voter: uuid::Uuid,
    slug: &str,
    helpful: bool,
    why: &VoteReason,
) -> Result<bool, sqlx::Error> {
    let (first,): (bool,) = sqlx::query_as(
        "insert into public.article_feedback (article_slug, voter_id, helpful, reason, comment) \
         values ($1, $2, $3, $4, $5) \
         on conflict (article_slug, voter_id) \
         do update set helpful = excluded.helpful, reason = excluded.reason, \
                       comment = excluded.comment, updated_at = now() \
         returning (xmax = 0)",
    )
    .bind(slug)
    .bind(voter)
    .bind(helpful)
    .bind(why.reason.as_deref())
    .bind(why.comment.as_deref())
    .fetch_one(conn)
    .await?;
    Ok(first)
}

/// Records an anonymous vote under the client's pseudonymous key (SQLSTATE P0429 when
/// the key has voted too often in the last hour).
pub async fn vote_anonymously(
    conn: &mut PgConnection,
    client_key: &str,
    slug: &str,
    helpful: bool,
    why: &VoteReason,
) -> Result<(), sqlx::Error> {
    sqlx::query("select public.hc_vote_anonymously($1, $2, $3, $4, $5, $6)")
        .bind(slug)
        .bind(client_key)
        .bind(helpful)
        .bind(ANON_VOTES_PER_HOUR)
        .bind(why.reason.as_deref())
        .bind(why.comment.as_deref())
        .execute(conn)
        .await?;
    Ok(())
}

/// The totals of every vote the caller can see (an agent or admin sees them all).
pub async fn totals(conn: &mut PgConnection, slug: &str) -> Result<Totals, sqlx::Error> {
    let (helpful, not_helpful): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where v.helpful), count(*) filter (where not v.helpful) \
         from (select helpful from public.article_feedback where article_slug = $1 \
               union all \
               select helpful from public.article_feedback_anonymous where article_slug = $1) v",
    )
    .bind(slug)
    .fetch_one(conn)
    .await?;
    Ok(Totals {
        helpful,
        not_helpful,
    })
}

/// A pseudonymous key for a client address: votes can be counted per address without
/// storing the address.
pub fn client_key(addr: std::net::IpAddr) -> String {
    blake3::hash(format!("helpcenter-feedback:{addr}").as_bytes())
        .to_hex()
        .to_string()
}
