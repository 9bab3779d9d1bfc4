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
        Ok(())
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
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
}
