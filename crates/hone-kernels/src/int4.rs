//! 4-bit weight-only matrix multiply: `C[M×N] = A[M×K] · Wᵀ`, A f32, W
//! (`N × K`, one row per output channel) stored as symmetric int4 in
//! `[-7, 7]` with one f32 scale per group of 32, 64 or 128 consecutive K
//! values, two values per byte. The weights stay 4-bit in memory; each task
//! dequantizes the 64 output channels it owns into an f32 scratch panel
//! (L2-sized) right before multiplying, so the full f32 matrix never exists.

use rayon::prelude::*;

use crate::KernelError;
use crate::error::check_len;
use crate::f32ops::{Threads, View, matmul};

/// Output channels dequantized and multiplied per task.
const COLS_PER_TASK: usize = 64;

/// A weight matrix in 4-bit groups.
#[derive(Clone, Debug, PartialEq)]
pub struct PackedI4 {
    n: usize,
    k: usize,
    group: usize,
    /// `n × k/2` bytes: K index `2j` in the low nibble, `2j+1` in the high.
    data: Vec<u8>,
    /// `n × k/group`.
    scales: Vec<f32>,
}

impl PackedI4 {
    /// Quantizes `w` (row-major `n × k`) per group of `group` K values.
    pub fn quantize(w: &[f32], n: usize, k: usize, group: usize) -> Result<Self, KernelError> {
        if !matches!(group, 32 | 64 | 128) || k % group != 0 {
            return Err(KernelError::GroupSize { group, k });
        }
        check_len("weights (N × K)", n * k, w.len())?;
        let mut data = vec![0u8; n * k / 2];
        let mut scales = Vec::with_capacity(n * k / group);
        for (row, bytes) in w.chunks_exact(k).zip(data.chunks_exact_mut(k / 2)) {
            for (g, values) in row.chunks_exact(group).enumerate() {
                let max = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                let scale = if max > 0.0 && max.is_finite() {
                    max / 7.0
                } else {
                    1.0
                };
                scales.push(scale);
                for (j, pair) in values.chunks_exact(2).enumerate() {
                    let q = |v: f32| ((v / scale).round().clamp(-7.0, 7.0) as i8 as u8) & 0x0f;
                    bytes[g * group / 2 + j] = q(pair[0]) | (q(pair[1]) << 4);
                }
            }
        }
        Ok(PackedI4 {
            n,
            k,
            group,
            data,
            scales,
        })
    }

    /// From stored parts (a saved model); lengths are checked.
    pub fn from_parts(
        n: usize,
        k: usize,
        group: usize,
        data: Vec<u8>,
        scales: Vec<f32>,
    ) -> Result<Self, KernelError> {
        if !matches!(group, 32 | 64 | 128) || k % group != 0 {
            return Err(KernelError::GroupSize { group, k });
        }
        check_len("int4 weights (N × K/2 bytes)", n * k / 2, data.len())?;
        check_len("int4 scales", n * k / group, scales.len())?;
        Ok(PackedI4 {
            n,
            k,
            group,
            data,
            scales,
        })
    }

    pub fn n(&self) -> usize {
        self.n
    }
    pub fn k(&self) -> usize {
        self.k
    }
    pub fn group(&self) -> usize {
        self.group
    }
    pub fn data(&self) -> &[u8] {
        &self.data
    }
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// Output channels `cols` dequantized into `out` (row-major, `k` wide).
    fn dequantize_rows(&self, cols: std::ops::Range<usize>, out: &mut [f32]) {
        let groups = self.k / self.group;
        for (i, col) in cols.enumerate() {
            let bytes = &self.data[col * self.k / 2..(col + 1) * self.k / 2];
            let dst = &mut out[i * self.k..(i + 1) * self.k];
            for (j, &byte) in bytes.iter().enumerate() {
                let scale = self.scales[col * groups + 2 * j / self.group];
                // Sign-extend each nibble: shift it to the top of an i8, then back.
                dst[2 * j] = (((byte << 4) as i8) >> 4) as f32 * scale;
                dst[2 * j + 1] = ((byte as i8) >> 4) as f32 * scale;
            }
        }
    }

    /// One output channel (row) in f32, into `out` (`k` long).
    pub fn dequantize_row(&self, row: usize, out: &mut [f32]) {
        self.dequantize_rows(row..row + 1, out);
    }

    /// The whole matrix in f32 (the reference and tests use this).
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.n * self.k];
        self.dequantize_rows(0..self.n, &mut out);
        out
    }
}

/// `out[m][n] = Σ_k a[m][k] · W[n][k] + bias[n]`, `a` row-major `m × k`.
pub fn gemm(
    a: &[f32],
    m: usize,
    w: &PackedI4,
    bias: Option<&[f32]>,
    out: &mut [f32],
) -> Result<(), KernelError> {
    let (n, k) = (w.n, w.k);
    check_len("activations", m * k, a.len())?;
    check_len("output", m * n, out.len())?;
    if let Some(bias) = bias {
        check_len("bias", n, bias.len())?;
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    // Each task owns a range of output channels: it dequantizes them into an
    // f32 panel and multiplies into its own block; the blocks are then copied
    // into place (m × n copies, against m × n × k multiply-adds).
    let blocks: Vec<(std::ops::Range<usize>, Vec<f32>)> = (0..n.div_ceil(COLS_PER_TASK))
        .into_par_iter()
        .map(|task| {
            let cols = task * COLS_PER_TASK..((task + 1) * COLS_PER_TASK).min(n);
            let width = cols.len();
            let mut panel = vec![0.0f32; width * k];
            w.dequantize_rows(cols.clone(), &mut panel);
            let mut block = vec![0.0f32; m * width];
            if let Some(bias) = bias {
                for row in block.chunks_exact_mut(width) {
                    row.copy_from_slice(&bias[cols.clone()]);
                }
            }
            matmul(
                View::row_major(a, m, k),
                View::row_major(&panel, width, k).t(),
                &mut block,
                width,
                bias.is_some(),
                Threads::One,
            )?;
            Ok((cols, block))
        })
        .collect::<Result<_, KernelError>>()?;
    for (cols, block) in blocks {
        let width = cols.len();
        for (r, row) in block.chunks_exact(width).enumerate() {
            out[r * n + cols.start..r * n + cols.end].copy_from_slice(row);
        }
    }
    Ok(())
}

/// The reference: dequantize everything, then the textbook loop in f64.
pub fn reference(a: &[f32], m: usize, w: &PackedI4, bias: Option<&[f32]>) -> Vec<f32> {
    let (n, k) = (w.n, w.k);
    let deq = w.dequantize();
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let s: f64 = (0..k)
                .map(|kk| a[i * k + kk] as f64 * deq[j * k + kk] as f64)
                .sum();
            out[i * n + j] = (s + bias.map_or(0.0, |b| b[j] as f64)) as f32;
        }
    }
    out
}
