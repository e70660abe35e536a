//! Closing solved tickets: a solved ticket without a change or a reply for a while
//! (default four days) becomes closed, after which a customer's reply is refused with a
//! pointer to a follow-up. Every replica runs the sweep; `hc_close_solved_tickets`
//! (migration 0018) skips rows another replica holds, so they never wait on each other
//! and nothing lives in one replica's memory.

use std::sync::Arc;
use std::time::Duration;

use crate::db::Database;

/// Default time a solved ticket stays open to a reply.
pub const DEFAULT_CLOSE_AFTER: Duration = Duration::from_secs(4 * 24 * 3600);

/// Tickets closed per statement (a backlog is worked off a batch at a time, so no
/// statement holds many row locks).
const BATCH: i32 = 500;

/// Closes the solved tickets due now; how many.
pub async fn close_due(db: &Database, after: Duration) -> Result<u64, sqlx::Error> {
    let secs = i32::try_from(after.as_secs()).unwrap_or(i32::MAX);
    let mut total = 0u64;
    loop {
        let closed: i32 = sqlx::query_scalar("select public.hc_close_solved_tickets($1, $2)")
            .bind(secs)
            .bind(BATCH)
            .fetch_one(db.app_pool())
            .await?;
        total += closed.max(0) as u64;
        if closed < BATCH {
            return Ok(total);
        }
    }
}

/// How often the sweep runs: a quarter of the period, between a second and a minute
/// (a ticket closes at most that late).
pub fn sweep_every(after: Duration) -> Duration {
    (after / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// Runs the sweep in the background for as long as the runtime lives; a database that
/// is down is skipped until it is back.
pub fn start(db: Arc<Database>, after: Duration) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(sweep_every(after));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if !db.is_ready() {
                continue;
            }
            match close_due(&db, after).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(closed = n, "closed solved tickets"),
                Err(e) => tracing::warn!("closing solved tickets failed: {e}"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_runs_often_enough_and_not_too_often() {
        assert_eq!(sweep_every(DEFAULT_CLOSE_AFTER), Duration::from_secs(60));
        assert_eq!(sweep_every(Duration::from_secs(2)), Duration::from_secs(1));
        assert_eq!(
            sweep_every(Duration::from_secs(120)),
            Duration::from_secs(30)
        );
    }
}
