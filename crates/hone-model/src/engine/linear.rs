//! A dense layer of the fast CPU engine in one of three storage formats:
//! f32, int8 (symmetric per output channel; activations quantized per token
//! at run time, or with a calibrated static scale) or 4-bit weight-only
//! (per-group scales). All three compute `y = x · Wᵀ + b` for row-major x.
//!
//! An int8 layer may carry per-input-channel smoothing factors
//! (SmoothQuant): its stored weight is `W · diag(s)` and activations are
//! multiplied by `1/s` inside the quantizing pass, so `x · Wᵀ` is unchanged
//! while a few outlier channels (MiniLM's LayerNorm outputs have one about
//! 50× the median) no longer set every token's quantization step.

use hone_kernels::f32ops::{self, Threads, View};
use hone_kernels::int4::PackedI4;
use hone_kernels::int8::{self, PackedS8};
use hone_kernels::quantize;
use rayon::prelude::*;

use crate::{ModelError, Result};

/// How a dense layer's weights are stored and multiplied.
#[derive(Clone, Debug, PartialEq)]
pub enum Weights {
    /// `in × out` row-major f32.
    F32(Vec<f32>),
    /// int8 per output channel; `activation_scale` is a calibrated static
    /// per-tensor scale, or `None` for a per-token scale computed at run time.
    /// `input_scale` (smoothing, dynamic scales only): the factor each input
    /// channel is multiplied by before quantizing; `packed` holds the
    /// weights divided by the same factors.
    Int8 {
        packed: PackedS8,
        activation_scale: Option<f32>,
        input_scale: Option<Vec<f32>>,
    },
    /// 4-bit weight-only in groups along the input dimension.
    Int4(PackedI4),
}

/// The grid int8 weights are quantized to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum WeightBits {
    /// ±127: the exact `vpmaddwd` kernel (i16 pairs).
    #[default]
    #[serde(rename = "8")]
    Eight,
    /// ±64: the exact `vpmaddubsw` kernel (byte quads), 1.3–1.5× the
    /// instruction ceiling of 8-bit weights on AVX2 without VNNI (1.03–1.33×
    /// measured on MiniLM's products), for twice the weight step.
    #[serde(rename = "7")]
    Seven,
}

impl WeightBits {
    /// The largest quantized magnitude.
    pub fn levels(self) -> i8 {
        match self {
            WeightBits::Eight => 127,
            WeightBits::Seven => int8::QUAD_WEIGHT_MAX,
        }
    }
}

impl std::str::FromStr for WeightBits {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "8" => Ok(WeightBits::Eight),
            "7" => Ok(WeightBits::Seven),
            o => Err(format!("weight bits must be 7 or 8, not {o:?}")),
        }
    }
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
        Self::int8_with(weight_out_in, bias, d_out, d_in, WeightBits::Eight)
    }

    /// As [`Self::int8`] on the grid of `bits`: 7-bit weights (±64) run on
    /// the `vpmaddubsw` kernel, 8-bit ones (±127) on `vpmaddwd`.
    pub fn int8_with(
        weight_out_in: &[f32],
        bias: Vec<f32>,
        d_out: usize,
        d_in: usize,
        bits: WeightBits,
    ) -> Result<Self> {
        check(weight_out_in.len(), d_out * d_in, bias.len(), d_out)?;
        let (q, scales) = quantize::quantize_rows_to_levels(weight_out_in, d_in, bits.levels())
            .map_err(kernel)?;
        let packed = PackedS8::from_nk(&q, d_out, d_in, scales).map_err(kernel)?;
        Ok(Linear {
            d_in,
            d_out,
            weights: Weights::Int8 {
                packed,
                activation_scale: None,
                input_scale: None,
            },
            bias,
        })
    }

    /// As [`Self::int8`], with the input channels smoothed by `factors`
    /// (one per input, positive and finite): the weights are quantized as
    /// `W · diag(factors)` and activations are divided by the factors at run
    /// time.
    pub fn int8_smoothed(
        weight_out_in: &[f32],
        bias: Vec<f32>,
        d_out: usize,
        d_in: usize,
        factors: &[f32],
        bits: WeightBits,
    ) -> Result<Self> {
        check(weight_out_in.len(), d_out * d_in, bias.len(), d_out)?;
        if factors.len() != d_in || factors.iter().any(|f| !(f.is_finite() && *f > 0.0)) {
            return Err(ModelError::Engine(format!(
                "smoothing needs {d_in} positive finite factors, got {} (or a bad value)",
                factors.len()
            )));
        }
        let scaled: Vec<f32> = weight_out_in
            .chunks_exact(d_in)
            .flat_map(|row| row.iter().zip(factors).map(|(w, f)| w * f))
            .collect();
        let mut linear = Self::int8_with(&scaled, bias, d_out, d_in, bits)?;
        if let Weights::Int8 { input_scale, .. } = &mut linear.weights {
            *input_scale = Some(factors.iter().map(|f| 1.0 / f).collect());
        }
        Ok(linear)
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
            Weights::Int8 {
                packed,
                input_scale,
                ..
            } => {
                let q = packed.to_nk();
                let ones = vec![1.0; self.d_in];
                let input = input_scale.as_deref().unwrap_or(&ones);
                q.chunks_exact(self.d_in)
                    .zip(packed.scales())
                    .flat_map(|(row, &s)| {
                        row.iter().zip(input).map(move |(&v, &i)| v as f32 * s * i)
                    })
                    .collect()
            }
            Weights::Int4(p) => p.dequantize(),
        }
    }

    /// `out = x · Wᵀ + bias` for `rows` rows of `x`.
    pub fn forward(&self, x: &[f32], rows: usize, out: &mut [f32]) -> Result<()> {
        self.check_rows(x, rows)?;
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
            Weights::Int4(packed) => {
                hone_kernels::int4::gemm(x, rows, packed, Some(&self.bias), out).map_err(kernel)
            }
            Weights::Int8 {
                packed,
                activation_scale,
                input_scale,
            } => {
                let scheme = ActivationScales::new(*activation_scale, input_scale.as_deref())?;
                self.int8_forward(packed, scheme, x.par_chunks(self.chunk()), rows, out)
            }
        }
    }

    /// [`Self::forward`] of `before(x)`, where `before` is an elementwise
    /// function applied to `x` in place, rows at a time (FFN-out's GELU). On
    /// int8 it runs inside the quantizing pass, so the activation is read
    /// once and by one task per block of rows instead of twice.
    pub fn forward_after(
        &self,
        x: &mut [f32],
        rows: usize,
        before: impl Fn(&mut [f32]) + Sync + Send,
        out: &mut [f32],
    ) -> Result<()> {
        self.check_rows(x, rows)?;
        let chunk = self.chunk();
        match &self.weights {
            Weights::Int8 {
                packed,
                activation_scale,
                input_scale,
            } => {
                let scheme = ActivationScales::new(*activation_scale, input_scale.as_deref())?;
                let inputs = x.par_chunks_mut(chunk).map(|x| {
                    before(x);
                    &*x
                });
                self.int8_forward(packed, scheme, inputs, rows, out)
            }
            Weights::F32(_) | Weights::Int4(_) => {
                x.par_chunks_mut(chunk).for_each(before);
                self.forward(x, rows, out)
            }
        }
    }

    /// `x` must hold exactly `rows` rows (the int8 path sizes its quantized
    /// copy by `rows`, so a short input would otherwise read as zeros).
    fn check_rows(&self, x: &[f32], rows: usize) -> Result<()> {
        if x.len() != rows * self.d_in {
            return Err(ModelError::Engine(format!(
                "a dense layer of {} inputs got {} values for {rows} rows",
                self.d_in,
                x.len()
            )));
        }
        Ok(())
    }

    /// Values in one block of [`super::ROWS_PER_TASK`] rows of the input.
    fn chunk(&self) -> usize {
        super::ROWS_PER_TASK * self.d_in
    }

    /// The int8 product of the input, given as blocks of
    /// [`super::ROWS_PER_TASK`] rows: each block quantized to int8 with one
    /// scale per row (per token, or the static scale), the blocks in
    /// parallel — a pass over the whole activation (4096 × 1536 values for
    /// FFN-out at batch 32) — then multiplied, dequantized, bias added.
    fn int8_forward<'x>(
        &self,
        packed: &PackedS8,
        scheme: ActivationScales<'_>,
        blocks: impl IndexedParallelIterator<Item = &'x [f32]>,
        rows: usize,
        out: &mut [f32],
    ) -> Result<()> {
        let mut q = vec![0i8; rows * self.d_in];
        let mut scales = vec![0.0; rows];
        let d_in = self.d_in;
        blocks
            .zip(q.par_chunks_mut(self.chunk()))
            .zip(scales.par_chunks_mut(super::ROWS_PER_TASK))
            .try_for_each(|((x, q), s)| match scheme {
                ActivationScales::PerToken => quantize::quantize_rows(x, d_in, q, s),
                ActivationScales::PerTokenSmoothed(input) => {
                    quantize::quantize_rows_scaled(x, d_in, input, q, s)
                }
                ActivationScales::Static(a) => {
                    s.fill(a);
                    quantize::quantize_with_scale(x, a, q)
                }
            })
            .map_err(kernel)?;
        int8::gemm_dequant(&q, &scales, rows, packed, Some(&self.bias), out).map_err(kernel)
    }
}

/// How an int8 layer scales its activations before quantizing them.
#[derive(Clone, Copy)]
enum ActivationScales<'a> {
    /// One scale per row (token), computed at run time.
    PerToken,
    /// Per token, after multiplying each input channel by its smoothing factor.
    PerTokenSmoothed(&'a [f32]),
    /// One calibrated scale for every row.
    Static(f32),
}

impl<'a> ActivationScales<'a> {
    fn new(activation_scale: Option<f32>, input_scale: Option<&'a [f32]>) -> Result<Self> {
        match (activation_scale, input_scale) {
            (None, None) => Ok(Self::PerToken),
            (None, Some(input)) => Ok(Self::PerTokenSmoothed(input)),
            (Some(a), None) => Ok(Self::Static(a)),
            (Some(_), Some(_)) => Err(ModelError::Engine(
                "smoothing runs with per-token activation scales only".into(),
            )),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// 8 tokens × 16 inputs with input channel 3 about 50× the others, as
    /// MiniLM's LayerNorm outputs have; 4 outputs.
    fn outlier_layer() -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let (rows, d_in, d_out) = (8, 16, 4);
        let x: Vec<f32> = (0..rows * d_in)
            .map(|i| {
                let v = ((i * 7919) % 23) as f32 / 11.0 - 1.0;
                if i % d_in == 3 { 50.0 * v.signum() } else { v }
            })
            .collect();
        let w: Vec<f32> = (0..d_out * d_in)
            .map(|i| ((i * 104729) % 17) as f32 / 8.0 - 1.0)
            .collect();
        (x, w, vec![0.1, -0.2, 0.3, 0.0])
    }

    fn error(linear: &Linear, x: &[f32], want: &[f32]) -> f32 {
        let mut out = vec![0.0; want.len()];
        linear.forward(x, want.len() / 4, &mut out).unwrap();
        out.iter().zip(want).map(|(a, b)| (a - b).abs()).sum()
    }

    #[test]
    fn smoothing_an_outlier_channel_lowers_the_int8_error() {
        let (x, w, b) = outlier_layer();
        let reference = Linear::f32(&w, b.clone(), 4, 16).unwrap();
        let mut want = vec![0.0; 8 * 4];
        reference.forward(&x, 8, &mut want).unwrap();
        let plain = Linear::int8(&w, b.clone(), 4, 16).unwrap();
        let mut factors = vec![1.0; 16];
        factors[3] = 7.0;
        let smoothed = Linear::int8_smoothed(&w, b, 4, 16, &factors, WeightBits::Eight).unwrap();
        let (e_plain, e_smoothed) = (error(&plain, &x, &want), error(&smoothed, &x, &want));
        assert!(e_smoothed < 0.5 * e_plain, "{e_smoothed} vs {e_plain}");
        // The effective weight is still W, up to half a step of its row
        // (whose range the factor 7 on column 3 widened to at most 7 / 127).
        for (a, b) in smoothed.weight_out_in().iter().zip(&w) {
            assert!((a - b).abs() <= 0.5 * 7.0 / 127.0 + 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn a_fused_elementwise_prologue_equals_applying_it_first() {
        // 40 rows: more than two blocks of ROWS_PER_TASK, the last one short.
        let (rows, d_in, d_out) = (40, 32, 4);
        let x: Vec<f32> = (0..rows * d_in)
            .map(|i| ((i * 7919) % 31) as f32 / 7.0 - 2.0)
            .collect();
        let w: Vec<f32> = (0..d_out * d_in)
            .map(|i| ((i * 104729) % 17) as f32 / 8.0 - 1.0)
            .collect();
        let b = vec![0.1, -0.2, 0.3, 0.0];
        let mut gelu_x = x.clone();
        f32ops::gelu(&mut gelu_x);
        for layer in [
            Linear::f32(&w, b.clone(), d_out, d_in).unwrap(),
            Linear::int8(&w, b.clone(), d_out, d_in).unwrap(),
            Linear::int4(&w, b.clone(), d_out, d_in, 32).unwrap(),
        ] {
            let mut want = vec![0.0; rows * d_out];
            layer.forward(&gelu_x, rows, &mut want).unwrap();
            let (mut fused_x, mut got) = (x.clone(), vec![0.0; rows * d_out]);
            layer
                .forward_after(&mut fused_x, rows, f32ops::gelu, &mut got)
                .unwrap();
            assert_eq!(got, want, "{:?}", layer.format());
            assert_eq!(fused_x, gelu_x, "the input is left holding before(x)");
        }
    }

    #[test]
    fn bad_smoothing_factors_are_refused() {
        let (_, w, b) = outlier_layer();
        for factors in [vec![1.0; 15], vec![0.0; 16], vec![f32::NAN; 16]] {
            assert!(
                Linear::int8_smoothed(&w, b.clone(), 4, 16, &factors, WeightBits::Eight).is_err()
            );
        }
    }

    #[test]
    fn an_input_of_the_wrong_length_is_refused_by_every_format() {
        let (d_in, d_out) = (32, 4);
        let x = vec![0.5; 8 * d_in];
        let w: Vec<f32> = (0..d_out * d_in).map(|i| (i % 7) as f32 - 3.0).collect();
        let b = vec![0.0; d_out];
        for layer in [
            Linear::f32(&w, b.clone(), d_out, d_in).unwrap(),
            Linear::int8(&w, b.clone(), d_out, d_in).unwrap(),
            Linear::int4(&w, b.clone(), d_out, d_in, 32).unwrap(),
        ] {
            // 8 rows of input announced as 9.
            let mut out = vec![0.0; 9 * d_out];
            let err = layer.forward(&x, 9, &mut out).unwrap_err().to_string();
            assert!(err.contains("32 inputs got 256 values for 9 rows"), "{err}");
            let mut x = x.clone();
            assert!(layer.forward_after(&mut x, 9, |_| {}, &mut out).is_err());
        }
    }

    #[test]
    fn a_static_activation_scale_with_smoothing_is_refused() {
        let (x, w, b) = outlier_layer();
        let mut layer = Linear::int8_smoothed(&w, b, 4, 16, &[2.0; 16], WeightBits::Eight).unwrap();
        if let Weights::Int8 {
            activation_scale, ..
        } = &mut layer.weights
        {
            *activation_scale = Some(0.1);
        }
        let mut out = vec![0.0; 8 * 4];
        let err = layer.forward(&x, 8, &mut out).unwrap_err().to_string();
        assert!(err.contains("per-token activation scales only"), "{err}");
    }

    #[test]
    fn seven_bit_weights_run_on_the_quad_kernel_within_their_step() {
        let (x, w, b) = outlier_layer();
        let mut want = vec![0.0; 8 * 4];
        Linear::f32(&w, b.clone(), 4, 16)
            .unwrap()
            .forward(&x, 8, &mut want)
            .unwrap();
        let eight = Linear::int8_with(&w, b.clone(), 4, 16, WeightBits::Eight).unwrap();
        let seven = Linear::int8_with(&w, b, 4, 16, WeightBits::Seven).unwrap();
        let Weights::Int8 { packed, .. } = &seven.weights else {
            panic!("int8 weights")
        };
        assert!(packed.is_quads());
        assert!(
            seven
                .weight_out_in()
                .iter()
                .zip(&w)
                .all(|(a, b)| (a - b).abs() <= 0.5 / 64.0 + 1e-6)
        );
        // Coarser weights, a larger error — but of the same order.
        let (e8, e7) = (error(&eight, &x, &want), error(&seven, &x, &want));
        assert!(e7 < 4.0 * e8.max(1e-3), "{e7} vs {e8}");
    }
}
