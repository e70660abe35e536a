//! The knowledge base: articles on disk, the search index built from them, and the
//! engine that answers searches and serves articles. Knows nothing about HTTP.
//!
//! Invariants:
//! * The live index is swapped whole ([`arc_swap`]): a search sees one generation from
//!   start to end, never a half-applied rebuild.
//! * Drafts are never added to the index, so they can be neither found nor served.
//! * Only this module opens an index writer; request handlers only read.

pub mod article;
pub mod audience;
pub mod check;
pub mod directory;
pub mod facets;
pub mod index;
pub mod loader;
pub mod query;
pub mod scoring;
pub mod search;
pub mod search_config;
pub mod semantic;
pub mod sync;
pub mod template;
pub mod types;
pub mod watcher;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::{ArcSwap, ArcSwapOption};
use serde::Serialize;

use self::article::Html;
use self::article::{rfc3339, Article, Heading};
use self::audience::{FolderDefaults, Reader};
use self::index::{
    apply_update, build_generation, build_in_ram, current_vectors, indexed_files, open_current,
    remove_old_generations, IndexUpdate, OpenIndex, SCHEMA_VERSION,
};
use self::loader::{
    fingerprint_with_folders, hash_files, list_files, list_folder_files_in, load_articles,
    parse_sources, read_sources, FileError,
};
use self::query::as_plain_words;
use self::search::{
    category_counts, doc_i64, doc_of_slug, doc_str, doc_strs, doc_u64, related, Analyzers,
    ArticleRef, Hit, RelatedTo, SearchError, SearchRequest, SearchResults, SearchSettings,
};
use self::search_config::{SearchConfig, SEARCH_CONFIG_FILE};
use self::sync::{FileStates, SyncScope};
use self::types::{display_name_of, Slug};
use self::watcher::WatcherStatus;

/// Errors of the knowledge base.
#[derive(Debug, thiserror::Error)]
pub enum KbError {
    /// The index is still being built at start-up.
    #[error("the search index is still being built")]
    NotReady,
    /// The search engine failed.
    #[error(transparent)]
    Search(#[from] SearchError),
    /// Building or opening the index failed.
    #[error(transparent)]
    Index(#[from] index::IndexError),
    /// The articles folder could not be read.
    #[error("articles folder: {0}")]
    Articles(#[from] std::io::Error),
}

/// An article as served to readers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ArticleView {
    /// Slug.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Category path.
    pub category: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Summary.
    pub summary: Option<String>,
    /// Last update (RFC 3339).
    pub updated: String,
    /// Page URL.
    pub url: String,
    /// Sanitized HTML; headings carry the `id`s named in `toc`.
    pub html: String,
    /// Table of contents.
    pub toc: Vec<Heading>,
    /// Up to five related articles.
    pub related: Vec<ArticleRef>,
}

/// A node of the category tree.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CategoryNode {
    /// Full path (`billing/invoices`).
    pub path: String,
    /// Human name of the last segment.
    pub name: String,
    /// Published articles in this category and below.
    pub count: u64,
    /// Subcategories, by path.
    #[schema(no_recursion)]
    pub children: Vec<CategoryNode>,
}

/// The category tree.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CategoryTree {
    /// Every published article.
    pub total: u64,
    /// Published articles directly in the root.
    pub root_count: u64,
    /// Top-level categories.
    pub categories: Vec<CategoryNode>,
}

/// The state of the index, as `GET /api/v1/index/status` shows it. Paths, counts and
/// parse messages only, never article text.
#[derive(Debug, Clone, Serialize, Default, utoipa::ToSchema)]
pub struct IndexStatus {
    /// Published articles in the index: exactly what search can return.
    pub articles: usize,
    /// Drafts in the folder (never indexed).
    pub drafts: usize,
    /// When the index last changed (RFC 3339).
    pub last_update: Option<String>,
    /// How long that change took, in milliseconds.
    pub last_update_ms: Option<u64>,
    /// Files that are not (or not in their current version) in the index, and why.
    pub errors: Vec<FileError>,
    /// How the index was last made: `opened` as it was on disk, `rebuilt`, built in
    /// `memory` (the folder could not be written), or `updated` incrementally.
    pub source: String,
    /// The file watcher that keeps the index in step with the folder.
    pub watcher: WatcherStatus,
}

/// What one [`KnowledgeBase::sync`] did.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    /// Files read because their content may have changed.
    pub read: usize,
    /// Articles (re-)indexed.
    pub indexed: usize,
    /// Files that vanished.
    pub removed: usize,
    /// Whether the index changed (a new snapshot is live).
    pub changed: bool,
    /// Milliseconds from the start of the sync to the new snapshot being live.
    pub millis: u64,
}

/// When the index last changed and how.
#[derive(Debug, Clone, Default)]
struct LastUpdate {
    at: Option<String>,
    millis: Option<u64>,
    source: String,
}

/// The outcome of [`KnowledgeBase::open_or_build`].
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    /// Published articles indexed.
    pub articles: usize,
    /// Drafts skipped.
    pub drafts: usize,
    /// Files that failed to parse.
    pub errors: usize,
    /// True when an existing, current index was opened without a rebuild.
    pub reused: bool,
    /// Milliseconds taken.
    pub millis: u64,
}

/// What [`KnowledgeBase::reuse_current`] found on disk.
enum Reuse {
    /// The index is current for the folder and now serves.
    Opened(BuildReport),
    /// No current index: the caller rebuilds, taking unchanged sections' vectors from
    /// the stale generation when it could be opened.
    Rebuild {
        vectors: Option<Arc<semantic::SectionVectors>>,
    },
}

/// The knowledge base engine, shared by every request.
pub struct KnowledgeBase {
    articles_dir: PathBuf,
    index_dir: PathBuf,
    current: ArcSwapOption<OpenIndex>,
    settings: ArcSwap<SearchSettings>,
    analyzers: Analyzers,
    last_update: Mutex<LastUpdate>,
    /// What the live index reflects of each file (guarded by `build_lock` for writes).
    files: Mutex<FileStates>,
    /// Set when an update failed or another process replaced the index: the next sync
    /// compares every file.
    needs_full_sync: AtomicBool,
    first_load_failed: AtomicBool,
    watcher: Mutex<WatcherStatus>,
    /// Problems of `_search.toml` (its last good version stays in force).
    search_config_errors: Mutex<Vec<FileError>>,
    /// Serializes rebuilds and updates: two at once would race on `CURRENT` and the writer.
    build_lock: Mutex<()>,
}

impl KnowledgeBase {
    /// An engine for these folders. Nothing is read until [`Self::open_or_build`].
    pub fn new(articles_dir: impl Into<PathBuf>, index_dir: impl Into<PathBuf>) -> Self {
        KnowledgeBase {
            articles_dir: articles_dir.into(),
            index_dir: index_dir.into(),
            current: ArcSwapOption::empty(),
            settings: ArcSwap::from_pointee(SearchSettings::default()),
            analyzers: Analyzers::default(),
            last_update: Mutex::new(LastUpdate::default()),
            files: Mutex::new(FileStates::default()),
            needs_full_sync: AtomicBool::new(false),
            first_load_failed: AtomicBool::new(false),
            watcher: Mutex::new(WatcherStatus::default()),
            search_config_errors: Mutex::new(Vec::new()),
            build_lock: Mutex::new(()),
        }
    }

    /// The articles folder.
    pub fn articles_dir(&self) -> &Path {
        &self.articles_dir
    }

    /// True once an index is open and searchable.
    pub fn is_ready(&self) -> bool {
        self.current.load().is_some()
    }

    /// The matching and ranking settings in force.
    pub fn settings(&self) -> Arc<SearchSettings> {
        self.settings.load_full()
    }

    /// Replaces the matching and ranking settings (searches in flight keep the old ones).
    pub fn set_settings(&self, settings: SearchSettings) {
        self.settings.store(Arc::new(settings));
    }

    /// The index's state now, as `reader` may know it: counts from the live snapshot
    /// (the articles this reader may open), problems from the last sync. File problems
    /// name paths and quote front matter, so once the help center uses audiences (a
    /// restricted article or a `_folder.toml`) they are shown to staff only.
    pub fn status(&self, reader: &Reader) -> IndexStatus {
        let live = self.current.load_full();
        let articles = match &live {
            Some(idx) if idx.audiences.has_restricted() && !reader.is_staff() => idx
                .searcher
                .search(
                    &*search::readable_query(idx, reader),
                    &tantivy::collector::Count,
                )
                .unwrap_or(0),
            Some(idx) => idx.searcher.num_docs() as usize,
            None => 0,
        };
        let (drafts, mut errors, folder_files) = {
            let files = lock(&self.files);
            (files.drafts(), files.errors(), files.has_folder_files())
        };
        errors.extend(lock(&self.search_config_errors).iter().cloned());
        let uses_audiences = folder_files || live.is_some_and(|idx| idx.audiences.has_restricted());
        if uses_audiences && !reader.is_staff() {
            errors.clear();
        }
        let last = lock(&self.last_update).clone();
        IndexStatus {
            articles,
            drafts,
            last_update: last.at,
            last_update_ms: last.millis,
            errors,
            source: last.source,
            watcher: lock(&self.watcher).clone(),
        }
    }

    /// Brings the live index in step with the articles folder: reads what `scope`
    /// names (and whatever appeared in or vanished from the folder), applies the changed
    /// articles in one commit and swaps in the new snapshot, so a search sees the batch
    /// whole or not at all. A missing folder changes nothing: `Ok(None)`, and what the
    /// index has keeps serving.
    pub fn sync(&self, scope: &SyncScope) -> Result<Option<SyncReport>, KbError> {
        let _guard = lock(&self.build_lock);
        let idx = self.index()?;
        if !self.articles_dir.is_dir() {
            return Ok(None);
        }
        let started = Instant::now();
        let config_changed = match scope {
            SyncScope::Everything => true,
            SyncScope::Paths(paths) => paths.contains(SEARCH_CONFIG_FILE),
        };
        if config_changed {
            self.load_search_config();
        }
        // A full compare lists the folder once, for the folder files here and for the
        // articles in the plan.
        let listing = match scope {
            SyncScope::Everything => Some(list_files(&self.articles_dir)?),
            SyncScope::Paths(_) => None,
        };
        let folders_changed = match scope {
            SyncScope::Everything => {
                let folder_files = listing.as_ref().map(|l| l.folder_files.as_slice());
                let now =
                    FolderDefaults::load(&self.articles_dir, folder_files.unwrap_or_default());
                lock(&self.files).folder_defaults_changed(&now)
            }
            SyncScope::Paths(paths) => {
                // Only a folder file, or a path that may be (or have been) a folder,
                // can change one; an editor's save also names its temporary file.
                // Those paths alone are listed and compared (on MDN a whole walk was
                // about 100 ms, and an editor's save names such a path every time).
                let targets: Vec<String> = paths
                    .iter()
                    .filter(|p| {
                        p.rsplit('/').next() == Some(audience::FOLDER_FILE) || !p.ends_with(".md")
                    })
                    .cloned()
                    .collect();
                !targets.is_empty() && {
                    let listed = list_folder_files_in(&self.articles_dir, &targets)?;
                    let now = FolderDefaults::load(&self.articles_dir, &listed);
                    lock(&self.files).folder_files_changed_below(&targets, &now)
                }
            }
        };
        if folders_changed {
            // A folder's default audience changed: every article below it may
            // change hands, so the index is rebuilt (rare; unchanged sections keep
            // their vectors).
            tracing::info!("a folder's default audience changed; rebuilding the index");
            let report = self.load_and_swap_locked(true, &|_, _| {})?;
            return Ok(Some(SyncReport {
                read: report.articles + report.drafts + report.errors,
                indexed: report.articles,
                removed: 0,
                changed: true,
                millis: started.elapsed().as_millis() as u64,
            }));
        }
        let mut files = lock(&self.files);
        let mut plan = files.plan(&self.articles_dir, scope, listing.map(|l| l.articles))?;
        let changed = !plan.is_noop();
        if changed {
            let update = IndexUpdate {
                delete_slugs: plan.delete_slugs.clone(),
                add: plan.add.iter().collect(),
                fingerprint: plan.fingerprint(),
            };
            let open = match apply_update(&idx, &update) {
                Ok(open) => open,
                Err(e) => {
                    // The plan is not committed: the next full sync finds it all again.
                    self.needs_full_sync.store(true, Ordering::Relaxed);
                    return Err(e.into());
                }
            };
            self.current.store(Some(Arc::new(open)));
        }
        files.commit(&mut plan);
        drop(files);
        let millis = started.elapsed().as_millis() as u64;
        if changed {
            *lock(&self.last_update) = LastUpdate {
                at: Some(now_rfc3339()),
                millis: Some(millis),
                source: "updated".into(),
            };
        }
        Ok(Some(SyncReport {
            read: plan.read,
            indexed: plan.add.len(),
            removed: plan.removed,
            changed,
            millis,
        }))
    }

    /// Reads `_search.toml` and puts its synonyms and protected words in force. A file
    /// that does not parse keeps the last good configuration in force and is reported
    /// in the status; a missing file means no synonyms and no protected words.
    fn load_search_config(&self) {
        let path = self.articles_dir.join(SEARCH_CONFIG_FILE);
        let parsed = match std::fs::read_to_string(&path) {
            Ok(text) => SearchConfig::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SearchConfig::default()),
            Err(e) => Err(vec![FileError {
                path: SEARCH_CONFIG_FILE.to_string(),
                line: 1,
                column: None,
                message: format!("cannot read the file: {e}"),
            }]),
        };
        match parsed {
            Ok(config) => {
                let current = self.settings.load();
                if current.synonyms != config.synonyms || current.typo.protected != config.protected
                {
                    let mut next = (**current).clone();
                    next.typo.protected = config.protected;
                    next.synonyms = config.synonyms;
                    self.settings.store(Arc::new(next));
                    tracing::info!("search configuration ({SEARCH_CONFIG_FILE}) loaded");
                }
                lock(&self.search_config_errors).clear();
            }
            Err(errors) => {
                for e in &errors {
                    tracing::warn!(path = %e.path, line = e.line, "search configuration not applied: {}", e.message);
                }
                *lock(&self.search_config_errors) = errors;
            }
        }
    }

    /// Whether the next sync should compare every file; clears the request.
    pub fn take_full_sync_request(&self) -> bool {
        self.needs_full_sync.swap(false, Ordering::Relaxed)
    }

    /// Records the watcher's state for [`Self::status`].
    pub fn update_watcher_status(&self, change: impl FnOnce(&mut WatcherStatus)) {
        change(&mut lock(&self.watcher));
    }

    /// Swaps in another generation and closes the old one's writer.
    fn install_generation(&self, open: OpenIndex) {
        let old = self.current.swap(Some(Arc::new(open)));
        if let Some(old) = old {
            lock(&old.writer).take();
        }
    }

    /// Opens the existing index if it was built from exactly these articles with this
    /// schema; otherwise rebuilds it. A missing, stale or corrupted index is rebuilt; an
    /// index folder that cannot be written falls back to an in-memory index.
    pub fn open_or_build(&self, progress: &dyn Fn(usize, usize)) -> Result<BuildReport, KbError> {
        let result = self.load_and_swap(false, progress);
        self.first_load_failed
            .store(result.is_err() && !self.is_ready(), Ordering::Relaxed);
        result
    }

    /// True when the first load failed (for example, the articles folder was missing at
    /// start-up) and nothing is served yet: the watcher retries once the folder exists.
    pub fn first_load_failed(&self) -> bool {
        self.first_load_failed.load(Ordering::Relaxed)
    }

    /// Rebuilds the index from the articles, whatever is on disk, and swaps it in.
    /// On failure the previous index keeps serving.
    pub fn rebuild(&self, progress: &dyn Fn(usize, usize)) -> Result<BuildReport, KbError> {
        self.load_and_swap(true, progress)
    }

    fn load_and_swap(
        &self,
        force: bool,
        progress: &dyn Fn(usize, usize),
    ) -> Result<BuildReport, KbError> {
        let _guard = lock(&self.build_lock);
        self.load_and_swap_locked(force, progress)
    }

    /// [`Self::load_and_swap`] for a caller that holds `build_lock`.
    fn load_and_swap_locked(
        &self,
        force: bool,
        progress: &dyn Fn(usize, usize),
    ) -> Result<BuildReport, KbError> {
        let started = Instant::now();
        let mut stale_vectors = None;
        if !force {
            match self.reuse_current(started)? {
                Reuse::Opened(report) => return Ok(report),
                Reuse::Rebuild { vectors } => stale_vectors = vectors,
            }
        }
        let loaded = load_articles(&self.articles_dir)?;
        self.load_search_config();
        let fingerprint = loaded.fingerprint();
        let drafts = loaded.articles.iter().filter(|a| a.draft).count();
        let total_files = loaded.articles.len();
        let mut source = "rebuilt";
        // The vectors of the generation being replaced (live, or the stale one on disk,
        // already read while opening it): a rebuild embeds only the sections that changed.
        let previous = match self.current.load_full() {
            Some(live) => Some(live.vectors.clone()),
            None => stale_vectors.or_else(|| current_vectors(&self.index_dir).map(Arc::new)),
        };
        let open = match build_generation(
            &self.index_dir,
            &loaded.articles,
            &fingerprint,
            previous.as_deref(),
            &|i| progress(i, total_files),
        ) {
            Ok(open) => open,
            Err(e) => {
                if self.current.load().is_some() {
                    // Keep serving the old index.
                    return Err(e.into());
                }
                tracing::error!("cannot write the index folder ({e}); serving an in-memory index");
                source = "memory";
                build_in_ram(&loaded.articles, &fingerprint)?
            }
        };
        let articles = open.manifest.articles;
        let keep = open.dir.clone();
        *lock(&self.files) = FileStates::from_loaded(&self.articles_dir, &loaded);
        self.install_generation(open);
        if let Some(keep) = keep {
            remove_old_generations(&self.index_dir, &keep);
        }
        let millis = started.elapsed().as_millis() as u64;
        let errors = loaded.errors.len();
        *lock(&self.last_update) = LastUpdate {
            at: Some(now_rfc3339()),
            millis: Some(millis),
            source: source.to_string(),
        };
        Ok(BuildReport {
            articles,
            drafts,
            errors,
            reused: false,
            millis,
        })
    }

    /// Indexes `articles` instead of the articles folder, in memory, with the same
    /// indexing code as a rebuild (drafts skipped), and swaps the result in. For
    /// evaluations over generated articles (`helpcenter eval`) and tests; a later
    /// [`Self::rebuild`] reads the folder again.
    pub fn index_articles_in_memory(&self, articles: &[Article]) -> Result<BuildReport, KbError> {
        let _guard = lock(&self.build_lock);
        let started = Instant::now();
        let open = build_in_ram(articles, "in-memory")?;
        let report = BuildReport {
            articles: open.manifest.articles,
            drafts: articles.iter().filter(|a| a.draft).count(),
            errors: 0,
            reused: false,
            millis: started.elapsed().as_millis() as u64,
        };
        self.install_generation(open);
        *lock(&self.last_update) = LastUpdate {
            at: Some(now_rfc3339()),
            millis: Some(report.millis),
            source: "memory".into(),
        };
        Ok(report)
    }

    /// Opens the index on disk if it is current for the folder, telling that from the
    /// files' hashes alone (no parsing, no article kept in memory): on MDN this is what
    /// keeps a restart quick and the server's memory small. Only the files the index
    /// does not hold (drafts, broken files, duplicates) are parsed, for the status.
    /// [`Reuse::Rebuild`] when there is no current index.
    fn reuse_current(&self, started: Instant) -> Result<Reuse, KbError> {
        let listing = list_files(&self.articles_dir)?;
        let folder_defaults = FolderDefaults::load(&self.articles_dir, &listing.folder_files);
        let (hashes, read_errors) = hash_files(&self.articles_dir, &listing.articles);
        let fingerprint = fingerprint_with_folders(&hashes, &folder_defaults);
        let open = match open_current(&self.index_dir) {
            Ok(open)
                if open.manifest.schema_version == SCHEMA_VERSION
                    && open.manifest.fingerprint == fingerprint =>
            {
                open
            }
            Ok(stale) => {
                tracing::info!("index is stale; rebuilding");
                return Ok(Reuse::Rebuild {
                    vectors: Some(stale.vectors.clone()),
                });
            }
            Err(e) => {
                if self.index_dir.join("CURRENT").exists() {
                    tracing::warn!("index cannot be opened ({e}); rebuilding");
                }
                return Ok(Reuse::Rebuild { vectors: None });
            }
        };
        let indexed = indexed_files(&open)?;
        let in_index: HashSet<&str> = indexed.iter().map(|(p, _)| p.as_str()).collect();
        let others: Vec<String> = hashes
            .iter()
            .map(|(p, _)| p)
            .filter(|p| !in_index.contains(p.as_str()))
            .cloned()
            .collect();
        let (sources, _) = read_sources(&self.articles_dir, &others);
        let parsed = parse_sources(&sources, &folder_defaults, Html::Skip);
        let unindexed = sources
            .iter()
            .map(|s| s.rel_path.clone())
            .zip(parsed)
            .collect();
        let states = FileStates::from_index(
            &self.articles_dir,
            &hashes,
            folder_defaults,
            read_errors,
            &indexed,
            unindexed,
        );
        self.load_search_config();
        let report = BuildReport {
            articles: indexed.len(),
            drafts: states.drafts(),
            errors: states.errors().len(),
            reused: true,
            millis: 0,
        };
        let keep = open.dir.clone();
        *lock(&self.files) = states;
        self.install_generation(open);
        if let Some(keep) = keep {
            remove_old_generations(&self.index_dir, &keep);
        }
        let millis = started.elapsed().as_millis() as u64;
        *lock(&self.last_update) = LastUpdate {
            at: Some(now_rfc3339()),
            millis: Some(millis),
            source: "opened".into(),
        };
        Ok(Reuse::Opened(BuildReport { millis, ..report }))
    }

    /// Swaps in the generation that `CURRENT` names when another process (such as
    /// `helpcenter index`) has built a newer one. Returns whether it swapped.
    pub fn reload_if_replaced(&self) -> Result<bool, KbError> {
        let Ok(name) = std::fs::read_to_string(self.index_dir.join("CURRENT")) else {
            return Ok(false);
        };
        let live = self.current.load();
        let same = live
            .as_ref()
            .and_then(|open| open.dir.as_ref())
            .and_then(|d| d.file_name())
            .is_some_and(|n| n.to_string_lossy() == name.trim());
        if same || live.is_none() {
            return Ok(false);
        }
        let _guard = lock(&self.build_lock);
        let open = open_current(&self.index_dir)?;
        if open.manifest.schema_version != SCHEMA_VERSION {
            return Ok(false);
        }
        tracing::info!(
            articles = open.manifest.articles,
            "swapped in an index generation built by another process"
        );
        self.install_generation(open);
        // It was built from the folder as that process saw it; compare every file.
        self.needs_full_sync.store(true, Ordering::Relaxed);
        Ok(true)
    }

    fn index(&self) -> Result<Arc<OpenIndex>, KbError> {
        self.current.load_full().ok_or(KbError::NotReady)
    }

    /// Runs a search.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults, KbError> {
        let idx = self.index()?;
        let settings = self.settings.load();
        Ok(search::search(&idx, &settings, &self.analyzers, req)?)
    }

    /// Up to `limit` published articles that may answer a ticket being written (ticket
    /// deflection), from the same engine as search: the subject's words first, then the
    /// body's, read as plain words (a customer's quotes and hyphens are not operators).
    /// Empty text suggests nothing.
    pub fn suggest(
        &self,
        subject: &str,
        body: &str,
        limit: usize,
        reader: &Reader,
    ) -> Result<Vec<Hit>, KbError> {
        let text = as_plain_words(&format!("{subject}\n{body}"));
        if text.is_empty() {
            return Ok(Vec::new());
        }
        // The words beyond the parser's limit are dropped anyway; cut before copying.
        let q: String = text
            .split(' ')
            .take(query::MAX_WORDS * 2)
            .collect::<Vec<_>>()
            .join(" ");
        let results = self.search(&SearchRequest {
            q,
            limit,
            reader: reader.clone(),
            ..SearchRequest::default()
        })?;
        Ok(results.hits)
    }

    /// Whether a published article that `reader` may open has this slug: one term
    /// lookup, without rendering the article or searching its related articles as
    /// [`Self::article`] does.
    pub fn has_article(&self, slug: &Slug, reader: &Reader) -> Result<bool, KbError> {
        let idx = self.index()?;
        Ok(readable_doc(&idx, slug, reader)?.is_some())
    }

    /// A published article `reader` may open, with the related articles it may open;
    /// `None` for unknown slugs, drafts and articles for other readers (not yours looks
    /// like missing).
    pub fn article(&self, slug: &Slug, reader: &Reader) -> Result<Option<ArticleView>, KbError> {
        let idx = self.index()?;
        let Some(addr) = readable_doc(&idx, slug, reader)? else {
            return Ok(None);
        };
        let doc: tantivy::TantivyDocument = idx.searcher.doc(addr).map_err(SearchError::from)?;
        let f = &idx.fields;
        let title = doc_str(&doc, f.title);
        let tags = doc_strs(&doc, f.tag);
        let category = doc_str(&doc, f.category);
        let settings = self.settings.load();
        let related = related(
            &idx,
            &settings,
            &self.analyzers,
            &RelatedTo {
                slug: slug.as_str(),
                title: &title,
                tags: &tags,
                category: &category,
            },
            5,
            reader,
        )?;
        let summary = Some(doc_str(&doc, f.summary)).filter(|s| !s.is_empty());
        Ok(Some(ArticleView {
            slug: slug.to_string(),
            url: slug.url(),
            title,
            category,
            tags,
            summary,
            updated: rfc3339(doc_i64(&doc, f.updated)),
            html: idx
                .html
                .get(doc_u64(&doc, f.html_offset), doc_u64(&doc, f.html_len))
                .unwrap_or_default()
                .to_string(),
            toc: serde_json::from_str(&doc_str(&doc, f.headings_json)).unwrap_or_default(),
            related,
        }))
    }

    /// The `limit` most recently updated published articles `reader` may open, newest
    /// first.
    pub fn recent(
        &self,
        limit: usize,
        reader: &Reader,
    ) -> Result<Vec<search::RecentArticle>, KbError> {
        let idx = self.index()?;
        Ok(search::recent_articles(&idx, limit, reader)?)
    }

    /// The category tree with counts of the published articles `reader` may open at
    /// every node (a category with none of them is not in the tree).
    pub fn categories(&self, reader: &Reader) -> Result<CategoryTree, KbError> {
        let idx = self.index()?;
        let (total, counts) = category_counts(&idx, reader)?;
        let mut paths: Vec<(String, u64)> =
            counts.into_iter().map(|c| (c.value, c.count)).collect();
        paths.sort();
        let in_categories: u64 = paths
            .iter()
            .filter(|(p, _)| !p.contains('/'))
            .map(|(_, c)| *c)
            .sum();
        Ok(CategoryTree {
            total,
            root_count: total.saturating_sub(in_categories),
            categories: build_tree(&paths),
        })
    }
}

/// The document of the published article with `slug`, if `reader` may open it.
fn readable_doc(
    idx: &OpenIndex,
    slug: &Slug,
    reader: &Reader,
) -> Result<Option<tantivy::DocAddress>, SearchError> {
    Ok(doc_of_slug(&idx.searcher, idx.fields.slug, slug.as_str())?
        .filter(|addr| idx.audiences.may_read(reader, *addr)))
}

/// Locks a mutex, recovering from poisoning: every guarded value here stays
/// consistent between statements, so a panic elsewhere must not stop the engine.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_rfc3339() -> String {
    rfc3339(time::OffsetDateTime::now_utc().unix_timestamp())
}

/// Builds the tree from sorted `(path, count)` pairs (every ancestor is present,
/// because each article counts in all its ancestors).
fn build_tree(paths: &[(String, u64)]) -> Vec<CategoryNode> {
    let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (p, _)) in paths.iter().enumerate() {
        let parent = p.rsplit_once('/').map(|(dir, _)| dir).unwrap_or("");
        children.entry(parent).or_default().push(i);
    }
    fn node(
        paths: &[(String, u64)],
        children: &HashMap<&str, Vec<usize>>,
        i: usize,
    ) -> CategoryNode {
        let (p, count) = &paths[i];
        CategoryNode {
            path: p.clone(),
            name: display_name_of(p.rsplit('/').next().unwrap_or(p)),
            count: *count,
            children: children
                .get(p.as_str())
                .map(|kids| kids.iter().map(|&k| node(paths, children, k)).collect())
                .unwrap_or_default(),
        }
    }
    children
        .get("")
        .map(|top| top.iter().map(|&i| node(paths, &children, i)).collect())
        .unwrap_or_default()
}
