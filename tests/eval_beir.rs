//! Relevance on BEIR SciFact and NFCorpus with the product's default settings, through
//! the same library path as `helpcenter eval beir`. A missing corpus fails the test in CI
//! and is reported as skipped elsewhere (`common::shared_corpus`).
//!
//! The judged queries are split once by a fixed rule on their id (`beir::Half::of`):
//! the development half is what ranking is tuned on, and the held-out half, which no
//! tuning looks at, is what these tests hold to a target. Both are printed.

mod common;

use helpcenter::eval::beir::{self, Half};
use helpcenter::eval::{self, QueryForm};
use helpcenter::kb::search::SearchSettings;

// The targets are set from BM25, not from the product's own figures: each is the next
// hundredth above plain BM25 as the BEIR paper configures it (k1 1.2, b 0.75), measured
// on the same held-out half by `scripts/bm25-reference.py`. Measured with the defaults
// (README, Relevance): SciFact dev 0.6670, held-out 0.7051; NFCorpus dev 0.3298,
// held-out 0.3360. The dev figures are what tuning (k1, b, boosts) may look at; only
// the held-out ones are asserted.

/// BM25 on SciFact's held-out half: 0.6965 (bm25s with its own default k1 1.5: 0.7097,
/// above the product's 0.7051; README says so).
const SCIFACT_HELD_OUT_TARGET: f64 = 0.70;
/// BM25 on NFCorpus's held-out half: 0.3208 (0.3244 with k1 1.5).
const NFCORPUS_HELD_OUT_TARGET: f64 = 0.33;

#[test]
fn scifact_ndcg_at_10_on_the_held_out_half_meets_the_target_with_default_settings() {
    meets_the_target("beir-scifact", "SciFact", 300, SCIFACT_HELD_OUT_TARGET);
}

#[test]
fn nfcorpus_ndcg_at_10_on_the_held_out_half_meets_the_target_with_default_settings() {
    meets_the_target("beir-nfcorpus", "NFCorpus", 323, NFCORPUS_HELD_OUT_TARGET);
}

fn meets_the_target(folder: &str, name: &str, test_queries: usize, target: f64) {
    let Some(dir) = common::shared_corpus(folder) else {
        return; // reported by shared_corpus
    };
    let dataset = beir::load(&dir).expect("the dataset loads");
    assert_eq!(
        dataset.queries.len(),
        test_queries,
        "BEIR's {name} test set"
    );
    let held_out = dataset.qrels_of(Some(Half::HeldOut)).len();
    assert!(
        (test_queries / 3..=test_queries * 2 / 3).contains(&held_out),
        "{held_out} of {test_queries} queries held out: the split is not halves"
    );
    let row = eval::evaluate_beir(&dataset, &SearchSettings::default(), QueryForm::Plain)
        .expect("the evaluation runs");
    let s = &row.scores;
    eprintln!(
        "{name}: nDCG@10 {:.4} (dev {:.4} on {} queries, held-out {:.4} on {}), MRR@10 {:.4}, \
         Recall@100 {:.4} ({} docs indexed in {:.1}s, queries in {:.1}s)",
        s.all.ndcg_at_10,
        s.dev.ndcg_at_10,
        s.dev.queries,
        s.held_out.ndcg_at_10,
        s.held_out.queries,
        s.all.mrr_at_10,
        s.all.recall_at_100,
        dataset.docs.len(),
        row.index_seconds,
        row.query_seconds
    );
    assert_eq!(s.held_out.queries, held_out);
    assert!(
        s.held_out.ndcg_at_10 >= target,
        "{name} nDCG@10 on the held-out half {:.4} is below {target}",
        s.held_out.ndcg_at_10
    );
}
