//! Packed layouts for the int8 micro-kernels, one per multiply instruction:
//!
//! - **pairs** (`vpmaddwd`, any int8 weights): values widened to i16 and
//!   interleaved by pairs along K, so one 32-bit load is two consecutive K
//!   values of a row of A and one 256-bit load is eight columns of B for
//!   the same two K values.
//! - **quads** (`vpmaddubsw`, weights within ±[`QUAD_WEIGHT_MAX`]): bytes
//!   interleaved by fours along K, A made unsigned by adding 128, so one
//!   32-bit load is four K values of a row of A and one 256-bit load is
//!   eight columns of B for the same four. `vpmaddubsw` sums two u8 × s8
//!   products into an i16 with saturation; with |w| ≤ 64 the largest sum is
//!   2 · 255 · 64 = 32,640 < 32,767, so it never saturates and the product
//!   stays exact. Each column's `−128 · Σ_k w` undoes the shift.
//!
//! [`PackedS8`] picks quads whenever the weights fit, which is what 7-bit
//! weight quantization (`quantize::quantize_rows_to`) produces.

use super::{MR, NR};
use crate::KernelError;
use crate::error::check_len;

/// The largest weight magnitude the quad layout multiplies exactly.
pub const QUAD_WEIGHT_MAX: i8 = 64;

/// Weights `B` (K × N, int8) packed into 16-column panels, with a
/// per-output-column scale (1.0 where the caller gives none).
#[derive(Clone, Debug, PartialEq)]
pub struct PackedS8 {
    k: usize,
    n: usize,
    layout: Layout,
    scales: Vec<f32>,
}

/// How the panels are stored (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Layout {
    /// `panel × pair × [column 0..8 × (k, k+1), column 8..16 × (…)]`, i16.
    Pairs(Vec<i16>),
    /// `panel × quad × [column 0..16 × (k, k+1, k+2, k+3)]`, i8, and per
    /// column (panels padded to 16) the `−128 · Σ_k w` correction.
    Quads { data: Vec<i8>, offsets: Vec<i32> },
}

impl PackedS8 {
    /// From `b`, row-major K × N.
    pub fn from_kn(b: &[i8], k: usize, n: usize) -> Result<Self, KernelError> {
        nonzero_k(k)?;
        check_len("weights (K × N)", k * n, b.len())?;
        Ok(Self::pack(k, n, |kk, nn| b[kk * n + nn], vec![1.0; n]))
    }

    /// From `w`, row-major N × K — one row per output channel, the layout of
    /// PyTorch's `Linear.weight` — with one scale per output channel.
    pub fn from_nk(w: &[i8], n: usize, k: usize, scales: Vec<f32>) -> Result<Self, KernelError> {
        nonzero_k(k)?;
        check_len("weights (N × K)", n * k, w.len())?;
        check_len("weight scales", n, scales.len())?;
        Ok(Self::pack(k, n, |kk, nn| w[nn * k + kk], scales))
    }

    fn pack(k: usize, n: usize, get: impl Fn(usize, usize) -> i8, scales: Vec<f32>) -> Self {
        let fits_quads =
            (0..k).all(|kk| (0..n).all(|nn| get(kk, nn).unsigned_abs() <= QUAD_WEIGHT_MAX as u8));
        let layout = if fits_quads {
            pack_quads(k, n, &get)
        } else {
            pack_pairs(k, n, &get)
        };
        PackedS8 {
            k,
            n,
            layout,
            scales,
        }
    }

    pub fn k(&self) -> usize {
        self.k
    }
    pub fn n(&self) -> usize {
        self.n
    }
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }
    /// Whether the weights fit the exact `vpmaddubsw` layout (|w| ≤ 64).
    pub fn is_quads(&self) -> bool {
        matches!(self.layout, Layout::Quads { .. })
    }
    /// Back to int8, row-major N × K (what was packed).
    pub fn to_nk(&self) -> Vec<i8> {
        let mut w = vec![0i8; self.n * self.k];
        for col in 0..self.n {
            let (panel, c) = (col / NR, col % NR);
            for kk in 0..self.k {
                w[col * self.k + kk] = match &self.layout {
                    Layout::Pairs(data) => {
                        let lane = (c / 8) * 16 + (c % 8) * 2;
                        data[(panel * self.pairs() + kk / 2) * 2 * NR + lane + kk % 2] as i8
                    }
                    Layout::Quads { data, .. } => {
                        data[(panel * self.quads() + kk / 4) * 4 * NR + c * 4 + kk % 4]
                    }
                };
            }
        }
        w
    }
    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }
    pub(crate) fn pairs(&self) -> usize {
        self.k.div_ceil(2)
    }
    pub(crate) fn quads(&self) -> usize {
        self.k.div_ceil(4)
    }
    pub(crate) fn panels(&self) -> usize {
        self.n.div_ceil(NR)
    }
}

fn pack_pairs(k: usize, n: usize, get: &impl Fn(usize, usize) -> i8) -> Layout {
    let pairs = k.div_ceil(2);
    let panels = n.div_ceil(NR);
    let mut data = vec![0i16; panels * pairs * 2 * NR];
    for panel in 0..panels {
        for pair in 0..pairs {
            let base = (panel * pairs + pair) * 2 * NR;
            for c in 0..NR.min(n - panel * NR) {
                // Columns 0..8 fill the first 16 lanes, 8..16 the next.
                let lane = (c / 8) * 16 + (c % 8) * 2;
                for t in 0..2 {
                    let kk = 2 * pair + t;
                    if kk < k {
                        data[base + lane + t] = get(kk, panel * NR + c) as i16;
                    }
                }
            }
        }
    }
    Layout::Pairs(data)
}

fn pack_quads(k: usize, n: usize, get: &impl Fn(usize, usize) -> i8) -> Layout {
    let quads = k.div_ceil(4);
    let panels = n.div_ceil(NR);
    let mut data = vec![0i8; panels * quads * 4 * NR];
    let mut offsets = vec![0i32; panels * NR];
    for panel in 0..panels {
        for c in 0..NR.min(n - panel * NR) {
            let col = panel * NR + c;
            let mut sum = 0i32;
            for kk in 0..k {
                let w = get(kk, col);
                data[(panel * quads + kk / 4) * 4 * NR + c * 4 + kk % 4] = w;
                sum += w as i32;
            }
            offsets[col] = -128 * sum;
        }
    }
    Layout::Quads { data, offsets }
}

/// A product over an empty inner dimension has nothing to pack (and the
/// kernels step through K in pairs or quads), so it is refused up front.
fn nonzero_k(k: usize) -> Result<(), KernelError> {
    if k == 0 {
        Err(KernelError::InnerDim { a: 0, b: 0 })
    } else {
        Ok(())
    }
}

/// Packs `rows × k` of A into whole micro-tiles of i16 pairs: `tile × pair
/// × row × 2`, zero beyond the last row and column.
pub(crate) fn pack_a_pairs(a: &[i8], rows: usize, k: usize) -> Vec<i16> {
    let pairs = k.div_ceil(2);
    let tiles = rows.div_ceil(MR);
    let mut out = vec![0i16; tiles * pairs * 2 * MR];
    for r in 0..rows {
        let (tile, rr) = (r / MR, r % MR);
        let row = &a[r * k..(r + 1) * k];
        let dst = &mut out[tile * pairs * 2 * MR + rr * 2..];
        for (p, pair) in row.chunks_exact(2).enumerate() {
            dst[p * 2 * MR] = pair[0] as i16;
            dst[p * 2 * MR + 1] = pair[1] as i16;
        }
        if k % 2 == 1 {
            dst[(pairs - 1) * 2 * MR] = row[k - 1] as i16;
        }
    }
    out
}

/// Packs `rows × k` of A, plus 128 (so unsigned), into whole micro-tiles of
/// byte quads: `tile × quad × row × 4`, zero beyond the last row and column
/// (a zero there meets a zero weight, so the padding adds nothing).
pub(crate) fn pack_a_quads(a: &[i8], rows: usize, k: usize) -> Vec<u8> {
    let quads = k.div_ceil(4);
    let tiles = rows.div_ceil(MR);
    let mut out = vec![0u8; tiles * quads * 4 * MR];
    for r in 0..rows {
        let (tile, rr) = (r / MR, r % MR);
        let row = &a[r * k..(r + 1) * k];
        let dst = &mut out[tile * quads * 4 * MR + rr * 4..];
        for (q, quad) in row.chunks(4).enumerate() {
            for (t, &v) in quad.iter().enumerate() {
                // Flipping the sign bit is adding 128 in two's complement.
                dst[q * 4 * MR + t] = (v as u8) ^ 0x80;
            }
        }
    }
    out
}
