//! `hone optimize --quick` end to end on a tiny random BERT (MiniLM's real
//! tokenizer) and a tiny labelled table: every stage folder is written, the
//! report measures each stage in the same run (smaller, and int8 smallest),
//! a second run reuses the finished stages, and bad input is a clear error.

mod common;

use common::{hone, text, tiny_csv, tiny_model};

#[test]
fn optimize_quick_runs_every_stage_and_reports_them() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let data = tiny_csv(tmp.path());
    let out = tmp.path().join("opt");
    let args = [
        "optimize",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quick",
        "--student-layers",
        "1",
        "--max-len",
        "32",
    ];
    let o = hone(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    for stage in ["1-teacher", "2-distilled", "3-pruned", "4-int8"] {
        assert!(out.join(stage).is_dir(), "{stage} missing");
    }
    for file in ["report.md", "report.json", "tradeoff.svg"] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let stages = report["stages"].as_array().unwrap();
    let names: Vec<&str> = stages
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "teacher",
            "distilled (1 layers)",
            "pruned + fine-tuned",
            "int8"
        ]
    );
    let num = |i: usize, key: &str| stages[i][key].as_f64().unwrap();
    // Each stage is smaller than the one before; int8 stores a quarter.
    for i in 1..4 {
        assert!(
            num(i, "bytes_on_disk") < num(i - 1, "bytes_on_disk"),
            "stage {i} is not smaller"
        );
    }
    assert!(num(1, "parameters") < num(0, "parameters"));
    assert!(num(2, "parameters") < num(1, "parameters"));
    assert_eq!(num(3, "parameters"), num(2, "parameters"));
    assert!((num(0, "speedup_b32") - 1.0).abs() < 1e-12);
    for s in stages {
        let acc = s["accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc));
        assert!(s["latency_b1_ms"].as_f64().unwrap() > 0.0);
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| int8 |"), "{md}");
    // The pruned folder really has fewer heads and neurons.
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("3-pruned/config.json")).unwrap()).unwrap();
    assert_eq!(config["num_hidden_layers"], 1);
    assert_eq!(config["hone_layer_shapes"][0]["heads"], 1);
    assert_eq!(config["hone_layer_shapes"][0]["intermediate_size"], 32);

    // A second run reuses every finished stage: nothing is trained again.
    let before = std::fs::metadata(out.join("2-distilled/model.safetensors"))
        .unwrap()
        .modified()
        .unwrap();
    let o = hone(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let after = std::fs::metadata(out.join("2-distilled/model.safetensors"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
    // Other settings into the same folder would mix models: refused.
    let mut other = args.to_vec();
    other.extend_from_slice(&["--heads", "0.25"]);
    let o = hone(&other);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("other settings"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn optimize_bad_input_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let data = tiny_csv(tmp.path());
    let run = |extra: &[&str]| {
        let out = tmp.path().join("bad");
        let mut args = vec![
            "optimize",
            "--model",
            model.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--max-len",
            "32",
        ];
        args.extend_from_slice(extra);
        hone(&args)
    };
    let o = run(&["--heads", "1.0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--heads"), "{}", text(&o.stderr));
    let o = run(&["--steps", "distill,squash"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("squash"));
    let o = run(&["--steps", "distill"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("--teacher"), "{}", text(&o.stderr));
    // A teacher that knows other labels than the data's.
    let other = tmp.path().join("other.csv");
    let rows: String = (0..30)
        .map(|i| format!("word{i} here,x\nother{i} there,y\n"))
        .collect();
    std::fs::write(&other, format!("text,label\n{rows}")).unwrap();
    let teacher = tmp.path().join("xy-teacher");
    let o = hone(&[
        "finetune",
        "--model",
        model.to_str().unwrap(),
        "--data",
        other.to_str().unwrap(),
        "--epochs",
        "1",
        "--max-len",
        "32",
        "--out",
        teacher.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = run(&[
        "--teacher",
        teacher.to_str().unwrap(),
        "--steps",
        "distill",
        "--student-layers",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.contains("labels") && err.contains("\"x\""), "{err}");
}
