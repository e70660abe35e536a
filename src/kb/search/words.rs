//! The second stage: query words expanded against the snapshot's dictionary. Each word
//! is analyzed into its stem, then the vocabulary field gives its prefix completions
//! (the half-typed last word) and typo variants (a Levenshtein automaton, first letter
//! kept); [`WordCache`] remembers the expansions per snapshot. Adjacent words that the
//! dictionary knows as one word are joined ([`joined_words`], [`JoinCache`]).

use super::*;

/// One analyzed query word and what stands in for it, expanded against a snapshot's
/// dictionary (what [`WordCache`] holds).
#[derive(Debug, Clone)]
pub struct WordTerms {
    /// The word as typed, lowercased and folded (what synonyms match).
    pub(super) raw: String,
    /// Exact stem first, then prefix completions' stems with their weight.
    pub(super) exact: Vec<(String, f32)>,
    /// Stems of dictionary words within the typo distance.
    pub(super) typos: Vec<String>,
    /// The word as typed is in none of the reader's dictionaries in any form (no
    /// dictionary word shares its stem) and completes to no word: its typo variants
    /// are what the person meant, so they weigh as much as an exact word would
    /// ([`SearchSettings::unknown_word_typo_weight`]).
    pub(super) unknown: bool,
    pub(super) stop: bool,
    /// What the semantic side embeds for this word: the word itself when the index's
    /// vocabulary has it, else the vocabulary's word of the same stem ("port" for
    /// "ports", not the typo variant "parts"), else its first prefix completion or typo
    /// variant (a stem: "netwrking" means "network", which the model knows), else
    /// nothing. A query with no significant word left (gibberish) gets no semantic
    /// matches.
    pub(super) for_meaning: Option<String>,
}

/// Query words already expanded (stem, prefix completions, typo variants) against one
/// snapshot's dictionary, under one set of search settings. Expanding a word walks the
/// dictionary with a Levenshtein automaton, a fifth of a search; help-center traffic
/// repeats its words (and as-you-type search repeats them keystroke after keystroke).
/// Keyed by the reader's dictionaries ([`dictionaries`]), the word and whether it is
/// completed as a prefix.
pub type WordCache = SnapshotCache<(String, String, bool), WordTerms>;

/// Most words a snapshot's cache holds before it starts over.
pub(super) const WORD_CACHE_MAX: usize = 20_000;

/// Derived data remembered in a snapshot under one set of search settings: it lives
/// in the snapshot, so an index update starts a new one, and it is dropped when the
/// settings change; bounded, emptied when full.
pub struct SnapshotCache<K, V> {
    inner: std::sync::Mutex<Option<SnapshotCacheInner<K, V>>>,
}

struct SnapshotCacheInner<K, V> {
    /// The settings the entries were made with (held, so the pointer stays unique).
    settings: Arc<SearchSettings>,
    entries: HashMap<K, V>,
}

impl<K, V> Default for SnapshotCache<K, V> {
    fn default() -> Self {
        SnapshotCache {
            inner: std::sync::Mutex::new(None),
        }
    }
}

impl<K: std::hash::Hash + Eq, V: Clone> SnapshotCache<K, V> {
    fn get<Q>(&self, settings: &Arc<SearchSettings>, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match inner.as_ref() {
            Some(c) if Arc::ptr_eq(&c.settings, settings) => c.entries.get(key).cloned(),
            _ => None,
        }
    }

    /// The value of `key`, made by `make` and remembered when the cache lacks it (see
    /// [`Self::put`] for `max`).
    pub(super) fn get_or_insert_with(
        &self,
        settings: &Arc<SearchSettings>,
        key: K,
        max: usize,
        make: impl FnOnce(&K) -> V,
    ) -> V {
        if let Some(value) = self.get(settings, &key) {
            return value;
        }
        let value = make(&key);
        self.put(settings, key, value.clone(), max);
        value
    }

    /// Remembers `value`, starting over when the settings changed or `max` entries are
    /// held.
    fn put(&self, settings: &Arc<SearchSettings>, key: K, value: V, max: usize) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = match inner.as_ref() {
            Some(c) => !Arc::ptr_eq(&c.settings, settings) || c.entries.len() >= max,
            None => true,
        };
        if fresh {
            *inner = Some(SnapshotCacheInner {
                settings: settings.clone(),
                entries: HashMap::new(),
            });
        }
        if let Some(c) = inner.as_mut() {
            c.entries.insert(key, value);
        }
    }
}

/// Analyzers, built once per engine.
pub struct Analyzers {
    pub(super) en: TextAnalyzer,
    pub(super) raw: TextAnalyzer,
}

impl Default for Analyzers {
    fn default() -> Self {
        Analyzers {
            en: en_analyzer(),
            raw: raw_analyzer(),
        }
    }
}

impl Clone for Analyzers {
    fn clone(&self) -> Self {
        Analyzers::default()
    }
}

pub(super) fn tokens(analyzer: &TextAnalyzer, text: &str) -> Vec<String> {
    let mut a = analyzer.clone();
    let mut stream = a.token_stream(text);
    let mut out = Vec::new();
    while let Some(t) = stream.next() {
        out.push(t.text.clone());
    }
    out
}

pub(super) fn stem(analyzer: &TextAnalyzer, raw_word: &str) -> String {
    tokens(analyzer, raw_word)
        .into_iter()
        .next()
        .unwrap_or_else(|| raw_word.to_string())
}

pub(super) fn typo_distance(settings: &TypoSettings, word: &str) -> u8 {
    let len = word.chars().count();
    if !settings.enabled
        || word.chars().any(|c| c.is_ascii_digit())
        || settings.protected.contains(word)
    {
        0
    } else if len >= settings.two_typos_from {
        2
    } else if len >= settings.one_typo_from {
        1
    } else {
        0
    }
}

/// Turns the parsed words into stems, typo variants and prefix completions, reading the
/// reader's dictionaries (`dicts`, named by `dict_key`: [`dictionaries`]) of every
/// segment.
pub(super) fn analyze_words(
    idx: &OpenIndex,
    settings: &Arc<SearchSettings>,
    analyzers: &Analyzers,
    parsed: &ParsedQuery,
    (dicts, dict_key): (&[Dictionary], &str),
) -> Vec<WordTerms> {
    let searcher = &idx.searcher;
    let mut raws: Vec<(String, bool)> = Vec::new();
    let n = parsed.words.len();
    for (i, w) in parsed.words.iter().enumerate() {
        let toks = tokens(&analyzers.raw, w);
        let last_word = i + 1 == n && parsed.last_is_prefix;
        let count = toks.len();
        for (j, t) in toks.into_iter().enumerate() {
            let prefix = last_word && j + 1 == count && settings.prefix_last_word;
            if let Some(existing) = raws.iter_mut().find(|(r, _)| *r == t) {
                existing.1 |= prefix;
            } else {
                raws.push((t, prefix));
            }
        }
    }
    raws.truncate(crate::kb::query::MAX_WORDS);
    raws.into_iter()
        .map(|(raw, prefix)| {
            let key = (dict_key.to_string(), raw, prefix);
            idx.words
                .get_or_insert_with(settings, key, WORD_CACHE_MAX, |(_, raw, prefix)| {
                    expand_word(searcher, dicts, settings, analyzers, raw.clone(), *prefix)
                })
        })
        .collect()
}

/// One query word with its stem, its prefix completions (when it is the half-typed
/// last word) and its typo variants, from the reader's dictionaries.
pub(super) fn expand_word(
    searcher: &Searcher,
    dicts: &[Dictionary],
    settings: &SearchSettings,
    analyzers: &Analyzers,
    raw: String,
    prefix: bool,
) -> WordTerms {
    let exact_stem = stem(&analyzers.en, &raw);
    let mut exact = vec![(exact_stem.clone(), 1.0)];
    let stop = STOP_WORDS.contains(&raw.as_str());
    // A dictionary word of the same stem ("user" for "users"): the word is known in
    // another form.
    let mut same_stem: Option<String> = None;
    let mut completes = false;
    if prefix && !stop {
        // One letter is too little to complete; two letters complete to a few words.
        let max = match raw.chars().count() {
            1 => 0,
            2 => settings.max_prefix_expansions.min(3),
            _ => settings.max_prefix_expansions,
        };
        for completion in prefix_completions(searcher, dicts, &raw, max) {
            completes = true;
            let s = stem(&analyzers.en, &completion);
            if s == exact_stem && same_stem.is_none() {
                same_stem = Some(completion.clone());
            }
            if !exact.iter().any(|(e, _)| *e == s) {
                exact.push((s, settings.prefix_weight));
            }
        }
    }
    let mut typos = Vec::new();
    let distance = if stop {
        0
    } else {
        typo_distance(&settings.typo, &raw)
    };
    if distance > 0 {
        for variant in typo_variants(searcher, dicts, &raw, distance, settings) {
            let s = stem(&analyzers.en, &variant);
            if s == exact_stem && same_stem.is_none() {
                same_stem = Some(variant.clone());
            }
            if !exact.iter().any(|(e, _)| *e == s) && !typos.contains(&s) {
                typos.push(s);
            }
        }
    }
    let known = in_vocabulary(searcher, dicts, &raw);
    if !known
        && same_stem.is_none()
        && exact_stem != raw
        && in_vocabulary(searcher, dicts, &exact_stem)
    {
        same_stem = Some(exact_stem.clone());
    }
    // Unknown: in no dictionary in any form, and no completion (a half-typed word's
    // completions are what it means).
    let unknown = !known && same_stem.is_none() && !completes;
    let for_meaning = if known {
        Some(raw.clone())
    } else if same_stem.is_some() {
        same_stem
    } else {
        exact.get(1).map(|(s, _)| s).or(typos.first()).cloned()
    };
    WordTerms {
        raw,
        exact,
        typos,
        unknown,
        stop,
        for_meaning,
    }
}

/// Whether one of the dictionaries has `word` itself (in a live document).
pub(super) fn in_vocabulary(searcher: &Searcher, dicts: &[Dictionary], word: &str) -> bool {
    dicts.iter().any(|dict| {
        let key = format!("{}{word}", dict.prefix);
        searcher.segment_readers().iter().any(|segment| {
            segment.inverted_index(dict.field).ok().is_some_and(|ii| {
                ii.terms()
                    .get(key.as_bytes())
                    .ok()
                    .flatten()
                    .is_some_and(|info| is_live_term(segment, &ii, &info))
            })
        })
    })
}

/// Whether a dictionary term of `segment` belongs to a live document. A segment keeps
/// the terms of the documents an update deleted until it is merged: the words of an
/// article's old version (say, public before an edit restricted it) must not complete
/// or correct anyone's query. Free for a segment without deletions.
pub(super) fn is_live_term(
    segment: &tantivy::SegmentReader,
    inverted: &tantivy::InvertedIndexReader,
    info: &tantivy::postings::TermInfo,
) -> bool {
    if !segment.has_deletes() {
        return true;
    }
    let Ok(mut postings) = inverted.read_postings_from_terminfo(info, IndexRecordOption::Basic)
    else {
        return false;
    };
    use tantivy::DocSet;
    let mut doc = postings.doc();
    while doc != tantivy::TERMINATED {
        if !segment.is_deleted(doc) {
            return true;
        }
        doc = postings.advance();
    }
    false
}

/// Dictionary words starting with `prefix` (the word itself excluded), most frequent first.
pub(super) fn prefix_completions(
    searcher: &Searcher,
    dicts: &[Dictionary],
    prefix: &str,
    max: usize,
) -> Vec<String> {
    if max == 0 {
        return Vec::new();
    }
    let mut freq: HashMap<String, u64> = HashMap::new();
    for dict in dicts {
        completions_in(searcher, dict, prefix, max, &mut freq);
    }
    top_by_freq(freq, max)
}

/// [`prefix_completions`] in one dictionary, added to `freq`.
fn completions_in(
    searcher: &Searcher,
    dict: &Dictionary,
    word_prefix: &str,
    max: usize,
    freq: &mut HashMap<String, u64>,
) {
    // Scanning is bounded: a one-letter prefix must not walk the whole dictionary.
    const SCAN_LIMIT: usize = 4096;
    let vocab = dict.field;
    let prefix = format!("{}{word_prefix}", dict.prefix);
    let prefix = prefix.as_str();
    let mut upper = prefix.as_bytes().to_vec();
    // The smallest byte string greater than every string with this prefix.
    while let Some(last) = upper.pop() {
        if last < 0xff {
            upper.push(last + 1);
            break;
        }
    }
    for segment in searcher.segment_readers() {
        let Ok(inverted) = segment.inverted_index(vocab) else {
            continue;
        };
        let terms = inverted.terms();
        let mut builder = terms.range().gt(prefix.as_bytes());
        if !upper.is_empty() {
            builder = builder.lt(&upper);
        }
        let Ok(mut stream) = builder.into_stream() else {
            continue;
        };
        // Keep this segment's `max` most frequent without allocating for the rest.
        let mut best: Vec<(u32, Vec<u8>)> = Vec::with_capacity(max + 1);
        let mut scanned = 0;
        while stream.advance() && scanned < SCAN_LIMIT {
            scanned += 1;
            let df = stream.value().doc_freq;
            if best.len() == max && best.last().is_some_and(|(f, _)| *f >= df) {
                continue;
            }
            if !is_live_term(segment, &inverted, stream.value()) {
                continue;
            }
            let at = best.partition_point(|(f, _)| *f >= df);
            best.insert(at, (df, stream.key().to_vec()));
            best.truncate(max);
        }
        for (df, key) in best {
            if let Ok(s) = std::str::from_utf8(&key[dict.prefix.len()..]) {
                *freq.entry(s.to_string()).or_default() += df as u64;
            }
        }
    }
}

/// Dictionary words within `distance` edits of `word` (the word itself excluded), most
/// frequent first. With [`TypoSettings::keep_first_letter`] the first letter is kept.
pub(super) fn typo_variants(
    searcher: &Searcher,
    dicts: &[Dictionary],
    word: &str,
    distance: u8,
    settings: &SearchSettings,
) -> Vec<String> {
    let max = settings.max_typo_expansions;
    let keep_first = settings.typo.keep_first_letter;
    let Some(&first) = word.as_bytes().first() else {
        return Vec::new();
    };
    let mut freq: HashMap<String, u64> = HashMap::new();
    for dict in dicts {
        let fuzzy = FuzzyTermQuery::new(Term::from_field_text(dict.field, word), distance, true);
        for segment in searcher.segment_readers() {
            let Ok(automaton) = fuzzy.automaton() else {
                return Vec::new();
            };
            // `first: None` lets a typo change the first letter too.
            let automaton = AfterLiteral {
                literal: dict.prefix.as_bytes(),
                inner: FirstByteFixed {
                    first: keep_first.then_some(first),
                    inner: automaton,
                },
            };
            let Ok(inverted) = segment.inverted_index(dict.field) else {
                continue;
            };
            let Ok(mut stream) = inverted.terms().search(automaton).into_stream() else {
                continue;
            };
            while stream.advance() {
                let key = &stream.key()[dict.prefix.len().min(stream.key().len())..];
                if key == word.as_bytes() || !is_live_term(segment, &inverted, stream.value()) {
                    continue;
                }
                if let Ok(s) = std::str::from_utf8(key) {
                    // Numbers never stand in for a word.
                    if s.chars().any(|c| c.is_ascii_digit()) {
                        continue;
                    }
                    *freq.entry(s.to_string()).or_default() += stream.value().doc_freq as u64;
                }
            }
        }
    }
    top_by_freq(freq, max)
}

/// An automaton that accepts `literal` then whatever `inner` accepts: `inner` run over
/// the words of one audience's part of the restricted dictionary.
pub(super) struct AfterLiteral<'a, A> {
    pub(super) literal: &'a [u8],
    pub(super) inner: A,
}

impl<A: Automaton> Automaton for AfterLiteral<'_, A>
where
    A::State: Clone,
{
    /// `Err(n)`: n bytes of the literal read; `Ok(s)`: past it, in `inner`'s state s.
    type State = Option<Result<A::State, usize>>;

    fn start(&self) -> Self::State {
        if self.literal.is_empty() {
            Some(Ok(self.inner.start()))
        } else {
            Some(Err(0))
        }
    }

    fn is_match(&self, state: &Self::State) -> bool {
        matches!(state, Some(Ok(s)) if self.inner.is_match(s))
    }

    fn can_match(&self, state: &Self::State) -> bool {
        match state {
            Some(Ok(s)) => self.inner.can_match(s),
            Some(Err(_)) => true,
            None => false,
        }
    }

    fn accept(&self, state: &Self::State, byte: u8) -> Self::State {
        match state {
            Some(Ok(s)) => Some(Ok(self.inner.accept(s, byte))),
            Some(Err(n)) if self.literal.get(*n) == Some(&byte) => {
                if n + 1 == self.literal.len() {
                    Some(Ok(self.inner.start()))
                } else {
                    Some(Err(n + 1))
                }
            }
            _ => None,
        }
    }
}

/// An automaton that only accepts strings starting with `first`, then runs `inner`.
pub(super) struct FirstByteFixed<A> {
    pub(super) first: Option<u8>,
    pub(super) inner: A,
}

#[derive(Clone)]
pub(super) enum FixedState<S> {
    Start,
    In(S),
    Dead,
}

impl<A: Automaton> Automaton for FirstByteFixed<A>
where
    A::State: Clone,
{
    type State = FixedState<A::State>;

    fn start(&self) -> Self::State {
        FixedState::Start
    }

    fn is_match(&self, state: &Self::State) -> bool {
        match state {
            FixedState::In(s) => self.inner.is_match(s),
            _ => false,
        }
    }

    fn can_match(&self, state: &Self::State) -> bool {
        match state {
            FixedState::Start => true,
            FixedState::In(s) => self.inner.can_match(s),
            FixedState::Dead => false,
        }
    }

    fn accept(&self, state: &Self::State, byte: u8) -> Self::State {
        match state {
            FixedState::Start if self.first.is_none_or(|f| f == byte) => {
                FixedState::In(self.inner.accept(&self.inner.start(), byte))
            }
            FixedState::In(s) => FixedState::In(self.inner.accept(s, byte)),
            _ => FixedState::Dead,
        }
    }
}

pub(super) fn top_by_freq(freq: HashMap<String, u64>, max: usize) -> Vec<String> {
    let mut v: Vec<(String, u64)> = freq.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(max);
    v.into_iter().map(|(s, _)| s).collect()
}

/// Whether two adjacent words are one word of a reader's dictionaries, remembered per
/// snapshot: a dictionary look-up per segment for each pair of words, at every
/// keystroke (MDN in process, `cargo bench --bench search`: p50 0.242 ms without this
/// cache, 0.225 with it, 0.206 with joining off). Keyed by the reader's dictionaries
/// ([`dictionaries`]) and the joined word.
pub type JoinCache = SnapshotCache<(String, String), bool>;

/// Most joined words a snapshot's cache holds before it starts over.
const JOIN_CACHE_MAX: usize = 20_000;

/// Two adjacent significant words that the reader's dictionaries know as one word
/// ("set timeout" for `setTimeout`, "local storage" for `localStorage`, "inner html"
/// for `innerHTML`): customers type an API's or a setting's name as words. The joined
/// word becomes an alternative for the pair, as a writers' synonym would (ranked in the
/// same tier as both words matched exactly). A pair touching a span of `taken`
/// (writers' synonyms) is left to it; a word joins at most one pair. "Adjacent" is in
/// the list of analyzed words: a repeated word appears once there, and quoted phrases
/// and exclusions are not in it, so the words around them count as adjacent.
pub(super) fn joined_words(
    idx: &OpenIndex,
    settings: &Arc<SearchSettings>,
    analyzers: &Analyzers,
    words: &[WordTerms],
    taken: &[SynonymSpan],
    (dicts, dict_key): (&[Dictionary], &str),
) -> Vec<(SynonymSpan, Vec<Vec<String>>)> {
    let mut out: Vec<(SynonymSpan, Vec<Vec<String>>)> = Vec::new();
    let mut i = 0;
    while i + 1 < words.len() {
        let (a, b) = (&words[i], &words[i + 1]);
        let free = !taken
            .iter()
            .any(|span| span.contains(&i) || span.contains(&(i + 1)));
        // Words of three letters or more: "user's" is "user" and "s", not "users", and
        // "set up" is a verb, not "setup".
        let long = |w: &WordTerms| w.raw.chars().count() >= 3;
        if free && !a.stop && !b.stop && long(a) && long(b) {
            let joined = format!("{}{}", a.raw, b.raw);
            let key = (dict_key.to_string(), joined.clone());
            let known =
                idx.joins
                    .get_or_insert_with(settings, key, JOIN_CACHE_MAX, |(_, joined)| {
                        in_vocabulary(&idx.searcher, dicts, joined)
                    });
            if known {
                out.push((i..i + 2, vec![vec![stem(&analyzers.en, &joined)]]));
                i += 2;
                continue;
            }
        }
        i += 1;
    }
    out
}
