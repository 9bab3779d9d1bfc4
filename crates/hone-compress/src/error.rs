//! The one error type of hone-compress.

use std::path::PathBuf;

pub type Result<T, E = CompressError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum CompressError {
    #[error(transparent)]
    Model(#[from] hone_model::ModelError),
    #[error(transparent)]
    Data(#[from] hone_data::DataError),
    #[error(transparent)]
    Task(#[from] hone_tasks::TaskError),
    #[error(transparent)]
    Train(#[from] hone_train::TrainError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A quantized model folder that cannot be read as written.
    #[error("{path}: not a valid quantized model: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    /// Options that cannot work (an empty calibration set, a bad scheme).
    #[error("{0}")]
    Invalid(String),
}

pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> CompressError + '_ {
    move |source| CompressError::Io {
        path: path.into(),
        source,
    }
}
