//! "Was this article helpful?": votes stored in PostgreSQL behind Row Level Security,
//! one per signed-in user per article, anonymous votes limited per client address,
//! totals for agents only. Real HTTP, real database, real index.

mod ticket_support;

use reqwest::{Method, StatusCode};
use serde_json::json;
use ticket_support::{assert_problem, spawn_app};

const ARTICLE: &str = "/api/v1/articles/account/reset-password/feedback";

#[tokio::test]
async fn a_customer_votes_once_per_article_and_may_change_their_mind() {
    let app = spawn_app().await;
    app.knowledge_base_ready().await;
    let alice = app.customer("alice");
    let agent = app.agent("ada").await;
    let r = app.post(&alice, ARTICLE, json!({"helpful": true})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app.post(&alice, ARTICLE, json!({"helpful": false})).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "a second vote replaces the first: {}",
        r.text
    );
    let r = app.get(&agent, ARTICLE).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["helpful"], 0);
    assert_eq!(r.body["not_helpful"], 1);
    assert_eq!(r.body["total"], 1);
    // The article itself is still served at its own path.
    let r = app
        .send(
            Method::GET,
            "/api/v1/articles/account/reset-password",
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["title"], "Reset your password");
}

#[tokio::test]
async fn anonymous_votes_count_and_are_limited_per_client_address() {
    let app = spawn_app().await;
    app.knowledge_base_ready().await;
    for i in 0..helpcenter::feedback::ANON_VOTES_PER_HOUR {
        let r = app
            .send(
                Method::POST,
                ARTICLE,
                None,
                Some(json!({"helpful": i % 2 == 0})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "vote {i}: {}", r.text);
    }
    let r = app
        .send(Method::POST, ARTICLE, None, Some(json!({"helpful": true})))
        .await;
    assert_problem(&r, StatusCode::TOO_MANY_REQUESTS);
    let agent = app.agent("ada").await;
    let r = app.get(&agent, ARTICLE).await;
    assert_eq!(
        r.body["total"],
        helpcenter::feedback::ANON_VOTES_PER_HOUR,
        "{}",
        r.text
    );
    // Stored without the address itself.
    let mut conn = app.owner_conn().await;
    let (keys,): (i64,) = sqlx::query_as(
        "select count(distinct client_key) from public.article_feedback_anonymous \
         where client_key ~ '^[0-9a-f]{64}$'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(keys, 1);
}

#[tokio::test]
async fn only_agents_read_totals_and_the_database_shows_customers_only_their_votes() {
    let app = spawn_app().await;
    app.knowledge_base_ready().await;
    let alice = app.customer("alice");
    let bob = app.customer("bob");
    assert_eq!(
        app.post(&alice, ARTICLE, json!({"helpful": true}))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_problem(&app.get(&bob, ARTICLE).await, StatusCode::FORBIDDEN);
    assert_problem(
        &app.send(Method::GET, ARTICLE, None, None).await,
        StatusCode::UNAUTHORIZED,
    );
    // Below HTTP, under RLS: Alice sees her own vote, and Bob sees nothing of it. (Both
    // halves: a policy that shows nobody anything would pass the second alone.)
    let votes_seen_by = |user: &ticket_support::User| {
        let claims = app.jwt.verify(&user.token).unwrap();
        let db = app.db.clone();
        async move {
            db.read_as(&claims, |conn, _| {
                Box::pin(async move {
                    sqlx::query_as::<_, (uuid::Uuid, String, bool)>(
                        "select voter_id, article_slug, helpful from public.article_feedback",
                    )
                    .fetch_all(conn)
                    .await
                })
            })
            .await
            .unwrap()
        }
    };
    assert_eq!(
        votes_seen_by(&alice).await,
        vec![(alice.id, "account/reset-password".to_string(), true)],
        "Alice sees her own vote"
    );
    assert_eq!(
        votes_seen_by(&bob).await,
        vec![],
        "Bob sees none of Alice's"
    );
}

#[tokio::test]
async fn votes_name_their_problems() {
    let app = spawn_app().await;
    app.knowledge_base_ready().await;
    let alice = app.customer("alice");
    let r = app
        .post(
            &alice,
            "/api/v1/articles/no-such-article/feedback",
            json!({"helpful": true}),
        )
        .await;
    assert_problem(&r, StatusCode::NOT_FOUND);
    let r = app.post(&alice, ARTICLE, json!({})).await;
    assert_problem(&r, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["invalid_params"][0]["name"], "helpful", "{}", r.text);
    let r = app.post(&alice, ARTICLE, json!({"helpful": "very"})).await;
    assert!(r.status.is_client_error(), "{}", r.text);
    assert!(r.content_type.starts_with("application/problem+json"));
    // A broken token is refused, never treated as anonymous.
    let r = app
        .send(
            Method::POST,
            ARTICLE,
            Some("not-a-token"),
            Some(json!({"helpful": true})),
        )
        .await;
    assert_problem(&r, StatusCode::UNAUTHORIZED);
}
