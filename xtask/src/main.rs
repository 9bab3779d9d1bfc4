//! xtask — layer 5 of hone: the project's chores as `cargo xtask …`.
//!
//! It drives the `hone` program and cargo; nothing depends on it.
//!
//! - `cargo xtask fetch [NAME…]`  fetch the assets the tests and demo use (or the named ones)
//! - `cargo xtask test`           what CI runs: every test, the model tests on ndarray, flex and
//!                                (software) WGPU, with the `cuda` feature compiled too
//! - `cargo xtask demo [--full]`  the README's main command: `hone optimize` on Pang & Lee
//!                                (`--quick` unless `--full`), report in runs/demo/report.md
//! - `cargo xtask bench [forward|backends|kernels]`  criterion benches
//! - `cargo xtask bench metrics`  `hone eval` vs sacrebleu and rouge-score on 100,000 pairs
//! - `cargo xtask bench quant [--rounds N] [--classifier DIR --data NAME]`  hone f32/int8/int4 vs
//!                                ONNX Runtime, sizes, embedding cosine, a classifier's accuracy per scheme
//! - `cargo xtask experiment NAME [--only RUN] [--force]`  the fine-tuning runs of
//!                                `xtask/experiments/NAME.toml`, summarized in
//!                                `results/experiments/NAME/summary.md`

mod bench_metrics;
mod bench_quant;
mod experiment;
mod tidy;

use std::process::Command;

use anyhow::{Context, Result, bail};

/// Assets the test suite and the demo read.
const TEST_ASSETS: &[&str] = &[
    "minilm-l6",
    "minilm-l3-onnx",
    "pang-lee",
    "spam-assassin",
    "bbc-news",
];

/// The feature set CI builds: one build of burn serves every test.
const CI_FEATURES: &str = "hone/flex,hone/wgpu,hone/cuda";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = args
        .split_first()
        .map_or(("help", &[][..]), |(t, r)| (t.as_str(), r));
    match task {
        "fetch" => fetch(rest),
        "test" => test(rest),
        "demo" => demo(rest),
        "bench" => bench(rest),
        "experiment" => experiment::run(rest),
        "help" | "--help" | "-h" => {
            println!(
                "{}",
                include_str!("main.rs")
                    .lines()
                    .take_while(|l| l.starts_with("//!"))
                    .map(|l| l.trim_start_matches("//!").trim_start_matches(' '))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            Ok(())
        }
        other => bail!("unknown task `{other}`; try `cargo xtask help`"),
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {:?}", cmd);
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{:?} failed with {status}", cmd.get_program());
    }
    Ok(())
}

/// `cargo run -p hone -- ARGS` (dev profile: dependencies are optimized there too).
fn hone(args: &[&str]) -> Command {
    let mut cmd = cargo();
    cmd.args(["run", "--quiet", "-p", "hone", "--"]).args(args);
    cmd
}

fn fetch(names: &[String]) -> Result<()> {
    let mut args = vec!["fetch"];
    if names.is_empty() {
        args.extend_from_slice(TEST_ASSETS);
    } else {
        args.extend(names.iter().map(String::as_str));
    }
    run(&mut hone(&args))
}

fn test(extra: &[String]) -> Result<()> {
    // No separate fetch step: the tests fetch what they read on first use,
    // and a `cargo run` here would build burn a second time with other features.
    let mut cmd = cargo();
    cmd.args(["test", "--workspace", "--features", CI_FEATURES])
        .args(extra);
    // The model tests run on every backend listed here; WGPU runs on the CPU
    // through Mesa's lavapipe where no GPU is present.
    if std::env::var_os("HONE_TEST_BACKENDS").is_none() {
        cmd.env("HONE_TEST_BACKENDS", "ndarray,flex,wgpu");
    }
    run(&mut cmd)
}

/// The README's main command on its default data set, short form: MiniLM-L6
/// fine-tuned on Pang & Lee, distilled to 3 layers, pruned, quantized to
/// int8, and the measured report (`runs/demo/report.md`). `--full` runs
/// the documented full pipeline instead of `--quick`.
fn demo(args: &[String]) -> Result<()> {
    run(&mut hone(&["fetch", "minilm-l6", "pang-lee"]))?;
    let full = args.iter().any(|a| a == "--full");
    let out = if full { "runs/demo-full" } else { "runs/demo" };
    let mut cmd = hone(&[
        "optimize",
        "--model",
        "minilm-l6",
        "--data",
        "pang-lee",
        "--out",
        out,
    ]);
    if !full {
        cmd.arg("--quick");
    }
    run(&mut cmd)
}

fn bench(args: &[String]) -> Result<()> {
    let (which, rest) = args
        .split_first()
        .map_or(("forward", &[][..]), |(w, r)| (w.as_str(), r));
    match which {
        "forward" => run(cargo().args(["bench", "-p", "hone-benches", "--bench", "forward"])),
        "kernels" => run(cargo().args([
            "bench",
            "-p",
            "hone-benches",
            "--bench",
            "kernels",
            "--bench",
            "peak",
        ])),
        "backends" => {
            for features in ["ndarray,flex", "blas"] {
                run(cargo().args([
                    "bench",
                    "-p",
                    "hone-benches",
                    "--no-default-features",
                    "--features",
                    features,
                    "--bench",
                    "forward",
                ]))?;
            }
            Ok(())
        }
        "metrics" => bench_metrics::run(),
        "quant" => bench_quant::run(rest),
        other => bail!("unknown bench `{other}` (forward, backends, kernels, quant, metrics)"),
    }
}
