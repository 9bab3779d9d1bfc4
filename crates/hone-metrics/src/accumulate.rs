//! Streaming accumulation for metrics whose corpus score is a function of
//! per-segment statistics summed over the corpus (BLEU, chrF): feeding a
//! corpus in batches gives exactly the one-shot corpus score, never an
//! average of batch scores.

use crate::error::{MetricsError, Result, check_len};
use crate::signature::{NRefs, NRefsTracker};

/// A metric computed from additive sufficient statistics.
pub trait SummedStatistic {
    type Stats: std::fmt::Debug + Clone;
    type Score;
    fn validate(&self) -> Result<()>;
    fn zero_stats(&self) -> Self::Stats;
    fn add_stats(sum: &mut Self::Stats, segment: &Self::Stats);
    fn segment_stats<R: AsRef<str>>(&self, hyp: &str, refs: &[R]) -> Result<Self::Stats>;
    fn corpus_stats<H: AsRef<str>, R: AsRef<str>>(
        &self,
        hyps: &[H],
        refs: &[Vec<R>],
    ) -> Result<Vec<Self::Stats>>;
    fn score_from_stats(&self, stats: &Self::Stats, nrefs: NRefs) -> Self::Score;
}

/// Sums a metric's statistics over batches of segments.
#[derive(Debug, Clone)]
pub struct StreamingAccumulator<M: SummedStatistic> {
    config: M,
    stats: M::Stats,
    segments: usize,
    nrefs: NRefsTracker,
}

impl<M: SummedStatistic> StreamingAccumulator<M> {
    pub fn new(config: M) -> Result<Self> {
        config.validate()?;
        let stats = config.zero_stats();
        Ok(Self {
            config,
            stats,
            segments: 0,
            nrefs: NRefsTracker::default(),
        })
    }

    /// Adds one segment with its references.
    pub fn add<R: AsRef<str>>(&mut self, hyp: &str, refs: &[R]) -> Result<()> {
        let s = self.config.segment_stats(hyp, refs)?;
        M::add_stats(&mut self.stats, &s);
        self.segments += 1;
        self.nrefs.observe(refs.len());
        Ok(())
    }

    /// Adds a batch in sacrebleu's stream layout (`refs[k][i]` is the k-th
    /// reference of segment i).
    pub fn add_batch<H: AsRef<str>, R: AsRef<str>>(
        &mut self,
        hyps: &[H],
        refs: &[Vec<R>],
    ) -> Result<()> {
        for s in self.config.corpus_stats(hyps, refs)? {
            M::add_stats(&mut self.stats, &s);
        }
        self.segments += hyps.len();
        self.nrefs.observe(refs.len());
        Ok(())
    }

    /// The corpus score so far; errors if nothing was added.
    pub fn finish(&self) -> Result<M::Score> {
        if self.segments == 0 {
            return Err(MetricsError::Empty("hypotheses"));
        }
        Ok(self.config.score_from_stats(&self.stats, self.nrefs.get()))
    }
}

/// Checks sacrebleu's stream layout (`refs[k][i]` is the k-th reference of
/// segment i; every stream as long as the hypotheses) and applies `f` to
/// each segment's hypothesis and references.
pub(crate) fn map_segments<H: AsRef<str>, R: AsRef<str>, T>(
    hyps: &[H],
    refs: &[Vec<R>],
    mut f: impl FnMut(&str, &[&str]) -> Result<T>,
) -> Result<Vec<T>> {
    if hyps.is_empty() {
        return Err(MetricsError::Empty("hypotheses"));
    }
    if refs.is_empty() {
        return Err(MetricsError::Empty("reference streams"));
    }
    for stream in refs {
        check_len("reference stream", hyps.len(), stream.len())?;
    }
    (0..hyps.len())
        .map(|i| {
            let seg_refs: Vec<&str> = refs.iter().map(|s| s[i].as_ref()).collect();
            f(hyps[i].as_ref(), &seg_refs)
        })
        .collect()
}
