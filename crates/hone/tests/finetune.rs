//! `hone finetune`, `hone predict` and `hone eval classify --model` end to
//! end on a tiny randomly initialised BERT (MiniLM's real tokenizer) and a
//! small CSV: the output folder is complete and usable, a run killed with
//! SIGKILL and resumed (weight average included) ends exactly like an
//! uninterrupted one, and bad input is a clear error.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{hone, hone_with_cache, text, tiny_csv, tiny_model};

fn finetune_args<'a>(model: &'a str, data: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "finetune",
        "--model",
        model,
        "--data",
        data,
        "--out",
        out,
        "--epochs",
        "15",
        "--batch-size",
        "4",
        "--lr",
        "3e-3",
        "--max-len",
        "16",
        "--seed",
        "9",
        "--checkpoint-every",
        "2",
        "--augment",
        "char_swap=0.05,word_dropout=0.1",
        // The weight average is part of what a resume must restore exactly.
        "--ema",
        "0.9",
        // Plain lines are not e-mails: the e-mail view keeps them as they
        // are, and the folder must record it for predict and eval.
        "--text-view",
        "email",
    ]
}

fn metrics(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap()
}

/// Training-loss entries of a run log (step, loss), in order.
fn losses(out: &Path) -> Vec<(u64, f64)> {
    std::fs::read_to_string(out.join("run.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"] == "train")
        .map(|v| (v["step"].as_u64().unwrap(), v["loss"].as_f64().unwrap()))
        .collect()
}

/// Starts `hone ARGS` and kills it with SIGKILL once it has written a
/// checkpoint of step `min_step` or later; returns that checkpoint's folder.
fn kill_after_checkpoint(args: &[&str], out: &Path, min_step: usize) -> PathBuf {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hone"))
        .args(args)
        .arg("--quiet")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let latest = out.join("checkpoints/LATEST");
    let step = || -> Option<usize> {
        let name = std::fs::read_to_string(&latest).ok()?;
        name.trim().strip_prefix("step-")?.parse().ok()
    };
    let started = Instant::now();
    while step().is_none_or(|s| s < min_step) {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "no checkpoint of step {min_step} or later appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    assert!(
        !out.join("metrics.json").exists(),
        "the run was killed before finishing"
    );
    out.join("checkpoints")
        .join(std::fs::read_to_string(&latest).unwrap().trim())
}

/// Resumes the killed run `args` (writing to `killed`) and checks it ends
/// exactly like the uninterrupted run in `full`: the same loss at every
/// step, the same kept model and scores, the same weights.
fn resume_and_compare(args: &[&str], killed: &Path, full: &Path) {
    let steps_before = losses(killed).len();
    let mut args = args.to_vec();
    args.push("--resume");
    let out = hone(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        losses(killed),
        losses(full),
        "same loss at every step (killed after {steps_before})"
    );
    let (a, b) = (metrics(full), metrics(killed));
    assert_eq!(a["best_step"], b["best_step"], "the same model kept");
    assert_eq!(a["test"], b["test"]);
    assert_eq!(a["validation"], b["validation"]);
    assert_eq!(
        std::fs::read(full.join("model.safetensors")).unwrap(),
        std::fs::read(killed.join("model.safetensors")).unwrap(),
        "identical weights"
    );
}

/// Resuming in a later epoch, after validations, with the settings of the
/// long-text LP-FT recipes: frozen bottom layers, texts read as windows (a
/// seeded window per epoch) and a linear-probe head. A BBC News run
/// resumed at step 100 of 196 this way once trained differently from its
/// uninterrupted twin from the first step after the checkpoint: the
/// uninterrupted loop reread epoch 0's batch order in every later epoch,
/// while the resumed one drew the order of the epoch it resumed in.
#[test]
fn resume_after_sigkill_matches_with_frozen_layers_windows_and_a_probe_head() {
    lpft_killed_and_resumed(&[], |_, _| {});
}

/// The same recipe training from the frozen bottom's cached activations
/// (`--cache-frozen`): the cache is rebuilt on resume, and the resumed run
/// ends exactly like the uninterrupted one. The record says the run used it.
#[test]
fn resume_after_sigkill_matches_with_cached_frozen_activations() {
    let full = lpft_killed_and_resumed(&["--cache-frozen"], |_, _| {});
    assert_eq!(full["config"]["cache_frozen"], true);
}

/// The same recipe with windows' features pooled (`--window-pooling
/// features`, cached frozen bottom): resume ends like the uninterrupted
/// run, the folder records the pooling, `hone eval classify` scores what
/// the run scored, and hone's CPU engine predicts what burn does.
#[test]
fn resume_after_sigkill_matches_with_pooled_window_features() {
    let extra = ["--window-pooling", "features", "--cache-frozen"];
    let full = lpft_killed_and_resumed(&extra, |dir, data| {
        let info: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("hone_classifier.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(info["window_pooling"], "features", "{info}");
        let eval = hone(&[
            "eval",
            "classify",
            "--model",
            dir.to_str().unwrap(),
            "--data",
            data,
            "--json",
        ]);
        assert!(eval.status.success(), "{}", text(&eval.stderr));
        let report: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
        assert_eq!(report["accuracy"], metrics(dir)["test"]["accuracy"]);
        let lines = [
            "the superb film was brilliant and the market was great too",
            "the market film",
        ];
        let input = dir.join("lines.txt");
        std::fs::write(&input, lines.join("\n") + "\n").unwrap();
        let burn = predict_proba(dir, &input, &[]);
        let fast = hone::fast::FastClassifier::load(dir)
            .unwrap()
            .predict_proba(&lines, 4)
            .unwrap();
        for (b, f) in burn.iter().zip(&fast) {
            for (x, y) in b.iter().zip(f) {
                // Printed to 4 decimals.
                assert!((x - f64::from(*y)).abs() <= 2e-4, "{b:?} vs {f:?}");
            }
        }
    });
    assert_eq!(full["config"]["window_pooling"], "features");
}

/// Runs [`lpft_args`] plus `extra` uninterrupted, then again killed with
/// SIGKILL in a later epoch and resumed, checks both end alike, hands
/// `inspect` the uninterrupted run's folder and the data's path, and
/// returns that run's `metrics.json`.
fn lpft_killed_and_resumed(extra: &[&str], inspect: impl FnOnce(&Path, &str)) -> serde_json::Value {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let data = tiny_csv(tmp.path());
    let (model, data) = (model.to_str().unwrap(), data.to_str().unwrap());
    let (full, killed) = (tmp.path().join("full"), tmp.path().join("killed"));
    let (full_dir, killed_dir) = (full.to_str().unwrap(), killed.to_str().unwrap());
    let out = hone(&[&lpft_args(model, data, full_dir)[..], extra].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let steps = losses(&full).len();
    assert!(
        steps > 40,
        "{steps} steps: too few to resume in a later epoch"
    );

    let args = [&lpft_args(model, data, killed_dir)[..], extra].concat();
    kill_after_checkpoint(&args, &killed, steps / 2);
    resume_and_compare(&args, &killed, &full);
    inspect(&full, data);
    metrics(&full)
}

/// [`finetune_args`]' counterpart for the long-text LP-FT settings.
fn lpft_args<'a>(model: &'a str, data: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "finetune",
        "--model",
        model,
        "--data",
        data,
        "--out",
        out,
        "--epochs",
        "4",
        "--batch-size",
        "4",
        "--lr",
        "3e-3",
        "--max-len",
        "8",
        "--windows",
        "2",
        "--freeze-below",
        "2",
        "--head-init",
        "probe",
        "--no-probe-cache",
        "--eval-every",
        "5",
        "--checkpoint-every",
        "3",
        "--seed",
        "5",
    ]
}

#[test]
fn finetune_writes_a_usable_model_folder_and_resume_after_sigkill_matches() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let data = tiny_csv(tmp.path());
    let (model, data) = (model.to_str().unwrap(), data.to_str().unwrap());

    // The uninterrupted run.
    let full = tmp.path().join("full");
    let out = hone(&finetune_args(model, data, full.to_str().unwrap()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    for f in [
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "hone_classifier.json",
        "run.jsonl",
        "curves.svg",
        "metrics.json",
    ] {
        assert!(full.join(f).is_file(), "{f} missing");
    }
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(full.join("hone_classifier.json")).unwrap())
            .unwrap();
    assert_eq!(info["text_view"], "email", "{info}");
    let m = metrics(&full);
    for split in ["test", "validation"] {
        for key in ["accuracy", "macro_f1"] {
            let v = m[split][key].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{split}.{key} = {v}");
        }
    }
    assert!(m["test"]["accuracy"].as_f64().unwrap() >= 0.75, "{m}");

    // The saved folder predicts and evaluates.
    let predict = Command::new(env!("CARGO_BIN_EXE_hone"))
        .args(["--quiet", "predict", "--model", full.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    predict
        .stdin
        .as_ref()
        .unwrap()
        .write_all(b"the superb film, brilliant too\nthe market film, bank too\n")
        .unwrap();
    let predicted = predict.wait_with_output().unwrap();
    assert!(predicted.status.success());
    let labels: Vec<String> = text(&predicted.stdout).lines().map(String::from).collect();
    assert_eq!(labels, ["pos", "biz"]);
    windows_average_the_probabilities_of_their_pieces(&full);
    // `hone eval classify --model FULL --data DATA EXTRA…`
    let eval_classify = |data: &str, extra: &[&str]| {
        let mut args = vec![
            "eval",
            "classify",
            "--model",
            full.to_str().unwrap(),
            "--data",
            data,
        ];
        args.extend_from_slice(extra);
        hone(&args)
    };
    let predictions = tmp.path().join("predictions.jsonl");
    let eval = eval_classify(
        data,
        &["--json", "--predictions", predictions.to_str().unwrap()],
    );
    assert!(eval.status.success(), "{}", text(&eval.stderr));
    let report: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    assert_eq!(
        report["accuracy"], m["test"]["accuracy"],
        "eval classify = metrics.json test"
    );
    predictions_agree_with_the_report(&predictions, &report);
    // A predictions file that cannot be written (its folder would be a
    // file) is an error that says so, and the file in the way is untouched.
    let blocker = tmp.path().join("blocker");
    std::fs::write(&blocker, "kept").unwrap();
    let unwritable = blocker.join("p.jsonl");
    let eval = eval_classify(data, &["--predictions", unwritable.to_str().unwrap()]);
    assert_eq!(eval.status.code(), Some(1));
    assert!(
        text(&eval.stderr).contains("predictions"),
        "{}",
        text(&eval.stderr)
    );
    assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "kept");
    // A data set with a label the model never saw is refused, naming it.
    let mut other = std::fs::read_to_string(data).unwrap();
    for i in 0..6 {
        other.push_str(&format!("\"a lone example {i}\",unknown\n"));
    }
    let other_path = tmp.path().join("other.csv");
    std::fs::write(&other_path, other).unwrap();
    let eval = eval_classify(other_path.to_str().unwrap(), &[]);
    assert_eq!(eval.status.code(), Some(1));
    assert!(
        text(&eval.stderr).contains("\"unknown\""),
        "{}",
        text(&eval.stderr)
    );

    // The same run, killed with SIGKILL once a checkpoint exists, then resumed.
    let killed = tmp.path().join("killed");
    let args = finetune_args(model, data, killed.to_str().unwrap());
    // Killed in its second of 15 epochs, so the resumed run must also
    // draw the batch order and augmentations of an epoch it did not start.
    let steps = losses(&full).len();
    let checkpoint = kill_after_checkpoint(&args, &killed, steps / 15 + 1);
    assert!(
        checkpoint.join("average.bin").is_file(),
        "the checkpoint holds the weight average"
    );
    resume_and_compare(&args, &killed, &full);

    // A probe head on a trained classifier would throw its head away.
    let on_classifier = tmp.path().join("probe-on-classifier");
    let out = hone(&[
        "finetune",
        "--model",
        full.to_str().unwrap(),
        "--data",
        data,
        "--out",
        on_classifier.to_str().unwrap(),
        "--head-init",
        "probe",
        "--epochs",
        "1",
        "--max-len",
        "16",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("trained classifier"),
        "{}",
        text(&out.stderr)
    );
    assert!(!on_classifier.join("metrics.json").exists());

    // Resuming with other settings is refused.
    let mut args = finetune_args(model, data, killed.to_str().unwrap());
    args.extend(["--resume", "--weight-decay", "0.1"]);
    let out = hone(&args);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("different training settings"),
        "{}",
        text(&out.stderr)
    );
}

/// `hone predict --proba` of each line of `input`, as probability rows.
fn predict_proba(model: &Path, input: &Path, extra: &[&str]) -> Vec<Vec<f64>> {
    let mut args = vec![
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--proba",
    ];
    args.extend(extra);
    let out = hone(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| {
            let (_, probs) = l.split_once('\t').unwrap();
            probs.split(' ').map(|p| p.parse().unwrap()).collect()
        })
        .collect()
}

/// Each of these words is one MiniLM token, so 14 of them fill a window
/// at `--max-len 16`: a 28-word line of 14 "pos" words then 14 "biz" words
/// is two windows, and its probabilities at `--windows 2` are the mean of
/// the two halves' probabilities.
fn windows_average_the_probabilities_of_their_pieces(model: &Path) {
    let words = |ws: [&str; 7]| [ws, ws].concat().join(" ");
    let pos = words([
        "wonderful",
        "great",
        "superb",
        "delightful",
        "moving",
        "brilliant",
        "great",
    ]);
    let biz = words([
        "budget", "market", "shares", "economy", "profit", "bank", "market",
    ]);
    let dir = model.parent().unwrap();
    let whole = dir.join("whole.txt");
    std::fs::write(&whole, format!("{pos} {biz}\n")).unwrap();
    let pieces = dir.join("pieces.txt");
    std::fs::write(&pieces, format!("{pos}\n{biz}\n")).unwrap();
    let parts = predict_proba(model, &pieces, &[]);
    let one = predict_proba(model, &whole, &[]);
    let two = predict_proba(model, &whole, &["--windows", "2"]);
    let many = predict_proba(model, &whole, &["--windows", "9"]);
    assert_eq!(one[0], parts[0], "one window is the head");
    assert!(
        parts[0][2] > 0.5 && parts[1][0] > 0.5,
        "the halves are read as pos and biz: {parts:?}"
    );
    for (k, p) in two[0].iter().enumerate() {
        let mean = (parts[0][k] + parts[1][k]) / 2.0;
        // Printed to 4 decimals: rounding moves the mean by up to 1e-4.
        assert!((p - mean).abs() <= 2e-4, "class {k}: {p} vs mean {mean}");
    }
    assert_eq!(
        many, two,
        "a 28-token text has two windows however many are allowed"
    );
    let zero = hone(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        whole.to_str().unwrap(),
        "--windows",
        "0",
    ]);
    assert_eq!(zero.status.code(), Some(2), "{}", text(&zero.stderr));
}

#[test]
fn bad_input_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let model = model.to_str().unwrap();
    let out_dir = tmp.path().join("out");
    let out_dir = out_dir.to_str().unwrap();
    let run = |data: &Path, extra: &[&str]| {
        let mut args = vec![
            "finetune",
            "--model",
            model,
            "--data",
            data.to_str().unwrap(),
            "--out",
            out_dir,
        ];
        args.extend(extra);
        hone(&args)
    };
    let expect = |out: Output, needle: &str| {
        assert_ne!(out.status.code(), Some(0));
        let err = text(&out.stderr);
        assert!(err.contains(needle), "expected {needle:?} in: {err}");
    };
    let csv = tiny_csv(tmp.path());
    expect(run(&csv, &["--label-col", "category"]), "category");
    expect(run(&csv, &["--max-len", "128"]), "64 positions");

    let empty = tmp.path().join("empty.csv");
    std::fs::write(&empty, "text,label\n").unwrap();
    expect(run(&empty, &[]), "no usable rows");

    expect(run(&csv, &["--precision", "f8"]), "precision");
    expect(run(&csv, &["--head-init", "lp"]), "head init");
    expect(run(&csv, &["--train-windows", "some"]), "training windows");
    expect(
        run(&csv, &["--train-windows", "all"]),
        "--windows N above 1",
    );
    expect(run(&csv, &["--window-pooling", "max"]), "window pooling");
    expect(
        run(&csv, &["--window-pooling", "features"]),
        "--windows N above 1",
    );
    let pooled_every = [
        "--window-pooling",
        "features",
        "--windows",
        "2",
        "--train-windows",
        "all",
        "--max-len",
        "16",
    ];
    expect(run(&csv, &pooled_every), "contradicts");
    expect(run(&csv, &["--augment", "synonyms=0.1"]), "synonyms");
    let cache = ["--cache-frozen", "--max-len", "16"];
    expect(run(&csv, &cache), "--freeze-below K");
    let augmented = ["--freeze-below", "2", "--augment", "word_dropout=0.1"];
    expect(
        run(&csv, &[&cache[..], &augmented].concat()),
        "augmentation",
    );
    expect(run(&csv, &["--schedule", "cosine-restarts:0"]), "period");
    // The default backend (ndarray) has no half precision.
    expect(
        run(
            &csv,
            &["--precision", "bf16", "--epochs", "1", "--max-len", "16"],
        ),
        "flex",
    );
    assert!(
        !Path::new(out_dir).join("metrics.json").exists(),
        "nothing written on error"
    );
}

#[test]
fn a_probe_head_init_records_its_fit_and_a_second_seed_reuses_its_features() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let data = tiny_csv(tmp.path());
    let cache = tmp.path().join("cache");
    let run = |name: &str, seed: &str, extra: &[&str]| {
        let out_dir = tmp.path().join(name);
        let mut args = vec![
            "finetune",
            "--model",
            model.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--head-init",
            "probe",
            "--epochs",
            "2",
            "--batch-size",
            "4",
            "--max-len",
            "16",
            "--seed",
            seed,
        ];
        args.extend_from_slice(extra);
        let out = hone_with_cache(&cache, &args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let probe: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out_dir.join("head_probe.json")).unwrap(),
        )
        .unwrap();
        (probe, metrics(&out_dir))
    };
    let (first, metrics_first) = run("probe-s1", "1", &[]);
    let train_accuracy = first["train_accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&train_accuracy), "{first}");
    assert!(first["gradient"].as_f64().unwrap() < 1e-6, "{first}");
    assert_eq!(first["features_from_cache"], false);
    assert_eq!(metrics_first["config"]["head_init"], "probe");
    let cached = std::fs::read_dir(cache.join("probe-features"))
        .unwrap()
        .count();
    assert_eq!(cached, 1, "one feature file for the one encoder and data");

    // Another seed reads the features back and fits the same head.
    let (second, _) = run("probe-s2", "2", &[]);
    assert_eq!(second["features_from_cache"], true);
    for key in ["train_accuracy", "iterations", "gradient"] {
        assert_eq!(second[key], first[key], "{key}");
    }
    // The same seed without the cache ends exactly where the first run did.
    let (again, metrics_again) = run("probe-s1-again", "1", &["--no-probe-cache"]);
    assert_eq!(again["features_from_cache"], false);
    assert_eq!(metrics_again["test"], metrics_first["test"]);
    assert_eq!(metrics_again["validation"], metrics_first["validation"]);
}

#[test]
fn auto_batch_size_measures_sizes_and_accumulates_to_the_effective_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let data = tiny_csv(tmp.path());
    let out_dir = tmp.path().join("auto");
    let args = |budget: &'static str| {
        vec![
            "finetune".to_string(),
            "--model".into(),
            model.to_str().unwrap().into(),
            "--data".into(),
            data.to_str().unwrap().into(),
            "--out".into(),
            out_dir.to_str().unwrap().into(),
            "--epochs".into(),
            "1".into(),
            "--max-len".into(),
            "16".into(),
            "--batch-size".into(),
            "auto".into(),
            "--effective-batch".into(),
            "16".into(),
            "--memory-budget".into(),
            budget.into(),
        ]
    };
    let run = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        hone(&a)
    };
    let out = run(args("64GiB"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let m = metrics(&out_dir);
    let probes = m["batch_probes"]["probes"].as_array().unwrap();
    let sizes: Vec<u64> = probes
        .iter()
        .map(|p| p["batch_size"].as_u64().unwrap())
        .collect();
    assert_eq!(
        sizes,
        [1, 2, 4, 8, 16],
        "all sizes up to the effective batch are probed"
    );
    assert!(
        probes
            .iter()
            .all(|p| p["tokens_per_s"].as_f64().unwrap() > 0.0)
    );
    let train = &m["config"]["train"];
    assert_eq!(
        train["batch_size"], 16,
        "everything fits in 64 GiB: the largest wins"
    );
    assert_eq!(train["accumulation"], 1);
    // A budget below what the process already uses fits nothing.
    let out = run(args("1MiB"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("memory budget"),
        "{}",
        text(&out.stderr)
    );
}

/// `eval classify --predictions` holds one record per test example whose
/// prediction is the most probable label, and its correct records give the
/// report's accuracy.
fn predictions_agree_with_the_report(path: &Path, report: &serde_json::Value) {
    let records: Vec<serde_json::Value> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len() as u64, report["support"].as_u64().unwrap());
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r["index"], i);
        let probs = r["probabilities"].as_object().unwrap();
        let sum: f64 = probs.values().map(|p| p.as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-4, "{r}");
        let best = probs
            .iter()
            .max_by(|a, b| a.1.as_f64().partial_cmp(&b.1.as_f64()).unwrap())
            .unwrap()
            .0;
        assert_eq!(r["predicted"], best.as_str(), "{r}");
        assert_eq!(r["correct"], r["predicted"] == r["gold"], "{r}");
        assert!(!r["text"].as_str().unwrap().is_empty());
    }
    let correct = records.iter().filter(|r| r["correct"] == true).count();
    let accuracy = correct as f64 / records.len() as f64;
    assert!((accuracy - report["accuracy"].as_f64().unwrap()).abs() < 1e-12);
}
