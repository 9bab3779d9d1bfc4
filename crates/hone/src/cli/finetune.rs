//! `hone finetune`: fine-tune a pretrained encoder (MiniLM by default) for
//! text classification on a built-in data set or a user table, writing a
//! model folder with its run log, curves and `metrics.json`.

use std::path::PathBuf;

use clap::Args;
use hone::backend::{TrainJob, dispatch_train};
use hone::models::resolve_model;
use hone::tasks::classify::{FinetuneJob, FinetuneMetrics, HeadInit, finetune, probe_cache};

use super::train_args::{DataArgs, TrainArgs, print_metrics, run_options, wordnet_for};
use super::{Context, Failure};

#[derive(Debug, Args)]
pub struct FinetuneArgs {
    /// A known model name (fetched on first use), a model folder, or a
    /// classifier hone wrote (training continues from its head).
    #[arg(long, default_value = "minilm-l6")]
    pub model: String,
    #[command(flatten)]
    pub data: DataArgs,
    /// Output folder: model, tokenizer, label map, run log, curves, metrics.json.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub train: TrainArgs,
    /// random | probe: fit the new head by logistic regression on the frozen
    /// encoder's pooled training features before fine-tuning (LP-FT); the fit
    /// is recorded in head_probe.json.
    #[arg(long, default_value = "random")]
    pub head_init: String,
    /// Compute the probe's training features even when an earlier run with
    /// the same encoder, data and reading left them in the cache
    /// ($HONE_CACHE/probe-features).
    #[arg(long)]
    pub no_probe_cache: bool,
    /// Compute the frozen bottom's activations (embeddings and the layers
    /// below --freeze-below) of every training piece once, before training,
    /// and run only the trained layers each step. Faster, and the frozen
    /// layers then run without dropout; not with augmentation.
    #[arg(long)]
    pub cache_frozen: bool,
    /// Continue the run in --out from its latest checkpoint (same options).
    #[arg(long)]
    pub resume: bool,
    /// Print metrics.json to stdout when done.
    #[arg(long)]
    pub json: bool,
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
    let mut config = args.train.config()?;
    config.head_init = args.head_init.parse::<HeadInit>().map_err(Failure::Usage)?;
    config.cache_frozen = args.cache_frozen;
    if !args.no_probe_cache {
        config.probe_cache = Some(probe_cache::cache_dir(ctx.cache.root()));
    }
    let model_dir = resolve_model(&args.model, &ctx.cache, &ctx.fetch)?;
    let data = args.data.load(ctx)?;
    let wordnet = wordnet_for(ctx, &config)?;
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
        options: run_options(ctx, args.resume),
    };
    let metrics = dispatch_train(ctx.backend, Job { job: Some(job) })??;
    print_metrics(&metrics, &args.out, args.json)
}
