//! The BERT configuration as Hugging Face writes it in `config.json`; fields
//! hone does not use are ignored, the ones it needs are validated.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{ModelError, Result};

/// Hyper-parameters of a BERT encoder (HF `BertConfig` names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_hidden_act")]
    pub hidden_act: String,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab_size")]
    pub type_vocab_size: usize,
    #[serde(default = "default_layer_norm_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: usize,
    #[serde(default = "default_dropout")]
    pub hidden_dropout_prob: f64,
    #[serde(default = "default_dropout")]
    pub attention_probs_dropout_prob: f64,
    /// Per-layer widths after structured pruning (hone's own field; absent
    /// for uniform models). `num_attention_heads` still fixes the head size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hone_layer_shapes: Option<Vec<LayerShape>>,
}

/// The attention heads and feed-forward width of one encoder layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerShape {
    pub heads: usize,
    pub intermediate_size: usize,
}

fn default_hidden_act() -> String {
    "gelu".into()
}
fn default_type_vocab_size() -> usize {
    2
}
fn default_layer_norm_eps() -> f64 {
    1e-12
}
fn default_dropout() -> f64 {
    0.1
}

impl BertConfig {
    /// Reads and validates a `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: path.into(),
            source,
        })?;
        let config: Self = serde_json::from_str(&text).map_err(|e| ModelError::Config {
            path: path.into(),
            detail: e.to_string(),
        })?;
        config.validate().map_err(|detail| ModelError::Config {
            path: path.into(),
            detail,
        })?;
        Ok(config)
    }

    /// Checks the invariants the encoder relies on.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let positive = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
            ("type_vocab_size", self.type_vocab_size),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(format!("`{field}` must be positive"));
            }
        }
        if self.hidden_size % self.num_attention_heads != 0 {
            return Err(format!(
                "`hidden_size` ({}) must be divisible by `num_attention_heads` ({})",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if !matches!(
            self.hidden_act.as_str(),
            "gelu" | "gelu_new" | "gelu_pytorch_tanh" | "relu"
        ) {
            return Err(format!(
                "`hidden_act` `{}` is not supported (gelu, gelu_new, relu)",
                self.hidden_act
            ));
        }
        if !(self.layer_norm_eps > 0.0) {
            return Err("`layer_norm_eps` must be positive".into());
        }
        if let Some(shapes) = &self.hone_layer_shapes {
            if shapes.len() != self.num_hidden_layers {
                return Err(format!(
                    "`hone_layer_shapes` lists {} layers but `num_hidden_layers` is {}",
                    shapes.len(),
                    self.num_hidden_layers
                ));
            }
            if let Some(i) = shapes
                .iter()
                .position(|s| s.heads == 0 || s.intermediate_size == 0)
            {
                return Err(format!(
                    "`hone_layer_shapes` layer {i} has no heads or no feed-forward width"
                ));
            }
        }
        Ok(())
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// The shape of layer `layer`: its pruned shape when the config lists
    /// one, the uniform `num_attention_heads` × `intermediate_size` otherwise.
    pub fn layer(&self, layer: usize) -> LayerShape {
        match &self.hone_layer_shapes {
            Some(shapes) => shapes[layer],
            None => LayerShape {
                heads: self.num_attention_heads,
                intermediate_size: self.intermediate_size,
            },
        }
    }

    /// Whether every layer has the uniform shape.
    pub fn is_uniform(&self) -> bool {
        (0..self.num_hidden_layers).all(|l| {
            self.layer(l)
                == LayerShape {
                    heads: self.num_attention_heads,
                    intermediate_size: self.intermediate_size,
                }
        })
    }

    /// Writes this config as `out`, keeping every field of `original` (a
    /// Hugging Face `config.json`) that hone does not model, such as
    /// `model_type` or `architectures`.
    pub fn write_over(&self, original: &Path, out: &Path) -> Result<()> {
        let io = |path: &Path, source| ModelError::Io {
            path: path.into(),
            source,
        };
        let text = std::fs::read_to_string(original).map_err(|e| io(original, e))?;
        let mut merged: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
            .map_err(|e| ModelError::Config {
                path: original.into(),
                detail: e.to_string(),
            })?;
        merged.remove("hone_layer_shapes");
        let own = serde_json::to_value(self).expect("config serializes");
        if let serde_json::Value::Object(fields) = own {
            merged.extend(fields);
        }
        let json = serde_json::to_string_pretty(&merged).expect("json serializes");
        std::fs::write(out, json + "\n").map_err(|e| io(out, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minilm() -> BertConfig {
        serde_json::from_str(
            r#"{"vocab_size":30522,"hidden_size":384,"num_hidden_layers":6,"num_attention_heads":12,
                "intermediate_size":1536,"max_position_embeddings":512,"model_type":"bert"}"#,
        )
        .unwrap()
    }

    #[test]
    fn defaults_and_validation() {
        let c = minilm();
        assert_eq!(c.type_vocab_size, 2);
        assert_eq!(c.head_dim(), 32);
        assert!(c.validate().is_ok());
        let bad = BertConfig {
            num_attention_heads: 7,
            ..c.clone()
        };
        assert!(bad.validate().unwrap_err().contains("divisible"));
        let bad = BertConfig {
            hidden_act: "swish".into(),
            ..c
        };
        assert!(bad.validate().unwrap_err().contains("swish"));
    }

    #[test]
    fn layer_shapes_default_to_uniform_and_are_checked() {
        let c = minilm();
        assert!(c.is_uniform());
        assert_eq!(c.layer(3).heads, 12);
        let shape = LayerShape {
            heads: 6,
            intermediate_size: 768,
        };
        let pruned = BertConfig {
            hone_layer_shapes: Some(vec![shape; 6]),
            ..c.clone()
        };
        assert!(pruned.validate().is_ok());
        assert!(!pruned.is_uniform());
        assert_eq!(pruned.layer(5), shape);
        let short = BertConfig {
            hone_layer_shapes: Some(vec![shape; 5]),
            ..c.clone()
        };
        assert!(short.validate().unwrap_err().contains("lists 5 layers"));
        let empty = BertConfig {
            hone_layer_shapes: Some(vec![LayerShape { heads: 0, ..shape }; 6]),
            ..c
        };
        assert!(empty.validate().unwrap_err().contains("layer 0"));
    }
}
