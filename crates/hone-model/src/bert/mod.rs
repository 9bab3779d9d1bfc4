//! The BERT encoder (as in Hugging Face `BertModel`): embeddings, a stack of
//! post-LayerNorm transformer layers with padding-masked multi-head
//! self-attention and a GELU feed-forward block, and the optional tanh pooler.
//! Built from a [`BertConfig`] and loaded by tensor name from safetensors.

mod attention;
mod embeddings;
pub mod fake_quant;
mod layer;
mod load;
mod save;

use std::path::Path;

use burn::module::Module;
use burn::nn::Linear;
use burn::prelude::*;

pub use attention::SelfAttention;
pub use embeddings::BertEmbeddings;
pub use layer::{Activation, BertLayer, FeedForward};
pub use save::linear_tensors;

use crate::checkpoint::Checkpoint;
use crate::config::BertConfig;
use crate::{ModelError, Result};

/// A batch of tokenized inputs on a device, `[batch, seq_len]` each.
#[derive(Debug, Clone)]
pub struct BertInput<B: Backend> {
    pub input_ids: Tensor<B, 2, Int>,
    /// 1 for real tokens, 0 for padding.
    pub attention_mask: Tensor<B, 2, Int>,
    pub token_type_ids: Tensor<B, 2, Int>,
    /// `[batch, heads, seq_len, seq_len]`, true where the key is padding.
    /// Built once from host data, contiguous: expanding a `[batch, 1, 1,
    /// seq_len]` mask inside every layer instead made strided copies that
    /// took about a fifth of flex's forward time (perf, batch 1 × 128).
    pub key_padding: Tensor<B, 4, Bool>,
}

/// The sizes a batch of ids must respect, and the head count the padding
/// mask is expanded to: everything needed to build a [`BertInput`] without
/// holding the model (data loaders on other threads, training tasks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputLimits {
    pub max_positions: usize,
    pub vocab_size: usize,
    pub type_vocab_size: usize,
    pub n_heads: usize,
}

impl InputLimits {
    /// Checks token ids against the model's sizes and moves them to `device`.
    /// Slices are row-major `[batch, seq_len]`.
    pub fn input<B: Backend>(
        &self,
        batch: usize,
        seq_len: usize,
        input_ids: &[u32],
        attention_mask: &[u32],
        token_type_ids: &[u32],
        device: &B::Device,
    ) -> Result<BertInput<B>> {
        let n = batch * seq_len;
        if batch == 0 || seq_len == 0 {
            return Err(ModelError::Input("empty batch".into()));
        }
        if input_ids.len() != n || attention_mask.len() != n || token_type_ids.len() != n {
            return Err(ModelError::Input(format!(
                "expected {n} ids, mask and type entries for [{batch}, {seq_len}], got {}, {}, {}",
                input_ids.len(),
                attention_mask.len(),
                token_type_ids.len()
            )));
        }
        if seq_len > self.max_positions {
            return Err(ModelError::Input(format!(
                "sequence of {seq_len} tokens is longer than the model's {} positions",
                self.max_positions
            )));
        }
        if let Some(id) = input_ids.iter().find(|&&id| id as usize >= self.vocab_size) {
            return Err(ModelError::Input(format!(
                "token id {id} is outside the vocabulary of {}",
                self.vocab_size
            )));
        }
        if let Some(t) = token_type_ids
            .iter()
            .find(|&&t| t as usize >= self.type_vocab_size)
        {
            return Err(ModelError::Input(format!(
                "token type {t} is outside the {} types",
                self.type_vocab_size
            )));
        }
        let to_tensor = |values: &[u32]| {
            let data = TensorData::new(
                values.iter().map(|&v| v as i64).collect::<Vec<_>>(),
                [batch, seq_len],
            );
            Tensor::<B, 2, Int>::from_data(data, device)
        };
        let mut padding = Vec::with_capacity(batch * self.n_heads * seq_len * seq_len);
        for row in attention_mask.chunks(seq_len) {
            for _ in 0..self.n_heads * seq_len {
                padding.extend(row.iter().map(|&m| m == 0));
            }
        }
        Ok(BertInput {
            input_ids: to_tensor(input_ids),
            attention_mask: to_tensor(attention_mask),
            token_type_ids: to_tensor(token_type_ids),
            key_padding: Tensor::from_data(
                TensorData::new(padding, [batch, self.n_heads, seq_len, seq_len]),
                device,
            ),
        })
    }
}

/// The BERT encoder.
#[derive(Module, Debug)]
pub struct BertModel<B: Backend> {
    pub embeddings: BertEmbeddings<B>,
    pub layers: Vec<BertLayer<B>>,
    /// Dense + tanh over the first token; absent in some checkpoints.
    pub pooler: Option<Linear<B>>,
    pub max_positions: usize,
    pub vocab_size: usize,
    pub type_vocab_size: usize,
    pub n_heads: usize,
}

impl<B: Backend> BertModel<B> {
    /// Builds the encoder described by `config` from the tensors of `checkpoint`.
    pub fn from_checkpoint(
        config: &BertConfig,
        checkpoint: &Checkpoint,
        device: &B::Device,
    ) -> Result<Self> {
        load::bert(config, checkpoint, device)
    }

    /// Loads `config.json` and `model.safetensors` from a model folder.
    pub fn from_dir(dir: &Path, device: &B::Device) -> Result<(Self, BertConfig)> {
        let config = BertConfig::from_file(&dir.join("config.json"))?;
        let checkpoint = Checkpoint::open(&dir.join("model.safetensors"))?;
        Ok((Self::from_checkpoint(&config, &checkpoint, device)?, config))
    }

    /// Checks token ids against the model's sizes and moves them to `device`.
    /// Slices are row-major `[batch, seq_len]`.
    pub fn input(
        &self,
        batch: usize,
        seq_len: usize,
        input_ids: &[u32],
        attention_mask: &[u32],
        token_type_ids: &[u32],
        device: &B::Device,
    ) -> Result<BertInput<B>> {
        self.limits().input(
            batch,
            seq_len,
            input_ids,
            attention_mask,
            token_type_ids,
            device,
        )
    }

    /// The sizes inputs are checked against.
    pub fn limits(&self) -> InputLimits {
        InputLimits {
            max_positions: self.max_positions,
            vocab_size: self.vocab_size,
            type_vocab_size: self.type_vocab_size,
            n_heads: self.n_heads,
        }
    }

    /// The last hidden state, `[batch, seq_len, hidden]`.
    pub fn forward(&self, input: &BertInput<B>) -> Tensor<B, 3> {
        self.forward_prefix(input, self.layers.len())
    }

    /// The output of the embeddings and the first `layers` layers (the
    /// embeddings' alone for 0), `[batch, seq_len, hidden]`: what a frozen
    /// bottom of the encoder hands to the layers above it.
    pub fn forward_prefix(&self, input: &BertInput<B>, layers: usize) -> Tensor<B, 3> {
        let hidden = self
            .embeddings
            .forward(input.input_ids.clone(), input.token_type_ids.clone());
        self.run_layers(0..layers.min(self.layers.len()), hidden, &input.key_padding)
    }

    /// The last hidden state computed from `hidden`, the output of the first
    /// `first_layer` layers ([`Self::forward_prefix`]), through the rest.
    /// `forward_from(k, forward_prefix(x, k), pad)` is `forward(x)`.
    pub fn forward_from(
        &self,
        first_layer: usize,
        hidden: Tensor<B, 3>,
        key_padding: &Tensor<B, 4, Bool>,
    ) -> Tensor<B, 3> {
        let n = self.layers.len();
        self.run_layers(first_layer.min(n)..n, hidden, key_padding)
    }

    fn run_layers(
        &self,
        range: std::ops::Range<usize>,
        mut hidden: Tensor<B, 3>,
        key_padding: &Tensor<B, 4, Bool>,
    ) -> Tensor<B, 3> {
        for layer in &self.layers[range] {
            hidden = layer.forward(hidden, key_padding.clone());
        }
        hidden
    }

    /// The output of every layer, `[batch, seq_len, hidden]` each (the last
    /// is [`Self::forward`]'s), and with `attention` each layer's attention
    /// probabilities `[batch, heads, seq_len, seq_len]` (empty otherwise);
    /// distillation matches students to these.
    pub fn forward_layers(
        &self,
        input: &BertInput<B>,
        attention: bool,
    ) -> (Vec<Tensor<B, 3>>, Vec<Tensor<B, 4>>) {
        let mut hidden = self
            .embeddings
            .forward(input.input_ids.clone(), input.token_type_ids.clone());
        let mut outputs = Vec::with_capacity(self.layers.len());
        let mut maps = Vec::new();
        for layer in &self.layers {
            let pad = input.key_padding.clone();
            hidden = if attention {
                let (h, probs) = layer.forward_with_probs(hidden, pad);
                maps.push(probs);
                h
            } else {
                layer.forward(hidden, pad)
            };
            outputs.push(hidden.clone());
        }
        (outputs, maps)
    }

    /// Switches fake-quantized dense layers (quantization-aware training)
    /// on or off in every layer.
    pub fn set_fake_quant(&mut self, on: bool) {
        for layer in &mut self.layers {
            layer.attention.fake_quant = on;
            layer.feed_forward.fake_quant = on;
        }
    }

    /// The pooler output (dense + tanh over the first token), when the
    /// checkpoint has a pooler.
    pub fn pool_first_token(&self, hidden: Tensor<B, 3>) -> Option<Tensor<B, 2>> {
        let pooler = self.pooler.as_ref()?;
        let [batch, _, width] = hidden.dims();
        let first = hidden
            .slice([0..batch, 0..1, 0..width])
            .reshape([batch, width]);
        Some(pooler.forward(first).tanh())
    }
}
