//! hone-train — layer 2 of hone: the training loop and the strategies around
//! it. It is generic over burn's `AutodiffBackend` and over the task being
//! trained (the task supplies batches, the loss and the validation metric),
//! and depends only on burn and plain crates — never on a hone crate above
//! layer 1.
pub mod schedule;

pub mod batch_finder;
pub mod checkpoint;
pub mod ema;
pub mod error;
pub mod freeze;
pub mod optim;
pub mod params;
pub mod precision;
pub mod task;
pub mod trainer;

pub use error::{Result, TrainError};
pub use freeze::FreezePlan;
pub use optim::OptimConfig;
pub use precision::Precision;
pub use task::{Metrics, TrainTask};
pub use trainer::{RunOptions, TrainConfig, TrainOutcome, train};
pub mod log;
pub mod memory;
pub mod plot;
