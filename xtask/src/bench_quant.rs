//! `cargo xtask bench quant`: hone's quantization against ONNX Runtime, all
//! measured in one invocation on this machine — MiniLM-L6 forward latency at
//! batch 1 × 128 and 32 × 128 for burn f32, hone's engine in f32, int8 and
//! 4-bit, and ONNX Runtime fp32 and dynamic int8 (`benches/ort/ort_bench.py`);
//! the size of each quantized folder; and how close each scheme's sentence
//! embeddings stay to f32 on `fixtures/golden/sentences.txt`; with
//! `--classifier DIR [--data NAME]`, the accuracy of a fine-tuned classifier
//! quantized by each scheme. Rounds
//! alternate hone and ONNX Runtime (default 2, `--rounds N`), and each cell
//! keeps its best median, so a noisy moment hurts neither side alone.
//! Writes `results/bench-quant/summary.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

const OUT: &str = "results/bench-quant";

pub fn run(args: &[String]) -> Result<()> {
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let rounds: usize = flag("--rounds").map_or(Ok(2), |r| r.parse())?;
    // A fine-tuned classifier folder and its data set: accuracy per scheme.
    let classifier = flag("--classifier");
    let data = flag("--data").unwrap_or_else(|| "pang-lee".into());
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python)
        .args(["-c", "import onnxruntime, onnx, tokenizers, numpy"])
        .status()?;
    if !probe.success() {
        bail!(
            "ONNX Runtime is needed for the comparison: {python} -m pip install onnxruntime onnx tokenizers numpy"
        );
    }
    crate::run(crate::cargo().args(["build", "--release", "--quiet", "-p", "hone"]))?;
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let hone = PathBuf::from(target).join("release/hone");
    crate::run(Command::new(&hone).args(["fetch", "minilm-l6", "minilm-l6-int8-onnx"]))?;
    let out = Path::new(OUT);
    if out.exists() {
        std::fs::remove_dir_all(out)?;
    }
    std::fs::create_dir_all(out)?;

    // Quantized folders, their sizes and embedding quality.
    // (row label and folder name, scheme, extra arguments)
    let schemes: [(&str, &str, &[&str]); 5] = [
        ("int8-dynamic", "int8-dynamic", &[]),
        ("int8-dynamic-w7", "int8-dynamic", &["--weight-bits", "7"]),
        ("int8-dynamic-unsmoothed", "int8-dynamic", &["--no-smooth"]),
        (
            "int8-static",
            "int8-static",
            &["--calib-data", "pang-lee", "--calib-method", "percentile"],
        ),
        ("int4-weight", "int4-weight", &["--group", "32"]),
    ];
    let sentences = "fixtures/golden/sentences.txt";
    let reference = embed(&hone, "minilm-l6", sentences)?;
    let f32_bytes = model_bytes(&hone)?;
    let mut quality = Vec::new();
    for (label, scheme, extra) in schemes {
        let dir = out.join(label);
        let mut cmd = Command::new(&hone);
        cmd.args(["quantize", "--scheme", scheme, "--out"])
            .arg(&dir)
            .args(extra);
        crate::run(&mut cmd)?;
        let bytes = std::fs::metadata(dir.join("model.quant.safetensors"))?.len();
        let ours = embed(&hone, dir.to_str().unwrap(), sentences)?;
        let cos: Vec<f64> = reference
            .iter()
            .zip(&ours)
            .map(|(a, b)| cosine(a, b))
            .collect();
        let min = cos.iter().copied().fold(f64::INFINITY, f64::min);
        let mean = cos.iter().sum::<f64>() / cos.len() as f64;
        quality.push(format!(
            "| {label} | {:.1} MB ({:.1} %) | {min:.4} | {mean:.4} |",
            bytes as f64 / 1e6,
            100.0 * bytes as f64 / f32_bytes as f64
        ));
    }

    let mut accuracy = Vec::new();
    if let Some(model) = &classifier {
        let score = |dir: &str| -> Result<(f64, f64)> {
            let o = Command::new(&hone)
                .args([
                    "eval", "classify", "--json", "--model", dir, "--data", &data,
                ])
                .output()?;
            if !o.status.success() {
                bail!(
                    "hone eval classify --model {dir} failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
            }
            let v: Value = serde_json::from_slice(&o.stdout)?;
            Ok((
                v["accuracy"].as_f64().context("accuracy")?,
                v["macro"]["f1"].as_f64().context("macro f1")?,
            ))
        };
        let (acc, f1) = score(model)?;
        accuracy.push(format!(
            "| f32 (burn) | {acc:.4} | {f1:.4} | – | {:.1} MB |",
            f32_bytes as f64 / 1e6
        ));
        for (label, scheme, extra) in schemes {
            let dir = out.join(format!("classifier-{label}"));
            let mut cmd = Command::new(&hone);
            cmd.args(["quantize", "--model", model, "--scheme", scheme, "--out"])
                .arg(&dir)
                .args(extra);
            crate::run(&mut cmd)?;
            let (a, f) = score(dir.to_str().unwrap())?;
            let bytes = std::fs::metadata(dir.join("model.quant.safetensors"))?.len();
            accuracy.push(format!(
                "| {label} | {a:.4} | {f:.4} | {:+.2} | {:.1} MB |",
                100.0 * (a - acc),
                bytes as f64 / 1e6
            ));
        }
    }

    // Latency: rounds of hone then ONNX Runtime; best median per cell.
    let mut best: BTreeMap<(String, u64), f64> = BTreeMap::new();
    let mut keep = |path: String, batch: u64, ms: f64| {
        let e = best.entry((path, batch)).or_insert(f64::INFINITY);
        *e = e.min(ms);
    };
    let ort_json = out.join("ort.json");
    for round in 1..=rounds {
        eprintln!("round {round}/{rounds}: hone");
        let o = Command::new(&hone)
            .args(["bench", "--json", "--paths", "burn,f32,int8,int8-w7,int4"])
            .output()?;
        if !o.status.success() {
            bail!("hone bench failed: {}", String::from_utf8_lossy(&o.stderr));
        }
        let v: Value = serde_json::from_slice(&o.stdout)?;
        for r in v["rows"].as_array().context("rows")? {
            keep(
                r["path"].as_str().unwrap().into(),
                r["batch"].as_u64().unwrap(),
                r["median_ms"].as_f64().unwrap(),
            );
        }
        eprintln!("round {round}/{rounds}: ONNX Runtime");
        crate::run(
            Command::new(&python)
                .args([
                    "benches/ort/ort_bench.py",
                    "--out-dir",
                    "results/ort",
                    "--json",
                ])
                .arg(&ort_json),
        )?;
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&ort_json)?)?;
        for r in v["results"].as_array().context("results")? {
            let name = format!("ONNX Runtime {}", r["model"].as_str().unwrap());
            keep(
                name,
                r["batch"].as_u64().unwrap(),
                r["median_ms"].as_f64().unwrap(),
            );
        }
    }
    let get = |p: &str, b: u64| best.get(&(p.to_string(), b)).copied().unwrap_or(f64::NAN);
    let mut paths: Vec<String> = best.keys().map(|(p, _)| p.clone()).collect();
    paths.dedup();
    let mut md = String::from("## Quantization: speed, size and quality (measured together)\n\n");
    md += &format!(
        "Machine: {}, {rounds} rounds, best median of each cell.\n\n",
        cpu_name()
    );
    md += "| path | b1×128 ms | b32×128 ms |\n|---|---:|---:|\n";
    for p in &paths {
        md += &format!("| {p} | {:.1} | {:.0} |\n", get(p, 1), get(p, 32));
    }
    let ratio = |a: &str, b: &str, batch: u64| get(a, batch) / get(b, batch);
    md += "\n| ratio | b1 | b32 | target |\n|---|---:|---:|---|\n";
    for (label, a, b, target) in [
        (
            "speedup of hone int8 over hone f32",
            "hone engine f32",
            "hone engine int8-dynamic",
            "≥ 2",
        ),
        (
            "hone int8 / ONNX Runtime int8 (latency)",
            "hone engine int8-dynamic",
            "ONNX Runtime int8",
            "≤ 0.9",
        ),
        (
            "speedup of hone int8 (7-bit weights) over hone f32",
            "hone engine f32",
            "hone engine int8-dynamic, 7-bit weights",
            "≥ 2",
        ),
        (
            "hone int8 (7-bit weights) / ONNX Runtime int8 (latency)",
            "hone engine int8-dynamic, 7-bit weights",
            "ONNX Runtime int8",
            "≤ 0.9",
        ),
        (
            "hone f32 / ONNX Runtime fp32 (latency)",
            "hone engine f32",
            "ONNX Runtime fp32",
            "≤ 1.2",
        ),
        (
            "speedup of hone f32 over burn f32",
            &paths
                .iter()
                .find(|p| p.starts_with("burn"))
                .cloned()
                .unwrap_or_default(),
            "hone engine f32",
            "",
        ),
    ] {
        md += &format!(
            "| {label} | {:.2} | {:.2} | {target} |\n",
            ratio(a, b, 1),
            ratio(a, b, 32)
        );
    }
    md += "\n| scheme | size (of the f32 file) | min cosine to f32 | mean cosine |\n|---|---:|---:|---:|\n";
    md += &quality.join("\n");
    md += "\n";
    if let Some(model) = &classifier {
        md += &format!(
            "\nClassifier `{model}` on the {data} test split:\n\n| scheme | accuracy | macro-F1 | Δ accuracy (points) | size |\n|---|---:|---:|---:|---:|\n"
        );
        md += &accuracy.join("\n");
        md += "\n";
    }
    std::fs::write(out.join("summary.md"), &md)?;
    println!("{md}");
    Ok(())
}

fn embed(hone: &Path, model: &str, input: &str) -> Result<Vec<Vec<f64>>> {
    let o = Command::new(hone)
        .args(["embed", "--json", "--model", model, "--input", input])
        .output()?;
    if !o.status.success() {
        bail!(
            "hone embed --model {model} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    String::from_utf8(o.stdout)?
        .lines()
        .map(|l| Ok(serde_json::from_str(l)?))
        .collect()
}

fn model_bytes(hone: &Path) -> Result<u64> {
    let o = Command::new(hone).args(["fetch", "minilm-l6"]).output()?;
    let listing = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let dir = listing
        .lines()
        .find(|l| l.starts_with("minilm-l6 "))
        .and_then(|l| l.split_whitespace().last())
        .context("cannot find the minilm-l6 folder in `hone fetch`")?;
    Ok(std::fs::metadata(Path::new(dir).join("model.safetensors"))?.len())
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    dot / (a.iter().map(|x| x * x).sum::<f64>().sqrt()
        * b.iter().map(|x| x * x).sum::<f64>().sqrt())
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .map_or("unknown CPU".into(), |n| {
            format!(
                "{n}, {} threads",
                std::thread::available_parallelism().map_or(1, |n| n.get())
            )
        })
}
