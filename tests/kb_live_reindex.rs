//! Writers change files under a running server; customers see the change within a
//! moment, and a broken file never takes search down. Each test waits by bounded
//! polling for search (over HTTP) to reflect the change.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{articles_dir, spawn_app, wait_until, TestApp};

/// Long enough for a loaded CI machine; the watcher normally takes well under a second.
const LIMIT: Duration = Duration::from_secs(20);

fn article(title: &str, body: &str) -> String {
    format!("---\ntitle: {title}\n---\n\n{body}\n")
}

async fn app_with(files: &[(&str, &str)]) -> (TestApp, tempfile::TempDir) {
    let dir = articles_dir(files);
    let app = spawn_app(dir.path()).await;
    (app, dir)
}

async fn wait_for_watcher(app: &TestApp) {
    wait_until(LIMIT, || async {
        let (_, status, _) = app.get("/api/v1/index/status").await;
        status["watcher"]["state"] == "watching" && status["watcher"]["last_full_sync"].is_string()
    })
    .await;
}

async fn wait_for_slugs(app: &TestApp, q: &str, expect: &[&str]) {
    wait_until(LIMIT, || async {
        let slugs = app.slugs_for(q).await;
        slugs == expect
    })
    .await;
}

fn write(root: &Path, rel: &str, text: &str) {
    let full = root.join(rel);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, text).unwrap();
}

#[tokio::test]
async fn a_new_article_is_found_after_the_writer_saves_it() {
    let (app, _d) = app_with(&[("a.md", &article("Alpha", "first words"))]).await;
    wait_for_watcher(&app).await;
    assert!(app.slugs_for("pelican").await.is_empty());
    write(
        &app.articles,
        "birds/pelican.md",
        &article("Pelican care", "Pelicans eat fish."),
    );
    wait_for_slugs(&app, "pelican", &["birds/pelican"]).await;
    let (status, json, _) = app.get("/api/v1/articles/birds/pelican").await;
    assert_eq!(status, 200);
    assert!(json["html"]
        .as_str()
        .unwrap()
        .contains("Pelicans eat fish."));
}

#[tokio::test]
async fn an_edited_article_is_found_by_its_new_words_only() {
    let (app, _d) = app_with(&[(
        "billing/refunds.md",
        &article("Refunds", "Ask for a refund by email."),
    )])
    .await;
    wait_for_watcher(&app).await;
    write(
        &app.articles,
        "billing/refunds.md",
        &article("Refunds", "Ask for a refund through the billing portal."),
    );
    wait_for_slugs(&app, "portal", &["billing/refunds"]).await;
    assert!(
        app.slugs_for("email").await.is_empty(),
        "old words are gone"
    );
    let (_, json, _) = app.get("/api/v1/articles/billing/refunds").await;
    assert!(json["html"].as_str().unwrap().contains("billing portal"));
}

#[tokio::test]
async fn a_deleted_article_disappears_from_search_and_answers_404() {
    let (app, _d) = app_with(&[
        ("keep.md", &article("Keep", "lighthouse")),
        ("gone.md", &article("Gone", "lighthouse keeper")),
    ])
    .await;
    wait_for_watcher(&app).await;
    std::fs::remove_file(app.articles.join("gone.md")).unwrap();
    wait_for_slugs(&app, "lighthouse", &["keep"]).await;
    assert_eq!(app.get("/api/v1/articles/gone").await.0, 404);
}

#[tokio::test]
async fn a_renamed_article_moves_to_its_new_slug() {
    let (app, _d) = app_with(&[("old-name.md", &article("Compass", "magnetic north"))]).await;
    wait_for_watcher(&app).await;
    std::fs::create_dir_all(app.articles.join("travel")).unwrap();
    std::fs::rename(
        app.articles.join("old-name.md"),
        app.articles.join("travel/compass.md"),
    )
    .unwrap();
    wait_for_slugs(&app, "magnetic", &["travel/compass"]).await;
    assert_eq!(app.get("/api/v1/articles/old-name").await.0, 404);
    let (_, status, _) = app.get("/api/v1/index/status").await;
    assert_eq!(status["articles"], 1);
}

#[tokio::test]
async fn an_editors_atomic_save_is_picked_up() {
    let (app, _d) = app_with(&[("faq.md", &article("FAQ", "opening hours"))]).await;
    wait_for_watcher(&app).await;
    // What vim and most editors do: write a temporary file, then rename it over.
    let tmp = app.articles.join(".faq.md.swp");
    std::fs::write(&tmp, article("FAQ", "opening hours and holiday closures")).unwrap();
    std::fs::rename(&tmp, app.articles.join("faq.md")).unwrap();
    wait_for_slugs(&app, "holiday", &["faq"]).await;
}

#[tokio::test]
async fn a_checkout_of_500_files_converges_to_exactly_the_files_on_disk() {
    let (app, _d) = app_with(&[("intro.md", &article("Intro", "welcome"))]).await;
    wait_for_watcher(&app).await;
    for i in 0..500 {
        write(
            &app.articles,
            &format!("bulk/part-{}/page-{i:03}.md", i % 7),
            &article(&format!("Bulk page {i}"), &format!("zebracorn item{i:03}")),
        );
    }
    wait_until(LIMIT, || async {
        app.search("q=zebracorn&limit=1").await["total"] == 500
    })
    .await;
    // Then half of them go away again, as when switching branches.
    for i in (0..500).step_by(2) {
        std::fs::remove_file(
            app.articles
                .join(format!("bulk/part-{}/page-{i:03}.md", i % 7)),
        )
        .unwrap();
    }
    wait_until(LIMIT, || async {
        app.search("q=zebracorn&limit=1").await["total"] == 250
    })
    .await;
    let (_, status, _) = app.get("/api/v1/index/status").await;
    assert_eq!(status["articles"], 251, "{status}");
    assert_eq!(app.slugs_for("item001").await, ["bulk/part-1/page-001"]);
    assert!(app.slugs_for("item002").await.is_empty());
}

#[tokio::test]
async fn a_broken_edit_keeps_the_last_good_version_and_is_reported() {
    let (app, _d) = app_with(&[("setup.md", &article("Setup guide", "install the agent"))]).await;
    wait_for_watcher(&app).await;
    // Front matter that no longer parses.
    write(
        &app.articles,
        "setup.md",
        "---\ntitle: [unclosed\n---\n\ninstall the daemon\n",
    );
    wait_until(LIMIT, || async {
        let (_, status, _) = app.get("/api/v1/index/status").await;
        status["errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["path"] == "setup.md"))
    })
    .await;
    assert_eq!(
        app.slugs_for("agent").await,
        ["setup"],
        "last good version still found"
    );
    assert!(app.slugs_for("daemon").await.is_empty());
    let (_, status, _) = app.get("/api/v1/index/status").await;
    assert_eq!(status["articles"], 1);
    let error = &status["errors"][0];
    assert!(error["line"].as_u64().unwrap() >= 1);
    assert!(!error["message"].as_str().unwrap().is_empty());
    // Fixed: the new version replaces the old and the error clears.
    write(
        &app.articles,
        "setup.md",
        &article("Setup guide", "install the daemon"),
    );
    wait_for_slugs(&app, "daemon", &["setup"]).await;
    let (_, status, _) = app.get("/api/v1/index/status").await;
    assert_eq!(status["errors"], serde_json::json!([]));
}

#[tokio::test]
async fn a_new_file_that_does_not_parse_is_indexed_once_it_does() {
    let (app, _d) = app_with(&[("a.md", &article("Alpha", "first"))]).await;
    wait_for_watcher(&app).await;
    write(&app.articles, "b.md", "---\ntitle: [oops\n---\nquokka\n");
    wait_until(LIMIT, || async {
        let (_, status, _) = app.get("/api/v1/index/status").await;
        status["errors"].as_array().is_some_and(|e| e.len() == 1)
    })
    .await;
    assert!(app.slugs_for("quokka").await.is_empty());
    write(&app.articles, "b.md", &article("Bravo", "quokka"));
    wait_for_slugs(&app, "quokka", &["b"]).await;
}

#[tokio::test]
async fn removing_the_articles_folder_keeps_search_up_and_restoring_it_is_picked_up() {
    let (app, _d) = app_with(&[("a.md", &article("Alpha", "walrus"))]).await;
    wait_for_watcher(&app).await;
    let aside = app.articles.with_extension("aside");
    std::fs::rename(&app.articles, &aside).unwrap();
    wait_until(LIMIT, || async {
        let (_, status, _) = app.get("/api/v1/index/status").await;
        status["watcher"]["state"] == "folder_missing"
    })
    .await;
    assert_eq!(
        app.slugs_for("walrus").await,
        ["a"],
        "still serving what it had"
    );
    // Edited while away, then put back.
    write(&aside, "a.md", &article("Alpha", "walrus and narwhal"));
    std::fs::rename(&aside, &app.articles).unwrap();
    wait_for_slugs(&app, "narwhal", &["a"]).await;
    wait_for_watcher(&app).await;
    // And it is watched again.
    write(&app.articles, "c.md", &article("Charlie", "seal"));
    wait_for_slugs(&app, "seal", &["c"]).await;
}

#[tokio::test]
async fn index_status_counts_match_what_search_returns() {
    let (app, _d) = app_with(&[
        ("a.md", &article("Alpha", "one")),
        ("b.md", &article("Bravo", "two")),
        ("draft.md", "---\ntitle: Draft\ndraft: true\n---\nthree\n"),
        ("broken.md", "---\ntitle: [x\n---\n"),
    ])
    .await;
    let (status_code, status, content_type) = app.get("/api/v1/index/status").await;
    assert_eq!(status_code, 200);
    assert!(content_type.starts_with("application/json"));
    let total = app.search("q=").await["total"].clone();
    assert_eq!(status["articles"], total);
    assert_eq!(status["articles"], 2);
    assert_eq!(status["drafts"], 1);
    assert_eq!(status["errors"][0]["path"], "broken.md");
    assert!(status["last_update"].is_string());
    assert!(status["last_update_ms"].is_u64());
    assert!(status["watcher"]["state"].is_string());
    // Never article text.
    assert!(!status.to_string().contains("Bravo"));
}

#[tokio::test]
async fn the_search_configuration_is_reloaded_live_and_a_broken_one_keeps_the_last_good() {
    let (app, _d) = app_with(&[(
        "security/2fa.md",
        &article(
            "Enable two-factor authentication",
            "Use an authenticator app.",
        ),
    )])
    .await;
    wait_for_watcher(&app).await;
    assert!(app.slugs_for("mfa").await.is_empty());
    write(
        &app.articles,
        "_search.toml",
        "[[synonyms]]\nwords = [\"MFA\", \"two-factor authentication\"]\n",
    );
    wait_for_slugs(&app, "mfa", &["security/2fa"]).await;
    // A broken edit: reported with its line, and the last good synonyms stay.
    write(
        &app.articles,
        "_search.toml",
        "\n[[synonyms]]\nwords = [\"MFA\"\n",
    );
    wait_until(LIMIT, || async {
        let (_, status, _) = app.get("/api/v1/index/status").await;
        status["errors"].as_array().is_some_and(|e| {
            e.iter()
                .any(|e| e["path"] == "_search.toml" && e["line"] == 3)
        })
    })
    .await;
    assert_eq!(app.slugs_for("mfa").await, ["security/2fa"]);
    // Removed: no synonyms, no error.
    std::fs::remove_file(app.articles.join("_search.toml")).unwrap();
    wait_until(LIMIT, || async { app.slugs_for("mfa").await.is_empty() }).await;
    let (_, status, _) = app.get("/api/v1/index/status").await;
    assert_eq!(status["errors"], serde_json::json!([]));
}

#[tokio::test]
async fn an_articles_folder_missing_at_start_up_is_served_once_it_appears() {
    let parent = tempfile::tempdir().unwrap();
    let articles = parent.path().join("articles");
    let app = common::spawn_app_unready(articles.clone(), vec![]).await;
    wait_until(LIMIT, || async { app.kb.first_load_failed() }).await;
    assert_eq!(app.get("/readyz").await.0, 503);
    write(&articles, "a.md", &article("Alpha", "capybara"));
    wait_until(LIMIT, || async { app.get("/readyz").await.0 == 200 }).await;
    assert_eq!(app.slugs_for("capybara").await, ["a"]);
}
