//! What recording search insights costs a search over HTTP: the same knowledge base
//! served twice in one process, with the recorder on (writing to PostgreSQL, every
//! request from a browser tab's session) and off, loaded in turn (off, on, off, on) by
//! 8 keep-alive connections sending the committed query list with an `X-HC-Session`
//! (a new session every five searches), so that both see the same machine.
//!
//! Run: `cargo bench --bench insights_http` (`HC_BENCH_CORPUS`: docker-docs, the
//! default, or mdn; `HC_BENCH_SECONDS`: 5 per series). Needs the local PostgreSQL
//! (`bash scripts/pg-up.sh`; database `helpcenter_insights_http`, created if missing).
//! The client is a bare hyper HTTP/1.1 connection per task in the same process (no
//! pool, no redirects, as `http_search` measures): it shares the two cores with the
//! server.

#[allow(dead_code)]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{ms, percentile, Corpus};
use helpcenter::db::{Database, DbConfig};
use helpcenter::http::AppState;
use helpcenter::insights::{Recorder, RecorderSettings};
use helpcenter::kb::KnowledgeBase;
use helpcenter::server::{self, ServeOptions};

const CONNECTIONS: usize = 8;

async fn serve(state: AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = server::serve_with(
            listener,
            state,
            ServeOptions::default(),
            std::future::pending(),
        )
        .await;
    });
    base
}

/// 8 connections for `seconds`: (requests per second, sorted latencies).
async fn load(
    base: &str,
    paths: &Arc<Vec<String>>,
    seconds: f64,
    round: usize,
) -> (f64, Vec<Duration>) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .expect("client");
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..CONNECTIONS {
        let (client, base, paths) = (client.clone(), base.to_string(), paths.clone());
        tasks.spawn(async move {
            let mut out = Vec::new();
            let mut i = c * paths.len() / CONNECTIONS;
            while Instant::now() < end {
                let session = format!("bench-{round}-{c}-{:08}", i / 5);
                let t = Instant::now();
                let r = client
                    .get(format!("{base}{}", paths[i % paths.len()]))
                    .header("x-hc-session", session)
                    .send()
                    .await
                    .expect("request");
                assert!(r.status().is_success());
                r.bytes().await.expect("body");
                out.push(t.elapsed());
                i += 1;
            }
            out
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.extend(done.expect("task"));
    }
    all.sort();
    (all.len() as f64 / seconds, all)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let corpus = match std::env::var("HC_BENCH_CORPUS").ok().as_deref() {
        Some("mdn") => Corpus::Mdn,
        _ => Corpus::DockerDocs,
    };
    let Some(articles) = corpus.articles() else {
        eprintln!(
            "insights_http: skipped, the {} corpus is absent",
            corpus.name()
        );
        return;
    };
    let seconds: f64 = std::env::var("HC_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let url = std::env::var("HC_INSIGHTS_HTTP_DATABASE_URL").unwrap_or_else(|_| {
        "postgres://postgres:postgres@127.0.0.1:5432/helpcenter_insights_http".into()
    });
    let db = Database::new(&DbConfig {
        database_url: url,
        authenticator_url: None,
    })
    .expect("database config");
    db.start();
    let started = Instant::now();
    while !db.is_ready() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "PostgreSQL is not reachable"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let index = tempfile::tempdir().expect("tempdir");
    let kb = Arc::new(KnowledgeBase::new(&articles, index.path().join("index")));
    let report = kb.rebuild(&|_, _| {}).expect("index");
    let recorder = Arc::new(Recorder::new(RecorderSettings::default()));
    recorder.start(db.clone());
    let jwt = Arc::new(helpcenter::auth::JwtKeys::new(
        helpcenter::auth::DEV_SECRET.as_bytes(),
    ));
    let mut on = AppState::new(kb.clone(), Some(db.clone()), jwt.clone());
    on.recorder = recorder.clone();
    let off = AppState::new(kb, Some(db.clone()), jwt);
    let (base_on, base_off) = (serve(on).await, serve(off).await);
    let paths: Arc<Vec<String>> = Arc::new(corpus.queries().iter().map(|q| q.api_path()).collect());
    println!(
        "insights_http: {} ({} articles), {CONNECTIONS} connections, {seconds} s a series",
        corpus.name(),
        report.articles
    );
    // Warm-up of both (the snapshot's caches), then off, on, off, on.
    load(&base_off, &paths, 1.0, 0).await;
    load(&base_on, &paths, 1.0, 0).await;
    println!("| recording | req/s | p50 ms | p99 ms |");
    println!("| --- | --- | --- | --- |");
    let mut sums = [(0.0, 0.0), (0.0, 0.0)];
    for round in 1..=2 {
        for (which, base) in [(0usize, &base_off), (1, &base_on)] {
            let (rate, lat) = load(base, &paths, seconds, round).await;
            let p50 = ms(percentile(&lat, 0.5));
            println!(
                "| {} | {rate:.0} | {p50:.3} | {:.3} |",
                if which == 1 { "on" } else { "off" },
                ms(percentile(&lat, 0.99))
            );
            sums[which].0 += rate;
            sums[which].1 += p50;
        }
    }
    recorder.flush(&db).await;
    let status = recorder.status();
    println!(
        "recording on vs off: throughput {:+.1}%, p50 {:+.1}%; recorder: written {}, dropped {}, queued {}",
        (sums[1].0 / sums[0].0 - 1.0) * 100.0,
        (sums[1].1 / sums[0].1 - 1.0) * 100.0,
        status.written,
        status.dropped,
        status.queued
    );
}
