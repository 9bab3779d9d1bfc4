//! What the optimize report measures for each stage, all in one process so
//! the figures compare: test accuracy and macro-F1 on hone's CPU engine
//! (the same engine for f32 and int8 folders), parameters, bytes on disk,
//! and median latency at batch 1 and batch 32 × `seq` tokens.

use std::path::{Path, PathBuf};

use hone_compress::SourceModel;
use hone_compress::quant;
use hone_tasks::classify::{ClassifyData, argmax};
use serde::Serialize;

use crate::bench::{full_batch, time};
use crate::fast::FastClassifier;
use crate::{Error, Result};

/// One row of the report.
#[derive(Clone, Debug, Serialize)]
pub struct StageMeasure {
    pub stage: String,
    pub dir: PathBuf,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub parameters: usize,
    pub bytes_on_disk: u64,
    pub latency_b1_ms: f64,
    pub latency_b32_ms: f64,
    /// Teacher latency over this stage's (filled in by the report).
    pub speedup_b1: f64,
    pub speedup_b32: f64,
}

/// Latency settings.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LatencySetup {
    pub seq: usize,
    /// Timed runs at batch 1 (the median is reported).
    pub runs_b1: usize,
    pub runs_b32: usize,
}

/// Measures the classifier folder `dir` (f32 or quantized).
pub fn measure(
    stage: &str,
    dir: &Path,
    data: &ClassifyData,
    latency: LatencySetup,
) -> Result<StageMeasure> {
    let classifier = FastClassifier::load(dir)?;
    if classifier.info.labels != data.labels {
        return Err(Error::Invalid(format!(
            "{} predicts labels {:?} but the data has {:?}",
            dir.display(),
            classifier.info.labels,
            data.labels
        )));
    }
    let texts: Vec<&str> = data.test.iter().map(|e| e.text.as_str()).collect();
    let probs = classifier.predict_proba(&texts, 64)?;
    let gold: Vec<&str> = data
        .test
        .iter()
        .map(|e| data.labels[e.label].as_str())
        .collect();
    let predicted: Vec<&str> = probs
        .iter()
        .map(|p| data.labels[argmax(p)].as_str())
        .collect();
    let report = hone_metrics::classification_report(&gold, &predicted)
        .map_err(|e| Error::Invalid(e.to_string()))?;
    let (parameters, weights_file) = if quant::is_quantized(dir) {
        (
            engine_parameters(&classifier),
            dir.join(quant::WEIGHTS_FILE),
        )
    } else {
        (
            SourceModel::open(dir)?.parameters(),
            dir.join("model.safetensors"),
        )
    };
    let bytes_on_disk = std::fs::metadata(&weights_file)
        .map_err(|source| Error::Io {
            path: weights_file.clone(),
            source,
        })?
        .len();
    let timing = |batch: usize, runs: usize| -> Result<f64> {
        let input = full_batch(dir, batch, latency.seq)?;
        let mut failed = None;
        let t = time(runs, || {
            if let Err(e) = classifier.engine.forward(input.tokens()) {
                failed = Some(e);
            }
        });
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(t.median_ms),
        }
    };
    Ok(StageMeasure {
        stage: stage.into(),
        dir: dir.into(),
        accuracy: report.accuracy,
        macro_f1: report.macro_avg.f1,
        parameters,
        bytes_on_disk,
        latency_b1_ms: timing(1, latency.runs_b1)?,
        latency_b32_ms: timing(32, latency.runs_b32)?,
        speedup_b1: 1.0,
        speedup_b32: 1.0,
    })
}

/// Parameters of a quantized model: every stored weight, whatever its width.
fn engine_parameters(c: &FastClassifier) -> usize {
    let e = &c.engine;
    let h = e.config.hidden_size;
    let norms = 2 * h;
    let embeddings =
        (e.config.vocab_size + e.position.len() / h + e.token_type.len() / h) * h + norms;
    let blocks: usize = e
        .blocks
        .iter()
        .map(|b| {
            [&b.qkv, &b.attention_out, &b.ffn_in, &b.ffn_out]
                .iter()
                .map(|l| l.d_in * l.d_out + l.d_out)
                .sum::<usize>()
                + 2 * norms
        })
        .sum();
    let head = c.info.labels.len() * (h + 1);
    embeddings + blocks + head + c.pooler_parameters()
}
