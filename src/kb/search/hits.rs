//! The fourth stage: hits shown from the article cards, with the best section and a
//! snippet whose matched words are found by the stems the query matched.

use super::*;

/// The stems that matched, for snippets and the best section.
#[derive(Default)]
pub(super) struct MatchedTerms {
    pub(super) stems: rustc_hash::FxHashSet<String>,
    /// Each stem less its last letter: what a matching word must start with.
    pub(super) prefixes: Vec<String>,
    /// A SIMD finder per prefix, built once per query.
    pub(super) finders: Vec<memchr::memmem::Finder<'static>>,
    /// Words already stemmed in this query (lowercased) and whether they match: long
    /// articles repeat their words, and stemming was most of a hit's cost.
    pub(super) seen: std::cell::RefCell<rustc_hash::FxHashMap<Vec<u8>, bool>>,
    /// The stemming analyzer, cloned once per query rather than once per section.
    pub(super) en: std::cell::RefCell<Option<TextAnalyzer>>,
    /// The analyzer's own stemmer, for plain ASCII words.
    pub(super) stemmer: EnglishStemmer,
}

/// The English Snowball stemmer of the `en` analyzer.
pub(super) struct EnglishStemmer(pub(super) frostem::Stemmer);

impl Default for EnglishStemmer {
    fn default() -> Self {
        EnglishStemmer(frostem::Stemmer::new(frostem::Algorithm::English))
    }
}

/// Most words a thread remembers the stem of.
pub(super) const STEM_CACHE_MAX: usize = 100_000;

impl EnglishStemmer {
    #[cfg(test)]
    pub(super) fn stem<'a>(&self, word: &'a str) -> std::borrow::Cow<'a, str> {
        self.0.stem(word)
    }

    /// Calls `f` with the stem of `word` (lowercase ASCII). Articles share most of their
    /// words, so each thread remembers the stems it computed (stemming depends on
    /// nothing but the word); at most [`STEM_CACHE_MAX`] words, then it starts over.
    pub(super) fn with_stem<T>(&self, word: &str, f: impl FnOnce(&str) -> T) -> T {
        thread_local! {
            static STEMS: std::cell::RefCell<rustc_hash::FxHashMap<Box<str>, Box<str>>> =
                std::cell::RefCell::new(rustc_hash::FxHashMap::default());
        }
        STEMS.with_borrow_mut(|stems| {
            if let Some(stem) = stems.get(word) {
                return f(stem);
            }
            if stems.len() >= STEM_CACHE_MAX {
                stems.clear();
            }
            let stem: Box<str> = self.0.stem(word).into();
            let out = f(&stem);
            stems.insert(word.into(), stem);
            out
        })
    }
}

impl MatchedTerms {
    /// Adds a stem. A word matches a stem only if it starts with the stem less its last
    /// letter (Porter stems change at most the last letter of what they keep), so that
    /// prefix is the filter.
    pub(super) fn insert(&mut self, stem: String) {
        let keep = stem
            .char_indices()
            .nth(stem.chars().count().saturating_sub(1).max(1))
            .map(|(i, _)| i)
            .unwrap_or(stem.len());
        let head = stem[..keep].to_string();
        // A word that starts with `string` starts with `strin` too: scanning for the
        // shorter prefix finds every start the longer would, so keep only the shortest
        // of prefixes that extend one another (one scan of the text per prefix kept;
        // prefix matching and typos bring many: 12 for "string replace", 5 kept).
        if !self.prefixes.iter().any(|p| head.starts_with(p.as_str())) {
            let mut i = 0;
            while i < self.prefixes.len() {
                if self.prefixes[i].starts_with(head.as_str()) {
                    self.prefixes.swap_remove(i);
                    self.finders.swap_remove(i);
                } else {
                    i += 1;
                }
            }
            self.finders
                .push(memchr::memmem::Finder::new(head.as_bytes()).into_owned());
            self.prefixes.push(head);
        }
        self.stems.insert(stem);
    }
}

/// Reads a stored text field of a document (empty when absent).
pub fn doc_str(doc: &TantivyDocument, field: Field) -> String {
    doc.get_first(field)
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The cards of a snapshot's documents, each found by two fast fields (`card_offset`,
/// `card_len`) read once per segment: no doc-store block to decompress.
pub(super) struct Cards<'a> {
    idx: &'a OpenIndex,
    columns: Vec<Option<(Column<u64>, Column<u64>)>>,
}

impl<'a> Cards<'a> {
    pub(super) fn new(idx: &'a OpenIndex) -> Self {
        Cards {
            idx,
            columns: Vec::new(),
        }
    }

    /// The card of `addr`, if its document has a readable one.
    pub(super) fn get(&mut self, addr: DocAddress) -> Option<CardView<'a>> {
        let segment = addr.segment_ord as usize;
        if self.columns.len() <= segment {
            self.columns.resize_with(segment + 1, || None);
        }
        if self.columns[segment].is_none() {
            let fast = self
                .idx
                .searcher
                .segment_reader(addr.segment_ord)
                .fast_fields();
            self.columns[segment] =
                Some((fast.u64("card_offset").ok()?, fast.u64("card_len").ok()?));
        }
        let (offset, len) = self.columns[segment].as_ref()?;
        let (offset, len) = (offset.first(addr.doc_id)?, len.first(addr.doc_id)?);
        decode_card(self.idx.html.get(offset, len)?)
    }
}

/// What a hit shows of its best lexical match: the section (its index, heading and
/// anchor) and the snippet.
#[derive(Debug)]
pub struct LexicalSnippet {
    best: Option<(usize, Option<SectionRef>)>,
    snippet: String,
}

/// The [`LexicalSnippet`] of each document for a set of matched stems, remembered per
/// snapshot. Finding an article's best section scans all of its text (a third of the
/// service's time under load, measured with `perf`), and it depends on nothing but
/// the article and the stems: popular queries, and as-you-type queries that match the
/// same stems, show the same hits again and again. Keyed by the stems (sorted) and the
/// document.
pub type SnippetCache = SnapshotCache<(Arc<str>, DocAddress), Arc<LexicalSnippet>>;

/// Most [`LexicalSnippet`]s a snapshot remembers (a few hundred bytes each).
pub(super) const SNIPPET_CACHE_MAX: usize = 4_096;

impl MatchedTerms {
    /// The matched stems, sorted, as one key.
    pub(super) fn key(&self) -> Arc<str> {
        let mut stems: Vec<&str> = self.stems.iter().map(String::as_str).collect();
        stems.sort_unstable();
        stems.join("\u{1f}").into()
    }
}

/// The best lexical section and snippet of a card for the matched stems.
pub(super) fn lexical_snippet(
    card: &CardView<'_>,
    matched: &MatchedTerms,
    analyzers: &Analyzers,
) -> LexicalSnippet {
    let sections = card.section_views();
    let (best, snippet) = best_section_and_snippet(
        card.sections,
        &sections,
        Some(card.summary).filter(|s| !s.is_empty()),
        matched,
        analyzers,
    );
    LexicalSnippet {
        best: best.map(|i| (i, section_ref(&sections[i]))),
        snippet,
    }
}

/// The section a hit links to, if it has an anchor.
fn section_ref(s: &SectionView<'_>) -> Option<SectionRef> {
    (!s.anchor.is_empty()).then(|| SectionRef {
        heading: s.heading.to_string(),
        anchor: s.anchor.to_string(),
    })
}

/// A hit from its card. The section and snippet are the best lexical match's; an
/// article that matched by meaning alone shows `semantic_section`, the section nearest
/// to the query.
pub(super) fn hit_from_card(
    card: &CardView<'_>,
    score: Score,
    lexical: &LexicalSnippet,
    semantic_section: Option<usize>,
) -> Hit {
    let slug = card.slug.to_string();
    let summary = Some(card.summary.to_string()).filter(|s| !s.is_empty());
    let tags = card.tags().map(str::to_string).collect();
    let (section, snippet) = match (&lexical.best, semantic_section) {
        (Some((_, section)), _) => (section.clone(), lexical.snippet.clone()),
        (None, Some(i)) => match card.section_views().get(i) {
            Some(s) => (section_ref(s), snippet_html(s.text, &[])),
            None => (None, lexical.snippet.clone()),
        },
        (None, None) => (None, lexical.snippet.clone()),
    };
    let mut url = format!("/articles/{slug}");
    if let Some(s) = &section {
        url.push('#');
        url.push_str(&s.anchor);
    }
    Hit {
        title: card.title.to_string(),
        category: card.category.to_string(),
        slug,
        tags,
        summary,
        snippet,
        score,
        url,
        section,
    }
}

/// Byte ranges of matched words in `text`, in order.
///
/// Most words of a section match nothing, so instead of stemming every word this looks
/// for the places where a word starts like a matched stem (see [`MatchedTerms::insert`])
/// with a SIMD substring search over a lowercased copy, and only stems those words.
pub(super) fn match_ranges(
    text: &str,
    matched: &MatchedTerms,
    analyzers: &Analyzers,
) -> Vec<(usize, usize)> {
    if matched.stems.is_empty() {
        return Vec::new();
    }
    if text.is_empty() {
        return Vec::new();
    }
    let is_word_byte = |b: u8| b.is_ascii_alphanumeric() || b >= 0x80;
    // The lowercased copy goes in a buffer reused across hits and queries: articles run
    // to hundreds of KB, and a fresh allocation that size is an mmap and page faults.
    thread_local! {
        static LOWER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    LOWER.with_borrow_mut(|lower| {
        lower.clear();
        lower.extend_from_slice(text.as_bytes());
        lower.make_ascii_lowercase();
        // Do not keep a huge buffer alive for good after one outsized article.
        let ranges = match_ranges_in(text, lower, matched, analyzers, is_word_byte);
        if lower.capacity() > 4 << 20 {
            *lower = Vec::new();
        }
        ranges
    })
}

pub(super) fn match_ranges_in(
    text: &str,
    bytes: &[u8],
    matched: &MatchedTerms,
    analyzers: &Analyzers,
    is_word_byte: impl Fn(u8) -> bool,
) -> Vec<(usize, usize)> {
    let mut starts: Vec<usize> = Vec::new();
    for finder in &matched.finders {
        for pos in finder.find_iter(bytes) {
            if pos == 0 || !is_word_byte(bytes[pos - 1]) {
                starts.push(pos);
            }
        }
    }
    starts.sort_unstable();
    starts.dedup();
    let mut en_slot = matched.en.borrow_mut();
    let en = en_slot.get_or_insert_with(|| analyzers.en.clone());
    let mut seen = matched.seen.borrow_mut();
    let mut out = Vec::new();
    for from in starts {
        let mut to = from;
        while to < bytes.len() && is_word_byte(bytes[to]) {
            to += 1;
        }
        let lowered = &bytes[from..to];
        if let Some(&hit) = seen.get(lowered) {
            if hit {
                out.push((from, to));
            }
            continue;
        }
        // A plain ASCII word is exactly one token of the analyzer, its stem: stem it
        // directly (the analyzer's pipeline cost more than the stemming itself).
        if lowered.len() < crate::kb::index::MAX_TOKEN_LEN && lowered.iter().all(u8::is_ascii) {
            let word = std::str::from_utf8(lowered).unwrap_or_default();
            let hit = matched
                .stemmer
                .with_stem(word, |stem| matched.stems.contains(stem));
            if hit {
                out.push((from, to));
            }
            seen.insert(lowered.to_vec(), hit);
            continue;
        }
        let Some(word) = text.get(from..to) else {
            continue;
        };
        // A word is one token unless it holds non-ASCII separators; check them all.
        let mut hit = false;
        let mut single = true;
        let mut stream = en.token_stream(word);
        let mut count = 0;
        while let Some(t) = stream.next() {
            count += 1;
            if t.offset_from != 0 || t.offset_to != word.len() {
                single = false;
            }
            if matched.stems.contains(&t.text) {
                out.push((from + t.offset_from, from + t.offset_to));
                hit = true;
            }
        }
        if single && count == 1 {
            seen.insert(lowered.to_vec(), hit);
        }
    }
    out
}

pub(super) const SNIPPET_CHARS: usize = 180;

pub(super) fn best_section_and_snippet(
    encoded: &str,
    sections: &[SectionView<'_>],
    summary: Option<&str>,
    matched: &MatchedTerms,
    analyzers: &Analyzers,
) -> (Option<usize>, String) {
    // One scan over the whole encoded text (the framing bytes are not word bytes, so no
    // match spans two sections), then each match is assigned to its section: one pass
    // per hit instead of one per section and heading.
    let base = encoded.as_ptr() as usize;
    let offset = |part: &str| part.as_ptr() as usize - base;
    let all = match_ranges(encoded, matched, analyzers);
    // (section index, (distinct matches, all matches), match ranges within the text)
    type Best = (usize, (usize, usize), Vec<(usize, usize)>);
    let mut best: Option<Best> = None;
    let mut next = 0;
    for (i, s) in sections.iter().enumerate() {
        let (h_from, h_to) = (offset(s.heading), offset(s.heading) + s.heading.len());
        let (t_from, t_to) = (offset(s.text), offset(s.text) + s.text.len());
        while next < all.len() && all[next].0 < h_from {
            next += 1;
        }
        let mut heading_hits = 0;
        let mut ranges = Vec::new();
        while next < all.len() && all[next].1 <= t_to {
            let (a, b) = all[next];
            if a >= h_from && b <= h_to {
                heading_hits += 1;
            } else if a >= t_from {
                ranges.push((a - t_from, b - t_from));
            }
            next += 1;
        }
        if ranges.is_empty() && heading_hits == 0 {
            continue;
        }
        // Distinct matched words: a sorted list, cheaper than hashing for the handful a
        // section holds (this ran for every section of every hit).
        let mut distinct: Vec<&str> = ranges.iter().map(|(a, b)| &s.text[*a..*b]).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let key = (
            distinct.len() + heading_hits * 2,
            ranges.len() + heading_hits,
        );
        if key.0 == 0 {
            continue;
        }
        if best.as_ref().is_none_or(|(_, k, _)| key > *k) {
            best = Some((i, key, ranges));
        }
    }
    match best {
        Some((i, _, ranges)) => (Some(i), snippet_html(sections[i].text, &ranges)),
        None => {
            let text = sections
                .iter()
                .map(|s| s.text)
                .find(|t| !t.trim().is_empty())
                .or(summary)
                .unwrap_or("");
            (None, snippet_html(text, &[]))
        }
    }
}

/// A window of about [`SNIPPET_CHARS`] characters around the densest run of matches,
/// HTML-escaped, with matches wrapped in `<mark>`.
pub fn snippet_html(text: &str, ranges: &[(usize, usize)]) -> String {
    let window = SNIPPET_CHARS;
    let (mut start, mut best_count) = (0usize, 0usize);
    for (i, (a, _)) in ranges.iter().enumerate() {
        let count = ranges[i..]
            .iter()
            .take_while(|(b, _)| *b < a + window)
            .count();
        if count > best_count {
            best_count = count;
            start = *a;
        }
    }
    // Show a little context before the first match.
    let mut from = start.saturating_sub(window / 4);
    while from > 0 && !text.is_char_boundary(from) {
        from -= 1;
    }
    if from > 0 {
        // Start after the first whitespace, which may be wider than a byte (U+2009).
        if let Some((space, c)) = text[..start.min(text.len())]
            .get(from..)
            .and_then(|s| s.char_indices().find(|(_, c)| c.is_whitespace()))
        {
            from += space + c.len_utf8();
        }
    }
    let mut to = (from + window).min(text.len());
    while to < text.len() && !text.is_char_boundary(to) {
        to += 1;
    }
    if to < text.len() {
        if let Some(space) = text[from..to].rfind(char::is_whitespace) {
            if space > window / 2 {
                to = from + space;
            }
        }
    }
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut pos = from;
    for (a, b) in ranges
        .iter()
        .copied()
        .filter(|(a, b)| *a >= from && *b <= to)
    {
        if a < pos {
            continue;
        }
        escape_into(&mut out, &collapse_ws(&text[pos..a]));
        out.push_str("<mark>");
        escape_into(&mut out, &text[a..b]);
        out.push_str("</mark>");
        pos = b;
    }
    escape_into(&mut out, &collapse_ws(&text[pos..to]));
    if to < text.len() {
        out.push('…');
    }
    out
}

pub(super) fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut ws = false;
    for c in s.chars() {
        if c.is_whitespace() {
            if !ws {
                out.push(' ');
            }
            ws = true;
        } else {
            out.push(c);
            ws = false;
        }
    }
    out
}

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attributes.
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_direct_stemmer_agrees_with_the_analyzer_on_plain_ascii_words() {
        let analyzer = en_analyzer();
        let stemmer = EnglishStemmer::default();
        let words = "invoices invoice downloading running ran relational sensibility happy \
            happily cries dying lying skies news atlas generously organization organizations \
            fetch fetching javascript flexbox promise promises 2fa http2 x86 a i abc1 \
            connection connections connected ugly early only singly gently idly howe";
        for word in words.split(' ').filter(|w| !w.is_empty()) {
            assert_eq!(stemmer.stem(word), stem(&analyzer, word), "{word}");
        }
    }
}
