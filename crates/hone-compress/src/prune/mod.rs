//! Structured pruning that really shrinks the model: whole attention heads
//! and feed-forward neurons are scored ([`importance`]), the least important
//! fraction of each layer is chosen, and their rows and columns are cut out
//! of the dense tensors ([`slice`]). The pruned folder records each layer's
//! new width in `config.json` (`hone_layer_shapes`), so burn's model and the
//! CPU engine both build the smaller layers — fewer multiply-adds, not a mask.
//! [`unstructured`] is the other kind: individual weights zeroed by
//! magnitude, gradually during fine-tuning — a mask, with no speedup.
//! [`width`] cuts hidden channels, for students narrower than their teacher.

pub mod importance;
pub mod slice;
pub mod unstructured;
pub mod width;

use serde::{Deserialize, Serialize};

pub use importance::{Importance, Scores, score};
pub use slice::{Keep, remove};

use crate::{CompressError, Result};

/// How much to prune.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrunePlan {
    /// Fraction of each layer's attention heads to remove, in [0, 1).
    pub heads: f64,
    /// Fraction of each layer's feed-forward neurons to remove, in [0, 1).
    pub ffn: f64,
    pub importance: Importance,
}

impl PrunePlan {
    pub fn validate(&self) -> Result<()> {
        for (what, f) in [("--heads", self.heads), ("--ffn", self.ffn)] {
            if !(0.0..1.0).contains(&f) {
                return Err(CompressError::Invalid(format!(
                    "{what} {f} is not a fraction in [0, 1) (1 would remove the whole block)"
                )));
            }
        }
        Ok(())
    }
}

/// How many of `n` units keeping `1 - fraction` leaves (at least one).
pub fn kept_count(n: usize, fraction: f64) -> usize {
    ((n as f64 * (1.0 - fraction)).round() as usize).clamp(1, n.max(1))
}

/// Per layer, the `1 - fraction` highest-scoring units (at least one),
/// returned in their original order.
pub fn select(scores: &[Vec<f64>], fraction: f64) -> Vec<Vec<usize>> {
    let counts: Vec<usize> = scores
        .iter()
        .map(|l| kept_count(l.len(), fraction))
        .collect();
    select_counts(scores, &counts)
}

/// Per layer, the `counts[layer]` highest-scoring units, in their original order.
pub fn select_counts(scores: &[Vec<f64>], counts: &[usize]) -> Vec<Vec<usize>> {
    scores
        .iter()
        .zip(counts)
        .map(|(layer, &keep)| {
            let mut order: Vec<usize> = (0..layer.len()).collect();
            // Highest score first; ties broken by position so runs repeat.
            order.sort_by(|&a, &b| layer[b].total_cmp(&layer[a]).then(a.cmp(&b)));
            order.truncate(keep.clamp(1, layer.len().max(1)));
            order.sort_unstable();
            order
        })
        .collect()
}

/// Kept heads and feed-forward neurons per layer after round `round` of
/// `rounds` of iterative pruning by `plan`, counted on the original model
/// (`config`) so the last round lands on the one-shot widths exactly.
#[derive(Clone, Debug, PartialEq)]
pub struct Widths {
    pub heads: Vec<usize>,
    pub ffn: Vec<usize>,
}

impl PrunePlan {
    pub fn widths_after(
        &self,
        config: &hone_model::BertConfig,
        round: usize,
        rounds: usize,
    ) -> Widths {
        let share = round as f64 / rounds.max(1) as f64;
        let layers = 0..config.num_hidden_layers;
        Widths {
            heads: layers
                .clone()
                .map(|l| kept_count(config.layer(l).heads, self.heads * share))
                .collect(),
            ffn: layers
                .map(|l| kept_count(config.layer(l).intermediate_size, self.ffn * share))
                .collect(),
        }
    }
}

/// What pruning did, saved as `hone_prune.json` in the pruned folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PruneReport {
    pub plan: PrunePlan,
    /// Heads kept per layer (indices into the source's heads).
    pub kept_heads: Vec<Vec<usize>>,
    /// Feed-forward width kept per layer.
    pub kept_ffn: Vec<usize>,
    pub params_before: usize,
    pub params_after: usize,
    /// Texts the activation importance was measured on (0 for magnitude).
    pub calibration_texts: usize,
    /// Unstructured magnitude pruning, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unstructured: Option<UnstructuredReport>,
}

/// What unstructured pruning did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnstructuredReport {
    pub target: f64,
    pub scope: unstructured::Scope,
    /// Zeros in the dense matrices of the saved model.
    pub measured: f64,
    /// Applied gradually during fine-tuning (else once, before saving).
    pub gradual: bool,
    /// Stored dense: the zeros save neither time nor space on hone's kernels.
    pub speedup: String,
}

/// The note every unstructured report carries.
pub const NO_SPEEDUP: &str = "none: the zeros are stored and multiplied densely (hone's and burn's \
kernels are dense; at sparsities that keep accuracy a sparse kernel would not beat them here)";

pub const REPORT_FILE: &str = "hone_prune.json";

impl PruneReport {
    /// This round followed by `next` as one report: kept heads as indices
    /// into the first model's heads, parameters from the first model to the
    /// last (the plan is `next`'s; the caller sets the overall one).
    pub fn then(self, next: PruneReport) -> PruneReport {
        let kept_heads = self
            .kept_heads
            .iter()
            .zip(&next.kept_heads)
            .map(|(first, second)| second.iter().map(|&i| first[i]).collect())
            .collect();
        PruneReport {
            kept_heads,
            params_before: self.params_before,
            calibration_texts: self.calibration_texts + next.calibration_texts,
            ..next
        }
    }
}

/// Scores `source`, removes the planned fraction of heads and neurons and
/// returns the smaller model with its report.
pub fn prune(
    source: &crate::SourceModel,
    plan: &PrunePlan,
    calibration: &[crate::quant::Batch],
) -> Result<(crate::SourceModel, PruneReport)> {
    plan.validate()?;
    let widths = plan.widths_after(&source.config, 1, 1);
    prune_to(source, plan, &widths, calibration)
}

/// Scores `source` and keeps `widths` of its heads and neurons per layer
/// (one round of iterative pruning by `plan`).
pub fn prune_to(
    source: &crate::SourceModel,
    plan: &PrunePlan,
    widths: &Widths,
    calibration: &[crate::quant::Batch],
) -> Result<(crate::SourceModel, PruneReport)> {
    let scores = score(source, plan.importance, calibration)?;
    let keep = Keep {
        heads: select_counts(&scores.heads, &widths.heads),
        ffn: select_counts(&scores.ffn, &widths.ffn),
    };
    let pruned = remove(source, &keep)?;
    let report = PruneReport {
        plan: *plan,
        kept_ffn: keep.ffn.iter().map(Vec::len).collect(),
        kept_heads: keep.heads,
        params_before: source.parameters(),
        params_after: pruned.parameters(),
        calibration_texts: calibration.iter().map(|b| b.batch).sum(),
        unstructured: None,
    };
    Ok((pruned, report))
}

/// Writes a pruned model as a new folder beside nothing half-done: the
/// source's tokenizer and task files, `model.safetensors`, the new
/// `config.json` and `hone_prune.json`.
pub fn save(
    pruned: &crate::SourceModel,
    report: &PruneReport,
    out_dir: &std::path::Path,
) -> Result<()> {
    crate::folder::write_model_folder(&pruned.dir, out_dir, |tmp| {
        pruned.write_f32(tmp)?;
        let path = tmp.join(REPORT_FILE);
        let json = serde_json::to_string_pretty(report).expect("report serializes");
        std::fs::write(&path, json).map_err(crate::error::io(&path))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_keeps_the_top_fraction_in_order() {
        let scores = vec![vec![0.1, 0.9, 0.5, 0.7], vec![3.0, 1.0]];
        assert_eq!(select(&scores, 0.5), vec![vec![1, 3], vec![0]]);
        assert_eq!(select(&scores, 0.0), vec![vec![0, 1, 2, 3], vec![0, 1]]);
        // Never empties a layer.
        assert_eq!(select(&scores, 0.99), vec![vec![1], vec![0]]);
    }

    #[test]
    fn rounds_reach_the_one_shot_widths() {
        let config: hone_model::BertConfig = serde_json::from_str(
            r#"{"vocab_size":10,"hidden_size":384,"num_hidden_layers":2,"num_attention_heads":12,
                "intermediate_size":1536,"max_position_embeddings":8}"#,
        )
        .unwrap();
        let plan = PrunePlan {
            heads: 0.3,
            ffn: 0.5,
            importance: Importance::Magnitude,
        };
        let one_shot = plan.widths_after(&config, 1, 1);
        assert_eq!(one_shot.heads, [8, 8]);
        assert_eq!(plan.widths_after(&config, 3, 3), one_shot);
        assert_eq!(plan.widths_after(&config, 1, 3).heads, [11, 11]);
        assert_eq!(plan.widths_after(&config, 2, 3).ffn, [1024, 1024]);
    }

    #[test]
    fn reports_of_two_rounds_compose_to_original_indices() {
        let report = |heads: Vec<Vec<usize>>, before, after| PruneReport {
            plan: PrunePlan {
                heads: 0.5,
                ffn: 0.0,
                importance: Importance::Magnitude,
            },
            kept_ffn: vec![4; heads.len()],
            kept_heads: heads,
            params_before: before,
            params_after: after,
            calibration_texts: 8,
            unstructured: None,
        };
        let first = report(vec![vec![0, 2, 3], vec![1, 2, 3]], 100, 80);
        let second = report(vec![vec![0, 2], vec![1]], 80, 60);
        let both = first.then(second);
        assert_eq!(both.kept_heads, vec![vec![0, 3], vec![2]]);
        assert_eq!((both.params_before, both.params_after), (100, 60));
        assert_eq!(both.calibration_texts, 16);
    }

    #[test]
    fn fractions_outside_zero_one_are_refused() {
        for bad in [1.0, -0.1, f64::NAN, 1.5] {
            let plan = PrunePlan {
                heads: bad,
                ffn: 0.0,
                importance: Importance::Magnitude,
            };
            let err = plan.validate().unwrap_err().to_string();
            assert!(err.contains("--heads"), "{err}");
        }
    }
}
