//! `hone eval` as a user runs it: every subcommand's numbers against the
//! reference tools (the cases of fixtures/metrics/golden.json, made by
//! sacrebleu 2.6.0, rouge-score 0.1.2, scikit-learn and statsmodels), its
//! `--json` keys and text output, and the one-line, exit-2 errors for bad
//! input files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hone::metrics::{BootstrapConfig, Mean, Rouge, RougeType, bootstrap_ci};
use serde_json::Value;

/// Absolute tolerance on each tool's own scale, as in hone-metrics' golden tests.
const TOL: f64 = 1e-6;

fn hone(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hone"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `hone ARGS --json`, checks success, and parses the single JSON object.
fn hone_json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = hone(&all);
    assert!(out.status.success(), "{all:?}: {}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(
        text.trim_end().lines().count(),
        1,
        "{all:?}: one JSON object on one line: {text}"
    );
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{all:?}: {e}: {text}"));
    assert!(v.is_object(), "{text}");
    v
}

/// Writes items one per line, with a final line break.
fn write_lines<S: AsRef<str>>(dir: &Path, name: &str, lines: &[S]) -> PathBuf {
    let mut text = String::new();
    for l in lines {
        text.push_str(l.as_ref());
        text.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn golden() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/metrics/golden.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

fn close(case: &str, what: &str, got: &Value, want: &Value) {
    let (g, w) = (
        got.as_f64()
            .unwrap_or_else(|| panic!("{case}: {what} = {got}")),
        want.as_f64().unwrap(),
    );
    assert!((g - w).abs() <= TOL, "{case}: {what} = {g}, reference {w}");
}

/// Items that fit in a line-per-item file (no line breaks inside).
fn one_line_each(texts: &[&String]) -> bool {
    texts.iter().all(|t| !t.contains('\n') && !t.contains('\r'))
}

/// Hypotheses and reference streams of a golden BLEU/chrF entry
/// (a shared corpus, one line of it, or inline texts).
fn entry_texts(g: &Value, e: &Value) -> (Vec<String>, Vec<Vec<String>>) {
    if let Some(corpus) = e.get("corpus").and_then(Value::as_str) {
        let c = &g["corpora"][corpus];
        let hyps = strs(&c["hyps"]);
        let refs: Vec<Vec<String>> = c["refs"].as_array().unwrap().iter().map(strs).collect();
        if let Some(i) = e.get("index").and_then(Value::as_u64) {
            let i = i as usize;
            return (
                vec![hyps[i].clone()],
                refs.iter().map(|r| vec![r[i].clone()]).collect(),
            );
        }
        let n = e["nrefs"].as_u64().unwrap() as usize;
        return (hyps, refs[..n].to_vec());
    }
    if e["mode"] == "sentence" {
        // Inline sentence case: one hypothesis string and a list of its references.
        let refs = strs(&e["refs"]).into_iter().map(|r| vec![r]).collect();
        return (vec![e["hyps"].as_str().unwrap().to_string()], refs);
    }
    (
        strs(&e["hyps"]),
        e["refs"].as_array().unwrap().iter().map(strs).collect(),
    )
}

/// Writes hypotheses and references and returns `--hyp H --ref R1 …`.
fn text_args(dir: &Path, hyps: &[String], refs: &[Vec<String>]) -> Vec<String> {
    let mut args = vec![
        "--hyp".to_string(),
        s(&write_lines(dir, "hyp.txt", hyps)).to_string(),
    ];
    for (k, r) in refs.iter().enumerate() {
        args.push("--ref".into());
        args.push(s(&write_lines(dir, &format!("ref{k}.txt"), r)).to_string());
    }
    args
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn set<'a>(k: &[&'a str]) -> BTreeSet<&'a str> {
    k.iter().copied().collect()
}

#[test]
fn bleu_matches_sacrebleu() {
    let g = golden();
    let mut checked = 0;
    for e in g["bleu"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap();
        let p = &e["params"];
        let sentence = e["mode"] == "sentence" || p["effective_order"] == true;
        let (hyps, refs) = entry_texts(&g, e);
        let all: Vec<&String> = hyps.iter().chain(refs.iter().flatten()).collect();
        // The CLI has no --max-ngram-order; effective order comes only with --sentence.
        if p.get("max_ngram_order").is_some()
            || (sentence && hyps.len() != 1)
            || !one_line_each(&all)
        {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["eval".to_string(), "bleu".into()];
        args.extend(text_args(dir.path(), &hyps, &refs));
        if let Some(t) = p.get("tokenize").and_then(Value::as_str) {
            args.extend(["--tokenize".into(), t.into()]);
        }
        if p["lowercase"] == true {
            args.push("--lowercase".into());
        }
        if let Some(m) = p.get("smooth_method").and_then(Value::as_str) {
            args.extend(["--smooth".into(), m.into()]);
        }
        if let Some(v) = p.get("smooth_value").and_then(Value::as_f64) {
            args.extend(["--smooth-value".into(), v.to_string()]);
        }
        if sentence {
            args.push("--sentence".into());
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = hone_json(&argv);
        let got = if sentence { &out["sentences"][0] } else { &out };
        let x = &e["expected"];
        assert_eq!(
            keys(got),
            set(&[
                "score",
                "counts",
                "totals",
                "precisions",
                "bp",
                "sys_len",
                "ref_len",
                "signature"
            ]),
            "{name}"
        );
        for k in ["score", "bp", "sys_len", "ref_len"] {
            close(name, k, &got[k], &x[k]);
        }
        assert_eq!(got["signature"], x["signature"], "{name}");
        // sacrebleu adds add-k's k to the counts and totals it reports; hone reports raw counts.
        if p["smooth_method"] != "add-k" {
            for k in ["counts", "totals", "precisions"] {
                for i in 0..4 {
                    close(name, k, &got[k][i], &x[k][i]);
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 90, "only {checked} BLEU cases ran");
}

#[test]
fn bleu_text_output_is_sacrebleus() {
    let g = golden();
    let c = &g["corpora"]["readme"];
    let dir = tempfile::tempdir().unwrap();
    let refs: Vec<Vec<String>> = c["refs"].as_array().unwrap().iter().map(strs).collect();
    let args = text_args(dir.path(), &strs(&c["hyps"]), &refs);
    let mut argv = vec!["eval", "bleu"];
    argv.extend(args.iter().map(String::as_str));
    let out = hone(&argv);
    assert!(out.status.success(), "{}", stderr(&out));
    // `sacrebleu ref0 ref1 -i hyp -m bleu -w 2` prints this score and verbose part.
    assert_eq!(
        stdout(&out),
        "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)\n\
         signature: nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0\n"
    );
    argv.push("--sentence");
    let out = hone(&argv);
    let text = stdout(&out);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("BLEU = ")).count(),
        3,
        "{text}"
    );
    assert!(
        text.ends_with("signature: nrefs:2|case:mixed|eff:yes|tok:13a|smooth:exp|version:2.6.0\n"),
        "{text}"
    );
}

#[test]
fn chrf_matches_sacrebleu() {
    let g = golden();
    let mut checked = 0;
    for e in g["chrf"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap();
        let p = &e["params"];
        let default = |k: &str, v: Value| p.get(k).is_none_or(|x| *x == v);
        // The CLI keeps sacrebleu's defaults for everything but word order and case.
        let cli_params = default("char_order", 6.into())
            && default("beta", 2.into())
            && default("eps_smoothing", false.into())
            && default("whitespace", false.into());
        let (hyps, refs) = entry_texts(&g, e);
        let all: Vec<&String> = hyps.iter().chain(refs.iter().flatten()).collect();
        if !cli_params || !one_line_each(&all) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["eval".to_string(), "chrf".into()];
        args.extend(text_args(dir.path(), &hyps, &refs));
        if let Some(w) = p.get("word_order").and_then(Value::as_u64) {
            args.extend(["--word-order".into(), w.to_string()]);
        }
        if p["lowercase"] == true {
            args.push("--lowercase".into());
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = hone_json(&argv);
        assert!(
            keys(&out).is_superset(&set(&["score", "signature"])),
            "{name}: {out}"
        );
        close(name, "score", &out["score"], &e["expected"]["score"]);
        assert_eq!(out["signature"], e["expected"]["signature"], "{name}");
        assert_eq!(out["name"], e["expected"]["name"], "{name}");
        checked += 1;
    }
    assert!(checked >= 35, "only {checked} chrF cases ran");
}

#[test]
fn chrf_text_output() {
    let dir = tempfile::tempdir().unwrap();
    let h = write_lines(dir.path(), "h.txt", &["The dog bit the man."]);
    let r = write_lines(dir.path(), "r.txt", &["The dog had bit the man."]);
    let out = hone(&[
        "eval",
        "chrf",
        "--hyp",
        s(&h),
        "--ref",
        s(&r),
        "--word-order",
        "2",
    ]);
    let text = stdout(&out);
    assert!(text.starts_with("chrF2++ = "), "{text}");
    assert!(
        text.contains("signature: nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.6.0"),
        "{text}"
    );
}

#[test]
fn rouge_matches_rouge_score() {
    let g = golden();
    let mut checked = 0;
    for e in g["rouge"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap();
        let targets = strs(&e["targets"]);
        let prediction = e["prediction"].as_str().unwrap().to_string();
        let all: Vec<&String> = targets.iter().chain([&prediction]).collect();
        if !one_line_each(&all) {
            continue; // ROUGE-Lsum's multi-sentence cases need line breaks inside an item
        }
        let dir = tempfile::tempdir().unwrap();
        let refs: Vec<Vec<String>> = targets.iter().map(|t| vec![t.clone()]).collect();
        let mut args = vec![
            "eval".to_string(),
            "rouge".into(),
            "--resamples".into(),
            "0".into(),
        ];
        args.extend(text_args(dir.path(), &[prediction], &refs));
        if e["use_stemmer"] == true {
            args.push("--stem".into());
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = hone_json(&argv);
        assert_eq!(
            keys(&out),
            set(&["rouge1", "rouge2", "rougeL", "rougeLsum"]),
            "{name}: --resamples 0 has no bootstrap"
        );
        for variant in ["rouge1", "rouge2", "rougeL", "rougeLsum"] {
            assert_eq!(
                keys(&out[variant]),
                set(&["precision", "recall", "fmeasure"]),
                "{name}"
            );
            for f in ["precision", "recall", "fmeasure"] {
                close(
                    name,
                    &format!("{variant}.{f}"),
                    &out[variant][f],
                    &e["expected"][variant][f],
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 95, "only {checked} ROUGE cases ran");
}

/// The single-target, unstemmed golden cases as one corpus, with their means.
fn rouge_corpus(g: &Value) -> (Vec<String>, Vec<String>, Vec<Value>) {
    let (mut hyps, mut refs, mut expected) = (Vec::new(), Vec::new(), Vec::new());
    for e in g["rouge"].as_array().unwrap() {
        let targets = strs(&e["targets"]);
        let prediction = e["prediction"].as_str().unwrap().to_string();
        if targets.len() == 1
            && e["use_stemmer"] == false
            && one_line_each(&[&targets[0], &prediction])
        {
            hyps.push(prediction);
            refs.push(targets[0].clone());
            expected.push(e["expected"].clone());
        }
    }
    (hyps, refs, expected)
}

#[test]
fn rouge_corpus_is_the_mean_with_intervals_beside_it() {
    let g = golden();
    let (hyps, refs, expected) = rouge_corpus(&g);
    assert!(hyps.len() >= 30);
    let dir = tempfile::tempdir().unwrap();
    let h = write_lines(dir.path(), "h.txt", &hyps);
    let r = write_lines(dir.path(), "r.txt", &refs);
    let out = hone_json(&[
        "eval",
        "rouge",
        "--hyp",
        s(&h),
        "--ref",
        s(&r),
        "--resamples",
        "200",
        "--seed",
        "7",
    ]);
    assert_eq!(
        keys(&out),
        set(&["rouge1", "rouge2", "rougeL", "rougeLsum", "bootstrap"])
    );
    let bs = &out["bootstrap"];
    assert_eq!(bs["n_resamples"], 200);
    assert_eq!(bs["seed"], 7);
    for variant in ["rouge1", "rouge2", "rougeL", "rougeLsum"] {
        for f in ["precision", "recall", "fmeasure"] {
            let mean = expected
                .iter()
                .map(|x| x[variant][f].as_f64().unwrap())
                .sum::<f64>()
                / expected.len() as f64;
            close(
                "corpus",
                &format!("{variant}.{f}"),
                &out[variant][f],
                &mean.into(),
            );
            let (lo, hi) = (
                bs[variant][f]["lower"].as_f64().unwrap(),
                bs[variant][f]["upper"].as_f64().unwrap(),
            );
            assert!(
                lo <= mean && mean <= hi && lo < hi,
                "{variant}.{f}: [{lo}, {hi}] around {mean}"
            );
        }
    }
    // The intervals are the library's percentile bootstrap of each series'
    // mean (one run per series, all with the same seed).
    let targets: Vec<Vec<&str>> = refs.iter().map(|r| vec![r.as_str()]).collect();
    let items = Rouge::default().item_scores(&targets, &hyps).unwrap();
    let cfg = BootstrapConfig {
        n_resamples: 200,
        seed: 7,
        ..BootstrapConfig::default()
    };
    for (variant, ty) in [
        ("rouge1", RougeType::Rouge1),
        ("rouge2", RougeType::Rouge2),
        ("rougeL", RougeType::RougeL),
        ("rougeLsum", RougeType::RougeLsum),
    ] {
        for f in ["precision", "recall", "fmeasure"] {
            let values: Vec<f64> = items
                .iter()
                .map(|s| {
                    let p = s.get(ty);
                    match f {
                        "precision" => p.precision,
                        "recall" => p.recall,
                        _ => p.fmeasure,
                    }
                })
                .collect();
            let ci = bootstrap_ci(&Mean, &values, &cfg).unwrap();
            for (bound, want) in [("lower", ci.lower), ("upper", ci.upper)] {
                let got = bs[variant][f][bound].as_f64().unwrap();
                assert!(
                    (got - want).abs() <= 1e-12,
                    "{variant}.{f} {bound}: {got} vs library {want}"
                );
            }
        }
    }
    // Same seed, same intervals.
    let again = hone_json(&[
        "eval",
        "rouge",
        "--hyp",
        s(&h),
        "--ref",
        s(&r),
        "--resamples",
        "200",
        "--seed",
        "7",
    ]);
    assert_eq!(out, again);
    let text = stdout(&hone(&["eval", "rouge", "--hyp", s(&h), "--ref", s(&r)]));
    for variant in ["rouge1", "rouge2", "rougeL", "rougeLsum"] {
        let row = text
            .lines()
            .find(|l| l.starts_with(variant) && l[variant.len()..].starts_with(' '))
            .unwrap_or_else(|| panic!("{text}"));
        let f = format!("{:.4}", out[variant]["fmeasure"].as_f64().unwrap());
        assert!(row.contains(&f) && row.contains('['), "{row}");
    }
}

#[test]
fn classify_matches_scikit_learn() {
    let g = golden();
    for e in g["classification"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap();
        let label = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
        let gold: Vec<String> = e["y_true"].as_array().unwrap().iter().map(label).collect();
        let pred: Vec<String> = e["y_pred"].as_array().unwrap().iter().map(label).collect();
        let dir = tempfile::tempdir().unwrap();
        let (gp, pp) = (
            write_lines(dir.path(), "gold.txt", &gold),
            write_lines(dir.path(), "pred.txt", &pred),
        );
        let out = hone_json(&["eval", "classify", "--gold", s(&gp), "--pred", s(&pp)]);
        assert!(
            keys(&out).is_superset(&set(&[
                "accuracy",
                "macro",
                "micro",
                "weighted",
                "per_class"
            ])),
            "{name}: {out}"
        );
        close(name, "accuracy", &out["accuracy"], &e["accuracy"]);
        close(name, "mcc", &out["mcc"], &e["mcc"]);
        let x = &e["beta_1.0"];
        for avg in ["macro", "micro", "weighted"] {
            assert_eq!(
                keys(&out[avg]),
                set(&["precision", "recall", "f1"]),
                "{name}"
            );
            close(
                name,
                &format!("{avg}.precision"),
                &out[avg]["precision"],
                &x[avg]["precision"],
            );
            close(
                name,
                &format!("{avg}.recall"),
                &out[avg]["recall"],
                &x[avg]["recall"],
            );
            close(
                name,
                &format!("{avg}.f1"),
                &out[avg]["f1"],
                &x[avg]["fscore"],
            );
        }
        // Labels are strings here, so integers sort differently: match rows by label.
        let labels: Vec<String> = e["labels"].as_array().unwrap().iter().map(label).collect();
        let rows = out["per_class"].as_array().unwrap();
        assert_eq!(rows.len(), labels.len(), "{name}");
        for (i, l) in labels.iter().enumerate() {
            let row = rows
                .iter()
                .find(|r| r["label"] == l.as_str())
                .unwrap_or_else(|| panic!("{name}: no row {l}"));
            close(
                name,
                "precision",
                &row["precision"],
                &x["per_class"]["precision"][i],
            );
            close(name, "recall", &row["recall"], &x["per_class"]["recall"][i]);
            close(name, "f1", &row["f1"], &x["per_class"]["fscore"][i]);
            assert_eq!(row["support"], x["per_class"]["support"][i], "{name}");
        }
    }
}

#[test]
fn classify_text_report() {
    let dir = tempfile::tempdir().unwrap();
    let gp = write_lines(
        dir.path(),
        "gold.txt",
        &["cat", "dog", "pig", "cat", "dog", "pig"],
    );
    let pp = write_lines(
        dir.path(),
        "pred.txt",
        &["cat", "pig", "dog", "cat", "cat", "dog"],
    );
    let out = hone(&["eval", "classify", "--gold", s(&gp), "--pred", s(&pp)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let words = |prefix: &str| -> Vec<String> {
        let line = text
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix}: {text}"));
        line.split_whitespace().map(str::to_string).collect()
    };
    // scikit-learn's classification_report(digits=4) rows.
    assert_eq!(words("cat"), ["cat", "0.6667", "1.0000", "0.8000", "2"]);
    assert_eq!(words("accuracy"), ["accuracy", "0.3333", "6"]);
    assert_eq!(
        words("macro avg"),
        ["macro", "avg", "0.2222", "0.3333", "0.2667", "6"]
    );
    assert_eq!(
        words("weighted avg"),
        ["weighted", "avg", "0.2222", "0.3333", "0.2667", "6"]
    );
}

#[test]
fn compare_text_metrics_scores_and_tests() {
    let g = golden();
    let c = &g["corpora"]["readme"];
    let refs: Vec<Vec<String>> = c["refs"].as_array().unwrap().iter().map(strs).collect();
    let dir = tempfile::tempdir().unwrap();
    let gold = write_lines(dir.path(), "gold.txt", &refs[0]);
    let a = write_lines(dir.path(), "a.txt", &strs(&c["hyps"]));
    let b = write_lines(dir.path(), "b.txt", &refs[1]);
    // `sacrebleu gold.txt -i a.txt b.txt -m bleu chrf`: A 45.0675…/50.0430…, B 22.9690…/39.0716….
    for (metric, score_a, score_b) in [
        ("bleu", 45.06750632106114, 22.96909781973857),
        ("chrf", 50.043063606582294, 39.07167392767413),
    ] {
        let args = [
            "eval",
            "compare",
            "--gold",
            s(&gold),
            "--a",
            s(&a),
            "--b",
            s(&b),
            "--metric",
            metric,
            "--seed",
            "3",
            "--resamples",
            "300",
            "--ar-trials",
            "500",
        ];
        let out = hone_json(&args);
        assert!(
            keys(&out).is_superset(&set(&[
                "a",
                "b",
                "difference",
                "paired_bootstrap",
                "approximate_randomization",
                "signature"
            ])),
            "{out}"
        );
        close(metric, "a.score", &out["a"]["score"], &score_a.into());
        close(metric, "b.score", &out["b"]["score"], &score_b.into());
        close(
            metric,
            "difference",
            &out["difference"],
            &(score_b - score_a).into(),
        );
        assert_eq!(out["paired_bootstrap"]["n_resamples"], 300);
        assert_eq!(out["approximate_randomization"]["n_trials"], 500);
        assert!(
            out["signature"]
                .as_str()
                .unwrap()
                .starts_with("nrefs:1|bs:300|ar:500|seed:3|"),
            "{out}"
        );
        for test in ["paired_bootstrap", "approximate_randomization"] {
            let p = out[test]["p_value"].as_f64().unwrap();
            assert!(p > 0.0 && p <= 1.0, "{test}: {p}");
        }
        for sys in ["a", "b"] {
            assert!(out[sys]["lower"].as_f64().unwrap() <= out[sys]["upper"].as_f64().unwrap());
        }
        // Seeded: the same run prints the same numbers.
        assert_eq!(out, hone_json(&args));
        let text = stdout(&hone(&args));
        assert!(
            text.contains("paired bootstrap: p = ")
                && text.contains("approximate randomization: p = "),
            "{text}"
        );
        assert!(
            text.contains(&format!("{score_a:.2}"))
                && text.contains(&format!("{:+.2}", score_b - score_a)),
            "{text}"
        );
    }
    // ROUGE-L: the score is the mean of rouge-score's per-item F. Against itself
    // a system differs by 0, which no trial exceeds: p = 1 / (trials + 1).
    let (hyps, targets, expected) = rouge_corpus(&g);
    let gold = write_lines(dir.path(), "rgold.txt", &targets);
    let a = write_lines(dir.path(), "ra.txt", &hyps);
    let out = hone_json(&[
        "eval",
        "compare",
        "--gold",
        s(&gold),
        "--a",
        s(&a),
        "--b",
        s(&a),
        "--metric",
        "rouge-l",
        "--resamples",
        "100",
        "--ar-trials",
        "99",
    ]);
    let mean = expected
        .iter()
        .map(|x| x["rougeL"]["fmeasure"].as_f64().unwrap())
        .sum::<f64>()
        / expected.len() as f64;
    close("rouge-l", "a.score", &out["a"]["score"], &mean.into());
    close("rouge-l", "b.score", &out["b"]["score"], &mean.into());
    close("rouge-l", "difference", &out["difference"], &0.0.into());
    close(
        "rouge-l",
        "p",
        &out["approximate_randomization"]["p_value"],
        &0.01.into(),
    );
}

#[test]
fn compare_classifiers_mcnemar_matches_statsmodels() {
    let g = golden();
    for e in g["mcnemar"].as_array().unwrap() {
        let (b, c) = (
            e["b"].as_u64().unwrap() as usize,
            e["c"].as_u64().unwrap() as usize,
        );
        // b items only A gets right, c only B, and 5 both get right.
        let n = b + c + 5;
        let gold = vec!["yes"; n];
        let mut a = vec!["yes"; n];
        let mut bb = vec!["yes"; n];
        bb[..b].fill("no");
        a[b..b + c].fill("no");
        let dir = tempfile::tempdir().unwrap();
        let (gp, ap, bp) = (
            write_lines(dir.path(), "g.txt", &gold),
            write_lines(dir.path(), "a.txt", &a),
            write_lines(dir.path(), "b.txt", &bb),
        );
        let out = hone_json(&[
            "eval",
            "compare",
            "--gold",
            s(&gp),
            "--a",
            s(&ap),
            "--b",
            s(&bp),
            "--metric",
            "accuracy",
            "--resamples",
            "50",
        ]);
        let mc = &out["mcnemar"];
        assert_eq!(
            (mc["b"].as_u64(), mc["c"].as_u64()),
            (Some(b as u64), Some(c as u64))
        );
        // statsmodels: exact binomial below 25 discordant items, corrected chi-square above.
        let case = format!("b={b} c={c}");
        if b + c < 25 {
            assert_eq!(mc["method"], "exact");
            close(&case, "p", &mc["p_value"], &e["exact_p"]);
        } else {
            assert_eq!(mc["method"], "chi2_corrected");
            close(&case, "p", &mc["p_value"], &e["chi2_p"]);
            close(&case, "statistic", &mc["statistic"], &e["chi2_stat"]);
        }
        close(
            &case,
            "a",
            &out["a"]["score"],
            &((n - c) as f64 / n as f64).into(),
        );
        close(
            &case,
            "b",
            &out["b"]["score"],
            &((n - b) as f64 / n as f64).into(),
        );
        assert!(out.get("approximate_randomization").is_none());
    }
}

#[test]
fn compare_classifiers_macro_f1() {
    let g = golden();
    let e = g["classification"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "strings")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gp = write_lines(dir.path(), "g.txt", &strs(&e["y_true"]));
    let ap = write_lines(dir.path(), "a.txt", &strs(&e["y_pred"]));
    let out = hone_json(&[
        "eval",
        "compare",
        "--gold",
        s(&gp),
        "--a",
        s(&ap),
        "--b",
        s(&gp),
        "--metric",
        "macro-f1",
        "--resamples",
        "100",
    ]);
    close(
        "strings",
        "a",
        &out["a"]["score"],
        &e["beta_1.0"]["macro"]["fscore"],
    );
    close("strings", "b", &out["b"]["score"], &1.0.into());
    assert!(out["paired_bootstrap"]["p_value"].as_f64().unwrap() <= 1.0);
    let text = stdout(&hone(&[
        "eval",
        "compare",
        "--gold",
        s(&gp),
        "--a",
        s(&ap),
        "--b",
        s(&gp),
        "--metric",
        "macro-f1",
        "--resamples",
        "100",
    ]));
    assert!(
        text.contains("McNemar (exact): only A right 0, only B right 4"),
        "{text}"
    );
}

/// Asserts a one-line `error: …` on stderr, exit code 2, and that it names each of `needles`.
fn assert_usage_error(args: &[&str], needles: &[&str]) {
    let out = hone(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("error: "), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: {err:?} should name {n:?}");
    }
    assert!(out.stdout.is_empty(), "{args:?}: {}", stdout(&out));
}

#[test]
fn bad_input_files_are_usage_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let three = write_lines(d, "three.txt", &["a b c", "d e", "f"]);
    let two = write_lines(d, "two.txt", &["a b c", "d e"]);
    let empty = d.join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let bad = d.join("latin1.txt");
    std::fs::write(&bad, b"fine\nalso fine\ncaf\xe9\n").unwrap();
    let missing = d.join("no-such-file.txt");
    let (three, two, empty, bad, missing) = (s(&three), s(&two), s(&empty), s(&bad), s(&missing));

    // Each subcommand with its file flags: (args before, args after) the file under test.
    let shapes: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["eval", "classify", "--gold", three, "--pred"], vec![]),
        (vec!["eval", "bleu", "--hyp", three, "--ref"], vec![]),
        (
            vec!["eval", "bleu", "--hyp", three, "--ref", three, "--ref"],
            vec![],
        ),
        (vec!["eval", "chrf", "--hyp", three, "--ref"], vec![]),
        (vec!["eval", "rouge", "--hyp", three, "--ref"], vec![]),
        (
            vec!["eval", "compare", "--gold", three, "--a", three, "--b"],
            vec![],
        ),
        (
            vec![
                "eval", "compare", "--gold", three, "--b", three, "--metric", "accuracy", "--a",
            ],
            vec![],
        ),
    ];
    for (before, after) in &shapes {
        let run = |file: &str, needles: &[&str]| {
            let args: Vec<&str> = before
                .iter()
                .copied()
                .chain([file])
                .chain(after.iter().copied())
                .collect();
            assert_usage_error(&args, needles);
        };
        run(two, &[three, "3", two, "2"]);
        run(empty, &[empty, "empty"]);
        run(bad, &[&format!("{bad}:3"), "UTF-8"]);
        run(missing, &[missing]);
    }
    // The file under test may come first, too.
    assert_usage_error(
        &["eval", "bleu", "--hyp", bad, "--ref", three],
        &[&format!("{bad}:3")],
    );
    assert_usage_error(
        &["eval", "rouge", "--hyp", missing, "--ref", three],
        &[missing],
    );
}

#[test]
fn classify_needs_gold_and_pred() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_lines(dir.path(), "labels.txt", &["a", "b"]);
    assert_usage_error(&["eval", "classify", "--gold", s(&f)], &["--pred"]);
    assert_usage_error(&["eval", "classify", "--pred", s(&f)], &["--gold"]);
    assert_usage_error(&["eval", "classify"], &["--gold", "--pred"]);
}

#[test]
fn bad_flag_values_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let f = s(&write_lines(dir.path(), "t.txt", &["a b c"])).to_string();
    let f = f.as_str();
    for args in [
        &[
            "eval",
            "bleu",
            "--hyp",
            f,
            "--ref",
            f,
            "--tokenize",
            "moses",
        ][..],
        &[
            "eval",
            "bleu",
            "--hyp",
            f,
            "--ref",
            f,
            "--smooth",
            "floor",
            "--smooth-value",
            "-1",
        ],
        &["eval", "chrf", "--hyp", f, "--ref", f, "--word-order", "3"],
        &[
            "eval", "compare", "--gold", f, "--a", f, "--b", f, "--metric", "ter",
        ],
        &[
            "eval",
            "compare",
            "--gold",
            f,
            "--a",
            f,
            "--b",
            f,
            "--resamples",
            "0",
        ],
        &["eval", "bleu", "--hyp", f],
    ] {
        assert_usage_error(args, &[]);
    }
}

#[test]
fn a_final_line_break_ends_the_last_item() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let with = d.join("with.txt");
    let without = d.join("without.txt");
    let crlf = d.join("crlf.txt");
    let blank = d.join("blank.txt");
    std::fs::write(&with, "the cat sat\non the mat\n").unwrap();
    std::fs::write(&without, "the cat sat\non the mat").unwrap();
    std::fs::write(&crlf, "the cat sat\r\non the mat\r\n").unwrap();
    std::fs::write(&blank, "the cat sat\non the mat\n\n").unwrap();
    let r = write_lines(d, "ref.txt", &["the cat sat down", "on a mat"]);
    let score = |h: &Path| hone_json(&["eval", "bleu", "--hyp", s(h), "--ref", s(&r)]);
    assert_eq!(score(&with), score(&without));
    assert_eq!(score(&with), score(&crlf));
    // A blank line at the end is an item of its own.
    assert_usage_error(
        &["eval", "bleu", "--hyp", s(&blank), "--ref", s(&r)],
        &[s(&blank), "3", "2"],
    );
    // A file of blank lines holds empty items (sacrebleu: BLEU 0 with sys_len 0).
    let g = golden();
    let e = g["bleu"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "readme_empty_hyps")
        .unwrap();
    let (hyps, refs) = entry_texts(&g, e);
    assert!(hyps.iter().all(String::is_empty));
    let mut args = vec!["eval".to_string(), "bleu".into()];
    args.extend(text_args(d, &hyps, &refs));
    let out = hone_json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    close(
        "empty hyps",
        "ref_len",
        &out["ref_len"],
        &e["expected"]["ref_len"],
    );
    assert_eq!(out["sys_len"], 0);
}

#[test]
fn help_lists_eval_subcommands() {
    let out = hone(&["eval", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    for sub in ["classify", "bleu", "chrf", "rouge", "compare"] {
        assert!(text.contains(sub), "{sub} missing: {text}");
    }
}
