//! Satisfaction ratings: a solved ticket's requester rates it good or bad (migration
//! 0018). One rating per ticket, changeable until the ticket closes; the database
//! decides who may rate (the requester only) and when (solved, not closed), so these
//! queries only carry values.

use serde::Serialize;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::{TicketId, NUL_REASON};

/// Longest rating comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;

text_enum!(
    /// How the requester found the answer.
    Score {
        /// Satisfied.
        Good = "good",
        /// Not satisfied.
        Bad = "bad",
    }
);

text_enum!(
    /// Why a rating is bad.
    BadReason {
        /// The problem is still there.
        NotSolved = "not_solved",
        /// The answer took too long.
        TooSlow = "too_slow",
        /// The answer did not help.
        Unhelpful = "unhelpful",
        /// The agent was not polite.
        Impolite = "impolite",
        /// Something else (say what in the comment).
        Other = "other",
    }
);

/// A rating as parsed at the edge: a reason only with `bad`, a comment of 1 to 2,000
/// characters (trimmed; blank means none), no NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRating {
    score: Score,
    reason: Option<BadReason>,
    comment: Option<String>,
}

impl NewRating {
    /// Checks the fields together; each problem names its field.
    pub fn parse(
        score: Score,
        reason: Option<BadReason>,
        comment: Option<&str>,
    ) -> Result<NewRating, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        if reason.is_some() && score != Score::Bad {
            problems.push(("reason", "is given only with the score `bad`".to_string()));
        }
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        if let Some(c) = comment {
            if c.contains('\0') {
                problems.push(("comment", NUL_REASON.to_string()));
            } else if c.chars().count() > MAX_COMMENT_CHARS {
                problems.push((
                    "comment",
                    format!("must be at most {MAX_COMMENT_CHARS} characters"),
                ));
            }
        }
        if problems.is_empty() {
            Ok(NewRating {
                score,
                reason,
                comment: comment.map(str::to_string),
            })
        } else {
            Err(problems)
        }
    }
}

/// A ticket's rating as served.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Rating {
    /// `good` or `bad`.
    pub score: Score,
    /// Why it is bad, if said.
    pub reason: Option<BadReason>,
    /// The requester's words, if any.
    pub comment: Option<String>,
    /// The agent assigned when it was given.
    pub assignee_id: Option<Uuid>,
    /// First rated.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

type RatingRow = (
    String,
    Option<String>,
    Option<String>,
    Option<Uuid>,
    OffsetDateTime,
    OffsetDateTime,
);

fn rating_from(row: RatingRow) -> Result<Rating, sqlx::Error> {
    let (score, reason, comment, assignee_id, created_at, updated_at) = row;
    let bad = |what: &str| sqlx::Error::Decode(format!("unknown {what}").into());
    Ok(Rating {
        score: Score::parse(&score).ok_or_else(|| bad("score"))?,
        reason: match reason {
            Some(r) => Some(BadReason::parse(&r).ok_or_else(|| bad("reason"))?),
            None => None,
        },
        comment,
        assignee_id,
        created_at,
        updated_at,
    })
}

/// The ticket's rating, if the caller may read it.
pub async fn rating_of(
    conn: &mut PgConnection,
    ticket: TicketId,
) -> Result<Option<Rating>, sqlx::Error> {
    let row: Option<RatingRow> = sqlx::query_as(
        "select score, reason, comment, assignee_id, created_at, updated_at \
         from public.ticket_ratings where ticket_id = $1",
    )
    .bind(ticket.0)
    .fetch_optional(conn)
    .await?;
    row.map(rating_from).transpose()
}

/// Rates the ticket or changes its rating. The database refuses anyone but the
/// requester (42501), a ticket that is not solved or is closed (P0409).
pub async fn rate(
    conn: &mut PgConnection,
    ticket: TicketId,
    rating: &NewRating,
) -> Result<Rating, sqlx::Error> {
    let row: RatingRow = sqlx::query_as(
        "insert into public.ticket_ratings as r (ticket_id, score, reason, comment) \
         values ($1, $2, $3, $4) \
         on conflict (ticket_id) do update \
             set score = excluded.score, reason = excluded.reason, comment = excluded.comment \
         returning score, reason, comment, assignee_id, created_at, updated_at",
    )
    .bind(ticket.0)
    .bind(rating.score.as_str())
    .bind(rating.reason.map(BadReason::as_str))
    .bind(rating.comment.as_deref())
    .fetch_one(conn)
    .await?;
    rating_from(row)
}

/// Ratings given on one day (by their last change, UTC).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SatisfactionDay {
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// Good ratings.
    pub good: i64,
    /// Bad ratings.
    pub bad: i64,
    /// Good per rating.
    pub rate: f64,
}

/// Ratings of the tickets an agent was assigned when rated.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SatisfactionAgent {
    /// The agent (null: tickets nobody was assigned).
    pub agent_id: Option<Uuid>,
    /// Their display name.
    pub agent_name: Option<String>,
    /// Good ratings.
    pub good: i64,
    /// Bad ratings.
    pub bad: i64,
    /// Good per rating.
    pub rate: f64,
}

/// The satisfaction report over a range of days.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SatisfactionReport {
    /// First day (UTC), `YYYY-MM-DD`.
    pub from: String,
    /// Last day, included.
    pub to: String,
    /// Good ratings in the range.
    pub good: i64,
    /// Bad ratings in the range.
    pub bad: i64,
    /// Good per rating in the range (0 when none).
    pub rate: f64,
    /// Per day with ratings, oldest first.
    pub days: Vec<SatisfactionDay>,
    /// Per agent, most ratings first.
    pub agents: Vec<SatisfactionAgent>,
}

/// Ratings per day and per agent, by their last change within `from..=to` (UTC), as the
/// caller's policies allow (agents read every rating).
pub async fn report(
    conn: &mut PgConnection,
    from: Date,
    to: Date,
) -> Result<SatisfactionReport, sqlx::Error> {
    let start = from.midnight().assume_utc();
    let end = to.next_day().unwrap_or(to).midnight().assume_utc();
    let days: Vec<SatisfactionDay> = sqlx::query_as(
        "select to_char((updated_at at time zone 'UTC')::date, 'YYYY-MM-DD') as day, \
                count(*) filter (where score = 'good') as good, \
                count(*) filter (where score = 'bad') as bad, \
                (count(*) filter (where score = 'good'))::float8 / count(*) as rate \
         from public.ticket_ratings where updated_at >= $1 and updated_at < $2 \
         group by 1 order by 1",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&mut *conn)
    .await?;
    let agents: Vec<SatisfactionAgent> = sqlx::query_as(
        "select r.assignee_id as agent_id, p.display_name as agent_name, \
                count(*) filter (where r.score = 'good') as good, \
                count(*) filter (where r.score = 'bad') as bad, \
                (count(*) filter (where r.score = 'good'))::float8 / count(*) as rate \
         from public.ticket_ratings r left join public.profiles p on p.id = r.assignee_id \
         where r.updated_at >= $1 and r.updated_at < $2 \
         group by r.assignee_id, p.display_name order by count(*) desc, r.assignee_id",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&mut *conn)
    .await?;
    let good: i64 = days.iter().map(|d| d.good).sum();
    let bad: i64 = days.iter().map(|d| d.bad).sum();
    Ok(SatisfactionReport {
        from: crate::insights::reports::iso_day(from),
        to: crate::insights::reports::iso_day(to),
        good,
        bad,
        rate: if good + bad > 0 {
            good as f64 / (good + bad) as f64
        } else {
            0.0
        },
        days,
        agents,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_goes_with_bad_only_and_comments_are_bounded() {
        assert!(NewRating::parse(Score::Good, None, Some("  thanks ")).is_ok());
        let e = NewRating::parse(Score::Good, Some(BadReason::TooSlow), None).unwrap_err();
        assert_eq!(e[0].0, "reason");
        assert!(NewRating::parse(Score::Bad, Some(BadReason::TooSlow), None).is_ok());
        let long = "é".repeat(MAX_COMMENT_CHARS + 1);
        assert_eq!(
            NewRating::parse(Score::Bad, None, Some(&long)).unwrap_err()[0].0,
            "comment"
        );
        assert_eq!(
            NewRating::parse(Score::Bad, None, Some("a\0b")).unwrap_err()[0].0,
            "comment"
        );
        let blank = NewRating::parse(Score::Bad, None, Some("   ")).unwrap();
        assert_eq!(blank.comment, None);
    }
}
