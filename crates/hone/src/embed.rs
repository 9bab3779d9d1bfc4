//! Sentence embeddings: tokenizer + BERT encoder + mean pooling + L2
//! normalization, as sentence-transformers computes them. Texts are encoded
//! in batches sorted by length (less padding), and returned in input order.

use std::path::Path;

use burn::prelude::*;
use hone_data::batching::map_length_sorted;
use hone_data::tokenize::TextTokenizer;
use hone_model::BertModel;
use hone_model::pooling::{l2_normalize, mean_pool};

use crate::Result;

/// Default batch size of [`SentenceEncoder::embed`].
pub const DEFAULT_BATCH: usize = 32;

/// A model folder loaded for embedding.
pub struct SentenceEncoder<B: Backend> {
    pub model: BertModel<B>,
    pub tokenizer: TextTokenizer,
    device: B::Device,
}

impl<B: Backend> SentenceEncoder<B> {
    /// Loads `config.json`, `model.safetensors` and `tokenizer.json` from `dir`.
    /// The maximum length is sentence-transformers' `max_seq_length` when
    /// `sentence_bert_config.json` is there, else the model's positions.
    pub fn load(dir: &Path, device: &B::Device) -> Result<Self> {
        let (model, config) = BertModel::from_dir(dir, device)?;
        let max_len = sentence_max_len(dir, config.max_position_embeddings);
        let tokenizer = TextTokenizer::from_file(&dir.join("tokenizer.json"), max_len)?;
        Ok(Self {
            model,
            tokenizer,
            device: device.clone(),
        })
    }

    /// Unit-length embeddings of `texts`, in order; `on_batch` is told how
    /// many texts each finished batch held (for progress bars).
    pub fn embed(
        &self,
        texts: &[&str],
        batch_size: usize,
        on_batch: impl FnMut(usize),
    ) -> Result<Vec<Vec<f32>>> {
        embed_sorted(texts, batch_size, on_batch, |batch| self.embed_batch(batch))
    }

    /// Embeds one padded batch.
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let enc = self.tokenizer.encode_batch(texts)?;
        let input = self.model.input(
            enc.batch,
            enc.seq_len,
            &enc.input_ids,
            &enc.attention_mask,
            &enc.token_type_ids,
            &self.device,
        )?;
        let hidden = self.model.forward(&input);
        let pooled = l2_normalize(mean_pool(hidden, input.attention_mask));
        let width = pooled.dims()[1];
        let values: Vec<f32> = pooled
            .into_data()
            .convert::<f32>()
            .to_vec()
            .expect("f32 data after convert");
        Ok(values.chunks(width).map(<[f32]>::to_vec).collect())
    }
}

/// sentence-transformers' `max_seq_length` from `sentence_bert_config.json`
/// when the folder has one (at most the model's positions), else the positions.
pub fn sentence_max_len(dir: &Path, positions: usize) -> usize {
    std::fs::read_to_string(dir.join("sentence_bert_config.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["max_seq_length"].as_u64())
        .map_or(positions, |n| (n as usize).min(positions))
}

/// Embeds `texts` in batches of similar length (less padding) with
/// `embed_batch`, returning the vectors in input order.
pub fn embed_sorted(
    texts: &[&str],
    batch_size: usize,
    mut on_batch: impl FnMut(usize),
    mut embed_batch: impl FnMut(&[&str]) -> Result<Vec<Vec<f32>>>,
) -> Result<Vec<Vec<f32>>> {
    let lengths: Vec<usize> = texts.iter().map(|t| t.len()).collect();
    map_length_sorted(&lengths, batch_size, |chunk| {
        let batch_texts: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
        let vectors = embed_batch(&batch_texts)?;
        on_batch(chunk.len());
        Ok(vectors)
    })
}

/// Cosine similarity of two vectors (0 when either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}
