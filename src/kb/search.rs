//! Ranked, typo-tolerant search over an [`OpenIndex`].
//!
//! Matching rules (what matches) and ranking rules (in which order) are separate
//! [`SearchSettings`]:
//!
//! * Matching. Each query word matches its English stem exactly; words of
//!   `typo.one_typo_from` to `typo.two_typos_from - 1` letters also match words one
//!   edit away, longer words two edits; shorter words, numbers and protected words never
//!   match a typo. The last word also matches as a prefix while the person is still typing.
//!   Up to `tiered_max_words` significant words must all match; if fewer than
//!   `min_full_matches` documents match them all, any word may match. Longer queries
//!   (a pasted ticket) match any word.
//! * Ranking. For short queries: first the number of words matched exactly, then the
//!   number matched with a typo, then BM25 with field boosts (title above headings above
//!   tags and summary above body). So in a tiered query an exact match always outranks
//!   a typo match.
//!   Longer queries, and short ones whose words all meet in fewer than
//!   `min_full_matches` documents, rank by BM25F alone (each word's field frequencies
//!   weighted by the same boosts and saturated once), with typo variants down-weighted.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::columnar::Column;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, EmptyQuery,
    FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, Order, Score, Searcher, TantivyDocument, Term};

use tantivy_fst::Automaton;

use super::facets::FacetCollector;
pub use super::facets::{FacetCount, Facets};
use super::index::{
    decode_card, en_analyzer, raw_analyzer, CardView, Fields, OpenIndex, SectionView,
};
use super::query::{parse_query, ParsedQuery};
use super::scoring::{AddScoreQuery, Bm25fQuery, SafeSeekQuery};
use super::search_config::Synonyms;
use super::types::{Category, Tag};

/// Typo tolerance.
#[derive(Debug, Clone, Serialize)]
pub struct TypoSettings {
    /// Off turns typo matching off entirely.
    pub enabled: bool,
    /// Words this long (in characters) match with one typo.
    pub one_typo_from: usize,
    /// Words this long match with two typos.
    pub two_typos_from: usize,
    /// Words (lowercase) that are never typo-corrected, such as product names.
    pub protected: HashSet<String>,
    /// A typo never changes the first letter. On by default: typos there are rare, and
    /// the automaton then walks one branch of the dictionary instead of all of it
    /// (measured on MDN: about a tenth of the cost of a typo-tolerant word).
    pub keep_first_letter: bool,
}

/// Per-field BM25 weights.
#[derive(Debug, Clone, Serialize)]
pub struct FieldBoosts {
    /// Title.
    pub title: f32,
    /// Headings.
    pub headings: f32,
    /// Tags.
    pub tags: f32,
    /// Summary.
    pub summary: f32,
    /// Body.
    pub body: f32,
}

/// The documented matching and ranking settings.
#[derive(Debug, Clone, Serialize)]
pub struct SearchSettings {
    /// Typo matching rules.
    pub typo: TypoSettings,
    /// The last word of the query also matches as a prefix.
    pub prefix_last_word: bool,
    /// At most this many dictionary words stand in for a prefix.
    pub max_prefix_expansions: usize,
    /// At most this many dictionary words stand in for a typo.
    pub max_typo_expansions: usize,
    /// Field weights.
    pub boosts: FieldBoosts,
    /// Weight of a typo variant against an exact match in BM25 (long queries).
    pub typo_weight: f32,
    /// Weight of a prefix completion against an exact word in BM25.
    pub prefix_weight: f32,
    /// Queries with up to this many significant words use tiered ranking and AND matching.
    pub tiered_max_words: usize,
    /// Writers' synonyms (`_search.toml`): a matched word or words also match each
    /// alternative as a phrase, in the same ranking tier as the words themselves
    /// (untiered queries score an alternative by its BM25 alone).
    #[serde(skip)]
    pub synonyms: Synonyms,
    /// When fewer documents than this match every word of such a query, any word may
    /// match instead, ranked by BM25F like a long query (no tiers: when the words
    /// rarely meet, matching more of them is a weak signal next to matching the rare
    /// one). So a query whose words rarely meet does not leave the first page nearly
    /// empty (1: only when nothing matches them all).
    pub min_full_matches: usize,
}

impl Default for SearchSettings {
    fn default() -> Self {
        SearchSettings {
            typo: TypoSettings {
                enabled: true,
                one_typo_from: 5,
                two_typos_from: 9,
                protected: HashSet::new(),
                keep_first_letter: true,
            },
            prefix_last_word: true,
            max_prefix_expansions: 8,
            max_typo_expansions: 6,
            boosts: FieldBoosts {
                title: 4.0,
                headings: 2.0,
                tags: 1.5,
                summary: 1.5,
                body: 1.0,
            },
            typo_weight: 0.3,
            prefix_weight: 0.6,
            tiered_max_words: 4,
            synonyms: Synonyms::default(),
            min_full_matches: 10,
        }
    }
}

/// A search request, already validated at the edge.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// What the person typed.
    pub q: String,
    /// Only this category and its subcategories.
    pub category: Option<Category>,
    /// Every tag must be present.
    pub tags: Vec<Tag>,
    /// Page size.
    pub limit: usize,
    /// Page start.
    pub offset: usize,
}

/// The heading section of an article that matched best.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SectionRef {
    /// The heading text.
    pub heading: String,
    /// Its anchor in the article's HTML.
    pub anchor: String,
}

/// One result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Hit {
    /// Article slug.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Category path.
    pub category: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Summary, if the article has one.
    pub summary: Option<String>,
    /// HTML-escaped passage with `<mark>`ed matches.
    pub snippet: String,
    /// Ranking score (higher is better; comparable within one response only).
    pub score: f32,
    /// Link to the article, at the best section's anchor.
    pub url: String,
    /// The best-matching section, when it is not the introduction.
    pub section: Option<SectionRef>,
}

/// A page of results.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    /// The query as given.
    pub query: String,
    /// Every matching article.
    pub total: u64,
    /// This page.
    pub hits: Vec<Hit>,
    /// Facets of the whole result set.
    pub facets: Facets,
    /// Time spent in the engine, in milliseconds.
    pub took_ms: f64,
}

/// At most this many values per facet are returned (most frequent first).
pub const MAX_FACET_VALUES: usize = 100;

// Tier scores: large enough that the BM25 part of one word (a max over its stems,
// bounded by field boosts times IDF) never bridges a tier.
const TIER_EXACT: Score = 10_000.0;
const TIER_TYPO: Score = 5_000.0;

/// Words that carry no meaning alone: optional in matching, no tier in ranking.
pub const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "does", "for", "from",
    "how", "i", "if", "in", "into", "is", "it", "my", "no", "not", "of", "on", "or", "so", "such",
    "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "what", "when",
    "where", "which", "why", "will", "with", "you", "your",
];

/// Errors of the search engine (never the user's fault; the edge validates input).
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// tantivy failed.
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
}

/// One analyzed query word and what stands in for it.
#[derive(Debug, Clone)]
struct WordTerms {
    /// The word as typed, lowercased and folded (what synonyms match).
    raw: String,
    /// Exact stem first, then prefix completions' stems with their weight.
    exact: Vec<(String, f32)>,
    /// Stems of dictionary words within the typo distance.
    typos: Vec<String>,
    stop: bool,
}

/// Query words already expanded (stem, prefix completions, typo variants) against one
/// snapshot's dictionary, under one set of search settings. Expanding a word walks the
/// dictionary with a Levenshtein automaton, a fifth of a search; help-center traffic
/// repeats its words (and as-you-type search repeats them keystroke after keystroke).
/// It lives in the snapshot, so an index update starts a new one, and it is dropped
/// when the settings change; bounded, emptied when full.
#[derive(Default)]
pub struct WordCache {
    inner: std::sync::Mutex<Option<WordCacheInner>>,
}

struct WordCacheInner {
    /// The settings the entries were made with (held, so the pointer stays unique).
    settings: Arc<SearchSettings>,
    words: HashMap<(String, bool), WordTerms>,
}

/// Most words a snapshot's cache holds before it starts over.
const WORD_CACHE_MAX: usize = 20_000;

impl WordCache {
    fn get(&self, settings: &Arc<SearchSettings>, key: &(String, bool)) -> Option<WordTerms> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match inner.as_ref() {
            Some(c) if Arc::ptr_eq(&c.settings, settings) => c.words.get(key).cloned(),
            _ => None,
        }
    }

    fn put(&self, settings: &Arc<SearchSettings>, key: (String, bool), terms: &WordTerms) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = match inner.as_ref() {
            Some(c) => !Arc::ptr_eq(&c.settings, settings) || c.words.len() >= WORD_CACHE_MAX,
            None => true,
        };
        if fresh {
            *inner = Some(WordCacheInner {
                settings: settings.clone(),
                words: HashMap::new(),
            });
        }
        if let Some(c) = inner.as_mut() {
            c.words.insert(key, terms.clone());
        }
    }
}

/// Analyzers, built once per engine.
pub struct Analyzers {
    en: TextAnalyzer,
    raw: TextAnalyzer,
}

impl Default for Analyzers {
    fn default() -> Self {
        Analyzers {
            en: en_analyzer(),
            raw: raw_analyzer(),
        }
    }
}

impl Clone for Analyzers {
    fn clone(&self) -> Self {
        Analyzers::default()
    }
}

fn tokens(analyzer: &TextAnalyzer, text: &str) -> Vec<String> {
    let mut a = analyzer.clone();
    let mut stream = a.token_stream(text);
    let mut out = Vec::new();
    while let Some(t) = stream.next() {
        out.push(t.text.clone());
    }
    out
}

fn stem(analyzer: &TextAnalyzer, raw_word: &str) -> String {
    tokens(analyzer, raw_word)
        .into_iter()
        .next()
        .unwrap_or_else(|| raw_word.to_string())
}

/// Runs a search.
pub fn search(
    idx: &OpenIndex,
    settings: &Arc<SearchSettings>,
    analyzers: &Analyzers,
    req: &SearchRequest,
) -> Result<SearchResults, SearchError> {
    let started = Instant::now();
    let searcher = &idx.searcher;
    let f = &idx.fields;
    let parsed = parse_query(&req.q);
    let filters = filter_clauses(f, req);
    let exclusions = exclusion_clauses(f, settings, analyzers, &parsed);
    let limit = req.limit.max(1);
    let facet_collector = || FacetCollector {
        table: idx.facets.clone(),
        max_values: MAX_FACET_VALUES,
    };

    let (total, docs, facets, matched) = if parsed.is_empty() {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, Box::new(AllQuery))];
        clauses.extend(filters);
        clauses.extend(exclusions);
        let query = BooleanQuery::new(clauses);
        let top = TopDocs::with_limit(limit)
            .and_offset(req.offset)
            .order_by_string_fast_field("title_sort", Order::Asc);
        let (docs, total, facets) = searcher.search(&query, &(top, Count, facet_collector()))?;
        let docs: Vec<(Score, DocAddress)> = docs.into_iter().map(|(_, d)| (0.0, d)).collect();
        (total as u64, docs, facets, MatchedTerms::default())
    } else {
        let words = analyze_words(idx, settings, analyzers, &parsed);
        let significant = words.iter().filter(|w| !w.stop).count();
        let tiered = significant <= settings.tiered_max_words;
        let phrases = phrase_clauses(f, settings, analyzers, &parsed);
        let mut matched = MatchedTerms::default();
        for w in &words {
            for (s, _) in &w.exact {
                matched.insert(s.clone());
            }
            for s in &w.typos {
                matched.insert(s.clone());
            }
        }
        for p in &parsed.phrases {
            for s in tokens(&analyzers.en, p) {
                matched.insert(s);
            }
        }
        let raw_words: Vec<String> = words.iter().map(|w| w.raw.clone()).collect();
        let synonyms: Vec<(SynonymSpan, Vec<Vec<String>>)> = settings
            .synonyms
            .find(&raw_words)
            .into_iter()
            .map(|m| {
                let alternatives: Vec<Vec<String>> = m
                    .alternatives
                    .iter()
                    .map(|a| tokens(&analyzers.en, a))
                    .filter(|stems| !stems.is_empty())
                    .collect();
                (m.start..m.start + m.len, alternatives)
            })
            .collect();
        for stems in synonyms.iter().flat_map(|(_, alts)| alts) {
            for s in stems {
                matched.insert(s.clone());
            }
        }
        let run = |all_required: bool, tiered: bool| -> Result<_, SearchError> {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            let only_stop_words = significant == 0;
            let clause_of = |w: &WordTerms| -> Clause {
                let required = all_required && (!w.stop || only_stop_words);
                let occur = if required { Occur::Must } else { Occur::Should };
                (
                    occur,
                    word_query(f, settings, w, tiered && (!w.stop || only_stop_words)),
                )
            };
            // Matching any word still means a meaningful one: an article that shares
            // only "to" and "for" with a ticket is not an answer. The significant words'
            // clauses go under one required "any of" (the score is the same sum).
            let any_word = !all_required && !only_stop_words;
            let mut any_of: Vec<Clause> = Vec::new();
            let mut add = |clause: Clause, significant: bool| {
                if any_word && significant {
                    any_of.push((Occur::Should, clause.1));
                } else {
                    clauses.push(clause);
                }
            };
            for (i, w) in words.iter().enumerate() {
                if !synonyms.iter().any(|(span, _)| span.contains(&i)) {
                    add(clause_of(w), !w.stop);
                }
            }
            for (span, alternatives) in &synonyms {
                let group = &words[span.clone()];
                add(
                    synonym_clause(
                        f,
                        settings,
                        group,
                        alternatives,
                        all_required,
                        tiered,
                        &clause_of,
                    ),
                    group.iter().any(|w| !w.stop),
                );
            }
            if !any_of.is_empty() {
                clauses.push((Occur::Must, Box::new(BooleanQuery::new(any_of))));
            }
            for p in &phrases {
                clauses.push((Occur::Must, p.box_clone()));
            }
            clauses.extend(filters.iter().map(|(o, q)| (*o, q.box_clone())));
            clauses.extend(exclusions.iter().map(|(o, q)| (*o, q.box_clone())));
            let query = BooleanQuery::new(clauses);
            let top = TopDocs::with_limit(limit)
                .and_offset(req.offset)
                .order_by_score();
            Ok(searcher.search(&query, &(top, Count, facet_collector()))?)
        };
        let all_required = tiered && !words.is_empty();
        let (mut docs, mut total, mut facets) = run(all_required, tiered)?;
        if total < settings.min_full_matches && all_required && significant > 1 {
            // The words rarely meet, so how many of them an article has says little:
            // three common words outnumber one rare one. Rank as a long query does,
            // by BM25F, where each word counts by its rarity.
            (docs, total, facets) = run(false, false)?;
        }
        (total as u64, docs, facets, matched)
    };

    let facets = facet_collector().facets(&facets);
    let mut hits = Vec::with_capacity(docs.len());
    // Each hit is built from its card in the blob file, found by two fast fields: no
    // doc-store block to decompress.
    let mut cards: Vec<Option<(Column<u64>, Column<u64>)>> = Vec::new();
    for (score, addr) in docs.into_iter().take(req.limit) {
        let segment = addr.segment_ord as usize;
        if cards.len() <= segment {
            cards.resize_with(segment + 1, || None);
        }
        if cards[segment].is_none() {
            let fast = searcher.segment_reader(addr.segment_ord).fast_fields();
            cards[segment] = Some((fast.u64("card_offset")?, fast.u64("card_len")?));
        }
        let card = cards[segment]
            .as_ref()
            .and_then(|(offset, len)| Some((offset.first(addr.doc_id)?, len.first(addr.doc_id)?)))
            .and_then(|(offset, len)| idx.html.get(offset, len))
            .and_then(decode_card);
        if let Some(card) = card {
            hits.push(hit_from_card(&card, score, &matched, analyzers));
        }
    }
    Ok(SearchResults {
        query: req.q.clone(),
        total,
        hits,
        facets,
        took_ms: (started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
    })
}

fn filter_clauses(f: &Fields, req: &SearchRequest) -> Vec<(Occur, Box<dyn Query>)> {
    let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let exact = |field: Field, v: &str| -> Box<dyn Query> {
        Box::new(ConstScoreQuery::new(
            Box::new(TermQuery::new(
                Term::from_field_text(field, v),
                IndexRecordOption::Basic,
            )),
            0.0,
        ))
    };
    if let Some(c) = req.category.as_ref().filter(|c| !c.is_root()) {
        out.push((Occur::Must, exact(f.category_path, c.as_str())));
    }
    for t in &req.tags {
        out.push((Occur::Must, exact(f.tag, t.as_str())));
    }
    out
}

fn text_fields(f: &Fields, b: &FieldBoosts) -> [(Field, f32); 5] {
    [
        (f.title, b.title),
        (f.headings, b.headings),
        (f.tags_text, b.tags),
        (f.summary, b.summary),
        (f.body, b.body),
    ]
}

fn phrase_over_fields(f: &Fields, settings: &SearchSettings, stems: &[String]) -> Box<dyn Query> {
    let mut per_field: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (field, boost) in text_fields(f, &settings.boosts) {
        let q: Box<dyn Query> = if stems.len() == 1 {
            Box::new(TermQuery::new(
                Term::from_field_text(field, &stems[0]),
                IndexRecordOption::WithFreqs,
            ))
        } else {
            Box::new(SafeSeekQuery(Box::new(PhraseQuery::new(
                stems
                    .iter()
                    .map(|s| Term::from_field_text(field, s))
                    .collect(),
            ))))
        };
        per_field.push((Occur::Should, Box::new(BoostQuery::new(q, boost))));
    }
    Box::new(BooleanQuery::new(per_field))
}

fn phrase_clauses(
    f: &Fields,
    settings: &SearchSettings,
    analyzers: &Analyzers,
    parsed: &ParsedQuery,
) -> Vec<Box<dyn Query>> {
    parsed
        .phrases
        .iter()
        .map(|p| tokens(&analyzers.en, p))
        .filter(|stems| !stems.is_empty())
        .map(|stems| {
            let q = phrase_over_fields(f, settings, &stems);
            // A phrase is a strong, exact signal: give it a tier like an exact word.
            Box::new(AddScoreQuery {
                inner: q,
                bonus: TIER_EXACT,
            }) as Box<dyn Query>
        })
        .collect()
}

fn exclusion_clauses(
    f: &Fields,
    settings: &SearchSettings,
    analyzers: &Analyzers,
    parsed: &ParsedQuery,
) -> Vec<(Occur, Box<dyn Query>)> {
    parsed
        .excluded
        .iter()
        .map(|e| tokens(&analyzers.en, e))
        .filter(|stems| !stems.is_empty())
        .map(|stems| (Occur::MustNot, phrase_over_fields(f, settings, &stems)))
        .collect()
}

fn typo_distance(settings: &TypoSettings, word: &str) -> u8 {
    let len = word.chars().count();
    if !settings.enabled
        || word.chars().any(|c| c.is_ascii_digit())
        || settings.protected.contains(word)
    {
        0
    } else if len >= settings.two_typos_from {
        2
    } else if len >= settings.one_typo_from {
        1
    } else {
        0
    }
}

/// Turns the parsed words into stems, typo variants and prefix completions, reading the
/// vocabulary field's dictionary of every segment.
fn analyze_words(
    idx: &OpenIndex,
    settings: &Arc<SearchSettings>,
    analyzers: &Analyzers,
    parsed: &ParsedQuery,
) -> Vec<WordTerms> {
    let (searcher, f) = (&idx.searcher, &idx.fields);
    let mut raws: Vec<(String, bool)> = Vec::new();
    let n = parsed.words.len();
    for (i, w) in parsed.words.iter().enumerate() {
        let toks = tokens(&analyzers.raw, w);
        let last_word = i + 1 == n && parsed.last_is_prefix;
        let count = toks.len();
        for (j, t) in toks.into_iter().enumerate() {
            let prefix = last_word && j + 1 == count && settings.prefix_last_word;
            if let Some(existing) = raws.iter_mut().find(|(r, _)| *r == t) {
                existing.1 |= prefix;
            } else {
                raws.push((t, prefix));
            }
        }
    }
    raws.truncate(super::query::MAX_WORDS);
    raws.into_iter()
        .map(|(raw, prefix)| {
            let key = (raw, prefix);
            if let Some(terms) = idx.words.get(settings, &key) {
                return terms;
            }
            let terms = expand_word(searcher, f, settings, analyzers, key.0.clone(), prefix);
            idx.words.put(settings, key, &terms);
            terms
        })
        .collect()
}

/// One query word with its stem, its prefix completions (when it is the half-typed
/// last word) and its typo variants, from the snapshot's dictionary.
fn expand_word(
    searcher: &Searcher,
    f: &Fields,
    settings: &SearchSettings,
    analyzers: &Analyzers,
    raw: String,
    prefix: bool,
) -> WordTerms {
    let exact_stem = stem(&analyzers.en, &raw);
    let mut exact = vec![(exact_stem.clone(), 1.0)];
    let stop = STOP_WORDS.contains(&raw.as_str());
    if prefix && !stop {
        // One letter is too little to complete; two letters complete to a few words.
        let max = match raw.chars().count() {
            1 => 0,
            2 => settings.max_prefix_expansions.min(3),
            _ => settings.max_prefix_expansions,
        };
        for completion in prefix_completions(searcher, f.vocab, &raw, max) {
            let s = stem(&analyzers.en, &completion);
            if !exact.iter().any(|(e, _)| *e == s) {
                exact.push((s, settings.prefix_weight));
            }
        }
    }
    let mut typos = Vec::new();
    let distance = if stop {
        0
    } else {
        typo_distance(&settings.typo, &raw)
    };
    if distance > 0 {
        for variant in typo_variants(searcher, f.vocab, &raw, distance, settings) {
            let s = stem(&analyzers.en, &variant);
            if !exact.iter().any(|(e, _)| *e == s) && !typos.contains(&s) {
                typos.push(s);
            }
        }
    }
    WordTerms {
        raw,
        exact,
        typos,
        stop,
    }
}

/// Dictionary words starting with `prefix` (the word itself excluded), most frequent first.
fn prefix_completions(searcher: &Searcher, vocab: Field, prefix: &str, max: usize) -> Vec<String> {
    if max == 0 {
        return Vec::new();
    }
    // Scanning is bounded: a one-letter prefix must not walk the whole dictionary.
    const SCAN_LIMIT: usize = 4096;
    let mut upper = prefix.as_bytes().to_vec();
    // The smallest byte string greater than every string with this prefix.
    while let Some(last) = upper.pop() {
        if last < 0xff {
            upper.push(last + 1);
            break;
        }
    }
    let mut freq: HashMap<String, u64> = HashMap::new();
    for segment in searcher.segment_readers() {
        let Ok(inverted) = segment.inverted_index(vocab) else {
            continue;
        };
        let dict = inverted.terms();
        let mut builder = dict.range().gt(prefix.as_bytes());
        if !upper.is_empty() {
            builder = builder.lt(&upper);
        }
        let Ok(mut stream) = builder.into_stream() else {
            continue;
        };
        // Keep this segment's `max` most frequent without allocating for the rest.
        let mut best: Vec<(u32, Vec<u8>)> = Vec::with_capacity(max + 1);
        let mut scanned = 0;
        while stream.advance() && scanned < SCAN_LIMIT {
            scanned += 1;
            let df = stream.value().doc_freq;
            if best.len() == max && best.last().is_some_and(|(f, _)| *f >= df) {
                continue;
            }
            let at = best.partition_point(|(f, _)| *f >= df);
            best.insert(at, (df, stream.key().to_vec()));
            best.truncate(max);
        }
        for (df, key) in best {
            if let Ok(s) = String::from_utf8(key) {
                *freq.entry(s).or_default() += df as u64;
            }
        }
    }
    top_by_freq(freq, max)
}

/// Dictionary words within `distance` edits of `word` (the word itself excluded), most
/// frequent first. With [`TypoSettings::keep_first_letter`] the first letter is kept.
fn typo_variants(
    searcher: &Searcher,
    vocab: Field,
    word: &str,
    distance: u8,
    settings: &SearchSettings,
) -> Vec<String> {
    let max = settings.max_typo_expansions;
    let keep_first = settings.typo.keep_first_letter;
    let fuzzy = FuzzyTermQuery::new(Term::from_field_text(vocab, word), distance, true);
    let Some(&first) = word.as_bytes().first() else {
        return Vec::new();
    };
    let mut freq: HashMap<String, u64> = HashMap::new();
    for segment in searcher.segment_readers() {
        let Ok(automaton) = fuzzy.automaton() else {
            return Vec::new();
        };
        // `first: None` lets a typo change the first letter too.
        let automaton = FirstByteFixed {
            first: keep_first.then_some(first),
            inner: automaton,
        };
        let Ok(inverted) = segment.inverted_index(vocab) else {
            continue;
        };
        let Ok(mut stream) = inverted.terms().search(automaton).into_stream() else {
            continue;
        };
        while stream.advance() {
            if stream.key() == word.as_bytes() {
                continue;
            }
            if let Ok(s) = std::str::from_utf8(stream.key()) {
                // Numbers never stand in for a word.
                if s.chars().any(|c| c.is_ascii_digit()) {
                    continue;
                }
                *freq.entry(s.to_string()).or_default() += stream.value().doc_freq as u64;
            }
        }
    }
    top_by_freq(freq, max)
}

/// An automaton that only accepts strings starting with `first`, then runs `inner`.
struct FirstByteFixed<A> {
    first: Option<u8>,
    inner: A,
}

#[derive(Clone)]
enum FixedState<S> {
    Start,
    In(S),
    Dead,
}

impl<A: Automaton> Automaton for FirstByteFixed<A>
where
    A::State: Clone,
{
    type State = FixedState<A::State>;

    fn start(&self) -> Self::State {
        FixedState::Start
    }

    fn is_match(&self, state: &Self::State) -> bool {
        match state {
            FixedState::In(s) => self.inner.is_match(s),
            _ => false,
        }
    }

    fn can_match(&self, state: &Self::State) -> bool {
        match state {
            FixedState::Start => true,
            FixedState::In(s) => self.inner.can_match(s),
            FixedState::Dead => false,
        }
    }

    fn accept(&self, state: &Self::State, byte: u8) -> Self::State {
        match state {
            FixedState::Start if self.first.is_none_or(|f| f == byte) => {
                FixedState::In(self.inner.accept(&self.inner.start(), byte))
            }
            FixedState::In(s) => FixedState::In(self.inner.accept(s, byte)),
            _ => FixedState::Dead,
        }
    }
}

fn top_by_freq(freq: HashMap<String, u64>, max: usize) -> Vec<String> {
    let mut v: Vec<(String, u64)> = freq.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(max);
    v.into_iter().map(|(s, _)| s).collect()
}

/// BM25 of one stem over the text fields, boosted per field.
///
/// A stand-in (typo variant or prefix completion, `weight < 1`) is only looked up in the
/// title and the body: each field costs a dictionary look-up per term, and stand-ins are
/// many while their weight is low.
fn stem_bm25(f: &Fields, boosts: &FieldBoosts, stem: &str, weight: f32) -> Box<dyn Query> {
    let all = text_fields(f, boosts);
    let fields: &[(Field, f32)] = if weight < 1.0 {
        &[all[0], all[4]]
    } else {
        &all
    };
    let clauses: Vec<(Occur, Box<dyn Query>)> = fields
        .iter()
        .copied()
        .map(|(field, boost)| {
            let q: Box<dyn Query> = Box::new(BoostQuery::new(
                Box::new(TermQuery::new(
                    Term::from_field_text(field, stem),
                    IndexRecordOption::WithFreqs,
                )),
                boost * weight,
            ));
            (Occur::Should, q)
        })
        .collect();
    Box::new(BooleanQuery::new(clauses))
}

/// BM25F of one stem over the text fields, the boosts as field weights: the word counts
/// once however many fields hold it. For the words of long queries, which describe
/// content rather than name an article (see [`word_query`]). Stand-ins use the title
/// and the body only, as in [`stem_bm25`].
fn stem_bm25f(f: &Fields, boosts: &FieldBoosts, stem: &str, weight: f32) -> Box<dyn Query> {
    let all = text_fields(f, boosts);
    let fields: &[(Field, f32)] = if weight < 1.0 {
        &[all[0], all[4]]
    } else {
        &all
    };
    let q = Bm25fQuery {
        terms: fields
            .iter()
            .map(|&(field, boost)| (Term::from_field_text(field, stem), boost))
            .collect(),
    };
    Box::new(BoostQuery::new(Box::new(q), weight))
}

/// The best BM25 among several stems (so expansions never add up past one word's worth):
/// per-field BM25 summed, or BM25F when `combined`.
fn best_of(
    f: &Fields,
    boosts: &FieldBoosts,
    stems: &[(String, f32)],
    combined: bool,
) -> Box<dyn Query> {
    let one = |s: &str, w: f32| {
        if combined {
            stem_bm25f(f, boosts, s, w)
        } else {
            stem_bm25(f, boosts, s, w)
        }
    };
    match stems {
        [] => Box::new(EmptyQuery),
        [(s, w)] => one(s, *w),
        many => Box::new(DisjunctionMaxQuery::new(
            many.iter().map(|(s, w)| one(s, *w)).collect(),
        )),
    }
}

fn word_query(
    f: &Fields,
    settings: &SearchSettings,
    w: &WordTerms,
    tiered: bool,
) -> Box<dyn Query> {
    let typo_stems: Vec<(String, f32)> = w
        .typos
        .iter()
        .map(|s| (s.clone(), settings.typo_weight))
        .collect();
    if !tiered {
        // Untiered words (a long query's, a short query's whose words rarely meet, or a
        // short query's stop words) rank by BM25F:
        // a pasted text or a sentence describes an article's content, and summed
        // per-field scores let the title's weight count a word a second time, which
        // buried documents matching more of the words (SciFact nDCG@10: 0.60 -> 0.66).
        let exact = best_of(f, &settings.boosts, &w.exact, true);
        if typo_stems.is_empty() {
            return exact;
        }
        let typo = best_of(f, &settings.boosts, &typo_stems, true);
        return Box::new(DisjunctionMaxQuery::new(vec![exact, typo]));
    }
    let exact = best_of(f, &settings.boosts, &w.exact, false);
    let with_tier = |q: Box<dyn Query>, tier: Score| -> Box<dyn Query> {
        Box::new(AddScoreQuery {
            inner: q,
            bonus: tier,
        })
    };
    let exact = with_tier(exact, TIER_EXACT);
    if typo_stems.is_empty() {
        return exact;
    }
    let typo = with_tier(best_of(f, &settings.boosts, &typo_stems, false), TIER_TYPO);
    Box::new(DisjunctionMaxQuery::new(vec![exact, typo]))
}

/// Query words covered by a synonym rule (indexes into the analyzed words).
type SynonymSpan = std::ops::Range<usize>;

/// A boolean clause: how it must occur, and the query.
type Clause = (Occur, Box<dyn Query>);

/// The clause of words that a synonym rule matched: the words themselves (each as its
/// own clause would be) or any alternative as a phrase. Tiered, an alternative scores
/// one exact tier per significant word it stands for, so that "2fa" and "two-factor
/// authentication" rank alike for their articles.
fn synonym_clause(
    f: &Fields,
    settings: &SearchSettings,
    words: &[WordTerms],
    alternatives: &[Vec<String>],
    all_required: bool,
    tiered: bool,
    clause_of: &dyn Fn(&WordTerms) -> Clause,
) -> Clause {
    let significant = words.iter().filter(|w| !w.stop).count().max(1);
    let own: Box<dyn Query> = Box::new(BooleanQuery::new(
        words
            .iter()
            .map(|w| {
                let (occur, q) = clause_of(w);
                // Within the group the words are required whenever the group is.
                let occur = if all_required && !w.stop {
                    Occur::Must
                } else {
                    occur
                };
                (occur, q)
            })
            .collect(),
    ));
    let mut options = vec![own];
    for stems in alternatives {
        let phrase = phrase_over_fields(f, settings, stems);
        options.push(if tiered {
            Box::new(AddScoreQuery {
                inner: phrase,
                bonus: TIER_EXACT * significant as Score,
            })
        } else {
            phrase
        });
    }
    let occur = if all_required {
        Occur::Must
    } else {
        Occur::Should
    };
    (occur, Box::new(DisjunctionMaxQuery::new(options)))
}

/// The stems that matched, for snippets and the best section.
#[derive(Default)]
struct MatchedTerms {
    stems: rustc_hash::FxHashSet<String>,
    /// Each stem less its last letter: what a matching word must start with.
    prefixes: Vec<String>,
    /// A SIMD finder per prefix, built once per query.
    finders: Vec<memchr::memmem::Finder<'static>>,
    /// Words already stemmed in this query (lowercased) and whether they match: long
    /// articles repeat their words, and stemming was most of a hit's cost.
    seen: std::cell::RefCell<rustc_hash::FxHashMap<Vec<u8>, bool>>,
    /// The stemming analyzer, cloned once per query rather than once per section.
    en: std::cell::RefCell<Option<TextAnalyzer>>,
    /// The analyzer's own stemmer, for plain ASCII words.
    stemmer: EnglishStemmer,
}

/// The English Snowball stemmer of the `en` analyzer.
struct EnglishStemmer(frostem::Stemmer);

impl Default for EnglishStemmer {
    fn default() -> Self {
        EnglishStemmer(frostem::Stemmer::new(frostem::Algorithm::English))
    }
}

/// Most words a thread remembers the stem of.
const STEM_CACHE_MAX: usize = 100_000;

impl EnglishStemmer {
    #[cfg(test)]
    fn stem<'a>(&self, word: &'a str) -> std::borrow::Cow<'a, str> {
        self.0.stem(word)
    }

    /// Calls `f` with the stem of `word` (lowercase ASCII). Articles share most of their
    /// words, so each thread remembers the stems it computed (stemming depends on
    /// nothing but the word); at most [`STEM_CACHE_MAX`] words, then it starts over.
    fn with_stem<T>(&self, word: &str, f: impl FnOnce(&str) -> T) -> T {
        thread_local! {
            static STEMS: std::cell::RefCell<rustc_hash::FxHashMap<Box<str>, Box<str>>> =
                std::cell::RefCell::new(rustc_hash::FxHashMap::default());
        }
        STEMS.with_borrow_mut(|stems| {
            if let Some(stem) = stems.get(word) {
                return f(stem);
            }
            if stems.len() >= STEM_CACHE_MAX {
                stems.clear();
            }
            let stem: Box<str> = self.0.stem(word).into();
            let out = f(&stem);
            stems.insert(word.into(), stem);
            out
        })
    }
}

impl MatchedTerms {
    /// Adds a stem. A word matches a stem only if it starts with the stem less its last
    /// letter (Porter stems change at most the last letter of what they keep), so that
    /// prefix is the filter.
    fn insert(&mut self, stem: String) {
        let keep = stem
            .char_indices()
            .nth(stem.chars().count().saturating_sub(1).max(1))
            .map(|(i, _)| i)
            .unwrap_or(stem.len());
        let head = stem[..keep].to_string();
        // A word that starts with `string` starts with `strin` too: scanning for the
        // shorter prefix finds every start the longer would, so keep only the shortest
        // of prefixes that extend one another (one scan of the text per prefix kept;
        // prefix matching and typos bring many: 12 for "string replace", 5 kept).
        if !self.prefixes.iter().any(|p| head.starts_with(p.as_str())) {
            let mut i = 0;
            while i < self.prefixes.len() {
                if self.prefixes[i].starts_with(head.as_str()) {
                    self.prefixes.swap_remove(i);
                    self.finders.swap_remove(i);
                } else {
                    i += 1;
                }
            }
            self.finders
                .push(memchr::memmem::Finder::new(head.as_bytes()).into_owned());
            self.prefixes.push(head);
        }
        self.stems.insert(stem);
    }
}

/// Reads a stored text field of a document (empty when absent).
pub fn doc_str(doc: &TantivyDocument, field: Field) -> String {
    doc.get_first(field)
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn hit_from_card(
    card: &CardView<'_>,
    score: Score,
    matched: &MatchedTerms,
    analyzers: &Analyzers,
) -> Hit {
    let slug = card.slug.to_string();
    let summary = Some(card.summary.to_string()).filter(|s| !s.is_empty());
    let tags = card.tags().map(str::to_string).collect();
    let encoded = card.sections;
    let sections = card.section_views();
    let (best, snippet) =
        best_section_and_snippet(encoded, &sections, summary.as_deref(), matched, analyzers);
    let section = best
        .map(|i| sections[i])
        .filter(|s| !s.anchor.is_empty())
        .map(|s| SectionRef {
            heading: s.heading.to_string(),
            anchor: s.anchor.to_string(),
        });
    let mut url = format!("/articles/{slug}");
    if let Some(s) = &section {
        url.push('#');
        url.push_str(&s.anchor);
    }
    Hit {
        title: card.title.to_string(),
        category: card.category.to_string(),
        slug,
        tags,
        summary,
        snippet,
        score,
        url,
        section,
    }
}

/// Byte ranges of matched words in `text`, in order.
///
/// Most words of a section match nothing, so instead of stemming every word this looks
/// for the places where a word starts like a matched stem (see [`MatchedTerms::insert`])
/// with a SIMD substring search over a lowercased copy, and only stems those words.
fn match_ranges(text: &str, matched: &MatchedTerms, analyzers: &Analyzers) -> Vec<(usize, usize)> {
    if matched.stems.is_empty() {
        return Vec::new();
    }
    if text.is_empty() {
        return Vec::new();
    }
    let is_word_byte = |b: u8| b.is_ascii_alphanumeric() || b >= 0x80;
    // The lowercased copy goes in a buffer reused across hits and queries: articles run
    // to hundreds of KB, and a fresh allocation that size is an mmap and page faults.
    thread_local! {
        static LOWER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    LOWER.with_borrow_mut(|lower| {
        lower.clear();
        lower.extend_from_slice(text.as_bytes());
        lower.make_ascii_lowercase();
        // Do not keep a huge buffer alive for good after one outsized article.
        let ranges = match_ranges_in(text, lower, matched, analyzers, is_word_byte);
        if lower.capacity() > 4 << 20 {
            *lower = Vec::new();
        }
        ranges
    })
}

fn match_ranges_in(
    text: &str,
    bytes: &[u8],
    matched: &MatchedTerms,
    analyzers: &Analyzers,
    is_word_byte: impl Fn(u8) -> bool,
) -> Vec<(usize, usize)> {
    let mut starts: Vec<usize> = Vec::new();
    for finder in &matched.finders {
        for pos in finder.find_iter(bytes) {
            if pos == 0 || !is_word_byte(bytes[pos - 1]) {
                starts.push(pos);
            }
        }
    }
    starts.sort_unstable();
    starts.dedup();
    let mut en_slot = matched.en.borrow_mut();
    let en = en_slot.get_or_insert_with(|| analyzers.en.clone());
    let mut seen = matched.seen.borrow_mut();
    let mut out = Vec::new();
    for from in starts {
        let mut to = from;
        while to < bytes.len() && is_word_byte(bytes[to]) {
            to += 1;
        }
        let lowered = &bytes[from..to];
        if let Some(&hit) = seen.get(lowered) {
            if hit {
                out.push((from, to));
            }
            continue;
        }
        // A plain ASCII word is exactly one token of the analyzer, its stem: stem it
        // directly (the analyzer's pipeline cost more than the stemming itself).
        if lowered.len() < super::index::MAX_TOKEN_LEN && lowered.iter().all(u8::is_ascii) {
            let word = std::str::from_utf8(lowered).unwrap_or_default();
            let hit = matched
                .stemmer
                .with_stem(word, |stem| matched.stems.contains(stem));
            if hit {
                out.push((from, to));
            }
            seen.insert(lowered.to_vec(), hit);
            continue;
        }
        let Some(word) = text.get(from..to) else {
            continue;
        };
        // A word is one token unless it holds non-ASCII separators; check them all.
        let mut hit = false;
        let mut single = true;
        let mut stream = en.token_stream(word);
        let mut count = 0;
        while let Some(t) = stream.next() {
            count += 1;
            if t.offset_from != 0 || t.offset_to != word.len() {
                single = false;
            }
            if matched.stems.contains(&t.text) {
                out.push((from + t.offset_from, from + t.offset_to));
                hit = true;
            }
        }
        if single && count == 1 {
            seen.insert(lowered.to_vec(), hit);
        }
    }
    out
}

const SNIPPET_CHARS: usize = 180;

fn best_section_and_snippet(
    encoded: &str,
    sections: &[SectionView<'_>],
    summary: Option<&str>,
    matched: &MatchedTerms,
    analyzers: &Analyzers,
) -> (Option<usize>, String) {
    // One scan over the whole encoded text (the framing bytes are not word bytes, so no
    // match spans two sections), then each match is assigned to its section: one pass
    // per hit instead of one per section and heading.
    let base = encoded.as_ptr() as usize;
    let offset = |part: &str| part.as_ptr() as usize - base;
    let all = match_ranges(encoded, matched, analyzers);
    // (section index, (distinct matches, all matches), match ranges within the text)
    type Best = (usize, (usize, usize), Vec<(usize, usize)>);
    let mut best: Option<Best> = None;
    let mut next = 0;
    for (i, s) in sections.iter().enumerate() {
        let (h_from, h_to) = (offset(s.heading), offset(s.heading) + s.heading.len());
        let (t_from, t_to) = (offset(s.text), offset(s.text) + s.text.len());
        while next < all.len() && all[next].0 < h_from {
            next += 1;
        }
        let mut heading_hits = 0;
        let mut ranges = Vec::new();
        while next < all.len() && all[next].1 <= t_to {
            let (a, b) = all[next];
            if a >= h_from && b <= h_to {
                heading_hits += 1;
            } else if a >= t_from {
                ranges.push((a - t_from, b - t_from));
            }
            next += 1;
        }
        if ranges.is_empty() && heading_hits == 0 {
            continue;
        }
        // Distinct matched words: a sorted list, cheaper than hashing for the handful a
        // section holds (this ran for every section of every hit).
        let mut distinct: Vec<&str> = ranges.iter().map(|(a, b)| &s.text[*a..*b]).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let key = (
            distinct.len() + heading_hits * 2,
            ranges.len() + heading_hits,
        );
        if key.0 == 0 {
            continue;
        }
        if best.as_ref().is_none_or(|(_, k, _)| key > *k) {
            best = Some((i, key, ranges));
        }
    }
    match best {
        Some((i, _, ranges)) => (Some(i), snippet_html(sections[i].text, &ranges)),
        None => {
            let text = sections
                .iter()
                .map(|s| s.text)
                .find(|t| !t.trim().is_empty())
                .or(summary)
                .unwrap_or("");
            (None, snippet_html(text, &[]))
        }
    }
}

/// A window of about [`SNIPPET_CHARS`] characters around the densest run of matches,
/// HTML-escaped, with matches wrapped in `<mark>`.
pub fn snippet_html(text: &str, ranges: &[(usize, usize)]) -> String {
    let window = SNIPPET_CHARS;
    let (mut start, mut best_count) = (0usize, 0usize);
    for (i, (a, _)) in ranges.iter().enumerate() {
        let count = ranges[i..]
            .iter()
            .take_while(|(b, _)| *b < a + window)
            .count();
        if count > best_count {
            best_count = count;
            start = *a;
        }
    }
    // Show a little context before the first match.
    let mut from = start.saturating_sub(window / 4);
    while from > 0 && !text.is_char_boundary(from) {
        from -= 1;
    }
    if from > 0 {
        // Start after the first whitespace, which may be wider than a byte (U+2009).
        if let Some((space, c)) = text[..start.min(text.len())]
            .get(from..)
            .and_then(|s| s.char_indices().find(|(_, c)| c.is_whitespace()))
        {
            from += space + c.len_utf8();
        }
    }
    let mut to = (from + window).min(text.len());
    while to < text.len() && !text.is_char_boundary(to) {
        to += 1;
    }
    if to < text.len() {
        if let Some(space) = text[from..to].rfind(char::is_whitespace) {
            if space > window / 2 {
                to = from + space;
            }
        }
    }
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut pos = from;
    for (a, b) in ranges
        .iter()
        .copied()
        .filter(|(a, b)| *a >= from && *b <= to)
    {
        if a < pos {
            continue;
        }
        escape_into(&mut out, &collapse_ws(&text[pos..a]));
        out.push_str("<mark>");
        escape_into(&mut out, &text[a..b]);
        out.push_str("</mark>");
        pos = b;
    }
    escape_into(&mut out, &collapse_ws(&text[pos..to]));
    if to < text.len() {
        out.push('…');
    }
    out
}

fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut ws = false;
    for c in s.chars() {
        if c.is_whitespace() {
            if !ws {
                out.push(' ');
            }
            ws = true;
        } else {
            out.push(c);
            ws = false;
        }
    }
    out
}

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attributes.
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// A short reference to another article.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ArticleRef {
    /// Slug.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Category path.
    pub category: String,
    /// Page URL.
    pub url: String,
}

/// The article whose relatives are wanted.
#[derive(Debug, Clone, Copy)]
pub struct RelatedTo<'a> {
    /// Its slug (excluded from the results).
    pub slug: &'a str,
    /// Its title.
    pub title: &'a str,
    /// Its tags.
    pub tags: &'a [String],
    /// Its category.
    pub category: &'a str,
}

/// Up to `limit` articles related to the one with `slug`: sharing title words or tags,
/// preferring its own category.
pub fn related(
    idx: &OpenIndex,
    settings: &SearchSettings,
    analyzers: &Analyzers,
    to: &RelatedTo<'_>,
    limit: usize,
) -> Result<Vec<ArticleRef>, SearchError> {
    let f = &idx.fields;
    let searcher = &idx.searcher;
    let mut stems: Vec<String> = Vec::new();
    let (slug, title, tags, category) = (to.slug, to.title, to.tags, to.category);
    let mut text = title.to_string();
    for t in tags {
        text.push(' ');
        text.push_str(t);
    }
    for raw in tokens(&analyzers.raw, &text) {
        if STOP_WORDS.contains(&raw.as_str()) {
            continue;
        }
        let s = stem(&analyzers.en, &raw);
        if !stems.contains(&s) {
            stems.push(s);
        }
    }
    stems.truncate(16);
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = stems
        .iter()
        .map(|s| (Occur::Should, stem_bm25(f, &settings.boosts, s, 1.0)))
        .collect();
    for t in tags {
        clauses.push((
            Occur::Should,
            Box::new(TermQuery::new(
                Term::from_field_text(f.tag, t),
                IndexRecordOption::Basic,
            )),
        ));
    }
    if !category.is_empty() {
        clauses.push((
            Occur::Should,
            Box::new(ConstScoreQuery::new(
                Box::new(TermQuery::new(
                    Term::from_field_text(f.category_path, category),
                    IndexRecordOption::Basic,
                )),
                2.0,
            )),
        ));
    }
    if clauses.is_empty() {
        return Ok(Vec::new());
    }
    clauses.push((
        Occur::MustNot,
        Box::new(TermQuery::new(
            Term::from_field_text(f.slug, slug),
            IndexRecordOption::Basic,
        )),
    ));
    let query = BooleanQuery::new(clauses);
    let docs = searcher.search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
    let mut out = Vec::new();
    for (_, addr) in docs.into_iter().take(limit) {
        let doc: TantivyDocument = searcher.doc(addr)?;
        let slug = doc_str(&doc, f.slug);
        out.push(ArticleRef {
            url: format!("/articles/{slug}"),
            title: doc_str(&doc, f.title),
            category: doc_str(&doc, f.category),
            slug,
        });
    }
    Ok(out)
}

/// Looks up the stored document of a published article.
pub fn find_by_slug(idx: &OpenIndex, slug: &str) -> Result<Option<TantivyDocument>, SearchError> {
    let searcher = &idx.searcher;
    let q = TermQuery::new(
        Term::from_field_text(idx.fields.slug, slug),
        IndexRecordOption::Basic,
    );
    let docs = searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?;
    match docs.first() {
        Some((_, addr)) => Ok(Some(searcher.doc(*addr)?)),
        None => Ok(None),
    }
}

/// A published article with its last update, for "recently updated" lists.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RecentArticle {
    /// Slug, title, category and page URL.
    pub article: ArticleRef,
    /// Last update (RFC 3339).
    pub updated: String,
}

/// The `limit` most recently updated published articles, newest first.
pub fn recent_articles(idx: &OpenIndex, limit: usize) -> Result<Vec<RecentArticle>, SearchError> {
    let searcher = &idx.searcher;
    let f = &idx.fields;
    let top = TopDocs::with_limit(limit.max(1)).order_by_fast_field::<i64>("updated", Order::Desc);
    let docs = searcher.search(&AllQuery, &top)?;
    let mut out = Vec::new();
    for (_, addr) in docs.into_iter().take(limit) {
        let doc: TantivyDocument = searcher.doc(addr)?;
        let slug = doc_str(&doc, f.slug);
        out.push(RecentArticle {
            article: ArticleRef {
                url: format!("/articles/{slug}"),
                title: doc_str(&doc, f.title),
                category: doc_str(&doc, f.category),
                slug,
            },
            updated: super::article::rfc3339(doc_i64(&doc, f.updated)),
        });
    }
    Ok(out)
}

/// Category counts over every published article (no cap on the number of categories).
pub fn category_counts(idx: &OpenIndex) -> Result<(u64, Vec<FacetCount>), SearchError> {
    let searcher = &idx.searcher;
    let (total, facets) = searcher.search(
        &AllQuery,
        &(
            Count,
            FacetCollector {
                table: idx.facets.clone(),
                max_values: usize::MAX,
            },
        ),
    )?;
    let facets = FacetCollector {
        table: idx.facets.clone(),
        max_values: usize::MAX,
    }
    .facets(&facets);
    Ok((total as u64, facets.category))
}

/// Reads every value of a stored multi-valued text field.
pub fn doc_strs(doc: &TantivyDocument, field: Field) -> Vec<String> {
    doc.get_all(field)
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// Reads a stored u64 field.
pub fn doc_u64(doc: &TantivyDocument, field: Field) -> u64 {
    doc.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0)
}

/// Reads a stored i64 field.
pub fn doc_i64(doc: &TantivyDocument, field: Field) -> i64 {
    doc.get_first(field).and_then(|v| v.as_i64()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_direct_stemmer_agrees_with_the_analyzer_on_plain_ascii_words() {
        let analyzer = en_analyzer();
        let stemmer = EnglishStemmer::default();
        let words = "invoices invoice downloading running ran relational sensibility happy \
            happily cries dying lying skies news atlas generously organization organizations \
            fetch fetching javascript flexbox promise promises 2fa http2 x86 a i abc1 \
            connection connections connected ugly early only singly gently idly howe";
        for word in words.split(' ').filter(|w| !w.is_empty()) {
            assert_eq!(stemmer.stem(word), stem(&analyzer, word), "{word}");
        }
    }
}
