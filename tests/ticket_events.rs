//! Live ticket updates over Server-Sent Events, with two replicas on one database:
//! what one replica writes reaches subscribers on the other, Row Level Security
//! decides who receives what, and `Last-Event-ID` resumes from the table.

mod ticket_support;

// Every test here runs on a multi-threaded runtime. `TestApp`'s drop blocks its thread
// while the test database is dropped; on a one-thread runtime, a connection that the
// event listener or a pool had half-opened at that moment could not finish its
// handshake, and `DROP DATABASE … WITH (FORCE)` then waited for the server's 60 s
// authentication timeout (measured: 3 runs in 8 took 61 s instead of 1.5 s).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use ticket_support::sse::subscribe;
use ticket_support::{spawn_app, TestApp, User};

async fn message(app: &TestApp, user: &User, ticket: &str, body: &str, internal: bool) {
    let r = app
        .post(
            user,
            &format!("/api/v1/tickets/{ticket}/messages"),
            json!({"body": body, "internal": internal}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_written_through_one_replica_reaches_the_customer_on_another() {
    let a = spawn_app().await;
    let b = a.replica().await;
    let alice = a.customer("alice");
    let agent = a.agent("ada").await;
    let ticket = a.create_ticket(&alice, "Parcel lost", "Where is it?").await;
    let id = ticket["id"].as_str().unwrap();
    let mut on_b = subscribe(&b, &alice, None).await;
    message(&a, &agent, id, "We are looking into it.", false).await;
    let e = on_b.next().await;
    assert_eq!(e.kind, "message");
    assert_eq!(e.data["ticket_id"], id);
    assert_eq!(e.data["body"], "We are looking into it.");
    // A status change made on A too.
    let r = a
        .patch(
            &agent,
            &format!("/api/v1/tickets/{id}"),
            json!({"status": "pending"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let e = on_b.next().await;
    assert_eq!(e.kind, "status_changed");
    assert_eq!(e.data["data"]["to"], "pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_receive_neither_internal_notes_nor_other_customers_events() {
    let a = spawn_app().await;
    let b = a.replica().await;
    let alice = a.customer("alice");
    let bob = a.customer("bob");
    let agent = a.agent("ada").await;
    let alices = a
        .create_ticket(&alice, "Invoice wrong", "VAT missing")
        .await;
    let alices = alices["id"].as_str().unwrap().to_string();
    let bobs = a.create_ticket(&bob, "Label printer", "Prints blank").await;
    let bobs = bobs["id"].as_str().unwrap().to_string();
    let mut alice_stream = subscribe(&b, &alice, None).await;
    let mut bob_stream = subscribe(&a, &bob, None).await;
    let mut agent_stream = subscribe(&b, &agent, None).await;

    message(
        &a,
        &agent,
        &alices,
        "Customer is on the old plan; check with billing.",
        true,
    )
    .await;
    message(
        &a,
        &agent,
        &alices,
        "Fixed: a corrected invoice is on its way.",
        false,
    )
    .await;
    message(&b, &agent, &bobs, "Try the calibration steps.", false).await;

    // Alice: the public reply only, never the internal note.
    let e = alice_stream.next().await;
    assert_eq!(
        e.data["body"], "Fixed: a corrected invoice is on its way.",
        "{e:?}"
    );
    assert_eq!(e.data["internal"], false);
    // Bob: his own ticket's event first; nothing of Alice's came before it.
    let e = bob_stream.next().await;
    assert_eq!(e.data["ticket_id"], bobs.as_str(), "{e:?}");
    // The agent: everything, the internal note included, in order.
    let e = agent_stream.next().await;
    assert_eq!(
        (e.kind.as_str(), e.data["internal"].clone()),
        ("message", json!(true))
    );
    let e2 = agent_stream.next().await;
    assert!(e2.id > e.id);
    assert_eq!(e2.data["internal"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_see_new_tickets_and_a_reconnect_gets_what_was_missed() {
    let a = spawn_app().await;
    let b = a.replica().await;
    let alice = a.customer("alice");
    let agent = a.agent("ada").await;
    let mut agent_stream = subscribe(&a, &agent, None).await;
    let ticket = b
        .create_ticket(&alice, "Cannot log in", "Code rejected")
        .await;
    let id = ticket["id"].as_str().unwrap().to_string();
    let created = agent_stream.next().await;
    assert_eq!(created.kind, "ticket_created");
    assert_eq!(created.data["ticket_id"], id.as_str());
    drop(agent_stream);

    // While the agent is away: the customer writes twice.
    message(&b, &alice, &id, "Still locked out.", false).await;
    message(&b, &alice, &id, "Hello?", false).await;
    let mut resumed = subscribe(&b, &agent, created.id).await;
    let mut bodies = Vec::new();
    while bodies.len() < 3 {
        let e = resumed.next().await;
        if let Some(body) = e.data["body"].as_str() {
            bodies.push(body.to_string());
        }
    }
    // The first message (sent with the ticket), then the two missed ones, in order.
    assert_eq!(bodies, ["Code rejected", "Still locked out.", "Hello?"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_needs_a_token_and_a_valid_last_event_id() {
    let a = spawn_app().await;
    let alice = a.customer("alice");
    let r = a
        .client
        .get(format!("{}/api/v1/events", a.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = a
        .client
        .get(format!("{}/api/v1/events", a.base))
        .bearer_auth(&alice.token)
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["invalid_params"][0]["name"], "Last-Event-ID");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_reaches_the_other_party_on_another_replica_and_nobody_else() {
    let a = spawn_app().await;
    let b = a.replica().await;
    let alice = a.customer("alice");
    let bob = a.customer("bob");
    let agent = a.agent("ada").await;
    let ticket = a.create_ticket(&alice, "Refund", "For order 1182").await;
    let id = ticket["id"].as_str().unwrap().to_string();
    let bobs = a.create_ticket(&bob, "Labels", "Blank").await;
    let bobs = bobs["id"].as_str().unwrap().to_string();
    let mut alice_stream = subscribe(&b, &alice, None).await;
    let mut bob_stream = subscribe(&b, &bob, None).await;

    // Bob may not signal on Alice's ticket: it does not exist for him.
    let r = a
        .post(&bob, &format!("/api/v1/tickets/{id}/typing"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = a
        .post(&agent, &format!("/api/v1/tickets/{id}/typing"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let r = a
        .post(&agent, &format!("/api/v1/tickets/{id}/typing"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "one a second");
    let e = alice_stream.next_signal().await;
    assert_eq!(e.kind, "typing");
    assert_eq!(e.data["ticket_id"], id.as_str());
    assert_eq!(e.data["user_id"], agent.id.to_string());
    // Bob heard nothing of it: the next thing on his stream is about his own ticket.
    message(&a, &agent, &bobs, "Which printer model?", false).await;
    let e = bob_stream.next_any().await;
    assert_eq!(e.data["ticket_id"], bobs.as_str(), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_see_which_other_agents_are_viewing_a_ticket() {
    let a = spawn_app().await;
    let b = a.replica().await;
    let alice = a.customer("alice");
    let ada = a.agent("ada").await;
    let max = a.agent("max").await;
    let ticket = a.create_ticket(&alice, "Customs", "Form CN22?").await;
    let id = ticket["id"].as_str().unwrap().to_string();
    let mut max_stream = subscribe(&b, &max, None).await;
    let mut alice_stream = subscribe(&b, &alice, None).await;
    let viewing = |v: bool| json!({"viewing": v});
    let r = a
        .post(
            &ada,
            &format!("/api/v1/tickets/{id}/viewing"),
            viewing(true),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let e = max_stream.next_signal().await;
    assert_eq!(
        (e.kind.as_str(), e.data["user_id"].as_str()),
        ("viewing", Some(ada.id.to_string().as_str()))
    );
    let r = a
        .post(
            &ada,
            &format!("/api/v1/tickets/{id}/viewing"),
            viewing(false),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(max_stream.next_signal().await.kind, "left");
    // Customers neither share presence...
    let r = a
        .post(
            &alice,
            &format!("/api/v1/tickets/{id}/viewing"),
            viewing(true),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // ...nor see it, on their own ticket either: Ada's `viewing` and `left` went by on
    // Alice's stream unseen. Signals reach a stream in the order sent, so Ada typing
    // next is the first signal Alice gets.
    let r = a
        .post(&ada, &format!("/api/v1/tickets/{id}/typing"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let e = alice_stream.next_signal().await;
    assert_eq!(
        (e.kind.as_str(), e.data["user_id"].as_str()),
        ("typing", Some(ada.id.to_string().as_str())),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_ends_open_streams_instead_of_waiting_for_them() {
    let mut a = spawn_app().await;
    let alice = a.customer("alice");
    let mut stream = subscribe(&a, &alice, None).await;
    a.begin_shutdown();
    // The stream ends (the server would otherwise wait for it forever on SIGTERM).
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = stream.resp.chunk().await {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the event stream was still open 10 s after shutdown began"
    );
}
