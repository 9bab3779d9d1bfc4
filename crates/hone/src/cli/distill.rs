//! `hone distill`: train a smaller student classifier on a fine-tuned
//! teacher's soft targets (and optionally its hidden states). The student is
//! the teacher cut down to `--student-layers` evenly spread layers (or the
//! ones `--student-init` names), or any classifier folder given by
//! `--student` (a pruned one, say). `--student-hidden` narrows a student
//! cut from the teacher to that many hidden channels (those that carry most
//! on training texts); its hidden-state loss then goes through a learned
//! projection.

use std::path::PathBuf;

use clap::Args;
use hone::backend::{TrainJob, dispatch_train};
use hone::compress::distill::{DistillConfig, DistillJob, StudentInit, distill, spaced_layers};
use hone::model::BertConfig;
use hone::models::resolve_model;
use hone::tasks::classify::FinetuneMetrics;

use super::train_args::{DataArgs, TrainArgs, print_metrics, run_options, wordnet_for};
use super::{Context, Failure};

#[derive(Debug, Args)]
pub struct DistillArgs {
    /// A classifier folder written by `hone finetune`.
    #[arg(long)]
    pub teacher: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// How many teacher layers the student keeps (spread evenly, the top one included).
    #[arg(long, default_value_t = 3, conflicts_with_all = ["student_init", "student"])]
    pub student_layers: usize,
    /// The teacher layers (0-based, ascending) the student starts from, e.g. 0,2,4.
    #[arg(long, value_delimiter = ',', conflicts_with = "student")]
    pub student_init: Option<Vec<usize>>,
    /// A model to train as the student instead: a classifier folder (a pruned
    /// teacher, say), or a pretrained encoder given by folder or name, such as
    /// `minilm-l3` (paraphrase-MiniLM-L3-v2), which gets a new head. As wide as
    /// the teacher or narrower.
    #[arg(long)]
    pub student: Option<String>,
    /// Hidden width of a student cut from the teacher (a multiple of the head size,
    /// at most the teacher's): the channels with the largest activations on
    /// --calib-samples training texts are kept.
    #[arg(long, conflicts_with = "student")]
    pub student_hidden: Option<usize>,
    /// Training texts the hidden channels are chosen on (with --student-hidden).
    #[arg(long, default_value_t = 256)]
    pub calib_samples: usize,
    /// Softmax temperature of the soft targets.
    #[arg(long, default_value_t = 2.0)]
    pub temperature: f32,
    /// Weight of the soft-target loss (1 − alpha weighs the hard labels).
    #[arg(long, default_value_t = 0.5)]
    pub alpha: f32,
    /// Weight of the hidden-state MSE between each student layer and its teacher layer (0: off).
    #[arg(long, default_value_t = 0.0)]
    pub hidden_loss: f32,
    /// Weight of the attention-map MSE between each student layer and its teacher layer
    /// (TinyBERT-style; needs the same heads; 0: off).
    #[arg(long, default_value_t = 0.0)]
    pub attention_loss: f32,
    /// Output folder of the student.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub train: TrainArgs,
    /// Continue the run in --out from its latest checkpoint (same options).
    #[arg(long)]
    pub resume: bool,
    /// Print metrics.json to stdout when done.
    #[arg(long)]
    pub json: bool,
}

struct Job<'a> {
    job: Option<DistillJob<'a>>,
}

impl TrainJob for Job<'_> {
    type Output = hone::compress::Result<FinetuneMetrics>;
    fn run<B: burn::tensor::backend::AutodiffBackend>(mut self, device: B::Device) -> Self::Output {
        distill::<B>(self.job.take().expect("run once"), &device)
    }
}

pub fn run(ctx: &Context, args: DistillArgs) -> Result<(), Failure> {
    let train = args.train.config()?;
    let distill_config = DistillConfig {
        temperature: args.temperature,
        alpha: args.alpha,
        hidden_weight: args.hidden_loss,
        attention_weight: args.attention_loss,
    };
    distill_config
        .validate()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let teacher_config = BertConfig::from_file(&args.teacher.join("config.json"))?;
    let data = args.data.load(ctx)?;
    let layers = match (&args.student_init, &args.student) {
        (Some(layers), _) => layers.clone(),
        (None, None) => spaced_layers(teacher_config.num_hidden_layers, args.student_layers)
            .map_err(|e| Failure::Usage(e.to_string()))?,
        // A student folder brings its own layers.
        (None, Some(_)) => Vec::new(),
    };
    let calibration = match args.student_hidden {
        Some(hidden) if hidden > teacher_config.hidden_size => {
            return Err(Failure::Usage(format!(
                "--student-hidden {hidden} is wider than the teacher ({})",
                teacher_config.hidden_size
            )));
        }
        Some(hidden) if hidden == 0 || hidden % teacher_config.head_dim() != 0 => {
            return Err(Failure::Usage(format!(
                "--student-hidden {hidden} must be a positive multiple of the head size {}",
                teacher_config.head_dim()
            )));
        }
        Some(_) => {
            hone::optimize::calibration_batches(&args.teacher, &data, args.calib_samples.max(1))?
        }
        None => Vec::new(),
    };
    let student_dir = match &args.student {
        Some(name) => Some(resolve_model(name, &ctx.cache, &ctx.fetch)?),
        None => None,
    };
    let student = match (&student_dir, args.student_hidden) {
        (Some(dir), _) => StudentInit::Folder(dir),
        (None, Some(hidden)) => StudentInit::NarrowTeacherLayers {
            layers,
            hidden,
            calibration: &calibration,
        },
        (None, None) => StudentInit::TeacherLayers(layers),
    };
    let wordnet = wordnet_for(ctx, &train)?;
    eprintln!(
        "distilling {} on {} ({} train examples) with {} on {}",
        args.teacher.display(),
        data.name,
        data.train.len(),
        train.train.precision.label(),
        ctx.backend.label()
    );
    let job = DistillJob {
        teacher_dir: &args.teacher,
        student,
        data: &data,
        out_dir: &args.out,
        train,
        distill: distill_config,
        wordnet,
        options: run_options(ctx, args.resume),
        pruning: None,
    };
    let metrics = dispatch_train(ctx.backend, Job { job: Some(job) })??;
    print_metrics(&metrics, &args.out, args.json)
}
