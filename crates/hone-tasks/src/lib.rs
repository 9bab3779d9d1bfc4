//! hone-tasks — layer 3 of hone: task heads and recipes. Text classification
//! ([`classify`]) puts a head on a pretrained encoder's pooled output and
//! trains it with hone-train's loop; it may use every crate of layers 0–2.

pub mod classify;
pub mod error;

pub use error::{Result, TaskError};
