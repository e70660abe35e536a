//! The recorder: events go into a bounded in-process queue that a background task
//! writes to PostgreSQL in batches (every second, or as soon as a batch is full), so a
//! search never waits on the database. When the database is slow or down the queue
//! keeps the newest events, drops the oldest and counts what it dropped.
//!
//! As-you-type searches settle first: a search from the API or the ticket suggestions is
//! held per session and source for [`RecorderSettings::settle`]; a newer query of the
//! same session within that time replaces it (the burst's last query is what the
//! customer meant), and a click, an article view or a ticket of the session commits it
//! at once (the query the customer acted on). Search-page queries are settled already.
//! The held searches live in one replica's memory for at most that time, as the queue
//! does: insights are best effort, tickets and votes are not.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Event, SearchEvent, SessionId, Source};
use crate::db::Database;

/// How the recorder behaves.
#[derive(Debug, Clone)]
pub struct RecorderSettings {
    /// Off: nothing is recorded (searches are not even held).
    pub enabled: bool,
    /// Most events queued; beyond it the oldest are dropped.
    pub capacity: usize,
    /// Most events written in one batch.
    pub batch: usize,
    /// How often the queue is written when it is not full.
    pub interval: Duration,
    /// How long an as-you-type search waits for a newer one of its session.
    pub settle: Duration,
    /// Events older than this many days are deleted.
    pub retention_days: u32,
    /// How often the retention is applied.
    pub retention_every: Duration,
}

impl Default for RecorderSettings {
    fn default() -> Self {
        RecorderSettings {
            enabled: true,
            capacity: 20_000,
            batch: 500,
            interval: Duration::from_secs(1),
            settle: Duration::from_millis(1500),
            retention_days: 90,
            retention_every: Duration::from_secs(3600),
        }
    }
}

/// The recorder's counters, as `GET /api/v1/insights/status` shows them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecorderStatus {
    /// Whether events are recorded.
    pub enabled: bool,
    /// Events waiting to be written.
    pub queued: usize,
    /// Searches held while their session may still be typing.
    pub settling: usize,
    /// Events written since the start.
    pub written: u64,
    /// Events dropped since the start (the queue was full: the database was slow or
    /// down).
    pub dropped: u64,
    /// The last write's error, if it failed.
    pub last_error: Option<String>,
    /// Events deleted by the retention since the start.
    pub forgotten: u64,
    /// Retention, in days.
    pub retention_days: u32,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Event>,
    /// Held as-you-type searches, by session and source, with when they came.
    settling: HashMap<(SessionId, Source), (SearchEvent, time::OffsetDateTime, Instant)>,
    last_error: Option<String>,
}

/// The recorder shared by every request of a replica.
pub struct Recorder {
    settings: RecorderSettings,
    state: Mutex<State>,
    written: AtomicU64,
    dropped: AtomicU64,
    forgotten: AtomicU64,
    /// Wakes the writer when a batch is full.
    full: tokio::sync::Notify,
}

impl Recorder {
    /// A recorder with these settings (nothing is written until [`Self::start`]).
    pub fn new(settings: RecorderSettings) -> Recorder {
        Recorder {
            settings,
            state: Mutex::new(State::default()),
            written: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            forgotten: AtomicU64::new(0),
            full: tokio::sync::Notify::new(),
        }
    }

    /// A recorder that records nothing.
    pub fn disabled() -> Recorder {
        Recorder::new(RecorderSettings {
            enabled: false,
            ..RecorderSettings::default()
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &RecorderSettings {
        &self.settings
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a search: at once from the search page, after settling otherwise.
    pub fn search(&self, search: SearchEvent) {
        if !self.settings.enabled {
            return;
        }
        let now = time::OffsetDateTime::now_utc();
        if search.source == Source::Page {
            self.push(Event::Search(search, now));
            return;
        }
        let key = (search.actor.session.clone(), search.source);
        let mut state = self.state();
        let earlier = state.settling.remove(&key);
        if let Some((held, at, when)) = earlier {
            if when.elapsed() >= self.settings.settle && held.query != search.query {
                // A pause: the earlier search was settled, this one starts anew.
                self.push_locked(&mut state, Event::Search(held, at));
            }
        }
        if state.settling.len() >= self.settings.capacity {
            // Too many sessions typing at once: record without settling.
            self.push_locked(&mut state, Event::Search(search, now));
            return;
        }
        state.settling.insert(key, (search, now, Instant::now()));
    }

    /// Records an event of a session (a click or a view), committing its held
    /// searches first: they are what the customer acted on.
    pub fn event(&self, event: Event) {
        if !self.settings.enabled {
            return;
        }
        let mut state = self.state();
        self.settle_session_locked(&mut state, event.session());
        self.push_locked(&mut state, event);
    }

    /// Commits the held searches of `session` (it opened a ticket).
    pub fn settle_session(&self, session: &SessionId) {
        let mut state = self.state();
        self.settle_session_locked(&mut state, session);
    }

    fn settle_session_locked(&self, state: &mut State, session: &SessionId) {
        for source in [Source::Api, Source::Suggestions] {
            if let Some((held, at, _)) = state.settling.remove(&(session.clone(), source)) {
                self.push_locked(state, Event::Search(held, at));
            }
        }
    }

    /// Commits every held search older than the settle time (or all of them).
    fn settle_due(&self, all: bool) {
        let mut state = self.state();
        let settle = self.settings.settle;
        let due: Vec<(SessionId, Source)> = state
            .settling
            .iter()
            .filter(|(_, (_, _, when))| all || when.elapsed() >= settle)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            if let Some((held, at, _)) = state.settling.remove(&key) {
                self.push_locked(&mut state, Event::Search(held, at));
            }
        }
    }

    fn push(&self, event: Event) {
        let mut state = self.state();
        self.push_locked(&mut state, event);
    }

    fn push_locked(&self, state: &mut State, event: Event) {
        while state.queue.len() >= self.settings.capacity {
            state.queue.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        state.queue.push_back(event);
        // Once, when a batch fills up: a full queue (the database down) must not wake
        // the writer at every search.
        if state.queue.len() == self.settings.batch {
            self.full.notify_one();
        }
    }

    /// The counters now.
    pub fn status(&self) -> RecorderStatus {
        let state = self.state();
        RecorderStatus {
            enabled: self.settings.enabled,
            queued: state.queue.len(),
            settling: state.settling.len(),
            written: self.written.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            last_error: state.last_error.clone(),
            forgotten: self.forgotten.load(Ordering::Relaxed),
            retention_days: self.settings.retention_days,
        }
    }

    /// Starts the writer: every interval (or when a batch is full) it settles what is
    /// due and writes the queue in batches; every `retention_every` it deletes what is
    /// older than the retention. Ends with the recorder.
    /// With recording off, only the retention runs (what was recorded before still
    /// expires).
    pub fn start(self: &Arc<Self>, db: Arc<Database>) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        let interval = self.settings.interval;
        tokio::spawn(async move {
            let mut last_retention: Option<Instant> = None;
            loop {
                let Some(recorder) = weak.upgrade() else {
                    return;
                };
                tokio::select! {
                    _ = recorder.full.notified() => {}
                    _ = tokio::time::sleep(interval) => {}
                }
                recorder.settle_due(false);
                recorder.write_queued(&db).await;
                let due = last_retention
                    .is_none_or(|at| at.elapsed() >= recorder.settings.retention_every);
                if due && db.is_ready() {
                    last_retention = Some(Instant::now());
                    if let Err(e) = recorder.forget_now(&db).await {
                        tracing::warn!("insights retention failed: {e}");
                    }
                }
            }
        })
    }

    /// Writes everything queued now (held searches included), batch by batch; stops at
    /// the first failure, keeping the events (the oldest are dropped if the queue
    /// overflows meanwhile).
    pub async fn flush(&self, db: &Database) {
        self.settle_due(true);
        self.write_queued(db).await;
    }

    async fn write_queued(&self, db: &Database) {
        if !db.is_ready() {
            // Known down: keep the queue as it is (it drops its oldest when full).
            if !self.state().queue.is_empty() {
                self.state().last_error = Some("the database is unreachable".into());
            }
            return;
        }
        loop {
            let batch: Vec<Event> = {
                let mut state = self.state();
                let n = state.queue.len().min(self.settings.batch);
                state.queue.drain(..n).collect()
            };
            if batch.is_empty() {
                return;
            }
            let result = self.write_batch(db, &batch).await;
            match result {
                Ok(()) => {
                    self.state().last_error = None;
                }
                Err((e, unwritten)) => {
                    let mut state = self.state();
                    // Back at the front, in order; the oldest go first if it overflows.
                    for event in unwritten.into_iter().rev() {
                        state.queue.push_front(event);
                    }
                    while state.queue.len() > self.settings.capacity {
                        state.queue.pop_front();
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    state.last_error = Some(e);
                    return;
                }
            }
        }
    }

    /// Writes one batch. An event the database refuses as data (SQLSTATE class 22 or
    /// 23: a value out of range, a check) must not hold back the others: the batch is
    /// halved until the refused events are alone, and those are dropped and counted.
    /// Any other failure returns what was not written, for the caller to keep.
    async fn write_batch(
        &self,
        db: &Database,
        batch: &[Event],
    ) -> Result<(), (String, Vec<Event>)> {
        let mut pending: Vec<&[Event]> = vec![batch];
        while let Some(part) = pending.pop() {
            let json = serde_json::Value::Array(part.iter().map(Event::to_json).collect());
            let result = sqlx::query_scalar::<_, i32>("select public.hc_record_insights($1)")
                .bind(sqlx::types::Json(json))
                .fetch_one(db.app_pool())
                .await;
            match result {
                Ok(_) => {
                    self.written.fetch_add(part.len() as u64, Ordering::Relaxed);
                }
                Err(e) if is_data_error(&e) => {
                    if part.len() == 1 {
                        tracing::warn!("insights: an event was refused ({e}); dropped");
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                    } else {
                        let (a, b) = part.split_at(part.len() / 2);
                        pending.push(b);
                        pending.push(a);
                    }
                }
                Err(e) => {
                    tracing::debug!("insights: a batch was not written ({e})");
                    // What was written of it stays written; the rest is kept, in order.
                    let mut unwritten: Vec<Event> = part.to_vec();
                    for p in pending.iter().rev() {
                        unwritten.extend(p.iter().cloned());
                    }
                    let why = if db.is_ready() {
                        "the database did not take the batch"
                    } else {
                        "the database is unreachable"
                    };
                    return Err((why.to_string(), unwritten));
                }
            }
        }
        Ok(())
    }

    /// Deletes what is older than the retention period, now.
    pub async fn forget_now(&self, db: &Database) -> Result<u64, sqlx::Error> {
        let deleted: i64 = sqlx::query_scalar("select public.hc_forget_insights($1)")
            .bind(self.settings.retention_days as i32)
            .fetch_one(db.app_pool())
            .await?;
        self.forgotten
            .fetch_add(deleted.max(0) as u64, Ordering::Relaxed);
        Ok(deleted.max(0) as u64)
    }
}

/// Whether PostgreSQL refused the data itself (SQLSTATE class 22 or 23).
fn is_data_error(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("22") || c.starts_with("23")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insights::Actor;

    fn search(session: &str, q: &str, source: Source) -> SearchEvent {
        SearchEvent {
            actor: Actor {
                session: SessionId::parse(session).unwrap(),
                user_id: None,
            },
            query: q.into(),
            results: 0,
            top_slugs: vec![],
            category: None,
            tags: vec![],
            source,
        }
    }

    fn queued_queries(r: &Recorder) -> Vec<String> {
        r.state()
            .queue
            .iter()
            .filter_map(|e| match e {
                Event::Search(s, _) => Some(s.query.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_burst_of_keystrokes_records_its_last_query_only() {
        let r = Recorder::new(RecorderSettings::default());
        for q in ["r", "re", "ref", "refund", "refund bank"] {
            r.search(search("session-1", q, Source::Api));
        }
        assert!(queued_queries(&r).is_empty(), "held while typing");
        r.settle_due(true);
        assert_eq!(queued_queries(&r), ["refund bank"]);
    }

    #[test]
    fn a_click_commits_the_query_it_was_a_result_of() {
        let r = Recorder::new(RecorderSettings::default());
        r.search(search("session-1", "invoice", Source::Api));
        r.event(Event::View {
            actor: Actor {
                session: SessionId::parse("session-1").unwrap(),
                user_id: None,
            },
            slug: "billing/invoices".into(),
            at: time::OffsetDateTime::now_utc(),
        });
        assert_eq!(queued_queries(&r), ["invoice"]);
        assert_eq!(r.status().queued, 2);
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts_them() {
        let r = Recorder::new(RecorderSettings {
            capacity: 3,
            ..RecorderSettings::default()
        });
        for q in ["a1", "a2", "a3", "a4", "a5"] {
            r.search(search("session-1", q, Source::Page));
        }
        assert_eq!(queued_queries(&r), ["a3", "a4", "a5"]);
        assert_eq!(r.status().dropped, 2);
    }

    #[test]
    fn recording_off_records_nothing() {
        let r = Recorder::disabled();
        r.search(search("session-1", "x", Source::Page));
        assert_eq!(r.status().queued, 0);
        assert!(!r.status().enabled);
    }
}
