//! Attachments: a customer uploads a screenshot or a log and attaches it to a ticket or
//! a reply; whoever may read the message downloads it, nobody else does, whatever id or
//! token they try. Real HTTP, a real database per test, files in a real folder.

mod ticket_support;

use std::io::{Read, Write};
use std::time::{Duration, SystemTime};

use helpcenter::attachments::sweeper;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use ticket_support::*;

/// A PNG's first bytes, then `len` bytes of filler.
fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    bytes.extend((0..len).map(|i| (i * 7 % 251) as u8));
    bytes
}

async fn upload(app: &TestApp, user: &User, name: &str, bytes: Vec<u8>) -> Reply {
    let resp = app
        .client
        .post(format!("{}/api/v1/uploads", app.base))
        .query(&[("filename", name)])
        .bearer_auth(&user.token)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .expect("upload");
    reply(resp).await
}

async fn token_of(app: &TestApp, user: &User, name: &str, bytes: Vec<u8>) -> (String, String) {
    let r = upload(app, user, name, bytes).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (
        r.body["token"].as_str().expect("token").to_string(),
        r.body["id"].as_str().expect("id").to_string(),
    )
}

async fn download(
    app: &TestApp,
    user: &User,
    ticket: &str,
    id: &str,
    query: &str,
) -> reqwest::Response {
    app.client
        .get(format!(
            "{}/api/v1/tickets/{ticket}/attachments/{id}{query}",
            app.base
        ))
        .bearer_auth(&user.token)
        .send()
        .await
        .expect("download")
}

/// Every file under the service's attachments folder (the store's own layout).
fn stored_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        app.attachments.local_root.as_ref().expect("a local store"),
        &mut out,
    );
    out
}

fn first_message(timeline: &Value) -> &Value {
    timeline["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["type"] == "message")
        .expect("a message")
}

#[tokio::test]
async fn a_customer_attaches_a_screenshot_and_the_agent_downloads_it() {
    let app = spawn_app().await;
    let ada = app.customer("ada");
    let agent = app.agent("sam").await;
    let bytes = png(50_000);
    let r = upload(&app, &ada, "écran 1.png", bytes.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["content_type"], "image/png");
    assert_eq!(r.body["size"], bytes.len());
    assert_eq!(r.body["file_name"], "écran 1.png");
    let sha = format!("{:x}", Sha256::digest(&bytes));
    assert_eq!(r.body["sha256"], sha.as_str());
    let token = r.body["token"].as_str().expect("token").to_string();

    let created = app
        .post(
            &ada,
            "/api/v1/tickets",
            json!({"subject": "Crash", "body": "See the screenshot", "uploads": [token]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let ticket = created.body["id"].as_str().expect("id").to_string();
    let timeline = app
        .get(&agent, &format!("/api/v1/tickets/{ticket}/timeline"))
        .await;
    let files = &first_message(&timeline.body)["attachments"];
    assert_eq!(files.as_array().map(Vec::len), Some(1), "{}", timeline.text);
    assert_eq!(files[0]["file_name"], "écran 1.png");
    let id = files[0]["id"].as_str().expect("id").to_string();

    let resp = download(&app, &agent, &ticket, &id, "").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("sandbox"));
    let disposition = h["content-disposition"].to_str().unwrap().to_string();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''%C3%A9cran%201.png"),
        "{disposition}"
    );
    assert_eq!(
        resp.bytes().await.expect("bytes").as_ref(),
        bytes.as_slice()
    );
    // An image may be shown in the page; the requester reads it too.
    let resp = download(&app, &ada, &ticket, &id, "?inline=true").await;
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("inline;"));

    // A log on a reply: the reply answers with its attachments.
    let (log, _) = token_of(
        &app,
        &ada,
        "app.log",
        b"2026-12-06 ERROR export failed\n".to_vec(),
    )
    .await;
    let r = app
        .post(
            &ada,
            &format!("/api/v1/tickets/{ticket}/messages"),
            json!({"body": "And the log", "uploads": [log]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["attachments"][0]["content_type"], "text/plain");
    // A token is used once.
    let again = app
        .post(
            &ada,
            &format!("/api/v1/tickets/{ticket}/messages"),
            json!({"body": "Again", "uploads": [log]}),
        )
        .await;
    assert_problem(&again, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        again.body["invalid_params"][0]["name"], "uploads",
        "{}",
        again.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_reads_an_attachment_the_message_does_not_show_them() {
    let app = spawn_app().await;
    let ada = app.customer("ada");
    let mallory = app.customer("mallory");
    let agent = app.agent("sam").await;
    let (token, _) = token_of(
        &app,
        &ada,
        "invoice.pdf",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj".to_vec(),
    )
    .await;
    let created = app
        .post(
            &ada,
            "/api/v1/tickets",
            json!({"subject": "Invoice", "body": "Attached", "uploads": [token]}),
        )
        .await;
    let ticket = created.body["id"].as_str().expect("id").to_string();
    let timeline = app
        .get(&ada, &format!("/api/v1/tickets/{ticket}/timeline"))
        .await;
    let id = first_message(&timeline.body)["attachments"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let theirs = app.create_ticket(&mallory, "Mine", "mine").await;
    let theirs = theirs["id"].as_str().expect("id").to_string();

    // Another customer: by id, under their own ticket's path, by a guessed id.
    let not_found = |resp: reqwest::Response| async move {
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let body = resp.text().await.unwrap_or_default();
        assert!(!body.contains("invoice"), "{body}");
    };
    not_found(download(&app, &mallory, &ticket, &id, "").await).await;
    not_found(download(&app, &mallory, &theirs, &id, "").await).await;
    not_found(
        download(
            &app,
            &mallory,
            &ticket,
            &uuid::Uuid::new_v4().to_string(),
            "",
        )
        .await,
    )
    .await;
    not_found(download(&app, &ada, &ticket, "../../etc/passwd", "").await).await;

    // Someone else's upload token: refused like a made-up one, and the reply with it
    // is not stored; the owner can still attach it.
    let (adas, _) = token_of(&app, &ada, "notes.txt", b"private notes".to_vec()).await;
    let r = app
        .post(
            &mallory,
            &format!("/api/v1/tickets/{theirs}/messages"),
            json!({"body": "stolen", "uploads": [adas]}),
        )
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["invalid_params"][0]["name"], "uploads");
    let t = app
        .get(&mallory, &format!("/api/v1/tickets/{theirs}/timeline"))
        .await;
    assert!(!t.text.contains("stolen"), "{}", t.text);
    let r = app
        .post(
            &ada,
            &format!("/api/v1/tickets/{ticket}/messages"),
            json!({"body": "notes", "uploads": [adas]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // An internal note's attachment is the agents' only.
    let (note, _) = token_of(
        &app,
        &agent,
        "diagnosis.txt",
        b"their router is the cause".to_vec(),
    )
    .await;
    let r = app
        .post(
            &agent,
            &format!("/api/v1/tickets/{ticket}/messages"),
            json!({"body": "internal", "internal": true, "uploads": [note]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let note_id = r.body["attachments"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(
        download(&app, &agent, &ticket, &note_id, "").await.status(),
        StatusCode::OK
    );
    not_found(download(&app, &ada, &ticket, &note_id, "").await).await;

    // A CC reads the public attachment until removed, and not a second after.
    let bob = app.customer("bob");
    assert_eq!(
        app.get(&bob, "/api/v1/tickets").await.status,
        StatusCode::OK
    );
    let r = app
        .post(
            &ada,
            &format!("/api/v1/tickets/{ticket}/ccs"),
            json!({"email": bob.email}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        download(&app, &bob, &ticket, &id, "").await.status(),
        StatusCode::OK
    );
    not_found(download(&app, &bob, &ticket, &note_id, "").await).await;
    let r = app
        .send(
            Method::DELETE,
            &format!("/api/v1/tickets/{ticket}/ccs/{}", bob.id),
            Some(&ada.token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    not_found(download(&app, &bob, &ticket, &id, "").await).await;
}

#[tokio::test]
async fn dangerous_names_and_bytes_are_defused_or_refused() {
    let app = spawn_app().await;
    let ada = app.customer("ada");
    let before = stored_files(&app).len();

    // A name is for display only: the bytes go under a key of the service's own.
    let (token, id) = token_of(&app, &ada, "../../etc/passwd", b"root:x:0:0\n".to_vec()).await;
    let files = stored_files(&app);
    assert_eq!(files.len(), before + 1);
    assert!(files.iter().all(
        |f| f.file_name().unwrap().to_string_lossy() == id || f.to_string_lossy().contains(&id)
    ));
    let created = app
        .post(
            &ada,
            "/api/v1/tickets",
            json!({"subject": "Path", "body": "x", "uploads": [token]}),
        )
        .await;
    let ticket = created.body["id"].as_str().expect("id").to_string();
    let resp = download(&app, &ada, &ticket, &id, "").await;
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.contains("filename*=UTF-8''..%2F..%2Fetc%2Fpasswd"),
        "{disposition}"
    );

    // HTML named .png, an SVG, an executable: refused, nothing stored.
    for (name, bytes) in [
        (
            "cat.png",
            b"<html><script>alert(document.cookie)</script></html>".to_vec(),
        ),
        (
            "logo.png",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>".to_vec(),
        ),
        (
            "setup.pdf",
            b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0".to_vec(),
        ),
    ] {
        let r = upload(&app, &ada, name, bytes).await;
        assert_problem(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    assert_eq!(stored_files(&app).len(), before + 1);

    // Over the limit: refused by its declared length at once, or while streaming when
    // it declares none; nothing stored either way.
    let r = upload(&app, &ada, "big.png", png(20 * 1024 * 1024)).await;
    assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE);
    let chunks = (0..22).map(|i| {
        Ok::<_, std::io::Error>(if i == 0 {
            png(1024 * 1024 - 33)
        } else {
            vec![7u8; 1024 * 1024]
        })
    });
    let resp = app
        .client
        .post(format!("{}/api/v1/uploads?filename=big.png", app.base))
        .bearer_auth(&ada.token)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await;
    if let Ok(resp) = resp {
        assert_problem(&reply(resp).await, StatusCode::PAYLOAD_TOO_LARGE);
    }
    wait_until("no half-written file", Duration::from_secs(5), || async {
        stored_files(&app).len() == before + 1
    })
    .await;

    // No filename: named.
    let resp = app
        .client
        .post(format!("{}/api/v1/uploads", app.base))
        .bearer_auth(&ada.token)
        .body(png(10))
        .send()
        .await
        .expect("upload");
    let r = reply(resp).await;
    assert_problem(&r, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["invalid_params"][0]["name"], "filename");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_that_stops_halfway_is_abandoned_and_leaves_nothing() {
    let app = spawn_app().await;
    let ada = app.customer("ada");
    assert_eq!(
        app.get(&ada, "/api/v1/tickets").await.status,
        StatusCode::OK
    );
    let before = stored_files(&app).len();
    let addr = app.base.trim_start_matches("http://").to_string();
    let token = ada.token.clone();
    // Raw TCP: the headers promise 1 MB, 100 KB arrive, then nothing.
    let answer = tokio::task::spawn_blocking(move || {
        let mut socket = std::net::TcpStream::connect(addr).expect("connect");
        socket.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        let head = format!(
            "POST /api/v1/uploads?filename=slow.png HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: 1048576\r\n\r\n"
        );
        socket.write_all(head.as_bytes()).expect("head");
        socket.write_all(&png(100_000)).expect("some bytes");
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match socket.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                        break;
                    }
                }
            }
        }
        String::from_utf8_lossy(&answer).to_string()
    })
    .await
    .expect("the client");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("abandoned"), "{answer}");
    wait_until(
        "the half-written file to go",
        Duration::from_secs(5),
        || async { stored_files(&app).len() == before },
    )
    .await;
}

#[tokio::test]
async fn expired_uploads_and_orphaned_files_are_swept() {
    let app = spawn_app().await;
    let ada = app.customer("ada");
    let (kept, kept_id) = token_of(&app, &ada, "kept.png", png(100)).await;
    let created = app
        .post(
            &ada,
            "/api/v1/tickets",
            json!({"subject": "Kept", "body": "x", "uploads": [kept]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let (stale, stale_id) = token_of(&app, &ada, "stale.png", png(100)).await;
    // The upload's hour has passed (triggers off for the owner's edit).
    let mut conn = app.owner_conn().await;
    sqlx::query("set session_replication_role = replica")
        .execute(&mut conn)
        .await
        .expect("replica");
    sqlx::query("update public.ticket_attachments set expires_at = now() - interval '1 minute' where id = $1::uuid")
        .bind(&stale_id)
        .execute(&mut conn)
        .await
        .expect("expire");
    // An expired token no longer attaches.
    let r = app
        .post(
            &ada,
            "/api/v1/tickets",
            json!({"subject": "Late", "body": "x", "uploads": [stale]}),
        )
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);

    // A file whose row never came (a crash between the write and the insert), and a
    // half-written one, both older than the upload period; and a fresh orphan, kept.
    let dir = app
        .attachments
        .local_root
        .clone()
        .expect("local")
        .join("attachments");
    let old = SystemTime::now() - Duration::from_secs(3 * 3600);
    let orphan = dir.join(uuid::Uuid::new_v4().to_string());
    let partial = dir.join(format!("{}#1", uuid::Uuid::new_v4()));
    let fresh = dir.join(uuid::Uuid::new_v4().to_string());
    for f in [&orphan, &partial, &fresh] {
        std::fs::write(f, b"bytes").expect("write");
    }
    for f in [&orphan, &partial] {
        std::fs::File::options()
            .write(true)
            .open(f)
            .expect("open")
            .set_modified(old)
            .expect("mtime");
    }

    let swept = sweeper::sweep(&app.db, &app.attachments)
        .await
        .expect("sweep");
    assert_eq!(
        (swept.expired, swept.orphans, swept.partial),
        (1, 1, 1),
        "{swept:?}"
    );
    assert!(!orphan.exists() && !partial.exists() && fresh.exists());
    assert!(!dir.join(&stale_id).exists());
    assert!(dir.join(&kept_id).exists(), "an attached file stays");
    let rows: i64 = sqlx::query_scalar("select count(*) from public.ticket_attachments")
        .fetch_one(&mut conn)
        .await
        .expect("count");
    assert_eq!(rows, 1);
}
