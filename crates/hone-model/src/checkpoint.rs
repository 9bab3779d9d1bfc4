//! Reading `model.safetensors` by tensor name, with the checks that turn a
//! bad file into a clear error: truncated or corrupt file, missing tensor,
//! wrong shape, unsupported dtype. Checkpoints saved from a task model
//! (`bert.embeddings…`) are read through the same names as a bare encoder.

use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, Metadata, SafeTensors};

use crate::{ModelError, Result};

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
        let stored = format!("{}{name}", self.prefix);
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
