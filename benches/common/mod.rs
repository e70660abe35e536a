//! What the search benches share: the corpora, the committed query lists and the
//! percentile arithmetic. Each bench is its own crate and uses only part of this.

use std::path::{Path, PathBuf};
use std::time::Duration;

use helpcenter::kb::search::SearchRequest;
use helpcenter::kb::types::Category;

/// A corpus of the shared checkout and its committed query list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corpus {
    /// MDN Web Docs, about 14,000 pages.
    Mdn,
    /// The Docker documentation, about 1,450 pages.
    DockerDocs,
}

impl Corpus {
    /// Every corpus, in the order the benches run them.
    pub const ALL: [Corpus; 2] = [Corpus::Mdn, Corpus::DockerDocs];

    /// The name used on the command line, in file names and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Corpus::Mdn => "mdn",
            Corpus::DockerDocs => "docker-docs",
        }
    }

    /// Parses a corpus name as [`Corpus::name`] spells it.
    pub fn parse(s: &str) -> Option<Corpus> {
        Corpus::ALL.into_iter().find(|c| c.name() == s)
    }

    /// The articles folder, `../shared/corpora/<name>/articles` from the project root,
    /// or `None` when this checkout does not have it.
    pub fn articles(self) -> Option<PathBuf> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/corpora")
            .join(self.name())
            .join("articles");
        p.is_dir().then_some(p)
    }

    /// The committed query list, `benches/queries/<name>.txt`.
    pub fn query_list(self) -> &'static str {
        match self {
            Corpus::Mdn => include_str!("../queries/mdn.txt"),
            Corpus::DockerDocs => include_str!("../queries/docker-docs.txt"),
        }
    }

    /// The queries of [`Corpus::query_list`].
    pub fn queries(self) -> Vec<BenchQuery> {
        parse_query_list(self.query_list())
    }
}

/// One line of a query list: what is typed, and the category filter if the line has
/// one.
#[derive(Debug, Clone)]
pub struct BenchQuery {
    /// The search box's text.
    pub q: String,
    /// `category=...` of a line `category=... | query`.
    pub category: Option<String>,
}

impl BenchQuery {
    /// The engine's request for this query: first page of 10, as the API's default.
    pub fn request(&self) -> SearchRequest {
        SearchRequest {
            q: self.q.clone(),
            category: self
                .category
                .as_deref()
                .map(|c| Category::parse(c).expect("query list: invalid category")),
            limit: 10,
            ..Default::default()
        }
    }

    /// The path and query string of `GET /api/v1/search` for this query.
    pub fn api_path(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("q", &self.q);
        if let Some(c) = &self.category {
            query.append_pair("category", c);
        }
        format!("/api/v1/search?{}", query.finish())
    }
}

/// Parses a query list: one query per line (trimmed), `#` comments and blank lines
/// skipped, a line `category=... | query` adds a category filter.
pub fn parse_query_list(text: &str) -> Vec<BenchQuery> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| match line.split_once(" | ") {
            Some((filter, q)) => BenchQuery {
                q: q.to_string(),
                category: filter.strip_prefix("category=").map(str::to_string),
            },
            None => BenchQuery {
                q: line.to_string(),
                category: None,
            },
        })
        .collect()
}

/// The `p` quantile (0..=1) of sorted samples, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Milliseconds of `d`, for reports.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `p50 .. p95 .. p99 ..` of sorted samples, as the benches print them.
pub fn p50_p95_p99(sorted: &[Duration]) -> String {
    format!(
        "p50 {:?}  p95 {:?}  p99 {:?}",
        percentile(sorted, 0.50),
        percentile(sorted, 0.95),
        percentile(sorted, 0.99)
    )
}

/// A criterion group with the settings every search bench uses (30 samples, 3 s).
pub fn search_group<'a>(
    c: &'a mut criterion::Criterion,
    name: String,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    group
}
