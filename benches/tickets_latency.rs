//! End-to-end latency of list-my-tickets and the timeline over HTTP, with Row Level
//! Security (the service as deployed: `authenticator`, one statement calling the
//! `hc_*` request function, which sets the role and claims and runs the page function)
//! and without it (the same page functions called directly on the owner's connection:
//! no role, no claims, no policies).
//!
//! Needs the seeded database: `bash benches/seed.sh`, then
//! `cargo bench --bench tickets_latency`; the plans: `bash benches/pgbench/explain.sh`.
//! Environment: `HC_BENCH_DATABASE_URL` (default: the local `helpcenter_bench`),
//! `HC_BENCH_N` (requests per series, 3000).

use std::sync::Arc;
use std::time::{Duration, Instant};

use helpcenter::auth::JwtKeys;
use helpcenter::db::{Database, DbConfig};
use helpcenter::http::AppState;
use helpcenter::kb::KnowledgeBase;
use helpcenter::server;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

const SECRET: &[u8] = b"benchmark-secret-benchmark-secret";

struct Service {
    base: String,
    _dir: tempfile::TempDir,
}

async fn start(db: Arc<Database>, jwt: Arc<JwtKeys>) -> Service {
    db.start();
    let started = Instant::now();
    while !db.is_ready() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "database not ready"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("articles")).expect("articles");
    let kb = Arc::new(KnowledgeBase::new(
        dir.path().join("articles"),
        dir.path().join("index"),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let state = AppState::new(kb, Some(db), jwt);
    tokio::spawn(async move {
        let _ = server::serve(listener, state, std::future::pending()).await;
    });
    Service { base, _dir: dir }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

struct Stats {
    p50: f64,
    p90: f64,
    p99: f64,
    mean: f64,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    let mean = v.iter().map(|d| d.as_secs_f64()).sum::<f64>() / v.len() as f64 * 1000.0;
    Stats {
        p50: percentile(&v, 0.50),
        p90: percentile(&v, 0.90),
        p99: percentile(&v, 0.99),
        mean,
    }
}

async fn timed_get(client: &reqwest::Client, url: &str, token: &str) -> Duration {
    let t = Instant::now();
    let resp = client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = resp.status();
    let body = resp.bytes().await.expect("body");
    let elapsed = t.elapsed();
    assert!(
        status.is_success(),
        "{url}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    elapsed
}

#[tokio::main]
async fn main() {
    let url = std::env::var("HC_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/helpcenter_bench".into());
    let n: usize = std::env::var("HC_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let config = DbConfig {
        database_url: url.clone(),
        authenticator_url: None,
    };
    let jwt = Arc::new(JwtKeys::new(SECRET));
    let with_rls = start(Database::new(&config).expect("db"), jwt.clone()).await;
    let without_rls = start(
        Database::without_rls_for_benchmarks(&config).expect("db"),
        jwt.clone(),
    )
    .await;

    // 200 random customers, each with one of their tickets.
    let mut conn = PgConnection::connect(&url).await.expect("owner connection");
    let sample: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "select p.id, (select t.id from public.tickets t where t.requester_id = p.id \
                       order by t.updated_at desc limit 1) \
         from public.profiles p where p.role = 'customer' order by random() limit 200",
    )
    .fetch_all(&mut conn)
    .await
    .expect("sample");
    let counts: (i64, i64) = sqlx::query_as(
        "select (select count(*) from public.tickets), (select count(*) from public.ticket_messages)",
    )
    .fetch_one(&mut conn)
    .await
    .expect("counts");
    println!(
        "data set: {} tickets, {} messages; {} customers sampled; {n} requests per series",
        counts.0,
        counts.1,
        sample.len()
    );
    assert!(
        !sample.is_empty(),
        "seed the database first: bash benches/seed.sh"
    );
    let tokens: Vec<String> = sample
        .iter()
        .map(|(c, _)| jwt.mint(*c, None, 3600))
        .collect();

    let client = reqwest::Client::new();
    let services = [("with RLS", &with_rls), ("without RLS", &without_rls)];
    // Warm-up: connections, prepared statements, caches.
    for (_, svc) in &services {
        for i in 0..400 {
            let k = i % sample.len();
            timed_get(&client, &format!("{}/api/v1/tickets", svc.base), &tokens[k]).await;
            timed_get(
                &client,
                &format!("{}/api/v1/tickets/{}/timeline", svc.base, sample[k].1),
                &tokens[k],
            )
            .await;
        }
    }
    // Interleaved so that drift on a shared machine hits both modes alike.
    let mut results: Vec<Vec<Duration>> = (0..4).map(|_| Vec::with_capacity(n)).collect();
    for i in 0..n {
        let k = i % sample.len();
        for (m, (_, svc)) in services.iter().enumerate() {
            results[m * 2].push(
                timed_get(&client, &format!("{}/api/v1/tickets", svc.base), &tokens[k]).await,
            );
            results[m * 2 + 1].push(
                timed_get(
                    &client,
                    &format!("{}/api/v1/tickets/{}/timeline", svc.base, sample[k].1),
                    &tokens[k],
                )
                .await,
            );
        }
    }
    let mut it = results.into_iter();
    let rls_list = stats(it.next().unwrap_or_default());
    let rls_timeline = stats(it.next().unwrap_or_default());
    let raw_list = stats(it.next().unwrap_or_default());
    let raw_timeline = stats(it.next().unwrap_or_default());
    println!("\n| endpoint | mode | p50 ms | p90 ms | p99 ms | mean ms |");
    println!("| --- | --- | ---: | ---: | ---: | ---: |");
    for (name, mode, s) in [
        ("list-my-tickets (25)", "with RLS", &rls_list),
        ("list-my-tickets (25)", "without RLS", &raw_list),
        ("timeline", "with RLS", &rls_timeline),
        ("timeline", "without RLS", &raw_timeline),
    ] {
        println!(
            "| {name} | {mode} | {:.3} | {:.3} | {:.3} | {:.3} |",
            s.p50, s.p90, s.p99, s.mean
        );
    }
    println!(
        "\nRLS overhead at p50: list {:+.1}%, timeline {:+.1}%",
        (rls_list.p50 / raw_list.p50 - 1.0) * 100.0,
        (rls_timeline.p50 / raw_timeline.p50 - 1.0) * 100.0
    );
}
