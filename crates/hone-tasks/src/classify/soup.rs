//! Model soups of fine-tuned classifiers (Wortsman et al., 2022): the
//! weights of several classifiers fine-tuned from the same pretrained
//! model — different seeds of one recipe, or, as in the paper, runs of a
//! hyperparameter sweep that start from the same weights — averaged into
//! one classifier of the same size and speed.
//!
//! Two recipes from the paper. *Uniform* averages every ingredient.
//! *Greedy* sorts the ingredients by validation accuracy, starts from the
//! best, and adds each next one only if the average's validation accuracy
//! does not drop; the test split is never looked at to choose, so its
//! score stays an honest estimate.
//!
//! Averaging needs the heads to agree as well as the encoders: ingredients
//! fine-tuned with `--head-init probe` (LP-FT) start from the same fitted
//! head, whereas random heads differ per seed and rarely average well (the
//! greedy recipe then keeps few ingredients). The ingredient folders must
//! agree on everything but the weights (labels, pooling, length, windows,
//! tokenizer, config); the soup folder is an ordinary classifier folder,
//! written through a staging folder renamed into place.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::Backend;
use hone_data::datasets::Example;
use serde::{Deserialize, Serialize};

use super::data::ClassifyData;
use super::model::{ClassifierInfo, INFO_FILE, TextClassifier, read_info};
use super::predict::{Evaluation, evaluate};
use super::recipe::SplitScores;
use crate::{Result, TaskError};

/// How the ingredients are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SoupRecipe {
    /// Average every ingredient.
    #[default]
    Uniform,
    /// Add ingredients best-first while validation accuracy does not drop.
    Greedy,
}

impl std::str::FromStr for SoupRecipe {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "uniform" => Ok(Self::Uniform),
            "greedy" => Ok(Self::Greedy),
            o => Err(format!(
                "unknown soup recipe {o:?} (expected uniform or greedy)"
            )),
        }
    }
}

/// What to average, scored on what, written where.
pub struct SoupJob<'a> {
    /// Classifier folders written by `hone finetune` (two or more).
    pub ingredients: &'a [PathBuf],
    pub data: &'a ClassifyData,
    pub out_dir: &'a Path,
    pub recipe: SoupRecipe,
    /// The backend's name, for `metrics.json`.
    pub backend: String,
    /// Called with one line per finished step (the work takes minutes).
    pub progress: &'a dyn Fn(&str),
}

/// One ingredient's own scores, and whether the soup holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngredientScores {
    pub model: PathBuf,
    pub validation: SplitScores,
    pub test: SplitScores,
    pub in_soup: bool,
}

/// One step of the greedy recipe: the average with `added` scored this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GreedyStep {
    pub added: PathBuf,
    pub validation_accuracy: f64,
    pub kept: bool,
}

/// The soup folder's `metrics.json`: the soup's scores in the same keys
/// as a fine-tuned folder's, then how it was made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SoupMetrics {
    pub data: String,
    pub base_model: String,
    pub backend: String,
    pub validation: SplitScores,
    pub test: SplitScores,
    pub test_report: hone_metrics::ClassificationReport,
    pub recipe: SoupRecipe,
    pub ingredients: Vec<IngredientScores>,
    pub greedy_steps: Vec<GreedyStep>,
    /// Seconds to score the ingredients, choose, and score the soup.
    pub seconds: f64,
}

/// Files copied from the first ingredient into the soup folder (they must
/// be the same in every ingredient).
const SHARED_FILES: [&str; 3] = ["config.json", "tokenizer.json", INFO_FILE];

/// Averages the ingredients by `job.recipe`, scores the soup on the
/// validation and test splits, and writes it as a classifier folder.
pub fn make_soup<B: Backend>(job: SoupJob<'_>, device: &B::Device) -> Result<SoupMetrics> {
    let start = Instant::now();
    let SoupJob {
        ingredients,
        data,
        out_dir,
        recipe,
        backend,
        progress,
    } = job;
    if ingredients.len() < 2 {
        return Err(TaskError::Config(format!(
            "a soup needs at least two fine-tuned models, got {}",
            ingredients.len()
        )));
    }
    if out_dir.exists() && std::fs::read_dir(out_dir).map_or(true, |mut d| d.next().is_some()) {
        return Err(TaskError::Config(format!(
            "{} already exists and is not empty: choose another --out or remove it",
            out_dir.display()
        )));
    }
    let info = check_ingredients(ingredients, data)?;
    let tokenizer = info.tokenizer(&ingredients[0])?;
    let load =
        |dir: &Path| -> Result<TextClassifier<B>> { Ok(TextClassifier::<B>::load(dir, device)?.0) };
    let score = |model: &TextClassifier<B>, split: &[Example]| -> Result<Evaluation> {
        evaluate(model, &tokenizer, split, &data.labels, 64, device)
    };

    let mut scored = Vec::with_capacity(ingredients.len());
    for dir in ingredients {
        let model = load(dir)?;
        let val = score(&model, &data.validation)?;
        let test = score(&model, &data.test)?;
        progress(&format!(
            "ingredient {}: validation accuracy {:.4}, test accuracy {:.4}",
            dir.display(),
            val.report.accuracy,
            test.report.accuracy
        ));
        scored.push(IngredientScores {
            model: dir.clone(),
            validation: SplitScores::of(&val, data.validation.len()),
            test: SplitScores::of(&test, data.test.len()),
            in_soup: false,
        });
    }

    let parent = match out_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| TaskError::io(&parent, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".soup-")
        .tempdir_in(&parent)
        .map_err(|e| TaskError::io(&parent, e))?;
    for file in SHARED_FILES {
        let from = ingredients[0].join(file);
        std::fs::copy(&from, staging.path().join(file)).map_err(|e| TaskError::io(&from, e))?;
    }
    let write_average = |members: &[usize]| -> Result<()> {
        let paths: Vec<PathBuf> = members
            .iter()
            .map(|&i| ingredients[i].join("model.safetensors"))
            .collect();
        let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        let tensors = hone_model::average_checkpoints(&refs)?;
        Ok(hone_model::write_safetensors(
            &staging.path().join("model.safetensors"),
            &tensors,
        )?)
    };

    let mut greedy_steps = Vec::new();
    let members: Vec<usize> = match recipe {
        SoupRecipe::Uniform => (0..ingredients.len()).collect(),
        SoupRecipe::Greedy => {
            let order = best_first(&scored);
            let mut members = vec![order[0]];
            let mut best = scored[order[0]].validation.accuracy;
            for &candidate in &order[1..] {
                let mut trial = members.clone();
                trial.push(candidate);
                write_average(&trial)?;
                let accuracy = score(&load(staging.path())?, &data.validation)?
                    .report
                    .accuracy;
                let kept = accuracy >= best;
                progress(&format!(
                    "greedy: adding {} gives validation accuracy {accuracy:.4} ({})",
                    ingredients[candidate].display(),
                    if kept { "kept" } else { "left out" }
                ));
                if kept {
                    members = trial;
                    best = accuracy;
                }
                greedy_steps.push(GreedyStep {
                    added: ingredients[candidate].clone(),
                    validation_accuracy: accuracy,
                    kept,
                });
            }
            members
        }
    };
    for &i in &members {
        scored[i].in_soup = true;
    }
    write_average(&members)?;
    let soup = load(staging.path())?;
    let val = score(&soup, &data.validation)?;
    let test = score(&soup, &data.test)?;
    progress(&format!(
        "soup of {} models: validation accuracy {:.4}, test accuracy {:.4}",
        members.len(),
        val.report.accuracy,
        test.report.accuracy
    ));
    let metrics = SoupMetrics {
        data: data.name.clone(),
        base_model: info.base_model.clone(),
        backend,
        validation: SplitScores::of(&val, data.validation.len()),
        test: SplitScores::of(&test, data.test.len()),
        test_report: test.report,
        recipe,
        ingredients: scored,
        greedy_steps,
        seconds: start.elapsed().as_secs_f64(),
    };
    hone_train::checkpoint::write_json(&staging.path().join("metrics.json"), &metrics)?;
    if out_dir.exists() {
        // Known to be empty (checked above).
        std::fs::remove_dir(out_dir).map_err(|e| TaskError::io(out_dir, e))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, out_dir).map_err(|e| TaskError::io(out_dir, e))?;
    Ok(metrics)
}

/// Indices of `scored` by validation accuracy, best first; ties go to the
/// lower validation log-loss, then to the order given.
fn best_first(scored: &[IngredientScores]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scored.len()).collect();
    order.sort_by(|&a, &b| {
        let (va, vb) = (&scored[a].validation, &scored[b].validation);
        vb.accuracy
            .total_cmp(&va.accuracy)
            .then_with(|| {
                let loss = |s: &SplitScores| s.log_loss.unwrap_or(f64::INFINITY);
                loss(va).total_cmp(&loss(vb))
            })
            .then(a.cmp(&b))
    });
    order
}

/// Checks that the ingredients can be averaged and scored on `data`, and
/// returns their shared `hone_classifier.json`.
fn check_ingredients(ingredients: &[PathBuf], data: &ClassifyData) -> Result<ClassifierInfo> {
    let first = &ingredients[0];
    let info = read_info(first)?;
    if info.labels != data.labels {
        return Err(TaskError::BadModelDir {
            path: first.clone(),
            detail: format!(
                "its labels [{}] are not the data set's [{}] (in order)",
                info.labels.join(", "),
                data.labels.join(", ")
            ),
        });
    }
    let read = |dir: &Path, file: &str| -> Result<Vec<u8>> {
        let path = dir.join(file);
        std::fs::read(&path).map_err(|e| TaskError::io(&path, e))
    };
    let config = parse_config(first, &read(first, "config.json")?)?;
    let tokenizer = read(first, "tokenizer.json")?;
    for dir in &ingredients[1..] {
        let differs = |what: &str| TaskError::BadModelDir {
            path: dir.clone(),
            detail: format!(
                "its {what} differs from {}'s: only models fine-tuned from the same base with the same settings can be averaged",
                first.display()
            ),
        };
        if read_info(dir)? != info {
            return Err(differs(INFO_FILE));
        }
        if parse_config(dir, &read(dir, "config.json")?)? != config {
            return Err(differs("config.json"));
        }
        if read(dir, "tokenizer.json")? != tokenizer {
            return Err(differs("tokenizer.json"));
        }
    }
    Ok(info)
}

fn parse_config(dir: &Path, bytes: &[u8]) -> Result<serde_json::Value> {
    serde_json::from_slice(bytes).map_err(|e| TaskError::BadModelDir {
        path: dir.join("config.json"),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(accuracy: f64, log_loss: f64) -> IngredientScores {
        let s = SplitScores {
            accuracy,
            macro_f1: accuracy,
            log_loss: Some(log_loss),
            examples: 10,
        };
        IngredientScores {
            model: PathBuf::new(),
            validation: s.clone(),
            test: s,
            in_soup: false,
        }
    }

    #[test]
    fn greedy_order_is_by_accuracy_then_loss_then_position() {
        let scored = [
            scores(0.8, 0.5),
            scores(0.9, 0.4),
            scores(0.8, 0.3),
            scores(0.9, 0.4),
        ];
        assert_eq!(best_first(&scored), vec![1, 3, 2, 0]);
    }

    #[test]
    fn recipes_parse_by_name() {
        assert_eq!("greedy".parse::<SoupRecipe>(), Ok(SoupRecipe::Greedy));
        assert_eq!("uniform".parse::<SoupRecipe>(), Ok(SoupRecipe::Uniform));
        assert!(
            "mean"
                .parse::<SoupRecipe>()
                .unwrap_err()
                .contains("uniform or greedy")
        );
    }
}
