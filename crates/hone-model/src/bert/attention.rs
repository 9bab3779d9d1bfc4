//! Multi-head self-attention with a padding mask, followed (as in BERT) by the
//! output projection, residual connection and LayerNorm. The attention itself
//! is burn's fused `attention` op, which backends implement natively (flex
//! has a naive and a flash path) and others through burn's fallback.

use burn::module::Module;
use burn::nn::{Dropout, LayerNorm, Linear};
use burn::prelude::*;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;

use super::fake_quant::dense;

#[derive(Module, Debug)]
pub struct SelfAttention<B: Backend> {
    pub query: Linear<B>,
    pub key: Linear<B>,
    pub value: Linear<B>,
    pub output: Linear<B>,
    pub layer_norm: LayerNorm<B>,
    pub dropout: Dropout,
    pub n_heads: usize,
    /// Run the dense layers fake-quantized (quantization-aware training).
    pub fake_quant: bool,
}

impl<B: Backend> SelfAttention<B> {
    /// `hidden`: `[batch, seq, width]`; `pad`: `[batch, ≥ heads, seq, seq]`,
    /// true at padding keys (a layer with pruned heads uses the first ones).
    pub fn forward(&self, hidden: Tensor<B, 3>, pad: Tensor<B, 4, Bool>) -> Tensor<B, 3> {
        let (q, k, v, pad) = self.project(&hidden, pad);
        let context = attention(
            q,
            k,
            v,
            Some(fused_mask(pad)),
            None,
            AttentionModuleOptions::default(),
        );
        self.output(context, hidden)
    }

    /// [`Self::forward`] with the attention probabilities `[batch, heads,
    /// seq, seq]` spelled out (softmax of the scaled scores with padding
    /// keys at −∞), for attention transfer in distillation. Slower than the
    /// fused op, so only used when the probabilities are needed.
    pub fn forward_with_probs(
        &self,
        hidden: Tensor<B, 3>,
        pad: Tensor<B, 4, Bool>,
    ) -> (Tensor<B, 3>, Tensor<B, 4>) {
        let (q, k, v, pad) = self.project(&hidden, pad);
        let head_dim = q.dims()[3];
        let scores = q
            .matmul(k.swap_dims(2, 3))
            .div_scalar((head_dim as f64).sqrt())
            .mask_fill(pad, f32::NEG_INFINITY);
        let probs = burn::tensor::activation::softmax(scores, 3);
        let context = probs.clone().matmul(v);
        (self.output(context, hidden), probs)
    }

    /// Query, key and value as `[batch, heads, seq, head size]`, and the
    /// padding mask cut to this layer's heads.
    #[allow(clippy::type_complexity)]
    fn project(
        &self,
        hidden: &Tensor<B, 3>,
        pad: Tensor<B, 4, Bool>,
    ) -> (Tensor<B, 4>, Tensor<B, 4>, Tensor<B, 4>, Tensor<B, 4, Bool>) {
        let [batch, seq_len, _] = hidden.dims();
        // The attention width is heads × head size, which pruning can make
        // narrower than the hidden width.
        let width = self.query.weight.dims()[1];
        let head_dim = width / self.n_heads;
        let pad = if pad.dims()[1] > self.n_heads {
            pad.slice([0..batch, 0..self.n_heads, 0..seq_len, 0..seq_len])
        } else {
            pad
        };
        let heads = |t: Tensor<B, 3>| {
            t.reshape([batch, seq_len, self.n_heads, head_dim])
                .swap_dims(1, 2)
        };
        let fq = self.fake_quant;
        (
            heads(dense(&self.query, hidden.clone(), fq)),
            heads(dense(&self.key, hidden.clone(), fq)),
            heads(dense(&self.value, hidden.clone(), fq)),
            pad,
        )
    }

    /// Heads back to rows, output projection, residual and LayerNorm.
    fn output(&self, context: Tensor<B, 4>, hidden: Tensor<B, 3>) -> Tensor<B, 3> {
        let [batch, _, seq_len, head_dim] = context.dims();
        let context = context
            .swap_dims(1, 2)
            .reshape([batch, seq_len, self.n_heads * head_dim]);
        let projected = self
            .dropout
            .forward(dense(&self.output, context, self.fake_quant));
        self.layer_norm.forward(projected + hidden)
    }
}

/// The padding mask as the backend's fused attention reads it. burn's
/// convention is true = masked out, and every backend follows it but one:
/// burn-tch 0.21 hands the mask to torch's `scaled_dot_product_attention`,
/// whose boolean mask means the opposite (true = attend), so plain LibTorch
/// attended to padding and ignored the text (embeddings far from the
/// reference). `Autodiff<LibTorch>` decomposes attention itself and reads the
/// mask burn's way, so only the plain backend gets it flipped. The golden
/// MiniLM test on `tch` fails if either side changes.
fn fused_mask<B: Backend>(pad: Tensor<B, 4, Bool>) -> Tensor<B, 4, Bool> {
    if B::name(&pad.device()).starts_with("libtorch") {
        pad.bool_not()
    } else {
        pad
    }
}
