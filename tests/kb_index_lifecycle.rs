//! The index's life: reused when current, rebuilt when stale or corrupted, swapped
//! atomically, and never taken down by a failed rebuild or a broken article.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use common::{articles_dir, copy_tree, demo_articles};
use helpcenter::kb::audience::Reader;
use helpcenter::kb::search::SearchRequest;
use helpcenter::kb::KnowledgeBase;

fn search(kb: &KnowledgeBase, q: &str) -> Vec<String> {
    kb.search(&SearchRequest {
        q: q.to_string(),
        limit: 10,
        ..Default::default()
    })
    .expect("search")
    .hits
    .into_iter()
    .map(|h| h.slug)
    .collect()
}

fn fresh_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&demo_articles(), dir.path());
    dir
}

#[test]
fn a_current_index_is_opened_without_a_rebuild_and_a_stale_one_is_rebuilt() {
    let articles = fresh_copy();
    let index = tempfile::tempdir().unwrap();
    let first = KnowledgeBase::new(articles.path(), index.path());
    assert!(!first.open_or_build(&|_, _| {}).unwrap().reused);
    drop(first);

    let second = KnowledgeBase::new(articles.path(), index.path());
    let report = second.open_or_build(&|_, _| {}).unwrap();
    assert!(report.reused, "same articles: the index on disk is reused");
    assert_eq!(report.articles, 27);

    std::fs::write(
        articles.path().join("billing/new-article.md"),
        "# Pay by zebrafish\n\nA new payment method.",
    )
    .unwrap();
    let third = KnowledgeBase::new(articles.path(), index.path());
    let report = third.open_or_build(&|_, _| {}).unwrap();
    assert!(!report.reused, "a changed article makes the index stale");
    assert_eq!(search(&third, "zebrafish"), vec!["billing/new-article"]);
    // Only the live generation remains on disk.
    let generations = std::fs::read_dir(index.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("gen-")
        })
        .count();
    assert_eq!(generations, 1);
}

#[test]
fn a_corrupted_or_missing_index_is_rebuilt() {
    let articles = fresh_copy();
    let index = tempfile::tempdir().unwrap();
    KnowledgeBase::new(articles.path(), index.path())
        .open_or_build(&|_, _| {})
        .unwrap();
    // Corrupt every file of the live generation.
    let current = std::fs::read_to_string(index.path().join("CURRENT")).unwrap();
    let generation = index.path().join(current.trim());
    for entry in std::fs::read_dir(&generation).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() != "manifest.json" {
            std::fs::write(&path, b"garbage").unwrap();
        }
    }
    let kb = KnowledgeBase::new(articles.path(), index.path());
    let report = kb.open_or_build(&|_, _| {}).unwrap();
    assert!(!report.reused);
    assert_eq!(
        search(&kb, "invoice").first().map(String::as_str),
        Some("billing/invoices/download-invoice")
    );

    // A CURRENT pointing nowhere.
    std::fs::write(index.path().join("CURRENT"), "gen-missing\n").unwrap();
    let kb = KnowledgeBase::new(articles.path(), index.path());
    assert!(!kb.open_or_build(&|_, _| {}).unwrap().reused);
    assert!(!search(&kb, "invoice").is_empty());
}

#[test]
fn a_failed_rebuild_leaves_the_old_index_serving() {
    let articles = fresh_copy();
    let index = tempfile::tempdir().unwrap();
    let kb = KnowledgeBase::new(articles.path(), index.path());
    kb.open_or_build(&|_, _| {}).unwrap();
    std::fs::remove_dir_all(articles.path()).unwrap();
    assert!(
        kb.rebuild(&|_, _| {}).is_err(),
        "no articles folder: the rebuild fails"
    );
    assert_eq!(
        search(&kb, "invoice").first().map(String::as_str),
        Some("billing/invoices/download-invoice"),
        "the old index still answers"
    );
}

#[test]
fn search_answers_throughout_a_rebuild() {
    let articles = fresh_copy();
    let index = tempfile::tempdir().unwrap();
    let kb = Arc::new(KnowledgeBase::new(articles.path(), index.path()));
    kb.open_or_build(&|_, _| {}).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let rebuilder = {
        let kb = kb.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            for _ in 0..5 {
                kb.rebuild(&|_, _| {}).unwrap();
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let mut searches = 0;
    while !done.load(Ordering::SeqCst) {
        let hits = search(&kb, "invoice");
        assert_eq!(
            hits.first().map(String::as_str),
            Some("billing/invoices/download-invoice")
        );
        searches += 1;
    }
    rebuilder.join().unwrap();
    assert!(searches > 0);
}

#[test]
fn an_article_that_fails_to_parse_is_skipped_with_its_file_and_line() {
    let dir = articles_dir(&[
        ("good.md", "# Good article\n\nFine."),
        ("broken.md", "---\ntitle: Broken\ntags: [a, b\n---\nBody"),
    ]);
    let index = tempfile::tempdir().unwrap();
    let kb = KnowledgeBase::new(dir.path(), index.path());
    let report = kb.open_or_build(&|_, _| {}).unwrap();
    assert_eq!(report.articles, 1);
    let status = kb.status(&Reader::Staff);
    assert_eq!(status.errors.len(), 1);
    assert_eq!(status.errors[0].path, "broken.md");
    assert!(status.errors[0].line >= 3, "{:?}", status.errors[0]);
}

#[test]
fn real_docs_trees_load_as_they_are() {
    let Some(corpus) = common::shared_corpus("docker-docs") else {
        return; // reported by shared_corpus
    };
    let index = tempfile::tempdir().unwrap();
    let kb = KnowledgeBase::new(corpus.join("articles"), index.path());
    let report = kb.open_or_build(&|_, _| {}).unwrap();
    // 1,454 files, minus the `includes/` fragments named by no ignore file: all load.
    assert_eq!(report.errors, 0, "{:?}", kb.status(&Reader::Staff).errors);
    assert!(report.articles > 1400);
    // Hugo shortcodes are neither shown nor indexed as words.
    let slug = helpcenter::kb::types::Slug::parse("manuals/engine/install/fedora").unwrap();
    let article = kb
        .article(&slug, &Reader::Anonymous)
        .unwrap()
        .expect("published");
    assert!(
        !article.html.contains("{{&lt;") && !article.html.contains("{{<"),
        "shortcode left in HTML"
    );
    assert!(
        !search(&kb, "\"tabs tab\"").contains(&"manuals/engine/install/fedora".to_string()),
        "shortcode names are not indexed"
    );
}

#[test]
fn a_running_service_picks_up_an_index_rebuilt_by_another_process() {
    let articles = fresh_copy();
    let index = tempfile::tempdir().unwrap();
    let serving = KnowledgeBase::new(articles.path(), index.path());
    serving.open_or_build(&|_, _| {}).unwrap();
    assert!(
        !serving.reload_if_replaced().unwrap(),
        "nothing changed yet"
    );
    std::fs::write(
        articles.path().join("orders/quokka.md"),
        "# Quokka crossings\n\nShip quokkafish.",
    )
    .unwrap();
    // `helpcenter index` in another process is another KnowledgeBase on the same folders.
    KnowledgeBase::new(articles.path(), index.path())
        .rebuild(&|_, _| {})
        .unwrap();
    assert!(
        search(&serving, "quokkafish").is_empty(),
        "{:?}",
        search(&serving, "quokkafish")
    );
    assert!(serving.reload_if_replaced().unwrap());
    assert_eq!(search(&serving, "quokkafish"), vec!["orders/quokka"]);
}

#[test]
fn an_index_updated_live_is_reused_after_a_restart_unless_the_machine_rebooted() {
    use helpcenter::kb::sync::SyncScope;
    let articles = fresh_copy();
    let index = tempfile::tempdir().unwrap();
    let kb = KnowledgeBase::new(articles.path(), index.path());
    kb.open_or_build(&|_, _| {}).unwrap();
    std::fs::write(
        articles.path().join("billing/new-article.md"),
        "# Pay by zebrafish\n\nA new payment method.",
    )
    .unwrap();
    let report = kb
        .sync(&SyncScope::Paths(
            ["billing/new-article.md".to_string()].into(),
        ))
        .unwrap()
        .unwrap();
    assert!(report.changed);
    assert_eq!(search(&kb, "zebrafish"), vec!["billing/new-article"]);
    drop(kb);

    // A restart of the service: the updated generation matches the folder.
    let kb = KnowledgeBase::new(articles.path(), index.path());
    let report = kb.open_or_build(&|_, _| {}).unwrap();
    assert!(
        report.reused,
        "the live update's manifest matches the folder"
    );
    assert_eq!(report.articles, 28);
    assert_eq!(search(&kb, "zebrafish"), vec!["billing/new-article"]);
    drop(kb);

    // The same generation after a reboot (its updates were not forced to disk).
    let current = std::fs::read_to_string(index.path().join("CURRENT")).unwrap();
    let manifest_path = index.path().join(current.trim()).join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    assert!(manifest["unsynced_updates"].is_string(), "{manifest}");
    manifest["unsynced_updates"] = "an-earlier-boot".into();
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let kb = KnowledgeBase::new(articles.path(), index.path());
    let report = kb.open_or_build(&|_, _| {}).unwrap();
    assert!(!report.reused, "rebuilt rather than trusted");
    assert_eq!(search(&kb, "zebrafish"), vec!["billing/new-article"]);
}

#[test]
fn searches_during_an_update_see_the_batch_whole_or_not_at_all() {
    use helpcenter::kb::sync::SyncScope;
    use std::time::{Duration, Instant};
    let articles = fresh_copy();
    let index = tempfile::tempdir().unwrap();
    let kb = Arc::new(KnowledgeBase::new(articles.path(), index.path()));
    kb.open_or_build(&|_, _| {}).unwrap();
    let mut paths = std::collections::BTreeSet::new();
    for i in 0..200 {
        let rel = format!("batch/page-{i:03}.md");
        std::fs::create_dir_all(articles.path().join("batch")).unwrap();
        std::fs::write(articles.path().join(&rel), format!("# Page {i}\n\nokapi")).unwrap();
        paths.insert(rel);
    }
    let okapis = |kb: &KnowledgeBase| {
        kb.search(&SearchRequest {
            q: "okapi ".into(),
            limit: 1,
            ..Default::default()
        })
        .unwrap()
        .total
    };
    // A reader searching without pause, noting when each search began and ended and
    // how many of the batch's articles it found.
    let done = Arc::new(AtomicBool::new(false));
    let searches = Arc::new(AtomicUsize::new(0));
    let searcher = {
        let (kb, done, searches) = (kb.clone(), done.clone(), searches.clone());
        std::thread::spawn(move || {
            let mut log = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let began = Instant::now();
                let total = okapis(&kb);
                log.push((began, Instant::now(), total));
                searches.fetch_add(1, Ordering::Relaxed);
            }
            log
        })
    };
    // The reader is searching before the update starts...
    while searches.load(Ordering::Relaxed) == 0 {
        std::thread::yield_now();
    }
    let sync_began = Instant::now();
    let report = kb.sync(&SyncScope::Paths(paths)).unwrap().unwrap();
    let sync_ended = Instant::now();
    assert_eq!(report.indexed, 200);
    // ...and goes on for two more searches, so at least one begins after the update.
    let after = searches.load(Ordering::Relaxed) + 2;
    while searches.load(Ordering::Relaxed) < after && sync_ended.elapsed() < Duration::from_secs(5)
    {
        std::thread::yield_now();
    }
    done.store(true, Ordering::Relaxed);
    let log = searcher.join().unwrap();

    let partial: Vec<u64> = log
        .iter()
        .map(|&(_, _, total)| total)
        .filter(|&t| t != 0 && t != 200)
        .collect();
    assert!(
        partial.is_empty(),
        "{} searches saw part of the batch: {:?}",
        partial.len(),
        partial.iter().collect::<std::collections::BTreeSet<_>>()
    );
    // The race took place: the old state kept answering while the update ran, until
    // late in it. Searches in its first half alone would not show that: they may have
    // slipped in while the update waited to start (were searches made to wait for
    // updates, they would all be there).
    let midway = sync_began + (sync_ended - sync_began) / 2;
    let late_old_answers = log
        .iter()
        .filter(|&&(began, ended, total)| began >= midway && ended <= sync_ended && total == 0)
        .count();
    assert!(
        late_old_answers > 0,
        "no search was answered from the old state in the second half of the update \
         ({:?}; {} searches inside it, {} in all)",
        sync_ended - sync_began,
        log.iter()
            .filter(|&&(began, ended, _)| began >= sync_began && ended <= sync_ended)
            .count(),
        log.len()
    );
    let after_the_update: Vec<u64> = log
        .iter()
        .filter(|&&(began, _, _)| began >= sync_ended)
        .map(|&(_, _, total)| total)
        .collect();
    assert!(
        !after_the_update.is_empty() && after_the_update.iter().all(|&t| t == 200),
        "searches after the update found {after_the_update:?}, not its 200 articles"
    );
}

#[test]
fn a_reused_index_knows_its_files_drafts_and_errors_without_a_rebuild() {
    use helpcenter::kb::sync::SyncScope;
    let articles = articles_dir(&[
        ("a.md", "---\ntitle: Alpha\nslug: alpha-custom\n---\nwombat"),
        ("b.md", "---\ntitle: Bravo\n---\nwombat"),
        ("draft.md", "---\ntitle: Draft\ndraft: true\n---\nwombat"),
        ("broken.md", "---\ntitle: [x\n---\n"),
        ("dup.md", "---\ntitle: Dup\nslug: alpha-custom\n---\nwombat"),
    ]);
    let index = tempfile::tempdir().unwrap();
    let first = KnowledgeBase::new(articles.path(), index.path());
    first.open_or_build(&|_, _| {}).unwrap();
    let built = first.status(&Reader::Staff);
    drop(first);

    let kb = KnowledgeBase::new(articles.path(), index.path());
    let report = kb.open_or_build(&|_, _| {}).unwrap();
    assert!(report.reused);
    let status = kb.status(&Reader::Staff);
    assert_eq!(status.articles, 2);
    assert_eq!(status.drafts, 1);
    let paths = |s: &helpcenter::kb::IndexStatus| -> Vec<String> {
        s.errors.iter().map(|e| e.path.clone()).collect()
    };
    assert_eq!(
        paths(&status),
        paths(&built),
        "same problems as the full load"
    );
    assert_eq!(paths(&status), ["broken.md", "dup.md"]);

    // It knows which document each file is: deleting a file whose slug is not its
    // path removes that document, and the duplicate takes the slug over.
    std::fs::remove_file(articles.path().join("a.md")).unwrap();
    kb.sync(&SyncScope::Paths(["a.md".to_string()].into()))
        .unwrap()
        .unwrap();
    let hits = search(&kb, "wombat");
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert!(hits.contains(&"alpha-custom".to_string()) && hits.contains(&"b".to_string()));
    let (status_code, _) = (kb.status(&Reader::Staff).errors.len(), ());
    assert_eq!(
        status_code,
        1,
        "only broken.md is left: {:?}",
        kb.status(&Reader::Staff).errors
    );
}

#[test]
fn a_words_remembered_expansion_never_outlives_an_index_update_or_a_settings_change() {
    use helpcenter::kb::sync::SyncScope;
    let articles = articles_dir(&[("a.md", "---\ntitle: Invoices\n---\nDownload an invoice.")]);
    let index = tempfile::tempdir().unwrap();
    let kb = KnowledgeBase::new(articles.path(), index.path());
    kb.open_or_build(&|_, _| {}).unwrap();

    // "zanzibarr" expands to nothing in this dictionary, and that is remembered...
    assert!(search(&kb, "zanzibarr").is_empty());
    // ...until an update brings the word its typo stands for.
    std::fs::write(
        articles.path().join("b.md"),
        "---\ntitle: Shipping to Zanzibar\n---\nWe ship to Zanzibar.",
    )
    .unwrap();
    kb.sync(&SyncScope::Paths(["b.md".to_string()].into()))
        .unwrap()
        .unwrap();
    assert_eq!(
        search(&kb, "zanzibarr"),
        ["b"],
        "the new snapshot expands anew"
    );

    // The typo finds the invoice article; with typos turned off it must not, even
    // though the word was expanded (and remembered) under the old settings.
    assert_eq!(search(&kb, "invoce"), ["a"]);
    let mut settings = (*kb.settings()).clone();
    settings.typo.enabled = false;
    kb.set_settings(settings);
    assert!(
        search(&kb, "invoce").is_empty(),
        "new settings, new expansions"
    );
}

#[test]
fn a_folder_moved_in_with_a_restricting_folder_file_is_never_public_and_a_temp_file_changes_nothing(
) {
    use helpcenter::kb::sync::SyncScope;
    let articles = articles_dir(&[("a.md", "---\ntitle: Invoices\n---\nDownload an invoice.")]);
    let index = tempfile::tempdir().unwrap();
    let kb = KnowledgeBase::new(articles.path(), index.path());
    kb.open_or_build(&|_, _| {}).unwrap();
    let public = |q: &str| search(&kb, q);

    // An editor's save names its temporary file too: nothing to rebuild, nothing new.
    std::fs::write(articles.path().join("a.md.tmp~"), "half a save").unwrap();
    let report = kb
        .sync(&SyncScope::Paths(["a.md.tmp~".to_string()].into()))
        .unwrap()
        .unwrap();
    assert!(!report.changed, "{report:?}");

    // A whole folder moved in at once: the event names the folder only. Its own
    // `_folder.toml` restricts it, so its article must never show to the public.
    let outside = tempfile::tempdir().unwrap();
    let staged = outside.path().join("payroll");
    std::fs::create_dir(&staged).unwrap();
    std::fs::write(staged.join("_folder.toml"), "audience = \"staff\"\n").unwrap();
    std::fs::write(
        staged.join("salaries.md"),
        "---\ntitle: Salary bands\n---\nThe quokkaband table.",
    )
    .unwrap();
    std::fs::rename(&staged, articles.path().join("payroll")).unwrap();
    kb.sync(&SyncScope::Paths(["payroll".to_string()].into()))
        .unwrap()
        .unwrap();
    assert!(
        public("quokkaband").is_empty(),
        "the public reads no staff article"
    );
    let staff = kb
        .search(&SearchRequest {
            q: "quokkaband".to_string(),
            limit: 10,
            reader: Reader::Staff,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(staff.hits.len(), 1, "staff find it");

    // The folder moved out again: its folder file is gone with it.
    std::fs::rename(articles.path().join("payroll"), &staged).unwrap();
    kb.sync(&SyncScope::Paths(["payroll".to_string()].into()))
        .unwrap()
        .unwrap();
    assert_eq!(public("invoice"), ["a"]);
}

#[test]
fn an_update_after_bytes_a_failed_batch_left_in_html_bin_still_shows_its_own_card() {
    use helpcenter::kb::sync::SyncScope;
    let articles = articles_dir(&[("a.md", "---\ntitle: Invoices\n---\nDownload an invoice.")]);
    let index = tempfile::tempdir().unwrap();
    let kb = KnowledgeBase::new(articles.path(), index.path());
    kb.open_or_build(&|_, _| {}).unwrap();
    // A batch that failed after appending leaves its bytes at the end of `html.bin`
    // (it is append-only); the next batch's offsets must start after them.
    let current = std::fs::read_to_string(index.path().join("CURRENT")).unwrap();
    let html_bin = index.path().join(current.trim()).join("html.bin");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&html_bin)
        .unwrap();
    std::io::Write::write_all(
        &mut file,
        "leftover of a failed batch ".repeat(40).as_bytes(),
    )
    .unwrap();
    drop(file);
    std::fs::write(
        articles.path().join("b.md"),
        "---\ntitle: Shipping to Zanzibar\nsummary: Where we ship.\n---\nWe ship to Zanzibar.",
    )
    .unwrap();
    kb.sync(&SyncScope::Paths(["b.md".to_string()].into()))
        .unwrap()
        .unwrap();
    let results = kb
        .search(&SearchRequest {
            q: "zanzibar".to_string(),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    let hit = &results.hits[0];
    assert_eq!(
        (hit.slug.as_str(), hit.title.as_str()),
        ("b", "Shipping to Zanzibar")
    );
    assert_eq!(hit.summary.as_deref(), Some("Where we ship."));
}
