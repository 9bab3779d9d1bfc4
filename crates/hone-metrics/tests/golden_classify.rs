//! Classification, log loss, McNemar, perplexity and the deterministic parts of the
//! significance tests against scikit-learn, scipy and sacrebleu
//! (fixtures/metrics/golden.json).

mod common;

use common::{close, f64s, golden};
use hone_metrics::{
    ConfusionMatrix, McNemarMethod, classification_report, log_loss, mcnemar_from_counts, p_value,
    percentile_interval, perplexity,
};
use serde_json::Value;

fn check_labels<L: Ord + Clone + std::fmt::Debug>(
    e: &Value,
    yt: Vec<L>,
    yp: Vec<L>,
    labels: Vec<L>,
) {
    let name = e["name"].as_str().unwrap();
    let cm = ConfusionMatrix::new(&yt, &yp).unwrap();
    assert_eq!(cm.labels, labels, "{name}: label set");
    let want: Vec<Vec<u64>> = e["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(cm.counts, want, "{name}: confusion");
    close(
        name,
        "accuracy",
        cm.accuracy(),
        e["accuracy"].as_f64().unwrap(),
    );
    close(name, "mcc", cm.mcc(), e["mcc"].as_f64().unwrap());
    for beta in [1.0, 0.5, 2.0] {
        let x = &e[format!("beta_{beta:?}")];
        let r = cm.prf(beta).unwrap();
        for (i, c) in r.per_class.iter().enumerate() {
            let pc = &x["per_class"];
            close(
                name,
                "precision",
                c.precision,
                pc["precision"][i].as_f64().unwrap(),
            );
            close(name, "recall", c.recall, pc["recall"][i].as_f64().unwrap());
            close(name, "fscore", c.fscore, pc["fscore"][i].as_f64().unwrap());
            assert_eq!(
                c.support,
                pc["support"][i].as_u64().unwrap(),
                "{name}: support"
            );
        }
        for (avg, got) in [
            ("micro", r.micro),
            ("macro", r.macro_avg),
            ("weighted", r.weighted),
        ] {
            let w = &x[avg];
            close(
                name,
                &format!("{avg} p"),
                got.precision,
                w["precision"].as_f64().unwrap(),
            );
            close(
                name,
                &format!("{avg} r"),
                got.recall,
                w["recall"].as_f64().unwrap(),
            );
            close(
                name,
                &format!("{avg} f{beta}"),
                got.fscore,
                w["fscore"].as_f64().unwrap(),
            );
        }
    }
}

#[test]
fn classification_matches_sklearn() {
    let g = golden();
    let entries = g["classification"].as_array().unwrap();
    assert!(entries.len() >= 10);
    for e in entries {
        if e["y_true"][0].is_string() {
            let s = |k: &str| common::strs(&e[k]);
            check_labels(e, s("y_true"), s("y_pred"), s("labels"));
        } else {
            let u = |k: &str| -> Vec<usize> {
                e[k].as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap() as usize)
                    .collect()
            };
            check_labels(e, u("y_true"), u("y_pred"), u("labels"));
        }
    }
}

#[test]
fn report_json_has_cli_keys() {
    let r = classification_report(&["a", "b", "a"], &["a", "a", "a"]).unwrap();
    let v = serde_json::to_value(&r).unwrap();
    assert!(v["accuracy"].is_number());
    for avg in ["macro", "micro", "weighted"] {
        for k in ["precision", "recall", "f1"] {
            assert!(v[avg][k].is_number(), "missing {avg}.{k}");
        }
    }
    assert_eq!(v["per_class"][0]["label"], "a");
    assert_eq!(v["per_class"][1]["f1"], 0.0);
}

#[test]
fn mcnemar_matches_scipy() {
    let g = golden();
    for e in g["mcnemar"].as_array().unwrap() {
        let (b, c) = (e["b"].as_u64().unwrap(), e["c"].as_u64().unwrap());
        let name = format!("mcnemar b={b} c={c}");
        let ex = mcnemar_from_counts(b, c, McNemarMethod::Exact);
        close(&name, "exact p", ex.p_value, e["exact_p"].as_f64().unwrap());
        let ch = mcnemar_from_counts(b, c, McNemarMethod::ChiSquareCorrected);
        close(
            &name,
            "chi2 stat",
            ch.statistic,
            e["chi2_stat"].as_f64().unwrap(),
        );
        close(&name, "chi2 p", ch.p_value, e["chi2_p"].as_f64().unwrap());
        let auto = mcnemar_from_counts(b, c, McNemarMethod::Auto);
        assert_eq!(
            auto.method,
            if b + c < 25 {
                "exact"
            } else {
                "chi2_corrected"
            }
        );
    }
}

#[test]
fn log_loss_matches_scikit_learn() {
    let g = golden();
    for e in g["log_loss"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap();
        let gold: Vec<usize> = e["gold"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        let probs: Vec<Vec<f64>> = e["probs"].as_array().unwrap().iter().map(f64s).collect();
        let got = log_loss(&gold, &probs).unwrap();
        close(name, "log_loss", got, e["log_loss"].as_f64().unwrap());
    }
}

#[test]
fn perplexity_matches_numpy() {
    let g = golden();
    for e in g["perplexity"].as_array().unwrap() {
        let p = perplexity(&f64s(&e["logprobs"])).unwrap();
        let want = e["perplexity"].as_f64().unwrap();
        assert!(
            (p.perplexity - want).abs() <= 1e-9 * want,
            "{} vs {want}",
            p.perplexity
        );
    }
}

#[test]
fn significance_helpers_match_sacrebleu() {
    let g = golden();
    for (i, e) in g["significance"].as_array().unwrap().iter().enumerate() {
        let name = format!("significance_{i}");
        let scores = f64s(&e["scores"]);
        let (mean, lower, upper) = percentile_interval(&scores, 0.95).unwrap();
        close(&name, "mean", mean, e["mean"].as_f64().unwrap());
        close(
            &name,
            "ci",
            0.5 * (upper - lower),
            e["ci"].as_f64().unwrap(),
        );
        let p = p_value(&f64s(&e["stats"]), e["real_difference"].as_f64().unwrap());
        close(&name, "p", p, e["p_value"].as_f64().unwrap());
    }
}
