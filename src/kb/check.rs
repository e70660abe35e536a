//! `helpcenter check`: a linter for writers, run from their pre-commit hook and CI.
//!
//! It reads the articles folder exactly as the index does (the loader's file list,
//! ignore rules and parser; `index.md` and `_index.md` stand for their folder) and
//! reports what would make an article disappear, a link lead nowhere, or a page look
//! wrong. Each problem is a [`Diagnostic`] with a stable [`Code`].
//!
//! Severity follows one rule: an **error** means a reader misses content — the index
//! skips the file (front matter, slug, category, duplicate slug, unreadable) or a link
//! ends on a 404 (broken link, link to a draft). A **warning** means the page works but
//! is probably not what the writer meant: a missing title (the file name stands in), an
//! `#anchor` no heading defines (the page opens at the top), an empty article.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Serialize;

use super::article::{
    default_slug_path, Article, ArticleError, ArticleErrorKind, Html, LinkTarget, TitleSource,
};
use super::loader::{
    list_article_files, parse_sources, read_sources, FileError, SlugClaims, SourceFile,
};
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
    /// `_search.toml` does not parse or has an invalid entry; search keeps its last
    /// good configuration.
    InvalidSearchConfig,
}

impl Code {
    /// Every code, in the order of the documentation.
    pub const ALL: [Code; 11] = [
        Code::UnreadableFile,
        Code::InvalidFrontMatter,
        Code::InvalidSlug,
        Code::InvalidCategory,
        Code::DuplicateSlug,
        Code::MissingTitle,
        Code::EmptyArticle,
        Code::BrokenLink,
        Code::BrokenAnchor,
        Code::LinkToDraft,
        Code::InvalidSearchConfig,
    ];

    /// The stable name, such as `broken-link`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::UnreadableFile => "unreadable-file",
            Code::InvalidFrontMatter => "invalid-front-matter",
            Code::InvalidSlug => "invalid-slug",
            Code::InvalidCategory => "invalid-category",
            Code::DuplicateSlug => "duplicate-slug",
            Code::MissingTitle => "missing-title",
            Code::EmptyArticle => "empty-article",
            Code::BrokenLink => "broken-link",
            Code::BrokenAnchor => "broken-anchor",
            Code::LinkToDraft => "link-to-draft",
            Code::InvalidSearchConfig => "invalid-search-config",
        }
    }

    /// Each code always has the same severity (see the module documentation for why).
    pub fn severity(self) -> Severity {
        match self {
            Code::MissingTitle | Code::EmptyArticle | Code::BrokenAnchor => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// One problem found by `check`.
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
    /// duplicate slug's first definition).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
}

/// A place a [`Diagnostic`] refers to.
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

/// Everything `check` found in one folder; serializes as the `--format json` output.
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
    /// can jump to them), then the summary line.
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
                    "{}:{}:{}: note: {}\n",
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
/// configuration files. Fails only when the folder cannot be listed.
pub fn check_articles(root: &Path) -> std::io::Result<CheckReport> {
    let files = list_article_files(root)?;
    let (sources, read_errors) = read_sources(root, &files);
    let mut diagnostics: Vec<Diagnostic> = read_errors.iter().map(unreadable).collect();
    let results = parse_sources(&sources, Html::Skip);

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
                    let (line, column) = by_path
                        .get(holder.as_str())
                        .map(|first| front_matter_key_position(&first.text, "slug"))
                        .unwrap_or((1, 1));
                    duplicate.notes.push(Note {
                        path: holder.clone(),
                        line,
                        column,
                        message: format!(
                            "the slug {:?} is first defined here",
                            article.slug.as_str()
                        ),
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
    let site = Site::new(root, &articles, unparsed);
    for (src, article) in &articles {
        lint_article(src, article, &site, Links::Check, &mut diagnostics);
    }
    // A duplicate's own problems still count; its links do not, as it is never served.
    for (src, article) in &not_served {
        lint_article(src, article, &site, Links::Skip, &mut diagnostics);
    }
    diagnostics.extend(check_config_files(root));
    Ok(CheckReport::new(files.len(), diagnostics))
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
}

impl<'a> Site<'a> {
    fn new(
        root: &'a Path,
        articles: &[(&'a SourceFile, &'a Article)],
        unparsed: HashSet<&'a str>,
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
    };
    // Slug and category errors name no position; point at the front matter key when
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
