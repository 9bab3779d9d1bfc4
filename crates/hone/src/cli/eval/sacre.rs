//! `hone eval bleu` and `hone eval chrf`: sacrebleu's metrics on a
//! hypothesis file and one or more reference files, printed as sacrebleu's
//! text (`BLEU = 33.21 68.2/41.0/26.6/16.9 (BP = …)`) or its JSON keys.

use std::path::{Path, PathBuf};

use clap::Args;
use hone::metrics::{Bleu, BleuScore, Chrf, Smoothing};
use serde::Serialize;

use super::input::{Items, read_aligned, usage};
use super::print_json;
use crate::cli::Failure;

#[derive(Debug, Args)]
pub struct BleuArgs {
    /// System output, one segment per line.
    #[arg(long, value_name = "FILE")]
    pub hyp: PathBuf,
    /// References, one segment per line, aligned with --hyp; repeat for several references.
    #[arg(long = "ref", value_name = "FILE", required = true)]
    pub refs: Vec<PathBuf>,
    /// sacrebleu's tokenizer.
    #[arg(long, default_value = "13a", value_parser = ["13a", "intl", "none", "char"])]
    pub tokenize: String,
    /// Lowercase hypotheses and references first.
    #[arg(long)]
    pub lowercase: bool,
    /// Smoothing of n-gram orders without matches.
    #[arg(long, default_value = "exp", value_parser = ["exp", "floor", "add-k", "none"])]
    pub smooth: String,
    /// Value for floor (default 0.1) or add-k (default 1) smoothing.
    #[arg(long, value_name = "V")]
    pub smooth_value: Option<f64>,
    /// Print sentence BLEU for every line (effective order, as `sacrebleu --sentence-level`).
    #[arg(long)]
    pub sentence: bool,
    /// Print one JSON object with sacrebleu's keys.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ChrfArgs {
    /// System output, one segment per line.
    #[arg(long, value_name = "FILE")]
    pub hyp: PathBuf,
    /// References, one segment per line, aligned with --hyp; repeat for several references.
    #[arg(long = "ref", value_name = "FILE", required = true)]
    pub refs: Vec<PathBuf>,
    /// Word n-gram order: 0 for chrF, 2 for chrF++.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub word_order: u8,
    /// Lowercase hypotheses and references first.
    #[arg(long)]
    pub lowercase: bool,
    /// Print one JSON object with sacrebleu's keys.
    #[arg(long)]
    pub json: bool,
}

/// Hypotheses and sacrebleu's reference streams (`refs[k][i]`: k-th reference of line i).
struct Texts {
    hyps: Vec<String>,
    refs: Vec<Vec<String>>,
}

fn read_texts(hyp: &Path, refs: &[PathBuf]) -> Result<Texts, Failure> {
    let mut paths = vec![hyp];
    paths.extend(refs.iter().map(PathBuf::as_path));
    let mut files = read_aligned(&paths)?
        .into_iter()
        .map(|Items { lines, .. }| lines);
    let hyps = files.next().expect("the hypothesis file was read");
    Ok(Texts {
        hyps,
        refs: files.collect(),
    })
}

/// sacrebleu's verbose BLEU line, with the score to two decimals.
fn bleu_line(s: &BleuScore) -> String {
    let precisions: Vec<String> = s.precisions.iter().map(|p| format!("{p:.1}")).collect();
    let ratio = if s.ref_len > 0 {
        s.sys_len as f64 / s.ref_len as f64
    } else {
        0.0
    };
    format!(
        "BLEU = {:.2} {} (BP = {:.3} ratio = {ratio:.3} hyp_len = {} ref_len = {})",
        s.score,
        precisions.join("/"),
        s.bp,
        s.sys_len,
        s.ref_len
    )
}

#[derive(Serialize)]
struct SentenceReport<'a> {
    signature: &'a str,
    sentences: &'a [BleuScore],
}

pub fn run_bleu(args: BleuArgs) -> Result<(), Failure> {
    let smoothing = Smoothing::from_name(&args.smooth, args.smooth_value).map_err(usage)?;
    let bleu = Bleu {
        tokenizer: args.tokenize.parse().map_err(usage)?,
        lowercase: args.lowercase,
        smoothing,
        // sacrebleu's --sentence-level turns effective order on.
        effective_order: args.sentence,
        ..Bleu::default()
    };
    let t = read_texts(&args.hyp, &args.refs)?;
    if !args.sentence {
        let score = bleu.corpus_score(&t.hyps, &t.refs).map_err(usage)?;
        if args.json {
            return print_json(&score);
        }
        println!("{}", bleu_line(&score));
        println!("signature: {}", score.signature);
        return Ok(());
    }
    let scores = (0..t.hyps.len())
        .map(|i| {
            let refs: Vec<&str> = t.refs.iter().map(|stream| stream[i].as_str()).collect();
            bleu.sentence_score(&t.hyps[i], &refs)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(usage)?;
    let signature = scores[0].signature.clone();
    if args.json {
        return print_json(&SentenceReport {
            signature: &signature,
            sentences: &scores,
        });
    }
    for s in &scores {
        println!("{}", bleu_line(s));
    }
    println!("signature: {signature}");
    Ok(())
}

pub fn run_chrf(args: ChrfArgs) -> Result<(), Failure> {
    let chrf = Chrf {
        word_order: args.word_order.into(),
        lowercase: args.lowercase,
        ..Chrf::default()
    };
    let t = read_texts(&args.hyp, &args.refs)?;
    let score = chrf.corpus_score(&t.hyps, &t.refs).map_err(usage)?;
    if args.json {
        return print_json(&score);
    }
    println!("{} = {:.2}", score.name, score.score);
    println!("signature: {}", score.signature);
    Ok(())
}
