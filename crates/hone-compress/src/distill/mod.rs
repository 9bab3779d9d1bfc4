//! Knowledge distillation of a fine-tuned classifier into a smaller one.
//!
//! The student is the teacher cut down to chosen layers ([`student`]),
//! optionally narrowed to fewer hidden channels ([`crate::prune::width`]) —
//! or any classifier folder with the teacher's labels, such as a pruned one
//! — trained by hone-train on a mix of the hard labels and the teacher's
//! temperature-softened logits, optionally plus hidden-state matching
//! (through a learned projection when the student is narrower) and
//! attention-map matching ([`loss`], [`task`]). The teacher's logits on the training split are
//! computed once and cached beside the teacher (`cache/`), so further
//! student runs reuse them; with augmentation the teacher labels each
//! augmented text on the fly instead.

pub mod loss;
pub mod student;
pub mod task;

use std::path::{Path, PathBuf};

use burn::tensor::backend::AutodiffBackend;
use hone_data::augment::WordNet;
use hone_tasks::classify::{
    ClassifyData, FinetuneConfig, FinetuneMetrics, RecipeRun, TextClassifier, classify_task,
    initial_model, predict_logits, prepare, train_and_save,
};
use hone_train::RunOptions;
use serde::{Deserialize, Serialize};

use crate::quant::Batch;
use crate::{CompressError, Result, SourceModel};
pub use student::{from_teacher_layers, spaced_layers};
pub use task::{DistillBatch, DistillTask};

/// In `student-init/`: the teacher layers the student was cut from and its width.
const STUDENT_FILE: &str = "hone_student.json";

/// What `student-init/hone_student.json` records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct StudentRecord {
    layers: Vec<usize>,
    hidden: usize,
}

/// The distillation settings of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DistillConfig {
    /// Softmax temperature of the soft targets.
    pub temperature: f32,
    /// Weight of the soft-target loss; `1 − alpha` weighs the hard labels.
    pub alpha: f32,
    /// Weight of the hidden-state loss (0: off).
    pub hidden_weight: f32,
    /// Weight of the attention-map loss (0: off); student and teacher layers
    /// must have the same heads.
    #[serde(default)]
    pub attention_weight: f32,
}

impl Default for DistillConfig {
    fn default() -> Self {
        Self {
            temperature: 2.0,
            alpha: 0.5,
            hidden_weight: 0.0,
            attention_weight: 0.0,
        }
    }
}

impl DistillConfig {
    pub fn validate(&self) -> Result<()> {
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
            return Err(CompressError::Invalid(format!(
                "temperature {} must be positive",
                self.temperature
            )));
        }
        if !(0.0..=1.0).contains(&self.alpha) {
            return Err(CompressError::Invalid(format!(
                "alpha {} must be within [0, 1]",
                self.alpha
            )));
        }
        for (what, w) in [
            ("hidden-state", self.hidden_weight),
            ("attention", self.attention_weight),
        ] {
            if !(w >= 0.0 && w.is_finite()) {
                return Err(CompressError::Invalid(format!(
                    "{what} loss weight {w} must be 0 or more"
                )));
            }
        }
        Ok(())
    }

    /// Whether the teacher must run on every batch (its hidden states or
    /// attention maps are needed, which are too big to cache).
    pub fn needs_teacher_layers(&self) -> bool {
        self.hidden_weight > 0.0 || self.attention_weight > 0.0
    }
}

/// Where the student comes from.
pub enum StudentInit<'a> {
    /// These teacher layers (ascending), with the embeddings and head.
    TeacherLayers(Vec<usize>),
    /// These teacher layers with the hidden width cut to `hidden` channels,
    /// those that carry most on the `calibration` texts
    /// ([`crate::prune::width`]); the hidden-state loss then goes through a
    /// learned projection to the teacher's width.
    NarrowTeacherLayers {
        layers: Vec<usize>,
        hidden: usize,
        calibration: &'a [Batch],
    },
    /// An existing classifier folder (for example a pruned teacher); its
    /// layers are matched to evenly spread teacher layers.
    Folder(&'a Path),
}

/// One distillation run.
pub struct DistillJob<'a> {
    pub teacher_dir: &'a Path,
    pub student: StudentInit<'a>,
    pub data: &'a ClassifyData,
    pub out_dir: &'a Path,
    /// The student's training settings (epochs, LR, augmentation, …).
    pub train: FinetuneConfig,
    pub distill: DistillConfig,
    pub wordnet: Option<WordNet>,
    pub options: RunOptions,
    /// Gradual magnitude pruning of the student while it learns.
    pub pruning: Option<crate::prune::unstructured::GradualPruning>,
}

/// `distill.json`, written beside the student's `metrics.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DistillRecord {
    pub teacher: PathBuf,
    pub distill: DistillConfig,
    /// For each student layer, the teacher layer it started from or is matched to.
    pub layer_map: Vec<usize>,
    pub teacher_logits_cache: Option<PathBuf>,
}

/// Trains the student and writes it as a classifier folder.
pub fn distill<B: AutodiffBackend>(
    job: DistillJob<'_>,
    device: &B::Device,
) -> Result<FinetuneMetrics> {
    let DistillJob {
        teacher_dir,
        student,
        data,
        out_dir,
        train,
        distill,
        wordnet,
        options,
        pruning,
    } = job;
    distill.validate()?;
    let teacher_info = hone_tasks::classify::read_info(teacher_dir)?;
    if teacher_info.labels != data.labels {
        return Err(CompressError::Invalid(format!(
            "the teacher {} knows labels {:?} but the data has {:?}",
            teacher_dir.display(),
            teacher_info.labels,
            data.labels
        )));
    }
    let tokenizer = prepare(teacher_dir, out_dir, &train)?;
    let teacher_source = SourceModel::open(teacher_dir)?;
    let teacher_layers = teacher_source.config.num_hidden_layers;
    // The student's starting point: for teacher layers, a folder written
    // once into the run folder (so a resumed run starts from the same
    // place), after every check, recording the layers it was cut from.
    let init_dir = out_dir.join("student-init");
    let student_dir = match &student {
        StudentInit::Folder(dir) => dir.to_path_buf(),
        StudentInit::TeacherLayers(_) | StudentInit::NarrowTeacherLayers { .. } => init_dir.clone(),
    };
    let teacher_hidden = teacher_source.config.hidden_size;
    let cut = match student {
        StudentInit::TeacherLayers(layers) => Some((layers, teacher_hidden, &[][..])),
        StudentInit::NarrowTeacherLayers {
            layers,
            hidden,
            calibration,
        } => Some((layers, hidden, calibration)),
        StudentInit::Folder(_) => None,
    };
    let (student_config, layer_map, pending) = match cut {
        Some((layers, hidden, calibration)) => {
            if hidden > teacher_hidden {
                return Err(CompressError::Invalid(format!(
                    "a student {hidden} wide would be wider than the teacher ({teacher_hidden})"
                )));
            }
            let wanted = StudentRecord {
                layers: layers.clone(),
                hidden,
            };
            if init_dir.is_dir() {
                let recorded: StudentRecord = hone_train::checkpoint::read_json(
                    &init_dir.join(STUDENT_FILE),
                )
                .map_err(|_| {
                    CompressError::Invalid(format!(
                        "{} exists but does not record how it was cut; remove it",
                        init_dir.display()
                    ))
                })?;
                if recorded != wanted {
                    return Err(CompressError::Invalid(format!(
                        "{} holds a student cut from teacher layers {:?} at width {}, not {layers:?} \
                         at width {hidden}; choose a new output folder",
                        out_dir.display(),
                        recorded.layers,
                        recorded.hidden
                    )));
                }
                let config = hone_model::BertConfig::from_file(&init_dir.join("config.json"))?;
                (config, layers, None)
            } else {
                let mut model = from_teacher_layers(&teacher_source, &layers)?;
                if hidden < teacher_hidden {
                    let scores = crate::prune::importance::hidden_channels(&model, calibration)?;
                    let keep = crate::prune::width::select_channels(&scores, hidden);
                    model = crate::prune::width::narrow(&model, &keep)?;
                }
                (model.config.clone(), layers, Some((model, wanted)))
            }
        }
        None => {
            let config = hone_model::BertConfig::from_file(&student_dir.join("config.json"))?;
            let map = spaced_layers(teacher_layers, config.num_hidden_layers)?;
            (config, map, None)
        }
    };
    if student_config.hidden_size > teacher_hidden {
        return Err(CompressError::Invalid(format!(
            "the student is {} wide, wider than the teacher ({teacher_hidden})",
            student_config.hidden_size
        )));
    }
    if student_config.num_hidden_layers > teacher_layers
        || student_config.num_hidden_layers != layer_map.len()
    {
        return Err(CompressError::Invalid(format!(
            "the student has {} layers; it needs at most the teacher's {teacher_layers}, \
             one per matched teacher layer {layer_map:?}",
            student_config.num_hidden_layers
        )));
    }
    if distill.attention_weight > 0.0 {
        for (i, &t) in layer_map.iter().enumerate() {
            let (s_heads, t_heads) = (
                student_config.layer(i).heads,
                teacher_source.config.layer(t).heads,
            );
            if s_heads != t_heads {
                return Err(CompressError::Invalid(format!(
                    "attention transfer needs the same heads: student layer {i} has {s_heads}, \
                     teacher layer {t} has {t_heads}"
                )));
            }
        }
    }
    if let Some((model, record)) = pending {
        crate::folder::write_model_folder(teacher_dir, &init_dir, |tmp| {
            model.write_f32(tmp)?;
            Ok(hone_train::checkpoint::write_json(
                &tmp.join(STUDENT_FILE),
                &record,
            )?)
        })?;
    }
    B::seed(device, train.train.seed);
    let mut train = train;
    let mut model = initial_model::<B>(&student_dir, data, &mut train, device)?;
    if student_config.hidden_size < teacher_hidden && distill.hidden_weight > 0.0 {
        // TinyBERT's W_h: one learned map from the student's width to the
        // teacher's, shared by every matched layer, trained with the student.
        model.hidden_projection = Some(
            burn::nn::LinearConfig::new(student_config.hidden_size, teacher_hidden).init(device),
        );
    }
    let (teacher, _, _) = TextClassifier::<B::InnerBackend>::load(teacher_dir, device)?;
    // Batches feed the teacher too: the padding mask must be as wide as the
    // widest of both (a pruned student has fewer heads than its teacher).
    let mut limits = model.encoder.limits();
    limits.n_heads = limits.n_heads.max(teacher.encoder.n_heads);
    if train.window_pooling == hone_tasks::classify::WindowPooling::Features {
        // The distillation loss reads one window per example.
        return Err(hone_tasks::TaskError::Config(
            "distillation trains on windows one at a time: --window-pooling features is not supported here".into(),
        )
        .into());
    }
    let base = classify_task(data, &tokenizer, &train, limits, wordnet, device)?;
    // Augmented texts and hidden-state transfer run the teacher on every
    // batch anyway; otherwise its logits are computed once.
    let (cached_logits, cache_path) = if base.augmenter.is_some() || distill.needs_teacher_layers()
    {
        (None, None)
    } else {
        let (logits, path) =
            cached_teacher_logits::<B>(&teacher, teacher_dir, data, &tokenizer, device)?;
        (Some(logits), path)
    };
    let task = DistillTask {
        base,
        teacher,
        cached_logits,
        config: distill.clone(),
        layer_map: layer_map.clone(),
    };
    let record = DistillRecord {
        teacher: teacher_dir.into(),
        distill,
        layer_map,
        teacher_logits_cache: cache_path,
    };
    let run = RecipeRun {
        source_dir: &student_dir,
        model_name: format!("distilled from {}", teacher_dir.display()),
        data,
        tokenizer: &tokenizer,
        out_dir,
        config: train,
        options,
    };
    let metrics = match pruning {
        Some(p) => {
            crate::prune::unstructured::check_sparsity(p.sparsity)?;
            let train_config = run.config.train.clone();
            train_and_save(&mut p.wrap(task, &train_config), model, run, device)?
        }
        None => train_and_save(&mut { task }, model, run, device)?,
    };
    hone_train::checkpoint::write_json(&out_dir.join("distill.json"), &record)?;
    // The trained student is complete; its starting copy is not needed.
    if init_dir.is_dir() {
        std::fs::remove_dir_all(&init_dir).map_err(crate::error::io(&init_dir))?;
    }
    Ok(metrics)
}

/// The teacher's logits on the training texts, read from
/// `teacher/cache/` when an earlier run with the same teacher weights, texts
/// and tokenizer settings wrote them, computed and written there otherwise
/// (a read-only teacher folder just means no cache: the path is `None`).
fn cached_teacher_logits<B: AutodiffBackend>(
    teacher: &TextClassifier<B::InnerBackend>,
    teacher_dir: &Path,
    data: &ClassifyData,
    tokenizer: &hone_data::tokenize::TextTokenizer,
    device: &B::Device,
) -> Result<(Vec<Vec<f32>>, Option<PathBuf>)> {
    let texts: Vec<&str> = data.train.iter().map(|e| e.text.as_str()).collect();
    let weights = std::fs::metadata(teacher_dir.join("model.safetensors"))
        .map_err(crate::error::io(teacher_dir))?;
    let stamp = format!(
        "{:?}|{}|{:?}",
        tokenizer.truncation(),
        weights.len(),
        weights.modified().ok()
    );
    let key = cache_key(&texts, tokenizer.max_len(), &stamp);
    let path = teacher_dir
        .join("cache")
        .join(format!("teacher-logits-{key:016x}.json"));
    if let Ok(logits) = hone_train::checkpoint::read_json::<Vec<Vec<f32>>>(&path) {
        if logits.len() == texts.len() {
            return Ok((logits, Some(path)));
        }
    }
    let logits = predict_logits(teacher, tokenizer, &texts, 64, device)?;
    let written = path
        .parent()
        .is_some_and(|dir| std::fs::create_dir_all(dir).is_ok())
        && hone_train::checkpoint::write_json(&path, &logits).is_ok();
    Ok((logits, written.then_some(path)))
}

/// FNV-1a over the texts and tokenizer settings: stable across runs and
/// Rust versions (unlike `DefaultHasher`).
fn cache_key(texts: &[&str], max_len: usize, truncation: &str) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            hash ^= b as u64;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(&max_len.to_le_bytes());
    eat(truncation.as_bytes());
    for t in texts {
        eat(t.as_bytes());
        eat(&[0xff]);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_key_depends_on_texts_and_settings() {
        let a = cache_key(&["a", "b"], 128, "Head");
        assert_eq!(a, cache_key(&["a", "b"], 128, "Head"));
        assert_ne!(a, cache_key(&["ab"], 128, "Head"));
        assert_ne!(a, cache_key(&["a", "b"], 64, "Head"));
        assert_ne!(a, cache_key(&["a", "b"], 128, "Tail"));
    }

    #[test]
    fn bad_settings_are_refused() {
        for bad in [
            DistillConfig {
                temperature: 0.0,
                ..Default::default()
            },
            DistillConfig {
                alpha: 1.5,
                ..Default::default()
            },
            DistillConfig {
                hidden_weight: -1.0,
                ..Default::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
