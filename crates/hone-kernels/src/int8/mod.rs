//! int8 × int8 → i32 matrix multiply, `C[M×N] = A[M×K] · B[K×N]`, with the
//! epilogue (i32 out, or dequantized f32 with scales and bias) fused in.
//!
//! A is the activations (int8, row-major, quantized per row at run time);
//! B is the weights, packed once into [`PackedS8`] in one of two layouts
//! (see `pack`): any int8 weights are widened to i16 and multiplied pairwise
//! along K (`vpmaddwd` on AVX2); weights within ±64 (7-bit quantization)
//! are kept as bytes and multiplied by fours with A made unsigned
//! (`vpmaddubsw`, twice the multiply-adds per instruction). Both are exact —
//! neither can saturate its i16 intermediate — so every fast path equals
//! the scalar [`reference`] bit for bit.
//!
//! Blocking: the output is cut into blocks of whole micro-tile rows, one
//! rayon task each; a task packs its rows of A in the weights' layout and
//! sweeps every 16-column panel of B with a 6×16 micro-kernel whose 12
//! accumulators stay in registers for the whole K loop.

mod kernel_avx2;
mod kernel_portable;
mod pack;
pub mod reference;

use rayon::prelude::*;

use crate::error::check_len;
use crate::{Isa, KernelError};
use pack::Layout;
pub use pack::{PackedS8, QUAD_WEIGHT_MAX};

/// Rows of a micro-tile.
pub const MR: usize = 6;
/// Columns of a micro-tile (and of a packed panel of B).
pub const NR: usize = 16;

/// One micro-tile of accumulators, row-major `MR × NR`.
pub type Tile = [i32; MR * NR];

/// What happens to a finished tile of i32 sums.
pub trait Epilogue: Sync {
    type Out: Copy + Send + Sync;
    /// Writes `rows × cols` of `tile` to `out`, the output rows of this task
    /// (`n` wide); `row` indexes `out`, `abs_row` the whole output.
    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        tile: &Tile,
        out: &mut [Self::Out],
        n: usize,
        row: usize,
        abs_row: usize,
        rows: usize,
        col: usize,
        cols: usize,
    );
}

/// The raw i32 sums.
pub struct RawI32;

impl Epilogue for RawI32 {
    type Out = i32;
    #[inline(always)]
    fn write(
        &self,
        tile: &Tile,
        out: &mut [i32],
        n: usize,
        row: usize,
        _: usize,
        rows: usize,
        col: usize,
        cols: usize,
    ) {
        for r in 0..rows {
            let dst = &mut out[(row + r) * n + col..][..cols];
            dst.copy_from_slice(&tile[r * NR..r * NR + cols]);
        }
    }
}

/// `out[m][n] = sum[m][n] · a_scale[m] · b_scale[n] + bias[n]`: symmetric
/// per-row activations times symmetric per-output-channel weights.
pub struct Dequantize<'a> {
    pub a_scales: &'a [f32],
    pub b_scales: &'a [f32],
    pub bias: Option<&'a [f32]>,
}

impl Epilogue for Dequantize<'_> {
    type Out = f32;
    // Always inlined, so it is compiled inside `run_block_avx2` with AVX2
    // (as a separate function it was baseline SSE2: 3.5 % of a forward).
    #[inline(always)]
    fn write(
        &self,
        tile: &Tile,
        out: &mut [f32],
        n: usize,
        row: usize,
        abs_row: usize,
        rows: usize,
        col: usize,
        cols: usize,
    ) {
        let b_scales = &self.b_scales[col..col + cols];
        for r in 0..rows {
            let a_scale = self.a_scales[abs_row + r];
            let dst = &mut out[(row + r) * n + col..][..cols];
            let sums = &tile[r * NR..r * NR + cols];
            match self.bias {
                Some(bias) => {
                    let bias = &bias[col..col + cols];
                    for c in 0..cols {
                        dst[c] = sums[c] as f32 * (a_scale * b_scales[c]) + bias[c];
                    }
                }
                None => {
                    for c in 0..cols {
                        dst[c] = sums[c] as f32 * (a_scale * b_scales[c]);
                    }
                }
            }
        }
    }
}

/// `C = A · B` as i32 with the fastest kernel of this CPU. `a` is `m × k`
/// row-major, `out` is `m × n`.
pub fn gemm_i32(a: &[i8], m: usize, b: &PackedS8, out: &mut [i32]) -> Result<(), KernelError> {
    gemm_with(Isa::best(), a, m, b, out, &RawI32)
}

/// `C = (A · B) · a_scale · b_scale + bias` as f32, fused.
pub fn gemm_dequant(
    a: &[i8],
    a_scales: &[f32],
    m: usize,
    b: &PackedS8,
    bias: Option<&[f32]>,
    out: &mut [f32],
) -> Result<(), KernelError> {
    check_len("activation scales", m, a_scales.len())?;
    check_len("weight scales", b.n(), b.scales().len())?;
    if let Some(bias) = bias {
        check_len("bias", b.n(), bias.len())?;
    }
    let epilogue = Dequantize {
        a_scales,
        b_scales: b.scales(),
        bias,
    };
    gemm_with(Isa::best(), a, m, b, out, &epilogue)
}

/// The multiply on a chosen instruction set (tests and benches compare them).
pub fn gemm_with<E: Epilogue>(
    isa: Isa,
    a: &[i8],
    m: usize,
    b: &PackedS8,
    out: &mut [E::Out],
    epilogue: &E,
) -> Result<(), KernelError> {
    let isa = isa.checked()?;
    let (k, n) = (b.k(), b.n());
    check_len("activations", m * k, a.len())?;
    check_len("output", m * n, out.len())?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    let rows_per_block = block_rows(m, n, k);
    out.par_chunks_mut(rows_per_block * n)
        .enumerate()
        .for_each(|(block, out_block)| {
            let row0 = block * rows_per_block;
            let rows = out_block.len() / n;
            let a_block = &a[row0 * k..(row0 + rows) * k];
            match isa {
                Isa::Portable => run_block(&PORTABLE, a_block, row0, rows, b, out_block, epilogue),
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `isa` passed `checked()`: AVX2 was detected.
                Isa::Avx2 => unsafe { run_block_avx2(a_block, row0, rows, b, out_block, epilogue) },
                #[cfg(not(target_arch = "x86_64"))]
                Isa::Avx2 => unreachable!("AVX2 is never supported off x86-64"),
            }
        });
    Ok(())
}

/// [`run_block`] compiled for AVX2, so the packing and the epilogue around
/// the micro-kernel vectorize 8 wide too.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_block_avx2<E: Epilogue>(
    a_block: &[i8],
    row0: usize,
    rows: usize,
    b: &PackedS8,
    out_block: &mut [E::Out],
    epilogue: &E,
) {
    run_block(&AVX2, a_block, row0, rows, b, out_block, epilogue)
}

/// The micro-kernels of one instruction set, one per layout.
struct Kernels {
    /// One packed tile of A (`pairs × MR` i16 pairs) times one panel of B
    /// (`pairs × NR` i16 pairs) into the tile (overwritten).
    pairs: fn(&[i16], &[i16], usize, &mut Tile),
    /// One tile of A (`quads × MR` u8 quads) times one panel of B (`quads ×
    /// NR` i8 quads), starting from the panel's column corrections.
    quads: fn(&[u8], &[i8], usize, &[i32], &mut Tile),
}

const PORTABLE: Kernels = Kernels {
    pairs: kernel_portable::kernel_pairs,
    quads: kernel_portable::kernel_quads,
};

const AVX2: Kernels = Kernels {
    pairs: kernel_avx2::kernel_pairs,
    quads: kernel_avx2::kernel_quads,
};

/// One task: packs `rows` rows of A in the weights' layout and sweeps every
/// panel of B.
#[inline(always)]
fn run_block<E: Epilogue>(
    kernels: &Kernels,
    a_block: &[i8],
    row0: usize,
    rows: usize,
    b: &PackedS8,
    out_block: &mut [E::Out],
    epilogue: &E,
) {
    let k = b.k();
    let sweep = Sweep {
        b,
        row0,
        rows,
        epilogue,
    };
    match b.layout() {
        Layout::Pairs(data) => {
            let pairs = b.pairs();
            let panel_len = pairs * 2 * NR;
            let a_packed = pack::pack_a_pairs(a_block, rows, k);
            sweep.run(
                &a_packed,
                pairs * 2 * MR,
                out_block,
                |a_tile, panel, tile| {
                    let b_panel = &data[panel * panel_len..(panel + 1) * panel_len];
                    (kernels.pairs)(a_tile, b_panel, pairs, tile)
                },
            );
        }
        Layout::Quads { data, offsets } => {
            let quads = b.quads();
            let panel_len = quads * 4 * NR;
            let a_packed = pack::pack_a_quads(a_block, rows, k);
            sweep.run(
                &a_packed,
                quads * 4 * MR,
                out_block,
                |a_tile, panel, tile| {
                    let b_panel = &data[panel * panel_len..(panel + 1) * panel_len];
                    let offsets = &offsets[panel * NR..(panel + 1) * NR];
                    (kernels.quads)(a_tile, b_panel, quads, offsets, tile)
                },
            );
        }
    }
}

/// The loop over B's panels and A's tiles a task runs, whatever the layout.
struct Sweep<'a, E> {
    b: &'a PackedS8,
    row0: usize,
    rows: usize,
    epilogue: &'a E,
}

impl<E: Epilogue> Sweep<'_, E> {
    #[inline(always)]
    fn run<T>(
        &self,
        a_packed: &[T],
        a_tile_len: usize,
        out_block: &mut [E::Out],
        mut multiply: impl FnMut(&[T], usize, &mut Tile),
    ) {
        let n = self.b.n();
        let mut tile: Tile = [0; MR * NR];
        for panel in 0..self.b.panels() {
            let col = panel * NR;
            let cols = NR.min(n - col);
            for (t, a_tile) in a_packed.chunks_exact(a_tile_len).enumerate() {
                multiply(a_tile, panel, &mut tile);
                let row = t * MR;
                self.epilogue.write(
                    &tile,
                    out_block,
                    n,
                    row,
                    self.row0 + row,
                    MR.min(self.rows - row),
                    col,
                    cols,
                );
            }
        }
    }
}

/// Rows per rayon task: whole micro-tiles, about four tasks per thread so
/// that both cores stay busy even at batch 1 (M = 128), at most 8 tiles so a
/// block of packed A stays in L2.
fn block_rows(m: usize, n: usize, k: usize) -> usize {
    let tiles = m.div_ceil(MR);
    // Below ~2 M multiply-adds a second thread costs more than it saves.
    let tasks = if m * n * k < 2_000_000 {
        1
    } else {
        4 * rayon::current_num_threads()
    };
    tiles.div_ceil(tasks).clamp(1, 8) * MR
}
