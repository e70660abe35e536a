//! Supabase's asymmetric signing keys: tokens verified by the issuer's JWKS, fetched
//! over real HTTP from a key server in the test (a real server, not a mock of the
//! client), cached, refetched at most once per 30 s for unknown `kid`s, rotated.

mod ticket_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use helpcenter::auth::jwks::{JwksCache, JwksSource};
use helpcenter::auth::keys::{generate_es256, Signer};
use helpcenter::auth::{now_secs, JwtKeys};
use reqwest::StatusCode;
use serde_json::{json, Value};
use ticket_support::{assert_problem, run_ok, spawn_app_with_keys, wait_until, TestApp, SECRET};
use uuid::Uuid;

/// A JWKS server on a loopback port: serves whatever set it holds, counts requests,
/// can be stopped and started again on the same port.
struct KeyServer {
    addr: std::net::SocketAddr,
    set: Arc<Mutex<Value>>,
    garbage: Arc<std::sync::atomic::AtomicBool>,
    hits: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl KeyServer {
    async fn start(set: Value) -> KeyServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut server = KeyServer {
            addr,
            set: Arc::new(Mutex::new(set)),
            garbage: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            hits: Arc::new(AtomicUsize::new(0)),
            stop: None,
        };
        server.serve(listener);
        server
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let (set, hits, garbage) = (self.set.clone(), self.hits.clone(), self.garbage.clone());
        let app = axum::Router::new().route(
            "/auth/v1/.well-known/jwks.json",
            axum::routing::get(move || {
                let (set, hits, garbage) = (set.clone(), hits.clone(), garbage.clone());
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    if garbage.load(Ordering::SeqCst) {
                        return "<html>not a key set</html>".to_string();
                    }
                    set.lock().unwrap().to_string()
                }
            }),
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        self.stop = Some(tx);
    }

    fn url(&self) -> String {
        format!("http://{}/auth/v1/.well-known/jwks.json", self.addr)
    }

    fn set_keys(&self, keys: Vec<Value>) {
        *self.set.lock().unwrap() = json!({ "keys": keys });
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }

    async fn restart(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .expect("rebind");
        self.serve(listener);
    }
}

/// An ES256 key: its signer and public JWK.
fn es256(kid: &str) -> (Signer, Value) {
    let (pem, jwk) = generate_es256(kid).expect("ES256 key");
    (
        Signer::from_pem(pem.as_bytes(), Some(kid.into())).expect("signer"),
        jwk,
    )
}

/// An RS256 key: its signer, public JWK and public key PEM.
fn rs256(kid: &str) -> (Signer, Value, String) {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    use rsa::traits::PublicKeyParts;
    let private = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).expect("RSA key");
    let public = private.to_public_key();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwk = json!({
        "kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
        "n": b64.encode(public.n().to_bytes_be()),
        "e": b64.encode(public.e().to_bytes_be()),
    });
    let pem = private.to_pkcs8_pem(LineEnding::LF).expect("pem");
    let public_pem = public
        .to_public_key_pem(LineEnding::LF)
        .expect("public pem");
    (
        Signer::from_pem(pem.as_bytes(), Some(kid.into())).expect("signer"),
        jwk,
        public_pem,
    )
}

/// Claims of a user token valid for an hour.
fn claims(sub: Uuid) -> Value {
    let now = now_secs();
    json!({"sub": sub, "role": "authenticated", "aud": "authenticated",
           "exp": now + 3600, "iat": now, "email": format!("{sub}@example.com")})
}

fn sign(signer: Signer, claims: &Value) -> String {
    JwtKeys::with_jwks(
        JwksCache::new(
            JwksSource::Url("http://unused".into()),
            Duration::from_secs(600),
        ),
        None,
        None,
    )
    .signing_with(signer)
    .sign(claims)
}

/// A token with a hand-made header and signature (for `none` and forgeries).
fn raw_token(header: &Value, claims: &Value, signature: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{}",
        b64.encode(header.to_string()),
        b64.encode(claims.to_string()),
        b64.encode(signature)
    )
}

/// HS256 with `key` as the secret and the header's `kid`: the algorithm-confusion
/// forgery (a public key's bytes used as an HMAC secret).
fn hs256_with(key: &[u8], header: &Value, claims: &Value) -> String {
    let mut mac_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    mac_header.kid = header["kid"].as_str().map(str::to_string);
    jsonwebtoken::encode(
        &mac_header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key),
    )
    .expect("hs256")
}

async fn app_on(server: &KeyServer, ttl: Duration, secret: Option<&[u8]>) -> TestApp {
    let cache = JwksCache::new(JwksSource::Url(server.url()), ttl);
    cache.start();
    spawn_app_with_keys(JwtKeys::with_jwks(cache, secret, None)).await
}

/// Waits until the app has fetched its key set and accepts `token` (bounded at 10 s).
async fn accepted_once_fetched(app: &TestApp, token: &str) {
    wait_until(
        "the key set is fetched",
        Duration::from_secs(10),
        || async { status_of(app, token).await == StatusCode::OK },
    )
    .await;
}

async fn status_of(app: &TestApp, token: &str) -> StatusCode {
    app.client
        .get(format!("{}/api/v1/tickets", app.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_keeps_working_and_a_revoked_key_stops_working_within_the_ttl() {
    let (old_signer, old_jwk) = es256("old");
    let (standby_signer, standby_jwk) = es256("standby");
    let server = KeyServer::start(json!({ "keys": [old_jwk, standby_jwk.clone()] })).await;
    let app = app_on(&server, Duration::from_secs(1), None).await;
    let alice = Uuid::new_v4();
    let old_token = sign(old_signer, &claims(alice));
    let standby_token = sign(standby_signer, &claims(alice));
    // In use and standby both verify.
    accepted_once_fetched(&app, &old_token).await;
    assert_eq!(status_of(&app, &standby_token).await, StatusCode::OK);
    // A stream opened with the old key's token.
    let mut stream = app
        .client
        .get(format!("{}/api/v1/events", app.base))
        .bearer_auth(&old_token)
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), StatusCode::OK);

    // The standby key becomes the one in use; the old one is revoked from the set.
    server.set_keys(vec![standby_jwk]);
    let revoked = Instant::now();
    wait_until(
        "the revoked key's tokens are refused",
        Duration::from_secs(10),
        || async { status_of(&app, &old_token).await == StatusCode::UNAUTHORIZED },
    )
    .await;
    println!(
        "revoked key refused after {:?} (TTL 1 s)",
        revoked.elapsed()
    );
    assert_eq!(status_of(&app, &standby_token).await, StatusCode::OK);
    // The stream opened with it ends too, saying why.
    let mut seen = String::new();
    let ended = tokio::time::timeout(Duration::from_secs(15), async {
        while let Ok(Some(chunk)) = stream.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream ended: {seen}");
    assert!(seen.contains("token_revoked"), "{seen}");
    let status: Value = app
        .client
        .get(format!("{}/api/v1/auth/status", app.base))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(status["jwks"]["state"], "fresh", "{status}");
    assert_eq!(status["jwks"]["keys"][0]["kid"], "standby", "{status}");
    assert_eq!(status["hs256"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn algorithm_confusion_none_and_mismatched_keys_are_refused() {
    let (es_signer, es_jwk) = es256("ec-key");
    let (_rs_signer, rs_jwk, rs_public_pem) = rs256("rsa-key");
    let server = KeyServer::start(json!({ "keys": [es_jwk.clone(), rs_jwk.clone()] })).await;
    // Asymmetric keys alone, and with the legacy secret too (a migration): the
    // forgeries fail both ways (no HS256 at all; a signature the secret did not make).
    let only_keys = app_on(&server, Duration::from_secs(600), None).await;
    let with_secret = app_on(&server, Duration::from_secs(600), Some(SECRET)).await;
    let sub = Uuid::new_v4();
    let good = sign(es_signer, &claims(sub));
    for app in [&only_keys, &with_secret] {
        accepted_once_fetched(app, &good).await;
    }
    let c = claims(sub);
    let forgeries = [
        (
            "HS256 signed with the RSA public key's PEM",
            hs256_with(
                rs_public_pem.as_bytes(),
                &json!({"alg": "HS256", "kid": "rsa-key"}),
                &c,
            ),
        ),
        (
            "HS256 signed with the RSA JWK's bytes",
            hs256_with(
                rs_jwk.to_string().as_bytes(),
                &json!({"alg": "HS256", "kid": "rsa-key"}),
                &c,
            ),
        ),
        (
            "HS256 signed with the EC JWK's bytes",
            hs256_with(
                es_jwk.to_string().as_bytes(),
                &json!({"alg": "HS256", "kid": "ec-key"}),
                &c,
            ),
        ),
        (
            "alg none",
            raw_token(&json!({"alg": "none", "kid": "ec-key"}), &c, b""),
        ),
        ("an ES256 token whose kid names the RSA key", {
            let (signer, _) = es256("rsa-key");
            sign(signer, &c)
        }),
        ("no kid while the set has two keys", {
            let (pem, _) = generate_es256("x").unwrap();
            sign(Signer::from_pem(pem.as_bytes(), None).unwrap(), &c)
        }),
        ("an ES256 token from a key that is not in the set", {
            let (signer, _) = es256("ec-key");
            sign(signer, &c)
        }),
    ];
    for (what, token) in forgeries {
        for app in [&only_keys, &with_secret] {
            let r = app
                .send(reqwest::Method::GET, "/api/v1/tickets", Some(&token), None)
                .await;
            assert_problem(&r, StatusCode::UNAUTHORIZED);
            println!("{what}: 401 {}", r.body["detail"]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_made_up_kids_causes_at_most_a_handful_of_fetches() {
    let (signer, jwk) = es256("real");
    let server = KeyServer::start(json!({ "keys": [jwk] })).await;
    let app = app_on(&server, Duration::from_secs(600), None).await;
    let good = sign(signer, &claims(Uuid::new_v4()));
    accepted_once_fetched(&app, &good).await;
    let before = server.hits();
    let mut tasks = Vec::new();
    for chunk in 0..10 {
        let (base, client) = (app.base.clone(), app.client.clone());
        tasks.push(tokio::spawn(async move {
            let mut refused = 0;
            for _ in 0..100 {
                let (made_up, _) = es256(&format!("made-up-{chunk}-{}", Uuid::new_v4()));
                let token = sign(made_up, &claims(Uuid::new_v4()));
                let r = client
                    .get(format!("{base}/api/v1/tickets"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .expect("request");
                refused += usize::from(r.status() == StatusCode::UNAUTHORIZED);
            }
            refused
        }));
    }
    let mut refused = 0;
    for t in tasks {
        refused += t.await.expect("task");
    }
    let fetches = server.hits() - before;
    println!("1,000 tokens with made-up kids: {refused} refused, {fetches} JWKS fetches");
    assert_eq!(refused, 1000);
    assert!(fetches <= 2, "{fetches} fetches");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_keys_outlive_an_outage_and_new_keys_are_picked_up_after_it() {
    let (signer, jwk) = es256("first");
    let mut server = KeyServer::start(json!({ "keys": [jwk] })).await;
    let app = app_on(&server, Duration::from_secs(1), None).await;
    let token = sign(signer, &claims(Uuid::new_v4()));
    accepted_once_fetched(&app, &token).await;
    // Down: the cached keys keep working, the failure shows in the status.
    server.stop();
    wait_until(
        "the failed fetch shows",
        Duration::from_secs(10),
        || async {
            let s: Value = app
                .client
                .get(format!("{}/api/v1/auth/status", app.base))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            s["jwks"]["state"] == "stale" && s["jwks"]["last_error"].is_string()
        },
    )
    .await;
    assert_eq!(status_of(&app, &token).await, StatusCode::OK);
    // Garbage instead of a key set: the same.
    server.garbage.store(true, Ordering::SeqCst);
    server.restart().await;
    tokio::time::timeout(Duration::from_secs(40), async {
        let hits = server.hits();
        while server.hits() == hits {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the set is fetched again");
    assert_eq!(status_of(&app, &token).await, StatusCode::OK);
    // Back with a new key: picked up.
    let (new_signer, new_jwk) = es256("second");
    server.set_keys(vec![new_jwk]);
    server.garbage.store(false, Ordering::SeqCst);
    let new_token = sign(new_signer, &claims(Uuid::new_v4()));
    wait_until(
        "the new key is picked up",
        Duration::from_secs(40),
        || async { status_of(&app, &new_token).await == StatusCode::OK },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hs256_works_when_the_secret_is_configured_and_is_refused_when_not() {
    let (signer, jwk) = es256("k");
    let server = KeyServer::start(json!({ "keys": [jwk] })).await;
    let hs = JwtKeys::new(SECRET).mint(Uuid::new_v4(), None, 600);
    let es = sign(signer, &claims(Uuid::new_v4()));

    let both = app_on(&server, Duration::from_secs(600), Some(SECRET)).await;
    accepted_once_fetched(&both, &es).await;
    assert_eq!(
        status_of(&both, &hs).await,
        StatusCode::OK,
        "HS256 during a migration"
    );

    let asymmetric_only = app_on(&server, Duration::from_secs(600), None).await;
    accepted_once_fetched(&asymmetric_only, &es).await;
    let r = asymmetric_only
        .send(reqwest::Method::GET, "/api/v1/tickets", Some(&hs), None)
        .await;
    assert_problem(&r, StatusCode::UNAUTHORIZED);
    assert!(r.text.contains("HS256"), "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_any_key_set_was_fetched_ticket_endpoints_answer_503_not_401() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    drop(listener);
    let cache = JwksCache::new(JwksSource::Url(url), Duration::from_secs(600));
    cache.start();
    let app = spawn_app_with_keys(JwtKeys::with_jwks(cache, None, None)).await;
    let (signer, _) = es256("k");
    let token = sign(signer, &claims(Uuid::new_v4()));
    let r = app
        .send(reqwest::Method::GET, "/api/v1/tickets", Some(&token), None)
        .await;
    assert_problem(&r, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_issuer_is_checked_when_configured() {
    let (signer, jwk) = es256("k");
    let server = KeyServer::start(json!({ "keys": [jwk] })).await;
    let issuer = format!("http://{}/auth/v1", server.addr);
    let cache = JwksCache::new(JwksSource::Url(server.url()), Duration::from_secs(600));
    cache.start();
    let app = spawn_app_with_keys(JwtKeys::with_jwks(cache, None, Some(issuer.clone()))).await;
    let mut good = claims(Uuid::new_v4());
    good["iss"] = issuer.into();
    let mut wrong = claims(Uuid::new_v4());
    wrong["iss"] = "https://evil.example/auth/v1".into();
    let (good, wrong) = {
        let keys = JwtKeys::with_jwks(
            JwksCache::new(
                JwksSource::Url("http://unused".into()),
                Duration::from_secs(600),
            ),
            None,
            None,
        )
        .signing_with(signer);
        (keys.sign(&good), keys.sign(&wrong))
    };
    accepted_once_fetched(&app, &good).await;
    assert_eq!(status_of(&app, &wrong).await, StatusCode::UNAUTHORIZED);
}

#[test]
fn keys_generate_writes_a_key_that_token_signs_with_and_a_second_run_adds_a_standby_key() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_helpcenter");
    for kid in ["first", "second"] {
        run_ok(
            std::process::Command::new(bin)
                .args(["keys", "generate", "--out"])
                .arg(dir.path())
                .args(["--kid", kid]),
        );
    }
    let jwks: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("jwks.json")).unwrap()).unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["first", "second"]);
    assert!(
        jwks["keys"][0].get("d").is_none(),
        "no private part in the JWKS"
    );
    let token = run_ok(
        std::process::Command::new(bin)
            .args(["token", "--sub", &Uuid::new_v4().to_string(), "--key"])
            .arg(dir.path().join("second.pem"))
            .env_remove("JWT_SECRET"),
    );
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(header.kid.as_deref(), Some("second"));
    // And the key set verifies it.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let cache = JwksCache::new(
            JwksSource::File(dir.path().join("jwks.json")),
            Duration::from_secs(600),
        );
        assert!(cache.refresh().await);
        let keys = JwtKeys::with_jwks(cache, None, None);
        keys.verify(&token)
            .expect("the generated key set verifies the token");
    });
}
