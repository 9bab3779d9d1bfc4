//! hone — layer 4: the facade over hone's library layers and the home of the
//! `hone` command-line program.
//!
//! It re-exports the layers ([`data`], [`model`], [`metrics`], which
//! `hone eval` runs on, [`train`], [`tasks`] and [`compress`]), chooses concrete burn backends by cargo feature
//! ([`backend`]: `ndarray` by default, `flex`, `blas`, `wgpu`, `cuda`), and
//! joins tokenizer and encoder into the sentence embedding pipeline
//! ([`embed`]), runs any model folder on the fast CPU engine ([`fast`]) and
//! measures latency ([`bench`]); [`optimize`] is the whole pipeline
//! (fine-tune → distill → prune → int8) with its measured report. It may depend on every lower layer; nothing but `xtask`
//! depends on it.

pub mod backend;
pub mod bench;
pub mod embed;
pub mod error;
pub mod fast;
pub mod models;
pub mod optimize;

pub use error::{Error, Result};
pub use hone_compress as compress;
pub use hone_data as data;
pub use hone_metrics as metrics;
pub use hone_model as model;
pub use hone_tasks as tasks;
pub use hone_train as train;
