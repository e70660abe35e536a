//! Property test: the search box never fails on what a person types.

mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use helpcenter::kb::query::parse_query;
use helpcenter::kb::search::SearchRequest;
use helpcenter::kb::KnowledgeBase;
use proptest::prelude::*;

fn kb() -> &'static KnowledgeBase {
    static KB: OnceLock<(KnowledgeBase, tempfile::TempDir)> = OnceLock::new();
    &KB.get_or_init(|| {
        let index = tempfile::tempdir().unwrap();
        let kb = KnowledgeBase::new(common::demo_articles(), index.path().join("index"));
        kb.open_or_build(&|_, _| {}).unwrap();
        (kb, index)
    })
    .0
}

fn search_never_fails(q: &str) -> Result<(), TestCaseError> {
    let started = Instant::now();
    let result = kb().search(&SearchRequest {
        q: q.to_string(),
        limit: 10,
        ..Default::default()
    });
    prop_assert!(result.is_ok(), "{q:?}: {:?}", result.err());
    prop_assert!(
        started.elapsed() < Duration::from_secs(2),
        "{q:?} took {:?}",
        started.elapsed()
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn any_text_up_to_512_characters(q in "\\PC{0,512}") {
        let _ = parse_query(&q);
        search_never_fails(&q)?;
    }

    #[test]
    fn operators_quotes_and_control_characters(q in "[\"\\-+:()\\^*~?\\[\\]{}!&|\\\\/ a-z0-9\u{0}-\u{1f}\u{7f}é🎉]{0,512}") {
        search_never_fails(&q)?;
    }

    #[test]
    fn words_from_the_articles_with_noise(words in proptest::collection::vec("(invoice|label|\"|-|two|passw|2fa|ship|\\*|:|é)", 0..40)) {
        search_never_fails(&words.join(" "))?;
    }
}
