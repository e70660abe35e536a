//! Reads a dataset in BEIR's layout and turns its documents into articles.
//!
//! ```text
//! corpus.jsonl     {"_id", "title", "text", ...} one document a line
//! queries.jsonl    {"_id", "text", ...} one query a line (train, dev and test together)
//! qrels/test.tsv   query-id <TAB> corpus-id <TAB> score, with a header line
//! ```
//!
//! Only the queries named in `qrels/test.tsv` are evaluated, as BEIR does.
//!
//! Those judged queries are split once, by a fixed rule on the query id ([`Half::of`]),
//! into a development half and a held-out half. The shared copies hold only BEIR's
//! test judgments, so a setting tuned on all of them and reported on the same queries
//! would overstate itself: tuning looks at the development half only, and the held-out
//! half measures the result.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::metrics::Judgments;
use super::EvalError;
use crate::kb::article::{parse_article, Article, PathResolver};

/// One document of the corpus.
#[derive(Debug, Clone, Deserialize)]
pub struct BeirDoc {
    /// The corpus id.
    #[serde(rename = "_id")]
    pub id: String,
    /// The title (may be empty).
    #[serde(default)]
    pub title: String,
    /// The text.
    #[serde(default)]
    pub text: String,
}

/// One query.
#[derive(Debug, Clone, Deserialize)]
pub struct BeirQuery {
    /// The query id.
    #[serde(rename = "_id")]
    pub id: String,
    /// What is searched for.
    pub text: String,
}

/// One of the two halves of a dataset's judged queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Half {
    /// For tuning: settings are chosen on these queries.
    Dev,
    /// For measuring: never looked at while tuning; its figures decide.
    HeldOut,
}

impl Half {
    /// The half of the query with id `id`: the lowest bit of the first byte of the
    /// BLAKE3 hash of the id's UTF-8 bytes, 0 for [`Half::Dev`] and 1 for
    /// [`Half::HeldOut`]. A hash rather than the id's digits, whose last digit is far
    /// from uniform in NFCorpus (a quarter of its test ids end in 0). Fixed for good:
    /// changing it would mix tuned-on queries into the held-out half.
    pub fn of(id: &str) -> Half {
        if blake3::hash(id.as_bytes()).as_bytes()[0] & 1 == 0 {
            Half::Dev
        } else {
            Half::HeldOut
        }
    }
}

/// A BEIR dataset: the corpus, the test queries and their judgments.
#[derive(Debug, Clone)]
pub struct BeirDataset {
    /// The dataset's folder name (`beir-scifact`), for reports.
    pub name: String,
    /// Every document.
    pub docs: Vec<BeirDoc>,
    /// The test queries (those with judgments), in id order.
    pub queries: Vec<BeirQuery>,
    /// Judgments by query id.
    pub qrels: HashMap<String, Judgments>,
}

impl BeirDataset {
    /// The judgments of the queries in `half` (of every query with `None`).
    pub fn qrels_of(&self, half: Option<Half>) -> HashMap<String, Judgments> {
        self.qrels
            .iter()
            .filter(|(id, _)| half.is_none_or(|h| Half::of(id) == h))
            .map(|(id, judged)| (id.clone(), judged.clone()))
            .collect()
    }
}

fn read(path: &Path) -> Result<String, EvalError> {
    std::fs::read_to_string(path).map_err(|source| EvalError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, EvalError> {
    let text = read(path)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let item = serde_json::from_str(line).map_err(|e| EvalError::Format {
            path: path.to_path_buf(),
            line: i + 1,
            message: e.to_string(),
        })?;
        out.push(item);
    }
    Ok(out)
}

/// Parses `qrels/test.tsv` (CRLF or LF, with or without the header line).
pub fn parse_qrels(path: &Path) -> Result<HashMap<String, Judgments>, EvalError> {
    let text = read(path)?;
    let mut qrels: HashMap<String, Judgments> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || (i == 0 && line.starts_with("query-id")) {
            continue;
        }
        let bad = |message: String| EvalError::Format {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        let cols: Vec<&str> = line.split('\t').collect();
        let [query, doc, score] = cols[..] else {
            return Err(bad(format!(
                "expected query-id, corpus-id and score separated by tabs, got {line:?}"
            )));
        };
        let score: i64 = score
            .trim()
            .parse()
            .map_err(|_| bad(format!("the score {score:?} is not a whole number")))?;
        qrels
            .entry(query.to_string())
            .or_default()
            .insert(doc.to_string(), score.max(0) as u32);
    }
    Ok(qrels)
}

/// Loads a BEIR dataset folder.
pub fn load(dir: &Path) -> Result<BeirDataset, EvalError> {
    if !dir.is_dir() {
        return Err(EvalError::Missing(dir.to_path_buf()));
    }
    let docs: Vec<BeirDoc> = parse_jsonl(&dir.join("corpus.jsonl"))?;
    let all_queries: Vec<BeirQuery> = parse_jsonl(&dir.join("queries.jsonl"))?;
    let qrels_path = dir.join("qrels").join("test.tsv");
    let qrels = parse_qrels(&qrels_path)?;
    let by_id: HashMap<&str, &BeirQuery> = all_queries.iter().map(|q| (q.id.as_str(), q)).collect();
    let mut queries = Vec::with_capacity(qrels.len());
    let ordered: BTreeMap<&String, ()> = qrels.keys().map(|k| (k, ())).collect();
    for id in ordered.keys() {
        match by_id.get(id.as_str()) {
            Some(q) => queries.push((*q).clone()),
            None => {
                return Err(EvalError::Dataset {
                    path: qrels_path,
                    message: format!("query {id:?} has judgments but is not in queries.jsonl"),
                })
            }
        }
    }
    let name = dir
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(dir))
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    Ok(BeirDataset {
        name,
        docs,
        queries,
        qrels,
    })
}

/// Escapes every ASCII punctuation character with a backslash, which CommonMark reads as
/// that literal character: the text renders as exactly itself, never as markup.
fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    for line in text.lines() {
        // Leading spaces would make an indented code block.
        for c in line.trim_start().chars() {
            if c.is_ascii_punctuation() {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('\n');
    }
    out
}

/// The markdown file an operator would write for a document: the title in the front
/// matter (a JSON string, which is valid YAML) and the text as the body.
pub fn markdown_of(doc: &BeirDoc, slug: &str) -> String {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string());
    let mut md = String::from("---\n");
    if !doc.title.trim().is_empty() {
        md.push_str(&format!("title: {}\n", quote(doc.title.trim())));
    }
    md.push_str(&format!("slug: {}\n---\n\n", quote(slug)));
    md.push_str(&escape_markdown(&doc.text));
    md
}

/// The articles of a corpus, parsed by the product's article parser from the markdown
/// of [`markdown_of`], and the slug of each document id.
///
/// A document id is its slug when it is a valid slug; otherwise the document is
/// `doc-<line>`. Either way `slug_to_id` maps back.
pub fn articles_of(docs: &[BeirDoc]) -> Result<(Vec<Article>, HashMap<String, String>), EvalError> {
    let mut articles = Vec::with_capacity(docs.len());
    let mut slug_to_id = HashMap::with_capacity(docs.len());
    for (i, doc) in docs.iter().enumerate() {
        let slug = match crate::kb::types::Slug::parse(&doc.id) {
            Ok(s) if s.as_str() == doc.id && !slug_to_id.contains_key(s.as_str()) => {
                s.as_str().to_string()
            }
            _ => format!("doc-{}", i + 1),
        };
        let md = markdown_of(doc, &slug);
        let article = parse_article(&format!("{slug}.md"), &md, 0, &PathResolver).map_err(|e| {
            EvalError::Dataset {
                path: PathBuf::from("corpus.jsonl"),
                message: format!("document {:?} cannot be an article: {e}", doc.id),
            }
        })?;
        slug_to_id.insert(slug, doc.id.clone());
        articles.push(article);
    }
    Ok((articles, slug_to_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_becomes_an_article_with_its_title_and_exact_text() {
        let doc = BeirDoc {
            id: "MED-10".into(),
            title: "Statins: a \"review\" #1".into(),
            text: "    *Not* emphasis, <b>not</b> HTML & [not](a link).\n# not a heading".into(),
        };
        let (articles, map) = articles_of(std::slice::from_ref(&doc)).unwrap();
        let a = &articles[0];
        assert_eq!(a.slug.as_str(), "MED-10");
        assert_eq!(map["MED-10"], "MED-10");
        assert_eq!(a.title, "Statins: a \"review\" #1");
        assert!(a.headings.is_empty());
        let body = a.body_text();
        assert!(
            body.contains("*Not* emphasis, <b>not</b> HTML & [not](a link)."),
            "{body:?}"
        );
        assert!(body.contains("# not a heading"), "{body:?}");
    }

    #[test]
    fn ids_that_cannot_be_slugs_get_one() {
        let doc = BeirDoc {
            id: "a b?".into(),
            title: String::new(),
            text: "x".into(),
        };
        let (articles, map) = articles_of(&[doc]).unwrap();
        assert_eq!(articles[0].slug.as_str(), "doc-1");
        assert_eq!(map["doc-1"], "a b?");
    }

    const PINNED_HALVES: [(&str, Half); 6] = [
        ("1", Half::Dev),
        ("2", Half::HeldOut),
        ("3", Half::Dev),
        ("PLAIN-2", Half::HeldOut),
        ("PLAIN-12", Half::HeldOut),
        ("PLAIN-1008", Half::Dev),
    ];

    #[test]
    fn the_halves_follow_the_fixed_rule() {
        // Pinned: these ids must never change halves (tuning would then have seen
        // held-out queries). Values from the rule as first committed.
        let pinned: Vec<(&str, Half)> = PINNED_HALVES
            .iter()
            .map(|&(id, _)| (id, Half::of(id)))
            .collect();
        assert_eq!(pinned, PINNED_HALVES);
        let mut dataset = BeirDataset {
            name: "t".into(),
            docs: Vec::new(),
            queries: Vec::new(),
            qrels: HashMap::new(),
        };
        for (id, _) in PINNED_HALVES {
            dataset
                .qrels
                .insert(id.to_string(), [("d".to_string(), 1)].into());
        }
        let dev = dataset.qrels_of(Some(Half::Dev));
        let held_out = dataset.qrels_of(Some(Half::HeldOut));
        assert_eq!(dev.len() + held_out.len(), PINNED_HALVES.len());
        assert!(dev.keys().all(|id| !held_out.contains_key(id)));
        assert_eq!(dataset.qrels_of(None).len(), PINNED_HALVES.len());
    }

    #[test]
    fn qrels_with_crlf_and_header() {
        let dir = std::env::temp_dir().join(format!("hc-qrels-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("test.tsv");
        std::fs::write(
            &p,
            "query-id\tcorpus-id\tscore\r\nq1\td1\t2\r\nq1\td2\t1\r\n",
        )
        .unwrap();
        let q = parse_qrels(&p).unwrap();
        assert_eq!(q["q1"]["d1"], 2);
        assert_eq!(q["q1"]["d2"], 1);
        std::fs::write(&p, "q1 d1 1\n").unwrap();
        let e = parse_qrels(&p).unwrap_err().to_string();
        assert!(e.contains("test.tsv") && e.contains("line 1"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
