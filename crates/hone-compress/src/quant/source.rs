//! A model folder read for quantization: its config, the encoder's tensors
//! (any `bert.` prefix stripped) and every other tensor (a classifier head,
//! the pooler) kept aside in f32 to be carried into the quantized folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hone_model::engine::{FastBert, LinearId, Storage};
use hone_model::{BertConfig, Checkpoint, ModelError};

use crate::Result;

/// A tensor carried through quantization unchanged.
#[derive(Clone, Debug, PartialEq)]
pub struct Extra {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// The f32 model a quantized one is made from.
#[derive(Clone, Debug)]
pub struct SourceModel {
    pub dir: PathBuf,
    pub config: BertConfig,
    /// Encoder tensors by HF name without prefix.
    pub encoder: BTreeMap<String, Vec<f32>>,
    /// The pooler and any task head, by stored name (the pooler without prefix).
    pub extras: Vec<Extra>,
}

const ENCODER_PARTS: [&str; 2] = ["embeddings.", "encoder."];

impl SourceModel {
    /// Reads `config.json` and `model.safetensors` from `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let config = BertConfig::from_file(&dir.join("config.json"))?;
        let checkpoint = Checkpoint::open(&dir.join("model.safetensors"))?;
        let prefix = checkpoint.encoder_prefix().to_string();
        let mut encoder = BTreeMap::new();
        let mut extras = Vec::new();
        for stored in checkpoint.names() {
            let shape = checkpoint.stored_shape(&stored).unwrap_or_default();
            let values = match checkpoint.head_tensor_f32(&stored, &shape, "its own header") {
                Ok(values) => values,
                // Integer buffers (BERT's `position_ids`) are not weights.
                Err(ModelError::UnsupportedDtype { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            let name = stored.strip_prefix(&prefix).unwrap_or(&stored);
            if ENCODER_PARTS.iter().any(|p| name.starts_with(p)) && stored.starts_with(&prefix) {
                encoder.insert(name.to_string(), values);
            } else {
                extras.push(Extra {
                    name: name.to_string(),
                    shape,
                    values,
                });
            }
        }
        Ok(SourceModel {
            dir: dir.into(),
            config,
            encoder,
            extras,
        })
    }

    /// The engine with every dense layer stored as `storage` says.
    pub fn engine(&self, storage: impl Fn(LinearId) -> Storage) -> Result<FastBert> {
        Ok(FastBert::from_tensors(
            &self.config,
            |n| self.encoder.get(n).map(Vec::as_slice),
            storage,
        )?)
    }

    /// Size of the f32 weights file, for the size report.
    pub fn file_bytes(&self) -> u64 {
        std::fs::metadata(self.dir.join("model.safetensors")).map_or(0, |m| m.len())
    }
}
