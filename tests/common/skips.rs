//! Tests that cannot check their claim on this machine say so where it shows, instead of
//! passing quietly. libtest has no "skipped" outcome chosen at run time, so a skipping
//! test still reports `ok`; what makes the skip visible is a line written past libtest's
//! output capture (plain `cargo test` shows it) and, under `scripts/test.sh`, a line in
//! the log named by `HELPCENTER_SKIP_LOG`, which the script's summary lists.

use std::io::Write;

/// Whether a missing shared corpus must fail the test rather than skip it: in CI (`CI`
/// set, as every CI runner and `.ci/run`'s environment do) or when asked for with
/// `HELPCENTER_REQUIRE_CORPORA=1`. The corpus tests are the only guard of README's
/// relevance targets, so CI must never pass without them.
pub fn corpora_required() -> Option<&'static str> {
    if flag("HELPCENTER_REQUIRE_CORPORA") {
        Some("HELPCENTER_REQUIRE_CORPORA")
    } else if flag("CI") {
        Some("CI")
    } else {
        None
    }
}

/// A variable that is set and not `0`, `false` or empty.
fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// Reports that the running test skips its check, and why. The caller returns next.
pub fn skip(reason: &str) {
    // libtest names each test's thread after the test.
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let line = format!("{}::{test}: {reason}", env!("CARGO_CRATE_NAME"));
    // Not `eprintln!`: libtest captures that and shows it only when the test fails.
    let _ = writeln!(std::io::stderr(), "SKIPPED {line}");
    if let Some(log) = std::env::var_os("HELPCENTER_SKIP_LOG") {
        // One short line per write, appended: lines of tests running side by side do
        // not interleave.
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
        if let Err(e) = appended {
            panic!("cannot record the skip in HELPCENTER_SKIP_LOG: {e}");
        }
    }
}
