//! Distillation as a training task: the classification task's batches
//! (same data order, augmentation, class weights), with the teacher's
//! logits — from the cache, or computed on the fly for augmented texts —
//! and, when hidden-state transfer is on, the teacher's layer outputs.

use burn::module::AutodiffModule;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use hone_model::BertInput;
use hone_tasks::classify::task::ClassifyBatch;
use hone_tasks::classify::{ClassifierTask, ClassifyTask, TextClassifier};
use hone_train::{Metrics, TrainTask};

use super::DistillConfig;
use super::loss::{hidden_state_loss, soft_target_loss};

/// One batch with what the teacher says about it.
pub struct DistillBatch<B: Backend> {
    pub base: ClassifyBatch<B>,
    pub teacher_logits: Tensor<B, 2>,
    /// The teacher layers the student's layers stand for, in student order
    /// (empty when hidden-state transfer is off).
    pub teacher_hidden: Vec<Tensor<B, 3>>,
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
        let hidden = self.config.hidden_weight > 0.0;
        let (teacher_logits, teacher_hidden) = match (&self.cached_logits, hidden) {
            (Some(cache), false) => {
                let classes = cache.first().map_or(0, Vec::len);
                let rows: Vec<f32> = indices.iter().flat_map(|&i| cache[i].clone()).collect();
                let logits =
                    Tensor::from_data(TensorData::new(rows, [indices.len(), classes]), device);
                (logits, Vec::new())
            }
            _ => {
                let input = inner_input(&base.input);
                let (logits, layers) = self.teacher.forward_layers(&input);
                let picked = if hidden {
                    self.layer_map
                        .iter()
                        .map(|&l| Tensor::from_inner(layers[l].clone()))
                        .collect()
                } else {
                    Vec::new()
                };
                (Tensor::from_inner(logits), picked)
            }
        };
        Ok(DistillBatch {
            base,
            teacher_logits,
            teacher_hidden,
        })
    }

    fn tokens(&self, batch: &Self::Batch) -> usize {
        batch.base.tokens
    }

    fn loss(&self, model: &Self::Model, batch: Self::Batch) -> Tensor<B, 1> {
        let DistillBatch {
            base,
            teacher_logits,
            teacher_hidden,
        } = batch;
        let f32 = burn::tensor::DType::F32;
        let (logits, layers) = if teacher_hidden.is_empty() {
            (model.forward(&base.input), Vec::new())
        } else {
            model.forward_layers(&base.input)
        };
        let logits = logits.cast(f32);
        let c = &self.config;
        let soft = soft_target_loss(logits.clone(), teacher_logits, c.temperature);
        let hard = self.base.loss.forward(logits, base.targets);
        let mut loss = soft.mul_scalar(c.alpha) + hard.mul_scalar(1.0 - c.alpha);
        if !teacher_hidden.is_empty() {
            let n = teacher_hidden.len() as f32;
            for (student, teacher) in layers.into_iter().zip(teacher_hidden) {
                let term = hidden_state_loss(
                    student.cast(f32),
                    teacher,
                    base.input.attention_mask.clone(),
                );
                loss = loss + term.mul_scalar(c.hidden_weight / n);
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
