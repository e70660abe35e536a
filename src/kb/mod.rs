//! The knowledge base: articles on disk, the search index built from them, and the
//! engine that answers searches and serves articles. Knows nothing about HTTP.
//!
//! Invariants:
//! * The live index is swapped whole ([`arc_swap`]): a search sees one generation from
//!   start to end, never a half-applied rebuild.
//! * Drafts are never added to the index, so they can be neither found nor served.
//! * Only this module opens an index writer; request handlers only read.

pub mod article;
pub mod check;
pub mod facets;
pub mod index;
pub mod loader;
pub mod query;
pub mod scoring;
pub mod search;
pub mod template;
pub mod types;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::{ArcSwap, ArcSwapOption};
use serde::Serialize;

use self::article::{rfc3339, Heading};
use self::index::{
    build_generation, build_in_ram, open_current, remove_old_generations, OpenIndex, SCHEMA_VERSION,
};
use self::loader::{load_articles, FileError};
use self::search::{
    category_counts, doc_i64, doc_str, doc_strs, doc_u64, find_by_slug, related, Analyzers,
    ArticleRef, RelatedTo, SearchError, SearchRequest, SearchResults, SearchSettings,
};
use self::types::{display_name_of, Slug};

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
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
pub struct CategoryNode {
    /// Full path (`billing/invoices`).
    pub path: String,
    /// Human name of the last segment.
    pub name: String,
    /// Published articles in this category and below.
    pub count: u64,
    /// Subcategories, by path.
    pub children: Vec<CategoryNode>,
}

/// The category tree.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryTree {
    /// Every published article.
    pub total: u64,
    /// Published articles directly in the root.
    pub root_count: u64,
    /// Top-level categories.
    pub categories: Vec<CategoryNode>,
}

/// What the last load or rebuild found.
#[derive(Debug, Clone, Serialize, Default)]
pub struct IndexStatus {
    /// Published articles in the index.
    pub articles: usize,
    /// Drafts found (never indexed).
    pub drafts: usize,
    /// Files skipped and why.
    pub errors: Vec<FileError>,
    /// When the index was last built or opened (RFC 3339).
    pub last_update: Option<String>,
    /// How long that took, in milliseconds.
    pub last_update_ms: Option<u64>,
    /// Whether the index was opened as it was (`opened`), rebuilt (`rebuilt`) or built in memory.
    pub source: String,
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

/// The knowledge base engine, shared by every request.
pub struct KnowledgeBase {
    articles_dir: PathBuf,
    index_dir: PathBuf,
    current: ArcSwapOption<OpenIndex>,
    settings: ArcSwap<SearchSettings>,
    analyzers: Analyzers,
    status: Mutex<IndexStatus>,
    /// Serializes rebuilds: two at once would race on `CURRENT`.
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
            status: Mutex::new(IndexStatus::default()),
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

    /// A copy of the last load's status.
    pub fn status(&self) -> IndexStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Opens the existing index if it was built from exactly these articles with this
    /// schema; otherwise rebuilds it. A missing, stale or corrupted index is rebuilt; an
    /// index folder that cannot be written falls back to an in-memory index.
    pub fn open_or_build(&self, progress: &dyn Fn(usize, usize)) -> Result<BuildReport, KbError> {
        self.load_and_swap(false, progress)
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
        let _guard = self.build_lock.lock().unwrap_or_else(|e| e.into_inner());
        let started = Instant::now();
        let loaded = load_articles(&self.articles_dir)?;
        let fingerprint = loaded.fingerprint();
        let drafts = loaded.articles.iter().filter(|a| a.draft).count();
        let total_files = loaded.articles.len();

        let mut reused = false;
        let mut source = "rebuilt";
        let opened = if force {
            None
        } else {
            match open_current(&self.index_dir) {
                Ok(open)
                    if open.manifest.schema_version == SCHEMA_VERSION
                        && open.manifest.fingerprint == fingerprint =>
                {
                    reused = true;
                    source = "opened";
                    Some(open)
                }
                Ok(_) => {
                    tracing::info!("index is stale; rebuilding");
                    None
                }
                Err(e) => {
                    if self.index_dir.join("CURRENT").exists() {
                        tracing::warn!("index cannot be opened ({e}); rebuilding");
                    }
                    None
                }
            }
        };
        let open = match opened {
            Some(open) => open,
            None => match build_generation(&self.index_dir, &loaded.articles, &fingerprint, &|i| {
                progress(i, total_files)
            }) {
                Ok(open) => open,
                Err(e) => {
                    if self.current.load().is_some() {
                        // Keep serving the old index.
                        return Err(e.into());
                    }
                    tracing::error!(
                        "cannot write the index folder ({e}); serving an in-memory index"
                    );
                    source = "memory";
                    build_in_ram(&loaded.articles, &fingerprint)?
                }
            },
        };
        let articles = open.manifest.articles;
        let keep = open.dir.clone();
        self.current.store(Some(Arc::new(open)));
        if let Some(keep) = keep {
            remove_old_generations(&self.index_dir, &keep);
        }
        let millis = started.elapsed().as_millis() as u64;
        let errors = loaded.errors.len();
        if let Ok(mut status) = self.status.lock() {
            *status = IndexStatus {
                articles,
                drafts,
                errors: loaded.errors,
                last_update: Some(rfc3339(time::OffsetDateTime::now_utc().unix_timestamp())),
                last_update_ms: Some(millis),
                source: source.to_string(),
            };
        }
        Ok(BuildReport {
            articles,
            drafts,
            errors,
            reused,
            millis,
        })
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
        let _guard = self.build_lock.lock().unwrap_or_else(|e| e.into_inner());
        let open = open_current(&self.index_dir)?;
        if open.manifest.schema_version != SCHEMA_VERSION {
            return Ok(false);
        }
        tracing::info!(
            articles = open.manifest.articles,
            "swapped in an index generation built by another process"
        );
        self.current.store(Some(Arc::new(open)));
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

    /// A published article with its related articles; `None` for unknown slugs and drafts.
    pub fn article(&self, slug: &Slug) -> Result<Option<ArticleView>, KbError> {
        let idx = self.index()?;
        let Some(doc) = find_by_slug(&idx, slug.as_str())? else {
            return Ok(None);
        };
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

    /// The category tree with published-article counts at every node.
    pub fn categories(&self) -> Result<CategoryTree, KbError> {
        let idx = self.index()?;
        let (total, counts) = category_counts(&idx)?;
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
