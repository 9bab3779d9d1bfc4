//! `hone embed` and `hone similarity`: sentence embeddings of the lines of a
//! file (stdin by default), one per line, and their cosine-similarity table.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use hone::backend::{BackendJob, dispatch};
use hone::embed::{DEFAULT_BATCH, SentenceEncoder, cosine};
use hone::models::resolve_model;
use indicatif::{ProgressBar, ProgressStyle};

use super::{Context, Failure};

#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// A known model name (fetched on first use) or a model folder (config.json, model.safetensors, tokenizer.json).
    #[arg(long, default_value = "minilm-l6")]
    pub model: String,
    /// One sentence per line (default: stdin).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Print each embedding as a JSON array (default: space-separated floats).
    #[arg(long)]
    pub json: bool,
    /// Sentences per forward pass.
    #[arg(long, default_value_t = DEFAULT_BATCH)]
    pub batch_size: usize,
}

#[derive(Debug, Args)]
pub struct SimilarityArgs {
    #[arg(long, default_value = "minilm-l6")]
    pub model: String,
    /// One sentence per line (default: stdin).
    #[arg(long)]
    pub input: Option<PathBuf>,
}

pub fn read_lines(input: Option<&Path>) -> anyhow::Result<Vec<String>> {
    let lines: std::io::Result<Vec<String>> = match input {
        Some(path) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            std::io::BufReader::new(file).lines().collect()
        }
        None => std::io::stdin().lock().lines().collect(),
    };
    let source = input.map_or("stdin".to_string(), |p| p.display().to_string());
    lines.with_context(|| format!("cannot read {source} (is it UTF-8 text?)"))
}

struct EmbedJob<'a> {
    dir: &'a Path,
    lines: &'a [String],
    batch_size: usize,
    progress: bool,
}

impl BackendJob for EmbedJob<'_> {
    type Output = hone::Result<Vec<Vec<f32>>>;
    fn run<B: burn::prelude::Backend>(self, device: B::Device) -> Self::Output {
        let encoder = SentenceEncoder::<B>::load(self.dir, &device)?;
        let bar = if self.progress && self.lines.len() > self.batch_size {
            ProgressBar::new(self.lines.len() as u64).with_style(
                ProgressStyle::with_template(
                    "embedding [{bar:30}] {pos}/{len} sentences {per_sec} eta {eta}",
                )
                .expect("static template"),
            )
        } else {
            ProgressBar::hidden()
        };
        let texts: Vec<&str> = self.lines.iter().map(String::as_str).collect();
        let out = encoder.embed(&texts, self.batch_size, |n| bar.inc(n as u64));
        bar.finish_and_clear();
        out
    }
}

fn embed_lines(
    ctx: &Context,
    model: &str,
    lines: &[String],
    batch_size: usize,
) -> Result<Vec<Vec<f32>>, Failure> {
    if batch_size == 0 {
        return Err(Failure::Usage("--batch-size must be at least 1".into()));
    }
    let dir = resolve_model(model, &ctx.cache, &ctx.fetch)?;
    if hone::compress::quant::is_quantized(&dir) {
        // Quantized folders run on hone's CPU engine, whatever --backend says.
        let encoder = hone::fast::FastEncoder::load(&dir)?;
        let texts: Vec<&str> = lines.iter().map(String::as_str).collect();
        return Ok(encoder.embed(&texts, batch_size, |_| {})?);
    }
    let job = EmbedJob {
        dir: &dir,
        lines,
        batch_size,
        progress: ctx.fetch.progress,
    };
    Ok(dispatch(ctx.backend, job)??)
}

pub fn run_embed(ctx: &Context, args: EmbedArgs) -> Result<(), Failure> {
    let lines = read_lines(args.input.as_deref())?;
    let vectors = embed_lines(ctx, &args.model, &lines, args.batch_size)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for v in vectors {
        if args.json {
            serde_json::to_writer(&mut out, &v)?;
        } else {
            let text: Vec<String> = v.iter().map(|x| format!("{x:.7}")).collect();
            out.write_all(text.join(" ").as_bytes())?;
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

pub fn run_similarity(ctx: &Context, args: SimilarityArgs) -> Result<(), Failure> {
    let lines: Vec<String> = read_lines(args.input.as_deref())?
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .collect();
    if lines.is_empty() {
        return Err(Failure::Usage("no sentences to compare".into()));
    }
    let vectors = embed_lines(ctx, &args.model, &lines, DEFAULT_BATCH)?;
    for (i, line) in lines.iter().enumerate() {
        println!("[{i}] {line}");
    }
    print!("\n{:>6}", "");
    for j in 0..lines.len() {
        print!("{:>6}", format!("[{j}]"));
    }
    println!();
    for i in 0..lines.len() {
        print!("{:>6}", format!("[{i}]"));
        for j in 0..lines.len() {
            print!("{:>6.2}", cosine(&vectors[i], &vectors[j]));
        }
        println!();
    }
    let best = (0..lines.len())
        .flat_map(|i| (i + 1..lines.len()).map(move |j| (i, j)))
        .max_by(|a, b| {
            cosine(&vectors[a.0], &vectors[a.1]).total_cmp(&cosine(&vectors[b.0], &vectors[b.1]))
        });
    if let Some((i, j)) = best {
        println!(
            "\nmost similar: [{i}] and [{j}] (cosine {:.3})",
            cosine(&vectors[i], &vectors[j])
        );
    }
    Ok(())
}
