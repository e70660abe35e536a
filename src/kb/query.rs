//! The search box's language, parsed without ever failing: plain words, `"quoted
//! phrases"`, `-excluded` words or phrases. Anything else a person types (stray
//! operators, unbalanced quotes, emoji, control characters) is read as words or ignored.

/// Longest accepted query, in characters (longer is a 400 at the HTTP edge).
pub const MAX_QUERY_CHARS: usize = 512;
/// At most this many words take part in matching; the rest of a pasted text is ignored.
pub const MAX_WORDS: usize = 32;

/// A parsed query: raw, unanalyzed pieces. Analysis (lowercasing, stemming) happens in
/// the engine, with the index's own analyzers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedQuery {
    /// Free words, in order.
    pub words: Vec<String>,
    /// Whether the last free word may match as a prefix (the query did not end in a space).
    pub last_is_prefix: bool,
    /// Quoted phrases that must match.
    pub phrases: Vec<String>,
    /// Words or phrases that must not match.
    pub excluded: Vec<String>,
}

impl ParsedQuery {
    /// True when nothing searchable was typed (an empty query lists articles).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.phrases.is_empty()
    }
}

/// Text that is prose, not a search (a ticket being written, a dataset's query): its
/// quotes and leading `-` are removed so they are read as plain words, never as
/// phrases or exclusions.
pub fn as_plain_words(text: &str) -> String {
    text.replace('"', " ")
        .split_whitespace()
        .map(|w| w.trim_start_matches('-'))
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses what a person typed. Never fails and never panics.
pub fn parse_query(input: &str) -> ParsedQuery {
    let cleaned: String = input
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut q = ParsedQuery::default();
    let mut chars = cleaned.char_indices().peekable();
    let mut last_piece_was_word = false;
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            last_piece_was_word = false;
            continue;
        }
        let negated = c == '-'
            && cleaned[i + 1..]
                .chars()
                .next()
                .is_some_and(|n| !n.is_whitespace() && n != '-');
        if negated {
            chars.next();
        }
        let Some(&(start, c)) = chars.peek() else {
            break;
        };
        if c == '"' {
            // A phrase runs to the closing quote; an unbalanced quote runs to the end.
            chars.next();
            let body_start = start + 1;
            let mut end = cleaned.len();
            let mut closed = false;
            for (j, d) in chars.by_ref() {
                if d == '"' {
                    end = j;
                    closed = true;
                    break;
                }
            }
            let text = cleaned[body_start..end].trim().to_string();
            if !text.is_empty() {
                if negated {
                    q.excluded.push(text);
                } else if closed {
                    q.phrases.push(text);
                } else {
                    // An unbalanced quote is a person still typing: treat as words.
                    for w in text.split_whitespace() {
                        q.words.push(w.to_string());
                    }
                    last_piece_was_word = true;
                    continue;
                }
            }
            last_piece_was_word = false;
            continue;
        }
        let mut end = cleaned.len();
        while let Some(&(j, d)) = chars.peek() {
            if d.is_whitespace() || d == '"' {
                end = j;
                break;
            }
            chars.next();
        }
        let word = cleaned[start..end].to_string();
        if negated {
            q.excluded.push(word);
            last_piece_was_word = false;
        } else {
            q.words.push(word);
            last_piece_was_word = true;
        }
    }
    q.last_is_prefix = last_piece_was_word && !cleaned.ends_with(char::is_whitespace);
    q.words.truncate(MAX_WORDS);
    q.phrases.truncate(8);
    q.excluded.truncate(8);
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_phrases_and_exclusions() {
        let q = parse_query("reset \"two factor\" -sms passw");
        assert_eq!(q.words, vec!["reset", "passw"]);
        assert_eq!(q.phrases, vec!["two factor"]);
        assert_eq!(q.excluded, vec!["sms"]);
        assert!(q.last_is_prefix);
    }

    #[test]
    fn trailing_space_ends_the_prefix() {
        assert!(!parse_query("invoice ").last_is_prefix);
    }

    #[test]
    fn unbalanced_quote_and_stray_operators_do_not_fail() {
        let q = parse_query("\"unclosed phrase");
        assert_eq!(q.words, vec!["unclosed", "phrase"]);
        let q = parse_query("a:(^ -- - \u{0}\u{7} 🎉");
        assert!(q.words.contains(&"a:(^".to_string()));
        let q = parse_query("-\"not this\"");
        assert_eq!(q.excluded, vec!["not this"]);
    }
}
