//! The crate's single error type: every bad input (mismatched lengths, empty
//! corpora, out-of-range parameters) is reported here instead of panicking.

use thiserror::Error;

/// Why a metric could not be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MetricsError {
    /// Two inputs that must be aligned item by item have different lengths.
    #[error("length mismatch: {what} has {got} items, expected {expected}")]
    LengthMismatch {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    /// A corpus, batch, label list or reference set is empty.
    #[error("empty input: {0}")]
    Empty(&'static str),
    /// A configuration value is out of its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter { name: &'static str, reason: String },
    /// A data value is unusable (e.g. a positive or non-finite log-probability).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

/// Result alias used across the crate.
pub type Result<T> = std::result::Result<T, MetricsError>;

pub(crate) fn check_len(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(MetricsError::LengthMismatch {
            what,
            expected,
            got,
        })
    }
}

pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> MetricsError {
    MetricsError::InvalidParameter {
        name,
        reason: reason.into(),
    }
}
