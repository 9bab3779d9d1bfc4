//! L2-regularized multinomial logistic regression on fixed feature vectors,
//! the objective of scikit-learn's `LogisticRegression(C=…)` for more than
//! two classes: `C · Σᵢ −ln softmax(W xᵢ + b)[yᵢ] + ½‖W‖²`, the intercepts
//! unpenalized. Minimized by L-BFGS (ten correction pairs, backtracking
//! Armijo line search, stopping when the largest gradient component or the
//! relative decrease of the objective is negligible, as scipy's L-BFGS-B
//! does for scikit-learn); the objective is convex and smooth, so any
//! minimizer hone and scikit-learn find has the same `W` and the same
//! probabilities (the intercepts are unique only up to a common shift,
//! which changes no probability).
//!
//! Used to fit a classifier head on the frozen encoder's pooled features
//! before fine-tuning ([`super::probe`]).

/// A fitted model: `weight` is `[features][classes]` (the layout of a burn
/// `Linear` weight), `bias` `[classes]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SoftmaxRegression {
    pub weight: Vec<f64>,
    pub bias: Vec<f64>,
    pub features: usize,
    pub classes: usize,
    /// L-BFGS iterations taken.
    pub iterations: usize,
    /// The largest absolute gradient component at the end, relative to the
    /// data term's scale (C × rows).
    pub gradient: f64,
}

impl SoftmaxRegression {
    /// Class probabilities of one feature row.
    pub fn predict_proba(&self, x: &[f64]) -> Vec<f64> {
        let mut z = self.bias.clone();
        for (f, &xf) in x.iter().enumerate() {
            let row = &self.weight[f * self.classes..(f + 1) * self.classes];
            z.iter_mut().zip(row).for_each(|(zk, w)| *zk += xf * w);
        }
        softmax(&mut z);
        z
    }
}

/// Fits the model to `x` (`rows × features`, row-major) and `labels`
/// (class indices below `classes`) with inverse regularization strength
/// `c` (scikit-learn's `C`; larger fits the data more closely).
pub fn fit(
    x: &[f64],
    features: usize,
    labels: &[usize],
    classes: usize,
    c: f64,
) -> Result<SoftmaxRegression, String> {
    let rows = labels.len();
    if rows == 0 || features == 0 {
        return Err("a softmax regression needs at least one row and one feature".into());
    }
    if x.len() != rows * features {
        return Err(format!(
            "{} feature values for {rows} rows of {features}",
            x.len()
        ));
    }
    if classes < 2 {
        return Err(format!("{classes} classes: a classifier needs two or more"));
    }
    if let Some(&bad) = labels.iter().find(|&&y| y >= classes) {
        return Err(format!("label {bad} is not below {classes} classes"));
    }
    if !(c > 0.0 && c.is_finite()) {
        return Err(format!("C must be positive and finite, got {c}"));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err("a feature value is not finite".into());
    }
    let objective = Objective {
        x,
        features,
        labels,
        classes,
        c,
    };
    let n_params = features * classes + classes;
    let (theta, iterations, gradient) = lbfgs(&objective, vec![0.0; n_params], 1000);
    let (weight, bias) = theta.split_at(features * classes);
    Ok(SoftmaxRegression {
        weight: weight.to_vec(),
        bias: bias.to_vec(),
        features,
        classes,
        iterations,
        gradient: gradient / (c * rows as f64),
    })
}

/// Replaces `z` by its softmax (max-subtracted).
fn softmax(z: &mut [f64]) {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    z.iter_mut().for_each(|v| *v = (*v - max).exp());
    let sum: f64 = z.iter().sum();
    z.iter_mut().for_each(|v| *v /= sum);
}

struct Objective<'a> {
    x: &'a [f64],
    features: usize,
    labels: &'a [usize],
    classes: usize,
    c: f64,
}

impl Objective<'_> {
    /// The objective and its gradient at `theta` (weights then intercepts).
    fn value_and_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let (d, k) = (self.features, self.classes);
        let (w, b) = theta.split_at(d * k);
        let mut grad = vec![0.0; theta.len()];
        let mut loss = 0.0;
        let mut z = vec![0.0; k];
        for (i, &y) in self.labels.iter().enumerate() {
            let x = &self.x[i * d..(i + 1) * d];
            z.copy_from_slice(b);
            for (f, &xf) in x.iter().enumerate() {
                let row = &w[f * k..(f + 1) * k];
                z.iter_mut().zip(row).for_each(|(zk, wk)| *zk += xf * wk);
            }
            let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let log_sum = max + z.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
            loss += log_sum - z[y];
            // d loss / d z = softmax(z) − onehot(y), scaled by C below.
            z.iter_mut().for_each(|v| *v = (*v - log_sum).exp());
            z[y] -= 1.0;
            for (f, &xf) in x.iter().enumerate() {
                let g = &mut grad[f * k..(f + 1) * k];
                g.iter_mut().zip(&z).for_each(|(gk, dz)| *gk += xf * dz);
            }
            grad[d * k..]
                .iter_mut()
                .zip(&z)
                .for_each(|(gk, dz)| *gk += dz);
        }
        grad.iter_mut().for_each(|g| *g *= self.c);
        let mut value = self.c * loss;
        for (g, &wv) in grad[..d * k].iter_mut().zip(w) {
            *g += wv;
            value += 0.5 * wv * wv;
        }
        (value, grad)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Minimizes the objective from `theta`; returns the minimizer, the
/// iterations taken and the final largest absolute gradient component.
fn lbfgs(objective: &Objective, mut theta: Vec<f64>, max_iter: usize) -> (Vec<f64>, usize, f64) {
    const MEMORY: usize = 10;
    const MAX_HALVINGS: usize = 40;
    let scale = objective.c * objective.labels.len() as f64;
    let tolerance = 1e-10 * scale;
    let (mut value, mut grad) = objective.value_and_gradient(&theta);
    let mut history: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)> =
        std::collections::VecDeque::new();
    let max_abs = |g: &[f64]| g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for iteration in 0..max_iter {
        if max_abs(&grad) <= tolerance {
            return (theta, iteration, max_abs(&grad));
        }
        // Two-loop recursion: direction = −H·grad.
        let mut q = grad.clone();
        let mut alphas = Vec::with_capacity(history.len());
        for (s, y, rho) in history.iter().rev() {
            let a = rho * dot(s, &q);
            q.iter_mut().zip(y).for_each(|(qi, yi)| *qi -= a * yi);
            alphas.push(a);
        }
        if let Some((s, y, _)) = history.back() {
            let gamma = dot(s, y) / dot(y, y);
            q.iter_mut().for_each(|v| *v *= gamma);
        } else {
            // First step: a unit-length move along the gradient.
            let norm = dot(&grad, &grad).sqrt();
            q.iter_mut().for_each(|v| *v /= norm);
        }
        for ((s, y, rho), a) in history.iter().zip(alphas.iter().rev()) {
            let beta = rho * dot(y, &q);
            q.iter_mut()
                .zip(s)
                .for_each(|(qi, si)| *qi += (a - beta) * si);
        }
        let mut direction: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&grad, &direction);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart.
            history.clear();
            direction = grad.iter().map(|v| -v).collect();
            slope = dot(&grad, &direction);
        }
        // Backtracking line search on the Armijo condition. Near the
        // minimum the objective stops decreasing measurably in f64; then no
        // step passes and the current point is as good as it gets.
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..MAX_HALVINGS {
            let candidate: Vec<f64> = theta
                .iter()
                .zip(&direction)
                .map(|(t, d)| t + step * d)
                .collect();
            let (v, g) = objective.value_and_gradient(&candidate);
            if v <= value + 1e-4 * step * slope {
                accepted = Some((candidate, v, g));
                break;
            }
            step *= 0.5;
        }
        let Some((next, next_value, next_grad)) = accepted else {
            return (theta, iteration, max_abs(&grad));
        };
        let s: Vec<f64> = next.iter().zip(&theta).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = next_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        // scipy's L-BFGS-B test (scikit-learn passes ftol = 64 ε): the
        // objective no longer decreases relative to its size.
        let stalled =
            value - next_value <= 64.0 * f64::EPSILON * value.abs().max(next_value.abs()).max(1.0);
        theta = next;
        value = next_value;
        grad = next_grad;
        if stalled {
            return (theta, iteration + 1, max_abs(&grad));
        }
        if sy > 1e-12 * dot(&y, &y).sqrt() * dot(&s, &s).sqrt() {
            if history.len() == MEMORY {
                history.pop_front();
            }
            history.push_back((s, y, 1.0 / sy));
        }
    }
    let g = max_abs(&grad);
    (theta, max_iter, g)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two well-separated clusters per class in two features.
    fn blobs() -> (Vec<f64>, Vec<usize>) {
        let centers = [(0.0, 3.0), (3.0, 0.0), (-3.0, -3.0)];
        let mut x = Vec::new();
        let mut y = Vec::new();
        for (k, &(cx, cy)) in centers.iter().enumerate() {
            for j in 0..20 {
                let t = j as f64 * 0.7;
                x.extend([cx + 0.5 * t.sin(), cy + 0.5 * t.cos()]);
                y.push(k);
            }
        }
        (x, y)
    }

    #[test]
    fn separable_blobs_are_learned_and_the_gradient_vanishes() {
        let (x, y) = blobs();
        let m = fit(&x, 2, &y, 3, 1.0).unwrap();
        assert!(m.gradient < 1e-6, "gradient {}", m.gradient);
        for (i, &label) in y.iter().enumerate() {
            let p = m.predict_proba(&x[i * 2..i * 2 + 2]);
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            let best = (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
            assert_eq!(best, label, "row {i}: {p:?}");
        }
    }

    #[test]
    fn stronger_regularization_gives_smaller_weights() {
        let (x, y) = blobs();
        let norm = |m: &SoftmaxRegression| dot(&m.weight, &m.weight);
        let loose = fit(&x, 2, &y, 3, 10.0).unwrap();
        let tight = fit(&x, 2, &y, 3, 0.01).unwrap();
        assert!(norm(&tight) < norm(&loose) / 10.0);
    }

    #[test]
    fn bad_input_is_an_error() {
        let (x, y) = blobs();
        assert!(fit(&x, 2, &y, 2, 1.0).unwrap_err().contains("label 2"));
        assert!(
            fit(&x[1..], 2, &y, 3, 1.0)
                .unwrap_err()
                .contains("feature values")
        );
        assert!(fit(&x, 2, &y, 1, 1.0).unwrap_err().contains("two or more"));
        assert!(fit(&x, 2, &y, 3, 0.0).unwrap_err().contains("C must be"));
        assert!(
            fit(&[], 2, &[], 3, 1.0)
                .unwrap_err()
                .contains("at least one row")
        );
        let mut nan = x.clone();
        nan[3] = f64::NAN;
        assert!(fit(&nan, 2, &y, 3, 1.0).unwrap_err().contains("not finite"));
    }
}
