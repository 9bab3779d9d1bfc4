//! Tokenization through the `tokenizers` crate from a model's
//! `tokenizer.json`: truncation to a maximum length by one of three
//! [`Truncation`] strategies and padding to the longest sequence of each
//! batch (dynamic padding), returned as flat arrays ready to become tensors.
//!
//! Texts are encoded without special tokens, the content ids are cut to the
//! budget (`max_len` less the special tokens the model's post-processor adds),
//! and only then does the post-processor add `[CLS]`/`[SEP]`, so special
//! tokens survive every strategy and no sequence exceeds `max_len`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tokenizers::{
    Encoding, PaddingParams, PaddingStrategy, PostProcessor, Tokenizer, TruncationDirection,
    pad_encodings,
};

use crate::view::TextView;
use crate::windows::{Pieces, window_starts};
use crate::{DataError, Result};

/// Which content tokens a text longer than the budget keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Truncation {
    /// The first tokens (`"head"`).
    #[default]
    Head,
    /// The last tokens (`"tail"`).
    Tail,
    /// The first `head` tokens and the last `budget - head` (Sun et al. 2019,
    /// "How to Fine-Tune BERT for Text Classification?": 128 + 382 of 512).
    /// `None` (`"head+tail"`) takes `max_len / 4`; `"head+tail:N"` gives
    /// `Some(N)`. A head above the budget keeps the head only.
    HeadTail { head: Option<usize> },
}

impl Truncation {
    /// The content ids kept out of `len` under a budget of `budget` ids, as
    /// `(head, tail)` counts taken from the start and the end.
    pub fn split(self, len: usize, budget: usize, max_len: usize) -> (usize, usize) {
        if len <= budget {
            return (len, 0);
        }
        match self {
            Truncation::Head => (budget, 0),
            Truncation::Tail => (0, budget),
            Truncation::HeadTail { head } => {
                let head = head.unwrap_or(max_len / 4).min(budget);
                (head, budget - head)
            }
        }
    }
}

impl FromStr for Truncation {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || DataError::InvalidConfig {
            field: "truncation".into(),
            detail: format!("`{s}` is not one of head, tail, head+tail, head+tail:N"),
        };
        match s.trim().to_ascii_lowercase().as_str() {
            "head" => Ok(Truncation::Head),
            "tail" => Ok(Truncation::Tail),
            "head+tail" => Ok(Truncation::HeadTail { head: None }),
            other => {
                let n = other.strip_prefix("head+tail:").ok_or_else(bad)?;
                let head = n.trim().parse().map_err(|_| bad())?;
                Ok(Truncation::HeadTail { head: Some(head) })
            }
        }
    }
}

impl fmt::Display for Truncation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Truncation::Head => f.write_str("head"),
            Truncation::Tail => f.write_str("tail"),
            Truncation::HeadTail { head: None } => f.write_str("head+tail"),
            Truncation::HeadTail { head: Some(n) } => write!(f, "head+tail:{n}"),
        }
    }
}

impl TryFrom<String> for Truncation {
    type Error = DataError;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Truncation> for String {
    fn from(t: Truncation) -> Self {
        t.to_string()
    }
}

/// A batch of token ids, row-major `[batch, seq_len]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedBatch {
    pub batch: usize,
    pub seq_len: usize,
    pub input_ids: Vec<u32>,
    pub attention_mask: Vec<u32>,
    pub token_type_ids: Vec<u32>,
}

impl EncodedBatch {
    /// Rows of equal length (already padded) laid out row-major.
    pub(crate) fn from_encodings(encodings: &[Encoding]) -> Self {
        let seq_len = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut out = EncodedBatch {
            batch: encodings.len(),
            seq_len,
            input_ids: Vec::with_capacity(encodings.len() * seq_len),
            attention_mask: Vec::with_capacity(encodings.len() * seq_len),
            token_type_ids: Vec::with_capacity(encodings.len() * seq_len),
        };
        for e in encodings {
            out.input_ids.extend_from_slice(e.get_ids());
            out.attention_mask.extend_from_slice(e.get_attention_mask());
            out.token_type_ids.extend_from_slice(e.get_type_ids());
        }
        out
    }
}

/// A tokenizer with hone's truncation and padding settings.
pub struct TextTokenizer {
    /// Without truncation or padding: both are done here.
    inner: Tokenizer,
    path: PathBuf,
    max_len: usize,
    truncation: Truncation,
    view: TextView,
    /// Windows per text when scoring ([`TextTokenizer::encode_pieces`]); 1
    /// reads each text once, cut by `truncation`.
    windows: usize,
    /// Special tokens the post-processor adds to a single sequence.
    n_special: usize,
    padding: PaddingParams,
}

impl TextTokenizer {
    /// Loads `tokenizer.json`, truncating to `max_len` tokens (special tokens
    /// included) by keeping the head, and padding each batch to its longest
    /// sequence with the tokenizer's own pad token.
    pub fn from_file(path: &Path, max_len: usize) -> Result<Self> {
        let err = |detail: String| DataError::Tokenizer {
            path: path.into(),
            detail,
        };
        let mut inner = Tokenizer::from_file(path).map_err(|e| err(e.to_string()))?;
        let padding = PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..inner.get_padding().cloned().unwrap_or_default()
        };
        inner
            .with_truncation(None)
            .map_err(|e| err(e.to_string()))?;
        inner.with_padding(None);
        let n_special = inner
            .get_post_processor()
            .map_or(0, |p| p.added_tokens(false));
        if max_len <= n_special {
            return Err(err(format!(
                "max_len {max_len} leaves no room for text after the {n_special} special tokens"
            )));
        }
        Ok(Self {
            inner,
            path: path.into(),
            max_len,
            truncation: Truncation::Head,
            view: TextView::Raw,
            windows: 1,
            n_special,
            padding,
        })
    }

    /// The same tokenizer with another truncation strategy.
    pub fn with_truncation(mut self, truncation: Truncation) -> Self {
        self.truncation = truncation;
        self
    }

    /// The same tokenizer reading another part of each text ([`TextView`]).
    pub fn with_view(mut self, view: TextView) -> Self {
        self.view = view;
        self
    }

    /// The same tokenizer scoring each long text as up to `windows` windows
    /// of `max_len` tokens ([`crate::windows`]); 1 (the default) reads one
    /// piece cut by the truncation strategy. [`TextTokenizer::encode_batch`]
    /// always reads one piece; [`TextTokenizer::encode_batch_windows`] one
    /// window of the caller's choice.
    pub fn with_windows(mut self, windows: usize) -> Self {
        self.windows = windows.max(1);
        self
    }

    pub fn windows(&self) -> usize {
        self.windows
    }

    pub fn max_len(&self) -> usize {
        self.max_len
    }

    pub fn truncation(&self) -> Truncation {
        self.truncation
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// `n` texts of 4 to 40 words drawn at random (seeded) from the
    /// tokenizer's own vocabulary: whole words of ASCII letters, no `##`
    /// continuations or special tokens. Calibration input that needs no
    /// data set and is not tuned to any test text.
    pub fn vocabulary_texts(&self, n: usize, seed: u64) -> Result<Vec<String>> {
        let mut words: Vec<String> = self
            .inner
            .get_vocab(false)
            .into_keys()
            .filter(|w| w.len() >= 2 && w.chars().all(|c| c.is_ascii_alphabetic()))
            .collect();
        if words.is_empty() {
            return Err(self.error("the vocabulary has no whole words to draw from"));
        }
        // The vocabulary comes out of a hash map: sort for a seed-determined draw.
        words.sort_unstable();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Ok((0..n)
            .map(|_| {
                let len = 4 + crate::augment::below(&mut rng, 37);
                (0..len)
                    .map(|_| words[crate::augment::below(&mut rng, words.len())].as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect())
    }

    /// Content ids a sequence may hold besides its special tokens.
    fn budget(&self) -> usize {
        self.max_len - self.n_special
    }

    fn error(&self, e: impl fmt::Display) -> DataError {
        DataError::Tokenizer {
            path: self.path.clone(),
            detail: e.to_string(),
        }
    }

    /// Encodes the view of each text without special tokens, in parallel.
    fn encode_raw(&self, texts: &[&str]) -> Result<Vec<Encoding>> {
        let encoded = match self.view {
            TextView::Raw => self.inner.encode_batch(texts.to_vec(), false),
            view => {
                let viewed: Vec<String> =
                    texts.iter().map(|t| view.apply(t).into_owned()).collect();
                self.inner.encode_batch(viewed, false)
            }
        };
        encoded.map_err(|e| self.error(e))
    }

    /// Cuts the content to the budget, then adds the special tokens.
    fn finish(&self, encoding: Encoding) -> Result<Encoding> {
        let (head, tail) = self
            .truncation
            .split(encoding.len(), self.budget(), self.max_len);
        let cut = match (head, tail) {
            (_, 0) => keep(encoding, head, TruncationDirection::Right),
            (0, _) => keep(encoding, tail, TruncationDirection::Left),
            _ => {
                let start = keep(encoding.clone(), head, TruncationDirection::Right);
                let end = keep(encoding, tail, TruncationDirection::Left);
                Encoding::merge([start, end], false)
            }
        };
        self.inner
            .post_process(cut, None, true)
            .map_err(|e| self.error(e))
    }

    /// Encodes a batch of texts (with the model's special tokens), padded to
    /// its longest sequence.
    pub fn encode_batch(&self, texts: &[&str]) -> Result<EncodedBatch> {
        let mut encodings = self
            .encode_raw(texts)?
            .into_iter()
            .map(|e| self.finish(e))
            .collect::<Result<Vec<_>>>()?;
        pad_encodings(&mut encodings, &self.padding).map_err(|e| self.error(e))?;
        Ok(EncodedBatch::from_encodings(&encodings))
    }

    /// Encodes a training batch that reads one window of each long text:
    /// window `picks[i] % n` of text `i`'s `n` windows (a seeded draw per
    /// epoch makes the model see every part of a text, as it will be scored).
    /// With one window per text this is [`TextTokenizer::encode_batch`].
    pub fn encode_batch_windows(&self, texts: &[&str], picks: &[u64]) -> Result<EncodedBatch> {
        let mut encodings = Vec::with_capacity(texts.len());
        for (encoding, &pick) in self.encode_raw(texts)?.into_iter().zip(picks) {
            let starts = window_starts(encoding.len(), self.budget(), self.windows);
            encodings.push(match starts.len() {
                1 => self.finish(encoding)?,
                n => self.window(&encoding, starts[(pick % n as u64) as usize])?,
            });
        }
        pad_encodings(&mut encodings, &self.padding).map_err(|e| self.error(e))?;
        Ok(EncodedBatch::from_encodings(&encodings))
    }

    /// The full-budget window of `encoding`'s content from `start`, with the
    /// special tokens.
    fn window(&self, encoding: &Encoding, start: usize) -> Result<Encoding> {
        let through_end = keep(
            encoding.clone(),
            start + self.budget(),
            TruncationDirection::Right,
        );
        let window = keep(through_end, self.budget(), TruncationDirection::Left);
        self.inner
            .post_process(window, None, true)
            .map_err(|e| self.error(e))
    }

    /// The pieces each text is scored as: one per text cut by the truncation
    /// strategy, or with [`TextTokenizer::with_windows`] above 1, up to that
    /// many full-length windows of a long text ([`crate::windows`]).
    pub fn encode_pieces(&self, texts: &[&str]) -> Result<Pieces> {
        let mut encodings = Vec::with_capacity(texts.len());
        let mut owners = Vec::with_capacity(texts.len());
        for (owner, encoding) in self.encode_raw(texts)?.into_iter().enumerate() {
            let starts = window_starts(encoding.len(), self.budget(), self.windows);
            if starts.len() == 1 {
                encodings.push(self.finish(encoding)?);
                owners.push(owner);
                continue;
            }
            for start in starts {
                encodings.push(self.window(&encoding, start)?);
                owners.push(owner);
            }
        }
        Ok(Pieces {
            encodings,
            owners,
            padding: self.padding.clone(),
            n_texts: texts.len(),
            path: self.path.clone(),
        })
    }

    /// How many pieces [`TextTokenizer::encode_pieces`] reads each text as:
    /// 1, or the number of windows of a long text when the tokenizer reads
    /// windows. A pick below a text's count selects exactly that window in
    /// [`TextTokenizer::encode_batch_windows`].
    pub fn piece_counts(&self, texts: &[&str]) -> Result<Vec<usize>> {
        Ok(self
            .encode_raw(texts)?
            .iter()
            .map(|e| window_starts(e.len(), self.budget(), self.windows).len())
            .collect())
    }

    /// Each text's length in tokens after truncation, special tokens
    /// included (what [`TextTokenizer::encode_batch`] gives before padding).
    pub fn token_lengths(&self, texts: &[&str]) -> Result<Vec<usize>> {
        Ok(self
            .encode_raw(texts)?
            .iter()
            .map(|e| e.len().min(self.budget()) + self.n_special)
            .collect())
    }
}

/// The first (`Right`) or last (`Left`) `n` tokens of `encoding`.
fn keep(mut encoding: Encoding, n: usize, direction: TruncationDirection) -> Encoding {
    encoding.truncate(n, 0, direction);
    // The cut-off parts would otherwise be post-processed too.
    drop(encoding.take_overflowing());
    encoding
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_strategies() {
        for (text, t) in [
            ("head", Truncation::Head),
            ("Tail", Truncation::Tail),
            ("head+tail", Truncation::HeadTail { head: None }),
            ("head+tail:128", Truncation::HeadTail { head: Some(128) }),
        ] {
            let parsed: Truncation = text.parse().unwrap();
            assert_eq!(parsed, t);
            assert_eq!(parsed.to_string().parse::<Truncation>().unwrap(), t);
        }
        for bad in ["", "middle", "head+tail:", "head+tail:x", "head+tail:-1"] {
            let err = bad.parse::<Truncation>().unwrap_err().to_string();
            assert!(err.contains("truncation"), "{err}");
        }
        assert_eq!(Truncation::default(), Truncation::Head);
        let json = serde_json::to_string(&Truncation::HeadTail { head: Some(64) }).unwrap();
        assert_eq!(json, r#""head+tail:64""#);
        assert_eq!(
            serde_json::from_str::<Truncation>(&json).unwrap(),
            Truncation::HeadTail { head: Some(64) }
        );
    }

    #[test]
    fn split_keeps_the_budget() {
        let ht = Truncation::HeadTail { head: None };
        assert_eq!(ht.split(1000, 510, 512), (128, 382));
        assert_eq!(ht.split(100, 510, 512), (100, 0));
        assert_eq!(Truncation::Tail.split(20, 14, 16), (0, 14));
        assert_eq!(Truncation::Head.split(20, 14, 16), (14, 0));
        let big = Truncation::HeadTail { head: Some(99) };
        assert_eq!(big.split(20, 14, 16), (14, 0));
    }
}
