//! Stories of a ticket's life: messages, internal notes, the timeline, status changes
//! and idempotent creation.

mod ticket_support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use ticket_support::{assert_problem, spawn_app, TestApp, User};

fn entries(v: &Value) -> Vec<Value> {
    v["entries"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn customer_and_agent_converse_and_internal_notes_stay_internal() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let agent = app.agent("agnes").await;
    let ticket = app
        .create_ticket(&alice, "Refund please", "I was charged twice.")
        .await;
    let id = ticket["id"].as_str().unwrap();

    // Agents see every ticket.
    let r = app.get(&agent, "/api/v1/tickets").await;
    assert_eq!(r.body["tickets"][0]["id"], id, "{}", r.text);

    let r = app
        .post(
            &agent,
            &format!("/api/v1/tickets/{id}/messages"),
            json!({"body": "Refunded the duplicate charge."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["internal"], false);
    let r = app
        .post(
            &agent,
            &format!("/api/v1/tickets/{id}/messages"),
            json!({"body": "NOTE: customer is on the legacy plan", "internal": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let mine = app
        .get(&alice, &format!("/api/v1/tickets/{id}/timeline"))
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
    let mine_entries = entries(&mine.body);
    let bodies: Vec<&str> = mine_entries
        .iter()
        .map(|e| e["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        ["I was charged twice.", "Refunded the duplicate charge."]
    );
    assert!(!mine.text.contains("legacy plan"));
    let names: Vec<&str> = mine_entries
        .iter()
        .map(|e| e["author_name"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], alice.email.split('@').next().unwrap());
    assert_eq!(names[1], "Support team");

    let staff = app
        .get(&agent, &format!("/api/v1/tickets/{id}/timeline"))
        .await;
    let e = entries(&staff.body);
    assert_eq!(e.len(), 3, "{}", staff.text);
    assert_eq!(e[2]["internal"], true);
    assert_eq!(e[2]["type"], "message");
}

#[tokio::test]
async fn customer_cannot_post_internal_notes() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let ticket = app
        .create_ticket(&alice, "Question", "How do I export?")
        .await;
    let id = ticket["id"].as_str().unwrap();
    let r = app
        .post(
            &alice,
            &format!("/api/v1/tickets/{id}/messages"),
            json!({"body": "psst", "internal": true}),
        )
        .await;
    assert_problem(&r, StatusCode::FORBIDDEN);
    let r = app
        .post(
            &alice,
            &format!("/api/v1/tickets/{id}/messages"),
            json!({"body": ""}),
        )
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn customer_reply_reopens_a_solved_ticket() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let agent = app.agent("agnes").await;
    let ticket = app
        .create_ticket(&alice, "Broken label", "It prints blank.")
        .await;
    let id = ticket["id"].as_str().unwrap();
    let r = app
        .patch(
            &agent,
            &format!("/api/v1/tickets/{id}"),
            json!({"status": "solved"}),
        )
        .await;
    assert_eq!(r.body["status"], "solved", "{}", r.text);

    let r = app
        .post(
            &alice,
            &format!("/api/v1/tickets/{id}/messages"),
            json!({"body": "Still blank!"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app.get(&alice, &format!("/api/v1/tickets/{id}")).await;
    assert_eq!(r.body["status"], "open");

    let r = app
        .get(&alice, &format!("/api/v1/tickets/{id}/timeline"))
        .await;
    let kinds: Vec<String> = entries(&r.body)
        .iter()
        .map(|e| match e["type"].as_str().unwrap() {
            "status_change" => format!(
                "{}->{}",
                e["from_status"].as_str().unwrap(),
                e["to_status"].as_str().unwrap()
            ),
            _ => "message".into(),
        })
        .collect();
    assert_eq!(
        kinds,
        ["message", "new->solved", "message", "solved->open"],
        "{}",
        r.text
    );
}

#[tokio::test]
async fn customers_may_only_solve_or_reopen_their_tickets() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let agent = app.agent("agnes").await;
    let ticket = app.create_ticket(&alice, "Login fails", "Error 500").await;
    let path = format!("/api/v1/tickets/{}", ticket["id"].as_str().unwrap());

    assert_problem(
        &app.patch(&alice, &path, json!({"status": "pending"})).await,
        StatusCode::CONFLICT,
    );
    assert_problem(
        &app.patch(&alice, &path, json!({"priority": "urgent"}))
            .await,
        StatusCode::FORBIDDEN,
    );
    assert_problem(
        &app.patch(&alice, &path, json!({"assignee": "me"})).await,
        StatusCode::FORBIDDEN,
    );
    assert_problem(
        &app.patch(&alice, &path, json!({"status": "lost"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert_problem(
        &app.patch(&alice, &path, json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );

    let r = app.patch(&alice, &path, json!({"status": "solved"})).await;
    assert_eq!(r.body["status"], "solved", "{}", r.text);
    let r = app.patch(&alice, &path, json!({"status": "open"})).await;
    assert_eq!(r.body["status"], "open", "{}", r.text);

    // Closed is final, for everybody.
    let r = app.patch(&agent, &path, json!({"status": "closed"})).await;
    assert_eq!(r.body["status"], "closed", "{}", r.text);
    assert_problem(
        &app.patch(&agent, &path, json!({"status": "open"})).await,
        StatusCode::CONFLICT,
    );
    assert_problem(
        &app.patch(&alice, &path, json!({"status": "open"})).await,
        StatusCode::CONFLICT,
    );
    let r = app
        .post(
            &alice,
            &format!("{path}/messages"),
            json!({"body": "hello?"}),
        )
        .await;
    assert_problem(&r, StatusCode::CONFLICT);
}

#[tokio::test]
async fn agents_triage_priority_and_assignee() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let agent = app.agent("agnes").await;
    let other = app.agent("otto").await;
    let t1 = app.create_ticket(&alice, "One", "1").await;
    let t2 = app.create_ticket(&alice, "Two", "2").await;
    let p1 = format!("/api/v1/tickets/{}", t1["id"].as_str().unwrap());
    let p2 = format!("/api/v1/tickets/{}", t2["id"].as_str().unwrap());

    let r = app
        .patch(
            &agent,
            &p1,
            json!({"priority": "urgent", "assignee": "me", "status": "pending"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["priority"], "urgent");
    assert_eq!(r.body["assignee_id"], agent.id.to_string());
    assert_eq!(r.body["status"], "pending");
    let r = app.patch(&agent, &p2, json!({"assignee": other.id})).await;
    assert_eq!(r.body["assignee_id"], other.id.to_string(), "{}", r.text);

    let mine = app.get(&agent, "/api/v1/tickets?assignee=me").await;
    assert_eq!(
        mine.body["tickets"].as_array().unwrap().len(),
        1,
        "{}",
        mine.text
    );
    assert_eq!(mine.body["tickets"][0]["subject"], "One");
    let r = app
        .get(&agent, &format!("/api/v1/tickets?assignee={}", other.id))
        .await;
    assert_eq!(r.body["tickets"][0]["subject"], "Two", "{}", r.text);
    let r = app.patch(&agent, &p2, json!({"assignee": null})).await;
    assert_eq!(r.body["assignee_id"], Value::Null, "{}", r.text);
    let r = app.get(&agent, "/api/v1/tickets?assignee=none").await;
    assert_eq!(r.body["tickets"][0]["subject"], "Two", "{}", r.text);

    // Only staff can be assigned.
    let r = app.patch(&agent, &p1, json!({"assignee": alice.id})).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    // Customers cannot filter by assignee.
    assert_problem(
        &app.get(&alice, "/api/v1/tickets?assignee=me").await,
        StatusCode::BAD_REQUEST,
    );
}

/// Every page of `path` (which has no cursor yet), two tickets at a time: the subjects
/// in the order served.
async fn subjects_of_every_page(app: &TestApp, user: &User, path: &str) -> Vec<String> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut next = format!("{path}{sep}limit=2");
    let mut subjects = Vec::new();
    for _ in 0..10 {
        let r = app.get(user, &next).await;
        assert_eq!(r.status, StatusCode::OK, "{next}: {}", r.text);
        for t in r.body["tickets"].as_array().unwrap() {
            subjects.push(t["subject"].as_str().unwrap().to_string());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => next = format!("{path}{sep}limit=2&cursor={c}"),
            None => return subjects,
        }
    }
    panic!("{path}: more pages than tickets");
}

#[tokio::test]
async fn every_list_filter_pages_through_exactly_the_matching_tickets_newest_first() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let bob = app.customer("bob");
    let agent = app.agent("agnes").await;
    let other = app.agent("otto").await;
    let mut ids = std::collections::HashMap::new();
    for (who, subject) in [
        (&alice, "Printer A1"),
        (&bob, "Printer B1"),
        (&alice, "Login A3"),
        (&alice, "Printer A2"),
        (&bob, "Login B2"),
    ] {
        let t = app.create_ticket(who, subject, "details").await;
        ids.insert(subject, t["id"].as_str().unwrap().to_string());
    }
    // Each change moves the ticket to the top (newest update first).
    for (subject, change) in [
        ("Printer A2", json!({"assignee": other.id})),
        ("Printer B1", json!({"assignee": "me"})),
        ("Printer A1", json!({"assignee": "me", "status": "pending"})),
    ] {
        let r = app
            .patch(&agent, &format!("/api/v1/tickets/{}", ids[subject]), change)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let other_filter = format!("/api/v1/tickets?assignee={}", other.id);
    let cases: Vec<(&User, &str, Vec<&str>)> = vec![
        (
            &agent,
            "/api/v1/tickets",
            vec![
                "Printer A1",
                "Printer B1",
                "Printer A2",
                "Login B2",
                "Login A3",
            ],
        ),
        (
            &agent,
            "/api/v1/tickets?assignee=me",
            vec!["Printer A1", "Printer B1"],
        ),
        (
            &agent,
            "/api/v1/tickets?assignee=none",
            vec!["Login B2", "Login A3"],
        ),
        (&agent, &other_filter, vec!["Printer A2"]),
        (&agent, "/api/v1/tickets?status=pending", vec!["Printer A1"]),
        (
            &agent,
            "/api/v1/tickets?q=printer",
            vec!["Printer A1", "Printer B1", "Printer A2"],
        ),
        (
            &agent,
            "/api/v1/tickets?q=printer&assignee=me",
            vec!["Printer A1", "Printer B1"],
        ),
        (
            &agent,
            "/api/v1/tickets?status=new&assignee=me",
            vec!["Printer B1"],
        ),
        (
            &alice,
            "/api/v1/tickets",
            vec!["Printer A1", "Printer A2", "Login A3"],
        ),
        (
            &alice,
            "/api/v1/tickets?q=printer",
            vec!["Printer A1", "Printer A2"],
        ),
        (
            &alice,
            "/api/v1/tickets?status=new",
            vec!["Printer A2", "Login A3"],
        ),
        (&bob, "/api/v1/tickets", vec!["Printer B1", "Login B2"]),
    ];
    for (user, path, expected) in cases {
        assert_eq!(
            subjects_of_every_page(&app, user, path).await,
            expected,
            "{path} as {}",
            user.id
        );
    }
}

#[tokio::test]
async fn a_retried_create_with_the_same_idempotency_key_returns_the_first_ticket() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let send = |subject: &'static str| {
        app.client
            .post(format!("{}/api/v1/tickets", app.base))
            .bearer_auth(&alice.token)
            .header("Idempotency-Key", "retry-7f3a")
            .json(&json!({"subject": subject, "body": "body"}))
            .send()
    };
    let first = ticket_support::reply(send("Once").await.unwrap()).await;
    let again = ticket_support::reply(send("Once").await.unwrap()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    assert_eq!(first.body["id"], again.body["id"]);
    let r = app.get(&alice, "/api/v1/tickets").await;
    assert_eq!(r.body["tickets"].as_array().unwrap().len(), 1);
    let r = app
        .get(
            &alice,
            &format!(
                "/api/v1/tickets/{}/timeline",
                first.body["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(entries(&r.body).len(), 1, "one first message, not two");

    let reused = ticket_support::reply(send("Something else").await.unwrap()).await;
    assert_problem(&reused, StatusCode::CONFLICT);

    // Another customer's identical key is theirs alone.
    let bob = app.customer("bob");
    let r = ticket_support::reply(
        app.client
            .post(format!("{}/api/v1/tickets", app.base))
            .bearer_auth(&bob.token)
            .header("Idempotency-Key", "retry-7f3a")
            .json(&json!({"subject": "Once", "body": "body"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_ne!(r.body["id"], first.body["id"]);
}

#[tokio::test]
async fn the_timeline_pages_oldest_first() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let ticket = app.create_ticket(&alice, "Chatty", "m0").await;
    let id = ticket["id"].as_str().unwrap();
    for i in 1..5 {
        let r = app
            .post(
                &alice,
                &format!("/api/v1/tickets/{id}/messages"),
                json!({"body": format!("m{i}")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut path = format!("/api/v1/tickets/{id}/timeline?limit=2");
    loop {
        let r = app.get(&alice, &path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        seen.extend(
            entries(&r.body)
                .iter()
                .map(|e| e["body"].as_str().unwrap().to_string()),
        );
        match r.body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/tickets/{id}/timeline?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["m0", "m1", "m2", "m3", "m4"]);
}

#[tokio::test]
async fn concurrent_retries_with_one_idempotency_key_create_one_ticket() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    // No request before: the profile is created by the racing requests themselves.
    let sends: Vec<_> = (0..6)
        .map(|_| {
            let request = app
                .client
                .post(format!("{}/api/v1/tickets", app.base))
                .bearer_auth(&alice.token)
                .header("Idempotency-Key", "double-click")
                .json(&json!({"subject": "Once only", "body": "body"}));
            tokio::spawn(async move { ticket_support::reply(request.send().await.unwrap()).await })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for send in sends {
        let r = send.await.unwrap();
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        ids.insert(r.body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1);
}
