//! Search insights, as writers and agents use them: what customers searched and missed,
//! what they did next, which searches ended in a ticket. Real HTTP, a real database,
//! the real recorder (writing every 100 ms in the test service).

mod ticket_support;

use std::time::Duration;

use helpcenter::db::{Database, DbConfig};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use ticket_support::{assert_problem, spawn_app, spawn_service, wait_until, TestApp, User};

/// GET `path` as `user` with the tab's session pseudonym.
async fn get_in_session(app: &TestApp, user: Option<&User>, session: &str, path: &str) -> Value {
    let mut req = app
        .client
        .get(format!("{}{path}", app.base))
        .header("x-hc-session", session);
    if let Some(u) = user {
        req = req.bearer_auth(&u.token);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

/// The recorded queries `user` reads in SQL, under Row Level Security as them.
async fn searches_seen_by(app: &TestApp, user: &User) -> Vec<String> {
    let claims = app.jwt.verify_fetching(&user.token).await.unwrap();
    app.db
        .read_as(&claims, |conn, _| {
            Box::pin(async move {
                sqlx::query_scalar("select query from public.insight_searches order by query")
                    .fetch_all(conn)
                    .await
            })
        })
        .await
        .unwrap()
}

async fn recorder_status(app: &TestApp) -> Value {
    app.send(Method::GET, "/api/v1/insights/status", None, None)
        .await
        .body
}

/// Waits until the recorder has written at least `n` events and holds none back.
async fn written(app: &TestApp, n: u64) {
    wait_until("the recorder writes", Duration::from_secs(10), || async {
        let s = recorder_status(app).await;
        s["written"].as_u64().unwrap_or(0) >= n && s["queued"] == 0 && s["settling"] == 0
    })
    .await;
}

#[tokio::test]
async fn a_search_that_found_nothing_shows_in_the_report_with_the_ticket_that_followed() {
    let app = spawn_app().await;
    app.knowledge_base_ready().await;
    let customer = app.customer("ana");
    let agent = app.agent("agent").await;
    let session = "tab-4f2a9c7e1b";
    // As the customer types, each keystroke searches; only the last query counts.
    for q in ["ref", "refund", "refund bank", "refund bank transfer"] {
        get_in_session(
            &app,
            Some(&customer),
            session,
            &format!("/api/v1/search?q={}", q.replace(' ', "+")),
        )
        .await;
    }
    // Nothing found, the customer opens a ticket from the same tab.
    let ticket = app
        .client
        .post(format!("{}/api/v1/tickets", app.base))
        .bearer_auth(&customer.token)
        .header("x-hc-session", session)
        .json(&json!({"subject": "Refund by bank transfer", "body": "I paid by bank transfer. How do I get my refund?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ticket.status(), StatusCode::CREATED);
    let ticket: Value = ticket.json().await.unwrap();
    written(&app, 1).await;

    let report = app.get(&agent, "/api/v1/insights/zero-results").await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    let items = report.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "only the settled query: {}", report.text);
    assert_eq!(items[0]["query"], "refund bank transfer");
    assert_eq!(items[0]["count"], 1);
    assert!(items[0]["last_seen"].is_string());
    assert_eq!(items[0]["next"][0]["kind"], "ticket", "{}", report.text);
    assert_eq!(items[0]["next"][0]["text"], "Refund by bank transfer");
    assert_eq!(items[0]["next"][0]["ticket_id"], ticket["id"]);

    // The ticket, with the searches before it.
    let tickets = app.get(&agent, "/api/v1/insights/tickets").await;
    assert_eq!(
        tickets.body["items"][0]["ticket_id"], ticket["id"],
        "{}",
        tickets.text
    );
    assert_eq!(
        tickets.body["items"][0]["searches"][0]["query"],
        "refund bank transfer"
    );
    assert_eq!(tickets.body["items"][0]["searches"][0]["results"], 0);

    // Top queries and deflection count it too.
    let top = app.get(&agent, "/api/v1/insights/top-queries").await;
    assert_eq!(
        top.body["items"][0]["query"], "refund bank transfer",
        "{}",
        top.text
    );
    assert_eq!(top.body["items"][0]["zero_results"], 1);
    let deflection = app.get(&agent, "/api/v1/insights/deflection").await;
    let today = &deflection.body["items"][0];
    assert_eq!(today["sessions"], 1, "{}", deflection.text);
    assert_eq!(today["with_ticket"], 1);
    assert_eq!(today["deflection_rate"], 0.0);

    // Customers do not read the reports; without a token, nobody does.
    assert_problem(
        &app.get(&customer, "/api/v1/insights/zero-results").await,
        StatusCode::FORBIDDEN,
    );
    let anonymous = app
        .send(Method::GET, "/api/v1/insights/zero-results", None, None)
        .await;
    assert_problem(&anonymous, StatusCode::UNAUTHORIZED);
    // A date range the wrong way round names the field.
    let bad = app
        .get(
            &agent,
            "/api/v1/insights/zero-results?from=2026-12-05&to=2026-12-01",
        )
        .await;
    assert_problem(&bad, StatusCode::BAD_REQUEST);
    assert!(bad.text.contains("\"from\""), "{}", bad.text);
}

#[tokio::test]
async fn a_search_whose_result_was_opened_is_not_a_miss_and_counts_a_click() {
    let app = spawn_app().await;
    app.knowledge_base_ready().await;
    let agent = app.agent("agent").await;
    let session = "tab-77aa01bc22";
    let found = get_in_session(&app, None, session, "/api/v1/search?q=reset+password").await;
    let slug = found["hits"][0]["slug"].as_str().unwrap().to_string();
    // Until the result is opened, the query is one whose results nobody opens.
    written(&app, 1).await;
    let unopened = app.get(&agent, "/api/v1/insights/unopened").await;
    assert_eq!(
        unopened.body["items"][0]["query"], "reset password",
        "{}",
        unopened.text
    );
    assert_eq!(unopened.body["items"][0]["clicks"], 0);
    let click = app
        .send(
            Method::POST,
            "/api/v1/insights/clicks",
            None,
            Some(json!({"session": session, "query": "Reset  password", "slug": slug, "position": 0})),
        )
        .await;
    assert_eq!(click.status, StatusCode::ACCEPTED, "{}", click.text);
    // A click on an article that does not exist, or with a broken session, is refused.
    let bad = app
        .send(
            Method::POST,
            "/api/v1/insights/clicks",
            None,
            Some(json!({"session": "x", "query": "q", "slug": "account/reset-password", "position": 0})),
        )
        .await;
    assert_problem(&bad, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("\"session\""), "{}", bad.text);
    let missing = app
        .send(
            Method::POST,
            "/api/v1/insights/clicks",
            None,
            Some(
                json!({"session": session, "query": "q", "slug": "no/such-article", "position": 0}),
            ),
        )
        .await;
    assert_problem(&missing, StatusCode::NOT_FOUND);
    written(&app, 2).await;
    let top = app.get(&agent, "/api/v1/insights/top-queries").await;
    let item = &top.body["items"][0];
    assert_eq!(item["query"], "reset password", "{}", top.text);
    assert_eq!(item["searches"], 1);
    assert_eq!(item["clicks"], 1);
    assert_eq!(item["click_through"], 1.0);
    let zero = app.get(&agent, "/api/v1/insights/zero-results").await;
    assert_eq!(zero.body["items"], json!([]), "{}", zero.text);
    let unopened = app.get(&agent, "/api/v1/insights/unopened").await;
    assert_eq!(unopened.body["items"], json!([]), "{}", unopened.text);
}

#[tokio::test]
async fn a_customer_never_reads_another_customers_searches() {
    let app = spawn_app().await;
    app.knowledge_base_ready().await;
    let ana = app.customer("ana");
    let bob = app.customer("bob");
    get_in_session(
        &app,
        Some(&ana),
        "tab-ana-000001",
        "/api/v1/search?q=ana+private+words",
    )
    .await;
    get_in_session(
        &app,
        Some(&bob),
        "tab-bob-000001",
        "/api/v1/search?q=bob+private+words",
    )
    .await;
    written(&app, 2).await;
    // SQL, under Row Level Security as each customer: their own rows only.
    for (user, own) in [(&ana, "ana private words"), (&bob, "bob private words")] {
        let claims = app.jwt.verify_fetching(&user.token).await.unwrap();
        assert_eq!(searches_seen_by(&app, user).await, [own]);
        for rollup in [
            "insight_queries",
            "insight_query_days",
            "insight_days",
            "insight_session_days",
        ] {
            let rows: i64 = app
                .db
                .read_as(&claims, move |conn, _| {
                    Box::pin(async move {
                        sqlx::query_scalar(&format!("select count(*) from public.{rollup}"))
                            .fetch_one(conn)
                            .await
                    })
                })
                .await
                .unwrap();
            assert_eq!(rows, 0, "everyone's counts in {rollup} are the agents'");
        }
        // HTTP: no report answers a customer.
        for report in [
            "zero-results",
            "top-queries",
            "tickets",
            "deflection",
            "unopened",
            "unhelpful-articles",
        ] {
            let r = app.get(user, &format!("/api/v1/insights/{report}")).await;
            assert_problem(&r, StatusCode::FORBIDDEN);
        }
    }
}

#[tokio::test]
async fn the_search_page_records_with_the_tabs_cookie_and_a_client_without_a_session_is_not() {
    let app = spawn_app().await;
    app.knowledge_base_ready().await;
    let agent = app.agent("agent").await;
    let page = app
        .client
        .get(format!("{}/search?q=Password+RESET", app.base))
        .header("cookie", "hc_sid=tab-cookie-0001")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    // No session at all (not a browser tab): not recorded.
    app.client
        .get(format!("{}/api/v1/search?q=no+session", app.base))
        .send()
        .await
        .unwrap();
    written(&app, 1).await;
    let top = app.get(&agent, "/api/v1/insights/top-queries").await;
    let queries: Vec<&str> = top.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["query"].as_str().unwrap())
        .collect();
    assert_eq!(queries, ["password reset"]);
}

#[tokio::test]
async fn a_flood_of_searches_with_the_database_down_drops_the_oldest_and_counts_them() {
    let url = "postgres://postgres:postgres@127.0.0.1:1/helpcenter".to_string();
    let db = Database::new(&DbConfig {
        database_url: url.clone(),
        authenticator_url: None,
    })
    .unwrap();
    let app = spawn_service(Some(db), url, "unused".into()).await;
    app.knowledge_base_ready().await;
    // Each from its own tab, from the search page (settled at once): 1,200 events for
    // a queue of 1,000.
    for i in 0..1_200 {
        let r = app
            .client
            .get(format!("{}/search?q=password", app.base))
            .header("cookie", format!("hc_sid=flood-tab-{i:06}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "search answers while the database is down"
        );
    }
    wait_until(
        "the newest 1,000 kept, 200 dropped",
        Duration::from_secs(10),
        || async {
            let status = recorder_status(&app).await;
            status["dropped"] == 200 && status["queued"] == 1_000 && status["written"] == 0
        },
    )
    .await;
    let status = recorder_status(&app).await;
    assert!(status["last_error"].is_string(), "{status}");
}

#[tokio::test]
async fn a_database_that_hangs_on_the_recording_never_slows_search_and_loses_only_what_it_counts() {
    let app = spawn_app().await;
    app.knowledge_base_ready().await;
    // The database is up but hangs on the recording: a transaction holds the searches'
    // table, so the recorder's batch waits inside PostgreSQL for as long as it lasts.
    let mut owner = app.owner_conn().await;
    sqlx::query("begin").execute(&mut owner).await.unwrap();
    sqlx::query("lock table public.insight_searches in access exclusive mode")
        .execute(&mut owner)
        .await
        .unwrap();
    // 2,000 searches from as many tabs, for a queue of 1,000 and batches of at most
    // 500: at least 500 must be dropped. Each answers while the lock is still held (a
    // search that waited on the recording would wait for ever: the lock is released
    // only after the last of them).
    let searches = 2_000u64;
    for i in 0..searches {
        let r = app
            .client
            .get(format!("{}/search?q=password", app.base))
            .header("cookie", format!("hc_sid=slow-db-tab-{i:06}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    wait_until(
        "the full queue drops its oldest",
        Duration::from_secs(10),
        || async { recorder_status(&app).await["dropped"].as_u64().unwrap_or(0) >= 500 },
    )
    .await;
    let held: i64 = sqlx::query_scalar("select count(*) from public.insight_searches")
        .fetch_one(&mut owner)
        .await
        .unwrap();
    assert_eq!(held, 0, "nothing is written while the table is held");
    sqlx::query("commit").execute(&mut owner).await.unwrap();

    // Released: the waiting batch and the queue are written; every search is either
    // written or counted as dropped (a batch in flight is in neither count yet, so
    // the wait is for the sum).
    wait_until(
        "every search is written or dropped",
        Duration::from_secs(20),
        || async {
            let s = recorder_status(&app).await;
            let counted = s["written"].as_u64().unwrap_or(0) + s["dropped"].as_u64().unwrap_or(0);
            counted == searches && s["queued"] == 0 && s["settling"] == 0
        },
    )
    .await;
    let status = recorder_status(&app).await;
    let written = status["written"].as_u64().unwrap();
    let stored: i64 = sqlx::query_scalar(
        "select count(*) from public.insight_searches where session like 'slow-db-tab-%'",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(stored as u64, written, "each written search is stored once");
    assert!(status["last_error"].is_null(), "{status}");
}

#[tokio::test]
async fn retention_deletes_what_is_older_than_the_period() {
    let app = spawn_app().await;
    app.knowledge_base_ready().await;
    let mut owner = app.owner_conn().await;
    // Old and recent events, recorded as the service records them (rollups included).
    let events = |days_ago: i64, session: &str, query: &str| {
        json!({"kind": "search", "at": (time::OffsetDateTime::now_utc() - time::Duration::days(days_ago))
                .format(&time::format_description::well_known::Rfc3339).unwrap(),
               "session": session, "user_id": null, "query": query, "results": 0,
               "top_slugs": [], "category": null, "tags": [], "source": "page"})
    };
    let batch = json!([
        events(91, "old-session-1", "old query"),
        events(89, "new-session-1", "recent query")
    ]);
    sqlx::query("select public.hc_record_insights($1)")
        .bind(sqlx::types::Json(batch))
        .execute(&mut owner)
        .await
        .unwrap();
    // The recorder applies the retention itself at start and hourly, one replica (or
    // call) at a time: whichever run takes the rows, the recorder counts them.
    wait_until(
        "the retention deletes the old rows",
        Duration::from_secs(10),
        || async {
            app.recorder.forget_now(&app.db).await.unwrap();
            app.recorder.status().forgotten >= 4
        },
    )
    .await;
    // The old search, its query's day, the day's totals and its session's day.
    assert_eq!(app.recorder.status().forgotten, 4);
    let left: Vec<String> = sqlx::query_scalar("select query from public.insight_searches")
        .fetch_all(&mut owner)
        .await
        .unwrap();
    assert_eq!(left, ["recent query"]);
    let queries: Vec<String> = sqlx::query_scalar("select query from public.insight_queries")
        .fetch_all(&mut owner)
        .await
        .unwrap();
    assert_eq!(
        queries,
        ["recent query"],
        "a query no day counts any more is forgotten too"
    );
    assert_eq!(recorder_status(&app).await["retention_days"], 90);
}

#[tokio::test]
async fn a_no_vote_carries_its_reason_into_the_unhelpful_articles_report() {
    let app = spawn_app().await;
    app.knowledge_base_ready().await;
    let agent = app.agent("agent").await;
    let customer = app.customer("ana");
    let path = "/api/v1/articles/account/reset-password/feedback";
    let r = app
        .post(&customer, path, json!({"helpful": false, "reason": "outdated", "comment": "The button is now called Reset."}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app
        .send(
            Method::POST,
            path,
            None,
            Some(json!({"helpful": false, "reason": "unclear"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // A reason that is not on the list, or with a "yes", names the field.
    let bad = app
        .post(
            &customer,
            path,
            json!({"helpful": false, "reason": "boring"}),
        )
        .await;
    assert_problem(&bad, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("\"reason\""), "{}", bad.text);
    let yes_with_reason = app
        .post(
            &customer,
            path,
            json!({"helpful": true, "comment": "great"}),
        )
        .await;
    assert_problem(&yes_with_reason, StatusCode::UNPROCESSABLE_ENTITY);
    let long = app
        .post(
            &customer,
            path,
            json!({"helpful": false, "comment": "x".repeat(501)}),
        )
        .await;
    assert_problem(&long, StatusCode::UNPROCESSABLE_ENTITY);

    let report = app.get(&agent, "/api/v1/insights/unhelpful-articles").await;
    let item = &report.body["items"][0];
    assert_eq!(item["slug"], "account/reset-password", "{}", report.text);
    assert_eq!(item["not_helpful"], 2);
    assert_eq!(
        item["reasons"],
        json!([{"reason": "outdated", "count": 1}, {"reason": "unclear", "count": 1}])
    );
    assert_eq!(item["comments"], json!(["The button is now called Reset."]));
}

#[tokio::test]
async fn the_insights_page_shows_agents_the_reports_with_svg_charts_and_nobody_else() {
    let app = spawn_app().await;
    app.knowledge_base_ready().await;
    let agent = app.agent("agent").await;
    let customer = app.customer("ana");
    get_in_session(
        &app,
        None,
        "tab-page-000001",
        "/api/v1/search?q=parcel+insurance+claim",
    )
    .await;
    get_in_session(
        &app,
        None,
        "tab-page-000002",
        "/api/v1/search?q=reset+password",
    )
    .await;
    written(&app, 2).await;
    let get = |cookie: Option<String>| {
        let mut req = app.client.get(format!("{}/insights", app.base));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        async move {
            let resp = req.send().await.unwrap();
            (resp.status(), resp.text().await.unwrap())
        }
    };
    let (status, html) = get(None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html.contains("Sign in") && !html.contains("parcel insurance claim"));
    let (status, html) = get(Some(app.page_cookie(&customer.token).await)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!html.contains("parcel insurance claim"));
    let (status, html) = get(Some(app.page_cookie(&agent.token).await)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Queries that found nothing"));
    assert!(
        html.contains("parcel insurance claim"),
        "the zero-result query is listed"
    );
    assert!(
        html.contains("<polyline points=\""),
        "charts are SVG drawn on the server"
    );
    assert!(html.contains("2 searches"), "{html}");
    assert!(!html.contains("<script>"), "no inline script");
}

/// Records `events` through the service's own batch function.
async fn record(app: &TestApp, events: Vec<Value>) {
    let mut owner = app.owner_conn().await;
    sqlx::query("select public.hc_record_insights($1)")
        .bind(sqlx::types::Json(Value::Array(events)))
        .execute(&mut owner)
        .await
        .unwrap();
}

/// A settled search `days_ago` days ago.
fn search_event(days_ago: i64, session: &str, query: &str, results: i32) -> Value {
    json!({"kind": "search",
           "at": (time::OffsetDateTime::now_utc() - time::Duration::days(days_ago))
               .format(&time::format_description::well_known::Rfc3339).unwrap(),
           "session": session, "user_id": null, "query": query, "results": results,
           "top_slugs": [], "category": null, "tags": [], "source": "page"})
}

#[tokio::test]
async fn top_queries_are_exact_whether_a_query_is_searched_in_bursts_or_steadily() {
    let app = spawn_app().await;
    app.knowledge_base_ready().await;
    let agent = app.agent("agent").await;
    let mut events = Vec::new();
    // "steady": once a day for 30 days (30); "bursty": twice a day on 13 days (26). The
    // ranking's first pass sees only days with two searches or more, so only "bursty";
    // the bound (one a day for the days left out) must send it to the full count.
    for day in 0..30 {
        events.push(search_event(day, "steady-session", "steady", 3));
    }
    for day in 0..13 {
        for _ in 0..2 {
            events.push(search_event(day, "bursty-session", "bursty", 3));
        }
    }
    record(&app, events).await;
    let top = app
        .get(&agent, "/api/v1/insights/top-queries?limit=1")
        .await;
    assert_eq!(top.body["items"][0]["query"], "steady", "{}", top.text);
    assert_eq!(top.body["items"][0]["searches"], 30);
    // "popular": 40 on two days, far above anything a one-a-day query can reach in 30
    // days: ranked from the first pass alone, with the same answer.
    let mut events = Vec::new();
    for day in 0..2 {
        for _ in 0..20 {
            events.push(search_event(day, "popular-session", "popular", 0));
        }
    }
    record(&app, events).await;
    for path in [
        "/api/v1/insights/top-queries?limit=1",
        "/api/v1/insights/zero-results?limit=1",
    ] {
        let r = app.get(&agent, path).await;
        let first = &r.body["items"][0];
        assert_eq!(first["query"], "popular", "{path}: {}", r.text);
    }
    let all = app
        .get(&agent, "/api/v1/insights/top-queries?limit=3")
        .await;
    let order: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["query"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["popular", "steady", "bursty"]);
}

#[tokio::test]
async fn a_ticket_naming_another_persons_session_reads_only_its_signed_out_searches() {
    let app = spawn_app().await;
    app.knowledge_base_ready().await;
    let ana = app.customer("ana");
    let bob = app.customer("bob");
    let shared = "tab-shared-00001";
    // Ana searches signed in, then someone searches signed out, in the same tab.
    // (Settled one at a time: two searches of one tab in a burst are one search.)
    get_in_session(&app, Some(&ana), shared, "/api/v1/search?q=ana+signed+in").await;
    written(&app, 1).await;
    get_in_session(&app, None, shared, "/api/v1/search?q=signed+out+words").await;
    written(&app, 2).await;
    // Bob opens a ticket naming that session.
    let ticket = app
        .client
        .post(format!("{}/api/v1/tickets", app.base))
        .bearer_auth(&bob.token)
        .header("x-hc-session", shared)
        .json(&json!({"subject": "Help", "body": "Please help."}))
        .send()
        .await
        .unwrap();
    assert_eq!(ticket.status(), StatusCode::CREATED);
    assert_eq!(
        searches_seen_by(&app, &bob).await,
        ["signed out words"],
        "never Ana's signed-in search"
    );
}

#[tokio::test]
async fn control_characters_never_stop_the_recording_and_customers_get_403_before_400() {
    let app = spawn_app().await;
    app.knowledge_base_ready().await;
    let agent = app.agent("agent").await;
    let customer = app.customer("ana");
    get_in_session(
        &app,
        None,
        "tab-ctrl-000001",
        "/api/v1/search?q=nul%00byte%1B%5B31m",
    )
    .await;
    get_in_session(&app, None, "tab-ctrl-000002", "/api/v1/search?q=after+it").await;
    written(&app, 2).await;
    let top = app.get(&agent, "/api/v1/insights/top-queries").await;
    let queries: Vec<&str> = top.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["query"].as_str().unwrap())
        .collect();
    assert_eq!(queries, ["after it", "nul byte [31m"], "{}", top.text);
    // A customer is refused for who they are, whatever the parameters.
    let r = app
        .get(&customer, "/api/v1/insights/top-queries?from=nonsense")
        .await;
    assert_problem(&r, StatusCode::FORBIDDEN);
    let r = app
        .get(&agent, "/api/v1/insights/top-queries?to=9999-12-31")
        .await;
    assert_problem(&r, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("\"to\""), "{}", r.text);
    // The per-day reports page too.
    let r = app.get(&agent, "/api/v1/insights/daily?limit=1").await;
    assert!(r.body["items"].as_array().unwrap().len() <= 1, "{}", r.text);
}
