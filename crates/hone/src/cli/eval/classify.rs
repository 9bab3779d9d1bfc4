//! `hone eval classify`: scikit-learn's classification report, either of
//! two label files (`--gold FILE --pred FILE`, one string label per line)
//! or of a fine-tuned model on a data set's test split (`--model DIR --data
//! NAME|PATH`; a quantized folder runs on hone's CPU engine). Both modes' flags are optional to clap and checked here.
//! With a model, `--predictions FILE` keeps every example's gold label,
//! prediction and probabilities as JSON lines, so the errors behind an
//! accuracy can be read and compared between models.

use std::path::PathBuf;

use clap::Args;
use hone::metrics::{Averages, ClassificationReport, classification_report};

use hone::data::datasets::{TableOptions, load};
use hone::tasks::classify::{ClassifyData, argmax};

use super::input::{read_aligned, usage};
use super::print_json;
use crate::cli::predict::classify_texts;
use crate::cli::{Context, Failure};

/// Scores the model in `dir` on one split of `data`. The data set's labels
/// are matched to the model's by name; a label the model does not know is
/// an error.
fn score_model(
    ctx: &Context,
    dir: &std::path::Path,
    data: &str,
    args: &ClassifyArgs,
) -> Result<ClassificationReport, Failure> {
    let table = TableOptions {
        text_col: args.text_col.clone(),
        label_col: args.label_col.clone(),
    };
    let loaded = load(data, &table, &ctx.cache, &ctx.fetch)?;
    let data = ClassifyData::from_dataset(loaded.dataset)?;
    let examples = match args.split.as_str() {
        "test" => &data.test,
        "validation" => &data.validation,
        "train" => &data.train,
        other => {
            return Err(Failure::Usage(format!(
                "--split {other:?}: expected test, validation or train"
            )));
        }
    };
    let info = hone::tasks::classify::read_info(dir)?;
    let mut gold = Vec::with_capacity(examples.len());
    for e in examples {
        let name = &data.labels[e.label];
        if !info.labels.contains(name) {
            return Err(Failure::Run(anyhow::anyhow!(
                "the data has label {name:?}, which the model in {} does not know (its labels: {})",
                dir.display(),
                info.labels.join(", ")
            )));
        }
        gold.push(name.as_str());
    }
    let texts: Vec<String> = examples.iter().map(|e| e.text.clone()).collect();
    let windows = args.windows.map(|n| n as usize);
    let (labels, probs) = classify_texts(ctx, dir, &texts, 64, windows)?;
    let predicted: Vec<&str> = probs.iter().map(|p| labels[argmax(p)].as_str()).collect();
    let report = classification_report(&gold, &predicted)?;
    if let Some(path) = &args.predictions {
        write_predictions(path, &texts, &gold, &predicted, &labels, &probs)?;
    }
    Ok(report)
}

/// One example of the scored split, as `--predictions` writes it.
#[derive(serde::Serialize)]
struct Prediction<'a> {
    /// Position in the split (the order `hone finetune` scores it in).
    index: usize,
    gold: &'a str,
    predicted: &'a str,
    correct: bool,
    /// The model's probability of each of its labels.
    probabilities: std::collections::BTreeMap<&'a str, f32>,
    text: &'a str,
}

/// Writes one JSON line per example to `path`, all at once (temp file and
/// rename), so a failed run leaves no partial file behind.
fn write_predictions(
    path: &std::path::Path,
    texts: &[String],
    gold: &[&str],
    predicted: &[&str],
    labels: &[String],
    probs: &[Vec<f32>],
) -> Result<(), Failure> {
    let mut out = String::new();
    let rows = texts.iter().zip(gold).zip(predicted).zip(probs);
    for (index, (((text, gold), predicted), p)) in rows.enumerate() {
        let record = Prediction {
            index,
            gold,
            predicted,
            correct: predicted == gold,
            probabilities: labels
                .iter()
                .map(String::as_str)
                .zip(p.iter().copied())
                .collect(),
            text,
        };
        out.push_str(&serde_json::to_string(&record)?);
        out.push('\n');
    }
    hone_train::log::write_atomically(path, out.as_bytes()).map_err(|e| {
        Failure::Run(anyhow::anyhow!(
            "cannot write the predictions to {}: {e}",
            path.display()
        ))
    })
}

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Gold labels, one per line.
    #[arg(long, value_name = "FILE")]
    pub gold: Option<PathBuf>,
    /// Predicted labels, one per line, aligned with --gold.
    #[arg(long, value_name = "FILE")]
    pub pred: Option<PathBuf>,
    /// A folder written by `hone finetune` (instead of --gold/--pred).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["gold", "pred"])]
    pub model: Option<PathBuf>,
    /// With --model: a built-in data set or a CSV/TSV/JSONL file.
    #[arg(long, requires = "model")]
    pub data: Option<String>,
    /// With --model: the split to score (test, validation, train).
    #[arg(long, default_value = "test")]
    pub split: String,
    #[arg(long, default_value = "text")]
    pub text_col: String,
    #[arg(long, default_value = "label")]
    pub label_col: String,
    /// With --model: read a long text as up to N windows and average their
    /// probabilities (default: as the model folder says, usually 1).
    #[arg(long, requires = "model", value_parser = clap::value_parser!(u32).range(1..))]
    pub windows: Option<u32>,
    /// With --model: also write every example's gold label, prediction,
    /// probabilities and text to FILE, one JSON object per line.
    #[arg(long, value_name = "FILE", requires = "model")]
    pub predictions: Option<PathBuf>,
    /// Print one JSON object (accuracy, macro/micro/weighted, per_class, mcc, support).
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Context, args: ClassifyArgs) -> Result<(), Failure> {
    let report = if let Some(model) = &args.model {
        let Some(data) = &args.data else {
            return Err(Failure::Usage(
                "`hone eval classify --model DIR` needs --data NAME|PATH".into(),
            ));
        };
        score_model(ctx, model, data, &args)?
    } else {
        let (Some(gold), Some(pred)) = (&args.gold, &args.pred) else {
            return Err(Failure::Usage(
                "`hone eval classify` needs --gold FILE and --pred FILE, or --model DIR and --data NAME"
                    .into(),
            ));
        };
        let files = read_aligned(&[gold, pred])?;
        classification_report(&files[0].lines, &files[1].lines).map_err(usage)?
    };
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
