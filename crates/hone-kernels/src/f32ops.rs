//! f32 operations of the fast inference path: a matrix multiply over strided
//! views (the `gemm` crate's kernels — already in the build through burn's
//! flex backend), and the row-wise ops of a transformer block written as
//! branch-free loops the compiler vectorizes: `exp` and `erf` approximations
//! (max relative error of exp ≈ 2e-7, absolute error of erf ≈ 2e-7 — libm's
//! scalar `erff` made GELU alone take ~0.5 s of a MiniLM batch of 32),
//! exact-erf GELU, masked softmax, LayerNorm.

use crate::KernelError;

/// A read-only matrix view: element `(i, j)` is `data[i·row_stride + j·col_stride]`.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> View<'a> {
    /// A contiguous row-major `rows × cols` matrix.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        View {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose (no copy).
    pub fn t(self) -> Self {
        View {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    fn check(&self, what: &'static str) -> Result<(), KernelError> {
        if self.rows == 0 || self.cols == 0 {
            return Ok(());
        }
        // Checked: wrapped arithmetic would pass the test and let `gemm`
        // read out of bounds; strides must also fit `isize`.
        let last = (self.rows - 1)
            .checked_mul(self.row_stride)
            .and_then(|r| {
                (self.cols - 1)
                    .checked_mul(self.col_stride)
                    .and_then(|c| r.checked_add(c))
            })
            .filter(|_| {
                self.row_stride <= isize::MAX as usize && self.col_stride <= isize::MAX as usize
            });
        match last {
            Some(last) if last < self.data.len() => Ok(()),
            _ => Err(KernelError::Length {
                what,
                expected: last.map_or(usize::MAX, |l| l + 1),
                got: self.data.len(),
            }),
        }
    }
}

/// How many threads a product may use: `gemm` splits the work itself when
/// given more than one; callers already running one product per thread (as
/// attention does, per head) pass 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    One,
    All,
}

/// `out = a · b` (or `out += a · b` with `accumulate`), `out` row-major
/// `a.rows × b.cols` with rows `out_stride` apart.
pub fn matmul(
    a: View<'_>,
    b: View<'_>,
    out: &mut [f32],
    out_stride: usize,
    accumulate: bool,
    threads: Threads,
) -> Result<(), KernelError> {
    a.check("left operand")?;
    b.check("right operand")?;
    if a.cols != b.rows {
        return Err(KernelError::InnerDim {
            a: a.cols,
            b: b.rows,
        });
    }
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if m == 0 || n == 0 {
        return Ok(());
    }
    let needed = (m - 1)
        .checked_mul(out_stride)
        .and_then(|r| r.checked_add(n));
    if out_stride < n
        || out_stride > isize::MAX as usize
        || needed.is_none_or(|need| out.len() < need)
    {
        return Err(KernelError::Length {
            what: "output",
            expected: needed.unwrap_or(usize::MAX),
            got: out.len(),
        });
    }
    let parallelism = match threads {
        Threads::One => gemm::Parallelism::None,
        Threads::All => gemm::Parallelism::Rayon(rayon::current_num_threads()),
    };
    // SAFETY: every index the product touches was bounds-checked above
    // (views by their last element, the output by its last row).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            out_stride as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
    Ok(())
}

/// Round to nearest (ties to even) for |x| < 2^22 by adding and removing
/// 1.5·2^23: plain float adds, so loops vectorize (`f32::round` is a libm
/// call on baseline x86-64 and kept softmax and GELU scalar: 3.7 % of a
/// MiniLM batch in `roundf` alone).
#[inline(always)]
pub fn round_ties_even(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    (x + MAGIC) - MAGIC
}

/// `round_ties_even(x)` as an integer, for |x| < 2^22, through the float's
/// bits (vectorizes, unlike `as i32`); out-of-range or NaN input gives an
/// unspecified value, never undefined behaviour.
#[inline(always)]
pub fn round_to_i32(x: f32) -> i32 {
    ((x + 12_582_912.0).to_bits() as i32).wrapping_sub(0x4B40_0000)
}

/// `e^x` to ~2e-7 relative error for |x| < 87 (exactly 0 at or below -87): Cody–Waite
/// reduction by ln 2 and a degree-6 polynomial, 2^n built in the exponent
/// bits. Branch-free so loops over it vectorize.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = round_ties_even(x * std::f32::consts::LOG2_E);
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (0.166_666_67
                    + r * (0.041_666_668 + r * (0.008_333_334 + r * 0.001_388_889)))));
    // 2^n built in the exponent bits without a float→int conversion (a
    // saturating `as i32` does not vectorize): n + 127 + 2^23 holds the
    // integer n + 127 in its low mantissa bits.
    let biased = (n + (127.0 + 8_388_608.0))
        .to_bits()
        .wrapping_sub(0x4B00_0000);
    let y = p * f32::from_bits(biased << 23);
    // A select, not a branch: masked attention scores must give exactly 0.
    if x <= -87.0 { 0.0 } else { y }
}

/// The error function to ~2e-7 absolute error (Abramowitz & Stegun 7.1.26
/// refined: a rational-exponential form with `exp` above).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    // A&S 7.1.26 has 1.5e-7 absolute error in exact arithmetic.
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let y = 1.0 - poly * exp(-a * a);
    y.copysign(x)
}

/// Defines `pub fn $name` that runs `$body` compiled for AVX2+FMA when the
/// CPU has it (the crate itself targets baseline x86-64, where the same loop
/// vectorizes only 4 wide), and as plain Rust otherwise.
macro_rules! multiversion {
    ($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) $body:block) => {
        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn generic($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2($($arg: $ty),*) {
                generic($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            if crate::Isa::best() == crate::Isa::Avx2 {
                // SAFETY: AVX2 and FMA were detected at run time.
                return unsafe { avx2($($arg),*) };
            }
            generic($($arg),*)
        }
    };
}

pub(crate) use multiversion;

/// Sum with eight independent partial sums, so it vectorizes (a plain
/// `iter().sum()` is a serial chain LLVM may not reorder).
#[inline(always)]
fn sum8(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = x.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for i in 0..8 {
            acc[i] += c[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[inline(always)]
pub(crate) fn max8(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let chunks = x.chunks_exact(8);
    let tail = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    for c in chunks {
        for i in 0..8 {
            acc[i] = acc[i].max(c[i]);
        }
    }
    acc.iter().fold(tail, |m, &v| m.max(v))
}

multiversion! {
    /// GELU with the exact erf form BERT uses: `x · (1 + erf(x/√2)) / 2`, in place.
    pub fn gelu(x: &mut [f32]) {
        for v in x.iter_mut() {
            *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
        }
    }
}

multiversion! {
    /// Softmax of each `cols`-wide row of `x` in place, after scaling by
    /// `scale` and adding `bias` (`cols` wide: 0 for real tokens, a large
    /// negative for padding).
    pub fn softmax_rows(x: &mut [f32], cols: usize, scale: f32, bias: &[f32]) {
        debug_assert_eq!(bias.len(), cols);
        for row in x.chunks_exact_mut(cols) {
            for (v, b) in row.iter_mut().zip(bias) {
                *v = *v * scale + b;
            }
            let max = max8(row);
            for v in row.iter_mut() {
                *v = exp(*v - max);
            }
            let inv = 1.0 / sum8(row);
            for v in row.iter_mut() {
                *v *= inv;
            }
        }
    }
}

multiversion! {
    /// `x = LayerNorm(x + residual)` for each `gamma.len()`-wide row, in
    /// place (`residual` may be empty: no addition).
    pub fn add_layer_norm_rows(x: &mut [f32], residual: &[f32], gamma: &[f32], beta: &[f32], eps: f32) {
        let cols = gamma.len();
        if !residual.is_empty() {
            for (v, r) in x.iter_mut().zip(residual) {
                *v += r;
            }
        }
        for row in x.chunks_exact_mut(cols) {
            let mean = sum8(row) / cols as f32;
            let mut sq = [0.0f32; 8];
            let chunks = row.chunks_exact(8);
            let tail: f32 = chunks.remainder().iter().map(|v| (v - mean) * (v - mean)).sum();
            for c in chunks {
                for i in 0..8 {
                    sq[i] += (c[i] - mean) * (c[i] - mean);
                }
            }
            let var = (sq.iter().sum::<f32>() + tail) / cols as f32;
            let inv = 1.0 / (var + eps).sqrt();
            for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
                *v = (*v - mean) * inv * g + b;
            }
        }
    }
}

/// LayerNorm of each `gamma.len()`-wide row of `x` in place.
pub fn layer_norm_rows(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    add_layer_norm_rows(x, &[], gamma, beta, eps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_std_over_its_range() {
        let mut worst = 0.0f32;
        for i in -8699..8800 {
            let x = i as f32 / 100.0;
            let rel = ((exp(x) - x.exp()) / x.exp()).abs();
            worst = worst.max(rel);
        }
        assert!(worst < 5e-7, "worst relative error {worst}");
    }

    #[test]
    fn erf_matches_libm_closely() {
        let mut worst = 0.0f64;
        for i in -600..=600 {
            let x = i as f64 / 100.0;
            worst = worst.max((erf(x as f32) as f64 - libm_erf(x)).abs());
        }
        assert!(worst < 5e-7, "worst absolute error {worst}");
    }

    // erf by its Taylor series / continued fraction is overkill for a test;
    // std has no erf, so compare with a high-precision series sum.
    fn libm_erf(x: f64) -> f64 {
        if x.abs() > 5.0 {
            return x.signum();
        }
        // Maclaurin series converges for all x; 200 terms suffice for |x| ≤ 5.
        let mut sum = 0.0;
        let mut term = x;
        for n in 0..200 {
            sum += term / (2 * n + 1) as f64;
            term *= -x * x / (n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn matmul_matches_naive_and_respects_transpose() {
        let a: Vec<f32> = (0..6).map(|v| v as f32).collect(); // 2×3
        let b: Vec<f32> = (0..12).map(|v| v as f32 * 0.5).collect(); // 3×4
        let mut out = vec![0.0; 8];
        matmul(
            View::row_major(&a, 2, 3),
            View::row_major(&b, 3, 4),
            &mut out,
            4,
            false,
            Threads::All,
        )
        .unwrap();
        let (a_ref, b_ref) = (&a, &b);
        let naive: Vec<f32> = (0..2)
            .flat_map(|i| {
                (0..4).map(move |j| {
                    (0..3)
                        .map(|k| a_ref[i * 3 + k] * b_ref[k * 4 + j])
                        .sum::<f32>()
                })
            })
            .collect();
        assert_eq!(out, naive);
        // a · aᵀ through a transposed view.
        let mut gram = vec![0.0; 4];
        let av = View::row_major(&a, 2, 3);
        matmul(av, av.t(), &mut gram, 2, false, Threads::One).unwrap();
        assert_eq!(gram, vec![5.0, 14.0, 14.0, 50.0]);
    }

    #[test]
    fn matmul_rejects_strides_that_overflow() {
        let a = [0.0; 4];
        let huge = View {
            data: &a,
            rows: 3,
            cols: 1,
            row_stride: 1 << 63,
            col_stride: 1,
        };
        let b = [0.0; 1];
        let mut out = [0.0; 3];
        assert!(
            matmul(
                huge,
                View::row_major(&b, 1, 1),
                &mut out,
                1,
                false,
                Threads::One
            )
            .is_err()
        );
    }

    #[test]
    fn matmul_rejects_mismatched_shapes() {
        let a = [0.0; 6];
        let mut out = [0.0; 4];
        let err = matmul(
            View::row_major(&a, 2, 3),
            View::row_major(&a, 2, 3),
            &mut out,
            2,
            false,
            Threads::One,
        );
        assert_eq!(err, Err(KernelError::InnerDim { a: 3, b: 2 }));
    }

    #[test]
    fn softmax_rows_sum_to_one_and_mask() {
        let mut x = vec![1.0, 2.0, 3.0, 4.0];
        softmax_rows(&mut x, 4, 1.0, &[0.0, 0.0, 0.0, -1e9]);
        assert!((x.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(x[3], 0.0);
    }

    #[test]
    fn layer_norm_gives_zero_mean_unit_variance() {
        let mut x = vec![1.0, 2.0, 3.0, 6.0];
        layer_norm_rows(&mut x, &[1.0; 4], &[0.0; 4], 0.0);
        let mean: f32 = x.iter().sum::<f32>() / 4.0;
        let var: f32 = x.iter().map(|v| v * v).sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-5);
    }
}
