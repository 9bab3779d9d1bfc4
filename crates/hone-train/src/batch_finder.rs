//! The batch-size finder: runs forward + backward on the longest training
//! examples at growing batch sizes, measures tokens/s and the process's peak
//! resident memory for each, and picks the largest size under a memory
//! budget. Gradient accumulation then makes up the requested effective
//! batch (see [`accumulation_for`]).
//!
//! Sizes are tried smallest first: CPU allocators keep freed memory, so a
//! later, larger probe's peak includes what an earlier one left — measured
//! in this order each peak is an upper bound for its size, never an
//! underestimate.

use std::time::Instant;

use burn::optim::GradientsParams;
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

use crate::precision::{Precision, cast_module};
use crate::task::TrainTask;
use crate::{Result, TrainError, memory};

/// What one batch size measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchProbe {
    pub batch_size: usize,
    pub tokens_per_s: f64,
    /// Peak resident memory of the process during the probe.
    pub peak_bytes: Option<u64>,
    pub fits: bool,
}

/// The finder's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchChoice {
    pub batch_size: usize,
    pub probes: Vec<BatchProbe>,
}

/// Micro-batches per step so that `batch_size × accumulation ≥ effective`.
pub fn accumulation_for(effective: usize, batch_size: usize) -> usize {
    effective.div_ceil(batch_size.max(1)).max(1)
}

/// Probes `candidates` (ascending) on the task's longest examples and picks
/// the largest whose peak memory is within `budget_bytes`. Stops at the first
/// size over budget (larger ones would not fit either).
pub fn find_batch_size<B: AutodiffBackend, T: TrainTask<B>>(
    task: &T,
    model: &T::Model,
    candidates: &[usize],
    budget_bytes: u64,
    precision: Precision,
    device: &B::Device,
) -> Result<BatchChoice> {
    let mut sizes = candidates.to_vec();
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.first().is_none_or(|&s| s == 0) {
        return Err(TrainError::Config(
            "batch-size finder needs candidate sizes ≥ 1".into(),
        ));
    }
    let mut probes = Vec::new();
    for &size in &sizes {
        let indices = task.longest(size);
        if indices.len() < size && !probes.is_empty() {
            break; // no more examples than the last size probed
        }
        memory::reset_peak();
        let mut best_tps = 0.0f64;
        // Two rounds: the first pays one-off allocation; the faster counts.
        for _ in 0..2 {
            let started = Instant::now();
            let batch = task.batch(&indices, 0, device)?;
            let tokens = task.tokens(&batch);
            let loss = if precision == Precision::F32 {
                task.loss(model, batch)
            } else {
                task.loss(&cast_module(model.clone(), precision.dtype()), batch)
            };
            let _ = GradientsParams::from_grads(loss.backward(), model);
            best_tps = best_tps.max(tokens as f64 / started.elapsed().as_secs_f64());
        }
        let peak = memory::peak_resident_bytes();
        let fits = peak.is_none_or(|p| p <= budget_bytes);
        probes.push(BatchProbe {
            batch_size: size,
            tokens_per_s: best_tps,
            peak_bytes: peak,
            fits,
        });
        if !fits {
            break;
        }
    }
    let batch_size = probes
        .iter()
        .filter(|p| p.fits)
        .map(|p| p.batch_size)
        .max()
        .ok_or_else(|| {
            TrainError::Config(format!(
                "even batch size {} needs more than the memory budget of {:.2} GiB ({:.2} GiB measured)",
                sizes[0],
                budget_bytes as f64 / (1u64 << 30) as f64,
                probes[0].peak_bytes.unwrap_or(0) as f64 / (1u64 << 30) as f64
            ))
        })?;
    Ok(BatchChoice { batch_size, probes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accumulation_reaches_the_effective_batch() {
        assert_eq!(accumulation_for(32, 8), 4);
        assert_eq!(accumulation_for(32, 12), 3);
        assert_eq!(accumulation_for(32, 64), 1);
        assert_eq!(accumulation_for(0, 8), 1);
    }
}
