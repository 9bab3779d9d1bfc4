//! Log loss (cross-entropy, in nats) of predicted class probabilities
//! against gold class indices, as scikit-learn 1.9's `log_loss`: each
//! probability is clipped to `[eps, 1 − eps]` (`eps`: f64's machine
//! epsilon), so a confident mistake costs a large finite amount rather than
//! infinity, and the loss is the mean of `−ln p(gold)` over the rows. Rows
//! are taken as given, not renormalized (scikit-learn only warns when they
//! do not sum to one).
//!
//! Accuracy cannot tell apart two models that get the same examples right;
//! the log loss can (it also scores how sure each was), which is why the
//! training loop breaks validation-accuracy ties with it.

use crate::error::{MetricsError, Result, check_len};

/// Mean negative log-probability of the gold class. `probs[i]` holds the
/// class probabilities of row `i`, `gold[i]` the index of its true class.
pub fn log_loss(gold: &[usize], probs: &[Vec<f64>]) -> Result<f64> {
    check_len("probs", gold.len(), probs.len())?;
    if gold.is_empty() {
        return Err(MetricsError::Empty("rows"));
    }
    let eps = f64::EPSILON;
    let mut total = 0.0;
    for (row, (&g, p)) in gold.iter().zip(probs).enumerate() {
        if let Some(bad) = p.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(MetricsError::InvalidInput(format!(
                "row {row}: probability {bad} is not in [0, 1]"
            )));
        }
        let Some(&p_gold) = p.get(g) else {
            return Err(MetricsError::InvalidInput(format!(
                "row {row}: gold class {g} but only {} probabilities",
                p.len()
            )));
        };
        total -= p_gold.clamp(eps, 1.0 - eps).ln();
    }
    Ok(total / gold.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_guesses_cost_ln_k() {
        let probs = vec![vec![0.25; 4]; 3];
        let loss = log_loss(&[0, 3, 1], &probs).unwrap();
        assert!((loss - 4f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn certainty_is_clipped_not_infinite() {
        let right = log_loss(&[1], &[vec![0.0, 1.0]]).unwrap();
        assert!(right > 0.0 && right < 1e-15);
        let wrong = log_loss(&[0], &[vec![0.0, 1.0]]).unwrap();
        assert!((wrong + f64::EPSILON.ln()).abs() < 1e-9, "{wrong}");
    }

    #[test]
    fn surer_right_answers_cost_less() {
        let sure = log_loss(&[0, 1], &[vec![0.9, 0.1], vec![0.2, 0.8]]).unwrap();
        let unsure = log_loss(&[0, 1], &[vec![0.6, 0.4], vec![0.4, 0.6]]).unwrap();
        assert!(sure < unsure);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(log_loss(&[], &[]), Err(MetricsError::Empty(_))));
        assert!(matches!(
            log_loss(&[0, 1], &[vec![1.0, 0.0]]),
            Err(MetricsError::LengthMismatch { .. })
        ));
        for bad in [-0.1, 1.5, f64::NAN] {
            let err = log_loss(&[0], &[vec![bad, 0.5]]).unwrap_err();
            assert!(err.to_string().contains("not in [0, 1]"), "{err}");
        }
        let err = log_loss(&[2], &[vec![0.5, 0.5]]).unwrap_err();
        assert!(err.to_string().contains("gold class 2"), "{err}");
    }
}
