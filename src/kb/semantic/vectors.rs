//! The second semantic stage: one vector per section of every published article, kept
//! with the index generation (`vectors.bin` beside the tantivy files), and the nearest
//! sections to a query's vector.
//!
//! A section is embedded as its article's title, its heading and its text, so that a
//! question lands on the section that answers it. Each row is keyed by the blake3 hash
//! of that text: a rebuild or a live edit embeds only texts it has no row for, and a
//! restart reads the rows back. Rows are stored as int8 (a scale per row); the nearest
//! rows are found by an exact scan of the int8 rows for small tables and, for large
//! ones, by a scan of 1-bit signatures (Hamming distance, `popcnt`) whose best
//! [`RESCORED`] rows are then scored exactly. Replicas built from the same files hold
//! the same rows (the same vectors; the order of rows, which only breaks exact ties,
//! follows each replica's edit history).

use std::collections::{HashMap, HashSet};
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::sync::Arc;

use super::embedder::Embedder;
use crate::kb::article::Article;

/// The file of a generation that holds its section vectors.
pub const VECTORS_FILE: &str = "vectors.bin";

/// Version 2: a blake3 checksum of everything before it ends the file.
const MAGIC: &[u8; 8] = b"HCSV0002";

/// Tables up to this many rows are scanned exactly (int8 dot products); larger ones go
/// through the 1-bit signatures first.
pub const EXACT_SCAN_MAX: usize = 20_000;

/// Rows whose signatures are nearest that are scored exactly in a large table.
pub const RESCORED: usize = 1_000;

/// The section vectors of one index snapshot. Immutable: an update makes a new table.
#[derive(Debug, Default)]
pub struct SectionVectors {
    model: String,
    dim: usize,
    slugs: Vec<Arc<str>>,
    sections: Vec<u32>,
    hashes: Vec<[u8; 16]>,
    scales: Vec<f32>,
    values: Vec<i8>,
    signatures: Vec<u64>,
    /// Each article's rows (contiguous: `append` adds an article's rows together).
    spans: HashMap<Arc<str>, (usize, usize)>,
}

/// A row `append` adds: (slug, section, text hash, `Ok(row of the previous table)` or
/// `Err(position among the texts to embed)`).
type PlannedRow = (Arc<str>, u32, [u8; 16], Result<usize, usize>);

/// One section among the nearest to a query.
#[derive(Debug, Clone, PartialEq)]
pub struct NearSection<'a> {
    /// The article's slug.
    pub slug: &'a str,
    /// The section's position in the article (0: the introduction), as in its card;
    /// `None` for the article's own row ([`WHOLE_ARTICLE`]).
    pub section: Option<usize>,
    /// Cosine similarity with the query, in [-1, 1].
    pub similarity: f32,
}

/// The section number of an article's own row: what the article is about as a whole
/// (its title, summary, tags and headings), which a question about the topic lands on
/// rather than on one section.
pub const WHOLE_ARTICLE: u32 = u32::MAX;

/// What an article as a whole is embedded as: its title, summary, tags and headings.
pub fn article_text(article: &Article) -> String {
    let mut text = article.title.clone();
    if let Some(summary) = &article.summary {
        text.push('\n');
        text.push_str(summary);
    }
    for t in &article.tags {
        text.push('\n');
        text.push_str(t.as_str());
    }
    for s in &article.sections {
        if let Some(h) = &s.heading {
            text.push('\n');
            text.push_str(h);
        }
    }
    text
}

/// What a section is embedded as: the article's title, its heading path and its text.
/// (The heading path against the section's own heading alone measured the same on the
/// tuning halves, docker-docs MRR 0.688 against 0.687; it is what a reader sees.)
pub fn section_text(article: &Article, section: &crate::kb::article::Section) -> String {
    let mut text = String::with_capacity(article.title.len() + section.text.len() + 64);
    text.push_str(&article.title);
    for h in heading_path(article, section) {
        text.push('\n');
        text.push_str(h);
    }
    text.push('\n');
    text.push_str(&section.text);
    text
}

/// The headings above a section and its own, outermost first ("Install" then
/// "Ubuntu" then "Uninstall"): a section's own heading is often one word that means
/// something only under its parents.
fn heading_path<'a>(
    article: &'a Article,
    section: &'a crate::kb::article::Section,
) -> Vec<&'a str> {
    let Some(anchor) = &section.anchor else {
        return Vec::new();
    };
    let headings = &article.headings;
    let Some(at) = headings.iter().position(|h| &h.anchor == anchor) else {
        return section.heading.as_deref().into_iter().collect();
    };
    let mut level = headings[at].level;
    let mut path = vec![headings[at].text.as_str()];
    for h in headings[..at].iter().rev() {
        if h.level < level {
            path.push(&h.text);
            level = h.level;
        }
    }
    path.reverse();
    path
}

fn text_hash(text: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&blake3::hash(text.as_bytes()).as_bytes()[..16]);
    out
}

impl SectionVectors {
    /// An empty table for `embedder`'s vectors.
    pub fn empty(embedder: &Embedder) -> Self {
        SectionVectors {
            model: embedder.id().to_string(),
            dim: embedder.dim(),
            ..SectionVectors::default()
        }
    }

    /// Rows (sections) in the table.
    pub fn len(&self) -> usize {
        self.slugs.len()
    }

    /// True when no section has a vector.
    pub fn is_empty(&self) -> bool {
        self.slugs.is_empty()
    }

    /// The model whose vectors these are.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The table for `articles` (drafts skipped), taking the rows of `previous` whose
    /// text is unchanged (same model only) and embedding the rest.
    pub fn build(
        embedder: &Embedder,
        articles: &[&Article],
        previous: Option<&SectionVectors>,
    ) -> Self {
        let mut table = SectionVectors::empty(embedder);
        let known = previous.map(|p| p.rows_by_hash(0..p.len()));
        table.append(embedder, articles, previous, known.unwrap_or_default());
        table.index_spans();
        table
    }

    /// The row of each text hash among `rows`.
    fn rows_by_hash(&self, rows: impl Iterator<Item = usize>) -> HashMap<[u8; 16], usize> {
        rows.map(|row| (self.hashes[row], row)).collect()
    }

    /// Indexes each article's rows and gives back the tables' spare capacity (a table
    /// grown row by row holds up to twice its size otherwise).
    fn index_spans(&mut self) {
        self.slugs.shrink_to_fit();
        self.sections.shrink_to_fit();
        self.hashes.shrink_to_fit();
        self.scales.shrink_to_fit();
        self.values.shrink_to_fit();
        self.signatures.shrink_to_fit();
        self.spans.clear();
        let mut start = 0;
        for row in 1..=self.len() {
            if row == self.len() || self.slugs[row] != self.slugs[start] {
                self.spans.insert(self.slugs[start].clone(), (start, row));
                start = row;
            }
        }
    }

    /// For each of `slugs`, the similarity of its article's nearest row to `query` and
    /// which section that is (`None`: the article as a whole); `None` for an article
    /// without rows.
    pub fn similarity_of(
        &self,
        slugs: &[&str],
        query: &[f32],
    ) -> Vec<Option<(f32, Option<usize>)>> {
        let (q_scale, q) = quantize(query);
        let mut rows = Vec::new();
        let spans: Vec<Option<(usize, usize)>> =
            slugs.iter().map(|s| self.spans.get(*s).copied()).collect();
        for &(start, end) in spans.iter().flatten() {
            rows.extend(start..end);
        }
        let mut dots = vec![0i32; rows.len()];
        dot_rows(&q, &self.values, self.dim, &rows, &mut dots);
        let mut at = 0;
        spans
            .into_iter()
            .map(|span| {
                let (start, end) = span?;
                let best = (start..end)
                    .zip(&dots[at..at + (end - start)])
                    .map(|(row, &dot)| {
                        (
                            dot as f32 * q_scale * self.scales[row],
                            self.section_of(row),
                        )
                    })
                    .max_by(|a, b| a.0.total_cmp(&b.0));
                at += end - start;
                best
            })
            .collect()
    }

    fn section_of(&self, row: usize) -> Option<usize> {
        Some(self.sections[row])
            .filter(|s| *s != WHOLE_ARTICLE)
            .map(|s| s as usize)
    }

    /// This table without the sections of `remove` and of the articles in `add`, with
    /// `add`'s sections appended (only their changed texts are embedded).
    pub fn updated(&self, embedder: &Embedder, remove: &[String], add: &[&Article]) -> Self {
        let mut gone: HashSet<&str> = remove.iter().map(String::as_str).collect();
        gone.extend(add.iter().map(|a| a.slug.as_str()));
        let mut table = SectionVectors::empty(embedder);
        table.values.reserve_exact(self.values.len());
        table.signatures.reserve_exact(self.signatures.len());
        // The kept articles' rows in runs (an article's rows are contiguous): copied
        // in bulk, not row by row (on MDN, 150,000 rows at every live edit).
        let mut kept: Vec<(usize, usize)> = self
            .spans
            .iter()
            .filter(|(slug, _)| !gone.contains(&***slug))
            .map(|(_, span)| *span)
            .collect();
        kept.sort_unstable();
        let covered: usize = self.spans.values().map(|(start, end)| end - start).sum();
        if covered == self.len() {
            for (start, end) in kept {
                table.copy_rows_from(self, start, end);
            }
        } else {
            // Spans that do not cover the table (an article's rows apart): row by row.
            for row in 0..self.len() {
                if !gone.contains(&*self.slugs[row]) {
                    table.push_row_from(self, row, self.slugs[row].clone(), self.sections[row]);
                }
            }
        }
        // Only the re-added articles' old rows can hold their unchanged texts.
        let known = self.rows_by_hash(
            add.iter()
                .filter_map(|a| self.spans.get(a.slug.as_str()))
                .flat_map(|&(start, end)| start..end),
        );
        table.append(embedder, add, Some(self), known);
        table.index_spans();
        table
    }

    /// Appends rows `start..end` of `from` as they are.
    fn copy_rows_from(&mut self, from: &SectionVectors, start: usize, end: usize) {
        let (d, w) = (self.dim, self.dim.div_ceil(64));
        self.slugs.extend_from_slice(&from.slugs[start..end]);
        self.sections.extend_from_slice(&from.sections[start..end]);
        self.hashes.extend_from_slice(&from.hashes[start..end]);
        self.scales.extend_from_slice(&from.scales[start..end]);
        self.values
            .extend_from_slice(&from.values[start * d..end * d]);
        self.signatures
            .extend_from_slice(&from.signatures[start * w..end * w]);
    }

    /// Appends the rows of `articles` (drafts skipped), each article's rows together
    /// and in order (the spans of [`Self::similarity_of`] rely on it): the texts
    /// without a row in `previous` (`known`: its rows by text hash) are embedded
    /// first, in one batch.
    fn append(
        &mut self,
        embedder: &Embedder,
        articles: &[&Article],
        previous: Option<&SectionVectors>,
        known: HashMap<[u8; 16], usize>,
    ) {
        let previous = previous.filter(|p| p.model == self.model && p.dim == self.dim);
        let mut plan: Vec<PlannedRow> = Vec::new();
        let mut pending: Vec<String> = Vec::new();
        for a in articles.iter().filter(|a| !a.draft) {
            let slug: Arc<str> = Arc::from(a.slug.as_str());
            let texts = std::iter::once((WHOLE_ARTICLE, article_text(a))).chain(
                a.sections
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (i as u32, section_text(a, s))),
            );
            for (i, text) in texts {
                let hash = text_hash(&text);
                let source = match (previous, known.get(&hash)) {
                    (Some(_), Some(&row)) => Ok(row),
                    _ => {
                        pending.push(text);
                        Err(pending.len() - 1)
                    }
                };
                plan.push((slug.clone(), i, hash, source));
            }
        }
        let flat = if pending.is_empty() {
            Vec::new()
        } else {
            embedder.embed_sections(&pending)
        };
        let d = self.dim;
        for (slug, section, hash, source) in plan {
            match (source, previous) {
                (Ok(row), Some(p)) => self.push_row_from(p, row, slug, section),
                (Err(at), _) => self.push_row(slug, section, hash, &flat[at * d..(at + 1) * d]),
                (Ok(_), None) => unreachable!("a reused row has a previous table"),
            }
        }
    }

    fn push_row_from(&mut self, from: &SectionVectors, row: usize, slug: Arc<str>, section: u32) {
        let d = self.dim;
        self.slugs.push(slug);
        self.sections.push(section);
        self.hashes.push(from.hashes[row]);
        self.scales.push(from.scales[row]);
        self.values
            .extend_from_slice(&from.values[row * d..(row + 1) * d]);
        let w = d.div_ceil(64);
        self.signatures
            .extend_from_slice(&from.signatures[row * w..(row + 1) * w]);
    }

    fn push_row(&mut self, slug: Arc<str>, section: u32, hash: [u8; 16], v: &[f32]) {
        let (scale, q) = quantize(v);
        self.push_quantized(slug, section, hash, scale, q);
    }

    /// Appends a row already in int8 with its scale (and derives its signature).
    fn push_quantized(
        &mut self,
        slug: Arc<str>,
        section: u32,
        hash: [u8; 16],
        scale: f32,
        q: Vec<i8>,
    ) {
        self.slugs.push(slug);
        self.sections.push(section);
        self.hashes.push(hash);
        self.scales.push(scale);
        self.signatures.extend(signature(&q));
        self.values.extend(q);
    }

    /// The `k` sections nearest to `query` (a unit vector from the same model), most
    /// similar first.
    pub fn nearest(&self, query: &[f32], k: usize) -> Vec<NearSection<'_>> {
        if self.is_empty() || query.len() != self.dim || k == 0 {
            return Vec::new();
        }
        let (q_scale, q) = quantize(query);
        if q_scale == 0.0 {
            return Vec::new();
        }
        let rows: Vec<usize> = if self.len() <= EXACT_SCAN_MAX {
            (0..self.len()).collect()
        } else {
            self.by_signature(&signature(&q), RESCORED)
        };
        let mut dots = vec![0i32; rows.len()];
        dot_rows(&q, &self.values, self.dim, &rows, &mut dots);
        let mut scored: Vec<(f32, usize)> = rows
            .iter()
            .zip(&dots)
            .map(|(&row, &dot)| (dot as f32 * q_scale * self.scales[row], row))
            .collect();
        let k = k.min(scored.len());
        if k < scored.len() {
            scored.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            scored.truncate(k);
        }
        scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored
            .into_iter()
            .map(|(similarity, row)| NearSection {
                slug: &self.slugs[row],
                section: self.section_of(row),
                similarity,
            })
            .collect()
    }

    /// At least `want` rows whose signatures are nearest to `sig` (all rows at the
    /// cut-off distance are kept, so the result does not depend on scan order).
    fn by_signature(&self, sig: &[u64], want: usize) -> Vec<usize> {
        let w = sig.len();
        let mut distances = vec![0u16; self.len()];
        let mut histogram = vec![0usize; w * 64 + 1];
        hamming_into(&self.signatures, sig, &mut distances);
        for &d in &distances {
            histogram[d as usize] += 1;
        }
        let mut cut = 0;
        let mut seen = 0;
        for (d, &n) in histogram.iter().enumerate() {
            seen += n;
            cut = d;
            if seen >= want {
                break;
            }
        }
        distances
            .iter()
            .enumerate()
            .filter(|(_, &d)| d as usize <= cut)
            .map(|(i, _)| i)
            .collect()
    }

    /// Writes the table into `dir` at once (a temporary file renamed over
    /// [`VECTORS_FILE`]).
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        self.stage(dir)?;
        Self::publish(dir)
    }

    /// Makes the table written by [`Self::stage`] the generation's.
    pub fn publish(dir: &Path) -> std::io::Result<()> {
        std::fs::rename(
            dir.join(format!("{VECTORS_FILE}.tmp")),
            dir.join(VECTORS_FILE),
        )
    }

    /// Writes the table beside the generation's [`VECTORS_FILE`], not yet in its place:
    /// an update stages it before its commit and publishes it after.
    pub fn stage(&self, dir: &Path) -> std::io::Result<()> {
        let tmp = dir.join(format!("{VECTORS_FILE}.tmp"));
        {
            // Hashed behind the buffer, in megabyte chunks: hashing each field's few
            // bytes as it was written cost more than the writing.
            let mut out = BufWriter::with_capacity(
                1 << 20,
                Hashing {
                    inner: std::fs::File::create(&tmp)?,
                    hasher: blake3::Hasher::new(),
                },
            );
            out.write_all(MAGIC)?;
            out.write_all(&(self.model.len() as u16).to_le_bytes())?;
            out.write_all(self.model.as_bytes())?;
            out.write_all(&(self.dim as u32).to_le_bytes())?;
            out.write_all(&(self.len() as u64).to_le_bytes())?;
            let d = self.dim;
            let mut bytes = vec![0u8; d];
            for row in 0..self.len() {
                let slug = self.slugs[row].as_bytes();
                out.write_all(&(slug.len() as u16).to_le_bytes())?;
                out.write_all(slug)?;
                out.write_all(&self.sections[row].to_le_bytes())?;
                out.write_all(&self.hashes[row])?;
                out.write_all(&self.scales[row].to_le_bytes())?;
                for (b, &v) in bytes.iter_mut().zip(&self.values[row * d..(row + 1) * d]) {
                    *b = v as u8;
                }
                out.write_all(&bytes)?;
            }
            let mut hashed = out.into_inner().map_err(|e| e.into_error())?;
            let checksum = *hashed.hasher.finalize().as_bytes();
            hashed.inner.write_all(&checksum)?;
            hashed.inner.flush()?;
        }
        Ok(())
    }

    /// Reads the table of `dir`; `None` when it is missing, damaged or made by another
    /// model than `embedder` (the caller rebuilds the generation). Streams the file
    /// into tables of exactly its size: reading it whole first would hold it twice.
    pub fn read(dir: &Path, embedder: &Embedder) -> Option<Self> {
        let file = std::fs::File::open(dir.join(VECTORS_FILE)).ok()?;
        let size = file.metadata().ok()?.len();
        let mut r = Hashing {
            inner: std::io::BufReader::with_capacity(1 << 16, file),
            hasher: blake3::Hasher::new(),
        };
        if read_exact::<8>(&mut r)? != *MAGIC {
            return None;
        }
        let model_len = u16::from_le_bytes(read_exact(&mut r)?) as usize;
        let mut model = vec![0u8; model_len];
        r.read_exact(&mut model).ok()?;
        let dim = u32::from_le_bytes(read_exact(&mut r)?) as usize;
        if model != embedder.id().as_bytes() || dim != embedder.dim() {
            return None;
        }
        let rows = u64::from_le_bytes(read_exact(&mut r)?) as usize;
        // Each row takes more than `dim` bytes: a larger count is a damaged file.
        if rows as u64 > size / dim as u64 {
            return None;
        }
        let mut table = SectionVectors::empty(embedder);
        table.slugs.reserve_exact(rows);
        table.sections.reserve_exact(rows);
        table.hashes.reserve_exact(rows);
        table.scales.reserve_exact(rows);
        table.values.reserve_exact(rows * dim);
        table.signatures.reserve_exact(rows * dim.div_ceil(64));
        let mut slug: Arc<str> = Arc::from("");
        let mut text = Vec::new();
        let mut values = vec![0u8; dim];
        for _ in 0..rows {
            let len = u16::from_le_bytes(read_exact(&mut r)?) as usize;
            text.resize(len, 0);
            r.read_exact(&mut text).ok()?;
            let s = std::str::from_utf8(&text).ok()?;
            if *slug != *s {
                slug = Arc::from(s);
            }
            let section = u32::from_le_bytes(read_exact(&mut r)?);
            let hash: [u8; 16] = read_exact(&mut r)?;
            let scale = f32::from_le_bytes(read_exact(&mut r)?);
            if !scale.is_finite() || scale < 0.0 {
                return None;
            }
            r.read_exact(&mut values).ok()?;
            let row: Vec<i8> = values.iter().map(|&b| b as i8).collect();
            table.push_quantized(slug.clone(), section, hash, scale, row);
        }
        // The checksum of all that came before, then nothing.
        let expected = *r.hasher.finalize().as_bytes();
        if read_exact::<32>(&mut r.inner)? != expected || r.inner.read(&mut [0u8; 1]).ok()? != 0 {
            return None;
        }
        table.index_spans();
        Some(table)
    }
}

/// A reader or writer that hashes the bytes passing through it (the file's checksum).
struct Hashing<T> {
    inner: T,
    hasher: blake3::Hasher,
}

impl<T: Read> Read for Hashing<T> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

impl<T: Write> Write for Hashing<T> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn read_exact<const N: usize>(r: &mut impl Read) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    r.read_exact(&mut out).ok()?;
    Some(out)
}

/// A unit vector as int8 with one scale (`max|x| / 127`); all zeros keep scale 0.
fn quantize(v: &[f32]) -> (f32, Vec<i8>) {
    let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if max == 0.0 || !max.is_finite() {
        return (0.0, vec![0; v.len()]);
    }
    let scale = max / 127.0;
    let q = v
        .iter()
        .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8)
        .collect();
    (scale, q)
}

/// One bit per dimension: set when the value is positive. The model's dimensions are
/// principal components (centered), so the signs split the space evenly.
fn signature(q: &[i8]) -> Vec<u64> {
    let mut out = vec![0u64; q.len().div_ceil(64)];
    for (i, &v) in q.iter().enumerate() {
        if v > 0 {
            out[i / 64] |= 1 << (i % 64);
        }
    }
    out
}

/// Dot product of two int8 vectors; the compiler vectorizes the widening multiply-add.
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

/// `out[i]` = the dot product of `q` with row `rows[i]` of `values` (rows of `dim`).
fn dot_rows(q: &[i8], values: &[i8], dim: usize, rows: &[usize], out: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            unsafe { dot_rows_avx2(q, values, dim, rows, out) };
            return;
        }
    }
    dot_rows_plain(q, values, dim, rows, out);
}

#[inline(always)]
fn dot_rows_plain(q: &[i8], values: &[i8], dim: usize, rows: &[usize], out: &mut [i32]) {
    for (&row, o) in rows.iter().zip(out.iter_mut()) {
        *o = dot_i8(q, &values[row * dim..(row + 1) * dim]);
    }
}

/// [`dot_rows_plain`] compiled for AVX2, where the compiler turns the widening
/// multiply-add into `vpmaddwd` over 16 values at a time (x86-64's baseline SSE2
/// widens byte by byte): the rescoring of a large table's candidates.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot_rows_avx2(q: &[i8], values: &[i8], dim: usize, rows: &[usize], out: &mut [i32]) {
    dot_rows_plain(q, values, dim, rows, out)
}

/// The Hamming distance of each signature in `all` (rows of `q.len()` words) to `q`.
fn hamming_into(all: &[u64], q: &[u64], out: &mut [u16]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("popcnt")
        {
            // SAFETY: the CPU has both, checked just above.
            unsafe { hamming_avx2(all, q, out) };
            return;
        }
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU has `popcnt`, checked just above.
            unsafe { hamming_popcnt(all, q, out) };
            return;
        }
    }
    hamming_plain(all, q, out);
}

#[inline(always)]
fn hamming_plain(all: &[u64], q: &[u64], out: &mut [u16]) {
    if let Ok(q4) = <&[u64; 4]>::try_from(q) {
        // 256 dimensions, the built-in model's: a fixed-size row unrolls the loop.
        let (rows, _) = all.as_chunks::<4>();
        for (row, d) in rows.iter().zip(out.iter_mut()) {
            *d = ((row[0] ^ q4[0]).count_ones()
                + (row[1] ^ q4[1]).count_ones()
                + (row[2] ^ q4[2]).count_ones()
                + (row[3] ^ q4[3]).count_ones()) as u16;
        }
        return;
    }
    for (row, d) in all.chunks_exact(q.len()).zip(out.iter_mut()) {
        *d = row
            .iter()
            .zip(q)
            .map(|(a, b)| (a ^ b).count_ones() as u16)
            .sum();
    }
}

/// [`hamming_plain`] compiled with the `popcnt` instruction (one instruction per word
/// instead of a dozen): x86-64's baseline lacks it, and this scan is a search's cost.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn hamming_popcnt(all: &[u64], q: &[u64], out: &mut [u16]) {
    hamming_plain(all, q, out)
}

/// [`hamming_plain`] with `popcnt` and AVX2 (wider xor and loads).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt,avx2")]
fn hamming_avx2(all: &[u64], q: &[u64], out: &mut [u16]) {
    hamming_plain(all, q, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: u64, dim: usize) -> Vec<f32> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut v: Vec<f32> = (0..dim)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 2000) as f32 / 1000.0 - 1.0
            })
            .collect();
        let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
        v.iter_mut().for_each(|a| *a /= n);
        v
    }

    fn table_of(n: usize) -> SectionVectors {
        let mut t = SectionVectors {
            model: "test".into(),
            dim: 256,
            ..Default::default()
        };
        for i in 0..n {
            t.push_row(
                Arc::from(format!("a{i}").as_str()),
                0,
                [0; 16],
                &unit(i as u64, 256),
            );
        }
        t
    }

    #[test]
    fn a_row_is_its_own_nearest_section() {
        let t = table_of(500);
        let near = t.nearest(&unit(123, 256), 3);
        assert_eq!(near[0].slug, "a123");
        assert!(near[0].similarity > 0.98, "{}", near[0].similarity);
        assert!(near[1].similarity < near[0].similarity);
    }

    #[test]
    fn the_signature_scan_finds_what_the_exact_scan_finds() {
        let t = table_of(EXACT_SCAN_MAX + 5_000);
        for seed in [7u64, 20_001, 24_999] {
            let q = unit(seed, 256);
            let near = t.nearest(&q, 1);
            assert_eq!(near[0].slug, format!("a{seed}"));
        }
    }

    fn article(path: &str, src: &str) -> Article {
        use crate::kb::article::{parse_article, PathResolver};
        parse_article(path, src, 0, &PathResolver).unwrap()
    }

    #[test]
    fn an_edited_articles_rows_stay_together_and_only_its_changed_text_is_embedded() {
        let e = Embedder::builtin();
        let a1 = article(
            "a.md",
            "# Alpha\n\nIntro.\n\n## One\n\nFirst text.\n\n## Two\n\nSecond.\n",
        );
        let b = article(
            "b.md",
            "# Beta\n\nAbout parcels.\n\n## Track\n\nTracking numbers.\n",
        );
        let first = SectionVectors::build(e, &[&a1, &b], None);
        assert_eq!(first.len(), 4 + 3);
        // Section "Two" of the first article changes; the second is unchanged.
        let a2 = article(
            "a.md",
            "# Alpha\n\nIntro.\n\n## One\n\nFirst text.\n\n## Two\n\nRewritten.\n",
        );
        let rebuilt = SectionVectors::build(e, &[&a2, &b], Some(&first));
        let updated = first.updated(e, &[], &[&a2]);
        for table in [&rebuilt, &updated] {
            let alpha = table.spans["a"];
            assert_eq!(alpha.1 - alpha.0, 4, "all of a's rows, together");
            assert!(table.slugs[alpha.0..alpha.1].iter().all(|s| &**s == "a"));
            assert_eq!(table.spans["b"].1 - table.spans["b"].0, 3);
        }
        let reused = rebuilt
            .hashes
            .iter()
            .filter(|h| first.hashes.contains(h))
            .count();
        assert_eq!(reused, 6, "only the edited section was embedded again");
    }

    #[test]
    fn an_update_gives_every_article_the_rows_a_rebuild_gives_it() {
        let e = Embedder::builtin();
        let a = article("a.md", "# Alpha\n\nIntro.\n\n## One\n\nFirst text.\n");
        let b1 = article("b.md", "# Beta\n\nParcels.\n\n## Track\n\nNumbers.\n");
        let c = article("c.md", "# Gamma\n\nInvoices.\n\n## Pay\n\nBy card.\n");
        let d = article("d.md", "# Delta\n\nRefunds.\n");
        let first = SectionVectors::build(e, &[&a, &b1, &c, &d], None);
        // The middle article edited, the last removed: the kept rows are copied in
        // runs around them.
        let b2 = article("b.md", "# Beta\n\nParcels.\n\n## Track\n\nNew numbers.\n");
        let updated = first.updated(e, &["d".to_string()], &[&b2]);
        let rebuilt = SectionVectors::build(e, &[&a, &b2, &c], None);
        let rows = |t: &SectionVectors, slug: &str| {
            let (start, end) = t.spans[slug];
            let (d, w) = (t.dim, t.dim.div_ceil(64));
            (start..end)
                .map(|r| {
                    (
                        t.sections[r],
                        t.hashes[r],
                        t.scales[r].to_bits(),
                        t.values[r * d..(r + 1) * d].to_vec(),
                        t.signatures[r * w..(r + 1) * w].to_vec(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(updated.len(), rebuilt.len());
        assert!(!updated.spans.contains_key("d"));
        for slug in ["a", "b", "c"] {
            assert_eq!(rows(&updated, slug), rows(&rebuilt, slug), "{slug}");
        }
    }

    #[test]
    fn a_written_table_reads_back_and_a_flipped_byte_is_refused() {
        let e = Embedder::builtin();
        let a = article("a.md", "# Alpha\n\nIntro.\n\n## One\n\nFirst text.\n");
        let table = SectionVectors::build(e, &[&a], None);
        let dir = tempfile::tempdir().unwrap();
        table.write(dir.path()).unwrap();
        let back = SectionVectors::read(dir.path(), e).expect("reads back");
        assert_eq!(back.values, table.values);
        assert_eq!(back.hashes, table.hashes);
        let path = dir.path().join(VECTORS_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01; // inside a vector: still well-formed
        std::fs::write(&path, &bytes).unwrap();
        assert!(SectionVectors::read(dir.path(), e).is_none());
    }

    #[test]
    fn a_section_is_embedded_under_its_heading_path() {
        let a = article(
            "install.md",
            "# Install\n\nIntro.\n\n## Ubuntu\n\nApt.\n\n### Uninstall\n\nPurge.\n\n## Debian\n\nAlso apt.\n",
        );
        let texts: Vec<String> = a.sections.iter().map(|s| section_text(&a, s)).collect();
        assert!(
            texts[2].starts_with("Install\nInstall\nUbuntu\nUninstall\nPurge"),
            "{:?}",
            texts[2]
        );
        assert!(
            texts[3].starts_with("Install\nInstall\nDebian\nAlso"),
            "{:?}",
            texts[3]
        );
    }

    #[test]
    fn vectorized_and_plain_dot_products_agree() {
        let t = table_of(64);
        let q = quantize(&unit(9, 256)).1;
        let rows: Vec<usize> = (0..64).rev().collect();
        let mut a = vec![0i32; 64];
        let mut b = vec![0i32; 64];
        dot_rows(&q, &t.values, 256, &rows, &mut a);
        dot_rows_plain(&q, &t.values, 256, &rows, &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn popcnt_and_plain_hamming_agree() {
        let t = table_of(300);
        let q = signature(&quantize(&unit(5, 256)).1);
        let mut a = vec![0u16; 300];
        let mut b = vec![0u16; 300];
        hamming_into(&t.signatures, &q, &mut a);
        hamming_plain(&t.signatures, &q, &mut b);
        assert_eq!(a, b);
        assert_eq!(a[5], 0);
    }
}
