//! Bootstrap confidence intervals and paired significance tests (paired
//! bootstrap resampling, paired approximate randomization) over any corpus
//! statistic, defined as sacrebleu's `significance` module defines them.
//! Random streams come from ChaCha8 seeded by the caller, so results are
//! reproducible here but cannot equal numpy's draws.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::classify::ConfusionMatrix;
use crate::error::{MetricsError, Result, check_len, invalid};

/// sacrebleu's default seed (`SACREBLEU_SEED`).
pub const DEFAULT_SEED: u64 = 12345;

/// A corpus-level score computed from per-item pieces, so that resamples
/// and shuffles can be scored without re-reading the text.
pub trait CorpusStatistic {
    /// What one item contributes (e.g. BLEU's match counts).
    type Segment;
    /// The score of a multiset of items.
    fn score_of(&self, segments: &mut dyn Iterator<Item = &Self::Segment>) -> f64;
}

/// The mean of per-item values; the corpus score of ROUGE and other
/// sentence-averaged metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mean;

impl CorpusStatistic for Mean {
    type Segment = f64;
    fn score_of(&self, segments: &mut dyn Iterator<Item = &Self::Segment>) -> f64 {
        let (mut sum, mut n) = (0.0, 0usize);
        for v in segments {
            sum += v;
            n += 1;
        }
        if n == 0 { 0.0 } else { sum / n as f64 }
    }
}

/// Which classification number to resample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassMetric {
    Accuracy,
    MacroF1,
    MicroF1,
    WeightedF1,
    Mcc,
}

/// A classification metric over (gold, predicted) pairs; every resample
/// forms its own label set, as scikit-learn would on that sample.
#[derive(Debug, Clone, Copy)]
pub struct ClassificationStatistic<L> {
    pub metric: ClassMetric,
    _label: PhantomData<L>,
}

impl<L> ClassificationStatistic<L> {
    pub fn new(metric: ClassMetric) -> Self {
        ClassificationStatistic {
            metric,
            _label: PhantomData,
        }
    }
}

impl<L: Ord + Clone> CorpusStatistic for ClassificationStatistic<L> {
    type Segment = (L, L);
    fn score_of(&self, segments: &mut dyn Iterator<Item = &Self::Segment>) -> f64 {
        let mut pairs: BTreeMap<(L, L), u64> = BTreeMap::new();
        for p in segments {
            *pairs.entry(p.clone()).or_insert(0) += 1;
        }
        if pairs.is_empty() {
            return 0.0;
        }
        let cm = ConfusionMatrix::from_pairs(&pairs);
        let f1 = || cm.prf(1.0).expect("beta = 1 is valid");
        match self.metric {
            ClassMetric::Accuracy => cm.accuracy(),
            ClassMetric::MacroF1 => f1().macro_avg.fscore,
            ClassMetric::MicroF1 => f1().micro.fscore,
            ClassMetric::WeightedF1 => f1().weighted.fscore,
            ClassMetric::Mcc => cm.mcc(),
        }
    }
}

/// Settings for bootstrap resampling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapConfig {
    pub n_resamples: usize,
    /// Central coverage of the percentile interval, e.g. 0.95.
    pub confidence: f64,
    pub seed: u64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        BootstrapConfig {
            n_resamples: 1000,
            confidence: 0.95,
            seed: DEFAULT_SEED,
        }
    }
}

impl BootstrapConfig {
    fn validate(&self) -> Result<()> {
        if self.n_resamples == 0 {
            return Err(invalid("n_resamples", "must be at least 1"));
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(invalid(
                "confidence",
                format!("must lie strictly between 0 and 1, got {}", self.confidence),
            ));
        }
        Ok(())
    }
}

/// A percentile bootstrap interval. `half_width` is sacrebleu's `ci`
/// (half the interval's width), reported as `score (μ = mean ± half_width)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfidenceInterval {
    pub score: f64,
    pub mean: f64,
    pub lower: f64,
    pub upper: f64,
    pub half_width: f64,
    pub confidence: f64,
    pub n_resamples: usize,
    pub seed: u64,
}

/// Mean and percentile bounds of resampled scores. With confidence 0.95
/// the bounds are sacrebleu's: sorted index `n // 40` and `n - n // 40 - 1`.
pub fn percentile_interval(scores: &[f64], confidence: f64) -> Result<(f64, f64, f64)> {
    if scores.is_empty() {
        return Err(MetricsError::Empty("resampled scores"));
    }
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(invalid("confidence", "must lie strictly between 0 and 1"));
    }
    let mut sorted = scores.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let alpha = (1.0 - confidence) / 2.0;
    // The epsilon absorbs binary rounding of alpha (0.05/2 is not exact).
    let lower_idx = (((n as f64) * alpha + 1e-9).floor() as usize).min(n - 1);
    let upper_idx = n - lower_idx - 1;
    let mean = sorted.iter().sum::<f64>() / n as f64;
    Ok((mean, sorted[lower_idx], sorted[upper_idx]))
}

/// sacrebleu's p-value: `(#{stat > observed} + 1) / (n + 1)`; the `+1`s
/// keep a test from rejecting more often than its level.
pub fn p_value(sample_stats: &[f64], observed: f64) -> f64 {
    let c = sample_stats.iter().filter(|&&s| s > observed).count();
    (c + 1) as f64 / (sample_stats.len() + 1) as f64
}

/// Refills `idx` with one resample of `0..n` (the same draws as collecting
/// a fresh vector; the buffer is reused across resamples).
fn resample_indices(rng: &mut ChaCha8Rng, n: usize, idx: &mut Vec<usize>) {
    idx.clear();
    idx.extend((0..n).map(|_| rng.random_range(0..n)));
}

/// Percentile bootstrap CI of a corpus statistic over its items.
pub fn bootstrap_ci<S: CorpusStatistic>(
    stat: &S,
    segments: &[S::Segment],
    cfg: &BootstrapConfig,
) -> Result<ConfidenceInterval> {
    cfg.validate()?;
    if segments.is_empty() {
        return Err(MetricsError::Empty("segments"));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut idx = Vec::with_capacity(segments.len());
    let scores: Vec<f64> = (0..cfg.n_resamples)
        .map(|_| {
            resample_indices(&mut rng, segments.len(), &mut idx);
            stat.score_of(&mut idx.iter().map(|&i| &segments[i]))
        })
        .collect();
    interval(stat.score_of(&mut segments.iter()), &scores, cfg)
}

fn interval(score: f64, scores: &[f64], cfg: &BootstrapConfig) -> Result<ConfidenceInterval> {
    let (mean, lower, upper) = percentile_interval(scores, cfg.confidence)?;
    Ok(ConfidenceInterval {
        score,
        mean,
        lower,
        upper,
        half_width: 0.5 * (upper - lower),
        confidence: cfg.confidence,
        n_resamples: cfg.n_resamples,
        seed: cfg.seed,
    })
}

/// Which paired test produced a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PairedTest {
    PairedBootstrap,
    ApproximateRandomization,
}

/// Result of comparing a system against a baseline on the same items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairedResult {
    pub test: PairedTest,
    pub baseline_score: f64,
    pub system_score: f64,
    /// `system_score - baseline_score`.
    pub difference: f64,
    pub p_value: f64,
    /// Resamples (bootstrap) or trials (randomization).
    pub n_samples: usize,
    pub seed: u64,
    /// Bootstrap CI of the system (paired bootstrap only, as in sacrebleu).
    pub system_ci: Option<ConfidenceInterval>,
}

fn check_paired<T>(baseline: &[T], system: &[T]) -> Result<()> {
    if baseline.is_empty() {
        return Err(MetricsError::Empty("segments"));
    }
    check_len("system segments", baseline.len(), system.len())
}

/// Paired bootstrap resampling (sacrebleu `_paired_bs_test`, after Koehn
/// 2004): both systems are scored on the same resamples; the p-value counts
/// resamples whose centred absolute difference exceeds the observed one.
pub fn paired_bootstrap<S: CorpusStatistic>(
    stat: &S,
    baseline: &[S::Segment],
    system: &[S::Segment],
    cfg: &BootstrapConfig,
) -> Result<PairedResult> {
    cfg.validate()?;
    check_paired(baseline, system)?;
    let bl_score = stat.score_of(&mut baseline.iter());
    let sys_score = stat.score_of(&mut system.iter());
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let (mut bl, mut sys) = (Vec::new(), Vec::new());
    let mut idx = Vec::with_capacity(baseline.len());
    for _ in 0..cfg.n_resamples {
        resample_indices(&mut rng, baseline.len(), &mut idx);
        bl.push(stat.score_of(&mut idx.iter().map(|&i| &baseline[i])));
        sys.push(stat.score_of(&mut idx.iter().map(|&i| &system[i])));
    }
    let diffs: Vec<f64> = sys.iter().zip(&bl).map(|(s, b)| (s - b).abs()).collect();
    let mean_diff = diffs.iter().sum::<f64>() / diffs.len() as f64;
    // Centring the differences simulates the null hypothesis of no difference.
    let centred: Vec<f64> = diffs.iter().map(|d| d - mean_diff).collect();
    Ok(PairedResult {
        test: PairedTest::PairedBootstrap,
        baseline_score: bl_score,
        system_score: sys_score,
        difference: sys_score - bl_score,
        p_value: p_value(&centred, (bl_score - sys_score).abs()),
        n_samples: cfg.n_resamples,
        seed: cfg.seed,
        system_ci: Some(interval(sys_score, &sys, cfg)?),
    })
}

/// sacrebleu's default number of approximate-randomization trials.
pub const DEFAULT_AR_TRIALS: usize = 10_000;

/// Paired approximate randomization (sacrebleu `_paired_ar_test`, after
/// Riezler & Maxwell 2005 / multeval): each trial swaps every item's two
/// outputs with probability 1/2 and compares |score(A') - score(B')| with
/// the observed |difference|.
pub fn paired_approximate_randomization<S: CorpusStatistic>(
    stat: &S,
    baseline: &[S::Segment],
    system: &[S::Segment],
    n_trials: usize,
    seed: u64,
) -> Result<PairedResult> {
    if n_trials == 0 {
        return Err(invalid("n_trials", "must be at least 1"));
    }
    check_paired(baseline, system)?;
    let bl_score = stat.score_of(&mut baseline.iter());
    let sys_score = stat.score_of(&mut system.iter());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut stats = Vec::with_capacity(n_trials);
    let mut swap = vec![false; baseline.len()];
    for _ in 0..n_trials {
        for s in swap.iter_mut() {
            *s = rng.random::<bool>();
        }
        let mut a = swap
            .iter()
            .enumerate()
            .map(|(i, &s)| if s { &baseline[i] } else { &system[i] });
        let score_a = stat.score_of(&mut a);
        let mut b = swap
            .iter()
            .enumerate()
            .map(|(i, &s)| if s { &system[i] } else { &baseline[i] });
        let score_b = stat.score_of(&mut b);
        stats.push((score_a - score_b).abs());
    }
    Ok(PairedResult {
        test: PairedTest::ApproximateRandomization,
        baseline_score: bl_score,
        system_score: sys_score,
        difference: sys_score - bl_score,
        p_value: p_value(&stats, (bl_score - sys_score).abs()),
        n_samples: n_trials,
        seed,
        system_ci: None,
    })
}
