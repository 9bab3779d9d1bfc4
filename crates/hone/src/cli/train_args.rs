//! The flags every classifier-training command shares (`finetune`,
//! `distill`, `prune --finetune-epochs`, `optimize`): the data set and its
//! columns, and the training settings, turned into a [`FinetuneConfig`].

use clap::Args;
use hone::data::augment::{AugmentConfig, WordNet};
use hone::data::datasets::{TableOptions, load};
use hone::data::tokenize::Truncation;
use hone::data::view::TextView;
use hone::tasks::classify::{
    AutoBatch, Batching, ClassWeights, ClassifyData, FinetuneConfig, FinetuneMetrics, Pooling,
    TrainWindows, WindowPooling,
};
use hone::train::schedule::LrSchedule;
use hone::train::{FreezePlan, OptimConfig, Precision, RunOptions, TrainConfig};

use super::{Context, Failure};

/// A labelled data set: a built-in name or a table.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// A built-in data set (pang-lee, pang-lee-reviews, spam-assassin, bbc-news) or a CSV/TSV/JSONL file.
    #[arg(long)]
    pub data: String,
    /// Column holding the text (user tables).
    #[arg(long, default_value = "text")]
    pub text_col: String,
    /// Column holding the label (user tables).
    #[arg(long, default_value = "label")]
    pub label_col: String,
}

impl DataArgs {
    /// The column names for user tables.
    pub fn table(&self) -> TableOptions {
        TableOptions {
            text_col: self.text_col.clone(),
            label_col: self.label_col.clone(),
        }
    }

    /// Reads the data set (fetching a built-in one on first use), printing
    /// skipped rows, and splits it.
    pub fn load(&self, ctx: &Context) -> Result<ClassifyData, Failure> {
        let loaded = load(&self.data, &self.table(), &ctx.cache, &ctx.fetch)?;
        for bad in &loaded.skipped {
            eprintln!("skipped {bad}");
        }
        Ok(ClassifyData::from_dataset(loaded.dataset)?)
    }
}

/// The training settings of a classifier run.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// Passes over the training split (default 3; `hone prune`: 0, no fine-tuning).
    #[arg(long, visible_alias = "finetune-epochs")]
    pub epochs: Option<usize>,
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
    /// raw | email | email-headers (read each text as an e-mail: subject,
    /// sender and decoded body instead of relay headers; email-headers adds
    /// the recipient, day, Message-ID domain and mailer)
    #[arg(long, default_value = "raw")]
    pub text_view: String,
    /// Read a long text as up to N windows of --max-len tokens and average
    /// their probabilities (or features: --window-pooling), when
    /// validating, testing and in the saved model (training reads the
    /// windows as --train-windows says).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub windows: u32,
    /// With --windows above 1: one (a seeded window of each long text per
    /// epoch) | all (every window, each a training example of its own)
    #[arg(long, default_value = "one")]
    pub train_windows: String,
    /// With --windows above 1: probabilities (average the windows'
    /// predictions) | features (the head reads the mean of the windows'
    /// pooled vectors; training reads every window of a text as its one
    /// example, so an epoch costs as --train-windows all does)
    #[arg(long, default_value = "probabilities")]
    pub window_pooling: String,
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
    /// Validate, keep and save an exponential moving average of the weights
    /// with this decay (e.g. 0.99), updated after every optimizer step.
    #[arg(long)]
    pub ema: Option<f64>,
}

/// WordNet when the augmentation needs it.
pub fn wordnet_for(ctx: &Context, config: &FinetuneConfig) -> Result<Option<WordNet>, Failure> {
    Ok(if config.augment.needs_wordnet() {
        Some(WordNet::from_asset(&ctx.cache, &ctx.fetch)?)
    } else {
        None
    })
}

/// How the training loop reports and resumes.
pub fn run_options(ctx: &Context, resume: bool) -> RunOptions {
    RunOptions {
        resume,
        progress: ctx.fetch.progress,
        backend: ctx.backend.label().to_string(),
    }
}

/// Prints a finished run's scores (or its `metrics.json` with `json`).
pub fn print_metrics(
    metrics: &FinetuneMetrics,
    out: &std::path::Path,
    json: bool,
) -> Result<(), Failure> {
    if json {
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
            out.display()
        );
    }
    Ok(())
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

impl TrainArgs {
    /// The training settings these flags describe (3 epochs unless set).
    pub fn config(&self) -> Result<FinetuneConfig, Failure> {
        self.config_with_epochs(self.epochs.unwrap_or(3))
    }

    /// The training settings with `epochs` passes.
    pub fn config_with_epochs(&self, epochs: usize) -> Result<FinetuneConfig, Failure> {
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
            epochs,
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
            ema_decay: self.ema,
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
        let train_windows = usage(self.train_windows.parse::<TrainWindows>())?;
        if train_windows == TrainWindows::All && self.windows < 2 {
            return Err(Failure::Usage(
                "--train-windows all reads every window of a long text: give --windows N above 1"
                    .into(),
            ));
        }
        let window_pooling = usage(self.window_pooling.parse::<WindowPooling>())?;
        if window_pooling == WindowPooling::Features && self.windows < 2 {
            return Err(Failure::Usage(
                "--window-pooling features averages the features of a long text's windows: give --windows N above 1".into(),
            ));
        }
        Ok(FinetuneConfig {
            max_len: self.max_len,
            truncation: usage(self.truncation.parse::<Truncation>())?,
            text_view: usage(self.text_view.parse::<TextView>())?,
            windows: self.windows as usize,
            train_windows,
            window_pooling,
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
