//! `cargo xtask experiment NAME [--only RUN] [--force]`: runs the
//! fine-tuning runs described by `xtask/experiments/NAME.toml` through the
//! `hone` program and writes `results/experiments/NAME/summary.md` (a
//! markdown table, with the git revision, machine and date, and the mean
//! and standard error of every run repeated over seeds) next to each
//! run's own folder (model, run log, curves, metrics.json).
//!
//! A run whose `metrics.json` exists is not repeated (its numbers are read
//! back); a run that was interrupted resumes from its last checkpoint.
//! Every run is seeded; `seeds = [..]` repeats a run per seed. A run with
//! `soup_of = "RUN"` is instead a model soup (`hone soup`) of the folders
//! of every seed of RUN, which must come earlier in the file, or of the
//! seeds listed in `ingredients` (a soup measured before RUN gained seeds
//! keeps naming the ones it averaged); `soup_also = ["RUN2", ..]` adds every
//! seed of other earlier runs that start from the same weights (LP-FT runs
//! of one data set and text view share the pretrained encoder and the
//! probe head), as Wortsman et al.'s soups average over a hyperparameter
//! sweep.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Experiment {
    description: String,
    /// Cargo features of `hone` the runs need (e.g. "flex").
    #[serde(default)]
    features: Option<String>,
    /// The `hone` subcommand every run calls (finetune, distill, prune).
    #[serde(default = "default_command")]
    command: String,
    /// Arguments every run gets before its own.
    #[serde(default)]
    args: Vec<String>,
    #[serde(rename = "run")]
    runs: Vec<Run>,
}

#[derive(Debug, Deserialize)]
struct Run {
    name: String,
    args: Vec<String>,
    #[serde(default = "default_seeds")]
    seeds: Vec<u64>,
    /// Average the seed folders of this earlier run instead of training.
    #[serde(default)]
    soup_of: Option<String>,
    /// With `soup_of`: which of its seeds to average (default: all).
    #[serde(default)]
    ingredients: Option<Vec<u64>>,
    /// With `soup_of`: further earlier runs whose every seed joins the soup.
    #[serde(default)]
    soup_also: Vec<String>,
}

fn default_command() -> String {
    "finetune".into()
}

fn default_seeds() -> Vec<u64> {
    vec![42]
}

/// The numbers of one finished run.
struct Row {
    run: String,
    /// The seed, or for a soup its ingredients' seeds joined by `+`.
    seed: String,
    metrics: serde_json::Value,
    peak_memory: Option<f64>,
}

pub fn run(args: &[String]) -> Result<()> {
    let Some(name) = args.first() else {
        bail!(
            "usage: cargo xtask experiment NAME [--only RUN] [--force] (NAME: a file in xtask/experiments/)"
        );
    };
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1));
    let force = args.iter().any(|a| a == "--force");
    let file = Path::new("xtask/experiments").join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let exp: Experiment = toml::from_str(&text).with_context(|| format!("{}", file.display()))?;
    let binary = build_hone(exp.features.as_deref())?;
    let out_root = PathBuf::from("results/experiments").join(name);
    let mut rows = Vec::new();
    for run in &exp.runs {
        if only.is_some_and(|o| o != &run.name) {
            continue;
        }
        if let Some(base) = &run.soup_of {
            rows.push(soup_row(&binary, &exp, run, base, &out_root, force)?);
            continue;
        }
        for &seed in &run.seeds {
            let out = out_root.join(format!("{}-s{seed}", run.name));
            if force && out.exists() {
                std::fs::remove_dir_all(&out)?;
            }
            if !out.join("metrics.json").is_file() {
                let mut cmd = Command::new(&binary);
                cmd.arg(&exp.command)
                    .args(&exp.args)
                    .args(&run.args)
                    .args(["--seed", &seed.to_string(), "--out"])
                    .arg(&out);
                if out.join("checkpoints/LATEST").is_file() && exp.command != "prune" {
                    cmd.arg("--resume");
                }
                crate::run(&mut cmd)?;
            }
            rows.push(read_row(&run.name, &seed.to_string(), &out)?);
        }
    }
    let summary = render(name, &exp, &rows);
    std::fs::create_dir_all(&out_root)?;
    std::fs::write(out_root.join("summary.md"), &summary)?;
    println!("{summary}");
    Ok(())
}

/// Builds `hone` (dev profile, dependencies optimized) and returns its path.
fn build_hone(features: Option<&str>) -> Result<PathBuf> {
    let mut cmd = crate::cargo();
    cmd.args(["build", "--quiet", "-p", "hone"]);
    if let Some(f) = features {
        cmd.args(["--features", f]);
    }
    crate::run(&mut cmd)?;
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    Ok(Path::new(&target).join("debug/hone"))
}

/// Runs (or reads back) the soup `run` of the seed folders of `base` (and
/// of its `soup_also` runs).
fn soup_row(
    binary: &Path,
    exp: &Experiment,
    run: &Run,
    base: &str,
    out_root: &Path,
    force: bool,
) -> Result<Row> {
    let find = |name: &str| {
        exp.runs.iter().find(|r| r.name == name).with_context(|| {
            format!(
                "run {}: soup_of / soup_also name {name:?}, no run of this experiment",
                run.name
            )
        })
    };
    let base_run = find(base)?;
    let mut folders: Vec<String> = soup_ingredients(run, base_run)?
        .iter()
        .map(|seed| format!("{base}-s{seed}"))
        .collect();
    for other in &run.soup_also {
        let other_run = find(other)?;
        folders.extend(
            other_run
                .seeds
                .iter()
                .map(|seed| format!("{other}-s{seed}")),
        );
    }
    let out = out_root.join(&run.name);
    if force && out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    if !out.join("metrics.json").is_file() {
        let mut cmd = Command::new(binary);
        cmd.arg("soup").args(&run.args);
        for folder in &folders {
            cmd.arg("--model").arg(out_root.join(folder));
        }
        crate::run(cmd.arg("--out").arg(&out))?;
    }
    read_row(&run.name, &soup_label(base, &folders), &out)
}

/// The seed cell of a soup's row: its base run's seeds joined by `+`, then
/// the folders of any `soup_also` runs.
fn soup_label(base: &str, folders: &[String]) -> String {
    let prefix = format!("{base}-s");
    let parts: Vec<&str> = folders
        .iter()
        .map(|f| {
            f.strip_prefix(&prefix)
                .filter(|seed| seed.parse::<u64>().is_ok())
                .unwrap_or(f)
        })
        .collect();
    parts.join("+")
}

/// The seeds of `base` that the soup `run` averages: its `ingredients`,
/// each of which `base` must have run, or every seed of `base`.
fn soup_ingredients(run: &Run, base: &Run) -> Result<Vec<u64>> {
    let Some(chosen) = &run.ingredients else {
        return Ok(base.seeds.clone());
    };
    if let Some(missing) = chosen.iter().find(|s| !base.seeds.contains(s)) {
        bail!(
            "run {}: ingredient seed {missing} is not among the seeds {:?} of {}",
            run.name,
            base.seeds,
            base.name
        );
    }
    if chosen.len() < 2 {
        bail!("run {}: a soup needs at least two ingredients", run.name);
    }
    Ok(chosen.clone())
}

fn read_row(run: &str, seed: &str, out: &Path) -> Result<Row> {
    let path = out.join("metrics.json");
    let metrics: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?,
    )?;
    let log = std::fs::read_to_string(out.join("run.jsonl")).unwrap_or_default();
    let peak_memory = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["memory_bytes"].as_f64())
        .reduce(f64::max);
    Ok(Row {
        run: run.into(),
        seed: seed.into(),
        metrics,
        peak_memory,
    })
}

fn git_revision() -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or("unknown".into(), |o| {
            String::from_utf8_lossy(&o.stdout).trim().to_string()
        })
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let threads = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {threads} threads")
}

fn render(name: &str, exp: &Experiment, rows: &[Row]) -> String {
    let mut s = format!(
        "# Experiment `{name}`\n\n{}\n\ngit {} · {} · {}\n\n",
        exp.description.trim(),
        git_revision(),
        machine(),
        Command::new("date")
            .arg("-u")
            .arg("+%Y-%m-%d %H:%M UTC")
            .output()
            .map_or(String::new(), |o| String::from_utf8_lossy(&o.stdout)
                .trim()
                .to_string())
    );
    s.push_str("| run | seed | test acc | test macro-F1 | val acc | steps | train s | tokens/s | × first | peak RSS GiB |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    let base_tps = rows
        .first()
        .and_then(|r| r.metrics["train_tokens_per_s"].as_f64());
    for r in rows {
        let m = &r.metrics;
        // A soup trains nothing: its steps, time and speed cells are "–".
        let tps = m["train_tokens_per_s"].as_f64();
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.run,
            r.seed,
            cell(m["test"]["accuracy"].as_f64(), 4),
            cell(m["test"]["macro_f1"].as_f64(), 4),
            cell(m["validation"]["accuracy"].as_f64(), 4),
            m["steps"].as_u64().map_or("–".into(), |v| v.to_string()),
            cell(m["train_seconds"].as_f64(), 0),
            cell(tps, 0),
            cell(tps.zip(base_tps).map(|(t, b)| t / b), 2),
            cell(r.peak_memory.map(|b| b / (1u64 << 30) as f64), 2),
        ));
    }
    let repeated = seed_means(rows);
    if !repeated.is_empty() {
        s.push_str(
            "\nRuns repeated over seeds: the mean, and the standard error of the mean \
             (sample standard deviation / √n), so a difference between runs can be read \
             against the seed noise.\n\n\
             | run | seeds | test acc mean ± SE | test macro-F1 mean ± SE | val acc mean ± SE |\n\
             |---|---|---|---|---|\n",
        );
        for m in repeated {
            s.push_str(&format!(
                "| {} | {} | {:.4} ± {:.4} | {:.4} ± {:.4} | {:.4} ± {:.4} |\n",
                m.run,
                m.seeds,
                m.test_accuracy.0,
                m.test_accuracy.1,
                m.test_macro_f1.0,
                m.test_macro_f1.1,
                m.val_accuracy.0,
                m.val_accuracy.1,
            ));
        }
    }
    s
}

/// A table cell: `value` with `decimals` decimals, or "–" where the run
/// has no such figure (a soup trains nothing, so has no time or speed).
fn cell(value: Option<f64>, decimals: usize) -> String {
    value
        .filter(|v| v.is_finite())
        .map_or("–".into(), |v| format!("{v:.decimals$}"))
}

/// Mean and standard error over the seeds of one run.
#[derive(Debug, PartialEq)]
struct SeedMean {
    run: String,
    seeds: usize,
    test_accuracy: (f64, f64),
    test_macro_f1: (f64, f64),
    val_accuracy: (f64, f64),
}

/// One [`SeedMean`] per run that has two seeds or more, in table order.
fn seed_means(rows: &[Row]) -> Vec<SeedMean> {
    let mut names: Vec<&str> = Vec::new();
    for r in rows {
        if !names.contains(&r.run.as_str()) {
            names.push(&r.run);
        }
    }
    names
        .into_iter()
        .filter_map(|name| {
            let runs: Vec<&Row> = rows.iter().filter(|r| r.run == name).collect();
            let stat = |pick: &dyn Fn(&serde_json::Value) -> Option<f64>| {
                let v: Vec<f64> = runs.iter().filter_map(|r| pick(&r.metrics)).collect();
                mean_and_standard_error(&v)
            };
            (runs.len() >= 2).then(|| SeedMean {
                run: name.to_string(),
                seeds: runs.len(),
                test_accuracy: stat(&|m| m["test"]["accuracy"].as_f64()),
                test_macro_f1: stat(&|m| m["test"]["macro_f1"].as_f64()),
                val_accuracy: stat(&|m| m["validation"]["accuracy"].as_f64()),
            })
        })
        .collect()
}

/// The mean of `v` and its standard error (sample standard deviation over
/// √n); NaN for fewer than two values.
fn mean_and_standard_error(v: &[f64]) -> (f64, f64) {
    if v.len() < 2 {
        return (f64::NAN, f64::NAN);
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(run: &str, seed: u64, test: f64, val: f64) -> Row {
        Row {
            run: run.into(),
            seed: seed.to_string(),
            metrics: serde_json::json!({
                "test": {"accuracy": test, "macro_f1": test - 0.001},
                "validation": {"accuracy": val},
            }),
            peak_memory: None,
        }
    }

    #[test]
    fn a_soup_averages_its_listed_ingredients_or_every_seed_of_its_base() {
        let parse = |text: &str| toml::from_str::<Run>(text).unwrap();
        let base = parse("name = \"probe\"\nargs = []\nseeds = [42, 43, 44, 45]");
        let all = parse("name = \"soup\"\nargs = []\nsoup_of = \"probe\"");
        assert_eq!(soup_ingredients(&all, &base).unwrap(), [42, 43, 44, 45]);
        let three =
            parse("name = \"soup\"\nargs = []\nsoup_of = \"probe\"\ningredients = [42, 43, 44]");
        assert_eq!(soup_ingredients(&three, &base).unwrap(), [42, 43, 44]);
        let stray = parse("name = \"soup\"\nargs = []\nsoup_of = \"probe\"\ningredients = [42, 7]");
        let err = soup_ingredients(&stray, &base).unwrap_err().to_string();
        assert!(err.contains("seed 7") && err.contains("probe"), "{err}");
        let one = parse("name = \"soup\"\nargs = []\nsoup_of = \"probe\"\ningredients = [42]");
        assert!(soup_ingredients(&one, &base).is_err());
    }

    #[test]
    fn a_soup_also_adds_every_seed_of_other_runs_to_its_row_label() {
        let exp: Experiment = toml::from_str(
            "description = \"d\"\nargs = []\n\
             [[run]]\nname = \"probe\"\nargs = []\nseeds = [42, 43]\n\
             [[run]]\nname = \"probe-deep\"\nargs = []\nseeds = [42]\n\
             [[run]]\nname = \"soup\"\nargs = []\nsoup_of = \"probe\"\nsoup_also = [\"probe-deep\"]\n",
        )
        .unwrap();
        let folders = ["probe-s42", "probe-s43", "probe-deep-s42"].map(String::from);
        assert_eq!(soup_label("probe", &folders), "42+43+probe-deep-s42");
        // A missing `soup_also` run is an error that names it, before anything runs.
        let mut soup =
            toml::from_str::<Run>("name = \"s\"\nargs = []\nsoup_of = \"probe\"").unwrap();
        soup.soup_also = vec!["nope".into()];
        let dir = std::env::temp_dir().join("hone-xtask-soup-also-missing");
        let err = soup_row(Path::new("/nonexistent"), &exp, &soup, "probe", &dir, false)
            .err()
            .expect("unknown soup_also run")
            .to_string();
        assert!(err.contains("\"nope\""), "{err}");
        assert!(!dir.exists(), "nothing written");
    }

    #[test]
    fn a_soup_row_shows_dashes_where_nothing_was_trained() {
        let exp: Experiment = toml::from_str("description = \"d\"\nargs = []\nrun = []").unwrap();
        let mut trained = row("probe", 42, 0.8, 0.8);
        trained.metrics["steps"] = 100.into();
        trained.metrics["train_seconds"] = 50.0.into();
        trained.metrics["train_tokens_per_s"] = 400.0.into();
        let soup = row("soup", 0, 0.85, 0.84);
        let table = render("x", &exp, &[trained, soup]);
        assert!(!table.contains("NaN"), "{table}");
        assert!(
            table.contains("| probe | 42 | 0.8000 | 0.7990 | 0.8000 | 100 | 50 | 400 | 1.00 | – |"),
            "{table}"
        );
        assert!(
            table.contains("| soup | 0 | 0.8500 | 0.8490 | 0.8400 | – | – | – | – | – |"),
            "{table}"
        );
    }

    #[test]
    fn standard_error_is_sample_sd_over_root_n() {
        // The four Pang & Lee seeds of the README: mean 0.8216, SE 0.0057.
        let (mean, se) = mean_and_standard_error(&[0.8250, 0.83625, 0.81125, 0.81375]);
        assert!((mean - 0.8215625).abs() < 1e-12, "{mean}");
        assert!((se - 0.0057367).abs() < 1e-6, "{se}");
        assert!(mean_and_standard_error(&[0.5]).1.is_nan());
    }

    #[test]
    fn only_runs_with_several_seeds_are_summarized_in_order() {
        let rows = [
            row("b", 42, 0.8, 0.7),
            row("a", 42, 0.9, 0.9),
            row("b", 43, 0.6, 0.9),
        ];
        let means = seed_means(&rows);
        assert_eq!(means.len(), 1);
        let m = &means[0];
        assert_eq!((m.run.as_str(), m.seeds), ("b", 2));
        assert!((m.test_accuracy.0 - 0.7).abs() < 1e-12);
        assert!((m.test_accuracy.1 - 0.1).abs() < 1e-12);
        assert!((m.test_macro_f1.0 - 0.699).abs() < 1e-12);
        assert!((m.val_accuracy.0 - 0.8).abs() < 1e-12);
    }
}
