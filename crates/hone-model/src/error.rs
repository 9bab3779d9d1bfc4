//! The error type of hone-model. A bad checkpoint or config is reported with
//! the file and the tensor or field involved, never as a panic.

use std::path::PathBuf;

/// Result alias for hone-model.
pub type Result<T, E = ModelError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: invalid config: {detail}")]
    Config { path: PathBuf, detail: String },

    #[error("{path}: not a readable safetensors file (truncated or corrupt?): {detail}")]
    Corrupt { path: PathBuf, detail: String },

    #[error("{path}: tensor `{tensor}` is missing")]
    MissingTensor { path: PathBuf, tensor: String },

    #[error(
        "{path}: tensor `{tensor}` has shape {found:?} but {expected:?} was expected from {reason}"
    )]
    ShapeMismatch {
        path: PathBuf,
        tensor: String,
        expected: Vec<usize>,
        found: Vec<usize>,
        reason: String,
    },

    #[error(
        "{path}: tensor `{tensor}` has dtype {dtype}, which hone cannot load (F32, F16 and BF16 are supported)"
    )]
    UnsupportedDtype {
        path: PathBuf,
        tensor: String,
        dtype: String,
    },

    #[error("{path}: tensor `{tensor}` disagrees with the config: {detail}")]
    ConfigMismatch {
        path: PathBuf,
        tensor: String,
        detail: String,
    },

    #[error("bad model input: {0}")]
    Input(String),

    /// The fast CPU engine refused a shape or a kernel failed.
    #[error("CPU engine: {0}")]
    Engine(String),
}
