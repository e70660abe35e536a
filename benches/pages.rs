//! Server-side time of the search page (`GET /search?q=`) on the MDN corpus: routing,
//! the search, the template and the response body, in process (no network), for every
//! query of `benches/queries/mdn.txt`. Issue 7's target: under 5 ms at p50.
//!
//! Run: `cargo bench --bench pages` (`HC_BENCH_CORPUS=docker-docs` for the other
//! corpus). Skipped when the corpus is absent.

#[allow(dead_code)]
mod common;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::Request;
use common::{p50_p95_p99, search_group, Corpus};
use criterion::{criterion_group, criterion_main, Criterion};
use helpcenter::http::{router, AppState};
use helpcenter::kb::KnowledgeBase;
use http_body_util::BodyExt;
use tower::ServiceExt;

fn bench_pages(c: &mut Criterion) {
    let corpus = match std::env::var("HC_BENCH_CORPUS") {
        Ok(name) if !name.is_empty() => Corpus::parse(&name).expect("mdn or docker-docs"),
        _ => Corpus::Mdn,
    };
    let name = corpus.name();
    let Some(articles) = corpus.articles() else {
        eprintln!("{name}: skipped, ../shared/corpora/{name}/articles is absent");
        return;
    };
    let index = tempfile::tempdir().expect("temp dir");
    let kb = Arc::new(KnowledgeBase::new(&articles, index.path().join("index")));
    kb.rebuild(&|_, _| {}).expect("index builds");
    let app = router(AppState::knowledge_base_only(kb));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let paths: Vec<String> = corpus
        .queries()
        .iter()
        .map(|q| q.api_path().replacen("/api/v1/search", "/search", 1))
        .collect();
    let render = |path: &str| {
        let app = app.clone();
        let request = Request::get(path).body(Body::empty()).unwrap();
        runtime.block_on(async move {
            let response = app.oneshot(request).await.unwrap();
            assert_eq!(response.status(), 200, "{}", response.status());
            response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .len()
        })
    };
    let mut bytes = 0;
    for p in &paths {
        bytes += render(p);
    }
    let mut samples = Vec::new();
    for _ in 0..20 {
        for p in &paths {
            let t = Instant::now();
            std::hint::black_box(render(p));
            samples.push(t.elapsed());
        }
    }
    samples.sort();
    println!(
        "{name}: search page over {} queries x 20 rounds: {}  (mean page {} bytes)",
        paths.len(),
        p50_p95_p99(&samples),
        bytes / paths.len().max(1)
    );
    let mut group = search_group(c, format!("search_page_{}", name.replace('-', "_")));
    let mut i = 0;
    group.bench_function("all_queries_round_robin", |b| {
        b.iter(|| {
            let p = &paths[i % paths.len()];
            i += 1;
            render(p)
        })
    });
    group.finish();
}

criterion_group!(benches, bench_pages);
criterion_main!(benches);
