//! The ranking of the unhelpful-articles report: articles by their "not helpful" votes
//! in a range, exactly, without counting every vote of a long range.
//!
//! An article's "not helpful" votes in all (`article_vote_totals`, migration 0026)
//! bound those in any range from above. So, as the unopened report walks
//! (`unopened.rs`):
//!
//! 1. the range is counted for the articles with the most "no" votes in all;
//! 2. the page's last row (the `offset + limit`-th) then has some number of them;
//! 3. the range is counted for every other article whose total reaches that number:
//!    any article left has fewer in the range than the page's last row, not even a tie.
//!
//! The page itself is then ranked in SQL over those articles (the same ordering, text
//! collation included, as counting every vote gives). When the third step would count
//! more articles than the plan allows (a short range, where totals say little), every
//! vote of the range is counted.

use sqlx::PgConnection;

use super::reports::{DateRange, Page};

/// The votes of both kinds with the time each counts at (a signed-in reader's vote
/// counts when it was last changed).
pub(super) const VOTES: &str = "(select article_slug, helpful, reason, comment, updated_at as at \
                                   from public.article_feedback \
                                 union all \
                                 select article_slug, helpful, reason, comment, created_at \
                                   from public.article_feedback_anonymous)";

/// How far the unhelpful ranking walks before it counts the whole range instead. The
/// service uses [`UnhelpfulPlan::default`]; tests use small plans to reach every
/// round. A first round under 1 counts as 1, and `most` as at least the first round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnhelpfulPlan {
    /// Articles counted in the first round.
    pub first_round: i64,
    /// Most articles counted in both rounds together.
    pub most: i64,
    /// Shortest range (days) walked; a shorter one is counted whole at once.
    pub min_days: i64,
}

impl Default for UnhelpfulPlan {
    /// 200 and 2,000 articles, ranges of 60 days or more. Over 30 days the totals say
    /// little about the range (on the bench's year of votes the walk ended in the full
    /// count, 57 ms instead of about 35), over a year nearly everything (105 ms instead
    /// of 190 to 300).
    fn default() -> UnhelpfulPlan {
        UnhelpfulPlan {
            first_round: 200,
            most: 2_000,
            min_days: 60,
        }
    }
}

/// An article's "no" and "yes" votes in the range.
pub(super) type Counted = (String, i64, i64);

/// One page of articles by their "not helpful" votes in the range, exactly.
pub(super) async fn ranked(
    conn: &mut PgConnection,
    range: DateRange,
    page: Page,
    plan: UnhelpfulPlan,
) -> Result<Vec<Counted>, sqlx::Error> {
    let days = (range.to - range.from).whole_days() + 1;
    if days >= plan.min_days {
        if let Some(slugs) = walk(conn, range, page, plan).await? {
            return counted(conn, range, Some(&slugs), page).await;
        }
    }
    counted(conn, range, None, page).await
}

/// The articles the page is among; `None` when there would be more than `plan.most`.
async fn walk(
    conn: &mut PgConnection,
    range: DateRange,
    page: Page,
    plan: UnhelpfulPlan,
) -> Result<Option<Vec<String>>, sqlx::Error> {
    let need = page.offset + page.limit;
    let first_round = plan.first_round.max(1);
    let most = plan.most.max(first_round);
    let mut slugs = most_voted_not_helpful(conn, &[], 1, first_round).await?;
    if slugs.len() as i64 == first_round {
        let first = counted(
            conn,
            range,
            Some(&slugs),
            Page {
                limit: need.max(1),
                offset: 0,
            },
        )
        .await?;
        let floor = first
            .get(need.max(1) as usize - 1)
            .map_or(1, |r| r.1.max(1));
        let room = most - first_round;
        let rest = most_voted_not_helpful(conn, &slugs, floor, room + 1).await?;
        if rest.len() as i64 > room {
            return Ok(None);
        }
        slugs.extend(rest);
    }
    Ok(Some(slugs))
}

/// Up to `limit` articles with at least `floor` "no" votes in all, but those in
/// `seen`, most first.
async fn most_voted_not_helpful(
    conn: &mut PgConnection,
    seen: &[String],
    floor: i64,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select t.article_slug from public.article_vote_totals t \
         where t.not_helpful > 0 and t.not_helpful >= $1 \
           and not exists (select 1 from unnest($2::text[]) as seen(slug) \
                           where seen.slug = t.article_slug) \
         order by t.not_helpful desc, t.article_slug limit $3",
    )
    .bind(floor)
    .bind(seen)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// One page of articles with "no" votes in the range, among `slugs` (or all).
async fn counted(
    conn: &mut PgConnection,
    range: DateRange,
    slugs: Option<&[String]>,
    page: Page,
) -> Result<Vec<Counted>, sqlx::Error> {
    // Two statements rather than one with "$5 is null or ...": a generic plan of the
    // latter could not use the articles' indexes.
    let among = if slugs.is_some() {
        "and article_slug = any($5)"
    } else {
        ""
    };
    let sql = format!(
        "select article_slug, count(*) filter (where not helpful)::bigint, \
                count(*) filter (where helpful)::bigint \
         from {VOTES} v where at >= $1 and at < $2 {among} \
         group by article_slug having count(*) filter (where not helpful) > 0 \
         order by 2 desc, 1 limit $3 offset $4"
    );
    let query = sqlx::query_as(&sql)
        .bind(range.start())
        .bind(range.end())
        .bind(page.limit)
        .bind(page.offset);
    match slugs {
        Some(slugs) => query.bind(slugs).fetch_all(conn).await,
        None => query.fetch_all(conn).await,
    }
}
