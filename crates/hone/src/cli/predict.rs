//! `hone predict --model DIR`: label each line of stdin (or --input) with a
//! fine-tuned classifier; `--proba` adds the probability of each label.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use hone::backend::{BackendJob, dispatch};
use hone::data::tokenize::TextTokenizer;
use hone::tasks::classify::{ClassifierInfo, TextClassifier, argmax, predict_proba};

use super::embed::read_lines;
use super::{Context, Failure};

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// A folder written by `hone finetune`.
    #[arg(long)]
    pub model: PathBuf,
    /// One text per line (default: stdin).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Print `label<TAB>p(label1) p(label2) …` (labels in the order of the model's label map).
    #[arg(long)]
    pub proba: bool,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Read a long text as up to N windows and average their probabilities
    /// (default: as the model folder says, usually 1).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub windows: Option<u32>,
}

/// A fine-tuned classifier and its tokenizer, loaded for inference.
pub struct LoadedClassifier<B: burn::prelude::Backend> {
    pub model: TextClassifier<B>,
    pub tokenizer: TextTokenizer,
    pub info: ClassifierInfo,
}

pub fn load_classifier<B: burn::prelude::Backend>(
    dir: &Path,
    windows: Option<usize>,
    device: &B::Device,
) -> hone::Result<LoadedClassifier<B>> {
    let (model, _, mut info) = TextClassifier::<B>::load(dir, device)?;
    info.windows = windows.unwrap_or(info.windows);
    let tokenizer = info.tokenizer(dir)?;
    Ok(LoadedClassifier {
        model,
        tokenizer,
        info,
    })
}

struct PredictJob<'a> {
    dir: &'a Path,
    lines: &'a [String],
    batch_size: usize,
    windows: Option<usize>,
}

impl BackendJob for PredictJob<'_> {
    type Output = hone::Result<(Vec<String>, Vec<Vec<f32>>)>;
    fn run<B: burn::prelude::Backend>(self, device: B::Device) -> Self::Output {
        let c = load_classifier::<B>(self.dir, self.windows, &device)?;
        let texts: Vec<&str> = self.lines.iter().map(String::as_str).collect();
        let probs = predict_proba(&c.model, &c.tokenizer, &texts, self.batch_size, &device)
            .map_err(hone::Error::from)?;
        Ok((c.info.labels, probs))
    }
}

/// Labels and class probabilities of `texts` from the classifier in `dir`:
/// a quantized folder runs on hone's CPU engine, an f32 one on --backend.
/// `windows` overrides the folder's number of windows per long text.
pub fn classify_texts(
    ctx: &Context,
    dir: &Path,
    lines: &[String],
    batch_size: usize,
    windows: Option<usize>,
) -> Result<(Vec<String>, Vec<Vec<f32>>), Failure> {
    if hone::compress::quant::is_quantized(dir) {
        let mut c = hone::fast::FastClassifier::load(dir)?;
        if let Some(n) = windows {
            c = c.with_windows(n);
        }
        let texts: Vec<&str> = lines.iter().map(String::as_str).collect();
        let probs = c.predict_proba(&texts, batch_size)?;
        return Ok((c.info.labels, probs));
    }
    Ok(dispatch(
        ctx.backend,
        PredictJob {
            dir,
            lines,
            batch_size,
            windows,
        },
    )??)
}

pub fn run(ctx: &Context, args: PredictArgs) -> Result<(), Failure> {
    let lines = read_lines(args.input.as_deref())?;
    let windows = args.windows.map(|n| n as usize);
    let (labels, probs) = classify_texts(ctx, &args.model, &lines, args.batch_size, windows)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for p in &probs {
        let label = &labels[argmax(p)];
        if args.proba {
            let ps: Vec<String> = p.iter().map(|v| format!("{v:.4}")).collect();
            writeln!(out, "{label}\t{}", ps.join(" "))?;
        } else {
            writeln!(out, "{label}")?;
        }
    }
    out.flush()?;
    Ok(())
}
