//! `hone eval compare --gold FILE --a FILE --b FILE --metric M`: is system B
//! better than system A on the same items? Text metrics get sacrebleu's two
//! paired tests (bootstrap resampling and approximate randomization);
//! classification metrics get McNemar's test and the paired bootstrap. Both
//! systems' scores come with bootstrap intervals drawn from the same
//! resamples as the paired bootstrap.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use hone::metrics::{
    Bleu, Chrf, ClassMetric, ClassificationStatistic, ConfidenceInterval, CorpusStatistic,
    DEFAULT_AR_TRIALS, McNemarMethod, McNemarResult, Mean, NRefs, PairedResult, ResamplingInfo,
    Rouge, bootstrap_ci, mcnemar, paired_approximate_randomization, paired_bootstrap,
};
use serde_json::json;

use super::input::{read_aligned, usage};
use super::{ResampleArgs, print_json};
use crate::cli::Failure;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareMetric {
    Bleu,
    Chrf,
    #[value(name = "rouge-l")]
    RougeL,
    Accuracy,
    #[value(name = "macro-f1")]
    MacroF1,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// References (text metrics) or gold labels (accuracy, macro-f1), one per line.
    #[arg(long, value_name = "FILE")]
    pub gold: PathBuf,
    /// Output of system A, the baseline, aligned with --gold.
    #[arg(long, value_name = "FILE")]
    pub a: PathBuf,
    /// Output of system B, aligned with --gold.
    #[arg(long, value_name = "FILE")]
    pub b: PathBuf,
    /// What to compare on.
    #[arg(long, value_enum, default_value_t = CompareMetric::Bleu)]
    pub metric: CompareMetric,
    #[command(flatten)]
    pub resample: ResampleArgs,
    /// Trials of the approximate randomization test (text metrics).
    #[arg(long, default_value_t = DEFAULT_AR_TRIALS)]
    pub ar_trials: usize,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Everything a comparison reports.
struct Outcome {
    name: &'static str,
    /// Decimals to print: 2 on the 0-100 scale of BLEU and chrF, 4 on 0-1.
    digits: usize,
    signature: Option<String>,
    a: ConfidenceInterval,
    bootstrap: PairedResult,
    randomization: Option<PairedResult>,
    mcnemar: Option<McNemarResult>,
}

/// Paired bootstrap (its system CI is B's), A's interval, and optionally
/// approximate randomization. With one seed, A's interval is drawn from the
/// same resamples as the paired test.
fn paired<S: CorpusStatistic>(
    stat: &S,
    a: &[S::Segment],
    b: &[S::Segment],
    r: &ResampleArgs,
    ar_trials: Option<usize>,
) -> Result<(ConfidenceInterval, PairedResult, Option<PairedResult>), Failure> {
    let cfg = r.bootstrap();
    let bootstrap = paired_bootstrap(stat, a, b, &cfg).map_err(usage)?;
    let ci_a = bootstrap_ci(stat, a, &cfg).map_err(usage)?;
    let ar = ar_trials
        .map(|n| paired_approximate_randomization(stat, a, b, n, r.seed))
        .transpose()
        .map_err(usage)?;
    Ok((ci_a, bootstrap, ar))
}

pub fn run(args: CompareArgs) -> Result<(), Failure> {
    let files = read_aligned(&[&args.gold, &args.a, &args.b])?;
    let (gold, a, b) = (&files[0].lines, &files[1].lines, &files[2].lines);
    let r = &args.resample;
    let resampling = ResamplingInfo {
        bootstrap: Some(r.resamples),
        approximate_randomization: Some(args.ar_trials),
        seed: Some(r.seed),
    };
    let refs = std::slice::from_ref(gold);
    let outcome = match args.metric {
        CompareMetric::Bleu => {
            let bleu = Bleu::default();
            let seg = |sys: &[String]| bleu.corpus_stats(sys, refs).map_err(usage);
            let (ci_a, bootstrap, ar) = paired(&bleu, &seg(a)?, &seg(b)?, r, Some(args.ar_trials))?;
            let signature = Some(bleu.signature(NRefs::Fixed(1), resampling));
            Outcome {
                name: "BLEU",
                digits: 2,
                signature,
                a: ci_a,
                bootstrap,
                randomization: ar,
                mcnemar: None,
            }
        }
        CompareMetric::Chrf => {
            let chrf = Chrf::default();
            let seg = |sys: &[String]| chrf.corpus_stats(sys, refs).map_err(usage);
            let (ci_a, bootstrap, ar) = paired(&chrf, &seg(a)?, &seg(b)?, r, Some(args.ar_trials))?;
            let signature = Some(chrf.signature(NRefs::Fixed(1), resampling));
            Outcome {
                name: "chrF2",
                digits: 2,
                signature,
                a: ci_a,
                bootstrap,
                randomization: ar,
                mcnemar: None,
            }
        }
        CompareMetric::RougeL => {
            let targets: Vec<Vec<&str>> = gold.iter().map(|g| vec![g.as_str()]).collect();
            let seg = |sys: &[String]| -> Result<Vec<f64>, Failure> {
                let items = Rouge::default().item_scores(&targets, sys).map_err(usage)?;
                Ok(items.iter().map(|s| s.rouge_l.fmeasure).collect())
            };
            let (ci_a, bootstrap, ar) = paired(&Mean, &seg(a)?, &seg(b)?, r, Some(args.ar_trials))?;
            Outcome {
                name: "ROUGE-L F",
                digits: 4,
                signature: None,
                a: ci_a,
                bootstrap,
                randomization: ar,
                mcnemar: None,
            }
        }
        CompareMetric::Accuracy | CompareMetric::MacroF1 => {
            let (metric, name) = if args.metric == CompareMetric::Accuracy {
                (ClassMetric::Accuracy, "accuracy")
            } else {
                (ClassMetric::MacroF1, "macro F1")
            };
            // Small integer ids (in label order) make each resample's confusion matrix cheap.
            let ids: BTreeMap<&str, u32> = {
                let mut all: Vec<&str> =
                    gold.iter().chain(a).chain(b).map(String::as_str).collect();
                all.sort_unstable();
                all.dedup();
                all.into_iter().zip(0..).collect()
            };
            let seg = |sys: &[String]| -> Vec<(u32, u32)> {
                gold.iter()
                    .zip(sys)
                    .map(|(g, p)| (ids[g.as_str()], ids[p.as_str()]))
                    .collect()
            };
            let stat = ClassificationStatistic::<u32>::new(metric);
            let (ci_a, bootstrap, _) = paired(&stat, &seg(a), &seg(b), r, None)?;
            let mc = mcnemar(gold, a, b, McNemarMethod::Auto).map_err(usage)?;
            Outcome {
                name,
                digits: 4,
                signature: None,
                a: ci_a,
                bootstrap,
                randomization: None,
                mcnemar: Some(mc),
            }
        }
    };
    if args.json {
        print_json(&to_json(&outcome, &args))
    } else {
        print_text(&outcome, &args);
        Ok(())
    }
}

fn to_json(o: &Outcome, args: &CompareArgs) -> serde_json::Value {
    let bs = &o.bootstrap;
    let mut out = json!({
        "metric": o.name,
        "a": o.a,
        "b": bs.system_ci,
        "difference": bs.difference,
        "paired_bootstrap": {"p_value": bs.p_value, "n_resamples": bs.n_samples, "seed": bs.seed},
        "files": {"gold": args.gold, "a": args.a, "b": args.b},
    });
    if let Some(sig) = &o.signature {
        out["signature"] = json!(sig);
    }
    if let Some(ar) = &o.randomization {
        out["approximate_randomization"] =
            json!({"p_value": ar.p_value, "n_trials": ar.n_samples, "seed": ar.seed});
    }
    if let Some(mc) = &o.mcnemar {
        out["mcnemar"] = json!(mc);
    }
    out
}

fn print_text(o: &Outcome, args: &CompareArgs) {
    let d = o.digits;
    let bs = &o.bootstrap;
    println!(
        "{} of A = {} and B = {} against {}",
        o.name,
        args.a.display(),
        args.b.display(),
        args.gold.display()
    );
    if let Some(sig) = &o.signature {
        println!("signature: {sig}");
    }
    let pct = o.a.confidence * 100.0;
    println!("{:8} {:>10}  {pct:.0}% CI (bootstrap)", "system", "score");
    let row = |label: &str, ci: &ConfidenceInterval| {
        println!(
            "{label:8} {:>10.d$}  [{:.d$}, {:.d$}]",
            ci.score, ci.lower, ci.upper
        )
    };
    row("A", &o.a);
    if let Some(ci_b) = &bs.system_ci {
        row("B", ci_b);
    }
    println!("{:8} {:>+10.d$}", "B - A", bs.difference);
    println!(
        "paired bootstrap: p = {:.4} ({} resamples, seed {})",
        bs.p_value, bs.n_samples, bs.seed
    );
    if let Some(ar) = &o.randomization {
        println!(
            "approximate randomization: p = {:.4} ({} trials, seed {})",
            ar.p_value, ar.n_samples, ar.seed
        );
    }
    if let Some(mc) = &o.mcnemar {
        println!(
            "McNemar ({}): only A right {}, only B right {}, statistic {:.4}, p = {:.4}",
            mc.method, mc.b, mc.c, mc.statistic, mc.p_value
        );
    }
}
