//! Query wrappers: [`SafeSeekQuery`] gives a scorer the plain, safe `seek_danger`
//! behaviour; [`AddScoreQuery`] adds a constant to scores (the ranking tiers);
//! [`Bm25fQuery`] scores one term over several weighted fields as one (BM25F).
//!
//!
//! Why: tantivy 0.27's phrase scorer debug-asserts in `seek_danger` when asked about a
//! document before its current one, which exclusions (`-"a phrase"`) and intersections
//! do routinely; the property test over the search box found it. Routing `seek_danger`
//! through `seek` is always correct, at the cost of the phrase scorer's shortcut.

use std::sync::Arc;

use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::{Postings, SegmentPostings};
use tantivy::query::{EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, Score, SeekDangerResult, SegmentReader, Term, TERMINATED};

/// Wraps a query so that its scorers never take tantivy's `seek_danger` shortcut.
#[derive(Debug)]
pub struct SafeSeekQuery(pub Box<dyn Query>);

impl Clone for SafeSeekQuery {
    fn clone(&self) -> Self {
        SafeSeekQuery(self.0.box_clone())
    }
}

impl Query for SafeSeekQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(SafeSeekWeight(self.0.weight(enable_scoring)?)))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.0.query_terms(visitor)
    }
}

struct SafeSeekWeight(Box<dyn Weight>);

impl Weight for SafeSeekWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(SafeSeekScorer(self.0.scorer(reader, boost)?)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.0.explain(reader, doc)
    }
}

struct SafeSeekScorer(Box<dyn Scorer>);

impl DocSet for SafeSeekScorer {
    fn advance(&mut self) -> DocId {
        self.0.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.0.doc() >= target {
            return self.0.doc();
        }
        self.0.seek(target)
    }

    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        if target >= TERMINATED {
            return SeekDangerResult::SeekLowerBound(TERMINATED);
        }
        let doc = self.seek(target);
        if doc == target {
            SeekDangerResult::Found
        } else {
            SeekDangerResult::SeekLowerBound(doc)
        }
    }

    fn doc(&self) -> DocId {
        self.0.doc()
    }

    fn size_hint(&self) -> u32 {
        self.0.size_hint()
    }
}

impl Scorer for SafeSeekScorer {
    fn score(&mut self) -> Score {
        self.0.score()
    }
}

/// Adds a constant to every score of a query: the ranking tiers (an exact word adds more
/// than a typo) without evaluating the query twice.
#[derive(Debug)]
pub struct AddScoreQuery {
    /// The scored query.
    pub inner: Box<dyn Query>,
    /// What is added to each of its scores.
    pub bonus: Score,
}

impl Clone for AddScoreQuery {
    fn clone(&self) -> Self {
        AddScoreQuery {
            inner: self.inner.box_clone(),
            bonus: self.bonus,
        }
    }
}

impl Query for AddScoreQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(AddScoreWeight {
            inner: self.inner.weight(enable_scoring)?,
            bonus: self.bonus,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.inner.query_terms(visitor)
    }
}

struct AddScoreWeight {
    inner: Box<dyn Weight>,
    bonus: Score,
}

impl Weight for AddScoreWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(AddScoreScorer {
            inner: self.inner.scorer(reader, boost)?,
            bonus: self.bonus * boost,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.inner.explain(reader, doc)
    }
}

struct AddScoreScorer {
    inner: Box<dyn Scorer>,
    bonus: Score,
}

impl DocSet for AddScoreScorer {
    fn advance(&mut self) -> DocId {
        self.inner.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.inner.seek(target)
    }

    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        self.inner.seek_danger(target)
    }

    fn doc(&self) -> DocId {
        self.inner.doc()
    }

    fn size_hint(&self) -> u32 {
        self.inner.size_hint()
    }
}

impl Scorer for AddScoreScorer {
    fn score(&mut self) -> Score {
        self.inner.score() + self.bonus
    }
}

/// BM25F's term-frequency saturation. Higher than tantivy's per-field BM25 (1.2): the
/// combined frequency is weighted by the field boosts (a title occurrence counts 4),
/// so it saturates sooner at the same k1. Measured (`helpcenter eval`): 1.2 gives
/// NFCorpus nDCG@10 0.3276, 1.8 to 2.6 a plateau at 0.332 to 0.333, SciFact 0.687 to
/// 0.692 throughout.
const K1: Score = 2.0;
/// BM25's length normalization, as tantivy's own BM25.
const B: Score = 0.75;

/// BM25F of one term over several weighted fields (Robertson and Zaragoza): each
/// field's term frequency is normalized by that field's length, multiplied by the
/// field's weight and summed, and the sum is saturated once. A word found in the title
/// and in the body is one word found, scored once; a sum of per-field BM25 scores counts
/// it once per field, so a heavily weighted short field outweighs everything else.
/// The document frequency is the largest of the fields' (every document with the term
/// in the body counts, and a title term is nearly always in the body too).
#[derive(Debug, Clone)]
pub struct Bm25fQuery {
    /// The term in each field, with the field's weight.
    pub terms: Vec<(Term, Score)>,
}

impl Query for Bm25fQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let mut fields = Vec::with_capacity(self.terms.len());
        let mut idf = 0.0;
        if let EnableScoring::Enabled {
            statistics_provider: stats,
            ..
        } = enable_scoring
        {
            let docs = stats.total_num_docs()?.max(1);
            let mut doc_freq = 0;
            for (term, weight) in &self.terms {
                doc_freq = doc_freq.max(stats.doc_freq(term)?);
                let average = stats.total_num_tokens(term.field())? as Score / docs as Score;
                // The weight over the length normalization, by fieldnorm id, as tantivy
                // caches its own BM25's.
                let mut per_norm = [0.0; 256];
                for (id, slot) in per_norm.iter_mut().enumerate() {
                    let len = FieldNormReader::id_to_fieldnorm(id as u8) as Score;
                    let normalization = if average > 0.0 {
                        1.0 - B + B * len / average
                    } else {
                        1.0
                    };
                    *slot = weight / normalization;
                }
                fields.push((term.clone(), Arc::new(per_norm)));
            }
            let doc_freq = doc_freq.min(docs);
            idf = (1.0 + ((docs - doc_freq) as Score + 0.5) / (doc_freq as Score + 0.5)).ln();
        } else {
            for (term, _) in &self.terms {
                fields.push((term.clone(), Arc::new([0.0; 256])));
            }
        }
        Ok(Box::new(Bm25fWeight { fields, idf }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for (term, _) in &self.terms {
            visitor(term, false);
        }
    }
}

struct Bm25fWeight {
    /// Each field's term with its weight over the length normalization, by fieldnorm id.
    fields: Vec<(Term, Arc<[Score; 256]>)>,
    idf: Score,
}

impl Weight for Bm25fWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut parts = Vec::with_capacity(self.fields.len());
        for (term, per_norm) in &self.fields {
            let inverted = reader.inverted_index(term.field())?;
            if let Some(postings) = inverted.read_postings(term, IndexRecordOption::WithFreqs)? {
                parts.push(FieldPostings {
                    postings,
                    fieldnorms: reader.get_fieldnorms_reader(term.field())?,
                    per_norm: per_norm.clone(),
                });
            }
        }
        if parts.is_empty() {
            return Ok(Box::new(EmptyScorer));
        }
        let mut scorer = Bm25fScorer {
            parts,
            doc: 0,
            scale: self.idf * (K1 + 1.0) * boost,
        };
        scorer.settle();
        Ok(Box::new(scorer))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.doc() > doc || scorer.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )));
        }
        let mut explanation = Explanation::new("BM25F", scorer.score());
        explanation.add_const("idf", self.idf);
        Ok(explanation)
    }
}

struct FieldPostings {
    postings: SegmentPostings,
    fieldnorms: FieldNormReader,
    per_norm: Arc<[Score; 256]>,
}

/// The union of the fields' postings; the current document is the smallest of theirs.
struct Bm25fScorer {
    parts: Vec<FieldPostings>,
    doc: DocId,
    /// idf × (k1 + 1) × boost.
    scale: Score,
}

impl Bm25fScorer {
    fn settle(&mut self) -> DocId {
        self.doc = self
            .parts
            .iter()
            .map(|p| p.postings.doc())
            .min()
            .unwrap_or(TERMINATED);
        self.doc
    }
}

impl DocSet for Bm25fScorer {
    fn advance(&mut self) -> DocId {
        let current = self.doc;
        for p in &mut self.parts {
            if p.postings.doc() == current {
                p.postings.advance();
            }
        }
        self.settle()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        for p in &mut self.parts {
            if p.postings.doc() < target {
                p.postings.seek(target);
            }
        }
        self.settle()
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.parts
            .iter()
            .map(|p| p.postings.size_hint())
            .max()
            .unwrap_or(0)
    }
}

impl Scorer for Bm25fScorer {
    fn score(&mut self) -> Score {
        let mut tf = 0.0;
        for p in &self.parts {
            if p.postings.doc() == self.doc {
                let id = p.fieldnorms.fieldnorm_id(self.doc);
                tf += p.postings.term_freq() as Score * p.per_norm[id as usize];
            }
        }
        self.scale * tf / (tf + K1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::TopDocs;
    use tantivy::schema::{Schema, TEXT};
    use tantivy::{doc, Index};

    /// Two documents over a title and a body (default tokenizer, no stemming).
    fn index() -> (Index, tantivy::schema::Field, tantivy::schema::Field) {
        let mut schema = Schema::builder();
        let title = schema.add_text_field("title", TEXT);
        let body = schema.add_text_field("body", TEXT);
        let index = Index::create_in_ram(schema.build());
        let mut writer: tantivy::IndexWriter =
            index.writer_with_num_threads(1, 15_000_000).unwrap();
        writer
            .add_document(doc!(title => "printer setup", body => "connect the printer"))
            .unwrap();
        writer
            .add_document(doc!(title => "invoices", body => "download an invoice now"))
            .unwrap();
        writer.commit().unwrap();
        (index, title, body)
    }

    #[test]
    fn bm25f_saturates_the_weighted_sum_of_normalized_frequencies_once() {
        let (index, title, body) = index();
        let searcher = index.reader().unwrap().searcher();
        let query = Bm25fQuery {
            terms: vec![
                (Term::from_field_text(title, "printer"), 4.0),
                (Term::from_field_text(body, "printer"), 1.0),
            ],
        };
        let hits = searcher
            .search(&query, &TopDocs::with_limit(10).order_by_score())
            .unwrap();
        assert_eq!(hits.len(), 1, "only the first document has the term");
        // By hand: N = 2, df = 1, idf = ln(1 + 1.5 / 1.5) = ln 2.
        // Title: length 2, average 1.5 (2 + 1) / 2; body: length 3, average 3.5.
        let norm = |len: f32, avg: f32| 1.0 - B + B * len / avg;
        let tf = 4.0 / norm(2.0, 1.5) + 1.0 / norm(3.0, 3.5);
        let expected = 2f32.ln() * (K1 + 1.0) * tf / (tf + K1);
        assert!(
            (hits[0].0 - expected).abs() < 1e-4,
            "{} vs {expected}",
            hits[0].0
        );
        // One saturation: less than the title's and the body's BM25 added up.
        let alone = |t: f32| 2f32.ln() * (K1 + 1.0) * t / (t + K1);
        assert!(hits[0].0 < alone(4.0 / norm(2.0, 1.5)) + alone(1.0 / norm(3.0, 3.5)));
    }

    #[test]
    fn bm25f_walks_the_union_of_the_fields_postings() {
        let (index, title, body) = index();
        let searcher = index.reader().unwrap().searcher();
        let query = Bm25fQuery {
            terms: vec![
                (Term::from_field_text(title, "invoices"), 2.0),
                (Term::from_field_text(body, "connect"), 1.0),
            ],
        };
        let count = searcher.search(&query, &tantivy::collector::Count).unwrap();
        assert_eq!(count, 2);
        let none = Bm25fQuery {
            terms: vec![(Term::from_field_text(body, "absent"), 1.0)],
        };
        assert_eq!(
            searcher.search(&none, &tantivy::collector::Count).unwrap(),
            0
        );
    }
}
