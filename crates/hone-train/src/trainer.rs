//! The training loop: micro-batches → (mixed-precision) forward and
//! backward → gradient accumulation → loss-scale check → global-norm
//! clipping → grouped AdamW step at the scheduled LR (→ an optional moving
//! average of the weights, [`crate::ema`]), with periodic
//! validation, early stopping on the primary metric (ties broken by the
//! task's tie-break metric, e.g. the validation loss), atomic checkpoints, a
//! JSONL run log, a progress bar and an SVG of the curves.
//!
//! Determinism: the loop's position (epoch, micro-batch) is the only data
//! state — batches and augmentation are seeded by the task from the epoch
//! and example index, and the backend RNG (dropout) is reseeded from the
//! run seed and the step before every micro-batch — so a run resumed from a
//! checkpoint continues exactly as the uninterrupted run would.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, CheckpointDir, CheckpointFiles};
use crate::freeze::FreezePlan;
use crate::log::{LogEntry, RunLog};
use crate::optim::{self, GroupedAdamW, OptimConfig};
use crate::params::ParamGroups;
use crate::precision::{LossScaler, Precision, cast_module};
use crate::schedule::LrSchedule;
use crate::task::{Metrics, TrainTask};
use crate::{Result, TrainError, memory};

/// Every setting of a training run (saved in each checkpoint; a resume must
/// use the same).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    pub epochs: usize,
    /// Micro-batch size (what one forward pass holds).
    pub batch_size: usize,
    /// Micro-batches per optimizer step.
    pub accumulation: usize,
    pub optim: OptimConfig,
    pub schedule: LrSchedule,
    pub precision: Precision,
    pub freeze: FreezePlan,
    pub seed: u64,
    /// Validate every this many optimizer steps (and at each epoch's end).
    pub eval_every: Option<usize>,
    /// Stop after this many validations without improvement.
    pub patience: Option<usize>,
    /// Write a resumable checkpoint every this many optimizer steps (and at
    /// each epoch's end).
    pub checkpoint_every: Option<usize>,
    /// Stop after this many optimizer steps (all epochs when `None`).
    pub max_steps: Option<usize>,
    /// Keep an exponential moving average of the weights with this decay
    /// (see [`crate::ema`]); validation, the best checkpoint and the result
    /// then use the average.
    pub ema_decay: Option<f64>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 3,
            batch_size: 32,
            accumulation: 1,
            optim: OptimConfig::default(),
            schedule: LrSchedule::Constant,
            precision: Precision::F32,
            freeze: FreezePlan::default(),
            seed: 42,
            eval_every: None,
            patience: None,
            checkpoint_every: None,
            max_steps: None,
            ema_decay: None,
        }
    }
}

impl TrainConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(TrainError::Config(m));
        if self.epochs == 0 {
            return bad("epochs must be at least 1".into());
        }
        if self.batch_size == 0 || self.accumulation == 0 {
            return bad("batch size and accumulation must be at least 1".into());
        }
        for (name, v) in [
            ("eval-every", self.eval_every),
            ("checkpoint-every", self.checkpoint_every),
            ("patience", self.patience),
        ] {
            if v == Some(0) {
                return bad(format!("{name} must be at least 1"));
            }
        }
        if let Some(d) = self.ema_decay
            && !(d > 0.0 && d < 1.0)
        {
            return bad(format!("ema decay must be in (0, 1), got {d}"));
        }
        self.optim.validate().map_err(TrainError::Config)?;
        self.schedule.validate().map_err(TrainError::Config)?;
        self.freeze.validate().map_err(TrainError::Config)
    }

    /// Optimizer steps in an epoch of `micro_batches` micro-batches.
    pub fn steps_per_epoch(&self, micro_batches: usize) -> usize {
        micro_batches.div_ceil(self.accumulation)
    }
}

/// Where the loop is, and what it has learnt about the run so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoopState {
    /// Optimizer steps taken (including skipped overflow steps).
    pub step: usize,
    pub epoch: usize,
    /// Next micro-batch of `epoch`.
    pub micro_batch: usize,
    pub best_metric: Option<f64>,
    pub best_step: Option<usize>,
    pub best_metrics: Metrics,
    pub evals_without_improvement: usize,
    pub stopped_early: bool,
    pub loss_scaler: Option<LossScaler>,
    pub tokens_seen: u64,
    pub train_seconds: f64,
    /// Weight-average updates so far (for the decay's warm-up).
    pub ema_updates: usize,
}

#[derive(Serialize, Deserialize)]
struct SavedState {
    config: TrainConfig,
    state: LoopState,
}

/// What a finished run returns.
pub struct TrainOutcome<M> {
    /// The best model by the primary validation metric, ties going to the
    /// lower tie-break metric (the last model when validation never ran).
    pub model: M,
    pub state: LoopState,
    pub log_path: PathBuf,
    pub plot_path: Option<PathBuf>,
}

/// Options of one invocation that are not part of the run's identity.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub resume: bool,
    pub progress: bool,
    /// Name of the backend, for error messages.
    pub backend: String,
}

/// Trains `model` on `task`, writing the run log, checkpoints and plot
/// under `run_dir`.
pub fn train<B, T>(
    task: &T,
    model: T::Model,
    config: &TrainConfig,
    run_dir: &Path,
    options: &RunOptions,
    device: &B::Device,
) -> Result<TrainOutcome<<T::Model as AutodiffModule<B>>::InnerModule>>
where
    B: AutodiffBackend,
    T: TrainTask<B>,
{
    config.validate()?;
    config.precision.check::<B>(device, &options.backend)?;
    std::fs::create_dir_all(run_dir).map_err(|e| TrainError::io(run_dir, e))?;
    let checkpoints = CheckpointDir::new(run_dir);
    let log_path = run_dir.join("run.jsonl");
    let best_path = run_dir.join("best-model.bin");

    let mut model = model;
    let mut state = LoopState {
        loss_scaler: Some(LossScaler::for_precision(config.precision)),
        ..Default::default()
    };
    let mut optimizer_record = None;
    let mut average = None;
    let mut log = if options.resume {
        let dir = checkpoints
            .latest()?
            .ok_or_else(|| TrainError::Checkpoint {
                path: run_dir.join("checkpoints"),
                detail: "nothing to resume: no checkpoint was written yet".into(),
            })?;
        let saved: SavedState = checkpoint::read_json(&dir.join("state.json"))?;
        if &saved.config != config {
            return Err(TrainError::Checkpoint {
                path: dir,
                detail: "was written with different training settings; resume with the \
                         same options (see state.json)"
                    .into(),
            });
        }
        model = model.load_record(checkpoint::read_record::<B, _>(
            &dir.join("model.bin"),
            device,
        )?);
        optimizer_record = Some(checkpoint::read_record::<B, _>(
            &dir.join("optimizer.bin"),
            device,
        )?);
        if config.ema_decay.is_some() {
            let record = checkpoint::read_record::<B::InnerBackend, _>(
                &dir.join(checkpoint::AVERAGE_FILE),
                device,
            )?;
            average = Some(model.valid().load_record(record));
        }
        state = saved.state;
        RunLog::resume(&log_path, state.step).map_err(|e| TrainError::io(&log_path, e))?
    } else {
        RunLog::create(&log_path).map_err(|e| TrainError::io(&log_path, e))?
    };

    if config.ema_decay.is_some() && average.is_none() {
        average = Some(model.valid());
    }
    // Groups are keyed by parameter id, and loading a record restores the
    // saved ids: read them from the model as it now is.
    let groups = ParamGroups::of::<B, _>(&model);
    let mut optimizer = GroupedAdamW::<T::Model, B>::new(&config.optim, groups.clone());
    if let Some(record) = optimizer_record {
        optimizer = optimizer.load_record(record);
    }
    let steps_per_epoch = config.steps_per_epoch(task.epoch_batches(0).len());
    let total_steps = config
        .max_steps
        .unwrap_or(usize::MAX)
        .min(steps_per_epoch * config.epochs);
    let bar = progress_bar(options.progress, total_steps, state.step);
    let mut min_depth = config.freeze.min_depth(state.step, groups.head_depth);
    model = optim::set_trainable(model, &groups, min_depth);
    let mut consecutive_bad = 0usize;

    'epochs: while state.epoch < config.epochs && !state.stopped_early {
        let batches = task.epoch_batches(state.epoch);
        while state.micro_batch < batches.len() {
            if state.step >= total_steps {
                break 'epochs;
            }
            let wanted = config.freeze.min_depth(state.step, groups.head_depth);
            if wanted != min_depth {
                min_depth = wanted;
                model = optim::set_trainable(model, &groups, min_depth);
            }
            let started = Instant::now();
            let scaler = state
                .loss_scaler
                .get_or_insert_with(|| LossScaler::for_precision(config.precision));
            let end = (state.micro_batch + config.accumulation).min(batches.len());
            let n_micro = end - state.micro_batch;
            let mut accumulator = GradientsAccumulator::<T::Model>::new();
            let (mut loss_sum, mut tokens) = (0.0f64, 0usize);
            for (k, indices) in batches[state.micro_batch..end].iter().enumerate() {
                B::seed(
                    device,
                    config.seed
                        ^ ((state.step as u64) << 16 | k as u64)
                            .wrapping_mul(0x9E37_79B9_7F4A_7C15),
                );
                let batch = task.batch(indices, state.epoch, device)?;
                tokens += task.tokens(&batch);
                let loss = if config.precision == Precision::F32 {
                    task.loss(&model, batch)
                } else {
                    let compute = cast_module(model.clone(), config.precision.dtype());
                    task.loss(&compute, batch).cast(burn::tensor::DType::F32)
                };
                loss_sum += loss.clone().into_scalar().elem::<f64>();
                let scaled = loss.mul_scalar(scaler.scale / n_micro as f64);
                let grads = GradientsParams::from_grads(scaled.backward(), &model);
                accumulator.accumulate(&model, grads);
            }
            let mut grads = accumulator.grads();
            let grad_scale = scaler.scale;
            let raw_norm = optim::global_grad_norm::<B, _>(&model, &grads) / grad_scale;
            let finite = raw_norm.is_finite() && loss_sum.is_finite();
            let lr = config.schedule.lr(config.optim.lr, state.step);
            let applied = scaler.update(finite);
            if applied {
                let clip = config
                    .optim
                    .max_grad_norm
                    .filter(|&max| raw_norm > max)
                    .map_or(1.0, |max| max / (raw_norm + 1e-6));
                optim::scale_grads::<B, _>(&model, &mut grads, clip / grad_scale);
                model = optimizer.step(lr, model, grads, min_depth);
                model = task.after_step(model, state.step + 1);
                if let (Some(decay), Some(avg)) = (config.ema_decay, average.take()) {
                    let d = crate::ema::decay_at(decay, state.ema_updates);
                    average = Some(crate::ema::update::<B, _>(avg, &model, d));
                    state.ema_updates += 1;
                }
                consecutive_bad = 0;
            } else {
                consecutive_bad += 1;
                if consecutive_bad > 20 {
                    return Err(TrainError::Diverged {
                        step: state.step,
                        detail: "more than 20 steps in a row with non-finite loss or gradients"
                            .into(),
                    });
                }
            }
            let loss_scale = scaler.enabled.then_some(scaler.scale);
            let elapsed = started.elapsed().as_secs_f64();
            state.train_seconds += elapsed;
            state.tokens_seen += tokens as u64;
            state.micro_batch = end;
            state.step += 1;
            let mean_loss = loss_sum / n_micro as f64;
            let tokens_per_s = tokens as f64 / elapsed.max(1e-9);
            log.append(&LogEntry::Train {
                step: state.step,
                epoch: state.epoch,
                loss: mean_loss,
                lr,
                grad_norm: raw_norm,
                tokens_per_s,
                memory_bytes: memory::resident_bytes(),
                loss_scale,
                skipped: !applied,
            })
            .map_err(|e| TrainError::io(&log_path, e))?;
            bar.set_position(state.step as u64);
            bar.set_message(format!(
                "epoch {} loss {mean_loss:.4} lr {lr:.2e} {tokens_per_s:.0} tok/s",
                state.epoch + 1
            ));

            let epoch_done = state.micro_batch >= batches.len();
            let last = state.step >= total_steps;
            let eval_due = config.eval_every.is_some_and(|n| state.step % n == 0);
            if eval_due || epoch_done || last {
                let evaluated = average.clone().unwrap_or_else(|| model.valid());
                let metrics = task.validate(&evaluated)?;
                evaluate_and_keep_best::<B, T>(
                    task, evaluated, &metrics, config, &mut state, &best_path, &mut log, &log_path,
                )?;
                bar.println(format!(
                    "step {} epoch {}: validation {}",
                    state.step,
                    state.epoch + 1,
                    format_metrics(&metrics)
                ));
            }
            if epoch_done {
                state.epoch += 1;
                state.micro_batch = 0;
            }
            let ckpt_due = config.checkpoint_every.is_some_and(|n| state.step % n == 0);
            if ckpt_due || epoch_done || state.stopped_early || last {
                save_checkpoint::<B, T>(
                    &checkpoints,
                    &model,
                    average.as_ref(),
                    &optimizer,
                    config,
                    &state,
                )?;
            }
            if state.stopped_early {
                bar.println(format!(
                    "early stop: no {} improvement in {} validations",
                    task.primary_metric(),
                    state.evals_without_improvement
                ));
                break 'epochs;
            }
            if epoch_done {
                // Back to the epoch loop, which draws the next epoch's batch
                // order: staying here reread the finished epoch's order
                // (micro_batch is 0 again) in every later epoch, and only a
                // run resumed past epoch 0 drew its own.
                break;
            }
        }
    }
    bar.finish_and_clear();

    // The best model is kept as an inner-backend record (it is what
    // validation saw: the weight average when there is one).
    let last = average.unwrap_or_else(|| model.valid());
    let best = if best_path.is_file() {
        last.load_record(checkpoint::read_record::<B::InnerBackend, _>(
            &best_path, device,
        )?)
    } else {
        last
    };
    let plot_path = run_dir.join("curves.svg");
    let entries = crate::log::read_log(&log_path).map_err(|e| TrainError::io(&log_path, e))?;
    let plot_path = crate::plot::plot_curves(&entries, task.primary_metric(), &plot_path)
        .ok()
        .map(|()| plot_path);
    Ok(TrainOutcome {
        model: best,
        state,
        log_path,
        plot_path,
    })
}

#[allow(clippy::too_many_arguments)]
fn evaluate_and_keep_best<B: AutodiffBackend, T: TrainTask<B>>(
    task: &T,
    evaluated: <T::Model as AutodiffModule<B>>::InnerModule,
    metrics: &Metrics,
    config: &TrainConfig,
    state: &mut LoopState,
    best_path: &Path,
    log: &mut RunLog,
    log_path: &Path,
) -> Result<()> {
    log.append(&LogEntry::Eval {
        step: state.step,
        epoch: state.epoch,
        split: "validation".into(),
        metrics: metrics.clone(),
    })
    .map_err(|e| TrainError::io(log_path, e))?;
    let value = *metrics.get(task.primary_metric()).ok_or_else(|| {
        TrainError::Task(format!(
            "validation did not report the primary metric {:?}",
            task.primary_metric()
        ))
    })?;
    let tie_break = task.tie_break_metric().map(|name| {
        (
            metrics.get(name).copied(),
            state.best_metrics.get(name).copied(),
        )
    });
    let verdict = judge(value, state.best_metric, tie_break);
    if verdict != Verdict::Worse {
        state.best_metric = Some(value);
        state.best_step = Some(state.step);
        state.best_metrics = metrics.clone();
        let bytes = checkpoint::record_bytes::<B::InnerBackend, _>(evaluated.into_record())?;
        checkpoint::write_atomic(best_path, &bytes)?;
    }
    if verdict == Verdict::Improved {
        state.evals_without_improvement = 0;
    } else {
        state.evals_without_improvement += 1;
        if config
            .patience
            .is_some_and(|p| state.evals_without_improvement >= p)
        {
            state.stopped_early = true;
        }
    }
    Ok(())
}

/// How a validation compares with the best so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// A higher primary metric (or the first validation).
    Improved,
    /// The same primary metric and a lower tie-break metric: it becomes the
    /// kept model, but early stopping still counts it as no improvement, so
    /// patience is measured on the primary metric alone.
    WonTie,
    Worse,
}

/// `tie_break`: the tie-break metric of this validation and of the best
/// one, when the task has one (lower is better; a missing value never wins).
fn judge(value: f64, best: Option<f64>, tie_break: Option<(Option<f64>, Option<f64>)>) -> Verdict {
    match best {
        None => Verdict::Improved,
        Some(best) if value > best => Verdict::Improved,
        Some(best) if value == best => match tie_break {
            Some((Some(new), Some(old))) if new < old => Verdict::WonTie,
            _ => Verdict::Worse,
        },
        Some(_) => Verdict::Worse,
    }
}

fn save_checkpoint<B: AutodiffBackend, T: TrainTask<B>>(
    checkpoints: &CheckpointDir,
    model: &T::Model,
    average: Option<&<T::Model as AutodiffModule<B>>::InnerModule>,
    optimizer: &GroupedAdamW<T::Model, B>,
    config: &TrainConfig,
    state: &LoopState,
) -> Result<()> {
    let saved = SavedState {
        config: config.clone(),
        state: state.clone(),
    };
    let state_json = serde_json::to_vec_pretty(&saved)
        .map_err(|e| TrainError::Task(format!("cannot serialize the loop state: {e}")))?;
    checkpoints.save(
        state.step,
        CheckpointFiles {
            model: checkpoint::record_bytes::<B, _>(model.clone().into_record())?,
            optimizer: checkpoint::record_bytes::<B, _>(optimizer.to_record())?,
            average: average
                .map(|a| checkpoint::record_bytes::<B::InnerBackend, _>(a.clone().into_record()))
                .transpose()?,
            state: &state_json,
        },
    )?;
    Ok(())
}

fn progress_bar(show: bool, total: usize, position: usize) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64).with_position(position as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} steps [{elapsed_precise}<{eta_precise}] {msg}",
        )
        .expect("static template"),
    );
    bar
}

/// `name=value` pairs, for progress lines.
pub fn format_metrics(metrics: &Metrics) -> String {
    metrics
        .iter()
        .map(|(k, v)| format!("{k}={v:.4}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::{Verdict, judge};

    #[test]
    fn higher_primary_metric_improves_whatever_the_tie_break() {
        assert_eq!(judge(0.5, None, None), Verdict::Improved);
        assert_eq!(
            judge(0.9, Some(0.8), Some((Some(2.0), Some(0.1)))),
            Verdict::Improved
        );
        assert_eq!(
            judge(0.7, Some(0.8), Some((Some(0.0), Some(9.0)))),
            Verdict::Worse
        );
    }

    #[test]
    fn ties_go_to_the_lower_tie_break_metric() {
        assert_eq!(
            judge(0.8, Some(0.8), Some((Some(0.3), Some(0.4)))),
            Verdict::WonTie
        );
        assert_eq!(
            judge(0.8, Some(0.8), Some((Some(0.4), Some(0.4)))),
            Verdict::Worse
        );
        assert_eq!(
            judge(0.8, Some(0.8), Some((Some(0.5), Some(0.4)))),
            Verdict::Worse
        );
    }

    #[test]
    fn without_a_tie_break_the_earlier_best_stays() {
        assert_eq!(judge(0.8, Some(0.8), None), Verdict::Worse);
        assert_eq!(
            judge(0.8, Some(0.8), Some((None, Some(0.4)))),
            Verdict::Worse
        );
        assert_eq!(
            judge(0.8, Some(0.8), Some((Some(0.3), None))),
            Verdict::Worse
        );
    }
}
