//! Seeded on-the-fly text augmentation for training: character noise
//! (deletions, swaps, random-letter insertions, keyboard typos) and word
//! operations (dropout, swaps, WordNet synonym replacement and insertion).
//!
//! Every knob of [`AugmentConfig`] is a probability per character or per
//! word, 0 by default; with all of them 0 [`Augmenter::augment`] returns its
//! input unchanged. The output is a function of `(text, seed)` alone: one
//! ChaCha8 generator is seeded from the `u64` and drawn from in a fixed order
//! (word dropout, word swaps, synonym replacement, synonym insertion, then
//! character noise word by word), with draws mapped to ranges here rather
//! than by `rand`'s distributions so that a `rand` upgrade cannot change an
//! augmented data set. A non-empty text never becomes empty.

mod char_noise;
mod stopwords;
mod wordnet;
mod words;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use wordnet::{DATA_FILES, WordNet};

use crate::{DataError, Result};
use words::Words;

/// Probabilities of each augmentation operation (per character or per word).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AugmentConfig {
    /// Per character: delete it.
    pub char_delete: f64,
    /// Per character: swap it with the next one.
    pub char_swap: f64,
    /// Per character: insert a random letter after it.
    pub char_insert: f64,
    /// Per character: replace it with a neighbouring key (a typo).
    pub char_substitute: f64,
    /// Per word: drop it (one word always stays).
    pub word_dropout: f64,
    /// Per word: swap it with the next word.
    pub word_swap: f64,
    /// Per word: replace it with a WordNet synonym.
    pub synonym: f64,
    /// Per word: insert a synonym of a random word at a random position.
    pub word_insert: f64,
}

impl AugmentConfig {
    /// Every knob with its name, in field order.
    pub fn knobs(&self) -> [(&'static str, f64); 8] {
        [
            ("char_delete", self.char_delete),
            ("char_swap", self.char_swap),
            ("char_insert", self.char_insert),
            ("char_substitute", self.char_substitute),
            ("word_dropout", self.word_dropout),
            ("word_swap", self.word_swap),
            ("synonym", self.synonym),
            ("word_insert", self.word_insert),
        ]
    }

    /// Fails on a knob outside [0, 1] or NaN, naming it.
    pub fn validate(&self) -> Result<()> {
        for (name, p) in self.knobs() {
            if !(0.0..=1.0).contains(&p) {
                return Err(DataError::InvalidConfig {
                    field: name.into(),
                    detail: format!("a probability must lie in [0, 1], got {p}"),
                });
            }
        }
        Ok(())
    }

    /// True when every operation is off, so augmentation changes nothing.
    pub fn is_identity(&self) -> bool {
        self.knobs().iter().all(|&(_, p)| p == 0.0)
    }

    /// True when an operation needs WordNet.
    pub fn needs_wordnet(&self) -> bool {
        self.synonym > 0.0 || self.word_insert > 0.0
    }

    fn has_char_noise(&self) -> bool {
        self.knobs()[..4].iter().any(|&(_, p)| p > 0.0)
    }
}

/// Applies an [`AugmentConfig`] to texts.
#[derive(Debug, Clone)]
pub struct Augmenter {
    config: AugmentConfig,
    wordnet: Option<WordNet>,
}

impl Augmenter {
    /// Validates `config`; WordNet is required when `synonym` or
    /// `word_insert` is above 0.
    pub fn new(config: AugmentConfig, wordnet: Option<WordNet>) -> Result<Self> {
        config.validate()?;
        if wordnet.is_none() && config.needs_wordnet() {
            let field = if config.synonym > 0.0 {
                "synonym"
            } else {
                "word_insert"
            };
            return Err(DataError::InvalidConfig {
                field: field.into(),
                detail: "synonym operations need WordNet (the `wordnet` asset), none was given"
                    .into(),
            });
        }
        Ok(Self { config, wordnet })
    }

    pub fn config(&self) -> &AugmentConfig {
        &self.config
    }

    /// An augmented copy of `text`, the same for the same `(text, seed)`.
    pub fn augment(&self, text: &str, seed: u64) -> String {
        let config = &self.config;
        if config.is_identity() {
            return text.to_string();
        }
        let rng = &mut ChaCha8Rng::seed_from_u64(seed);
        let mut words = Words::parse(text);
        words.dropout(config.word_dropout, rng);
        words.swap(config.word_swap, rng);
        if let Some(wordnet) = &self.wordnet {
            words.replace_synonyms(config.synonym, wordnet, rng);
            words.insert_synonyms(config.word_insert, wordnet, rng);
        }
        if config.has_char_noise() {
            for w in &mut words.words {
                w.text = char_noise::noise_word(&w.text, config, rng);
            }
        }
        words.render()
    }
}

/// True with probability `p`; draws nothing when `p` is 0.
fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    p > 0.0 && unit(rng) < p
}

/// Uniform in [0, 1) from the top 53 bits of one draw.
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform in `0..n` (`n > 0`) by multiply-shift of one 64-bit draw.
pub(crate) fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

#[cfg(test)]
mod tests;
