//! The fine-tuning recipe behind `hone finetune`: load the base encoder and
//! tokenizer, put a fresh head on it, train with hone-train, evaluate the
//! best model on the validation and test splits, and write a self-contained
//! output folder (model, tokenizer, label map, run log, curves, metrics).

use std::path::{Path, PathBuf};

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use hone_data::augment::{AugmentConfig, Augmenter, WordNet};
use hone_data::tokenize::{TextTokenizer, Truncation};
use hone_data::view::TextView;
use hone_model::BertModel;
use hone_train::batch_finder::{accumulation_for, find_batch_size};
use hone_train::{RunOptions, TrainConfig};
use serde::{Deserialize, Serialize};

use super::data::{ClassWeights, ClassifyData};
use super::frozen_prefix::FrozenPrefix;
use super::model::{ClassifierInfo, INFO_FILE, Pooling, TextClassifier, WindowPooling};
use super::predict::{Evaluation, evaluate};
use super::probe::{HeadInit, fit_probe_head};
use super::task::{Batching, ClassifyTask, TrainWindows};
use crate::{Result, TaskError};

/// Every setting of a fine-tuning run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FinetuneConfig {
    pub max_len: usize,
    pub truncation: Truncation,
    pub text_view: TextView,
    /// Windows a long text is read as when validating, testing and in the
    /// saved folder.
    pub windows: usize,
    /// With windows: how many of a long text's windows an epoch of
    /// training reads (one, drawn by the seed, or all).
    pub train_windows: TrainWindows,
    /// With windows: whether a text's prediction averages its windows'
    /// probabilities or is the head over the mean of their pooled vectors
    /// (then training reads every window of a text as its one example).
    pub window_pooling: WindowPooling,
    pub pooling: Pooling,
    pub head_dropout: f64,
    /// How a new head starts: random, or a linear probe on the frozen
    /// encoder's features (LP-FT).
    #[serde(default)]
    pub head_init: HeadInit,
    /// Where a probe head's training features are cached between runs
    /// (`None`: always computed). A place on this machine, not a setting
    /// of the run, so not recorded with it.
    #[serde(skip)]
    pub probe_cache: Option<PathBuf>,
    pub class_weights: ClassWeights,
    pub label_smoothing: f32,
    pub augment: AugmentConfig,
    /// Fraction of all optimizer steps used for LR warm-up.
    pub warmup_ratio: f64,
    /// Pick the micro-batch size by measurement (then accumulate up to
    /// `train.batch_size × train.accumulation`, the effective batch).
    pub auto_batch: Option<AutoBatch>,
    pub batching: Batching,
    /// Quantization-aware training: the encoder's dense layers run
    /// fake-quantized to int8 (as hone's int8-dynamic engine computes).
    pub fake_quant: bool,
    /// Compute the frozen bottom's activations of every training piece once
    /// and train only the layers above them (see [`FrozenPrefix`]; the
    /// frozen layers then run without dropout). Read by [`finetune`]; the
    /// other recipes run the whole encoder.
    pub cache_frozen: bool,
    pub train: TrainConfig,
}

impl Default for FinetuneConfig {
    fn default() -> Self {
        Self {
            max_len: 128,
            truncation: Truncation::Head,
            text_view: TextView::Raw,
            windows: 1,
            train_windows: TrainWindows::One,
            window_pooling: WindowPooling::Probabilities,
            pooling: Pooling::Mean,
            head_dropout: 0.1,
            head_init: HeadInit::Random,
            probe_cache: None,
            class_weights: ClassWeights::None,
            label_smoothing: 0.0,
            augment: AugmentConfig::default(),
            warmup_ratio: 0.1,
            auto_batch: None,
            batching: Batching::Bucketed,
            fake_quant: false,
            cache_frozen: false,
            train: TrainConfig::default(),
        }
    }
}

/// Settings of the batch-size finder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoBatch {
    pub memory_budget_bytes: u64,
    pub candidates: Vec<usize>,
}

/// Scores of one split, as written to `metrics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitScores {
    pub accuracy: f64,
    pub macro_f1: f64,
    /// Mean negative log-probability of the gold labels (absent from
    /// folders written before it was recorded).
    #[serde(default)]
    pub log_loss: Option<f64>,
    pub examples: usize,
}

impl SplitScores {
    pub(crate) fn of(scored: &Evaluation, examples: usize) -> Self {
        SplitScores {
            accuracy: scored.report.accuracy,
            macro_f1: scored.report.macro_avg.f1,
            log_loss: Some(scored.log_loss),
            examples,
        }
    }
}

/// `metrics.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FinetuneMetrics {
    pub data: String,
    pub base_model: String,
    pub backend: String,
    pub validation: SplitScores,
    pub test: SplitScores,
    pub test_report: hone_metrics::ClassificationReport,
    pub best_step: Option<usize>,
    pub steps: usize,
    pub stopped_early: bool,
    pub train_seconds: f64,
    pub train_tokens_per_s: f64,
    /// What the batch-size finder measured, when it ran.
    pub batch_probes: Option<hone_train::batch_finder::BatchChoice>,
    pub config: FinetuneConfig,
}

/// What to fine-tune, on what, and where the results go.
pub struct FinetuneJob<'a> {
    /// A model folder (config.json, model.safetensors, tokenizer.json).
    pub model_dir: &'a Path,
    /// How the base model is named in the outputs.
    pub model_name: String,
    pub data: &'a ClassifyData,
    pub out_dir: &'a Path,
    pub config: FinetuneConfig,
    /// Needed when augmentation uses synonyms.
    pub wordnet: Option<WordNet>,
    pub options: RunOptions,
}

/// Where a run with `--head-init probe` records the probe's fit.
pub const PROBE_FILE: &str = "head_probe.json";

/// Trains, evaluates and writes the output folder; returns `metrics.json`.
/// `model_dir` is either a pretrained encoder (a fresh head is put on it)
/// or a classifier hone wrote (training continues from its head, whose
/// labels must be the data's).
pub fn finetune<B: AutodiffBackend>(
    job: FinetuneJob<'_>,
    device: &B::Device,
) -> Result<FinetuneMetrics> {
    let FinetuneJob {
        model_dir,
        model_name,
        data,
        out_dir,
        mut config,
        wordnet,
        options,
    } = job;
    let tokenizer = prepare(model_dir, out_dir, &config)?;
    B::seed(device, config.train.seed);
    let mut model = initial_model::<B>(model_dir, data, &mut config, device)?;
    if config.head_init == HeadInit::Probe {
        if model_dir.join(INFO_FILE).is_file() {
            return Err(TaskError::Config(format!(
                "--head-init probe fits a new head, but {} is a trained classifier: its head would be thrown away",
                model_dir.display()
            )));
        }
        let cache = config.probe_cache.as_deref();
        let report = fit_probe_head(&mut model, &tokenizer, data, cache, device)?;
        write_json(&out_dir.join(PROBE_FILE), &report)?;
    }
    let mut task = classify_task(
        data,
        &tokenizer,
        &config,
        model.encoder.limits(),
        wordnet,
        device,
    )?;
    if config.cache_frozen {
        let layers = frozen_prefix_layers(&config, model.encoder.layers.len())?;
        let frozen = model.valid();
        let compute = |split: &[hone_data::datasets::Example], name: &str| -> Result<_> {
            let texts: Vec<&str> = split.iter().map(|e| e.text.as_str()).collect();
            let pieces = tokenizer.encode_pieces(&texts)?;
            let prefix =
                FrozenPrefix::compute(&frozen, layers, &pieces, task.eval_batch_size, device)?;
            eprintln!(
                "cached the embeddings' and {layers} frozen layers' activations of {} {name} pieces ({:.2} GiB) in {:.0} s",
                pieces.len(),
                prefix.bytes() as f64 / f64::from(1u32 << 30),
                prefix.seconds
            );
            Ok((pieces, prefix))
        };
        let (_, train_prefix) = compute(&data.train, "training")?;
        let (val_pieces, val_prefix) = compute(&data.validation, "validation")?;
        task = task
            .with_frozen_prefix(train_prefix)?
            .with_frozen_validation(val_pieces, val_prefix)?;
    }
    let run = RecipeRun {
        source_dir: model_dir,
        model_name,
        data,
        tokenizer: &tokenizer,
        out_dir,
        config,
        options,
    };
    train_and_save(&mut task, model, run, device)
}

/// How many encoder layers a frozen-activation cache covers: those below
/// `--freeze-below` (depth 0 is the embeddings, depth k the k-th layer),
/// which no freezing plan ever trains. Checked before the cache is computed.
fn frozen_prefix_layers(config: &FinetuneConfig, encoder_layers: usize) -> Result<usize> {
    if !config.augment.is_identity() {
        return Err(TaskError::Config(
            "--cache-frozen cannot be used with augmentation, which changes the texts every epoch"
                .into(),
        ));
    }
    match config.train.freeze.frozen_below {
        0 => Err(TaskError::Config(
            "--cache-frozen needs a frozen bottom to cache: --freeze-below K (K ≥ 1 freezes the embeddings and the first K−1 layers)".into(),
        )),
        k => Ok((k - 1).min(encoder_layers)),
    }
}

/// Checks the settings, creates `out_dir` and loads the tokenizer.
pub fn prepare(model_dir: &Path, out_dir: &Path, config: &FinetuneConfig) -> Result<TextTokenizer> {
    config.augment.validate()?;
    if config.max_len < 3 {
        return Err(TaskError::Config(format!(
            "max length {} leaves no room for text between the special tokens",
            config.max_len
        )));
    }
    std::fs::create_dir_all(out_dir).map_err(|e| TaskError::io(out_dir, e))?;
    Ok(
        TextTokenizer::from_file(&model_dir.join("tokenizer.json"), config.max_len)?
            .with_truncation(config.truncation)
            .with_view(config.text_view)
            .with_windows(config.windows),
    )
}

/// The model training starts from: a classifier folder as saved (its
/// labels must match the data's, and its pooling is kept: `config.pooling`
/// is set to it), or a pretrained encoder with a new head.
pub fn initial_model<B: AutodiffBackend>(
    model_dir: &Path,
    data: &ClassifyData,
    config: &mut FinetuneConfig,
    device: &B::Device,
) -> Result<TextClassifier<B>> {
    let model = if model_dir.join(INFO_FILE).is_file() {
        let (mut model, _, info) = TextClassifier::<B>::load(model_dir, device)?;
        if info.labels != data.labels {
            return Err(TaskError::Config(format!(
                "{} was trained on labels {:?} but the data has {:?}",
                model_dir.display(),
                info.labels,
                data.labels
            )));
        }
        model.dropout = burn::nn::DropoutConfig::new(config.head_dropout).init();
        // The head was trained on this pooling; another would feed it
        // features it has never seen.
        config.pooling = info.pooling;
        config.window_pooling = info.window_pooling;
        model
    } else {
        let (encoder, _) = BertModel::<B>::from_dir(model_dir, device)?;
        TextClassifier::new(
            encoder,
            data.labels.len(),
            config.pooling,
            config.head_dropout,
        )
        .with_window_pooling(config.window_pooling)
    };
    let mut model = model;
    model.encoder.set_fake_quant(config.fake_quant);
    if config.max_len > model.encoder.max_positions {
        return Err(TaskError::Config(format!(
            "max length {} is more than the model's {} positions",
            config.max_len, model.encoder.max_positions
        )));
    }
    Ok(model)
}

/// The classification task of `config` (augmentation, class weights,
/// smoothing, batching) over `data`.
pub fn classify_task<'a, B: AutodiffBackend>(
    data: &'a ClassifyData,
    tokenizer: &'a TextTokenizer,
    config: &FinetuneConfig,
    limits: hone_model::InputLimits,
    wordnet: Option<WordNet>,
    device: &B::Device,
) -> Result<ClassifyTask<'a, B>> {
    let augmenter = if config.augment.is_identity() {
        None
    } else {
        Some(Augmenter::new(config.augment.clone(), wordnet)?)
    };
    let weights = config.class_weights.resolve(&data.train_counts())?;
    let mut task = ClassifyTask::<B>::new(
        data,
        tokenizer,
        augmenter,
        limits,
        weights,
        config.label_smoothing,
        config.train.batch_size,
        config.train.seed,
        device,
    )?;
    task.batching = config.batching;
    if config.window_pooling == WindowPooling::Features {
        if config.windows < 2 {
            return Err(TaskError::Config(
                "pooling windows' features needs windows above 1 (--windows N)".into(),
            ));
        }
        if config.train_windows == TrainWindows::All {
            return Err(TaskError::Config(
                "pooling windows' features reads every window of a text as one example; training on every window as an example of its own (--train-windows all) contradicts it".into(),
            ));
        }
        task = task.pool_every_window()?;
    } else if config.train_windows == TrainWindows::All {
        if config.windows < 2 {
            return Err(TaskError::Config(
                "training on every window needs windows above 1 (--windows N)".into(),
            ));
        }
        task = task.read_every_window()?;
    }
    Ok(task)
}

/// A task that trains a [`TextClassifier`] and whose micro-batch size the
/// batch-size finder may change.
pub trait ClassifierTask<B: AutodiffBackend>:
    hone_train::TrainTask<B, Model = TextClassifier<B>>
{
    fn set_batch_size(&mut self, batch_size: usize);

    /// The trained model before it is evaluated and saved (a pruning task
    /// enforces its final sparsity here, whichever checkpoint was best).
    fn finish(&self, model: TextClassifier<B::InnerBackend>) -> TextClassifier<B::InnerBackend> {
        model
    }
}

impl<B: AutodiffBackend> ClassifierTask<B> for ClassifyTask<'_, B> {
    fn set_batch_size(&mut self, batch_size: usize) {
        self.batch_size = batch_size;
    }
}

/// Everything [`train_and_save`] needs besides the task and the model.
pub struct RecipeRun<'a> {
    /// Where `config.json` and `tokenizer.json` are copied from.
    pub source_dir: &'a Path,
    pub model_name: String,
    pub data: &'a ClassifyData,
    pub tokenizer: &'a TextTokenizer,
    pub out_dir: &'a Path,
    pub config: FinetuneConfig,
    pub options: RunOptions,
}

/// The shared second half of every classifier recipe (fine-tuning,
/// distillation, fine-tuning after pruning): the batch-size finder, the
/// schedule's horizon, training, evaluation of the best model on the
/// validation and test splits, and the output folder.
pub fn train_and_save<B: AutodiffBackend, T: ClassifierTask<B>>(
    task: &mut T,
    model: TextClassifier<B>,
    run: RecipeRun<'_>,
    device: &B::Device,
) -> Result<FinetuneMetrics> {
    let RecipeRun {
        source_dir,
        model_name,
        data,
        tokenizer,
        out_dir,
        mut config,
        options,
    } = run;
    let batch_probes = match &config.auto_batch {
        Some(auto) => {
            // A resumed run reuses the size chosen when it started (the
            // checkpoint's settings must match).
            let choice_path = out_dir.join("batch-choice.json");
            let effective = config.train.batch_size * config.train.accumulation;
            let choice = if options.resume && choice_path.is_file() {
                hone_train::checkpoint::read_json(&choice_path)?
            } else {
                let candidates: Vec<usize> = auto
                    .candidates
                    .iter()
                    .copied()
                    .filter(|&c| c <= effective)
                    .collect();
                let choice = find_batch_size::<B, _>(
                    &*task,
                    &model,
                    &candidates,
                    auto.memory_budget_bytes,
                    config.train.precision,
                    device,
                )?;
                write_json(&choice_path, &choice)?;
                choice
            };
            config.train.batch_size = choice.batch_size;
            config.train.accumulation = accumulation_for(effective, choice.batch_size);
            task.set_batch_size(choice.batch_size);
            Some(choice)
        }
        None => None,
    };
    let micro = task.epoch_batches(0).len();
    let total = config.train.steps_per_epoch(micro) * config.train.epochs;
    let total = config.train.max_steps.map_or(total, |m| m.min(total));
    let warmup = (config.warmup_ratio * total as f64).round() as usize;
    config.train.schedule = config.train.schedule.clone().with_horizon(warmup, total);

    let outcome =
        hone_train::train::<B, _>(&*task, model, &config.train, out_dir, &options, device)?;
    let model = task.finish(outcome.model);
    let val = evaluate(
        &model,
        tokenizer,
        &data.validation,
        &data.labels,
        64,
        device,
    )?;
    let test = evaluate(&model, tokenizer, &data.test, &data.labels, 64, device)?;

    model.save_weights(out_dir)?;
    for file in ["config.json", "tokenizer.json"] {
        let from = source_dir.join(file);
        std::fs::copy(&from, out_dir.join(file)).map_err(|e| TaskError::io(&from, e))?;
    }
    let info = ClassifierInfo {
        labels: data.labels.clone(),
        pooling: config.pooling,
        max_len: config.max_len,
        truncation: config.truncation,
        text_view: config.text_view,
        windows: config.windows,
        window_pooling: config.window_pooling,
        base_model: model_name.clone(),
    };
    write_json(&out_dir.join(INFO_FILE), &info)?;
    let state = &outcome.state;
    let metrics = FinetuneMetrics {
        data: data.name.clone(),
        base_model: model_name,
        backend: options.backend.clone(),
        validation: SplitScores::of(&val, data.validation.len()),
        test: SplitScores::of(&test, data.test.len()),
        test_report: test.report,
        best_step: state.best_step,
        steps: state.step,
        stopped_early: state.stopped_early,
        train_seconds: state.train_seconds,
        train_tokens_per_s: state.tokens_seen as f64 / state.train_seconds.max(1e-9),
        batch_probes,
        config,
    };
    write_json(&out_dir.join("metrics.json"), &metrics)?;
    Ok(metrics)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    hone_train::checkpoint::write_json(path, value).map_err(TaskError::from)
}
