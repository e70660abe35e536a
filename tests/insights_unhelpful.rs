//! The unhelpful-articles report walks from the articles with the most "not helpful"
//! votes in all and stops early (migration 0026, `src/insights/unhelpful.rs`). Whatever
//! the votes, its page must be the page that counting every vote of the range gives:
//! checked here on 60 days of generated votes, signed in and anonymous, before and
//! after votes change and go, with plans small enough to take every round and the
//! fallback.

mod ticket_support;

use helpcenter::insights::reports::{self, DateRange, Page, UnhelpfulPlan};
use sqlx::PgConnection;
use ticket_support::spawn_app;
use ticket_support::walks::{pages, ranges, Lcg};
use time::{Duration, OffsetDateTime};

/// The page as counting every vote of the range gives it.
async fn counted_over_the_range(
    conn: &mut PgConnection,
    range: DateRange,
    page: Page,
) -> Vec<(String, i64, i64)> {
    let start = range.from.midnight().assume_utc();
    let end = (range.to + Duration::days(1)).midnight().assume_utc();
    sqlx::query_as(
        "select article_slug, count(*) filter (where not helpful)::bigint, \
                count(*) filter (where helpful)::bigint \
         from (select article_slug, helpful, updated_at as at from public.article_feedback \
               union all \
               select article_slug, helpful, created_at from public.article_feedback_anonymous) v \
         where at >= $1 and at < $2 \
         group by article_slug having count(*) filter (where not helpful) > 0 \
         order by 2 desc, 1 limit $3 offset $4",
    )
    .bind(start)
    .bind(end)
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(conn)
    .await
    .unwrap()
}

/// Articles whose kept total differs from their "not helpful" votes.
async fn miscounted(conn: &mut PgConnection) -> i64 {
    sqlx::query_scalar(
        "select count(*) from ( \
           select coalesce(t.article_slug, v.article_slug) as slug \
           from public.article_vote_totals t \
           full join (select article_slug, count(*) filter (where not helpful) as n \
                      from (select article_slug, helpful from public.article_feedback \
                            union all \
                            select article_slug, helpful \
                            from public.article_feedback_anonymous) a \
                      group by article_slug) v on v.article_slug = t.article_slug \
           where coalesce(t.not_helpful, 0) <> coalesce(v.n, 0)) x",
    )
    .fetch_one(conn)
    .await
    .unwrap()
}

/// Every range, page and plan gives the page of the full count.
async fn every_page_matches(conn: &mut PgConnection, when: &str) {
    let plans = [
        UnhelpfulPlan::default(),
        UnhelpfulPlan {
            first_round: 3,
            most: 1_000,
            min_days: 0,
        },
        UnhelpfulPlan {
            first_round: 1,
            most: 25,
            min_days: 0,
        },
        UnhelpfulPlan {
            first_round: 2,
            most: 4,
            min_days: 0,
        },
    ];
    for range in ranges() {
        for page in pages() {
            let (limit, offset) = (page.limit, page.offset);
            let expected = counted_over_the_range(conn, range, page).await;
            for plan in plans {
                let got: Vec<(String, i64, i64)> =
                    reports::unhelpful_articles_with(conn, range, page, plan)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|a| (a.slug, a.not_helpful, a.helpful))
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
async fn the_unhelpful_articles_report_lists_exactly_what_counting_every_vote_lists() {
    let app = spawn_app().await;
    let mut voters = Vec::new();
    for i in 0..6 {
        voters.push(app.agent(&format!("voter{i}")).await.id);
    }
    let mut owner = app.owner_conn().await;
    let mut rng = Lcg(29);
    let now = OffsetDateTime::now_utc();
    // 300 articles: a few voted on often, a long tail, some mostly "no".
    for a in 0..300u64 {
        let slug = format!("guides/article-{a}");
        let votes = if a < 10 {
            40 + rng.below(40)
        } else {
            rng.below(8)
        };
        let no_per_mille = [100, 300, 500, 900][rng.below(4) as usize];
        for _ in 0..votes {
            let at = now
                - Duration::days(rng.below(60) as i64)
                - Duration::seconds(rng.below(600) as i64);
            let helpful = rng.below(1000) >= no_per_mille;
            sqlx::query(
                "insert into public.article_feedback_anonymous \
                 (article_slug, client_key, helpful, created_at) values ($1, $2, $3, $4)",
            )
            .bind(&slug)
            .bind(format!("{:064}", rng.below(1_000_000)))
            .bind(helpful)
            .bind(at)
            .execute(&mut owner)
            .await
            .unwrap();
        }
        for voter in &voters {
            if rng.below(4) == 0 {
                let at = now - Duration::days(rng.below(60) as i64);
                sqlx::query(
                    "insert into public.article_feedback \
                     (article_slug, voter_id, helpful, created_at, updated_at) \
                     values ($1, $2, $3, $4, $4)",
                )
                .bind(&slug)
                .bind(voter)
                .bind(rng.below(1000) >= no_per_mille)
                .bind(at)
                .execute(&mut owner)
                .await
                .unwrap();
            }
        }
    }
    assert_eq!(
        miscounted(&mut owner).await,
        0,
        "the triggers keep the totals"
    );
    every_page_matches(&mut owner, "as voted").await;

    // Readers change their minds (now) and some votes go.
    sqlx::query(
        "update public.article_feedback set helpful = not helpful, updated_at = now() \
         where article_slug like '%1'",
    )
    .execute(&mut owner)
    .await
    .unwrap();
    sqlx::query("delete from public.article_feedback_anonymous where id % 7 = 0")
        .execute(&mut owner)
        .await
        .unwrap();
    assert_eq!(miscounted(&mut owner).await, 0, "changes and deletions too");
    every_page_matches(&mut owner, "after changes").await;
}
