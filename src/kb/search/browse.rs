//! Browsing without a query: related articles, recently updated ones, category counts,
//! and stored-field readers.

use tantivy::{DocSet, TERMINATED};

use super::*;
use crate::kb::audience::Reader;

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

/// Up to `limit` articles related to the one with `slug` that `reader` may open:
/// sharing title words or tags, preferring its own category.
pub fn related(
    idx: &OpenIndex,
    settings: &SearchSettings,
    analyzers: &Analyzers,
    to: &RelatedTo<'_>,
    limit: usize,
    reader: &Reader,
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
    clauses.extend(reader_clause(idx, reader));
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
    match doc_of_slug(&idx.searcher, idx.fields.slug, slug)? {
        Some(addr) => Ok(Some(idx.searcher.doc(addr)?)),
        None => Ok(None),
    }
}

/// The live document whose `field` (an untokenized field such as the slug) is `value`:
/// one term lookup per segment, no stored document read.
pub fn doc_of_slug(
    searcher: &Searcher,
    field: Field,
    value: &str,
) -> Result<Option<DocAddress>, SearchError> {
    let term = Term::from_field_text(field, value);
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let index = segment.inverted_index(field)?;
        let Some(mut postings) = index
            .read_postings(&term, IndexRecordOption::Basic)
            .map_err(tantivy::TantivyError::from)?
        else {
            continue;
        };
        let mut doc = postings.doc();
        while doc != TERMINATED {
            if !segment.is_deleted(doc) {
                return Ok(Some(DocAddress::new(ord as u32, doc)));
            }
            doc = postings.advance();
        }
    }
    Ok(None)
}

/// A published article with its last update, for "recently updated" lists.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RecentArticle {
    /// Slug, title, category and page URL.
    pub article: ArticleRef,
    /// Last update (RFC 3339).
    pub updated: String,
}

/// The `limit` most recently updated published articles `reader` may open, newest first.
pub fn recent_articles(
    idx: &OpenIndex,
    limit: usize,
    reader: &Reader,
) -> Result<Vec<RecentArticle>, SearchError> {
    let searcher = &idx.searcher;
    let f = &idx.fields;
    let top = TopDocs::with_limit(limit.max(1)).order_by_fast_field::<i64>("updated", Order::Desc);
    let docs = searcher.search(&*readable_query(idx, reader), &top)?;
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
            updated: crate::kb::article::rfc3339(doc_i64(&doc, f.updated)),
        });
    }
    Ok(out)
}

/// Category counts over every published article `reader` may open (no cap on the
/// number of categories).
pub fn category_counts(
    idx: &OpenIndex,
    reader: &Reader,
) -> Result<(u64, Vec<FacetCount>), SearchError> {
    let searcher = &idx.searcher;
    let (total, facets) = searcher.search(
        &*readable_query(idx, reader),
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
