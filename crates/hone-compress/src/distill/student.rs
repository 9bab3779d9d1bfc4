//! A student made from the teacher: a chosen subset of its layers (in
//! order, renumbered), with the embeddings, pooler and classification head
//! copied, so training starts from the teacher's own features.

use crate::{CompressError, Result, SourceModel};

/// `count` teacher layers spread evenly up to and including the last (for 6
/// → 3: 1, 3, 5), so the student's top layer is the one the head was
/// trained on.
pub fn spaced_layers(teacher_layers: usize, count: usize) -> Result<Vec<usize>> {
    if count == 0 || count > teacher_layers {
        return Err(CompressError::Invalid(format!(
            "a student needs between 1 and the teacher's {teacher_layers} layers, not {count}"
        )));
    }
    Ok((1..=count)
        .map(|i| i * teacher_layers / count - 1)
        .collect())
}

/// The teacher with only `layers` (ascending teacher indices) kept.
pub fn from_teacher_layers(teacher: &SourceModel, layers: &[usize]) -> Result<SourceModel> {
    let n = teacher.config.num_hidden_layers;
    if layers.is_empty()
        || layers.windows(2).any(|w| w[0] >= w[1])
        || layers.iter().any(|&l| l >= n)
    {
        return Err(CompressError::Invalid(format!(
            "student layers {layers:?} must be ascending teacher layers within 0..{n}"
        )));
    }
    let mut student = teacher.clone();
    student
        .encoder
        .retain(|name, _| !name.starts_with("encoder.layer."));
    for (new, &old) in layers.iter().enumerate() {
        let from = format!("encoder.layer.{old}.");
        for (name, values) in &teacher.encoder {
            if let Some(rest) = name.strip_prefix(&from) {
                student
                    .encoder
                    .insert(format!("encoder.layer.{new}.{rest}"), values.clone());
            }
        }
    }
    student.config.num_hidden_layers = layers.len();
    student.config.hone_layer_shapes = teacher
        .config
        .hone_layer_shapes
        .as_ref()
        .map(|_| layers.iter().map(|&l| teacher.config.layer(l)).collect());
    // The engine checks every tensor against the new config.
    student.engine(|_| hone_model::engine::Storage::F32)?;
    Ok(student)
}
