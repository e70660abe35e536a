//! Write-to-visible latency of the articles watcher on the MDN corpus
//! (`../shared/corpora/mdn`): the time from a writer's save to the change being found
//! by search, through the same watcher and incremental update that `serve` runs.
//!
//! Run: `cargo bench --bench live_reindex`. It copies the corpus to a temporary folder,
//! builds the index, starts the watcher, then:
//! * single-file edits: 60 times, appends a unique word to one article (an editor's
//!   atomic save: temporary file, then rename over) and polls search every 0.5 ms until
//!   that word finds the article; prints p50/p95/max;
//! * a 500-file checkout: writes 500 changed articles at once (as `git checkout` does)
//!   and measures until all 500 are found.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use helpcenter::kb::search::SearchRequest;
use helpcenter::kb::watcher::{self, WatchOptions};
use helpcenter::kb::KnowledgeBase;

const EDITS: usize = 60;
const CHECKOUT_FILES: usize = 500;
const GIVE_UP: Duration = Duration::from_secs(30);

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora/mdn/articles");
    p.is_dir().then_some(p)
}

fn copy_tree(from: &Path, to: &Path, files: &mut Vec<PathBuf>) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("read folder") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target, files);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
            if target.extension().is_some_and(|e| e == "md") {
                files.push(target);
            }
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn total_for(kb: &KnowledgeBase, q: &str) -> u64 {
    kb.search(&SearchRequest {
        q: format!("{q} "),
        limit: 1,
        ..Default::default()
    })
    .map(|r| r.total)
    .unwrap_or(0)
}

/// Saves `text` to `path` the way editors do: a temporary file, renamed over.
fn atomic_save(path: &Path, text: &str) {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("x")
    ));
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

fn wait_for(kb: &KnowledgeBase, q: &str, expected: u64) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < GIVE_UP {
        if total_for(kb, q) >= expected {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    None
}

fn main() {
    let Some(mdn) = corpus() else {
        eprintln!("skipped: ../shared/corpora/mdn is absent");
        return;
    };
    let work = tempfile::tempdir().expect("temp dir");
    let articles = work.path().join("articles");
    let mut files = Vec::new();
    copy_tree(&mdn, &articles, &mut files);
    files.sort();
    let kb = Arc::new(KnowledgeBase::new(&articles, work.path().join("index")));
    let started = Instant::now();
    let report = kb.open_or_build(&|_, _| {}).expect("index builds");
    println!(
        "index: {} articles in {:.2} s",
        report.articles,
        started.elapsed().as_secs_f64()
    );
    watcher::spawn(&kb, WatchOptions::default()).expect("watcher starts");
    let started = Instant::now();
    while kb
        .status(&helpcenter::kb::audience::Reader::Staff)
        .watcher
        .last_full_sync
        .is_none()
    {
        assert!(started.elapsed() < GIVE_UP, "the watcher did not start");
        std::thread::sleep(Duration::from_millis(10));
    }

    // Single-file edits, spread over the corpus.
    let mut latencies = Vec::with_capacity(EDITS);
    let step = files.len() / EDITS;
    for i in 0..EDITS {
        let path = &files[i * step];
        let text = std::fs::read_to_string(path).expect("read");
        let word = format!("zqedit{i:04}x");
        atomic_save(path, &format!("{text}\n\nEdited: {word}\n"));
        let took = wait_for(&kb, &word, 1).expect("the edit becomes visible");
        latencies.push(took);
        // Let the watcher go idle, as between a writer's saves.
        std::thread::sleep(Duration::from_millis(50));
    }
    latencies.sort();
    println!(
        "single-file edit to visible ({EDITS} edits): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.95).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );

    // A checkout changing 500 files at once.
    let step = files.len() / CHECKOUT_FILES;
    let started = Instant::now();
    for i in 0..CHECKOUT_FILES {
        let path = &files[i * step + 1];
        let text = std::fs::read_to_string(path).expect("read");
        std::fs::write(path, format!("{text}\n\nzqcheckout\n")).expect("write");
    }
    let written = started.elapsed();
    let converged = wait_for(&kb, "zqcheckout", CHECKOUT_FILES as u64)
        .map(|d| d + written)
        .expect("the checkout converges");
    println!(
        "{CHECKOUT_FILES}-file checkout: written in {:.0} ms, all visible after {:.0} ms",
        written.as_secs_f64() * 1e3,
        converged.as_secs_f64() * 1e3
    );
    let status = kb.status(&helpcenter::kb::audience::Reader::Staff);
    println!(
        "status: {} articles, {} watcher batches",
        status.articles, status.watcher.batches
    );
}
