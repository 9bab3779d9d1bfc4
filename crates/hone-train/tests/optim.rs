//! The transfer-learning optimizer on a toy encoder-shaped module: parameter
//! depths from module paths, no weight decay on 1-D tensors, layer-wise LR
//! decay, frozen depths left untouched, and global-norm clipping.

use burn::backend::{Autodiff, NdArray};
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::prelude::*;
use hone_train::OptimConfig;
use hone_train::optim::{GroupedAdamW, global_grad_norm, scale_grads};
use hone_train::params::ParamGroups;

type B = Autodiff<NdArray>;

#[derive(Module, Debug)]
struct Toy<B: Backend> {
    embeddings: Linear<B>,
    layers: Vec<Linear<B>>,
    head: Linear<B>,
}

fn toy() -> Toy<B> {
    let d = Default::default();
    B::seed(&d, 1);
    Toy {
        embeddings: LinearConfig::new(4, 4).init(&d),
        layers: vec![
            LinearConfig::new(4, 4).init(&d),
            LinearConfig::new(4, 4).init(&d),
        ],
        head: LinearConfig::new(4, 2).init(&d),
    }
}

fn values(l: &Linear<B>) -> (Vec<f32>, Vec<f32>) {
    let v = |t: Tensor<B, 1>| t.into_data().to_vec::<f32>().unwrap();
    (
        v(l.weight.val().flatten(0, 1)),
        v(l.bias.as_ref().unwrap().val()),
    )
}

/// Gradients of `sum(output)` for a fixed input, times `factor`.
fn grads(model: &Toy<B>, factor: f32) -> GradientsParams {
    let d = Default::default();
    let x = Tensor::<B, 2>::ones([3, 4], &d);
    let mut h = model.embeddings.forward(x);
    for l in &model.layers {
        h = l.forward(h);
    }
    let loss = model.head.forward(h).sum().mul_scalar(factor);
    GradientsParams::from_grads(loss.backward(), model)
}

#[test]
fn depths_and_decay_flags_come_from_paths_and_ranks() {
    let model = toy();
    let g = ParamGroups::of::<B, _>(&model);
    assert_eq!(g.head_depth, 3);
    let depth_of = |id| g.params[&id].depth;
    assert_eq!(depth_of(model.embeddings.weight.id), 0);
    assert_eq!(depth_of(model.layers[0].weight.id), 1);
    assert_eq!(depth_of(model.layers[1].weight.id), 2);
    assert_eq!(depth_of(model.head.weight.id), 3);
    assert!(g.params[&model.head.weight.id].decay);
    assert!(
        !g.params[&model.head.bias.as_ref().unwrap().id].decay,
        "biases are not decayed"
    );
    assert!((g.lr_factor(0, 0.5) - 0.125).abs() < 1e-12);
}

#[test]
fn weight_decay_spares_biases() {
    let model = toy();
    let before = values(&model.head);
    let config = OptimConfig {
        lr: 0.1,
        weight_decay: 0.5,
        ..OptimConfig::default()
    };
    let mut opt = GroupedAdamW::<Toy<B>, B>::new(&config, ParamGroups::of::<B, _>(&model));
    // Zero gradients: Adam's step is 0, so only decoupled decay moves weights.
    let model = opt.step(0.1, model.clone(), grads(&model, 0.0), 0);
    let after = values(&model.head);
    for (a, b) in after.0.iter().zip(&before.0) {
        assert!((a - b * (1.0 - 0.1 * 0.5)).abs() < 1e-6, "{a} vs {b}");
    }
    assert_eq!(after.1, before.1, "bias unchanged");
}

#[test]
fn layerwise_decay_scales_updates_and_frozen_depths_stay() {
    let model = toy();
    let config = OptimConfig {
        lr: 1e-3,
        weight_decay: 0.0,
        llrd: 0.5,
        ..OptimConfig::default()
    };
    let mut opt = GroupedAdamW::<Toy<B>, B>::new(&config, ParamGroups::of::<B, _>(&model));
    let g = grads(&model, 1.0);
    let (e0, h0) = (values(&model.embeddings), values(&model.head));
    let l0 = values(&model.layers[0]);
    let stepped = opt.step(1e-3, model.clone(), g, 1);
    // Adam's first step moves each weight by lr · factor (|g| ≫ ε).
    let moved = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max)
    };
    let head_step = moved(&values(&stepped.head).1, &h0.1);
    let layer0_step = moved(&values(&stepped.layers[0]).1, &l0.1);
    assert!((head_step - 1e-3).abs() < 1e-5, "{head_step}");
    assert!(
        (layer0_step - 0.25e-3).abs() < 1e-5,
        "depth 1 = 0.5² of the head: {layer0_step}"
    );
    assert_eq!(
        values(&stepped.embeddings),
        e0,
        "depth 0 is frozen (min depth 1)"
    );
}

#[test]
fn global_norm_clipping_scales_all_gradients_together() {
    let model = toy();
    let mut g = grads(&model, 3.0);
    let norm = global_grad_norm::<B, _>(&model, &g);
    assert!(norm > 1.0);
    scale_grads::<B, _>(&model, &mut g, 1.0 / norm);
    let clipped = global_grad_norm::<B, _>(&model, &g);
    assert!((clipped - 1.0).abs() < 1e-5, "{clipped}");
    let twice = global_grad_norm::<B, _>(&model, &grads(&model, 6.0));
    assert!(
        (twice / norm - 2.0).abs() < 1e-5,
        "norm is linear in the loss scale"
    );
}
