//! Labelled text data sets: the built-in ones (Pang & Lee sentences and
//! reviews, SpamAssassin, BBC News) read from their fetched assets, and any
//! user table (CSV, TSV, JSONL) with chosen text and label columns.
//!
//! Readers never drop a row silently: a row with a missing label, bad
//! encoding or a parse error becomes a [`BadRow`] naming its file and line,
//! which the caller reports.

mod builtin;
mod table;

use std::fmt;
use std::path::Path;

pub use builtin::{BuiltinDataset, load_builtin, read_builtin};
pub use table::{TableFormat, TableOptions, load_table};

use crate::assets::{Cache, FetchOptions};
use crate::split::{Split, SplitFractions, stratified_split};
use crate::{DataError, Result};

/// One labelled text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub text: String,
    /// Index into [`Dataset::labels`].
    pub label: usize,
}

/// A labelled data set.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: String,
    /// Label names; an example's `label` indexes this list.
    pub labels: Vec<String>,
    pub examples: Vec<Example>,
}

impl Dataset {
    /// The documented stratified 70/10/20 split with the given seed.
    pub fn split(&self, seed: u64) -> Split {
        let labels: Vec<usize> = self.examples.iter().map(|e| e.label).collect();
        stratified_split(&labels, seed, SplitFractions::default())
    }

    /// Number of examples per label, in label order.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.labels.len()];
        for e in &self.examples {
            counts[e.label] += 1;
        }
        counts
    }
}

/// A row a reader could not use, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// `file:line` (or just the file for one-document-per-file corpora).
    pub location: String,
    pub reason: String,
}

impl fmt::Display for BadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.reason)
    }
}

/// A data set together with the rows that were skipped.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub dataset: Dataset,
    pub skipped: Vec<BadRow>,
}

/// Loads a built-in data set by name, or a user table when `name` is a path.
pub fn load(
    name_or_path: &str,
    table: &TableOptions,
    cache: &Cache,
    fetch: &FetchOptions,
) -> Result<Loaded> {
    if let Ok(builtin) = name_or_path.parse::<BuiltinDataset>() {
        return load_builtin(builtin, cache, fetch);
    }
    let path = Path::new(name_or_path);
    if path.is_file() {
        return load_table(path, table);
    }
    Err(DataError::BadData {
        path: path.into(),
        detail: format!(
            "neither a file nor a built-in data set (built-in: {})",
            BuiltinDataset::ALL
                .iter()
                .map(|d| d.name())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// The 1-based line of byte `offset` in `bytes`.
pub(crate) fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Fails with [`DataError::EmptyDataset`] when nothing usable was read.
pub(crate) fn non_empty(loaded: Loaded) -> Result<Loaded> {
    if loaded.dataset.examples.is_empty() {
        return Err(DataError::EmptyDataset {
            name: loaded.dataset.name,
            skipped: loaded.skipped.len(),
        });
    }
    Ok(loaded)
}
