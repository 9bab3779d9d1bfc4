//! `hone bench --model NAME|DIR [--batch 1,32] [--seq 128]`: forward-pass
//! latency (encoder + mean pooling) of a model folder, on burn's selected
//! backend and on hone's CPU engine in f32, int8 and 4-bit, all measured in
//! this one run; a quantized folder is timed as saved.

use std::path::Path;

use clap::Args;
use hone::backend::{BackendJob, dispatch};
use hone::bench::{Timing, full_batch, time};
use hone::compress::quant::{self, Scheme};
use hone::model::BertModel;
use hone::model::engine::{FastBert, WeightBits};
use hone::model::pooling::mean_pool;
use hone::models::resolve_model;

use super::{Context, Failure};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A model name or folder (f32, or quantized by `hone quantize`).
    #[arg(long, default_value = "minilm-l6")]
    pub model: String,
    /// Batch sizes, comma-separated.
    #[arg(long, default_value = "1,32", value_delimiter = ',')]
    pub batch: Vec<usize>,
    /// Tokens per row (every row is full: no padding).
    #[arg(long, default_value_t = 128)]
    pub seq: usize,
    /// Timed runs per cell after one warm-up (default: 20 at batch 1, fewer for larger batches).
    #[arg(long)]
    pub runs: Option<usize>,
    /// What to time, comma-separated: burn (the --backend, f32), f32, int8, int8-w7 (7-bit
    /// weights), int4 (hone's engine).
    /// Default: all four for an f32 folder; the folder as saved for a quantized one.
    #[arg(long, value_delimiter = ',')]
    pub paths: Vec<String>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(serde::Serialize)]
struct Row {
    path: String,
    batch: usize,
    seq: usize,
    #[serde(flatten)]
    timing: Timing,
}

pub fn run(ctx: &Context, args: BenchArgs) -> Result<(), Failure> {
    if args.batch.is_empty() || args.batch.contains(&0) || args.seq < 2 {
        return Err(Failure::Usage(
            "--batch needs sizes ≥ 1 and --seq at least 2".into(),
        ));
    }
    let dir = resolve_model(&args.model, &ctx.cache, &ctx.fetch)?;
    let quantized = quant::is_quantized(&dir);
    let paths: Vec<String> = if !args.paths.is_empty() {
        args.paths.clone()
    } else if quantized {
        vec!["folder".into()]
    } else {
        ["burn", "f32", "int8", "int4"].map(String::from).to_vec()
    };
    let runs_for = |batch: usize| {
        args.runs.unwrap_or(if batch == 1 {
            20
        } else {
            (160 / batch).clamp(3, 20)
        })
    };
    let mut rows = Vec::new();
    for path in &paths {
        let (label, engine): (String, Option<FastBert>) = match path.as_str() {
            "burn" if quantized => {
                return Err(Failure::Usage(
                    "a quantized folder runs on hone's engine only (burn dequantizes before every op); drop `burn` from --paths".into(),
                ));
            }
            "burn" => (format!("burn {} f32", ctx.backend.label()), None),
            "folder" => {
                let model = quant::load(&dir)?;
                (
                    format!("hone engine {} (saved)", model.info.scheme.name()),
                    Some(model.engine),
                )
            }
            "f32" | "int8" | "int8-w7" | "int4" if quantized => {
                return Err(Failure::Usage(format!(
                    "`{path}` quantizes an f32 folder; {} is already quantized (use the default paths)",
                    dir.display()
                )));
            }
            "f32" => ("hone engine f32".into(), Some(hone::fast::load(&dir)?)),
            "int8" => (
                "hone engine int8-dynamic".into(),
                Some(hone::fast::quantized_in_memory(
                    &dir,
                    Scheme::Int8Dynamic,
                    WeightBits::Eight,
                )?),
            ),
            "int8-w7" => (
                "hone engine int8-dynamic, 7-bit weights".into(),
                Some(hone::fast::quantized_in_memory(
                    &dir,
                    Scheme::Int8Dynamic,
                    WeightBits::Seven,
                )?),
            ),
            "int4" => (
                "hone engine int4-weight g32".into(),
                Some(hone::fast::quantized_in_memory(
                    &dir,
                    Scheme::Int4Weight { group: 32 },
                    WeightBits::Eight,
                )?),
            ),
            other => {
                return Err(Failure::Usage(format!(
                    "unknown path `{other}` (burn, f32, int8, int8-w7, int4)"
                )));
            }
        };
        for &batch in &args.batch {
            let timing = match &engine {
                Some(engine) => time_engine(engine, &dir, batch, args.seq, runs_for(batch))?,
                None => dispatch(
                    ctx.backend,
                    BurnTiming {
                        dir: &dir,
                        batch,
                        seq: args.seq,
                        runs: runs_for(batch),
                    },
                )??,
            };
            if !args.json {
                eprintln!("{label}: b{batch}×{} {:.1} ms", args.seq, timing.median_ms);
            }
            rows.push(Row {
                path: label.clone(),
                batch,
                seq: args.seq,
                timing,
            });
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "model": dir.display().to_string(), "threads": threads(), "rows": rows })
        );
    } else {
        print_table(&rows, &args.batch, args.seq);
    }
    Ok(())
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn time_engine(
    engine: &FastBert,
    dir: &Path,
    batch: usize,
    seq: usize,
    runs: usize,
) -> hone::Result<Timing> {
    let input = full_batch(dir, batch, seq)?;
    let mut failure = None;
    let timing = time(runs, || match engine.forward(input.tokens()) {
        Ok(hidden) => {
            std::hint::black_box(engine.mean_pool(&hidden, input.tokens()));
        }
        Err(e) => failure = Some(e),
    });
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(timing),
    }
}

struct BurnTiming<'a> {
    dir: &'a Path,
    batch: usize,
    seq: usize,
    runs: usize,
}

impl BackendJob for BurnTiming<'_> {
    type Output = hone::Result<Timing>;
    fn run<B: burn::prelude::Backend>(self, device: B::Device) -> Self::Output {
        let (model, _) = BertModel::<B>::from_dir(self.dir, &device)?;
        let b = full_batch(self.dir, self.batch, self.seq)?;
        let input = model.input(b.batch, b.seq, &b.ids, &b.mask, &b.types, &device)?;
        Ok(time(self.runs, || {
            // Reading the result back forces lazy backends to finish.
            std::hint::black_box(
                mean_pool(model.forward(&input), input.attention_mask.clone()).into_data(),
            );
        }))
    }
}

fn print_table(rows: &[Row], batches: &[usize], seq: usize) {
    let mut header = String::from("| path |");
    let mut rule = String::from("|---|");
    for b in batches {
        header += &format!(" b{b}×{seq} ms (median / min) | × first |");
        rule += "---|---|";
    }
    println!("{header}\n{rule}");
    let mut paths: Vec<&str> = Vec::new();
    for r in rows {
        if !paths.contains(&r.path.as_str()) {
            paths.push(&r.path);
        }
    }
    for path in paths {
        let mut line = format!("| {path} |");
        for &b in batches {
            let cell = |p: &str| {
                rows.iter()
                    .find(|r| r.path == p && r.batch == b)
                    .map(|r| r.timing)
            };
            let (Some(t), Some(first)) = (cell(path), cell(&rows[0].path)) else {
                line += " – | – |";
                continue;
            };
            line += &format!(
                " {:.1} / {:.1} | {:.2} |",
                t.median_ms,
                t.min_ms,
                first.median_ms / t.median_ms
            );
        }
        println!("{line}");
    }
}
