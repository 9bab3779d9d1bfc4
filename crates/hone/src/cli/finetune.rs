//! `hone finetune`: fine-tune a pretrained encoder (MiniLM by default) for
//! text classification on a built-in data set or a user table, writing a
//! model folder with its run log, curves and `metrics.json`.

use std::path::PathBuf;

use clap::Args;
use hone::backend::{TrainJob, dispatch_train};
use hone::data::assets::resolve_model_dir;
use hone::data::augment::{AugmentConfig, WordNet};
use hone::data::datasets::{TableOptions, load};
use hone::data::tokenize::Truncation;
use hone::tasks::classify::{
    AutoBatch, Batching, ClassWeights, ClassifyData, FinetuneConfig, FinetuneJob, FinetuneMetrics,
    Pooling, finetune,
};
use hone::train::schedule::LrSchedule;
use hone::train::{FreezePlan, OptimConfig, Precision, RunOptions, TrainConfig};

use super::{Context, Failure};

#[derive(Debug, Args)]
pub struct FinetuneArgs {
    /// A known model name (fetched on first use) or a model folder.
    #[arg(long, default_value = "minilm-l6")]
    pub model: String,
    /// A built-in data set (pang-lee, pang-lee-reviews, spam-assassin, bbc-news) or a CSV/TSV/JSONL file.
    #[arg(long)]
    pub data: String,
    /// Column holding the text (user tables).
    #[arg(long, default_value = "text")]
    pub text_col: String,
    /// Column holding the label (user tables).
    #[arg(long, default_value = "label")]
    pub label_col: String,
    /// Output folder: model, tokenizer, label map, run log, curves, metrics.json.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 5e-5)]
    pub lr: f64,
    /// constant | linear | cosine | cosine-restarts:PERIOD[:MULT] | step:SIZE:GAMMA
    #[arg(long, default_value = "linear")]
    pub schedule: String,
    /// Fraction of the optimizer steps spent warming the LR up.
    #[arg(long, default_value_t = 0.1)]
    pub warmup: f64,
    /// Examples per forward pass, or `auto`: measure sizes up to the effective batch
    /// (this × --accumulation) and take the largest within --memory-budget.
    #[arg(long, default_value = "32")]
    pub batch_size: String,
    /// Memory budget of the whole process for `--batch-size auto`, e.g. 6GiB or 800MiB.
    #[arg(long, default_value = "8GiB")]
    pub memory_budget: String,
    /// With `--batch-size auto`: the effective batch (examples per optimizer step).
    #[arg(long, default_value_t = 32)]
    pub effective_batch: usize,
    /// Forward passes per optimizer step (effective batch = batch size × this).
    #[arg(long, default_value_t = 1)]
    pub accumulation: usize,
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    /// Clip the global gradient norm (0: no clipping).
    #[arg(long, default_value_t = 1.0)]
    pub max_grad_norm: f64,
    /// Layer-wise LR decay factor (1: off; 0.8: each layer down trains at 0.8× the one above).
    #[arg(long, default_value_t = 1.0)]
    pub llrd: f64,
    /// Keep depths below this frozen (1: embeddings; k: embeddings and layers 1..k-1).
    #[arg(long, default_value_t = 0)]
    pub freeze_below: usize,
    /// Train only the head for this many steps first.
    #[arg(long, default_value_t = 0)]
    pub head_only_steps: usize,
    /// After the head-only phase, unfreeze one more layer from the top every N steps.
    #[arg(long)]
    pub unfreeze_every: Option<usize>,
    /// Tokens per text, special tokens included.
    #[arg(long, default_value_t = 128)]
    pub max_len: usize,
    /// head | tail | head+tail[:N]
    #[arg(long, default_value = "head")]
    pub truncation: String,
    /// mean | cls
    #[arg(long, default_value = "mean")]
    pub pooling: String,
    /// bucketed (similar lengths together) | random | pad-to-max (the static-padding baseline)
    #[arg(long, default_value = "bucketed")]
    pub batching: String,
    /// f32 | bf16 | f16 (half precision needs a backend that has it: flex, wgpu, cuda).
    #[arg(long, default_value = "f32")]
    pub precision: String,
    /// none | balanced | w1,w2,… (one per label)
    #[arg(long, default_value = "none")]
    pub class_weights: String,
    #[arg(long, default_value_t = 0.0)]
    pub label_smoothing: f32,
    /// Augmentation probabilities, e.g. `synonym=0.1,char_swap=0.01` (knobs: char_delete,
    /// char_swap, char_insert, char_substitute, word_dropout, word_swap, synonym, word_insert).
    #[arg(long)]
    pub augment: Option<String>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Validate every N optimizer steps (always at each epoch's end).
    #[arg(long)]
    pub eval_every: Option<usize>,
    /// Early stopping: stop after N validations without improvement.
    #[arg(long)]
    pub patience: Option<usize>,
    /// Write a resumable checkpoint every N steps (always at each epoch's end).
    #[arg(long)]
    pub checkpoint_every: Option<usize>,
    /// Stop after N optimizer steps.
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Continue the run in --out from its latest checkpoint (same options).
    #[arg(long)]
    pub resume: bool,
    /// Print metrics.json to stdout when done.
    #[arg(long)]
    pub json: bool,
}

fn usage<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, Failure> {
    r.map_err(|e| Failure::Usage(e.to_string()))
}

/// Parses a size such as `8GiB`, `800MiB`, `2GB` or a plain byte count.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("memory budget {s:?}: expected e.g. 8GiB or 800MiB"))?;
    let scale = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kib" | "k" => 1024.0,
        "mib" | "m" => 1024.0 * 1024.0,
        "gib" | "g" => 1024.0 * 1024.0 * 1024.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        other => return Err(format!("memory budget {s:?}: unknown unit {other:?}")),
    };
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("memory budget {s:?} must be positive"));
    }
    Ok((value * scale) as u64)
}

/// Parses `knob=p,knob=p` into an augmentation config.
pub fn parse_augment(spec: &str) -> Result<AugmentConfig, String> {
    let mut map = serde_json::Map::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("augment: expected knob=probability, got {part:?}"))?;
        let p: f64 = v
            .trim()
            .parse()
            .map_err(|_| format!("augment: {k}={v} is not a number"))?;
        map.insert(k.trim().replace('-', "_"), serde_json::json!(p));
    }
    let config: AugmentConfig = serde_json::from_value(serde_json::Value::Object(map))
        .map_err(|e| format!("augment: {e}"))?;
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

impl FinetuneArgs {
    fn config(&self) -> Result<FinetuneConfig, Failure> {
        let schedule: LrSchedule = usage(self.schedule.parse())?;
        let (batch_size, accumulation, auto_batch) = if self.batch_size == "auto" {
            let budget = usage(parse_bytes(&self.memory_budget))?;
            let candidates = [1, 2, 4, 8, 16, 32, 64, 128, 256].to_vec();
            (
                self.effective_batch,
                1,
                Some(AutoBatch {
                    memory_budget_bytes: budget,
                    candidates,
                }),
            )
        } else {
            let n = self.batch_size.parse::<usize>().map_err(|_| {
                Failure::Usage(format!(
                    "--batch-size {:?}: expected a number or auto",
                    self.batch_size
                ))
            })?;
            (n, self.accumulation, None)
        };
        let train = TrainConfig {
            epochs: self.epochs,
            batch_size,
            accumulation,
            optim: OptimConfig {
                lr: self.lr,
                weight_decay: self.weight_decay,
                max_grad_norm: (self.max_grad_norm > 0.0).then_some(self.max_grad_norm),
                llrd: self.llrd,
                ..OptimConfig::default()
            },
            schedule,
            precision: usage(self.precision.parse::<Precision>())?,
            freeze: FreezePlan {
                frozen_below: self.freeze_below,
                head_only_steps: self.head_only_steps,
                unfreeze_every: self.unfreeze_every,
            },
            seed: self.seed,
            eval_every: self.eval_every,
            patience: self.patience,
            checkpoint_every: self.checkpoint_every,
            max_steps: self.max_steps,
        };
        // The schedule's horizon (warm-up and total steps) is only known once
        // the data is batched; check everything else now.
        let probe = TrainConfig {
            schedule: train.schedule.clone().with_horizon(0, 1),
            ..train.clone()
        };
        usage(probe.validate())?;
        if !(0.0..1.0).contains(&self.warmup) {
            return Err(Failure::Usage(format!(
                "--warmup is a fraction of the steps in [0, 1), got {}",
                self.warmup
            )));
        }
        Ok(FinetuneConfig {
            max_len: self.max_len,
            truncation: usage(self.truncation.parse::<Truncation>())?,
            pooling: usage(self.pooling.parse::<Pooling>())?,
            class_weights: usage(self.class_weights.parse::<ClassWeights>())?,
            label_smoothing: self.label_smoothing,
            augment: match &self.augment {
                Some(spec) => usage(parse_augment(spec))?,
                None => AugmentConfig::default(),
            },
            warmup_ratio: self.warmup,
            auto_batch,
            batching: usage(self.batching.parse::<Batching>())?,
            train,
            ..FinetuneConfig::default()
        })
    }
}

struct Job<'a> {
    job: Option<FinetuneJob<'a>>,
}

impl TrainJob for Job<'_> {
    type Output = hone::tasks::Result<FinetuneMetrics>;
    fn run<B: burn::tensor::backend::AutodiffBackend>(mut self, device: B::Device) -> Self::Output {
        finetune::<B>(self.job.take().expect("run once"), &device)
    }
}

pub fn run(ctx: &Context, args: FinetuneArgs) -> Result<(), Failure> {
    let config = args.config()?;
    let model_dir = resolve_model_dir(&args.model, &ctx.cache, &ctx.fetch)?;
    let table = TableOptions {
        text_col: args.text_col.clone(),
        label_col: args.label_col.clone(),
    };
    let loaded = load(&args.data, &table, &ctx.cache, &ctx.fetch)?;
    for bad in &loaded.skipped {
        eprintln!("skipped {bad}");
    }
    let data = ClassifyData::from_dataset(loaded.dataset)?;
    let wordnet = if config.augment.needs_wordnet() {
        Some(WordNet::from_asset(&ctx.cache, &ctx.fetch)?)
    } else {
        None
    };
    eprintln!(
        "fine-tuning {} on {} ({} train / {} validation / {} test, {} labels) with {} on {}",
        args.model,
        data.name,
        data.train.len(),
        data.validation.len(),
        data.test.len(),
        data.labels.len(),
        config.train.precision.label(),
        ctx.backend.label()
    );
    let job = FinetuneJob {
        model_dir: &model_dir,
        model_name: args.model.clone(),
        data: &data,
        out_dir: &args.out,
        config,
        wordnet,
        options: RunOptions {
            resume: args.resume,
            progress: ctx.fetch.progress,
            backend: ctx.backend.label().to_string(),
        },
    };
    let metrics = dispatch_train(ctx.backend, Job { job: Some(job) })??;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&metrics)?);
    } else {
        println!(
            "test: accuracy {:.4}, macro-F1 {:.4} ({} examples); validation: accuracy {:.4}, macro-F1 {:.4}",
            metrics.test.accuracy,
            metrics.test.macro_f1,
            metrics.test.examples,
            metrics.validation.accuracy,
            metrics.validation.macro_f1
        );
        if let Some(choice) = &metrics.batch_probes {
            println!("batch size   tokens/s   peak memory   fits");
            for p in &choice.probes {
                println!(
                    "{:>10} {:>10.0} {:>11.2} GiB   {}",
                    p.batch_size,
                    p.tokens_per_s,
                    p.peak_bytes.unwrap_or(0) as f64 / (1u64 << 30) as f64,
                    if p.fits { "yes" } else { "no" }
                );
            }
            println!(
                "chose batch size {} × accumulation {}",
                metrics.config.train.batch_size, metrics.config.train.accumulation
            );
        }
        println!(
            "{} steps in {:.0} s ({:.0} tokens/s); model and metrics.json in {}",
            metrics.steps,
            metrics.train_seconds,
            metrics.train_tokens_per_s,
            args.out.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn augment_spec_parses_and_rejects_unknown_knobs() {
        let c = parse_augment("synonym=0.1, char-swap=0.02").unwrap();
        assert_eq!(c.synonym, 0.1);
        assert_eq!(c.char_swap, 0.02);
        assert!(parse_augment("typo=0.1").unwrap_err().contains("typo"));
        assert!(parse_augment("synonym=2").is_err());
        assert!(parse_augment("synonym").is_err());
    }

    #[test]
    fn memory_budgets_parse_with_units() {
        assert_eq!(parse_bytes("8GiB").unwrap(), 8 << 30);
        assert_eq!(parse_bytes("800MiB").unwrap(), 800 << 20);
        assert_eq!(parse_bytes("2GB").unwrap(), 2_000_000_000);
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("5XB").is_err());
    }
}
