//! hone-compress — layer 3: making a trained model smaller and faster.
//!
//! Today: quantization ([`quant`]). A model folder (pretrained or
//! fine-tuned) becomes a quantized model folder that hone's fast CPU engine
//! ([`hone_model::engine`]) runs with real integer kernels: int8 weights per
//! output channel with activations quantized per token at run time
//! (`int8-dynamic`) or with per-tensor scales calibrated on sample texts
//! (`int8-static`: min-max, percentile or MSE), or 4-bit weights in groups
//! (`int4-weight`); any dense layer can be kept in f32 (the accuracy-driven
//! fallback picks which). It uses layers 0–1 only (kernels, model, data).

pub mod error;
pub mod quant;

pub use error::{CompressError, Result};
