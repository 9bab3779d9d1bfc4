//! Accuracy-driven fallback: keep the dense layers that quantization hurts
//! most in f32 until the quality loss is within a budget.
//!
//! The caller supplies the metric (higher is better, e.g. validation
//! accuracy of a classifier on the engine). The candidates are every dense
//! layer and the word-embedding table. Sensitivity of a candidate is what
//! the metric regains when only it goes back to f32 (one
//! quantization and one evaluation per layer); layers are then restored in
//! order of sensitivity, re-evaluating after each, until
//! `f32 metric − metric ≤ budget` or every layer is f32.

use hone_model::engine::{FastBert, LinearId, Role, Storage};

use super::{Plan, QuantizedModel, SourceModel, quantize};
use crate::Result;

/// What the fallback did.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FallbackReport {
    pub budget: f64,
    pub f32_metric: f64,
    /// The metric with every layer quantized.
    pub quantized_metric: f64,
    /// The metric of the returned model.
    pub final_metric: f64,
    /// What was kept in f32, most sensitive first.
    pub kept: Vec<Candidate>,
    /// Every candidate's sensitivity (metric regained when kept in f32).
    pub sensitivity: Vec<(Candidate, f64)>,
}

/// Something the fallback can leave in f32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Candidate {
    Linear(LinearId),
    WordEmbeddings,
}

impl std::fmt::Display for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Candidate::Linear(id) => id.fmt(f),
            Candidate::WordEmbeddings => f.write_str("word embeddings"),
        }
    }
}

fn keep(plan: &mut Plan, c: Candidate) {
    match c {
        Candidate::Linear(id) => {
            plan.keep_f32.insert(id);
        }
        Candidate::WordEmbeddings => plan.keep_f32_embeddings = true,
    }
}

/// Quantizes `source` as `plan` says, then keeps layers in f32 until the
/// metric is within `budget` of the f32 model's.
pub fn quantize_within_budget(
    source: &SourceModel,
    plan: &Plan,
    budget: f64,
    metric: &mut dyn FnMut(&FastBert) -> Result<f64>,
    progress: &mut dyn FnMut(&str),
) -> Result<(QuantizedModel, FallbackReport)> {
    let f32_metric = metric(&source.engine(|_| Storage::F32)?)?;
    let mut model = quantize(source, plan)?;
    let quantized_metric = metric(&model.engine)?;
    progress(&format!(
        "f32 {f32_metric:.4}, all quantized {quantized_metric:.4}"
    ));
    let mut report = FallbackReport {
        budget,
        f32_metric,
        quantized_metric,
        final_metric: quantized_metric,
        kept: Vec::new(),
        sensitivity: Vec::new(),
    };
    if f32_metric - quantized_metric <= budget {
        return Ok((model, report));
    }
    let mut candidates: Vec<Candidate> = (0..source.config.num_hidden_layers)
        .flat_map(|layer| Role::ALL.map(|role| LinearId { layer, role }))
        .filter(|id| !plan.keep_f32.contains(id))
        .map(Candidate::Linear)
        .collect();
    if !plan.keep_f32_embeddings {
        candidates.push(Candidate::WordEmbeddings);
    }
    for c in &candidates {
        let mut trial = plan.clone();
        keep(&mut trial, *c);
        let m = metric(&quantize(source, &trial)?.engine)?;
        progress(&format!("sensitivity of {c}: {:+.4}", m - quantized_metric));
        report.sensitivity.push((*c, m - quantized_metric));
    }
    let mut order = report.sensitivity.clone();
    // Stable: ties keep layer order.
    order.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut current = plan.clone();
    for (c, _) in order {
        keep(&mut current, c);
        report.kept.push(c);
        model = quantize(source, &current)?;
        report.final_metric = metric(&model.engine)?;
        progress(&format!(
            "kept {} in f32: {:.4}",
            report.kept.len(),
            report.final_metric
        ));
        if f32_metric - report.final_metric <= budget {
            break;
        }
    }
    Ok((model, report))
}
