//! `hone prune` end to end on a tiny classifier: structured pruning writes
//! smaller tensors that still classify; unstructured pruning, once or
//! gradually during fine-tuning, leaves the promised share of zeros (and says
//! it brings no speedup); iterative pruning reaches the planned widths in
//! rounds and reports kept heads by their original index; bad fractions are
//! usage errors that write nothing.

mod common;

use common::{hone, text, tiny_classifier, tiny_csv};
use hone::compress::SourceModel;
use hone::compress::prune::unstructured::measured_sparsity;

fn report(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("hone_prune.json")).unwrap()).unwrap()
}

#[test]
fn prune_structured_and_unstructured_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_classifier(tmp.path());
    let data = tiny_csv(tmp.path());
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();

    // Structured + one-shot unstructured, no fine-tuning.
    let once = tmp.path().join("once");
    let o = hone(&[
        "prune",
        "--model",
        &s(&model),
        "--data",
        &s(&data),
        "--heads",
        "0.5",
        "--ffn",
        "0.5",
        "--unstructured",
        "0.6",
        "--out",
        &s(&once),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("speedup: none"),
        "{}",
        text(&o.stdout)
    );
    let r = report(&once);
    assert_eq!(r["kept_ffn"], serde_json::json!([32, 32]));
    let measured = measured_sparsity(&SourceModel::open(&once).unwrap());
    assert!((measured - 0.6).abs() < 0.005, "{measured}");
    assert_eq!(r["unstructured"]["gradual"], false);
    let o = hone(&[
        "eval",
        "classify",
        "--model",
        &s(&once),
        "--data",
        &s(&data),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));

    // Gradual unstructured pruning while fine-tuning on the labels: the
    // pruned weights stay zero through the optimizer steps.
    let gradual = tmp.path().join("gradual");
    let o = hone(&[
        "prune",
        "--model",
        &s(&model),
        "--data",
        &s(&data),
        "--unstructured",
        "0.5",
        "--scope",
        "layer",
        "--finetune-epochs",
        "3",
        "--batch-size",
        "8",
        "--max-len",
        "32",
        "--out",
        &s(&gradual),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let r = report(&gradual);
    assert_eq!(r["unstructured"]["gradual"], true);
    let measured = measured_sparsity(&SourceModel::open(&gradual).unwrap());
    assert!((measured - 0.5).abs() < 0.005, "{measured}");
    assert_eq!(r["unstructured"]["measured"].as_f64().unwrap(), measured);
    assert!(!gradual.join("pruned-init").exists());
    assert!(gradual.join("metrics.json").is_file());

    // Fractions outside [0, 1) are usage errors, and nothing is written.
    for (flag, value) in [
        ("--heads", "1"),
        ("--ffn", "-0.1"),
        ("--unstructured", "1.0"),
    ] {
        let out = tmp.path().join("bad");
        let arg = format!("{flag}={value}");
        let o = hone(&[
            "prune",
            "--model",
            &s(&model),
            "--importance",
            "magnitude",
            &arg,
            "--out",
            &s(&out),
        ]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{flag} {value}: {}",
            text(&o.stderr)
        );
        assert!(text(&o.stderr).contains(flag), "{}", text(&o.stderr));
        assert!(!out.exists());
    }
}

#[test]
fn iterative_pruning_reaches_the_planned_widths_in_rounds() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_classifier(tmp.path());
    let data = tiny_csv(tmp.path());
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let out = tmp.path().join("rounds");
    let prune = |extra: &[&str], out: &std::path::Path| {
        let mut args = vec![
            "prune".to_string(),
            "--model".into(),
            s(&model),
            "--data".into(),
            s(&data),
            "--heads".into(),
            "0.5".into(),
            "--ffn".into(),
            "0.5".into(),
            "--max-len".into(),
            "32".into(),
            "--out".into(),
            s(out),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        hone(&args)
    };
    let o = prune(&["--iterations", "2", "--finetune-epochs", "1"], &out);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("round 2/2"), "{}", text(&o.stderr));
    let r = report(&out);
    // 64 → 48 → 32 neurons, 2 → 2 → 1 heads: the one-shot widths.
    assert_eq!(r["kept_ffn"], serde_json::json!([32, 32]));
    let heads = r["kept_heads"].as_array().unwrap();
    assert!(heads.iter().all(|l| l.as_array().unwrap().len() == 1));
    assert!(heads.iter().all(|l| l[0].as_u64().unwrap() < 2));
    assert_eq!(r["plan"]["heads"], 0.5);
    let original = SourceModel::open(&model).unwrap().parameters();
    assert_eq!(r["params_before"].as_u64().unwrap() as usize, original);
    let pruned = SourceModel::open(&out).unwrap();
    assert_eq!(
        r["params_after"].as_u64().unwrap() as usize,
        pruned.parameters()
    );
    assert_eq!(pruned.config.layer(1).intermediate_size, 32);
    assert!(!out.join("round-1").exists() && !out.join("pruned-init").exists());
    let o = hone(&["eval", "classify", "--model", &s(&out), "--data", &s(&data)]);
    assert!(o.status.success(), "{}", text(&o.stderr));

    // Rounds without fine-tuning between them are refused before any work.
    let bad = tmp.path().join("no-finetune");
    let o = prune(&["--iterations", "2"], &bad);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("--iterations"),
        "{}",
        text(&o.stderr)
    );
    assert!(!bad.exists());
}
