//! Relevance on BEIR SciFact and NFCorpus with the product's default settings, through
//! the same library path as `helpcenter eval beir`. A missing corpus fails the test in CI
//! and is reported as skipped elsewhere (`common::shared_corpus`).

mod common;

use helpcenter::eval::{self, beir, QueryForm};
use helpcenter::kb::search::SearchSettings;

/// Above every BM25 figure known on SciFact: the BEIR paper's 0.665 and bm25s's 0.679
/// (README, Performance, Relevance).
const SCIFACT_TARGET: f64 = 0.68;
/// Above every BM25 figure known on NFCorpus: the BEIR paper's 0.325 and bm25s's 0.319.
const NFCORPUS_TARGET: f64 = 0.33;

#[test]
fn scifact_ndcg_at_10_meets_the_target_with_default_settings() {
    meets_the_target("beir-scifact", "SciFact", 300, SCIFACT_TARGET);
}

#[test]
fn nfcorpus_ndcg_at_10_meets_the_target_with_default_settings() {
    meets_the_target("beir-nfcorpus", "NFCorpus", 323, NFCORPUS_TARGET);
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
    let row = eval::evaluate_beir(&dataset, &SearchSettings::default(), QueryForm::Plain)
        .expect("the evaluation runs");
    eprintln!(
        "{name}: nDCG@10 {:.4}, MRR@10 {:.4}, Recall@100 {:.4} ({} docs indexed in {:.1}s, queries in {:.1}s)",
        row.scores.ndcg_at_10,
        row.scores.mrr_at_10,
        row.scores.recall_at_100,
        dataset.docs.len(),
        row.index_seconds,
        row.query_seconds
    );
    assert!(
        row.scores.ndcg_at_10 >= target,
        "{name} nDCG@10 {:.4} is below {target}",
        row.scores.ndcg_at_10
    );
}
