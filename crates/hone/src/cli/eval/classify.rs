//! `hone eval classify --gold FILE --pred FILE`: scikit-learn's
//! classification report for string labels, one per line. `--gold` and
//! `--pred` are optional to clap and checked here, because another mode
//! (`--model DIR --data …`) will score a model without a prediction file.

use std::path::PathBuf;

use clap::Args;
use hone::metrics::{Averages, ClassificationReport, classification_report};

use super::input::{read_aligned, usage};
use super::print_json;
use crate::cli::Failure;

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Gold labels, one per line.
    #[arg(long, value_name = "FILE")]
    pub gold: Option<PathBuf>,
    /// Predicted labels, one per line, aligned with --gold.
    #[arg(long, value_name = "FILE")]
    pub pred: Option<PathBuf>,
    /// Print one JSON object (accuracy, macro/micro/weighted, per_class, mcc, support).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ClassifyArgs) -> Result<(), Failure> {
    let (Some(gold), Some(pred)) = (&args.gold, &args.pred) else {
        return Err(Failure::Usage(
            "`hone eval classify` needs both --gold FILE and --pred FILE".into(),
        ));
    };
    let files = read_aligned(&[gold, pred])?;
    let report = classification_report(&files[0].lines, &files[1].lines).map_err(usage)?;
    if args.json {
        return print_json(&report);
    }
    print_report(&report);
    Ok(())
}

/// scikit-learn's `classification_report` layout, with four decimals.
fn print_report(r: &ClassificationReport) {
    let width = r
        .per_class
        .iter()
        .map(|c| c.label.chars().count())
        .chain([12])
        .max()
        .unwrap_or(12);
    println!(
        "{:width$} {:>9} {:>9} {:>9} {:>9}",
        "", "precision", "recall", "f1-score", "support"
    );
    for c in &r.per_class {
        println!(
            "{:width$} {:>9.4} {:>9.4} {:>9.4} {:>9}",
            c.label, c.precision, c.recall, c.f1, c.support
        );
    }
    println!();
    println!(
        "{:width$} {:>9} {:>9} {:>9.4} {:>9}",
        "accuracy", "", "", r.accuracy, r.support
    );
    let avg = |name: &str, a: &Averages| {
        println!(
            "{name:width$} {:>9.4} {:>9.4} {:>9.4} {:>9}",
            a.precision, a.recall, a.f1, r.support
        )
    };
    avg("macro avg", &r.macro_avg);
    avg("micro avg", &r.micro);
    avg("weighted avg", &r.weighted);
    println!("{:width$} {:>9} {:>9} {:>9.4}", "mcc", "", "", r.mcc);
}
