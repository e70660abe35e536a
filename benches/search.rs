//! In-process search latency on the MDN corpus (`../shared/corpora/mdn`), with typo
//! tolerance and prefix matching on, snippets and facets included, as the API runs it.
//!
//! Run: `cargo bench --bench search`. Prints the index build time and the latency
//! distribution (p50/p95/p99 over every query of `benches/queries/mdn.txt`, 30 rounds),
//! then criterion's per-kind measurements.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use helpcenter::kb::search::SearchRequest;
use helpcenter::kb::types::Category;
use helpcenter::kb::KnowledgeBase;

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora/mdn/articles");
    p.is_dir().then_some(p)
}

fn queries() -> Vec<SearchRequest> {
    let text = include_str!("queries/mdn.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (category, q) = match line.split_once(" | ") {
                Some((filter, q)) => (
                    filter
                        .strip_prefix("category=")
                        .and_then(|c| Category::parse(c).ok()),
                    q,
                ),
                None => (None, line),
            };
            SearchRequest {
                q: q.to_string(),
                category,
                limit: 10,
                ..Default::default()
            }
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn bench(c: &mut Criterion) {
    let Some(mdn) = corpus() else {
        eprintln!("skipped: ../shared/corpora/mdn is absent");
        return;
    };
    let index = tempfile::tempdir().expect("temp dir");
    let kb = KnowledgeBase::new(&mdn, index.path().join("index"));
    let started = Instant::now();
    let report = kb.rebuild(&|_, _| {}).expect("index builds");
    println!(
        "index build: {} articles in {:.2} s ({:.0} articles/s)",
        report.articles,
        started.elapsed().as_secs_f64(),
        report.articles as f64 / started.elapsed().as_secs_f64()
    );
    let queries = queries();
    for q in &queries {
        kb.search(q).expect("search");
    }
    let mut samples = Vec::new();
    let mut worst = (Duration::ZERO, String::new());
    for _ in 0..30 {
        for q in &queries {
            let t = Instant::now();
            let r = kb.search(q).expect("search");
            let d = t.elapsed();
            std::hint::black_box(r);
            if d > worst.0 {
                worst = (d, q.q.clone());
            }
            samples.push(d);
        }
    }
    samples.sort();
    println!(
        "search latency over {} queries x 30 rounds ({} samples): p50 {:?}  p95 {:?}  p99 {:?}  max {:?} ({:?})",
        queries.len(),
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.95),
        percentile(&samples, 0.99),
        worst.0,
        worst.1
    );

    let mut group = c.benchmark_group("search_mdn");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    let mut i = 0;
    group.bench_function("all_queries_round_robin", |b| {
        b.iter(|| {
            let q = &queries[i % queries.len()];
            i += 1;
            kb.search(q).expect("search")
        })
    });
    for (name, q) in [
        ("one_word", "flexbox"),
        ("two_words", "grid layout"),
        ("typo", "javascirpt closures"),
        ("prefix", "intersection obs"),
        ("phrase", "\"event loop\""),
    ] {
        let req = SearchRequest {
            q: q.to_string(),
            limit: 10,
            ..Default::default()
        };
        group.bench_function(name, |b| b.iter(|| kb.search(&req).expect("search")));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
