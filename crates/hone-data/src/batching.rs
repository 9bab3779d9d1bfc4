//! Batching of examples by index: plain random batches, and length-bucketed
//! batches that put texts of similar length together so dynamic padding adds
//! few pad tokens, while the order stays random from epoch to epoch.
//!
//! Bucketing shuffles the indices with the seed, cuts them into pools of
//! `batch_size * POOL_BATCHES`, sorts each pool by length (ties keep their
//! shuffled order), cuts each pool into batches and shuffles the order of all
//! batches. Since a pool holds a whole number of batches, every batch is full
//! except the last batch of the last pool, which holds the remainder
//! `n % batch_size` when that is not 0. Both shufflers use
//! [`crate::split::shuffle`] on one ChaCha8 generator seeded with `seed`, so
//! the batches are a function of `(lengths, batch_size, seed)` alone.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::split::shuffle;
use crate::{DataError, Result};

/// Batches per sorting pool: a pool sees enough lengths to form tight
/// batches yet is small enough that every epoch mixes the data differently.
pub const POOL_BATCHES: usize = 50;

/// Token counts of a batching: what the model reads versus what it computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PaddingStats {
    /// Tokens of the texts themselves.
    pub real_tokens: usize,
    /// Tokens after padding (real plus pad).
    pub padded_tokens: usize,
}

impl PaddingStats {
    /// Share of computed tokens that are real, in [0, 1] (1 when empty).
    pub fn efficiency(&self) -> f64 {
        if self.padded_tokens == 0 {
            1.0
        } else {
            self.real_tokens as f64 / self.padded_tokens as f64
        }
    }

    pub fn pad_tokens(&self) -> usize {
        self.padded_tokens - self.real_tokens
    }
}

fn check_batch_size(batch_size: usize) -> Result<()> {
    if batch_size == 0 {
        return Err(DataError::InvalidConfig {
            field: "batch_size".into(),
            detail: "must be at least 1".into(),
        });
    }
    Ok(())
}

/// Inference order: runs `run` over batches of indices sorted by `lengths`
/// (similar lengths together, so dynamic padding adds little), each call
/// returning one output per index of its batch, and gives the outputs back
/// in index order. A `batch_size` of 0 is read as 1.
pub fn map_length_sorted<T: Clone + Default, E>(
    lengths: &[usize],
    batch_size: usize,
    mut run: impl FnMut(&[usize]) -> std::result::Result<Vec<T>, E>,
) -> std::result::Result<Vec<T>, E> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| lengths[i]);
    let mut out = vec![T::default(); lengths.len()];
    for chunk in order.chunks(batch_size.max(1)) {
        let outputs = run(chunk)?;
        debug_assert_eq!(outputs.len(), chunk.len(), "one output per index");
        for (&i, v) in chunk.iter().zip(outputs) {
            out[i] = v;
        }
    }
    Ok(out)
}

/// Random batches of `batch_size` indices out of `0..n`; the last one holds
/// the remainder.
pub fn shuffled_batches(n: usize, batch_size: usize, seed: u64) -> Result<Vec<Vec<usize>>> {
    check_batch_size(batch_size)?;
    let mut order: Vec<usize> = (0..n).collect();
    shuffle(&mut order, &mut ChaCha8Rng::seed_from_u64(seed));
    Ok(order.chunks(batch_size).map(<[usize]>::to_vec).collect())
}

/// Length-bucketed batches of the indices of `lengths` (see the module
/// documentation for the exact rule).
pub fn bucketed_batches(
    lengths: &[usize],
    batch_size: usize,
    seed: u64,
) -> Result<Vec<Vec<usize>>> {
    check_batch_size(batch_size)?;
    let rng = &mut ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    shuffle(&mut order, rng);
    let mut batches = Vec::with_capacity(lengths.len().div_ceil(batch_size));
    for pool in order.chunks_mut(batch_size.saturating_mul(POOL_BATCHES)) {
        pool.sort_by_key(|&i| lengths[i]);
        batches.extend(pool.chunks(batch_size).map(<[usize]>::to_vec));
    }
    shuffle(&mut batches, rng);
    Ok(batches)
}

/// Real and padded token counts when each batch is padded to its longest
/// member (dynamic padding).
pub fn padding_stats(lengths: &[usize], batches: &[Vec<usize>]) -> PaddingStats {
    batches
        .iter()
        .fold(PaddingStats::default(), |mut stats, batch| {
            let longest = batch.iter().map(|&i| lengths[i]).max().unwrap_or(0);
            stats.real_tokens += batch.iter().map(|&i| lengths[i]).sum::<usize>();
            stats.padded_tokens += batch.len() * longest;
            stats
        })
}

/// Real and padded token counts when every text is padded (or truncated) to
/// `max_len` tokens, the static padding of a fixed-shape model.
pub fn pad_to_max_tokens(lengths: &[usize], max_len: usize) -> PaddingStats {
    PaddingStats {
        real_tokens: lengths.iter().map(|&l| l.min(max_len)).sum(),
        padded_tokens: lengths.len() * max_len,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::RngCore;

    use super::*;

    fn check_partition(batches: &[Vec<usize>], n: usize) -> std::result::Result<(), TestCaseError> {
        let mut all: Vec<usize> = batches.iter().flatten().copied().collect();
        all.sort_unstable();
        prop_assert_eq!(all, (0..n).collect::<Vec<_>>());
        Ok(())
    }

    /// Sentence-like token lengths: mostly 10–40, a long tail to 128.
    fn realistic_lengths(n: usize) -> Vec<usize> {
        let mut rng = ChaCha8Rng::seed_from_u64(2019);
        (0..n)
            .map(|_| {
                let draws: usize = (0..4).map(|_| (rng.next_u64() % 12) as usize).sum();
                let tail = if rng.next_u64() % 10 == 0 {
                    (rng.next_u64() % 80) as usize
                } else {
                    0
                };
                (4 + draws + tail).min(128)
            })
            .collect()
    }

    proptest! {
        #[test]
        fn length_sorted_runs_see_sorted_batches_and_outputs_return_in_order(
            lengths in prop::collection::vec(0usize..300, 0..200),
            batch_size in 0usize..40,
        ) {
            let mut seen = Vec::new();
            let out = map_length_sorted(&lengths, batch_size, |chunk| {
                prop_assert!(chunk.len() <= batch_size.max(1));
                seen.extend_from_slice(chunk);
                Ok(chunk.iter().map(|&i| (i, lengths[i])).collect())
            })?;
            // Each index is run once, in ascending length ...
            let run_lengths: Vec<usize> = seen.iter().map(|&i| lengths[i]).collect();
            prop_assert!(run_lengths.windows(2).all(|w| w[0] <= w[1]));
            check_partition(&[seen], lengths.len())?;
            // ... and its output comes back at its own position.
            let expected: Vec<(usize, usize)> = lengths.iter().copied().enumerate().collect();
            prop_assert_eq!(out, expected);
        }

        #[test]
        fn bucketed_is_a_deterministic_partition(
            lengths in prop::collection::vec(1usize..200, 0..1200),
            batch_size in 1usize..40,
            seed in any::<u64>(),
        ) {
            let batches = bucketed_batches(&lengths, batch_size, seed).unwrap();
            check_partition(&batches, lengths.len())?;
            let short: Vec<usize> = batches.iter().map(Vec::len).filter(|&l| l != batch_size).collect();
            prop_assert!(short.len() <= 1);
            if let Some(&len) = short.first() {
                prop_assert_eq!(len, lengths.len() % batch_size);
            }
            prop_assert_eq!(&batches, &bucketed_batches(&lengths, batch_size, seed).unwrap());
        }

        #[test]
        fn shuffled_is_a_deterministic_partition(n in 0usize..1000, batch_size in 1usize..40, seed in any::<u64>()) {
            let batches = shuffled_batches(n, batch_size, seed).unwrap();
            check_partition(&batches, n)?;
            let (last, full) = batches.split_last().map_or((0, &[][..]), |(l, f)| (l.len(), f));
            prop_assert!(full.iter().all(|b| b.len() == batch_size));
            prop_assert!(last >= 1 && last <= batch_size || n == 0);
            prop_assert_eq!(&batches, &shuffled_batches(n, batch_size, seed).unwrap());
        }

        #[test]
        fn padding_never_below_real(lengths in prop::collection::vec(0usize..300, 0..300), batch_size in 1usize..17, seed in any::<u64>()) {
            for batches in [bucketed_batches(&lengths, batch_size, seed).unwrap(), shuffled_batches(lengths.len(), batch_size, seed).unwrap()] {
                let stats = padding_stats(&lengths, &batches);
                prop_assert_eq!(stats.real_tokens, lengths.iter().sum::<usize>());
                prop_assert!(stats.padded_tokens >= stats.real_tokens);
                prop_assert!(stats.padded_tokens <= pad_to_max_tokens(&lengths, 300).padded_tokens);
            }
        }
    }

    #[test]
    fn bucketing_pads_less_on_sentence_lengths() {
        let lengths = realistic_lengths(4000);
        for seed in 0..5 {
            let bucketed = padding_stats(&lengths, &bucketed_batches(&lengths, 32, seed).unwrap());
            let shuffled = padding_stats(
                &lengths,
                &shuffled_batches(lengths.len(), 32, seed).unwrap(),
            );
            assert!(bucketed.efficiency() > 0.95, "{bucketed:?}");
            assert!(
                bucketed.pad_tokens() * 5 < shuffled.pad_tokens(),
                "{bucketed:?} vs {shuffled:?}"
            );
        }
    }

    #[test]
    fn another_seed_reorders_batches() {
        let lengths = realistic_lengths(500);
        assert_ne!(
            bucketed_batches(&lengths, 8, 1).unwrap(),
            bucketed_batches(&lengths, 8, 2).unwrap()
        );
    }

    #[test]
    fn zero_batch_size_is_an_error() {
        let err = bucketed_batches(&[1, 2], 0, 0).unwrap_err().to_string();
        assert!(err.contains("batch_size"), "{err}");
        assert!(shuffled_batches(2, 0, 0).is_err());
    }

    #[test]
    fn stats_by_hand() {
        let lengths = [3, 5, 2, 8];
        let stats = padding_stats(&lengths, &[vec![0, 1], vec![2, 3]]);
        assert_eq!(
            stats,
            PaddingStats {
                real_tokens: 18,
                padded_tokens: 26
            }
        );
        let fixed = pad_to_max_tokens(&lengths, 6);
        assert_eq!(
            fixed,
            PaddingStats {
                real_tokens: 16,
                padded_tokens: 24
            }
        );
        assert_eq!(PaddingStats::default().efficiency(), 1.0);
    }
}
