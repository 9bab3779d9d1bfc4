//! BLEU as sacrebleu 2.6 computes it: per-segment sufficient statistics,
//! closest-reference length, the four smoothing methods, effective order for
//! sentence BLEU, and sacrebleu's signature string.

use std::collections::HashMap;

use serde::Serialize;

use crate::accumulate::{StreamingAccumulator, SummedStatistic, map_segments};
use crate::bleu_tokenize::{BleuTokenizer, tokens};
use crate::error::{MetricsError, Result, invalid};
use crate::fasthash::{FastMap, map_with_capacity};
use crate::pytext::{for_each_py_token, py_rstrip};
use crate::resample::CorpusStatistic;
use crate::signature::{NRefs, ResamplingInfo, format_signature};

/// sacrebleu's default maximum n-gram order.
pub const MAX_NGRAM_ORDER: usize = 4;

/// Smoothing for n-gram orders without matches (Chen & Cherry 2014).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Smoothing {
    /// No smoothing: a zero precision makes the score 0.
    None,
    /// Method 1: a zero match count is replaced by the value (default 0.1).
    Floor(f64),
    /// Method 2: the value (default 1) is added to counts and totals of orders ≥ 2.
    AddK(f64),
    /// Method 3, mteval-v13a's NIST smoothing; sacrebleu's default.
    Exp,
}

impl Smoothing {
    /// `floor` with sacrebleu's default value 0.1.
    pub const FLOOR_DEFAULT: Smoothing = Smoothing::Floor(0.1);
    /// `add-k` with sacrebleu's default value 1.
    pub const ADD_K_DEFAULT: Smoothing = Smoothing::AddK(1.0);

    /// Parses sacrebleu's method name; `value` of `None` takes sacrebleu's default.
    pub fn from_name(name: &str, value: Option<f64>) -> Result<Self> {
        let s = match name {
            "none" => Smoothing::None,
            "exp" => Smoothing::Exp,
            "floor" => Smoothing::Floor(value.unwrap_or(0.1)),
            "add-k" => Smoothing::AddK(value.unwrap_or(1.0)),
            other => {
                return Err(invalid(
                    "smooth_method",
                    format!("unknown method {other:?} (expected exp, floor, add-k or none)"),
                ));
            }
        };
        s.validate()?;
        Ok(s)
    }

    fn validate(self) -> Result<()> {
        match self {
            Smoothing::Floor(v) | Smoothing::AddK(v) if !(v.is_finite() && v >= 0.0) => Err(
                invalid("smooth_value", format!("must be finite and >= 0, got {v}")),
            ),
            _ => Ok(()),
        }
    }

    fn signature(self) -> String {
        match self {
            Smoothing::None => "none".into(),
            Smoothing::Exp => "exp".into(),
            Smoothing::Floor(v) => format!("floor[{v:.2}]"),
            Smoothing::AddK(v) => format!("add-k[{v:.2}]"),
        }
    }
}

/// BLEU configuration; `Bleu::default()` is sacrebleu's `corpus_bleu`,
/// `Bleu::sentence()` is sacrebleu's `sentence_bleu` (effective order on).
#[derive(Debug, Clone, PartialEq)]
pub struct Bleu {
    pub tokenizer: BleuTokenizer,
    pub lowercase: bool,
    pub smoothing: Smoothing,
    /// Average only over orders that have hypothesis n-grams (sentence BLEU).
    pub effective_order: bool,
    pub max_ngram_order: usize,
}

impl Default for Bleu {
    fn default() -> Self {
        Bleu {
            tokenizer: BleuTokenizer::Tok13a,
            lowercase: false,
            smoothing: Smoothing::Exp,
            effective_order: false,
            max_ngram_order: MAX_NGRAM_ORDER,
        }
    }
}

/// Additive match statistics of one segment (or, summed, of a corpus).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BleuStats {
    pub sys_len: u64,
    pub ref_len: u64,
    /// Clipped matches per order 1..=max_ngram_order.
    pub correct: Vec<u64>,
    /// Hypothesis n-grams per order.
    pub total: Vec<u64>,
}

impl BleuStats {
    /// All-zero statistics for `order` n-gram orders.
    pub fn zeros(order: usize) -> Self {
        BleuStats {
            sys_len: 0,
            ref_len: 0,
            correct: vec![0; order],
            total: vec![0; order],
        }
    }

    /// Adds another segment's statistics (orders must agree).
    pub fn add(&mut self, other: &BleuStats) {
        self.sys_len += other.sys_len;
        self.ref_len += other.ref_len;
        for (a, b) in self.correct.iter_mut().zip(&other.correct) {
            *a += b;
        }
        for (a, b) in self.total.iter_mut().zip(&other.total) {
            *a += b;
        }
    }
}

/// A BLEU result with sacrebleu's fields. `counts`/`totals` are the raw
/// integer statistics (sacrebleu reports them with the add-k value already added).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BleuScore {
    pub score: f64,
    pub counts: Vec<u64>,
    pub totals: Vec<u64>,
    pub precisions: Vec<f64>,
    pub bp: f64,
    pub sys_len: u64,
    pub ref_len: u64,
    pub signature: String,
}

/// sacrebleu's `my_log`: log with 0 mapped to a huge negative number.
fn floored_log(x: f64) -> f64 {
    if x == 0.0 { -9_999_999_999.0 } else { x.ln() }
}

type NgramCounts = Vec<HashMap<String, u64>>;

/// Counts n-grams of orders 1..=max_order, keyed by the space-joined tokens
/// (tokens never contain spaces, so the key is unambiguous).
fn ngram_counts(toks: &[&str], max_order: usize) -> NgramCounts {
    (1..=max_order)
        .map(|n| {
            let mut m = HashMap::new();
            if toks.len() >= n {
                for w in toks.windows(n) {
                    *m.entry(w.join(" ")).or_insert(0) += 1;
                }
            }
            m
        })
        .collect()
}

/// Segment statistics from tokenized text with string n-gram keys: the
/// general path, for orders above `PACKED_ORDER` or segments with more
/// distinct tokens than a packed lane can number.
fn string_stats(hyp: &str, refs: &[String], order: usize) -> BleuStats {
    let mut ref_ngrams: NgramCounts = vec![HashMap::new(); order];
    let mut ref_lens = Vec::with_capacity(refs.len());
    for r in refs {
        let toks = tokens(r);
        ref_lens.push(toks.len() as u64);
        // Several references: clip by the maximum count in any one of them.
        for (acc, counts) in ref_ngrams.iter_mut().zip(ngram_counts(&toks, order)) {
            for (g, c) in counts {
                let e = acc.entry(g).or_insert(0);
                *e = (*e).max(c);
            }
        }
    }
    let toks = tokens(hyp);
    let hyp_len = toks.len() as u64;
    let mut stats = BleuStats::zeros(order);
    stats.sys_len = hyp_len;
    stats.ref_len = closest_ref_len(hyp_len, &ref_lens);
    for (n, counts) in ngram_counts(&toks, order).into_iter().enumerate() {
        for (g, c) in counts {
            stats.total[n] += c;
            if let Some(&rc) = ref_ngrams[n].get(&g) {
                stats.correct[n] += c.min(rc);
            }
        }
    }
    stats
}

/// Orders up to this use packed n-gram keys: four 16-bit token ids.
const PACKED_ORDER: usize = 4;
/// Token ids must fit a 16-bit lane; a segment with more distinct tokens
/// takes the string path.
const PACKED_MAX_ID: usize = u16::MAX as usize;

/// Counts the n-grams of orders 1..=order of a token-id sequence. Ids start
/// at 1, so a key's order is its number of non-zero 16-bit lanes.
fn packed_counts(ids: &[u32], order: usize, out: &mut FastMap<u64, u32>) {
    for i in 0..ids.len() {
        let mut key = 0u64;
        for (n, &id) in ids[i..].iter().take(order).enumerate() {
            key |= u64::from(id) << (16 * n);
            *out.entry(key).or_insert(0) += 1;
        }
    }
}

/// Count tables reused from segment to segment.
#[derive(Default)]
struct Scratch {
    ref_max: FastMap<u64, u32>,
    one_ref: FastMap<u64, u32>,
}

/// Segment statistics with the tokens numbered per segment and n-grams
/// packed into integers: the same counts as `string_stats` without building
/// a string per n-gram (which was most of BLEU's time).
fn packed_stats(scratch: &mut Scratch, hyp: &str, refs: &[String], order: usize) -> BleuStats {
    let mut ids: FastMap<&str, u32> = map_with_capacity(64);
    let mut number = |text| -> Vec<u32> {
        let mut out = Vec::with_capacity(32);
        for_each_py_token(text, |t| {
            let next = ids.len() as u32 + 1;
            out.push(*ids.entry(t).or_insert(next));
        });
        out
    };
    let ref_ids: Vec<Vec<u32>> = refs.iter().map(|r| number(r)).collect();
    let hyp_ids = number(hyp);
    if ids.len() > PACKED_MAX_ID {
        return string_stats(hyp, refs, order);
    }
    let Scratch { ref_max, one_ref } = scratch;
    ref_max.clear();
    for (k, toks) in ref_ids.iter().enumerate() {
        if k == 0 {
            packed_counts(toks, order, ref_max);
        } else {
            // Several references: clip by the maximum count in any one of them.
            one_ref.clear();
            packed_counts(toks, order, one_ref);
            for (&g, &c) in one_ref.iter() {
                let e = ref_max.entry(g).or_insert(0);
                *e = (*e).max(c);
            }
        }
    }
    let ref_lens: Vec<u64> = ref_ids.iter().map(|t| t.len() as u64).collect();
    let mut stats = BleuStats::zeros(order);
    stats.sys_len = hyp_ids.len() as u64;
    stats.ref_len = closest_ref_len(stats.sys_len, &ref_lens);
    // The clipped count, the sum over n-grams of min(hypothesis count,
    // reference count), is counted by letting each hypothesis n-gram use up
    // one remaining reference occurrence, so the hypothesis needs no table.
    let left = ref_max;
    for i in 0..hyp_ids.len() {
        let mut key = 0u64;
        for (n, &id) in hyp_ids[i..].iter().take(order).enumerate() {
            key |= u64::from(id) << (16 * n);
            stats.total[n] += 1;
            if let Some(c) = left.get_mut(&key)
                && *c > 0
            {
                *c -= 1;
                stats.correct[n] += 1;
            }
        }
    }
    stats
}

/// sacrebleu's tie-break: the closest reference length, the shorter on ties.
fn closest_ref_len(hyp_len: u64, ref_lens: &[u64]) -> u64 {
    let mut best: Option<(u64, u64)> = None;
    for &r in ref_lens {
        let diff = hyp_len.abs_diff(r);
        best = match best {
            None => Some((diff, r)),
            Some((d, l)) if diff < d || (diff == d && r < l) => Some((diff, r)),
            keep => keep,
        };
    }
    best.map_or(0, |(_, l)| l)
}

impl Bleu {
    /// sacrebleu's `sentence_bleu` defaults: exp smoothing, effective order.
    pub fn sentence() -> Self {
        Bleu {
            effective_order: true,
            ..Bleu::default()
        }
    }

    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        if self.max_ngram_order == 0 {
            return Err(invalid("max_ngram_order", "must be at least 1"));
        }
        self.smoothing.validate()
    }

    /// sacrebleu's signature for this configuration.
    pub fn signature(&self, nrefs: NRefs, resampling: ResamplingInfo) -> String {
        format_signature(
            nrefs,
            resampling,
            &[
                ("case", if self.lowercase { "lc" } else { "mixed" }.into()),
                (
                    "eff",
                    if self.effective_order { "yes" } else { "no" }.into(),
                ),
                ("tok", self.tokenizer.name().into()),
                ("smooth", self.smoothing.signature()),
            ],
        )
    }

    fn preprocess(&self, sent: &str) -> String {
        let lowered;
        let s = if self.lowercase {
            lowered = sent.to_lowercase();
            &lowered
        } else {
            sent
        };
        self.tokenizer.tokenize_for_split(py_rstrip(s))
    }

    /// Statistics of one hypothesis against its references (at least one).
    pub fn segment_stats<R: AsRef<str>>(&self, hyp: &str, refs: &[R]) -> Result<BleuStats> {
        self.segment_stats_in(&mut Scratch::default(), hyp, refs)
    }

    /// `segment_stats` with reusable tables (`corpus_stats` keeps one set).
    fn segment_stats_in<R: AsRef<str>>(
        &self,
        scratch: &mut Scratch,
        hyp: &str,
        refs: &[R],
    ) -> Result<BleuStats> {
        self.validate()?;
        if refs.is_empty() {
            return Err(MetricsError::Empty("references of a segment"));
        }
        let refs: Vec<String> = refs.iter().map(|r| self.preprocess(r.as_ref())).collect();
        let hyp = self.preprocess(hyp);
        Ok(if self.max_ngram_order <= PACKED_ORDER {
            packed_stats(scratch, &hyp, &refs, self.max_ngram_order)
        } else {
            string_stats(&hyp, &refs, self.max_ngram_order)
        })
    }

    /// Per-segment statistics for a corpus; `refs` are reference streams
    /// (sacrebleu's layout: `refs[k][i]` is the k-th reference of segment i).
    pub fn corpus_stats<H: AsRef<str>, R: AsRef<str>>(
        &self,
        hyps: &[H],
        refs: &[Vec<R>],
    ) -> Result<Vec<BleuStats>> {
        let mut scratch = Scratch::default();
        map_segments(hyps, refs, |hyp, seg_refs| {
            self.segment_stats_in(&mut scratch, hyp, seg_refs)
        })
    }

    /// Corpus BLEU (sacrebleu `BLEU.corpus_score`).
    pub fn corpus_score<H: AsRef<str>, R: AsRef<str>>(
        &self,
        hyps: &[H],
        refs: &[Vec<R>],
    ) -> Result<BleuScore> {
        let mut acc = BleuAccumulator::new(self.clone())?;
        acc.add_batch(hyps, refs)?;
        acc.finish()
    }

    /// Sentence BLEU (sacrebleu `BLEU.sentence_score`); use `Bleu::sentence()`
    /// for sacrebleu's `sentence_bleu` defaults.
    pub fn sentence_score<R: AsRef<str>>(&self, hyp: &str, refs: &[R]) -> Result<BleuScore> {
        let stats = self.segment_stats(hyp, refs)?;
        Ok(self.score_from_stats(&stats, NRefs::Fixed(refs.len())))
    }

    /// The BLEU score of already summed statistics (sacrebleu `compute_bleu`).
    pub fn score_from_stats(&self, stats: &BleuStats, nrefs: NRefs) -> BleuScore {
        let (score, precisions, bp) = compute_bleu(
            &stats.correct,
            &stats.total,
            stats.sys_len,
            stats.ref_len,
            self.smoothing,
            self.effective_order,
        );
        BleuScore {
            score,
            counts: stats.correct.clone(),
            totals: stats.total.clone(),
            precisions,
            bp,
            sys_len: stats.sys_len,
            ref_len: stats.ref_len,
            signature: self.signature(nrefs, ResamplingInfo::default()),
        }
    }
}

/// sacrebleu's `BLEU.compute_bleu`: returns (score, precisions, bp).
pub fn compute_bleu(
    correct: &[u64],
    total: &[u64],
    sys_len: u64,
    ref_len: u64,
    smoothing: Smoothing,
    effective_order: bool,
) -> (f64, Vec<f64>, f64) {
    let order = correct.len();
    let bp = if sys_len < ref_len {
        if sys_len > 0 {
            (1.0 - ref_len as f64 / sys_len as f64).exp()
        } else {
            0.0
        }
    } else {
        1.0
    };
    let mut precisions = vec![0.0; order];
    // sacrebleu returns 0 outright when nothing matched (its issue #141).
    if correct.iter().all(|&c| c == 0) {
        return (0.0, precisions, bp);
    }
    let mut smooth_mteval = 1.0;
    let mut eff_order = order;
    for n in 0..order {
        let (mut c, mut t) = (correct[n] as f64, total[n] as f64);
        if let Smoothing::AddK(k) = smoothing
            && n > 0
        {
            c += k;
            t += k;
        }
        if t == 0.0 {
            break;
        }
        if effective_order {
            eff_order = n + 1;
        }
        if c == 0.0 {
            match smoothing {
                Smoothing::Exp => {
                    smooth_mteval *= 2.0;
                    precisions[n] = 100.0 / (smooth_mteval * t);
                }
                Smoothing::Floor(v) => precisions[n] = 100.0 * v / t,
                _ => {}
            }
        } else {
            precisions[n] = 100.0 * c / t;
        }
    }
    let log_sum: f64 = precisions[..eff_order]
        .iter()
        .map(|&p| floored_log(p))
        .sum();
    (bp * (log_sum / eff_order as f64).exp(), precisions, bp)
}

/// Streams a corpus in batches; the result equals `Bleu::corpus_score` on
/// the concatenation because BLEU's statistics are additive.
pub type BleuAccumulator = StreamingAccumulator<Bleu>;

impl SummedStatistic for Bleu {
    type Stats = BleuStats;
    type Score = BleuScore;
    fn validate(&self) -> Result<()> {
        Bleu::validate(self)
    }
    fn zero_stats(&self) -> BleuStats {
        BleuStats::zeros(self.max_ngram_order)
    }
    fn add_stats(sum: &mut BleuStats, s: &BleuStats) {
        sum.add(s);
    }
    fn segment_stats<R: AsRef<str>>(&self, hyp: &str, refs: &[R]) -> Result<BleuStats> {
        Bleu::segment_stats(self, hyp, refs)
    }
    fn corpus_stats<H: AsRef<str>, R: AsRef<str>>(
        &self,
        hyps: &[H],
        refs: &[Vec<R>],
    ) -> Result<Vec<BleuStats>> {
        Bleu::corpus_stats(self, hyps, refs)
    }
    fn score_from_stats(&self, stats: &BleuStats, nrefs: NRefs) -> BleuScore {
        Bleu::score_from_stats(self, stats, nrefs)
    }
}

impl CorpusStatistic for Bleu {
    type Segment = BleuStats;
    fn score_of(&self, segments: &mut dyn Iterator<Item = &Self::Segment>) -> f64 {
        let mut sum = BleuStats::zeros(self.max_ngram_order);
        for s in segments {
            sum.add(s);
        }
        compute_bleu(
            &sum.correct,
            &sum.total,
            sum.sys_len,
            sum.ref_len,
            self.smoothing,
            self.effective_order,
        )
        .0
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Tokenized text over a small vocabulary, so n-grams repeat and clipping matters.
    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec("[a-c]{1,2}|é|日", 0..14).prop_map(|w| w.join(" "))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn packed_keys_count_like_string_keys(
            hyp in text(),
            refs in prop::collection::vec(text(), 1..4),
            order in 1usize..=PACKED_ORDER,
        ) {
            let packed = packed_stats(&mut Scratch::default(), &hyp, &refs, order);
            prop_assert_eq!(packed, string_stats(&hyp, &refs, order));
        }
    }
}
