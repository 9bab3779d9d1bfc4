//! The AVX2 micro-kernels: 6 rows × 16 columns of i32 accumulators (12 ymm
//! registers), two panel loads and one broadcast per step of K, each row
//! updated by
//! - pairs: `vpmaddwd` (i16 × i16, adjacent pairs summed to i32) and
//!   `vpaddd`: 16 multiply-adds per multiply instruction;
//! - quads: `vpmaddubsw` (u8 × s8, adjacent pairs summed to i16 — exact for
//!   weights within ±64, see `pack`), `vpmaddwd` by ones (adjacent i16
//!   pairs to i32) and `vpaddd`: 32 multiply-adds per two multiply
//!   instructions, which `cargo xtask bench kernels`' `isa-peak` group puts
//!   at 1.3–1.5× the pairs' rate on this CPU (AMD EPYC, Zen 3, no VNNI).

use super::{NR, Tile};

pub(super) fn kernel_pairs(a: &[i16], b: &[i16], pairs: usize, tile: &mut Tile) {
    assert!(a.len() >= pairs * 12 && b.len() >= pairs * 32);
    #[cfg(target_arch = "x86_64")]
    debug_assert!(
        is_x86_feature_detected!("avx2"),
        "AVX2 kernel on a CPU without AVX2"
    );
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `Isa::Avx2` is only handed out after run-time detection of
    // AVX2 (`Isa::checked`), and the slice lengths were checked above.
    unsafe {
        pairs_6x16(a.as_ptr(), b.as_ptr(), pairs, tile)
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("AVX2 is never selected off x86-64")
}

pub(super) fn kernel_quads(a: &[u8], b: &[i8], quads: usize, offsets: &[i32], tile: &mut Tile) {
    assert!(a.len() >= quads * 24 && b.len() >= quads * 64 && offsets.len() >= NR);
    #[cfg(target_arch = "x86_64")]
    debug_assert!(
        is_x86_feature_detected!("avx2"),
        "AVX2 kernel on a CPU without AVX2"
    );
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as for `kernel_pairs`; lengths checked above.
    unsafe {
        quads_6x16(a.as_ptr(), b.as_ptr(), quads, offsets.as_ptr(), tile)
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("AVX2 is never selected off x86-64")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pairs_6x16(a: *const i16, b: *const i16, pairs: usize, tile: &mut Tile) {
    use std::arch::x86_64::*;
    unsafe {
        let z = _mm256_setzero_si256();
        let (mut c00, mut c01, mut c10, mut c11, mut c20, mut c21) = (z, z, z, z, z, z);
        let (mut c30, mut c31, mut c40, mut c41, mut c50, mut c51) = (z, z, z, z, z, z);
        let mut a = a as *const i32; // one i32 = the (k, k+1) pair of one row
        let mut b = b as *const __m256i;
        for _ in 0..pairs {
            let b0 = _mm256_loadu_si256(b);
            let b1 = _mm256_loadu_si256(b.add(1));
            macro_rules! row {
                ($r:expr, $lo:ident, $hi:ident) => {
                    let av = _mm256_set1_epi32(a.add($r).read_unaligned());
                    $lo = _mm256_add_epi32($lo, _mm256_madd_epi16(av, b0));
                    $hi = _mm256_add_epi32($hi, _mm256_madd_epi16(av, b1));
                };
            }
            row!(0, c00, c01);
            row!(1, c10, c11);
            row!(2, c20, c21);
            row!(3, c30, c31);
            row!(4, c40, c41);
            row!(5, c50, c51);
            a = a.add(6);
            b = b.add(2);
        }
        store(
            tile,
            [c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51],
        );
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn quads_6x16(
    a: *const u8,
    b: *const i8,
    quads: usize,
    offsets: *const i32,
    tile: &mut Tile,
) {
    use std::arch::x86_64::*;
    unsafe {
        let ones = _mm256_set1_epi16(1);
        let lo0 = _mm256_loadu_si256(offsets as *const __m256i);
        let hi0 = _mm256_loadu_si256(offsets.add(8) as *const __m256i);
        let (mut c00, mut c01, mut c10, mut c11, mut c20, mut c21) = (lo0, hi0, lo0, hi0, lo0, hi0);
        let (mut c30, mut c31, mut c40, mut c41, mut c50, mut c51) = (lo0, hi0, lo0, hi0, lo0, hi0);
        let mut a = a as *const i32; // one i32 = the (k..k+4) quad of one row
        let mut b = b as *const __m256i;
        for _ in 0..quads {
            // B is loaded again for every row instead of held in two
            // registers: 12 accumulators, `ones`, the broadcast and one
            // temporary then fit the 16 ymm registers. Held, one accumulator
            // spilled to the stack every step (a store and a reload on its
            // dependency chain). The empty `asm!` (a compiler-level memory
            // clobber, no instruction) keeps LLVM from merging the loads
            // back into two registers; L1 serves the extra loads.
            macro_rules! row {
                ($r:expr, $lo:ident, $hi:ident) => {
                    let av = _mm256_set1_epi32(a.add($r).read_unaligned());
                    std::arch::asm!("", options(nostack, preserves_flags));
                    let b0 = _mm256_loadu_si256(b);
                    let lo = _mm256_madd_epi16(_mm256_maddubs_epi16(av, b0), ones);
                    $lo = _mm256_add_epi32($lo, lo);
                    let b1 = _mm256_loadu_si256(b.add(1));
                    let hi = _mm256_madd_epi16(_mm256_maddubs_epi16(av, b1), ones);
                    $hi = _mm256_add_epi32($hi, hi);
                };
            }
            row!(0, c00, c01);
            row!(1, c10, c11);
            row!(2, c20, c21);
            row!(3, c30, c31);
            row!(4, c40, c41);
            row!(5, c50, c51);
            a = a.add(6);
            b = b.add(2);
        }
        store(
            tile,
            [c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51],
        );
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn store(tile: &mut Tile, acc: [std::arch::x86_64::__m256i; 12]) {
    use std::arch::x86_64::*;
    let out = tile.as_mut_ptr() as *mut __m256i;
    for (i, v) in acc.into_iter().enumerate() {
        // SAFETY: a tile is 12 × 8 i32, exactly the 12 vectors written.
        unsafe { _mm256_storeu_si256(out.add(i), v) };
    }
}
