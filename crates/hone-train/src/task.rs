//! The contract between the training loop and a task: the task owns the
//! data, the model's forward pass and loss, and the validation metric; the
//! loop owns optimization, precision, schedules, checkpoints and logs.

use std::collections::BTreeMap;

use burn::module::AutodiffModule;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;

use crate::Result;

/// Validation metrics by name (higher is better for the primary one).
pub type Metrics = BTreeMap<String, f64>;

/// What a task supplies to [`crate::Trainer`].
pub trait TrainTask<B: AutodiffBackend> {
    type Model: AutodiffModule<B> + Clone;
    type Batch;

    /// The micro-batches of `epoch` as lists of training-example indices.
    /// Must be a pure function of the epoch (seeded), so a resumed run sees
    /// the same batches.
    fn epoch_batches(&self, epoch: usize) -> Vec<Vec<usize>>;

    /// Builds a batch on `device`; augmentation is seeded by `epoch` and the
    /// example index.
    fn batch(&self, indices: &[usize], epoch: usize, device: &B::Device) -> Result<Self::Batch>;

    /// Real (non-padding) tokens in a batch, for tokens/s.
    fn tokens(&self, batch: &Self::Batch) -> usize;

    /// The mean loss over the batch, a one-element f32 tensor.
    fn loss(&self, model: &Self::Model, batch: Self::Batch) -> Tensor<B, 1>;

    /// Metrics of `model` on the validation split.
    fn validate(&self, model: &<Self::Model as AutodiffModule<B>>::InnerModule) -> Result<Metrics>;

    /// The metric that early stopping and "best checkpoint" maximize.
    fn primary_metric(&self) -> &str;

    /// A validation metric, lower is better, that decides between
    /// validations equal on the primary metric; `None` keeps the earlier
    /// one. With a few hundred validation examples accuracy often ties
    /// between checkpoints (BBC News: 2 of 223 wrong at several steps),
    /// and then the first to reach it — a model still at its peak learning
    /// rate — would win by default, though the loss still ranks them.
    fn tie_break_metric(&self) -> Option<&str> {
        None
    }

    /// Called with the model after each optimizer step (`step` counts from
    /// 1); tasks that constrain the weights (pruning masks) re-apply them
    /// here. The default leaves the model as it is.
    fn after_step(&self, model: Self::Model, step: usize) -> Self::Model {
        let _ = step;
        model
    }

    /// Up to `n` training examples that make the costliest batch (the
    /// longest), for the batch-size finder. The default takes the first `n`.
    fn longest(&self, n: usize) -> Vec<usize> {
        let available = self.epoch_batches(0).iter().map(Vec::len).sum::<usize>();
        (0..n.min(available)).collect()
    }
}
