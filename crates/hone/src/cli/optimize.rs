//! `hone optimize`: the main job — fine-tune a pretrained encoder on a data
//! set, distill it into fewer layers, prune heads and feed-forward neurons,
//! quantize to int8, and report accuracy, size and latency of every stage
//! measured in the same run (`report.md`, `report.json`, `tradeoff.svg`).

use std::path::PathBuf;

use clap::Args;
use hone::compress::distill::DistillConfig;
use hone::compress::prune::{Importance, PrunePlan};
use hone::data::tokenize::Truncation;
use hone::models::resolve_model;
use hone::optimize::{LatencySetup, OptimizeJob, StageSettings, Step, optimize};
use hone::tasks::classify::FinetuneConfig;
use hone::train::schedule::LrSchedule;

use super::train_args::DataArgs;
use super::{Context, Failure};

/// At most this many training examples for `--quick`: every k-th one, with
/// the smallest k that gets there (934 of Pang & Lee's 2,800: every third).
const QUICK_TRAIN_EXAMPLES: usize = 1200;

#[derive(Debug, Args)]
pub struct OptimizeArgs {
    /// The pretrained encoder to start from (a known name or a folder).
    #[arg(long, default_value = "minilm-l6")]
    pub model: String,
    #[command(flatten)]
    pub data: DataArgs,
    /// Output folder: one subfolder per stage, report.md, report.json, tradeoff.svg.
    #[arg(long)]
    pub out: PathBuf,
    /// The stages to run, in pipeline order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "finetune,distill,prune,quantize"
    )]
    pub steps: Vec<String>,
    /// A short run (about 10 minutes on 2 cores for MiniLM): 1 epoch per stage on
    /// at most 1,200 training examples (every k-th), fewer latency runs.
    #[arg(long)]
    pub quick: bool,
    /// A classifier fine-tuned earlier to use as the teacher (skips fine-tuning).
    #[arg(long)]
    pub teacher: Option<PathBuf>,
    /// Layers of the distilled student.
    #[arg(long, default_value_t = 3)]
    pub student_layers: usize,
    /// Fraction of each layer's heads the prune stage removes.
    #[arg(long, default_value_t = 0.5)]
    pub heads: f64,
    /// Fraction of each layer's feed-forward neurons the prune stage removes.
    #[arg(long, default_value_t = 0.5)]
    pub ffn: f64,
    /// Epochs of every training stage (default: teacher 3, student 3, pruned 2; --quick: 1).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Tokens per text in training, and of the latency measurement.
    #[arg(long, default_value_t = 128)]
    pub max_len: usize,
    /// Which tokens of a longer text are kept: head | tail | head+tail.
    #[arg(long, default_value = "head")]
    pub truncation: String,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

fn stage_config(
    epochs: usize,
    lr: f64,
    max_len: usize,
    truncation: Truncation,
    seed: u64,
) -> FinetuneConfig {
    let mut c = FinetuneConfig {
        max_len,
        truncation,
        ..FinetuneConfig::default()
    };
    c.train.epochs = epochs;
    c.train.optim.lr = lr;
    c.train.seed = seed;
    // The recipe sets warm-up and horizon once the data is batched.
    c.train.schedule = LrSchedule::Linear {
        warmup: 0,
        total: 1,
    };
    c.train.checkpoint_every = Some(40);
    c
}

pub fn run(ctx: &Context, args: OptimizeArgs) -> Result<(), Failure> {
    let steps = args
        .steps
        .iter()
        .map(|s| s.trim().parse::<Step>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::Usage)?;
    if steps.is_empty() {
        return Err(Failure::Usage("--steps lists no step".into()));
    }
    let prune = PrunePlan {
        heads: args.heads,
        ffn: args.ffn,
        importance: Importance::Activation,
    };
    prune
        .validate()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    if args.student_layers == 0 {
        return Err(Failure::Usage("--student-layers must be at least 1".into()));
    }
    if args.epochs == Some(0) {
        return Err(Failure::Usage("--epochs must be at least 1".into()));
    }
    let epochs = |full: usize| args.epochs.unwrap_or(if args.quick { 1 } else { full });
    let truncation = args
        .truncation
        .parse::<Truncation>()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let stage = |epochs, lr| stage_config(epochs, lr, args.max_len, truncation, args.seed);
    let settings = StageSettings {
        teacher: stage(epochs(3), 5e-5),
        student: stage(epochs(3), 1e-4),
        pruned: stage(epochs(2), 1e-4),
        student_layers: args.student_layers,
        distill: DistillConfig::default(),
        prune,
        calib_samples: 256,
    };
    let model_dir = resolve_model(&args.model, &ctx.cache, &ctx.fetch)?;
    let mut data = args.data.load(ctx)?;
    if args.quick && data.train.len() > QUICK_TRAIN_EXAMPLES {
        // Strided, so every label keeps its share (data files are often grouped by label).
        let step = data.train.len().div_ceil(QUICK_TRAIN_EXAMPLES);
        data.train = data.train.into_iter().step_by(step).collect();
        data.check_labels_are_trained()?;
    }
    let latency = LatencySetup {
        seq: args.max_len,
        runs_b1: if args.quick { 5 } else { 20 },
        runs_b32: if args.quick { 2 } else { 5 },
    };
    let progress = ctx.fetch.progress;
    let job = OptimizeJob {
        model_dir: &model_dir,
        model_name: args.model.clone(),
        teacher: args.teacher.as_deref(),
        data: &data,
        out_dir: &args.out,
        steps,
        quick: args.quick,
        settings,
        backend: ctx.backend,
        progress,
        latency,
    };
    eprintln!(
        "optimizing {} on {} ({} train / {} test examples) on {}",
        args.model,
        data.name,
        data.train.len(),
        data.test.len(),
        ctx.backend.label()
    );
    let report = optimize(job, |stage| {
        if progress {
            eprintln!("── {stage}");
        }
    })?;
    println!("{}", report.markdown());
    println!(
        "report: {0}/report.md, {0}/report.json, {0}/tradeoff.svg",
        args.out.display()
    );
    Ok(())
}
