//! The reader's view of a snapshot, applied before anything is counted: the documents
//! a reader may not see are excluded inside every tantivy query (so totals, facets and
//! category counts never include them), and the dictionaries that complete and correct
//! words are the reader's own (so a restricted article's rare words never complete or
//! correct another reader's query).

use tantivy::query::{BitSetDocSet, ConstScorer, EnableScoring, Explanation, Scorer, Weight};
use tantivy::{DocId, SegmentReader};

use super::*;
use crate::kb::audience::{HiddenDocs, Reader};
use crate::kb::index::restricted_word;

/// The clause that hides from `reader` the documents it may not see: `None` when it may
/// see them all (staff, or a snapshot without restricted articles), so an anonymous
/// reader of a public help center pays nothing.
pub fn reader_clause(idx: &OpenIndex, reader: &Reader) -> Option<Clause> {
    let hidden = idx.audiences.hidden_docs(reader)?;
    Some((Occur::MustNot, Box::new(HiddenQuery(hidden))))
}

/// Matches the documents of a [`HiddenDocs`] (score 0): what a reader may not see,
/// excluded from a query.
#[derive(Clone, Debug)]
struct HiddenQuery(HiddenDocs);

impl Query for HiddenQuery {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(HiddenWeight(self.0.clone())))
    }
}

struct HiddenWeight(HiddenDocs);

impl Weight for HiddenWeight {
    fn scorer(&self, reader: &SegmentReader, _boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(match self.0.get(&reader.segment_id()) {
            Some(set) => Box::new(ConstScorer::new(BitSetDocSet::from(set.clone()), 0.0)),
            None => Box::new(tantivy::query::EmptyScorer),
        })
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        if self
            .0
            .get(&reader.segment_id())
            .is_some_and(|set| set.contains(doc))
        {
            Ok(Explanation::new("hidden from this reader", 0.0))
        } else {
            Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} is not hidden from this reader"
            )))
        }
    }
}

/// Everything a query needs for `reader` in a search of all articles: `AllQuery`
/// less what the reader may not see.
pub fn readable_query(idx: &OpenIndex, reader: &Reader) -> Box<dyn Query> {
    match reader_clause(idx, reader) {
        None => Box::new(AllQuery),
        Some(hide) => Box::new(BooleanQuery::new(vec![
            (Occur::Must, Box::new(AllQuery)),
            hide,
        ])),
    }
}

/// One dictionary a reader expands words from: the public vocabulary (`prefix` empty),
/// or the part of the restricted one that an audience name's articles wrote (`prefix`
/// is the name and U+001F).
#[derive(Debug, Clone)]
pub(super) struct Dictionary {
    pub(super) field: Field,
    pub(super) prefix: String,
}

/// The dictionaries of `reader` in this snapshot, and a key naming them (readers with
/// the same dictionaries share their expanded words): `""` when it is the public
/// vocabulary alone.
pub(super) fn dictionaries(idx: &OpenIndex, reader: &Reader) -> (Vec<Dictionary>, String) {
    let mut dicts = vec![Dictionary {
        field: idx.fields.vocab,
        prefix: String::new(),
    }];
    let mut key = String::new();
    for name in reader.readable_names(idx.audiences.names()) {
        dicts.push(Dictionary {
            field: idx.fields.vocab_restricted,
            prefix: restricted_word(name, ""),
        });
        key.push_str(name);
        key.push(',');
    }
    (dicts, key)
}
