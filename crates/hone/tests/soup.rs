//! `hone soup` end to end on classifiers fine-tuned from a tiny random
//! BERT: the soup folder holds the element-wise mean of its ingredients'
//! weights and works like any classifier folder; the greedy recipe never
//! ends below its best ingredient on validation; bad input is refused
//! before anything is written.

mod common;

use std::path::{Path, PathBuf};

use common::{hone, text, tiny_csv, tiny_model};
use hone::model::Checkpoint;

fn finetune(model: &Path, data: &Path, out: &Path, seed: &str, max_len: &str) {
    let out = hone(&[
        "finetune",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--epochs",
        "3",
        "--batch-size",
        "4",
        "--lr",
        "3e-3",
        "--max-len",
        max_len,
        "--head-init",
        "probe",
        // Keeps the test off the user's cache (the cache has its own test).
        "--no-probe-cache",
        "--seed",
        seed,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn soup_args<'a>(models: &'a [PathBuf], data: &'a Path, out: &'a Path) -> Vec<&'a str> {
    let mut args = vec!["soup"];
    for m in models {
        args.extend(["--model", m.to_str().unwrap()]);
    }
    args.extend([
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    args
}

/// Names of the entries of `dir` that start with `.soup-` (staging folders).
fn staging_left(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".soup-"))
        .collect()
}

#[test]
fn soups_average_the_weights_and_greedy_never_loses_validation_accuracy() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let data = tiny_csv(tmp.path());
    let seeds = ["1", "2", "3"];
    let models: Vec<PathBuf> = seeds
        .iter()
        .map(|s| tmp.path().join(format!("s{s}")))
        .collect();
    for (seed, out) in seeds.iter().zip(&models) {
        finetune(&model, &data, out, seed, "16");
    }

    // Uniform: every tensor is the mean of the three.
    let uniform = tmp.path().join("uniform");
    let out = hone(&soup_args(&models, &data, &uniform));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("soup of 3 / 3 models"),
        "{}",
        text(&out.stdout)
    );
    let soup = Checkpoint::open(&uniform.join("model.safetensors")).unwrap();
    let parts: Vec<Checkpoint> = models
        .iter()
        .map(|m| Checkpoint::open(&m.join("model.safetensors")).unwrap())
        .collect();
    assert_eq!(soup.names(), parts[0].names());
    let mut differing = 0;
    for name in soup.names() {
        let shape = soup.stored_shape(&name).unwrap();
        let mean = soup.head_tensor_f32(&name, &shape, "test").unwrap();
        let values: Vec<Vec<f32>> = parts
            .iter()
            .map(|p| p.head_tensor_f32(&name, &shape, "test").unwrap())
            .collect();
        for (i, &m) in mean.iter().enumerate() {
            let expected = values.iter().map(|v| f64::from(v[i])).sum::<f64>() / 3.0;
            assert!(
                (f64::from(m) - expected).abs() <= 1e-6 * expected.abs().max(1.0),
                "{name}[{i}]"
            );
        }
        differing += usize::from(values[0] != values[1]);
    }
    assert!(differing > 0, "the seeds trained different weights");
    for f in ["config.json", "tokenizer.json", "hone_classifier.json"] {
        assert_eq!(
            std::fs::read(uniform.join(f)).unwrap(),
            std::fs::read(models[0].join(f)).unwrap(),
            "{f}"
        );
    }
    let m = json(&uniform.join("metrics.json"));
    assert_eq!(m["recipe"], "uniform");
    let ingredients = m["ingredients"].as_array().unwrap();
    assert_eq!(ingredients.len(), 3);
    for (ing, dir) in ingredients.iter().zip(&models) {
        assert_eq!(ing["in_soup"], true);
        // An ingredient's own score is the one its fine-tuning wrote.
        assert_eq!(
            ing["test"],
            json(&dir.join("metrics.json"))["test"],
            "{ing}"
        );
    }
    // The soup folder is an ordinary classifier: eval agrees with metrics.json.
    let eval = hone(&[
        "eval",
        "classify",
        "--model",
        uniform.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--json",
    ]);
    assert!(eval.status.success(), "{}", text(&eval.stderr));
    let report: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    assert_eq!(report["accuracy"], m["test"]["accuracy"]);

    // Greedy: best-first, keeping only what does not lower validation accuracy.
    let greedy = tmp.path().join("greedy");
    let mut args = soup_args(&models, &data, &greedy);
    args.extend(["--recipe", "greedy", "--json"]);
    let out = hone(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let g: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(g, json(&greedy.join("metrics.json")));
    let steps = g["greedy_steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{g}");
    let val = |v: &serde_json::Value| v["validation"]["accuracy"].as_f64().unwrap();
    let best = g["ingredients"]
        .as_array()
        .unwrap()
        .iter()
        .map(val)
        .fold(0.0, f64::max);
    assert!(
        val(&g) >= best,
        "greedy soup {} < best ingredient {best}",
        val(&g)
    );
    let kept = steps.iter().filter(|s| s["kept"] == true).count();
    let in_soup = g["ingredients"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["in_soup"] == true)
        .count();
    assert_eq!(in_soup, kept + 1);
    assert!(staging_left(tmp.path()).is_empty());
}

#[test]
fn soups_refuse_bad_input_without_writing_anything() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let data = tiny_csv(tmp.path());
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let longer = tmp.path().join("longer");
    finetune(&model, &data, &a, "1", "16");
    finetune(&model, &data, &b, "2", "16");
    finetune(&model, &data, &longer, "3", "20");
    let out_dir = tmp.path().join("soup");
    let refused = |models: &[PathBuf], extra: &[&str], code: i32, says: &str| {
        let mut args = soup_args(models, &data, &out_dir);
        args.extend(extra);
        let out = hone(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{err}");
        assert!(err.contains(says), "expected {says:?} in: {err}");
        assert!(!out_dir.exists(), "{err}");
        assert!(staging_left(tmp.path()).is_empty(), "{err}");
    };
    refused(&[a.clone()], &[], 2, "two or more");
    refused(
        &[a.clone(), b.clone()],
        &["--recipe", "mean"],
        2,
        "uniform or greedy",
    );
    refused(
        &[a.clone(), longer.clone()],
        &[],
        1,
        "hone_classifier.json differs",
    );
    refused(
        &[a.clone(), model.clone()],
        &[],
        1,
        "not a fine-tuned classifier",
    );
    refused(&[a.clone(), tmp.path().join("absent")], &[], 1, "absent");

    // An existing, non-empty output folder is left as it was.
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::write(out_dir.join("keep.txt"), "mine").unwrap();
    let out = hone(&soup_args(&[a, b], &data, &out_dir));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not empty"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("keep.txt")).unwrap(),
        "mine"
    );
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 1);
}
