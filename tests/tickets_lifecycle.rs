//! A ticket's end of life, as a customer moving from Zendesk expects it: a solved ticket
//! closes by itself after a quiet period, a reply to a closed ticket points to a
//! follow-up, the follow-up is linked both ways, and the requester rates the answer
//! once, changeable until the ticket closes. Real HTTP, a fresh database per test.

mod ticket_support;

use std::time::Duration;

use helpcenter::tickets::closing;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use ticket_support::*;

async fn solve(app: &TestApp, agent: &User, id: &str) {
    let r = app
        .patch(
            agent,
            &format!("/api/v1/tickets/{id}"),
            json!({"status": "solved"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

async fn status_of(app: &TestApp, user: &User, id: &str) -> String {
    let r = app.get(user, &format!("/api/v1/tickets/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["status"].as_str().unwrap_or_default().to_string()
}

/// Closes every solved ticket now, as the sweep does once their quiet period is over.
async fn close_solved_now(app: &TestApp) -> u64 {
    closing::close_due(&app.db, Duration::ZERO)
        .await
        .expect("the sweep runs")
}

fn followup_entries(timeline: &Value) -> Vec<&Value> {
    timeline["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["type"] == "followup")
        .collect()
}

#[tokio::test]
async fn a_solved_ticket_closes_by_itself_and_a_reply_then_points_to_a_follow_up() {
    let app = spawn_app().await;
    let customer = app.customer("ada");
    let agent = app.agent("sam").await;
    let ticket = app
        .create_ticket(&customer, "Export fails", "CSV export stops at 10%")
        .await;
    let id = ticket["id"].as_str().expect("id").to_string();
    solve(&app, &agent, &id).await;

    // A quiet period that has not passed closes nothing.
    assert_eq!(
        closing::close_due(&app.db, Duration::from_secs(3600))
            .await
            .expect("sweep"),
        0
    );
    assert_eq!(status_of(&app, &customer, &id).await, "solved");

    // The service's own sweep, with a one-second quiet period, closes it.
    closing::start(app.db.clone(), Duration::from_secs(1));
    wait_until(
        "the solved ticket to close",
        Duration::from_secs(20),
        || async { status_of(&app, &customer, &id).await == "closed" },
    )
    .await;
    let timeline = app
        .get(&customer, &format!("/api/v1/tickets/{id}/timeline"))
        .await;
    let closed_by = timeline.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["type"] == "status_change" && e["to_status"] == "closed")
        .cloned()
        .expect("the closing is on the timeline");
    assert_eq!(closed_by["author_id"], Value::Null, "closed by the system");

    // The reply is refused with a pointer to a follow-up.
    let r = app
        .post(
            &customer,
            &format!("/api/v1/tickets/{id}/messages"),
            json!({"body": "It is back"}),
        )
        .await;
    assert_problem(&r, StatusCode::CONFLICT);
    assert_eq!(r.body["type"], "/problems/ticket-closed", "{}", r.text);
    assert_eq!(r.body["followup"]["method"], "POST");
    assert_eq!(r.body["followup"]["href"], "/api/v1/tickets");
    assert_eq!(r.body["followup"]["via_followup_source_id"], id.as_str());
    assert!(r.body["detail"].as_str().unwrap_or("").contains(&id));

    // The follow-up, linked both ways.
    let r = app
        .post(
            &customer,
            "/api/v1/tickets",
            json!({"subject": "Export fails again", "body": "Same as before",
                   "via_followup_source_id": id}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["via_followup_source_id"], id.as_str());
    let followup = r.body["id"].as_str().expect("id").to_string();

    let source = app.get(&customer, &format!("/api/v1/tickets/{id}")).await;
    assert_eq!(
        source.body["followup_ids"],
        json!([followup]),
        "{}",
        source.text
    );
    assert_eq!(source.body["via_followup_source_id"], Value::Null);
    let detail = app
        .get(&agent, &format!("/api/v1/tickets/{followup}"))
        .await;
    assert_eq!(detail.body["via_followup_source_id"], id.as_str());
    assert_eq!(detail.body["followup_ids"], json!([]));

    for (who, on, other, relation) in [
        (&customer, &id, &followup, "follow_up"),
        (&agent, &id, &followup, "follow_up"),
        (&customer, &followup, &id, "source"),
    ] {
        let t = app
            .get(who, &format!("/api/v1/tickets/{on}/timeline"))
            .await;
        let links = followup_entries(&t.body);
        assert_eq!(links.len(), 1, "{}", t.text);
        assert_eq!(links[0]["ticket_id"], other.as_str());
        assert_eq!(links[0]["relation"], relation);
        assert!(links[0]["subject"].is_string() && links[0]["status"].is_string());
    }
}

#[tokio::test]
async fn a_follow_up_needs_a_closed_ticket_the_customer_may_see() {
    let app = spawn_app().await;
    let ada = app.customer("ada");
    let bob = app.customer("bob");
    let agent = app.agent("sam").await;
    let open = app.create_ticket(&ada, "Open one", "still open").await;
    let open_id = open["id"].as_str().expect("id").to_string();
    let bobs = app.create_ticket(&bob, "Bob's secret", "private").await;
    let bobs_id = bobs["id"].as_str().expect("id").to_string();
    solve(&app, &agent, &bobs_id).await;
    assert_eq!(close_solved_now(&app).await, 1);

    let follow = |source: Value| json!({"subject": "Again", "body": "again", "via_followup_source_id": source});

    // A ticket that is not closed takes a reply instead.
    let r = app
        .post(&ada, "/api/v1/tickets", follow(json!(open_id)))
        .await;
    assert_problem(&r, StatusCode::CONFLICT);
    assert!(r.text.contains("not closed"), "{}", r.text);

    // Another customer's closed ticket is exactly as unknown as a made-up id.
    let theirs = app
        .post(&ada, "/api/v1/tickets", follow(json!(bobs_id)))
        .await;
    let made_up = app
        .post(
            &ada,
            "/api/v1/tickets",
            follow(json!(uuid::Uuid::new_v4().to_string())),
        )
        .await;
    for r in [&theirs, &made_up] {
        assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            r.body["invalid_params"][0]["name"], "via_followup_source_id",
            "{}",
            r.text
        );
        assert_eq!(r.body["invalid_params"][0]["reason"], "no such ticket");
    }
    assert!(!theirs.text.contains("secret"));

    // Not a UUID: named, before any database work.
    let r = app
        .post(&ada, "/api/v1/tickets", follow(json!("../1")))
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.body["invalid_params"][0]["name"],
        "via_followup_source_id"
    );

    // Nothing was created by the refused attempts, and Bob's timeline shows no link.
    let mine = app.get(&ada, "/api/v1/tickets").await;
    assert_eq!(mine.body["tickets"].as_array().map(Vec::len), Some(1));
    let t = app
        .get(&bob, &format!("/api/v1/tickets/{bobs_id}/timeline"))
        .await;
    assert!(followup_entries(&t.body).is_empty());

    // The link is set once: the database refuses to move it.
    let mut conn = app.owner_conn().await;
    let err = sqlx::query(
        "update public.tickets set via_followup_source_id = $1::uuid where id = $2::uuid",
    )
    .bind(&bobs_id)
    .bind(&open_id)
    .execute(&mut conn)
    .await
    .expect_err("the link cannot change");
    assert!(err.to_string().contains("cannot change"), "{err}");
}

#[tokio::test]
async fn a_solved_ticket_is_rated_by_its_requester_and_the_rating_freezes_when_it_closes() {
    let app = spawn_app().await;
    let ada = app.customer("ada");
    let bob = app.customer("bob");
    let agent = app.agent("sam").await;
    let ticket = app
        .create_ticket(&ada, "Invoice wrong", "VAT missing")
        .await;
    let id = ticket["id"].as_str().expect("id").to_string();
    let path = format!("/api/v1/tickets/{id}/satisfaction");
    let r = app
        .patch(
            &agent,
            &format!("/api/v1/tickets/{id}"),
            json!({"assignee": "me"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rate = |user: &User, body: Value| {
        let token = user.token.clone();
        let (app, path) = (&app, path.clone());
        async move { app.send(Method::PUT, &path, Some(&token), Some(body)).await }
    };

    // Not before it is solved.
    let r = rate(&ada, json!({"score": "good"})).await;
    assert_problem(&r, StatusCode::CONFLICT);
    assert!(r.text.contains("once it is solved"), "{}", r.text);
    solve(&app, &agent, &id).await;

    // Bad input names its field.
    for (body, field) in [
        (json!({"score": "meh"}), "score"),
        (json!({"score": "good", "reason": "too_slow"}), "reason"),
        (json!({"score": "bad", "reason": "because"}), "reason"),
        (
            json!({"score": "bad", "comment": "x".repeat(2001)}),
            "comment",
        ),
    ] {
        let r = rate(&ada, body).await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.body["invalid_params"][0]["name"], field, "{}", r.text);
    }

    // Only the requester rates: another customer does not even see the ticket; the
    // agent sees it but may not rate it.
    assert_problem(
        &rate(&bob, json!({"score": "bad"})).await,
        StatusCode::NOT_FOUND,
    );
    assert_problem(
        &rate(&agent, json!({"score": "good"})).await,
        StatusCode::FORBIDDEN,
    );

    let first = rate(&ada, json!({"score": "good", "comment": "Quick, thanks"})).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["score"], "good");
    assert_eq!(first.body["assignee_id"], agent.id.to_string());
    let changed = rate(
        &ada,
        json!({"score": "bad", "reason": "not_solved", "comment": "It came back"}),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.body["reason"], "not_solved");
    assert_eq!(changed.body["created_at"], first.body["created_at"]);

    // The ticket carries it for the requester and agents; the report counts it once.
    for who in [&ada, &agent] {
        let t = app.get(who, &format!("/api/v1/tickets/{id}")).await;
        assert_eq!(t.body["satisfaction"]["score"], "bad", "{}", t.text);
        assert_eq!(t.body["satisfaction"]["comment"], "It came back");
    }
    let report = app.get(&agent, "/api/v1/satisfaction").await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert_eq!(
        (report.body["good"].clone(), report.body["bad"].clone()),
        (json!(0), json!(1))
    );
    assert_eq!(report.body["days"].as_array().map(Vec::len), Some(1));
    assert_eq!(report.body["agents"][0]["agent_id"], agent.id.to_string());
    assert_eq!(report.body["agents"][0]["bad"], 1);
    assert_eq!(report.body["agents"][0]["rate"], 0.0);
    assert_problem(
        &app.get(&ada, "/api/v1/satisfaction").await,
        StatusCode::FORBIDDEN,
    );
    assert_problem(
        &app.get(&agent, "/api/v1/satisfaction?from=2026-13-01")
            .await,
        StatusCode::BAD_REQUEST,
    );

    // A second solved ticket rated good: the agent's rate is one in two.
    let other = app.create_ticket(&ada, "Password", "reset link").await;
    let other_id = other["id"].as_str().expect("id").to_string();
    app.patch(
        &agent,
        &format!("/api/v1/tickets/{other_id}"),
        json!({"assignee": "me"}),
    )
    .await;
    solve(&app, &agent, &other_id).await;
    let r = app
        .send(
            Method::PUT,
            &format!("/api/v1/tickets/{other_id}/satisfaction"),
            Some(&ada.token),
            Some(json!({"score": "good"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let report = app.get(&agent, "/api/v1/satisfaction").await;
    assert_eq!(report.body["agents"][0]["rate"], 0.5, "{}", report.text);
    assert_eq!(report.body["rate"], 0.5);

    // Once closed, the rating stays and no longer changes.
    assert_eq!(close_solved_now(&app).await, 2);
    let r = rate(&ada, json!({"score": "good"})).await;
    assert_problem(&r, StatusCode::CONFLICT);
    assert!(r.text.contains("closed"), "{}", r.text);
    let t = app.get(&ada, &format!("/api/v1/tickets/{id}")).await;
    assert_eq!(t.body["satisfaction"]["score"], "bad");
    // Another customer never reads it, not even through the table.
    let mut conn = app.owner_conn().await;
    let mut tx = TestApp::as_user(&mut conn, &bob).await;
    let seen: i64 = sqlx::query_scalar("select count(*) from public.ticket_ratings")
        .fetch_one(&mut *tx)
        .await
        .expect("count as bob");
    assert_eq!(seen, 0);
    let as_ada: i64 =
        sqlx::query_scalar("select count(*) from public.ticket_ratings where requester_id = $1")
            .bind(ada.id)
            .fetch_one(&mut *tx)
            .await
            .expect("count");
    assert_eq!(as_ada, 0, "bob cannot count ada's ratings either");
}
