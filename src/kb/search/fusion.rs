//! The semantic stage and its fusion with the lexical ranking (hybrid search).
//!
//! The query's words and phrases are embedded once; the sections nearest to that vector
//! (`kb::semantic`) give each article its best section's similarity. Articles under
//! [`SearchSettings::semantic_min_similarity`] are dropped, so a query that means
//! nothing finds nothing; and a query with fewer than
//! [`SearchSettings::semantic_min_words`] significant words the index knows is not
//! embedded at all (gibberish has no neighbours worth showing, whatever its
//! similarity, and one word is a lookup that the dictionary serves better). The rest must pass the same filters, exclusions and phrases as a
//! lexical match (a `DocListQuery` of their documents inside the tantivy query). The lexical and semantic
//! rankings are then merged by a convex combination:
//!
//! ```text
//! score(article) = (1 - ratio) * lexical + ratio * similarity / best similarity
//! lexical        = 1/2 * BM25 part / best's BM25 part + 1/2 * 10 / (10 + lexical rank)
//! ```
//!
//! where an article found by meaning alone has lexical 0, and every lexical match gets
//! its similarity from its own rows, near or not. A tiered score's BM25 part is what
//! lies above the best match's tier (an untiered score is BM25 over the tier that a
//! quoted phrase gives every match, or over none): against the whole score, matches of
//! one tier differ by a few points in ten thousand and the words' order would be lost
//! to meaning (tuning halves: MDN hit@3 0.604 to 0.642). Measured on the tuning halves
//! (README, Relevance): weighted reciprocal rank fusion found more of the customers' questions
//! on docker-docs but lost nDCG on BEIR SciFact against lexical search alone; the
//! scores alone (no rank part) lost known items whose words match several articles in
//! the same tier (where scores differ by a few points in ten thousand); this mix, at
//! ratio 0.4, is at or above lexical search on every tuning set.

use tantivy::collector::{Collector, DocSetCollector, SegmentCollector};
use tantivy::index::SegmentId;
use tantivy::query::{BitSetDocSet, ConstScorer, EnableScoring, Explanation, Scorer, Weight};
use tantivy::{BitSet, DocId, SegmentOrdinal, SegmentReader};

use super::*;
use crate::kb::semantic::Embedder;

/// Articles that matched the query's meaning and pass its filters, exclusions and
/// phrases, most similar first.
pub(super) struct SemanticMatches {
    /// (document, similarity, best section's position in the card).
    pub(super) ranked: Vec<(DocAddress, f32, Option<usize>)>,
    /// Matches exactly these documents' slugs (for the union with the lexical query).
    pub(super) slugs: Box<dyn Query>,
    /// The query's vector.
    pub(super) vector: Arc<[f32]>,
    /// The similarity of the nearest article that passes the query's filters and the
    /// reader's audiences: the semantic scale's top, the same for every page of the
    /// query (and never set by an article the reader may not see).
    pub(super) best_similarity: f32,
}

impl SemanticMatches {
    /// Gives the lexical matches their semantic rank too: each one's similarity from
    /// its own rows, whether or not it was among the nearest sections, so fusion
    /// weighs every candidate on both scales. (Only those already found by words; a
    /// lexical match needs no minimum similarity.)
    pub(super) fn rank_lexical_matches<'a>(
        &mut self,
        idx: &'a OpenIndex,
        cards: &mut Cards<'a>,
        lexical: &[DocAddress],
    ) {
        let unranked: Vec<(DocAddress, &str)> = lexical
            .iter()
            .filter(|addr| !self.ranked.iter().any(|(a, ..)| a == *addr))
            .filter_map(|addr| Some((*addr, cards.get(*addr)?.slug)))
            .collect();
        let slugs: Vec<&str> = unranked.iter().map(|(_, slug)| *slug).collect();
        let similarities = idx.vectors.similarity_of(&slugs, &self.vector);
        for ((addr, _), similarity) in unranked.into_iter().zip(similarities) {
            if let Some((sim, section)) = similarity {
                self.ranked.push((addr, sim, section));
            }
        }
        self.ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    }
}

/// Sections looked at per query: enough to give [`SearchSettings::semantic_candidates`]
/// articles their best section even when an article has several near sections.
const NEAREST_SECTIONS: usize = 200;

/// The semantic side of a query, `None` when it adds nothing (no known word, nothing
/// similar enough, or every candidate filtered out).
pub(super) fn semantic_matches(
    idx: &OpenIndex,
    settings: &Arc<SearchSettings>,
    parsed: &ParsedQuery,
    words: &[WordTerms],
    constraints: &[(Occur, Box<dyn Query>)],
    reader: &crate::kb::audience::Reader,
) -> Result<Option<SemanticMatches>, SearchError> {
    // The significant words, as the vocabulary knows them: the model weighs frequent
    // tokens down, but "how do I" still pulls a question towards every other
    // question-shaped text, and a typo is noise to it.
    let meant: Vec<&str> = words
        .iter()
        .filter(|w| !w.stop)
        .filter_map(|w| w.for_meaning.as_deref())
        .collect();
    if meant.len() < settings.semantic_min_words {
        return Ok(None);
    }
    let mut text = meant.join(" ");
    for p in &parsed.phrases {
        text.push(' ');
        text.push_str(p);
    }
    // Readers who see the same articles share their nearest ones.
    let key = (idx.audiences.visibility_key(reader), text);
    let Meaning {
        vector: query,
        nearest: found,
    } = idx
        .meanings
        .get_or_insert_with(settings, key, MEANING_CACHE_MAX, |(_, text)| {
            let vector: Arc<[f32]> = Embedder::builtin().embed_query(text).into();
            Meaning {
                nearest: nearest_articles(idx, settings, &vector, reader),
                vector,
            }
        });
    if found.is_empty() {
        return Ok(None);
    }
    let slugs: Box<dyn Query> =
        Box::new(DocListQuery::new(idx, found.iter().map(|(addr, ..)| *addr)));
    let found: Vec<(DocAddress, f32, Option<usize>)> = found.to_vec();
    let ranked = if constraints.is_empty() {
        found
    } else {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, slugs.box_clone())];
        clauses.extend(constraints.iter().map(|(o, q)| (*o, q.box_clone())));
        let passing = idx
            .searcher
            .search(&BooleanQuery::new(clauses), &DocSetCollector)?;
        found
            .into_iter()
            .filter(|(addr, ..)| passing.contains(addr))
            .collect()
    };
    if ranked.is_empty() {
        return Ok(None);
    }
    let best_similarity = ranked.iter().map(|(_, sim, _)| *sim).fold(0.0f32, f32::max);
    Ok(Some(SemanticMatches {
        ranked,
        slugs,
        vector: query,
        best_similarity,
    }))
}

/// An article near a query in meaning: (its document in the snapshot, similarity,
/// nearest section).
pub type NearArticle = (DocAddress, f32, Option<usize>);

/// The articles `reader` may read nearest to `query`, each with its best row, most
/// similar first: at most [`SearchSettings::semantic_candidates`], none under the
/// minimum similarity. Articles the reader may not see are skipped while walking the
/// nearest sections, so they neither show nor take a candidate's place.
fn nearest_articles(
    idx: &OpenIndex,
    settings: &SearchSettings,
    query: &[f32],
    reader: &crate::kb::audience::Reader,
) -> Arc<[NearArticle]> {
    let mut best: Vec<(DocAddress, &str, f32, Option<usize>)> = Vec::new();
    let mut skipped: Vec<&str> = Vec::new();
    for near in idx.vectors.nearest(query, NEAREST_SECTIONS) {
        if near.similarity < settings.semantic_min_similarity
            || best.len() >= settings.semantic_candidates
        {
            break;
        }
        if best.iter().any(|(_, slug, ..)| *slug == near.slug) || skipped.contains(&near.slug) {
            continue;
        }
        // A slug that cannot be read is left out, like a vanished one.
        match doc_of_slug(&idx.searcher, idx.fields.slug, near.slug) {
            Ok(Some(addr)) if idx.audiences.may_read(reader, addr) => {
                best.push((addr, near.slug, near.similarity, near.section))
            }
            _ => skipped.push(near.slug),
        }
    }
    best.into_iter()
        .map(|(addr, _, sim, section)| (addr, sim, section))
        .collect()
}

/// The nearest articles (as the snapshot's documents) of query texts already scanned
/// against one snapshot, under one set of search settings ([`SnapshotCache`]): the
/// scan of every section's signature is most of the semantic stage's cost, and
/// as-you-type search sends the same meaningful words keystroke after keystroke (a
/// half-typed last word counts by its completion).
/// Keyed by what the reader may see and the embedded text.
pub type MeaningCache = SnapshotCache<(String, String), Meaning>;

/// What a query text means in one snapshot: its vector (embedding it was a few per cent
/// of a cached search's time: the tokenizer and a thread pool's round trip) and its
/// nearest articles.
#[derive(Clone)]
pub struct Meaning {
    vector: Arc<[f32]>,
    nearest: Arc<[NearArticle]>,
}

/// Most query texts a snapshot's meaning cache holds before it starts over.
const MEANING_CACHE_MAX: usize = 5_000;

/// Matches exactly a list of one snapshot's documents, each with score 0: the semantic
/// matches inside a tantivy query (filters, exclusions, phrases, the union with the
/// lexical query), without a term lookup per slug.
#[derive(Clone, Debug)]
pub(super) struct DocListQuery {
    docs: Arc<HashMap<SegmentId, Vec<DocId>>>,
}

impl DocListQuery {
    /// Matches exactly `docs` (of `idx`'s snapshot).
    pub(super) fn new(idx: &OpenIndex, docs: impl Iterator<Item = DocAddress>) -> Self {
        let mut by_segment: HashMap<SegmentId, Vec<DocId>> = HashMap::new();
        for addr in docs {
            let segment = idx.searcher.segment_reader(addr.segment_ord).segment_id();
            by_segment.entry(segment).or_default().push(addr.doc_id);
        }
        DocListQuery {
            docs: Arc::new(by_segment),
        }
    }
}

impl Query for DocListQuery {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(DocListWeight(self.docs.clone())))
    }
}

struct DocListWeight(Arc<HashMap<SegmentId, Vec<DocId>>>);

impl Weight for DocListWeight {
    fn scorer(&self, reader: &SegmentReader, _boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut set = BitSet::with_max_value(reader.max_doc());
        for &doc in self.0.get(&reader.segment_id()).into_iter().flatten() {
            if doc < reader.max_doc() {
                set.insert(doc);
            }
        }
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from(set), 0.0)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let listed = self
            .0
            .get(&reader.segment_id())
            .is_some_and(|docs| docs.contains(&doc));
        if listed {
            Ok(Explanation::new("a semantic match", 0.0))
        } else {
            Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} is not a semantic match"
            )))
        }
    }
}

/// The rank at which a lexical match's rank part has halved.
const LEXICAL_RANK_K: f32 = 10.0;

/// The lexical and semantic scores merged (see the module's comment), best first.
/// `lexical` holds only lexical matches, in rank order; `semantic` every article with
/// a similarity, lexical matches included.
pub(super) fn fuse(
    lexical: &[(Score, DocAddress)],
    semantic: &[(DocAddress, f32, Option<usize>)],
    ratio: f32,
    semantic_best: f32,
) -> Vec<(Score, DocAddress)> {
    let lexical_best = lexical.iter().map(|(s, _)| *s).fold(0.0f32, f32::max);
    // A tiered score is its tier plus its BM25 part (which never bridges a tier): the
    // BM25 parts are compared within the best match's tier. An untiered score is its
    // BM25 alone (floor 0), or over the one tier that a required phrase gives every
    // match.
    let floor = (lexical_best / TIER_TYPO).floor() * TIER_TYPO;
    let spread = (lexical_best - floor).max(f32::MIN_POSITIVE);
    let semantic_best = semantic_best.max(f32::MIN_POSITIVE);
    // (fused score, first seen: lexical rank, then semantic rank after all lexical ones)
    let mut scores: HashMap<DocAddress, (Score, usize)> =
        HashMap::with_capacity(lexical.len() + semantic.len());
    for (rank, (score, addr)) in lexical.iter().enumerate() {
        let e = scores.entry(*addr).or_insert((0.0, rank));
        // Half its score against the best, half its rank: within one of BM25's tiers
        // the scores differ by a few points in ten thousand, so the score alone would
        // let meaning reorder what the words ranked clearly.
        let relative = ((score - floor) / spread).max(0.0);
        let lex = 0.5 * relative + 0.5 * LEXICAL_RANK_K / (LEXICAL_RANK_K + rank as f32);
        e.0 += (1.0 - ratio) * lex;
    }
    for (rank, (addr, similarity, _)) in semantic.iter().enumerate() {
        let e = scores.entry(*addr).or_insert((0.0, lexical.len() + rank));
        e.0 += ratio * (similarity / semantic_best).clamp(0.0, 1.0);
    }
    let mut fused: Vec<(Score, usize, DocAddress)> = scores
        .into_iter()
        .map(|(addr, (score, first_seen))| (score, first_seen, addr))
        .collect();
    // Ties keep the lexical order, then the semantic one.
    fused.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    fused.into_iter().map(|(s, _, addr)| (s, addr)).collect()
}

/// Counts the documents with a positive score: in the union of the lexical query and
/// the semantic matches (which score 0), the lexical matches.
pub(super) struct ScoredCount;

/// [`ScoredCount`] for one segment.
pub(super) struct ScoredCountSegment(usize);

impl Collector for ScoredCount {
    type Fruit = usize;
    type Child = ScoredCountSegment;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        _reader: &SegmentReader,
    ) -> tantivy::Result<ScoredCountSegment> {
        Ok(ScoredCountSegment(0))
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<usize>) -> tantivy::Result<usize> {
        Ok(fruits.into_iter().sum())
    }
}

impl SegmentCollector for ScoredCountSegment {
    type Fruit = usize;

    fn collect(&mut self, _doc: DocId, score: Score) {
        if score > 0.0 {
            self.0 += 1;
        }
    }

    fn harvest(self) -> usize {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(n: u32) -> DocAddress {
        DocAddress::new(0, n)
    }

    #[test]
    fn ratio_zero_keeps_the_lexical_order_and_appends_nothing_above_it() {
        let fused = fuse(
            &[(3.0, doc(1)), (2.0, doc(2))],
            &[(doc(3), 0.9, None), (doc(2), 0.8, None)],
            0.0,
            0.9,
        );
        let order: Vec<u32> = fused.iter().map(|(_, d)| d.doc_id).collect();
        assert_eq!(order, vec![1, 2, 3]);
    }

    #[test]
    fn an_article_both_sides_rate_highly_comes_first() {
        let fused = fuse(
            &[(10.0, doc(1)), (9.0, doc(2)), (8.0, doc(3))],
            &[
                (doc(3), 0.9, None),
                (doc(4), 0.8, None),
                (doc(1), 0.3, None),
            ],
            0.4,
            0.9,
        );
        assert_eq!(fused[0].1, doc(3));
    }

    #[test]
    fn ratio_one_ranks_by_similarity_alone() {
        let fused = fuse(
            &[(10.0, doc(1)), (9.0, doc(2))],
            &[(doc(2), 0.7, None), (doc(1), 0.5, None)],
            1.0,
            0.7,
        );
        assert_eq!(fused[0].1, doc(2));
    }

    #[test]
    fn within_one_tier_the_words_scores_weigh_not_the_tier() {
        // Both match every word; the first has them where they count (say, in its
        // title). Against the whole tiered score the two are 15,086 and 15,046: nearly
        // equal, so the second's slightly better meaning overturned the words' order.
        let fused = fuse(
            &[(15_086.0, doc(1)), (15_046.0, doc(2))],
            &[(doc(2), 1.0, None), (doc(1), 0.8, None)],
            0.4,
            1.0,
        );
        assert_eq!(fused[0].1, doc(1));
    }
}
