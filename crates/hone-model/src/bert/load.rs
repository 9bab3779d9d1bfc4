//! Building the encoder's modules straight from checkpoint tensors (no random
//! initialisation first). Expected shapes come from the config, so a config
//! that disagrees with the weights is reported on the first tensor that
//! differs; HF stores Linear weights `[out, in]`, burn `[in, out]`, so they
//! are transposed here once.

use burn::module::Param;
use burn::nn::{DropoutConfig, Embedding, LayerNorm, LayerNormConfig, Linear};
use burn::prelude::*;

use super::{Activation, BertEmbeddings, BertLayer, BertModel, FeedForward, SelfAttention};
use crate::checkpoint::Checkpoint;
use crate::config::BertConfig;
use crate::{ModelError, Result};

pub(super) fn bert<B: Backend>(
    config: &BertConfig,
    ckpt: &Checkpoint,
    device: &B::Device,
) -> Result<BertModel<B>> {
    config.validate().map_err(|detail| ModelError::Config {
        path: ckpt.path().into(),
        detail,
    })?;
    let extra = format!(
        "encoder.layer.{}.attention.self.query.weight",
        config.num_hidden_layers
    );
    if ckpt.contains(&extra) {
        return Err(ModelError::ConfigMismatch {
            path: ckpt.path().into(),
            tensor: extra,
            detail: format!(
                "the config says num_hidden_layers = {} but the file has more layers",
                config.num_hidden_layers
            ),
        });
    }
    let activation = Activation::from_hf(&config.hidden_act).ok_or_else(|| ModelError::Config {
        path: ckpt.path().into(),
        detail: format!("unsupported hidden_act `{}`", config.hidden_act),
    })?;
    let l = Loader {
        ckpt,
        config,
        device,
    };
    let h = config.hidden_size;
    let embeddings = BertEmbeddings {
        word: l.embedding(
            "embeddings.word_embeddings.weight",
            config.vocab_size,
            "vocab_size × hidden_size",
        )?,
        position: l.embedding(
            "embeddings.position_embeddings.weight",
            config.max_position_embeddings,
            "max_position_embeddings × hidden_size",
        )?,
        token_type: l.embedding(
            "embeddings.token_type_embeddings.weight",
            config.type_vocab_size,
            "type_vocab_size × hidden_size",
        )?,
        layer_norm: l.layer_norm("embeddings.LayerNorm")?,
        dropout: DropoutConfig::new(config.hidden_dropout_prob).init(),
    };
    let mut layers = Vec::with_capacity(config.num_hidden_layers);
    for i in 0..config.num_hidden_layers {
        let p = format!("encoder.layer.{i}");
        let shape = config.layer(i);
        let i_size = shape.intermediate_size;
        // Pruned layers keep the head size but not the head count.
        let width = shape.heads * config.head_dim();
        let heads = "hidden_size, heads × head size";
        layers.push(BertLayer {
            attention: SelfAttention {
                query: l.linear(&format!("{p}.attention.self.query"), h, width, heads)?,
                key: l.linear(&format!("{p}.attention.self.key"), h, width, heads)?,
                value: l.linear(&format!("{p}.attention.self.value"), h, width, heads)?,
                output: l.linear(&format!("{p}.attention.output.dense"), width, h, heads)?,
                layer_norm: l.layer_norm(&format!("{p}.attention.output.LayerNorm"))?,
                dropout: DropoutConfig::new(config.hidden_dropout_prob).init(),
                n_heads: shape.heads,
                fake_quant: false,
            },
            feed_forward: FeedForward {
                intermediate: l.linear(
                    &format!("{p}.intermediate.dense"),
                    h,
                    i_size,
                    "hidden_size, intermediate_size",
                )?,
                output: l.linear(
                    &format!("{p}.output.dense"),
                    i_size,
                    h,
                    "intermediate_size, hidden_size",
                )?,
                layer_norm: l.layer_norm(&format!("{p}.output.LayerNorm"))?,
                dropout: DropoutConfig::new(config.hidden_dropout_prob).init(),
                activation,
                fake_quant: false,
            },
        });
    }
    let pooler = if ckpt.contains("pooler.dense.weight") {
        Some(l.linear("pooler.dense", h, h, "hidden_size")?)
    } else {
        None
    };
    Ok(BertModel {
        embeddings,
        layers,
        pooler,
        max_positions: config.max_position_embeddings,
        vocab_size: config.vocab_size,
        type_vocab_size: config.type_vocab_size,
        n_heads: super::save::max_heads(config),
    })
}

struct Loader<'a, B: Backend> {
    ckpt: &'a Checkpoint,
    config: &'a BertConfig,
    device: &'a B::Device,
}

impl<B: Backend> Loader<'_, B> {
    fn tensor<const D: usize>(
        &self,
        name: &str,
        shape: [usize; D],
        reason: &str,
    ) -> Result<Tensor<B, D>> {
        let values = self
            .ckpt
            .tensor_f32(name, &shape, &format!("config.json ({reason})"))?;
        Ok(Tensor::from_data(
            TensorData::new(values, shape),
            self.device,
        ))
    }

    fn embedding(&self, name: &str, rows: usize, reason: &str) -> Result<Embedding<B>> {
        Ok(Embedding {
            weight: Param::from_tensor(self.tensor(
                name,
                [rows, self.config.hidden_size],
                reason,
            )?),
        })
    }

    fn layer_norm(&self, prefix: &str) -> Result<LayerNorm<B>> {
        let h = self.config.hidden_size;
        let mut norm = LayerNormConfig::new(h)
            .with_epsilon(self.config.layer_norm_eps)
            .init(self.device);
        norm.gamma =
            Param::from_tensor(self.tensor(&format!("{prefix}.weight"), [h], "hidden_size")?);
        norm.beta = Some(Param::from_tensor(self.tensor(
            &format!("{prefix}.bias"),
            [h],
            "hidden_size",
        )?));
        Ok(norm)
    }

    /// A Linear from HF `[out, in]` weights, transposed to burn's `[in, out]`.
    fn linear(&self, prefix: &str, d_in: usize, d_out: usize, reason: &str) -> Result<Linear<B>> {
        let stored = self.ckpt.tensor_f32(
            &format!("{prefix}.weight"),
            &[d_out, d_in],
            &format!("config.json ({reason})"),
        )?;
        let mut transposed = vec![0f32; stored.len()];
        for o in 0..d_out {
            for i in 0..d_in {
                transposed[i * d_out + o] = stored[o * d_in + i];
            }
        }
        let weight = Tensor::from_data(TensorData::new(transposed, [d_in, d_out]), self.device);
        let bias = self.tensor(&format!("{prefix}.bias"), [d_out], reason)?;
        Ok(Linear {
            weight: Param::from_tensor(weight),
            bias: Some(Param::from_tensor(bias)),
        })
    }
}
