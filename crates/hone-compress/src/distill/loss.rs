//! The distillation losses, over burn tensors so they train on any backend.
//!
//! Soft targets (Hinton et al.): KL(softmax(t/T) ‖ softmax(s/T)) averaged
//! over the batch and multiplied by T², so its gradients keep the same
//! scale as the hard-label loss whatever the temperature; mixed as
//! `α · soft + (1 − α) · hard`. Hidden states: mean squared error over real
//! tokens between a student layer and the teacher layer it stands for.

use burn::prelude::*;
use burn::tensor::activation::{log_softmax, softmax};

/// `T² · mean_batch KL(softmax(teacher/T) ‖ softmax(student/T))`.
pub fn soft_target_loss<B: Backend>(
    student: Tensor<B, 2>,
    teacher: Tensor<B, 2>,
    temperature: f32,
) -> Tensor<B, 1> {
    let [batch, _] = student.dims();
    let t = temperature;
    let teacher_log = log_softmax(teacher.clone() / t, 1);
    let teacher_p = softmax(teacher / t, 1);
    let student_log = log_softmax(student / t, 1);
    let kl = (teacher_p * (teacher_log - student_log)).sum();
    kl.mul_scalar(t * t / batch as f32)
}

/// Mean squared error between hidden states over real tokens: the sum of
/// squared differences at unmasked positions over `real tokens × width`.
pub fn hidden_state_loss<B: Backend>(
    student: Tensor<B, 3>,
    teacher: Tensor<B, 3>,
    attention_mask: Tensor<B, 2, Int>,
) -> Tensor<B, 1> {
    let [_, _, width] = student.dims();
    let mask = attention_mask.float();
    let real = mask.clone().sum().into_scalar().elem::<f32>().max(1.0);
    let diff = student - teacher;
    let per_token = (diff.clone() * diff).sum_dim(2).squeeze_dim::<2>(2);
    (per_token * mask).sum().div_scalar(real * width as f32)
}

/// Attention transfer (TinyBERT-style): squared error between the student's
/// and the teacher's attention probabilities of one layer, summed over keys
/// and averaged over heads and real query tokens. Padding keys carry zero
/// probability in both, so they add nothing.
pub fn attention_map_loss<B: Backend>(
    student: Tensor<B, 4>,
    teacher: Tensor<B, 4>,
    attention_mask: Tensor<B, 2, Int>,
) -> Tensor<B, 1> {
    let [_, heads, _, _] = student.dims();
    let mask = attention_mask.float();
    let real = mask.clone().sum().into_scalar().elem::<f32>().max(1.0);
    let diff = student - teacher;
    let per_query = (diff.clone() * diff)
        .sum_dim(3)
        .squeeze_dim::<3>(3)
        .sum_dim(1)
        .squeeze_dim::<2>(1);
    (per_query * mask).sum().div_scalar(real * heads as f32)
}
