//! Inference with a classifier: texts → tokenized batches (sorted by length,
//! so little padding) → logits → labels and probabilities in input order,
//! and the metrics of a labelled split.

use burn::prelude::*;
use hone_data::datasets::Example;
use hone_data::tokenize::TextTokenizer;
use hone_metrics::{ClassificationReport, classification_report};

use super::model::TextClassifier;
use crate::Result;

/// Class probabilities `[texts][classes]` of `texts`, in input order.
pub fn predict_proba<B: Backend>(
    model: &TextClassifier<B>,
    tokenizer: &TextTokenizer,
    texts: &[&str],
    batch_size: usize,
    device: &B::Device,
) -> Result<Vec<Vec<f32>>> {
    let mut rows = predict_logits(model, tokenizer, texts, batch_size, device)?;
    for row in &mut rows {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        row.iter_mut().for_each(|v| *v = (*v - max).exp());
        let sum: f32 = row.iter().sum();
        row.iter_mut().for_each(|v| *v /= sum);
    }
    Ok(rows)
}

/// Logits `[texts][classes]` of `texts`, in input order.
pub fn predict_logits<B: Backend>(
    model: &TextClassifier<B>,
    tokenizer: &TextTokenizer,
    texts: &[&str],
    batch_size: usize,
    device: &B::Device,
) -> Result<Vec<Vec<f32>>> {
    let lengths = tokenizer.token_lengths(texts)?;
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| lengths[i]);
    let limits = model.encoder.limits();
    let mut out = vec![Vec::new(); texts.len()];
    for chunk in order.chunks(batch_size.max(1)) {
        let batch_texts: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
        let enc = tokenizer.encode_batch(&batch_texts)?;
        let input = limits.input::<B>(
            enc.batch,
            enc.seq_len,
            &enc.input_ids,
            &enc.attention_mask,
            &enc.token_type_ids,
            device,
        )?;
        let logits = model.forward(&input);
        let classes = logits.dims()[1];
        let values = logits
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .expect("f32 after convert");
        for (row, &i) in values.chunks(classes).zip(chunk) {
            out[i] = row.to_vec();
        }
    }
    Ok(out)
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

/// Predicted label indices of `examples`, and the classification report
/// against their gold labels (label names as the report's keys).
pub fn evaluate<B: Backend>(
    model: &TextClassifier<B>,
    tokenizer: &TextTokenizer,
    examples: &[Example],
    labels: &[String],
    batch_size: usize,
    device: &B::Device,
) -> Result<(Vec<usize>, ClassificationReport)> {
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let probs = predict_proba(model, tokenizer, &texts, batch_size, device)?;
    let predicted: Vec<usize> = probs.iter().map(|p| argmax(p)).collect();
    let gold_names: Vec<&str> = examples.iter().map(|e| labels[e.label].as_str()).collect();
    let pred_names: Vec<&str> = predicted.iter().map(|&p| labels[p].as_str()).collect();
    Ok((predicted, classification_report(&gold_names, &pred_names)?))
}
