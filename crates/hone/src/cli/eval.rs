//! `hone eval`: score system outputs read from files, one item per line,
//! with hone-metrics — classification reports, BLEU and chrF as sacrebleu
//! computes them, ROUGE as rouge-score does (with bootstrap intervals), and
//! paired significance tests between two systems. `--json` prints one object
//! under the reference tools' key names.

mod classify;
mod compare;
mod input;
mod rouge;
mod sacre;

use clap::{Args, Subcommand};
use hone::metrics::{BootstrapConfig, DEFAULT_SEED};

use super::Failure;

#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(subcommand)]
    pub command: EvalCommand,
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Accuracy, precision/recall/F1 per class and averaged (scikit-learn's numbers).
    Classify(classify::ClassifyArgs),
    /// Corpus BLEU as `sacrebleu -m bleu` (or per-line sentence BLEU).
    Bleu(sacre::BleuArgs),
    /// Corpus chrF or chrF++ as `sacrebleu -m chrf`.
    Chrf(sacre::ChrfArgs),
    /// ROUGE-1/2/L/Lsum as rouge-score: the mean of per-item scores, with bootstrap intervals.
    Rouge(rouge::RougeArgs),
    /// Compare systems A and B on the same items: scores, difference, p-values, intervals.
    Compare(compare::CompareArgs),
}

/// Settings of the resampling parts (bootstrap intervals and paired tests).
#[derive(Debug, Args)]
pub struct ResampleArgs {
    /// Seed of the resampling random stream.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Bootstrap resamples (`eval rouge --resamples 0` skips the intervals).
    #[arg(long, default_value_t = BootstrapConfig::default().n_resamples)]
    pub resamples: usize,
}

impl ResampleArgs {
    fn bootstrap(&self) -> BootstrapConfig {
        BootstrapConfig {
            n_resamples: self.resamples,
            seed: self.seed,
            ..BootstrapConfig::default()
        }
    }
}

pub fn run(ctx: &super::Context, args: EvalArgs) -> Result<(), Failure> {
    match args.command {
        EvalCommand::Classify(a) => classify::run(ctx, a),
        EvalCommand::Bleu(a) => sacre::run_bleu(a),
        EvalCommand::Chrf(a) => sacre::run_chrf(a),
        EvalCommand::Rouge(a) => rouge::run(a),
        EvalCommand::Compare(a) => compare::run(a),
    }
}

/// Prints one JSON object on one line.
fn print_json<T: serde::Serialize>(value: &T) -> Result<(), Failure> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}
