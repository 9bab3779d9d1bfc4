//! The portable micro-kernel: plain Rust over the packed layouts (the
//! compiler vectorizes the inner loop for whatever the target has).

use super::{MR, NR, Tile};

pub(super) fn kernel(a: &[i16], b: &[i16], pairs: usize, tile: &mut Tile) {
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
