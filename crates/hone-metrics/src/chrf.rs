//! chrF and chrF++ as sacrebleu 2.6 computes them: character n-grams with
//! whitespace removed (unless asked to keep it), optional word n-grams with
//! sacrebleu's punctuation splitting, best-reference selection, and both
//! smoothing modes.

use std::collections::HashMap;

use serde::Serialize;

use crate::accumulate::{StreamingAccumulator, SummedStatistic, map_segments};
use crate::error::{MetricsError, Result, invalid};
use crate::fasthash::{FastMap, map_with_capacity};
use crate::pytext::{is_py_space, py_split};
use crate::resample::CorpusStatistic;
use crate::signature::{NRefs, ResamplingInfo, format_signature};

/// chrF configuration; `Chrf::default()` is chrF2 and `Chrf::plus_plus()` is chrF++.
#[derive(Debug, Clone, PartialEq)]
pub struct Chrf {
    pub char_order: usize,
    /// 0 for chrF, 2 for chrF++.
    pub word_order: usize,
    /// Recall weight; an integer as in sacrebleu.
    pub beta: u32,
    pub lowercase: bool,
    /// Keep whitespace inside character n-grams (sacrebleu `whitespace=True`).
    pub whitespace: bool,
    /// chrF++.py-style epsilon smoothing; off by default (effective order).
    pub eps_smoothing: bool,
}

impl Default for Chrf {
    fn default() -> Self {
        Chrf {
            char_order: 6,
            word_order: 0,
            beta: 2,
            lowercase: false,
            whitespace: false,
            eps_smoothing: false,
        }
    }
}

/// Per-segment (or summed) `[hyp, ref, match]` counts for every order,
/// character orders first then word orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChrfStats(pub Vec<u64>);

impl ChrfStats {
    fn add(&mut self, other: &ChrfStats) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a += b;
        }
    }
}

/// A chrF result: `name` is sacrebleu's (`chrF2`, `chrF2++`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChrfScore {
    pub score: f64,
    pub name: String,
    pub char_order: usize,
    pub word_order: usize,
    pub beta: u32,
    pub signature: String,
}

const PUNCTS: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// sacrebleu's chrF+ word splitting: one leading or trailing ASCII
/// punctuation mark is split off (so `(hi)` becomes `(hi` and `)`).
fn split_punctuation(sent: &str) -> Vec<String> {
    let mut out = Vec::new();
    for w in py_split(sent) {
        let chars: Vec<char> = w.chars().collect();
        if chars.len() == 1 {
            out.push(w.to_string());
        } else if PUNCTS.contains(chars[chars.len() - 1]) {
            out.push(chars[..chars.len() - 1].iter().collect());
            out.push(chars[chars.len() - 1].to_string());
        } else if PUNCTS.contains(chars[0]) {
            out.push(chars[0].to_string());
            out.push(chars[1..].iter().collect());
        } else {
            out.push(w.to_string());
        }
    }
    out
}

type Counts = HashMap<String, u64>;

fn char_ngrams(line: &str, max_order: usize, whitespace: bool) -> Vec<Counts> {
    let chars: Vec<char> = if whitespace {
        line.chars().collect()
    } else {
        line.chars().filter(|c| !is_py_space(*c)).collect()
    };
    (1..=max_order)
        .map(|n| {
            let mut m = Counts::new();
            if chars.len() >= n {
                for w in chars.windows(n) {
                    *m.entry(w.iter().collect()).or_insert(0) += 1;
                }
            }
            m
        })
        .collect()
}

fn word_ngrams(words: &[String], n: usize) -> Counts {
    let mut m = Counts::new();
    if words.len() >= n {
        for w in words.windows(n) {
            *m.entry(w.join(" ")).or_insert(0) += 1;
        }
    }
    m
}

fn match_stats(hyp: &Counts, reference: &Counts) -> [u64; 3] {
    let mut matches = 0;
    let mut hyp_count = 0;
    for (g, &c) in hyp {
        hyp_count += c;
        if let Some(&r) = reference.get(g) {
            matches += c.min(r);
        }
    }
    // sacrebleu does not count hypothesis n-grams when the reference has none
    // of that order.
    let hyp_count = if reference.is_empty() { 0 } else { hyp_count };
    [hyp_count, reference.values().sum(), matches]
}

/// Character n-grams up to this order pack into a `u64`: six 10-bit lanes
/// of per-segment character ids.
const PACKED_CHAR_ORDER: usize = 6;
/// Word n-grams up to this order pack into a `u64`: two 32-bit word ids.
const PACKED_WORD_ORDER: usize = 2;
/// Lane widths of character (index 0) and word (index 1) keys.
const LANE_BITS: [usize; 2] = [10, 32];
/// Character ids must fit a 10-bit lane; a segment with more distinct
/// characters takes the string path.
const MAX_CHAR_ID: u64 = (1 << 10) - 1;
/// Word ids must fit a 32-bit lane.
const MAX_WORD_ID: u64 = u32::MAX as u64;

/// Adds the n-grams of orders 1..=order of `lanes` (ids from 1) to `out`.
fn count_packed(lanes: &[u64], bits: usize, order: usize, out: &mut FastMap<u64, u32>) {
    for i in 0..lanes.len() {
        let mut key = 0u64;
        for (n, &v) in lanes[i..].iter().take(order).enumerate() {
            key |= v << (bits * n);
            *out.entry(key).or_insert(0) += 1;
        }
    }
}

/// Per-segment character ids, numbered from 1 (ASCII through a table, the
/// rest through a map).
struct Numbering {
    ascii: [u64; 128],
    other: FastMap<char, u64>,
    next: u64,
}

impl Default for Numbering {
    fn default() -> Self {
        Numbering {
            ascii: [0; 128],
            other: FastMap::default(),
            next: 0,
        }
    }
}

impl Numbering {
    fn reset(&mut self) {
        self.ascii = [0; 128];
        self.other.clear();
        self.next = 0;
    }

    fn char_id(&mut self, c: char) -> u64 {
        let slot = match usize::try_from(u32::from(c)) {
            Ok(i) if i < 128 => &mut self.ascii[i],
            _ => self.other.entry(c).or_insert(0),
        };
        if *slot == 0 {
            self.next += 1;
            *slot = self.next;
        }
        *slot
    }
}

/// Tables reused from segment to segment: character ids and the reference's
/// character and word n-gram counts.
#[derive(Default)]
struct Scratch {
    numbering: Numbering,
    counts: [FastMap<u64, u32>; 2],
}

impl Chrf {
    /// chrF++: word n-grams up to order 2.
    pub fn plus_plus() -> Self {
        Chrf {
            word_order: 2,
            ..Chrf::default()
        }
    }

    fn order(&self) -> usize {
        self.char_order + self.word_order
    }

    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        if self.order() == 0 {
            return Err(invalid(
                "char_order",
                "char_order + word_order must be at least 1",
            ));
        }
        Ok(())
    }

    /// sacrebleu's metric name, `chrF{beta}` plus one `+` per word order.
    pub fn name(&self) -> String {
        format!("chrF{}{}", self.beta, "+".repeat(self.word_order))
    }

    /// sacrebleu's signature for this configuration.
    pub fn signature(&self, nrefs: NRefs, resampling: ResamplingInfo) -> String {
        format_signature(
            nrefs,
            resampling,
            &[
                ("case", if self.lowercase { "lc" } else { "mixed" }.into()),
                ("eff", if self.eps_smoothing { "no" } else { "yes" }.into()),
                ("nc", self.char_order.to_string()),
                ("nw", self.word_order.to_string()),
                ("space", if self.whitespace { "yes" } else { "no" }.into()),
            ],
        )
    }

    fn all_ngrams(&self, sent: &str) -> Vec<Counts> {
        let lowered;
        let sent = if self.lowercase {
            lowered = sent.to_lowercase();
            &lowered
        } else {
            sent
        };
        let mut grams = char_ngrams(sent, self.char_order, self.whitespace);
        if self.word_order > 0 {
            let words = split_punctuation(sent);
            grams.extend((1..=self.word_order).map(|n| word_ngrams(&words, n)));
        }
        grams
    }

    /// Statistics of one hypothesis against the best of its references.
    pub fn segment_stats<R: AsRef<str>>(&self, hyp: &str, refs: &[R]) -> Result<ChrfStats> {
        self.segment_stats_in(&mut Scratch::default(), hyp, refs)
    }

    /// `segment_stats` with reusable tables (`corpus_stats` keeps one set).
    fn segment_stats_in<R: AsRef<str>>(
        &self,
        scratch: &mut Scratch,
        hyp: &str,
        refs: &[R],
    ) -> Result<ChrfStats> {
        self.validate()?;
        if refs.is_empty() {
            return Err(MetricsError::Empty("references of a segment"));
        }
        if self.char_order <= PACKED_CHAR_ORDER
            && self.word_order <= PACKED_WORD_ORDER
            && let Some(stats) = self.packed_stats(scratch, hyp, refs)
        {
            return Ok(stats);
        }
        Ok(self.string_stats(hyp, refs))
    }

    /// The general path: n-grams keyed by strings.
    fn string_stats<R: AsRef<str>>(&self, hyp: &str, refs: &[R]) -> ChrfStats {
        let hyp_grams = self.all_ngrams(hyp);
        let mut best: Option<(f64, Vec<u64>)> = None;
        for r in refs {
            let ref_grams = self.all_ngrams(r.as_ref());
            let stats: Vec<u64> = hyp_grams
                .iter()
                .zip(&ref_grams)
                .flat_map(|(h, r)| match_stats(h, r))
                .collect();
            let f = self.f_score(&stats);
            // Strictly greater: the first reference wins ties, as in sacrebleu.
            if best.as_ref().is_none_or(|(bf, _)| f > *bf) {
                best = Some((f, stats));
            }
        }
        ChrfStats(best.map(|(_, s)| s).unwrap_or_default())
    }

    /// The same statistics as `string_stats` with n-grams packed into
    /// integers (characters and words numbered per segment), so no string
    /// is built per n-gram; `None` when a segment has too many distinct
    /// characters or words for the lanes.
    fn packed_stats<R: AsRef<str>>(
        &self,
        scratch: &mut Scratch,
        hyp: &str,
        refs: &[R],
    ) -> Option<ChrfStats> {
        let lower = |s: &str| {
            if self.lowercase {
                s.to_lowercase()
            } else {
                s.to_string()
            }
        };
        let texts: Vec<String> = std::iter::once(hyp)
            .chain(refs.iter().map(AsRef::as_ref))
            .map(lower)
            .collect();
        let Scratch { numbering, counts } = scratch;
        numbering.reset();
        let chars: Vec<Vec<u64>> = texts
            .iter()
            .map(|t| {
                t.chars()
                    .filter(|c| self.whitespace || !is_py_space(*c))
                    .map(|c| numbering.char_id(c))
                    .collect()
            })
            .collect();
        if numbering.next > MAX_CHAR_ID {
            return None;
        }
        let words: Vec<Vec<String>> = if self.word_order > 0 {
            texts.iter().map(|t| split_punctuation(t)).collect()
        } else {
            vec![Vec::new(); texts.len()]
        };
        let mut ids: FastMap<&str, u64> = map_with_capacity(64);
        let words: Vec<Vec<u64>> = words
            .iter()
            .map(|ws| {
                ws.iter()
                    .map(|w| {
                        let next = ids.len() as u64 + 1;
                        *ids.entry(w).or_insert(next)
                    })
                    .collect()
            })
            .collect();
        if ids.len() as u64 > MAX_WORD_ID {
            return None;
        }
        let lanes = [&chars, &words];
        let orders = [self.char_order, self.word_order];
        let mut best: Option<(f64, Vec<u64>)> = None;
        for k in 1..texts.len() {
            let mut stats = vec![0u64; 3 * self.order()];
            for kind in 0..2 {
                let (bits, order, offset) = (LANE_BITS[kind], orders[kind], kind * self.char_order);
                let (hyp_lanes, ref_lanes) = (&lanes[kind][0], &lanes[kind][k]);
                let left = &mut counts[kind];
                left.clear();
                count_packed(ref_lanes, bits, order, left);
                // The clipped match count, the sum over n-grams of min(hypothesis
                // count, reference count), is counted by letting each hypothesis
                // n-gram use up one remaining reference occurrence.
                for i in 0..hyp_lanes.len() {
                    let mut key = 0u64;
                    for (n, &v) in hyp_lanes[i..].iter().take(order).enumerate() {
                        key |= v << (bits * n);
                        if let Some(c) = left.get_mut(&key)
                            && *c > 0
                        {
                            *c -= 1;
                            stats[3 * (offset + n) + 2] += 1;
                        }
                    }
                }
                for n in 1..=order {
                    let grams = |len: usize| (len + 1).saturating_sub(n) as u64;
                    let (h_total, r_total) = (grams(hyp_lanes.len()), grams(ref_lanes.len()));
                    // sacrebleu does not count hypothesis n-grams when the
                    // reference has none of that order.
                    stats[3 * (offset + n - 1)] = if r_total == 0 { 0 } else { h_total };
                    stats[3 * (offset + n - 1) + 1] = r_total;
                }
            }
            let f = self.f_score(&stats);
            // Strictly greater: the first reference wins ties, as in sacrebleu.
            if best.as_ref().is_none_or(|(bf, _)| f > *bf) {
                best = Some((f, stats));
            }
        }
        Some(ChrfStats(best.map(|(_, s)| s).unwrap_or_default()))
    }

    /// Per-segment statistics for a corpus in sacrebleu's stream layout.
    pub fn corpus_stats<H: AsRef<str>, R: AsRef<str>>(
        &self,
        hyps: &[H],
        refs: &[Vec<R>],
    ) -> Result<Vec<ChrfStats>> {
        let mut scratch = Scratch::default();
        map_segments(hyps, refs, |hyp, seg_refs| {
            self.segment_stats_in(&mut scratch, hyp, seg_refs)
        })
    }

    /// Corpus chrF (sacrebleu `CHRF.corpus_score`).
    pub fn corpus_score<H: AsRef<str>, R: AsRef<str>>(
        &self,
        hyps: &[H],
        refs: &[Vec<R>],
    ) -> Result<ChrfScore> {
        let mut acc = ChrfAccumulator::new(self.clone())?;
        acc.add_batch(hyps, refs)?;
        acc.finish()
    }

    /// Sentence chrF (sacrebleu `CHRF.sentence_score`).
    pub fn sentence_score<R: AsRef<str>>(&self, hyp: &str, refs: &[R]) -> Result<ChrfScore> {
        let stats = self.segment_stats(hyp, refs)?;
        Ok(self.score_from_stats(&stats, NRefs::Fixed(refs.len())))
    }

    /// The score of already summed statistics.
    pub fn score_from_stats(&self, stats: &ChrfStats, nrefs: NRefs) -> ChrfScore {
        ChrfScore {
            score: self.f_score(&stats.0),
            name: self.name(),
            char_order: self.char_order,
            word_order: self.word_order,
            beta: self.beta,
            signature: self.signature(nrefs, ResamplingInfo::default()),
        }
    }

    /// sacrebleu's `_compute_f_score` on flattened `[hyp, ref, match]` triples.
    fn f_score(&self, stats: &[u64]) -> f64 {
        const EPS: f64 = 1e-16;
        let factor = f64::from(self.beta).powi(2);
        let mut score = 0.0;
        let mut effective_order = 0usize;
        let (mut avg_prec, mut avg_rec) = (0.0, 0.0);
        for t in stats.chunks_exact(3) {
            let (n_hyp, n_ref, n_match) = (t[0], t[1], t[2]);
            let prec = if n_hyp > 0 {
                n_match as f64 / n_hyp as f64
            } else {
                EPS
            };
            let rec = if n_ref > 0 {
                n_match as f64 / n_ref as f64
            } else {
                EPS
            };
            let denom = factor * prec + rec;
            score += if denom > 0.0 {
                (1.0 + factor) * prec * rec / denom
            } else {
                EPS
            };
            if n_hyp > 0 && n_ref > 0 {
                avg_prec += prec;
                avg_rec += rec;
                effective_order += 1;
            }
        }
        if self.eps_smoothing {
            return 100.0 * score / self.order() as f64;
        }
        if effective_order == 0 {
            avg_prec = 0.0;
            avg_rec = 0.0;
        } else {
            avg_prec /= effective_order as f64;
            avg_rec /= effective_order as f64;
        }
        if avg_prec + avg_rec != 0.0 {
            100.0 * ((1.0 + factor) * avg_prec * avg_rec / (factor * avg_prec + avg_rec))
        } else {
            0.0
        }
    }
}

/// Streams a corpus in batches; equals `Chrf::corpus_score` on the whole.
pub type ChrfAccumulator = StreamingAccumulator<Chrf>;

impl SummedStatistic for Chrf {
    type Stats = ChrfStats;
    type Score = ChrfScore;
    fn validate(&self) -> Result<()> {
        Chrf::validate(self)
    }
    fn zero_stats(&self) -> ChrfStats {
        ChrfStats(vec![0; 3 * self.order()])
    }
    fn add_stats(sum: &mut ChrfStats, s: &ChrfStats) {
        sum.add(s);
    }
    fn segment_stats<R: AsRef<str>>(&self, hyp: &str, refs: &[R]) -> Result<ChrfStats> {
        Chrf::segment_stats(self, hyp, refs)
    }
    fn corpus_stats<H: AsRef<str>, R: AsRef<str>>(
        &self,
        hyps: &[H],
        refs: &[Vec<R>],
    ) -> Result<Vec<ChrfStats>> {
        Chrf::corpus_stats(self, hyps, refs)
    }
    fn score_from_stats(&self, stats: &ChrfStats, nrefs: NRefs) -> ChrfScore {
        Chrf::score_from_stats(self, stats, nrefs)
    }
}

impl CorpusStatistic for Chrf {
    type Segment = ChrfStats;
    fn score_of(&self, segments: &mut dyn Iterator<Item = &Self::Segment>) -> f64 {
        let mut sum = ChrfStats(vec![0; 3 * self.order()]);
        for s in segments {
            sum.add(s);
        }
        self.f_score(&sum.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Short texts over few characters, so n-grams repeat, with punctuation
    /// (chrF++ splits it off words), case, Unicode and odd whitespace.
    fn text() -> impl Strategy<Value = String> {
        "[abAB.,!()' \t\u{a0}é日\u{1c}]{0,16}"
    }

    #[test]
    fn too_many_distinct_characters_take_the_string_path() {
        let hyp: String = (0x4e00u32..0x4e00 + 1100)
            .filter_map(char::from_u32)
            .collect();
        let reference: String = hyp.chars().rev().step_by(2).collect();
        let cfg = Chrf::plus_plus();
        assert!(
            cfg.packed_stats(&mut Scratch::default(), &hyp, &[&reference])
                .is_none()
        );
        assert_eq!(
            cfg.segment_stats(&hyp, &[&reference]).unwrap(),
            cfg.string_stats(&hyp, &[&reference])
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn packed_keys_count_like_string_keys(
            hyp in text(),
            refs in prop::collection::vec(text(), 1..4),
            char_order in 0usize..=PACKED_CHAR_ORDER,
            word_order in 0usize..=PACKED_WORD_ORDER,
            lowercase: bool,
            whitespace: bool,
        ) {
            let cfg = Chrf { char_order, word_order, lowercase, whitespace, ..Chrf::default() };
            prop_assume!(cfg.validate().is_ok());
            let packed = cfg.packed_stats(&mut Scratch::default(), &hyp, &refs).unwrap();
            prop_assert_eq!(packed, cfg.string_stats(&hyp, &refs));
        }
    }
}
