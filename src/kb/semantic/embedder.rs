//! The first semantic stage: text into a vector. The model is potion-base-8M, a
//! model2vec static embedding (MIT): a WordPiece tokenizer and one 256-dimensional
//! vector per token, averaged and normalized. No neural network runs at query time, so
//! a query costs microseconds on one core. The model is compiled into the binary (an
//! int8 copy, 7.7 MB, converted by `scripts/convert-model.py`; source and checksums in
//! `models/potion-base-8M/README.md`): a fresh clone, a test and every replica embed
//! with exactly the same bytes, and nothing is downloaded at build or run time.

use std::sync::OnceLock;

use model2vec_rs::model::StaticModel;

const TOKENIZER: &[u8] = include_bytes!("../../../models/potion-base-8M/tokenizer.json");
const MODEL: &[u8] = include_bytes!("../../../models/potion-base-8M/model.safetensors");
const CONFIG: &[u8] = include_bytes!("../../../models/potion-base-8M/config.json");

/// Tokens of a section that are embedded (the model's own default). Measured on the
/// tuning halves of the known items: 512 found more than 128 or 256 on docker-docs
/// (hybrid hit@3 0.797 against 0.780 and 0.763) for a little less on MDN (0.623
/// against 0.642), and no more beyond it.
pub const MAX_SECTION_TOKENS: usize = 512;

/// Tokens of a query that are embedded (a pasted ticket can be long).
pub const MAX_QUERY_TOKENS: usize = 256;

/// A text embedder: unit-length vectors whose dot product is the texts' cosine
/// similarity.
pub struct Embedder {
    model: StaticModel,
    id: String,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").field("id", &self.id).finish()
    }
}

impl Embedder {
    /// The model compiled into the binary, loaded once per process (about 30 ms).
    pub fn builtin() -> &'static Embedder {
        static BUILTIN: OnceLock<Embedder> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let model = StaticModel::from_bytes(TOKENIZER, MODEL, CONFIG, Some(true))
                // The bytes are compiled in and checked by a test: a failure here is a
                // broken build, not a condition to serve through.
                .expect("the built-in embedding model loads");
            let hash = blake3::hash(MODEL).to_hex();
            Embedder {
                model,
                id: format!("potion-base-8M-int8:{}", &hash[..16]),
            }
        })
    }

    /// Names the model and its exact bytes: vectors made by another model (or another
    /// copy of it) are never compared with this one's.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The vectors' dimension.
    pub fn dim(&self) -> usize {
        self.model.dim()
    }

    /// A query's vector (unit length; all zeros when no token is known to the model).
    pub fn embed_query(&self, text: &str) -> Vec<f32> {
        self.model
            .encode_with_args(&[text.to_string()], Some(MAX_QUERY_TOKENS), 1)
            .pop()
            .unwrap_or_else(|| vec![0.0; self.dim()])
    }

    /// The vectors of many section texts, row after row. model2vec-rs spreads the texts
    /// over the cores (rayon, through the tokenizers crate): an index build embeds every
    /// section of the corpus.
    pub fn embed_sections(&self, texts: &[String]) -> Vec<f32> {
        self.model
            .encode_flat_with_args(texts, Some(MAX_SECTION_TOKENS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn the_builtin_model_loads_and_embeds_unit_vectors() {
        let e = Embedder::builtin();
        assert_eq!(e.dim(), 256);
        let v = e.embed_query("how do I reset my password");
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "norm {norm}");
    }

    #[test]
    fn related_texts_are_closer_than_unrelated_ones() {
        let e = Embedder::builtin();
        let q = e.embed_query("move docker to another disk");
        let near = e.embed_query(
            "Change the data-root directory where the daemon stores images and containers",
        );
        let far = e.embed_query("Invoices are sent by email at the start of each billing month");
        assert!(cosine(&q, &near) > cosine(&q, &far) + 0.05);
    }

    #[test]
    fn sections_embed_as_queries_do() {
        let e = Embedder::builtin();
        let texts: Vec<String> = (0..100)
            .map(|i| format!("section number {i} about networks"))
            .collect();
        let flat = e.embed_sections(&texts);
        let one = e.embed_query(&texts[77]);
        let row = &flat[77 * 256..78 * 256];
        assert!(cosine(&one, row) > 0.999);
    }
}
