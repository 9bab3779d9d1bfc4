//! Tokenization through the `tokenizers` crate from a model's
//! `tokenizer.json`: truncation to a maximum length and padding to the
//! longest sequence of each batch (dynamic padding), returned as flat arrays
//! ready to become tensors.

use std::path::{Path, PathBuf};

use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams, TruncationStrategy};

use crate::{DataError, Result};

/// A batch of token ids, row-major `[batch, seq_len]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedBatch {
    pub batch: usize,
    pub seq_len: usize,
    pub input_ids: Vec<u32>,
    pub attention_mask: Vec<u32>,
    pub token_type_ids: Vec<u32>,
}

/// A tokenizer with hone's truncation and padding settings.
pub struct TextTokenizer {
    inner: Tokenizer,
    path: PathBuf,
    max_len: usize,
}

impl TextTokenizer {
    /// Loads `tokenizer.json`, truncating to `max_len` tokens (special tokens
    /// included) and padding each batch to its longest sequence.
    pub fn from_file(path: &Path, max_len: usize) -> Result<Self> {
        let err = |detail: String| DataError::Tokenizer {
            path: path.into(),
            detail,
        };
        let mut inner = Tokenizer::from_file(path).map_err(|e| err(e.to_string()))?;
        let pad = inner.get_padding().cloned().unwrap_or_default();
        inner
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                ..Default::default()
            }))
            .map_err(|e| err(e.to_string()))?;
        inner.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..pad
        }));
        Ok(Self {
            inner,
            path: path.into(),
            max_len,
        })
    }

    pub fn max_len(&self) -> usize {
        self.max_len
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Encodes a batch of texts (with the model's special tokens).
    pub fn encode_batch(&self, texts: &[&str]) -> Result<EncodedBatch> {
        let encodings =
            self.inner
                .encode_batch(texts.to_vec(), true)
                .map_err(|e| DataError::Tokenizer {
                    path: self.path.clone(),
                    detail: e.to_string(),
                })?;
        let seq_len = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut out = EncodedBatch {
            batch: encodings.len(),
            seq_len,
            input_ids: Vec::with_capacity(encodings.len() * seq_len),
            attention_mask: Vec::with_capacity(encodings.len() * seq_len),
            token_type_ids: Vec::with_capacity(encodings.len() * seq_len),
        };
        for e in &encodings {
            out.input_ids.extend_from_slice(e.get_ids());
            out.attention_mask.extend_from_slice(e.get_attention_mask());
            out.token_type_ids.extend_from_slice(e.get_type_ids());
        }
        Ok(out)
    }
}
