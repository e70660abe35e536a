//! The unopened report (queries whose results nobody opened) walks from the queries
//! with the most searches since their last click and stops early (migration 0023,
//! `src/insights/unopened.rs`). Whatever the data, the page it gives must be the page
//! that summing every row of the range gives: checked here on 60 days of generated
//! traffic, written through the service's own batch function, before and after the
//! retention, with plans small enough to take every round and the fallback.

mod ticket_support;

use helpcenter::insights::reports::{self, DateRange, Page, UnopenedPlan};
use serde_json::{json, Value};
use sqlx::PgConnection;
use ticket_support::spawn_app;
use ticket_support::walks::{pages, ranges, Lcg};
use time::{Duration, OffsetDateTime};

/// 60 days of searches and clicks over 300 queries: a few popular ones, a long tail,
/// some that mostly find nothing, clicks now and then.
fn traffic(seed: u64) -> Vec<Value> {
    let mut rng = Lcg(seed);
    let now = OffsetDateTime::now_utc();
    let at = |days_ago: u64, rng: &mut Lcg| {
        (now - Duration::days(days_ago as i64) - Duration::seconds(rng.below(600) as i64))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let mut events = Vec::new();
    for q in 0..300u64 {
        let query = format!("query {q}");
        let searches = if q < 10 {
            60 + rng.below(60)
        } else {
            1 + rng.below(12)
        };
        let clicks_per_mille = [0, 0, 5, 30, 150][rng.below(5) as usize];
        let zero_per_mille = [0, 0, 0, 500, 1000][rng.below(5) as usize];
        for _ in 0..searches {
            let days_ago = rng.below(60);
            let results = if rng.below(1000) < zero_per_mille {
                0
            } else {
                3
            };
            events.push(json!({"kind": "search", "at": at(days_ago, &mut rng),
                "session": format!("session-{}", rng.below(50)), "user_id": null,
                "query": query, "results": results, "top_slugs": [], "category": null,
                "tags": [], "source": "page"}));
            if results > 0 && rng.below(1000) < clicks_per_mille {
                events.push(json!({"kind": "click", "at": at(days_ago, &mut rng),
                    "session": format!("session-{}", rng.below(50)), "user_id": null,
                    "query": query, "slug": "an-article", "position": 1}));
            }
        }
    }
    events
}

/// The page as summing every (day, query) row of the range gives it.
async fn summed_over_the_range(
    conn: &mut PgConnection,
    range: DateRange,
    page: Page,
) -> Vec<(String, i64)> {
    sqlx::query_as(
        "select q.query, sum(d.searches)::bigint from public.insight_query_days d \
         join public.insight_queries q on q.id = d.query_id \
         where d.day between $1 and $2 group by q.id, q.query \
         having sum(d.clicks) = 0 and sum(d.searches) > sum(d.zero_results) \
         order by 2 desc, q.id limit $3 offset $4",
    )
    .bind(range.from)
    .bind(range.to)
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(conn)
    .await
    .unwrap()
}

/// Queries whose last click day is not the newest clicked day kept, or whose counts
/// differ from the searches (and those that found something) on the days after it.
async fn miscounted(conn: &mut PgConnection) -> i64 {
    sqlx::query_scalar(
        "select count(*) from public.insight_queries q \
         where q.last_click_day is distinct from (select max(d.day) \
               from public.insight_query_days d where d.query_id = q.id and d.clicks > 0) \
            or q.searches_since_click <> coalesce((select sum(d.searches) \
               from public.insight_query_days d where d.query_id = q.id \
               and d.day > coalesce(q.last_click_day, '-infinity'::date)), 0) \
            or q.results_since_click <> coalesce((select sum(d.searches - d.zero_results) \
               from public.insight_query_days d where d.query_id = q.id \
               and d.day > coalesce(q.last_click_day, '-infinity'::date)), 0)",
    )
    .fetch_one(conn)
    .await
    .unwrap()
}

/// Every range, page and plan gives the page of the full sum.
async fn every_page_matches(conn: &mut PgConnection, when: &str) {
    let plans = [
        UnopenedPlan::default(),
        UnopenedPlan {
            first_round: 3,
            most: 1_000,
        },
        UnopenedPlan {
            first_round: 1,
            most: 25,
        },
        UnopenedPlan {
            first_round: 2,
            most: 4,
        },
    ];
    for range in ranges() {
        for page in pages() {
            let (limit, offset) = (page.limit, page.offset);
            let expected = summed_over_the_range(conn, range, page).await;
            for plan in plans {
                let got: Vec<(String, i64)> = reports::unopened_with(conn, range, page, plan)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| (r.query, r.searches))
                    .collect();
                assert_eq!(
                    got, expected,
                    "{when}: {range:?}, limit {limit} offset {offset}, {plan:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_unopened_report_lists_exactly_what_summing_the_whole_range_lists() {
    let app = spawn_app().await;
    let mut owner = app.owner_conn().await;
    let events = traffic(17);
    for batch in events.chunks(500) {
        sqlx::query("select public.hc_record_insights($1)")
            .bind(sqlx::types::Json(Value::Array(batch.to_vec())))
            .execute(&mut owner)
            .await
            .unwrap();
    }
    let unopened_30: i64 = sqlx::query_scalar(
        "select count(*) from (select 1 from public.insight_query_days \
         where day > current_date - 30 group by query_id \
         having sum(clicks) = 0 and sum(searches) > sum(zero_results)) x",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert!(
        unopened_30 > 60,
        "the data has a tail to walk: {unopened_30}"
    );
    assert_eq!(
        miscounted(&mut owner).await,
        0,
        "the trigger keeps the count"
    );
    every_page_matches(&mut owner, "as recorded").await;

    // The retention deletes the older days and sums the counts again.
    sqlx::query("select public.hc_forget_insights(20)")
        .execute(&mut owner)
        .await
        .unwrap();
    assert_eq!(
        miscounted(&mut owner).await,
        0,
        "the retention keeps the count"
    );
    every_page_matches(&mut owner, "after the retention").await;

    // New clicks on today's rows restart the counts after them.
    let mut clicks = Vec::new();
    for q in (0..300).step_by(7) {
        clicks.push(json!({"kind": "click",
            "at": OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339).unwrap(),
            "session": "session-late", "user_id": null, "query": format!("query {q}"),
            "slug": "an-article", "position": 2}));
    }
    sqlx::query("select public.hc_record_insights($1)")
        .bind(sqlx::types::Json(Value::Array(clicks)))
        .execute(&mut owner)
        .await
        .unwrap();
    assert_eq!(
        miscounted(&mut owner).await,
        0,
        "a click restarts the count"
    );
    every_page_matches(&mut owner, "after new clicks").await;
}
