//! Facet counting from an in-memory table of each document's facet values.
//!
//! Why not read the fast-field columns per query: a query matching a thousand articles
//! would do several thousand column look-ups; the table turns each into one array read.
//! It is built once when an index generation is opened (milliseconds for MDN) and lives
//! as long as that generation's reader, whose segments never change.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::{DocId, Score, Searcher, SegmentOrdinal, SegmentReader};

/// Which facet a value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacetKind {
    /// A category path (every ancestor level is its own value).
    Category,
    /// A tag.
    Tag,
}

/// Facet values of every document of one searcher, by segment.
#[derive(Debug, Default)]
pub struct FacetTable {
    values: Vec<(FacetKind, String)>,
    segments: Vec<SegmentFacets>,
}

#[derive(Debug, Default)]
struct SegmentFacets {
    /// `ids[offsets[doc]..offsets[doc + 1]]` are the doc's value ids.
    offsets: Vec<u32>,
    ids: Vec<u32>,
}

impl FacetTable {
    /// Reads the `category_path` and `tag` fast fields of every segment.
    pub fn build(searcher: &Searcher) -> tantivy::Result<FacetTable> {
        let mut table = FacetTable::default();
        let mut interned: HashMap<(u8, String), u32> = HashMap::new();
        for segment in searcher.segment_readers() {
            let mut columns = Vec::new();
            for (kind, name) in [
                (FacetKind::Category, "category_path"),
                (FacetKind::Tag, "tag"),
            ] {
                let Some(col) = segment.fast_fields().str(name)? else {
                    continue;
                };
                let mut global = Vec::with_capacity(col.num_terms());
                let mut s = String::new();
                for ord in 0..col.num_terms() as u64 {
                    s.clear();
                    col.ord_to_str(ord, &mut s)?;
                    let key = (kind as u8, s.clone());
                    let next = interned.len() as u32;
                    let id = *interned.entry(key).or_insert_with(|| {
                        table.values.push((kind, s.clone()));
                        next
                    });
                    global.push(id);
                }
                columns.push((col, global));
            }
            let max_doc = segment.max_doc();
            let mut facets = SegmentFacets {
                offsets: Vec::with_capacity(max_doc as usize + 1),
                ids: Vec::new(),
            };
            for doc in 0..max_doc {
                facets.offsets.push(facets.ids.len() as u32);
                for (col, global) in &columns {
                    for ord in col.term_ords(doc) {
                        if let Some(id) = global.get(ord as usize) {
                            facets.ids.push(*id);
                        }
                    }
                }
            }
            facets.offsets.push(facets.ids.len() as u32);
            table.segments.push(facets);
        }
        Ok(table)
    }
}

/// A facet value and how many matching articles have it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FacetCount {
    /// The category path or tag.
    pub value: String,
    /// Matching articles.
    pub count: u64,
}

/// Facet counts over the whole result set.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Facets {
    /// Categories at every level (a parent counts its subcategories' articles).
    pub category: Vec<FacetCount>,
    /// Tags.
    pub tags: Vec<FacetCount>,
}

/// Counts the facet values of every matching document.
pub struct FacetCollector {
    /// The table of the searcher the collector runs on.
    pub table: Arc<FacetTable>,
    /// At most this many values per facet (most frequent first).
    pub max_values: usize,
}

/// Per-segment state of [`FacetCollector`].
pub struct FacetSegmentCollector {
    table: Arc<FacetTable>,
    segment: usize,
    counts: Vec<u32>,
}

impl Collector for FacetCollector {
    type Fruit = Vec<u32>;
    type Child = FacetSegmentCollector;

    fn for_segment(
        &self,
        segment_local_id: SegmentOrdinal,
        _segment: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok(FacetSegmentCollector {
            table: self.table.clone(),
            segment: segment_local_id as usize,
            counts: vec![0; self.table.values.len()],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<u32>>) -> tantivy::Result<Vec<u32>> {
        let mut total = vec![0u32; self.table.values.len()];
        for fruit in fruits {
            for (t, c) in total.iter_mut().zip(fruit) {
                *t += c;
            }
        }
        Ok(total)
    }
}

impl FacetCollector {
    /// Turns merged counts into sorted facet lists.
    pub fn facets(&self, counts: &[u32]) -> Facets {
        let mut category = Vec::new();
        let mut tags = Vec::new();
        for (id, &count) in counts.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let (kind, value) = &self.table.values[id];
            let fc = FacetCount {
                value: value.clone(),
                count: count as u64,
            };
            match kind {
                FacetKind::Category => category.push(fc),
                FacetKind::Tag => tags.push(fc),
            }
        }
        for list in [&mut category, &mut tags] {
            list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            list.truncate(self.max_values);
        }
        Facets { category, tags }
    }
}

impl SegmentCollector for FacetSegmentCollector {
    type Fruit = Vec<u32>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let Some(seg) = self.table.segments.get(self.segment) else {
            return;
        };
        let doc = doc as usize;
        if let (Some(&from), Some(&to)) = (seg.offsets.get(doc), seg.offsets.get(doc + 1)) {
            for &id in &seg.ids[from as usize..to as usize] {
                self.counts[id as usize] += 1;
            }
        }
    }

    fn harvest(self) -> Vec<u32> {
        self.counts
    }
}
