//! Who may read an article: audiences in front matter and folder defaults, the
//! reader of a request, and the table of a snapshot's restricted articles.
//!
//! An article's `audience` is a list of names: `public` (the default), `signed-in` (any
//! valid token), `staff` (agents and admins, by their profile in the database), or a
//! segment (a signed-in customer whose verified token lists it in
//! `app_metadata.segments`). A reader may open an article when it holds any one of the
//! article's names; staff hold every name.
//!
//! Enforcement is fail-closed and lives in the engine: every path that lists, counts,
//! completes or serves articles takes a [`Reader`], and a snapshot's
//! [`AudienceTable`] says which documents each reader may not see. An article whose
//! audience names nobody the reader is, is simply not there for that reader: not in
//! hits, totals, facets, category counts, related or recent lists, the dictionary that
//! completes and corrects words, nor the nearest sections by meaning.
//!
//! Folder defaults: a `_folder.toml` in a folder sets the audience of the articles
//! below it (the nearest folder's file wins; an article's own `audience` wins over
//! both). The articles folder's own `_folder.toml` also lists the segment names
//! writers may use (`segments`), which `helpcenter check` holds articles to.
//!
//! ```toml
//! # articles/_folder.toml
//! segments = ["gold", "partners"]
//!
//! # articles/runbooks/_folder.toml
//! audience = "staff"
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use tantivy::index::SegmentId;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{BitSet, DocAddress, DocSet, Searcher, TERMINATED};

use super::loader::FileError;

/// The folder-defaults file's name.
pub const FOLDER_FILE: &str = "_folder.toml";

/// Everyone, signed in or not.
pub const PUBLIC: &str = "public";
/// Any reader with a valid token.
pub const SIGNED_IN: &str = "signed-in";
/// Agents and admins (decided by the database, never by a claim).
pub const STAFF: &str = "staff";

/// The names with a fixed meaning; every other valid name is a segment.
pub const RESERVED: [&str; 3] = [PUBLIC, SIGNED_IN, STAFF];

/// The index term every restricted article (one without `public`) also carries, so
/// that the table of restricted articles reads only their postings. It cannot be an
/// audience name (names never start with `~`).
pub const RESTRICTED_TERM: &str = "~restricted";

/// Longest audience name.
pub const MAX_NAME_LEN: usize = 64;
/// Most names in one audience list.
pub const MAX_NAMES: usize = 16;

/// One audience name, lowercase `a-z`, `0-9`, `-` and `_`, starting with a letter or
/// digit, at most [`MAX_NAME_LEN`] characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AudienceName(String);

impl AudienceName {
    /// Parses a name as written (surrounding spaces ignored, case folded).
    pub fn parse(s: &str) -> Result<Self, String> {
        let name = s.trim().to_ascii_lowercase();
        if name.is_empty() {
            return Err("an audience name must not be empty".into());
        }
        if name.len() > MAX_NAME_LEN {
            return Err(format!(
                "the audience name {name:?} is longer than {MAX_NAME_LEN} characters"
            ));
        }
        let valid = name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric());
        if !valid {
            return Err(format!(
                "the audience name {name:?} may only have letters, digits, `-` and `_`, \
                 starting with a letter or digit"
            ));
        }
        Ok(AudienceName(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it is `public`, `signed-in` or `staff` rather than a segment.
    pub fn is_reserved(&self) -> bool {
        RESERVED.contains(&self.0.as_str())
    }
}

impl fmt::Display for AudienceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who may read an article: a non-empty, sorted set of names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Audience(Vec<AudienceName>);

impl Default for Audience {
    fn default() -> Self {
        Audience::public()
    }
}

impl Audience {
    /// Everyone.
    pub fn public() -> Self {
        Audience(vec![AudienceName(PUBLIC.to_string())])
    }

    /// Parses a front-matter or `_folder.toml` value: one name, a comma-separated list
    /// or a list of names.
    pub fn from_value(v: &serde_json::Value) -> Result<Self, String> {
        let names: Vec<String> = match v {
            serde_json::Value::String(s) => s.split(',').map(str::to_string).collect(),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|i| match i {
                    serde_json::Value::String(s) => Ok(s.clone()),
                    other => Err(format!("audience names are text, got {other}")),
                })
                .collect::<Result<_, _>>()?,
            other => {
                return Err(format!(
                    "`audience` must be a name or a list of names, got {other}"
                ))
            }
        };
        Self::from_names(names.iter().map(String::as_str))
    }

    /// Parses a list of names.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut set = BTreeSet::new();
        for n in names {
            set.insert(AudienceName::parse(n)?);
        }
        if set.is_empty() {
            return Err("`audience` must name at least one audience".into());
        }
        if set.len() > MAX_NAMES {
            return Err(format!("`audience` may name at most {MAX_NAMES} audiences"));
        }
        Ok(Audience(set.into_iter().collect()))
    }

    /// Whether everyone may read it.
    pub fn is_public(&self) -> bool {
        self.0.iter().any(|n| n.as_str() == PUBLIC)
    }

    /// The names, sorted.
    pub fn names(&self) -> &[AudienceName] {
        &self.0
    }

    /// The terms of the index's `audience` field for an article with this audience.
    pub fn index_terms(&self) -> Vec<&str> {
        let mut terms: Vec<&str> = self.0.iter().map(|n| n.as_str()).collect();
        if !self.is_public() {
            terms.push(RESTRICTED_TERM);
        }
        terms
    }

    /// Whether every reader who may open this audience's articles may also open
    /// `other`'s (for `check`: a link from this article to `other` works for all of
    /// its readers). Staff open every article, so `staff` never narrows it.
    pub fn is_within(&self, other: &Audience) -> bool {
        if other.is_public() {
            return true;
        }
        self.0.iter().all(|n| {
            n.as_str() == STAFF
                || other.0.contains(n)
                || (n.as_str() != PUBLIC && other.0.iter().any(|o| o.as_str() == SIGNED_IN))
        })
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|n| n.as_str()).collect();
        f.write_str(&names.join(", "))
    }
}

/// Who is reading, computed once per request at the edge from the verified token and,
/// for staff, the user's profile in the database. The default is the least privileged
/// reader: a request that forgets to say who reads is anonymous.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum Reader {
    /// No token.
    #[default]
    Anonymous,
    /// A valid token of a customer, with the segments its `app_metadata` lists.
    SignedIn {
        /// Segment names (reserved and malformed names dropped), sorted.
        segments: BTreeSet<String>,
    },
    /// An agent or admin: reads every article.
    Staff,
}

impl Reader {
    /// A signed-in customer with these segments as the token lists them: names that
    /// do not parse and the reserved names are dropped (a token cannot claim `staff`).
    pub fn signed_in<'a>(segments: impl IntoIterator<Item = &'a str>) -> Reader {
        Reader::SignedIn {
            segments: segments
                .into_iter()
                .filter_map(|s| AudienceName::parse(s).ok())
                .filter(|n| !n.is_reserved())
                .map(|n| n.0)
                .collect(),
        }
    }

    /// Whether this reader is staff.
    pub fn is_staff(&self) -> bool {
        matches!(self, Reader::Staff)
    }

    /// Whether this reader is signed in (staff included).
    pub fn is_signed_in(&self) -> bool {
        !matches!(self, Reader::Anonymous)
    }

    /// Whether the reader may open an article carrying these audience names.
    pub fn may_read<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> bool {
        let mut names = names.into_iter();
        match self {
            Reader::Staff => true,
            Reader::Anonymous => names.any(|n| n == PUBLIC),
            Reader::SignedIn { segments } => {
                names.any(|n| n == PUBLIC || n == SIGNED_IN || segments.contains(n))
            }
        }
    }

    /// The restricted audience names whose articles this reader may read, among
    /// `present` (the names a snapshot has): the dictionaries it completes words from.
    pub fn readable_names<'a>(&self, present: &'a [Arc<str>]) -> Vec<&'a str> {
        present
            .iter()
            .map(|n| &**n)
            .filter(|n| self.may_read([*n]))
            .collect()
    }

    /// A short key naming what this reader may see, for caches of per-reader results.
    pub fn key(&self) -> String {
        match self {
            Reader::Anonymous => String::new(),
            Reader::Staff => "staff".into(),
            Reader::SignedIn { segments } => {
                let mut k = String::from("signed-in");
                for s in segments {
                    k.push(',');
                    k.push_str(s);
                }
                k
            }
        }
    }
}

/// The restricted articles of one snapshot (those without `public`), with their
/// audience names, by document. Built when a snapshot is made, from the postings of
/// [`RESTRICTED_TERM`] and of each name: a help center without restricted articles
/// reads one empty posting list.
#[derive(Default)]
pub struct AudienceTable {
    restricted: HashMap<DocAddress, Vec<Arc<str>>>,
    /// Every restricted name some live document has, sorted.
    names: Vec<Arc<str>>,
    /// Each segment's id and size, by ordinal.
    segments: Vec<(SegmentId, u32)>,
    /// The documents hidden from each kind of reader, as a bit set per segment, made
    /// once per snapshot and reader (keyed by [`Reader::key`]): a search then pays a
    /// map look-up and a copy of a few hundred words per segment, whatever the number
    /// of restricted articles.
    hidden: std::sync::Mutex<HashMap<String, HiddenDocs>>,
}

/// The documents a reader may not see: a bit set per segment (only segments with some).
pub type HiddenDocs = Arc<HashMap<SegmentId, BitSet>>;

/// Most kinds of reader whose hidden documents a snapshot remembers before starting
/// over (a reader kind is a set of segments).
const HIDDEN_CACHE_MAX: usize = 1_000;

impl std::fmt::Debug for AudienceTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudienceTable")
            .field("restricted", &self.restricted.len())
            .field("names", &self.names)
            .finish()
    }
}

impl AudienceTable {
    /// Reads the `audience` field of every segment of `searcher`.
    pub fn build(searcher: &Searcher, field: Field) -> tantivy::Result<AudienceTable> {
        let mut restricted: HashMap<DocAddress, Vec<Arc<str>>> = HashMap::new();
        let mut names: BTreeSet<Arc<str>> = BTreeSet::new();
        let segments = searcher
            .segment_readers()
            .iter()
            .map(|s| (s.segment_id(), s.max_doc()))
            .collect();
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let inverted = segment.inverted_index(field)?;
            let live = |doc| !segment.is_deleted(doc);
            let docs_of = |term: &[u8]| -> tantivy::Result<Vec<u32>> {
                let Some(info) = inverted.terms().get(term)? else {
                    return Ok(Vec::new());
                };
                let mut postings =
                    inverted.read_postings_from_terminfo(&info, IndexRecordOption::Basic)?;
                let mut out = Vec::new();
                let mut doc = postings.doc();
                while doc != TERMINATED {
                    if live(doc) {
                        out.push(doc);
                    }
                    doc = postings.advance();
                }
                Ok(out)
            };
            let restricted_docs = docs_of(RESTRICTED_TERM.as_bytes())?;
            if restricted_docs.is_empty() {
                continue;
            }
            for doc in &restricted_docs {
                restricted.insert(DocAddress::new(ord as u32, *doc), Vec::new());
            }
            let mut stream = inverted.terms().stream()?;
            let mut terms: Vec<String> = Vec::new();
            while stream.advance() {
                if let Ok(t) = std::str::from_utf8(stream.key()) {
                    if t != PUBLIC && t != RESTRICTED_TERM {
                        terms.push(t.to_string());
                    }
                }
            }
            for term in terms {
                let name: Arc<str> = Arc::from(term.as_str());
                let mut any = false;
                for doc in docs_of(term.as_bytes())? {
                    if let Some(list) = restricted.get_mut(&DocAddress::new(ord as u32, doc)) {
                        list.push(name.clone());
                        any = true;
                    }
                }
                if any {
                    names.insert(name);
                }
            }
        }
        Ok(AudienceTable {
            restricted,
            names: names.into_iter().collect(),
            segments,
            hidden: Default::default(),
        })
    }

    /// The documents `reader` may not see, as bit sets per segment; `None` when there
    /// are none (staff, or no restricted article).
    pub fn hidden_docs(&self, reader: &Reader) -> Option<HiddenDocs> {
        if self.restricted.is_empty() || reader.is_staff() {
            return None;
        }
        let key = reader.key();
        let mut cache = self.hidden.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = cache.get(&key) {
            return Some(found.clone()).filter(|h| !h.is_empty());
        }
        let mut sets: HashMap<SegmentId, BitSet> = HashMap::new();
        for addr in self.hidden_from(reader) {
            let Some(&(id, max_doc)) = self.segments.get(addr.segment_ord as usize) else {
                continue;
            };
            sets.entry(id)
                .or_insert_with(|| BitSet::with_max_value(max_doc))
                .insert(addr.doc_id);
        }
        let sets = Arc::new(sets);
        if cache.len() >= HIDDEN_CACHE_MAX {
            cache.clear();
        }
        cache.insert(key, sets.clone());
        Some(sets).filter(|h| !h.is_empty())
    }

    /// What `reader` may see in this snapshot, as a key for caches of per-reader
    /// results: `""` for everyone when every article is public; otherwise
    /// [`Reader::key`], which no two readers who see different articles share (staff
    /// is `"staff"`, the anonymous reader `""`).
    pub fn visibility_key(&self, reader: &Reader) -> String {
        if self.has_restricted() {
            reader.key()
        } else {
            String::new()
        }
    }

    /// Whether the snapshot has any restricted article.
    pub fn has_restricted(&self) -> bool {
        !self.restricted.is_empty()
    }

    /// Every restricted audience name in the snapshot, sorted.
    pub fn names(&self) -> &[Arc<str>] {
        &self.names
    }

    /// Whether `reader` may read the document at `addr` (a public one: always).
    pub fn may_read(&self, reader: &Reader, addr: DocAddress) -> bool {
        match self.restricted.get(&addr) {
            None => true,
            Some(names) => reader.may_read(names.iter().map(|n| &**n)),
        }
    }

    /// The documents `reader` may not see (none for staff).
    pub fn hidden_from(&self, reader: &Reader) -> Vec<DocAddress> {
        if reader.is_staff() {
            return Vec::new();
        }
        self.restricted
            .iter()
            .filter(|(_, names)| !reader.may_read(names.iter().map(|n| &**n)))
            .map(|(addr, _)| *addr)
            .collect()
    }
}

/// What a `_folder.toml` holds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FolderFile {
    audience: Option<toml::Value>,
    segments: Option<Vec<String>>,
}

/// The audience defaults of the articles folder's `_folder.toml` files, and the
/// segments the root one declares.
#[derive(Debug, Clone, Default)]
pub struct FolderDefaults {
    /// Folder (`""` for the root) → the default audience of the articles below it.
    by_folder: BTreeMap<String, Audience>,
    /// The segment names writers may use (the root file's `segments`).
    pub segments: BTreeSet<String>,
    /// Each `_folder.toml`'s path and content hash: part of the index's fingerprint,
    /// so a changed default rebuilds the index.
    pub files: Vec<(String, [u8; 32])>,
    /// Problems of the files. Fail-closed: a file that cannot be read or parsed
    /// makes its folder's articles staff-only until it is fixed (a typo in a file
    /// meant to restrict a folder must not publish it).
    pub errors: Vec<FileError>,
}

impl FolderDefaults {
    /// Reads the `_folder.toml` files at `rel_paths` (below `root`).
    pub fn load(root: &Path, rel_paths: &[String]) -> FolderDefaults {
        let mut out = FolderDefaults::default();
        for rel in rel_paths {
            let folder = rel
                .strip_suffix(FOLDER_FILE)
                .unwrap_or("")
                .trim_end_matches('/')
                .to_string();
            let staff_only = || Audience(vec![AudienceName(STAFF.to_string())]);
            let bytes = match std::fs::read(root.join(rel)) {
                Ok(b) => b,
                Err(e) => {
                    out.errors
                        .push(error(rel, 1, format!("cannot read the file: {e}")));
                    out.files.push((rel.clone(), [0; 32]));
                    out.by_folder.insert(folder, staff_only());
                    continue;
                }
            };
            out.files
                .push((rel.clone(), *blake3::hash(&bytes).as_bytes()));
            let text = String::from_utf8_lossy(&bytes);
            match parse_folder_file(&text, folder.is_empty()) {
                Ok((audience, segments)) => {
                    if let Some(a) = audience {
                        out.by_folder.insert(folder, a);
                    }
                    out.segments.extend(segments);
                }
                Err((line, message)) => {
                    out.errors.push(error(
                        rel,
                        line,
                        format!(
                            "{message}; its folder's articles are staff-only until it is fixed"
                        ),
                    ));
                    out.by_folder.insert(folder, staff_only());
                }
            }
        }
        out
    }

    /// The default audience of the article at `rel_path`: its nearest folder's.
    pub fn audience_for(&self, rel_path: &str) -> Option<&Audience> {
        let mut folder = rel_path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        loop {
            if let Some(a) = self.by_folder.get(folder) {
                return Some(a);
            }
            if folder.is_empty() {
                return None;
            }
            folder = folder.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        }
    }
}

fn error(path: &str, line: usize, message: String) -> FileError {
    FileError {
        path: path.to_string(),
        line,
        column: None,
        message,
    }
}

/// Parses a `_folder.toml`: its audience and (root only) its segments, or the line and
/// message of its first problem.
fn parse_folder_file(
    text: &str,
    is_root: bool,
) -> Result<(Option<Audience>, Vec<String>), (usize, String)> {
    let file: FolderFile = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(1);
        (line, format!("not a valid {FOLDER_FILE}: {}", e.message()))
    })?;
    let audience = match file.audience {
        None => None,
        Some(v) => {
            let json = serde_json::to_value(&v).unwrap_or_default();
            Some(Audience::from_value(&json).map_err(|m| (1, m))?)
        }
    };
    let mut segments = Vec::new();
    if let Some(list) = file.segments {
        if !is_root {
            return Err((
                1,
                "`segments` is read only from the articles folder's own _folder.toml".into(),
            ));
        }
        for s in list {
            let name = AudienceName::parse(&s).map_err(|m| (1, m))?;
            if name.is_reserved() {
                return Err((
                    1,
                    format!("{:?} is a built-in audience, not a segment", name.0),
                ));
            }
            segments.push(name.0);
        }
    }
    Ok((audience, segments))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_cannot_claim_staff_or_signed_in_as_a_segment() {
        let reader = Reader::signed_in(["gold", "staff", "signed-in", "Bad Name"]);
        assert_eq!(
            reader,
            Reader::SignedIn {
                segments: ["gold".to_string()].into()
            }
        );
        assert!(!reader.may_read([STAFF]));
        assert!(reader.may_read(["gold"]));
        assert!(reader.may_read([SIGNED_IN]));
        assert!(!reader.may_read(["silver"]));
    }

    #[test]
    fn the_anonymous_reader_reads_public_articles_only() {
        assert!(Reader::Anonymous.may_read([PUBLIC]));
        assert!(!Reader::Anonymous.may_read([SIGNED_IN]));
        assert!(!Reader::Anonymous.may_read(["gold"]));
        assert!(Reader::Staff.may_read(["gold"]));
    }

    #[test]
    fn readers_who_see_different_articles_never_share_a_cache_key() {
        let mut table = AudienceTable::default();
        assert_eq!(table.visibility_key(&Reader::Staff), "");
        assert_eq!(table.visibility_key(&Reader::Anonymous), "");
        table
            .restricted
            .insert(DocAddress::new(0, 1), vec![Arc::from(STAFF)]);
        let keys: Vec<String> = [
            Reader::Anonymous,
            Reader::Staff,
            Reader::signed_in([]),
            Reader::signed_in(["gold"]),
            Reader::signed_in(["gold", "partners"]),
            Reader::signed_in(["staff"]),
        ]
        .iter()
        .map(|r| table.visibility_key(r))
        .collect();
        let distinct: BTreeSet<&String> = keys.iter().collect();
        // `signed_in(["staff"])` drops the reserved name: it is `signed_in([])`.
        assert_eq!(distinct.len(), keys.len() - 1, "{keys:?}");
        assert_eq!(keys[2], keys[5]);
    }

    #[test]
    fn audiences_parse_from_a_name_or_a_list() {
        let a = Audience::from_value(&serde_json::json!("Gold, partners")).unwrap();
        assert_eq!(a.to_string(), "gold, partners");
        assert!(!a.is_public());
        assert_eq!(a.index_terms(), ["gold", "partners", RESTRICTED_TERM]);
        assert!(Audience::from_value(&serde_json::json!([])).is_err());
        assert!(Audience::from_value(&serde_json::json!("go ld")).is_err());
        assert!(Audience::from_value(&serde_json::json!(3)).is_err());
    }

    #[test]
    fn a_link_is_fine_when_every_reader_of_the_source_may_open_the_target() {
        let a = |s: &str| Audience::from_value(&serde_json::json!(s)).unwrap();
        assert!(a("public").is_within(&a("public")));
        assert!(!a("public").is_within(&a("staff")));
        assert!(a("gold").is_within(&a("signed-in")));
        assert!(!a("signed-in").is_within(&a("gold")));
        assert!(a("staff").is_within(&a("staff")));
        assert!(a("staff").is_within(&a("gold")), "staff open every article");
        assert!(!a("staff, gold").is_within(&a("partners")));
    }

    #[test]
    fn the_nearest_folder_default_wins() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("internal/deep")).unwrap();
        std::fs::write(root.join(FOLDER_FILE), "segments = [\"gold\"]\n").unwrap();
        std::fs::write(
            root.join("internal").join(FOLDER_FILE),
            "audience = \"staff\"\n",
        )
        .unwrap();
        std::fs::write(
            root.join("internal/deep").join(FOLDER_FILE),
            "audience = [\"gold\", \"staff\"]\n",
        )
        .unwrap();
        let files = vec![
            FOLDER_FILE.to_string(),
            format!("internal/{FOLDER_FILE}"),
            format!("internal/deep/{FOLDER_FILE}"),
        ];
        let d = FolderDefaults::load(root, &files);
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        assert_eq!(d.segments, ["gold".to_string()].into());
        assert!(d.audience_for("a.md").is_none());
        assert_eq!(
            d.audience_for("internal/x.md").unwrap().to_string(),
            "staff"
        );
        assert_eq!(
            d.audience_for("internal/deep/more/y.md")
                .unwrap()
                .to_string(),
            "gold, staff"
        );
    }

    #[test]
    fn a_broken_folder_file_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("x")).unwrap();
        std::fs::write(
            dir.path().join("x").join(FOLDER_FILE),
            "\naudiance = \"staff\"\n",
        )
        .unwrap();
        let d = FolderDefaults::load(dir.path(), &[format!("x/{FOLDER_FILE}")]);
        assert_eq!(d.errors.len(), 1);
        assert_eq!(d.errors[0].line, 2);
        assert!(
            d.errors[0].message.contains("audiance"),
            "{}",
            d.errors[0].message
        );
        assert_eq!(d.audience_for("x/a.md").unwrap().to_string(), "staff");
    }
}
