//! A customer asks in their own words and finds the article that answers it by
//! meaning (hybrid search), over real HTTP, files and index; the query language and
//! the zero-result promise hold for semantic matches too.

mod common;

use std::time::Duration;

use common::{articles_dir, hit_slugs, spawn_app, urlencode, wait_until, TestApp};
use helpcenter::kb::search::SearchRequest;
use helpcenter::kb::KnowledgeBase;

fn article(title: &str, body: &str) -> String {
    format!("---\ntitle: {title}\n---\n\n{body}\n")
}

const TRACKING: &str = "Follow your delivery on its way to you with the tracking number \
    from the carrier's email. A delayed shipment usually moves again within two days.";

/// A small help center where the question "my package has not arrived yet" shares
/// words with three articles that do not answer it ("package", "arrived", "yet") and
/// none with the one that does.
fn help_center(tracking_body: &str) -> tempfile::TempDir {
    articles_dir(&[
        (
            "account/reset-password.md",
            &article(
                "Reset your password",
                "If you forgot your password and no email has come yet, ask for a reset link.",
            ),
        ),
        (
            "billing/refunds.md",
            &article(
                "Refunds",
                "Money goes back to the card you paid with once the returned item has arrived.",
            ),
        ),
        (
            "shipping/track-a-parcel.md",
            &article("Where is my parcel", tracking_body),
        ),
        (
            "shipping/customs.md",
            &article(
                "Customs declarations",
                "International parcels need a form listing their contents and value.",
            ),
        ),
        (
            "orders/gift-wrap.md",
            &article(
                "Gift wrapping",
                "Choose a ribbon and paper when you order; we wrap the package by hand.",
            ),
        ),
    ])
}

const QUESTION: &str = "my package has not arrived yet";

async fn search(app: &TestApp, query: &str) -> serde_json::Value {
    app.search(query).await
}

#[tokio::test]
async fn a_question_finds_the_article_that_answers_it_without_sharing_its_words() {
    let dir = help_center(TRACKING);
    let app = spawn_app(dir.path()).await;
    let q = urlencode(QUESTION);
    let lexical = hit_slugs(&search(&app, &format!("q={q}&semantic_ratio=0")).await);
    assert!(
        !lexical.is_empty(),
        "words alone find the articles sharing them"
    );
    assert!(
        !lexical.contains(&"shipping/track-a-parcel".to_string()),
        "words alone miss the answer: {lexical:?}"
    );
    // The default ratio (0.4) keeps the articles sharing the words first and adds the
    // answer on the same page; leaning on meaning puts it first.
    let hybrid = search(&app, &format!("q={q}")).await;
    let found = hit_slugs(&hybrid);
    assert!(
        found.iter().any(|s| s == "shipping/track-a-parcel"),
        "{found:?}"
    );
    let tracking = hybrid["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["slug"] == "shipping/track-a-parcel")
        .unwrap();
    assert!(
        tracking["snippet"]
            .as_str()
            .unwrap()
            .contains("tracking number"),
        "a semantic match shows its nearest section: {tracking}"
    );
    assert_eq!(
        hybrid["total"].as_u64(),
        Some(found.len() as u64),
        "{hybrid}"
    );
    let semantic = search(&app, &format!("q={q}&semantic_ratio=1")).await;
    assert_eq!(hit_slugs(&semantic)[0], "shipping/track-a-parcel");
}

#[tokio::test]
async fn gibberish_still_finds_nothing() {
    let dir = help_center(TRACKING);
    let app = spawn_app(dir.path()).await;
    for ratio in ["", "&semantic_ratio=0.5", "&semantic_ratio=1"] {
        let json = search(&app, &format!("q=qzxv+blorptang{ratio}")).await;
        assert_eq!(json["total"], 0, "{ratio}: {json}");
        assert!(json["hits"].as_array().unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_category_filter_holds_for_semantic_matches() {
    let dir = help_center(TRACKING);
    let app = spawn_app(dir.path()).await;
    let q = urlencode(QUESTION);
    let json = search(&app, &format!("q={q}&category=orders&semantic_ratio=1")).await;
    assert_eq!(hit_slugs(&json), vec!["orders/gift-wrap"], "{json}");
    assert_eq!(json["total"], 1);
    let categories = &json["facets"]["category"];
    assert!(
        categories.to_string().contains("orders") && !categories.to_string().contains("shipping"),
        "facets count what is shown: {categories}"
    );
}

#[tokio::test]
async fn an_exclusion_and_a_phrase_hold_for_semantic_matches() {
    let dir = help_center(TRACKING);
    let app = spawn_app(dir.path()).await;
    let q = urlencode(&format!("{QUESTION} -tracking"));
    let excluded = hit_slugs(&search(&app, &format!("q={q}&semantic_ratio=1")).await);
    assert!(
        !excluded.contains(&"shipping/track-a-parcel".to_string()),
        "{excluded:?}"
    );
    let q = urlencode(&format!("{QUESTION} \"by hand\""));
    let phrase = hit_slugs(&search(&app, &format!("q={q}&semantic_ratio=1")).await);
    assert_eq!(phrase, vec!["orders/gift-wrap"]);
}

#[tokio::test]
async fn an_edit_changes_the_articles_vector() {
    let dir = help_center("Pick a colour theme for the dashboard in your settings.");
    let app = spawn_app(dir.path()).await;
    let q = urlencode(QUESTION);
    let before = hit_slugs(&search(&app, &format!("q={q}&semantic_ratio=1")).await);
    assert!(
        !before.contains(&"shipping/track-a-parcel".to_string()),
        "{before:?}"
    );
    std::fs::write(
        app.articles.join("shipping/track-a-parcel.md"),
        article("Where is my parcel", TRACKING),
    )
    .unwrap();
    wait_until(Duration::from_secs(20), || async {
        let found = hit_slugs(&search(&app, &format!("q={q}&semantic_ratio=1")).await);
        found.first().map(String::as_str) == Some("shipping/track-a-parcel")
    })
    .await;
}

#[tokio::test]
async fn semantic_ratio_outside_zero_to_one_is_a_problem_naming_it() {
    let dir = help_center(TRACKING);
    let app = spawn_app(dir.path()).await;
    for bad in ["2", "-0.1", "half", "NaN"] {
        let (status, json, content_type) = app
            .get(&format!("/api/v1/search?q=parcel&semantic_ratio={bad}"))
            .await;
        assert_eq!(status, 400, "{bad}: {json}");
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(
            json["invalid_params"][0]["name"], "semantic_ratio",
            "{json}"
        );
    }
}

#[test]
fn a_restart_reuses_the_section_vectors_and_a_missing_vector_file_rebuilds() {
    let dir = help_center(TRACKING);
    let index = tempfile::tempdir().unwrap();
    let question = SearchRequest {
        q: QUESTION.into(),
        limit: 10,
        semantic_ratio: Some(1.0),
        ..SearchRequest::default()
    };
    let first = KnowledgeBase::new(dir.path(), index.path());
    assert!(!first.open_or_build(&|_, _| {}).unwrap().reused);
    let answer = first.search(&question).unwrap().hits[0].slug.clone();
    assert_eq!(answer, "shipping/track-a-parcel");
    drop(first);

    let again = KnowledgeBase::new(dir.path(), index.path());
    assert!(
        again.open_or_build(&|_, _| {}).unwrap().reused,
        "a restart reuses the index"
    );
    assert_eq!(again.search(&question).unwrap().hits[0].slug, answer);
    drop(again);

    let current = std::fs::read_to_string(index.path().join("CURRENT")).unwrap();
    std::fs::remove_file(index.path().join(current.trim()).join("vectors.bin")).unwrap();
    let rebuilt = KnowledgeBase::new(dir.path(), index.path());
    assert!(
        !rebuilt.open_or_build(&|_, _| {}).unwrap().reused,
        "a generation without its vectors is rebuilt"
    );
    assert_eq!(rebuilt.search(&question).unwrap().hits[0].slug, answer);
}

#[tokio::test]
async fn pages_of_a_hybrid_search_neither_overlap_nor_skip_an_article() {
    let dir = help_center(TRACKING);
    let app = spawn_app(dir.path()).await;
    let q = urlencode(QUESTION);
    let whole = hit_slugs(&search(&app, &format!("q={q}&limit=10")).await);
    assert!(whole.len() >= 3, "{whole:?}");
    let mut paged = Vec::new();
    for offset in (0..whole.len()).step_by(2) {
        paged.extend(hit_slugs(
            &search(&app, &format!("q={q}&limit=2&offset={offset}")).await,
        ));
    }
    assert_eq!(paged, whole);
}
