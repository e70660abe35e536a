//! Removes the template tags that real docs repositories contain, so they are neither
//! indexed as words nor shown as text: Hugo shortcodes (`{{< … >}}`, `{{% … %}}`),
//! Liquid tags (`{% … %}`) and MDN's KumaScript macros (`{{macro("…")}}`).
//!
//! Fenced code blocks are left alone: a `{{.Name}}` in a code sample is content.
//! Cross-reference macros (`domxref`, `cssxref`, …) keep their display text, because
//! MDN renders them as a link with that text.

/// Returns the markdown with template tags removed outside fenced code blocks.
pub fn strip_template_tags(md: &str) -> String {
    strip_template_tags_mapped(md).text
}

/// Markdown with its template tags removed, and the way back to the original's offsets.
#[derive(Debug, Clone, Default)]
pub struct StrippedText {
    /// The markdown without template tags.
    pub text: String,
    /// `(offset in text, offset in the original)` at every point where the two stop
    /// moving together (a tag removed, a macro's display text inserted), in order.
    shifts: Vec<(usize, usize)>,
}

impl StrippedText {
    /// The byte offset in the original markdown of byte `offset` of [`Self::text`], so
    /// that `check` can name the line and column a writer sees in their editor.
    pub fn original_offset(&self, offset: usize) -> usize {
        match self.shifts.partition_point(|(out, _)| *out <= offset) {
            0 => offset,
            i => {
                let (out, orig) = self.shifts[i - 1];
                orig + (offset - out)
            }
        }
    }
}

/// [`strip_template_tags`], keeping the offset map of [`StrippedText`].
pub fn strip_template_tags_mapped(md: &str) -> StrippedText {
    if !md.contains("{{") && !md.contains("{%") {
        return StrippedText {
            text: md.to_string(),
            shifts: Vec::new(),
        };
    }
    let mut out = StrippedText {
        text: String::with_capacity(md.len()),
        shifts: Vec::new(),
    };
    let mut fence: Option<(char, usize)> = None;
    let mut rest = md;
    while !rest.is_empty() {
        let line_end = rest.find('\n').map(|i| i + 1).unwrap_or(rest.len());
        let line = &rest[..line_end];
        let trimmed = line.trim_start();
        let fence_char = trimmed.chars().next().filter(|c| *c == '`' || *c == '~');
        let run = fence_char
            .map(|c| trimmed.chars().take_while(|x| *x == c).count())
            .unwrap_or(0);
        match fence {
            Some((c, n)) => {
                if fence_char == Some(c) && run >= n && trimmed[run..].trim().is_empty() {
                    fence = None;
                }
                out.text.push_str(line);
                rest = &rest[line_end..];
                continue;
            }
            None if run >= 3 => {
                fence = Some((fence_char.unwrap_or('`'), run));
                out.text.push_str(line);
                rest = &rest[line_end..];
                continue;
            }
            None => {}
        }
        // Tags may span lines (Hugo shortcodes with many parameters): strip on the rest of
        // the text from here up to the next line that is outside any tag.
        let base = md.len() - rest.len();
        let consumed = strip_in_text(rest, base, line_end, &mut out);
        rest = &rest[consumed..];
    }
    out
}

/// Strips tags starting within the first `line_end` bytes of `text`, which starts at
/// byte `base` of the original; a tag may run past the line. Returns how many bytes
/// were consumed.
fn strip_in_text(text: &str, base: usize, line_end: usize, stripped: &mut StrippedText) -> usize {
    let StrippedText { text: out, shifts } = stripped;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < line_end {
        if bytes[i] == b'{' && i + 1 < bytes.len() {
            let next = bytes[i + 1];
            let close = match next {
                b'{' => match bytes.get(i + 2) {
                    Some(b'<') => Some(">}}"),
                    Some(b'%') => Some("%}}"),
                    _ => Some("}}"),
                },
                b'%' => Some("%}"),
                _ => None,
            };
            if let Some(close) = close {
                let body_start = i + 2;
                // A tag longer than this is not a tag but prose; leave it.
                let window_end = (body_start + 2000).min(text.len());
                let window_end = floor_char_boundary(text, window_end);
                if let Some(rel) = text[body_start..window_end].find(close) {
                    let inner = &text[body_start..body_start + rel];
                    let is_macro = close == "}}";
                    // `{{.Field}}` and `{{ $var }}` are Go templates in prose: keep them as text.
                    let macro_like = inner
                        .trim_start()
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic());
                    if !is_macro || macro_like {
                        if is_macro {
                            if let Some(text) = xref_display_text(inner) {
                                shifts.push((out.len(), base + i));
                                out.push_str(&text);
                            }
                        }
                        i = body_start + rel + close.len();
                        shifts.push((out.len(), base + i));
                        continue;
                    }
                }
            }
        }
        // No tag starts here: copy up to the next `{` at once (it is ASCII, so a char
        // boundary).
        let next = memchr::memchr(b'{', &bytes[i + 1..line_end]).map_or(line_end, |j| i + 1 + j);
        out.push_str(&text[i..next]);
        i = next;
    }
    i
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// For MDN cross-reference macros, the text MDN shows: the second string argument if
/// present, else the first.
fn xref_display_text(inner: &str) -> Option<String> {
    let inner = inner.trim();
    let open = inner.find('(')?;
    let name = inner[..open].trim().to_ascii_lowercase();
    let shows_text = name.ends_with("xref")
        || matches!(
            name.as_str(),
            "htmlelement"
                | "glossary"
                | "httpheader"
                | "httpmethod"
                | "httpstatus"
                | "svgelement"
                | "svgattr"
                | "htmlattrxref"
                | "event"
                | "cssxref"
                | "jsxref"
                | "domxref"
                | "rfc"
                | "mathmlelement"
        );
    if !shows_text {
        return None;
    }
    let args: Vec<String> = string_args(&inner[open + 1..]);
    let pick = args.get(1).filter(|s| !s.is_empty()).or(args.first())?;
    Some(pick.clone())
}

fn string_args(s: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '"' || c == '\'' {
            let mut arg = String::new();
            for d in chars.by_ref() {
                if d == c {
                    break;
                }
                arg.push(d);
            }
            args.push(arg);
        }
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hugo_liquid_and_mdn_tags_are_removed() {
        let md = "Intro {{< tab name=\"Linux\" >}}text{{< /tab >}} and {% include x.md %}.\n{{APIRef(\"UI Events\")}}\nSee {{domxref(\"Element/mousedown_event\", \"mousedown\")}} now.\n";
        let out = strip_template_tags(md);
        assert_eq!(out, "Intro text and .\n\nSee mousedown now.\n");
    }

    #[test]
    fn code_blocks_and_go_templates_are_kept() {
        let md = "Use `--format \"{{.ID}}\"`.\n\n```\n{{< not a shortcode >}}\n```\n";
        assert_eq!(strip_template_tags(md), md);
    }

    #[test]
    fn shortcode_spanning_lines_is_removed() {
        let md = "a {{< card\n  title=\"x\"\n  link=\"y\" >}} b\nnext\n";
        assert_eq!(strip_template_tags(md), "a  b\nnext\n");
    }

    #[test]
    fn offsets_map_back_to_the_original() {
        let md = "a {{< card\n  title=\"x\" >}} [l](x.md)\n{{domxref(\"A\", \"bee\")}} [m](y.md)\n";
        let stripped = strip_template_tags_mapped(md);
        for link in ["[l]", "[m]"] {
            let at = stripped.text.find(link).unwrap();
            assert_eq!(stripped.original_offset(at), md.find(link).unwrap());
        }
        assert_eq!(stripped.original_offset(0), 0);
        let plain = strip_template_tags_mapped("no tags [l](x.md)");
        assert_eq!(plain.original_offset(8), 8);
    }

    #[test]
    fn unclosed_tag_is_left_as_text() {
        assert_eq!(strip_template_tags("a {{ b\nc"), "a {{ b\nc");
    }
}
