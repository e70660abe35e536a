//! The first stage: what a search is asked and how it matches and ranks. The documented
//! [`SearchSettings`] (typo tolerance, field boosts, tiers), the request as the edge
//! parsed it, and the results' shape.

use super::*;
use crate::kb::audience::Reader;

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
    /// Weight of a typo variant in BM25 when the word as typed is in no dictionary
    /// ("clousre"): the variants are all the person can have meant, so a low weight
    /// would let the query's other words decide the order alone ("javascript clousre"
    /// ranked the JavaScript landing page above the page on closures).
    pub unknown_word_typo_weight: f32,
    /// Weight of a prefix completion against an exact word in BM25.
    pub prefix_weight: f32,
    /// Queries with up to this many significant words use tiered ranking and AND matching.
    pub tiered_max_words: usize,
    /// Two adjacent significant words of three letters or more that the dictionary
    /// knows as one word ("set timeout" for `setTimeout`) also match that word, as a
    /// writers' synonym would (in every query, long ones included).
    pub join_words: bool,
    /// Writers' synonyms (`_search.toml`): a matched word or words also match each
    /// alternative as a phrase, in the same ranking tier as the words themselves, its
    /// BM25 counted once per significant word it stands for (untiered queries score an
    /// alternative by its BM25 alone).
    #[serde(skip)]
    pub synonyms: Synonyms,
    /// When fewer documents than this match every word of such a query, any word may
    /// match instead, ranked by BM25F like a long query (no tiers: when the words
    /// rarely meet, matching more of them is a weak signal next to matching the rare
    /// one). So a query whose words rarely meet does not leave the first page nearly
    /// empty (1: only when nothing matches them all).
    pub min_full_matches: usize,
    /// How much the ranking leans on meaning rather than words when a request does not
    /// say (`semantic_ratio`): 0 is lexical search alone, 1 ranks by meaning alone
    /// (lexical matches are still shown, ordered by their own similarity).
    pub semantic_ratio: f32,
    /// The least cosine similarity between the query and an article's best section for
    /// the article to match by meaning: below it, a query that shares no word with an
    /// article does not find it.
    pub semantic_min_similarity: f32,
    /// At most this many articles come from the semantic side of one query.
    pub semantic_candidates: usize,
    /// Queries with fewer significant words known to the index than this are lexical
    /// only. One word is a lookup ("volumes"): its typos, completions and synonyms
    /// serve it, while its nearest sections are merely about the same topic (and the
    /// as-you-type path saves the embedding and the scan).
    pub semantic_min_words: usize,
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
            unknown_word_typo_weight: 1.0,
            prefix_weight: 0.6,
            tiered_max_words: 4,
            join_words: true,
            synonyms: Synonyms::default(),
            min_full_matches: 10,
            // Chosen on the tuning halves of the known items (docker-docs and MDN in
            // customers' words), never on the held-out halves: see README, Relevance.
            semantic_ratio: 0.4,
            semantic_min_similarity: 0.35,
            semantic_candidates: 30,
            semantic_min_words: 2,
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
    /// Weight of meaning against words in [0, 1] (`None`: the settings' default).
    pub semantic_ratio: Option<f32>,
    /// Who is searching: only the articles this reader may open exist for the search
    /// (anonymous unless the edge says otherwise).
    pub reader: Reader,
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

/// Lexical matches that fusion ranks against the semantic ones (at least; a page
/// further down ranks down to its end).
pub const FUSION_WINDOW: usize = 20;

// Tier scores: large enough that the BM25 part of one word (a max over its stems,
// bounded by field boosts times IDF) never bridges a tier.
pub(super) const TIER_EXACT: Score = 10_000.0;
pub(super) const TIER_TYPO: Score = 5_000.0;

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
