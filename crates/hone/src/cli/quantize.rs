//! `hone quantize --model NAME|DIR --scheme int8-dynamic|int8-static|int8-qat|int4-weight --out DIR`:
//! a quantized model folder for hone's CPU engine, with the size report.
//! `int8-qat` first fine-tunes the classifier with int8 rounding simulated
//! (fake quantization, straight-through gradients), then quantizes it as
//! int8-dynamic does.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::Args;
use hone::backend::{TrainJob, dispatch_train};
use hone::compress::quant::{self, Method, Plan, Scheme, SourceModel};
use hone::data::datasets::{TableOptions, load};
use hone::data::split::SPLIT_SEED;
use hone::fast;
use hone::model::engine::{LinearId, Role, Storage, WeightBits};
use hone::models::resolve_model;
use hone::tasks::classify::{FinetuneConfig, FinetuneJob, argmax, finetune, read_info};

use super::train_args::{DataArgs, run_options};
use super::{Context, Failure};

#[derive(Debug, Args)]
pub struct QuantizeArgs {
    /// A model name or an f32 model folder (pretrained, or fine-tuned by `hone finetune`).
    #[arg(long, default_value = "minilm-l6")]
    pub model: String,
    /// int8-dynamic (per-token activation scales at run time), int8-static (calibrated scales),
    /// int8-qat (quantization-aware fine-tuning, then int8-dynamic), int4-weight.
    #[arg(long)]
    pub scheme: String,
    /// int8 weights on a 7-bit grid (±64: the exact `vpmaddubsw` kernel, faster on AVX2
    /// without VNNI, embeddings a little less exact) or 8 (±127, `vpmaddwd`).
    #[arg(long, default_value = "8")]
    pub weight_bits: WeightBits,
    /// Group size of int4-weight: 32, 64 or 128 input values per scale.
    #[arg(long, default_value_t = 32)]
    pub group: usize,
    /// Calibration texts from a data set's training split (a built-in name or a table):
    /// int8-static's scales, or the ranges int8-dynamic's smoothing is measured on
    /// (default for int8-dynamic: random words of the model's vocabulary).
    #[arg(long)]
    pub calib_data: Option<String>,
    /// Column holding the text (user tables).
    #[arg(long, default_value = "text")]
    pub text_col: String,
    /// Column holding the label (user tables).
    #[arg(long, default_value = "label")]
    pub label_col: String,
    /// How many calibration texts to use.
    #[arg(long, default_value_t = fast::CALIBRATION_TEXTS)]
    pub calib_samples: usize,
    /// int8-dynamic: SmoothQuant's migration strength α in [0, 1] (default 0.5).
    #[arg(long)]
    pub smooth_alpha: Option<f32>,
    /// int8-dynamic: no per-channel smoothing (plain per-token activation scales).
    #[arg(long)]
    pub no_smooth: bool,
    /// int8-static: minmax, percentile[:P] (default 99.99) or mse.
    #[arg(long, default_value = "percentile")]
    pub calib_method: String,
    /// Dense layers to keep in f32, e.g. `0:ffn_out,5:qkv` (roles: qkv, attention_out, ffn_in, ffn_out).
    #[arg(long, value_delimiter = ',')]
    pub keep_f32: Vec<String>,
    /// Accuracy-driven fallback (fine-tuned classifiers): keep the most
    /// sensitive dense layers in f32 until validation accuracy is within
    /// this many points of the f32 model's.
    #[arg(long)]
    pub fallback_budget: Option<f64>,
    /// The data set whose validation split scores the fallback (default: the calibration data).
    #[arg(long)]
    pub fallback_data: Option<String>,
    /// int8-qat: the data set to fine-tune on with int8 rounding simulated (a built-in name or a table).
    #[arg(long)]
    pub qat_data: Option<String>,
    /// int8-qat: epochs of quantization-aware fine-tuning.
    #[arg(long, default_value_t = 1)]
    pub qat_epochs: usize,
    /// int8-qat: peak learning rate of the quantization-aware fine-tuning.
    #[arg(long, default_value_t = 2e-5)]
    pub qat_lr: f64,
    /// The new folder (must not exist).
    #[arg(long)]
    pub out: PathBuf,
}

struct QatJob<'a>(Option<FinetuneJob<'a>>);

impl TrainJob for QatJob<'_> {
    type Output = hone::tasks::Result<hone::tasks::classify::FinetuneMetrics>;
    fn run<B: burn::tensor::backend::AutodiffBackend>(mut self, device: B::Device) -> Self::Output {
        finetune::<B>(self.0.take().expect("run once"), &device)
    }
}

/// Quantization-aware fine-tuning of the classifier in `dir` into `scratch`
/// (its dense layers fake-quantized as int8-dynamic computes them).
fn qat_finetune(
    ctx: &Context,
    args: &QuantizeArgs,
    dir: &std::path::Path,
    scratch: &std::path::Path,
) -> Result<(), Failure> {
    let info = read_info(dir).map_err(|_| {
        Failure::Usage(format!(
            "int8-qat fine-tunes a classifier; {} has no {}",
            dir.display(),
            hone::tasks::classify::INFO_FILE
        ))
    })?;
    let data_name = args.qat_data.as_deref().ok_or_else(|| {
        Failure::Usage("int8-qat needs --qat-data (the data set to fine-tune on)".into())
    })?;
    if args.qat_epochs == 0 {
        return Err(Failure::Usage("--qat-epochs must be at least 1".into()));
    }
    let data = DataArgs {
        data: data_name.into(),
        text_col: args.text_col.clone(),
        label_col: args.label_col.clone(),
    }
    .load(ctx)?;
    let mut config = FinetuneConfig {
        max_len: info.max_len,
        truncation: info.truncation,
        text_view: info.text_view,
        windows: info.windows,
        window_pooling: info.window_pooling,
        pooling: info.pooling,
        fake_quant: true,
        ..FinetuneConfig::default()
    };
    config.train.epochs = args.qat_epochs;
    config.train.optim.lr = args.qat_lr;
    config.train.schedule = hone::train::schedule::LrSchedule::Linear {
        warmup: 0,
        total: 1,
    };
    eprintln!(
        "quantization-aware fine-tuning on {} ({} epoch(s), lr {})…",
        data.name, args.qat_epochs, args.qat_lr
    );
    let job = FinetuneJob {
        model_dir: dir,
        model_name: info.base_model.clone(),
        data: &data,
        out_dir: scratch,
        config,
        wordnet: None,
        options: run_options(ctx, false),
    };
    let metrics = dispatch_train(ctx.backend, QatJob(Some(job)))??;
    eprintln!(
        "fake-quantized model: test accuracy {:.4}, validation {:.4}",
        metrics.test.accuracy, metrics.validation.accuracy
    );
    Ok(())
}

pub fn run(ctx: &Context, args: QuantizeArgs) -> Result<(), Failure> {
    let scheme = match args.scheme.as_str() {
        "int8-dynamic" => Scheme::Int8Dynamic,
        "int8-qat" => Scheme::Int8Qat,
        "int8-static" => Scheme::Int8Static {
            method: args
                .calib_method
                .parse::<Method>()
                .map_err(Failure::Usage)?,
        },
        "int4-weight" => {
            if !matches!(args.group, 32 | 64 | 128) {
                return Err(Failure::Usage(format!(
                    "--group {} must be 32, 64 or 128",
                    args.group
                )));
            }
            Scheme::Int4Weight { group: args.group }
        }
        other => {
            return Err(Failure::Usage(format!(
                "unknown scheme `{other}` (int8-dynamic, int8-static, int8-qat, int4-weight)"
            )));
        }
    };
    let keep_f32 = parse_keep(&args.keep_f32).map_err(Failure::Usage)?;
    if args.out.exists() {
        return Err(Failure::Usage(format!(
            "{} already exists; choose a new --out folder",
            args.out.display()
        )));
    }
    let dir = resolve_model(&args.model, &ctx.cache, &ctx.fetch)?;
    if quant::is_quantized(&dir) {
        return Err(Failure::Usage(format!(
            "{} is already quantized; give the f32 folder",
            dir.display()
        )));
    }
    if args.qat_data.is_some() && scheme != Scheme::Int8Qat {
        return Err(Failure::Usage(format!(
            "--qat-data is for int8-qat; {} needs none",
            scheme.name()
        )));
    }
    // int8-qat: fine-tune with int8 rounding simulated into a temporary
    // folder beside --out (removed however the run ends), then quantize
    // that model.
    let original = dir.clone();
    let parent = args
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(parent)?;
    match (scheme, args.weight_bits) {
        (_, WeightBits::Eight) | (Scheme::Int8Dynamic | Scheme::Int8Static { .. }, _) => {}
        (Scheme::Int8Qat, _) => {
            return Err(Failure::Usage(
                "int8-qat simulates 8-bit weights while fine-tuning; --weight-bits 7 is for int8-dynamic and int8-static".into(),
            ));
        }
        (Scheme::Int4Weight { .. }, _) => {
            return Err(Failure::Usage(
                "--weight-bits is for the int8 schemes; int4-weight has 4".into(),
            ));
        }
    }
    let scratch_dir = tempfile::Builder::new()
        .prefix(".hone-qat-")
        .tempdir_in(parent)?;
    let scratch = scratch_dir.path().join("model");
    let dir = if scheme == Scheme::Int8Qat {
        qat_finetune(ctx, &args, &dir, &scratch)?;
        scratch.clone()
    } else {
        dir
    };
    let source = SourceModel::open(&dir)?;
    let mut plan = Plan::new(scheme);
    plan.keep_f32 = keep_f32;
    plan.weight_bits = args.weight_bits;
    if scheme != Scheme::Int8Dynamic && (args.smooth_alpha.is_some() || args.no_smooth) {
        return Err(Failure::Usage(format!(
            "smoothing is for int8-dynamic; {} has none",
            scheme.name()
        )));
    }
    if args.no_smooth && args.smooth_alpha.is_some() {
        return Err(Failure::Usage(
            "--smooth-alpha and --no-smooth contradict each other".into(),
        ));
    }
    if let Some(alpha) = args.smooth_alpha.filter(|a| !(0.0..=1.0).contains(a)) {
        return Err(Failure::Usage(format!(
            "--smooth-alpha {alpha} must be in [0, 1]"
        )));
    }
    let smooth = scheme == Scheme::Int8Dynamic && !args.no_smooth;
    if let Scheme::Int8Static { .. } = scheme {
        if args.calib_data.is_none() {
            return Err(Failure::Usage("int8-static needs --calib-data (a data set whose training texts calibrate the scales)".into()));
        }
        let (batches, from) = calibration(ctx, &args, &dir, &source)?;
        plan.calibration = batches;
        plan.calibration_source = Some(from);
    } else if smooth {
        let (batches, from) = calibration(ctx, &args, &dir, &source)?;
        let alpha = args.smooth_alpha.unwrap_or(quant::smooth::DEFAULT_ALPHA);
        eprintln!("measuring activation ranges for smoothing on {from}…");
        plan.smoothing = Some(quant::Smoothing::measure(&source, &batches, alpha, from)?);
    } else if args.calib_data.is_some() {
        return Err(Failure::Usage(format!(
            "--calib-data is for int8-static and int8-dynamic's smoothing; {} needs none",
            scheme.name()
        )));
    }
    eprintln!("quantizing {} with {}…", dir.display(), scheme.name());
    let mut model = match args.fallback_budget {
        None => quant::quantize(&source, &plan)?,
        Some(budget) => with_fallback(ctx, &args, &dir, &source, &plan, budget)?,
    };
    if scheme == Scheme::Int8Qat {
        // Name the model the user gave, not the temporary folder.
        model.info.source = format!(
            "{} after quantization-aware fine-tuning on {} ({} epoch(s), lr {})",
            original.display(),
            args.qat_data.as_deref().unwrap_or_default(),
            args.qat_epochs,
            args.qat_lr
        );
    }
    let bytes = quant::save(&model, &dir, &args.out)?;
    if scheme == Scheme::Int8Qat {
        std::fs::copy(
            scratch.join("metrics.json"),
            args.out.join("qat-metrics.json"),
        )?;
    }
    let source_bytes = model.info.source_bytes;
    println!(
        "wrote {} ({}: {:.1} MB, {:.1} % of the f32 file's {:.1} MB; {} of {} dense layers quantized)",
        args.out.display(),
        scheme.name(),
        bytes as f64 / 1e6,
        100.0 * bytes as f64 / source_bytes.max(1) as f64,
        source_bytes as f64 / 1e6,
        model
            .info
            .layers
            .iter()
            .filter(|l| l.storage != Storage::F32)
            .count(),
        model.info.layers.len(),
    );
    Ok(())
}

/// Tokenized calibration texts and where they came from: the first
/// `--calib-samples` training texts of `--calib-data`, or (no data set
/// given) as many random texts of the model's vocabulary words.
fn calibration(
    ctx: &Context,
    args: &QuantizeArgs,
    dir: &std::path::Path,
    source: &SourceModel,
) -> Result<(Vec<quant::Batch>, String), Failure> {
    if args.calib_samples == 0 {
        return Err(Failure::Usage("--calib-samples must be at least 1".into()));
    }
    let Some(data) = args.calib_data.as_deref() else {
        return Ok(fast::vocabulary_calibration(
            dir,
            source,
            args.calib_samples,
        )?);
    };
    let table = TableOptions {
        text_col: args.text_col.clone(),
        label_col: args.label_col.clone(),
    };
    let loaded = load(data, &table, &ctx.cache, &ctx.fetch)?;
    let split = loaded.dataset.split(SPLIT_SEED);
    let texts: Vec<String> = split
        .train
        .iter()
        .take(args.calib_samples)
        .map(|&i| loaded.dataset.examples[i].text.clone())
        .collect();
    let from = format!("{data}: {} training texts, 128 tokens", texts.len());
    let tokenizer = fast::calibration_tokenizer(dir, source)?;
    Ok((fast::encode_batches(&tokenizer, &texts)?, from))
}

/// Quantizes with the accuracy-driven fallback, scored by validation
/// accuracy (points) of the classifier in `dir`.
fn with_fallback(
    ctx: &Context,
    args: &QuantizeArgs,
    dir: &std::path::Path,
    source: &SourceModel,
    plan: &Plan,
    budget: f64,
) -> Result<quant::QuantizedModel, Failure> {
    if !(0.0..100.0).contains(&budget) {
        return Err(Failure::Usage(format!(
            "--fallback-budget {budget} must be in [0, 100) accuracy points"
        )));
    }
    let data = args
        .fallback_data
        .clone()
        .or_else(|| args.calib_data.clone())
        .ok_or_else(|| {
            Failure::Usage("--fallback-budget needs --fallback-data (a data set whose validation split scores the model)".into())
        })?;
    if !dir.join(hone::tasks::classify::INFO_FILE).is_file() {
        return Err(Failure::Usage(format!(
            "--fallback-budget scores a fine-tuned classifier; {} has no {}",
            dir.display(),
            hone::tasks::classify::INFO_FILE
        )));
    }
    let table = TableOptions {
        text_col: args.text_col.clone(),
        label_col: args.label_col.clone(),
    };
    let loaded = load(&data, &table, &ctx.cache, &ctx.fetch)?;
    let classifier = hone::fast::FastClassifier::load(dir)?;
    let split = loaded.dataset.split(SPLIT_SEED);
    let mut texts = Vec::new();
    let mut gold = Vec::new();
    for &i in &split.validation {
        let e = &loaded.dataset.examples[i];
        let name = &loaded.dataset.labels[e.label];
        let label = classifier
            .info
            .labels
            .iter()
            .position(|l| l == name)
            .ok_or_else(|| {
                Failure::Run(anyhow::anyhow!(
                    "the data has label {name:?}, which the model in {} does not know",
                    dir.display()
                ))
            })?;
        texts.push(e.text.as_str());
        gold.push(label);
    }
    let mut metric = |engine: &hone::model::engine::FastBert| -> hone::compress::Result<f64> {
        let probs = classifier
            .predict_proba_with(engine, &texts, 64)
            .map_err(|e| hone::compress::CompressError::Invalid(e.to_string()))?;
        let right = probs
            .iter()
            .zip(&gold)
            .filter(|(p, g)| argmax(p) == **g)
            .count();
        Ok(100.0 * right as f64 / gold.len().max(1) as f64)
    };
    let (mut model, report) =
        quant::fallback::quantize_within_budget(source, plan, budget, &mut metric, &mut |m| {
            eprintln!("{m}")
        })?;
    eprintln!(
        "validation accuracy: f32 {:.2}, all quantized {:.2}, final {:.2} with {} layer(s) in f32",
        report.f32_metric,
        report.quantized_metric,
        report.final_metric,
        report.kept.len()
    );
    model.info.fallback = Some(report);
    Ok(model)
}

/// `LAYER:ROLE` items.
fn parse_keep(items: &[String]) -> Result<BTreeSet<LinearId>, String> {
    items
        .iter()
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (layer, role) = item
                .split_once(':')
                .ok_or_else(|| format!("--keep-f32 `{item}`: expected LAYER:ROLE"))?;
            let layer = layer
                .parse()
                .map_err(|_| format!("--keep-f32 `{item}`: bad layer number"))?;
            let role = Role::ALL
                .into_iter()
                .find(|r| r.name() == role)
                .ok_or_else(|| {
                    format!(
                        "--keep-f32 `{item}`: role must be qkv, attention_out, ffn_in or ffn_out"
                    )
                })?;
            Ok(LinearId { layer, role })
        })
        .collect()
}
