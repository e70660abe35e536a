//! What the report walks' tests share (`tests/insights_unopened.rs`,
//! `tests/insights_unhelpful.rs`): a replayable generator for their traffic, and the
//! ranges and pages each walk is checked on against its full count.

use helpcenter::insights::reports::{DateRange, Page};
use time::{Duration, OffsetDateTime};

/// A small deterministic generator (64-bit LCG), so a failure replays exactly.
pub struct Lcg(pub u64);

impl Lcg {
    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Ranges ending today, short and long, and one in the past.
pub fn ranges() -> [DateRange; 5] {
    let today = OffsetDateTime::now_utc().date();
    [
        DateRange::last_days(1),
        DateRange::last_days(7),
        DateRange::last_days(30),
        DateRange::last_days(60),
        DateRange {
            from: today - Duration::days(40),
            to: today - Duration::days(10),
        },
    ]
}

/// First pages, a middle page, and a page of one far down.
pub fn pages() -> [Page; 4] {
    [(5, 0), (10, 7), (50, 0), (1, 30)].map(|(limit, offset)| Page { limit, offset })
}
