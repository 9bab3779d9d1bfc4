//! The facade's error: the lower layers' errors, unchanged, plus the few that
//! only arise when they are joined (a backend that is not compiled in).

/// Result alias of the facade.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Data(#[from] hone_data::DataError),
    #[error(transparent)]
    Model(#[from] hone_model::ModelError),
    #[error(transparent)]
    Task(#[from] hone_tasks::TaskError),
    #[error(transparent)]
    Compress(#[from] hone_compress::CompressError),
    #[error(transparent)]
    Train(#[from] hone_train::TrainError),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Inputs that cannot work together (a model whose labels differ from the data).
    #[error("{0}")]
    Invalid(String),
    #[error(
        "backend `{requested}` is not compiled into this build (compiled in: {available}); rebuild with `--features {requested}`"
    )]
    BackendUnavailable {
        requested: String,
        available: String,
    },
}
