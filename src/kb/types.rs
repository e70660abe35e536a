//! Newtypes for the knowledge base's identifiers, parsed once at the edge.
//!
//! A [`Slug`] or a [`Category`] that exists is valid: every constructor checks the
//! characters, so the rest of the engine never re-validates them.

use std::fmt;

use serde::Serialize;

/// Why a slug or category string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathNameError {
    /// The string is empty (slugs only; the root category is empty on purpose).
    #[error("must not be empty")]
    Empty,
    /// The string is longer than [`MAX_PATH_NAME_LEN`].
    #[error("must be at most {MAX_PATH_NAME_LEN} characters")]
    TooLong,
    /// A `/`-separated segment is empty, `.` or `..`.
    #[error("has an empty, '.' or '..' segment")]
    BadSegment,
    /// A space, control character or URL delimiter (`?`, `#`, `%`, quotes, brackets...).
    #[error("contains the character {0:?}, which cannot stand in a URL path")]
    BadChar(char),
}

/// Longest accepted slug or category, in bytes.
pub const MAX_PATH_NAME_LEN: usize = 300;

/// Characters allowed in a slug or category segment: everything that can stand in a URL
/// path segment without confusing it (MDN has `::before`, `@media`, `function*`).
fn is_path_char(c: char) -> bool {
    !(c.is_control()
        || c.is_whitespace()
        || matches!(
            c,
            '/' | '?'
                | '#'
                | '%'
                | '\\'
                | '"'
                | '<'
                | '>'
                | '`'
                | '{'
                | '}'
                | '|'
                | '^'
                | '['
                | ']'
        ))
}

fn check_path_name(s: &str) -> Result<(), PathNameError> {
    if s.len() > MAX_PATH_NAME_LEN {
        return Err(PathNameError::TooLong);
    }
    for segment in s.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(PathNameError::BadSegment);
        }
        if let Some(c) = segment.chars().find(|c| !is_path_char(*c)) {
            return Err(PathNameError::BadChar(c));
        }
    }
    Ok(())
}

/// An article's address below `/articles/`, such as `billing/invoices/download-invoice`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    /// Parses a slug: `/`-separated segments without spaces or URL delimiters.
    /// Leading and trailing slashes are trimmed.
    pub fn parse(s: &str) -> Result<Self, PathNameError> {
        let s = s.trim().trim_matches('/');
        if s.is_empty() {
            return Err(PathNameError::Empty);
        }
        check_path_name(s)?;
        Ok(Slug(s.to_string()))
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The public URL of the article's page.
    pub fn url(&self) -> String {
        format!("/articles/{}", self.0)
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A hierarchical category such as `billing/invoices`; the empty category is the root.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
#[serde(transparent)]
pub struct Category(String);

impl Category {
    /// Parses a category. Case is folded to lowercase and spaces become `-`, so that a
    /// writer's `category: Billing Help` and the folder `billing-help` are the same.
    pub fn parse(s: &str) -> Result<Self, PathNameError> {
        let normalized: String = s
            .trim()
            .trim_matches('/')
            .chars()
            .map(|c| if c == ' ' { '-' } else { c })
            .flat_map(char::to_lowercase)
            .collect();
        if normalized.is_empty() {
            return Ok(Category::root());
        }
        check_path_name(&normalized)?;
        Ok(Category(normalized))
    }

    /// The root category (articles directly in the articles folder).
    pub fn root() -> Self {
        Category(String::new())
    }

    /// The category as text (`""` for the root).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for the root category.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// This category and every ancestor, outermost first, without the root:
    /// `billing/invoices` gives `billing`, `billing/invoices`.
    pub fn with_ancestors(&self) -> Vec<String> {
        if self.is_root() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (i, c) in self.0.char_indices() {
            if c == '/' {
                out.push(self.0[..i].to_string());
            }
        }
        out.push(self.0.clone());
        out
    }

    /// A human name for the last segment: `two-factor_auth` gives `Two factor auth`.
    pub fn display_name(&self) -> String {
        display_name_of(self.0.rsplit('/').next().unwrap_or(""))
    }
}

/// A readable name for a category path segment.
pub fn display_name_of(segment: &str) -> String {
    let spaced: String = segment
        .trim_start_matches('_')
        .chars()
        .map(|c| if c == '-' || c == '_' { ' ' } else { c })
        .collect();
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tag, trimmed and lowercased so that `Billing` and `billing` are one facet value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Tag(String);

impl Tag {
    /// Normalizes a tag; `None` for a blank one.
    pub fn parse(s: &str) -> Option<Self> {
        let t = s.trim().to_lowercase();
        if t.is_empty() || t.len() > 100 {
            None
        } else {
            Some(Tag(t))
        }
    }

    /// The tag as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_accept_nested_paths_and_refuse_traversal() {
        assert_eq!(
            Slug::parse("/billing/invoices/x/").unwrap().as_str(),
            "billing/invoices/x"
        );
        assert_eq!(Slug::parse("a/../b"), Err(PathNameError::BadSegment));
        assert_eq!(Slug::parse("a b"), Err(PathNameError::BadChar(' ')));
        assert_eq!(Slug::parse(""), Err(PathNameError::Empty));
        assert!(Slug::parse("web/css/_colon_hover").is_ok());
    }

    #[test]
    fn categories_fold_case_and_list_ancestors() {
        let c = Category::parse("Billing/Invoices").unwrap();
        assert_eq!(c.as_str(), "billing/invoices");
        assert_eq!(c.with_ancestors(), vec!["billing", "billing/invoices"]);
        assert!(Category::parse("").unwrap().is_root());
        assert_eq!(c.display_name(), "Invoices");
    }
}
