//! Any model folder on hone's fast CPU engine: a quantized folder (written
//! by `hone quantize`) as saved, a plain f32 folder as f32 or quantized on
//! the fly; and texts tokenized into the engine's batches.

use std::path::Path;

use hone_compress::quant::{self, Batch, Plan, QuantizedModel, Scheme, SourceModel};
use hone_data::tokenize::TextTokenizer;
use hone_model::engine::{FastBert, Storage};

use crate::Result;

/// A model folder loaded on the engine.
pub struct FastModel {
    pub engine: FastBert,
    /// What quantized it, when it is quantized.
    pub quantized: Option<QuantizedModel>,
}

/// Loads `dir`: quantized folders as saved, f32 folders as f32.
pub fn load(dir: &Path) -> Result<FastBert> {
    if quant::is_quantized(dir) {
        Ok(quant::load(dir)?.engine)
    } else {
        Ok(SourceModel::open(dir)?.engine(|_| Storage::F32)?)
    }
}

/// Loads the f32 folder `dir` and quantizes it in memory with `scheme`
/// (dynamic schemes only: static ones need calibration texts).
pub fn quantized_in_memory(dir: &Path, scheme: Scheme) -> Result<FastBert> {
    Ok(quant::quantize(&SourceModel::open(dir)?, &Plan::new(scheme))?.engine)
}

/// Sentence embeddings on the engine (mean pooling, unit length), as
/// [`crate::embed::SentenceEncoder`] computes them on burn.
pub struct FastEncoder {
    pub engine: FastBert,
    pub tokenizer: TextTokenizer,
}

impl FastEncoder {
    /// Loads any model folder (quantized or f32) with its tokenizer, at
    /// sentence-transformers' `max_seq_length` when given.
    pub fn load(dir: &Path) -> Result<Self> {
        let engine = load(dir)?;
        let max_len = crate::embed::sentence_max_len(dir, engine.config.max_position_embeddings);
        let tokenizer = TextTokenizer::from_file(&dir.join("tokenizer.json"), max_len)?;
        Ok(FastEncoder { engine, tokenizer })
    }

    pub fn embed(
        &self,
        texts: &[&str],
        batch_size: usize,
        on_batch: impl FnMut(usize),
    ) -> Result<Vec<Vec<f32>>> {
        crate::embed::embed_sorted(texts, batch_size, on_batch, |batch| {
            let b = encode(&self.tokenizer, batch)?;
            let hidden = self.engine.forward(b.tokens())?;
            let pooled = self.engine.mean_pool(&hidden, b.tokens());
            let width = self.engine.config.hidden_size;
            Ok(pooled
                .chunks_exact(width)
                .map(|v| {
                    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                    v.iter().map(|x| x / norm).collect()
                })
                .collect())
        })
    }
}

/// Tokenizes `texts` into one padded batch.
pub fn encode(tokenizer: &TextTokenizer, texts: &[&str]) -> Result<Batch> {
    let enc = tokenizer.encode_batch(texts)?;
    Ok(Batch {
        ids: enc.input_ids,
        mask: enc.attention_mask,
        types: enc.token_type_ids,
        batch: enc.batch,
        seq: enc.seq_len,
    })
}
