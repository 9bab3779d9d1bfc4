//! The portable micro-kernels: plain Rust over the packed layouts (the
//! compiler vectorizes the inner loops for whatever the target has).

use super::{MR, NR, Tile};

/// i16 pairs (any int8 weights).
pub(super) fn kernel_pairs(a: &[i16], b: &[i16], pairs: usize, tile: &mut Tile) {
    tile.fill(0);
    for p in 0..pairs {
        let a = &a[p * 2 * MR..(p + 1) * 2 * MR];
        let b = &b[p * 2 * NR..(p + 1) * 2 * NR];
        for r in 0..MR {
            let (a0, a1) = (a[2 * r] as i32, a[2 * r + 1] as i32);
            let out = &mut tile[r * NR..(r + 1) * NR];
            for (c, acc) in out.iter_mut().enumerate() {
                let lane = (c / 8) * 16 + (c % 8) * 2;
                *acc += a0 * b[lane] as i32 + a1 * b[lane + 1] as i32;
            }
        }
    }
}

/// Byte quads: unsigned A (shifted by 128), weights within ±64, each
/// column starting from its `offsets` correction.
pub(super) fn kernel_quads(a: &[u8], b: &[i8], quads: usize, offsets: &[i32], tile: &mut Tile) {
    for row in tile.chunks_exact_mut(NR) {
        row.copy_from_slice(&offsets[..NR]);
    }
    for q in 0..quads {
        let a = &a[q * 4 * MR..(q + 1) * 4 * MR];
        let b = &b[q * 4 * NR..(q + 1) * 4 * NR];
        for r in 0..MR {
            let a = &a[4 * r..4 * r + 4];
            let out = &mut tile[r * NR..(r + 1) * NR];
            for (c, acc) in out.iter_mut().enumerate() {
                let b = &b[4 * c..4 * c + 4];
                *acc += (0..4).map(|t| a[t] as i32 * b[t] as i32).sum::<i32>();
            }
        }
    }
}
