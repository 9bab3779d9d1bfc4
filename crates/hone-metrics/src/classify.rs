//! Classification metrics with scikit-learn's numbers: accuracy, confusion
//! matrix, precision/recall/F-beta per class and micro/macro/weighted, and
//! Matthews correlation.
//!
//! The label set is the sorted union of gold and predicted labels, as
//! scikit-learn's `unique_labels` forms it (strings sort by code point,
//! integers numerically). A ratio with a zero denominator is 0: scikit-learn's
//! default `zero_division="warn"` warns and uses 0.

use std::collections::BTreeMap;
use std::fmt::Display;

use serde::Serialize;

use crate::error::{MetricsError, Result, check_len, invalid};

/// Counts of (gold, predicted) pairs over the sorted label union.
/// `counts[i][j]`: items with gold `labels[i]` predicted as `labels[j]`
/// (scikit-learn's layout).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfusionMatrix<L> {
    pub labels: Vec<L>,
    pub counts: Vec<Vec<u64>>,
}

/// Precision, recall, F-beta and support of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassPrf<L> {
    pub label: L,
    pub precision: f64,
    pub recall: f64,
    pub fscore: f64,
    pub support: u64,
}

/// An averaged precision/recall/F-beta triple.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub fscore: f64,
}

/// scikit-learn's `precision_recall_fscore_support` for every averaging mode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrfReport<L> {
    pub beta: f64,
    pub per_class: Vec<ClassPrf<L>>,
    pub micro: Prf,
    pub macro_avg: Prf,
    pub weighted: Prf,
}

/// Precision/recall/F1 under the keys a CLI prints.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Averages {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// One class row of a report.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ClassScores {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u64,
}

/// Everything a CLI prints for classification (F1, i.e. beta = 1).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ClassificationReport {
    pub accuracy: f64,
    #[serde(rename = "macro")]
    pub macro_avg: Averages,
    pub micro: Averages,
    pub weighted: Averages,
    pub per_class: Vec<ClassScores>,
    pub mcc: f64,
    pub support: u64,
}

/// scikit-learn's `_prf_divide` with `zero_division` 0.
fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 { 0.0 } else { num / den }
}

fn fbeta(beta2: f64, tp: f64, true_sum: f64, pred_sum: f64) -> f64 {
    ratio((1.0 + beta2) * tp, beta2 * true_sum + pred_sum)
}

impl<L: Ord + Clone> ConfusionMatrix<L> {
    /// Builds the matrix from aligned gold and predicted labels.
    pub fn new(y_true: &[L], y_pred: &[L]) -> Result<Self> {
        check_len("y_pred", y_true.len(), y_pred.len())?;
        if y_true.is_empty() {
            return Err(MetricsError::Empty("labels"));
        }
        let mut pairs: BTreeMap<(L, L), u64> = BTreeMap::new();
        for (t, p) in y_true.iter().zip(y_pred) {
            *pairs.entry((t.clone(), p.clone())).or_insert(0) += 1;
        }
        Ok(Self::from_pairs(&pairs))
    }

    pub(crate) fn from_pairs(pairs: &BTreeMap<(L, L), u64>) -> Self {
        let mut set: Vec<L> = pairs
            .keys()
            .flat_map(|(t, p)| [t.clone(), p.clone()])
            .collect();
        set.sort();
        set.dedup();
        let index: BTreeMap<&L, usize> = set.iter().enumerate().map(|(i, l)| (l, i)).collect();
        let mut counts = vec![vec![0u64; set.len()]; set.len()];
        for ((t, p), &c) in pairs {
            counts[index[t]][index[p]] += c;
        }
        ConfusionMatrix {
            labels: set,
            counts,
        }
    }

    /// Number of items.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    fn sums(&self) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let k = self.labels.len();
        let tp: Vec<f64> = (0..k).map(|i| self.counts[i][i] as f64).collect();
        let true_sum: Vec<f64> = (0..k)
            .map(|i| self.counts[i].iter().sum::<u64>() as f64)
            .collect();
        let pred_sum: Vec<f64> = (0..k)
            .map(|j| self.counts.iter().map(|r| r[j]).sum::<u64>() as f64)
            .collect();
        (tp, true_sum, pred_sum)
    }

    /// Fraction of items whose prediction equals the gold label.
    pub fn accuracy(&self) -> f64 {
        let (tp, _, _) = self.sums();
        tp.iter().sum::<f64>() / self.total() as f64
    }

    /// Precision, recall and F-beta per class and averaged (beta > 0, finite).
    pub fn prf(&self, beta: f64) -> Result<PrfReport<L>> {
        if !(beta.is_finite() && beta > 0.0) {
            return Err(invalid(
                "beta",
                format!("must be finite and > 0, got {beta}"),
            ));
        }
        let beta2 = beta * beta;
        let (tp, true_sum, pred_sum) = self.sums();
        let per_class: Vec<ClassPrf<L>> = (0..self.labels.len())
            .map(|i| ClassPrf {
                label: self.labels[i].clone(),
                precision: ratio(tp[i], pred_sum[i]),
                recall: ratio(tp[i], true_sum[i]),
                fscore: fbeta(beta2, tp[i], true_sum[i], pred_sum[i]),
                support: true_sum[i] as u64,
            })
            .collect();
        let (tp_all, t_all, p_all) = (
            tp.iter().sum::<f64>(),
            true_sum.iter().sum::<f64>(),
            pred_sum.iter().sum::<f64>(),
        );
        let micro = Prf {
            precision: ratio(tp_all, p_all),
            recall: ratio(tp_all, t_all),
            fscore: fbeta(beta2, tp_all, t_all, p_all),
        };
        let k = per_class.len() as f64;
        let mean = |f: fn(&ClassPrf<L>) -> f64| per_class.iter().map(f).sum::<f64>() / k;
        let macro_avg = Prf {
            precision: mean(|c| c.precision),
            recall: mean(|c| c.recall),
            fscore: mean(|c| c.fscore),
        };
        let weighted_mean = |f: fn(&ClassPrf<L>) -> f64| {
            per_class
                .iter()
                .map(|c| f(c) * c.support as f64)
                .sum::<f64>()
                / t_all
        };
        let weighted = Prf {
            precision: weighted_mean(|c| c.precision),
            recall: weighted_mean(|c| c.recall),
            fscore: weighted_mean(|c| c.fscore),
        };
        Ok(PrfReport {
            beta,
            per_class,
            micro,
            macro_avg,
            weighted,
        })
    }

    /// Matthews correlation (scikit-learn's multiclass formula; 0 when undefined).
    pub fn mcc(&self) -> f64 {
        let (tp, t, p) = self.sums();
        let n_correct: f64 = tp.iter().sum();
        let n: f64 = p.iter().sum();
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let cov_ytyp = n_correct * n - dot(&t, &p);
        let cov_ypyp = n * n - dot(&p, &p);
        let cov_ytyt = n * n - dot(&t, &t);
        let denom = cov_ypyp * cov_ytyt;
        if denom == 0.0 {
            0.0
        } else {
            cov_ytyp / denom.sqrt()
        }
    }
}

impl<L: Ord + Clone + Display> ConfusionMatrix<L> {
    /// The CLI report: accuracy, F1 averages, per-class rows and MCC.
    pub fn report(&self) -> ClassificationReport {
        let prf = self.prf(1.0).expect("beta = 1 is valid");
        let avg = |p: Prf| Averages {
            precision: p.precision,
            recall: p.recall,
            f1: p.fscore,
        };
        ClassificationReport {
            accuracy: self.accuracy(),
            macro_avg: avg(prf.macro_avg),
            micro: avg(prf.micro),
            weighted: avg(prf.weighted),
            per_class: prf
                .per_class
                .iter()
                .map(|c| ClassScores {
                    label: c.label.to_string(),
                    precision: c.precision,
                    recall: c.recall,
                    f1: c.fscore,
                    support: c.support,
                })
                .collect(),
            mcc: self.mcc(),
            support: self.total(),
        }
    }
}

/// One-shot report for aligned gold and predicted labels.
pub fn classification_report<L: Ord + Clone + Display>(
    y_true: &[L],
    y_pred: &[L],
) -> Result<ClassificationReport> {
    Ok(ConfusionMatrix::new(y_true, y_pred)?.report())
}

/// Accuracy of aligned gold and predicted labels.
pub fn accuracy<L: PartialEq>(y_true: &[L], y_pred: &[L]) -> Result<f64> {
    check_len("y_pred", y_true.len(), y_pred.len())?;
    if y_true.is_empty() {
        return Err(MetricsError::Empty("labels"));
    }
    let hits = y_true.iter().zip(y_pred).filter(|(a, b)| a == b).count();
    Ok(hits as f64 / y_true.len() as f64)
}

/// Streams labels in batches; the confusion matrix, and so every metric,
/// equals the one-shot result on the concatenation.
#[derive(Debug, Clone)]
pub struct ClassificationAccumulator<L> {
    pairs: BTreeMap<(L, L), u64>,
}

impl<L: Ord + Clone> Default for ClassificationAccumulator<L> {
    fn default() -> Self {
        ClassificationAccumulator {
            pairs: BTreeMap::new(),
        }
    }
}

impl<L: Ord + Clone> ClassificationAccumulator<L> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a batch of aligned labels.
    pub fn add_batch(&mut self, y_true: &[L], y_pred: &[L]) -> Result<()> {
        check_len("y_pred", y_true.len(), y_pred.len())?;
        for (t, p) in y_true.iter().zip(y_pred) {
            *self.pairs.entry((t.clone(), p.clone())).or_insert(0) += 1;
        }
        Ok(())
    }

    /// The confusion matrix so far; errors if nothing was added.
    pub fn confusion_matrix(&self) -> Result<ConfusionMatrix<L>> {
        if self.pairs.is_empty() {
            return Err(MetricsError::Empty("labels"));
        }
        Ok(ConfusionMatrix::from_pairs(&self.pairs))
    }
}
