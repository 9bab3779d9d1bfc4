//! Packed layouts for the int8 micro-kernel. Values are widened to i16 and
//! interleaved by pairs along K, so one 32-bit load is two consecutive K
//! values of a row of A, and one 256-bit load is eight columns of B for the
//! same two K values — exactly the operands of `vpmaddwd`.

use super::{MR, NR};
use crate::KernelError;
use crate::error::check_len;

/// Weights `B` (K × N, int8) packed into 16-column panels, with a
/// per-output-column scale (1.0 where the caller gives none).
#[derive(Clone, Debug, PartialEq)]
pub struct PackedS8 {
    k: usize,
    n: usize,
    /// `panel × pair × [column 0..8 × (k even, k odd), column 8..16 × (…)]`.
    data: Vec<i16>,
    scales: Vec<f32>,
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
        let pairs = k.div_ceil(2);
        let panels = n.div_ceil(NR);
        let mut data = vec![0i16; panels * pairs * 2 * NR];
        for panel in 0..panels {
            for pair in 0..pairs {
                let base = (panel * pairs + pair) * 2 * NR;
                for c in 0..NR {
                    let col = panel * NR + c;
                    if col >= n {
                        continue;
                    }
                    // Columns 0..8 fill the first 16 lanes, 8..16 the next.
                    let lane = (c / 8) * 16 + (c % 8) * 2;
                    for t in 0..2 {
                        let kk = 2 * pair + t;
                        if kk < k {
                            data[base + lane + t] = get(kk, col) as i16;
                        }
                    }
                }
            }
        }
        PackedS8 { k, n, data, scales }
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
    /// Back to int8, row-major N × K (what was packed).
    pub fn to_nk(&self) -> Vec<i8> {
        let mut w = vec![0i8; self.n * self.k];
        for col in 0..self.n {
            let (panel, c) = (col / NR, col % NR);
            let lane = (c / 8) * 16 + (c % 8) * 2;
            for kk in 0..self.k {
                let idx = (panel * self.pairs() + kk / 2) * 2 * NR + lane + kk % 2;
                w[col * self.k + kk] = self.data[idx] as i8;
            }
        }
        w
    }
    pub(crate) fn pairs(&self) -> usize {
        self.k.div_ceil(2)
    }
    pub(crate) fn panels(&self) -> usize {
        self.n.div_ceil(NR)
    }
    pub(crate) fn panel(&self, panel: usize) -> &[i16] {
        let len = self.pairs() * 2 * NR;
        &self.data[panel * len..(panel + 1) * len]
    }
}

/// A product over an empty inner dimension has nothing to pack (and the
/// kernels step through K in pairs), so it is refused up front.
fn nonzero_k(k: usize) -> Result<(), KernelError> {
    if k == 0 {
        Err(KernelError::InnerDim { a: 0, b: 0 })
    } else {
        Ok(())
    }
}

/// Packs `rows × k` of A into whole micro-tiles: `tile × pair × row × 2`
/// i16, zero beyond the last row and column.
pub(crate) fn pack_a(a: &[i8], rows: usize, k: usize) -> Vec<i16> {
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
