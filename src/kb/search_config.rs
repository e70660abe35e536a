//! The writers' search configuration: `_search.toml` in the articles folder, versioned
//! with the articles and reloaded live like one.
//!
//! ```toml
//! # Words that are never typo-corrected, such as product names.
//! protected = ["Acmecloud", "Kubelet"]
//!
//! # Two-way: any of these finds articles that use any other.
//! [[synonyms]]
//! words = ["2fa", "two-factor authentication", "mfa"]
//!
//! # One-way: customers say "bill", articles say "invoice" (but a search for
//! # "invoice" should not bring up every article that says "bill").
//! [[synonyms]]
//! from = ["bill", "bills"]
//! to = ["invoice"]
//! ```
//!
//! Entries may be several words; matching is on the same lowercased, accent-folded
//! words the index uses, so `Two-Factor` in a query matches `two-factor` here.

use std::collections::HashSet;

use serde::Deserialize;
use tantivy::tokenizer::TextAnalyzer;
use toml::Spanned;

use super::index::raw_analyzer;
use super::loader::FileError;

/// The file's name in the articles folder.
pub const SEARCH_CONFIG_FILE: &str = "_search.toml";

/// Longest synonym entry, in words: longer is a sentence, not a synonym.
const MAX_ENTRY_WORDS: usize = 6;
/// Largest group: a group this big is a topic, and every query would fan out to it.
const MAX_GROUP_SIZE: usize = 32;

/// The parsed configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchConfig {
    /// Words never typo-corrected, lowercased and folded like the index's words.
    pub protected: HashSet<String>,
    /// Synonym rules.
    pub synonyms: Synonyms,
}

/// Synonym rules, ready for matching against a query's words.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Synonyms {
    rules: Vec<SynonymRule>,
}

/// "These words in a query also mean those."
#[derive(Debug, Clone, PartialEq)]
struct SynonymRule {
    /// The query words (lowercased, folded) that trigger the rule, in order.
    trigger: Vec<String>,
    /// What else to search for: each entry is matched as a phrase.
    alternatives: Vec<String>,
}

/// A place in a query where a synonym rule applies.
#[derive(Debug, Clone, PartialEq)]
pub struct SynonymMatch {
    /// First word (index into the words given to [`Synonyms::find`]).
    pub start: usize,
    /// Number of words.
    pub len: usize,
    /// Texts that also stand for those words, each matched as a phrase.
    pub alternatives: Vec<String>,
}

impl Synonyms {
    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules that apply to `words` (lowercased, folded query words in order),
    /// longest first at each position, never overlapping.
    pub fn find(&self, words: &[String]) -> Vec<SynonymMatch> {
        let mut out = Vec::new();
        if self.rules.is_empty() {
            return out;
        }
        let mut i = 0;
        while i < words.len() {
            let best = self
                .rules
                .iter()
                .filter(|r| words[i..].starts_with(&r.trigger))
                .max_by_key(|r| r.trigger.len());
            match best {
                Some(rule) => {
                    // Rules with the same trigger (a word in two groups) merge.
                    let mut alternatives: Vec<String> = Vec::new();
                    for r in self.rules.iter().filter(|r| r.trigger == rule.trigger) {
                        for a in &r.alternatives {
                            if !alternatives.contains(a) {
                                alternatives.push(a.clone());
                            }
                        }
                    }
                    out.push(SynonymMatch {
                        start: i,
                        len: rule.trigger.len(),
                        alternatives,
                    });
                    i += rule.trigger.len();
                }
                None => i += 1,
            }
        }
        out
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    protected: Vec<Spanned<String>>,
    #[serde(default)]
    synonyms: Vec<Spanned<RawSynonym>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSynonym {
    #[serde(default)]
    words: Vec<Spanned<String>>,
    #[serde(default)]
    from: Vec<Spanned<String>>,
    #[serde(default)]
    to: Vec<Spanned<String>>,
}

fn words_of(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(t) = stream.next() {
        out.push(t.text.clone());
    }
    out
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.chars().rev().take_while(|c| *c != '\n').count() + 1;
    (line, col)
}

impl SearchConfig {
    /// Parses the file's text. Every problem is reported (with its line and column),
    /// not only the first; any problem rejects the whole file, so that a half-valid
    /// configuration never goes live.
    pub fn parse(text: &str) -> Result<SearchConfig, Vec<FileError>> {
        let error = |offset: usize, message: String| {
            let (line, column) = line_col(text, offset);
            FileError {
                path: SEARCH_CONFIG_FILE.to_string(),
                line,
                column: Some(column),
                message,
            }
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            vec![error(
                offset,
                format!("not a valid search configuration: {}", e.message().trim()),
            )]
        })?;
        let mut analyzer = raw_analyzer();
        let mut problems = Vec::new();
        let mut config = SearchConfig::default();
        for p in &raw.protected {
            let words = words_of(&mut analyzer, p.get_ref());
            if words.is_empty() {
                problems.push(error(
                    p.span().start,
                    format!("protected word {:?} has no letters or digits", p.get_ref()),
                ));
            }
            config.protected.extend(words);
        }
        // Checks one entry and returns its words.
        let mut entry =
            |s: &Spanned<String>, problems: &mut Vec<FileError>| -> Option<Vec<String>> {
                let words = words_of(&mut analyzer, s.get_ref());
                if words.is_empty() {
                    problems.push(error(
                        s.span().start,
                        format!("synonym {:?} has no letters or digits", s.get_ref()),
                    ));
                    None
                } else if words.len() > MAX_ENTRY_WORDS {
                    problems.push(error(
                        s.span().start,
                        format!(
                            "synonym {:?} has {} words; at most {MAX_ENTRY_WORDS}",
                            s.get_ref(),
                            words.len()
                        ),
                    ));
                    None
                } else {
                    Some(words)
                }
            };
        for group in &raw.synonyms {
            let at = group.span().start;
            let g = group.get_ref();
            match (g.words.is_empty(), g.from.is_empty() && g.to.is_empty()) {
                (false, true) => {
                    if g.words.len() < 2 {
                        problems.push(error(
                            at,
                            "a `words` group needs at least two entries".into(),
                        ));
                        continue;
                    }
                    if g.words.len() > MAX_GROUP_SIZE {
                        problems.push(error(
                            at,
                            format!("a group has at most {MAX_GROUP_SIZE} entries"),
                        ));
                        continue;
                    }
                    let entries: Vec<(Vec<String>, String)> = g
                        .words
                        .iter()
                        .filter_map(|w| {
                            entry(w, &mut problems).map(|words| (words, w.get_ref().clone()))
                        })
                        .collect();
                    for (i, (trigger, _)) in entries.iter().enumerate() {
                        let alternatives: Vec<String> = entries
                            .iter()
                            .enumerate()
                            .filter(|(j, (other, _))| *j != i && other != trigger)
                            .map(|(_, (_, text))| text.clone())
                            .collect();
                        if !alternatives.is_empty() {
                            config.synonyms.rules.push(SynonymRule {
                                trigger: trigger.clone(),
                                alternatives,
                            });
                        }
                    }
                }
                (true, false) => {
                    if g.from.is_empty() || g.to.is_empty() {
                        problems.push(error(
                            at,
                            "a one-way synonym needs both `from` and `to`".into(),
                        ));
                        continue;
                    }
                    let targets: Vec<String> =
                        g.to.iter()
                            .filter_map(|t| entry(t, &mut problems).map(|_| t.get_ref().clone()))
                            .collect();
                    for f in &g.from {
                        if let Some(trigger) = entry(f, &mut problems) {
                            config.synonyms.rules.push(SynonymRule {
                                trigger,
                                alternatives: targets.clone(),
                            });
                        }
                    }
                }
                (false, false) => problems.push(error(
                    at,
                    "give either `words` (two-way) or `from` and `to` (one-way), not both".into(),
                )),
                (true, true) => problems.push(error(
                    at,
                    "an empty synonym entry: give `words` (two-way) or `from` and `to` (one-way)"
                        .into(),
                )),
            }
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn two_way_groups_expand_every_member_to_the_others() {
        let c = SearchConfig::parse(
            "[[synonyms]]\nwords = [\"2FA\", \"two-factor authentication\", \"MFA\"]\n",
        )
        .unwrap();
        let m = c.synonyms.find(&words("enable 2fa now"));
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].start, m[0].len), (1, 1));
        assert_eq!(m[0].alternatives, ["two-factor authentication", "MFA"]);
        let m = c.synonyms.find(&words("two factor authentication setup"));
        assert_eq!((m[0].start, m[0].len), (0, 3));
        assert_eq!(m[0].alternatives, ["2FA", "MFA"]);
    }

    #[test]
    fn one_way_synonyms_do_not_go_back() {
        let c =
            SearchConfig::parse("[[synonyms]]\nfrom = [\"bill\"]\nto = [\"invoice\"]\n").unwrap();
        assert_eq!(
            c.synonyms.find(&words("my bill"))[0].alternatives,
            ["invoice"]
        );
        assert!(c.synonyms.find(&words("my invoice")).is_empty());
    }

    #[test]
    fn protected_words_are_folded_like_the_index() {
        let c = SearchConfig::parse("protected = [\"Acmecloud\", \"Zürich\"]\n").unwrap();
        assert!(c.protected.contains("acmecloud"));
        assert!(c.protected.contains("zurich"));
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let errors = SearchConfig::parse(
            "protected = [\"ok\"]\n\n[[synonyms]]\nwords = [\"solo\"]\n\n[[synonyms]]\nfrom = [\"x\"]\n",
        )
        .unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].line, 3);
        assert!(errors[0].message.contains("at least two"));
        assert_eq!(errors[1].line, 6);
        assert!(errors[1].message.contains("both `from` and `to`"));
    }

    #[test]
    fn syntax_errors_and_unknown_keys_name_the_place() {
        let e = SearchConfig::parse("protected = [\"a\"\n").unwrap_err();
        assert_eq!(e[0].line, 1);
        let e = SearchConfig::parse("\n[[synonyms]]\nword = [\"a\", \"b\"]\n").unwrap_err();
        assert!(e[0].message.contains("word"), "{e:?}");
        assert_eq!(e[0].line, 3);
    }
}
