//! An f32 model folder as the compression steps read and rewrite it: its
//! config, the encoder's tensors (any `bert.` prefix stripped) and every
//! other tensor (a classifier head, the pooler) kept aside in f32, carried
//! into quantized, pruned and distilled folders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hone_model::engine::{FastBert, LinearId, Storage};
use hone_model::{BertConfig, Checkpoint, ModelError, NamedTensor};

use crate::{CompressError, Result};

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
    /// The prefix the encoder was stored under (`""`, or `"bert."` in a
    /// classifier), used again when a derived f32 model is written.
    pub prefix: String,
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
            prefix,
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

    /// Writes the (possibly edited) tensors as `dir/model.safetensors` and
    /// the config as `dir/config.json` over the source's, so the folder loads
    /// like the source did (same prefix, same head).
    pub fn write_f32(&self, dir: &Path) -> Result<()> {
        let mut tensors = Vec::with_capacity(self.encoder.len() + self.extras.len());
        for (name, values) in &self.encoder {
            let shape = self.encoder_shape(name)?;
            tensors.push(NamedTensor {
                name: format!("{}{name}", self.prefix),
                shape,
                values: values.clone(),
            });
        }
        for extra in &self.extras {
            let name = if extra.name.starts_with("pooler.") {
                format!("{}{}", self.prefix, extra.name)
            } else {
                extra.name.clone()
            };
            tensors.push(NamedTensor {
                name,
                shape: extra.shape.clone(),
                values: extra.values.clone(),
            });
        }
        hone_model::write_safetensors(&dir.join("model.safetensors"), &tensors)?;
        self.config
            .write_over(&self.dir.join("config.json"), &dir.join("config.json"))?;
        Ok(())
    }

    /// The shape of encoder tensor `name`, from the config (HF layouts:
    /// `[out, in]` weights, `[rows, hidden]` tables).
    fn encoder_shape(&self, name: &str) -> Result<Vec<usize>> {
        let c = &self.config;
        let h = c.hidden_size;
        let len = self.encoder[name].len();
        let bad = || {
            CompressError::Invalid(format!(
                "tensor `{name}` has {len} values, which fits no shape of the config"
            ))
        };
        if let Some(rest) = name.strip_prefix("encoder.layer.") {
            let (layer, part) = rest.split_once('.').ok_or_else(bad)?;
            let layer: usize = layer.parse().map_err(|_| bad())?;
            if layer >= c.num_hidden_layers {
                return Err(bad());
            }
            let shape = c.layer(layer);
            let width = shape.heads * c.head_dim();
            let ffn = shape.intermediate_size;
            let dims = match part {
                p if p.starts_with("attention.self.") && p.ends_with(".weight") => vec![width, h],
                p if p.starts_with("attention.self.") => vec![width],
                "attention.output.dense.weight" => vec![h, width],
                "intermediate.dense.weight" => vec![ffn, h],
                "intermediate.dense.bias" => vec![ffn],
                "output.dense.weight" => vec![h, ffn],
                _ => vec![h],
            };
            if dims.iter().product::<usize>() != len {
                return Err(bad());
            }
            return Ok(dims);
        }
        if len % h != 0 {
            return Err(bad());
        }
        // Tables stay 2-D even with one row (a single token type).
        Ok(if name.ends_with("_embeddings.weight") {
            vec![len / h, h]
        } else if len == h {
            vec![h]
        } else {
            vec![len / h, h]
        })
    }

    /// Parameters: every f32 value of the encoder, pooler and head.
    pub fn parameters(&self) -> usize {
        self.encoder.values().map(Vec::len).sum::<usize>()
            + self.extras.iter().map(|e| e.values.len()).sum::<usize>()
    }

    /// Size of the f32 weights file, for the size report.
    pub fn file_bytes(&self) -> u64 {
        std::fs::metadata(self.dir.join("model.safetensors")).map_or(0, |m| m.len())
    }
}
