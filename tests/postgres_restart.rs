//! Durability across a PostgreSQL restart: clients keep creating tickets while the
//! server restarts; every ticket that was answered 201 exists afterwards, and the
//! service recovers by itself. Meanwhile a reader keeps searching: every search is
//! answered while the database is down, and the searches recorded for the insights
//! reach the database once it is back (search never waits on the recorder).
//!
//! It restarts the whole local cluster, which would break any other test running at
//! the same time, so it is `#[ignore]`d in the normal run and `.ci/run` runs it alone
//! afterwards: `cargo test --test postgres_restart -- --ignored`. It needs the right to
//! restart the cluster (root, as in CI). `HC_PG_RESTART` overrides the command.

mod ticket_support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use ticket_support::{spawn_app_with, wait_until};
use uuid::Uuid;

fn restart_postgres() {
    let cmd = std::env::var("HC_PG_RESTART").unwrap_or_else(|_| {
        // Stop the cluster on port 5432 (fast: clients are cut off mid-transaction),
        // stay down a moment, then start it again the way CI does.
        format!(
            "set -e; read -r v c < <(pg_lsclusters -h | awk '$3 == 5432 {{ print $1, $2; exit }}'); \
             pg_ctlcluster --skip-systemctl-redirect \"$v\" \"$c\" stop -m fast; \
             sleep 1; bash {}/scripts/pg-up.sh",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let out = std::process::Command::new("bash")
        .args(["-c", &cmd])
        .output()
        .expect("run the restart command");
    assert!(
        out.status.success(),
        "restart failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts the PostgreSQL cluster; run alone: cargo test --test postgres_restart -- --ignored"]
async fn every_acknowledged_ticket_survives_a_postgres_restart() {
    // Unlimited writes: the clients create tickets as fast as they can, and only the
    // outage may refuse them.
    let app = Arc::new(
        spawn_app_with(
            helpcenter::limits::Limits::without_write_limits(),
            helpcenter::server::ServeOptions::default(),
        )
        .await,
    );
    let alice = app.customer("alice");
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..4 {
        let (app, token, stop) = (app.clone(), alice.token.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut failures = 0u32;
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let sent = app
                    .client
                    .post(format!("{}/api/v1/tickets", app.base))
                    .bearer_auth(&token)
                    .timeout(Duration::from_secs(5))
                    .json(&json!({"subject": format!("client {c} ticket {i}"), "body": "durable?"}))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == StatusCode::CREATED => {
                        let v: serde_json::Value = r.json().await.expect("ticket json");
                        let id = Uuid::parse_str(v["id"].as_str().expect("id")).expect("uuid");
                        acknowledged.push((id, Instant::now()));
                    }
                    Ok(r) => {
                        assert_eq!(
                            r.status(),
                            StatusCode::SERVICE_UNAVAILABLE,
                            "only 503 while down"
                        );
                        failures += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(_) => {
                        failures += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            (acknowledged, failures)
        }));
    }

    // A reader searching from the help center's pages, one search every 10 ms.
    app.knowledge_base_ready().await;
    let searcher = {
        let (app, stop) = (app.clone(), stop.clone());
        tokio::spawn(async move {
            let mut sent = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let r = app
                    .client
                    .get(format!("{}/search?q=password", app.base))
                    .header("cookie", format!("hc_sid=restart-tab-{sent:06}"))
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await
                    .expect("search answers while the database restarts");
                assert_eq!(
                    r.status(),
                    StatusCode::OK,
                    "search answers while the database restarts"
                );
                sent += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            sent
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    tokio::task::spawn_blocking(restart_postgres)
        .await
        .expect("restart task");
    let restarted = Instant::now();
    // The service recovers by itself: tickets are acknowledged again after the restart.
    wait_until(
        "a ticket acknowledged after the restart",
        Duration::from_secs(60),
        || {
            let app = app.clone();
            let token = alice.token.clone();
            async move {
                app.client
                    .post(format!("{}/api/v1/tickets", app.base))
                    .bearer_auth(&token)
                    .json(&json!({"subject": "after restart", "body": "hello"}))
                    .send()
                    .await
                    .map(|r| r.status() == StatusCode::CREATED)
                    .unwrap_or(false)
            }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);

    let searches = searcher.await.expect("searcher");
    // The recorder catches up by itself once the database is back.
    wait_until(
        "the recorder empties its queue",
        Duration::from_secs(30),
        || {
            let app = app.clone();
            async move {
                let s = app.recorder.status();
                s.queued == 0 && s.settling == 0 && s.last_error.is_none()
            }
        },
    )
    .await;
    let status = app.recorder.status();
    let mut owner = app.owner_conn().await;
    let recorded: i64 = sqlx::query_scalar(
        "select count(distinct session) from public.insight_searches where session like 'restart-tab-%'",
    )
    .fetch_one(&mut owner)
    .await
    .expect("query");
    println!(
        "{searches} searches answered during the restart; recorder: {} written, {} dropped",
        status.written, status.dropped
    );
    assert!(searches > 0);
    assert_eq!(
        recorded + status.dropped as i64,
        searches as i64,
        "every search recorded once the database was back, or counted as dropped"
    );

    let mut acknowledged = Vec::new();
    let mut failures = 0;
    for c in clients {
        let (a, f) = c.await.expect("client");
        acknowledged.extend(a);
        failures += f;
    }
    let after = acknowledged
        .iter()
        .filter(|(_, at)| *at > restarted)
        .count();
    println!(
        "{} tickets acknowledged ({after} after the restart), {failures} refused while down",
        acknowledged.len()
    );
    assert!(after > 0, "clients were served again after the restart");

    let mut conn = app.owner_conn().await;
    let ids: Vec<Uuid> = acknowledged.iter().map(|(id, _)| *id).collect();
    let found: Vec<Uuid> = sqlx::query_scalar("select id from public.tickets where id = any($1)")
        .bind(&ids)
        .fetch_all(&mut conn)
        .await
        .expect("query");
    let found: HashSet<Uuid> = found.into_iter().collect();
    let lost: Vec<&Uuid> = ids.iter().filter(|id| !found.contains(id)).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    // Each acknowledged ticket has its first message too (one transaction).
    let without_message: i64 = sqlx::query_scalar(
        "select count(*) from public.tickets t where t.id = any($1) \
         and not exists (select 1 from public.ticket_messages m where m.ticket_id = t.id)",
    )
    .bind(&ids)
    .fetch_one(&mut conn)
    .await
    .expect("query");
    assert_eq!(without_message, 0);
}
