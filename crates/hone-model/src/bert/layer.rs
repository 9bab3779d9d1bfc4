//! One BERT layer: self-attention block, then the feed-forward block
//! (dense → activation → dense, residual, LayerNorm).

use burn::module::Module;
use burn::nn::{Dropout, LayerNorm, Linear};
use burn::prelude::*;
use burn::tensor::activation;

use super::attention::SelfAttention;
use super::fake_quant::dense;

/// The feed-forward activation named by `hidden_act`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Exact GELU (erf), HF `gelu`.
    Gelu,
    /// tanh-approximated GELU, HF `gelu_new` / `gelu_pytorch_tanh`.
    GeluTanh,
    Relu,
}

impl Activation {
    pub fn from_hf(name: &str) -> Option<Self> {
        match name {
            "gelu" => Some(Self::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" => Some(Self::GeluTanh),
            "relu" => Some(Self::Relu),
            _ => None,
        }
    }

    fn apply<B: Backend>(self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        match self {
            Self::Gelu => activation::gelu(x),
            Self::GeluTanh => activation::gelu_approximate(x),
            Self::Relu => activation::relu(x),
        }
    }
}

#[derive(Module, Debug)]
pub struct FeedForward<B: Backend> {
    pub intermediate: Linear<B>,
    pub output: Linear<B>,
    pub layer_norm: LayerNorm<B>,
    pub dropout: Dropout,
    pub activation: Activation,
    /// Run the dense layers fake-quantized (quantization-aware training).
    pub fake_quant: bool,
}

impl<B: Backend> FeedForward<B> {
    pub fn forward(&self, hidden: Tensor<B, 3>) -> Tensor<B, 3> {
        let fq = self.fake_quant;
        let inner = self
            .activation
            .apply(dense(&self.intermediate, hidden.clone(), fq));
        let out = self.dropout.forward(dense(&self.output, inner, fq));
        self.layer_norm.forward(out + hidden)
    }
}

#[derive(Module, Debug)]
pub struct BertLayer<B: Backend> {
    pub attention: SelfAttention<B>,
    pub feed_forward: FeedForward<B>,
}

impl<B: Backend> BertLayer<B> {
    pub fn forward(&self, hidden: Tensor<B, 3>, pad: Tensor<B, 4, Bool>) -> Tensor<B, 3> {
        self.feed_forward
            .forward(self.attention.forward(hidden, pad))
    }

    /// [`Self::forward`] and the layer's attention probabilities.
    pub fn forward_with_probs(
        &self,
        hidden: Tensor<B, 3>,
        pad: Tensor<B, 4, Bool>,
    ) -> (Tensor<B, 3>, Tensor<B, 4>) {
        let (attended, probs) = self.attention.forward_with_probs(hidden, pad);
        (self.feed_forward.forward(attended), probs)
    }
}
