//! McNemar's test for two classifiers on the same items, as statsmodels'
//! `mcnemar` defines it: exact two-sided binomial test on the discordant
//! counts, or chi-square with continuity correction.

use serde::Serialize;

use crate::error::{MetricsError, Result, check_len};

/// How to compute the p-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum McNemarMethod {
    /// Exact when fewer than 25 discordant items, chi-square otherwise.
    #[default]
    Auto,
    /// statsmodels `exact=True`.
    Exact,
    /// statsmodels `exact=False, correction=True`.
    ChiSquareCorrected,
}

/// Discordant counts, the statistic and p-value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct McNemarResult {
    /// Items only classifier A got right.
    pub b: u64,
    /// Items only classifier B got right.
    pub c: u64,
    /// min(b, c) for the exact test; (|b - c| - 1)² / (b + c) for chi-square.
    pub statistic: f64,
    pub p_value: f64,
    /// `exact` or `chi2_corrected`.
    pub method: &'static str,
}

/// Below this many discordant items the chi-square approximation is poor.
pub const EXACT_BELOW: u64 = 25;

/// The test from discordant counts. With b + c = 0 there is no evidence
/// either way: statistic 0, p-value 1 (statsmodels' chi-square gives NaN).
pub fn mcnemar_from_counts(b: u64, c: u64, method: McNemarMethod) -> McNemarResult {
    let n = b + c;
    let exact = match method {
        McNemarMethod::Exact => true,
        McNemarMethod::ChiSquareCorrected => false,
        McNemarMethod::Auto => n < EXACT_BELOW,
    };
    if exact {
        let k = b.min(c);
        McNemarResult {
            b,
            c,
            statistic: k as f64,
            p_value: (2.0 * binomial_half_cdf(k, n)).min(1.0),
            method: "exact",
        }
    } else {
        let (statistic, p_value) = if n == 0 {
            (0.0, 1.0)
        } else {
            let s = ((b as f64 - c as f64).abs() - 1.0).powi(2) / n as f64;
            // Chi-square with one degree of freedom: P(X > s) = erfc(sqrt(s / 2)).
            (s, libm::erfc((s / 2.0).sqrt()))
        };
        McNemarResult {
            b,
            c,
            statistic,
            p_value,
            method: "chi2_corrected",
        }
    }
}

/// P(X <= k) for X ~ Binomial(n, 1/2), summed in log space so large n
/// does not underflow.
fn binomial_half_cdf(k: u64, n: u64) -> f64 {
    let ln_fact = |x: u64| libm::lgamma(x as f64 + 1.0);
    let ln_total = ln_fact(n) - n as f64 * std::f64::consts::LN_2;
    let logs: Vec<f64> = (0..=k)
        .map(|i| ln_total - ln_fact(i) - ln_fact(n - i))
        .collect();
    let max = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (max + logs.iter().map(|l| (l - max).exp()).sum::<f64>().ln()).exp()
}

/// The test from gold labels and two classifiers' predictions.
pub fn mcnemar<L: PartialEq>(
    gold: &[L],
    pred_a: &[L],
    pred_b: &[L],
    method: McNemarMethod,
) -> Result<McNemarResult> {
    check_len("pred_a", gold.len(), pred_a.len())?;
    check_len("pred_b", gold.len(), pred_b.len())?;
    if gold.is_empty() {
        return Err(MetricsError::Empty("labels"));
    }
    let (mut b, mut c) = (0, 0);
    for ((g, a), bb) in gold.iter().zip(pred_a).zip(pred_b) {
        match (a == g, bb == g) {
            (true, false) => b += 1,
            (false, true) => c += 1,
            _ => {}
        }
    }
    Ok(mcnemar_from_counts(b, c, method))
}
