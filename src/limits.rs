//! Per-replica token buckets: cheap limits checked before any database work, so that a
//! refused request costs no transaction.
//!
//! These guard against floods of ephemeral or pre-checked requests (typing and viewing
//! signals, anonymous votes). They live in one replica's memory, so with N replicas a
//! client may get up to N times the rate; the limits that must hold across replicas
//! (ticket creation and replies, anonymous votes per hour) are counted in PostgreSQL
//! (migrations 0005 and 0012), and these only stop a flood before it reaches them.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A rate: `burst` at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens a new or rested client has.
    pub burst: f64,
    /// Tokens regained per second.
    pub per_second: f64,
}

impl Rate {
    /// `n` every `period`, all of them at once if rested.
    pub fn per(n: u32, period: Duration) -> Rate {
        Rate {
            burst: f64::from(n.max(1)),
            per_second: f64::from(n.max(1)) / period.as_secs_f64().max(1e-3),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by key (a user, a user and a ticket, a client key), in memory.
#[derive(Debug)]
pub struct KeyedLimiter<K> {
    rate: Rate,
    buckets: Mutex<HashMap<K, Bucket>>,
}

/// Above this many keys, buckets that have refilled are forgotten (they would allow
/// the full burst anyway), so a flood of distinct keys cannot grow memory for ever.
const PRUNE_ABOVE: usize = 50_000;

impl<K: Eq + Hash + Clone> KeyedLimiter<K> {
    /// Buckets of `rate`.
    pub fn new(rate: Rate) -> Self {
        KeyedLimiter {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`: `Ok` when allowed, else how long until one is back.
    pub fn take(&self, key: &K) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            let rate = self.rate;
            buckets.retain(|_, b| refilled(rate, *b, now) < rate.burst);
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: self.rate.burst,
            at: now,
        });
        let tokens = refilled(self.rate, *bucket, now);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                at: now,
            };
            Ok(())
        } else {
            *bucket = Bucket { tokens, at: now };
            let wait = (1.0 - tokens) / self.rate.per_second;
            Err(Duration::from_secs_f64(wait))
        }
    }
}

fn refilled(rate: Rate, bucket: Bucket, now: Instant) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    (bucket.tokens + elapsed * rate.per_second).min(rate.burst)
}

/// Whole seconds to put in `Retry-After` for a wait (at least 1).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.is_zero()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_with_the_wait() {
        let limiter = KeyedLimiter::new(Rate::per(3, Duration::from_secs(3)));
        for _ in 0..3 {
            assert!(limiter.take(&"alice").is_ok());
        }
        let wait = limiter.take(&"alice").expect_err("the fourth is refused");
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO);
        assert!(limiter.take(&"bob").is_ok(), "other keys are not affected");
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}

/// A limit on a user's writes counted in PostgreSQL (migration 0012), so that it holds
/// across replicas: at most `writes` every `window` (a fixed window that starts with
/// the first write).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteLimit {
    /// The name the count is kept under (and that the 429 names): `tickets`, `replies`.
    pub action: &'static str,
    /// Writes allowed per window.
    pub writes: u32,
    /// The window.
    pub window: Duration,
}

/// Every limit a replica applies to ticket-portal requests.
#[derive(Debug)]
pub struct Limits {
    /// New tickets per user (PostgreSQL); `None`: unlimited.
    pub new_tickets: Option<WriteLimit>,
    /// Replies and notes per user (PostgreSQL); `None`: unlimited.
    pub replies: Option<WriteLimit>,
    /// Typing signals per user and ticket (this replica).
    pub typing_per_ticket: KeyedLimiter<(uuid::Uuid, uuid::Uuid)>,
    /// Typing and viewing signals per user, all tickets together (this replica).
    pub signals_per_user: KeyedLimiter<uuid::Uuid>,
    /// Anonymous votes per client key (this replica; PostgreSQL counts the hour's total
    /// for every replica, this only spares it the flood).
    pub anonymous_votes: KeyedLimiter<String>,
    /// `new_tickets` checked in this replica first: a flood is refused here, without
    /// holding database connections while its writes wait on each other's count.
    pub new_tickets_here: Option<KeyedLimiter<uuid::Uuid>>,
    /// `replies` checked in this replica first, likewise.
    pub replies_here: Option<KeyedLimiter<uuid::Uuid>>,
}

/// Default new tickets per user per hour.
pub const NEW_TICKETS_PER_HOUR: u32 = 30;
/// Default replies per user per minute.
pub const REPLIES_PER_MINUTE: u32 = 60;

impl Default for Limits {
    fn default() -> Self {
        Limits::new(
            Some(WriteLimit {
                action: "tickets",
                writes: NEW_TICKETS_PER_HOUR,
                window: Duration::from_secs(3600),
            }),
            Some(WriteLimit {
                action: "replies",
                writes: REPLIES_PER_MINUTE,
                window: Duration::from_secs(60),
            }),
        )
    }
}

impl Limits {
    /// The given write limits and the default per-replica ones.
    pub fn new(new_tickets: Option<WriteLimit>, replies: Option<WriteLimit>) -> Self {
        let here = |limit: Option<WriteLimit>| {
            limit.map(|l| KeyedLimiter::new(Rate::per(l.writes, l.window)))
        };
        Limits {
            new_tickets_here: here(new_tickets),
            replies_here: here(replies),
            new_tickets,
            replies,
            // One typing signal a second per ticket is all a "typing…" line needs.
            typing_per_ticket: KeyedLimiter::new(Rate::per(1, Duration::from_secs(1))),
            signals_per_user: KeyedLimiter::new(Rate {
                burst: 10.0,
                per_second: 4.0,
            }),
            anonymous_votes: KeyedLimiter::new(Rate::per(
                crate::feedback::ANON_VOTES_PER_HOUR as u32,
                Duration::from_secs(3600),
            )),
        }
    }

    /// No write limits (tests that create tickets as fast as they can, benchmarks).
    pub fn without_write_limits() -> Self {
        Limits::new(None, None)
    }
}
