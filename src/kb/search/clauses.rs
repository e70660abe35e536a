//! The third stage: the tantivy query built from the expanded words. Filters, phrases and
//! exclusions; each word a clause (the best BM25 or BM25F over its stems and fields,
//! plus its tier); writers' synonyms and joined words as alternatives to the words they
//! cover.

use super::*;

pub(super) fn filter_clauses(f: &Fields, req: &SearchRequest) -> Vec<(Occur, Box<dyn Query>)> {
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

pub(super) fn text_fields(f: &Fields, b: &FieldBoosts) -> [(Field, f32); 5] {
    [
        (f.title, b.title),
        (f.headings, b.headings),
        (f.tags_text, b.tags),
        (f.summary, b.summary),
        (f.body, b.body),
    ]
}

pub(super) fn phrase_over_fields(
    f: &Fields,
    settings: &SearchSettings,
    stems: &[String],
) -> Box<dyn Query> {
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

pub(super) fn phrase_clauses(
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

pub(super) fn exclusion_clauses(
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

/// BM25 of one stem over the text fields, boosted per field.
///
/// A stand-in weighed below an exact word (`weight < 1`: a typo variant of a known word,
/// a prefix completion) is only looked up in the title and the body: each field costs a
/// dictionary look-up per term, and stand-ins are many while their weight is low. An
/// unknown word's typo variants weigh 1 and are looked up in every field, as the word
/// they stand for would be.
pub(super) fn stem_bm25(
    f: &Fields,
    boosts: &FieldBoosts,
    stem: &str,
    weight: f32,
) -> Box<dyn Query> {
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
pub(super) fn stem_bm25f(
    f: &Fields,
    boosts: &FieldBoosts,
    stem: &str,
    weight: f32,
) -> Box<dyn Query> {
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
pub(super) fn best_of(
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

pub(super) fn word_query(
    f: &Fields,
    settings: &SearchSettings,
    w: &WordTerms,
    tiered: bool,
) -> Box<dyn Query> {
    let typo_weight = if w.unknown {
        settings.unknown_word_typo_weight
    } else {
        settings.typo_weight
    };
    let typo_stems: Vec<(String, f32)> = w.typos.iter().map(|s| (s.clone(), typo_weight)).collect();
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
pub(super) type SynonymSpan = std::ops::Range<usize>;

/// A boolean clause: how it must occur, and the query.
pub(super) type Clause = (Occur, Box<dyn Query>);

/// The clause of words that a synonym rule matched: the words themselves (each as its
/// own clause would be) or any alternative as a phrase. Tiered, an alternative scores
/// one exact tier per significant word it stands for, and its BM25 counts once per such
/// word too, so that "2fa" and "two-factor authentication" rank alike for their
/// articles. Joined words ([`joined_words`]) come here as one-word alternatives.
pub(super) fn synonym_clause(
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
            // The alternative stands for all the words: its BM25 counts once per word,
            // as its tier does (else "set timeout" ranked pages with both words in
            // their title above `setTimeout`'s own).
            let phrase: Box<dyn Query> = Box::new(BoostQuery::new(phrase, significant as Score));
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
