//! How much each attention head and feed-forward neuron matters.
//!
//! `Activation` (the default) runs the f32 engine over sample texts and
//! measures what each unit adds to the residual stream: for head `h`, the
//! mean over real tokens of ‖W_o[:, h] · c_h‖² (its context vector through
//! its slice of the output projection, computed as c_hᵀ (W_hᵀ W_h) c_h with
//! a per-head Gram matrix); for neuron `j`, the mean of a_j² · ‖W_out[:, j]‖².
//! `Magnitude` needs no data: ‖W_v[h]‖·‖W_o[:, h]‖ for a head (its value
//! path), ‖W_in[j]‖·‖W_out[:, j]‖ for a neuron.

use hone_model::engine::{LinearId, Role};
use serde::{Deserialize, Serialize};

use crate::quant::Batch;
use crate::{CompressError, Result, SourceModel};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Importance {
    /// Measured contribution to the residual stream on sample texts.
    #[default]
    Activation,
    /// Weight norms only.
    Magnitude,
}

impl std::str::FromStr for Importance {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "activation" => Ok(Self::Activation),
            "magnitude" => Ok(Self::Magnitude),
            o => Err(format!(
                "unknown importance {o:?} (expected activation or magnitude)"
            )),
        }
    }
}

/// Scores per layer: one per head, one per feed-forward neuron.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    pub heads: Vec<Vec<f64>>,
    pub ffn: Vec<Vec<f64>>,
}

/// Scores every head and neuron of `source`.
pub fn score(source: &SourceModel, importance: Importance, texts: &[Batch]) -> Result<Scores> {
    match importance {
        Importance::Magnitude => Ok(magnitude(source)),
        Importance::Activation => activation(source, texts),
    }
}

/// Weight matrices of one layer, HF `[out, in]`.
struct LayerWeights<'a> {
    value: &'a [f32],
    attention_out: &'a [f32],
    ffn_in: &'a [f32],
    ffn_out: &'a [f32],
    heads: usize,
    ffn: usize,
}

fn layer_weights(source: &SourceModel, layer: usize) -> LayerWeights<'_> {
    let get = |name: &str| {
        source
            .encoder
            .get(&format!("encoder.layer.{layer}.{name}.weight"))
            .map(Vec::as_slice)
            .unwrap_or_default()
    };
    let shape = source.config.layer(layer);
    LayerWeights {
        value: get("attention.self.value"),
        attention_out: get("attention.output.dense"),
        ffn_in: get("intermediate.dense"),
        ffn_out: get("output.dense"),
        heads: shape.heads,
        ffn: shape.intermediate_size,
    }
}

/// Squared norm of columns `cols` of a row-major matrix `cols_total` wide.
fn column_norm2(m: &[f32], cols_total: usize, cols: std::ops::Range<usize>) -> f64 {
    m.chunks_exact(cols_total)
        .map(|row| {
            row[cols.clone()]
                .iter()
                .map(|&v| (v as f64).powi(2))
                .sum::<f64>()
        })
        .sum()
}

fn row_norm2(m: &[f32], cols: usize, rows: std::ops::Range<usize>) -> f64 {
    m[rows.start * cols..rows.end * cols]
        .iter()
        .map(|&v| (v as f64).powi(2))
        .sum()
}

fn magnitude(source: &SourceModel) -> Scores {
    let (h, dh) = (source.config.hidden_size, source.config.head_dim());
    let mut scores = Scores {
        heads: Vec::new(),
        ffn: Vec::new(),
    };
    for layer in 0..source.config.num_hidden_layers {
        let w = layer_weights(source, layer);
        let width = w.heads * dh;
        scores.heads.push(
            (0..w.heads)
                .map(|hd| {
                    let span = hd * dh..(hd + 1) * dh;
                    (row_norm2(w.value, h, span.clone())
                        * column_norm2(w.attention_out, width, span))
                    .sqrt()
                })
                .collect(),
        );
        scores.ffn.push(
            (0..w.ffn)
                .map(|j| {
                    (row_norm2(w.ffn_in, h, j..j + 1) * column_norm2(w.ffn_out, w.ffn, j..j + 1))
                        .sqrt()
                })
                .collect(),
        );
    }
    scores
}

fn activation(source: &SourceModel, texts: &[Batch]) -> Result<Scores> {
    if texts.iter().all(|b| b.batch == 0) {
        return Err(CompressError::Invalid(
            "activation importance needs sample texts (or use magnitude importance)".into(),
        ));
    }
    let c = &source.config;
    let (dh, layers) = (c.head_dim(), c.num_hidden_layers);
    // Per head, W_hᵀ W_h (dh × dh) of its slice of the output projection.
    let mut grams = Vec::with_capacity(layers);
    let mut out_norms = Vec::with_capacity(layers);
    for layer in 0..layers {
        let w = layer_weights(source, layer);
        let width = w.heads * dh;
        let mut g = vec![0.0f64; w.heads * dh * dh];
        for row in w.attention_out.chunks_exact(width) {
            for hd in 0..w.heads {
                let r = &row[hd * dh..(hd + 1) * dh];
                let gh = &mut g[hd * dh * dh..(hd + 1) * dh * dh];
                for a in 0..dh {
                    for b in 0..dh {
                        gh[a * dh + b] += r[a] as f64 * r[b] as f64;
                    }
                }
            }
        }
        grams.push(g);
        out_norms.push(
            (0..w.ffn)
                .map(|j| column_norm2(w.ffn_out, w.ffn, j..j + 1))
                .collect::<Vec<_>>(),
        );
    }
    let mut scores = Scores {
        heads: (0..layers).map(|l| vec![0.0; c.layer(l).heads]).collect(),
        ffn: (0..layers)
            .map(|l| vec![0.0; c.layer(l).intermediate_size])
            .collect(),
    };
    let engine = source.engine(|_| hone_model::engine::Storage::F32)?;
    let mut tokens = 0usize;
    for batch in texts {
        let mask = &batch.mask;
        tokens += mask.iter().filter(|&&m| m != 0).count();
        let mut observe = |id: LinearId, input: &[f32]| {
            let width = input.len() / mask.len().max(1);
            let real_rows = input
                .chunks_exact(width)
                .zip(mask)
                .filter(|&(_, &m)| m != 0)
                .map(|(row, _)| row);
            match id.role {
                Role::AttentionOut => {
                    let (gram, out) = (&grams[id.layer], &mut scores.heads[id.layer]);
                    for row in real_rows {
                        for (hd, s) in out.iter_mut().enumerate() {
                            let ctx = &row[hd * dh..(hd + 1) * dh];
                            let g = &gram[hd * dh * dh..(hd + 1) * dh * dh];
                            let mut q = 0.0f64;
                            for a in 0..dh {
                                let ga = &g[a * dh..(a + 1) * dh];
                                let dot: f64 =
                                    ga.iter().zip(ctx).map(|(&x, &y)| x * y as f64).sum();
                                q += ctx[a] as f64 * dot;
                            }
                            *s += q;
                        }
                    }
                }
                Role::FfnOut => {
                    let (norms, out) = (&out_norms[id.layer], &mut scores.ffn[id.layer]);
                    for row in real_rows {
                        for ((s, &a), &n) in out.iter_mut().zip(row).zip(norms) {
                            *s += (a as f64).powi(2) * n;
                        }
                    }
                }
                Role::Qkv | Role::FfnIn => {}
            }
        };
        engine.forward_observed(batch.tokens(), &mut observe)?;
    }
    let inv = 1.0 / tokens.max(1) as f64;
    for layer in scores.heads.iter_mut().chain(scores.ffn.iter_mut()) {
        layer.iter_mut().for_each(|s| *s *= inv);
    }
    Ok(scores)
}

/// How much each hidden channel (a column of the residual stream) carries:
/// the mean over real tokens of its squared value at every LayerNorm output
/// — the input of each layer's attention and feed-forward block, and the
/// encoder's output the head reads — summed over those points (the
/// activation-based channel importance of width pruning, as in Minitron).
/// A narrower student keeps the highest-scoring channels.
pub fn hidden_channels(source: &SourceModel, texts: &[Batch]) -> Result<Vec<f64>> {
    if texts.iter().all(|b| b.batch == 0) {
        return Err(CompressError::Invalid(
            "choosing hidden channels needs sample texts".into(),
        ));
    }
    let h = source.config.hidden_size;
    let mut scores = vec![0.0f64; h];
    let engine = source.engine(|_| hone_model::engine::Storage::F32)?;
    let mut tokens = 0usize;
    let add = |scores: &mut [f64], rows: &[f32], mask: &[u32]| {
        for (row, _) in rows.chunks_exact(h).zip(mask).filter(|&(_, &m)| m != 0) {
            for (s, &x) in scores.iter_mut().zip(row) {
                *s += (x as f64).powi(2);
            }
        }
    };
    for batch in texts {
        let mask = &batch.mask;
        tokens += mask.iter().filter(|&&m| m != 0).count();
        let output = engine.forward_observed(batch.tokens(), &mut |id, input| {
            if matches!(id.role, Role::Qkv | Role::FfnIn) {
                add(&mut scores, input, mask);
            }
        })?;
        add(&mut scores, &output, mask);
    }
    let inv = 1.0 / tokens.max(1) as f64;
    scores.iter_mut().for_each(|s| *s *= inv);
    Ok(scores)
}
