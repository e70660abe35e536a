//! Shared test helpers: a real server on a free port, over real files and a real index.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use helpcenter::http::AppState;
use helpcenter::kb::KnowledgeBase;

pub mod skips;

/// A running service for one test.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// HTTP client.
    pub client: reqwest::Client,
    /// The engine, for assertions below HTTP.
    pub kb: Arc<KnowledgeBase>,
    /// The articles folder.
    pub articles: PathBuf,
    /// The index folder.
    pub index: PathBuf,
    _dirs: Vec<tempfile::TempDir>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl TestApp {
    /// GET a path and return status and JSON body.
    pub async fn get(&self, path_and_query: &str) -> (u16, serde_json::Value, String) {
        let resp = self
            .client
            .get(format!("{}{}", self.base, path_and_query))
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = resp.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        (status, json, content_type)
    }

    /// Runs a search and returns the JSON.
    pub async fn search(&self, query: &str) -> serde_json::Value {
        let (status, json, _) = self.get(&format!("/api/v1/search?{query}")).await;
        assert_eq!(status, 200, "search {query} answered {status}: {json}");
        json
    }

    /// Slugs of the hits of a search for `q`.
    pub async fn slugs_for(&self, q: &str) -> Vec<String> {
        hit_slugs(&self.search(&format!("q={}", urlencode(q))).await)
    }
}

/// The slugs of a search reply's hits, in order.
pub fn hit_slugs(json: &serde_json::Value) -> Vec<String> {
    json["hits"]
        .as_array()
        .map(|hits| {
            hits.iter()
                .map(|h| h["slug"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The repository's demo articles.
pub fn demo_articles() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("articles")
}

/// A shared corpus beside the project (`../shared/corpora/NAME`). Without it the test
/// cannot check what it claims: in CI, or with `HELPCENTER_REQUIRE_CORPORA=1`, that
/// fails the test; elsewhere the test reports itself skipped ([`skips::skip`]) and gets
/// `None`, and returns.
pub fn shared_corpus(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpora")
        .join(name);
    if p.is_dir() {
        return Some(p);
    }
    let absent = format!("../shared/corpora/{name} is absent");
    if let Some(why) = skips::corpora_required() {
        panic!(
            "{absent}, and {why} is set: the corpus tests must run (they alone guard \
             README's relevance targets)"
        );
    }
    skips::skip(&absent);
    None
}

/// Copies a folder tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Writes `files` (relative path, text) into a fresh temporary articles folder.
pub fn articles_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
    dir
}

/// Starts the service over a copy of `articles` (so tests may change it) and waits
/// until it is ready.
pub async fn spawn_app(articles: &Path) -> TestApp {
    let articles_copy = tempfile::tempdir().unwrap();
    copy_tree(articles, articles_copy.path());
    spawn_app_in_place(articles_copy.path().to_path_buf(), vec![articles_copy]).await
}

/// Starts the service over `articles` as it is (no copy): for large read-only corpora.
pub async fn spawn_app_in_place(articles: PathBuf, dirs: Vec<tempfile::TempDir>) -> TestApp {
    let app = spawn_app_unready(articles, dirs).await;
    wait_until(Duration::from_secs(120), || async {
        app.get("/readyz").await.0 == 200
    })
    .await;
    app
}

/// Starts the service over `articles` without waiting for it to be ready.
pub async fn spawn_app_unready(articles: PathBuf, mut dirs: Vec<tempfile::TempDir>) -> TestApp {
    let index_dir = tempfile::tempdir().unwrap();
    let index = index_dir.path().join("index");
    dirs.push(index_dir);
    let kb = Arc::new(KnowledgeBase::new(&articles, &index));
    helpcenter::server::start_indexing(kb.clone());
    helpcenter::server::start_watching(&kb);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = AppState::knowledge_base_only(kb.clone());
    tokio::spawn(async move {
        let _ = helpcenter::server::serve(listener, state, async {
            let _ = rx.await;
        })
        .await;
    });
    TestApp {
        base,
        client: reqwest::Client::new(),
        kb,
        articles,
        index,
        _dirs: dirs,
        shutdown: Some(tx),
    }
}

/// Polls `check` until it holds, failing the test after `limit`.
pub async fn wait_until<F, Fut>(limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    let mut delay = Duration::from_millis(5);
    loop {
        if check().await {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(200));
    }
}
