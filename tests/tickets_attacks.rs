//! The attack suite: another customer's ids, internal notes, bad tokens, and the
//! database roles themselves.

mod ticket_support;

use axum::response::IntoResponse;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection, Row};
use ticket_support::{assert_problem, run_ok, spawn_app, TestApp, SECRET};
use uuid::Uuid;

/// base64url without padding.
fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn sign_with(alg: jsonwebtoken::Algorithm, secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn claims_for(sub: Uuid) -> Value {
    let now = helpcenter::auth::now_secs();
    json!({"sub": sub, "role": "authenticated", "aud": "authenticated", "exp": now + 600, "iat": now, "email": "mallory@example.com"})
}

async fn ticket_state(app: &TestApp, id: &str) -> (String, String, Option<Uuid>, i64) {
    let mut conn = app.owner_conn().await;
    let row = sqlx::query(
        "select status, priority, assignee_id, \
                (select count(*) from public.ticket_messages m where m.ticket_id = t.id) as messages \
         from public.tickets t where id = $1::uuid",
    )
    .bind(id)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

#[tokio::test]
async fn another_customer_gets_404_on_every_endpoint_and_changes_nothing() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let bob = app.customer("bob");
    let ticket = app.create_ticket(&alice, "Alice's", "private body").await;
    let id = ticket["id"].as_str().unwrap();
    let before = ticket_state(&app, id).await;

    let path = format!("/api/v1/tickets/{id}");
    assert_problem(&app.get(&bob, &path).await, StatusCode::NOT_FOUND);
    assert_problem(
        &app.get(&bob, &format!("{path}/timeline")).await,
        StatusCode::NOT_FOUND,
    );
    for body in [
        json!({"body": "hijack"}),
        json!({"body": "hijack", "internal": true}),
    ] {
        let r = app.post(&bob, &format!("{path}/messages"), body).await;
        assert_problem(&r, StatusCode::NOT_FOUND);
    }
    for patch in [
        json!({"status": "solved"}),
        json!({"status": "closed"}),
        json!({"priority": "urgent"}),
        json!({"assignee": "me"}),
        json!({"assignee": null}),
    ] {
        let r = app.patch(&bob, &path, patch.clone()).await;
        assert_problem(&r, StatusCode::NOT_FOUND);
    }
    let list = app.get(&bob, "/api/v1/tickets").await;
    assert_eq!(list.body["tickets"], json!([]));
    let list = app
        .get(&bob, &format!("/api/v1/tickets?q={}", "Alice"))
        .await;
    assert_eq!(list.body["tickets"], json!([]));

    assert_eq!(
        ticket_state(&app, id).await,
        before,
        "Alice's ticket is untouched"
    );
    let r = app.get(&alice, &format!("{path}/timeline")).await;
    assert!(!r.text.contains("hijack"));
}

#[tokio::test]
async fn a_customer_never_receives_an_internal_notes_text() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let agent = app.agent("agnes").await;
    let ticket = app
        .create_ticket(&alice, "Where is my parcel", "Order 1234")
        .await;
    let id = ticket["id"].as_str().unwrap();
    let secret = "INTERNAL-7c1e: customer flagged for fraud review";
    let r = app
        .post(
            &agent,
            &format!("/api/v1/tickets/{id}/messages"),
            json!({"body": secret, "internal": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let mut answers = vec![
        app.get(&alice, "/api/v1/tickets").await,
        app.get(&alice, &format!("/api/v1/tickets/{id}")).await,
        app.get(&alice, &format!("/api/v1/tickets/{id}/timeline"))
            .await,
        app.get(&alice, &format!("/api/v1/tickets/{id}/timeline?limit=1"))
            .await,
        app.post(
            &alice,
            &format!("/api/v1/tickets/{id}/messages"),
            json!({"body": "any news?"}),
        )
        .await,
        app.patch(
            &alice,
            &format!("/api/v1/tickets/{id}"),
            json!({"status": "solved"}),
        )
        .await,
    ];
    // Page through the whole timeline too.
    let mut cursor = app
        .get(&alice, &format!("/api/v1/tickets/{id}/timeline?limit=1"))
        .await
        .body["next_cursor"]
        .clone();
    while let Some(c) = cursor.as_str() {
        let r = app
            .get(
                &alice,
                &format!("/api/v1/tickets/{id}/timeline?limit=1&cursor={c}"),
            )
            .await;
        cursor = r.body["next_cursor"].clone();
        answers.push(r);
    }
    for r in &answers {
        assert!(r.status.is_success(), "{}", r.text);
        assert!(!r.text.contains("INTERNAL-7c1e"), "leaked: {}", r.text);
        assert!(!r.text.contains("\"internal\":true"), "leaked: {}", r.text);
    }
    // The agent does see it.
    let r = app
        .get(&agent, &format!("/api/v1/tickets/{id}/timeline"))
        .await;
    assert!(r.text.contains("INTERNAL-7c1e"));
}

#[tokio::test]
async fn forged_expired_and_unsigned_tokens_are_refused() {
    let app = spawn_app().await;
    let sub = Uuid::new_v4();
    let now = helpcenter::auth::now_secs();
    let good = claims_for(sub);
    let mut expired = good.clone();
    expired["exp"] = json!(now - 3600);
    let mut not_yet = good.clone();
    not_yet["nbf"] = json!(now + 3600);
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("service");
    let mut no_sub = good.clone();
    no_sub.as_object_mut().unwrap().remove("sub");
    let mut bad_sub = good.clone();
    bad_sub["sub"] = json!("not-a-uuid");
    let mut service_role = good.clone();
    service_role["role"] = json!("service_role");
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    let hs = jsonwebtoken::Algorithm::HS256;
    let payload = b64url(serde_json::to_string(&good).unwrap().as_bytes());
    let tokens = [
        ("wrong secret", sign_with(hs, b"not-the-secret", &good)),
        ("expired", sign_with(hs, SECRET, &expired)),
        ("not yet valid", sign_with(hs, SECRET, &not_yet)),
        ("wrong audience", sign_with(hs, SECRET, &wrong_aud)),
        ("missing sub", sign_with(hs, SECRET, &no_sub)),
        ("sub not a uuid", sign_with(hs, SECRET, &bad_sub)),
        ("missing exp", sign_with(hs, SECRET, &no_exp)),
        ("service role", sign_with(hs, SECRET, &service_role)),
        (
            "HS512, same secret",
            sign_with(jsonwebtoken::Algorithm::HS512, SECRET, &good),
        ),
        (
            "alg none",
            format!("{}.{payload}.", b64url(br#"{"alg":"none","typ":"JWT"}"#)),
        ),
        (
            "alg None",
            format!("{}.{payload}.", b64url(br#"{"alg":"None","typ":"JWT"}"#)),
        ),
        ("tampered payload", {
            let t = sign_with(hs, SECRET, &good);
            let parts: Vec<&str> = t.split('.').collect();
            let mut evil = good.clone();
            evil["sub"] = json!(Uuid::new_v4());
            format!(
                "{}.{}.{}",
                parts[0],
                b64url(serde_json::to_string(&evil).unwrap().as_bytes()),
                parts[2]
            )
        }),
        ("garbage", "a.b.c".to_string()),
    ];
    for (what, token) in &tokens {
        for (method, path) in [
            (Method::GET, "/api/v1/tickets"),
            (Method::POST, "/api/v1/tickets"),
        ] {
            let r = app
                .send(
                    method,
                    path,
                    Some(token),
                    Some(json!({"subject": "s", "body": "b"})),
                )
                .await;
            assert_problem(&r, StatusCode::UNAUTHORIZED);
            assert!(r.body["detail"].is_string(), "{what}");
        }
    }
    // The good one works, and the refused ones created nothing.
    let token = sign_with(hs, SECRET, &good);
    let r = app
        .send(Method::GET, "/api/v1/tickets", Some(&token), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut conn = app.owner_conn().await;
    let n: i64 = sqlx::query_scalar("select count(*) from public.tickets")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

/// A connection as the service's login role, from the derived password.
async fn authenticator(app: &TestApp) -> sqlx::pool::PoolConnection<sqlx::Postgres> {
    app.db
        .app_pool()
        .acquire()
        .await
        .expect("authenticator connection")
}

#[tokio::test]
async fn at_sql_level_authenticated_with_a_customers_claims_sees_only_their_rows() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let bob = app.customer("bob");
    let agent = app.agent("agnes").await;
    let a1 = app.create_ticket(&alice, "A1", "a").await;
    app.create_ticket(&alice, "A2", "a").await;
    let b1 = app.create_ticket(&bob, "B1", "b").await;
    let r = app
        .post(
            &agent,
            &format!("/api/v1/tickets/{}/messages", a1["id"].as_str().unwrap()),
            json!({"body": "note", "internal": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);

    let mut conn = authenticator(&app).await;
    let mut tx = conn.begin().await.unwrap();
    // PostgREST's way: role and claims in one statement.
    sqlx::query("select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)")
        .bind(json!({"sub": alice.id, "role": "authenticated"}).to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    let subjects: Vec<String> =
        sqlx::query_scalar("select subject from public.tickets order by subject")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    assert_eq!(subjects, ["A1", "A2"]);
    let internal: i64 =
        sqlx::query_scalar("select count(*) from public.ticket_messages where internal")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(internal, 0, "internal notes are invisible to customers");
    let profiles: i64 = sqlx::query_scalar("select count(*) from public.profiles")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(profiles, 1, "only her own profile");
    let updated = sqlx::query("update public.tickets set subject = 'pwned' where id = $1")
        .bind(Uuid::parse_str(b1["id"].as_str().unwrap()).unwrap())
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(
        updated.rows_affected(),
        0,
        "Bob's ticket is invisible to Alice"
    );
    let err =
        sqlx::query("insert into public.tickets (requester_id, subject) values ($1, 'as bob')")
            .bind(bob.id)
            .execute(&mut *tx)
            .await
            .expect_err("cannot open a ticket for someone else");
    assert_eq!(helpcenter::db::sqlstate(&err).as_deref(), Some("42501"));
    drop(tx);

    // Claims end with the transaction: the bare login role again sees nothing.
    let err = sqlx::query("select count(*) from public.tickets")
        .fetch_one(&mut *conn)
        .await
        .expect_err("no role, no rows");
    assert_eq!(helpcenter::db::sqlstate(&err).as_deref(), Some("42501"));
}

#[tokio::test]
async fn at_sql_level_the_login_role_alone_sees_nothing() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_ticket(&alice, "A1", "a").await;
    let mut conn = authenticator(&app).await;
    for table in [
        "tickets",
        "ticket_messages",
        "ticket_status_changes",
        "profiles",
        "customer_tickets",
    ] {
        let err = sqlx::query(&format!("select count(*) from public.{table}"))
            .fetch_one(&mut *conn)
            .await
            .expect_err(table);
        assert_eq!(
            helpcenter::db::sqlstate(&err).as_deref(),
            Some("42501"),
            "{table}: {err}"
        );
    }
    // And `authenticated` without claims sees no row.
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("select set_config('role', 'authenticated', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("select count(*) from public.tickets")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn at_sql_level_a_one_statement_read_sees_only_its_claims_rows_and_ends_with_the_statement() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let bob = app.customer("bob");
    let agent = app.agent("agnes").await;
    let a1 = app.create_ticket(&alice, "A1", "alice's words").await;
    let b1 = app.create_ticket(&bob, "B1", "bob's words").await;
    let r = app
        .post(
            &agent,
            &format!("/api/v1/tickets/{}/messages", a1["id"].as_str().unwrap()),
            json!({"body": "internal words", "internal": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let alice_claims = json!({"sub": alice.id, "role": "authenticated"}).to_string();
    let b1_id = Uuid::parse_str(b1["id"].as_str().unwrap()).unwrap();
    let mut conn = authenticator(&app).await;

    // The request function: Alice's page, whatever the filters ask for.
    let subjects: Vec<String> = sqlx::query_scalar(
        "select subject from public.hc_tickets_page($1, null, null, true, null, null, null, 100)",
    )
    .bind(&alice_claims)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(subjects, ["A1"]);
    // Bob's timeline through Alice's claims: nothing, not even a row saying it exists.
    let rows: Vec<Option<String>> = sqlx::query_scalar(
        "select body from public.hc_ticket_timeline_page($1, $2, null, null, 100)",
    )
    .bind(&alice_claims)
    .bind(b1_id)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert!(rows.is_empty(), "{rows:?}");
    // Her own timeline has her message but not the internal note.
    let a1_id = Uuid::parse_str(a1["id"].as_str().unwrap()).unwrap();
    let bodies: Vec<Option<String>> = sqlx::query_scalar(
        "select body from public.hc_ticket_timeline_page($1, $2, null, null, 100)",
    )
    .bind(&alice_claims)
    .bind(a1_id)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert!(bodies.contains(&Some("alice's words".into())), "{bodies:?}");
    assert!(
        !bodies.contains(&Some("internal words".into())),
        "{bodies:?}"
    );

    // The role and the claims ended with the statement: the login role again.
    let err = sqlx::query("select count(*) from public.tickets")
        .fetch_one(&mut *conn)
        .await
        .expect_err("no role after the statement");
    assert_eq!(helpcenter::db::sqlstate(&err).as_deref(), Some("42501"));
    // The page functions are not the login role's to call, and under Alice's claims
    // asking for everything as "staff" (a parameter) still yields only her rows:
    // the policies decide, not the arguments.
    let err = sqlx::query(
        "select * from public.tickets_page($1, true, null, null, true, null, null, null, 100)",
    )
    .bind(alice.id)
    .fetch_all(&mut *conn)
    .await
    .expect_err("the login role cannot call a page function");
    assert_eq!(helpcenter::db::sqlstate(&err).as_deref(), Some("42501"));
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("select * from public.hc_request_setup($1)")
        .bind(&alice_claims)
        .execute(&mut *tx)
        .await
        .unwrap();
    let subjects: Vec<String> = sqlx::query_scalar(
        "select subject from public.tickets_page($1, true, null, null, true, null, null, null, 100)",
    )
    .bind(bob.id)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(subjects, ["A1"]);
    let bodies: Vec<Option<String>> = sqlx::query_scalar(
        "select body from public.ticket_timeline_page($1, null, null, 100, true)",
    )
    .bind(a1_id)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert!(
        !bodies.contains(&Some("internal words".into())),
        "{bodies:?}"
    );
    let others: i64 =
        sqlx::query_scalar("select count(*) from public.ticket_messages where ticket_id = $1")
            .bind(b1_id)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(others, 0, "Bob's messages are invisible to Alice");
    let names: i64 = sqlx::query_scalar("select count(*) from public.ticket_participant_names($1)")
        .bind(b1_id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(names, 0, "nobody's names on Bob's ticket for Alice");
    // Nor for `authenticated` without claims: only the owner's own session (no JWT,
    // the triggers' system context) sees every ticket's names.
    sqlx::query("select set_config('request.jwt.claims', '', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let names: i64 = sqlx::query_scalar("select count(*) from public.ticket_participant_names($1)")
        .bind(b1_id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(names, 0, "no names without claims");
    sqlx::query("select set_config('request.jwt.claims', $1, true)")
        .bind(&alice_claims)
        .execute(&mut *tx)
        .await
        .unwrap();
    // As `authenticated` (what a Supabase client's `/rpc/` calls run as), the set-up
    // functions are out of reach: no taking on someone else's claims mid-request.
    let agent_claims = json!({"sub": agent.id, "role": "authenticated"}).to_string();
    for sql in [
        "select * from public.hc_request_setup($1)",
        "select public.hc_enter($1)",
        "select * from public.hc_tickets_page($1, null, null, true, null, null, null, 10)",
    ] {
        sqlx::query("savepoint attempt")
            .execute(&mut *tx)
            .await
            .unwrap();
        let err = sqlx::query(sql)
            .bind(&agent_claims)
            .fetch_all(&mut *tx)
            .await
            .expect_err(sql);
        assert_eq!(
            helpcenter::db::sqlstate(&err).as_deref(),
            Some("42501"),
            "{sql}: {err}"
        );
        sqlx::query("rollback to savepoint attempt")
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    let staff: bool = sqlx::query_scalar("select public.is_staff()")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert!(!staff, "still Alice");
    drop(tx);

    // Claims without `sub` are refused, not read as nobody.
    let err = sqlx::query(
        "select * from public.hc_tickets_page('{}', null, null, true, null, null, null, 10)",
    )
    .fetch_all(&mut *conn)
    .await
    .expect_err("claims without sub");
    assert_eq!(helpcenter::db::sqlstate(&err).as_deref(), Some("P0401"));
}

/// What a customer sees of the messages and status changes, at SQL level.
async fn visible_to(app: &TestApp, who: Uuid) -> (i64, i64) {
    let mut conn = authenticator(app).await;
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("select * from public.hc_request_setup($1)")
        .bind(json!({"sub": who, "role": "authenticated"}).to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query_as(
        "select (select count(*) from public.ticket_messages), \
                (select count(*) from public.ticket_status_changes)",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_tickets_messages_follow_it_to_a_new_requester_and_cannot_name_another() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let bob = app.customer("bob");
    app.get(&bob, "/api/v1/tickets").await; // Bob's profile
    let agent = app.agent("agnes").await;
    let ticket = app.create_ticket(&alice, "A1", "alice's words").await;
    let id = Uuid::parse_str(ticket["id"].as_str().unwrap()).unwrap();
    let r = app
        .patch(
            &agent,
            &format!("/api/v1/tickets/{id}"),
            json!({"status": "open"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(visible_to(&app, alice.id).await, (1, 1));
    assert_eq!(visible_to(&app, bob.id).await, (0, 0));

    // Support moves the ticket to Bob: its history goes with it.
    let owner = app.db.owner_pool();
    sqlx::query("update public.tickets set requester_id = $1 where id = $2")
        .bind(bob.id)
        .bind(id)
        .execute(owner)
        .await
        .unwrap();
    assert_eq!(visible_to(&app, alice.id).await, (0, 0));
    assert_eq!(visible_to(&app, bob.id).await, (1, 1));

    // A row cannot claim another requester than its ticket's: the trigger fills the
    // copy from the ticket, and the foreign key refuses a changed one.
    sqlx::query(
        "insert into public.ticket_messages (ticket_id, author_id, body, requester_id) \
         values ($1, $2, 'hello', $3)",
    )
    .bind(id)
    .bind(agent.id)
    .bind(alice.id)
    .execute(owner)
    .await
    .unwrap();
    assert_eq!(visible_to(&app, alice.id).await, (0, 0));
    assert_eq!(visible_to(&app, bob.id).await, (2, 1));
    let err =
        sqlx::query("update public.ticket_messages set requester_id = $1 where ticket_id = $2")
            .bind(alice.id)
            .bind(id)
            .execute(owner)
            .await
            .expect_err("a requester that is not the ticket's");
    assert_eq!(helpcenter::db::sqlstate(&err).as_deref(), Some("23503"));
}

#[tokio::test]
async fn only_the_owners_own_session_sees_names_without_claims_and_a_missing_ticket_maps_to_422() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let ticket = app.create_ticket(&alice, "A1", "words").await;
    let id = Uuid::parse_str(ticket["id"].as_str().unwrap()).unwrap();
    let names_sql = "select count(*) from public.ticket_participant_names($1)";
    let mut owner = app.db.owner_pool().acquire().await.unwrap();
    let names: i64 = sqlx::query_scalar(names_sql)
        .bind(id)
        .fetch_one(&mut *owner)
        .await
        .unwrap();
    assert_eq!(names, 1, "the owner's session, no JWT: the system context");
    // Logged in as the owner but acting as `authenticated` with claims lacking `sub`:
    // a user without identity, who sees nobody's names.
    let mut tx = owner.begin().await.unwrap();
    sqlx::query("select set_config('role', 'authenticated', true), set_config('request.jwt.claims', '{\"role\":\"authenticated\"}', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let names: i64 = sqlx::query_scalar(names_sql)
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(names, 0);
    drop(tx);
    // A message for a ticket that does not exist: the requester trigger reports a
    // foreign-key error, which the API's one mapping answers with a 422, not a NOT NULL
    // one (a 500). Over HTTP: the next test.
    let err = sqlx::query(
        "insert into public.ticket_messages (ticket_id, author_id, body) values ($1, $2, 'x')",
    )
    .bind(Uuid::new_v4())
    .bind(alice.id)
    .execute(&mut *owner)
    .await
    .expect_err("no such ticket");
    assert_eq!(helpcenter::db::sqlstate(&err).as_deref(), Some("23503"));
    let answer = helpcenter::http::error::ApiError::from(err).into_response();
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_reply_to_a_ticket_deleted_meanwhile_is_a_422_error() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let ticket = app.create_ticket(&alice, "Parcel", "Where is it?").await;
    let path = format!(
        "/api/v1/tickets/{}/messages",
        ticket["id"].as_str().unwrap()
    );
    // An operator deletes the ticket while Alice's reply is on its way. Her insert still
    // sees the ticket, waits at the foreign-key check for the deleting transaction, and
    // finds the ticket gone when it commits: the database's 23503 reaches her as a 422.
    let mut owner = app.owner_conn().await;
    let mut deleting = owner.begin().await.unwrap();
    sqlx::query("delete from public.tickets where id = $1::uuid")
        .bind(ticket["id"].as_str().unwrap())
        .execute(&mut *deleting)
        .await
        .unwrap();
    let mut observer = app.owner_conn().await;
    let commit_once_the_reply_waits = async {
        let started = std::time::Instant::now();
        let mut waited = false;
        while !waited && started.elapsed() < std::time::Duration::from_secs(15) {
            let waiting: i64 = sqlx::query_scalar(
                "select count(*) from pg_stat_activity \
                 where datname = current_database() and wait_event_type = 'Lock'",
            )
            .fetch_one(&mut observer)
            .await
            .unwrap();
            waited = waiting > 0;
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        deleting.commit().await.unwrap();
        waited
    };
    let (r, waited) = tokio::join!(
        app.post(&alice, &path, json!({"body": "Any news?"})),
        commit_once_the_reply_waits
    );
    assert!(
        waited,
        "the reply never waited for the deleting transaction: {}",
        r.text
    );
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["invalid_params"][0]["name"].is_string(),
        "{}",
        r.text
    );
    let left: i64 = sqlx::query_scalar("select count(*) from public.ticket_messages")
        .fetch_one(&mut owner)
        .await
        .unwrap();
    assert_eq!(left, 0, "nothing of the ticket or the reply is stored");
}

#[tokio::test]
async fn a_customer_cannot_make_themselves_an_agent() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.get(&alice, "/api/v1/tickets").await;
    let mut conn = authenticator(&app).await;
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("select * from public.hc_request_setup($1)")
        .bind(json!({"sub": alice.id, "role": "authenticated"}).to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    let err = sqlx::query("update public.profiles set role = 'admin' where id = $1")
        .bind(alice.id)
        .execute(&mut *tx)
        .await
        .expect_err("role is not updatable");
    assert_eq!(helpcenter::db::sqlstate(&err).as_deref(), Some("42501"));
}

#[tokio::test]
async fn token_and_users_set_role_commands_work() {
    let app = spawn_app().await;
    let sub = Uuid::new_v4();
    let token = run_ok(
        std::process::Command::new(env!("CARGO_BIN_EXE_helpcenter"))
            .args([
                "token",
                "--sub",
                &sub.to_string(),
                "--email",
                "cli@example.com",
                "--ttl",
                "10m",
            ])
            .env("JWT_SECRET", std::str::from_utf8(SECRET).unwrap()),
    );
    let claims = app.jwt.verify(&token).unwrap();
    assert_eq!(claims.sub, sub);
    assert!(claims.exp <= helpcenter::auth::now_secs() + 600);

    // The first request creates the profile; then the CLI promotes it by email.
    let r = app
        .send(Method::GET, "/api/v1/tickets", Some(&token), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    run_ok(
        std::process::Command::new(env!("CARGO_BIN_EXE_helpcenter"))
            .args(["users", "set-role", "CLI@example.com", "agent"])
            .env("DATABASE_URL", &app.database_url),
    );
    let mut conn = PgConnection::connect(&app.database_url).await.unwrap();
    let role: String = sqlx::query_scalar("select role from public.profiles where id = $1")
        .bind(sub)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(role, "agent");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_helpcenter"))
        .args(["users", "set-role", "nobody@example.com", "admin"])
        .env("DATABASE_URL", &app.database_url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_helpcenter"))
        .args(["users", "set-role", "cli@example.com", "root"])
        .env("DATABASE_URL", &app.database_url)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// Found by schemathesis: PostgreSQL cannot store U+0000 in `text`, so a NUL in any
/// field must be refused at the edge by name, never reach the database as a 500.
#[tokio::test]
async fn a_nul_character_in_a_ticket_is_refused_by_field_not_answered_with_a_500() {
    let app = spawn_app().await;
    let customer = app.customer("nul");
    let r = app
        .post(
            &customer,
            "/api/v1/tickets",
            json!({"subject": "Invoice\u{0}", "body": "Where is it?\u{0}"}),
        )
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    let names: Vec<&str> = r.body["invalid_params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["subject", "body"], "{}", r.text);

    let ticket = app
        .create_ticket(&customer, "Invoice", "Where is it?")
        .await;
    let id = ticket["id"].as_str().unwrap();
    let r = app
        .post(
            &customer,
            &format!("/api/v1/tickets/{id}/messages"),
            json!({"body": "a\u{0}b"}),
        )
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["invalid_params"][0]["name"], "body", "{}", r.text);
    let r = app.get(&customer, "/api/v1/tickets?q=in%00voice").await;
    assert_problem(&r, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["invalid_params"][0]["name"], "q", "{}", r.text);
    assert_eq!(ticket_state(&app, id).await.3, 1, "nothing was written");
}
