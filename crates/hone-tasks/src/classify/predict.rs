//! Inference with a classifier: texts → tokenized pieces (one per text, or
//! several windows of a long one) batched by length, so little padding →
//! logits → labels and probabilities in input order (averaged over a text's
//! windows, or, for a model that pools its windows' features, the head over
//! their mean), the pooled features the head reads, and the metrics of a
//! labelled split.

use burn::prelude::*;
use hone_data::datasets::Example;
use hone_data::tokenize::{EncodedBatch, TextTokenizer};
use hone_data::windows::{Pieces, predict_sorted};
use hone_metrics::{ClassificationReport, classification_report};
use hone_model::InputLimits;
use hone_model::bert::BertInput;

use super::model::TextClassifier;
use crate::Result;

/// Class probabilities `[texts][classes]` of `texts`, in input order. A
/// tokenizer that reads several windows of a long text gives the mean of
/// the windows' probabilities (or, for a model that pools windows'
/// features, the probabilities of the head over their mean).
pub fn predict_proba<B: Backend>(
    model: &TextClassifier<B>,
    tokenizer: &TextTokenizer,
    texts: &[&str],
    batch_size: usize,
    device: &B::Device,
) -> Result<Vec<Vec<f32>>> {
    let pieces = tokenizer.encode_pieces(texts)?;
    text_outputs(model, &pieces, batch_size, device, true, |_, _, input| {
        Ok(model.encoder.forward(input))
    })
}

/// Logits `[texts][classes]` of `texts`, in input order (the mean of the
/// windows' logits when the tokenizer reads several, or the head over the
/// mean of their features for a model that pools them).
pub fn predict_logits<B: Backend>(
    model: &TextClassifier<B>,
    tokenizer: &TextTokenizer,
    texts: &[&str],
    batch_size: usize,
    device: &B::Device,
) -> Result<Vec<Vec<f32>>> {
    let pieces = tokenizer.encode_pieces(texts)?;
    text_outputs(model, &pieces, batch_size, device, false, |_, _, input| {
        Ok(model.encoder.forward(input))
    })
}

/// Logits (or, with `probabilities`, class probabilities) of the texts of
/// `pieces`, from `last_hidden`, which gives the encoder's last hidden state
/// of a batch (its piece indices, encodings and input). A model that pools
/// windows' features averages their pooled vectors and applies the head
/// once per text; any other averages the windows' outputs.
pub(crate) fn text_outputs<B: Backend>(
    model: &TextClassifier<B>,
    pieces: &Pieces,
    batch_size: usize,
    device: &B::Device,
    probabilities: bool,
    last_hidden: impl Fn(&[usize], &EncodedBatch, &BertInput<B>) -> Result<Tensor<B, 3>>,
) -> Result<Vec<Vec<f32>>> {
    let finish = |row: &mut [f32]| {
        if probabilities {
            softmax_in_place(row)
        }
    };
    if !model.pool_windows {
        return predict_rows(
            model,
            pieces,
            batch_size,
            device,
            |model, rows, enc, input| Ok(model.logits(last_hidden(rows, enc, input)?, input)),
            finish,
        );
    }
    let features = predict_rows(
        model,
        pieces,
        batch_size,
        device,
        |model, rows, enc, input| Ok(model.pool(last_hidden(rows, enc, input)?, input)),
        |_| {},
    )?;
    let mut rows = head_rows(model, &features, device);
    rows.iter_mut().for_each(|row| finish(row));
    Ok(rows)
}

/// The head's logits `[rows][classes]` over pooled vectors `[rows][hidden]`.
fn head_rows<B: Backend>(
    model: &TextClassifier<B>,
    features: &[Vec<f32>],
    device: &B::Device,
) -> Vec<Vec<f32>> {
    if features.is_empty() {
        return Vec::new();
    }
    let width = model.feature_width();
    let flat: Vec<f32> = features.iter().flatten().copied().collect();
    let pooled = Tensor::<B, 2>::from_data(TensorData::new(flat, [features.len(), width]), device)
        .cast(model.head.weight.val().dtype());
    let logits = model.head_logits(pooled);
    let classes = logits.dims()[1];
    host_f32(logits)
        .chunks(classes)
        .map(<[f32]>::to_vec)
        .collect()
}

/// Pooled encoder features `[texts][hidden]` of `texts` (what the head
/// reads), in input order; the mean of the windows' features when the
/// tokenizer reads several.
pub fn pooled_features<B: Backend>(
    model: &TextClassifier<B>,
    tokenizer: &TextTokenizer,
    texts: &[&str],
    batch_size: usize,
    device: &B::Device,
) -> Result<Vec<Vec<f32>>> {
    pooled_features_of_pieces(model, &tokenizer.encode_pieces(texts)?, batch_size, device)
}

/// [`pooled_features`] of texts already tokenized into `pieces`.
pub fn pooled_features_of_pieces<B: Backend>(
    model: &TextClassifier<B>,
    pieces: &Pieces,
    batch_size: usize,
    device: &B::Device,
) -> Result<Vec<Vec<f32>>> {
    predict_rows(
        model,
        pieces,
        batch_size,
        device,
        |model, _, _, input| Ok(model.pooled(input)),
        |_| {},
    )
}

/// Replaces logits by their softmax (max-subtracted, so no overflow).
pub fn softmax_in_place(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    row.iter_mut().for_each(|v| *v = (*v - max).exp());
    let sum: f32 = row.iter().sum();
    row.iter_mut().for_each(|v| *v /= sum);
}

/// Each piece's output under `forward` (logits or pooled features, given
/// the batch's piece indices, encodings and input), turned into rows by
/// `per_row`, averaged per text.
pub(crate) fn predict_rows<B: Backend>(
    model: &TextClassifier<B>,
    pieces: &Pieces,
    batch_size: usize,
    device: &B::Device,
    forward: impl Fn(&TextClassifier<B>, &[usize], &EncodedBatch, &BertInput<B>) -> Result<Tensor<B, 2>>,
    per_row: impl Fn(&mut [f32]),
) -> Result<Vec<Vec<f32>>> {
    let limits = model.encoder.limits();
    predict_sorted(pieces, batch_size, |rows, enc| -> Result<Vec<Vec<f32>>> {
        let input = encoded_input(&limits, &enc, device)?;
        let output = forward(model, rows, &enc, &input)?;
        let width = output.dims()[1];
        Ok(host_f32(output)
            .chunks(width)
            .map(|row| {
                let mut row = row.to_vec();
                per_row(&mut row);
                row
            })
            .collect())
    })
}

/// `enc` checked against the model's sizes and moved to `device`.
pub(crate) fn encoded_input<B: Backend>(
    limits: &InputLimits,
    enc: &EncodedBatch,
    device: &B::Device,
) -> hone_model::Result<BertInput<B>> {
    limits.input::<B>(
        enc.batch,
        enc.seq_len,
        &enc.input_ids,
        &enc.attention_mask,
        &enc.token_type_ids,
        device,
    )
}

/// A tensor's values on the host as f32, row-major.
pub(crate) fn host_f32<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .expect("f32 after convert")
}

/// The index of the largest value (first on ties).
pub fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

/// A classifier's answers on a labelled split and how good they are.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Predicted label index of each example, in input order.
    pub predicted: Vec<usize>,
    /// The classification report against the gold labels (label names as
    /// its keys).
    pub report: ClassificationReport,
    /// Mean negative log-probability of the gold labels (nats), from the
    /// same probabilities the predictions take their argmax of.
    pub log_loss: f64,
}

/// Predicts `examples` and scores the predictions against their labels.
pub fn evaluate<B: Backend>(
    model: &TextClassifier<B>,
    tokenizer: &TextTokenizer,
    examples: &[Example],
    labels: &[String],
    batch_size: usize,
    device: &B::Device,
) -> Result<Evaluation> {
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let probs = predict_proba(model, tokenizer, &texts, batch_size, device)?;
    score_probabilities(&probs, examples, labels)
}

/// Scores class probabilities `[examples][classes]` against the examples'
/// labels.
pub fn score_probabilities(
    probs: &[Vec<f32>],
    examples: &[Example],
    labels: &[String],
) -> Result<Evaluation> {
    let predicted: Vec<usize> = probs.iter().map(|p| argmax(p)).collect();
    let gold: Vec<usize> = examples.iter().map(|e| e.label).collect();
    let probs64: Vec<Vec<f64>> = probs
        .iter()
        .map(|row| row.iter().map(|&p| f64::from(p).min(1.0)).collect())
        .collect();
    let log_loss = hone_metrics::log_loss(&gold, &probs64)?;
    let gold_names: Vec<&str> = gold.iter().map(|&g| labels[g].as_str()).collect();
    let pred_names: Vec<&str> = predicted.iter().map(|&p| labels[p].as_str()).collect();
    Ok(Evaluation {
        predicted,
        report: classification_report(&gold_names, &pred_names)?,
        log_loss,
    })
}
