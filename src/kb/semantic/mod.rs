//! Semantic retrieval: what lets a question find the section that answers it without
//! sharing its words. `embedder.rs` turns text into vectors (the built-in static
//! model); `vectors.rs` keeps one vector per section with each index generation and
//! finds the sections nearest to a query. Search combines them with the lexical
//! ranking (`search/fusion.rs`). Knows nothing of tantivy's queries or of HTTP.

pub mod embedder;
pub mod vectors;

pub use embedder::Embedder;
pub use vectors::{NearSection, SectionVectors};
