//! Exponential moving average of the weights (Polyak averaging, as in
//! timm's `ModelEmaV2` or TensorFlow's `ExponentialMovingAverage`): after
//! every optimizer step the average moves towards the current weights,
//! `avg ← d·avg + (1−d)·w`. Validation, the best checkpoint and the saved
//! model then use the average, which smooths the step-to-step noise of
//! small-batch fine-tuning.
//!
//! The decay warms up as TensorFlow's `num_updates` does,
//! `d_t = min(d, (1 + t) / (10 + t))` for the t-th update, so the first
//! steps are not dominated by the pretrained starting point.
//!
//! The average lives on the inner (non-autodiff) backend as a copy of the
//! model: it never enters the autodiff graph and is saved in every
//! checkpoint, so a resumed run continues it exactly.

use std::any::Any;
use std::collections::HashMap;

use burn::module::{AutodiffModule, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;

/// The decay applied at update `updates` (counted from 0) for a target
/// decay `decay`.
pub fn decay_at(decay: f64, updates: usize) -> f64 {
    let t = updates as f64;
    decay.min((1.0 + t) / (10.0 + t))
}

/// Moves every float parameter of `average` towards the parameter of
/// `model` with the same id: `avg ← d·avg + (1−d)·w`. Parameters of
/// `average` that `model` lacks stay as they are.
pub fn update<B, M>(average: M::InnerModule, model: &M, d: f64) -> M::InnerModule
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
{
    let mut current = Collect::<B::InnerBackend> {
        tensors: HashMap::new(),
        _b: std::marker::PhantomData,
    };
    model.valid().visit(&mut current);
    average.map(&mut Blend::<B::InnerBackend> {
        current: current.tensors,
        d,
        _b: std::marker::PhantomData,
    })
}

/// Current parameters by id; the tensors have different ranks, hence `Any`.
struct Collect<B: Backend> {
    tensors: HashMap<ParamId, Box<dyn Any>>,
    _b: std::marker::PhantomData<B>,
}

impl<B: Backend> ModuleVisitor<B> for Collect<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.tensors.insert(param.id, Box::new(param.val()));
    }
}

struct Blend<B: Backend> {
    current: HashMap<ParamId, Box<dyn Any>>,
    d: f64,
    _b: std::marker::PhantomData<B>,
}

impl<B: Backend> ModuleMapper<B> for Blend<B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let Some(current) = self
            .current
            .remove(&param.id)
            .and_then(|t| t.downcast::<Tensor<B, D>>().ok())
        else {
            return param;
        };
        let (id, average, mapper) = param.consume();
        let blended = average.mul_scalar(self.d) + current.mul_scalar(1.0 - self.d);
        Param::from_mapped_value(id, blended, mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};
    use burn::module::Module;
    use burn::nn::{Linear, LinearConfig};

    type B = Autodiff<NdArray>;

    #[test]
    fn decay_warms_up_then_holds() {
        assert!((decay_at(0.99, 0) - 0.1).abs() < 1e-12);
        assert!((decay_at(0.99, 10) - 11.0 / 20.0).abs() < 1e-12);
        assert_eq!(decay_at(0.99, 10_000), 0.99);
    }

    fn flat(l: &Linear<NdArray>) -> Vec<f32> {
        let mut v = l.weight.val().into_data().to_vec::<f32>().unwrap();
        v.extend(
            l.bias
                .as_ref()
                .unwrap()
                .val()
                .into_data()
                .to_vec::<f32>()
                .unwrap(),
        );
        v
    }

    #[test]
    fn update_blends_every_parameter_by_id() {
        let device = Default::default();
        let model: Linear<B> = LinearConfig::new(3, 2).init(&device);
        let average = model.valid();
        let before = flat(&average);
        // Move the model: every weight +1.
        struct AddOne;
        impl ModuleMapper<B> for AddOne {
            fn map_float<const D: usize>(&mut self, p: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
                let (id, t, m) = p.consume();
                Param::from_mapped_value(id, t.add_scalar(1.0), m)
            }
        }
        let moved = model.map(&mut AddOne);
        let average = update::<B, _>(average, &moved, 0.75);
        for (a, b) in flat(&average).iter().zip(&before) {
            assert!((a - (b + 0.25)).abs() < 1e-6, "{a} vs {b} + 0.25");
        }
        // A second update with d = 0 copies the model.
        let average = update::<B, _>(average, &moved, 0.0);
        assert_eq!(flat(&average), flat(&moved.valid()));
    }
}
