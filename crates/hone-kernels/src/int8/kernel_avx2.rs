//! The AVX2 micro-kernel: 6 rows × 16 columns of i32 accumulators (12 ymm
//! registers), two panel loads and one broadcast per pair of K values, each
//! row updated by `vpmaddwd` (i16 × i16, adjacent pairs summed to i32) and
//! `vpaddd`.

use super::Tile;

pub(super) fn kernel(a: &[i16], b: &[i16], pairs: usize, tile: &mut Tile) {
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
        kernel_6x16(a.as_ptr(), b.as_ptr(), pairs, tile)
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("AVX2 is never selected off x86-64")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn kernel_6x16(a: *const i16, b: *const i16, pairs: usize, tile: &mut Tile) {
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
        let out = tile.as_mut_ptr() as *mut __m256i;
        for (i, v) in [c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51]
            .into_iter()
            .enumerate()
        {
            _mm256_storeu_si256(out.add(i), v);
        }
    }
}
