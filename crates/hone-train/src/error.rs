//! The one error type of hone-train: what can go wrong while training,
//! checkpointing or resuming, with the file or setting it concerns.

use std::path::PathBuf;

/// Errors of the training loop.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("checkpoint {path}: {detail}")]
    Checkpoint { path: PathBuf, detail: String },
    #[error("invalid training setting: {0}")]
    Config(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("training diverged at step {step}: {detail}")]
    Diverged { step: usize, detail: String },
    /// An error raised by the task (data, tokenizer, model) while training.
    #[error("{0}")]
    Task(String),
}

impl TrainError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = TrainError> = std::result::Result<T, E>;
