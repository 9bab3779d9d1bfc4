//! Distillation as a training task: the classification task's batches
//! (same data order, augmentation, class weights), with the teacher's
//! logits — from the cache, or computed on the fly for augmented texts —
//! and, when hidden-state or attention transfer is on, the teacher's layer
//! outputs or attention maps for the layers the student's stand for.

use burn::module::AutodiffModule;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use hone_model::BertInput;
use hone_tasks::classify::task::ClassifyBatch;
use hone_tasks::classify::{ClassifierTask, ClassifyTask, TextClassifier};
use hone_train::{Metrics, TrainTask};

use super::DistillConfig;
use super::loss::{attention_map_loss, hidden_state_loss, soft_target_loss};

/// One batch with what the teacher says about it.
pub struct DistillBatch<B: Backend> {
    pub base: ClassifyBatch<B>,
    pub teacher_logits: Tensor<B, 2>,
    /// The teacher layers the student's layers stand for, in student order
    /// (empty when hidden-state transfer is off).
    pub teacher_hidden: Vec<Tensor<B, 3>>,
    /// Their attention probabilities (empty when attention transfer is off).
    pub teacher_attention: Vec<Tensor<B, 4>>,
}

pub struct DistillTask<'a, B: AutodiffBackend> {
    pub base: ClassifyTask<'a, B>,
    pub teacher: TextClassifier<B::InnerBackend>,
    /// Teacher logits of each training example as written (none when every
    /// batch runs the teacher anyway).
    pub cached_logits: Option<Vec<Vec<f32>>>,
    pub config: DistillConfig,
    /// For each student layer, the teacher layer it is matched to.
    pub layer_map: Vec<usize>,
}

fn inner_input<B: AutodiffBackend>(input: &BertInput<B>) -> BertInput<B::InnerBackend> {
    BertInput {
        input_ids: input.input_ids.clone().inner(),
        attention_mask: input.attention_mask.clone().inner(),
        token_type_ids: input.token_type_ids.clone().inner(),
        key_padding: input.key_padding.clone().inner(),
    }
}

impl<B: AutodiffBackend> TrainTask<B> for DistillTask<'_, B> {
    type Model = TextClassifier<B>;
    type Batch = DistillBatch<B>;

    fn epoch_batches(&self, epoch: usize) -> Vec<Vec<usize>> {
        self.base.epoch_batches(epoch)
    }

    fn batch(
        &self,
        indices: &[usize],
        epoch: usize,
        device: &B::Device,
    ) -> hone_train::Result<Self::Batch> {
        let base = self.base.batch(indices, epoch, device)?;
        let c = &self.config;
        let (hidden, attention) = (c.hidden_weight > 0.0, c.attention_weight > 0.0);
        let batch = match &self.cached_logits {
            Some(cache) if !c.needs_teacher_layers() => {
                let classes = cache.first().map_or(0, Vec::len);
                // The cache holds one row per training text; a batch may read
                // several windows of one text.
                let texts = self.base.unit_examples(indices);
                let rows: Vec<f32> = texts.iter().flat_map(|&i| cache[i].clone()).collect();
                DistillBatch {
                    base,
                    teacher_logits: Tensor::from_data(
                        TensorData::new(rows, [indices.len(), classes]),
                        device,
                    ),
                    teacher_hidden: Vec::new(),
                    teacher_attention: Vec::new(),
                }
            }
            _ => {
                let input = inner_input(&base.input);
                let out = self.teacher.forward_layers(&input, attention);
                let teacher_hidden = if hidden {
                    self.layer_map
                        .iter()
                        .map(|&l| Tensor::from_inner(out.layers[l].clone()))
                        .collect()
                } else {
                    Vec::new()
                };
                let teacher_attention = self
                    .layer_map
                    .iter()
                    .filter(|_| attention)
                    .map(|&l| Tensor::from_inner(out.attention[l].clone()))
                    .collect();
                DistillBatch {
                    base,
                    teacher_logits: Tensor::from_inner(out.logits),
                    teacher_hidden,
                    teacher_attention,
                }
            }
        };
        Ok(batch)
    }

    fn tokens(&self, batch: &Self::Batch) -> usize {
        batch.base.tokens
    }

    fn loss(&self, model: &Self::Model, batch: Self::Batch) -> Tensor<B, 1> {
        let DistillBatch {
            base,
            teacher_logits,
            teacher_hidden,
            teacher_attention,
        } = batch;
        let f32 = burn::tensor::DType::F32;
        let c = &self.config;
        let (logits, layers, maps) = if teacher_hidden.is_empty() && teacher_attention.is_empty() {
            (model.forward(&base.input), Vec::new(), Vec::new())
        } else {
            let out = model.forward_layers(&base.input, !teacher_attention.is_empty());
            (out.logits, out.layers, out.attention)
        };
        let logits = logits.cast(f32);
        let soft = soft_target_loss(logits.clone(), teacher_logits, c.temperature);
        let hard = self.base.loss.forward(logits, base.targets);
        let mut loss = soft.mul_scalar(c.alpha) + hard.mul_scalar(1.0 - c.alpha);
        let mask = || base.input.attention_mask.clone();
        if !teacher_hidden.is_empty() {
            let n = teacher_hidden.len() as f32;
            for (student, teacher) in layers.into_iter().zip(teacher_hidden) {
                // Projected in the model's own precision (its weights are
                // half under mixed precision), compared in f32.
                let student = model.project_hidden(student).cast(f32);
                let term = hidden_state_loss(student, teacher, mask());
                loss = loss + term.mul_scalar(c.hidden_weight / n);
            }
        }
        if !teacher_attention.is_empty() {
            let n = teacher_attention.len() as f32;
            for (student, teacher) in maps.into_iter().zip(teacher_attention) {
                let term = attention_map_loss(student.cast(f32), teacher, mask());
                loss = loss + term.mul_scalar(c.attention_weight / n);
            }
        }
        loss
    }

    fn validate(
        &self,
        model: &<Self::Model as AutodiffModule<B>>::InnerModule,
    ) -> hone_train::Result<Metrics> {
        self.base.validate(model)
    }

    fn primary_metric(&self) -> &str {
        self.base.primary_metric()
    }

    fn longest(&self, n: usize) -> Vec<usize> {
        self.base.longest(n)
    }
}

impl<B: AutodiffBackend> ClassifierTask<B> for DistillTask<'_, B> {
    fn set_batch_size(&mut self, batch_size: usize) {
        self.base.set_batch_size(batch_size);
    }
}
