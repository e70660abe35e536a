//! `helpcenter check`: a linter for writers, run from their pre-commit hook and CI.
//!
//! It reads the articles folder exactly as the index does (the loader's file list,
//! ignore rules and parser; `index.md` and `_index.md` stand for their folder) and
//! reports what would make an article disappear, a link lead nowhere, or a page look
//! wrong. Each problem is a [`Diagnostic`] with a stable [`Code`].
//!
//! Severity follows one rule: an **error** means a reader misses content — the index
//! skips the file (front matter, slug, category, audience, duplicate slug, unreadable),
//! a link ends on a 404 (broken link, link to a draft), or an article is kept from the
//! readers it was meant for (an audience name nobody declared, which is usually a typo;
//! a broken `_folder.toml`, whose folder is staff-only until it is fixed). A
//! **warning** means the page works but is probably not what the writer meant: a
//! missing title (the file name stands in), an `#anchor` no heading defines (the page
//! opens at the top), an empty article, a link that only some of the article's readers
//! may follow (a public article linking to a staff runbook).
//!
//! Audiences (see [`super::audience`]): every `_folder.toml` is checked (its problems,
//! and the names of its `audience`), and so is each article's own `audience`. A name
//! must be built in (`public`, `signed-in`, `staff`) or one of the `segments` the
//! articles folder's own `_folder.toml` declares. A folder default with an unknown name
//! is reported once, at its `_folder.toml`, not at every article that inherits it.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use serde::Serialize;

use super::article::{
    default_slug_path, Article, ArticleError, ArticleErrorKind, Html, LinkTarget, TitleSource,
};
use super::audience::{Audience, AudienceName, FolderDefaults, FOLDER_FILE, RESERVED};
use super::loader::{list_files, parse_sources, read_sources, FileError, SlugClaims, SourceFile};
use super::search_config::{SearchConfig, SEARCH_CONFIG_FILE};
use super::types::Slug;

/// How bad a diagnostic is: errors fail `check` (exit 1), warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A reader will miss content: the file is skipped or a link ends on a 404.
    Error,
    /// The page works, but probably not as the writer meant.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// What a diagnostic is about. The kebab-case names are stable: tools may match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// The file cannot be read or is not UTF-8.
    UnreadableFile,
    /// The front matter is unclosed or is not valid YAML or TOML.
    InvalidFrontMatter,
    /// The slug (front matter `slug` or the file path) has characters a URL cannot hold.
    InvalidSlug,
    /// The category (front matter `category` or the folder) has characters a URL cannot hold.
    InvalidCategory,
    /// The front matter's `audience` is not a name or a list of valid names (the file
    /// is not indexed).
    InvalidAudience,
    /// An `audience` (an article's front matter, or a `_folder.toml`'s default) names
    /// neither a built-in audience (`public`, `signed-in`, `staff`) nor a segment the
    /// articles folder's own `_folder.toml` declares in `segments`.
    UnknownAudience,
    /// Another file, earlier in path order, already has this slug.
    DuplicateSlug,
    /// No front matter `title` and no `#` heading: the file name stands in.
    MissingTitle,
    /// A published article without any text.
    EmptyArticle,
    /// A relative `.md` or `/articles/…` link to no article.
    BrokenLink,
    /// A `#fragment` that no heading of the target article defines.
    BrokenAnchor,
    /// A published article links to a draft, which readers cannot open.
    LinkToDraft,
    /// An article links to one that some of its readers may not open: the linking
    /// article's audience is not within the target's (a public article linking to a
    /// staff one).
    LinkToRestricted,
    /// `_search.toml` does not parse or has an invalid entry; search keeps its last
    /// good configuration.
    InvalidSearchConfig,
    /// A `_folder.toml` cannot be read, does not parse or has an invalid entry; its
    /// folder's articles are staff-only until it is fixed.
    InvalidFolderFile,
}

impl Code {
    /// Every code, in the order of the documentation.
    pub const ALL: [Code; 15] = [
        Code::UnreadableFile,
        Code::InvalidFrontMatter,
        Code::InvalidSlug,
        Code::InvalidCategory,
        Code::InvalidAudience,
        Code::UnknownAudience,
        Code::DuplicateSlug,
        Code::MissingTitle,
        Code::EmptyArticle,
        Code::BrokenLink,
        Code::BrokenAnchor,
        Code::LinkToDraft,
        Code::LinkToRestricted,
        Code::InvalidSearchConfig,
        Code::InvalidFolderFile,
    ];

    /// The stable name, such as `broken-link`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::UnreadableFile => "unreadable-file",
            Code::InvalidFrontMatter => "invalid-front-matter",
            Code::InvalidSlug => "invalid-slug",
            Code::InvalidCategory => "invalid-category",
            Code::InvalidAudience => "invalid-audience",
            Code::UnknownAudience => "unknown-audience",
            Code::DuplicateSlug => "duplicate-slug",
            Code::MissingTitle => "missing-title",
            Code::EmptyArticle => "empty-article",
            Code::BrokenLink => "broken-link",
            Code::BrokenAnchor => "broken-anchor",
            Code::LinkToDraft => "link-to-draft",
            Code::LinkToRestricted => "link-to-restricted",
            Code::InvalidSearchConfig => "invalid-search-config",
            Code::InvalidFolderFile => "invalid-folder-file",
        }
    }

    /// Each code always has the same severity (see the module documentation for why).
    pub fn severity(self) -> Severity {
        match self {
            Code::MissingTitle
            | Code::EmptyArticle
            | Code::BrokenAnchor
            | Code::LinkToRestricted => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// One problem found by `check`. In `--format json`, one object of the `diagnostics`
/// array (see [`CheckReport`] for the whole shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Path of the file below the checked folder, `/`-separated.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters (1 when only the line is known).
    pub column: usize,
    /// `error` or `warning`.
    pub severity: Severity,
    /// Stable code, such as `broken-link`.
    pub code: Code,
    /// What is wrong, for a writer.
    pub message: String,
    /// Other places that explain it, the way rustc points at a previous definition (a
    /// duplicate slug's first definition). Omitted from the JSON when empty, so tools
    /// written before it existed read the same objects.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
}

/// A place a [`Diagnostic`] refers to: `{"path", "line", "column", "message"}` in
/// its `notes` array, and an indented `path:line:column: note: message` line under it
/// in the text report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// Path of the file below the checked folder, `/`-separated.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is there.
    pub message: String,
}

impl Diagnostic {
    fn new(path: &str, line: usize, column: usize, code: Code, message: String) -> Self {
        Diagnostic {
            path: path.to_string(),
            line,
            column,
            severity: code.severity(),
            code,
            message,
            notes: Vec::new(),
        }
    }
}

/// Everything `check` found in one folder; serializes as the `--format json` output:
///
/// ```json
/// {
///   "files_checked": 3,
///   "files_with_diagnostics": 1,
///   "errors": 1,
///   "warnings": 0,
///   "diagnostics": [
///     {
///       "path": "b.md", "line": 3, "column": 1,
///       "severity": "error", "code": "duplicate-slug",
///       "message": "duplicate slug \"shared\": a.md already has it, so b.md is not indexed",
///       "notes": [
///         {"path": "a.md", "line": 3, "column": 1,
///          "message": "the slug \"shared\" is first used here"}
///       ]
///     }
///   ]
/// }
/// ```
///
/// Paths are relative to the checked folder and `/`-separated; lines and columns are
/// 1-based. `notes` (other places that explain the diagnostic, such as a duplicate
/// slug's first definition) is present only when there are some: it was added after
/// the other fields, and fields are only ever added, never renamed or removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// Markdown files looked at.
    pub files_checked: usize,
    /// Files with at least one diagnostic.
    pub files_with_diagnostics: usize,
    /// Diagnostics of severity error.
    pub errors: usize,
    /// Diagnostics of severity warning.
    pub warnings: usize,
    /// Every diagnostic, by path, then line and column.
    pub diagnostics: Vec<Diagnostic>,
}

impl CheckReport {
    fn new(files_checked: usize, mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by(|a, b| {
            (&a.path, a.line, a.column, a.code).cmp(&(&b.path, b.line, b.column, b.code))
        });
        let count = |s| diagnostics.iter().filter(|d| d.severity == s).count();
        let files: HashSet<&str> = diagnostics.iter().map(|d| d.path.as_str()).collect();
        CheckReport {
            files_checked,
            files_with_diagnostics: files.len(),
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            diagnostics,
        }
    }

    /// True when at least one diagnostic is an error (`check` then exits 1).
    pub fn has_errors(&self) -> bool {
        self.errors > 0
    }

    /// How many diagnostics have `code`.
    pub fn count(&self, code: Code) -> usize {
        self.diagnostics.iter().filter(|d| d.code == code).count()
    }

    /// Compiler-style lines, `path:line:col: error: message [code]`, grouped per file
    /// (paths are shown below `shown_root`, the folder as the user named it, so editors
    /// can jump to them), each followed by its notes, indented, as
    /// `  path:line:col: note: message`; then the summary line.
    pub fn to_text(&self, shown_root: &Path) -> String {
        let mut out = String::new();
        for d in &self.diagnostics {
            out.push_str(&format!(
                "{}:{}:{}: {}: {} [{}]\n",
                shown_root.join(&d.path).display(),
                d.line,
                d.column,
                d.severity.as_str(),
                d.message,
                d.code.as_str()
            ));
            for n in &d.notes {
                out.push_str(&format!(
                    "  {}:{}:{}: note: {}\n",
                    shown_root.join(&n.path).display(),
                    n.line,
                    n.column,
                    n.message
                ));
            }
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// `2 errors, 1 warning in 3 files (27 files checked)`.
    pub fn summary(&self) -> String {
        format!(
            "{}, {} in {} ({} checked)",
            plural(self.errors, "error"),
            plural(self.warnings, "warning"),
            plural(self.files_with_diagnostics, "file"),
            plural(self.files_checked, "file"),
        )
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Checks every article below `root` with the index's own rules, plus the folder's
/// configuration files (`_search.toml`, and every `_folder.toml` with the audience
/// names it uses). Fails only when the folder cannot be listed.
pub fn check_articles(root: &Path) -> std::io::Result<CheckReport> {
    let listing = list_files(root)?;
    let folder_defaults = FolderDefaults::load(root, &listing.folder_files);
    let (sources, read_errors) = read_sources(root, &listing.articles);
    let mut diagnostics: Vec<Diagnostic> = read_errors.iter().map(unreadable).collect();
    diagnostics.extend(check_folder_files(root, &folder_defaults));
    let results = parse_sources(&sources, &folder_defaults, Html::Skip);

    // Which parsed article gets each slug, exactly as the index decides.
    let mut claims = SlugClaims::default();
    let mut articles: Vec<(&SourceFile, &Article)> = Vec::with_capacity(sources.len());
    let mut not_served: Vec<(&SourceFile, &Article)> = Vec::new();
    let mut unparsed: HashSet<&str> = HashSet::new();
    let by_path: HashMap<&str, &SourceFile> =
        sources.iter().map(|s| (s.rel_path.as_str(), s)).collect();
    for (src, result) in sources.iter().zip(&results) {
        match result {
            Ok(article) => {
                if let Err(holder) = claims.claim(&article.slug, &src.rel_path) {
                    let (line, column) = front_matter_key_position(&src.text, "slug");
                    let mut duplicate = Diagnostic::new(
                        &src.rel_path,
                        line,
                        column,
                        Code::DuplicateSlug,
                        format!(
                            "duplicate slug {:?}: {holder} already has it, so {} is not indexed",
                            article.slug.as_str(),
                            src.rel_path
                        ),
                    );
                    // The first definition: the holder's `slug:` key, or line 1 when its
                    // slug comes from its path.
                    let (line, column) = by_path
                        .get(holder.as_str())
                        .map(|first| front_matter_key_position(&first.text, "slug"))
                        .unwrap_or((1, 1));
                    duplicate.notes.push(Note {
                        path: holder.clone(),
                        line,
                        column,
                        message: format!("the slug {:?} is first used here", article.slug.as_str()),
                    });
                    diagnostics.push(duplicate);
                    not_served.push((src, article));
                    continue;
                }
                articles.push((src, article));
            }
            Err(e) => {
                unparsed.insert(&src.rel_path);
                diagnostics.push(parse_error(src, e));
            }
        }
    }
    let site = Site::new(root, &articles, unparsed, &folder_defaults.segments);
    for (src, article) in &articles {
        lint_article(src, article, &site, Links::Check, &mut diagnostics);
    }
    // A duplicate's own problems still count; its links do not, as it is never served.
    for (src, article) in &not_served {
        lint_article(src, article, &site, Links::Skip, &mut diagnostics);
    }
    diagnostics.extend(check_config_files(root));
    Ok(CheckReport::new(listing.articles.len(), diagnostics))
}

/// Checks the `_folder.toml` files `defaults` was loaded from: each of their problems
/// ([`Code::InvalidFolderFile`], at its line), then, in each file that parsed, the
/// names of its `audience` that are neither built in nor declared segments
/// ([`Code::UnknownAudience`], at the `audience` key). An unknown name in a folder
/// default is reported here, once, rather than at every article that inherits it.
pub fn check_folder_files(root: &Path, defaults: &FolderDefaults) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = defaults
        .errors
        .iter()
        .map(|e| {
            Diagnostic::new(
                &e.path,
                e.line,
                e.column.unwrap_or(1),
                Code::InvalidFolderFile,
                e.message.clone(),
            )
        })
        .collect();
    let broken: HashSet<&str> = defaults.errors.iter().map(|e| e.path.as_str()).collect();
    for (rel_path, _) in &defaults.files {
        if broken.contains(rel_path.as_str()) {
            continue;
        }
        // Read again for the `audience` key's line: `FolderDefaults` keeps only the
        // audience. A file that changed in between is caught by the next run.
        let Ok(bytes) = std::fs::read(root.join(rel_path)) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let Some(audience) = folder_file_audience(&text) else {
            continue;
        };
        let line = toml_key_line(&text, "audience");
        for name in unknown_audience_names(&audience, &defaults.segments) {
            out.push(Diagnostic::new(
                rel_path,
                line,
                1,
                Code::UnknownAudience,
                unknown_audience_message(name, &defaults.segments),
            ));
        }
    }
    out
}

/// The `audience` a `_folder.toml`'s text sets, if it parses and sets one.
fn folder_file_audience(text: &str) -> Option<Audience> {
    let table: toml::Table = toml::from_str(text).ok()?;
    let value = serde_json::to_value(table.get("audience")?).ok()?;
    Audience::from_value(&value).ok()
}

/// The names of `audience` that are neither built in nor among the declared `segments`.
fn unknown_audience_names<'a>(
    audience: &'a Audience,
    segments: &'a BTreeSet<String>,
) -> impl Iterator<Item = &'a AudienceName> + 'a {
    audience
        .names()
        .iter()
        .filter(|n| !n.is_reserved() && !segments.contains(n.as_str()))
}

/// What [`Code::UnknownAudience`] says about `name`: the audiences there are, and
/// where segments are declared.
fn unknown_audience_message(name: &AudienceName, segments: &BTreeSet<String>) -> String {
    let built_in = RESERVED.join(", ");
    if segments.is_empty() {
        format!(
            "unknown audience {:?}: it is not built in ({built_in}) and no segments are \
             declared; declare it in the articles folder's own {FOLDER_FILE}: \
             segments = [{:?}]",
            name.as_str(),
            name.as_str()
        )
    } else {
        let declared: Vec<&str> = segments.iter().map(String::as_str).collect();
        format!(
            "unknown audience {:?}: it is neither built in ({built_in}) nor a declared \
             segment ({}); segments are declared in the articles folder's own {FOLDER_FILE}",
            name.as_str(),
            declared.join(", ")
        )
    }
}

/// 1-based line of a top-level `key = …` in a TOML text (before any `[table]` header),
/// or 1 when it is not found.
fn toml_key_line(text: &str, key: &str) -> usize {
    // Bare, basic-quoted and literal-quoted spellings of the key.
    let spellings = [key.to_string(), format!("\"{key}\""), format!("'{key}'")];
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.starts_with('[') {
            break;
        }
        let rest = spellings.iter().find_map(|k| line.strip_prefix(k.as_str()));
        if rest.is_some_and(|r| r.trim_start().starts_with('=')) {
            return i + 1;
        }
    }
    1
}

/// Checks the folder's configuration files beside the articles: the search
/// configuration (`_search.toml`: synonyms and protected words), with the parser that
/// `serve` uses, so what passes here is what search accepts.
pub fn check_config_files(root: &Path) -> Vec<Diagnostic> {
    let path = root.join(SEARCH_CONFIG_FILE);
    let text = match std::fs::read(&path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => {
                return vec![Diagnostic::new(
                    SEARCH_CONFIG_FILE,
                    1,
                    1,
                    Code::UnreadableFile,
                    "the file is not valid UTF-8".into(),
                )]
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            return vec![Diagnostic::new(
                SEARCH_CONFIG_FILE,
                1,
                1,
                Code::UnreadableFile,
                format!("cannot read the file: {e}"),
            )]
        }
    };
    match SearchConfig::parse(&text) {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .into_iter()
            .map(|e| {
                Diagnostic::new(
                    SEARCH_CONFIG_FILE,
                    e.line,
                    e.column.unwrap_or(1),
                    Code::InvalidSearchConfig,
                    e.message,
                )
            })
            .collect(),
    }
}

/// The articles (drafts included), by path and by slug, that links may point to.
struct Site<'a> {
    root: &'a Path,
    by_path: HashMap<&'a str, &'a Article>,
    by_slug: HashMap<&'a str, &'a Article>,
    /// Files that exist but failed to parse: their own error says it all, so links to
    /// them are not reported a second time.
    unparsed: HashSet<&'a str>,
    /// Folders with articles below them: an `index.md` standing for one of them is a
    /// category's landing page.
    folders_with_articles: HashSet<&'a str>,
    /// The segment names the articles folder's `_folder.toml` declares.
    segments: &'a BTreeSet<String>,
}

impl<'a> Site<'a> {
    fn new(
        root: &'a Path,
        articles: &[(&'a SourceFile, &'a Article)],
        unparsed: HashSet<&'a str>,
        segments: &'a BTreeSet<String>,
    ) -> Self {
        let mut folders_with_articles = HashSet::new();
        for (src, _) in articles {
            // `a/b/index.md` stands for `a/b`, so it is below `a` (and the root), not below `a/b`.
            let stands_for = default_slug_path(&src.rel_path);
            let mut path = stands_for.as_str();
            while !path.is_empty() {
                path = path
                    .rsplit_once('/')
                    .map(|(parent, _)| parent)
                    .unwrap_or("");
                if !folders_with_articles.insert(&src.rel_path[..path.len()]) {
                    break;
                }
            }
        }
        Site {
            root,
            by_path: articles
                .iter()
                .map(|(s, a)| (s.rel_path.as_str(), *a))
                .collect(),
            by_slug: articles
                .iter()
                .map(|(_, a)| (a.slug.as_str(), *a))
                .collect(),
            unparsed,
            folders_with_articles,
            segments,
        }
    }

    /// The article a relative `.md` link to `rel_path` opens. Like the renderer, which
    /// links a path that is no file to the slug that path would have, so `index.md`
    /// reaches a folder's `_index.md`.
    fn file_target(&self, rel_path: &str) -> Option<&'a Article> {
        self.by_path.get(rel_path).copied().or_else(|| {
            let slug = Slug::parse(&default_slug_path(rel_path)).ok()?;
            self.by_slug.get(slug.as_str()).copied()
        })
    }

    /// True for an `index.md` or `_index.md` with articles below its folder: a
    /// category's landing page, which may have no text of its own because the
    /// category's articles are its content (Hugo's section pages are like this).
    fn is_landing_page(&self, rel_path: &str) -> bool {
        let file_name = rel_path.rsplit('/').next().unwrap_or(rel_path);
        (file_name == "index.md" || file_name == "_index.md")
            && self
                .folders_with_articles
                .contains(default_slug_path(rel_path).as_str())
    }
}

fn unreadable(e: &FileError) -> Diagnostic {
    Diagnostic::new(
        &e.path,
        e.line,
        e.column.unwrap_or(1),
        Code::UnreadableFile,
        format!("{}, so the file is not indexed", e.message),
    )
}

fn parse_error(src: &SourceFile, e: &ArticleError) -> Diagnostic {
    let (code, key) = match e.kind {
        ArticleErrorKind::FrontMatter => (Code::InvalidFrontMatter, None),
        ArticleErrorKind::Slug => (Code::InvalidSlug, Some("slug")),
        ArticleErrorKind::Category => (Code::InvalidCategory, Some("category")),
        ArticleErrorKind::Other => (Code::UnreadableFile, None),
        ArticleErrorKind::Audience => (Code::InvalidAudience, Some("audience")),
    };
    // Slug, category and audience errors: point at the front matter key when
    // the value comes from there (a path-derived one is about line 1).
    let (line, column) = match key {
        Some(key) => front_matter_key_position(&src.text, key),
        None => (e.line, e.column.unwrap_or(1)),
    };
    Diagnostic::new(&src.rel_path, line, column, code, e.message.clone())
}

/// Whether [`lint_article`] checks the article's links.
#[derive(PartialEq)]
enum Links {
    Check,
    Skip,
}

/// The article's own problems and, unless skipped, its links'.
fn lint_article(
    src: &SourceFile,
    article: &Article,
    site: &Site<'_>,
    links: Links,
    out: &mut Vec<Diagnostic>,
) {
    let path = src.rel_path.as_str();
    if article.title_source == TitleSource::FileName {
        out.push(Diagnostic::new(
            path,
            1,
            1,
            Code::MissingTitle,
            format!(
                "no `title` in the front matter and no `#` heading; the title shown is the file name's, {:?}",
                article.title
            ),
        ));
    }
    if !article.draft
        && article.sections.iter().all(|s| s.text.trim().is_empty())
        && !site.is_landing_page(path)
    {
        out.push(Diagnostic::new(
            path,
            body_line(&src.text),
            1,
            Code::EmptyArticle,
            "the article has no text (template tags are not shown)".to_string(),
        ));
    }
    // A folder default's unknown names are reported once, at its `_folder.toml`.
    if article.audience_in_front_matter {
        let (line, column) = front_matter_key_position(&src.text, "audience");
        for name in unknown_audience_names(&article.audience, site.segments) {
            out.push(Diagnostic::new(
                path,
                line,
                column,
                Code::UnknownAudience,
                unknown_audience_message(name, site.segments),
            ));
        }
    }
    if links == Links::Skip {
        return;
    }
    for link in &article.links {
        let diag = |code, message| Diagnostic::new(path, link.line, link.column, code, message);
        let target = match &link.target {
            LinkTarget::SamePage => article,
            LinkTarget::OutsideFolder => {
                out.push(diag(
                    Code::BrokenLink,
                    format!(
                        "link to {:?} leaves the articles folder, so it points to no article",
                        link.dest
                    ),
                ));
                continue;
            }
            LinkTarget::File(target_path) => match site.file_target(target_path) {
                Some(target) => target,
                None if site.unparsed.contains(target_path.as_str()) => continue,
                None => {
                    let why = if site.root.join(target_path).is_file() {
                        "is not an article (hidden, ignored, or a duplicate slug)"
                    } else {
                        "does not exist"
                    };
                    // Name the resolved path only when it differs from what was written.
                    let written = link.dest.split(['#', '?']).next().unwrap_or("");
                    let file = if written == target_path {
                        "the file".to_string()
                    } else {
                        target_path.clone()
                    };
                    out.push(diag(
                        Code::BrokenLink,
                        format!("link to {:?}: {file} {why}", link.dest),
                    ));
                    continue;
                }
            },
            LinkTarget::Slug(slug) => {
                let found = Slug::parse(slug)
                    .ok()
                    .and_then(|s| site.by_slug.get(s.as_str()).copied());
                match found {
                    Some(target) => target,
                    None => {
                        out.push(diag(
                            Code::BrokenLink,
                            format!("link to {:?}: no article has the slug {slug:?}", link.dest),
                        ));
                        continue;
                    }
                }
            }
        };
        if target.draft && !article.draft {
            out.push(diag(
                Code::LinkToDraft,
                format!(
                    "link to {:?}: {} is a draft, which readers cannot open",
                    link.dest, target.rel_path
                ),
            ));
        }
        if !article.audience.is_within(&target.audience) {
            out.push(diag(
                Code::LinkToRestricted,
                link_to_restricted_message(article, target),
            ));
        }
        let Some(fragment) = &link.fragment else {
            continue;
        };
        // `#top` scrolls to the top in every browser, heading or not.
        if fragment == "top" || target.headings.iter().any(|h| &h.anchor == fragment) {
            continue;
        }
        let whose = if std::ptr::eq(target, article) {
            "this article".to_string()
        } else {
            target.rel_path.clone()
        };
        let hint = similar_anchor(target, fragment)
            .map(|a| format!("; did you mean #{a}?"))
            .unwrap_or_default();
        out.push(diag(
            Code::BrokenAnchor,
            format!("no heading of {whose} has the anchor #{fragment}{hint}"),
        ));
    }
}

/// What [`Code::LinkToRestricted`] says about a link from `article` to `target`.
fn link_to_restricted_message(article: &Article, target: &Article) -> String {
    format!(
        "links to {:?} (audience: {}), which some readers of this article (audience: {}) \
         cannot open",
        target.slug.as_str(),
        target.audience,
        article.audience
    )
}

/// A heading anchor that differs from `fragment` only in case, `_` for `-`, or runs of
/// `-` (the anchor styles of MDN, GitHub and Hugo), to suggest in the message.
fn similar_anchor<'a>(target: &'a Article, fragment: &str) -> Option<&'a str> {
    let fold = |s: &str| {
        s.to_lowercase()
            .split(['-', '_'])
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join("-")
    };
    let wanted = fold(fragment);
    target
        .headings
        .iter()
        .find(|h| fold(&h.anchor) == wanted)
        .map(|h| h.anchor.as_str())
}

/// The line where the body starts: after the front matter, or 1.
fn body_line(text: &str) -> usize {
    super::article::split_front_matter(text)
        .map(|s| s.body_line)
        .unwrap_or(1)
}

/// `(line, column)` of a top-level front matter key (`key:` in YAML, `key =` in TOML),
/// or `(1, 1)` when the front matter does not set it.
fn front_matter_key_position(text: &str, key: &str) -> (usize, usize) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines();
    let fence = match lines.next().map(str::trim_end) {
        Some(f @ ("---" | "+++")) => f,
        _ => return (1, 1),
    };
    for (i, line) in lines.enumerate() {
        let trimmed = line.trim_end();
        if trimmed == fence || (fence == "---" && trimmed == "...") {
            break;
        }
        let sets_key = line.strip_prefix(key).is_some_and(|rest| {
            let rest = rest.trim_start_matches([' ', '\t']);
            rest.starts_with(':') || rest.starts_with('=')
        });
        if sets_key {
            return (i + 2, 1);
        }
    }
    (1, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_their_stable_names_in_json() {
        for code in Code::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, code.as_str());
        }
    }

    #[test]
    fn front_matter_keys_are_found_in_yaml_and_toml() {
        let yaml = "---\ntitle: T\nslug: a b\n---\nbody";
        assert_eq!(front_matter_key_position(yaml, "slug"), (3, 1));
        assert_eq!(front_matter_key_position(yaml, "category"), (1, 1));
        let toml = "+++\ncategory = \"x y\"\n+++\n";
        assert_eq!(front_matter_key_position(toml, "category"), (2, 1));
        // A key in the body is not front matter.
        assert_eq!(front_matter_key_position("# T\nslug: x\n", "slug"), (1, 1));
    }

    fn audience(names: &str) -> Audience {
        Audience::from_value(&serde_json::json!(names)).unwrap()
    }

    fn segments(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn audience_problems_are_errors_and_a_link_some_readers_cannot_follow_is_a_warning() {
        assert_eq!(Code::InvalidAudience.severity(), Severity::Error);
        assert_eq!(Code::UnknownAudience.severity(), Severity::Error);
        assert_eq!(Code::InvalidFolderFile.severity(), Severity::Error);
        assert_eq!(Code::LinkToRestricted.severity(), Severity::Warning);
        assert_eq!(Code::UnknownAudience.as_str(), "unknown-audience");
        assert_eq!(Code::LinkToRestricted.as_str(), "link-to-restricted");
        assert_eq!(Code::InvalidFolderFile.as_str(), "invalid-folder-file");
        assert_eq!(Code::InvalidAudience.as_str(), "invalid-audience");
    }

    #[test]
    fn a_link_is_a_problem_only_for_readers_who_cannot_open_the_target() {
        let follow = |from: &str, to: &str| audience(from).is_within(&audience(to));
        assert!(!follow("public", "staff"));
        assert!(!follow("public", "signed-in"));
        assert!(!follow("signed-in", "gold"));
        assert!(!follow("gold", "partners"));
        assert!(!follow("gold, staff", "partners"));
        assert!(follow("public", "public"));
        assert!(follow("gold", "signed-in"));
        assert!(follow("gold", "gold, partners"));
        // Staff open every article.
        assert!(follow("staff", "gold"));
        assert!(follow("staff", "signed-in"));
        assert!(follow("gold, staff", "gold"));
    }

    #[test]
    fn only_names_neither_built_in_nor_declared_are_unknown() {
        let declared = segments(&["gold", "partners"]);
        let a = audience("public, signed-in, staff, gold, silver, bronze");
        let unknown: Vec<&str> = unknown_audience_names(&a, &declared)
            .map(AudienceName::as_str)
            .collect();
        assert_eq!(unknown, ["bronze", "silver"]);
        let none = segments(&[]);
        assert_eq!(unknown_audience_names(&audience("staff"), &none).count(), 0);
    }

    #[test]
    fn the_unknown_audience_message_lists_the_declared_segments() {
        let name = AudienceName::parse("silver").unwrap();
        assert_eq!(
            unknown_audience_message(&name, &segments(&["gold", "partners"])),
            "unknown audience \"silver\": it is neither built in (public, signed-in, staff) \
             nor a declared segment (gold, partners); segments are declared in the articles \
             folder's own _folder.toml"
        );
    }

    #[test]
    fn without_declared_segments_the_message_says_where_to_declare_them() {
        let name = AudienceName::parse("gold").unwrap();
        assert_eq!(
            unknown_audience_message(&name, &segments(&[])),
            "unknown audience \"gold\": it is not built in (public, signed-in, staff) and no \
             segments are declared; declare it in the articles folder's own _folder.toml: \
             segments = [\"gold\"]"
        );
    }

    #[test]
    fn a_folder_files_audience_key_is_found_before_any_table() {
        assert_eq!(
            toml_key_line("# staff only\n\naudience = \"staff\"\n", "audience"),
            3
        );
        assert_eq!(toml_key_line("\"audience\"= [\"a\"]\n", "audience"), 1);
        assert_eq!(
            toml_key_line("audiences = 1\n  audience=\"x\"\n", "audience"),
            2
        );
        // In a table, or absent: line 1.
        assert_eq!(toml_key_line("[x]\naudience = \"staff\"\n", "audience"), 1);
        assert_eq!(toml_key_line("segments = []\n", "audience"), 1);
    }

    #[test]
    fn a_folder_files_audience_is_read_when_the_file_sets_a_valid_one() {
        let a = folder_file_audience("segments = [\"gold\"]\naudience = [\"Gold\", \"staff\"]\n");
        assert_eq!(a.map(|a| a.to_string()).as_deref(), Some("gold, staff"));
        assert!(folder_file_audience("segments = [\"gold\"]\n").is_none());
        assert!(folder_file_audience("audience = \"go ld\"\n").is_none());
        assert!(folder_file_audience("audience = \n").is_none());
    }

    #[test]
    fn notes_are_indented_under_their_diagnostic_in_the_text_report() {
        let mut d = Diagnostic::new("b.md", 3, 1, Code::DuplicateSlug, "dup".into());
        d.notes.push(Note {
            path: "a.md".into(),
            line: 2,
            column: 1,
            message: "the slug \"s\" is first used here".into(),
        });
        let report = CheckReport::new(2, vec![d]);
        assert_eq!(
            report.to_text(Path::new("articles")),
            "articles/b.md:3:1: error: dup [duplicate-slug]\n  \
             articles/a.md:2:1: note: the slug \"s\" is first used here\n\
             1 error, 0 warnings in 1 file (2 files checked)\n"
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json["diagnostics"][0]["notes"],
            serde_json::json!([{
                "path": "a.md", "line": 2, "column": 1,
                "message": "the slug \"s\" is first used here"
            }])
        );
    }

    #[test]
    fn a_diagnostic_without_notes_serializes_as_before() {
        let report = CheckReport::new(
            1,
            vec![Diagnostic::new(
                "a.md",
                1,
                1,
                Code::MissingTitle,
                "x".into(),
            )],
        );
        let json = serde_json::to_value(&report).unwrap();
        let mut keys: Vec<&String> = json["diagnostics"][0].as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["code", "column", "line", "message", "path", "severity"]
        );
    }

    #[test]
    fn summary_counts_in_words() {
        let report = CheckReport::new(
            3,
            vec![
                Diagnostic::new("a.md", 1, 1, Code::BrokenLink, "x".into()),
                Diagnostic::new("a.md", 2, 1, Code::MissingTitle, "y".into()),
            ],
        );
        assert_eq!(
            report.summary(),
            "1 error, 1 warning in 1 file (3 files checked)"
        );
        assert!(report.has_errors());
    }
}
