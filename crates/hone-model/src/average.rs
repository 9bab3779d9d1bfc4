//! The element-wise mean of several checkpoints of one architecture — the
//! weight average behind a *model soup* (Wortsman et al., 2022, "Model
//! soups: averaging weights of multiple fine-tuned models improves accuracy
//! without increasing inference time"). Models fine-tuned from the same
//! pretrained start stay in one basin of the loss, so their mean is a
//! model of the same size that is often better than each of them.
//!
//! Every checkpoint must hold exactly the same tensor names with the same
//! shapes; anything else is an error naming the file and the tensor, since
//! averaging unrelated tensors would silently give nonsense.

use std::path::Path;

use crate::checkpoint::{Checkpoint, NamedTensor};
use crate::{ModelError, Result};

/// The mean of the `model.safetensors` files at `paths`, tensor by tensor
/// (summed in f64, so the order of the files does not change the result
/// beyond the final f32 rounding). Tensors come out in name order.
pub fn average_checkpoints(paths: &[&Path]) -> Result<Vec<NamedTensor>> {
    let Some((first_path, rest)) = paths.split_first() else {
        return Err(ModelError::Input(
            "a weight average needs at least one checkpoint".into(),
        ));
    };
    let first = Checkpoint::open(first_path)?;
    let names = first.names();
    let mut sums: Vec<(String, Vec<usize>, Vec<f64>)> = Vec::with_capacity(names.len());
    for name in &names {
        let shape = first.stored_shape(name).unwrap_or_default();
        let values = first.head_tensor_f32(name, &shape, "the first checkpoint")?;
        sums.push((
            name.clone(),
            shape,
            values.into_iter().map(f64::from).collect(),
        ));
    }
    let reason = format!("{} (the first checkpoint)", first_path.display());
    drop(first);
    for path in rest {
        let other = Checkpoint::open(path)?;
        let other_names = other.names();
        if let Some(missing) = names.iter().find(|n| !other_names.contains(n)) {
            return Err(ModelError::MissingTensor {
                path: path.to_path_buf(),
                tensor: missing.clone(),
            });
        }
        if let Some(extra) = other_names.into_iter().find(|n| !names.contains(n)) {
            return Err(ModelError::ConfigMismatch {
                path: path.to_path_buf(),
                tensor: extra,
                detail: format!("{reason} has no tensor of that name"),
            });
        }
        for (name, shape, sum) in &mut sums {
            // Another shape is reported by the reader.
            let values = other.head_tensor_f32(name, shape, &reason)?;
            for (s, v) in sum.iter_mut().zip(values) {
                *s += f64::from(v);
            }
        }
    }
    let n = paths.len() as f64;
    Ok(sums
        .into_iter()
        .map(|(name, shape, sum)| NamedTensor {
            name,
            shape,
            values: sum.into_iter().map(|s| (s / n) as f32).collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write_safetensors;

    fn tensor(name: &str, shape: &[usize], values: &[f32]) -> NamedTensor {
        NamedTensor {
            name: name.into(),
            shape: shape.to_vec(),
            values: values.to_vec(),
        }
    }

    fn write(dir: &Path, file: &str, tensors: &[NamedTensor]) -> std::path::PathBuf {
        let path = dir.join(file);
        write_safetensors(&path, tensors).unwrap();
        path
    }

    #[test]
    fn the_average_is_the_element_wise_mean_in_name_order() {
        let tmp = tempfile::tempdir().unwrap();
        let a = write(
            tmp.path(),
            "a.safetensors",
            &[
                tensor("w", &[2, 2], &[1.0, 2.0, 3.0, 4.0]),
                tensor("b", &[2], &[0.0, -1.0]),
            ],
        );
        let b = write(
            tmp.path(),
            "b.safetensors",
            &[
                tensor("b", &[2], &[1.0, 1.0]),
                tensor("w", &[2, 2], &[3.0, 2.0, 1.0, 0.0]),
            ],
        );
        let c = write(
            tmp.path(),
            "c.safetensors",
            &[
                tensor("w", &[2, 2], &[2.0, 2.0, 2.0, 2.0]),
                tensor("b", &[2], &[2.0, 3.0]),
            ],
        );
        let mean = average_checkpoints(&[&a, &b, &c]).unwrap();
        assert_eq!(
            mean,
            vec![
                tensor("b", &[2], &[1.0, 1.0]),
                tensor("w", &[2, 2], &[2.0, 2.0, 2.0, 2.0]),
            ]
        );
        // One checkpoint averages to itself.
        let alone = average_checkpoints(&[&a]).unwrap();
        assert_eq!(alone[1], tensor("w", &[2, 2], &[1.0, 2.0, 3.0, 4.0]));
    }

    #[test]
    fn checkpoints_that_differ_in_names_or_shapes_are_refused_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        let a = write(
            tmp.path(),
            "a.safetensors",
            &[tensor("w", &[2], &[1.0, 2.0])],
        );
        let extra = write(
            tmp.path(),
            "extra.safetensors",
            &[tensor("w", &[2], &[1.0, 2.0]), tensor("v", &[1], &[0.0])],
        );
        let missing = write(
            tmp.path(),
            "missing.safetensors",
            &[tensor("v", &[1], &[0.0])],
        );
        let reshaped = write(
            tmp.path(),
            "reshaped.safetensors",
            &[tensor("w", &[1, 2], &[1.0, 2.0])],
        );

        let e = average_checkpoints(&[&a, &extra]).unwrap_err().to_string();
        assert!(e.contains("extra.safetensors") && e.contains("`v`"), "{e}");
        let e = average_checkpoints(&[&a, &missing])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("missing.safetensors") && e.contains("`w` is missing"),
            "{e}"
        );
        let e = average_checkpoints(&[&a, &reshaped])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("reshaped.safetensors") && e.contains("[1, 2]"),
            "{e}"
        );
        let e = average_checkpoints(&[]).unwrap_err().to_string();
        assert!(e.contains("at least one"), "{e}");
        let e = average_checkpoints(&[&tmp.path().join("absent.safetensors")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("absent.safetensors"), "{e}");
    }
}
