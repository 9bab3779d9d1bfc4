//! `hone prune`: remove the least important attention heads and
//! feed-forward neurons of a model (physically: the saved tensors are
//! smaller and the forward pass does less work), then optionally fine-tune
//! the pruned classifier — by distillation from `--teacher` when given.
//! `--iterations N` gets there in N prune → fine-tune rounds, each removing
//! an equal share of the original width and measuring importance on the
//! model the previous round fine-tuned. `--unstructured` zeroes the smallest
//! weights instead (once, or gradually while fine-tuning), which the report
//! marks as giving no speedup.

use std::path::{Path, PathBuf};

use clap::Args;
use hone::backend::{TrainJob, dispatch_train};
use hone::compress::SourceModel;
use hone::compress::distill::{DistillConfig, DistillJob, StudentInit, distill};
use hone::compress::prune::unstructured::{self, GradualPruning, Scope, finetune_sparse};
use hone::compress::prune::{self, Importance, PrunePlan, PruneReport, UnstructuredReport, Widths};
use hone::compress::quant::Batch;
use hone::models::resolve_model;
use hone::tasks::classify::{FinetuneJob, FinetuneMetrics, finetune};

use super::train_args::{DataArgs, TrainArgs, print_metrics, run_options, wordnet_for};
use super::{Context, Failure};

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// A model folder or known model name (a classifier to fine-tune afterwards).
    #[arg(long)]
    pub model: String,
    /// Fraction of each layer's attention heads to remove, in [0, 1).
    #[arg(long, default_value_t = 0.0)]
    pub heads: f64,
    /// Fraction of each layer's feed-forward neurons to remove, in [0, 1).
    #[arg(long, default_value_t = 0.0)]
    pub ffn: f64,
    /// activation (measured on --data's training texts) | magnitude (weights only).
    #[arg(long, default_value = "activation")]
    pub importance: String,
    /// Training texts the activation importance is measured on.
    #[arg(long, default_value_t = 256)]
    pub calib_samples: usize,
    /// Unstructured magnitude pruning: the fraction of the dense weights to zero, in [0, 1)
    /// (gradually over the first two thirds of fine-tuning when --finetune-epochs is set).
    /// Stored dense: no speedup, which the report says.
    #[arg(long, default_value_t = 0.0)]
    pub unstructured: f64,
    /// Where one magnitude threshold applies: global (all dense matrices) | layer (each matrix).
    #[arg(long, default_value = "global")]
    pub scope: String,
    /// The data set: texts for activation importance, and the fine-tuning data.
    #[arg(long)]
    pub data: Option<String>,
    /// Column holding the text (user tables).
    #[arg(long, default_value = "text")]
    pub text_col: String,
    /// Column holding the label (user tables).
    #[arg(long, default_value = "label")]
    pub label_col: String,
    /// Fine-tune the pruned classifier by distillation from this teacher
    /// (otherwise on the labels alone).
    #[arg(long)]
    pub teacher: Option<PathBuf>,
    /// Prune in this many rounds, each removing an equal share of the original
    /// heads and neurons and then fine-tuning --finetune-epochs (iterative pruning).
    #[arg(long, default_value_t = 1)]
    pub iterations: usize,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub train: TrainArgs,
    /// Print metrics.json (or hone_prune.json without fine-tuning) to stdout.
    #[arg(long)]
    pub json: bool,
}

/// Prunes `model_dir` into `out` — to `widths` when given (a round of
/// iterative pruning), else by the plan's fractions — with one-shot
/// unstructured pruning when `unstructured` is given, and returns the report.
pub fn prune_folder(
    model_dir: &Path,
    plan: &PrunePlan,
    widths: Option<&Widths>,
    calibration: &[Batch],
    unstructured: Option<(f64, Scope)>,
    out: &Path,
) -> Result<PruneReport, Failure> {
    let source = SourceModel::open(model_dir)?;
    let (mut pruned, mut report) = match widths {
        Some(widths) => prune::prune_to(&source, plan, widths, calibration)?,
        None => prune::prune(&source, plan, calibration)?,
    };
    if let Some((target, scope)) = unstructured {
        let measured = unstructured::prune_source(&mut pruned, target, scope)?;
        report.unstructured = Some(UnstructuredReport {
            target,
            scope,
            measured,
            gradual: false,
            speedup: prune::NO_SPEEDUP.into(),
        });
    }
    prune::save(&pruned, &report, out)?;
    Ok(report)
}

enum Finetune<'a> {
    Labels(FinetuneJob<'a>, Option<GradualPruning>),
    Distill(DistillJob<'a>),
}

struct Job<'a> {
    job: Option<Finetune<'a>>,
}

impl TrainJob for Job<'_> {
    type Output = anyhow::Result<FinetuneMetrics>;
    fn run<B: burn::tensor::backend::AutodiffBackend>(mut self, device: B::Device) -> Self::Output {
        Ok(match self.job.take().expect("run once") {
            Finetune::Labels(job, None) => finetune::<B>(job, &device)?,
            Finetune::Labels(job, Some(pruning)) => finetune_sparse::<B>(job, pruning, &device)?,
            Finetune::Distill(job) => distill::<B>(job, &device)?,
        })
    }
}

fn usage<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, Failure> {
    r.map_err(|e| Failure::Usage(e.to_string()))
}

pub fn run(ctx: &Context, args: PruneArgs) -> Result<(), Failure> {
    let plan = PrunePlan {
        heads: args.heads,
        ffn: args.ffn,
        importance: usage(args.importance.parse::<Importance>())?,
    };
    usage(plan.validate())?;
    usage(unstructured::check_sparsity(args.unstructured))?;
    let scope = usage(args.scope.parse::<Scope>())?;
    let epochs = args.train.epochs.unwrap_or(0);
    let train = if epochs > 0 {
        Some(args.train.config_with_epochs(epochs)?)
    } else {
        None
    };
    if args.iterations == 0 {
        return Err(Failure::Usage("--iterations must be at least 1".into()));
    }
    if args.iterations > 1 && (train.is_none() || args.unstructured > 0.0) {
        return Err(Failure::Usage(
            "--iterations prunes and fine-tunes in rounds: it needs --finetune-epochs, \
             and works on heads and neurons (not --unstructured)"
                .into(),
        ));
    }
    let needs_data = plan.importance == Importance::Activation || train.is_some();
    let data = match (&args.data, needs_data) {
        (Some(name), _) => Some(
            DataArgs {
                data: name.clone(),
                text_col: args.text_col.clone(),
                label_col: args.label_col.clone(),
            }
            .load(ctx)?,
        ),
        (None, true) => {
            return Err(Failure::Usage(
                "--data is needed for activation importance and for fine-tuning (or use --importance magnitude)".into(),
            ));
        }
        (None, false) => None,
    };
    if args.out.exists() {
        return Err(Failure::Usage(format!(
            "{} already exists; choose a new output folder",
            args.out.display()
        )));
    }
    let model_dir = resolve_model(&args.model, &ctx.cache, &ctx.fetch)?;
    let mut calibration = match (&data, plan.importance) {
        (Some(data), Importance::Activation) => {
            hone::optimize::calibration_batches(&model_dir, data, args.calib_samples.max(1))?
        }
        _ => Vec::new(),
    };
    let sparse = (args.unstructured > 0.0).then_some((args.unstructured, scope));
    let (Some(train), Some(data)) = (train, data.as_ref()) else {
        let report = prune_folder(&model_dir, &plan, None, &calibration, sparse, &args.out)?;
        print_report(&report, &args.out, args.json)?;
        return Ok(());
    };
    let rounds = args.iterations;
    let gradual = sparse.map(|(sparsity, scope)| GradualPruning {
        sparsity,
        scope,
        ramp: 2.0 / 3.0,
    });
    let wordnet = wordnet_for(ctx, &train)?;
    let original = hone::model::BertConfig::from_file(&model_dir.join("config.json"))?;
    let mut current = model_dir.clone();
    let mut report: Option<PruneReport> = None;
    let mut metrics = None;
    for round in 1..=rounds {
        let last = round == rounds;
        let out = if last {
            args.out.clone()
        } else {
            args.out.join(format!("round-{round}"))
        };
        // Widths counted on the original model: the last round lands on
        // the one-shot widths whatever the rounding in between.
        let widths = plan.widths_after(&original, round, rounds);
        let init = out.join("pruned-init");
        let step_report = prune_folder(&current, &plan, Some(&widths), &calibration, None, &init)?;
        if round > 1 {
            // The previous round's model lives on in `pruned-init`.
            std::fs::remove_dir_all(&current)?;
        }
        eprintln!(
            "round {round}/{rounds}: pruned {} → {} parameters; fine-tuning {} epoch(s){}",
            step_report.params_before,
            step_report.params_after,
            epochs,
            args.teacher.as_ref().map_or(String::new(), |t| format!(
                " by distillation from {}",
                t.display()
            ))
        );
        report = Some(match report {
            None => step_report,
            Some(before) => before.then(step_report),
        });
        let pruning = if last { gradual } else { None };
        let job = finetune_job(
            &args,
            &init,
            &out,
            data,
            train.clone(),
            wordnet.clone(),
            run_options(ctx, false),
            pruning,
        );
        metrics = Some(dispatch_train(ctx.backend, Job { job: Some(job) })??);
        std::fs::remove_dir_all(&init)?;
        current = out;
        if !last && plan.importance == Importance::Activation {
            // The next round measures importance on the model this one fine-tuned.
            calibration =
                hone::optimize::calibration_batches(&current, data, args.calib_samples.max(1))?;
        }
    }
    let mut report = report.expect("at least one round");
    report.plan = plan;
    if let Some(g) = gradual {
        report.unstructured = Some(UnstructuredReport {
            target: g.sparsity,
            scope: g.scope,
            measured: unstructured::measured_sparsity(&SourceModel::open(&args.out)?),
            gradual: true,
            speedup: prune::NO_SPEEDUP.into(),
        });
    }
    let json = serde_json::to_string_pretty(&report)?;
    std::fs::write(args.out.join(prune::REPORT_FILE), json)?;
    let metrics = metrics.expect("at least one round");
    print_metrics(&metrics, &args.out, args.json)
}

/// Fine-tuning of the pruned folder `init` into `out`: distillation from
/// `--teacher` when given, the labels otherwise.
#[allow(clippy::too_many_arguments)]
fn finetune_job<'a>(
    args: &'a PruneArgs,
    init: &'a Path,
    out: &'a Path,
    data: &'a hone::tasks::classify::ClassifyData,
    train: hone::tasks::classify::FinetuneConfig,
    wordnet: Option<hone::data::augment::WordNet>,
    options: hone::train::RunOptions,
    pruning: Option<GradualPruning>,
) -> Finetune<'a> {
    match &args.teacher {
        Some(teacher) => Finetune::Distill(DistillJob {
            teacher_dir: teacher,
            student: StudentInit::Folder(init),
            data,
            out_dir: out,
            train,
            distill: DistillConfig::default(),
            wordnet,
            options,
            pruning,
        }),
        None => Finetune::Labels(
            FinetuneJob {
                model_dir: init,
                model_name: format!("pruned {}", args.model),
                data,
                out_dir: out,
                config: train,
                wordnet,
                options,
            },
            pruning,
        ),
    }
}

fn print_report(report: &PruneReport, out: &Path, json: bool) -> Result<(), Failure> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    println!(
        "kept heads per layer {:?}, feed-forward width per layer {:?}",
        report.kept_heads.iter().map(Vec::len).collect::<Vec<_>>(),
        report.kept_ffn
    );
    println!(
        "{} → {} parameters ({:.1} %); pruned model in {}",
        report.params_before,
        report.params_after,
        100.0 * report.params_after as f64 / report.params_before.max(1) as f64,
        out.display()
    );
    if let Some(u) = &report.unstructured {
        println!(
            "unstructured: {:.1} % of the dense weights are zero; speedup: {}",
            u.measured * 100.0,
            u.speedup
        );
    }
    Ok(())
}
