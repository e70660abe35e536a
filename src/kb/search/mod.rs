//! Ranked, typo-tolerant search over an [`OpenIndex`].
//!
//! Matching rules (what matches) and ranking rules (in which order) are separate
//! [`SearchSettings`]:
//!
//! * Matching. Each query word matches its English stem exactly; words of
//!   `typo.one_typo_from` to `typo.two_typos_from - 1` letters also match words one
//!   edit away, longer words two edits; shorter words, numbers and protected words never
//!   match a typo. The last word also matches as a prefix while the person is still typing.
//!   Two adjacent words that the dictionary knows as one word also match it ("set
//!   timeout" for `setTimeout`), as writers' synonyms match their alternatives.
//!   Up to `tiered_max_words` significant words must all match; if fewer than
//!   `min_full_matches` documents match them all, any word may match. Longer queries
//!   (a pasted ticket) match any word.
//! * Ranking. For short queries: first the number of words matched exactly, then the
//!   number matched with a typo, then BM25 with field boosts (title above headings above
//!   tags and summary above body). So in a tiered query an exact match always outranks
//!   a typo match.
//!   Longer queries, and short ones whose words all meet in fewer than
//!   `min_full_matches` documents, rank by BM25F alone (each word's field frequencies
//!   weighted by the same boosts and saturated once), with typo variants down-weighted
//!   (except those of a word in no article in any form: they are what it means).
//!
//! One file per stage, in the order a query flows through them: `settings.rs` (the
//! request and the rules), `words.rs` (expansion), `clauses.rs` (the query and its
//! scores), this file (collection: [`search`]), `hits.rs` (cards, sections, snippets);
//! `browse.rs` serves the pages that list articles without a query.

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

mod browse;
mod clauses;
mod fusion;
mod hits;
mod readers;
mod settings;
mod words;

pub use self::browse::*;
use self::clauses::*;
use self::fusion::*;
pub use self::fusion::{Meaning, MeaningCache};
pub use self::hits::*;
use self::readers::*;
pub use self::readers::{readable_query, reader_clause};
pub use self::settings::*;
pub use self::words::*;

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
    let mut filters = filter_clauses(f, req);
    // Who reads decides what exists: hidden documents are out of every count.
    filters.extend(reader_clause(idx, &req.reader));
    let exclusions = exclusion_clauses(f, settings, analyzers, &parsed);
    let limit = req.limit.max(1);
    let facet_collector = || FacetCollector {
        table: idx.facets.clone(),
        max_values: MAX_FACET_VALUES,
    };

    // Hits' cards, read once per search (the semantic stage reads them first).
    let mut cards = Cards::new(idx);
    // The best section of each article that matched by meaning (by document).
    let mut semantic_sections: HashMap<DocAddress, usize> = HashMap::new();
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
        // The reader's dictionaries, for the words' expansions and for joining them.
        let (dicts, dict_key) = dictionaries(idx, &req.reader);
        let reader_dicts = (dicts.as_slice(), dict_key.as_str());
        let words = analyze_words(idx, settings, analyzers, &parsed, reader_dicts);
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
        let mut synonyms: Vec<(SynonymSpan, Vec<Vec<String>>)> = settings
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
        if settings.join_words {
            let taken: Vec<SynonymSpan> = synonyms.iter().map(|(span, _)| span.clone()).collect();
            synonyms.extend(joined_words(
                idx,
                settings,
                analyzers,
                &words,
                &taken,
                reader_dicts,
            ));
        }
        for stems in synonyms.iter().flat_map(|(_, alts)| alts) {
            for s in stems {
                matched.insert(s.clone());
            }
        }
        let ratio = req
            .semantic_ratio
            .unwrap_or(settings.semantic_ratio)
            .clamp(0.0, 1.0);
        let semantic = if ratio > 0.0 {
            let mut constraints: Vec<Clause> = phrases
                .iter()
                .map(|p| (Occur::Must, p.box_clone()))
                .collect();
            constraints.extend(filters.iter().map(|(o, q)| (*o, q.box_clone())));
            constraints.extend(exclusions.iter().map(|(o, q)| (*o, q.box_clone())));
            semantic_matches(idx, settings, &parsed, &words, &constraints, &req.reader)?
        } else {
            None
        };
        // Enough lexical matches for the page asked (fusion ranks the first FUSION_WINDOW).
        let window = (req.offset + limit).max(FUSION_WINDOW);
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
            let Some(semantic) = &semantic else {
                clauses.extend(filters.iter().map(|(o, q)| (*o, q.box_clone())));
                clauses.extend(exclusions.iter().map(|(o, q)| (*o, q.box_clone())));
                let query = BooleanQuery::new(clauses);
                let top = TopDocs::with_limit(limit)
                    .and_offset(req.offset)
                    .order_by_score();
                let (docs, total, facets) =
                    searcher.search(&query, &(top, Count, facet_collector()))?;
                return Ok((docs, total, total, facets));
            };
            // The lexical query or a semantic match (scored 0, so the lexical matches
            // are the documents with a positive score); filters and exclusions hold
            // for both, and so do phrases (inside each side, so they keep scoring).
            let mut semantic_side: Vec<Clause> = vec![(Occur::Must, semantic.slugs.box_clone())];
            semantic_side.extend(phrases.iter().map(|p| (Occur::Must, p.box_clone())));
            let either: Vec<Clause> = vec![
                (Occur::Should, Box::new(BooleanQuery::new(clauses))),
                (
                    Occur::Should,
                    Box::new(ConstScoreQuery::new(
                        Box::new(BooleanQuery::new(semantic_side)),
                        0.0,
                    )),
                ),
            ];
            let mut outer: Vec<Clause> = vec![(Occur::Must, Box::new(BooleanQuery::new(either)))];
            outer.extend(filters.iter().map(|(o, q)| (*o, q.box_clone())));
            outer.extend(exclusions.iter().map(|(o, q)| (*o, q.box_clone())));
            let top = TopDocs::with_limit(window).order_by_score();
            let (docs, total, lexical, facets) = searcher.search(
                &BooleanQuery::new(outer),
                &(top, Count, ScoredCount, facet_collector()),
            )?;
            Ok((docs, total, lexical, facets))
        };
        let all_required = tiered && !words.is_empty();
        let (mut docs, mut total, lexical_total, mut facets) = run(all_required, tiered)?;
        if lexical_total < settings.min_full_matches && all_required && significant > 1 {
            // The words rarely meet, so how many of them an article has says little:
            // three common words outnumber one rare one. Rank as a long query does,
            // by BM25F, where each word counts by its rarity.
            (docs, total, _, facets) = run(false, false)?;
        }
        if let Some(mut semantic) = semantic {
            let scored: Vec<(Score, DocAddress)> = docs
                .iter()
                .filter(|(score, _)| *score > 0.0)
                .copied()
                .collect();
            // Fusion ranks a fixed head, whatever page is asked (so pages neither overlap
            // nor skip an article): the first FUSION_WINDOW lexical matches and the
            // semantic ones. The lexical matches below it follow in their own order.
            let head = scored.len().min(FUSION_WINDOW);
            let lexical_head: Vec<DocAddress> = scored[..head].iter().map(|(_, a)| *a).collect();
            semantic.rank_lexical_matches(idx, &mut cards, &lexical_head);
            let mut fused = fuse(
                &scored[..head],
                &semantic.ranked,
                ratio,
                semantic.best_similarity,
            );
            let in_head: HashSet<DocAddress> = fused.iter().map(|(_, addr)| *addr).collect();
            fused.extend(
                scored[head..]
                    .iter()
                    .filter(|(_, addr)| !in_head.contains(addr))
                    .map(|(_, addr)| (0.0, *addr)),
            );
            docs = fused.into_iter().skip(req.offset).take(limit).collect();
            for (addr, _, section) in &semantic.ranked {
                if let Some(section) = section {
                    semantic_sections.insert(*addr, *section);
                }
            }
        }
        (total as u64, docs, facets, matched)
    };

    let facets = facet_collector().facets(&facets);
    let mut hits = Vec::with_capacity(docs.len());
    let stems = matched.key();
    for (score, addr) in docs.into_iter().take(req.limit) {
        if let Some(card) = cards.get(addr) {
            let key = (stems.clone(), addr);
            let lexical = idx
                .snippets
                .get_or_insert_with(settings, key, SNIPPET_CACHE_MAX, |_| {
                    Arc::new(lexical_snippet(&card, &matched, analyzers))
                });
            let section = semantic_sections.get(&addr).copied();
            hits.push(hit_from_card(&card, score, &lexical, section));
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
