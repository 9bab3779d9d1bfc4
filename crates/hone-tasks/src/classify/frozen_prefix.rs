//! A cache of the frozen bottom's activations (`hone finetune
//! --cache-frozen`): when the embeddings and the first layers stay frozen
//! for the whole run, their output for a training text never changes, so it
//! is computed once, before training, for every piece the run can read
//! (every window of a long text), and each training step runs only the
//! trained layers above it. On MiniLM-L6 with four of six layers frozen a
//! step costs the forward pass of two layers and their backward pass instead
//! of six forward and two backward. The validation split's activations are
//! cached the same way, so the evaluations during training run only those
//! layers too ([`predict_proba_from_prefix`]); the final validation and
//! test scores of the saved model are computed by the full model.
//!
//! One difference from training without the cache: the frozen layers run in
//! inference mode, without dropout, as they do at validation and test time.
//! (Without the cache they run in training mode, so their dropout still adds
//! noise although their weights never move.) Hence the option is a recipe
//! setting of its own, recorded with the run, not a transparent speed-up.
//!
//! Activations are kept for real tokens only (`[tokens][hidden]` per piece,
//! f32, in memory) and padded again per batch; a padded key is masked in
//! attention, so a token's activations do not depend on the padding of the
//! batch it was computed in.

use std::time::Instant;

use burn::prelude::*;
use hone_data::tokenize::EncodedBatch;
use hone_data::windows::Pieces;
use indicatif::{ProgressBar, ProgressStyle};

use super::model::TextClassifier;
use super::predict::{encoded_input, host_f32, text_outputs};
use crate::Result;

/// The frozen bottom's output for every piece of a split's texts (the
/// training split's, or the validation split's).
pub struct FrozenPrefix {
    /// Encoder layers the activations have gone through (after the
    /// embeddings); training runs the layers from this index up.
    pub layers: usize,
    width: usize,
    /// Per piece, the real tokens' activations, row-major `[tokens][width]`.
    rows: Vec<Vec<f32>>,
    /// Per text, the index of its first piece and its piece count.
    first_piece: Vec<usize>,
    counts: Vec<usize>,
    /// Seconds it took to compute.
    pub seconds: f64,
}

impl FrozenPrefix {
    /// Runs the embeddings and the first `layers` layers of `model` (in
    /// inference mode: pass the inner model of an autodiff one) over every
    /// piece of `pieces`, `batch_size` pieces of similar length at a time.
    pub fn compute<B: Backend>(
        model: &TextClassifier<B>,
        layers: usize,
        pieces: &Pieces,
        batch_size: usize,
        device: &B::Device,
    ) -> Result<Self> {
        let start = Instant::now();
        let limits = model.encoder.limits();
        let progress = ProgressBar::new(pieces.len() as u64).with_style(
            ProgressStyle::with_template(
                "caching frozen activations {bar:30} {pos}/{len} pieces {elapsed}<{eta}",
            )
            .expect("a valid template"),
        );
        let lengths = pieces.lengths();
        let rows = hone_data::batching::map_length_sorted(&lengths, batch_size, |chunk| {
            let enc = pieces.batch(chunk)?;
            let input = encoded_input(&limits, &enc, device)?;
            let hidden = model.encoder.forward_prefix(&input, layers);
            let width = hidden.dims()[2];
            let values = host_f32(hidden);
            progress.inc(chunk.len() as u64);
            Ok::<_, crate::TaskError>(
                chunk
                    .iter()
                    .zip(values.chunks(enc.seq_len * width))
                    .map(|(&piece, row)| row[..lengths[piece] * width].to_vec())
                    .collect::<Vec<Vec<f32>>>(),
            )
        })?;
        progress.finish_and_clear();
        let width = model.feature_width();
        let mut first_piece = vec![usize::MAX; pieces.n_texts()];
        let mut counts = vec![0; pieces.n_texts()];
        for (piece, &owner) in pieces.owners().iter().enumerate() {
            first_piece[owner] = first_piece[owner].min(piece);
            counts[owner] += 1;
        }
        Ok(Self {
            layers,
            width,
            rows,
            first_piece,
            counts,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// Number of texts the cache covers.
    pub fn n_texts(&self) -> usize {
        self.counts.len()
    }

    /// Bytes the activations take in memory.
    pub fn bytes(&self) -> usize {
        self.rows.iter().map(|r| r.len() * 4).sum()
    }

    /// The activations of a batch `enc` of training pieces: piece
    /// `picks[i] % n` of text `examples[i]`'s `n` (the window
    /// [`hone_data::tokenize::TextTokenizer::encode_batch_windows`] reads
    /// for that pick), padded with zeros to `enc`'s length,
    /// `[batch, seq_len, width]`. Fails when a cached piece's length is not
    /// the batch row's number of real tokens: the cache was computed from
    /// other inputs than the batch.
    pub fn batch<B: Backend>(
        &self,
        examples: &[usize],
        picks: &[u64],
        enc: &EncodedBatch,
        device: &B::Device,
    ) -> std::result::Result<Tensor<B, 3>, String> {
        let pieces = examples
            .iter()
            .zip(picks)
            .map(|(&example, &pick)| {
                let n = *self.counts.get(example).ok_or_else(|| {
                    format!("text {example} is not in the frozen-activation cache")
                })?;
                Ok(self.first_piece[example] + (pick % n as u64) as usize)
            })
            .collect::<std::result::Result<Vec<usize>, String>>()?;
        self.pieces_batch(&pieces, enc, device)
    }

    /// The activations of `pieces` (indices into the pieces the cache was
    /// computed from), whose encodings are `enc`, padded with zeros to its
    /// length; checked as [`Self::batch`] is.
    pub fn pieces_batch<B: Backend>(
        &self,
        pieces: &[usize],
        enc: &EncodedBatch,
        device: &B::Device,
    ) -> std::result::Result<Tensor<B, 3>, String> {
        let (seq, width) = (enc.seq_len, self.width);
        let mut values = vec![0f32; enc.batch * seq * width];
        for (i, &piece) in pieces.iter().enumerate() {
            let cached = self
                .rows
                .get(piece)
                .ok_or_else(|| format!("piece {piece} is not in the frozen-activation cache"))?;
            let real = enc.attention_mask[i * seq..(i + 1) * seq]
                .iter()
                .filter(|&&m| m != 0)
                .count();
            if cached.len() != real * width {
                return Err(format!(
                    "the frozen-activation cache holds {} tokens for piece {piece} but the batch reads {real}",
                    cached.len() / width
                ));
            }
            values[i * seq * width..][..cached.len()].copy_from_slice(cached);
        }
        Ok(Tensor::from_data(
            TensorData::new(values, [enc.batch, seq, width]),
            device,
        ))
    }
}

/// Class probabilities `[texts][classes]` of the texts of `pieces`, as
/// [`super::predict::predict_proba`] gives them, from `prefix`, the frozen
/// bottom's activations of exactly these pieces: only the layers above it
/// run (validation during a run with a cache).
pub fn predict_proba_from_prefix<B: Backend>(
    model: &TextClassifier<B>,
    pieces: &Pieces,
    prefix: &FrozenPrefix,
    batch_size: usize,
    device: &B::Device,
) -> Result<Vec<Vec<f32>>> {
    if prefix.rows.len() != pieces.len() {
        return Err(crate::TaskError::Config(format!(
            "the frozen-activation cache holds {} pieces but {} are scored",
            prefix.rows.len(),
            pieces.len()
        )));
    }
    text_outputs(
        model,
        pieces,
        batch_size,
        device,
        true,
        |rows, enc, input| {
            let hidden = prefix
                .pieces_batch(rows, enc, device)
                .map_err(crate::TaskError::Config)?;
            Ok(model.hidden_from(prefix.layers, hidden, input))
        },
    )
}
