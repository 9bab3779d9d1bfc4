//! `hone optimize`: from a pretrained encoder to a smaller, faster,
//! measured classifier in one run. The stages, each a folder under the
//! output (and each skipped when an earlier run finished it):
//!
//! 1. `1-teacher`: fine-tune the base model on the data (or take `--teacher`);
//! 2. `2-distilled`: a student of fewer layers cut from the teacher, trained
//!    on its soft targets;
//! 3. `3-pruned`: half the heads and feed-forward neurons of the last model
//!    removed, then fine-tuned by distillation from the teacher;
//! 4. `4-int8`: the last f32 model quantized to int8 (dynamic activations).
//!
//! Then every stage is measured in the same process ([`measure`]) and the
//! report is written ([`report`]).

pub mod measure;
pub mod report;

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;
use hone_compress::SourceModel;
use hone_compress::distill::{DistillConfig, DistillJob, StudentInit, distill, spaced_layers};
use hone_compress::prune::{self, PrunePlan};
use hone_compress::quant::{self, Batch};
use hone_data::tokenize::TextTokenizer;
use hone_tasks::classify::{ClassifyData, FinetuneConfig, FinetuneJob, FinetuneMetrics, finetune};
use hone_train::RunOptions;

use crate::backend::{BackendKind, TrainJob, dispatch_train};
use crate::{Error, Result};
pub use measure::{LatencySetup, StageMeasure};
pub use report::Report;

/// A step of the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Finetune,
    Distill,
    Prune,
    Quantize,
}

impl std::str::FromStr for Step {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "finetune" => Ok(Self::Finetune),
            "distill" => Ok(Self::Distill),
            "prune" => Ok(Self::Prune),
            "quantize" => Ok(Self::Quantize),
            o => Err(format!(
                "unknown step {o:?} (expected finetune, distill, prune or quantize)"
            )),
        }
    }
}

/// The settings of each stage.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StageSettings {
    pub teacher: FinetuneConfig,
    pub student: FinetuneConfig,
    pub pruned: FinetuneConfig,
    pub student_layers: usize,
    pub distill: DistillConfig,
    pub prune: PrunePlan,
    pub calib_samples: usize,
}

/// One pipeline run.
pub struct OptimizeJob<'a> {
    /// The pretrained encoder the teacher is fine-tuned from.
    pub model_dir: &'a Path,
    pub model_name: String,
    /// A fine-tuned classifier to use as the teacher instead of step 1.
    pub teacher: Option<&'a Path>,
    pub data: &'a ClassifyData,
    pub out_dir: &'a Path,
    pub steps: Vec<Step>,
    pub quick: bool,
    pub settings: StageSettings,
    pub backend: BackendKind,
    pub progress: bool,
    pub latency: LatencySetup,
}

enum Training<'a> {
    Finetune(FinetuneJob<'a>),
    Distill(DistillJob<'a>),
}

struct TrainStage<'a>(Option<Training<'a>>);

impl TrainJob for TrainStage<'_> {
    type Output = Result<FinetuneMetrics>;
    fn run<B: AutodiffBackend>(mut self, device: B::Device) -> Self::Output {
        Ok(match self.0.take().expect("run once") {
            Training::Finetune(job) => finetune::<B>(job, &device)?,
            Training::Distill(job) => distill::<B>(job, &device)?,
        })
    }
}

/// Up to `samples` training texts as engine batches of 32, tokenized as the
/// classifier in `model_dir` tokenizes (for activation importance).
pub fn calibration_batches(
    model_dir: &Path,
    data: &ClassifyData,
    samples: usize,
) -> Result<Vec<Batch>> {
    let max_len = hone_tasks::classify::read_info(model_dir).map_or(128, |i| i.max_len);
    let tokenizer = TextTokenizer::from_file(&model_dir.join("tokenizer.json"), max_len)?;
    // Spread over the split (data files are often grouped by label).
    let step = data.train.len().div_ceil(samples.max(1)).max(1);
    let texts: Vec<&str> = data
        .train
        .iter()
        .step_by(step)
        .map(|e| e.text.as_str())
        .collect();
    texts
        .chunks(32)
        .map(|chunk| crate::fast::encode(&tokenizer, chunk))
        .collect()
}

/// Whether a training stage's folder holds a finished model.
fn finished(dir: &Path) -> bool {
    dir.join("metrics.json").is_file()
}

/// Runs the pipeline, calling `announce` before each stage, and writes the
/// report into the output folder.
pub fn optimize(job: OptimizeJob<'_>, mut announce: impl FnMut(&str)) -> Result<Report> {
    let OptimizeJob {
        model_dir,
        model_name,
        teacher,
        data,
        out_dir,
        steps,
        quick,
        settings,
        backend,
        progress,
        latency,
    } = job;
    std::fs::create_dir_all(out_dir).map_err(|source| Error::Io {
        path: out_dir.into(),
        source,
    })?;
    // Finished stages are reused, so they must have been made with these
    // very settings: the first run records them, later runs compare.
    let record = serde_json::json!({
        "model": model_name,
        "teacher": teacher,
        "data": data.name,
        "train_examples": data.train.len(),
        "quick": quick,
        "steps": format!("{steps:?}"),
        "settings": settings,
    });
    let record_path = out_dir.join("optimize.json");
    // Compared as written (numbers round-trip through their text form).
    let json = serde_json::to_string_pretty(&record).expect("settings serialize");
    let stage_made = ["1-teacher", "2-distilled", "3-pruned", "4-int8"]
        .iter()
        .any(|s| out_dir.join(s).exists());
    if stage_made && record_path.is_file() {
        let earlier = std::fs::read_to_string(&record_path).map_err(|source| Error::Io {
            path: record_path.clone(),
            source,
        })?;
        let same = serde_json::from_str::<serde_json::Value>(&earlier).ok()
            == serde_json::from_str::<serde_json::Value>(&json).ok();
        if !same {
            return Err(Error::Invalid(format!(
                "{} holds an optimize run with other settings (see optimize.json); \
                 choose a new --out",
                out_dir.display()
            )));
        }
    } else {
        hone_train::log::write_atomically(&record_path, json.as_bytes()).map_err(|source| {
            Error::Io {
                path: record_path.clone(),
                source,
            }
        })?;
    }
    let options = |dir: &Path| RunOptions {
        resume: dir.join("checkpoints/LATEST").is_file(),
        progress,
        backend: backend.label().to_string(),
    };
    let train = |stage: Training<'_>| -> Result<FinetuneMetrics> {
        dispatch_train(backend, TrainStage(Some(stage)))?
    };
    let mut stages: Vec<(String, PathBuf)> = Vec::new();
    let mut seconds: Vec<(String, f64)> = Vec::new();

    // 1. The teacher.
    let teacher_dir = match teacher {
        Some(dir) => dir.to_path_buf(),
        None => {
            if !steps.contains(&Step::Finetune) {
                return Err(Error::Invalid(
                    "without the finetune step, give a fine-tuned --teacher".into(),
                ));
            }
            let dir = out_dir.join("1-teacher");
            if !finished(&dir) {
                announce(&format!(
                    "1/4 fine-tuning the teacher ({model_name}) → {}",
                    dir.display()
                ));
                let start = Instant::now();
                train(Training::Finetune(FinetuneJob {
                    model_dir,
                    model_name: model_name.clone(),
                    data,
                    out_dir: &dir,
                    config: settings.teacher.clone(),
                    wordnet: None,
                    options: options(&dir),
                }))?;
                seconds.push(("teacher".into(), start.elapsed().as_secs_f64()));
            }
            dir
        }
    };
    stages.push(("teacher".into(), teacher_dir.clone()));
    let mut last = teacher_dir.clone();

    // 2. The distilled student.
    if steps.contains(&Step::Distill) {
        let dir = out_dir.join("2-distilled");
        if !finished(&dir) {
            let layers = hone_model::BertConfig::from_file(&teacher_dir.join("config.json"))?
                .num_hidden_layers;
            let init = spaced_layers(layers, settings.student_layers)?;
            announce(&format!(
                "2/4 distilling into {} layers (teacher layers {init:?}) → {}",
                init.len(),
                dir.display()
            ));
            let start = Instant::now();
            train(Training::Distill(DistillJob {
                teacher_dir: &teacher_dir,
                student: StudentInit::TeacherLayers(init),
                data,
                out_dir: &dir,
                train: settings.student.clone(),
                distill: settings.distill.clone(),
                wordnet: None,
                options: options(&dir),
                pruning: None,
            }))?;
            seconds.push(("distilled".into(), start.elapsed().as_secs_f64()));
        }
        stages.push((
            format!("distilled ({} layers)", settings.student_layers),
            dir.clone(),
        ));
        last = dir;
    }

    // 3. Pruned, then fine-tuned by distillation from the teacher.
    if steps.contains(&Step::Prune) {
        let dir = out_dir.join("3-pruned");
        if !finished(&dir) {
            announce(&format!(
                "3/4 pruning {:.0} % of heads and {:.0} % of FFN neurons of {}, then fine-tuning → {}",
                settings.prune.heads * 100.0,
                settings.prune.ffn * 100.0,
                last.display(),
                dir.display()
            ));
            let start = Instant::now();
            let init = dir.join("pruned-init");
            if !init.join(prune::REPORT_FILE).is_file() {
                let calibration = calibration_batches(&last, data, settings.calib_samples)?;
                let source = SourceModel::open(&last)?;
                let (pruned, report) = prune::prune(&source, &settings.prune, &calibration)?;
                prune::save(&pruned, &report, &init)?;
            }
            train(Training::Distill(DistillJob {
                teacher_dir: &teacher_dir,
                student: StudentInit::Folder(&init),
                data,
                out_dir: &dir,
                train: settings.pruned.clone(),
                distill: settings.distill.clone(),
                wordnet: None,
                options: options(&dir),
                pruning: None,
            }))?;
            // Keep the pruning report beside the model, drop the starting copy.
            let from = init.join(prune::REPORT_FILE);
            std::fs::copy(&from, dir.join(prune::REPORT_FILE))
                .and_then(|_| std::fs::remove_dir_all(&init))
                .map_err(|source| Error::Io { path: from, source })?;
            seconds.push(("pruned".into(), start.elapsed().as_secs_f64()));
        }
        stages.push(("pruned + fine-tuned".into(), dir.clone()));
        last = dir;
    }

    // 4. int8.
    if steps.contains(&Step::Quantize) {
        let dir = out_dir.join("4-int8");
        if !quant::is_quantized(&dir) {
            announce(&format!(
                "4/4 quantizing {} to int8 → {}",
                last.display(),
                dir.display()
            ));
            let start = Instant::now();
            let source = SourceModel::open(&last)?;
            let plan = crate::fast::int8_dynamic_plan(&last, &source)?;
            let quantized = quant::quantize(&source, &plan)?;
            quant::save(&quantized, &last, &dir)?;
            seconds.push(("int8".into(), start.elapsed().as_secs_f64()));
        }
        stages.push(("int8".into(), dir));
    }

    announce("measuring every stage (accuracy, size, latency)");
    let measures = stages
        .iter()
        .map(|(name, dir)| measure::measure(name, dir, data, latency))
        .collect::<Result<Vec<_>>>()?;
    let report = Report {
        data: data.name.clone(),
        base_model: model_name,
        quick,
        train_examples: data.train.len(),
        test_examples: data.test.len(),
        latency,
        threads: rayon::current_num_threads(),
        stages: measures,
        stage_seconds: seconds,
    }
    .with_speedups();
    report.write(out_dir)?;
    Ok(report)
}
