//! The reverse of loading: the encoder's tensors under their Hugging Face
//! names (Linear weights transposed back to `[out, in]`), ready to be written
//! as `model.safetensors`, and a randomly initialised encoder for a config
//! (tests and from-scratch students).

use burn::nn::{DropoutConfig, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;

use super::{Activation, BertEmbeddings, BertLayer, BertModel, FeedForward, SelfAttention};
use crate::checkpoint::NamedTensor;
use crate::config::BertConfig;
use crate::{ModelError, Result};

/// A Linear's `weight` `[out, in]` and `bias` under `prefix`.
pub fn linear_tensors<B: Backend>(prefix: &str, linear: &Linear<B>, out: &mut Vec<NamedTensor>) {
    let w = linear.weight.val();
    let [d_in, d_out] = w.dims();
    out.push(NamedTensor::from_tensor(
        format!("{prefix}.weight"),
        w.transpose(),
        vec![d_out, d_in],
    ));
    if let Some(b) = &linear.bias {
        out.push(NamedTensor::from_tensor(
            format!("{prefix}.bias"),
            b.val(),
            vec![d_out],
        ));
    }
}

fn norm_tensors<B: Backend>(prefix: &str, norm: &LayerNorm<B>, out: &mut Vec<NamedTensor>) {
    let g = norm.gamma.val();
    let h = g.dims()[0];
    out.push(NamedTensor::from_tensor(
        format!("{prefix}.weight"),
        g,
        vec![h],
    ));
    if let Some(b) = &norm.beta {
        out.push(NamedTensor::from_tensor(
            format!("{prefix}.bias"),
            b.val(),
            vec![h],
        ));
    }
}

impl<B: Backend> BertModel<B> {
    /// Every tensor under its HF name, prefixed by `prefix` (e.g. `"bert."`).
    pub fn named_tensors(&self, prefix: &str) -> Vec<NamedTensor> {
        let mut out = Vec::new();
        let e = &self.embeddings;
        for (name, emb) in [
            ("word_embeddings", &e.word),
            ("position_embeddings", &e.position),
            ("token_type_embeddings", &e.token_type),
        ] {
            let w = emb.weight.val();
            let dims = w.dims().to_vec();
            out.push(NamedTensor::from_tensor(
                format!("{prefix}embeddings.{name}.weight"),
                w,
                dims,
            ));
        }
        norm_tensors(
            &format!("{prefix}embeddings.LayerNorm"),
            &e.layer_norm,
            &mut out,
        );
        for (i, layer) in self.layers.iter().enumerate() {
            let p = format!("{prefix}encoder.layer.{i}");
            let a = &layer.attention;
            linear_tensors(&format!("{p}.attention.self.query"), &a.query, &mut out);
            linear_tensors(&format!("{p}.attention.self.key"), &a.key, &mut out);
            linear_tensors(&format!("{p}.attention.self.value"), &a.value, &mut out);
            linear_tensors(&format!("{p}.attention.output.dense"), &a.output, &mut out);
            norm_tensors(
                &format!("{p}.attention.output.LayerNorm"),
                &a.layer_norm,
                &mut out,
            );
            let f = &layer.feed_forward;
            linear_tensors(
                &format!("{p}.intermediate.dense"),
                &f.intermediate,
                &mut out,
            );
            linear_tensors(&format!("{p}.output.dense"), &f.output, &mut out);
            norm_tensors(&format!("{p}.output.LayerNorm"), &f.layer_norm, &mut out);
        }
        if let Some(pooler) = &self.pooler {
            linear_tensors(&format!("{prefix}pooler.dense"), pooler, &mut out);
        }
        out
    }

    /// An encoder with burn's default random initialisation (seed the
    /// backend first for reproducible weights).
    pub fn init(config: &BertConfig, with_pooler: bool, device: &B::Device) -> Result<Self> {
        config.validate().map_err(|detail| ModelError::Config {
            path: "config".into(),
            detail,
        })?;
        let activation =
            Activation::from_hf(&config.hidden_act).ok_or_else(|| ModelError::Config {
                path: "config".into(),
                detail: format!("unsupported hidden_act `{}`", config.hidden_act),
            })?;
        let h = config.hidden_size;
        let linear = |i, o| LinearConfig::new(i, o).init(device);
        let norm = || {
            LayerNormConfig::new(h)
                .with_epsilon(config.layer_norm_eps)
                .init(device)
        };
        let dropout = || DropoutConfig::new(config.hidden_dropout_prob).init();
        let embeddings = BertEmbeddings {
            word: EmbeddingConfig::new(config.vocab_size, h).init(device),
            position: EmbeddingConfig::new(config.max_position_embeddings, h).init(device),
            token_type: EmbeddingConfig::new(config.type_vocab_size, h).init(device),
            layer_norm: norm(),
            dropout: dropout(),
        };
        let layers = (0..config.num_hidden_layers)
            .map(|l| {
                let shape = config.layer(l);
                let width = shape.heads * config.head_dim();
                BertLayer {
                    attention: SelfAttention {
                        query: linear(h, width),
                        key: linear(h, width),
                        value: linear(h, width),
                        output: linear(width, h),
                        layer_norm: norm(),
                        dropout: dropout(),
                        n_heads: shape.heads,
                        fake_quant: false,
                    },
                    feed_forward: FeedForward {
                        intermediate: linear(h, shape.intermediate_size),
                        output: linear(shape.intermediate_size, h),
                        layer_norm: norm(),
                        dropout: dropout(),
                        activation,
                        fake_quant: false,
                    },
                }
            })
            .collect();
        Ok(BertModel {
            embeddings,
            layers,
            pooler: with_pooler.then(|| linear(h, h)),
            max_positions: config.max_position_embeddings,
            vocab_size: config.vocab_size,
            type_vocab_size: config.type_vocab_size,
            n_heads: max_heads(config),
        })
    }
}

/// The most heads of any layer: the padding mask is built this wide and
/// sliced by layers with fewer.
pub(super) fn max_heads(config: &BertConfig) -> usize {
    (0..config.num_hidden_layers)
        .map(|l| config.layer(l).heads)
        .max()
        .unwrap_or(config.num_attention_heads)
}

impl<B: Backend> BertModel<B> {
    /// Writes `config.json` and `model.safetensors` (bare encoder names) into
    /// `dir`, a folder [`BertModel::from_dir`] reads back.
    pub fn write_dir(&self, config: &BertConfig, dir: &std::path::Path) -> Result<()> {
        let io = |source| ModelError::Io {
            path: dir.into(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let json = serde_json::to_vec_pretty(config).expect("BertConfig serializes");
        std::fs::write(dir.join("config.json"), json).map_err(io)?;
        crate::checkpoint::write_safetensors(
            &dir.join("model.safetensors"),
            &self.named_tensors(""),
        )
    }
}
