//! hone-model — layer 1 of hone: transformer architectures and checkpoint I/O.
//!
//! Model code is generic over burn's `Backend` (`Tensor<B, D>`), so the same
//! encoder runs on the CPU backends, WGPU and CUDA; concrete backends are
//! chosen only by the top crates. Here live the BERT encoder ([`bert`]) built
//! from a Hugging Face `config.json` ([`config`]), weights loaded by name from
//! `model.safetensors` with errors that name the file and tensor
//! ([`checkpoint`]), the weight average of several checkpoints
//! ([`average`], for model soups), and sentence pooling ([`pooling`]). [`engine`] is a fast CPU
//! inference path for the same encoder (f32, int8 or 4-bit dense layers on
//! hone-kernels). It depends on burn, hone-kernels (layer 0) and plain
//! crates.

pub mod average;
pub mod bert;
pub mod checkpoint;
pub mod config;
pub mod engine;
pub mod error;
pub mod onnx;
pub mod pooling;

pub use average::average_checkpoints;
pub use bert::{BertInput, BertModel, InputLimits};
pub use checkpoint::{Checkpoint, NamedTensor, write_safetensors};
pub use config::{BertConfig, LayerShape};
pub use error::{ModelError, Result};
