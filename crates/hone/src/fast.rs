//! Any model folder on hone's fast CPU engine: a quantized folder (written
//! by `hone quantize`) as saved, a plain f32 folder as f32 or quantized on
//! the fly; and texts tokenized into the engine's batches.

use std::path::Path;

use hone_compress::quant::{self, Batch, Plan, Scheme, SourceModel};
use hone_data::tokenize::{EncodedBatch, TextTokenizer};
use hone_data::windows::predict_sorted;
use hone_model::engine::{FastBert, Storage, WeightBits};
use hone_tasks::classify::{WindowPooling, softmax_in_place};

use crate::Result;

/// Loads `dir`: quantized folders as saved, f32 folders as f32.
pub fn load(dir: &Path) -> Result<FastBert> {
    if quant::is_quantized(dir) {
        Ok(quant::load(dir)?.engine)
    } else {
        Ok(SourceModel::open(dir)?.engine(|_| Storage::F32)?)
    }
}

/// Loads the f32 folder `dir` and quantizes it in memory with `scheme`
/// (dynamic schemes only: static ones need calibration texts), as `hone
/// quantize` does by default, int8 weights on the grid of `bits`.
pub fn quantized_in_memory(dir: &Path, scheme: Scheme, bits: WeightBits) -> Result<FastBert> {
    let source = SourceModel::open(dir)?;
    let mut plan = if scheme == Scheme::Int8Dynamic {
        int8_dynamic_plan(dir, &source)?
    } else {
        Plan::new(scheme)
    };
    plan.weight_bits = bits;
    Ok(quant::quantize(&source, &plan)?.engine)
}

/// How many calibration texts smoothing and static scales use by default.
pub const CALIBRATION_TEXTS: usize = 128;
/// Seed of the vocabulary texts smoothing is measured on by default.
pub const VOCABULARY_SEED: u64 = 0x5EED;

/// int8-dynamic as `hone quantize` makes it by default: the layers reading
/// LayerNorm outputs smoothed (α = 0.5) with ranges measured on random
/// texts of the model's vocabulary words, so no data set is needed.
pub fn int8_dynamic_plan(dir: &Path, source: &SourceModel) -> Result<Plan> {
    let (batches, from) = vocabulary_calibration(dir, source, CALIBRATION_TEXTS)?;
    let mut plan = Plan::new(Scheme::Int8Dynamic);
    plan.smoothing = Some(quant::Smoothing::measure(
        source,
        &batches,
        quant::smooth::DEFAULT_ALPHA,
        from,
    )?);
    Ok(plan)
}

/// The tokenizer of `dir` as calibration texts are encoded: 128 tokens, or
/// fewer where the model has fewer positions.
pub fn calibration_tokenizer(dir: &Path, source: &SourceModel) -> Result<TextTokenizer> {
    Ok(TextTokenizer::from_file(
        &dir.join("tokenizer.json"),
        128.min(source.config.max_position_embeddings),
    )?)
}

/// `texts` tokenized into engine batches of 16.
pub fn encode_batches(tokenizer: &TextTokenizer, texts: &[String]) -> Result<Vec<Batch>> {
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    texts.chunks(16).map(|c| encode(tokenizer, c)).collect()
}

/// `n` texts of random vocabulary words of the model in `dir`, tokenized,
/// and a line saying where they came from.
pub fn vocabulary_calibration(
    dir: &Path,
    source: &SourceModel,
    n: usize,
) -> Result<(Vec<Batch>, String)> {
    let tokenizer = calibration_tokenizer(dir, source)?;
    let texts = tokenizer.vocabulary_texts(n, VOCABULARY_SEED)?;
    let from = format!(
        "{} texts of random vocabulary words (seed {VOCABULARY_SEED})",
        texts.len()
    );
    Ok((encode_batches(&tokenizer, &texts)?, from))
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
    Ok(engine_batch(tokenizer.encode_batch(texts)?))
}

/// A tokenized batch as the engine takes it.
fn engine_batch(enc: EncodedBatch) -> Batch {
    Batch {
        ids: enc.input_ids,
        mask: enc.attention_mask,
        types: enc.token_type_ids,
        batch: enc.batch,
        seq: enc.seq_len,
    }
}

/// A fine-tuned classifier folder (f32 or quantized) on the engine: the
/// encoder, the pooling of `hone_classifier.json`, and the f32 head (and
/// pooler, for [CLS] pooling) carried beside the encoder's tensors.
pub struct FastClassifier {
    pub engine: FastBert,
    pub tokenizer: TextTokenizer,
    pub info: hone_tasks::classify::ClassifierInfo,
    head: hone_model::engine::Linear,
    pooler: Option<hone_model::engine::Linear>,
}

impl FastClassifier {
    pub fn load(dir: &Path) -> Result<Self> {
        let info = hone_tasks::classify::read_info(dir)?;
        let (engine, extras) = if quant::is_quantized(dir) {
            let q = quant::load(dir)?;
            (q.engine, q.extras)
        } else {
            let source = SourceModel::open(dir)?;
            (source.engine(|_| Storage::F32)?, source.extras)
        };
        let h = engine.config.hidden_size;
        let find = |name: &str, len: usize| -> Result<&[f32]> {
            extras
                .iter()
                .find(|x| x.name == name && x.values.len() == len)
                .map(|x| x.values.as_slice())
                .ok_or_else(|| {
                    hone_model::ModelError::MissingTensor {
                        path: dir.into(),
                        tensor: format!("{name} ({len} values)"),
                    }
                    .into()
                })
        };
        let c = info.labels.len();
        if c == 0 {
            return Err(hone_tasks::TaskError::BadModelDir {
                path: dir.into(),
                detail: "hone_classifier.json lists no labels".into(),
            }
            .into());
        }
        let head = hone_model::engine::Linear::f32(
            find("classifier.weight", c * h)?,
            find("classifier.bias", c)?.to_vec(),
            c,
            h,
        )?;
        let pooler = match (
            find("pooler.dense.weight", h * h),
            find("pooler.dense.bias", h),
        ) {
            (Ok(w), Ok(b)) => Some(hone_model::engine::Linear::f32(w, b.to_vec(), h, h)?),
            _ => None,
        };
        let tokenizer = info.tokenizer(dir)?;
        Ok(FastClassifier {
            engine,
            tokenizer,
            info,
            head,
            pooler,
        })
    }

    /// Parameters of the pooler, when the folder stores one.
    pub fn pooler_parameters(&self) -> usize {
        self.pooler
            .as_ref()
            .map_or(0, |p| p.d_in * p.d_out + p.d_out)
    }

    /// The same classifier reading a long text as up to `windows` windows
    /// (their probabilities averaged) instead of the folder's setting.
    pub fn with_windows(mut self, windows: usize) -> Self {
        self.info.windows = windows;
        self.tokenizer = self.tokenizer.with_windows(windows);
        self
    }

    /// Class probabilities of each text, in input order (the mean over a
    /// long text's windows when the tokenizer reads several, or the head
    /// over the mean of their pooled vectors for a classifier that pools
    /// windows' features).
    pub fn predict_proba(&self, texts: &[&str], batch_size: usize) -> Result<Vec<Vec<f32>>> {
        self.predict_proba_with(&self.engine, texts, batch_size)
    }

    /// [`Self::predict_proba`] with another encoder in place of this one's
    /// (the quantization fallback scores candidate encoders this way).
    pub fn predict_proba_with(
        &self,
        engine: &FastBert,
        texts: &[&str],
        batch_size: usize,
    ) -> Result<Vec<Vec<f32>>> {
        let pieces = self.tokenizer.encode_pieces(texts)?;
        let pool_features = self.info.window_pooling == WindowPooling::Features;
        let rows = predict_sorted(&pieces, batch_size, |_, enc| -> Result<Vec<Vec<f32>>> {
            let b = engine_batch(enc);
            let pooled = self.pooled(engine, &b)?;
            if pool_features {
                let h = engine.config.hidden_size;
                return Ok(pooled.chunks_exact(h).map(<[f32]>::to_vec).collect());
            }
            self.probabilities(&pooled, b.batch)
        })?;
        if !pool_features {
            return Ok(rows);
        }
        // The mean of each text's windows' vectors, through the head.
        rows.iter()
            .map(|features| Ok(self.probabilities(features, 1)?.remove(0)))
            .collect()
    }

    /// The pooled vectors `[batch × hidden]` of a batch.
    fn pooled(&self, engine: &FastBert, b: &Batch) -> Result<Vec<f32>> {
        let hidden = engine.forward(b.tokens())?;
        let h = engine.config.hidden_size;
        Ok(match self.info.pooling {
            hone_tasks::classify::Pooling::Mean => engine.mean_pool(&hidden, b.tokens()),
            hone_tasks::classify::Pooling::Cls => {
                let first: Vec<f32> = hidden
                    .chunks_exact(b.seq * h)
                    .flat_map(|row| row[..h].to_vec())
                    .collect();
                match &self.pooler {
                    Some(pooler) => {
                        let mut out = vec![0.0; first.len()];
                        pooler.forward(&first, b.batch, &mut out)?;
                        out.iter_mut().for_each(|v| *v = v.tanh());
                        out
                    }
                    None => first,
                }
            }
        })
    }

    /// The head's class probabilities of `rows` pooled vectors.
    fn probabilities(&self, pooled: &[f32], rows: usize) -> Result<Vec<Vec<f32>>> {
        let c = self.info.labels.len();
        let mut logits = vec![0.0; rows * c];
        self.head.forward(pooled, rows, &mut logits)?;
        Ok(logits
            .chunks_exact(c)
            .map(|row| {
                let mut row = row.to_vec();
                softmax_in_place(&mut row);
                row
            })
            .collect())
    }
}
