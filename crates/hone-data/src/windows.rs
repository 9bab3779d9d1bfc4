//! Reading a long text as several windows instead of one truncated piece.
//!
//! A classifier with a 128-token limit sees a fifth of a 600-token news
//! article. With `windows = N > 1` the tokenizer cuts each text's content
//! into consecutive windows of the full budget (the last one aligned to the
//! text's end, so it is full too); a text that needs more than `N` windows
//! gets `N` spread evenly from its start to its end. Each window is scored
//! as its own sequence and the text's score is the mean over its windows
//! ([`mean_by_owner`]). A text that fits the budget is one window, exactly
//! as with truncation, so short-text data sets are unaffected.
//!
//! [`predict_sorted`] is the batching both inference paths (burn and hone's
//! CPU engine) share: windows sorted by length so a batch carries little
//! padding, scored, and averaged back to one row per text in input order.

use sha2::{Digest, Sha256};
use tokenizers::{Encoding, PaddingParams, pad_encodings};

use crate::tokenize::EncodedBatch;
use crate::{DataError, Result};

/// The content offsets where the windows of a text of `len` content tokens
/// start, each window `budget` tokens long. One window at 0 when the text
/// fits (or `max_windows` is 1); otherwise consecutive windows with the last
/// aligned to the end, or `max_windows` starts spread evenly over
/// `0 ..= len - budget` when more would be needed.
pub fn window_starts(len: usize, budget: usize, max_windows: usize) -> Vec<usize> {
    if len <= budget || max_windows <= 1 || budget == 0 {
        return vec![0];
    }
    let last = len - budget;
    let needed = len.div_ceil(budget);
    if needed <= max_windows {
        let mut starts: Vec<usize> = (0..needed - 1).map(|i| i * budget).collect();
        starts.push(last);
        return starts;
    }
    let gaps = max_windows - 1;
    // Rounded to the nearest offset: the first start is 0, the last `last`.
    (0..max_windows)
        .map(|i| (i * last + gaps / 2) / gaps)
        .collect()
}

/// Finished encodings (special tokens added, not padded), several per text
/// when the tokenizer reads windows, with the index of the text each belongs
/// to.
pub struct Pieces {
    pub(crate) encodings: Vec<Encoding>,
    pub(crate) owners: Vec<usize>,
    pub(crate) padding: PaddingParams,
    pub(crate) n_texts: usize,
    /// The tokenizer file, for errors.
    pub(crate) path: std::path::PathBuf,
}

impl Pieces {
    /// SHA-256 of what an encoder reads from these pieces: for each piece in
    /// order, the index of its text and its token ids, type ids and
    /// attention mask. Equal digests mean identical encoder inputs (what a
    /// cache of encoder outputs is keyed by).
    pub fn digest(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update((self.n_texts as u64).to_le_bytes());
        let mut buffer = Vec::new();
        for (encoding, owner) in self.encodings.iter().zip(&self.owners) {
            buffer.clear();
            buffer.extend_from_slice(&(*owner as u64).to_le_bytes());
            buffer.extend_from_slice(&(encoding.len() as u64).to_le_bytes());
            for values in [
                encoding.get_ids(),
                encoding.get_type_ids(),
                encoding.get_attention_mask(),
            ] {
                buffer.extend(values.iter().flat_map(|v| v.to_le_bytes()));
            }
            hash.update(&buffer);
        }
        hash.finalize().into()
    }

    /// Number of pieces (windows) over all texts.
    pub fn len(&self) -> usize {
        self.encodings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.encodings.is_empty()
    }

    /// The text each piece belongs to.
    pub fn owners(&self) -> &[usize] {
        &self.owners
    }

    /// Number of texts the pieces were cut from.
    pub fn n_texts(&self) -> usize {
        self.n_texts
    }

    /// Each piece's length in tokens, special tokens included.
    pub fn lengths(&self) -> Vec<usize> {
        self.encodings.iter().map(Encoding::len).collect()
    }

    /// The pieces at `rows`, padded to the longest of them.
    pub fn batch(&self, rows: &[usize]) -> Result<EncodedBatch> {
        let mut encodings: Vec<Encoding> =
            rows.iter().map(|&i| self.encodings[i].clone()).collect();
        pad_encodings(&mut encodings, &self.padding).map_err(|e| DataError::Tokenizer {
            path: self.path.clone(),
            detail: e.to_string(),
        })?;
        Ok(EncodedBatch::from_encodings(&encodings))
    }
}

/// The mean of the rows of each owner, one row per text in text order.
/// Every text must own at least one row.
pub fn mean_by_owner(rows: &[Vec<f32>], owners: &[usize], n_texts: usize) -> Vec<Vec<f32>> {
    let width = rows.first().map_or(0, Vec::len);
    let mut sums = vec![vec![0.0f32; width]; n_texts];
    let mut counts = vec![0usize; n_texts];
    for (row, &owner) in rows.iter().zip(owners) {
        sums[owner].iter_mut().zip(row).for_each(|(s, v)| *s += v);
        counts[owner] += 1;
    }
    for (sum, &n) in sums.iter_mut().zip(&counts) {
        let n = n.max(1) as f32;
        sum.iter_mut().for_each(|s| *s /= n);
    }
    sums
}

/// Scores every piece in batches of `batch_size` (pieces of similar length
/// together) with `score`, which is given the batch's piece indices and
/// encodings and returns one row per piece, and returns each text's mean
/// row in text order.
pub fn predict_sorted<E: From<DataError>>(
    pieces: &Pieces,
    batch_size: usize,
    mut score: impl FnMut(&[usize], EncodedBatch) -> std::result::Result<Vec<Vec<f32>>, E>,
) -> std::result::Result<Vec<Vec<f32>>, E> {
    let rows = crate::batching::map_length_sorted(&pieces.lengths(), batch_size, |chunk| {
        score(chunk, pieces.batch(chunk)?)
    })?;
    Ok(mean_by_owner(&rows, pieces.owners(), pieces.n_texts()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn starts_cover_short_long_and_very_long_texts() {
        assert_eq!(window_starts(100, 126, 4), vec![0]);
        assert_eq!(window_starts(500, 126, 1), vec![0]);
        // 300 tokens: windows at 0 and 126, the last aligned to the end.
        assert_eq!(window_starts(300, 126, 4), vec![0, 126, 174]);
        assert_eq!(window_starts(252, 126, 4), vec![0, 126]);
        // 1,000 tokens need 8 windows; 4 are spread from 0 to 874.
        assert_eq!(window_starts(1000, 126, 4), vec![0, 291, 583, 874]);
    }

    #[test]
    fn means_are_taken_per_owner() {
        let rows = vec![
            vec![1.0, 0.0],
            vec![0.0, 1.0],
            vec![0.5, 0.5],
            vec![0.2, 0.8],
        ];
        let means = mean_by_owner(&rows, &[0, 0, 1, 2], 3);
        assert_eq!(means, vec![vec![0.5, 0.5], vec![0.5, 0.5], vec![0.2, 0.8]]);
    }

    proptest! {
        #[test]
        fn windows_stay_inside_the_text_and_cover_it_when_allowed(
            len in 1usize..5000, budget in 1usize..600, max in 1usize..12,
        ) {
            let starts = window_starts(len, budget, max);
            prop_assert!(!starts.is_empty() && starts.len() <= max.max(1));
            prop_assert_eq!(starts[0], 0);
            prop_assert!(starts.windows(2).all(|w| w[0] < w[1]));
            for &s in &starts {
                prop_assert!(s + budget.min(len) <= len);
            }
            if len > budget && max > 1 {
                // The text's end is always read.
                prop_assert_eq!(*starts.last().unwrap() + budget, len);
                if len.div_ceil(budget) <= max {
                    // Every token is in some window.
                    prop_assert!(starts.windows(2).all(|w| w[1] <= w[0] + budget));
                }
            }
        }
    }
}
