//! Sentence pooling over the last hidden state, as sentence-transformers does
//! it: the mean of the real (unmasked) token vectors, then L2 normalization.

use burn::prelude::*;

/// Mean of the token vectors where `attention_mask` is 1: `[b, s, h]` → `[b, h]`.
pub fn mean_pool<B: Backend>(
    hidden: Tensor<B, 3>,
    attention_mask: Tensor<B, 2, Int>,
) -> Tensor<B, 2> {
    let [batch, seq_len, width] = hidden.dims();
    // The mask takes the hidden state's dtype, so half-precision compute works.
    let mask = attention_mask
        .float()
        .cast(hidden.dtype())
        .reshape([batch, seq_len, 1]);
    let summed = (hidden * mask.clone()).sum_dim(1).reshape([batch, width]);
    // sentence-transformers clamps the count at 1e-9 so an all-padding row gives 0, not NaN.
    let counts = mask.sum_dim(1).reshape([batch, 1]).clamp_min(1e-9);
    summed / counts
}

/// Divides each row by its L2 norm (rows of norm 0 stay 0, as torch's
/// `F.normalize` with eps 1e-12).
pub fn l2_normalize<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 2> {
    let norm = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}
