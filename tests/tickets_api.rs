//! Stories of the ticket portal API, against a real PostgreSQL.

mod ticket_support;

use std::time::{Duration, Instant};

use helpcenter::db::{Database, DbConfig};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::Connection;
use ticket_support::{assert_problem, spawn_app, spawn_service, wait_until};

#[tokio::test]
async fn customer_creates_a_ticket_and_reads_it_back() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let r = app
        .post(
            &alice,
            "/api/v1/tickets",
            json!({"subject": "Label printer jams", "body": "Every third label jams.", "priority": "high", "category": "technical"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let mut ticket = r.body;
    let suggested = ticket
        .as_object_mut()
        .and_then(|t| t.remove("suggested_articles"));
    assert!(suggested.is_some_and(|s| s.is_array()));
    assert_eq!(ticket["subject"], "Label printer jams");
    assert_eq!(ticket["status"], "new");
    assert_eq!(ticket["priority"], "high");
    assert_eq!(ticket["category"], "technical");
    assert_eq!(ticket["requester_id"], alice.id.to_string());

    let id = ticket["id"].as_str().unwrap();
    let r = app.get(&alice, &format!("/api/v1/tickets/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The ticket as created, plus what links to it: no follow-ups, rating or CCs yet.
    let mut read = r.body;
    let links = read.as_object_mut().expect("an object");
    assert_eq!(links.remove("followup_ids"), Some(serde_json::json!([])));
    assert_eq!(links.remove("satisfaction"), Some(serde_json::Value::Null));
    assert_eq!(links.remove("ccs"), Some(serde_json::json!([])));
    assert_eq!(read, ticket);
}

#[tokio::test]
async fn first_request_creates_the_customer_profile() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let r = app.get(&alice, "/api/v1/tickets").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!({"tickets": [], "next_cursor": null}));
    let mut conn = app.owner_conn().await;
    let (role, email): (String, Option<String>) =
        sqlx::query_as("select role, email from public.profiles where id = $1")
            .bind(alice.id)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(role, "customer");
    assert_eq!(email.as_deref(), Some(alice.email.as_str()));
}

#[tokio::test]
async fn customer_lists_own_tickets_newest_first_page_by_page() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let bob = app.customer("bob");
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(
            app.create_ticket(&alice, &format!("Alice {i}"), "body")
                .await,
        );
    }
    app.create_ticket(&bob, "Bob's ticket", "body").await;

    let mut seen = Vec::new();
    let mut path = "/api/v1/tickets?limit=2".to_string();
    loop {
        let r = app.get(&alice, &path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let page = r.body["tickets"].as_array().unwrap().clone();
        assert!(page.len() <= 2);
        seen.extend(
            page.iter()
                .map(|t| t["subject"].as_str().unwrap().to_string()),
        );
        match r.body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/tickets?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["Alice 4", "Alice 3", "Alice 2", "Alice 1", "Alice 0"]
    );

    let r = app.get(&alice, "/api/v1/tickets?q=ALICE%203").await;
    assert_eq!(r.body["tickets"].as_array().unwrap().len(), 1, "{}", r.text);
    let r = app.get(&alice, "/api/v1/tickets?status=solved").await;
    assert_eq!(r.body["tickets"], json!([]));
}

#[tokio::test]
async fn list_parameters_are_validated() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let r = app
        .get(&alice, "/api/v1/tickets?limit=101&status=lost&cursor=nope")
        .await;
    assert_problem(&r, StatusCode::BAD_REQUEST);
    let names: Vec<&str> = r.body["invalid_params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["limit", "status", "cursor"]);
}

#[tokio::test]
async fn customer_cannot_read_another_customers_ticket() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let bob = app.customer("bob");
    let ticket = app
        .create_ticket(&alice, "Private", "my address is ...")
        .await;
    let id = ticket["id"].as_str().unwrap();

    let theirs = app.get(&bob, &format!("/api/v1/tickets/{id}")).await;
    let missing = app
        .get(&bob, &format!("/api/v1/tickets/{}", uuid::Uuid::new_v4()))
        .await;
    assert_problem(&theirs, StatusCode::NOT_FOUND);
    assert_problem(&missing, StatusCode::NOT_FOUND);
    assert_eq!(
        theirs.body, missing.body,
        "the same answer, so ids cannot be probed"
    );

    let r = app.get(&bob, "/api/v1/tickets").await;
    assert_eq!(r.body["tickets"], json!([]));
}

#[tokio::test]
async fn ticket_endpoints_require_a_bearer_token() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::GET, "/api/v1/tickets"),
        (Method::POST, "/api/v1/tickets"),
        (
            Method::GET,
            "/api/v1/tickets/00000000-0000-0000-0000-000000000000",
        ),
    ] {
        let r = app.send(method, path, None, None).await;
        assert_problem(&r, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .send(Method::GET, "/api/v1/tickets", Some("garbage"), None)
        .await;
    assert_problem(&r, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn invalid_tickets_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let r = app
        .post(
            &alice,
            "/api/v1/tickets",
            json!({"subject": "x".repeat(201), "body": "", "priority": "whenever", "category": "gossip"}),
        )
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    let names: Vec<&str> = r.body["invalid_params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["subject", "body", "priority", "category"]);

    // Malformed JSON, wrong content type, wrong types: problem+json, never plain text.
    let raw = app
        .client
        .post(format!("{}/api/v1/tickets", app.base))
        .bearer_auth(&alice.token)
        .header("content-type", "application/json")
        .body("{\"subject\": ")
        .send()
        .await
        .unwrap();
    assert_problem(&ticket_support::reply(raw).await, StatusCode::BAD_REQUEST);
    let raw = app
        .client
        .post(format!("{}/api/v1/tickets", app.base))
        .bearer_auth(&alice.token)
        .body("subject=x")
        .send()
        .await
        .unwrap();
    assert_problem(&ticket_support::reply(raw).await, StatusCode::BAD_REQUEST);
    let r = app
        .post(
            &alice,
            "/api/v1/tickets",
            json!({"subject": 5, "body": "b"}),
        )
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    for path in [
        "/api/v1/tickets/not-a-uuid",
        "/api/v1/tickets/%FF%FE",
        "/api/v1/tickets/%FF/timeline",
    ] {
        let r = app.get(&alice, path).await;
        assert_problem(&r, StatusCode::NOT_FOUND);
    }
    let r = app
        .send(Method::DELETE, "/api/v1/tickets", Some(&alice.token), None)
        .await;
    assert_problem(&r, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn without_a_database_the_knowledge_base_works_and_tickets_answer_503_at_once() {
    // Nothing listens on port 1.
    let url = "postgres://postgres:postgres@127.0.0.1:1/helpcenter".to_string();
    let db = Database::new(&DbConfig {
        database_url: url.clone(),
        authenticator_url: None,
    })
    .unwrap();
    db.start();
    let app = spawn_service(Some(db), url, "unused".into()).await;
    let alice = app.customer("alice");

    let started = Instant::now();
    let r = app.get(&alice, "/api/v1/tickets").await;
    assert_problem(&r, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );

    wait_until("the knowledge base", Duration::from_secs(30), || async {
        app.client
            .get(format!("{}/api/v1/search?q=password", app.base))
            .send()
            .await
            .map(|r| r.status() == StatusCode::OK)
            .unwrap_or(false)
    })
    .await;

    // The portal's page says so plainly, while the article pages keep working.
    let portal = app
        .client
        .get(format!("{}/portal", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(portal.status(), StatusCode::OK);
    let html = portal.text().await.unwrap();
    assert!(
        html.contains("Tickets are temporarily unavailable"),
        "{html}"
    );
    assert!(html.contains(r#"data-tickets-available="false""#));
    let article = app
        .client
        .get(format!("{}/articles/account/reset-password", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(article.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_service_starts_before_postgres_has_its_database_and_recovers() {
    // The database does not exist yet: the service creates and migrates it by itself.
    let name = format!("hc_test_{}", uuid::Uuid::new_v4().simple());
    let url = format!("{}/{name}", ticket_support::pg_base());
    let db = Database::new(&DbConfig {
        database_url: url.clone(),
        authenticator_url: None,
    })
    .unwrap();
    db.start();
    let app = spawn_service(Some(db), url, name).await;
    let alice = app.customer("alice");
    wait_until("tickets to be served", Duration::from_secs(60), || async {
        app.get(&alice, "/api/v1/tickets").await.status == StatusCode::OK
    })
    .await;
}

#[tokio::test]
async fn the_login_role_alone_can_read_no_ticket() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_ticket(&alice, "Secret", "body").await;
    // The request pool logs in as `authenticator`; a query that skipped the per-request
    // set-up (role + claims) must fail, not leak.
    let err = sqlx::query("select count(*) from public.tickets")
        .fetch_one(app.db.app_pool())
        .await
        .expect_err("authenticator must not read tickets");
    let code = helpcenter::db::sqlstate(&err).map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("42501"), "{err}");
}

#[tokio::test]
async fn tickets_are_served_over_a_tls_database_connection() {
    // As on Supabase: `sslmode=require` on the owner's URL, inherited by the derived
    // authenticator connection. Whether TLS is offered is the server's answer, asked
    // over a plain connection: a client that cannot do TLS must fail this test, never
    // decide that it is skipped.
    let mut plain = sqlx::PgConnection::connect(&format!(
        "{}/postgres?sslmode=disable",
        ticket_support::pg_base()
    ))
    .await
    .expect("a plain connection to the local PostgreSQL");
    let offered: String = sqlx::query_scalar("show ssl")
        .fetch_one(&mut plain)
        .await
        .unwrap();
    plain.close().await.unwrap();
    if offered != "on" {
        // The local cluster has TLS on (Debian's default); a server without it cannot
        // show anything about the client's TLS.
        ticket_support::skips::skip(&format!(
            "the local PostgreSQL does not offer TLS (ssl = {offered})"
        ));
        return;
    }
    // The server offers TLS: the product's client must use it.
    let tls = sqlx::PgConnection::connect(&format!(
        "{}/postgres?sslmode=require",
        ticket_support::pg_base()
    ))
    .await
    .unwrap_or_else(|e| {
        panic!("the server offers TLS (ssl = on) but the client cannot use it: {e}")
    });
    tls.close().await.unwrap();
    let name = format!("hc_test_{}", uuid::Uuid::new_v4().simple());
    let url = format!("{}/{name}?sslmode=require", ticket_support::pg_base());
    let db = Database::new(&DbConfig {
        database_url: url.clone(),
        authenticator_url: None,
    })
    .unwrap();
    db.start();
    let app = spawn_service(Some(db), url, name).await;
    let alice = app.customer("alice");
    wait_until("tickets over TLS", Duration::from_secs(60), || async {
        app.get(&alice, "/api/v1/tickets").await.status == StatusCode::OK
    })
    .await;
    let ssl: bool = sqlx::query_scalar("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
        .fetch_one(app.db.app_pool())
        .await
        .unwrap();
    assert!(ssl, "the request pool's connection is not encrypted");
}

#[tokio::test]
async fn a_new_ticket_comes_back_with_the_articles_that_may_answer_it() {
    let app = spawn_app().await;
    app.knowledge_base_ready().await;
    let alice = app.customer("alice");
    let r = app
        .post(
            &alice,
            "/api/v1/tickets",
            json!({"subject": "Forgot my password", "body": "I can't sign in and need to reset it."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let suggested = r.body["suggested_articles"].as_array().unwrap();
    assert_eq!(suggested[0]["slug"], "account/reset-password", "{}", r.text);
    assert_eq!(suggested[0]["url"], "/articles/account/reset-password");
    // Nothing relevant: nothing suggested, and the ticket is created all the same.
    let r = app
        .post(
            &alice,
            "/api/v1/tickets",
            json!({"subject": "Pallet freight quote", "body": "Quote for 3 pallets to Lyon."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["suggested_articles"], json!([]));
}

#[tokio::test]
async fn with_the_database_up_the_portal_page_is_ready_for_its_script() {
    let app = spawn_app().await;
    let html = app
        .client
        .get(format!("{}/portal", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"data-tickets-available="true""#), "{html}");
    assert!(!html.contains("Tickets are temporarily unavailable"));
    assert!(html.contains(r#"<script type="module" src="/assets/portal.js?v="#));
}
