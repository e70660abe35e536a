//! Known-item evaluation: help-center queries, written the way customers type them, each
//! with the article(s) that answer it. Scored as hit@1, hit@3 and MRR@10 over the first
//! page of results, with the articles folder indexed as `serve` indexes it (its
//! `_search.toml` included).
//!
//! The queries file is tab-separated, `#` starts a comment line:
//!
//! ```text
//! kind <TAB> query <TAB> slug[,slug...]
//! ```
//!
//! `kind` groups the queries in the report (`keywords`, `question`, `typo`, `prefix`,
//! `error`…). Queries are sent as typed (no trailing space), so their last word also
//! matches as a prefix, as in the search box.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::metrics::{first_relevant_rank, Judgments};
use super::EvalError;
use crate::kb::search::{SearchRequest, SearchSettings};
use crate::kb::types::Slug;
use crate::kb::KnowledgeBase;

/// Results looked at per query: the first page.
pub const PAGE: usize = 10;

/// One query with its answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnownItem {
    /// What sort of query it is.
    pub kind: String,
    /// What the customer typed.
    pub query: String,
    /// Slugs of the articles that answer it.
    pub answers: Vec<String>,
    /// 1-based line in the queries file.
    pub line: usize,
}

/// Parses a known-items file.
pub fn load(path: &Path) -> Result<Vec<KnownItem>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|source| EvalError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let bad = |message: String| EvalError::Format {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        let cols: Vec<&str> = line.split('\t').collect();
        let [kind, query, answers] = cols[..] else {
            return Err(bad(format!(
                "expected kind, query and answer slugs separated by tabs, got {} column(s)",
                cols.len()
            )));
        };
        let answers: Vec<String> = answers
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if query.trim().is_empty() || answers.is_empty() {
            return Err(bad(
                "the query and at least one answer slug are required".into()
            ));
        }
        for a in &answers {
            Slug::parse(a).map_err(|e| bad(format!("the answer slug {a:?} {e}")))?;
        }
        items.push(KnownItem {
            kind: kind.trim().to_string(),
            query: query.to_string(),
            answers,
            line: i + 1,
        });
    }
    Ok(items)
}

/// hit@1, hit@3 and MRR@10 of a group of queries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct KnownItemScores {
    /// Share of queries answered by the first hit.
    pub hit_at_1: f64,
    /// Share of queries answered in the top 3.
    pub hit_at_3: f64,
    /// Mean reciprocal rank of the first answer on the first page.
    pub mrr_at_10: f64,
    /// Queries.
    pub queries: usize,
}

/// One query's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct KnownItemResult {
    /// The query.
    #[serde(flatten)]
    pub item: KnownItem,
    /// 1-based rank of the first answer on the first page.
    pub rank: Option<usize>,
    /// The top three slugs returned.
    pub top: Vec<String>,
}

/// The whole known-item report.
#[derive(Debug, Clone, Serialize)]
pub struct KnownItemReport {
    /// Every query together.
    pub all: KnownItemScores,
    /// By kind.
    pub by_kind: BTreeMap<String, KnownItemScores>,
    /// Every query's outcome, in file order.
    pub results: Vec<KnownItemResult>,
    /// Articles indexed.
    pub articles: usize,
    /// Seconds to load and index the articles.
    pub index_seconds: f64,
}

fn scores<'a>(ranks: impl Iterator<Item = &'a Option<usize>>) -> KnownItemScores {
    let mut s = KnownItemScores::default();
    for rank in ranks {
        s.queries += 1;
        if let Some(r) = *rank {
            s.hit_at_1 += f64::from(u8::from(r <= 1));
            s.hit_at_3 += f64::from(u8::from(r <= 3));
            s.mrr_at_10 += 1.0 / r as f64;
        }
    }
    let n = s.queries.max(1) as f64;
    s.hit_at_1 /= n;
    s.hit_at_3 /= n;
    s.mrr_at_10 /= n;
    s
}

/// A scratch index folder, removed when dropped.
struct ScratchIndex(PathBuf);

impl Drop for ScratchIndex {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Indexes `articles` exactly as `serve` does ([`KnowledgeBase::open_or_build`], with the
/// folder's `_search.toml`) into a scratch folder, and runs `work` on it.
fn with_knowledge_base<T>(
    articles: &Path,
    work: impl FnOnce(&KnowledgeBase, usize) -> Result<T, EvalError>,
) -> Result<T, EvalError> {
    if !articles.is_dir() {
        return Err(EvalError::Missing(articles.to_path_buf()));
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let scratch = ScratchIndex(
        std::env::temp_dir().join(format!("helpcenter-eval-{}-{nanos}", std::process::id())),
    );
    let kb = KnowledgeBase::new(articles, &scratch.0);
    let report = kb.open_or_build(&|_, _| {})?;
    work(&kb, report.articles)
}

/// Runs every query against `articles` with `settings` and scores it. An answer slug
/// that is not a published article is an error naming its line: a mistyped answer
/// would otherwise count as a miss forever.
pub fn evaluate(
    articles: &Path,
    queries_file: &Path,
    settings: &SearchSettings,
) -> Result<KnownItemReport, EvalError> {
    let runs = evaluate_all(
        articles,
        &[queries_file.to_path_buf()],
        &[("helpcenter".to_string(), settings.clone())],
    )?;
    Ok(runs
        .into_iter()
        .next()
        .map(|r| r.report)
        .expect("one file and one variant give one run"))
}

/// One queries file scored with one variant of the settings.
#[derive(Debug, Clone, Serialize)]
pub struct KnownItemRun {
    /// The queries file.
    pub queries: PathBuf,
    /// The variant's name (`lexical`, `semantic`, `hybrid 0.50`…).
    pub variant: String,
    /// Its scores.
    pub report: KnownItemReport,
}

/// Indexes `articles` once and scores every queries file with every variant, in the
/// order of `variants` then `files`.
pub fn evaluate_all(
    articles: &Path,
    files: &[PathBuf],
    variants: &[(String, SearchSettings)],
) -> Result<Vec<KnownItemRun>, EvalError> {
    let loaded: Vec<Vec<KnownItem>> = files.iter().map(|f| load(f)).collect::<Result<_, _>>()?;
    let started = Instant::now();
    with_knowledge_base(articles, |kb, count| {
        let index_seconds = started.elapsed().as_secs_f64();
        let folder = kb.settings();
        let mut runs = Vec::new();
        for (name, settings) in variants {
            // The folder's own settings (synonyms, protected words) with the variant's rules.
            let mut in_force = settings.clone();
            in_force.synonyms = folder.synonyms.clone();
            in_force.typo.protected = folder.typo.protected.clone();
            kb.set_settings(in_force);
            for (queries_file, items) in files.iter().zip(&loaded) {
                let results = run_queries(kb, articles, queries_file, items)?;
                runs.push(KnownItemRun {
                    queries: queries_file.clone(),
                    variant: name.clone(),
                    report: report_of(results, count, index_seconds),
                });
            }
        }
        Ok(runs)
    })
}

fn run_queries(
    kb: &KnowledgeBase,
    articles: &Path,
    queries_file: &Path,
    items: &[KnownItem],
) -> Result<Vec<KnownItemResult>, EvalError> {
    let mut results = Vec::with_capacity(items.len());
    for item in items {
        for a in &item.answers {
            let slug = Slug::parse(a).map_err(|e| EvalError::Format {
                path: queries_file.to_path_buf(),
                line: item.line,
                message: format!("the answer slug {a:?} {e}"),
            })?;
            if !kb.has_article(&slug, &crate::kb::audience::Reader::Anonymous)? {
                return Err(EvalError::Format {
                    path: queries_file.to_path_buf(),
                    line: item.line,
                    message: format!(
                        "the answer {a:?} is not a published article of {}",
                        articles.display()
                    ),
                });
            }
        }
        let found = kb.search(&SearchRequest {
            q: item.query.clone(),
            limit: PAGE,
            ..SearchRequest::default()
        })?;
        let ranked: Vec<String> = found.hits.into_iter().map(|h| h.slug).collect();
        let judged: Judgments = item.answers.iter().map(|a| (a.clone(), 1)).collect();
        results.push(KnownItemResult {
            rank: first_relevant_rank(PAGE, &ranked, &judged),
            top: ranked.into_iter().take(3).collect(),
            item: item.clone(),
        });
    }
    Ok(results)
}

fn report_of(
    results: Vec<KnownItemResult>,
    articles: usize,
    index_seconds: f64,
) -> KnownItemReport {
    let mut kinds: BTreeMap<String, Vec<Option<usize>>> = BTreeMap::new();
    for r in &results {
        kinds.entry(r.item.kind.clone()).or_default().push(r.rank);
    }
    KnownItemReport {
        all: scores(results.iter().map(|r| &r.rank)),
        by_kind: kinds
            .iter()
            .map(|(k, ranks)| (k.clone(), scores(ranks.iter())))
            .collect(),
        results,
        articles,
        index_seconds,
    }
}

/// One line per run: the queries file, the variant and its scores over all queries.
pub fn summary_table(runs: &[KnownItemRun]) -> String {
    let mut out = format!(
        "{:<34} {:<14} {:>7} {:>7} {:>7} {:>7}\n",
        "queries", "retrieval", "queries", "hit@1", "hit@3", "MRR@10"
    );
    for r in runs {
        let file = r
            .queries
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let s = &r.report.all;
        out.push_str(&format!(
            "{:<34} {:<14} {:>7} {:>7.3} {:>7.3} {:>7.3}\n",
            file, r.variant, s.queries, s.hit_at_1, s.hit_at_3, s.mrr_at_10
        ));
    }
    out
}

/// Formats the report as text: the scores by kind, then every query not answered in the
/// top 3 (when `misses`).
pub fn table(report: &KnownItemReport, misses: bool) -> String {
    let mut out = format!(
        "{:<12} {:>7} {:>7} {:>7} {:>7}\n",
        "kind", "queries", "hit@1", "hit@3", "MRR@10"
    );
    let row = |name: &str, s: &KnownItemScores| {
        format!(
            "{:<12} {:>7} {:>7.3} {:>7.3} {:>7.3}\n",
            name, s.queries, s.hit_at_1, s.hit_at_3, s.mrr_at_10
        )
    };
    for (kind, s) in &report.by_kind {
        out.push_str(&row(kind, s));
    }
    out.push_str(&row("all", &report.all));
    if misses {
        for r in report
            .results
            .iter()
            .filter(|r| r.rank.is_none_or(|k| k > 3))
        {
            out.push_str(&format!(
                "miss (line {}, rank {}): {:?} wants {:?}, got {:?}\n",
                r.item.line,
                r.rank.map_or("-".to_string(), |k| k.to_string()),
                r.item.query,
                r.item.answers,
                r.top
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_by_hand() {
        let s = scores([Some(1), Some(3), None, Some(2)].iter());
        assert_eq!(s.queries, 4);
        assert_eq!(s.hit_at_1, 0.25);
        assert_eq!(s.hit_at_3, 0.75);
        assert!((s.mrr_at_10 - (1.0 + 1.0 / 3.0 + 0.5) / 4.0).abs() < 1e-12);
    }

    #[test]
    fn the_file_format_and_its_errors() {
        let dir = std::env::temp_dir().join(format!("hc-known-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("q.tsv");
        std::fs::write(
            &p,
            "# comment\nkeywords\tbind mounts\tmanuals/engine/storage/bind-mounts\n\
             typo\tinstal engine\ta/b, c/d\n",
        )
        .unwrap();
        let items = load(&p).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].answers, vec!["a/b", "c/d"]);
        assert_eq!(items[1].line, 3);
        std::fs::write(&p, "keywords bind mounts\n").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("q.tsv") && e.contains("line 1"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
