//! The JSON Web Key Set of the token issuer (Supabase's
//! `/auth/v1/.well-known/jwks.json`, or a file for local development), cached.
//!
//! * Fetched at start and again every TTL (at most 10 minutes, as Supabase asks), so a
//!   key revoked from the set stops verifying within the TTL.
//! * A token naming an unknown `kid` makes the set be fetched again at once, but at most
//!   once every [`REFETCH_EVERY`]: a flood of made-up `kid`s is not a flood of fetches.
//! * When the endpoint is down or answers garbage, the keys fetched last keep working
//!   for [`MAX_STALE`] past their TTL; the failure is logged and shown by
//!   [`JwksCache::status`]. When nothing was ever fetched, verification is
//!   [`super::AuthError::Unavailable`] (503), not a 401.
//! * A fetch times out after [`FETCH_TIMEOUT`] and reads at most [`MAX_BYTES`].

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use super::keys::KeySet;

/// Longest time a fetched set is used before it is fetched again.
pub const MAX_TTL: Duration = Duration::from_secs(600);
/// At most one fetch this often for unknown `kid`s, or after a failed fetch.
pub const REFETCH_EVERY: Duration = Duration::from_secs(30);
/// How long past its TTL the last good set keeps working while fetches fail.
pub const MAX_STALE: Duration = Duration::from_secs(3600);
/// A fetch gives up after this long.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest key set read.
pub const MAX_BYTES: usize = 256 * 1024;

/// Where the key set comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// An `https://` (or, for tests and local set-ups, `http://`) URL.
    Url(String),
    /// A file (`helpcenter keys generate` writes one), read again every TTL.
    File(PathBuf),
}

impl std::fmt::Display for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksSource::Url(u) => f.write_str(u),
            JwksSource::File(p) => write!(f, "file {}", p.display()),
        }
    }
}

#[derive(Default)]
struct CacheState {
    keys: Option<Arc<KeySet>>,
    fetched_at: Option<Instant>,
    fetched_at_wall: Option<SystemTime>,
    last_attempt: Option<Instant>,
    last_error: Option<String>,
    fetches: u64,
}

/// The cached key set of one source.
pub struct JwksCache {
    source: JwksSource,
    ttl: Duration,
    state: RwLock<CacheState>,
    /// One fetch at a time; callers that waited find the result in `state`.
    fetching: tokio::sync::Mutex<()>,
    client: reqwest::Client,
}

/// What `/api/v1/auth/status` shows of the key set.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct JwksStatus {
    /// The URL or file.
    pub source: String,
    /// `fresh` (younger than the TTL), `stale` (fetches failing, the last good set
    /// still used), `expired` (too stale: tokens are not verified), or `missing`
    /// (never fetched).
    pub state: &'static str,
    /// The keys: `kid` and algorithm.
    pub keys: Vec<KeyStatus>,
    /// When the set was last fetched successfully (RFC 3339).
    pub fetched_at: Option<String>,
    /// The last failure, if the last attempt failed.
    pub last_error: Option<String>,
    /// Fetch attempts since start.
    pub fetches: u64,
    /// The TTL, in seconds.
    pub ttl_seconds: u64,
}

/// One key of [`JwksStatus`].
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct KeyStatus {
    /// The key's id.
    pub kid: Option<String>,
    /// The algorithm it verifies.
    pub alg: String,
}

impl JwksCache {
    /// A cache of `source` with `ttl` (capped at [`MAX_TTL`]); fetches nothing yet.
    pub fn new(source: JwksSource, ttl: Duration) -> Arc<JwksCache> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(Duration::from_secs(2))
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .unwrap_or_default();
        Arc::new(JwksCache {
            source,
            ttl: ttl.min(MAX_TTL).max(Duration::from_secs(1)),
            state: RwLock::new(CacheState::default()),
            fetching: tokio::sync::Mutex::new(()),
            client,
        })
    }

    /// Starts the task that fetches the set now and again every TTL (after a failure,
    /// again after a short pause, growing to [`REFETCH_EVERY`]). Ends with the cache.
    pub fn start(self: &Arc<Self>) {
        let cache = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut pause = Duration::from_millis(500);
            loop {
                let Some(c) = cache.upgrade() else { return };
                let ok = c.refresh().await;
                let wait = if ok { c.ttl } else { pause };
                pause = (pause * 2).min(REFETCH_EVERY);
                drop(c);
                tokio::time::sleep(wait).await;
            }
        });
    }

    /// The keys to verify with now: the fresh set, or the last good one while it is at
    /// most [`MAX_STALE`] past its TTL; `None` when there is none (503).
    pub fn current(&self) -> Option<Arc<KeySet>> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        let age = state.fetched_at?.elapsed();
        if age <= self.ttl + MAX_STALE {
            state.keys.clone()
        } else {
            None
        }
    }

    /// The keys, fetched again first when `kid` is unknown and the last attempt was
    /// more than [`REFETCH_EVERY`] ago (or the set is past its TTL).
    pub async fn keys_for(&self, kid: Option<&str>) -> Option<Arc<KeySet>> {
        let current = self.current();
        let known = match (&current, kid) {
            (Some(keys), Some(kid)) => keys.has(kid),
            (Some(_), None) => true,
            (None, _) => false,
        };
        let expired = {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            state.fetched_at.is_none_or(|at| at.elapsed() > self.ttl)
        };
        if (!known || expired) && self.may_fetch() {
            self.refresh().await;
            return self.current();
        }
        current
    }

    fn may_fetch(&self) -> bool {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        state
            .last_attempt
            .is_none_or(|at| at.elapsed() >= REFETCH_EVERY)
    }

    /// Fetches the set once (one fetch at a time); whether it succeeded.
    pub async fn refresh(&self) -> bool {
        let started = Instant::now();
        let _one = self.fetching.lock().await;
        {
            // Someone else fetched while this caller waited: use theirs.
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            if state.last_attempt.is_some_and(|at| at > started) {
                return state.last_error.is_none();
            }
        }
        let result = self.fetch().await;
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        state.last_attempt = Some(Instant::now());
        state.fetches += 1;
        match result {
            Ok(keys) => {
                if !keys.skipped.is_empty() {
                    tracing::info!(source = %self.source, skipped = ?keys.skipped, "keys left out of the JWKS");
                }
                state.keys = Some(Arc::new(keys));
                state.fetched_at = Some(Instant::now());
                state.fetched_at_wall = Some(SystemTime::now());
                state.last_error = None;
                true
            }
            Err(e) => {
                tracing::warn!(source = %self.source, "cannot fetch the JWKS: {e}");
                state.last_error = Some(e);
                false
            }
        }
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let bytes = match &self.source {
            JwksSource::File(path) => {
                let bytes = tokio::fs::read(path)
                    .await
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                if bytes.len() > MAX_BYTES {
                    return Err(format!("larger than {MAX_BYTES} bytes"));
                }
                bytes
            }
            JwksSource::Url(url) => {
                let mut response = self
                    .client
                    .get(url)
                    .header("accept", "application/json")
                    .send()
                    .await
                    .map_err(|e| format!("request failed: {e}"))?;
                if !response.status().is_success() {
                    return Err(format!("answered {}", response.status()));
                }
                if response
                    .content_length()
                    .is_some_and(|n| n > MAX_BYTES as u64)
                {
                    return Err(format!("larger than {MAX_BYTES} bytes"));
                }
                let mut bytes = Vec::new();
                while let Some(chunk) = response
                    .chunk()
                    .await
                    .map_err(|e| format!("reading the answer failed: {e}"))?
                {
                    if bytes.len() + chunk.len() > MAX_BYTES {
                        return Err(format!("larger than {MAX_BYTES} bytes"));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                bytes
            }
        };
        let keys = KeySet::from_json(&bytes)?;
        if keys.is_empty() {
            return Err(format!(
                "no key that can verify signatures ({} left out)",
                keys.skipped.len()
            ));
        }
        Ok(keys)
    }

    /// What the status endpoint shows.
    pub fn status(&self) -> JwksStatus {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        let age = state.fetched_at.map(|at| at.elapsed());
        let kind = match age {
            None => "missing",
            Some(a) if a <= self.ttl => "fresh",
            Some(a) if a <= self.ttl + MAX_STALE => "stale",
            Some(_) => "expired",
        };
        JwksStatus {
            source: self.source.to_string(),
            state: kind,
            keys: state
                .keys
                .as_ref()
                .map(|k| {
                    k.summary()
                        .into_iter()
                        .map(|(kid, alg)| KeyStatus {
                            kid,
                            alg: format!("{alg:?}"),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            fetched_at: state.fetched_at_wall.and_then(|t| {
                time::OffsetDateTime::from(t)
                    .format(&time::format_description::well_known::Rfc3339)
                    .ok()
            }),
            last_error: state.last_error.clone(),
            fetches: state.fetches,
            ttl_seconds: self.ttl.as_secs(),
        }
    }
}
