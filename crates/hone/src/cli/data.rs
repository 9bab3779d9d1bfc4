//! `hone data --data NAME|PATH`: read a data set, report every skipped row
//! with its location, and print the class counts of the documented split.

use clap::Args;
use hone::data::datasets::load;
use hone::data::split::SPLIT_SEED;

use super::{Context, Failure};

#[derive(Debug, Args)]
pub struct DataArgs {
    #[command(flatten)]
    pub data: super::train_args::DataArgs,
    /// Seed of the stratified 70/10/20 split.
    #[arg(long, default_value_t = SPLIT_SEED)]
    pub seed: u64,
}

pub fn run(ctx: &Context, args: DataArgs) -> Result<(), Failure> {
    let loaded = load(&args.data.data, &args.data.table(), &ctx.cache, &ctx.fetch)?;
    for bad in &loaded.skipped {
        eprintln!("skipped {bad}");
    }
    let ds = &loaded.dataset;
    let split = ds.split(args.seed);
    println!(
        "{}: {} examples, {} skipped, {} labels",
        ds.name,
        ds.examples.len(),
        loaded.skipped.len(),
        ds.labels.len()
    );
    println!(
        "{:16} {:>7} {:>7} {:>7} {:>7}",
        "label", "all", "train", "val", "test"
    );
    for (i, label) in ds.labels.iter().enumerate() {
        let count = |idx: &[usize]| idx.iter().filter(|&&j| ds.examples[j].label == i).count();
        let all = ds.examples.iter().filter(|e| e.label == i).count();
        println!(
            "{label:16} {all:>7} {:>7} {:>7} {:>7}",
            count(&split.train),
            count(&split.validation),
            count(&split.test)
        );
    }
    println!(
        "{:16} {:>7} {:>7} {:>7} {:>7}",
        "total",
        ds.examples.len(),
        split.train.len(),
        split.validation.len(),
        split.test.len()
    );
    Ok(())
}
