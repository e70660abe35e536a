//! In-process search latency on the MDN and Docker documentation corpora
//! (`../shared/corpora/{mdn,docker-docs}`), with typo tolerance and prefix matching on,
//! snippets and facets included, as the API runs it. A corpus that is absent is skipped.
//!
//! Run: `cargo bench --bench search` (both corpora), or with `HC_BENCH_CORPUS=mdn` or
//! `HC_BENCH_CORPUS=docker-docs` for one. For each corpus it prints the index build time
//! and the latency distribution (p50/p95/p99 over every query of
//! `benches/queries/<corpus>.txt`, 30 rounds), then criterion's measurements: every
//! query round robin, and one query of each kind.

// Shared with the other search bench; each uses only part of it.
#[allow(dead_code)]
mod common;

use std::time::{Duration, Instant};

use common::{p50_p95_p99, percentile, search_group, Corpus};
use criterion::{criterion_group, criterion_main, Criterion};
use helpcenter::kb::search::SearchRequest;
use helpcenter::kb::KnowledgeBase;

/// One query of each kind per corpus, measured on its own by criterion.
fn kinds(corpus: Corpus) -> [(&'static str, &'static str); 5] {
    match corpus {
        Corpus::Mdn => [
            ("one_word", "flexbox"),
            ("two_words", "grid layout"),
            ("typo", "javascirpt closures"),
            ("prefix", "intersection obs"),
            ("phrase", "\"event loop\""),
        ],
        Corpus::DockerDocs => [
            ("one_word", "healthcheck"),
            ("two_words", "bind mount"),
            ("typo", "enviroment variables"),
            ("prefix", "multi-sta"),
            ("phrase", "\"build context\""),
        ],
    }
}

fn selected_corpora() -> Vec<Corpus> {
    match std::env::var("HC_BENCH_CORPUS") {
        Ok(name) if !name.is_empty() => vec![Corpus::parse(&name).unwrap_or_else(|| {
            panic!("HC_BENCH_CORPUS: unknown corpus {name:?} (mdn or docker-docs)")
        })],
        _ => Corpus::ALL.to_vec(),
    }
}

fn bench_corpus(c: &mut Criterion, corpus: Corpus) {
    let name = corpus.name();
    let Some(articles) = corpus.articles() else {
        eprintln!("{name}: skipped, ../shared/corpora/{name}/articles is absent");
        return;
    };
    let index = tempfile::tempdir().expect("temp dir");
    let kb = KnowledgeBase::new(&articles, index.path().join("index"));
    let started = Instant::now();
    let report = kb.rebuild(&|_, _| {}).expect("index builds");
    println!(
        "{name}: index build: {} articles in {:.2} s ({:.0} articles/s)",
        report.articles,
        started.elapsed().as_secs_f64(),
        report.articles as f64 / started.elapsed().as_secs_f64()
    );
    let queries: Vec<SearchRequest> = corpus.queries().iter().map(|q| q.request()).collect();
    // First sight of each query: its words are not yet in the snapshot's expansion
    // cache (the later rounds show repeated queries, as real traffic repeats them).
    let mut first_sight: Vec<Duration> = queries
        .iter()
        .map(|q| {
            let t = Instant::now();
            kb.search(q).expect("search");
            t.elapsed()
        })
        .collect();
    first_sight.sort();
    println!(
        "{name}: first sight of each query (words not yet expanded), {} samples: {}",
        first_sight.len(),
        p50_p95_p99(&first_sight),
    );
    let mut samples = Vec::new();
    let mut per_query: Vec<Vec<Duration>> = vec![Vec::new(); queries.len()];
    let mut worst = (Duration::ZERO, String::new());
    for _ in 0..30 {
        for (k, q) in queries.iter().enumerate() {
            let t = Instant::now();
            let r = kb.search(q).expect("search");
            let d = t.elapsed();
            std::hint::black_box(r);
            if d > worst.0 {
                worst = (d, q.q.clone());
            }
            samples.push(d);
            per_query[k].push(d);
        }
    }
    samples.sort();
    println!(
        "{name}: search latency over {} queries x 30 rounds ({} samples): {}  max {:?} ({:?})",
        queries.len(),
        samples.len(),
        p50_p95_p99(&samples),
        worst.0,
        worst.1
    );
    // The tail of the distribution is a few queries, not noise: name them.
    let mut medians: Vec<(Duration, &str)> = per_query
        .iter_mut()
        .zip(&queries)
        .map(|(v, q)| {
            v.sort();
            (percentile(v, 0.5), q.q.as_str())
        })
        .collect();
    medians.sort_by_key(|m| std::cmp::Reverse(m.0));
    let slowest: Vec<String> = medians
        .iter()
        .take(5)
        .map(|(d, q)| format!("{q:?} {d:?}"))
        .collect();
    println!("{name}: slowest queries (median): {}", slowest.join(", "));

    // The group names keep their history: `search_mdn` is the MDN group of old runs.
    let group_name = format!("search_{}", name.replace('-', "_"));
    let mut group = search_group(c, group_name);
    let mut i = 0;
    group.bench_function("all_queries_round_robin", |b| {
        b.iter(|| {
            let q = &queries[i % queries.len()];
            i += 1;
            kb.search(q).expect("search")
        })
    });
    for (kind, q) in kinds(corpus) {
        let req = SearchRequest {
            q: q.to_string(),
            limit: 10,
            ..Default::default()
        };
        group.bench_function(kind, |b| b.iter(|| kb.search(&req).expect("search")));
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    for corpus in selected_corpora() {
        bench_corpus(c, corpus);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
