//! The help center's pages over real HTTP: what a browser gets without JavaScript.
//! (The JavaScript stories run in headless Chromium: `scripts/browser-tests.sh`.)

mod common;

use common::{demo_articles, spawn_app, TestApp};

/// GET a page: status, content type, CSP header and body.
async fn page(app: &TestApp, path: &str) -> (u16, String, String, String) {
    let response = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (status, content_type, csp) = (
        response.status().as_u16(),
        header("content-type"),
        header("content-security-policy"),
    );
    (status, content_type, csp, response.text().await.unwrap())
}

/// The article paths the result list of a search page links to, in order (without a
/// section's `#anchor`).
fn hit_paths(html: &str) -> Vec<String> {
    html.split(r#"<li class="hit">"#)
        .skip(1)
        .map(|hit| {
            let href = hit
                .split("<h2><a href=\"")
                .nth(1)
                .expect("a hit's title link");
            let href = &href[..href.find('"').unwrap()];
            href.split('#').next().unwrap().to_string()
        })
        .collect()
}

/// Every way HTML can run script without a file of its own: a `<script>` element with
/// content or without `src` (whatever its attributes), an `on…=` event handler
/// attribute, a `javascript:` URL. Returns what was found.
fn inline_script(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut found = Vec::new();
    // Each tag: from `<` to the next `>` (attribute values here hold no `>`).
    for tag in lower.split('<').skip(1) {
        let Some(end) = tag.find('>') else { continue };
        let (inside, after) = (&tag[..end], &tag[end + 1..]);
        let name = inside.split_whitespace().next().unwrap_or("");
        if name == "script" && (!inside.contains(" src=") || !after.is_empty()) {
            found.push(format!("<{inside}>{}", &after[..after.len().min(40)]));
        }
        for attr in inside.split_whitespace().skip(1) {
            let attr_name = attr.split('=').next().unwrap_or("");
            if attr_name.len() > 2 && attr_name.starts_with("on") && attr.contains('=') {
                found.push(format!("<{inside}>"));
            }
        }
        if inside.contains("javascript:") {
            found.push(format!("<{inside}>"));
        }
    }
    found
}

#[tokio::test]
async fn the_home_page_shows_the_search_box_the_categories_and_recent_articles() {
    let app = spawn_app(&demo_articles()).await;
    let (status, content_type, csp, html) = page(&app, "/").await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(html.contains(r#"<form class="search-form" role="search" action="/search""#));
    assert!(
        html.contains(r#"href="/categories/billing"><strong>Billing</strong><span>7 articles"#),
        "{html}"
    );
    let recent = html.split("Recently updated").nth(1).unwrap();
    assert_eq!(
        recent.matches("<li><a href=\"/articles/").count(),
        6,
        "{recent}"
    );
    assert_eq!(
        inline_script(&html),
        Vec::<String>::new(),
        "no inline script"
    );
}

#[tokio::test]
async fn no_page_runs_inline_script_and_the_policy_forbids_it() {
    let app = spawn_app(&demo_articles()).await;
    for path in [
        "/",
        "/search?q=invoice",
        "/articles/billing/invoices/download-invoice",
        "/categories/billing",
        "/portal",
        "/nothing-here",
    ] {
        let (_, content_type, csp, html) = page(&app, path).await;
        assert!(
            content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
        let script_src = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap_or_else(|| panic!("{path}: no script-src in {csp:?}"));
        assert_eq!(script_src, "script-src 'self'", "{path}");
        assert_eq!(inline_script(&html), Vec::<String>::new(), "{path}");
        // The page's own scripts are files (the check above is not blind to them).
        assert!(
            html.contains(r#"<script type="module" src="/assets/"#),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_search_page_lists_highlighted_results_and_category_facets_without_javascript() {
    let app = spawn_app(&demo_articles()).await;
    let (status, _, _, html) = page(&app, "/search?q=downlod+invoice").await;
    assert_eq!(status, 200);
    assert!(html.contains("results for “downlod invoice”"), "{html}");
    assert!(
        html.contains("<mark>invoice</mark>"),
        "snippets keep their marks"
    );
    assert!(html.contains(r#"href="/articles/billing/invoices/download-invoice"#));
    assert!(
        html.contains("category=billing%2Finvoices") || html.contains("category=billing/invoices")
    );
    // An empty category is no filter: the same results as none, from several categories.
    let (_, _, _, all) = page(&app, "/search?q=invoice").await;
    let (_, _, _, unfiltered) = page(&app, "/search?q=invoice&category=").await;
    assert!(!unfiltered.contains(" in General"), "{unfiltered}");
    let everywhere = hit_paths(&unfiltered);
    assert_eq!(everywhere, hit_paths(&all));
    assert!(
        everywhere
            .iter()
            .any(|p| p.starts_with("/articles/billing/"))
            && everywhere
                .iter()
                .any(|p| p.starts_with("/articles/shipping/")),
        "{everywhere:?}"
    );
    // The facet narrows the results to the shipping articles.
    let (_, _, _, narrowed) = page(&app, "/search?q=invoice&category=shipping").await;
    assert!(narrowed.contains(" in Shipping</h1>"), "{narrowed}");
    let shipping = hit_paths(&narrowed);
    assert!(!shipping.is_empty(), "{narrowed}");
    assert!(
        shipping
            .iter()
            .all(|p| p.starts_with("/articles/shipping/")),
        "only shipping articles: {shipping:?}"
    );
    // As many as the unfiltered page's facet promised.
    let promised = unfiltered
        .split(r#"category=shipping">Shipping</a> <span class="count">"#)
        .nth(1)
        .and_then(|rest| rest[..rest.find('<')?].parse::<usize>().ok())
        .expect("a Shipping facet with its count");
    assert!(
        narrowed.contains(&format!("<h1 id=\"results-title\">{promised} result")),
        "{promised} shipping results promised: {narrowed}"
    );
}

#[tokio::test]
async fn what_a_customer_types_is_escaped_in_the_page() {
    let app = spawn_app(&demo_articles()).await;
    let (status, _, _, html) = page(&app, "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    assert_eq!(status, 200);
    assert!(
        !html.contains("<script>alert(1)"),
        "unescaped input in {html}"
    );
    assert!(html.contains("&#60;script&#62;alert(1)") || html.contains("&lt;script&gt;alert(1)"));
}

#[tokio::test]
async fn result_pages_page_through_every_result() {
    let app = spawn_app(&demo_articles()).await;
    let (_, _, _, first) = page(&app, "/search?q=").await;
    assert!(first.contains("Page 1 of 3"), "{first}");
    assert!(
        first.contains(r#"rel="next" href="/search?q=&#38;page=2""#),
        "{first}"
    );
    let (_, _, _, last) = page(&app, "/search?q=&page=99").await;
    assert!(last.contains("Page 3 of 3") && !last.contains(r#"rel="next""#));
    // The three pages hold every result once.
    let total: usize = first
        .split(r#"<h1 id="results-title">"#)
        .nth(1)
        .and_then(|h| h.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the number of results");
    let mut seen = Vec::new();
    for n in 1..=3 {
        let (_, _, _, html) = page(&app, &format!("/search?q=&page={n}")).await;
        seen.extend(hit_paths(&html));
    }
    let distinct: std::collections::BTreeSet<&String> = seen.iter().collect();
    assert_eq!((seen.len(), distinct.len()), (total, total), "{seen:?}");
}

#[tokio::test]
async fn an_article_page_has_its_breadcrumb_table_of_contents_and_related_articles() {
    let app = spawn_app(&demo_articles()).await;
    let (status, _, _, html) = page(&app, "/articles/billing/invoices/download-invoice").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"<li><a href="/categories/billing">Billing</a></li>"#),
        "{html}"
    );
    assert!(html.contains(r#"<li><a href="/categories/billing/invoices">Invoices</a></li>"#));
    // Every table-of-contents link lands on a heading of the article.
    let toc = html
        .split(r#"class="toc""#)
        .nth(1)
        .expect("a table of contents");
    let anchors: Vec<&str> = toc
        .split("href=\"#")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    assert!(!anchors.is_empty());
    for anchor in anchors {
        assert!(
            html.contains(&format!("id=\"{anchor}\"")),
            "no heading #{anchor}"
        );
    }
    assert!(html.contains("Related articles"));
    assert!(html.contains("data-feedback=\"billing/invoices/download-invoice\""));
}

#[tokio::test]
async fn unknown_articles_categories_and_pages_get_a_real_404_page_and_the_api_keeps_problem_json()
{
    let app = spawn_app(&demo_articles()).await;
    for path in [
        "/articles/no/such-article",
        "/categories/nope",
        "/nothing-here",
        "/articles/%FF",
        "/categories/%FF%FE",
    ] {
        let (status, content_type, _, html) = page(&app, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(
            content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
        assert!(html.contains("We couldn't find that page"), "{path}");
        assert!(html.contains(r#"role="search""#), "a way on from {path}");
    }
    let (status, content_type, _, _) = page(&app, "/api/v1/nothing").await;
    assert_eq!(
        (status, content_type.as_str()),
        (404, "application/problem+json")
    );
}

#[tokio::test]
async fn a_category_page_lists_its_articles_and_subcategories() {
    let app = spawn_app(&demo_articles()).await;
    let (status, _, _, html) = page(&app, "/categories/billing").await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Billing</h1>"));
    assert!(
        html.contains("7 articles, subcategories included"),
        "{html}"
    );
    assert!(html.contains(r#"href="/categories/billing/invoices"><strong>Invoices</strong>"#));
    assert!(html.contains(r#"href="/articles/billing/invoices/download-invoice""#));
    // A page past the end shows the last page, not an empty one.
    let (_, _, _, past) = page(&app, "/categories/billing?page=99").await;
    assert!(
        past.contains(r#"href="/articles/billing/invoices/download-invoice""#),
        "{past}"
    );
}

#[tokio::test]
async fn the_portal_says_plainly_when_tickets_are_unavailable_while_articles_work() {
    // This app has no ticket database at all: the portal must say so, not break.
    let app = spawn_app(&demo_articles()).await;
    let (status, _, _, html) = page(&app, "/portal").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Tickets are temporarily unavailable"),
        "{html}"
    );
    assert!(html.contains(r#"data-tickets-available="false""#));
    // The articles work: searched, and read.
    let (status, _, _, results) = page(&app, "/search?q=reset+password").await;
    assert_eq!(status, 200);
    assert_eq!(
        hit_paths(&results).first().map(String::as_str),
        Some("/articles/account/reset-password"),
        "{results}"
    );
    let (status, _, _, article) = page(&app, "/articles/account/reset-password").await;
    assert_eq!(status, 200);
    assert!(
        article.contains(r#"<h1 id="hc-article-title">Reset your password</h1>"#),
        "{article}"
    );
}

#[tokio::test]
async fn assets_ship_in_the_binary_with_etags_and_long_caching_for_hashed_urls() {
    let app = spawn_app(&demo_articles()).await;
    let (_, _, _, html) = page(&app, "/").await;
    let css = html
        .split("href=\"")
        .find(|s| s.starts_with("/assets/site.css?v="))
        .map(|s| &s[..s.find('"').unwrap()])
        .expect("a hashed stylesheet URL");
    let first = app
        .client
        .get(format!("{}{css}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["content-type"], "text/css; charset=utf-8");
    assert!(first.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    let etag = first.headers()["etag"].clone();
    let again = app
        .client
        .get(format!("{}{css}", app.base))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    // A proxy may weaken the tag; it still matches.
    let weak = first.headers()["etag"]
        .to_str()
        .unwrap()
        .trim_start_matches("W/")
        .to_string();
    let weakened = app
        .client
        .get(format!("{}{css}", app.base))
        .header("if-none-match", format!("W/{weak}"))
        .send()
        .await
        .unwrap();
    assert_eq!(weakened.status(), 304);
    let unversioned = app
        .client
        .get(format!("{}/assets/site.css", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unversioned.headers()["cache-control"], "public, no-cache");
}

/// What every reader of the help center downloads (the stylesheet and the pages'
/// script) stays small; the portal's script, loaded by signed-in customers on
/// `/portal` only, has a budget of its own.
#[test]
fn css_and_javascript_stay_within_their_budgets() {
    let sizes = helpcenter::web::assets::sizes();
    assert_eq!(sizes.len(), 3, "{sizes:?}");
    let size = |name: &str| sizes.iter().find(|(n, _)| *n == name).map(|(_, s)| *s);
    let pages = size("site.css").unwrap_or(usize::MAX) + size("site.js").unwrap_or(usize::MAX);
    assert!(pages < 35 * 1024, "site.css and site.js: {pages} bytes");
    let portal = size("portal.js").expect("portal.js");
    assert!(portal < 30 * 1024, "portal.js: {portal} bytes");
}

#[tokio::test]
async fn a_search_hits_section_link_lands_on_a_heading_of_the_article() {
    let app = spawn_app(&demo_articles()).await;
    let (_, _, _, html) = page(&app, "/search?q=download+several+invoices").await;
    let links: Vec<String> = html
        .split("<h2><a href=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .filter(|href| href.contains('#'))
        .collect();
    assert!(!links.is_empty(), "a hit links to a section: {html}");
    for link in links {
        let (path, anchor) = link.split_once('#').unwrap();
        let (status, _, _, article) = page(&app, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            article.contains(&format!(" id=\"{anchor}\"")),
            "{path} has no heading #{anchor}"
        );
    }
}
