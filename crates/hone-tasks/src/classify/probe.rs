//! Linear-probe head initialization, the first half of LP-FT (Kumar et al.,
//! 2022, "Fine-Tuning can Distort Pretrained Features and Underperform
//! Out-of-Distribution"): before any weight moves, the head is fitted by
//! L2-regularized logistic regression ([`super::softmax_regression`]) on
//! the frozen encoder's pooled features of the training split. Fine-tuning
//! then starts from a head that already separates the classes rather than
//! from a random one, whose large early gradients reshape the pretrained
//! features while the head is still meaningless.
//!
//! The features are read as validation reads a text (all its windows,
//! averaged, when the tokenizer reads windows), in inference mode (no
//! dropout). They do not depend on the seed, so with a cache folder they
//! are computed once and reused by later runs ([`super::probe_cache`]).

use std::path::Path;
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use hone_data::tokenize::TextTokenizer;
use serde::{Deserialize, Serialize};

use super::data::ClassifyData;
use super::model::TextClassifier;
use super::predict::pooled_features_of_pieces;
use super::probe_cache::{CachedFeatures, cached_pooled_features};
use super::softmax_regression;
use crate::{Result, TaskError};

/// scikit-learn's default inverse regularization strength.
pub const PROBE_C: f64 = 1.0;

/// How the head a run starts from is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadInit {
    /// burn's default initialization of a linear layer (seeded).
    #[default]
    Random,
    /// A linear probe on the frozen encoder's features (LP-FT).
    Probe,
}

impl std::str::FromStr for HeadInit {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "random" => Ok(Self::Random),
            "probe" => Ok(Self::Probe),
            o => Err(format!(
                "unknown head init {o:?} (expected random or probe)"
            )),
        }
    }
}

/// What the probe fit found, written to `head_probe.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// Accuracy of the probe on the training split it was fitted to.
    pub train_accuracy: f64,
    pub c: f64,
    pub iterations: usize,
    /// Largest gradient component at the end, relative to C × rows.
    pub gradient: f64,
    /// Seconds to compute (or read) the features and fit.
    pub seconds: f64,
    /// Whether the features were read from the cache of an earlier run.
    #[serde(default)]
    pub features_from_cache: bool,
    /// Why the feature cache could not be used (the run went on without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_error: Option<String>,
}

/// Texts per inference batch when computing the features.
const FEATURE_BATCH: usize = 64;

/// Fits `model`'s head on the pooled features of `data.train` and puts it
/// in place. With `cache`, the features are read from that folder when an
/// earlier run computed them from identical inputs, and stored there
/// otherwise.
pub fn fit_probe_head<B: AutodiffBackend>(
    model: &mut TextClassifier<B>,
    tokenizer: &TextTokenizer,
    data: &ClassifyData,
    cache: Option<&Path>,
    device: &B::Device,
) -> Result<ProbeReport> {
    let start = Instant::now();
    let texts: Vec<&str> = data.train.iter().map(|e| e.text.as_str()).collect();
    let pieces = tokenizer.encode_pieces(&texts)?;
    let frozen = model.valid();
    let CachedFeatures {
        rows,
        from_cache: features_from_cache,
        cache_error,
    } = match cache {
        Some(dir) => cached_pooled_features(&frozen, &pieces, FEATURE_BATCH, dir, device)?,
        None => CachedFeatures {
            rows: pooled_features_of_pieces(&frozen, &pieces, FEATURE_BATCH, device)?,
            from_cache: false,
            cache_error: None,
        },
    };
    let features = rows.first().map_or(0, Vec::len);
    let x: Vec<f64> = rows.iter().flatten().map(|&v| f64::from(v)).collect();
    let labels: Vec<usize> = data.train.iter().map(|e| e.label).collect();
    let fitted = softmax_regression::fit(&x, features, &labels, model.classes(), PROBE_C)
        .map_err(|e| TaskError::Config(format!("linear probe: {e}")))?;
    let correct = x
        .chunks(features.max(1))
        .zip(&labels)
        .filter(|(row, y)| argmax_f64(&fitted.predict_proba(row)) == **y)
        .count();
    model.set_head(
        fitted.weight.iter().map(|&w| w as f32).collect(),
        fitted.bias.iter().map(|&b| b as f32).collect(),
    )?;
    Ok(ProbeReport {
        train_accuracy: correct as f64 / labels.len() as f64,
        c: PROBE_C,
        iterations: fitted.iterations,
        gradient: fitted.gradient,
        seconds: start.elapsed().as_secs_f64(),
        features_from_cache,
        cache_error,
    })
}

/// The index of the largest probability (first on ties).
fn argmax_f64(row: &[f64]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}
