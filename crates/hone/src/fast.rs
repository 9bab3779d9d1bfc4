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
