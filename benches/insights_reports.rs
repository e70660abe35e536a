//! How long each insights report takes on a year of traffic (5,000,000 searches), read
//! as an agent under Row Level Security, the way `GET /api/v1/insights/...` reads them
//! (target: each under 200 ms). The default range is the reports' own (30 days); a
//! 90-day and a 365-day range show how they grow.
//!
//! Needs the seeded database: `bash benches/insights_seed.sh`, then
//! `cargo bench --bench insights_reports`. Environment: `HC_INSIGHTS_BENCH_DATABASE_URL`
//! (default: the local `helpcenter_insights_bench`), `HC_BENCH_RUNS` (runs per report, 7).

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use helpcenter::auth::Claims;
use helpcenter::db::{Database, DbConfig};
use helpcenter::insights::reports::{self, DateRange, Page};
use sqlx::PgConnection;
use uuid::Uuid;

type Run = for<'c> fn(
    &'c mut PgConnection,
    DateRange,
    Page,
) -> Pin<Box<dyn Future<Output = Result<usize, sqlx::Error>> + Send + 'c>>;

macro_rules! counted {
    ($f:path) => {
        |conn, range, page| Box::pin(async move { Ok($f(conn, range, page).await?.len()) })
    };
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let url = std::env::var("HC_INSIGHTS_BENCH_DATABASE_URL").unwrap_or_else(|_| {
        "postgres://postgres:postgres@127.0.0.1:5432/helpcenter_insights_bench".into()
    });
    let runs: usize = std::env::var("HC_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(7);
    let db = Database::new(&DbConfig {
        database_url: url.clone(),
        authenticator_url: None,
    })
    .expect("database config");
    db.start();
    let started = Instant::now();
    while !db.is_ready() {
        if started.elapsed() > Duration::from_secs(30) {
            eprintln!(
                "insights_reports: skipped, {url} is not reachable (bash benches/insights_seed.sh)"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let searches: i64 = sqlx::query_scalar("select count(*) from public.insight_searches")
        .fetch_one(db.owner_pool())
        .await
        .expect("the insights tables (bash benches/insights_seed.sh)");
    println!("insights_reports: {searches} searches recorded");
    let agent = Claims {
        sub: Uuid::parse_str("00000000-0000-4000-9000-000000000001").unwrap(),
        role: "authenticated".into(),
        aud: serde_json::Value::String("authenticated".into()),
        exp: 4_102_444_800,
        iat: None,
        email: None,
        extra: Default::default(),
    };
    let page = Page {
        limit: 20,
        offset: 0,
    };
    let reports_list: [(&str, Run); 6] = [
        ("zero-results", counted!(reports::zero_results)),
        ("top-queries", counted!(reports::top_queries)),
        ("unopened", counted!(reports::unopened)),
        ("tickets", counted!(reports::tickets_after_searches)),
        ("unhelpful-articles", counted!(reports::unhelpful_articles)),
        ("deflection", |conn, range, _| {
            Box::pin(async move { Ok(reports::deflection(conn, range).await?.len()) })
        }),
    ];
    println!("| report | days | rows | median ms | max ms |");
    println!("| --- | --- | --- | --- | --- |");
    for days in [30u32, 90, 365] {
        let range = DateRange::last_days(days);
        for (name, run) in &reports_list {
            let mut times = Vec::with_capacity(runs);
            let mut rows = 0;
            for _ in 0..runs {
                let run = *run;
                let t = Instant::now();
                rows = db
                    .read_as(&agent, move |conn, session| {
                        Box::pin(async move {
                            assert!(session.role.is_staff(), "the bench reads as an agent");
                            run(conn, range, page).await
                        })
                    })
                    .await
                    .expect("report");
                times.push(t.elapsed());
            }
            times.sort();
            println!(
                "| {name} | {days} | {rows} | {:.1} | {:.1} |",
                times[times.len() / 2].as_secs_f64() * 1000.0,
                times[times.len() - 1].as_secs_f64() * 1000.0
            );
        }
    }
}
