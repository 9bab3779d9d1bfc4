//! `hone data --data NAME|PATH`: read a data set, report every skipped row
//! with its location, and print the class counts of the documented split.
//! `--export DIR` also writes the split as `train.jsonl`, `validation.jsonl`
//! and `test.jsonl`, so a baseline outside hone (scikit-learn, Hugging Face)
//! can be scored on exactly the examples hone's figures come from.

use std::path::{Path, PathBuf};

use clap::Args;
use hone::data::datasets::{Dataset, load};
use hone::data::split::SPLIT_SEED;

use super::{Context, Failure};

#[derive(Debug, Args)]
pub struct DataArgs {
    #[command(flatten)]
    pub data: super::train_args::DataArgs,
    /// Seed of the stratified 70/10/20 split.
    #[arg(long, default_value_t = SPLIT_SEED)]
    pub seed: u64,
    /// Also write the split to DIR as train.jsonl, validation.jsonl and test.jsonl:
    /// one `{"index", "text", "label"}` object per line. With the default --seed this is
    /// the split `hone finetune` and `hone eval` use, in the order they score it (`index`
    /// is the one `hone eval classify --predictions` reports).
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
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
    if let Some(dir) = &args.export {
        for (name, idx) in [
            ("train", &split.train),
            ("validation", &split.validation),
            ("test", &split.test),
        ] {
            let path = dir.join(format!("{name}.jsonl"));
            export_part(ds, idx, &path)?;
            println!("wrote {} ({} examples)", path.display(), idx.len());
        }
    }
    Ok(())
}

/// Writes the examples `idx` of `ds` to `path` as JSON lines, atomically.
fn export_part(ds: &Dataset, idx: &[usize], path: &Path) -> Result<(), Failure> {
    let mut out = String::new();
    for (index, &i) in idx.iter().enumerate() {
        let example = &ds.examples[i];
        let record = serde_json::json!({
            "index": index,
            "text": example.text,
            "label": ds.labels[example.label],
        });
        out.push_str(&record.to_string());
        out.push('\n');
    }
    hone_train::log::write_atomically(path, out.as_bytes()).map_err(|e| {
        Failure::Run(anyhow::anyhow!(
            "cannot write the split to {}: {e}",
            path.display()
        ))
    })
}
