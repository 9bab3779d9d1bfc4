//! Parameter groups for transfer learning: each trainable tensor gets a
//! depth (0 = embeddings, 1..=L = encoder layer, L+1 = everything above the
//! encoder: pooler and task head) and a weight-decay flag, read from its
//! module path. Depths drive layer-wise LR decay and (gradual) freezing.
//!
//! The path rule fits encoders whose modules are named `embeddings` and
//! `layers.N` (hone-model's BERT); any other tensor counts as "head".
//! Weight decay is off for 1-D tensors — biases and LayerNorm scales/shifts —
//! the usual AdamW recipe (BERT, timm), which needs no name matching.

use std::collections::HashMap;

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::prelude::*;

/// Where one parameter tensor sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamInfo {
    pub path: String,
    pub depth: usize,
    pub decay: bool,
    pub numel: usize,
}

/// Every float parameter of a model with its depth and decay flag.
#[derive(Debug, Clone)]
pub struct ParamGroups {
    pub params: HashMap<ParamId, ParamInfo>,
    /// The depth given to the head (number of encoder layers + 1).
    pub head_depth: usize,
}

impl ParamGroups {
    /// Reads the groups of `model`'s parameters from their module paths.
    pub fn of<B: Backend, M: Module<B>>(model: &M) -> Self {
        let mut visitor = PathVisitor {
            stack: Vec::new(),
            found: Vec::new(),
        };
        model.visit(&mut visitor);
        let n_layers = visitor
            .found
            .iter()
            .filter_map(|(_, path, _, _)| layer_index(path))
            .max()
            .map_or(0, |i| i + 1);
        let head_depth = n_layers + 1;
        let params = visitor
            .found
            .into_iter()
            .map(|(id, path, rank, numel)| {
                let depth = if path.first().is_some_and(|p| p == "embeddings")
                    || path.iter().any(|p| p == "embeddings")
                {
                    0
                } else if let Some(i) = layer_index(&path) {
                    i + 1
                } else {
                    head_depth
                };
                let info = ParamInfo {
                    path: path.join("."),
                    depth,
                    decay: rank >= 2,
                    numel,
                };
                (id, info)
            })
            .collect();
        Self { params, head_depth }
    }

    /// Layer-wise LR factor: `decay^(head_depth - depth)`, so the head trains
    /// at the base rate and each layer below at `decay` times the one above.
    pub fn lr_factor(&self, depth: usize, llrd: f64) -> f64 {
        llrd.powi((self.head_depth - depth.min(self.head_depth)) as i32)
    }

    /// Number of parameters (elements) at depth ≥ `min_depth`.
    pub fn trainable_numel(&self, min_depth: usize) -> usize {
        self.params
            .values()
            .filter(|p| p.depth >= min_depth)
            .map(|p| p.numel)
            .sum()
    }
}

/// `Some(i)` when the path goes through `layers.i`.
fn layer_index(path: &[String]) -> Option<usize> {
    path.windows(2)
        .find(|w| w[0] == "layers")
        .and_then(|w| w[1].parse().ok())
}

type Found = (ParamId, Vec<String>, usize, usize);

struct PathVisitor {
    stack: Vec<String>,
    found: Vec<Found>,
}

impl<B: Backend> ModuleVisitor<B> for PathVisitor {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.stack.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.stack.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let shape = param.lazy_shape();
        self.found
            .push((param.id, self.stack.clone(), D, shape.num_elements()));
    }
}
