//! What audiences cost a search, in process, on MDN (`../shared/corpora/mdn`): the same
//! articles indexed twice, once all public and once with audiences given to a share of
//! them (every 10th article `gold`, every 20th `staff`, every 25th `signed-in`: 19% of
//! the articles restricted), and the query list of `benches/queries/mdn.txt` run by
//! four readers, interleaved round by round so that the machine's drift falls on all
//! of them alike:
//!
//! * anonymous, all public: what search cost before audiences;
//! * anonymous, with restricted articles (the target: the same cost);
//! * a signed-in customer with segment `gold` (target: at most 10% more);
//! * staff (reads everything: no filter).
//!
//! Run: `cargo bench --bench audiences` (`HC_BENCH_ROUNDS`, default 20). A missing
//! corpus is skipped.

#[allow(dead_code)]
mod common;

use std::time::{Duration, Instant};

use common::{ms, percentile, Corpus};
use helpcenter::kb::audience::{Audience, Reader};
use helpcenter::kb::loader::load_articles;
use helpcenter::kb::search::SearchRequest;
use helpcenter::kb::KnowledgeBase;

fn main() {
    let Some(folder) = Corpus::Mdn.articles() else {
        eprintln!("audiences: skipped, ../shared/corpora/mdn/articles is absent");
        return;
    };
    let rounds: usize = std::env::var("HC_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let loaded = load_articles(&folder).expect("the corpus loads");
    let public = KnowledgeBase::new(&folder, "unused");
    public
        .index_articles_in_memory(&loaded.articles)
        .expect("index builds");
    let mut restricted_articles = loaded.articles.clone();
    let mut restricted = 0;
    for (i, a) in restricted_articles.iter_mut().enumerate() {
        let name = if i % 10 == 0 {
            "gold"
        } else if i % 20 == 5 {
            "staff"
        } else if i % 25 == 3 {
            "signed-in"
        } else {
            continue;
        };
        a.audience = Audience::from_names([name]).expect("a valid name");
        a.audience_in_front_matter = true;
        restricted += 1;
    }
    let with_audiences = KnowledgeBase::new(&folder, "unused");
    with_audiences
        .index_articles_in_memory(&restricted_articles)
        .expect("index builds");
    println!(
        "audiences: {} articles, {restricted} restricted ({:.0}%)",
        restricted_articles.len(),
        100.0 * restricted as f64 / restricted_articles.len() as f64
    );
    let queries: Vec<SearchRequest> = Corpus::Mdn.queries().iter().map(|q| q.request()).collect();
    let gold = Reader::signed_in(["gold"]);
    let runs: [(&str, &KnowledgeBase, Reader); 4] = [
        ("anonymous, all public (before)", &public, Reader::Anonymous),
        (
            "anonymous, 19% restricted",
            &with_audiences,
            Reader::Anonymous,
        ),
        ("signed-in gold, 19% restricted", &with_audiences, gold),
        ("staff, 19% restricted", &with_audiences, Reader::Staff),
    ];
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); runs.len()];
    // One warm-up round each (the snapshot's word and meaning caches fill as real
    // traffic fills them), then interleaved rounds.
    for round in 0..=rounds {
        for (i, (_, kb, reader)) in runs.iter().enumerate() {
            for q in &queries {
                let req = SearchRequest {
                    reader: reader.clone(),
                    ..q.clone()
                };
                let t = Instant::now();
                std::hint::black_box(kb.search(&req).expect("search"));
                if round > 0 {
                    samples[i].push(t.elapsed());
                }
            }
        }
    }
    let base = {
        let mut s = samples[0].clone();
        s.sort();
        s.iter().sum::<Duration>().as_secs_f64() / s.len() as f64
    };
    println!("| reader | p50 ms | p99 ms | mean ms | mean vs before |");
    println!("| --- | --- | --- | --- | --- |");
    for ((name, ..), mut s) in runs.iter().zip(samples) {
        s.sort();
        let mean = s.iter().sum::<Duration>().as_secs_f64() / s.len() as f64;
        println!(
            "| {name} | {:.3} | {:.3} | {:.3} | {:+.1}% |",
            ms(percentile(&s, 0.5)),
            ms(percentile(&s, 0.99)),
            mean * 1000.0,
            (mean / base - 1.0) * 100.0
        );
    }
}
