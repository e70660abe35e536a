//! Suggested articles while a customer writes a ticket (ticket deflection): realistic
//! ticket texts against the demo help center, over real HTTP.

mod common;

use common::{demo_articles, spawn_app, urlencode, TestApp};

async fn suggestions(app: &TestApp, subject: &str, body: &str) -> Vec<String> {
    let (status, json, _) = app
        .get(&format!(
            "/api/v1/suggestions?subject={}&body={}",
            urlencode(subject),
            urlencode(body)
        ))
        .await;
    assert_eq!(status, 200, "{json}");
    let articles = json["articles"].as_array().expect("articles");
    assert!(articles.len() <= 5, "at most five: {json}");
    articles
        .iter()
        .map(|a| a["slug"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn in_top(slugs: &[String], slug: &str, n: usize) -> bool {
    slugs.iter().take(n).any(|s| s == slug)
}

#[tokio::test]
async fn realistic_ticket_texts_get_the_article_that_answers_them() {
    let app = spawn_app(&demo_articles()).await;
    let cases = [
        (
            "Where is my invoice?",
            "I need the PDF invoice for last month for my accountant",
            "billing/invoices/download-invoice",
        ),
        (
            "Package shows delivered but never arrived",
            "The tracking page says delivered yesterday but there is nothing at my door.",
            "shipping/track-a-shipment",
        ),
        (
            "Login codes rejected",
            "My authenticator app codes don't work anymore when I sign in, two-factor is blocking me",
            "account/security/enable-two-factor-authentication",
        ),
        (
            "Labels print blank",
            "My thermal label printer prints empty labels since yesterday",
            "shipping/set-up-a-label-printer",
        ),
        (
            "Money back?",
            "I cancelled my subscription last week, can I get a refund for the rest of the year?",
            "refund-policy",
        ),
        (
            "customs form for Canada",
            "What do I fill in on the customs declaration for a parcel to Toronto",
            "shipping/fill-in-a-customs-declaration",
        ),
    ];
    for (subject, body, expected) in cases {
        let found = suggestions(&app, subject, body).await;
        assert!(
            in_top(&found, expected, 3),
            "{subject:?}: expected {expected} in the top 3, got {found:?}"
        );
    }
}

#[tokio::test]
async fn a_subject_alone_while_typing_already_suggests() {
    let app = spawn_app(&demo_articles()).await;
    let found = suggestions(&app, "reset passw", "").await;
    assert_eq!(
        found.first().map(String::as_str),
        Some("account/reset-password")
    );
}

#[tokio::test]
async fn a_customers_quotes_and_dashes_are_words_not_operators() {
    let app = spawn_app(&demo_articles()).await;
    // As a search, `-invoice` would exclude the invoice articles.
    let found = suggestions(&app, "\"download\" -invoice", "").await;
    assert!(
        in_top(&found, "billing/invoices/download-invoice", 3),
        "{found:?}"
    );
}

#[tokio::test]
async fn empty_text_suggests_nothing_and_too_long_text_is_a_400_naming_the_field() {
    let app = spawn_app(&demo_articles()).await;
    assert!(suggestions(&app, "", "").await.is_empty());
    let long = "a".repeat(201);
    let (status, json, content_type) = app
        .get(&format!("/api/v1/suggestions?subject={long}"))
        .await;
    assert_eq!(status, 400);
    assert!(content_type.starts_with("application/problem+json"));
    assert_eq!(json["invalid_params"][0]["name"], "subject", "{json}");
    // The beginning of a long ticket is enough (only its first words count), and keeps
    // the query string far below the 64 KiB a URI may have.
    let long_body = "word ".repeat(401);
    let (status, json, _) = app
        .get(&format!("/api/v1/suggestions?body={long_body}"))
        .await;
    assert_eq!(status, 400);
    assert_eq!(json["invalid_params"][0]["name"], "body", "{json}");
    assert!(
        json["invalid_params"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("2000"),
        "{json}"
    );
}
