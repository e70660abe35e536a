//! A customer searching the help center, over real HTTP, files and index.

mod common;

use std::collections::BTreeMap;

use common::{articles_dir, demo_articles, hit_slugs, spawn_app, spawn_app_in_place, urlencode};

#[tokio::test]
async fn customer_finds_the_invoice_article_despite_a_typo() {
    let app = spawn_app(&demo_articles()).await;
    let slugs = app.slugs_for("download invoise").await;
    assert_eq!(
        slugs.first().map(String::as_str),
        Some("billing/invoices/download-invoice"),
        "{slugs:?}"
    );
}

#[tokio::test]
async fn half_typed_last_word_matches_as_a_prefix() {
    let app = spawn_app(&demo_articles()).await;
    let slugs = app.slugs_for("reset passw").await;
    assert_eq!(
        slugs.first().map(String::as_str),
        Some("account/reset-password"),
        "{slugs:?}"
    );
    let slugs = app.slugs_for("two-factor authent").await;
    assert_eq!(
        slugs.first().map(String::as_str),
        Some("account/security/enable-two-factor-authentication"),
        "{slugs:?}"
    );
    // With a trailing space the word is complete: no prefix expansion.
    assert!(app.slugs_for("passw ").await.is_empty());
}

#[tokio::test]
async fn an_exact_match_always_outranks_a_typo_match() {
    let dir = articles_dir(&[
        (
            "shopping.md",
            "---\ntitle: Shopping shopping shopping\n---\nShopping carts and shopping lists for shopping.",
        ),
        ("shipping.md", "---\ntitle: Rates\n---\nA long article that mentions shipping once among many other words about rates, zones, weights, boxes and surcharges."),
    ]);
    let app = spawn_app(dir.path()).await;
    let slugs = app.slugs_for("shipping ").await;
    assert_eq!(
        slugs,
        vec!["shipping", "shopping"],
        "exact first, typo match second"
    );
}

#[tokio::test]
async fn when_the_words_rarely_meet_the_rare_word_outranks_several_common_ones() {
    // Twelve articles share three common words of the query; one has its rare word and
    // one of the common ones. No article has all four, so any word may match, and then
    // how many of the words an article has says less than which: the article on the
    // rare word comes first.
    let mut files: Vec<(String, String)> = (1..=12)
        .map(|i| {
            (
                format!("common-{i}.md"),
                format!(
                    "---\ntitle: Guide {i}\n---\nThe optimal dose depends on the source, \
                     guide {i} explains."
                ),
            )
        })
        .collect();
    files.push((
        "sterols.md".into(),
        "---\ntitle: Plant sterols\n---\nEating phytosterol-rich foods lowers cholesterol; \
         the dose matters."
            .into(),
    ));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let dir = articles_dir(&refs);
    let app = spawn_app(dir.path()).await;
    let slugs = app.slugs_for("optimal phytosterol dose source").await;
    assert_eq!(
        slugs.len(),
        10,
        "any word may match, a full page: {slugs:?}"
    );
    assert_eq!(slugs[0], "sterols", "{slugs:?}");
    // Words that meet in ten articles or more must all match, as before: the twelve
    // articles with both, and not the one with "dose" alone.
    let json = app.search("q=optimal+dose&limit=20").await;
    let slugs = hit_slugs(&json);
    assert_eq!(json["total"], 12, "{slugs:?}");
    assert!(slugs.iter().all(|s| s.starts_with("common-")), "{slugs:?}");
}

#[tokio::test]
async fn short_words_and_numbers_never_match_a_typo() {
    let dir = articles_dir(&[
        ("two.md", "# Two labels\n\nPrint two labels per order."),
        ("year.md", "# Changes in 2025\n\nWhat changed in 2025."),
    ]);
    let app = spawn_app(dir.path()).await;
    assert!(
        app.slugs_for("tow ").await.is_empty(),
        "tow must not match two"
    );
    assert!(
        app.slugs_for("2024 ").await.is_empty(),
        "2024 must not match 2025"
    );
    assert_eq!(app.slugs_for("two ").await, vec!["two"]);
}

#[tokio::test]
async fn quoted_phrases_match_as_phrases_and_minus_excludes() {
    let dir = articles_dir(&[
        (
            "a.md",
            "# Label printer setup\n\nConnect the label printer over USB.",
        ),
        (
            "b.md",
            "# Printer for labels\n\nA printer that prints each label.",
        ),
    ]);
    let app = spawn_app(dir.path()).await;
    assert_eq!(app.slugs_for("\"label printer\"").await, vec!["a"]);
    assert_eq!(app.slugs_for("printer -usb").await, vec!["b"]);
    assert_eq!(app.slugs_for("printer -\"label printer\"").await, vec!["b"]);
}

#[tokio::test]
async fn hits_carry_snippet_section_and_anchor_url() {
    let app = spawn_app(&demo_articles()).await;
    let json = app.search("q=customs+declaration&limit=3").await;
    let hit = &json["hits"][0];
    assert_eq!(hit["slug"], "shipping/fill-in-a-customs-declaration");
    let snippet = hit["snippet"].as_str().unwrap();
    assert!(snippet.contains("<mark>"), "{snippet}");
    assert!(!snippet.contains("<script"), "{snippet}");
    let anchor = hit["section"]["anchor"].as_str().expect("a section");
    assert_eq!(
        hit["url"],
        format!("/articles/shipping/fill-in-a-customs-declaration#{anchor}")
    );
    // The anchor exists in the article's HTML.
    let (status, article, _) = app
        .get("/api/v1/articles/shipping/fill-in-a-customs-declaration")
        .await;
    assert_eq!(status, 200);
    assert!(article["html"]
        .as_str()
        .unwrap()
        .contains(&format!("id=\"{anchor}\"")));
    assert!(json["took_ms"].as_f64().is_some());
}

#[tokio::test]
async fn each_query_shows_its_own_words_in_the_snippet_of_an_article_seen_before() {
    // One article, two sections: each query's snippet and section are its own, also
    // when the article's hit for another query is already remembered (the snapshot's
    // snippet cache), and a repeated query shows exactly what it showed the first time.
    let dir = articles_dir(&[(
        "printing.md",
        "# Printing\n\nPrinting help.\n\n## Label sizes\n\nThe label printer takes three label \
         sizes.\n\n## Toner\n\nReplace the toner cartridge when pages fade.\n",
    )]);
    let app = spawn_app(dir.path()).await;
    let label = app.search("q=label+sizes").await;
    let toner = app.search("q=toner+cartridge").await;
    let label_again = app.search("q=label+sizes").await;
    let sizes_label = app.search("q=sizes+label").await;
    let shown = |json: &serde_json::Value| {
        let hit = &json["hits"][0];
        (
            hit["snippet"].as_str().unwrap().to_string(),
            hit["section"]["anchor"].as_str().unwrap().to_string(),
        )
    };
    let (label_snippet, label_anchor) = shown(&label);
    let (toner_snippet, toner_anchor) = shown(&toner);
    assert!(
        label_snippet.contains("<mark>label</mark>"),
        "{label_snippet}"
    );
    assert!(
        toner_snippet.contains("<mark>toner</mark>"),
        "{toner_snippet}"
    );
    assert!(!toner_snippet.contains("<mark>label"), "{toner_snippet}");
    assert_eq!(
        (label_anchor.as_str(), toner_anchor.as_str()),
        ("label-sizes", "toner")
    );
    assert_eq!(label_again["hits"], label["hits"]);
    assert_eq!(
        sizes_label["hits"][0]["snippet"],
        label["hits"][0]["snippet"]
    );
}

/// Whether an anonymous reader may read the article at `path` (below `root`): no
/// non-public `audience` in its front matter, and none set by a `_folder.toml` above it
/// (the demo's restricted articles say so in one of these two ways).
fn is_public(root: &std::path::Path, path: &std::path::Path, text: &str) -> bool {
    let own = text
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("audience:"));
    if let Some(audience) = own {
        return audience.trim() == "public";
    }
    let mut folder = path.parent();
    while let Some(dir) = folder.filter(|d| d.starts_with(root)) {
        if let Ok(defaults) = std::fs::read_to_string(dir.join("_folder.toml")) {
            if let Some(line) = defaults.lines().find(|l| l.starts_with("audience")) {
                return line.contains("\"public\"");
            }
        }
        folder = dir.parent();
    }
    true
}

/// The published articles an anonymous reader may read, in total and per category.
fn published_counts_by_category(root: &std::path::Path) -> (u64, BTreeMap<String, u64>) {
    let mut total = 0;
    let mut counts = BTreeMap::new();
    for entry in walk(root) {
        let rel = entry
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(&entry).unwrap();
        if text.contains("\ndraft: true")
            || text.contains("\nstatus: draft")
            || !is_public(root, &entry, &text)
        {
            continue;
        }
        total += 1;
        let folder = match rel.rsplit_once('/') {
            Some((dir, "index.md")) => format!("{dir}/x"),
            _ => rel.clone(),
        };
        let parts: Vec<&str> = folder.split('/').collect();
        for depth in 1..parts.len() {
            *counts.entry(parts[..depth].join("/")).or_insert(0) += 1;
        }
    }
    (total, counts)
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "md") {
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn facet_counts_equal_the_published_files_per_category() {
    let app = spawn_app(&demo_articles()).await;
    let (total, expected) = published_counts_by_category(&demo_articles());
    let json = app.search("q=&limit=100").await;
    assert_eq!(json["total"].as_u64(), Some(total));
    assert_eq!(json["hits"].as_array().unwrap().len() as u64, total);
    let got: BTreeMap<String, u64> = json["facets"]["category"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["value"].as_str().unwrap().to_string(),
                f["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    // An empty query lists by title.
    let titles: Vec<String> = json["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["title"].as_str().unwrap().to_lowercase())
        .collect();
    let mut sorted = titles.clone();
    sorted.sort();
    assert_eq!(titles, sorted);
    // The category tree agrees.
    let (status, tree, _) = app.get("/api/v1/categories").await;
    assert_eq!(status, 200);
    assert_eq!(tree["total"].as_u64(), Some(total));
    let billing = tree["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "billing")
        .unwrap();
    assert_eq!(billing["count"].as_u64(), expected.get("billing").copied());
    assert_eq!(billing["children"][0]["path"], "billing/invoices");
}

#[tokio::test]
async fn category_filter_includes_subcategories_and_tags_must_all_match() {
    let app = spawn_app(&demo_articles()).await;
    let json = app.search("q=&category=billing&limit=100").await;
    let slugs = hit_slugs(&json);
    assert!(
        slugs
            .iter()
            .all(|s| s.starts_with("billing/") || s == "refund-policy"),
        "{slugs:?}"
    );
    assert!(slugs.contains(&"billing/invoices/download-invoice".to_string()));
    let json = app.search("q=&tag=invoice&tag=vat&limit=100").await;
    for hit in json["hits"].as_array().unwrap() {
        let tags: Vec<&str> = hit["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(
            tags.contains(&"invoice") && tags.contains(&"vat"),
            "{tags:?}"
        );
    }
    assert!(json["total"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn drafts_are_never_found_nor_served() {
    let app = spawn_app(&demo_articles()).await;
    // Both demo drafts have distinctive words.
    for q in ["returns portal self-service", "single sign-on SAML"] {
        let json = app.search(&format!("q={}&limit=100", urlencode(q))).await;
        let slugs = hit_slugs(&json);
        assert!(
            !slugs
                .iter()
                .any(|s| s.contains("set-up-a-returns-portal") || s.contains("single-sign-on")),
            "{q}: {slugs:?}"
        );
    }
    let (status, body, content_type) = app
        .get("/api/v1/articles/shipping/returns/set-up-a-returns-portal")
        .await;
    assert_eq!(status, 404);
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body["status"], 404);
    let (status, _, _) = app
        .get("/api/v1/articles/account/security/set-up-single-sign-on")
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn hostile_html_in_an_article_is_sanitized() {
    let dir = articles_dir(&[
        ("hostile.md", include_str!("fixtures/hostile.md")),
        (
            "other.md",
            "# Other hostile article\n\nSee [hostile](hostile.md#tables).",
        ),
    ]);
    let app = spawn_app(dir.path()).await;
    let (status, json, _) = app.get("/api/v1/articles/hostile").await;
    assert_eq!(status, 200);
    let html = json["html"].as_str().unwrap();
    for bad in [
        "<script",
        "<iframe",
        "onerror",
        "onclick",
        "href=\"javascript:",
        "<style",
        "<object",
    ] {
        assert!(!html.to_lowercase().contains(bad), "{bad} survived: {html}");
    }
    for good in [
        "<table>",
        "<pre><code class=\"language-sh\">",
        "<img src=\"/images/ok.png\"",
        "<a href=\"https://example.com/\"",
    ] {
        assert!(html.contains(good), "{good} was lost: {html}");
    }
    let toc = json["toc"].as_array().unwrap();
    assert!(toc.iter().any(|h| h["anchor"] == "tables"));
    let (_, other, _) = app.get("/api/v1/articles/other").await;
    assert!(other["html"]
        .as_str()
        .unwrap()
        .contains("href=\"/articles/hostile#tables\""));
    assert_eq!(other["related"][0]["slug"], "hostile");
}

#[tokio::test]
async fn bad_parameters_answer_400_naming_the_parameter() {
    let app = spawn_app(&demo_articles()).await;
    let long_q = "a".repeat(513);
    for (query, param) in [
        ("limit=101".to_string(), "limit"),
        ("limit=ten".to_string(), "limit"),
        ("offset=-1".to_string(), "offset"),
        (format!("q={long_q}"), "q"),
        ("category=a%20b%3F".to_string(), "category"),
    ] {
        let (status, body, content_type) = app.get(&format!("/api/v1/search?{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(body["invalid_params"][0]["name"], param, "{query}: {body}");
        assert!(body["invalid_params"][0]["reason"].as_str().unwrap().len() > 5);
    }
    // Exactly 512 characters is fine.
    let ok_q = "b".repeat(512);
    assert_eq!(app.get(&format!("/api/v1/search?q={ok_q}")).await.0, 200);
}

#[tokio::test]
async fn whatever_a_person_types_answers_200() {
    let app = spawn_app(&demo_articles()).await;
    let punctuation: String = "!@#$%^&*()_+-=[]{};':\",./<>?\\|`~"
        .chars()
        .cycle()
        .take(512)
        .collect();
    for q in [
        "\"unbalanced",
        "a:(^",
        "-",
        "--",
        "\"\"",
        "- - -\"",
        "🚚📦 shipping 📦",
        "\u{0}\u{1}\u{7f}invoice\u{202e}",
        "AND OR NOT ~ * ? [ ]",
        punctuation.as_str(),
    ] {
        let (status, body, _) = app.get(&format!("/api/v1/search?q={}", urlencode(q))).await;
        assert_eq!(status, 200, "{q:?}: {body}");
    }
}

#[tokio::test]
async fn articles_show_toc_related_and_rewritten_links() {
    let app = spawn_app(&demo_articles()).await;
    let (status, json, _) = app
        .get("/api/v1/articles/billing/invoices/download-invoice")
        .await;
    assert_eq!(status, 200);
    let html = json["html"].as_str().unwrap();
    for h in json["toc"].as_array().unwrap() {
        assert!(html.contains(&format!("id=\"{}\"", h["anchor"].as_str().unwrap())));
    }
    let related = json["related"].as_array().unwrap();
    assert!(!related.is_empty() && related.len() <= 5);
    assert!(related
        .iter()
        .all(|r| r["slug"] != "billing/invoices/download-invoice"));
    assert!(
        !html.contains(".md\""),
        "relative .md links are rewritten: {html}"
    );
    let (status, _, content_type) = app.get("/api/v1/articles/no/such/article").await;
    assert_eq!(status, 404);
    assert_eq!(content_type, "application/problem+json");
    // An explicit front-matter slug is honoured.
    assert_eq!(app.get("/api/v1/articles/refund-policy").await.0, 200);
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app(&demo_articles()).await;
    assert_eq!(app.get("/healthz").await.0, 200);
    assert_eq!(app.get("/readyz").await.0, 200);
    let resp = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("x-request-id"));
}

/// Known-item queries on the Docker documentation, as customers type them.
#[tokio::test]
async fn known_items_are_found_in_the_docker_docs() {
    let Some(corpus) = common::shared_corpus("docker-docs") else {
        return; // reported by shared_corpus
    };
    let app = spawn_app_in_place(corpus.join("articles"), Vec::new()).await;
    let cases: &[(&str, &[&str])] = &[
        (
            "install docker desktop mac",
            &["manuals/desktop/setup/install/mac-install"],
        ),
        (
            "instal docker engine ubuntu",
            &["manuals/engine/install/ubuntu"],
        ),
        ("bind mounts", &["manuals/engine/storage/bind-mounts"]),
        ("volumes", &["manuals/engine/storage/volumes"]),
        (
            "multi-stage builds",
            &[
                "manuals/build/building/multi-stage",
                "get-started/docker-concepts/building-images/multi-stage-builds",
            ],
        ),
        (
            "compose file watch",
            &["manuals/compose/how-tos/file-watch"],
        ),
        (
            "build cache invalidation",
            &["manuals/build/cache/invalidation"],
        ),
        ("netwrking overview", &["manuals/engine/network"]),
        (
            "install docker engine on debi",
            &["manuals/engine/install/debian"],
        ),
    ];
    let mut misses = Vec::new();
    for (q, expected) in cases {
        let slugs = app.slugs_for(q).await;
        let rank = slugs
            .iter()
            .take(3)
            .position(|s| expected.contains(&s.as_str()));
        eprintln!(
            "{q:?}: rank {rank:?} top {:?}",
            &slugs[..slugs.len().min(3)]
        );
        if rank.is_none() {
            misses.push(*q);
        }
    }
    assert!(misses.is_empty(), "not in the top 3: {misses:?}");
}

#[tokio::test]
async fn a_typo_in_the_first_letter_is_tolerated_when_the_setting_allows_it() {
    let app = spawn_app(&demo_articles()).await;
    assert!(
        app.slugs_for("cnvoice ").await.is_empty(),
        "default: the first letter is kept"
    );
    let mut settings = app.kb.settings().as_ref().clone();
    settings.typo.keep_first_letter = false;
    app.kb.set_settings(settings);
    let slugs = app.slugs_for("cnvoice ").await;
    assert!(
        slugs.iter().any(|s| s.starts_with("billing/invoices/")),
        "{slugs:?}"
    );
}

#[tokio::test]
async fn writers_synonyms_find_the_article_customers_mean() {
    let app = spawn_app(&demo_articles()).await;
    // "MFA" appears in no article; the demo `_search.toml` groups it with 2FA.
    assert_eq!(
        hit_slugs(&app.search("q=mfa").await)
            .first()
            .map(String::as_str),
        Some("account/security/enable-two-factor-authentication")
    );
    assert_eq!(
        hit_slugs(&app.search("q=two-step%20verification").await)
            .first()
            .map(String::as_str),
        Some("account/security/enable-two-factor-authentication")
    );
    // The synonym's words are highlighted in the snippet.
    let json = app.search("q=mfa").await;
    assert!(
        json["hits"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<mark>"),
        "{json}"
    );
    // Without the file, nothing is found: the synonym is what finds it.
    std::fs::remove_file(app.articles.join("_search.toml")).unwrap();
    app.kb.rebuild(&|_, _| {}).unwrap();
    assert!(hit_slugs(&app.search("q=mfa").await).is_empty());
}

#[tokio::test]
async fn one_way_synonyms_widen_only_from_the_customers_word() {
    let dir = articles_dir(&[
        (
            "_search.toml",
            "[[synonyms]]\nfrom = [\"bill\"]\nto = [\"invoice\"]\n",
        ),
        (
            "invoice.md",
            "---\ntitle: Download an invoice\n---\nThe invoice lists your charges.\n",
        ),
        (
            "bill.md",
            "---\ntitle: Split the bill\n---\nShare the bill with your team.\n",
        ),
    ]);
    let app = spawn_app(dir.path()).await;
    let mut found = hit_slugs(&app.search("q=bill").await);
    found.sort();
    assert_eq!(found, ["bill", "invoice"]);
    assert_eq!(hit_slugs(&app.search("q=invoice").await), ["invoice"]);
}

#[tokio::test]
async fn a_protected_product_name_is_never_typo_corrected() {
    let files = [
        (
            "stripe.md",
            "---\ntitle: Connect Stripe\n---\nTake payments with Stripe.\n",
        ),
        (
            "strive.md",
            "---\ntitle: Our promise\n---\nWe strive to ship fast.\n",
        ),
    ];
    // Without protection "stripe" also finds "strive" by one typo...
    let dir = articles_dir(&files);
    let app = spawn_app(dir.path()).await;
    assert_eq!(
        hit_slugs(&app.search("q=stripe").await),
        ["stripe", "strive"]
    );
    // ...with it, only the product.
    let mut protected = files.to_vec();
    protected.push(("_search.toml", "protected = [\"Stripe\"]\n"));
    let dir = articles_dir(&protected);
    let app = spawn_app(dir.path()).await;
    assert_eq!(hit_slugs(&app.search("q=stripe").await), ["stripe"]);
    // Other words keep their typo tolerance.
    assert_eq!(hit_slugs(&app.search("q=paymants").await), ["stripe"]);
}

#[tokio::test]
async fn a_misspelled_word_ranks_the_article_it_means_above_those_with_only_the_other_words() {
    let dir = articles_dir(&[
        (
            "javascript.md",
            "# JavaScript\n\nJavaScript runs in every browser. A closure is one of its features.",
        ),
        (
            "closures.md",
            "# Closures\n\nA closure keeps the variables around it; a closure is made each time a function is. Closures are common in JavaScript.",
        ),
        ("invoices.md", "# Invoices\n\nDownload an invoice as a PDF."),
        ("printers.md", "# Printers\n\nSet up the label printer."),
        ("shipping.md", "# Shipping\n\nRates, zones and boxes."),
    ]);
    let app = spawn_app(dir.path()).await;
    // Ranked by words alone and by tiers, as a short query is wherever at least
    // `min_full_matches` articles have all its words (a real help center; here two).
    let mut settings = app.kb.settings().as_ref().clone();
    settings.semantic_ratio = 0.0;
    settings.min_full_matches = 1;
    app.kb.set_settings(settings.clone());
    // "clousre" is in no article: "closure" is all the customer can have meant.
    let slugs = app.slugs_for("javascript clousre ").await;
    assert_eq!(slugs, vec!["closures", "javascript"]);

    // Weighed like the variant of a real word, the typo lets "javascript" decide.
    settings.unknown_word_typo_weight = settings.typo_weight;
    app.kb.set_settings(settings);
    let slugs = app.slugs_for("javascript clousre ").await;
    assert_eq!(slugs, vec!["javascript", "closures"]);
}

#[tokio::test]
async fn a_word_in_another_form_than_the_articles_use_is_not_taken_for_a_typo() {
    let dir = articles_dir(&[
        (
            "port.md",
            "# Publish a port\n\nMap a port of the container to the host.",
        ),
        (
            "parts.md",
            "# Spare parts\n\nOrder parts, replace parts, return parts: parts for every machine.",
        ),
    ]);
    let app = spawn_app(dir.path()).await;
    // "ports" is in no article, but "port" is: its typo variant "parts" is a stand-in
    // and weighs less than the word itself. Five words make a long query (BM25F, no
    // tiers), where only the weight keeps "parts" below.
    let query = "ports xylophone quartz zebra wombat ";
    let slugs = app.slugs_for(query).await;
    assert_eq!(slugs, vec!["port", "parts"]);

    // Had "ports" been taken for a misspelling, its variant would weigh as much as
    // the word, and the article repeating "parts" would come first.
    let mut settings = app.kb.settings().as_ref().clone();
    settings.typo_weight = settings.unknown_word_typo_weight;
    app.kb.set_settings(settings);
    let slugs = app.slugs_for(query).await;
    assert_eq!(
        slugs.first().map(String::as_str),
        Some("parts"),
        "{slugs:?}"
    );
}

#[tokio::test]
async fn an_api_name_typed_as_two_words_finds_its_page() {
    let dir = articles_dir(&[
        (
            "settimeout.md",
            "# setTimeout()\n\nCalls a function once, after a delay in milliseconds.",
        ),
        (
            "session-timeouts.md",
            "# Set session timeouts\n\nSet the timeout after which an idle session ends. Each timeout is set per workspace.",
        ),
    ]);
    let app = spawn_app(dir.path()).await;
    let mut settings = app.kb.settings().as_ref().clone();
    settings.semantic_ratio = 0.0;
    app.kb.set_settings(settings.clone());
    let slugs = app.slugs_for("set timeout ").await;
    assert_eq!(slugs, vec!["settimeout", "session-timeouts"]);

    // Without joining the words, the page never found them.
    settings.join_words = false;
    app.kb.set_settings(settings);
    assert_eq!(
        app.slugs_for("set timeout ").await,
        vec!["session-timeouts"]
    );
}
