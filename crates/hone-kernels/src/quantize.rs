//! Symmetric int8 quantization: per row (activations, dynamically at run
//! time, one scale per token) and per output channel (weights, once). The
//! scale maps the row's largest magnitude to 127, so -128 is never used and
//! the grid is symmetric around zero; values round to nearest (ties to
//! even, as PyTorch and ONNX Runtime do), and `|x - q·s| ≤ s/2` for every finite x
//! (up to a few ulps of x: the loops multiply by `1/s` rather than divide).

use crate::KernelError;
use crate::error::check_len;

/// The scale that maps `max |x|` to 127 (1.0 for an all-zero row, so that it
/// quantizes to zeros instead of dividing by zero).
#[inline]
pub fn symmetric_scale(row: &[f32]) -> f32 {
    // Eight lanes so the search vectorizes (see `f32ops::sum8`).
    let mut lanes = [0.0f32; 8];
    let chunks = row.chunks_exact(8);
    let mut max = chunks
        .remainder()
        .iter()
        .fold(0.0f32, |m, &v| m.max(v.abs()));
    for c in chunks {
        for i in 0..8 {
            lanes[i] = lanes[i].max(c[i].abs());
        }
    }
    max = lanes.iter().fold(max, |m, &v| m.max(v));
    if max > 0.0 && max.is_finite() {
        max / 127.0
    } else {
        1.0
    }
}

/// Quantizes each of `rows` rows of `x` (row-major, `cols` wide) with its own
/// scale, writing `q` (same shape) and `scales` (one per row).
pub fn quantize_rows(
    x: &[f32],
    cols: usize,
    q: &mut [i8],
    scales: &mut [f32],
) -> Result<(), KernelError> {
    let rows = if cols == 0 { 0 } else { x.len() / cols };
    check_len("input", rows * cols, x.len())?;
    check_len("quantized output", x.len(), q.len())?;
    check_len("scales", rows, scales.len())?;
    if cols > 0 {
        quantize_rows_unchecked(x, cols, q, scales);
    }
    Ok(())
}

crate::f32ops::multiversion! {
    fn quantize_rows_unchecked(x: &[f32], cols: usize, q: &mut [i8], scales: &mut [f32]) {
        for ((row, q_row), scale) in x.chunks_exact(cols).zip(q.chunks_exact_mut(cols)).zip(scales.iter_mut()) {
            *scale = symmetric_scale(row);
            let inv = 1.0 / *scale;
            for (dst, &v) in q_row.iter_mut().zip(row) {
                *dst = to_i8(v * inv);
            }
        }
    }
}

/// As [`quantize_rows`], of each row multiplied element-wise by
/// `channel_scale` first (one factor per column): the per-token scale is
/// chosen for the scaled row, so a column divided down by its factor no
/// longer dictates the grid of the others. This is how SmoothQuant's
/// per-channel smoothing runs at no extra pass over memory.
pub fn quantize_rows_scaled(
    x: &[f32],
    cols: usize,
    channel_scale: &[f32],
    q: &mut [i8],
    scales: &mut [f32],
) -> Result<(), KernelError> {
    let rows = if cols == 0 { 0 } else { x.len() / cols };
    check_len("input", rows * cols, x.len())?;
    check_len("channel scales", cols, channel_scale.len())?;
    check_len("quantized output", x.len(), q.len())?;
    check_len("scales", rows, scales.len())?;
    if cols > 0 {
        quantize_rows_scaled_unchecked(x, cols, channel_scale, q, scales);
    }
    Ok(())
}

crate::f32ops::multiversion! {
    fn quantize_rows_scaled_unchecked(x: &[f32], cols: usize, channel_scale: &[f32], q: &mut [i8], scales: &mut [f32]) {
        for ((row, q_row), scale) in x.chunks_exact(cols).zip(q.chunks_exact_mut(cols)).zip(scales.iter_mut()) {
            // Eight lanes so the search vectorizes, as in `symmetric_scale`.
            let mut lanes = [0.0f32; 8];
            let mut chunks = row.chunks_exact(8).zip(channel_scale.chunks_exact(8));
            for (c, s) in &mut chunks {
                for i in 0..8 {
                    lanes[i] = lanes[i].max((c[i] * s[i]).abs());
                }
            }
            let tail = cols - cols % 8;
            let max = row[tail..]
                .iter()
                .zip(&channel_scale[tail..])
                .fold(lanes.iter().fold(0.0f32, |m, &v| m.max(v)), |m, (&v, &s)| m.max((v * s).abs()));
            *scale = if max > 0.0 && max.is_finite() { max / 127.0 } else { 1.0 };
            let inv = 1.0 / *scale;
            for ((dst, &v), &s) in q_row.iter_mut().zip(row).zip(channel_scale) {
                *dst = to_i8(v * s * inv);
            }
        }
    }
}

/// Rounds (ties to even) and clamps to `[-127, 127]`, branch-free so the
/// quantizing loops vectorize.
#[inline(always)]
fn to_i8(x: f32) -> i8 {
    crate::f32ops::round_to_i32(x.clamp(-127.0, 127.0)) as i8
}

/// Allocating form of [`quantize_rows`]: `(q, scales)`.
pub fn quantize_rows_vec(x: &[f32], cols: usize) -> Result<(Vec<i8>, Vec<f32>), KernelError> {
    let rows = if cols == 0 { 0 } else { x.len() / cols };
    let mut q = vec![0i8; x.len()];
    let mut scales = vec![0f32; rows];
    quantize_rows(x, cols, &mut q, &mut scales)?;
    Ok((q, scales))
}

/// Per-row symmetric quantization onto `[-levels, levels]` (1 ≤ levels ≤
/// 127): `(q, scales)` with each row's largest magnitude at `levels`. For
/// weights, quantized once: 127 is the 8-bit grid, and
/// [`crate::int8::QUAD_WEIGHT_MAX`] (64) the 7-bit grid that the
/// `vpmaddubsw` kernel multiplies exactly — twice the step (one bit less)
/// for a faster exact product on AVX2 without VNNI.
pub fn quantize_rows_to_levels(
    x: &[f32],
    cols: usize,
    levels: i8,
) -> Result<(Vec<i8>, Vec<f32>), KernelError> {
    if levels < 1 {
        return Err(KernelError::Levels(levels));
    }
    let rows = if cols == 0 { 0 } else { x.len() / cols };
    check_len("input", rows * cols, x.len())?;
    let limit = levels as f32;
    let mut q = vec![0i8; x.len()];
    let mut scales = vec![1f32; rows];
    for ((row, q_row), scale) in x
        .chunks_exact(cols.max(1))
        .zip(q.chunks_exact_mut(cols.max(1)))
        .zip(&mut scales)
    {
        let max = row.iter().fold(0.0f32, |m, &v| m.max(v.abs()));
        *scale = if max > 0.0 && max.is_finite() {
            max / limit
        } else {
            1.0
        };
        let inv = 1.0 / *scale;
        for (dst, &v) in q_row.iter_mut().zip(row) {
            *dst = crate::f32ops::round_to_i32((v * inv).clamp(-limit, limit)) as i8;
        }
    }
    Ok((q, scales))
}

/// `q · scale` per row, the inverse of [`quantize_rows`] up to rounding.
pub fn dequantize_rows(q: &[i8], cols: usize, scales: &[f32]) -> Result<Vec<f32>, KernelError> {
    check_len("quantized input", scales.len() * cols, q.len())?;
    Ok(q.chunks_exact(cols.max(1))
        .zip(scales)
        .flat_map(|(row, &s)| row.iter().map(move |&v| v as f32 * s))
        .collect())
}

/// Quantizes with a fixed scale per row (static, calibrated activations):
/// values beyond `127·scale` clamp.
pub fn quantize_with_scale(x: &[f32], scale: f32, q: &mut [i8]) -> Result<(), KernelError> {
    check_len("quantized output", x.len(), q.len())?;
    let inv = 1.0 / scale;
    for (dst, &v) in q.iter_mut().zip(x) {
        *dst = to_i8(v * inv);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_row_quantizes_to_zero_with_unit_scale() {
        let (q, s) = quantize_rows_vec(&[0.0; 4], 4).unwrap();
        assert_eq!(q, vec![0; 4]);
        assert_eq!(s, vec![1.0]);
    }

    #[test]
    fn largest_magnitude_maps_to_127() {
        let (q, s) = quantize_rows_vec(&[0.5, -2.0, 1.0, 0.0], 4).unwrap();
        assert_eq!(q[1], -127);
        assert!((s[0] - 2.0 / 127.0).abs() < 1e-9);
    }

    #[test]
    fn unit_channel_scales_match_plain_rows() {
        let x = [0.3, -1.7, 2.2, 0.0, 5.5, -0.01, 0.8, 1.1, -3.0, 0.25];
        let (q, s) = quantize_rows_vec(&x, 5).unwrap();
        let (mut q2, mut s2) = (vec![0; 10], vec![0.0; 2]);
        quantize_rows_scaled(&x, 5, &[1.0; 5], &mut q2, &mut s2).unwrap();
        assert_eq!((q, s), (q2, s2));
    }

    #[test]
    fn channel_scales_take_an_outlier_off_the_grid() {
        // Column 0 is a 100× outlier; scaled down by 100 it no longer sets the step.
        let x = [100.0, 0.5, -0.25, 0.75];
        let (mut q, mut s) = (vec![0; 4], vec![0.0; 1]);
        quantize_rows_scaled(&x, 4, &[0.01, 1.0, 1.0, 1.0], &mut q, &mut s).unwrap();
        assert!((s[0] - 1.0 / 127.0).abs() < 1e-7);
        assert_eq!(q, vec![127, 64, -32, 95]);
    }

    #[test]
    fn channel_scales_must_cover_every_column() {
        let (mut q, mut s) = (vec![0; 4], vec![0.0; 1]);
        assert!(quantize_rows_scaled(&[1.0; 4], 4, &[1.0; 3], &mut q, &mut s).is_err());
    }

    #[test]
    fn ragged_input_is_an_error() {
        let mut q = vec![0; 5];
        let mut s = vec![0.0; 2];
        assert!(quantize_rows(&[1.0; 5], 2, &mut q, &mut s).is_err());
    }
}
