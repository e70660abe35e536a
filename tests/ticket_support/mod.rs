//! Shared test helpers, zero-to-production style: every test gets its own fresh
//! database (`hc_test_<uuid>`) and its own service on `127.0.0.1:0`, and talks HTTP.
//!
//! Needs the local PostgreSQL (`bash scripts/pg-up.sh`); `HC_TEST_PG` overrides the
//! server URL (without database name).

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use helpcenter::attachments::{AttachmentSettings, Attachments};
use helpcenter::auth::jwks::{JwksCache, JwksSource};
use helpcenter::auth::keys::{generate_es256, Signer};
use helpcenter::auth::{JwtKeys, Role};
use helpcenter::db::{Database, DbConfig};
use helpcenter::http::AppState;
use helpcenter::insights::{Recorder, RecorderSettings};
use helpcenter::kb::KnowledgeBase;
use helpcenter::limits::Limits;
use helpcenter::server::{self, ServeOptions};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::oneshot;
use uuid::Uuid;

#[path = "../common/skips.rs"]
pub mod skips;
pub mod sse;
pub mod walks;

/// The JWT secret of test services.
pub const SECRET: &[u8] = b"test-secret-of-at-least-32-bytes-long!";

/// The PostgreSQL server, without a database name.
pub fn pg_base() -> String {
    std::env::var("HC_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432".into())
}

/// A running service on a fresh database.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    /// HTTP client.
    pub client: reqwest::Client,
    /// Signs tokens the service accepts.
    pub jwt: Arc<JwtKeys>,
    /// The service's database handle.
    pub db: Arc<Database>,
    /// The owner's URL of the test database.
    pub database_url: String,
    /// The test database's name.
    pub db_name: String,
    /// The service's search-insights recorder (writing every 100 ms, settling
    /// as-you-type searches for 300 ms).
    pub recorder: Arc<Recorder>,
    /// The service's attachments (files in a folder of the test's own; an upload is
    /// abandoned after 2 s without bytes).
    pub attachments: Arc<Attachments>,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

/// A user with a token.
#[derive(Debug, Clone)]
pub struct User {
    /// Profile id.
    pub id: Uuid,
    /// Email.
    pub email: String,
    /// Bearer token.
    pub token: String,
}

/// A response: status and JSON body (Null when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Content type.
    pub content_type: String,
    /// Body.
    pub body: Value,
    /// Raw body.
    pub text: String,
}

/// Creates a fresh database and starts the service on it, ready to serve tickets.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Limits::default(), ServeOptions::default()).await
}

/// [`spawn_app`] verifying tokens with `jwt` (the test's own keys and key set).
pub async fn spawn_app_with_keys(jwt: JwtKeys) -> TestApp {
    spawn_app_full(Limits::default(), ServeOptions::default(), Some(jwt)).await
}

/// [`spawn_app`] with the given rate limits and HTTP server options.
pub async fn spawn_app_with(limits: Limits, options: ServeOptions) -> TestApp {
    spawn_app_full(limits, options, None).await
}

/// Articles (path below the articles folder, content) a service starts with instead of
/// the default one; the service then also watches the folder, as `serve` does.
pub type Articles<'a> = &'a [(&'a str, &'a str)];

thread_local! {
    /// The articles the next service of this thread starts with (see
    /// [`spawn_app_with_articles`]).
    static NEXT_ARTICLES: std::cell::RefCell<Option<Vec<(String, String)>>> =
        const { std::cell::RefCell::new(None) };
}

/// [`spawn_app`] over these articles, with the file watcher running: stories about
/// what readers see and about live edits.
pub async fn spawn_app_with_articles(articles: Articles<'_>) -> TestApp {
    NEXT_ARTICLES.with(|next| {
        *next.borrow_mut() = Some(
            articles
                .iter()
                .map(|(p, c)| (p.to_string(), c.to_string()))
                .collect(),
        )
    });
    let app = spawn_app().await;
    app.knowledge_base_ready().await;
    app
}

async fn spawn_app_full(limits: Limits, options: ServeOptions, jwt: Option<JwtKeys>) -> TestApp {
    let db_name = format!("hc_test_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&format!("{}/postgres", pg_base()))
        .await
        .expect("PostgreSQL must be running: bash scripts/pg-up.sh");
    admin
        .execute(format!("create database \"{db_name}\"").as_str())
        .await
        .expect("create test database");
    admin.close().await.ok();
    let database_url = format!("{}/{db_name}", pg_base());
    let db = Database::new(&DbConfig {
        database_url: database_url.clone(),
        authenticator_url: None,
    })
    .expect("database config");
    db.start();
    wait_until("database ready", Duration::from_secs(60), || {
        let db = db.clone();
        async move { db.is_ready() }
    })
    .await;
    spawn_service_with(Some(db), database_url, db_name, limits, options, jwt).await
}

/// Starts the service with the given database handle (maybe unreachable).
pub async fn spawn_service(
    db: Option<Arc<Database>>,
    database_url: String,
    db_name: String,
) -> TestApp {
    spawn_service_with(
        db,
        database_url,
        db_name,
        Limits::default(),
        ServeOptions::default(),
        None,
    )
    .await
}

/// [`spawn_service`] with the given rate limits and HTTP server options.
pub async fn spawn_service_with(
    db: Option<Arc<Database>>,
    database_url: String,
    db_name: String,
    limits: Limits,
    options: ServeOptions,
    jwt: Option<JwtKeys>,
) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let articles = dir.path().join("articles");
    let custom = NEXT_ARTICLES.with(|next| next.borrow_mut().take());
    let watch = custom.is_some();
    let files = custom.unwrap_or_else(|| {
        vec![(
            "account/reset-password.md".into(),
            "---\ntitle: Reset your password\nsummary: How to reset a forgotten password.\nupdated: 2026-01-01\n---\n\nClick **Forgot password** on the sign-in page.\n".into(),
        )]
    });
    for (path, content) in files {
        let file = articles.join(path);
        std::fs::create_dir_all(file.parent().expect("a folder")).expect("articles dir");
        std::fs::write(file, content).expect("article");
    }
    let kb = Arc::new(KnowledgeBase::new(&articles, dir.path().join("index")));
    server::start_indexing(kb.clone());
    if watch {
        server::start_watching(&kb);
    }
    let jwt = Arc::new(jwt.unwrap_or_else(|| asymmetric_keys(dir.path())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    let mut state = AppState::new(kb, db.clone(), jwt.clone());
    state.limits = Arc::new(limits);
    let recorder = Arc::new(Recorder::new(RecorderSettings {
        interval: Duration::from_millis(100),
        settle: Duration::from_millis(300),
        capacity: 1_000,
        ..RecorderSettings::default()
    }));
    if let Some(db) = &db {
        recorder.start(db.clone());
    }
    state.recorder = recorder.clone();
    let attachments = Arc::new(
        Attachments::local(
            &dir.path().join("files"),
            AttachmentSettings {
                upload_idle_timeout: Duration::from_secs(2),
                ..AttachmentSettings::default()
            },
        )
        .expect("attachments folder"),
    );
    state.attachments = Some(attachments.clone());
    tokio::spawn(async move {
        let _ = server::serve_with(listener, state, options, async move {
            let _ = rx.await;
        })
        .await;
    });
    let db = db.unwrap_or_else(|| {
        Database::new(&DbConfig {
            database_url: database_url.clone(),
            authenticator_url: None,
        })
        .expect("db")
    });
    TestApp {
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client"),
        jwt,
        db,
        database_url,
        db_name,
        recorder,
        attachments,
        shutdown: Some(tx),
        _dir: dir,
    }
}

/// The test process's ES256 key (`kid` [`TEST_KID`]): every service of the process
/// verifies with it, so a replica accepts the tokens its primary's `jwt` mints.
fn test_key() -> &'static (String, Value) {
    static KEY: std::sync::OnceLock<(String, Value)> = std::sync::OnceLock::new();
    KEY.get_or_init(|| generate_es256(TEST_KID).expect("an ES256 key pair"))
}

/// The `kid` of the test services' ES256 key.
pub const TEST_KID: &str = "test-es256";

/// The stories run on the asymmetric path Supabase uses: the service verifies with a
/// JWKS file holding the test key and `jwt` mints ES256 tokens; the shared [`SECRET`]
/// is accepted too (HS256), as during a migration, for the stories about it.
fn asymmetric_keys(dir: &std::path::Path) -> JwtKeys {
    let (pem, jwk) = test_key();
    let path = dir.join("jwks.json");
    std::fs::write(&path, json!({ "keys": [jwk] }).to_string()).expect("jwks.json");
    let cache = JwksCache::new(JwksSource::File(path), Duration::from_secs(600));
    cache.start();
    JwtKeys::with_jwks(cache, Some(SECRET), None).signing_with(
        Signer::from_pem(pem.as_bytes(), Some(TEST_KID.into())).expect("the test key signs"),
    )
}

/// Polls `check` until it holds, failing the test after `limit`.
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(10);
    while !check().await {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let name = self.db_name.clone();
        // Best effort, on a thread of its own: the test's runtime is going away.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async move {
                    if let Ok(mut c) =
                        PgConnection::connect(&format!("{}/postgres", pg_base())).await
                    {
                        let _ = c
                            .execute(
                                format!("drop database if exists \"{name}\" with (force)").as_str(),
                            )
                            .await;
                    }
                });
            }
        })
        .join();
    }
}

impl TestApp {
    /// A second replica of the service on the same database (its own process state,
    /// port and knowledge base), as a deployment with several replicas runs.
    pub async fn replica(&self) -> TestApp {
        let db = Database::new(&DbConfig {
            database_url: self.database_url.clone(),
            authenticator_url: None,
        })
        .expect("database config");
        db.start();
        wait_until("replica database ready", Duration::from_secs(60), || {
            let db = db.clone();
            async move { db.is_ready() }
        })
        .await;
        // Its own name, so that dropping the replica leaves the shared database alone.
        let name = format!("hc_test_replica_{}", Uuid::new_v4().simple());
        let mut replica = spawn_service(Some(db), self.database_url.clone(), name).await;
        replica.jwt = self.jwt.clone();
        replica
    }

    /// Starts the service's graceful shutdown (as SIGTERM does), keeping the database.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Waits until the service's knowledge base answers (`/readyz`), for stories that
    /// need articles.
    pub async fn knowledge_base_ready(&self) {
        wait_until("the knowledge base", Duration::from_secs(30), || async {
            self.client
                .get(format!("{}/readyz", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK)
        })
        .await;
    }

    /// The service's articles folder (watched when the service started with
    /// [`spawn_app_with_articles`]).
    pub fn articles_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("articles")
    }

    /// A new customer (the profile appears with the first request).
    pub fn customer(&self, name: &str) -> User {
        let id = Uuid::new_v4();
        let email = format!("{name}-{}@example.com", &id.simple().to_string()[..8]);
        User {
            id,
            token: self.jwt.mint(id, Some(&email), 3600),
            email,
        }
    }

    /// A new agent.
    pub async fn agent(&self, name: &str) -> User {
        let user = self.customer(name);
        self.db
            .set_role(&user.id.to_string(), Role::Agent)
            .await
            .expect("set role");
        user
    }

    /// Sends a request with an optional token and JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        reply(req.send().await.expect("request")).await
    }

    /// The pages' session cookie (`name=value`) for `token`, as the portal gets it from
    /// `POST /api/v1/auth/session` (asserting 204 and the cookie's HttpOnly and
    /// SameSite=Lax).
    pub async fn page_cookie(&self, token: &str) -> String {
        let resp = self
            .client
            .post(format!("{}/api/v1/auth/session", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        let set = resp.headers()["set-cookie"]
            .to_str()
            .expect("ASCII")
            .to_string();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax"),
            "{set}"
        );
        set.split(';').next().unwrap_or_default().to_string()
    }

    /// GET as `user`.
    pub async fn get(&self, user: &User, path: &str) -> Reply {
        self.send(Method::GET, path, Some(&user.token), None).await
    }

    /// POST JSON as `user`.
    pub async fn post(&self, user: &User, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(&user.token), Some(body))
            .await
    }

    /// PATCH JSON as `user`.
    pub async fn patch(&self, user: &User, path: &str, body: Value) -> Reply {
        self.send(Method::PATCH, path, Some(&user.token), Some(body))
            .await
    }

    /// Creates a ticket as `user` and returns it (asserting 201).
    pub async fn create_ticket(&self, user: &User, subject: &str, body: &str) -> Value {
        let r = self
            .post(
                user,
                "/api/v1/tickets",
                json!({"subject": subject, "body": body}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let mut ticket = r.body;
        let suggested = ticket
            .as_object_mut()
            .and_then(|t| t.remove("suggested_articles"));
        assert!(suggested.is_some_and(|s| s.is_array()), "{}", r.text);
        ticket
    }

    /// A transaction on `conn` as `user` under Row Level Security, the way PostgREST
    /// sets one up (role and claims in one statement): what the user could read by
    /// reaching the database directly.
    pub async fn as_user<'c>(
        conn: &'c mut PgConnection,
        user: &User,
    ) -> sqlx::Transaction<'c, sqlx::Postgres> {
        let mut tx = sqlx::Connection::begin(conn).await.expect("begin");
        sqlx::query(
            "select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)",
        )
        .bind(json!({"sub": user.id, "role": "authenticated"}).to_string())
        .execute(&mut *tx)
        .await
        .expect("become the user");
        tx
    }

    /// An owner connection to the test database (bypasses nothing by itself; the owner
    /// is a superuser locally).
    pub async fn owner_conn(&self) -> PgConnection {
        PgConnection::connect(&self.database_url)
            .await
            .expect("owner connection")
    }
}

/// Reads a response.
pub async fn reply(resp: reqwest::Response) -> Reply {
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = resp.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        content_type,
        body,
        text,
    }
}

/// Asserts a problem+json answer with `status`.
/// Runs a command (the `helpcenter` CLI) that must succeed, and returns its standard
/// output, trimmed; on failure the test fails with its standard error.
pub fn run_ok(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().expect("the command starts");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8 output")
        .trim()
        .to_string()
}

pub fn assert_problem(r: &Reply, status: StatusCode) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.content_type, "application/problem+json", "{}", r.text);
    assert_eq!(r.body["status"], status.as_u16(), "{}", r.text);
}
