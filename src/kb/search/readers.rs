//! The reader's view of a snapshot, applied before anything is counted: the documents
//! a reader may not see are excluded inside every tantivy query (so totals, facets and
//! category counts never include them), and the dictionaries that complete and correct
//! words are the reader's own (so a restricted article's rare words never complete or
//! correct another reader's query).

use super::*;
use crate::kb::audience::Reader;
use crate::kb::index::restricted_word;

/// The clause that hides from `reader` the documents it may not see: `None` when it may
/// see them all (staff, or a snapshot without restricted articles), so an anonymous
/// reader of a public help center pays nothing.
pub fn reader_clause(idx: &OpenIndex, reader: &Reader) -> Option<Clause> {
    if !idx.audiences.has_restricted() {
        return None;
    }
    let hidden = idx.audiences.hidden_from(reader);
    if hidden.is_empty() {
        return None;
    }
    Some((
        Occur::MustNot,
        Box::new(DocListQuery::new(idx, hidden.into_iter())),
    ))
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
