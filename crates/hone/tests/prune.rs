//! `hone prune` end to end on a tiny classifier: structured pruning writes
//! smaller tensors that still classify; unstructured pruning, once or
//! gradually during fine-tuning, leaves the promised share of zeros (and says
//! it brings no speedup); bad fractions are usage errors that write nothing.

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
