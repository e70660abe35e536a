//! Server-Sent Events for the ticket stories: a subscriber's stream of
//! `GET /api/v1/events`, read event by event with a bounded wait.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::{TestApp, User};

/// A subscriber's open stream.
pub struct Stream {
    /// The response being read.
    pub resp: reqwest::Response,
    buf: String,
}

/// One received event.
#[derive(Debug)]
pub struct Received {
    /// `None` for ephemeral signals (typing, presence).
    pub id: Option<i64>,
    /// The `event:` name.
    pub kind: String,
    /// The JSON data.
    pub data: Value,
}

pub async fn subscribe(app: &TestApp, user: &User, last_event_id: Option<i64>) -> Stream {
    let mut req = app
        .client
        .get(format!("{}/api/v1/events", app.base))
        .bearer_auth(&user.token)
        .header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id.to_string());
    }
    let resp = req.send().await.expect("subscribe");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    Stream {
        resp,
        buf: String::new(),
    }
}

impl Stream {
    /// The next stored event (with an id), failing the test after 15 s.
    pub async fn next(&mut self) -> Received {
        loop {
            let e = self.next_any().await;
            if e.id.is_some() {
                return e;
            }
        }
    }

    /// The next ephemeral signal (no id).
    pub async fn next_signal(&mut self) -> Received {
        loop {
            let e = self.next_any().await;
            if e.id.is_none() {
                return e;
            }
        }
    }

    /// The next event of either kind (comments skipped), failing the test after 15 s.
    pub async fn next_any(&mut self) -> Received {
        let limit = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut kind, mut data) = (None, String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        kind = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // a comment (keep-alive)
                }
                return Received {
                    id,
                    kind,
                    data: serde_json::from_str(&data).expect("event data is JSON"),
                };
            }
            let chunk = tokio::time::timeout_at(limit, self.resp.chunk())
                .await
                .expect("an event within 15 s")
                .expect("stream open")
                .expect("stream not ended");
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}
