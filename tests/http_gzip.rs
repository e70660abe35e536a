//! Replies are compressed for clients that ask, as browsers do, and decompress to the
//! same document.

mod common;

use std::io::Read;

use common::{demo_articles, spawn_app};

#[tokio::test]
async fn search_replies_are_gzip_compressed_when_asked_and_decompress_to_the_same_json() {
    let app = spawn_app(&demo_articles()).await;
    let url = format!("{}/api/v1/search?q=invoice", app.base);
    let get = |encoding: &'static str| {
        let request = app.client.get(&url).header("accept-encoding", encoding);
        async move {
            let resp = request.send().await.expect("request");
            assert_eq!(resp.status(), 200);
            let content_encoding = resp
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_string());
            (content_encoding, resp.bytes().await.expect("body"))
        }
    };
    let (plain_encoding, plain) = get("identity").await;
    let (gzip_encoding, gzipped) = get("gzip").await;
    assert_eq!(plain_encoding, None);
    assert_eq!(gzip_encoding.as_deref(), Some("gzip"));
    assert!(
        gzipped.len() < plain.len() / 2,
        "{} -> {}",
        plain.len(),
        gzipped.len()
    );
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gzipped[..])
        .read_to_string(&mut text)
        .expect("valid gzip");
    let mut unzipped: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let mut plain: serde_json::Value = serde_json::from_slice(&plain).expect("JSON");
    // The engine's own timing differs between two runs of the same search.
    unzipped["took_ms"] = serde_json::Value::Null;
    plain["took_ms"] = serde_json::Value::Null;
    assert_eq!(unzipped, plain);
}
