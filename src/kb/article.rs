//! One help article: front matter, markdown, and everything derived from them
//! (sections for search, sanitized HTML for reading, table of contents).
//!
//! Parsing is pure: it takes the file's relative path and text and never touches the
//! disk, so the loader, the watcher and `check` all share it.

use std::collections::HashMap;
use std::sync::LazyLock;

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag as MdTag, TagEnd};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::audience::{Audience, FolderDefaults};
use super::template::strip_template_tags_mapped;
use super::types::{display_name_of, Category, PathNameError, Slug, Tag};

/// A published or draft article, parsed.
#[derive(Debug, Clone)]
pub struct Article {
    /// Path below the articles folder, with `/` separators (`billing/invoices/x.md`).
    pub rel_path: String,
    /// Where the article is served.
    pub slug: Slug,
    /// Category (folder path unless the front matter says otherwise).
    pub category: Category,
    /// Title from front matter, else the first `#` heading, else the file name.
    pub title: String,
    /// One-line summary (`summary` or `description`).
    pub summary: Option<String>,
    /// Tags (`tags` and `keywords`), normalized and deduplicated.
    pub tags: Vec<Tag>,
    /// Drafts are never searchable and never served.
    pub draft: bool,
    /// Last update, from `updated` or the file's modification time (unix seconds).
    pub updated: i64,
    /// Headings in document order, with the anchors present in [`Article::html`].
    pub headings: Vec<Heading>,
    /// Plain text split at headings: the first section is the introduction.
    pub sections: Vec<Section>,
    /// Rendered, sanitized HTML.
    pub html: String,
    /// Targets of relative links to other `.md` files, as paths below the articles folder.
    pub md_links: Vec<String>,
    /// Links that point into the help center (other articles or this one's headings),
    /// with where they are in the file, for `check`.
    pub links: Vec<ArticleLink>,
    /// Where [`Article::title`] came from.
    pub title_source: TitleSource,
    /// Who may read it: the front matter's `audience`, else its folder's default
    /// (applied by the loader, see [`Article::apply_folder_default`]), else public.
    pub audience: Audience,
    /// Whether the front matter set [`Article::audience`] (a folder default then does
    /// not apply).
    pub audience_in_front_matter: bool,
}

impl Article {
    /// Takes the folder's default audience unless the front matter set one.
    pub fn apply_folder_default(&mut self, defaults: &FolderDefaults) {
        if !self.audience_in_front_matter {
            if let Some(a) = defaults.audience_for(&self.rel_path) {
                self.audience = a.clone();
            }
        }
    }
}

/// Where an article's title came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TitleSource {
    /// The front matter's `title`.
    FrontMatter,
    /// The first `#` heading.
    Heading,
    /// Neither: made from the file name.
    FileName,
}

/// A link from an article to an article of the help center, or to a heading of itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleLink {
    /// What the link points to.
    pub target: LinkTarget,
    /// The `#fragment`, percent-decoded, if any.
    pub fragment: Option<String>,
    /// The link's destination as written.
    pub dest: String,
    /// 1-based line of the link in the file.
    pub line: usize,
    /// 1-based column (in characters) of the link in the file.
    pub column: usize,
}

/// The article a link points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// A relative `.md` link, resolved to a path below the articles folder.
    File(String),
    /// A relative `.md` link that climbs out of the articles folder.
    OutsideFolder,
    /// An `/articles/{slug}` link, with the slug as written (percent-decoded).
    Slug(String),
    /// A bare `#fragment`: a heading of the same article.
    SamePage,
}

/// A heading of an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Heading {
    /// 1 to 6.
    pub level: u8,
    /// The heading's text.
    pub text: String,
    /// The `id` attribute of the heading in the HTML.
    pub anchor: String,
}

/// The text under one heading (or before the first one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Section {
    /// The heading that opens the section; `None` for the introduction.
    pub heading: Option<String>,
    /// The heading's anchor; `None` for the introduction.
    pub anchor: Option<String>,
    /// Plain text of the section (headings excluded).
    pub text: String,
}

impl Article {
    /// Plain text of all sections, for indexing.
    pub fn body_text(&self) -> String {
        let mut s = String::new();
        for section in &self.sections {
            s.push_str(&section.text);
            s.push('\n');
        }
        s
    }

    /// Heading texts joined, for indexing.
    pub fn headings_text(&self) -> String {
        self.headings
            .iter()
            .map(|h| h.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// RFC 3339 form of [`Article::updated`].
    pub fn updated_rfc3339(&self) -> String {
        rfc3339(self.updated)
    }
}

/// Formats unix seconds as RFC 3339 (UTC).
pub fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Why a file could not be read as an article. `line` is 1-based in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ArticleError {
    /// What kind of problem it is.
    pub kind: ArticleErrorKind,
    /// 1-based line in the file.
    pub line: usize,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What went wrong, for a writer.
    pub message: String,
}

/// The kinds of [`ArticleError`], so that `check` can give each its own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArticleErrorKind {
    /// The front matter is unclosed, or not valid YAML or TOML.
    FrontMatter,
    /// The slug (from the front matter or the path) is not a valid slug.
    Slug,
    /// The category (from the front matter or the folder) is not a valid category.
    Category,
    /// The front matter's `audience` is not a list of valid audience names.
    Audience,
    /// Anything else (the file could not be parsed at all).
    Other,
}

impl ArticleError {
    /// An error of `kind` at `line` (and `column`) of the file.
    pub fn at(
        kind: ArticleErrorKind,
        line: usize,
        column: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        ArticleError {
            kind,
            line,
            column,
            message: message.into(),
        }
    }
}

/// The fields of the front matter that the help center reads; others are ignored.
#[derive(Debug, Default, Clone)]
pub struct FrontMatter {
    /// `title`
    pub title: Option<String>,
    /// `slug`
    pub slug: Option<String>,
    /// `category`
    pub category: Option<String>,
    /// `tags` plus `keywords`
    pub tags: Vec<String>,
    /// `summary`, else `description`
    pub summary: Option<String>,
    /// `draft: true` or `status: draft`
    pub draft: bool,
    /// `updated` (or `lastmod`, `date`), as unix seconds
    pub updated: Option<i64>,
    /// `audience`, as written (parsed by [`parse_article_with`], which reports it)
    pub audience: Option<Value>,
}

/// Front matter split from the body. `body_line` is the 1-based line where the body starts.
#[derive(Debug)]
pub struct SplitSource<'a> {
    /// The front matter's fields.
    pub front: FrontMatter,
    /// The markdown after the front matter.
    pub body: &'a str,
    /// 1-based line of the file where `body` starts.
    pub body_line: usize,
    /// Byte offset in the file where `body` starts.
    pub body_offset: usize,
}

/// Splits and parses the front matter (YAML between `---` or TOML between `+++`).
pub fn split_front_matter(source: &str) -> Result<SplitSource<'_>, ArticleError> {
    let text = source.strip_prefix('\u{feff}').unwrap_or(source);
    let first_line_end = text.find('\n').unwrap_or(text.len());
    let fence = text[..first_line_end].trim_end();
    if fence != "---" && fence != "+++" {
        return Ok(SplitSource {
            front: FrontMatter::default(),
            body: text,
            body_line: 1,
            body_offset: source.len() - text.len(),
        });
    }
    // Find the closing fence on a line of its own.
    let mut pos = first_line_end + 1;
    let mut line_no = 2;
    let mut close: Option<(usize, usize)> = None;
    while pos <= text.len() {
        let end = text[pos..]
            .find('\n')
            .map(|i| pos + i)
            .unwrap_or(text.len());
        let line = text[pos..end].trim_end();
        if line == fence || (fence == "---" && line == "...") {
            close = Some((pos, end));
            break;
        }
        if end >= text.len() {
            break;
        }
        pos = end + 1;
        line_no += 1;
    }
    let Some((close_start, close_end)) = close else {
        return Err(ArticleError::at(
            ArticleErrorKind::FrontMatter,
            1,
            Some(1),
            format!(
                "front matter opened with `{fence}` is never closed; expected a line `{fence}`"
            ),
        ));
    };
    let raw = &text[(first_line_end + 1).min(close_start)..close_start];
    let value = if fence == "---" {
        parse_yaml(raw)?
    } else {
        parse_toml(raw)?
    };
    let front = front_matter_from_value(&value);
    let body_start = (close_end + 1).min(text.len());
    Ok(SplitSource {
        front,
        body: &text[body_start..],
        body_line: line_no + 1,
        body_offset: source.len() - text.len() + body_start,
    })
}

fn parse_yaml(raw: &str) -> Result<Value, ArticleError> {
    if raw.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_yaml_ng::from_str::<Value>(raw).map_err(|e| {
        let (line, col) = e
            .location()
            .map(|l| (l.line() + 1, Some(l.column())))
            .unwrap_or((2, None));
        let msg = e.to_string();
        // serde_yaml's message ends with its own " at line X column Y"; ours is relative to the file.
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        ArticleError::at(
            ArticleErrorKind::FrontMatter,
            line,
            col,
            format!("front matter is not valid YAML: {msg}"),
        )
    })
}

fn parse_toml(raw: &str) -> Result<Value, ArticleError> {
    raw.parse::<toml::Table>()
        .map(|t| toml_to_json(toml::Value::Table(t)))
        .map_err(|e| {
            let (line, col) = e
                .span()
                .map(|span| {
                    let before = &raw[..span.start.min(raw.len())];
                    let line = before.matches('\n').count() + 2;
                    let col = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
                    (line, Some(col))
                })
                .unwrap_or((2, None));
            let msg = e.message().to_string();
            ArticleError::at(
                ArticleErrorKind::FrontMatter,
                line,
                col,
                format!("front matter is not valid TOML: {msg}"),
            )
        })
}

fn toml_to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn list_of_text(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().filter_map(scalar_text).collect(),
        Value::String(s) => s
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "yes"),
        Value::Number(n) => n.as_i64() == Some(1),
        _ => false,
    }
}

/// Parses `2026-10-14`, RFC 3339 date-times, and `2026-10-14 10:00:00` as UTC.
pub fn parse_date(s: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    let date_part = s.get(..10)?;
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(date_part, &fmt).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

fn front_matter_from_value(v: &Value) -> FrontMatter {
    let Value::Object(map) = v else {
        return FrontMatter::default();
    };
    let get = |k: &str| map.get(k);
    let mut tags = get("tags").map(list_of_text).unwrap_or_default();
    tags.extend(get("keywords").map(list_of_text).unwrap_or_default());
    let draft = get("draft").is_some_and(truthy)
        || get("status")
            .and_then(scalar_text)
            .is_some_and(|s| s.eq_ignore_ascii_case("draft"));
    let updated = ["updated", "lastmod", "last_updated", "date"]
        .iter()
        .find_map(|k| get(k).and_then(scalar_text).and_then(|s| parse_date(&s)));
    FrontMatter {
        title: get("title").and_then(scalar_text),
        slug: get("slug").and_then(scalar_text),
        category: get("category").and_then(scalar_text),
        tags,
        summary: get("summary")
            .and_then(scalar_text)
            .or_else(|| get("description").and_then(scalar_text)),
        draft,
        updated,
        // Who may read an article must not hinge on a key's case: `Audience:` and
        // `audiences:` restrict it as `audience:` does (a misspelt key would publish it).
        audience: map
            .iter()
            .find(|(k, _)| matches!(k.to_ascii_lowercase().as_str(), "audience" | "audiences"))
            .map(|(_, v)| v.clone()),
    }
}

/// The default slug of a file: its path without `.md`; `index.md`/`_index.md` take their folder's.
pub fn default_slug_path(rel_path: &str) -> String {
    let without_ext = rel_path.strip_suffix(".md").unwrap_or(rel_path);
    match without_ext.rsplit_once('/') {
        Some((dir, "index" | "_index")) => dir.to_string(),
        None if without_ext == "index" || without_ext == "_index" => String::new(),
        _ => without_ext.to_string(),
    }
}

/// The default category of a file: the folder it is in (for `index.md`, the folder it stands for).
pub fn default_category_path(rel_path: &str) -> String {
    let file_name = rel_path.rsplit('/').next().unwrap_or(rel_path);
    if file_name == "index.md" || file_name == "_index.md" {
        return default_slug_path(rel_path);
    }
    rel_path
        .rsplit_once('/')
        .map(|(dir, _)| dir.to_string())
        .unwrap_or_default()
}

/// The slug a file will have, from its front matter or its path.
pub fn slug_for(rel_path: &str, front: &FrontMatter) -> Result<Slug, ArticleError> {
    if let Some(s) = &front.slug {
        return Slug::parse(s).map_err(|e| {
            ArticleError::at(
                ArticleErrorKind::Slug,
                1,
                None,
                format!("front matter `slug` {s:?} {e}"),
            )
        });
    }
    let path = default_slug_path(rel_path);
    if path.is_empty() {
        // The articles folder's own index.md: the home page of the help center.
        return Ok(Slug::parse("index").expect("static slug"));
    }
    Slug::parse(&path).map_err(|e| path_error(rel_path, e))
}

fn path_error(rel_path: &str, e: PathNameError) -> ArticleError {
    ArticleError::at(
        ArticleErrorKind::Slug,
        1,
        None,
        format!(
            "the file path {rel_path:?} cannot be a slug: it {e}; set `slug` in the front matter"
        ),
    )
}

/// Resolves a link target (a path below the articles folder) to the slug it is served at.
pub trait LinkResolver {
    /// The slug of the article at `rel_path`, if there is one.
    fn slug_of(&self, rel_path: &str) -> Option<Slug>;
}

/// Resolves by the default slug rule only (no knowledge of other files' front matter).
pub struct PathResolver;

impl LinkResolver for PathResolver {
    fn slug_of(&self, rel_path: &str) -> Option<Slug> {
        Slug::parse(&default_slug_path(rel_path)).ok()
    }
}

impl LinkResolver for HashMap<String, Slug> {
    fn slug_of(&self, rel_path: &str) -> Option<Slug> {
        self.get(rel_path)
            .cloned()
            .or_else(|| PathResolver.slug_of(rel_path))
    }
}

/// Parses an article. `mtime` (unix seconds) stands in when the front matter has no date.
pub fn parse_article(
    rel_path: &str,
    source: &str,
    mtime: i64,
    links: &dyn LinkResolver,
) -> Result<Article, ArticleError> {
    parse_article_with(rel_path, source, mtime, links, Html::Render)
}

/// Whether parsing renders the article's HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Html {
    /// Render and sanitize [`Article::html`], as the index needs.
    Render,
    /// Leave [`Article::html`] empty: `check` needs only the structure, and rendering
    /// plus sanitizing is most of the parsing time.
    Skip,
}

/// [`parse_article`], choosing whether to render the HTML.
pub fn parse_article_with(
    rel_path: &str,
    source: &str,
    mtime: i64,
    links: &dyn LinkResolver,
    html: Html,
) -> Result<Article, ArticleError> {
    let split = split_front_matter(source)?;
    let front = split.front;
    let slug = slug_for(rel_path, &front)?;
    let category = match &front.category {
        Some(c) => Category::parse(c)
            .map_err(|e| ArticleError::at(ArticleErrorKind::Category, 1, None, format!("front matter `category` {c:?} {e}")))?,
        None => Category::parse(&default_category_path(rel_path)).map_err(|e| {
            ArticleError::at(
                ArticleErrorKind::Category,
                1,
                None,
                format!("the folder of {rel_path:?} cannot be a category: it {e}; set `category` in the front matter"),
            )
        })?,
    };
    let body = strip_template_tags_mapped(split.body);
    let rendered = render_markdown(&body.text, rel_path, links, html);
    let mut positions = LineCounter::new(source);
    let links = rendered
        .links
        .into_iter()
        .map(|(offset, link)| {
            let (line, column) = positions.locate(split.body_offset + body.original_offset(offset));
            ArticleLink {
                line,
                column,
                ..link
            }
        })
        .collect();

    let first_h1 = rendered.headings.iter().find(|h| h.level == 1);
    let (title, title_source) = match (&front.title, first_h1) {
        (Some(title), _) => (title.clone(), TitleSource::FrontMatter),
        (None, Some(h1)) => (h1.text.clone(), TitleSource::Heading),
        (None, None) => {
            let stem = default_slug_path(rel_path);
            let name = display_name_of(stem.rsplit('/').next().unwrap_or(&stem));
            (name, TitleSource::FileName)
        }
    };
    let audience = match &front.audience {
        None => None,
        Some(v) => Some(Audience::from_value(v).map_err(|e| {
            let line = source
                .lines()
                .position(|l| {
                    let l = l.trim_start();
                    l.starts_with("audience:")
                        || l.starts_with("audience ")
                        || l.starts_with("audience=")
                })
                .map_or(1, |i| i + 1);
            ArticleError::at(
                ArticleErrorKind::Audience,
                line,
                None,
                format!("front matter {e}"),
            )
        })?),
    };
    let mut tags: Vec<Tag> = Vec::new();
    for t in front.tags.iter().filter_map(|t| Tag::parse(t)) {
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    Ok(Article {
        rel_path: rel_path.to_string(),
        slug,
        category,
        title,
        summary: front.summary,
        tags,
        draft: front.draft,
        updated: front.updated.unwrap_or(mtime),
        headings: rendered.headings,
        sections: rendered.sections,
        html: rendered.html,
        md_links: rendered.md_links,
        links,
        title_source,
        audience_in_front_matter: audience.is_some(),
        audience: audience.unwrap_or_default(),
    })
}

struct Rendered {
    headings: Vec<Heading>,
    sections: Vec<Section>,
    html: String,
    md_links: Vec<String>,
    /// Links into the help center, each with its byte offset in the rendered markdown
    /// (line and column are filled in by the caller, who knows the whole file).
    links: Vec<(usize, ArticleLink)>,
}

/// Turns byte offsets of one text into 1-based lines and columns; fastest when asked
/// in increasing order, as links come.
struct LineCounter<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
    line_start: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        LineCounter {
            text,
            offset: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// `(line, column)` of byte `offset`; the column counts characters.
    fn locate(&mut self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        if offset < self.offset {
            *self = LineCounter::new(self.text);
        }
        let skipped = &self.text.as_bytes()[self.offset..offset];
        if let Some(last) = memchr::memrchr(b'\n', skipped) {
            self.line += memchr::memchr_iter(b'\n', skipped).count();
            self.line_start = self.offset + last + 1;
        }
        self.offset = offset;
        let column = self.text[self.line_start..offset].chars().count() + 1;
        (self.line, column)
    }
}

/// Turns heading text into an anchor: lowercase words joined by `-`.
pub fn anchor_of(text: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '_' {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c);
        } else if c.is_whitespace() || c == '-' {
            dash = true;
        }
    }
    if out.is_empty() {
        "section".to_string()
    } else {
        out
    }
}

/// Resolves a relative `.md` link from the article at `from` to a path below the articles folder.
/// Returns `(target path, fragment)`; `None` for absolute URLs and non-markdown targets.
pub fn resolve_md_link(from: &str, dest: &str) -> Option<(String, Option<String>)> {
    if dest.contains("://") || dest.starts_with('/') || dest.starts_with("mailto:") {
        return None;
    }
    let (path, fragment) = match dest.split_once('#') {
        Some((p, f)) => (p, Some(f.to_string())),
        None => (dest, None),
    };
    let path = path.split('?').next().unwrap_or(path);
    if !path.ends_with(".md") {
        return None;
    }
    Some((join_relative(from, path)?, fragment))
}

/// The path below the articles folder that `path`, relative to the article at `from`,
/// names; `None` when it climbs out of the folder.
fn join_relative(from: &str, path: &str) -> Option<String> {
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop(); // the file itself
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// Decides whether a link destination points into the help center, and where.
///
/// Links to articles are relative links to `.md` files (resolved from the folder of
/// `from`, as GitHub and editors do) and `/articles/{slug}` links; a bare `#fragment`
/// points to a heading of the same article. Everything else is not ours: URLs with a
/// scheme (`https:`, `mailto:`…), protocol-relative `//host` links, other absolute
/// site paths (MDN's `/en-US/docs/…`, Hugo's `/manuals/…`), and relative links to
/// anything but `.md` (images, downloads, folders). Query strings are ignored.
pub fn classify_link(from: &str, dest: &str) -> Option<(LinkTarget, Option<String>)> {
    let dest = dest.trim();
    if has_scheme(dest) || dest.starts_with("//") {
        return None;
    }
    let (path, fragment) = match dest.split_once('#') {
        Some((p, f)) => (p, Some(percent_decode(f)).filter(|f| !f.is_empty())),
        None => (dest, None),
    };
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() {
        return fragment.map(|f| (LinkTarget::SamePage, Some(f)));
    }
    if let Some(rest) = path.strip_prefix('/') {
        let slug = rest.strip_prefix("articles")?;
        if !(slug.is_empty() || slug.starts_with('/')) {
            return None;
        }
        let slug = percent_decode(slug.trim_matches('/'));
        // `/articles/` itself is the list of articles, not one article.
        return (!slug.is_empty()).then_some((LinkTarget::Slug(slug), fragment));
    }
    if !path.ends_with(".md") {
        return None;
    }
    let target = match join_relative(from, &percent_decode(path)) {
        Some(p) => LinkTarget::File(p),
        None => LinkTarget::OutsideFolder,
    };
    Some((target, fragment))
}

/// True when `dest` starts with a URL scheme (`https:`, `mailto:`, `tel:`…).
fn has_scheme(dest: &str) -> bool {
    let Some((scheme, _)) = dest.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Decodes `%XX` escapes; text that does not decode to UTF-8 is returned as it is.
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

fn render_markdown(md: &str, rel_path: &str, links: &dyn LinkResolver, html: Html) -> Rendered {
    let opts = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_FOOTNOTES;
    let mut events: Vec<Event> = Vec::new();
    let mut headings: Vec<Heading> = Vec::new();
    let mut sections: Vec<Section> = vec![Section {
        heading: None,
        anchor: None,
        text: String::new(),
    }];
    let mut used_anchors: HashMap<String, usize> = HashMap::new();
    let mut heading_start: Option<(usize, HeadingLevel)> = None;
    let mut heading_text = String::new();
    let mut md_links = Vec::new();
    let mut internal_links = Vec::new();

    for (event, range) in Parser::new_ext(md, opts).into_offset_iter() {
        match event {
            Event::Start(MdTag::Heading { level, .. }) => {
                heading_start = Some((events.len(), level));
                heading_text.clear();
                events.push(event);
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((idx, level)) = heading_start.take() {
                    let text = heading_text.trim().to_string();
                    let explicit = match &events[idx] {
                        Event::Start(MdTag::Heading { id: Some(id), .. }) => Some(id.to_string()),
                        _ => None,
                    };
                    let base = explicit.unwrap_or_else(|| anchor_of(&text));
                    let n = used_anchors.entry(base.clone()).or_insert(0);
                    let anchor = if *n == 0 {
                        base.clone()
                    } else {
                        format!("{base}-{n}")
                    };
                    *n += 1;
                    if let Event::Start(MdTag::Heading {
                        level,
                        classes,
                        attrs,
                        ..
                    }) = std::mem::replace(&mut events[idx], Event::SoftBreak)
                    {
                        events[idx] = Event::Start(MdTag::Heading {
                            level,
                            id: Some(CowStr::from(anchor.clone())),
                            classes,
                            attrs,
                        });
                    }
                    headings.push(Heading {
                        level: level as u8,
                        text: text.clone(),
                        anchor: anchor.clone(),
                    });
                    sections.push(Section {
                        heading: Some(text),
                        anchor: Some(anchor),
                        text: String::new(),
                    });
                }
                events.push(event);
            }
            Event::Text(ref t) | Event::Code(ref t) => {
                if heading_start.is_some() {
                    heading_text.push_str(t);
                } else if let Some(s) = sections.last_mut() {
                    s.text.push_str(t);
                }
                events.push(event);
            }
            Event::SoftBreak | Event::HardBreak => {
                if heading_start.is_some() {
                    heading_text.push(' ');
                } else if let Some(s) = sections.last_mut() {
                    s.text.push(' ');
                }
                events.push(event);
            }
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableCell
                | TagEnd::TableRow
                | TagEnd::BlockQuote(_),
            ) => {
                if let Some(s) = sections.last_mut() {
                    if !s.text.ends_with('\n') && !s.text.is_empty() {
                        s.text.push('\n');
                    }
                }
                events.push(event);
            }
            Event::Start(MdTag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                if let Some((target, fragment)) = classify_link(rel_path, &dest_url) {
                    internal_links.push((
                        range.start,
                        ArticleLink {
                            target,
                            fragment,
                            dest: dest_url.to_string(),
                            line: 0,
                            column: 0,
                        },
                    ));
                }
                let dest_url = match resolve_md_link(rel_path, &dest_url) {
                    Some((target, fragment)) => {
                        md_links.push(target.clone());
                        match links.slug_of(&target) {
                            Some(slug) => {
                                let mut url = slug.url();
                                if let Some(f) = fragment {
                                    url.push('#');
                                    url.push_str(&f);
                                }
                                CowStr::from(url)
                            }
                            None => dest_url,
                        }
                    }
                    None => dest_url,
                };
                events.push(Event::Start(MdTag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                }));
            }
            other => events.push(other),
        }
    }
    if sections.first().is_some_and(|s| s.text.trim().is_empty()) && sections.len() > 1 {
        sections.remove(0);
    }
    for s in &mut sections {
        let trimmed = s.text.trim();
        if trimmed.len() != s.text.len() {
            s.text = trimmed.to_string();
        }
    }
    let html = match html {
        Html::Render => {
            let mut raw_html = String::with_capacity(md.len() * 3 / 2);
            pulldown_cmark::html::push_html(&mut raw_html, events.into_iter());
            sanitize_html(&raw_html)
        }
        Html::Skip => String::new(),
    };
    Rendered {
        headings,
        sections,
        html,
        md_links,
        links: internal_links,
    }
}

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    for h in ["h1", "h2", "h3", "h4", "h5", "h6"] {
        b.add_tag_attributes(h, &["id"]);
    }
    b.add_tag_attributes("code", &["class"]);
    b.add_tag_attributes("input", &["type", "checked", "disabled"]);
    b.add_tags(&["input"]);
    b.add_tag_attributes("sup", &["id"]);
    b.add_tag_attributes("div", &["id"]);
    b.add_tag_attributes("li", &["id"]);
    b
});

/// Removes scripts, frames, event handlers and `javascript:` URLs; keeps ordinary markup.
pub fn sanitize_html(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(path: &str, src: &str) -> Article {
        parse_article(path, src, 0, &PathResolver).unwrap()
    }

    #[test]
    fn yaml_front_matter_fields_are_read() {
        let a = parse(
            "billing/invoices/download-invoice.md",
            "---\ntitle: Download an invoice\ntags: [Billing, invoices]\nkeywords: pdf, receipt\nsummary: How to\nupdated: 2026-10-14\nunknown: 1\n---\n\nIntro text.\n\n## Step one\n\nClick **Billing**.\n",
        );
        assert_eq!(a.slug.as_str(), "billing/invoices/download-invoice");
        assert_eq!(a.category.as_str(), "billing/invoices");
        assert_eq!(a.title, "Download an invoice");
        let tags: Vec<_> = a.tags.iter().map(|t| t.as_str()).collect();
        assert_eq!(tags, vec!["billing", "invoices", "pdf", "receipt"]);
        assert_eq!(a.summary.as_deref(), Some("How to"));
        assert_eq!(a.updated_rfc3339(), "2026-10-14T00:00:00Z");
        assert_eq!(a.sections.len(), 2);
        assert_eq!(a.sections[1].anchor.as_deref(), Some("step-one"));
        assert!(a.html.contains("<h2 id=\"step-one\">"));
        assert!(!a.draft);
    }

    #[test]
    fn toml_front_matter_and_status_draft() {
        let a = parse(
            "x.md",
            "+++\ntitle = \"T\"\nstatus = \"draft\"\nupdated = 2026-01-02\n+++\nbody",
        );
        assert!(a.draft);
        assert_eq!(a.title, "T");
        assert!(a.category.is_root());
    }

    #[test]
    fn title_falls_back_to_heading_then_file_name() {
        assert_eq!(
            parse("a/b.md", "# Hello there\n\ntext").title,
            "Hello there"
        );
        assert_eq!(parse("a/reset-password.md", "text").title, "Reset password");
    }

    #[test]
    fn index_md_stands_for_its_folder() {
        let a = parse("shipping/index.md", "# Shipping");
        assert_eq!(a.slug.as_str(), "shipping");
        assert_eq!(a.category.as_str(), "shipping");
        let b = parse("guides/_index.md", "# Guides");
        assert_eq!(b.slug.as_str(), "guides");
    }

    #[test]
    fn broken_yaml_names_the_line() {
        let err = parse_article(
            "x.md",
            "---\ntitle: ok\ntags: [a, b\n---\nbody",
            0,
            &PathResolver,
        )
        .unwrap_err();
        assert!(err.line >= 3, "{err:?}");
        assert!(err.message.contains("YAML"), "{err:?}");
    }

    #[test]
    fn unclosed_front_matter_is_an_error() {
        assert!(parse_article("x.md", "---\ntitle: ok\nbody", 0, &PathResolver).is_err());
    }

    #[test]
    fn hostile_html_is_sanitized_and_markdown_survives() {
        let a = parse(
            "x.md",
            "# T\n\n<script>alert(1)</script>\n<iframe src=\"https://evil\"></iframe>\n<img src=x onerror=\"alert(1)\">\n[click](javascript:alert(1))\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```rust\nfn main() {}\n```\n",
        );
        assert!(!a.html.contains("<script"));
        assert!(!a.html.contains("<iframe"));
        assert!(!a.html.contains("onerror"));
        assert!(!a.html.contains("href=\"javascript:"), "{}", a.html);
        assert!(a.html.contains("<table>"));
        assert!(a.html.contains("<pre><code class=\"language-rust\">"));
    }

    #[test]
    fn relative_md_links_become_article_urls() {
        let a = parse(
            "billing/plans.md",
            "See [invoices](invoices/download-invoice.md#steps) and [reset](../account/index.md).",
        );
        assert!(a
            .html
            .contains("href=\"/articles/billing/invoices/download-invoice#steps\""));
        assert!(a.html.contains("href=\"/articles/account\""));
        assert_eq!(
            a.md_links,
            vec!["billing/invoices/download-invoice.md", "account/index.md"]
        );
    }

    #[test]
    fn links_into_the_help_center_are_classified() {
        let c = |dest| classify_link("billing/plans.md", dest);
        let file = |p: &str, f: Option<&str>| {
            Some((LinkTarget::File(p.to_string()), f.map(str::to_string)))
        };
        assert_eq!(
            c("invoices/x.md#steps"),
            file("billing/invoices/x.md", Some("steps"))
        );
        assert_eq!(c("../a%20b.md?utm=1"), file("a b.md", None));
        assert_eq!(c("../../out.md"), Some((LinkTarget::OutsideFolder, None)));
        assert_eq!(
            c("/articles/web/css/%3A%3Abefore/#x"),
            Some((
                LinkTarget::Slug("web/css/::before".into()),
                Some("x".into())
            ))
        );
        assert_eq!(
            c("#caf%C3%A9"),
            Some((LinkTarget::SamePage, Some("café".into())))
        );
        for not_ours in [
            "https://example.com/a.md",
            "mailto:a@b.c",
            "tel:+1555",
            "//cdn.example.com/a.md",
            "/en-US/docs/Web",
            "/articlesx/a",
            "/articles/",
            "images/a.png",
            "../billing/",
            "#",
            "",
        ] {
            assert_eq!(c(not_ours), None, "{not_ours}");
        }
    }

    #[test]
    fn links_know_their_line_and_column_in_the_file() {
        let src = "---\ntitle: T\n---\n\n{{< note\n  a=\"b\" >}} Über [x](x.md)\n\n- [y][r]\n\n[r]: /articles/y\n";
        let a = parse("p.md", src);
        let at: Vec<_> = a
            .links
            .iter()
            .map(|l| (l.dest.as_str(), l.line, l.column))
            .collect();
        assert_eq!(at, vec![("x.md", 6, 18), ("/articles/y", 8, 3)]);
    }

    #[test]
    fn title_source_says_where_the_title_came_from() {
        assert_eq!(
            parse("a.md", "---\ntitle: T\n---\n# H").title_source,
            TitleSource::FrontMatter
        );
        assert_eq!(
            parse("a.md", "# H\n\ntext").title_source,
            TitleSource::Heading
        );
        assert_eq!(
            parse("a.md", "## H2\n\ntext").title_source,
            TitleSource::FileName
        );
    }

    #[test]
    fn html_can_be_skipped_without_changing_the_rest() {
        let src = "# T\n\n## Part\n\nSee [x](x.md#part).";
        let full = parse_article_with("a.md", src, 0, &PathResolver, Html::Render).unwrap();
        let bare = parse_article_with("a.md", src, 0, &PathResolver, Html::Skip).unwrap();
        assert!(bare.html.is_empty() && !full.html.is_empty());
        assert_eq!(full.headings, bare.headings);
        assert_eq!(full.sections, bare.sections);
        assert_eq!(full.links, bare.links);
    }

    #[test]
    fn duplicate_headings_get_distinct_anchors() {
        let a = parse("x.md", "## Steps\n\na\n\n## Steps\n\nb");
        let anchors: Vec<_> = a.headings.iter().map(|h| h.anchor.as_str()).collect();
        assert_eq!(anchors, vec!["steps", "steps-1"]);
    }
}
