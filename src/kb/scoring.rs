//! Query wrappers: [`SafeSeekQuery`] gives a scorer the plain, safe `seek_danger`
//! behaviour; [`AddScoreQuery`] adds a constant to scores (the ranking tiers).
//!
//!
//! Why: tantivy 0.27's phrase scorer debug-asserts in `seek_danger` when asked about a
//! document before its current one, which exclusions (`-"a phrase"`) and intersections
//! do routinely; the property test over the search box found it. Routing `seek_danger`
//! through `seek` is always correct, at the cost of the phrase scorer's shortcut.

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
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
