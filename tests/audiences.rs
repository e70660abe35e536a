//! Articles for some readers only: the attack suite. Three kinds of reader (anonymous,
//! a customer with segment `gold`, an agent) plus a customer of another segment, over a
//! help center where every restricted article shares distinctive words with public
//! ones. For every endpoint and page, nothing of what a reader may not open shows: not
//! in hits, totals, facets, category counts, snippets, related or recent lists,
//! suggestions, the article endpoint, the pages, nor through completion, typos or
//! meaning. Real HTTP, a real database (staff is the profile's role), real files.

mod ticket_support;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use ticket_support::{spawn_app_with_articles, wait_until, TestApp, User};
use uuid::Uuid;

const ROOT_FOLDER: &str = "segments = [\"gold\"]\n";

const PUBLIC_REFUNDS: &str = "---\ntitle: Request a refund\nsummary: How refunds of a parcel work.\ntags: [refunds]\nupdated: 2026-01-05\n---\n\nA refund is paid back to your card within five days. Refunds of a lost parcel start after the claim.\n\n## Refund of a damaged parcel\n\nSend a photo of the damaged parcel with the refund request.\n";

const PUBLIC_TRACKING: &str = "---\ntitle: Track a parcel\nsummary: Follow your parcel on the map.\nupdated: 2026-01-03\n---\n\nOpen the tracking page and enter the parcel number to follow the delivery. A zebra label marks a fragile parcel. Parcels to Vyborg travel by ferry.\n";

const ZONES: &str = "---\ntitle: Delivery zones\nsummary: Which zone a parcel ships to.\nupdated: 2026-01-02\n---\n\nThe eastern delivery zone covers Vyalka, Vyatka and Vyazma.\n";

const GOLD_REFUNDS: &str = "---\ntitle: Zephyrine express refund desk\naudience: gold\nsummary: Gold members get refunds the same day through the zephyrine desk.\ntags: [refunds, vip]\nupdated: 2026-01-09\n---\n\nThe zephyrine desk pays a refund of a parcel on the same day for gold members. Call the zephyrine line and give the parcel number. A zany, zappy and zealous crew.\n";

const STAFF_RUNBOOK: &str = "---\ntitle: Quillfeather refund override runbook\nsummary: Agents override a refund limit with the quillfeather console.\ntags: [refunds, vip]\nupdated: 2026-01-10\n---\n\nOpen the quillfeather console, find the parcel, and override the refund limit. Never tell customers about quillfeather. A zany, zappy and zealous crew.\n";

// `Audience` with a capital: a key's case must not publish an article.
const MEMBERS_LOUNGE: &str = "---\ntitle: Marmalith members lounge\nAudience: signed-in\nsummary: Signed-in customers see the marmalith lounge offers.\nupdated: 2026-01-08\n---\n\nThe marmalith lounge lists parcel discounts and refund vouchers for customers who signed in. A zany, zappy and zealous crew.\n";

/// The fixture: the paths are what the API names as slugs (without `.md`).
fn fixture() -> Vec<(&'static str, &'static str)> {
    vec![
        ("_folder.toml", ROOT_FOLDER),
        ("billing/refunds.md", PUBLIC_REFUNDS),
        ("shipping/tracking.md", PUBLIC_TRACKING),
        ("shipping/zones.md", ZONES),
        ("billing/gold-refund-desk.md", GOLD_REFUNDS),
        ("internal/_folder.toml", "audience = \"staff\"\n"),
        ("internal/refund-override.md", STAFF_RUNBOOK),
        ("members/lounge.md", MEMBERS_LOUNGE),
    ]
}

/// What a restricted article must never show to a reader who may not open it.
struct Secret {
    slug: &'static str,
    /// Words and titles only it has.
    marks: &'static [&'static str],
}

const GOLD: Secret = Secret {
    slug: "billing/gold-refund-desk",
    marks: &[
        "zephyrine",
        "Zephyrine",
        "gold-refund-desk",
        "same day",
        "vip",
    ],
};
const STAFF: Secret = Secret {
    slug: "internal/refund-override",
    marks: &[
        "quillfeather",
        "Quillfeather",
        "refund-override",
        "override",
        "internal",
        "Internal",
    ],
};
const SIGNED_IN: Secret = Secret {
    slug: "members/lounge",
    marks: &[
        "marmalith",
        "Marmalith",
        "members/lounge",
        "lounge",
        "Members",
    ],
};

/// A reader of the suite: its token, if any, and what it may not see.
struct Who {
    name: &'static str,
    token: Option<String>,
    hidden: Vec<&'static Secret>,
    visible_count: u64,
}

/// A token the service signs, with these segments in `app_metadata`.
fn token_with_segments(app: &TestApp, user: Uuid, segments: &[&str], ttl: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    app.jwt.sign(&json!({
        "sub": user,
        "role": "authenticated",
        "aud": "authenticated",
        "iat": now,
        "exp": now + ttl,
        "email": format!("{}@example.com", user.simple()),
        "app_metadata": { "provider": "email", "segments": segments },
    }))
}

async fn readers(app: &TestApp) -> Vec<Who> {
    let gold = token_with_segments(app, Uuid::new_v4(), &["gold"], 3600);
    let silver = token_with_segments(app, Uuid::new_v4(), &["silver", "staff"], 3600);
    let agent: User = app.agent("agent").await;
    vec![
        Who {
            name: "anonymous",
            token: None,
            hidden: vec![&GOLD, &STAFF, &SIGNED_IN],
            visible_count: 3,
        },
        Who {
            name: "gold customer",
            token: Some(gold),
            hidden: vec![&STAFF],
            visible_count: 5,
        },
        Who {
            // A segment the token names but no article uses, and `staff`, which a
            // token can never claim.
            name: "silver customer claiming staff",
            token: Some(silver),
            hidden: vec![&GOLD, &STAFF],
            visible_count: 4,
        },
        Who {
            name: "agent",
            token: Some(agent.token),
            hidden: vec![],
            visible_count: 6,
        },
    ]
}

/// GET `path` as `who` over the API.
async fn api(app: &TestApp, who: &Who, path: &str) -> ticket_support::Reply {
    app.send(Method::GET, path, who.token.as_deref(), None)
        .await
}

/// Fails when `text` shows anything of what `who` may not open.
fn assert_nothing_of(who: &Who, what: &str, text: &str) {
    for secret in &who.hidden {
        for mark in secret.marks {
            assert!(
                !text.contains(mark),
                "{}: {what} shows {mark:?} of {}:\n{text}",
                who.name,
                secret.slug
            );
        }
    }
}

fn slugs(hits: &Value) -> Vec<String> {
    hits.as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["slug"].as_str().map(str::to_string))
        .collect()
}

/// GET a page as `who` (signed in through the session cookie when it has a token).
async fn page(
    app: &TestApp,
    who: &Who,
    path: &str,
) -> (StatusCode, String, reqwest::header::HeaderMap) {
    let mut req = app.client.get(format!("{}{path}", app.base));
    if let Some(t) = &who.token {
        req = req.header("cookie", app.page_cookie(t).await);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    (status, resp.text().await.unwrap(), headers)
}

#[tokio::test]
async fn restricted_articles_leak_nothing_to_readers_who_may_not_read_them() {
    let app = spawn_app_with_articles(&fixture()).await;
    for who in readers(&app).await {
        // Search: hits, totals, facets and snippets, by words, by a rare word's prefix
        // and typo, and by meaning alone.
        let all = api(&app, &who, "/api/v1/search?q=&limit=100").await;
        assert_eq!(all.status, StatusCode::OK, "{}", all.text);
        assert_eq!(
            all.body["total"], who.visible_count,
            "{}: {}",
            who.name, all.text
        );
        assert_nothing_of(&who, "the article list", &all.text);
        for q in [
            "refund",
            "refund parcel",
            "zephyrine",
            "zephyr",
            "zephyrime desk",
            "quillfeather",
            "quillfeathr console",
            "quill",
            "marmalith lounge",
            "marmal",
            "\"refund limit\"",
            "override refund limit",
        ] {
            for ratio in ["0", "0.4", "1"] {
                let path = format!(
                    "/api/v1/search?q={}&semantic_ratio={ratio}&limit=50",
                    urlencode(q)
                );
                let r = api(&app, &who, &path).await;
                assert_eq!(r.status, StatusCode::OK, "{}", r.text);
                // Everything but the query it echoes.
                let mut answer = r.body.clone();
                answer["query"] = Value::Null;
                assert_nothing_of(
                    &who,
                    &format!("search {q:?} (ratio {ratio})"),
                    &answer.to_string(),
                );
                let hits = slugs(&r.body["hits"]);
                assert!(
                    r.body["total"].as_u64().unwrap() as usize >= hits.len(),
                    "{}",
                    r.text
                );
            }
        }
        // Words only restricted articles have are not words for a reader who may not
        // read them: no completion, no typo variant, nothing to search by meaning.
        if who.token.is_none() {
            for q in [
                "zephyrine desk",
                "quillfeather console",
                "marmalith lounge",
                "zephyr",
                "quillfeathe",
                "zephyrime",
            ] {
                for ratio in ["0.4", "1"] {
                    let path = format!("/api/v1/search?q={}&semantic_ratio={ratio}", urlencode(q));
                    let r = api(&app, &who, &path).await;
                    assert_eq!(r.body["total"], 0, "{q:?} at {ratio}: {}", r.text);
                }
            }
        }
        // Completions come from the articles a reader may read only: three restricted
        // articles' words starting with "ze" do not crowd out the public "zebra"
        // (two letters complete to the three most frequent words, ties in
        // alphabetical order).
        let ze = api(&app, &who, "/api/v1/search?q=ze&semantic_ratio=0").await;
        if who.token.is_none() {
            assert_eq!(
                slugs(&ze.body["hits"]),
                ["shipping/tracking"],
                "{}",
                ze.text
            );
        }
        // What a reader may see, it finds (the suite would pass on an empty index).
        let refund = api(
            &app,
            &who,
            "/api/v1/search?q=refund&semantic_ratio=0&limit=50",
        )
        .await;
        let found = slugs(&refund.body["hits"]);
        assert!(
            found.contains(&"billing/refunds".to_string()),
            "{}: {found:?}",
            who.name
        );
        for secret in [&GOLD, &STAFF, &SIGNED_IN] {
            let may = !who.hidden.iter().any(|h| h.slug == secret.slug);
            if secret.slug != SIGNED_IN.slug {
                assert_eq!(
                    found.contains(&secret.slug.to_string()),
                    may,
                    "{}: refund search and {}: {found:?}",
                    who.name,
                    secret.slug
                );
            }
            // The article endpoint: 404 exactly as a missing article.
            let r = api(&app, &who, &format!("/api/v1/articles/{}", secret.slug)).await;
            if may {
                assert_eq!(r.status, StatusCode::OK, "{}: {}", who.name, r.text);
            } else {
                assert_eq!(r.status, StatusCode::NOT_FOUND, "{}: {}", who.name, r.text);
                let missing = api(&app, &who, "/api/v1/articles/billing/no-such-article").await;
                assert_eq!(
                    r.text.replace(secret.slug, "SLUG"),
                    missing.text.replace("billing/no-such-article", "SLUG"),
                    "not yours must look like missing"
                );
                // Voting on it is voting on nothing.
                let vote = app
                    .send(
                        Method::POST,
                        &format!("/api/v1/articles/{}/feedback", secret.slug),
                        who.token.as_deref(),
                        Some(json!({"helpful": true})),
                    )
                    .await;
                assert_eq!(vote.status, StatusCode::NOT_FOUND, "{}", vote.text);
            }
        }
        // A public article's related list.
        let refunds = api(&app, &who, "/api/v1/articles/billing/refunds").await;
        assert_eq!(refunds.status, StatusCode::OK);
        assert_nothing_of(&who, "a public article and its related list", &refunds.text);
        // The category tree and its counts.
        let tree = api(&app, &who, "/api/v1/categories").await;
        assert_eq!(tree.body["total"], who.visible_count, "{}", tree.text);
        assert_nothing_of(&who, "the category tree", &tree.text);
        // Suggestions while writing a ticket.
        let suggest = api(
            &app,
            &who,
            "/api/v1/suggestions?subject=refund%20override%20zephyrine&body=quillfeather%20marmalith%20lounge%20refund%20limit",
        )
        .await;
        assert_eq!(suggest.status, StatusCode::OK, "{}", suggest.text);
        assert_nothing_of(&who, "ticket suggestions", &suggest.text);
        // The index's status counts what the reader may read.
        let status = api(&app, &who, "/api/v1/index/status").await;
        assert_eq!(
            status.body["articles"], who.visible_count,
            "{}",
            status.text
        );
        assert_nothing_of(&who, "the index status", &status.text);

        // The pages, signed in through the session cookie as the portal does.
        for path in [
            "/".to_string(),
            "/search?q=refund".to_string(),
            "/search?q=zephyrine+quillfeather+marmalith".to_string(),
            "/categories/billing".to_string(),
            "/articles/billing/refunds".to_string(),
        ] {
            let (status, html, headers) = page(&app, &who, &path).await;
            assert_eq!(status, StatusCode::OK, "{}: {path}", who.name);
            // Everything but the query the page echoes.
            let html = html
                .replace("zephyrine quillfeather marmalith", "")
                .replace("zephyrine%20quillfeather%20marmalith", "");
            assert_nothing_of(&who, &format!("the page {path}"), &html);
            let vary = headers
                .get_all("vary")
                .iter()
                .map(|v| v.to_str().unwrap().to_lowercase())
                .collect::<Vec<_>>()
                .join(",");
            assert!(vary.contains("cookie"), "{path}: Vary {vary}");
        }
        for secret in &who.hidden {
            let (status, html, _) = page(&app, &who, &format!("/articles/{}", secret.slug)).await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{}: {}",
                who.name,
                secret.slug
            );
            assert_nothing_of(&who, "the not-found page", &html.replace(secret.slug, ""));
            assert_eq!(
                html.contains("sign in"),
                who.token.is_none(),
                "a signed-out reader is offered to sign in, and only they are"
            );
        }
    }
}

#[tokio::test]
async fn an_agent_finds_the_runbook_by_the_words_an_anonymous_reader_found_nothing_with() {
    let app = spawn_app_with_articles(&fixture()).await;
    let agent = app.agent("agent").await;
    let q = "/api/v1/search?q=quillfeather%20console%20override&semantic_ratio=1";
    // The same query, first anonymous (whose results the snapshot remembers), then
    // as staff. (That the two never share remembered results is
    // `readers_who_see_different_articles_never_share_a_cache_key` in kb::audience.)
    let anonymous = app.send(Method::GET, q, None, None).await;
    assert!(!anonymous.text.contains(STAFF.slug), "{}", anonymous.text);
    let staff = app.get(&agent, q).await;
    assert!(
        slugs(&staff.body["hits"]).iter().any(|s| s == STAFF.slug),
        "{}",
        staff.text
    );
}

#[tokio::test]
async fn segments_come_from_app_metadata_only_and_staff_from_the_profile_now() {
    let app = spawn_app_with_articles(&fixture()).await;
    let user = Uuid::new_v4();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // The user may write `user_metadata` themselves: it grants nothing.
    let self_written = app.jwt.sign(&json!({
        "sub": user, "role": "authenticated", "aud": "authenticated", "exp": now + 600,
        "user_metadata": { "segments": ["gold"] },
        "app_metadata": { "provider": "email", "role": "agent", "staff": true },
    }));
    let r = app
        .send(
            Method::GET,
            &format!("/api/v1/articles/{}", GOLD.slug),
            Some(&self_written),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = app
        .send(
            Method::GET,
            &format!("/api/v1/articles/{}", STAFF.slug),
            Some(&self_written),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    // An agent demoted in the database stops reading staff articles within seconds.
    let agent = app.agent("agent").await;
    let runbook = format!("/api/v1/articles/{}", STAFF.slug);
    assert_eq!(app.get(&agent, &runbook).await.status, StatusCode::OK);
    app.db
        .set_role(&agent.id.to_string(), helpcenter::auth::Role::Customer)
        .await
        .unwrap();
    wait_until(
        "the demoted agent loses the runbook",
        Duration::from_secs(15),
        || async { app.get(&agent, &runbook).await.status == StatusCode::NOT_FOUND },
    )
    .await;
}

#[tokio::test]
async fn a_ticket_suggests_only_what_its_author_may_read() {
    let app = spawn_app_with_articles(&fixture()).await;
    let silver = token_with_segments(&app, Uuid::new_v4(), &["silver"], 3600);
    let gold = token_with_segments(&app, Uuid::new_v4(), &["gold"], 3600);
    let body = json!({
        "subject": "Refund of a parcel at the zephyrine desk",
        "body": "The quillfeather override of the refund limit, please. My parcel never came."
    });
    let r = app
        .send(
            Method::POST,
            "/api/v1/tickets",
            Some(&silver),
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let suggested = slugs(&r.body["suggested_articles"]);
    assert!(
        suggested.contains(&"billing/refunds".to_string()),
        "{suggested:?}"
    );
    assert!(
        !suggested.iter().any(|s| s == GOLD.slug || s == STAFF.slug),
        "{suggested:?}"
    );
    let r = app
        .send(Method::POST, "/api/v1/tickets", Some(&gold), Some(body))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let suggested = slugs(&r.body["suggested_articles"]);
    assert!(suggested.contains(&GOLD.slug.to_string()), "{suggested:?}");
    assert!(!suggested.iter().any(|s| s == STAFF.slug), "{suggested:?}");
}

#[tokio::test]
async fn a_token_that_lies_gets_the_anonymous_view_or_401_never_more() {
    let app = spawn_app_with_articles(&fixture()).await;
    let user = Uuid::new_v4();
    let silver = token_with_segments(&app, user, &["silver"], 3600);
    // The same token with `gold` written into its payload: the signature no longer holds.
    let forged = {
        let parts: Vec<&str> = silver.split('.').collect();
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
        claims["app_metadata"]["segments"] = json!(["gold", "staff"]);
        let payload = engine.encode(serde_json::to_vec(&claims).unwrap());
        format!("{}.{payload}.{}", parts[0], parts[2])
    };
    let expired = token_with_segments(&app, user, &["gold"], -600);
    let unsigned = {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = engine.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = engine.encode(
            json!({"sub": user, "role": "authenticated", "aud": "authenticated", "exp": 4102444800u64,
                   "app_metadata": {"segments": ["gold"]}})
            .to_string(),
        );
        format!("{header}.{payload}.")
    };
    for (name, token) in [
        ("forged", &forged),
        ("expired", &expired),
        ("unsigned", &unsigned),
    ] {
        for path in [
            "/api/v1/search?q=zephyrine",
            "/api/v1/articles/billing/gold-refund-desk",
            "/api/v1/categories",
            "/api/v1/suggestions?subject=zephyrine",
        ] {
            let r = app.send(Method::GET, path, Some(token), None).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{name} {path}: {}",
                r.text
            );
            assert!(!r.text.contains("ephyrine desk"), "{}", r.text);
        }
        // The session endpoint refuses it, and a cookie holding it reads as anonymous.
        let r = app
            .client
            .post(format!("{}/api/v1/auth/session", app.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{name}");
        let html = app
            .client
            .get(format!("{}/search?q=zephyrine+refund", app.base))
            .header("cookie", format!("hc_session={token}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("Request a refund"),
            "{name}: the anonymous view"
        );
        assert!(!html.contains("Zephyrine express"), "{name}: {html}");
    }
}

#[tokio::test]
async fn answers_for_a_signed_in_reader_are_private_and_vary_on_the_credential() {
    let app = spawn_app_with_articles(&fixture()).await;
    let gold = token_with_segments(&app, Uuid::new_v4(), &["gold"], 3600);
    for path in [
        "/api/v1/search?q=refund",
        "/api/v1/articles/billing/refunds",
        "/api/v1/categories",
        "/api/v1/suggestions?subject=refund",
    ] {
        let anonymous = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        let vary = anonymous
            .headers()
            .get("vary")
            .map(|v| v.to_str().unwrap().to_lowercase());
        assert!(vary.is_some_and(|v| v.contains("authorization")), "{path}");
        assert!(anonymous
            .headers()
            .get("cache-control")
            .is_none_or(|c| !c.to_str().unwrap().contains("private")));
        let signed_in = app
            .client
            .get(format!("{}{path}", app.base))
            .bearer_auth(&gold)
            .send()
            .await
            .unwrap();
        let cache = signed_in.headers()["cache-control"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(cache.contains("private"), "{path}: {cache}");
    }
    let cookie = app.page_cookie(&gold).await;
    let page = app
        .client
        .get(format!("{}/search?q=refund", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let cache = page.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cache.contains("private"), "{cache}");
    assert!(page.text().await.unwrap().contains("Zephyrine express"));
    // Signing the pages out removes the cookie.
    let out = app
        .client
        .delete(format!("{}/api/v1/auth/session", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert!(out.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
}

#[tokio::test]
async fn an_edit_that_changes_an_audience_is_seen_by_everyone_within_the_live_reindex_time() {
    let app = spawn_app_with_articles(&fixture()).await;
    let anonymous_finds = |q: &'static str, slug: &'static str| {
        let app = &app;
        async move {
            let r = app
                .send(
                    Method::GET,
                    &format!("/api/v1/search?q={q}&semantic_ratio=0"),
                    None,
                    None,
                )
                .await;
            slugs(&r.body["hits"]).iter().any(|s| s == slug)
        }
    };
    assert!(!anonymous_finds("zephyrine", GOLD.slug).await);
    // The writer makes the gold article public.
    let gold_file = app.articles_dir().join("billing/gold-refund-desk.md");
    std::fs::write(
        &gold_file,
        GOLD_REFUNDS.replace("audience: gold\n", "audience: public\n"),
    )
    .unwrap();
    wait_until(
        "the article made public is found",
        Duration::from_secs(10),
        || anonymous_finds("zephyrine", GOLD.slug),
    )
    .await;
    // And restricts it again.
    std::fs::write(&gold_file, GOLD_REFUNDS).unwrap();
    wait_until(
        "the article restricted again is hidden",
        Duration::from_secs(10),
        || async { !anonymous_finds("zephyrine", GOLD.slug).await },
    )
    .await;
    let r = app
        .send(Method::GET, "/api/v1/search?q=zephyrine", None, None)
        .await;
    assert_eq!(r.body["total"], 0, "{}", r.text);
    // An audience that does not parse takes the article out of the index, even for
    // the readers of its last good version: the writer was changing who may read it.
    std::fs::write(
        &gold_file,
        GOLD_REFUNDS.replace("audience: gold\n", "audience: public\n"),
    )
    .unwrap();
    wait_until("public again", Duration::from_secs(10), || {
        anonymous_finds("zephyrine", GOLD.slug)
    })
    .await;
    std::fs::write(
        &gold_file,
        GOLD_REFUNDS.replace("audience: gold\n", "audience: \"go ld\"\n"),
    )
    .unwrap();
    wait_until(
        "a broken audience hides the article",
        Duration::from_secs(10),
        || async { !anonymous_finds("zephyrine", GOLD.slug).await },
    )
    .await;
    std::fs::write(&gold_file, GOLD_REFUNDS).unwrap();
    // An article public since the index was built, restricted by an edit: its old
    // words leave the anonymous reader's dictionary, though the index's first segment
    // keeps them (for a deleted document) until a merge. Two letters complete to the
    // three most frequent words, ties alphabetical: while the zones article is public,
    // "vy" completes to its "vyalka", "vyatka", "vyazma"; once it is restricted, to the
    // tracking article's "vyborg" again.
    let search_vy = || async {
        let r = app
            .send(
                Method::GET,
                "/api/v1/search?q=vy&semantic_ratio=0",
                None,
                None,
            )
            .await;
        slugs(&r.body["hits"])
    };
    assert_eq!(search_vy().await, ["shipping/zones"]);
    let zones = app.articles_dir().join("shipping/zones.md");
    std::fs::write(
        &zones,
        ZONES.replace("updated:", "audience: gold\nupdated:"),
    )
    .unwrap();
    wait_until(
        "the zones article is restricted",
        Duration::from_secs(10),
        || async { !anonymous_finds("vyatka", "shipping/zones").await },
    )
    .await;
    assert_eq!(search_vy().await, ["shipping/tracking"]);
    // A folder default: the staff folder made public, then staff-only again.
    let folder = app.articles_dir().join("internal/_folder.toml");
    std::fs::write(&folder, "audience = \"public\"\n").unwrap();
    wait_until(
        "the folder made public is found",
        Duration::from_secs(20),
        || anonymous_finds("quillfeather", STAFF.slug),
    )
    .await;
    std::fs::write(&folder, "audience = \"staff\"\n").unwrap();
    wait_until(
        "the folder restricted again is hidden",
        Duration::from_secs(20),
        || async { !anonymous_finds("quillfeather", STAFF.slug).await },
    )
    .await;
    // A folder file that no longer parses makes its folder staff-only (fail-closed).
    std::fs::write(&folder, "audience = \"public\"\n").unwrap();
    wait_until("public again", Duration::from_secs(20), || {
        anonymous_finds("quillfeather", STAFF.slug)
    })
    .await;
    std::fs::write(&folder, "audiance = \"public\"\n").unwrap();
    wait_until(
        "a broken folder file hides its folder",
        Duration::from_secs(20),
        || async { !anonymous_finds("quillfeather", STAFF.slug).await },
    )
    .await;
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
