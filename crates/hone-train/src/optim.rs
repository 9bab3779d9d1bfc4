//! AdamW with the transfer-learning recipe: no weight decay on biases and
//! LayerNorm tensors, a per-depth learning rate (layer-wise LR decay),
//! frozen depths, and clipping by the global gradient norm.
//!
//! burn's `AdamW` applies one weight decay to every tensor it steps, so two
//! burn optimizers are kept (with and without decay), and each update is
//! split into one burn step per (depth, decay) group at that group's LR;
//! burn's optimizer leaves tensors without a gradient — and their moment
//! estimates — untouched, so the split changes nothing else. burn's own
//! `GradientClipping::Norm` clips each tensor on its own; BERT-style
//! training clips the norm of all gradients together, done here.

use std::collections::BTreeMap;

use burn::module::{AutodiffModule, ModuleMapper, ModuleVisitor, Param};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamW, AdamWConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

use crate::params::ParamGroups;

/// Optimizer settings (AdamW).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OptimConfig {
    /// Peak learning rate (the schedule scales it).
    pub lr: f64,
    pub weight_decay: f64,
    pub beta1: f32,
    pub beta2: f32,
    pub epsilon: f32,
    /// Clip the global gradient norm to this value.
    pub max_grad_norm: Option<f64>,
    /// Layer-wise LR decay: each depth below the head trains at this factor
    /// of the one above (1 = off).
    pub llrd: f64,
}

impl Default for OptimConfig {
    fn default() -> Self {
        Self {
            lr: 5e-5,
            weight_decay: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            max_grad_norm: Some(1.0),
            llrd: 1.0,
        }
    }
}

impl OptimConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(format!("lr must be > 0, got {}", self.lr));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(format!(
                "weight decay must be ≥ 0, got {}",
                self.weight_decay
            ));
        }
        if !(self.llrd > 0.0 && self.llrd <= 1.0) {
            return Err(format!(
                "layer-wise LR decay must be in (0, 1], got {}",
                self.llrd
            ));
        }
        if let Some(n) = self.max_grad_norm
            && !(n.is_finite() && n > 0.0)
        {
            return Err(format!("max grad norm must be > 0, got {n}"));
        }
        Ok(())
    }
}

type Adaptor<M, B> = OptimizerAdaptor<AdamW, M, B>;

/// The pair of burn AdamW optimizers with the parameter groups of a model.
pub struct GroupedAdamW<M: AutodiffModule<B>, B: AutodiffBackend> {
    decay: Adaptor<M, B>,
    no_decay: Adaptor<M, B>,
    groups: ParamGroups,
    config: OptimConfig,
}

/// Saved moment estimates of both optimizers.
pub type GroupedAdamWRecord<M, B> = (
    <Adaptor<M, B> as Optimizer<M, B>>::Record,
    <Adaptor<M, B> as Optimizer<M, B>>::Record,
);

impl<M: AutodiffModule<B>, B: AutodiffBackend> GroupedAdamW<M, B> {
    pub fn new(config: &OptimConfig, groups: ParamGroups) -> Self {
        let base = |wd: f64| {
            AdamWConfig::new()
                .with_beta_1(config.beta1)
                .with_beta_2(config.beta2)
                .with_epsilon(config.epsilon)
                .with_weight_decay(wd as f32)
                .init::<B, M>()
        };
        Self {
            decay: base(config.weight_decay),
            no_decay: base(0.0),
            groups,
            config: config.clone(),
        }
    }

    pub fn groups(&self) -> &ParamGroups {
        &self.groups
    }

    /// Applies one update at base learning rate `lr`; tensors at depth below
    /// `min_depth` are frozen and keep their values.
    pub fn step(&mut self, lr: f64, model: M, mut grads: GradientsParams, min_depth: usize) -> M {
        let by_depth = self.config.llrd != 1.0;
        let mut buckets: BTreeMap<(usize, bool), GradientsParams> = BTreeMap::new();
        let mut split = GradSplitter::<B> {
            grads: &mut grads,
            groups: &self.groups,
            min_depth,
            by_depth,
            buckets: &mut buckets,
            _b: std::marker::PhantomData,
        };
        model.visit(&mut split);
        let mut model = model;
        for ((depth, decay), group) in buckets {
            let factor = if by_depth {
                self.groups.lr_factor(depth, self.config.llrd)
            } else {
                1.0
            };
            let optim = if decay {
                &mut self.decay
            } else {
                &mut self.no_decay
            };
            model = optim.step(lr * factor, model, group);
        }
        model
    }

    pub fn to_record(&self) -> GroupedAdamWRecord<M, B> {
        (self.decay.to_record(), self.no_decay.to_record())
    }

    pub fn load_record(mut self, record: GroupedAdamWRecord<M, B>) -> Self {
        self.decay = self.decay.load_record(record.0);
        self.no_decay = self.no_decay.load_record(record.1);
        self
    }
}

/// Moves each gradient into the bucket of its (depth, decay) group.
struct GradSplitter<'a, B> {
    grads: &'a mut GradientsParams,
    groups: &'a ParamGroups,
    min_depth: usize,
    by_depth: bool,
    buckets: &'a mut BTreeMap<(usize, bool), GradientsParams>,
    _b: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for GradSplitter<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let Some(grad) = self.grads.remove::<B::InnerBackend, D>(param.id) else {
            return;
        };
        // Every parameter with a gradient must have a group; a miss means the
        // groups were read from another model (e.g. before loading a record,
        // which restores the saved ids), and skipping it would silently
        // stop that tensor from training.
        let info = self.groups.params.get(&param.id).unwrap_or_else(|| {
            panic!(
                "parameter {} has no group: groups were built from another model",
                param.id
            )
        });
        if info.depth < self.min_depth {
            return;
        }
        let depth = if self.by_depth { info.depth } else { 0 };
        self.buckets
            .entry((depth, info.decay))
            .or_default()
            .register(param.id, grad);
    }
}

/// The L2 norm of all gradients together (non-finite when any is).
pub fn global_grad_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    model: &M,
    grads: &GradientsParams,
) -> f64 {
    let mut visitor = NormVisitor::<B> { grads, sum: None };
    model.visit(&mut visitor);
    visitor
        .sum
        .map_or(0.0, |s| s.into_scalar().elem::<f64>().sqrt())
}

struct NormVisitor<'a, B: AutodiffBackend> {
    grads: &'a GradientsParams,
    sum: Option<Tensor<B::InnerBackend, 1>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for NormVisitor<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = self.grads.get::<B::InnerBackend, D>(param.id) {
            // Squares are summed in f32 even when compute is f16.
            let sq = g.cast(burn::tensor::DType::F32).powi_scalar(2).sum();
            self.sum = Some(match self.sum.take() {
                Some(s) => s + sq,
                None => sq,
            });
        }
    }
}

/// Multiplies every gradient by `factor` (loss-scale removal and clipping).
pub fn scale_grads<B: AutodiffBackend, M: AutodiffModule<B>>(
    model: &M,
    grads: &mut GradientsParams,
    factor: f64,
) {
    if factor == 1.0 {
        return;
    }
    struct Scale<'a, B> {
        grads: &'a mut GradientsParams,
        factor: f64,
        _b: std::marker::PhantomData<B>,
    }
    impl<B: AutodiffBackend> ModuleVisitor<B> for Scale<'_, B> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            if let Some(g) = self.grads.remove::<B::InnerBackend, D>(param.id) {
                self.grads.register(param.id, g.mul_scalar(self.factor));
            }
        }
    }
    model.visit(&mut Scale::<B> {
        grads,
        factor,
        _b: std::marker::PhantomData,
    });
}

/// Marks tensors below `min_depth` as not requiring gradients (frozen), the
/// others as trainable, so backward skips the frozen part of the model.
pub fn set_trainable<B: AutodiffBackend, M: AutodiffModule<B>>(
    model: M,
    groups: &ParamGroups,
    min_depth: usize,
) -> M {
    struct Freeze<'a> {
        groups: &'a ParamGroups,
        min_depth: usize,
    }
    impl<B: AutodiffBackend> ModuleMapper<B> for Freeze<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
            let trainable = self
                .groups
                .params
                .get(&param.id)
                .is_none_or(|p| p.depth >= self.min_depth);
            param.set_require_grad(trainable)
        }
    }
    model.map(&mut Freeze { groups, min_depth })
}
