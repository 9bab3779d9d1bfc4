//! Reading `model.safetensors` by tensor name, with the checks that turn a
//! bad file into a clear error: truncated or corrupt file, missing tensor,
//! wrong shape, unsupported dtype. Checkpoints saved from a task model
//! (`bert.embeddings…`) are read through the same names as a bare encoder.

use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, Metadata, SafeTensors};

use crate::{ModelError, Result};

/// A tensor to write: its stored name, shape and f32 values.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

impl NamedTensor {
    /// Reads `tensor` back to the host (cast to f32) under `name` and `shape`.
    pub fn from_tensor<B: burn::prelude::Backend, const D: usize>(
        name: String,
        tensor: burn::prelude::Tensor<B, D>,
        shape: Vec<usize>,
    ) -> Self {
        let values = tensor
            .cast(burn::tensor::DType::F32)
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .expect("f32 data after convert");
        Self {
            name,
            shape,
            values,
        }
    }
}

/// Writes `tensors` as a safetensors file (f32), through a temporary file in
/// the same folder renamed into place, so a reader never sees half a file.
pub fn write_safetensors(path: &Path, tensors: &[NamedTensor]) -> Result<()> {
    use safetensors::tensor::TensorView;
    let io = |source| ModelError::Io {
        path: path.into(),
        source,
    };
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|t| t.values.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|(t, b)| {
            TensorView::new(Dtype::F32, t.shape.clone(), b)
                .map(|v| (t.name.clone(), v))
                .map_err(|e| ModelError::Corrupt {
                    path: path.into(),
                    detail: format!("tensor {}: {e:?}", t.name),
                })
        })
        .collect::<Result<Vec<_>>>()?;
    let data = safetensors::serialize(views, None).map_err(|e| ModelError::Corrupt {
        path: path.into(),
        detail: format!("{e:?}"),
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    std::io::Write::write_all(&mut tmp, &data).map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// An opened safetensors file whose header has been validated.
pub struct Checkpoint {
    path: PathBuf,
    bytes: Vec<u8>,
    data_start: usize,
    metadata: Metadata,
    prefix: String,
}

impl std::fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoint")
            .field("path", &self.path)
            .field("tensors", &self.metadata.tensors().len())
            .finish()
    }
}

impl Checkpoint {
    /// Opens and validates a safetensors file (the header, and that every
    /// tensor's bytes lie inside the file, which catches truncation).
    pub fn open(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.into(),
            source,
        })?;
        let corrupt = |detail: String| ModelError::Corrupt {
            path: path.into(),
            detail,
        };
        // deserialize checks that the tensors exactly cover the data section.
        SafeTensors::deserialize(&bytes).map_err(|e| corrupt(format!("{e:?}")))?;
        let (header_len, metadata) =
            SafeTensors::read_metadata(&bytes).map_err(|e| corrupt(format!("{e:?}")))?;
        let prefix = if metadata.info("embeddings.word_embeddings.weight").is_none()
            && metadata
                .info("bert.embeddings.word_embeddings.weight")
                .is_some()
        {
            "bert.".to_string()
        } else {
            String::new()
        };
        Ok(Self {
            path: path.into(),
            bytes,
            data_start: 8 + header_len,
            metadata,
            prefix,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Tensor names as stored, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.metadata.tensors().into_keys().collect();
        names.sort();
        names
    }

    /// Shape of a tensor under its stored name (prefix included).
    pub fn stored_shape(&self, stored: &str) -> Option<Vec<usize>> {
        self.metadata.info(stored).map(|i| i.shape.clone())
    }

    /// The prefix the encoder's tensors are stored under (`""` or `"bert."`).
    pub fn encoder_prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the encoder tensor `name` (without any `bert.` prefix) exists.
    pub fn contains(&self, name: &str) -> bool {
        self.metadata
            .info(&format!("{}{name}", self.prefix))
            .is_some()
    }

    /// Shape of the encoder tensor `name`, if present.
    pub fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.metadata
            .info(&format!("{}{name}", self.prefix))
            .map(|i| i.shape.clone())
    }

    /// Reads the tensor `name` as f32 after checking its shape. `reason` says
    /// where the expected shape comes from, for the error message.
    pub fn tensor_f32(&self, name: &str, expected: &[usize], reason: &str) -> Result<Vec<f32>> {
        self.stored_f32(format!("{}{name}", self.prefix), expected, reason)
    }

    /// Like [`Self::tensor_f32`] for a tensor outside the encoder (a task
    /// head such as `classifier.weight`), read under its exact name.
    pub fn head_tensor_f32(
        &self,
        name: &str,
        expected: &[usize],
        reason: &str,
    ) -> Result<Vec<f32>> {
        self.stored_f32(name.to_string(), expected, reason)
    }

    fn stored_f32(&self, stored: String, expected: &[usize], reason: &str) -> Result<Vec<f32>> {
        let info = self
            .metadata
            .info(&stored)
            .ok_or_else(|| ModelError::MissingTensor {
                path: self.path.clone(),
                tensor: stored.clone(),
            })?;
        if info.shape != expected {
            return Err(ModelError::ShapeMismatch {
                path: self.path.clone(),
                tensor: stored,
                expected: expected.to_vec(),
                found: info.shape.clone(),
                reason: reason.to_string(),
            });
        }
        let (start, end) = info.data_offsets;
        let raw = &self.bytes[self.data_start + start..self.data_start + end];
        let values = match info.dtype {
            Dtype::F32 => raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::F16 => raw
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::BF16 => raw
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            other => {
                return Err(ModelError::UnsupportedDtype {
                    path: self.path.clone(),
                    tensor: stored,
                    dtype: format!("{other:?}"),
                });
            }
        };
        Ok(values)
    }
}
