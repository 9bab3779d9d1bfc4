//! The one error type of the kernels: shapes and parameters that cannot work,
//! reported before any output is written.

/// A kernel refused its arguments.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KernelError {
    /// A slice does not have the length its shape implies.
    #[error("{what}: expected {expected} elements, got {got}")]
    Length {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    /// The inner dimensions of a product differ.
    #[error("inner dimensions differ: activations have {a} columns, weights {b} rows")]
    InnerDim { a: usize, b: usize },
    /// An instruction set was requested that this CPU does not have.
    #[error("this CPU does not support {0}")]
    Unsupported(&'static str),
    /// A 4-bit group size other than 32, 64 or 128, or one that does not divide K.
    #[error("group size {group} is not 32, 64 or 128, or does not divide K = {k}")]
    GroupSize { group: usize, k: usize },
    /// A symmetric grid of other than 1..=127 levels on each side.
    #[error("quantization levels must be 1..=127 on each side of zero, got {0}")]
    Levels(i8),
}

pub(crate) fn check_len(
    what: &'static str,
    expected: usize,
    got: usize,
) -> Result<(), KernelError> {
    if expected == got {
        Ok(())
    } else {
        Err(KernelError::Length {
            what,
            expected,
            got,
        })
    }
}
