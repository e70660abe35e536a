//! The ranking of the unopened report: queries that found articles but whose results
//! nobody opened in the range, most searched first, exactly.
//!
//! Its top rows are tail queries (searched a few times, never opened), so no partial
//! sum bounds them as for the top queries, and summing every (day, query) row of a
//! 30-day range (over 300,000 rows on a year of 5,000,000 searches) takes about 200 ms.
//! For a range after which the data holds no click (one that ends today: every
//! preset of the reports) it walks instead:
//!
//! 1. A query without a click in the range is one whose last click lies before the
//!    range. All its searches in the range fall after that click, so
//!    `insight_queries.searches_since_click` (migration 0023) bounds them from above.
//!    A listed query found something in the range, so its `results_since_click`
//!    (migration 0025) is above 0: queries that only ever found nothing are skipped.
//! 2. The first round sums the range for the queries with the largest bounds only. The
//!    page's last row (the `offset + limit`-th) then has some number of searches.
//! 3. The second round sums the range for every other query whose bound reaches that
//!    number. Any query left has fewer searches in the range than the page's last row
//!    (which can only have grown), so it cannot be on the page, not even on a tie.
//!
//! When the second round would sum more queries than the plan allows (deep pages,
//! flat data), or a click lies after the range, every row of the range is summed. The
//! rounds are separate statements: a batch recorded in between only adds searches, and
//! the second round takes every query whose bound then reaches the floor.

use sqlx::PgConnection;
use time::Date;

use super::reports::{wide_aggregates, DateRange, Page, Ranked};

/// Which queries the unopened report lists: found articles, none opened.
const UNOPENED: &str = "sum(clicks) = 0 and sum(searches) > sum(zero_results)";

/// How far the unopened ranking walks before it sums the whole range instead. The
/// service uses [`UnopenedPlan::default`]; tests use small plans to reach every round.
/// A first round under 1 counts as 1, and `most` as at least the first round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnopenedPlan {
    /// Queries summed in the first round.
    pub first_round: i64,
    /// Most queries summed in both rounds together.
    pub most: i64,
}

impl Default for UnopenedPlan {
    /// 2,000 and 20,000: on the bench's year of 5,000,000 searches, a 30-day page sums
    /// about 8,000 queries (60 ms) where the range has 139,000.
    fn default() -> UnopenedPlan {
        UnopenedPlan {
            first_round: 2_000,
            most: 20_000,
        }
    }
}

/// One page of the unopened ranking, exactly, by `plan`.
pub(super) async fn ranked(
    conn: &mut PgConnection,
    range: DateRange,
    page: Page,
    plan: UnopenedPlan,
) -> Result<Vec<Ranked>, sqlx::Error> {
    wide_aggregates(conn).await?;
    // "No click in the range" is "last click before it" only when no click lies after
    // the range. Asked of the data, not of this server's clock: another replica's
    // clock may already be a day ahead at midnight.
    let newest_click: Option<Date> =
        sqlx::query_scalar("select max(last_click_day) from public.insight_queries")
            .fetch_one(&mut *conn)
            .await?;
    if newest_click.is_none_or(|day| day <= range.to) {
        if let Some(rows) = walk(conn, range, page, plan).await? {
            return Ok(rows);
        }
    }
    sqlx::query_as(&format!(
        "select query_id, sum(searches)::bigint, sum(zero_results)::bigint, sum(clicks)::bigint \
         from public.insight_query_days where day between $1 and $2 \
         group by query_id having {UNOPENED} \
         order by sum(searches) desc, query_id limit $3 offset $4"
    ))
    .bind(range.from)
    .bind(range.to)
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(conn)
    .await
}

/// The two rounds; `None` when the second would sum more than `plan.most` queries.
async fn walk(
    conn: &mut PgConnection,
    range: DateRange,
    page: Page,
    plan: UnopenedPlan,
) -> Result<Option<Vec<Ranked>>, sqlx::Error> {
    let need = page.offset + page.limit;
    let first_round = plan.first_round.max(1);
    let most = plan.most.max(first_round);
    let first = not_clicked_since(conn, range.from, &[], 1, first_round).await?;
    let mut rows = summed(conn, range, &first).await?;
    if first.len() as i64 == first_round {
        let floor = rows.get(need.max(1) as usize - 1).map_or(1, |r| r.1.max(1));
        // Every other query whose bound reaches the floor, by id rather than after the
        // first round's last bound: a batch recorded between the two statements may
        // have raised a bound past it.
        let seen: Vec<i64> = first.iter().map(|c| c.1).collect();
        let room = most - first_round;
        let rest = not_clicked_since(conn, range.from, &seen, floor, room + 1).await?;
        if rest.len() as i64 > room {
            return Ok(None);
        }
        rows.extend(summed(conn, range, &rest).await?);
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    }
    Ok(Some(
        rows.into_iter()
            .skip(page.offset as usize)
            .take(page.limit as usize)
            .collect(),
    ))
}

/// Up to `limit` queries not clicked since `from` whose bound is at least `floor`, but
/// those in `seen` (an anti-join: `id <> all(...)` compares every row with every id,
/// 350 ms for a first round of 2,000), by bound (largest first) then id.
async fn not_clicked_since(
    conn: &mut PgConnection,
    from: Date,
    seen: &[i64],
    floor: i64,
    limit: i64,
) -> Result<Vec<(i32, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select q.searches_since_click, q.id from public.insight_queries q \
         where q.searches_since_click > 0 and q.searches_since_click >= $2 \
           and q.results_since_click > 0 \
           and (q.last_click_day is null or q.last_click_day < $1) \
           and not exists (select 1 from unnest($3::bigint[]) as seen(id) \
                           where seen.id = q.id) \
         order by q.searches_since_click desc, q.id limit $4",
    )
    .bind(from)
    .bind(floor)
    .bind(seen)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// The listed queries among `candidates`, summed over the range, in rank order.
async fn summed(
    conn: &mut PgConnection,
    range: DateRange,
    candidates: &[(i32, i64)],
) -> Result<Vec<Ranked>, sqlx::Error> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = candidates.iter().map(|c| c.1).collect();
    sqlx::query_as(&format!(
        "select query_id, sum(searches)::bigint, sum(zero_results)::bigint, sum(clicks)::bigint \
         from public.insight_query_days \
         where query_id = any($1) and day between $2 and $3 \
         group by query_id having {UNOPENED} \
         order by 2 desc, 1"
    ))
    .bind(&ids)
    .bind(range.from)
    .bind(range.to)
    .fetch_all(conn)
    .await
}
