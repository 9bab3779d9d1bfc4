//! hone-compress — layer 3, above hone-tasks: making a trained model smaller and faster.
//!
//! Quantization ([`quant`]): a model folder (pretrained or fine-tuned)
//! becomes a quantized model folder that hone's fast CPU engine
//! ([`hone_model::engine`]) runs with real integer kernels: int8 weights per
//! output channel with activations quantized per token at run time
//! (`int8-dynamic`) or with per-tensor scales calibrated on sample texts
//! (`int8-static`: min-max, percentile or MSE), or 4-bit weights in groups
//! (`int4-weight`); any dense layer can be kept in f32 (the accuracy-driven
//! fallback picks which). Structured pruning ([`prune`]): attention heads
//! and feed-forward neurons scored and physically removed. Distillation
//! ([`distill`]): a smaller student classifier initialized from chosen
//! teacher layers and trained on the teacher's soft targets (and hidden
//! states). It sits above hone-tasks because compressing a classifier
//! means training and evaluating that classifier; it uses layers 0–2 and hone-tasks.

pub mod distill;
pub mod error;
pub mod folder;
pub mod prune;
pub mod quant;
pub mod source;

pub use error::{CompressError, Result};
pub use source::SourceModel;
