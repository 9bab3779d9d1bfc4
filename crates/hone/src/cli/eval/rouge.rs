//! `hone eval rouge`: ROUGE-1/2/L/Lsum as rouge-score computes them. The
//! corpus score is the mean of per-item scores (the best reference per item);
//! percentile-bootstrap intervals of those means are reported beside it, not
//! in its place (rouge-score's BootstrapAggregator reports the resampled
//! median instead).

use std::cell::RefCell;
use std::path::PathBuf;

use clap::Args;
use hone::metrics::{
    BootstrapConfig, CorpusStatistic, Mean, Rouge, RougeAccumulator, RougeScores, RougeType,
    bootstrap_ci, percentile_interval,
};
use serde_json::{Value, json};

use super::input::{read_aligned, usage};
use super::{ResampleArgs, print_json};
use crate::cli::Failure;

#[derive(Debug, Args)]
pub struct RougeArgs {
    /// System summaries, one per line.
    #[arg(long, value_name = "FILE")]
    pub hyp: PathBuf,
    /// Reference summaries, one per line, aligned with --hyp; repeat for several (the best counts).
    #[arg(long = "ref", value_name = "FILE", required = true)]
    pub refs: Vec<PathBuf>,
    /// Porter-stem tokens longer than three characters (rouge-score's use_stemmer).
    #[arg(long)]
    pub stem: bool,
    #[command(flatten)]
    pub resample: ResampleArgs,
    /// Print one JSON object with rouge-score's keys (plus `bootstrap`).
    #[arg(long)]
    pub json: bool,
}

const VARIANTS: [(RougeType, &str); 4] = [
    (RougeType::Rouge1, "rouge1"),
    (RougeType::Rouge2, "rouge2"),
    (RougeType::RougeL, "rougeL"),
    (RougeType::RougeLsum, "rougeLsum"),
];

const FIELDS: [&str; 3] = ["precision", "recall", "fmeasure"];

/// `(lower, upper)` of the mean of each variant's precision, recall and F,
/// in the order of `VARIANTS` and `FIELDS`.
type Intervals = Vec<[(f64, f64); 3]>;

/// The twelve per-item values (variant-major: P, R, F of each variant).
fn series(s: &RougeScores) -> [f64; 12] {
    let mut out = [0.0; 12];
    for (i, (ty, _)) in VARIANTS.iter().enumerate() {
        let p = s.get(*ty);
        out[3 * i..3 * i + 3].copy_from_slice(&[p.precision, p.recall, p.fmeasure]);
    }
    out
}

/// Means all twelve series at once and logs them per call, so that one
/// bootstrap run gives every interval. `bootstrap_ci` draws its resamples
/// from the seed alone, whatever the statistic, so these are the resamples
/// twelve separate `Mean` runs would draw, at a fraction of the cost (which,
/// at 100,000 items and 1000 resamples, is many seconds). The segments are
/// item indices: a resample is tallied first and the rows are then read in
/// order, because gathering 96-byte rows in random order was memory-bound.
/// Summing by multiplicity rounds differently from summing in draw order,
/// by the last bits of a double.
struct AllMeans<'a> {
    rows: &'a [[f64; 12]],
    tally: RefCell<Vec<u32>>,
    log: RefCell<Vec<[f64; 12]>>,
}

impl CorpusStatistic for AllMeans<'_> {
    type Segment = u32;
    fn score_of(&self, segments: &mut dyn Iterator<Item = &Self::Segment>) -> f64 {
        let mut tally = self.tally.borrow_mut();
        let mut n = 0u64;
        for &i in segments {
            tally[i as usize] += 1;
            n += 1;
        }
        let mut sum = [0.0f64; 12];
        for (count, row) in tally.iter_mut().zip(self.rows) {
            if *count > 0 {
                let c = f64::from(*count);
                for (a, b) in sum.iter_mut().zip(row) {
                    *a += c * b;
                }
                *count = 0;
            }
        }
        let means = sum.map(|x| if n == 0 { 0.0 } else { x / n as f64 });
        self.log.borrow_mut().push(means);
        means[0]
    }
}

fn intervals(items: &[RougeScores], cfg: &BootstrapConfig) -> Result<Intervals, Failure> {
    let rows: Vec<[f64; 12]> = items.iter().map(series).collect();
    let stat = AllMeans {
        rows: &rows,
        tally: RefCell::new(vec![0; rows.len()]),
        log: RefCell::default(),
    };
    let indices: Vec<u32> = (0..rows.len() as u32).collect();
    let first = bootstrap_ci(&stat, &indices, cfg).map_err(usage)?;
    let log = stat.log.take();
    let n = cfg.n_resamples;
    let column = |k: usize, from: &[[f64; 12]]| -> Vec<f64> { from.iter().map(|m| m[k]).collect() };
    // The log holds the resamples, then the full-data score; check that
    // reading before trusting it, and fall back to one run per series.
    let log_is_resamples = log.len() == n + 1
        && log[n][0] == first.score
        && percentile_interval(&column(0, &log[..n]), cfg.confidence).map_err(usage)?
            == (first.mean, first.lower, first.upper);
    let mut out = vec![[(0.0, 0.0); 3]; VARIANTS.len()];
    for k in 0..12 {
        let (lower, upper) = if log_is_resamples {
            let (_, lo, hi) =
                percentile_interval(&column(k, &log[..n]), cfg.confidence).map_err(usage)?;
            (lo, hi)
        } else {
            let ci = bootstrap_ci(&Mean, &column(k, &rows), cfg).map_err(usage)?;
            (ci.lower, ci.upper)
        };
        out[k / 3][k % 3] = (lower, upper);
    }
    Ok(out)
}

pub fn run(args: RougeArgs) -> Result<(), Failure> {
    let mut paths = vec![args.hyp.as_path()];
    paths.extend(args.refs.iter().map(PathBuf::as_path));
    let files = read_aligned(&paths)?;
    let (hyps, refs) = files.split_first().expect("the hypothesis file was read");
    let targets: Vec<Vec<&str>> = (0..hyps.len())
        .map(|i| refs.iter().map(|r| r.lines[i].as_str()).collect())
        .collect();
    let rouge = Rouge {
        use_stemmer: args.stem,
    };
    let items = rouge.item_scores(&targets, &hyps.lines).map_err(usage)?;
    let mut acc = RougeAccumulator::new(rouge);
    for s in &items {
        acc.add_scores(s);
    }
    let mean = acc.finish().map_err(usage)?;
    // `--resamples 0` skips the intervals (e.g. to time the metric alone).
    let cfg = args.resample.bootstrap();
    let cis = if cfg.n_resamples == 0 {
        None
    } else {
        Some(intervals(&items, &cfg)?)
    };

    if args.json {
        let mut out = serde_json::to_value(mean)?;
        if let Some(cis) = &cis {
            let mut bs = json!({"confidence": cfg.confidence, "n_resamples": cfg.n_resamples, "seed": cfg.seed});
            for ((_, name), ci) in VARIANTS.iter().zip(cis) {
                let fields: serde_json::Map<String, Value> = FIELDS
                    .iter()
                    .zip(ci)
                    .map(|(f, (lo, hi))| (f.to_string(), json!({"lower": lo, "upper": hi})))
                    .collect();
                bs[*name] = Value::Object(fields);
            }
            out["bootstrap"] = bs;
        }
        return print_json(&out);
    }
    let stem = if args.stem {
        "Porter stemming"
    } else {
        "no stemming"
    };
    println!("ROUGE, mean of {} per-item scores ({stem})", items.len());
    let ci_head = if cis.is_some() {
        format!("  fmeasure {:.0}% CI", cfg.confidence * 100.0)
    } else {
        String::new()
    };
    println!(
        "{:10} {:>9} {:>9} {:>9}{ci_head}",
        "", "precision", "recall", "fmeasure"
    );
    for (i, (ty, name)) in VARIANTS.iter().enumerate() {
        let p = mean.get(*ty);
        let ci = cis.as_ref().map_or(String::new(), |c| {
            format!("  [{:.4}, {:.4}]", c[i][2].0, c[i][2].1)
        });
        println!(
            "{name:10} {:>9.4} {:>9.4} {:>9.4}{ci}",
            p.precision, p.recall, p.fmeasure
        );
    }
    if cis.is_some() {
        println!(
            "bootstrap: {} resamples, seed {} (--json has the intervals of precision and recall too)",
            cfg.n_resamples, cfg.seed
        );
    }
    Ok(())
}
