//! CCs: a customer copies a colleague on a ticket. The colleague reads and replies,
//! never sees internal notes or the rating, and loses every access the moment the CC
//! is removed, on an open event stream too. Real HTTP, a fresh database per test; the
//! database's policies decide.

mod ticket_support;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use ticket_support::sse::subscribe;
use ticket_support::*;

async fn cc(app: &TestApp, by: &User, ticket: &str, email: &str) -> Reply {
    app.post(
        by,
        &format!("/api/v1/tickets/{ticket}/ccs"),
        json!({"email": email}),
    )
    .await
}

async fn uncc(app: &TestApp, by: &User, ticket: &str, user: &User) -> Reply {
    app.send(
        Method::DELETE,
        &format!("/api/v1/tickets/{ticket}/ccs/{}", user.id),
        Some(&by.token),
        None,
    )
    .await
}

/// A user whose profile exists (the first request makes it, with the token's email).
async fn known(app: &TestApp, name: &str) -> User {
    let user = app.customer(name);
    assert_eq!(
        app.get(&user, "/api/v1/tickets").await.status,
        StatusCode::OK
    );
    user
}

fn bodies(timeline: &Value) -> Vec<String> {
    timeline["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["type"] == "message")
        .map(|e| e["body"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_colleague_reads_and_replies_but_never_sees_internal_notes() {
    let app = spawn_app().await;
    let ada = known(&app, "ada").await;
    let bob = known(&app, "bob").await;
    let agent = app.agent("sam").await;
    let ticket = app.create_ticket(&ada, "VPN drops", "Every hour").await;
    let id = ticket["id"].as_str().expect("id").to_string();
    let r = app
        .post(
            &agent,
            &format!("/api/v1/tickets/{id}/messages"),
            json!({"body": "Known issue on their router", "internal": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);

    // Before the CC, Bob does not know the ticket exists.
    assert_problem(
        &app.get(&bob, &format!("/api/v1/tickets/{id}")).await,
        StatusCode::NOT_FOUND,
    );

    // Case and spaces do not matter in the address.
    let r = cc(
        &app,
        &ada,
        &id,
        &format!("  {}  ", bob.email.to_uppercase()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["ccs"][0]["user_id"], bob.id.to_string());
    // Adding again changes nothing.
    let again = cc(&app, &ada, &id, &bob.email).await;
    assert_eq!(again.body["ccs"].as_array().map(Vec::len), Some(1));

    // Listed among the tickets he is copied on, not among his own.
    let copied = app.get(&bob, "/api/v1/tickets?cc=me").await;
    assert_eq!(copied.status, StatusCode::OK, "{}", copied.text);
    assert_eq!(copied.body["tickets"][0]["id"], id.as_str());
    assert_eq!(copied.body["tickets"].as_array().map(Vec::len), Some(1));
    let own = app.get(&bob, "/api/v1/tickets").await;
    assert_eq!(own.body["tickets"], json!([]), "{}", own.text);
    for (query, name) in [("cc=you", "cc"), ("cc=me&q=vpn", "q")] {
        let r = app.get(&bob, &format!("/api/v1/tickets?{query}")).await;
        assert_problem(&r, StatusCode::BAD_REQUEST);
        assert_eq!(r.body["invalid_params"][0]["name"], name, "{}", r.text);
    }
    let read = app.get(&bob, &format!("/api/v1/tickets/{id}")).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.body["ccs"][0]["email"], bob.email.as_str());
    let timeline = app
        .get(&bob, &format!("/api/v1/tickets/{id}/timeline"))
        .await;
    assert_eq!(bodies(&timeline.body), ["Every hour"], "{}", timeline.text);
    assert!(!timeline.text.contains("router"));

    // Bob replies; Ada and the agent read it.
    let r = app
        .post(
            &bob,
            &format!("/api/v1/tickets/{id}/messages"),
            json!({"body": "Same for me"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let seen = app
        .get(&ada, &format!("/api/v1/tickets/{id}/timeline"))
        .await;
    assert!(bodies(&seen.body).contains(&"Same for me".to_string()));

    // But the ticket stays Ada's: Bob may not solve it, rate it, post a note, or copy
    // others; nor can he read internal notes through the table.
    let r = app
        .patch(
            &bob,
            &format!("/api/v1/tickets/{id}"),
            json!({"status": "solved"}),
        )
        .await;
    assert!(
        r.status == StatusCode::NOT_FOUND || r.status == StatusCode::FORBIDDEN,
        "{}",
        r.text
    );
    let r = app
        .post(
            &bob,
            &format!("/api/v1/tickets/{id}/messages"),
            json!({"body": "psst", "internal": true}),
        )
        .await;
    assert_problem(&r, StatusCode::FORBIDDEN);
    let carol = known(&app, "carol").await;
    assert_problem(
        &cc(&app, &bob, &id, &carol.email).await,
        StatusCode::FORBIDDEN,
    );
    assert_eq!(
        app.patch(
            &agent,
            &format!("/api/v1/tickets/{id}"),
            json!({"status": "solved"})
        )
        .await
        .status,
        StatusCode::OK
    );
    let r = app
        .send(
            Method::PUT,
            &format!("/api/v1/tickets/{id}/satisfaction"),
            Some(&bob.token),
            Some(json!({"score": "bad"})),
        )
        .await;
    assert_problem(&r, StatusCode::FORBIDDEN);
    let mut conn = app.owner_conn().await;
    let mut tx = TestApp::as_user(&mut conn, &bob).await;
    let internal: i64 =
        sqlx::query_scalar("select count(*) from public.ticket_messages where internal")
            .fetch_one(&mut *tx)
            .await
            .expect("count");
    assert_eq!(internal, 0);
    let tickets: i64 = sqlx::query_scalar("select count(*) from public.tickets")
        .fetch_one(&mut *tx)
        .await
        .expect("count");
    assert_eq!(tickets, 1, "Ada's ticket, by the CC");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_cc_ends_the_access_at_once_even_on_an_open_stream() {
    let app = spawn_app().await;
    let ada = known(&app, "ada").await;
    let bob = known(&app, "bob").await;
    let agent = app.agent("sam").await;
    let adas = app.create_ticket(&ada, "Printer", "Jams").await;
    let adas = adas["id"].as_str().expect("id").to_string();
    let bobs = app.create_ticket(&bob, "Bob's own", "Mine").await;
    let bobs = bobs["id"].as_str().expect("id").to_string();
    assert_eq!(
        cc(&app, &ada, &adas, &bob.email).await.status,
        StatusCode::OK
    );

    let mut stream = subscribe(&app, &bob, None).await;
    let say = |ticket: String, body: &'static str| {
        let (app, agent) = (&app, &agent);
        async move {
            let r = app
                .post(
                    agent,
                    &format!("/api/v1/tickets/{ticket}/messages"),
                    json!({"body": body}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        }
    };
    say(adas.clone(), "While copied").await;
    let e = stream.next().await;
    assert_eq!(e.data["body"], "While copied", "{e:?}");

    // Removed a moment ago: no read, no reply, no event.
    let r = uncc(&app, &ada, &adas, &bob).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_problem(
        &app.get(&bob, &format!("/api/v1/tickets/{adas}")).await,
        StatusCode::NOT_FOUND,
    );
    assert_problem(
        &app.get(&bob, &format!("/api/v1/tickets/{adas}/timeline"))
            .await,
        StatusCode::NOT_FOUND,
    );
    let copied = app.get(&bob, "/api/v1/tickets?cc=me").await;
    assert_eq!(copied.body["tickets"], json!([]), "{}", copied.text);

    let r = app
        .post(
            &bob,
            &format!("/api/v1/tickets/{adas}/messages"),
            json!({"body": "still here?"}),
        )
        .await;
    assert_problem(&r, StatusCode::NOT_FOUND);
    say(adas.clone(), "After the removal").await;
    say(bobs.clone(), "On Bob's own ticket").await;
    // The stream's next event is Bob's own ticket's: nothing of Ada's came before it.
    let e = stream.next().await;
    assert_eq!(e.data["ticket_id"], bobs.as_str(), "{e:?}");
    assert_eq!(e.data["body"], "On Bob's own ticket");

    // Removing again: not found. A stranger removing: not found.
    assert_problem(&uncc(&app, &ada, &adas, &bob).await, StatusCode::NOT_FOUND);
    assert_problem(&uncc(&app, &bob, &adas, &ada).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn cc_changes_refuse_strangers_unknown_addresses_and_closed_tickets() {
    let app = spawn_app().await;
    let ada = known(&app, "ada").await;
    let bob = known(&app, "bob").await;
    let carol = known(&app, "carol").await;
    let agent = app.agent("sam").await;
    let ticket = app.create_ticket(&ada, "Billing", "Double charge").await;
    let id = ticket["id"].as_str().expect("id").to_string();

    // A stranger cannot copy anyone, nor learn the ticket exists.
    let r = cc(&app, &carol, &id, &bob.email).await;
    assert_problem(&r, StatusCode::NOT_FOUND);
    let r = cc(&app, &carol, &uuid::Uuid::new_v4().to_string(), &bob.email).await;
    assert_problem(&r, StatusCode::NOT_FOUND);

    for (email, reason) in [
        ("nobody@example.com", "no user with this email"),
        (
            ada.email.as_str(),
            "the requester already follows the ticket",
        ),
        ("not an address", "must be an email address"),
    ] {
        let r = cc(&app, &ada, &id, email).await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.body["invalid_params"][0]["name"], "email", "{}", r.text);
        assert!(r.text.contains(reason), "{}", r.text);
    }

    // An agent may copy too; a CC'd user may leave by themselves.
    assert_eq!(
        cc(&app, &agent, &id, &bob.email).await.status,
        StatusCode::OK
    );
    assert_eq!(
        cc(&app, &ada, &id, &carol.email).await.status,
        StatusCode::OK
    );
    assert_problem(&uncc(&app, &bob, &id, &carol).await, StatusCode::FORBIDDEN);
    assert_eq!(
        uncc(&app, &bob, &id, &bob).await.status,
        StatusCode::NO_CONTENT
    );

    // At most 20.
    for n in 0..19 {
        let user = known(&app, &format!("colleague{n}")).await;
        let r = cc(&app, &ada, &id, &user.email).await;
        assert_eq!(r.status, StatusCode::OK, "{n}: {}", r.text);
    }
    let r = cc(&app, &ada, &id, &bob.email).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("at most 20"), "{}", r.text);

    // A closed ticket's CCs no longer change.
    app.patch(
        &agent,
        &format!("/api/v1/tickets/{id}"),
        json!({"status": "closed"}),
    )
    .await;
    assert_problem(&uncc(&app, &ada, &id, &carol).await, StatusCode::CONFLICT);
}
