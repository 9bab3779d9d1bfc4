//! The linear probe's softmax regression against scikit-learn 1.9.1's
//! multinomial `LogisticRegression` (fixtures/probe/softmax_regression.json,
//! made by fixtures/probe/make_softmax_golden.py): the same L2-regularized
//! objective has one minimizer, so weights and probabilities must agree.

use hone_tasks::classify::softmax_regression::fit;
use serde_json::Value;

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn weights_and_probabilities_match_scikit_learn() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/probe/softmax_regression.json"
    );
    let golden: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for case in golden["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let features = case["features"].as_u64().unwrap() as usize;
        let classes = case["classes"].as_u64().unwrap() as usize;
        let x: Vec<f64> = matrix(&case["x"]).concat();
        let y: Vec<usize> = case["y"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let m = fit(&x, features, &y, classes, case["c"].as_f64().unwrap()).unwrap();
        let want_w = matrix(&case["weight"]).concat();
        for (i, (got, want)) in m.weight.iter().zip(&want_w).enumerate() {
            assert!(
                (got - want).abs() < 1e-5,
                "{name}: weight {i}: {got} vs {want}"
            );
        }
        // Intercepts are unique up to a common shift; compare them centred.
        let centred = |b: &[f64]| -> Vec<f64> {
            let mean = b.iter().sum::<f64>() / b.len() as f64;
            b.iter().map(|v| v - mean).collect()
        };
        let want_b: Vec<f64> = case["intercept"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        for (got, want) in centred(&m.bias).iter().zip(centred(&want_b)) {
            assert!(
                (got - want).abs() < 1e-5,
                "{name}: intercept {got} vs {want}"
            );
        }
        for (r, want) in matrix(&case["proba"]).iter().enumerate() {
            let got = m.predict_proba(&x[r * features..(r + 1) * features]);
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-6, "{name}: row {r}: {got:?} vs {want:?}");
            }
        }
    }
}
