//! Known-item relevance on the Docker docs with the product's default settings: the
//! committed queries of `eval/docker-docs-known-items.tsv`, as `helpcenter eval
//! known-items` scores them. A missing corpus fails the test in CI and is reported as
//! skipped elsewhere (`common::shared_corpus`).

mod common;

use std::path::Path;

use helpcenter::eval::known_items;
use helpcenter::kb::search::SearchSettings;

/// The target: a customer finds the answer in the top 3 for 85% of the queries.
const TARGET_HIT_AT_3: f64 = 0.85;

#[test]
fn docker_docs_known_items_hit_at_3_meets_the_target() {
    let Some(corpus) = common::shared_corpus("docker-docs") else {
        return; // reported by shared_corpus
    };
    let queries = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/docker-docs-known-items.tsv");
    let report = known_items::evaluate(
        &corpus.join("articles"),
        &queries,
        &SearchSettings::default(),
    )
    .expect("the evaluation runs");
    eprint!("{}", known_items::table(&report, true));
    assert!(report.all.queries >= 60, "at least 60 queries");
    assert!(
        report.all.hit_at_3 >= TARGET_HIT_AT_3,
        "hit@3 {:.3} is below {TARGET_HIT_AT_3}",
        report.all.hit_at_3
    );
}

/// A floor under today's hybrid search (the default) on the held-out half of the
/// queries written in customers' words (`eval/docker-docs-users-heldout.tsv`): hit@3
/// 0.814 when hybrid search landed, 0.797 since the ranking changes of commit b4ba74f
/// (chosen on the tuning half), 0.678 with words alone. A ranking change may not go
/// below the floor. The target (0.90) is not met; README,
/// Relevance. Tune on `docker-docs-users-tune.tsv`, never on this half.
const USERS_HELDOUT_FLOOR_HIT_AT_3: f64 = 0.79;

#[test]
fn docker_docs_questions_in_customers_words_keep_hybrid_searchs_held_out_hit_at_3() {
    let Some(corpus) = common::shared_corpus("docker-docs") else {
        return; // reported by shared_corpus
    };
    let queries = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/docker-docs-users-heldout.tsv");
    let report = known_items::evaluate(
        &corpus.join("articles"),
        &queries,
        &SearchSettings::default(),
    )
    .expect("the evaluation runs");
    eprint!("{}", known_items::table(&report, false));
    assert!(report.all.queries >= 50, "at least 50 held-out queries");
    assert!(
        report.all.hit_at_3 >= USERS_HELDOUT_FLOOR_HIT_AT_3,
        "held-out hit@3 {:.3} is below {USERS_HELDOUT_FLOOR_HIT_AT_3}",
        report.all.hit_at_3
    );
}
