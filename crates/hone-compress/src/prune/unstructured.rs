//! Unstructured magnitude pruning: the smallest weights of the encoder's
//! dense layers (query, key, value, attention output, feed-forward in and
//! out — not embeddings, LayerNorms, pooler or head) set to zero, with one
//! threshold over all of them (`Global`) or one per matrix (`Layer`).
//! During fine-tuning the sparsity grows on Zhu & Gupta's cubic schedule and
//! the masks are re-applied after every optimizer step, so pruned weights
//! stay zero.
//!
//! The zeros save nothing at inference by themselves: hone's kernels (and
//! burn's) are dense, and at the sparsities that keep accuracy (≤ 90 %) a
//! sparse kernel on this CPU would not beat them. So this is a way to study
//! how much of the model is redundant, not a speedup; the report says so.

use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use hone_tasks::classify::{ClassifierTask, TextClassifier};
use hone_train::{Metrics, TrainTask};
use serde::{Deserialize, Serialize};

use crate::{CompressError, Result, SourceModel};

/// Where one magnitude threshold applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// One threshold over every pruned matrix.
    #[default]
    Global,
    /// One threshold per matrix (each loses the same fraction).
    Layer,
}

impl std::str::FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "global" => Ok(Self::Global),
            "layer" => Ok(Self::Layer),
            o => Err(format!("unknown scope {o:?} (expected global or layer)")),
        }
    }
}

/// Zhu & Gupta's gradual schedule: `final · (1 − (1 − t/T)³)` for step `t`
/// of a ramp of `T` steps, the final sparsity from step `T` on.
pub fn cubic_sparsity(step: usize, ramp_steps: usize, final_sparsity: f64) -> f64 {
    if ramp_steps == 0 || step >= ramp_steps {
        return final_sparsity;
    }
    let left = 1.0 - step as f64 / ramp_steps as f64;
    final_sparsity * (1.0 - left * left * left)
}

pub fn check_sparsity(sparsity: f64) -> Result<()> {
    if !(0.0..1.0).contains(&sparsity) {
        return Err(CompressError::Invalid(format!(
            "--unstructured {sparsity} is not a sparsity in [0, 1)"
        )));
    }
    Ok(())
}

/// For each matrix, the magnitude at or below which its weights are
/// zeroed so that a `sparsity` fraction is (`Global`: of all of them).
pub fn thresholds(matrices: &[&[f32]], sparsity: f64, scope: Scope) -> Vec<f32> {
    let kth = |values: &mut Vec<f32>| -> f32 {
        let k = (values.len() as f64 * sparsity).round() as usize;
        if k == 0 {
            return -1.0; // nothing pruned: no magnitude is ≤ −1
        }
        let (_, v, _) = values.select_nth_unstable_by(k - 1, f32::total_cmp);
        *v
    };
    match scope {
        Scope::Global => {
            let mut all: Vec<f32> = matrices
                .iter()
                .flat_map(|m| m.iter().map(|v| v.abs()))
                .collect();
            vec![kth(&mut all); matrices.len()]
        }
        Scope::Layer => matrices
            .iter()
            .map(|m| kth(&mut m.iter().map(|v| v.abs()).collect()))
            .collect(),
    }
}

const PRUNED: [&str; 6] = [
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
];

/// One-shot magnitude pruning of a model folder's dense weights; returns
/// the fraction of them now zero.
pub fn prune_source(source: &mut SourceModel, sparsity: f64, scope: Scope) -> Result<f64> {
    check_sparsity(sparsity)?;
    let names: Vec<String> = (0..source.config.num_hidden_layers)
        .flat_map(|l| PRUNED.map(|p| format!("encoder.layer.{l}.{p}.weight")))
        .collect();
    let limits = {
        let matrices: Vec<&[f32]> = names.iter().map(|n| source.encoder[n].as_slice()).collect();
        thresholds(&matrices, sparsity, scope)
    };
    let (mut zero, mut total) = (0usize, 0usize);
    for (name, limit) in names.iter().zip(limits) {
        let m = source.encoder.get_mut(name).expect("listed above");
        for v in m.iter_mut() {
            if v.abs() <= limit {
                *v = 0.0;
            }
        }
        zero += m.iter().filter(|&&v| v == 0.0).count();
        total += m.len();
    }
    Ok(zero as f64 / total.max(1) as f64)
}

fn dense_layers<B: Backend>(model: &mut TextClassifier<B>) -> Vec<&mut Linear<B>> {
    model
        .encoder
        .layers
        .iter_mut()
        .flat_map(|l| {
            let a = &mut l.attention;
            let f = &mut l.feed_forward;
            [
                &mut a.query,
                &mut a.key,
                &mut a.value,
                &mut a.output,
                &mut f.intermediate,
                &mut f.output,
            ]
        })
        .collect()
}

/// Zeroes the smallest weights of a model's dense layers through `mask`
/// (which multiplies a weight by its keep-mask on the right tape).
fn prune_with<B: Backend>(
    mut model: TextClassifier<B>,
    sparsity: f64,
    scope: Scope,
    mask: impl Fn(Tensor<B, 2>, f32) -> Tensor<B, 2>,
) -> TextClassifier<B> {
    if sparsity <= 0.0 {
        return model;
    }
    let mut layers = dense_layers(&mut model);
    let host: Vec<Vec<f32>> = layers
        .iter()
        .map(|l| {
            l.weight
                .val()
                .into_data()
                .convert::<f32>()
                .to_vec()
                .expect("f32")
        })
        .collect();
    let refs: Vec<&[f32]> = host.iter().map(Vec::as_slice).collect();
    let limits = thresholds(&refs, sparsity, scope);
    for (linear, limit) in layers.iter_mut().zip(limits) {
        // `map` keeps the parameter's id, so the optimizer state stays attached.
        linear.weight = linear.weight.clone().map(|w| mask(w, limit));
    }
    model
}

/// Prunes a model being trained: the mask is applied outside the autodiff
/// graph and the result is a leaf that requires gradients again.
pub fn prune_model<B: AutodiffBackend>(
    model: TextClassifier<B>,
    sparsity: f64,
    scope: Scope,
) -> TextClassifier<B> {
    prune_with(model, sparsity, scope, |w, limit| {
        let inner = w.inner();
        let keep = inner.clone().abs().greater_elem(limit).float();
        Tensor::from_inner(inner * keep).require_grad()
    })
}

/// Prunes a model outside training.
pub fn prune_inference_model<B: Backend>(
    model: TextClassifier<B>,
    sparsity: f64,
    scope: Scope,
) -> TextClassifier<B> {
    prune_with(model, sparsity, scope, |w, limit| {
        let keep = w.clone().abs().greater_elem(limit).float();
        w * keep
    })
}

/// A classifier task with gradual magnitude pruning: after each optimizer
/// step the model is pruned to the schedule's sparsity.
pub struct SparseTask<T> {
    pub inner: T,
    pub final_sparsity: f64,
    pub scope: Scope,
    /// Steps over which the sparsity ramps up (then it stays final).
    pub ramp_steps: usize,
}

impl<B: AutodiffBackend, T: ClassifierTask<B>> TrainTask<B> for SparseTask<T> {
    type Model = TextClassifier<B>;
    type Batch = T::Batch;

    fn epoch_batches(&self, epoch: usize) -> Vec<Vec<usize>> {
        self.inner.epoch_batches(epoch)
    }
    fn batch(
        &self,
        indices: &[usize],
        epoch: usize,
        device: &B::Device,
    ) -> hone_train::Result<T::Batch> {
        self.inner.batch(indices, epoch, device)
    }
    fn tokens(&self, batch: &T::Batch) -> usize {
        self.inner.tokens(batch)
    }
    fn loss(&self, model: &Self::Model, batch: T::Batch) -> Tensor<B, 1> {
        self.inner.loss(model, batch)
    }
    fn validate(
        &self,
        model: &<Self::Model as burn::module::AutodiffModule<B>>::InnerModule,
    ) -> hone_train::Result<Metrics> {
        self.inner.validate(model)
    }
    fn primary_metric(&self) -> &str {
        self.inner.primary_metric()
    }
    fn longest(&self, n: usize) -> Vec<usize> {
        self.inner.longest(n)
    }
    fn after_step(&self, model: Self::Model, step: usize) -> Self::Model {
        let model = self.inner.after_step(model, step);
        let sparsity = cubic_sparsity(step, self.ramp_steps, self.final_sparsity);
        prune_model(model, sparsity, self.scope)
    }
}

impl<B: AutodiffBackend, T: ClassifierTask<B>> ClassifierTask<B> for SparseTask<T> {
    fn set_batch_size(&mut self, batch_size: usize) {
        self.inner.set_batch_size(batch_size);
    }
    fn finish(&self, model: TextClassifier<B::InnerBackend>) -> TextClassifier<B::InnerBackend> {
        // The best checkpoint may predate the final sparsity.
        prune_inference_model(self.inner.finish(model), self.final_sparsity, self.scope)
    }
}

/// Gradual magnitude pruning during training: the final sparsity, where
/// its threshold applies, and the share of the run the ramp takes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradualPruning {
    pub sparsity: f64,
    pub scope: Scope,
    /// Fraction of all optimizer steps over which the sparsity ramps up;
    /// the rest trains at the final sparsity.
    pub ramp: f64,
}

impl GradualPruning {
    /// `task` pruned on this schedule, for a run of `config`'s epochs.
    pub fn wrap<B: AutodiffBackend, T: ClassifierTask<B>>(
        &self,
        task: T,
        config: &hone_train::TrainConfig,
    ) -> SparseTask<T> {
        let micro = task.epoch_batches(0).len();
        let total = config.steps_per_epoch(micro) * config.epochs;
        let total = config.max_steps.map_or(total, |m| m.min(total));
        SparseTask {
            inner: task,
            final_sparsity: self.sparsity,
            scope: self.scope,
            ramp_steps: ((total as f64 * self.ramp).round() as usize).max(1),
        }
    }
}

/// `hone finetune` with gradual magnitude pruning: the classifier in the
/// job is fine-tuned on its labels while its dense weights are pruned.
pub fn finetune_sparse<B: AutodiffBackend>(
    job: hone_tasks::classify::FinetuneJob<'_>,
    pruning: GradualPruning,
    device: &B::Device,
) -> Result<hone_tasks::classify::FinetuneMetrics> {
    use hone_tasks::classify::{RecipeRun, classify_task, initial_model, prepare, train_and_save};
    check_sparsity(pruning.sparsity)?;
    let mut config = job.config;
    let tokenizer = prepare(job.model_dir, job.out_dir, &config)?;
    B::seed(device, config.train.seed);
    let model = initial_model::<B>(job.model_dir, job.data, &mut config, device)?;
    let task = classify_task(
        job.data,
        &tokenizer,
        &config,
        model.encoder.limits(),
        job.wordnet,
        device,
    )?;
    let mut task = pruning.wrap(task, &config.train);
    let run = RecipeRun {
        source_dir: job.model_dir,
        model_name: job.model_name,
        data: job.data,
        tokenizer: &tokenizer,
        out_dir: job.out_dir,
        config,
        options: job.options,
    };
    Ok(train_and_save(&mut task, model, run, device)?)
}

/// The fraction of zero weights in a model folder's pruned matrices.
pub fn measured_sparsity(source: &SourceModel) -> f64 {
    let (mut zero, mut total) = (0usize, 0usize);
    for l in 0..source.config.num_hidden_layers {
        for p in PRUNED {
            if let Some(m) = source.encoder.get(&format!("encoder.layer.{l}.{p}.weight")) {
                zero += m.iter().filter(|&&v| v == 0.0).count();
                total += m.len();
            }
        }
    }
    zero as f64 / total.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cubic_schedule_matches_its_closed_form() {
        assert_eq!(cubic_sparsity(0, 100, 0.8), 0.0);
        assert!((cubic_sparsity(50, 100, 0.8) - 0.8 * (1.0 - 0.125)).abs() < 1e-12);
        assert_eq!(cubic_sparsity(100, 100, 0.8), 0.8);
        assert_eq!(cubic_sparsity(500, 100, 0.8), 0.8);
        assert_eq!(cubic_sparsity(3, 0, 0.5), 0.5);
        // Monotone.
        let s: Vec<f64> = (0..=100).map(|t| cubic_sparsity(t, 100, 0.9)).collect();
        assert!(s.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn thresholds_prune_the_requested_fraction() {
        let a = [0.1f32, -0.2, 0.3, -0.4];
        let b = [1.0f32, 2.0, -3.0, 4.0];
        let g = thresholds(&[&a, &b], 0.5, Scope::Global);
        assert_eq!(g, vec![0.4, 0.4]); // the four smallest magnitudes are a's
        let l = thresholds(&[&a, &b], 0.5, Scope::Layer);
        assert_eq!(l, vec![0.2, 2.0]);
        assert_eq!(thresholds(&[&a], 0.0, Scope::Layer), vec![-1.0]);
        assert!(check_sparsity(1.0).is_err());
        assert!(check_sparsity(-0.1).is_err());
    }
}
