//! A dense layer of the fast CPU engine in one of three storage formats:
//! f32, int8 (symmetric per output channel; activations quantized per token
//! at run time, or with a calibrated static scale) or 4-bit weight-only
//! (per-group scales). All three compute `y = x · Wᵀ + b` for row-major x.

use hone_kernels::f32ops::{self, Threads, View};
use hone_kernels::int4::PackedI4;
use hone_kernels::int8::{self, PackedS8};
use hone_kernels::quantize;

use crate::{ModelError, Result};

/// How a dense layer's weights are stored and multiplied.
#[derive(Clone, Debug, PartialEq)]
pub enum Weights {
    /// `in × out` row-major f32.
    F32(Vec<f32>),
    /// int8 per output channel; `activation_scale` is a calibrated static
    /// per-tensor scale, or `None` for a per-token scale computed at run time.
    Int8 {
        packed: PackedS8,
        activation_scale: Option<f32>,
    },
    /// 4-bit weight-only in groups along the input dimension.
    Int4(PackedI4),
}

/// The storage format, as named in a quantization config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    F32,
    Int8,
    Int4,
}

/// One dense layer: `out = x · Wᵀ + bias`.
#[derive(Clone, Debug, PartialEq)]
pub struct Linear {
    pub d_in: usize,
    pub d_out: usize,
    pub weights: Weights,
    pub bias: Vec<f32>,
}

impl Linear {
    /// From an f32 weight in PyTorch's `[out, in]` layout.
    pub fn f32(weight_out_in: &[f32], bias: Vec<f32>, d_out: usize, d_in: usize) -> Result<Self> {
        check(weight_out_in.len(), d_out * d_in, bias.len(), d_out)?;
        let mut w = vec![0.0; d_in * d_out];
        for o in 0..d_out {
            for i in 0..d_in {
                w[i * d_out + o] = weight_out_in[o * d_in + i];
            }
        }
        Ok(Linear {
            d_in,
            d_out,
            weights: Weights::F32(w),
            bias,
        })
    }

    /// Quantized to int8 per output channel (dynamic activations).
    pub fn int8(weight_out_in: &[f32], bias: Vec<f32>, d_out: usize, d_in: usize) -> Result<Self> {
        check(weight_out_in.len(), d_out * d_in, bias.len(), d_out)?;
        let (q, scales) = quantize::quantize_rows_vec(weight_out_in, d_in).map_err(kernel)?;
        let packed = PackedS8::from_nk(&q, d_out, d_in, scales).map_err(kernel)?;
        Ok(Linear {
            d_in,
            d_out,
            weights: Weights::Int8 {
                packed,
                activation_scale: None,
            },
            bias,
        })
    }

    /// Quantized to 4 bits per group of `group` input values.
    pub fn int4(
        weight_out_in: &[f32],
        bias: Vec<f32>,
        d_out: usize,
        d_in: usize,
        group: usize,
    ) -> Result<Self> {
        check(weight_out_in.len(), d_out * d_in, bias.len(), d_out)?;
        let packed = PackedI4::quantize(weight_out_in, d_out, d_in, group).map_err(kernel)?;
        Ok(Linear {
            d_in,
            d_out,
            weights: Weights::Int4(packed),
            bias,
        })
    }

    pub fn format(&self) -> Format {
        match self.weights {
            Weights::F32(_) => Format::F32,
            Weights::Int8 { .. } => Format::Int8,
            Weights::Int4(_) => Format::Int4,
        }
    }

    /// The weight as f32 `[out, in]` (dequantized where stored quantized).
    pub fn weight_out_in(&self) -> Vec<f32> {
        match &self.weights {
            Weights::F32(w) => {
                let mut out = vec![0.0; w.len()];
                for i in 0..self.d_in {
                    for o in 0..self.d_out {
                        out[o * self.d_in + i] = w[i * self.d_out + o];
                    }
                }
                out
            }
            Weights::Int8 { packed, .. } => {
                let q = packed.to_nk();
                q.chunks_exact(self.d_in)
                    .zip(packed.scales())
                    .flat_map(|(row, &s)| row.iter().map(move |&v| v as f32 * s))
                    .collect()
            }
            Weights::Int4(p) => p.dequantize(),
        }
    }

    /// `out = x · Wᵀ + bias` for `rows` rows of `x`.
    pub fn forward(&self, x: &[f32], rows: usize, out: &mut [f32]) -> Result<()> {
        match &self.weights {
            Weights::F32(w) => {
                for row in out.chunks_exact_mut(self.d_out) {
                    row.copy_from_slice(&self.bias);
                }
                f32ops::matmul(
                    View::row_major(x, rows, self.d_in),
                    View::row_major(w, self.d_in, self.d_out),
                    out,
                    self.d_out,
                    true,
                    Threads::All,
                )
                .map_err(kernel)
            }
            Weights::Int8 {
                packed,
                activation_scale,
            } => {
                let mut q = vec![0i8; x.len()];
                let scales = match activation_scale {
                    None => {
                        let mut scales = vec![0.0; rows];
                        quantize::quantize_rows(x, self.d_in, &mut q, &mut scales)
                            .map_err(kernel)?;
                        scales
                    }
                    Some(s) => {
                        quantize::quantize_with_scale(x, *s, &mut q).map_err(kernel)?;
                        vec![*s; rows]
                    }
                };
                int8::gemm_dequant(&q, &scales, rows, packed, Some(&self.bias), out).map_err(kernel)
            }
            Weights::Int4(packed) => {
                hone_kernels::int4::gemm(x, rows, packed, Some(&self.bias), out).map_err(kernel)
            }
        }
    }
}

fn check(weight: usize, want_weight: usize, bias: usize, want_bias: usize) -> Result<()> {
    if want_weight == 0 {
        return Err(ModelError::Engine(
            "a dense layer needs at least one input and one output".into(),
        ));
    }
    if weight != want_weight || bias != want_bias {
        return Err(ModelError::Engine(format!(
            "dense layer: weight has {weight} values (expected {want_weight}), bias {bias} (expected {want_bias})"
        )));
    }
    Ok(())
}

pub(crate) fn kernel(e: hone_kernels::KernelError) -> ModelError {
    ModelError::Engine(e.to_string())
}
