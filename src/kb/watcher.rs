//! The file watcher: follows the articles folder while `serve` runs and keeps the
//! index in step with it through [`KnowledgeBase::sync`].
//!
//! How it behaves:
//! * Events (`notify`, recursive) are debounced: a batch closes after a short quiet
//!   spell or a maximum delay, so an editor's atomic save or a `git checkout` of
//!   hundreds of files becomes one or a few commits, each applied whole.
//! * Which files changed is decided by the sync, not by the event kinds: the event
//!   paths are re-read, and the folder listing shows what appeared or vanished (new
//!   folders whose files arrived before their watch did, renames, ignore-file edits).
//! * Lost events are covered: on the kernel's "queue overflow" signal, after an
//!   update failed, and every `reconcile_every`, a full sync compares every file by
//!   size and modification time.
//! * A folder that is deleted or renamed away stops nothing: the index keeps serving,
//!   the state says `folder_missing`, and when a folder is back at the path it is
//!   watched again and compared in full.
//! * The thread holds the engine weakly and ends when the engine is dropped.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};
use serde::Serialize;

use super::article::rfc3339;
use super::loader::{relative_path, IGNORE_FILE};
use super::sync::SyncScope;
use super::KnowledgeBase;

/// What the watcher is doing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WatcherState {
    /// Not started (for example `serve --no-watch`, or `helpcenter index`).
    #[default]
    Off,
    /// Waiting for the first index to open.
    Starting,
    /// Following the folder.
    Watching,
    /// The articles folder is gone; the index keeps serving what it had.
    FolderMissing,
    /// The folder exists but cannot be watched (see `last_error`); retried.
    Failed,
}

/// The watcher's part of the index status.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct WatcherStatus {
    /// What it is doing.
    pub state: WatcherState,
    /// Batches of changes applied since start.
    pub batches: u64,
    /// When the last batch that changed the index was applied (RFC 3339).
    pub last_change: Option<String>,
    /// When every file was last compared (RFC 3339).
    pub last_full_sync: Option<String>,
    /// The last problem met, if any.
    pub last_error: Option<String>,
}

/// Timing of the watcher.
#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    /// A batch closes after this long without a new event.
    pub quiet: Duration,
    /// ... or this long after its first event, whatever comes first.
    pub max_delay: Duration,
    /// How often every file is compared anyway (lost events).
    pub reconcile_every: Duration,
    /// How often the folder's presence and identity are checked when idle.
    pub folder_poll: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            quiet: Duration::from_millis(20),
            max_delay: Duration::from_millis(250),
            reconcile_every: Duration::from_secs(60),
            folder_poll: Duration::from_millis(500),
        }
    }
}

/// Starts the watcher thread for `kb`. It ends by itself once `kb` is dropped.
pub fn spawn(
    kb: &Arc<KnowledgeBase>,
    options: WatchOptions,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let weak = Arc::downgrade(kb);
    kb.update_watcher_status(|s| s.state = WatcherState::Starting);
    std::thread::Builder::new()
        .name("kb-watcher".into())
        .spawn(move || run(weak, options))
}

/// The device and inode of the folder: a folder replaced at the same path (restored
/// from a backup, a symlink flipped by a deploy) is a different folder.
fn folder_identity(root: &Path) -> Option<(u64, u64)> {
    let meta = std::fs::metadata(root).ok()?;
    if !meta.is_dir() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        Some((0, 0))
    }
}

/// Events gathered into one batch.
#[derive(Default)]
struct Batch {
    paths: BTreeSet<String>,
    /// Events were lost or the folder itself changed: compare everything.
    everything: bool,
}

impl Batch {
    fn add(&mut self, root: &Path, event: notify::Result<notify::Event>) {
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("file watcher error ({e}); comparing every file");
                self.everything = true;
                return;
            }
        };
        if event.need_rescan() {
            self.everything = true;
        }
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        for path in &event.paths {
            match relative_path(root, path) {
                Some(rel) if rel.is_empty() => self.everything = true,
                // An ignore file changes which files are articles anywhere below it.
                Some(rel) if is_ignore_file(&rel) => self.everything = true,
                Some(rel) if is_relevant(&rel) => {
                    self.paths.insert(rel);
                }
                Some(_) => {}
                None => self.everything = true,
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.paths.is_empty() && !self.everything
    }
}

fn is_ignore_file(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    matches!(name, ".gitignore" | ".ignore" | IGNORE_FILE) && is_relevant(rel)
}

/// Whether a changed path can matter: anything not hidden, and the ignore files (which
/// are hidden but change what the folder's articles are).
fn is_relevant(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let ignore_file = matches!(name, ".gitignore" | ".ignore" | IGNORE_FILE);
    let hidden_folder = rel
        .split('/')
        .rev()
        .skip(1)
        .any(|part| part.starts_with('.'));
    !hidden_folder && (ignore_file || !name.starts_with('.'))
}

fn now() -> String {
    rfc3339(time::OffsetDateTime::now_utc().unix_timestamp())
}

fn run(weak: Weak<KnowledgeBase>, options: WatchOptions) {
    let root: PathBuf = match weak.upgrade() {
        Some(kb) => kb.articles_dir().to_path_buf(),
        None => return,
    };
    loop {
        let Some(kb) = weak.upgrade() else { return };
        if !kb.is_ready() {
            // A folder that was missing at start-up: load it once it appears.
            if kb.first_load_failed() && folder_identity(&root).is_some() {
                match kb.open_or_build(&|_, _| {}) {
                    Ok(report) => tracing::info!(
                        articles = report.articles,
                        "the articles folder appeared; knowledge base ready"
                    ),
                    Err(e) => tracing::warn!("knowledge base still cannot be loaded: {e}"),
                }
            }
            let wait = if kb.first_load_failed() {
                options.folder_poll
            } else {
                Duration::from_millis(50)
            };
            drop(kb);
            std::thread::sleep(wait);
            continue;
        }
        let Some(identity) = folder_identity(&root) else {
            kb.update_watcher_status(|s| {
                if s.state != WatcherState::FolderMissing {
                    tracing::warn!(folder = %root.display(), "the articles folder is missing; serving the index as it is");
                }
                s.state = WatcherState::FolderMissing;
            });
            drop(kb);
            std::thread::sleep(options.folder_poll);
            continue;
        };
        let (tx, rx) = mpsc::channel();
        let watcher = notify::recommended_watcher(move |event| {
            let _ = tx.send(event);
        })
        .and_then(|mut w| w.watch(&root, RecursiveMode::Recursive).map(|()| w));
        let _watcher = match watcher {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(folder = %root.display(), "cannot watch the articles folder: {e}");
                kb.update_watcher_status(|s| {
                    s.state = if folder_identity(&root).is_some() {
                        WatcherState::Failed
                    } else {
                        WatcherState::FolderMissing
                    };
                    s.last_error = Some(format!("cannot watch the articles folder: {e}"));
                });
                drop(kb);
                std::thread::sleep(options.folder_poll);
                continue;
            }
        };
        kb.update_watcher_status(|s| s.state = WatcherState::Watching);
        tracing::info!(folder = %root.display(), "watching the articles folder");
        // Whatever changed while nobody was watching (since the index was loaded, or
        // while the folder was away).
        sync(&kb, SyncScope::Everything);
        drop(kb);
        let mut last_full = Instant::now();
        loop {
            let batch = match rx.recv_timeout(options.folder_poll) {
                Ok(first) => {
                    let mut batch = Batch::default();
                    batch.add(&root, first);
                    let opened = Instant::now();
                    loop {
                        let left = options.max_delay.saturating_sub(opened.elapsed());
                        if left.is_zero() {
                            break;
                        }
                        match rx.recv_timeout(options.quiet.min(left)) {
                            Ok(event) => batch.add(&root, event),
                            Err(_) => break,
                        }
                    }
                    Some(batch)
                }
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let Some(kb) = weak.upgrade() else { return };
            if folder_identity(&root) != Some(identity) {
                tracing::warn!(folder = %root.display(), "the articles folder was removed or replaced");
                break;
            }
            let full = kb.take_full_sync_request()
                || last_full.elapsed() >= options.reconcile_every
                || batch.as_ref().is_some_and(|b| b.everything);
            if full {
                sync(&kb, SyncScope::Everything);
                last_full = Instant::now();
            } else if let Some(batch) = batch.filter(|b| !b.is_empty()) {
                sync(&kb, SyncScope::Paths(batch.paths));
            }
        }
    }
}

fn sync(kb: &KnowledgeBase, scope: SyncScope) {
    let full = scope == SyncScope::Everything;
    match kb.sync(&scope) {
        Ok(Some(report)) => {
            if report.changed {
                tracing::info!(
                    read = report.read,
                    indexed = report.indexed,
                    removed = report.removed,
                    millis = report.millis,
                    "index updated from the articles folder"
                );
            }
            kb.update_watcher_status(|s| {
                s.batches += 1;
                if report.changed {
                    s.last_change = Some(now());
                }
                if full {
                    s.last_full_sync = Some(now());
                }
            });
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!("cannot update the index from the articles folder: {e}");
            kb.update_watcher_status(|s| s.last_error = Some(e.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_relevant;

    #[test]
    fn hidden_files_do_not_matter_but_ignore_files_do() {
        assert!(is_relevant("billing/invoices.md"));
        assert!(is_relevant("billing/new-folder"));
        assert!(!is_relevant("billing/.invoices.md.swp"));
        assert!(!is_relevant(".git/index"));
        assert!(!is_relevant("billing/.drafts/x.md"));
        assert!(is_relevant(".helpcenterignore"));
        assert!(is_relevant("billing/.gitignore"));
    }
}
