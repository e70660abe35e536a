//! Relevance evaluation (`helpcenter eval`): the product's own indexing and search,
//! scored on judged datasets, beside a PostgreSQL full-text baseline.
//!
//! * [`beir`] reads a BEIR dataset and turns each document into an article;
//!   [`BeirEngine`] indexes them with [`KnowledgeBase`] (the code `serve` runs) and
//!   runs every test query with the settings given (the product's defaults unless an
//!   ablation says otherwise).
//! * [`known_items`] scores help-center queries with known answers (hit@1, hit@3, MRR).
//! * [`postgres`] is the baseline: `tsvector` + GIN, `websearch_to_tsquery`, `ts_rank_cd`.
//! * [`metrics`] computes nDCG@10, MRR@10, Recall@100 and hit@k as BEIR does.

pub mod beir;
pub mod known_items;
pub mod metrics;
pub mod postgres;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use self::beir::{BeirDataset, Half};
use self::metrics::{beir_scores, BeirScores};
use crate::kb::search::{SearchRequest, SearchSettings};
use crate::kb::{KbError, KnowledgeBase};

/// Hits fetched per query: Recall@100 needs the top 100.
pub const DEPTH: usize = 100;

/// Errors of an evaluation. Every file problem names its path.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A dataset folder or file is missing.
    #[error("{} is missing", .0.display())]
    Missing(PathBuf),
    /// A file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line of a file is malformed.
    #[error("{}, line {line}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The dataset is inconsistent.
    #[error("{}: {message}", path.display())]
    Dataset {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The knowledge base failed.
    #[error(transparent)]
    Kb(#[from] KbError),
    /// The PostgreSQL baseline failed.
    #[error("postgres baseline: {0}")]
    Postgres(#[from] sqlx::Error),
}

/// How a dataset's query text reaches the search box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueryForm {
    /// Quotes and leading `-` removed, so the text is read as plain words: a BEIR query
    /// is a sentence, and its quotes and hyphens are not search operators.
    Plain,
    /// Exactly as written: `"x"` is a phrase, `-x` an exclusion.
    AsTyped,
}

/// The text sent to the engine for `query` in `form`.
pub fn query_text(query: &str, form: QueryForm) -> String {
    match form {
        QueryForm::AsTyped => query.to_string(),
        QueryForm::Plain => crate::kb::query::as_plain_words(query),
    }
}

/// A BEIR corpus indexed by the product, ready to run its test queries.
pub struct BeirEngine {
    kb: KnowledgeBase,
    slug_to_id: HashMap<String, String>,
    /// Articles indexed.
    pub articles: usize,
    /// Seconds spent turning documents into articles and indexing them.
    pub build_seconds: f64,
}

impl BeirEngine {
    /// Turns every document into an article and indexes them in memory.
    pub fn build(dataset: &BeirDataset) -> Result<BeirEngine, EvalError> {
        let started = Instant::now();
        let (articles, slug_to_id) = beir::articles_of(&dataset.docs)?;
        let kb = KnowledgeBase::new(PathBuf::new(), PathBuf::new());
        let report = kb.index_articles_in_memory(&articles)?;
        Ok(BeirEngine {
            kb,
            slug_to_id,
            articles: report.articles,
            build_seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Replaces the search settings used by [`Self::rank`].
    pub fn set_settings(&self, settings: &SearchSettings) {
        self.kb.set_settings(settings.clone());
    }

    /// The top [`DEPTH`] document ids for one query. Equal scores are ordered by document
    /// id: the engine leaves them in index order, which a multi-threaded build does not
    /// fix, and runs must repeat exactly.
    pub fn rank(&self, text: &str) -> Result<Vec<String>, EvalError> {
        let results = self.kb.search(&SearchRequest {
            q: text.to_string(),
            limit: DEPTH,
            ..SearchRequest::default()
        })?;
        let mut ranked: Vec<(f32, String)> = results
            .hits
            .into_iter()
            .map(|h| {
                let id = self.slug_to_id.get(&h.slug).cloned().unwrap_or(h.slug);
                (h.score, id)
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        Ok(ranked.into_iter().map(|(_, id)| id).collect())
    }

    /// Runs every test query of `dataset` with `settings` and scores the run.
    pub fn evaluate(
        &self,
        dataset: &BeirDataset,
        settings: &SearchSettings,
        form: QueryForm,
    ) -> Result<RunScores, EvalError> {
        self.set_settings(settings);
        let mut runs = HashMap::with_capacity(dataset.queries.len());
        for q in &dataset.queries {
            runs.insert(q.id.clone(), self.rank(&query_text(&q.text, form))?);
        }
        Ok(RunScores::of(dataset, &runs))
    }
}

/// The figures of one run: over every judged query, and over each half of them
/// ([`beir::Half`]). Settings are tuned on `dev`; `held_out` says what they are worth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RunScores {
    /// Every judged query (BEIR's test set, as published figures are computed).
    #[serde(flatten)]
    pub all: BeirScores,
    /// The development half: what tuning may look at.
    pub dev: BeirScores,
    /// The held-out half: what tuning never looks at.
    pub held_out: BeirScores,
}

impl RunScores {
    /// Scores `runs` (query id → ranked document ids) against `dataset`'s judgments.
    pub fn of(dataset: &BeirDataset, runs: &HashMap<String, Vec<String>>) -> RunScores {
        RunScores {
            all: beir_scores(&dataset.qrels, runs),
            dev: beir_scores(&dataset.qrels_of(Some(Half::Dev)), runs),
            held_out: beir_scores(&dataset.qrels_of(Some(Half::HeldOut)), runs),
        }
    }
}

/// One row of a BEIR report.
#[derive(Debug, Clone, Serialize)]
pub struct BeirRow {
    /// The dataset's name.
    pub dataset: String,
    /// What ranked: `helpcenter` (with the variant, if not the defaults) or `postgres`.
    pub system: String,
    /// The figures, over every judged query and over each half.
    #[serde(flatten)]
    pub scores: RunScores,
    /// Seconds to load and index the documents.
    pub index_seconds: f64,
    /// Seconds to run every query.
    pub query_seconds: f64,
}

/// Formats rows as an aligned text table.
pub fn beir_table(rows: &[BeirRow]) -> String {
    let dw = rows
        .iter()
        .map(|r| r.dataset.len())
        .max()
        .unwrap_or(0)
        .max(7);
    let sw = rows
        .iter()
        .map(|r| r.system.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let mut out = format!(
        "{:<dw$}  {:<sw$} {:>8} {:>8} {:>8} {:>8} {:>10} {:>12} {:>6} {:>8} {:>8}\n",
        "dataset",
        "system",
        "nDCG@10",
        "dev",
        "held-out",
        "MRR@10",
        "Recall@100",
        "queries",
        "empty",
        "index s",
        "query s"
    );
    for r in rows {
        let s = &r.scores;
        out.push_str(&format!(
            "{:<dw$}  {:<sw$} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>10.4} {:>12} {:>6} {:>8.2} {:>8.2}\n",
            r.dataset,
            r.system,
            s.all.ndcg_at_10,
            s.dev.ndcg_at_10,
            s.held_out.ndcg_at_10,
            s.all.mrr_at_10,
            s.all.recall_at_100,
            format!("{}={}+{}", s.all.queries, s.dev.queries, s.held_out.queries),
            s.all.empty,
            r.index_seconds,
            r.query_seconds
        ));
    }
    out.push_str(
        "dev: the development half of the queries (tuning looks only there); held-out: \
         the other half, which decides\n",
    );
    out
}

/// Indexes a BEIR dataset with the product and scores it with `settings`: what the
/// SciFact test and `helpcenter eval beir` run.
pub fn evaluate_beir(
    dataset: &BeirDataset,
    settings: &SearchSettings,
    form: QueryForm,
) -> Result<BeirRow, EvalError> {
    let engine = BeirEngine::build(dataset)?;
    let started = Instant::now();
    let scores = engine.evaluate(dataset, settings, form)?;
    Ok(BeirRow {
        dataset: dataset.name.clone(),
        system: "helpcenter".to_string(),
        scores,
        index_seconds: engine.build_seconds,
        query_seconds: started.elapsed().as_secs_f64(),
    })
}

/// A named variation of the search settings and query form.
#[derive(Debug, Clone)]
pub struct Variant {
    /// The row's name (`helpcenter`, `helpcenter, no typos`…).
    pub name: String,
    /// The settings.
    pub settings: SearchSettings,
    /// The query form.
    pub form: QueryForm,
}

impl Variant {
    /// `base` with the changes of `overrides`, named after them (`helpcenter` when none).
    pub fn new(base: &SearchSettings, form: QueryForm, overrides: &Overrides) -> Self {
        let mut settings = base.clone();
        let mut changes = Vec::new();
        if overrides.no_typos {
            settings.typo.enabled = false;
            changes.push("no typos".to_string());
        }
        if overrides.no_prefix {
            settings.prefix_last_word = false;
            changes.push("no prefix".to_string());
        }
        if let Some(n) = overrides.tiered_max_words {
            settings.tiered_max_words = n;
            changes.push(format!("tiered up to {n} words"));
        }
        if let Some(r) = overrides.semantic_ratio {
            settings.semantic_ratio = r;
            changes.push(format!("semantic ratio {r:.2}"));
        }
        if form == QueryForm::AsTyped {
            changes.push("as typed".to_string());
        }
        let name = if changes.is_empty() {
            "helpcenter".to_string()
        } else {
            format!("helpcenter, {}", changes.join(", "))
        };
        Variant {
            name,
            settings,
            form,
        }
    }

    /// This variant as three rows: lexical search alone (ratio 0), semantic alone
    /// (ratio 1) and hybrid (its own ratio).
    pub fn retrieval_modes(&self) -> Vec<Variant> {
        let ratio = self.settings.semantic_ratio;
        [
            ("lexical".to_string(), 0.0),
            ("semantic".to_string(), 1.0),
            (format!("hybrid {ratio:.2}"), ratio),
        ]
        .into_iter()
        .map(|(mode, r)| {
            let mut settings = self.settings.clone();
            settings.semantic_ratio = r;
            Variant {
                name: format!("{}: {mode}", self.name),
                settings,
                form: self.form,
            }
        })
        .collect()
    }

    /// The ablation set: this variant, then with typo tolerance off, prefix matching off,
    /// both off, and with the other query form.
    pub fn with_ablations(&self, base: &SearchSettings, overrides: &Overrides) -> Vec<Variant> {
        let other_form = match self.form {
            QueryForm::Plain => QueryForm::AsTyped,
            QueryForm::AsTyped => QueryForm::Plain,
        };
        let mut out = vec![self.clone()];
        for (no_typos, no_prefix, form) in [
            (true, overrides.no_prefix, self.form),
            (overrides.no_typos, true, self.form),
            (true, true, self.form),
            (overrides.no_typos, overrides.no_prefix, other_form),
        ] {
            let o = Overrides {
                no_typos,
                no_prefix,
                ..*overrides
            };
            let v = Variant::new(base, form, &o);
            if !out.iter().any(|existing| existing.name == v.name) {
                out.push(v);
            }
        }
        out
    }
}

/// Changes to the product's default settings for one evaluation run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    /// Typo tolerance off.
    pub no_typos: bool,
    /// Prefix matching of the last word off.
    pub no_prefix: bool,
    /// Another [`SearchSettings::tiered_max_words`].
    pub tiered_max_words: Option<usize>,
    /// Another [`SearchSettings::semantic_ratio`].
    pub semantic_ratio: Option<f32>,
}

/// Indexes a dataset once and scores every variant on it.
pub fn evaluate_variants(
    dataset: &BeirDataset,
    variants: &[Variant],
) -> Result<Vec<BeirRow>, EvalError> {
    let engine = BeirEngine::build(dataset)?;
    let mut rows = Vec::with_capacity(variants.len());
    for v in variants {
        let started = Instant::now();
        let scores = engine.evaluate(dataset, &v.settings, v.form)?;
        rows.push(BeirRow {
            dataset: dataset.name.clone(),
            system: v.name.clone(),
            scores,
            index_seconds: engine.build_seconds,
            query_seconds: started.elapsed().as_secs_f64(),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_form_neutralises_phrases_and_exclusions_only() {
        assert_eq!(
            query_text("\"Self-reported\" -2 weeks of 5-HT use", QueryForm::Plain),
            "Self-reported 2 weeks of 5-HT use"
        );
        assert_eq!(query_text("-\"a\" b", QueryForm::AsTyped), "-\"a\" b");
        let parsed =
            crate::kb::query::parse_query(&query_text("\"a b\" -c --d e-f", QueryForm::Plain));
        assert!(parsed.phrases.is_empty() && parsed.excluded.is_empty());
        assert_eq!(parsed.words, vec!["a", "b", "c", "d", "e-f"]);
    }
}
