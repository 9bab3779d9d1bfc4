//! The one error type of hone-tasks: bad data for the task (empty, one
//! class, a label the training split never shows), bad model folders, and
//! the errors of the layers below, passed through with their context.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error(transparent)]
    Data(#[from] hone_data::DataError),
    #[error(transparent)]
    Model(#[from] hone_model::ModelError),
    #[error(transparent)]
    Train(#[from] hone_train::TrainError),
    #[error(transparent)]
    Metrics(#[from] hone_metrics::MetricsError),
    #[error("data set {name}: {detail}")]
    BadDataset { name: String, detail: String },
    #[error("{path}: {detail}")]
    BadModelDir { path: PathBuf, detail: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid setting: {0}")]
    Config(String),
}

impl TaskError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = TaskError> = std::result::Result<T, E>;
