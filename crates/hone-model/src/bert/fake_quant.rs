//! Quantization-aware training: the dense layers can run "fake-quantized"
//! — weights rounded to int8 per output channel and inputs to int8 per
//! token, both symmetric with scale max|x| / 127, then multiplied in float —
//! the roundings hone's int8-dynamic engine applies to its dense layers
//! (it also stores the word-embedding table in int8, which is not simulated
//! here: that costs little and has no gradient worth shaping).
//! The rounding has no useful gradient, so it is bypassed (straight-through
//! estimator): the forward sees `x + (q(x) − x)` with the bracket detached,
//! the backward sees the identity. Training this way lets the weights
//! settle where int8 rounding costs least.

use burn::nn::Linear;
use burn::prelude::*;

/// Symmetric int8 fake-quantization of `x` with one scale per slice along
/// `dim` (the max of |x| over that dimension, over 127).
pub fn fake_quant<B: Backend, const D: usize>(x: Tensor<B, D>, dim: usize) -> Tensor<B, D> {
    let scale = x
        .clone()
        .abs()
        .max_dim(dim)
        .clamp_min(1e-12)
        .div_scalar(127.0);
    let q = x
        .clone()
        .div(scale.clone())
        .round()
        .clamp(-127.0, 127.0)
        .mul(scale);
    x.clone() + (q - x).detach()
}

/// `linear` applied to `[batch, seq, in]`, fake-quantized when `on`.
pub fn dense<B: Backend>(linear: &Linear<B>, x: Tensor<B, 3>, on: bool) -> Tensor<B, 3> {
    if !on {
        return linear.forward(x);
    }
    // burn stores the weight as [in, out]: one scale per output column.
    let w = fake_quant(linear.weight.val(), 0);
    let x = fake_quant(x, 2);
    let y = x.matmul(w.unsqueeze::<3>());
    match &linear.bias {
        Some(b) => y + b.val().unsqueeze::<3>(),
        None => y,
    }
}
