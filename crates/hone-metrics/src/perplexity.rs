//! Perplexity from per-token log-probabilities in natural log (nats):
//! `exp(-mean log p)` over all tokens, streamable over sequences.

use serde::Serialize;

use crate::error::{MetricsError, Result};
use crate::resample::CorpusStatistic;

/// A perplexity result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PerplexityScore {
    pub perplexity: f64,
    /// Mean negative log-likelihood per token, in nats.
    pub nll: f64,
    pub tokens: u64,
}

/// Sum of log-probabilities and token count of one sequence.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct LogProbSum {
    pub sum: f64,
    pub tokens: u64,
}

impl LogProbSum {
    /// Validates and sums one sequence's natural-log token probabilities.
    pub fn from_logprobs(logprobs: &[f64]) -> Result<Self> {
        let mut sum = 0.0;
        for &lp in logprobs {
            if !lp.is_finite() || lp > 0.0 {
                return Err(MetricsError::InvalidInput(format!(
                    "log-probability must be finite and <= 0 (natural log), got {lp}"
                )));
            }
            sum += lp;
        }
        Ok(LogProbSum {
            sum,
            tokens: logprobs.len() as u64,
        })
    }
}

/// Perplexity of one token sequence.
pub fn perplexity(logprobs: &[f64]) -> Result<PerplexityScore> {
    let mut acc = PerplexityAccumulator::default();
    acc.add(logprobs)?;
    acc.finish()
}

/// Token-weighted perplexity over many sequences, fed in any batching.
#[derive(Debug, Clone, Copy, Default)]
pub struct PerplexityAccumulator {
    total: LogProbSum,
}

impl PerplexityAccumulator {
    /// Adds one sequence (or any run of tokens).
    pub fn add(&mut self, logprobs: &[f64]) -> Result<()> {
        LogProbSum::from_logprobs(logprobs)?;
        // Summing token by token into the running total keeps the float
        // result independent of how the stream is batched.
        for &lp in logprobs {
            self.total.sum += lp;
        }
        self.total.tokens += logprobs.len() as u64;
        Ok(())
    }

    /// Perplexity so far; errors if no tokens were added.
    pub fn finish(&self) -> Result<PerplexityScore> {
        if self.total.tokens == 0 {
            return Err(MetricsError::Empty("tokens"));
        }
        let nll = -self.total.sum / self.total.tokens as f64;
        Ok(PerplexityScore {
            perplexity: nll.exp(),
            nll,
            tokens: self.total.tokens,
        })
    }
}

/// Corpus perplexity over per-sequence sums, for bootstrap and paired tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct Perplexity;

impl CorpusStatistic for Perplexity {
    type Segment = LogProbSum;
    fn score_of(&self, segments: &mut dyn Iterator<Item = &Self::Segment>) -> f64 {
        let (mut sum, mut n) = (0.0, 0u64);
        for s in segments {
            sum += s.sum;
            n += s.tokens;
        }
        if n == 0 {
            f64::NAN
        } else {
            (-sum / n as f64).exp()
        }
    }
}
