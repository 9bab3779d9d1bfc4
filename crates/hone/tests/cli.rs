//! The `hone` program as a user runs it: exit codes and one-line messages on
//! bad usage, `hone embed` output, `hone data` reporting skipped rows and
//! exporting its split.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn hone(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hone"))
        .args(args)
        .arg("--quiet")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bad_usage_exits_2_with_one_line() {
    for args in [
        &["frobnicate"][..],
        &["embed", "--no-such-flag"],
        &["--backend", "tpu", "embed"],
        &["embed", "--batch-size", "x"],
    ] {
        let out = hone(args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out).trim_end().lines().count(),
            1,
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).starts_with("error: "),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let out = hone(&["data"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--data"),
        "a missing flag is named: {}",
        stderr(&out)
    );
    let out = hone(&["fetch", "no-such-asset"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("minilm-l6"), "{}", stderr(&out));
}

#[test]
fn help_lists_subcommands() {
    let out = hone(&["--help"], "");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for sub in ["fetch", "embed", "similarity", "data", "--backend"] {
        assert!(text.contains(sub), "{sub} missing from --help: {text}");
    }
}

#[test]
fn embed_prints_one_unit_vector_per_line() {
    let out = hone(
        &["embed", "--model", "minilm-l6", "--json"],
        "A man is playing a guitar.\n\nSomeone plays the guitar.\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let vectors: Vec<Vec<f32>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(vectors.len(), 3);
    for v in &vectors {
        assert_eq!(v.len(), 384);
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
    }
    let sim = hone::embed::cosine(&vectors[0], &vectors[2]);
    assert!(sim > 0.6, "paraphrases should be close: {sim}");
    // Plain output has the same numbers, space-separated.
    let plain = hone(
        &["embed", "--model", "minilm-l6"],
        "A man is playing a guitar.\n",
    );
    let first: Vec<f32> = String::from_utf8(plain.stdout)
        .unwrap()
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    assert!(hone::embed::cosine(&first, &vectors[0]) > 0.99999);
}

#[test]
fn embed_errors_are_clear() {
    let out = hone(&["embed", "--model", "/no/such/folder"], "hi\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("/no/such/folder"), "{}", stderr(&out));
    let out = hone(&["embed", "--input", "/no/such/file.txt"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/no/such/file.txt"),
        "{}",
        stderr(&out)
    );
}

/// Writes a 20-row review table (alternating good/bad) plus one row without a
/// label, and returns its path.
fn write_reviews(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("reviews.csv");
    let mut rows = String::from("review,stars\n");
    for i in 0..20 {
        rows.push_str(&format!(
            "\"review \"\"number\"\" {i}, très {}\",{}\n",
            if i % 2 == 0 { "bien" } else { "mal" },
            if i % 2 == 0 { "good" } else { "bad" }
        ));
    }
    rows.push_str("no label here,\n");
    std::fs::write(&path, rows).unwrap();
    path
}

fn data_args(path: &std::path::Path) -> Vec<String> {
    ["data", "--data", path.to_str().unwrap()]
        .into_iter()
        .chain(["--text-col", "review", "--label-col", "stars"])
        .map(String::from)
        .collect()
}

#[test]
fn data_reports_skipped_rows_and_split() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_reviews(dir.path());
    let args = data_args(&path);
    let out = hone(&args.iter().map(String::as_str).collect::<Vec<_>>(), "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("reviews.csv:22: missing label"),
        "{}",
        stderr(&out)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("20 examples, 1 skipped"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["total", "20", "14", "2", "4"]),
        "{text}"
    );
}

#[test]
fn data_export_writes_the_split_it_reports() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_reviews(dir.path());
    let export = dir.path().join("split");
    let mut args = data_args(&path);
    args.extend(["--export".into(), export.to_str().unwrap().into()]);
    let out = hone(&args.iter().map(String::as_str).collect::<Vec<_>>(), "");
    assert!(out.status.success(), "{}", stderr(&out));

    let mut seen = std::collections::BTreeSet::new();
    for (part, size) in [("train", 14), ("validation", 2), ("test", 4)] {
        let body = std::fs::read_to_string(export.join(format!("{part}.jsonl"))).unwrap();
        let rows: Vec<serde_json::Value> = body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), size, "{part}");
        let mut good = 0;
        for (line, row) in rows.iter().enumerate() {
            assert_eq!(
                row["index"], line,
                "{part}: index is the position in the split"
            );
            let text = row["text"].as_str().unwrap();
            let label = row["label"].as_str().unwrap();
            // The label travels with its own text (CSV quoting and UTF-8 intact).
            let expected = if text.ends_with("bien") {
                "good"
            } else {
                "bad"
            };
            assert_eq!(label, expected, "{part}: {text}");
            assert!(text.starts_with("review \"number\" "), "{text}");
            good += usize::from(label == "good");
            assert!(seen.insert(text.to_string()), "{text} is in two parts");
        }
        assert_eq!(good * 2, size, "{part} is stratified");
    }
    assert_eq!(seen.len(), 20, "every example is exported once");
}

#[test]
fn data_export_into_a_file_fails_clearly_and_leaves_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_reviews(dir.path());
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, "keep me").unwrap();
    let mut args = data_args(&path);
    args.extend(["--export".into(), blocker.to_str().unwrap().into()]);
    let out = hone(&args.iter().map(String::as_str).collect::<Vec<_>>(), "");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot write the split to"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "keep me");
}

#[test]
fn closed_stdout_ends_quietly() {
    // `hone … | head -1`: the reader goes away after one line.
    let dir = tempfile::tempdir().unwrap();
    let (hyp, refs) = (dir.path().join("h.txt"), dir.path().join("r.txt"));
    std::fs::write(&hyp, "a b c\n".repeat(5000)).unwrap();
    std::fs::write(&refs, "a b d\n".repeat(5000)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hone"))
        .args([
            "eval",
            "bleu",
            "--sentence",
            "--hyp",
            hyp.to_str().unwrap(),
            "--ref",
            refs.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}
