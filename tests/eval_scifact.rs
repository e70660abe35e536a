//! Relevance on BEIR SciFact with the product's default settings, through the same
//! library path as `helpcenter eval beir`. Skipped when the corpus is absent.

mod common;

use helpcenter::eval::{self, beir, QueryForm};
use helpcenter::kb::search::SearchSettings;

/// Above every BM25 figure known on this set: the BEIR paper's 0.665 and bm25s's
/// 0.679 (README, Performance, Relevance).
const TARGET_NDCG_AT_10: f64 = 0.68;

#[test]
fn scifact_ndcg_at_10_meets_the_target_with_default_settings() {
    let Some(dir) = common::shared_corpus("beir-scifact") else {
        eprintln!("skipped: ../shared/corpora/beir-scifact is absent");
        return;
    };
    let dataset = beir::load(&dir).expect("the SciFact dataset loads");
    assert_eq!(dataset.queries.len(), 300, "BEIR's SciFact test set");
    let row = eval::evaluate_beir(&dataset, &SearchSettings::default(), QueryForm::Plain)
        .expect("the evaluation runs");
    eprintln!(
        "SciFact: nDCG@10 {:.4}, MRR@10 {:.4}, Recall@100 {:.4} ({} docs indexed in {:.1}s, queries in {:.1}s)",
        row.scores.ndcg_at_10,
        row.scores.mrr_at_10,
        row.scores.recall_at_100,
        dataset.docs.len(),
        row.index_seconds,
        row.query_seconds
    );
    assert!(
        row.scores.ndcg_at_10 >= TARGET_NDCG_AT_10,
        "SciFact nDCG@10 {:.4} is below {TARGET_NDCG_AT_10}",
        row.scores.ndcg_at_10
    );
}
