//! Keeping the live index in step with the articles folder between rebuilds.
//!
//! [`FileStates`] is what the engine knows about every article file: the content it
//! last read, the slug its document has in the index, whether it is a draft, and the
//! current error. [`FileStates::plan`] compares that with the folder (for the paths an
//! event named, plus whatever the listing shows appeared or vanished) and returns the
//! batch to apply; [`FileStates::commit`] records the batch once the index has it.
//!
//! Rules, as writers see them:
//! * A file that stops parsing keeps its last good version in search; its error is
//!   reported until it parses again. A new file that does not parse is not indexed.
//! * A slug belongs to the file that has it in the index; another file claiming it is
//!   reported as a duplicate and indexed once the first lets go of it.
//! * A folder that vanished is not "every article deleted": the caller checks the
//!   folder exists before planning, and keeps serving what it has.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::UNIX_EPOCH;

use super::article::{slug_for, split_front_matter, Article, ArticleError, ArticleErrorKind, Html};
use super::audience::FolderDefaults;
use super::loader::{
    fingerprint_with_folders, list_article_files, list_article_files_in, parse_all, read_source,
    FileError, LoadedArticles, SourceFile,
};
use super::types::Slug;

/// Which files a sync looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncScope {
    /// These paths (below the articles folder) changed, plus whatever appeared in or
    /// vanished from the listing. What the watcher sends.
    Paths(BTreeSet<String>),
    /// Every file: compared by size and modification time, read when those differ.
    /// Covers lost events (watch-queue overflow, a replaced folder).
    Everything,
}

/// Size and modification time: the cheap test of a full reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Stamp {
    len: u64,
    mtime_ns: u128,
}

fn stamp_of(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        len: meta.len(),
        mtime_ns: meta
            .modified()
            .ok()?
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_nanos(),
    })
}

/// Whether `path` is `target` or inside the folder `target`.
fn is_at_or_below(path: &str, target: &str) -> bool {
    path == target
        || (path.len() > target.len()
            && path.starts_with(target)
            && path.as_bytes()[target.len()] == b'/')
}

/// What the engine knows about one article file.
#[derive(Debug, Clone)]
struct FileState {
    /// Hash of the content last read.
    seen: [u8; 32],
    /// Size and time of that content.
    stamp: Stamp,
    /// Hash of the content the index reflects: the last version that parsed, or the
    /// last one read when none ever did (so the manifest's fingerprint matches what a
    /// fresh load of the folder would index only when it really would).
    reflected: [u8; 32],
    /// The slug of this file's document in the index.
    indexed: Option<Slug>,
    /// Whether the last good version is a draft.
    draft: bool,
}

/// The engine's view of the articles folder, kept beside the live index.
#[derive(Debug, Default)]
pub struct FileStates {
    files: BTreeMap<String, FileState>,
    /// Path → slug of every file whose front matter could be read, for link rewriting.
    links: HashMap<String, Slug>,
    /// Slug → the path whose document has it.
    owners: HashMap<Slug, String>,
    /// Current problems, by path.
    errors: BTreeMap<String, FileError>,
    /// Files waiting for a slug another file holds: retried on every sync.
    waiting_for_slug: BTreeSet<String>,
    /// The folders' default audiences the index was built with. A change to any
    /// `_folder.toml` rebuilds the index ([`Self::folder_defaults_changed`]), so a sync
    /// never needs to change them.
    folder_defaults: FolderDefaults,
}

/// A batch planned by [`FileStates::plan`], to be applied to the index in one commit.
#[derive(Debug, Default)]
pub struct SyncPlan {
    /// Slugs to delete from the index.
    pub delete_slugs: Vec<String>,
    /// Articles to (re-)add (published only).
    pub add: Vec<Article>,
    /// Files read this time (changed content).
    pub read: usize,
    /// Files that vanished.
    pub removed: usize,
    /// The state after the batch, installed by [`FileStates::commit`].
    next: Option<Box<FileStates>>,
}

impl SyncPlan {
    /// The fingerprint the index will reflect once this plan is applied.
    pub fn fingerprint(&self) -> String {
        self.next
            .as_ref()
            .map(|n| n.fingerprint())
            .unwrap_or_default()
    }

    /// True when the index needs no change (the error list may still have changed).
    pub fn is_noop(&self) -> bool {
        self.delete_slugs.is_empty() && self.add.is_empty()
    }
}

impl FileStates {
    /// Every file as read with these hashes, the index reflecting each as it is, none
    /// indexed yet: what both ways of starting ([`Self::from_loaded`],
    /// [`Self::from_index`]) begin with.
    fn with_files(root: &Path, hashes: &[(String, [u8; 32])]) -> FileStates {
        let mut s = FileStates::default();
        for (path, hash) in hashes {
            s.files.insert(
                path.clone(),
                FileState {
                    seen: *hash,
                    stamp: stamp_of(&root.join(path)).unwrap_or_default(),
                    reflected: *hash,
                    indexed: None,
                    draft: false,
                },
            );
        }
        s
    }

    /// The state right after a full load that the index now reflects.
    pub fn from_loaded(root: &Path, loaded: &LoadedArticles) -> FileStates {
        let mut s = FileStates::with_files(root, &loaded.hashes);
        s.folder_defaults = loaded.folder_defaults.clone();
        for e in &loaded.folder_defaults.errors {
            s.errors.insert(e.path.clone(), e.clone());
        }
        for a in &loaded.articles {
            s.links.insert(a.rel_path.clone(), a.slug.clone());
            if let Some(f) = s.files.get_mut(&a.rel_path) {
                f.draft = a.draft;
                if !a.draft {
                    f.indexed = Some(a.slug.clone());
                    s.owners.insert(a.slug.clone(), a.rel_path.clone());
                }
            }
        }
        for e in &loaded.errors {
            if e.is_duplicate_slug() {
                s.waiting_for_slug.insert(e.path.clone());
            }
            s.errors.insert(e.path.clone(), e.clone());
        }
        s
    }

    /// The state for an index on disk that is current for the folder (its fingerprint
    /// matched `hashes`): `indexed` is its (path, slug) pairs, `unindexed` the parse
    /// results of the files it does not hold (drafts, broken files, duplicate slugs),
    /// `read_errors` the files that could not be read.
    pub fn from_index(
        root: &Path,
        hashes: &[(String, [u8; 32])],
        folder_defaults: FolderDefaults,
        read_errors: Vec<FileError>,
        indexed: &[(String, String)],
        unindexed: Vec<(String, Result<Article, ArticleError>)>,
    ) -> FileStates {
        let mut s = FileStates::with_files(root, hashes);
        for e in &folder_defaults.errors {
            s.errors.insert(e.path.clone(), e.clone());
        }
        s.folder_defaults = folder_defaults;
        for (path, slug) in indexed {
            let (Some(f), Ok(slug)) = (s.files.get_mut(path), Slug::parse(slug)) else {
                continue;
            };
            f.indexed = Some(slug.clone());
            s.links.insert(path.clone(), slug.clone());
            s.owners.insert(slug, path.clone());
        }
        for (path, result) in unindexed {
            match result {
                Ok(article) => {
                    s.links.insert(path.clone(), article.slug.clone());
                    if article.draft {
                        if let Some(f) = s.files.get_mut(&path) {
                            f.draft = true;
                        }
                        continue;
                    }
                    // Published but not indexed: another file holds its slug.
                    let holder = s.owners.get(&article.slug).cloned().unwrap_or_default();
                    s.errors.insert(
                        path.clone(),
                        FileError::duplicate_slug(&path, &article.slug, &holder),
                    );
                    s.waiting_for_slug.insert(path);
                }
                Err(e) => {
                    s.errors.insert(
                        path.clone(),
                        FileError {
                            path,
                            line: e.line,
                            column: e.column,
                            message: e.message,
                        },
                    );
                }
            }
        }
        for e in read_errors {
            s.errors.insert(e.path.clone(), e);
        }
        s
    }

    /// The fingerprint of the content the index reflects, for the manifest.
    pub fn fingerprint(&self) -> String {
        let pairs: Vec<(String, [u8; 32])> = self
            .files
            .iter()
            .map(|(p, f)| (p.clone(), f.reflected))
            .collect();
        fingerprint_with_folders(&pairs, &self.folder_defaults)
    }

    /// Whether the folder has `_folder.toml` files (it sets or declares audiences).
    pub fn has_folder_files(&self) -> bool {
        !self.folder_defaults.files.is_empty()
    }

    /// Whether the `_folder.toml` files in `now` differ from those the index was built
    /// with (added, removed or edited): the caller then rebuilds the index.
    pub fn folder_defaults_changed(&self, now: &FolderDefaults) -> bool {
        self.folder_defaults.files != now.files
    }

    /// Whether the `_folder.toml` files at or below `targets`, read again into `now`
    /// (from just those paths), differ from those the index was built with there.
    pub fn folder_files_changed_below(&self, targets: &[String], now: &FolderDefaults) -> bool {
        let below = |files: &[(String, [u8; 32])]| {
            let mut out: Vec<(String, [u8; 32])> = files
                .iter()
                .filter(|(p, _)| targets.iter().any(|t| is_at_or_below(p, t)))
                .cloned()
                .collect();
            out.sort();
            out
        };
        below(&self.folder_defaults.files) != below(&now.files)
    }

    /// Drafts among the files' last good versions.
    pub fn drafts(&self) -> usize {
        self.files.values().filter(|f| f.draft).count()
    }

    /// Current problems, by path.
    pub fn errors(&self) -> Vec<FileError> {
        self.errors.values().cloned().collect()
    }

    /// Compares the folder with this state and plans the batch that brings the index
    /// in step. Reads only what `scope` names, what the listing shows appeared or
    /// vanished, and (for [`SyncScope::Everything`]) files whose size or time changed.
    /// `listed` is the folder's article files when the caller has just listed them
    /// (a full compare), so the folder is walked once.
    pub fn plan(
        &self,
        root: &Path,
        scope: &SyncScope,
        listed: Option<Vec<String>>,
    ) -> std::io::Result<SyncPlan> {
        let mut candidates: BTreeSet<String> = BTreeSet::new();
        let listed: BTreeSet<String> = match scope {
            SyncScope::Paths(paths) => {
                // Only what the events named (files or folders), plus the files waiting
                // for a slug: listed with the ignore rules, compared with what is known
                // at or below those paths.
                let mut targets: Vec<String> = paths.iter().cloned().collect();
                targets.extend(self.waiting_for_slug.iter().cloned());
                let listed: BTreeSet<String> =
                    list_article_files_in(root, &targets)?.into_iter().collect();
                candidates.extend(listed.iter().cloned());
                candidates.extend(
                    self.files
                        .keys()
                        .filter(|k| targets.iter().any(|t| is_at_or_below(k, t)))
                        .cloned(),
                );
                listed
            }
            SyncScope::Everything => {
                let listed: BTreeSet<String> = match listed {
                    Some(files) => files.into_iter().collect(),
                    None => list_article_files(root)?.into_iter().collect(),
                };
                for p in &listed {
                    let changed = match self.files.get(p) {
                        Some(f) => stamp_of(&root.join(p)) != Some(f.stamp),
                        None => true,
                    };
                    if changed {
                        candidates.insert(p.clone());
                    }
                }
                candidates.extend(self.files.keys().filter(|p| !listed.contains(*p)).cloned());
                candidates.extend(
                    self.waiting_for_slug
                        .iter()
                        .filter(|p| listed.contains(*p))
                        .cloned(),
                );
                listed
            }
        };

        let mut next = Box::new(FileStates {
            files: self.files.clone(),
            links: self.links.clone(),
            owners: self.owners.clone(),
            errors: self.errors.clone(),
            waiting_for_slug: BTreeSet::new(),
            folder_defaults: self.folder_defaults.clone(),
        });
        let mut plan = SyncPlan::default();
        let mut sources: Vec<SourceFile> = Vec::new();
        for path in &candidates {
            if !listed.contains(path) {
                // Gone (deleted, renamed away, or now ignored).
                if let Some(old) = next.files.remove(path) {
                    plan.removed += 1;
                    if let Some(slug) = old.indexed {
                        next.owners.remove(&slug);
                        plan.delete_slugs.push(slug.as_str().to_string());
                    }
                }
                next.links.remove(path);
                next.errors.remove(path);
                continue;
            }
            match read_source(root, path) {
                Ok(src) => {
                    let stamp = stamp_of(&root.join(path)).unwrap_or_default();
                    let unchanged = next.files.get(path).is_some_and(|f| f.seen == src.hash);
                    if unchanged && !self.waiting_for_slug.contains(path) {
                        if let Some(f) = next.files.get_mut(path) {
                            f.stamp = stamp;
                        }
                        continue;
                    }
                    if let Ok(split) = split_front_matter(&src.text) {
                        if let Ok(slug) = slug_for(&src.rel_path, &split.front) {
                            next.links.insert(src.rel_path.clone(), slug);
                        }
                    }
                    let state = next.files.entry(path.clone()).or_insert(FileState {
                        seen: src.hash,
                        stamp,
                        reflected: src.hash,
                        indexed: None,
                        draft: false,
                    });
                    state.seen = src.hash;
                    state.stamp = stamp;
                    sources.push(src);
                }
                Err(e) => {
                    // Unreadable for now (permissions, a half-written non-UTF-8 file):
                    // keep what the index has and say why.
                    next.errors.insert(path.clone(), e);
                }
            }
        }
        plan.read = sources.len();
        let results = parse_all(&sources, &next.links, &next.folder_defaults, Html::Render);
        // First let go of the slugs that changed hands, so that a swap of slugs between
        // two files of one batch is not a duplicate.
        let mut parsed: Vec<(&SourceFile, Article)> = Vec::new();
        for (src, result) in sources.iter().zip(results) {
            match result {
                Ok(article) => {
                    if let Some(state) = next.files.get_mut(&src.rel_path) {
                        let keeps_slug =
                            !article.draft && state.indexed.as_ref() == Some(&article.slug);
                        if !keeps_slug {
                            if let Some(old) = state.indexed.take() {
                                next.owners.remove(&old);
                                plan.delete_slugs.push(old.as_str().to_string());
                            }
                        }
                    }
                    parsed.push((src, article));
                }
                Err(e) => {
                    // The last good version (if any) stays indexed, except when the
                    // problem is who may read it: the writer was changing the audience,
                    // so the old version leaves the index until it parses (fail-closed).
                    if let Some(state) = next.files.get_mut(&src.rel_path) {
                        if e.kind == ArticleErrorKind::Audience {
                            if let Some(old) = state.indexed.take() {
                                next.owners.remove(&old);
                                plan.delete_slugs.push(old.as_str().to_string());
                            }
                            state.draft = false;
                        }
                        if state.indexed.is_none() && !state.draft {
                            state.reflected = src.hash;
                        }
                    }
                    next.errors.insert(
                        src.rel_path.clone(),
                        FileError {
                            path: src.rel_path.clone(),
                            line: e.line,
                            column: e.column,
                            message: e.message,
                        },
                    );
                }
            }
        }
        for (src, article) in parsed {
            let path = &src.rel_path;
            if !article.draft {
                if let Some(owner) = next.owners.get(&article.slug).filter(|o| *o != path) {
                    next.errors.insert(
                        path.clone(),
                        FileError::duplicate_slug(path, &article.slug, owner),
                    );
                    next.waiting_for_slug.insert(path.clone());
                    if let Some(state) = next.files.get_mut(path) {
                        state.reflected = src.hash;
                        state.draft = false;
                    }
                    continue;
                }
            }
            next.errors.remove(path);
            if let Some(state) = next.files.get_mut(path) {
                state.reflected = src.hash;
                state.draft = article.draft;
                if !article.draft {
                    state.indexed = Some(article.slug.clone());
                    next.owners.insert(article.slug.clone(), path.clone());
                }
            }
            if !article.draft {
                plan.add.push(article);
            }
        }
        plan.next = Some(next);
        Ok(plan)
    }

    /// Installs the state a plan computed, once the index has its batch.
    pub fn commit(&mut self, plan: &mut SyncPlan) {
        if let Some(next) = plan.next.take() {
            *self = *next;
        }
    }
}
