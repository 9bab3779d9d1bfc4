//! `hone quantize`, `hone bench` and `hone embed` on a quantized folder, end
//! to end on a tiny random BERT with MiniLM's tokenizer: each scheme writes a
//! folder that reloads and embeds close to f32, the bench prints its table,
//! and bad usage is a clear error (exit 2) that writes nothing.

mod common;

use common::{hone, text, tiny_model};

fn vectors(out: &[u8]) -> Vec<Vec<f32>> {
    text(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>()
        / (a.iter().map(|x| x * x).sum::<f32>().sqrt()
            * b.iter().map(|x| x * x).sum::<f32>().sqrt())
}

#[test]
fn quantized_folders_embed_close_to_f32_and_bench() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let model = model.to_str().unwrap();
    let input = tmp.path().join("in.txt");
    std::fs::write(
        &input,
        "a gorgeous, witty film\nthe market fell sharply today\nok\n",
    )
    .unwrap();
    let input = input.to_str().unwrap();
    let f32_out = hone(&["embed", "--model", model, "--input", input, "--json"]);
    assert!(f32_out.status.success(), "{}", text(&f32_out.stderr));
    let reference = vectors(&f32_out.stdout);

    for (scheme, floor) in [("int8-dynamic", 0.99), ("int4-weight", 0.95)] {
        let out_dir = tmp.path().join(scheme);
        let q = hone(&[
            "quantize",
            "--model",
            model,
            "--scheme",
            scheme,
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        assert!(q.status.success(), "{scheme}: {}", text(&q.stderr));
        assert!(
            text(&q.stdout).contains("% of the f32 file"),
            "{}",
            text(&q.stdout)
        );
        let e = hone(&[
            "embed",
            "--model",
            out_dir.to_str().unwrap(),
            "--input",
            input,
            "--json",
        ]);
        assert!(e.status.success(), "{scheme}: {}", text(&e.stderr));
        for (a, b) in reference.iter().zip(vectors(&e.stdout)) {
            assert!(cosine(a, &b) > floor, "{scheme}: cosine {}", cosine(a, &b));
        }
    }
    // int8-dynamic smooths the layers reading LayerNorm outputs by default,
    // measured on random vocabulary words, and says so in its record.
    let record = std::fs::read_to_string(tmp.path().join("int8-dynamic/hone_quant.json")).unwrap();
    let record: serde_json::Value = serde_json::from_str(&record).unwrap();
    assert_eq!(record["smoothing"]["alpha"], 0.5, "{record}");
    assert!(
        record["smoothing"]["data"]
            .as_str()
            .unwrap()
            .contains("random vocabulary words"),
        "{record}"
    );
    let smoothed: Vec<&str> = record["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["smoothed"] == true)
        .map(|l| l["role"].as_str().unwrap())
        .collect();
    assert_eq!(smoothed, ["qkv", "ffn-in", "qkv", "ffn-in"], "{record}");

    let static_dir = tmp.path().join("static");
    let csv = tmp.path().join("calib.csv");
    let rows: String = (0..40)
        .map(|i| format!("sentence number {i} about films,{}\n", i % 2))
        .collect();
    std::fs::write(&csv, format!("text,label\n{rows}")).unwrap();
    let s = hone(&[
        "quantize",
        "--model",
        model,
        "--scheme",
        "int8-static",
        "--calib-data",
        csv.to_str().unwrap(),
        "--calib-method",
        "mse",
        "--out",
        static_dir.to_str().unwrap(),
    ]);
    assert!(s.status.success(), "{}", text(&s.stderr));
    let record = std::fs::read_to_string(static_dir.join("hone_quant.json")).unwrap();
    assert!(
        record.contains("\"activation_scale\"") && record.contains("\"mse\""),
        "{record}"
    );

    let b = hone(&[
        "bench", "--model", model, "--batch", "1,2", "--seq", "16", "--runs", "1",
    ]);
    assert!(b.status.success(), "{}", text(&b.stderr));
    let table = text(&b.stdout);
    for row in [
        "burn ",
        "hone engine f32",
        "hone engine int8-dynamic",
        "hone engine int4-weight",
    ] {
        assert!(table.contains(row), "{row} missing from\n{table}");
    }
    let saved = hone(&[
        "bench",
        "--model",
        static_dir.to_str().unwrap(),
        "--batch",
        "1",
        "--seq",
        "8",
        "--runs",
        "1",
        "--json",
    ]);
    assert!(saved.status.success(), "{}", text(&saved.stderr));
    assert!(
        text(&saved.stdout).contains("int8-static (saved)"),
        "{}",
        text(&saved.stdout)
    );
}

#[test]
fn bad_usage_is_refused_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let model = model.to_str().unwrap();
    let out = tmp.path().join("q");
    let out_s = out.to_str().unwrap();
    for (args, needle) in [
        (vec!["--scheme", "int3"], "unknown scheme"),
        (vec!["--scheme", "int8-static"], "needs --calib-data"),
        (
            vec!["--scheme", "int4-weight", "--group", "48"],
            "32, 64 or 128",
        ),
        (
            vec!["--scheme", "int8-dynamic", "--keep-f32", "0:attention"],
            "role must be",
        ),
        (
            vec![
                "--scheme",
                "int8-static",
                "--calib-data",
                "pang-lee",
                "--calib-method",
                "best",
            ],
            "unknown calibration method",
        ),
        (
            vec![
                "--scheme",
                "int8-dynamic",
                "--fallback-budget",
                "0.5",
                "--fallback-data",
                "pang-lee",
            ],
            "scores a fine-tuned classifier",
        ),
        (
            vec![
                "--scheme",
                "int8-dynamic",
                "--fallback-budget",
                "150",
                "--fallback-data",
                "pang-lee",
            ],
            "[0, 100)",
        ),
        (
            vec!["--scheme", "int8-dynamic", "--fallback-budget", "0.5"],
            "needs --fallback-data",
        ),
        (
            vec![
                "--scheme",
                "int8-dynamic",
                "--no-smooth",
                "--smooth-alpha",
                "0.5",
            ],
            "contradict",
        ),
        (
            vec!["--scheme", "int4-weight", "--no-smooth"],
            "smoothing is for int8-dynamic",
        ),
        (
            vec!["--scheme", "int8-dynamic", "--smooth-alpha", "1.5"],
            "must be in [0, 1]",
        ),
        (
            vec!["--scheme", "int8-dynamic", "--calib-samples", "0"],
            "at least 1",
        ),
    ] {
        let mut full = vec!["quantize", "--model", model, "--out", out_s];
        full.extend(args);
        let r = hone(&full);
        assert_eq!(r.status.code(), Some(2), "{full:?}: {}", text(&r.stderr));
        assert!(
            text(&r.stderr).contains(needle),
            "{full:?}: {}",
            text(&r.stderr)
        );
        assert!(!out.exists(), "{full:?} wrote {}", out.display());
    }
    let ok = hone(&[
        "quantize",
        "--model",
        model,
        "--scheme",
        "int8-dynamic",
        "--out",
        out_s,
    ]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let again = hone(&[
        "quantize",
        "--model",
        out_s,
        "--scheme",
        "int8-dynamic",
        "--out",
        tmp.path().join("q2").to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("already quantized"),
        "{}",
        text(&again.stderr)
    );
    let burn_on_quantized = hone(&["bench", "--model", out_s, "--paths", "burn"]);
    assert_eq!(burn_on_quantized.status.code(), Some(2));
    // A truncated weights file is a run failure naming the file.
    let weights = out.join("model.quant.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 3]).unwrap();
    let broken = hone(&["embed", "--model", out_s, "--input", "/dev/null"]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        text(&broken.stderr).contains("model.quant.safetensors"),
        "{}",
        text(&broken.stderr)
    );
}

#[test]
fn int8_qat_fine_tunes_with_fake_quantization_then_quantizes() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let data = common::tiny_csv(tmp.path());
    let classifier = tmp.path().join("clf");
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let o = hone(&[
        "finetune",
        "--model",
        &s(&model),
        "--data",
        &s(&data),
        "--epochs",
        "1",
        "--max-len",
        "32",
        "--out",
        &s(&classifier),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = tmp.path().join("qat");
    let quantize = |extra: &[&str]| {
        let mut args = vec![
            "quantize",
            "--model",
            s(&classifier).leak(),
            "--out",
            s(&out).leak(),
        ];
        args.extend_from_slice(extra);
        hone(&args)
    };
    // Usage errors first: nothing is written.
    let o = quantize(&["--scheme", "int8-qat"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("--qat-data"),
        "{}",
        text(&o.stderr)
    );
    let o = quantize(&["--scheme", "int8-dynamic", "--qat-data", s(&data).leak()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.exists());

    let o = quantize(&[
        "--scheme",
        "int8-qat",
        "--qat-data",
        s(&data).leak(),
        "--qat-epochs",
        "1",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("hone_quant.json")).unwrap()).unwrap();
    assert_eq!(info["scheme"]["scheme"], "int8-qat", "{info}");
    assert!(out.join("qat-metrics.json").is_file());
    // The temporary training folder is gone.
    let leftovers = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".hone")
        })
        .count();
    assert_eq!(leftovers, 0);
    assert!(
        info["source"]
            .as_str()
            .unwrap()
            .contains("quantization-aware"),
        "{info}"
    );
    let o = hone(&["eval", "classify", "--model", &s(&out), "--data", &s(&data)]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("accuracy"));

    // A bare encoder has no classifier to fine-tune.
    let o = hone(&[
        "quantize",
        "--model",
        &s(&model),
        "--scheme",
        "int8-qat",
        "--qat-data",
        &s(&data),
        "--out",
        &s(&tmp.path().join("q2")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("classifier"),
        "{}",
        text(&o.stderr)
    );
}
