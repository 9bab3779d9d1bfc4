//! `hone soup`: average the weights of several classifiers fine-tuned from
//! the same starting weights (seeds of one recipe, or LP-FT runs that share
//! a probe head) and with the same input settings into one
//! classifier folder — a model soup, uniform or greedy on validation
//! accuracy — and score it against its ingredients.

use std::path::PathBuf;

use clap::Args;
use hone::backend::{BackendJob, dispatch};
use hone::tasks::classify::{SoupJob, SoupMetrics, SoupRecipe, make_soup};

use super::train_args::DataArgs;
use super::{Context, Failure};

#[derive(Debug, Args)]
pub struct SoupArgs {
    /// A folder written by `hone finetune`; give two or more.
    #[arg(long = "model", value_name = "DIR", required = true)]
    pub models: Vec<PathBuf>,
    /// The data set the models were fine-tuned on (its validation split
    /// chooses, its test split scores).
    #[command(flatten)]
    pub data: DataArgs,
    /// Output classifier folder (must not exist, or be empty).
    #[arg(long)]
    pub out: PathBuf,
    /// uniform: average all; greedy: add models best-first while validation
    /// accuracy does not drop.
    #[arg(long, default_value = "uniform")]
    pub recipe: String,
    /// Print metrics.json to stdout when done.
    #[arg(long)]
    pub json: bool,
}

struct Job<'a> {
    job: Option<SoupJob<'a>>,
}

impl BackendJob for Job<'_> {
    type Output = hone::tasks::Result<SoupMetrics>;
    fn run<B: burn::prelude::Backend>(mut self, device: B::Device) -> Self::Output {
        make_soup::<B>(self.job.take().expect("run once"), &device)
    }
}

pub fn run(ctx: &Context, args: SoupArgs) -> Result<(), Failure> {
    let recipe: SoupRecipe = args.recipe.parse().map_err(Failure::Usage)?;
    if args.models.len() < 2 {
        return Err(Failure::Usage(
            "a soup needs two or more --model folders".into(),
        ));
    }
    let data = args.data.load(ctx)?;
    eprintln!(
        "averaging {} models ({} recipe) on {} on {}",
        args.models.len(),
        args.recipe,
        data.name,
        ctx.backend.label()
    );
    let progress = |line: &str| eprintln!("{line}");
    let job = SoupJob {
        ingredients: &args.models,
        data: &data,
        out_dir: &args.out,
        recipe,
        backend: ctx.backend.label().to_string(),
        progress: &progress,
    };
    let metrics = dispatch(ctx.backend, Job { job: Some(job) })??;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&metrics)?);
        return Ok(());
    }
    let mean = |f: fn(&hone::tasks::classify::IngredientScores) -> f64| {
        metrics.ingredients.iter().map(f).sum::<f64>() / metrics.ingredients.len() as f64
    };
    println!(
        "soup of {} / {} models — test: accuracy {:.4}, macro-F1 {:.4}; validation: accuracy {:.4} \
         (ingredients' mean: test {:.4}, validation {:.4}); written to {}",
        metrics.ingredients.iter().filter(|i| i.in_soup).count(),
        metrics.ingredients.len(),
        metrics.test.accuracy,
        metrics.test.macro_f1,
        metrics.validation.accuracy,
        mean(|i| i.test.accuracy),
        mean(|i| i.validation.accuracy),
        args.out.display()
    );
    Ok(())
}
