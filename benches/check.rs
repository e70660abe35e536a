//! `helpcenter check` on the MDN corpus (`../shared/corpora/mdn`, 14,076 articles);
//! the target is under 2 s.
//!
//! Run: `cargo bench --bench check`. Prints one cold-ish run (files in the page cache
//! after the first read) with the diagnostic counts per code, then criterion's mean
//! over 10 runs of the whole check: listing, reading, parsing, link and anchor checks.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use helpcenter::kb::check::{check_articles, Code};

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora/mdn/articles");
    p.is_dir().then_some(p)
}

fn bench(c: &mut Criterion) {
    let Some(mdn) = corpus() else {
        eprintln!("skipped: ../shared/corpora/mdn is absent");
        return;
    };
    let started = Instant::now();
    let report = check_articles(&mdn).expect("the corpus can be listed");
    println!(
        "check of MDN: {} files, {} errors, {} warnings in {:.2}s",
        report.files_checked,
        report.errors,
        report.warnings,
        started.elapsed().as_secs_f64()
    );
    for code in Code::ALL {
        let n = report.count(code);
        if n > 0 {
            println!("  {:<22} {n}", code.as_str());
        }
    }
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("mdn", |b| {
        b.iter(|| check_articles(&mdn).expect("the corpus can be listed"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
