//! Learning-rate schedules as pure functions of the optimizer step.
//!
//! An [`LrSchedule`] holds no state: the learning rate at optimizer step `s`
//! (0-based: `s` updates have already been applied) is [`LrSchedule::lr`]`(base,
//! s)`, so resuming from a checkpoint only needs the step count and gives
//! exactly the rates an uninterrupted run would have used. The shapes follow
//! the reference implementations people compare against:
//!
//! * warmup (every schedule but `Constant`): Hugging Face transformers'
//!   convention, factor `s / warmup` for `s < warmup` — the first update runs
//!   at learning rate 0 and step `warmup` is the first at the full rate;
//! * `Linear`: `get_linear_schedule_with_warmup`;
//! * `Cosine`: `get_cosine_schedule_with_warmup` (half a cycle) with a floor,
//!   as in `get_cosine_with_min_lr_schedule_with_warmup` (the cosine is
//!   rescaled into `[min_ratio, 1]`), held at the floor after `total`;
//! * `CosineRestarts`: PyTorch `CosineAnnealingWarmRestarts(T_0 = period,
//!   T_mult = mult, eta_min = min_ratio * base)`, counted from the end of
//!   warmup;
//! * `Step`: PyTorch `StepLR`, `gamma^floor(t / step_size)` with `t` counted
//!   from the end of warmup.
//!
//! On the command line a schedule is written `constant | linear |
//! cosine[:MIN_RATIO] | cosine-restarts:PERIOD[:MULT[:MIN_RATIO]] |
//! step:SIZE:GAMMA` ([`FromStr`]); warmup and the total number of steps are
//! set separately with [`LrSchedule::with_horizon`], because they usually
//! come from other flags (`--warmup`, `--steps` or epochs × batches).

use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How the learning rate changes with the optimizer step; see the module
/// documentation for the exact formulas and their reference implementations.
///
/// Serialized internally tagged by `kind` in snake_case, e.g.
/// `{"kind": "cosine", "warmup": 500, "total": 10000, "min_ratio": 0.1}`;
/// `warmup` and `min_ratio` default to 0 and `mult` to 1.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LrSchedule {
    /// The base learning rate at every step.
    #[default]
    Constant,
    /// Linear warmup over `warmup` steps, then linear decay to 0 at step
    /// `total` (and 0 after it).
    Linear {
        #[serde(default)]
        warmup: usize,
        total: usize,
    },
    /// Linear warmup, then half a cosine from 1 down to `min_ratio` at step
    /// `total`, held at `min_ratio` after it.
    Cosine {
        #[serde(default)]
        warmup: usize,
        total: usize,
        #[serde(default)]
        min_ratio: f64,
    },
    /// Linear warmup, then SGDR cosine cycles from 1 down towards
    /// `min_ratio`: the first cycle lasts `period` steps, each next one `mult`
    /// times longer, and every cycle restarts at the full rate.
    CosineRestarts {
        #[serde(default)]
        warmup: usize,
        period: usize,
        #[serde(default = "one")]
        mult: usize,
        #[serde(default)]
        min_ratio: f64,
    },
    /// Linear warmup, then the rate is multiplied by `gamma` every
    /// `step_size` steps.
    Step {
        #[serde(default)]
        warmup: usize,
        step_size: usize,
        gamma: f64,
    },
}

fn one() -> usize {
    1
}

/// Hugging Face's warmup ramp: `Some(s / warmup)` while `s < warmup`, `None`
/// once warmup is over (or there is none).
fn warmup_factor(warmup: usize, step: usize) -> Option<f64> {
    (step < warmup).then(|| step as f64 / warmup as f64)
}

/// `1 → 0` half cosine at `progress` ∈ [0, 1], rescaled into `[min_ratio, 1]`.
/// (`min(1)` absorbs the last-ulp rounding of `m + (1 - m)` at the top.)
fn cosine_between(min_ratio: f64, progress: f64) -> f64 {
    (min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + (PI * progress).cos())).min(1.0)
}

impl LrSchedule {
    /// The multiplier of the base learning rate at optimizer step `step`
    /// (0-based). In `[0, 1]` for a schedule that passes
    /// [`validate`](Self::validate); never panics, even for one that does not.
    pub fn factor(&self, step: usize) -> f64 {
        match *self {
            LrSchedule::Constant => 1.0,
            LrSchedule::Linear { warmup, total } => {
                if let Some(f) = warmup_factor(warmup, step) {
                    f
                } else if step >= total {
                    0.0
                } else {
                    // warmup <= step < total, so the denominator is positive.
                    (total - step) as f64 / (total - warmup) as f64
                }
            }
            LrSchedule::Cosine {
                warmup,
                total,
                min_ratio,
            } => {
                if let Some(f) = warmup_factor(warmup, step) {
                    f
                } else if step >= total {
                    // HF's formula would climb back up after `total` (the
                    // cosine keeps going); training past the horizon holds the
                    // floor instead.
                    min_ratio
                } else {
                    let progress = (step - warmup) as f64 / (total - warmup) as f64;
                    cosine_between(min_ratio, progress)
                }
            }
            LrSchedule::CosineRestarts {
                warmup,
                period,
                mult,
                min_ratio,
            } => {
                if let Some(f) = warmup_factor(warmup, step) {
                    return f;
                }
                let (t_cur, t_i) = restart_position(step - warmup, period.max(1), mult.max(1));
                cosine_between(min_ratio, t_cur as f64 / t_i as f64)
            }
            LrSchedule::Step {
                warmup,
                step_size,
                gamma,
            } => {
                if let Some(f) = warmup_factor(warmup, step) {
                    return f;
                }
                let decays = (step - warmup) / step_size.max(1);
                match i32::try_from(decays) {
                    Ok(k) => gamma.powi(k),
                    // gamma^(more than 2^31): 1 stays 1, anything in (0, 1) is 0.
                    Err(_) => gamma.powf(decays as f64),
                }
            }
        }
    }

    /// The learning rate at optimizer step `step`: `base * factor(step)`.
    pub fn lr(&self, base: f64, step: usize) -> f64 {
        base * self.factor(step)
    }

    /// Checks that the schedule can work, with a message naming the field:
    /// `total` must exceed `warmup` (linear, cosine), `period`, `mult` and
    /// `step_size` must be at least 1, `min_ratio` must be in `[0, 1]` and
    /// `gamma` in `(0, 1]`.
    pub fn validate(&self) -> Result<(), String> {
        self.check_shape()?;
        match *self {
            LrSchedule::Linear { warmup, total } | LrSchedule::Cosine { warmup, total, .. }
                if total <= warmup =>
            {
                Err(format!(
                    "lr schedule `{}`: `total` ({total}) must be greater than `warmup` \
                     ({warmup}); set them with the number of training steps",
                    self.name()
                ))
            }
            _ => Ok(()),
        }
    }

    /// The checks that do not depend on the horizon (warmup/total), shared by
    /// [`validate`](Self::validate) and the parser.
    fn check_shape(&self) -> Result<(), String> {
        let name = self.name();
        let check_min_ratio = |min_ratio: f64| {
            if (0.0..=1.0).contains(&min_ratio) {
                Ok(())
            } else {
                Err(format!(
                    "lr schedule `{name}`: `min_ratio` ({min_ratio}) must be in [0, 1]"
                ))
            }
        };
        match *self {
            LrSchedule::Constant | LrSchedule::Linear { .. } => Ok(()),
            LrSchedule::Cosine { min_ratio, .. } => check_min_ratio(min_ratio),
            LrSchedule::CosineRestarts {
                period,
                mult,
                min_ratio,
                ..
            } => {
                if period == 0 {
                    return Err(format!("lr schedule `{name}`: `period` must be at least 1"));
                }
                if mult == 0 {
                    return Err(format!("lr schedule `{name}`: `mult` must be at least 1"));
                }
                check_min_ratio(min_ratio)
            }
            LrSchedule::Step {
                step_size, gamma, ..
            } => {
                if step_size == 0 {
                    return Err(format!(
                        "lr schedule `{name}`: `step_size` must be at least 1"
                    ));
                }
                if !(gamma > 0.0 && gamma <= 1.0) {
                    return Err(format!(
                        "lr schedule `{name}`: `gamma` ({gamma}) must be in (0, 1]"
                    ));
                }
                Ok(())
            }
        }
    }

    /// Fills in the horizon: `warmup` for every schedule that has one, and
    /// `total` for `Linear` and `Cosine`. `Constant` is returned unchanged
    /// (it has no warmup).
    pub fn with_horizon(self, warmup: usize, total: usize) -> Self {
        match self {
            LrSchedule::Constant => LrSchedule::Constant,
            LrSchedule::Linear { .. } => LrSchedule::Linear { warmup, total },
            LrSchedule::Cosine { min_ratio, .. } => LrSchedule::Cosine {
                warmup,
                total,
                min_ratio,
            },
            LrSchedule::CosineRestarts {
                period,
                mult,
                min_ratio,
                ..
            } => LrSchedule::CosineRestarts {
                warmup,
                period,
                mult,
                min_ratio,
            },
            LrSchedule::Step {
                step_size, gamma, ..
            } => LrSchedule::Step {
                warmup,
                step_size,
                gamma,
            },
        }
    }

    /// The CLI name of the variant (`cosine-restarts`, …).
    pub fn name(&self) -> &'static str {
        match self {
            LrSchedule::Constant => "constant",
            LrSchedule::Linear { .. } => "linear",
            LrSchedule::Cosine { .. } => "cosine",
            LrSchedule::CosineRestarts { .. } => "cosine-restarts",
            LrSchedule::Step { .. } => "step",
        }
    }
}

/// PyTorch `CosineAnnealingWarmRestarts`' `(T_cur, T_i)` after `t` steps:
/// the position inside the current cycle and that cycle's length. Integer
/// arithmetic (PyTorch takes a float logarithm), saturating so that huge `t`
/// cannot overflow.
fn restart_position(t: usize, period: usize, mult: usize) -> (usize, usize) {
    if mult == 1 {
        return (t % period, period);
    }
    let (mut t_cur, mut t_i) = (t, period);
    while t_cur >= t_i {
        t_cur -= t_i;
        t_i = t_i.saturating_mul(mult);
    }
    (t_cur, t_i)
}

/// The CLI form without the horizon (which [`FromStr`] cannot recover):
/// `cosine-restarts:10:2:0.1`, `step:30:0.1`, …
impl fmt::Display for LrSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LrSchedule::Constant | LrSchedule::Linear { .. } => f.write_str(self.name()),
            LrSchedule::Cosine { min_ratio, .. } => {
                if min_ratio == 0.0 {
                    f.write_str("cosine")
                } else {
                    write!(f, "cosine:{min_ratio}")
                }
            }
            LrSchedule::CosineRestarts {
                period,
                mult,
                min_ratio,
                ..
            } => {
                write!(f, "cosine-restarts:{period}:{mult}")?;
                if min_ratio != 0.0 {
                    write!(f, ":{min_ratio}")?;
                }
                Ok(())
            }
            LrSchedule::Step {
                step_size, gamma, ..
            } => write!(f, "step:{step_size}:{gamma}"),
        }
    }
}

/// Parses `constant | linear | cosine[:MIN_RATIO] |
/// cosine-restarts:PERIOD[:MULT[:MIN_RATIO]] | step:SIZE:GAMMA`. Warmup and
/// total are left at 0: call [`LrSchedule::with_horizon`] and then
/// [`LrSchedule::validate`]. The checks that do not need the horizon
/// (`period`, `mult`, `step_size`, `gamma`, `min_ratio`) are made here.
impl FromStr for LrSchedule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        const FORMS: &str = "expected constant | linear | cosine[:MIN_RATIO] | \
                             cosine-restarts:PERIOD[:MULT[:MIN_RATIO]] | step:SIZE:GAMMA";
        let mut parts = s.trim().split(':');
        let name = parts.next().unwrap_or_default();
        let args: Vec<&str> = parts.collect();
        let arity = |min: usize, max: usize| {
            if args.len() < min || args.len() > max {
                Err(format!(
                    "lr schedule {s:?}: `{name}` takes {} argument(s), got {}; {FORMS}",
                    if min == max {
                        min.to_string()
                    } else {
                        format!("{min} to {max}")
                    },
                    args.len()
                ))
            } else {
                Ok(())
            }
        };
        fn num<T: FromStr>(s: &str, field: &str, value: &str) -> Result<T, String> {
            value.trim().parse().map_err(|_| {
                format!("lr schedule {s:?}: `{field}` {value:?} is not a valid number")
            })
        }
        let schedule = match name {
            "constant" => {
                arity(0, 0)?;
                LrSchedule::Constant
            }
            "linear" => {
                arity(0, 0)?;
                LrSchedule::Linear {
                    warmup: 0,
                    total: 0,
                }
            }
            "cosine" => {
                arity(0, 1)?;
                LrSchedule::Cosine {
                    warmup: 0,
                    total: 0,
                    min_ratio: match args.first() {
                        Some(v) => num(s, "min_ratio", v)?,
                        None => 0.0,
                    },
                }
            }
            "cosine-restarts" => {
                arity(1, 3)?;
                LrSchedule::CosineRestarts {
                    warmup: 0,
                    period: num(s, "period", args[0])?,
                    mult: match args.get(1) {
                        Some(v) => num(s, "mult", v)?,
                        None => 1,
                    },
                    min_ratio: match args.get(2) {
                        Some(v) => num(s, "min_ratio", v)?,
                        None => 0.0,
                    },
                }
            }
            "step" => {
                arity(2, 2)?;
                LrSchedule::Step {
                    warmup: 0,
                    step_size: num(s, "step_size", args[0])?,
                    gamma: num(s, "gamma", args[1])?,
                }
            }
            other => return Err(format!("unknown lr schedule {other:?}; {FORMS}")),
        };
        schedule.check_shape()?;
        Ok(schedule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::lr_scheduler::LrScheduler;
    use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
    use burn::lr_scheduler::exponential::ExponentialLrSchedulerConfig;
    use burn::lr_scheduler::linear::LinearLrSchedulerConfig;
    use burn::lr_scheduler::step::StepLrSchedulerConfig;
    use proptest::prelude::*;

    const TOL: f64 = 1e-12;

    /// Expected values below are literals computed with python3 from the
    /// closed forms of HF transformers / PyTorch (PyTorch's
    /// `CosineAnnealingWarmRestarts` epoch formula with its float logarithm,
    /// independently of the integer loop used here).
    fn check(schedule: LrSchedule, expected: &[(usize, f64)]) {
        schedule.validate().unwrap();
        for &(step, want) in expected {
            let got = schedule.factor(step);
            assert!(
                (got - want).abs() < TOL,
                "{schedule:?} at step {step}: got {got}, expected {want}"
            );
        }
    }

    #[test]
    fn constant_is_one() {
        check(
            LrSchedule::Constant,
            &[(0, 1.0), (1, 1.0), (1_000_000, 1.0)],
        );
        assert_eq!(LrSchedule::Constant.lr(3e-4, 17), 3e-4);
    }

    #[test]
    fn linear_matches_hf_linear_with_warmup() {
        let s = LrSchedule::Linear {
            warmup: 10,
            total: 100,
        };
        check(
            s,
            &[
                (0, 0.0),
                (1, 0.1),
                (5, 0.5),
                (9, 0.9),
                (10, 1.0),
                (11, 0.9888888888888889),
                (55, 0.5),
                (99, 0.011111111111111112),
                (100, 0.0),
                (150, 0.0),
            ],
        );
        assert!((s.lr(2e-3, 55) - 1e-3).abs() < 1e-15);
    }

    #[test]
    fn cosine_matches_hf_cosine_with_warmup() {
        check(
            LrSchedule::Cosine {
                warmup: 10,
                total: 110,
                min_ratio: 0.0,
            },
            &[
                (0, 0.0),
                (3, 0.3),
                (10, 1.0),
                (35, 0.8535533905932737),
                (60, 0.5),
                (85, 0.14644660940672627),
                (110, 0.0),
                (200, 0.0),
            ],
        );
    }

    #[test]
    fn cosine_min_ratio_is_a_floor() {
        check(
            LrSchedule::Cosine {
                warmup: 10,
                total: 110,
                min_ratio: 0.1,
            },
            &[
                (3, 0.3),
                (10, 1.0),
                (35, 0.8681980515339464),
                (60, 0.55),
                (85, 0.23180194846605365),
                (110, 0.1),
                (200, 0.1),
            ],
        );
    }

    #[test]
    fn cosine_restarts_mult_1_matches_torch() {
        check(
            LrSchedule::CosineRestarts {
                warmup: 0,
                period: 10,
                mult: 1,
                min_ratio: 0.0,
            },
            &[
                (0, 1.0),
                (1, 0.9755282581475768),
                (5, 0.5),
                (9, 0.024471741852423234),
                (10, 1.0), // restart
                (11, 0.9755282581475768),
                (15, 0.5),
                (19, 0.024471741852423234),
                (20, 1.0), // restart
                (25, 0.5),
            ],
        );
    }

    #[test]
    fn cosine_restarts_mult_2_matches_torch() {
        // Cycles of 4, 8, 16, 32 steps: restarts at 4, 12, 28, 60.
        check(
            LrSchedule::CosineRestarts {
                warmup: 0,
                period: 4,
                mult: 2,
                min_ratio: 0.0,
            },
            &[
                (0, 1.0),
                (3, 0.14644660940672627),
                (4, 1.0),
                (8, 0.5),
                (11, 0.03806023374435663),
                (12, 1.0),
                (20, 0.5),
                (27, 0.009607359798384785),
                (28, 1.0),
                (60, 1.0),
            ],
        );
    }

    #[test]
    fn cosine_restarts_with_eta_min_and_warmup() {
        // torch eta_min = 0.2 * base; the same curve shifted by a 5-step warmup.
        let expected = [
            (0, 1.0),
            (2, 0.6000000000000001),
            (3, 0.317157287525381),
            (4, 1.0),
            (8, 0.6000000000000001),
            (11, 0.2304481869954853),
            (12, 1.0),
        ];
        let no_warmup = LrSchedule::CosineRestarts {
            warmup: 0,
            period: 4,
            mult: 2,
            min_ratio: 0.2,
        };
        check(no_warmup, &expected);
        let warm = no_warmup.with_horizon(5, 0);
        let shifted: Vec<_> = expected.iter().map(|&(s, f)| (s + 5, f)).collect();
        check(warm, &shifted);
        check(warm, &[(0, 0.0), (1, 0.2), (4, 0.8)]);
    }

    #[test]
    fn step_matches_torch_step_lr() {
        check(
            LrSchedule::Step {
                warmup: 0,
                step_size: 30,
                gamma: 0.1,
            },
            &[
                (0, 1.0),
                (29, 1.0),
                (30, 0.1),
                (59, 0.1),
                (60, 0.010000000000000002),
                (90, 0.0010000000000000002),
            ],
        );
        check(
            LrSchedule::Step {
                warmup: 4,
                step_size: 30,
                gamma: 0.5,
            },
            &[
                (0, 0.0),
                (2, 0.5),
                (4, 1.0),
                (33, 1.0),
                (34, 0.5),
                (64, 0.25),
            ],
        );
    }

    #[test]
    fn huge_steps_do_not_panic() {
        for s in [
            LrSchedule::Step {
                warmup: 0,
                step_size: 1,
                gamma: 0.9,
            },
            LrSchedule::CosineRestarts {
                warmup: 0,
                period: 3,
                mult: 7,
                min_ratio: 0.0,
            },
        ] {
            let f = s.factor(usize::MAX);
            assert!((0.0..=1.0).contains(&f), "{s:?}: {f}");
        }
        let one = LrSchedule::Step {
            warmup: 0,
            step_size: 1,
            gamma: 1.0,
        };
        assert_eq!(one.factor(usize::MAX), 1.0);
    }

    /// Runs a burn scheduler (with `initial_lr = 1`, so its rate is our factor)
    /// for `n` calls of `step()` and compares call `i` with our step `i`.
    fn compare_with_burn(mut burn_sched: impl LrScheduler, ours: LrSchedule, n: usize) {
        for step in 0..n {
            let theirs = burn_sched.step();
            let mine = ours.factor(step);
            assert!(
                (theirs - mine).abs() < 1e-12,
                "{ours:?} at step {step}: burn {theirs}, ours {mine}"
            );
        }
    }

    // burn's schedulers are stateful: `step()` advances and returns the rate
    // for the update about to happen, and its first call gives the initial
    // rate. So burn's call number i+1 is our (0-based) step i — no
    // off-by-one. burn's linear/cosine/exponential require initial_lr in
    // (0, 1], so none of them can express a warmup from 0; they are compared
    // with warmup = 0.

    #[test]
    fn linear_agrees_with_burn() {
        // burn LinearLrScheduler(1 → 0 over 60 iterations) is
        // 1 - i/60 up to i = 60 and holds 0 afterwards, like HF linear
        // without warmup; 100 steps cover the hold.
        let burn_sched = LinearLrSchedulerConfig::new(1.0, 0.0, 60).init().unwrap();
        let ours = LrSchedule::Linear {
            warmup: 0,
            total: 60,
        };
        compare_with_burn(burn_sched, ours, 100);
    }

    #[test]
    fn cosine_agrees_with_burn_up_to_total() {
        // burn CosineAnnealingLrScheduler(num_iters = N) reaches min_lr at
        // call N+1 (i = N, cos(pi)) and then restarts (cycles of N+1 calls
        // with both ends included). Our Cosine holds the floor after total,
        // so the two agree on steps 0..=N only.
        let n = 99;
        let burn_sched = CosineAnnealingLrSchedulerConfig::new(1.0, n)
            .with_min_lr(0.1)
            .init()
            .unwrap();
        let ours = LrSchedule::Cosine {
            warmup: 0,
            total: n,
            min_ratio: 0.1,
        };
        compare_with_burn(burn_sched, ours, n + 1);
        // Note: burn's cosine is NOT PyTorch's CosineAnnealingWarmRestarts —
        // burn uses cos(pi * i / N) for i in 0..=N (the minimum is reached),
        // torch cos(pi * T_cur / T_0) for T_cur in 0..T_0 (it never is). So
        // CosineRestarts is checked against the torch literals above only.
    }

    #[test]
    fn step_agrees_with_burn() {
        // burn StepLrScheduler: call i (0-based) returns gamma^(i / step_size),
        // exactly torch StepLR.
        let burn_sched = StepLrSchedulerConfig::new(1.0, 7)
            .with_gamma(0.5)
            .init()
            .unwrap();
        let ours = LrSchedule::Step {
            warmup: 0,
            step_size: 7,
            gamma: 0.5,
        };
        compare_with_burn(burn_sched, ours, 100);
    }

    #[test]
    fn exponential_is_step_of_size_one() {
        // burn ExponentialLrScheduler multiplies by gamma each call (first
        // call = initial rate), i.e. StepLR with step_size 1; its running
        // product drifts by a few ulps from gamma^i, well inside 1e-12.
        let burn_sched = ExponentialLrSchedulerConfig::new(1.0, 0.95).init().unwrap();
        let ours = LrSchedule::Step {
            warmup: 0,
            step_size: 1,
            gamma: 0.95,
        };
        compare_with_burn(burn_sched, ours, 100);
    }

    #[test]
    fn constant_agrees_with_burn() {
        // burn implements LrScheduler for a bare f64: the same rate forever.
        compare_with_burn(1.0f64, LrSchedule::Constant, 100);
    }

    #[test]
    fn validate_names_the_field() {
        let cases: [(LrSchedule, &str); 8] = [
            (
                LrSchedule::Linear {
                    warmup: 10,
                    total: 10,
                },
                "`total`",
            ),
            (
                LrSchedule::Cosine {
                    warmup: 0,
                    total: 0,
                    min_ratio: 0.0,
                },
                "`total`",
            ),
            (
                LrSchedule::Cosine {
                    warmup: 0,
                    total: 10,
                    min_ratio: 1.5,
                },
                "`min_ratio`",
            ),
            (
                LrSchedule::CosineRestarts {
                    warmup: 0,
                    period: 0,
                    mult: 1,
                    min_ratio: 0.0,
                },
                "`period`",
            ),
            (
                LrSchedule::CosineRestarts {
                    warmup: 0,
                    period: 5,
                    mult: 0,
                    min_ratio: 0.0,
                },
                "`mult`",
            ),
            (
                LrSchedule::Step {
                    warmup: 0,
                    step_size: 0,
                    gamma: 0.1,
                },
                "`step_size`",
            ),
            (
                LrSchedule::Step {
                    warmup: 0,
                    step_size: 3,
                    gamma: 0.0,
                },
                "`gamma`",
            ),
            (
                LrSchedule::Step {
                    warmup: 0,
                    step_size: 3,
                    gamma: f64::NAN,
                },
                "`gamma`",
            ),
        ];
        for (schedule, field) in cases {
            let err = schedule.validate().unwrap_err();
            assert!(err.contains(field), "{schedule:?}: {err}");
        }
        assert!(LrSchedule::Constant.validate().is_ok());
    }

    #[test]
    fn parse_cli_forms() {
        let p = |s: &str| s.parse::<LrSchedule>().unwrap();
        assert_eq!(p("constant"), LrSchedule::Constant);
        assert_eq!(
            p("linear").with_horizon(100, 1000),
            LrSchedule::Linear {
                warmup: 100,
                total: 1000
            }
        );
        assert_eq!(
            p("cosine").with_horizon(5, 50),
            LrSchedule::Cosine {
                warmup: 5,
                total: 50,
                min_ratio: 0.0
            }
        );
        assert_eq!(
            p("cosine:0.1"),
            LrSchedule::Cosine {
                warmup: 0,
                total: 0,
                min_ratio: 0.1
            }
        );
        assert_eq!(
            p("cosine-restarts:10").with_horizon(3, 999),
            LrSchedule::CosineRestarts {
                warmup: 3,
                period: 10,
                mult: 1,
                min_ratio: 0.0
            }
        );
        assert_eq!(
            p(" cosine-restarts:10:2:0.05 "),
            LrSchedule::CosineRestarts {
                warmup: 0,
                period: 10,
                mult: 2,
                min_ratio: 0.05
            }
        );
        assert_eq!(
            p("step:30:0.1").with_horizon(2, 999),
            LrSchedule::Step {
                warmup: 2,
                step_size: 30,
                gamma: 0.1
            }
        );
        // Without a horizon, linear/cosine fail validation with a clear message.
        assert!(p("linear").validate().unwrap_err().contains("`total`"));
        assert_eq!(
            LrSchedule::Constant.with_horizon(10, 100),
            LrSchedule::Constant
        );
    }

    #[test]
    fn parse_errors_are_clear() {
        let e = |s: &str| s.parse::<LrSchedule>().unwrap_err();
        assert!(e("cosine_restarts:10").contains("unknown lr schedule"));
        assert!(e("").contains("unknown lr schedule"));
        assert!(e("step:30").contains("takes 2 argument(s), got 1"));
        assert!(e("linear:5").contains("takes 0 argument(s)"));
        assert!(e("cosine-restarts").contains("1 to 3"));
        assert!(e("step:x:0.1").contains("`step_size`"));
        assert!(e("step:30:abc").contains("`gamma`"));
        assert!(e("step:0:0.1").contains("`step_size`"));
        assert!(e("step:30:1.5").contains("`gamma`"));
        assert!(e("cosine-restarts:0").contains("`period`"));
        assert!(e("cosine-restarts:5:0").contains("`mult`"));
        assert!(e("cosine:-0.1").contains("`min_ratio`"));
    }

    #[test]
    fn serde_form() {
        let s = LrSchedule::Cosine {
            warmup: 500,
            total: 10_000,
            min_ratio: 0.1,
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"cosine","warmup":500,"total":10000,"min_ratio":0.1}"#
        );
        assert_eq!(serde_json::from_str::<LrSchedule>(&json).unwrap(), s);
        assert_eq!(
            serde_json::from_str::<LrSchedule>(r#"{"kind":"cosine_restarts","period":8}"#).unwrap(),
            LrSchedule::CosineRestarts {
                warmup: 0,
                period: 8,
                mult: 1,
                min_ratio: 0.0
            }
        );
        assert_eq!(
            serde_json::from_str::<LrSchedule>(r#"{"kind":"constant"}"#).unwrap(),
            LrSchedule::Constant
        );
        let err = serde_json::from_str::<LrSchedule>(r#"{"kind":"step","step_size":3,"gama":0.1}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("gama"), "{err}");
    }

    fn any_valid_schedule() -> impl Strategy<Value = LrSchedule> {
        let warmup = 0usize..1000;
        prop_oneof![
            Just(LrSchedule::Constant),
            (warmup.clone(), 1usize..100_000).prop_map(|(warmup, len)| LrSchedule::Linear {
                warmup,
                total: warmup + len
            }),
            (warmup.clone(), 1usize..100_000, 0.0..=1.0f64).prop_map(|(warmup, len, min_ratio)| {
                LrSchedule::Cosine {
                    warmup,
                    total: warmup + len,
                    min_ratio,
                }
            }),
            (warmup.clone(), 1usize..10_000, 1usize..5, 0.0..=1.0f64).prop_map(
                |(warmup, period, mult, min_ratio)| LrSchedule::CosineRestarts {
                    warmup,
                    period,
                    mult,
                    min_ratio
                }
            ),
            (warmup, 1usize..10_000, 1e-6..=1.0f64).prop_map(|(warmup, step_size, gamma)| {
                LrSchedule::Step {
                    warmup,
                    step_size,
                    gamma,
                }
            }),
        ]
    }

    fn min_ratio_of(s: &LrSchedule) -> f64 {
        match *s {
            LrSchedule::Cosine { min_ratio, .. } | LrSchedule::CosineRestarts { min_ratio, .. } => {
                min_ratio
            }
            _ => 0.0,
        }
    }

    fn warmup_of(s: &LrSchedule) -> usize {
        match *s {
            LrSchedule::Constant => 0,
            LrSchedule::Linear { warmup, .. }
            | LrSchedule::Cosine { warmup, .. }
            | LrSchedule::CosineRestarts { warmup, .. }
            | LrSchedule::Step { warmup, .. } => warmup,
        }
    }

    proptest! {
        #[test]
        fn factor_is_finite_and_bounded(
            schedule in any_valid_schedule(),
            step in prop_oneof![0usize..200_000, any::<usize>()],
        ) {
            prop_assert!(schedule.validate().is_ok());
            let f = schedule.factor(step);
            prop_assert!(f.is_finite(), "{:?} at {}: {}", schedule, step, f);
            prop_assert!((0.0..=1.0).contains(&f), "{:?} at {}: {}", schedule, step, f);
            if step >= warmup_of(&schedule) {
                // After warmup the cosine schedules never go below their floor
                // (a small slack for the rounding of min + (1 - min) * c).
                prop_assert!(f >= min_ratio_of(&schedule) - 1e-12, "{:?} at {}: {}", schedule, step, f);
            }
        }

        #[test]
        fn warmup_is_monotone_and_ends_at_one(schedule in any_valid_schedule()) {
            let w = warmup_of(&schedule);
            let mut prev = -1.0;
            for step in 0..w.min(50) {
                let f = schedule.factor(step);
                prop_assert!(f > prev);
                prev = f;
            }
            prop_assert!((schedule.factor(w) - 1.0).abs() < 1e-12);
        }

        #[test]
        fn display_parses_back(schedule in any_valid_schedule()) {
            let text = schedule.to_string();
            let parsed: LrSchedule = text.parse().map_err(TestCaseError::fail)?;
            let (w, total) = match schedule {
                LrSchedule::Linear { total, .. } | LrSchedule::Cosine { total, .. } => (warmup_of(&schedule), total),
                _ => (warmup_of(&schedule), 0),
            };
            prop_assert_eq!(parsed.with_horizon(w, total), schedule);
        }
    }
}
