//! The tantivy index: schema, analyzers, and the on-disk generations that make a full
//! rebuild atomic.
//!
//! Layout of the index folder:
//!
//! ```text
//! index/
//!   CURRENT            name of the live generation (replaced by rename, so always whole)
//!   gen-<nanos>/       one complete tantivy index + manifest.json
//! ```
//!
//! A rebuild writes a new `gen-*` folder beside the live one and only then points
//! `CURRENT` at it, so a crash or error mid-build leaves the old index serving.
//!
//! Between rebuilds, the live generation takes incremental updates ([`apply_update`]):
//! the changed articles are deleted and re-added by slug in one tantivy commit, their
//! HTML and sections are appended to `html.bin` (never rewritten, so older snapshots
//! stay valid), and
//! the manifest is replaced by rename after the commit.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, STORED,
    STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};
use tantivy::{
    doc, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};

use super::article::Article;
use super::audience::AudienceTable;
use super::directory::{boot_id, updates_survived, UnsyncedDirectory};
use super::facets::FacetTable;
use super::semantic::{Embedder, SectionVectors};

/// Bumped whenever the schema or the analyzers change: an index with another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 8;

/// Name of the stemming analyzer used by the searchable text fields.
pub const EN: &str = "hc_en";
/// Name of the non-stemming analyzer of the vocabulary field (typo and prefix expansion).
pub const RAW: &str = "hc_raw";

/// Tokens longer than this are dropped (hashes, base64 blobs).
pub const MAX_TOKEN_LEN: usize = 40;

/// The stemming analyzer: words, lowercased, accents folded, English stems.
pub fn en_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_LEN))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The vocabulary analyzer: like [`en_analyzer`] without stemming.
pub fn raw_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_LEN))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Handles to every field of the schema.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// Article slug (raw, stored, fast): identity and lookup.
    pub slug: Field,
    /// Source path below the articles folder (raw, stored, fast: a reused index tells
    /// which file each document came from without loading documents).
    pub rel_path: Field,
    /// Title (stemmed, positions, stored).
    pub title: Field,
    /// Heading texts (stemmed, positions).
    pub headings: Field,
    /// Tags as text (stemmed).
    pub tags_text: Field,
    /// Summary (stemmed, positions, stored).
    pub summary: Field,
    /// Body text (stemmed, positions).
    pub body: Field,
    /// Every word of the public articles, unstemmed: the dictionary typo and prefix
    /// expansion read for every reader.
    pub vocab: Field,
    /// Every word of the restricted articles, as `name` U+001F `word` for each of the
    /// article's audience names (raw terms): a reader completes and corrects words from
    /// the audiences it may read only, so a restricted article's rare words are not in
    /// another reader's dictionary.
    pub vocab_restricted: Field,
    /// The article's audience names, plus [`RESTRICTED_TERM`] when it is not public
    /// (raw): the snapshot's [`AudienceTable`] is read from it.
    pub audience: Field,
    /// The article's own category (raw, stored).
    pub category: Field,
    /// The category and all its ancestors (raw, fast): filters and facet counts.
    pub category_path: Field,
    /// Tags (raw, stored, fast): filters and facet counts.
    pub tag: Field,
    /// Lowercased title (fast): the order of the article list.
    pub title_sort: Field,
    /// Last update, unix seconds (stored, fast).
    pub updated: Field,
    /// Where the sanitized HTML starts in the generation's `html.bin` (stored only).
    pub html_offset: Field,
    /// Its length in bytes (stored only).
    pub html_len: Field,
    /// Headings as JSON (stored only).
    pub headings_json: Field,
    /// Where the article's card (what a search hit shows, then its sections, in the
    /// compact form of [`encode_card`]) starts in the generation's blob file (fast,
    /// stored): a hit is built from a fast-field lookup and the memory map, without
    /// decompressing a doc-store block.
    pub card_offset: Field,
    /// Its length in bytes (fast, stored).
    pub card_len: Field,
}

/// Builds the schema and its field handles.
pub fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |analyzer: &str, positions: bool| {
        let record = if positions {
            IndexRecordOption::WithFreqsAndPositions
        } else {
            IndexRecordOption::WithFreqs
        };
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analyzer)
                .set_index_option(record),
        )
    };
    let fast_string = || STRING | tantivy::schema::FAST;
    let fields = Fields {
        slug: b.add_text_field("slug", fast_string() | STORED),
        rel_path: b.add_text_field("rel_path", fast_string() | STORED),
        title: b.add_text_field("title", text(EN, true) | STORED),
        headings: b.add_text_field("headings", text(EN, true)),
        tags_text: b.add_text_field("tags_text", text(EN, true)),
        summary: b.add_text_field("summary", text(EN, true) | STORED),
        body: b.add_text_field("body", text(EN, true)),
        vocab: b.add_text_field("vocab", text(RAW, false)),
        vocab_restricted: b.add_text_field("vocab_restricted", STRING),
        audience: b.add_text_field("audience", STRING),
        category: b.add_text_field("category", STRING | STORED),
        category_path: b.add_text_field("category_path", fast_string()),
        tag: b.add_text_field("tag", fast_string() | STORED),
        title_sort: b.add_text_field("title_sort", fast_string()),
        updated: b.add_i64_field("updated", NumericOptions::default().set_stored().set_fast()),
        html_offset: b.add_u64_field("html_offset", STORED),
        html_len: b.add_u64_field("html_len", STORED),
        headings_json: b.add_text_field("headings_json", STORED),
        card_offset: b.add_u64_field("card_offset", STORED | tantivy::schema::FAST),
        card_len: b.add_u64_field("card_len", STORED | tantivy::schema::FAST),
    };
    (b.build(), fields)
}

/// Registers the analyzers on an index (they are not persisted by tantivy).
pub fn register_analyzers(index: &Index) {
    index.tokenizers().register(EN, en_analyzer());
    index.tokenizers().register(RAW, raw_analyzer());
}

/// The tantivy document for an article. Drafts must not be passed here.
///
/// The HTML and the encoded sections live in the generation's blob file (`html.bin`) at
/// `html_at` and `sections_at` (offset, length): kept out of the doc store, loading a
/// hit decompresses only its small fields.
pub fn document(
    f: &Fields,
    a: &Article,
    html_at: (u64, u64),
    card_at: (u64, u64),
) -> TantivyDocument {
    let body = a.body_text();
    let headings = a.headings_text();
    let tags_joined = a
        .tags
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let summary = a.summary.clone().unwrap_or_default();
    let vocab = format!(
        "{}\n{}\n{}\n{}\n{}",
        a.title, headings, tags_joined, summary, body
    );
    let mut d = doc!(
        f.slug => a.slug.as_str(),
        f.rel_path => a.rel_path.as_str(),
        f.title => a.title.as_str(),
        f.headings => headings,
        f.tags_text => tags_joined,
        f.body => body,
        f.category => a.category.as_str(),
        f.title_sort => a.title.to_lowercase(),
        f.updated => a.updated,
        f.html_offset => html_at.0,
        f.html_len => html_at.1,
        f.headings_json => serde_json::to_string(&a.headings).unwrap_or_default(),
        f.card_offset => card_at.0,
        f.card_len => card_at.1,
    );
    if let Some(s) = &a.summary {
        d.add_text(f.summary, s);
    }
    for c in a.category.with_ancestors() {
        d.add_text(f.category_path, c);
    }
    for t in &a.tags {
        d.add_text(f.tag, t.as_str());
    }
    for term in a.audience.index_terms() {
        d.add_text(f.audience, term);
    }
    if a.audience.is_public() {
        d.add_text(f.vocab, vocab);
    } else {
        let mut words: Vec<String> = Vec::new();
        let mut analyzer = raw_analyzer();
        let mut stream = analyzer.token_stream(&vocab);
        while let Some(t) = stream.next() {
            words.push(t.text.clone());
        }
        words.sort_unstable();
        words.dedup();
        for name in a.audience.names() {
            for w in &words {
                d.add_text(f.vocab_restricted, restricted_word(name.as_str(), w));
            }
        }
    }
    d
}

/// The term of `word` in the dictionary of the audience `name` (`vocab_restricted`).
pub fn restricted_word(name: &str, word: &str) -> String {
    format!("{name}{UNIT}{word}")
}

const UNIT: char = '\u{1f}';
const RECORD: char = '\u{1e}';
const GROUP: char = '\u{1d}';

/// Encodes an article's card: `slug US title US category US summary US tag GS tag RS`,
/// then its sections as `heading US anchor US text RS ...`, whose byte lengths the
/// header lists too (`h.a.t h.a.t ...` after the tags), so a hit slices its sections out
/// instead of scanning the text for separators. Decoding borrows; JSON cost more than
/// the rest of a hit. Control characters are removed from the text first so they cannot
/// break the framing.
pub fn encode_card(a: &Article) -> String {
    let clean = |s: &str| s.replace([UNIT, RECORD, GROUP], " ");
    let tags: Vec<String> = a.tags.iter().map(|t| clean(t.as_str())).collect();
    let (sections, layout) = encode_sections(&a.sections);
    let mut out = String::new();
    for part in [
        a.slug.as_str(),
        a.title.as_str(),
        a.category.as_str(),
        a.summary.as_deref().unwrap_or(""),
    ] {
        out.push_str(&clean(part));
        out.push(UNIT);
    }
    out.push_str(&tags.join(&GROUP.to_string()));
    out.push(UNIT);
    out.push_str(&layout.join(" "));
    out.push(RECORD);
    out.push_str(&sections);
    out
}

/// What a search hit shows of an article, borrowed from its card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardView<'a> {
    /// Slug.
    pub slug: &'a str,
    /// Title.
    pub title: &'a str,
    /// Category path.
    pub category: &'a str,
    /// Summary, empty when none.
    pub summary: &'a str,
    /// Tags, separated by GS (see [`CardView::tags`]).
    tags: &'a str,
    /// The sections' byte lengths, `h.a.t` each.
    layout: &'a str,
    /// The encoded sections ([`CardView::section_views`]).
    pub sections: &'a str,
}

impl<'a> CardView<'a> {
    /// The tags.
    pub fn tags(&self) -> impl Iterator<Item = &'a str> {
        self.tags.split(GROUP).filter(|t| !t.is_empty())
    }

    /// The sections, sliced by the layout (scanned for separators if it does not fit).
    pub fn section_views(&self) -> Vec<SectionView<'a>> {
        self.sliced()
            .unwrap_or_else(|| decode_sections(self.sections))
    }

    fn sliced(&self) -> Option<Vec<SectionView<'a>>> {
        let text = self.sections;
        let mut at = 0;
        let mut out = Vec::new();
        let take = |len: &str, at: &mut usize| -> Option<&'a str> {
            let len: usize = len.parse().ok()?;
            let part = text.get(*at..*at + len)?;
            *at += len + 1; // the separator after it
            Some(part)
        };
        for lengths in self.layout.split(' ').filter(|l| !l.is_empty()) {
            let mut l = lengths.splitn(3, '.');
            let heading = take(l.next()?, &mut at)?;
            let anchor = take(l.next()?, &mut at)?;
            let body = take(l.next()?, &mut at)?;
            out.push(SectionView {
                heading,
                anchor,
                text: body,
            });
        }
        (at == text.len()).then_some(out)
    }
}

/// Decodes [`encode_card`].
pub fn decode_card(encoded: &str) -> Option<CardView<'_>> {
    let (head, sections) = encoded.split_once(RECORD)?;
    let mut parts = head.splitn(6, UNIT);
    Some(CardView {
        slug: parts.next()?,
        title: parts.next()?,
        category: parts.next()?,
        summary: parts.next()?,
        tags: parts.next()?,
        layout: parts.next()?,
        sections,
    })
}

/// The sections as `heading US anchor US text RS ...`, and their layout: the byte
/// lengths of each, `h.a.t` per section.
fn encode_sections(sections: &[super::article::Section]) -> (String, Vec<String>) {
    let clean = |s: &str| s.replace([UNIT, RECORD], " ");
    let mut out = String::new();
    let mut layout = Vec::with_capacity(sections.len());
    for s in sections {
        let parts = [
            clean(s.heading.as_deref().unwrap_or("")),
            clean(s.anchor.as_deref().unwrap_or("")),
            clean(&s.text),
        ];
        layout.push(format!(
            "{}.{}.{}",
            parts[0].len(),
            parts[1].len(),
            parts[2].len()
        ));
        let [heading, anchor, text] = parts;
        out.push_str(&heading);
        out.push(UNIT);
        out.push_str(&anchor);
        out.push(UNIT);
        out.push_str(&text);
        out.push(RECORD);
    }
    (out, layout)
}

/// One section as decoded from the index, borrowing from the stored text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionView<'a> {
    /// Heading, empty for the introduction.
    pub heading: &'a str,
    /// Anchor, empty for the introduction.
    pub anchor: &'a str,
    /// Plain text.
    pub text: &'a str,
}

/// Decodes the sections of a card ([`CardView::sections`]).
pub fn decode_sections(encoded: &str) -> Vec<SectionView<'_>> {
    encoded
        .split(RECORD)
        .filter(|r| !r.is_empty())
        .filter_map(|r| {
            let mut parts = r.splitn(3, UNIT);
            Some(SectionView {
                heading: parts.next()?,
                anchor: parts.next()?,
                text: parts.next()?,
            })
        })
        .collect()
}

/// What a generation was built from, written beside the tantivy files.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// [`SCHEMA_VERSION`] at build time.
    pub schema_version: u32,
    /// [`super::loader::LoadedArticles::fingerprint`] of the articles indexed.
    pub fingerprint: String,
    /// Published articles in the index.
    pub articles: usize,
    /// Build time, unix seconds.
    pub built_at: i64,
    /// Set by incremental updates, which are not forced to disk: the boot id of the
    /// machine when they were made. After a restart of the machine the generation is
    /// not trusted (see `kb::directory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsynced_updates: Option<String>,
}

/// A snapshot of an open index: one reader for the generation's life, and the searcher
/// pinned when this snapshot was made, so that the searcher, the facet table and the
/// HTML store always describe the same documents. An update makes a new snapshot.
pub struct OpenIndex {
    /// The tantivy index.
    pub index: Index,
    /// Its reader (shared by every snapshot of the generation; reloaded only by updates).
    pub reader: IndexReader,
    /// The segments this snapshot serves. Cloning it is cheap; use it, not `reader`.
    pub searcher: Searcher,
    /// The generation's writer, opened by the first incremental update and shared by
    /// its later snapshots. Only [`apply_update`] uses it.
    pub writer: Arc<Mutex<Option<IndexWriter>>>,
    /// Field handles.
    pub fields: Fields,
    /// The generation folder on disk (`None` for an in-memory fallback).
    pub dir: Option<PathBuf>,
    /// What it was built from.
    pub manifest: Manifest,
    /// Facet values of every document, for fast facet counts.
    pub facets: Arc<FacetTable>,
    /// The restricted articles and who may read them.
    pub audiences: Arc<AudienceTable>,
    /// The articles' HTML, addressed by each document's `html_offset`/`html_len`.
    pub html: HtmlStore,
    /// Query words already expanded against this snapshot's dictionary.
    pub words: super::search::WordCache,
    /// Query texts whose nearest articles this snapshot's vectors already gave.
    pub meanings: super::search::MeaningCache,
    /// Each hit's best lexical section and snippet, by the stems a query matched.
    pub snippets: super::search::SnippetCache,
    /// Adjacent query words found, or not, as one word of the dictionary.
    pub joins: super::search::JoinCache,
    /// One vector per section of every article in this snapshot (`vectors.bin`).
    pub vectors: Arc<SectionVectors>,
}

/// The articles' sanitized HTML and encoded sections of one generation (the blob file
/// `html.bin`): memory-mapped, or bytes
/// in memory for the in-memory fallback index.
pub enum HtmlStore {
    /// `html.bin` of a generation on disk, and how many of its first bytes were found to
    /// be UTF-8 when it was mapped (all of them, unless the file is damaged).
    Mapped(memmap2::Mmap, usize),
    /// The in-memory index's HTML.
    Owned(Vec<u8>),
}

impl HtmlStore {
    /// The HTML at `offset` of `len` bytes, if it is there and valid UTF-8.
    ///
    /// A search reads a card of every hit from here, and checking a whole article's
    /// text for UTF-8 each time was 5% of the service's time under load (perf): the
    /// mapped file is checked once, and a part of it between two character boundaries
    /// is then UTF-8 without a second look.
    pub fn get(&self, offset: u64, len: u64) -> Option<&str> {
        let (bytes, utf8_len): (&[u8], usize) = match self {
            HtmlStore::Mapped(m, valid) => (m, *valid),
            HtmlStore::Owned(v) => (v, 0),
        };
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        let part = bytes.get(start..end)?;
        // Not a UTF-8 continuation byte (10xxxxxx), or the end.
        let boundary = |i: usize| bytes.get(i).is_none_or(|b| (*b as i8) >= -0x40);
        if end <= utf8_len && boundary(start) && boundary(end) {
            // SAFETY: `bytes[..utf8_len]` was checked to be UTF-8 when mapped (and the
            // file is append-only, see `open`), and a part of a UTF-8 text that starts
            // and ends on character boundaries is UTF-8.
            return Some(unsafe { std::str::from_utf8_unchecked(part) });
        }
        std::str::from_utf8(part).ok()
    }

    /// Maps `html.bin` of `dir`. `before`, the store of the same file before an append,
    /// spares checking again the bytes it already checked.
    fn open(dir: &Path, before: Option<&HtmlStore>) -> Result<HtmlStore, IndexError> {
        let file = std::fs::File::open(dir.join(HTML_FILE))?;
        if file.metadata()?.len() == 0 {
            return Ok(HtmlStore::Owned(Vec::new()));
        }
        // SAFETY: `html.bin` is only ever appended to (by `apply_update`), never
        // truncated or rewritten, so the bytes a mapping covers never change; a rebuild
        // writes a new folder, and deleting a mapped file keeps the mapping valid.
        // Measured on MDN: the mapped pages end up resident over a load run (89 MiB of
        // the server's 187 MiB RSS after the HTTP bench; MADV_RANDOM did not change
        // that). Positioned reads held the RSS at 47 MiB but cost 27 µs per search, so
        // the map stays while the memory target (200 MB) holds.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        let checked = match before {
            Some(HtmlStore::Mapped(old, valid))
                if *valid == old.len() && old.len() <= map.len() =>
            {
                old.len()
            }
            _ => 0,
        };
        // A UTF-8 text followed by a UTF-8 text is UTF-8.
        let utf8_len = if std::str::from_utf8(&map[checked..]).is_ok() {
            map.len()
        } else {
            checked
        };
        Ok(HtmlStore::Mapped(map, utf8_len))
    }
}

const HTML_FILE: &str = "html.bin";

/// Errors of the index store.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// tantivy failed.
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// File system failed.
    #[error("index folder: {0}")]
    Io(#[from] std::io::Error),
    /// A manifest could not be read.
    #[error("index manifest: {0}")]
    Manifest(String),
}

const MANIFEST: &str = "manifest.json";
const CURRENT: &str = "CURRENT";
/// Memory for one index writer during a build; two threads share it.
const WRITER_MEMORY: usize = 120_000_000;

fn reader_for(index: &Index) -> Result<IndexReader, IndexError> {
    Ok(index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .doc_store_cache_num_blocks(200)
        .try_into()?)
}

/// Opens the live generation of `index_dir`, if there is a readable one.
pub fn open_current(index_dir: &Path) -> Result<OpenIndex, IndexError> {
    let name = std::fs::read_to_string(index_dir.join(CURRENT))?;
    let dir = index_dir.join(name.trim());
    let manifest: Manifest = serde_json::from_slice(&std::fs::read(dir.join(MANIFEST))?)
        .map_err(|e| IndexError::Manifest(e.to_string()))?;
    if let Some(boot) = &manifest.unsynced_updates {
        if !updates_survived(boot) {
            return Err(IndexError::Manifest(
                "updated without forcing its files to disk before the machine restarted".into(),
            ));
        }
    }
    let index = open_live(&dir)?;
    let (_, fields) = schema();
    register_analyzers(&index);
    let reader = reader_for(&index)?;
    // Touch every segment so that a truncated file fails here rather than on a search.
    let searcher = reader.searcher();
    for segment in searcher.segment_readers() {
        segment.inverted_index(fields.vocab)?;
        segment.fast_fields().str("category_path")?;
    }
    let facets = Arc::new(FacetTable::build(&searcher)?);
    let audiences = Arc::new(AudienceTable::build(&searcher, fields.audience)?);
    let html = HtmlStore::open(&dir, None)?;
    let vectors = SectionVectors::read(&dir, Embedder::builtin()).ok_or_else(|| {
        IndexError::Manifest("the section vectors are missing, damaged or of another model".into())
    })?;
    Ok(OpenIndex {
        index,
        reader,
        searcher,
        writer: Arc::default(),
        fields,
        dir: Some(dir),
        manifest,
        facets,
        audiences,
        html,
        words: Default::default(),
        meanings: Default::default(),
        snippets: Default::default(),
        joins: Default::default(),
        vectors: Arc::new(vectors),
    })
}

/// The section vectors of the generation `CURRENT` names, whether or not that
/// generation is current for the articles: a rebuild after a restart takes the rows of
/// unchanged sections from it instead of embedding them again.
pub fn current_vectors(index_dir: &Path) -> Option<SectionVectors> {
    let name = std::fs::read_to_string(index_dir.join(CURRENT)).ok()?;
    SectionVectors::read(&index_dir.join(name.trim()), Embedder::builtin())
}

/// Opens a generation for serving and incremental updates (writes not forced to disk).
fn open_live(dir: &Path) -> Result<Index, IndexError> {
    let directory = UnsyncedDirectory::open(dir).map_err(|e| {
        IndexError::Io(std::io::Error::other(format!(
            "cannot open {}: {e}",
            dir.display()
        )))
    })?;
    Ok(Index::open(directory)?)
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Adds every published article to a fresh index and commits.
fn fill(
    index: &Index,
    fields: &Fields,
    articles: &[Article],
    progress: &dyn Fn(usize),
    html: &mut Vec<u8>,
) -> Result<usize, IndexError> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    let mut writer: IndexWriter = index.writer_with_num_threads(threads, WRITER_MEMORY)?;
    let mut count = 0;
    for (i, a) in articles.iter().enumerate() {
        if !a.draft {
            let at = (html.len() as u64, a.html.len() as u64);
            html.extend_from_slice(a.html.as_bytes());
            let card = encode_card(a);
            let card_at = (html.len() as u64, card.len() as u64);
            html.extend_from_slice(card.as_bytes());
            writer.add_document(document(fields, a, at, card_at))?;
            count += 1;
        }
        if i % 256 == 0 {
            progress(i);
        }
    }
    writer.commit()?;
    // One segment: every query walks one term dictionary instead of several.
    let segments = index.searchable_segment_ids()?;
    if segments.len() > 1 {
        writer.merge(&segments).wait()?;
    }
    writer.wait_merging_threads()?;
    progress(articles.len());
    Ok(count)
}

/// Builds a new generation from `articles` beside the live one and makes it current.
/// On error the previous generation stays current and the partial folder is removed.
///
/// The section vectors are embedded for every published article, except those whose
/// text has a row in `previous` (the generation being replaced).
pub fn build_generation(
    index_dir: &Path,
    articles: &[Article],
    fingerprint: &str,
    previous: Option<&SectionVectors>,
    progress: &dyn Fn(usize),
) -> Result<OpenIndex, IndexError> {
    std::fs::create_dir_all(index_dir)?;
    let name = format!("gen-{}", now_nanos());
    let building = index_dir.join(format!("{name}.building"));
    let result = (|| {
        std::fs::create_dir_all(&building)?;
        let (schema, fields) = schema();
        let index = Index::builder()
            .schema(schema)
            .settings(index_settings())
            .create_in_dir(&building)?;
        register_analyzers(&index);
        let mut html = Vec::new();
        let count = fill(&index, &fields, articles, progress, &mut html)?;
        std::fs::write(building.join(HTML_FILE), &html)?;
        let vectors = section_vectors(articles, previous);
        vectors.write(&building)?;
        let manifest = Manifest {
            schema_version: SCHEMA_VERSION,
            fingerprint: fingerprint.to_string(),
            articles: count,
            built_at: (now_nanos() / 1_000_000_000) as i64,
            unsynced_updates: None,
        };
        write_manifest(&building, &manifest)?;
        drop(index);
        Ok::<_, IndexError>((manifest, vectors))
    })();
    let (manifest, vectors) = match result {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&building);
            return Err(e);
        }
    };
    let final_dir = index_dir.join(&name);
    std::fs::rename(&building, &final_dir)?;
    let tmp = index_dir.join(format!("{CURRENT}.tmp"));
    std::fs::write(&tmp, format!("{name}\n"))?;
    std::fs::rename(&tmp, index_dir.join(CURRENT))?;
    let index = open_live(&final_dir)?;
    register_analyzers(&index);
    let reader = reader_for(&index)?;
    let (_, fields) = schema();
    let searcher = reader.searcher();
    let facets = Arc::new(FacetTable::build(&searcher)?);
    let audiences = Arc::new(AudienceTable::build(&searcher, fields.audience)?);
    let html = HtmlStore::open(&final_dir, None)?;
    Ok(OpenIndex {
        index,
        reader,
        searcher,
        writer: Arc::default(),
        fields,
        dir: Some(final_dir),
        manifest,
        facets,
        audiences,
        html,
        words: Default::default(),
        meanings: Default::default(),
        snippets: Default::default(),
        joins: Default::default(),
        vectors: Arc::new(vectors),
    })
}

/// The section vectors of the published `articles` with the built-in model.
fn section_vectors(articles: &[Article], previous: Option<&SectionVectors>) -> SectionVectors {
    let published: Vec<&Article> = articles.iter().filter(|a| !a.draft).collect();
    SectionVectors::build(Embedder::builtin(), &published, previous)
}

/// Builds an index in memory: the fallback when the index folder cannot be written.
pub fn build_in_ram(articles: &[Article], fingerprint: &str) -> Result<OpenIndex, IndexError> {
    let (schema, fields) = schema();
    let index = Index::builder()
        .schema(schema)
        .settings(index_settings())
        .create_in_ram()?;
    register_analyzers(&index);
    let mut html = Vec::new();
    let count = fill(&index, &fields, articles, &|_| {}, &mut html)?;
    let vectors = section_vectors(articles, None);
    let reader = reader_for(&index)?;
    let searcher = reader.searcher();
    let facets = Arc::new(FacetTable::build(&searcher)?);
    let audiences = Arc::new(AudienceTable::build(&searcher, fields.audience)?);
    Ok(OpenIndex {
        index,
        reader,
        searcher,
        writer: Arc::default(),
        fields,
        facets,
        audiences,
        html: HtmlStore::Owned(html),
        dir: None,
        manifest: Manifest {
            schema_version: SCHEMA_VERSION,
            fingerprint: fingerprint.to_string(),
            articles: count,
            built_at: (now_nanos() / 1_000_000_000) as i64,
            unsynced_updates: None,
        },
        words: Default::default(),
        meanings: Default::default(),
        snippets: Default::default(),
        joins: Default::default(),
        vectors: Arc::new(vectors),
    })
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), IndexError> {
    let tmp = dir.join(format!("{MANIFEST}.tmp"));
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(manifest).unwrap_or_default(),
    )?;
    std::fs::rename(&tmp, dir.join(MANIFEST))?;
    Ok(())
}

/// Doc-store blocks of 4 KiB instead of 16: with the sections in the blob file a
/// document is a few hundred bytes, and a hit decompresses one small block.
fn index_settings() -> tantivy::IndexSettings {
    tantivy::IndexSettings {
        docstore_blocksize: 4096,
        ..tantivy::IndexSettings::default()
    }
}

/// Memory for the incremental writer: updates are a few articles at a time.
const UPDATE_WRITER_MEMORY: usize = 30_000_000;

/// One batch of changes to the live generation.
#[derive(Default)]
pub struct IndexUpdate<'a> {
    /// Slugs whose documents are removed (changed, renamed, deleted or now draft).
    pub delete_slugs: Vec<String>,
    /// Published articles (re-)added; their slugs are deleted first.
    pub add: Vec<&'a Article>,
    /// The fingerprint of the article files the index reflects after this batch.
    pub fingerprint: String,
}

/// Applies a batch to the generation of `idx` in one commit and returns the new
/// snapshot. Searches holding `idx` keep seeing the old documents; nothing of the batch
/// is visible before the commit and the new snapshot are complete. On error nothing
/// is visible either (uncommitted changes are rolled back).
pub fn apply_update(idx: &OpenIndex, update: &IndexUpdate) -> Result<OpenIndex, IndexError> {
    let mut slot = idx.writer.lock().unwrap_or_else(|e| e.into_inner());
    if slot.is_none() {
        let writer: IndexWriter = idx.index.writer_with_num_threads(1, UPDATE_WRITER_MEMORY)?;
        *slot = Some(writer);
    }
    let Some(writer) = slot.as_mut() else {
        unreachable!("the writer was just opened");
    };
    let result = (|| {
        let mut html = match &idx.html {
            HtmlStore::Owned(v) if idx.dir.is_none() => HtmlAppend::Memory(v.clone()),
            _ => {
                let file = std::fs::OpenOptions::new()
                    .append(true)
                    .open(idx.dir.as_deref().unwrap_or(Path::new(".")).join(HTML_FILE))?;
                // The file's own end, not the snapshot's: a batch that failed after
                // appending left bytes there, and appends land after them.
                let end = file.metadata()?.len();
                HtmlAppend::File(file, end)
            }
        };
        for slug in &update.delete_slugs {
            writer.delete_term(Term::from_field_text(idx.fields.slug, slug));
        }
        for a in &update.add {
            writer.delete_term(Term::from_field_text(idx.fields.slug, a.slug.as_str()));
            let at = html.append(a.html.as_bytes())?;
            let card_at = html.append(encode_card(a).as_bytes())?;
            writer.add_document(document(&idx.fields, a, at, card_at))?;
        }
        html.flush()?;
        // Staged before the commit (a batch whose vectors cannot be written is rolled
        // back whole), in place only after it: a failed commit leaves the file as it was.
        let vectors = idx
            .vectors
            .updated(Embedder::builtin(), &update.delete_slugs, &update.add);
        if let Some(dir) = &idx.dir {
            vectors.stage(dir)?;
        }
        writer.commit()?;
        if let Some(dir) = &idx.dir {
            SectionVectors::publish(dir)?;
        }
        idx.reader.reload()?;
        let searcher = idx.reader.searcher();
        let facets = Arc::new(FacetTable::build_reusing(Some(&idx.facets), &searcher)?);
        let audiences = Arc::new(AudienceTable::build(&searcher, idx.fields.audience)?);
        let manifest = Manifest {
            schema_version: SCHEMA_VERSION,
            fingerprint: update.fingerprint.clone(),
            articles: searcher.num_docs() as usize,
            built_at: idx.manifest.built_at,
            // An empty id never matches: without one, updates are not trusted later.
            unsynced_updates: Some(boot_id().unwrap_or_default()),
        };
        let html = match (html, &idx.dir) {
            (HtmlAppend::Memory(v), _) => HtmlStore::Owned(v),
            (HtmlAppend::File(..), Some(dir)) => {
                write_manifest(dir, &manifest)?;
                HtmlStore::open(dir, Some(&idx.html))?
            }
            (HtmlAppend::File(..), None) => HtmlStore::Owned(Vec::new()),
        };
        Ok::<_, IndexError>(OpenIndex {
            index: idx.index.clone(),
            reader: idx.reader.clone(),
            searcher,
            writer: idx.writer.clone(),
            fields: idx.fields,
            dir: idx.dir.clone(),
            manifest,
            facets,
            audiences,
            html,
            words: Default::default(),
            meanings: Default::default(),
            snippets: Default::default(),
            joins: Default::default(),
            vectors: Arc::new(vectors),
        })
    })();
    if result.is_err() {
        // Drop what this batch staged; the next batch starts clean.
        if let Err(e) = writer.rollback() {
            tracing::warn!("index writer rollback failed ({e}); reopening it next time");
            *slot = None;
        }
    }
    result
}

/// Where an update appends HTML: the generation's `html.bin`, or a copy of the
/// in-memory store.
enum HtmlAppend {
    File(std::fs::File, u64),
    Memory(Vec<u8>),
}

impl HtmlAppend {
    /// Appends `bytes` and returns their (offset, length).
    fn append(&mut self, bytes: &[u8]) -> Result<(u64, u64), IndexError> {
        match self {
            HtmlAppend::File(file, len) => {
                let at = *len;
                file.write_all(bytes)?;
                *len += bytes.len() as u64;
                Ok((at, bytes.len() as u64))
            }
            HtmlAppend::Memory(v) => {
                let at = v.len() as u64;
                v.extend_from_slice(bytes);
                Ok((at, bytes.len() as u64))
            }
        }
    }

    fn flush(&mut self) -> Result<(), IndexError> {
        if let HtmlAppend::File(file, _) = self {
            file.flush()?;
        }
        Ok(())
    }
}

/// The (source path, slug) of every live document, read from the fast fields: what a
/// reused index holds, without parsing a file or loading a stored document.
pub fn indexed_files(idx: &OpenIndex) -> Result<Vec<(String, String)>, IndexError> {
    let mut out = Vec::with_capacity(idx.searcher.num_docs() as usize);
    for segment in idx.searcher.segment_readers() {
        let (Some(paths), Some(slugs)) = (
            segment.fast_fields().str("rel_path")?,
            segment.fast_fields().str("slug")?,
        ) else {
            continue;
        };
        let alive = segment.alive_bitset();
        let (mut path, mut slug) = (String::new(), String::new());
        for doc in 0..segment.max_doc() {
            if alive.is_some_and(|a| !a.is_alive(doc)) {
                continue;
            }
            let (Some(p), Some(s)) = (paths.term_ords(doc).next(), slugs.term_ords(doc).next())
            else {
                continue;
            };
            path.clear();
            slug.clear();
            paths.ord_to_str(p, &mut path)?;
            slugs.ord_to_str(s, &mut slug)?;
            out.push((path.clone(), slug.clone()));
        }
    }
    Ok(out)
}

/// Removes generations other than `keep` (and leftovers of interrupted builds).
/// Open readers keep their files: on Unix a deleted, mapped file stays readable.
pub fn remove_old_generations(index_dir: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(index_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_gen = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("gen-"));
        if is_gen && path != keep {
            if let Err(e) = std::fs::remove_dir_all(&path) {
                tracing::warn!(path = %path.display(), "cannot remove an old index generation: {e}");
            }
        }
    }
}

#[cfg(test)]
mod card_tests {
    use super::*;
    use crate::kb::article::Section;

    #[test]
    fn a_card_slices_its_sections_exactly_as_scanning_would() {
        let mut article = crate::kb::article::parse_article(
            "billing/x.md",
            "---\ntitle: T\ntags: [a, b]\nsummary: S\n---\nIntro é.\n\n## Héading\n\nText\u{1e}with a separator.\n",
            0,
            &crate::kb::article::PathResolver,
        )
        .expect("parses");
        article.sections.push(Section {
            heading: None,
            anchor: None,
            text: String::new(),
        });
        let encoded = encode_card(&article);
        let card = decode_card(&encoded).expect("decodes");
        assert_eq!(card.slug, "billing/x");
        assert_eq!(card.tags().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(
            card.sliced().expect("the layout fits"),
            decode_sections(card.sections)
        );
        assert_eq!(card.section_views().len(), 3);
    }
}

#[cfg(test)]
mod html_store_tests {
    use super::*;

    fn mapped(bytes: &[u8]) -> (tempfile::TempDir, HtmlStore) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(HTML_FILE), bytes).unwrap();
        let store = HtmlStore::open(dir.path(), None).unwrap();
        (dir, store)
    }

    #[test]
    fn parts_of_a_checked_file_are_served_only_on_character_boundaries() {
        let text = "café – naïve";
        let (_dir, store) = mapped(text.as_bytes());
        assert!(matches!(store, HtmlStore::Mapped(_, n) if n == text.len()));
        assert_eq!(store.get(0, text.len() as u64), Some(text));
        assert_eq!(store.get(0, 5), Some("café"));
        // "é" is two bytes: a part that cuts it is not text.
        assert_eq!(store.get(0, 4), None);
        assert_eq!(store.get(4, 2), None);
        assert_eq!(store.get(0, 100), None);
    }

    #[test]
    fn a_damaged_file_is_checked_part_by_part_and_an_append_only_at_its_end() {
        let mut bytes = b"good text ".to_vec();
        bytes.push(0xff);
        bytes.extend_from_slice(" more".as_bytes());
        let (dir, store) = mapped(&bytes);
        assert!(matches!(store, HtmlStore::Mapped(_, 0)));
        assert_eq!(store.get(0, 9), Some("good text"));
        assert_eq!(store.get(9, 2), None);
        assert_eq!(store.get(11, 5), Some(" more"));

        let (dir2, good) = mapped("first".as_bytes());
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(dir2.path().join(HTML_FILE))
            .unwrap();
        std::io::Write::write_all(&mut file, " then ünïcode".as_bytes()).unwrap();
        let after = HtmlStore::open(dir2.path(), Some(&good)).unwrap();
        assert!(matches!(&after, HtmlStore::Mapped(m, n) if *n == m.len()));
        assert_eq!(after.get(5, 15), Some(" then ünïcode"));
        drop(dir);
    }
}
