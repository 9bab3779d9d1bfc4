//! ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum as Google's rouge-score 0.1.2
//! computes them: its lowercase/alphanumeric tokenizer with optional Porter
//! stemming, max-over-references by F (`score_multi`), and union-LCS over
//! newline-separated sentences for ROUGE-Lsum. A corpus score is the mean of
//! per-item scores.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::error::{MetricsError, Result, check_len, invalid};
use crate::fasthash::{FastMap, map_with_capacity};
use crate::porter::porter_stem;

/// Precision, recall and F1 of one ROUGE variant (values in [0, 1]).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct PrfScore {
    pub precision: f64,
    pub recall: f64,
    pub fmeasure: f64,
}

impl PrfScore {
    fn new(precision: f64, recall: f64) -> Self {
        PrfScore {
            precision,
            recall,
            fmeasure: fmeasure(precision, recall),
        }
    }
}

/// rouge-score's `scoring.fmeasure`.
fn fmeasure(p: f64, r: f64) -> f64 {
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

/// The four ROUGE variants under rouge-score's key names.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct RougeScores {
    pub rouge1: PrfScore,
    pub rouge2: PrfScore,
    #[serde(rename = "rougeL")]
    pub rouge_l: PrfScore,
    #[serde(rename = "rougeLsum")]
    pub rouge_lsum: PrfScore,
}

/// Which variant to pick out of `RougeScores` (e.g. for resampling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RougeType {
    Rouge1,
    Rouge2,
    RougeL,
    RougeLsum,
}

impl RougeScores {
    pub fn get(&self, t: RougeType) -> PrfScore {
        match t {
            RougeType::Rouge1 => self.rouge1,
            RougeType::Rouge2 => self.rouge2,
            RougeType::RougeL => self.rouge_l,
            RougeType::RougeLsum => self.rouge_lsum,
        }
    }

    fn get_mut(&mut self, t: RougeType) -> &mut PrfScore {
        match t {
            RougeType::Rouge1 => &mut self.rouge1,
            RougeType::Rouge2 => &mut self.rouge2,
            RougeType::RougeL => &mut self.rouge_l,
            RougeType::RougeLsum => &mut self.rouge_lsum,
        }
    }
}

const ALL_TYPES: [RougeType; 4] = [
    RougeType::Rouge1,
    RougeType::Rouge2,
    RougeType::RougeL,
    RougeType::RougeLsum,
];

/// ROUGE scorer; `use_stemmer` is rouge-score's flag of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rouge {
    pub use_stemmer: bool,
}

/// rouge-score's tokenizer: lowercase, keep runs of `[a-z0-9]`, and stem
/// only tokens longer than three characters.
pub fn rouge_tokenize(text: &str, use_stemmer: bool) -> Vec<String> {
    let lower = text.to_lowercase();
    lower
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|t| !t.is_empty())
        .map(|t| {
            if use_stemmer && t.len() > 3 {
                porter_stem(t)
            } else {
                t.to_string()
            }
        })
        // rouge-score drops anything that is no longer a valid token.
        .filter(|t| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        .collect()
}

fn ngram_counts(toks: &[String], n: usize) -> HashMap<&[String], u64> {
    let mut m = HashMap::new();
    if toks.len() >= n {
        for w in toks.windows(n) {
            *m.entry(w).or_insert(0) += 1;
        }
    }
    m
}

/// ROUGE-N between token lists (rouge-score `_score_ngrams`).
pub fn rouge_n(target: &[String], prediction: &[String], n: usize) -> Result<PrfScore> {
    if n == 0 {
        return Err(invalid("n", "ROUGE-N needs n >= 1"));
    }
    let (t, p) = (ngram_counts(target, n), ngram_counts(prediction, n));
    let overlap: u64 = t
        .iter()
        .map(|(g, &c)| c.min(p.get(g).copied().unwrap_or(0)))
        .sum();
    let t_total: u64 = t.values().sum();
    let p_total: u64 = p.values().sum();
    Ok(PrfScore::new(
        overlap as f64 / p_total.max(1) as f64,
        overlap as f64 / t_total.max(1) as f64,
    ))
}

fn lcs_table(a: &[String], b: &[String]) -> Vec<Vec<u32>> {
    let mut t = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            t[i][j] = if a[i - 1] == b[j - 1] {
                t[i - 1][j - 1] + 1
            } else {
                t[i - 1][j].max(t[i][j - 1])
            };
        }
    }
    t
}

/// ROUGE-L between token lists (rouge-score `_score_lcs`).
pub fn rouge_l(target: &[String], prediction: &[String]) -> PrfScore {
    if target.is_empty() || prediction.is_empty() {
        return PrfScore::default();
    }
    let lcs = f64::from(lcs_table(target, prediction)[target.len()][prediction.len()]);
    PrfScore::new(lcs / prediction.len() as f64, lcs / target.len() as f64)
}

/// Indices into `r` of one LCS, with rouge-score's backtracking tie-break
/// (which LCS is chosen changes the union in ROUGE-Lsum).
fn lcs_indices(r: &[String], c: &[String]) -> Vec<usize> {
    let t = lcs_table(r, c);
    let (mut i, mut j) = (r.len(), c.len());
    let mut out = Vec::new();
    while i > 0 && j > 0 {
        if r[i - 1] == c[j - 1] {
            out.push(i - 1);
            i -= 1;
            j -= 1;
        } else if t[i][j - 1] > t[i - 1][j] {
            j -= 1;
        } else {
            i -= 1;
        }
    }
    out.reverse();
    out
}

/// Summary-level LCS over sentence lists (rouge-score `_summary_level_lcs`).
pub fn rouge_lsum(target_sents: &[Vec<String>], pred_sents: &[Vec<String>]) -> PrfScore {
    if target_sents.is_empty() || pred_sents.is_empty() {
        return PrfScore::default();
    }
    let m: usize = target_sents.iter().map(Vec::len).sum();
    let n: usize = pred_sents.iter().map(Vec::len).sum();
    if m == 0 || n == 0 {
        return PrfScore::default();
    }
    let mut cnt_r: HashMap<&str, u64> = HashMap::new();
    let mut cnt_c: HashMap<&str, u64> = HashMap::new();
    for s in target_sents {
        for t in s {
            *cnt_r.entry(t).or_insert(0) += 1;
        }
    }
    for s in pred_sents {
        for t in s {
            *cnt_c.entry(t).or_insert(0) += 1;
        }
    }
    let mut hits = 0u64;
    for r in target_sents {
        let union: BTreeSet<usize> = pred_sents.iter().flat_map(|c| lcs_indices(r, c)).collect();
        for i in union {
            let t = r[i].as_str();
            // Each token is credited at most as often as it occurs on both sides.
            let (cr, cc) = (
                cnt_r.get(t).copied().unwrap_or(0),
                cnt_c.get(t).copied().unwrap_or(0),
            );
            if cr > 0 && cc > 0 {
                hits += 1;
                *cnt_r.get_mut(t).expect("counted") -= 1;
                *cnt_c.get_mut(t).expect("counted") -= 1;
            }
        }
    }
    PrfScore::new(hits as f64 / n as f64, hits as f64 / m as f64)
}

/// Numbers the distinct tokens of a target and a prediction from 0.
fn number_pair<'a>(t: &'a [String], p: &'a [String]) -> (Vec<u32>, Vec<u32>, usize) {
    let mut ids: FastMap<&str, u32> = map_with_capacity(t.len() + p.len());
    let mut number = |toks: &'a [String]| -> Vec<u32> {
        toks.iter()
            .map(|tok| {
                let next = ids.len() as u32;
                *ids.entry(tok.as_str()).or_insert(next)
            })
            .collect()
    };
    let (ti, pi) = (number(t), number(p));
    (ti, pi, ids.len())
}

/// `rouge_n`'s precision and recall from the clipped overlap and the n-gram totals.
fn ngram_prf(overlap: u64, t_len: usize, p_len: usize, n: usize) -> PrfScore {
    let t_total = (t_len + 1).saturating_sub(n) as u64;
    let p_total = (p_len + 1).saturating_sub(n) as u64;
    PrfScore::new(
        overlap as f64 / p_total.max(1) as f64,
        overlap as f64 / t_total.max(1) as f64,
    )
}

/// ROUGE-1 on token ids: the overlap sum of min(count in target, count in
/// prediction) is counted by letting each prediction token use up one
/// remaining target occurrence.
fn unigram_prf(t: &[u32], p: &[u32], vocab: usize) -> PrfScore {
    let mut left = vec![0u32; vocab];
    for &x in t {
        left[x as usize] += 1;
    }
    let mut overlap = 0u64;
    for &x in p {
        if left[x as usize] > 0 {
            left[x as usize] -= 1;
            overlap += 1;
        }
    }
    ngram_prf(overlap, t.len(), p.len(), 1)
}

/// ROUGE-2 on token ids, counted as in `unigram_prf`.
fn bigram_prf(t: &[u32], p: &[u32]) -> PrfScore {
    let key = |w: &[u32]| (u64::from(w[0]) << 32) | u64::from(w[1]);
    let mut left: FastMap<u64, u32> = map_with_capacity(t.len());
    for w in t.windows(2) {
        *left.entry(key(w)).or_insert(0) += 1;
    }
    let mut overlap = 0u64;
    for w in p.windows(2) {
        if let Some(c) = left.get_mut(&key(w))
            && *c > 0
        {
            *c -= 1;
            overlap += 1;
        }
    }
    ngram_prf(overlap, t.len(), p.len(), 2)
}

/// ROUGE-L on token ids: the LCS length with two rows of the table.
fn lcs_prf(t: &[u32], p: &[u32]) -> PrfScore {
    if t.is_empty() || p.is_empty() {
        return PrfScore::default();
    }
    let mut prev = vec![0u32; p.len() + 1];
    let mut cur = vec![0u32; p.len() + 1];
    for &x in t {
        for j in 1..=p.len() {
            cur[j] = if x == p[j - 1] {
                prev[j - 1] + 1
            } else {
                prev[j].max(cur[j - 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let lcs = f64::from(prev[p.len()]);
    PrfScore::new(lcs / p.len() as f64, lcs / t.len() as f64)
}

impl Rouge {
    fn sentences(&self, text: &str) -> Vec<Vec<String>> {
        text.split('\n')
            .filter(|s| !s.is_empty())
            .map(|s| rouge_tokenize(s, self.use_stemmer))
            .collect()
    }

    /// All four variants for one target (rouge-score `RougeScorer.score`).
    ///
    /// The same numbers as [`rouge_n`], [`rouge_l`] and [`rouge_lsum`] on
    /// the tokens, computed on token ids instead of strings.
    pub fn score(&self, target: &str, prediction: &str) -> RougeScores {
        let t = rouge_tokenize(target, self.use_stemmer);
        let p = rouge_tokenize(prediction, self.use_stemmer);
        let (ti, pi, vocab) = number_pair(&t, &p);
        let rouge_l = lcs_prf(&ti, &pi);
        // Single-line texts are one sentence each, and the union LCS of one
        // sentence pair is their LCS, every token of which is credited: the
        // summary-level score equals ROUGE-L.
        let single_line = !target.contains('\n') && !prediction.contains('\n');
        RougeScores {
            rouge1: unigram_prf(&ti, &pi, vocab),
            rouge2: bigram_prf(&ti, &pi),
            rouge_l,
            rouge_lsum: if single_line {
                rouge_l
            } else {
                rouge_lsum(&self.sentences(target), &self.sentences(prediction))
            },
        }
    }

    /// Best target per variant by F-measure, first on ties
    /// (rouge-score `RougeScorer.score_multi`).
    pub fn score_multi<T: AsRef<str>>(
        &self,
        targets: &[T],
        prediction: &str,
    ) -> Result<RougeScores> {
        if targets.is_empty() {
            return Err(MetricsError::Empty("ROUGE targets"));
        }
        let all: Vec<RougeScores> = targets
            .iter()
            .map(|t| self.score(t.as_ref(), prediction))
            .collect();
        let mut out = RougeScores::default();
        for ty in ALL_TYPES {
            let mut best = all[0].get(ty);
            for s in &all[1..] {
                if s.get(ty).fmeasure > best.fmeasure {
                    best = s.get(ty);
                }
            }
            *out.get_mut(ty) = best;
        }
        Ok(out)
    }

    /// Per-item scores for a corpus: `targets[i]` holds the references of item i.
    pub fn item_scores<T: AsRef<str>, P: AsRef<str>>(
        &self,
        targets: &[Vec<T>],
        predictions: &[P],
    ) -> Result<Vec<RougeScores>> {
        if predictions.is_empty() {
            return Err(MetricsError::Empty("predictions"));
        }
        check_len("targets", predictions.len(), targets.len())?;
        targets
            .iter()
            .zip(predictions)
            .map(|(t, p)| self.score_multi(t, p.as_ref()))
            .collect()
    }

    /// Corpus ROUGE: the mean of per-item precision, recall and F.
    pub fn corpus_score<T: AsRef<str>, P: AsRef<str>>(
        &self,
        targets: &[Vec<T>],
        predictions: &[P],
    ) -> Result<RougeScores> {
        let mut acc = RougeAccumulator::new(*self);
        acc.add_batch(targets, predictions)?;
        acc.finish()
    }
}

/// Streams a corpus; the result is the mean over all items added.
#[derive(Debug, Clone, Default)]
pub struct RougeAccumulator {
    scorer: Rouge,
    sum: RougeScores,
    items: usize,
}

impl RougeAccumulator {
    pub fn new(scorer: Rouge) -> Self {
        RougeAccumulator {
            scorer,
            ..Default::default()
        }
    }

    /// Adds an already computed item score.
    pub fn add_scores(&mut self, s: &RougeScores) {
        for ty in ALL_TYPES {
            let (a, b) = (self.sum.get_mut(ty), s.get(ty));
            a.precision += b.precision;
            a.recall += b.recall;
            a.fmeasure += b.fmeasure;
        }
        self.items += 1;
    }

    /// Scores and adds one item.
    pub fn add<T: AsRef<str>>(&mut self, targets: &[T], prediction: &str) -> Result<()> {
        let s = self.scorer.score_multi(targets, prediction)?;
        self.add_scores(&s);
        Ok(())
    }

    /// Scores and adds a batch (`targets[i]` are the references of item i).
    pub fn add_batch<T: AsRef<str>, P: AsRef<str>>(
        &mut self,
        targets: &[Vec<T>],
        predictions: &[P],
    ) -> Result<()> {
        for s in self.scorer.item_scores(targets, predictions)? {
            self.add_scores(&s);
        }
        Ok(())
    }

    /// The mean so far; errors if nothing was added.
    pub fn finish(&self) -> Result<RougeScores> {
        if self.items == 0 {
            return Err(MetricsError::Empty("predictions"));
        }
        let n = self.items as f64;
        let mut out = self.sum;
        for ty in ALL_TYPES {
            let s = out.get_mut(ty);
            s.precision /= n;
            s.recall /= n;
            s.fmeasure /= n;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Texts over a small vocabulary (so tokens repeat), sometimes on several lines.
    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec("a|b|cc|runs|running|x1|\\.|\n|Ab", 0..16).prop_map(|w| w.join(" "))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn id_based_scores_equal_the_string_functions(target in text(), prediction in text(), stem: bool) {
            let r = Rouge { use_stemmer: stem };
            let (t, p) = (rouge_tokenize(&target, stem), rouge_tokenize(&prediction, stem));
            let reference = RougeScores {
                rouge1: rouge_n(&t, &p, 1).unwrap(),
                rouge2: rouge_n(&t, &p, 2).unwrap(),
                rouge_l: rouge_l(&t, &p),
                rouge_lsum: rouge_lsum(&r.sentences(&target), &r.sentences(&prediction)),
            };
            prop_assert_eq!(r.score(&target, &prediction), reference);
        }
    }
}
