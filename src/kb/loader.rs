//! Finds and parses the articles below the articles folder.
//!
//! Rules: every `*.md` is an article; hidden files and folders are skipped, and so is
//! whatever `.gitignore`, `.ignore` or `.helpcenterignore` in the folder names
//! (gitignore syntax). Folders starting with `_` are content. A file that fails to parse
//! is reported and skipped; the rest load.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::UNIX_EPOCH;

use serde::Serialize;

use super::article::{
    parse_article_with, slug_for, split_front_matter, Article, ArticleError, ArticleErrorKind, Html,
};
use super::audience::{FolderDefaults, FOLDER_FILE};
use super::types::Slug;

/// The name of the project's own ignore file in the articles folder.
pub const IGNORE_FILE: &str = ".helpcenterignore";

/// A problem with one file, for logs, the index status and `check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FileError {
    /// Path below the articles folder.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl FileError {
    /// The problem of a file whose slug another file already holds (it is skipped).
    pub fn duplicate_slug(path: &str, slug: &Slug, holder: &str) -> FileError {
        FileError {
            path: path.to_string(),
            line: 1,
            column: None,
            message: format!(
                "{DUPLICATE_SLUG} {:?}: {holder} already uses it; this file is skipped",
                slug.as_str()
            ),
        }
    }

    /// Whether this is [`FileError::duplicate_slug`]'s problem (retried when the slug
    /// is let go).
    pub fn is_duplicate_slug(&self) -> bool {
        self.message.starts_with(DUPLICATE_SLUG)
    }
}

const DUPLICATE_SLUG: &str = "duplicate slug";

/// One markdown file as read from disk.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path below the articles folder, `/`-separated.
    pub rel_path: String,
    /// The file's text.
    pub text: String,
    /// Modification time, unix seconds.
    pub mtime: i64,
    /// blake3 of the bytes.
    pub hash: [u8; 32],
}

/// Everything loaded from an articles folder.
#[derive(Debug, Default)]
pub struct LoadedArticles {
    /// Parsed articles, drafts included, sorted by path.
    pub articles: Vec<Article>,
    /// Files that were skipped, with the reason.
    pub errors: Vec<FileError>,
    /// Content hashes by path, for deciding whether an index is current.
    pub hashes: Vec<(String, [u8; 32])>,
    /// The folders' default audiences (`_folder.toml`), applied to the articles.
    pub folder_defaults: FolderDefaults,
}

impl LoadedArticles {
    /// A fingerprint of every file's path and content, the `_folder.toml` files
    /// included: equal fingerprints mean an index built from one set is current for
    /// the other.
    pub fn fingerprint(&self) -> String {
        fingerprint_with_folders(&self.hashes, &self.folder_defaults)
    }
}

/// [`fingerprint_of`] the articles' hashes and the `_folder.toml` files' (their paths
/// cannot clash: one ends in `.md`, the other in `.toml`).
pub fn fingerprint_with_folders(hashes: &[(String, [u8; 32])], folders: &FolderDefaults) -> String {
    let mut all = hashes.to_vec();
    all.extend(folders.files.iter().cloned());
    fingerprint_of(&all)
}

/// What a walk of the articles folder found.
#[derive(Debug, Default)]
pub struct Listing {
    /// The article files, sorted.
    pub articles: Vec<String>,
    /// The `_folder.toml` files, sorted.
    pub folder_files: Vec<String>,
}

/// Lists the article files and the `_folder.toml` files below `root` in one walk.
pub fn list_files(root: &Path) -> std::io::Result<Listing> {
    walk_articles(root, None)
}

/// Hashes a list of (path, content hash) pairs in path order.
pub fn fingerprint_of(hashes: &[(String, [u8; 32])]) -> String {
    let mut sorted: Vec<&(String, [u8; 32])> = hashes.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut h = blake3::Hasher::new();
    for (path, hash) in sorted {
        h.update(path.as_bytes());
        h.update(&[0]);
        h.update(hash);
    }
    h.finalize().to_hex().to_string()
}

/// Lists the article files below `root` (relative paths, sorted), applying the ignore rules.
pub fn list_article_files(root: &Path) -> std::io::Result<Vec<String>> {
    Ok(walk_articles(root, None)?.articles)
}

/// Lists the article files that are, or are below, one of `targets` (relative paths of
/// files or folders, existing or not), with the same ignore rules as
/// [`list_article_files`]: the walk starts at `root` and reads the ignore files on the
/// way, but only descends towards the targets, so a change to one file costs a few
/// directory reads instead of a walk of the whole folder.
pub fn list_article_files_in(root: &Path, targets: &[String]) -> std::io::Result<Vec<String>> {
    Ok(walk_articles(root, Some(targets))?.articles)
}

/// Lists the `_folder.toml` files that are, or are below, one of `targets`, walking
/// only towards them as [`list_article_files_in`] does.
pub fn list_folder_files_in(root: &Path, targets: &[String]) -> std::io::Result<Vec<String>> {
    Ok(walk_articles(root, Some(targets))?.folder_files)
}

/// Whether the walk must visit `rel`: the root, a target's ancestor, a target, or
/// something inside a target.
fn on_the_way(rel: &str, targets: &[String]) -> bool {
    rel.is_empty()
        || targets.iter().any(|t| {
            t == rel
                || (t.len() > rel.len() && t.starts_with(rel) && t.as_bytes()[rel.len()] == b'/')
                || (rel.len() > t.len()
                    && rel.starts_with(t.as_str())
                    && rel.as_bytes()[t.len()] == b'/')
        })
}

fn walk_articles(root: &Path, targets: Option<&[String]>) -> std::io::Result<Listing> {
    if !root.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("articles folder {} is missing", root.display()),
        ));
    }
    let mut builder = ignore::WalkBuilder::new(root);
    builder
        .hidden(true)
        .parents(false)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(false)
        .require_git(false)
        .ignore(true)
        .follow_links(false)
        .add_custom_ignore_filename(IGNORE_FILE);
    if let Some(targets) = targets {
        let targets = targets.to_vec();
        let root = root.to_path_buf();
        builder.filter_entry(move |entry| {
            relative_path(&root, entry.path()).is_some_and(|rel| on_the_way(&rel, &targets))
        });
    }
    // In parallel: MDN is 14,000 folders, and each costs a directory read plus a look
    // for three ignore files.
    let files = std::sync::Mutex::new(Listing::default());
    builder.build_parallel().run(|| {
        let files = &files;
        Box::new(move |entry| {
            let Ok(entry) = entry else {
                return ignore::WalkState::Continue;
            };
            let path = entry.path();
            let is_file = entry.file_type().is_some_and(|t| t.is_file());
            let is_md = is_file && path.extension().and_then(|e| e.to_str()) == Some("md");
            let is_folder_file =
                is_file && path.file_name().and_then(|n| n.to_str()) == Some(FOLDER_FILE);
            if !is_md && !is_folder_file {
                return ignore::WalkState::Continue;
            }
            if let Some(rel) = relative_path(root, path) {
                if targets.is_none_or(|t| on_the_way(&rel, t)) {
                    if let Ok(mut files) = files.lock() {
                        if is_md {
                            files.articles.push(rel);
                        } else {
                            files.folder_files.push(rel);
                        }
                    }
                }
            }
            ignore::WalkState::Continue
        })
    });
    let mut files = files.into_inner().unwrap_or_default();
    files.articles.sort();
    files.folder_files.sort();
    Ok(files)
}

/// `path` below `root` as a `/`-separated string.
pub fn relative_path(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<&str> = rel.iter().map(|p| p.to_str()).collect::<Option<_>>()?;
    Some(parts.join("/"))
}

/// Reads one file below `root`.
pub fn read_source(root: &Path, rel_path: &str) -> Result<SourceFile, FileError> {
    let full: PathBuf = root.join(rel_path);
    let cannot_read = |e: std::io::Error| FileError {
        path: rel_path.to_string(),
        line: 1,
        column: None,
        message: format!("cannot read the file: {e}"),
    };
    // The open file's metadata, rather than the path's: one path lookup per file, not two.
    let mut file = std::fs::File::open(&full).map_err(cannot_read)?;
    let metadata = file.metadata().ok();
    let mut bytes = Vec::with_capacity(metadata.as_ref().map_or(0, |m| m.len() as usize));
    std::io::Read::read_to_end(&mut file, &mut bytes).map_err(cannot_read)?;
    let mtime = metadata
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let hash = *blake3::hash(&bytes).as_bytes();
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..valid];
        FileError {
            path: rel_path.to_string(),
            line: before.iter().filter(|b| **b == b'\n').count() + 1,
            column: None,
            message: "the file is not valid UTF-8".to_string(),
        }
    })?;
    Ok(SourceFile {
        rel_path: rel_path.to_string(),
        text,
        mtime,
        hash,
    })
}

/// Reads the files `rel_paths` below `root`, in order, in parallel (hashing and UTF-8
/// validation are work, not just waiting); unreadable ones are errors.
pub fn read_sources(root: &Path, rel_paths: &[String]) -> (Vec<SourceFile>, Vec<FileError>) {
    let mut sources = Vec::with_capacity(rel_paths.len());
    let mut errors = Vec::new();
    let results = parallel_map(rel_paths, |rel| read_source(root, rel));
    for (rel, result) in rel_paths.iter().zip(results) {
        match result {
            Some(Ok(src)) => sources.push(src),
            Some(Err(e)) => errors.push(e),
            None => errors.push(FileError {
                path: rel.clone(),
                line: 1,
                column: None,
                message: "internal error while reading".to_string(),
            }),
        }
    }
    (sources, errors)
}

/// Hashes files as [`load_articles`] does (unreadable and non-UTF-8 files become
/// errors), in parallel, without keeping their text: enough to tell whether an index
/// on disk is current, at a fraction of the memory of a load.
pub fn hash_files(root: &Path, rel_paths: &[String]) -> (Vec<(String, [u8; 32])>, Vec<FileError>) {
    let mut hashes = Vec::with_capacity(rel_paths.len());
    let mut errors = Vec::new();
    let results = parallel_map(rel_paths, |rel| read_source(root, rel).map(|src| src.hash));
    for (rel, result) in rel_paths.iter().zip(results) {
        match result {
            Some(Ok(hash)) => hashes.push((rel.clone(), hash)),
            Some(Err(e)) => errors.push(e),
            None => errors.push(FileError {
                path: rel.clone(),
                line: 1,
                column: None,
                message: "internal error while reading".to_string(),
            }),
        }
    }
    (hashes, errors)
}

/// Parses files as the index does, in parallel on the machine's cores; results are in
/// the order of `sources`. Slugs are read from every front matter first, so that links
/// resolve to overridden slugs.
pub fn parse_sources(
    sources: &[SourceFile],
    defaults: &FolderDefaults,
    html: Html,
) -> Vec<Result<Article, ArticleError>> {
    let front_slugs = parallel_map(sources, |src| {
        let split = split_front_matter(&src.text).ok()?;
        slug_for(&src.rel_path, &split.front).ok()
    });
    let slugs: HashMap<String, Slug> = sources
        .iter()
        .zip(front_slugs)
        .filter_map(|(src, slug)| Some((src.rel_path.clone(), slug.flatten()?)))
        .collect();
    parse_all(sources, &slugs, defaults, html)
}

/// The duplicate-slug rule: in path order, the first file to claim a slug gets it and
/// every later claimant is skipped.
#[derive(Debug, Default)]
pub struct SlugClaims(HashMap<Slug, String>);

impl SlugClaims {
    /// Gives `slug` to the file at `rel_path`, or returns the path of the file that
    /// already holds it.
    pub fn claim(&mut self, slug: &Slug, rel_path: &str) -> Result<(), String> {
        match self.0.get(slug) {
            Some(holder) => Err(holder.clone()),
            None => {
                self.0.insert(slug.clone(), rel_path.to_string());
                Ok(())
            }
        }
    }
}

/// Loads every article below `root`, in parallel on the machine's cores.
pub fn load_articles(root: &Path) -> std::io::Result<LoadedArticles> {
    let listing = list_files(root)?;
    let folder_defaults = FolderDefaults::load(root, &listing.folder_files);
    let (sources, errors) = read_sources(root, &listing.articles);
    let mut out = LoadedArticles {
        errors,
        hashes: sources
            .iter()
            .map(|src| (src.rel_path.clone(), src.hash))
            .collect(),
        ..LoadedArticles::default()
    };
    let results = parse_sources(&sources, &folder_defaults, Html::Render);
    out.errors.extend(folder_defaults.errors.iter().cloned());
    out.folder_defaults = folder_defaults;
    let mut claims = SlugClaims::default();
    for (src, result) in sources.iter().zip(results) {
        match result {
            Ok(article) => {
                if let Err(first) = claims.claim(&article.slug, &src.rel_path) {
                    out.errors.push(FileError::duplicate_slug(
                        &src.rel_path,
                        &article.slug,
                        &first,
                    ));
                    continue;
                }
                out.articles.push(article);
            }
            Err(e) => out.errors.push(FileError {
                path: src.rel_path.clone(),
                line: e.line,
                column: e.column,
                message: e.message,
            }),
        }
    }
    for e in &out.errors {
        tracing::warn!(path = %e.path, line = e.line, "article skipped: {}", e.message);
    }
    Ok(out)
}

/// Parses `sources` on the machine's cores, resolving links through `slugs`; results
/// are in the order of `sources`.
pub(crate) fn parse_all(
    sources: &[SourceFile],
    slugs: &HashMap<String, Slug>,
    defaults: &FolderDefaults,
    html: Html,
) -> Vec<Result<Article, ArticleError>> {
    parallel_map(sources, |src| {
        let mut article = parse_article_with(&src.rel_path, &src.text, src.mtime, slugs, html)?;
        article.apply_folder_default(defaults);
        Ok(article)
    })
    .into_iter()
    .map(|r| {
        r.unwrap_or_else(|| {
            Err(ArticleError::at(
                ArticleErrorKind::Other,
                1,
                None,
                "internal error while parsing",
            ))
        })
    })
    .collect()
}

/// `f` over every item on the machine's cores (up to 8 threads), results in the order of
/// `items`; `None` where a worker panicked.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<Option<R>> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    let chunks: Vec<Vec<(usize, R)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, f(item)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for chunk in chunks {
        for (i, r) in chunk {
            results[i] = Some(r);
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_and_ignored_files_are_skipped_but_underscore_folders_load() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".hidden")).unwrap();
        std::fs::create_dir_all(root.join("includes")).unwrap();
        std::fs::create_dir_all(root.join("_colon_hover")).unwrap();
        std::fs::write(root.join(".hidden/a.md"), "# A").unwrap();
        std::fs::write(root.join("includes/frag.md"), "fragment").unwrap();
        std::fs::write(root.join("_colon_hover/index.md"), "# Hover").unwrap();
        std::fs::write(root.join("b.md"), "# B").unwrap();
        std::fs::write(root.join("notes.txt"), "x").unwrap();
        std::fs::write(root.join(IGNORE_FILE), "includes/\n").unwrap();
        let files = list_article_files(root).unwrap();
        assert_eq!(files, vec!["_colon_hover/index.md", "b.md"]);
    }

    #[test]
    fn listing_below_some_paths_applies_the_same_ignore_rules() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "a/x.md",
            "a/y.md",
            "a/includes/frag.md",
            "b/z.md",
            "c/deep/w.md",
        ] {
            std::fs::create_dir_all(root.join(f).parent().unwrap()).unwrap();
            std::fs::write(root.join(f), "# T").unwrap();
        }
        std::fs::write(root.join("a/.gitignore"), "includes/\n").unwrap();
        let targets = |t: &[&str]| -> Vec<String> { t.iter().map(|s| s.to_string()).collect() };
        assert_eq!(
            list_article_files_in(root, &targets(&["a"])).unwrap(),
            ["a/x.md", "a/y.md"]
        );
        assert_eq!(
            list_article_files_in(
                root,
                &targets(&["a/y.md", "c", "gone/q.md", "a/includes/frag.md"])
            )
            .unwrap(),
            ["a/y.md", "c/deep/w.md"]
        );
        // Never more than the full listing has.
        let all = list_article_files(root).unwrap();
        assert_eq!(
            all,
            list_article_files_in(root, &targets(&["a", "b", "c"])).unwrap()
        );
    }

    #[test]
    fn broken_file_is_reported_and_the_rest_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ok.md"), "# Fine").unwrap();
        std::fs::write(dir.path().join("bad.md"), "---\ntitle: [\n---\n").unwrap();
        let loaded = load_articles(dir.path()).unwrap();
        assert_eq!(loaded.articles.len(), 1);
        assert_eq!(loaded.errors.len(), 1);
        assert_eq!(loaded.errors[0].path, "bad.md");
    }
}
