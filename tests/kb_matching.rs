//! Which documents a short query matches when its words rarely meet.

mod common;

use common::{articles_dir, spawn_app};

#[tokio::test]
async fn few_full_matches_are_followed_by_partial_matches() {
    let dir = articles_dir(&[
        ("both.md", "# Label printer\n\nSet up the label printer."),
        (
            "printer.md",
            "# Printer drivers\n\nInstall the printer driver.",
        ),
        ("label.md", "# Label sizes\n\nWhich label sizes exist."),
        ("other.md", "# Invoices\n\nDownload an invoice."),
    ]);
    let app = spawn_app(dir.path()).await;
    let slugs = app.slugs_for("label printer ").await;
    assert_eq!(slugs.first().map(String::as_str), Some("both"), "{slugs:?}");
    let mut rest = slugs[1..].to_vec();
    rest.sort();
    assert_eq!(rest, vec!["label", "printer"], "partial matches follow");

    // The previous rule: any word only when nothing matches every word. (Lexical
    // matching alone: semantic matches would add the partial ones back by meaning.)
    let mut settings = app.kb.settings().as_ref().clone();
    settings.min_full_matches = 1;
    settings.semantic_ratio = 0.0;
    app.kb.set_settings(settings);
    assert_eq!(app.slugs_for("label printer ").await, vec!["both"]);
}
