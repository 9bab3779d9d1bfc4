//! Every fast path of the kernels held to its reference: exact i32 equality
//! for int8 (all instruction sets this CPU has, shapes with ragged edges),
//! quantize∘dequantize error bounds, and 4-bit weights against a
//! dequantize-then-multiply reference.

use hone_kernels::int8::{self, Dequantize, PackedS8, QUAD_WEIGHT_MAX, RawI32};
use hone_kernels::quantize::{
    dequantize_rows, quantize_rows_scaled, quantize_rows_to_levels, quantize_rows_vec,
};
use hone_kernels::{Isa, KernelError, int4};
use proptest::prelude::*;

fn matrix(len: usize) -> impl Strategy<Value = Vec<i8>> {
    proptest::collection::vec(any::<i8>(), len)
}

fn shape_and_data() -> impl Strategy<Value = (usize, usize, usize, Vec<i8>, Vec<i8>)> {
    (1usize..40, 1usize..90, 1usize..70)
        .prop_flat_map(|(m, k, n)| (Just(m), Just(k), Just(n), matrix(m * k), matrix(k * n)))
}

/// Weights within ±64: what 7-bit quantization writes, packed as byte quads.
fn quad_shape_and_data() -> impl Strategy<Value = (usize, usize, usize, Vec<i8>, Vec<i8>)> {
    (1usize..40, 1usize..90, 1usize..70).prop_flat_map(|(m, k, n)| {
        (
            Just(m),
            Just(k),
            Just(n),
            matrix(m * k),
            proptest::collection::vec(-QUAD_WEIGHT_MAX..=QUAD_WEIGHT_MAX, k * n),
        )
    })
}

/// `|value - back| ≤ step/2`, the rounding bound of a symmetric grid, plus
/// the float error of getting there: the kernels multiply by `1/step`
/// (two roundings relative to `value`) and the test's `q·step` rounds once
/// more, so a value that sits on a tie, e.g. 106.5 steps, may round to
/// either side by a few ulps of `value` — not of the step. A fixed fraction
/// of the step is too tight near the top of the grid (CI found 106.5 steps
/// off by 0.04 where 1e-5 of half a step allowed 0.03).
fn within_half_a_step(value: f32, back: f32, step: f32) -> bool {
    (value - back).abs() <= step * 0.5 + 4.0 * f32::EPSILON * (value.abs() + step)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn int8_quad_layout_every_isa_equals_the_reference((m, k, n, a, b) in quad_shape_and_data()) {
        let expected = int8::reference::gemm_i32(&a, &b, m, k, n);
        let packed = PackedS8::from_kn(&b, k, n).unwrap();
        prop_assert!(packed.is_quads());
        let b_nk: Vec<i8> = (0..n).flat_map(|j| (0..k).map(move |kk| (j, kk))).map(|(j, kk)| b[kk * n + j]).collect();
        prop_assert_eq!(packed.to_nk(), b_nk);
        for isa in Isa::available() {
            let mut out = vec![0i32; m * n];
            int8::gemm_with(isa, &a, m, &packed, &mut out, &RawI32).unwrap();
            prop_assert_eq!(&out, &expected, "isa {}", isa);
        }
    }

    #[test]
    fn weights_quantized_to_levels_stay_within_half_a_step(
        (cols, x) in (1usize..64).prop_flat_map(|c| (Just(c), proptest::collection::vec(-1e3f32..1e3, c * 3))),
        levels in 1i8..=127,
    ) {
        let (q, scales) = quantize_rows_to_levels(&x, cols, levels).unwrap();
        prop_assert!(q.iter().all(|v| v.abs() <= levels));
        let back = dequantize_rows(&q, cols, &scales).unwrap();
        for (i, (a, b)) in x.iter().zip(&back).enumerate() {
            let s = scales[i / cols];
            prop_assert!(within_half_a_step(*a, *b, s), "{} vs {} (step {})", a, b, s);
        }
    }

    #[test]
    fn int8_every_isa_equals_the_reference((m, k, n, a, b) in shape_and_data()) {
        let expected = int8::reference::gemm_i32(&a, &b, m, k, n);
        let packed = PackedS8::from_kn(&b, k, n).unwrap();
        for isa in Isa::available() {
            let mut out = vec![0i32; m * n];
            int8::gemm_with(isa, &a, m, &packed, &mut out, &RawI32).unwrap();
            prop_assert_eq!(&out, &expected, "isa {}", isa);
        }
    }

    #[test]
    fn int8_dequantize_epilogue_applies_scales_and_bias((m, k, n, a, b) in shape_and_data()) {
        let sums = int8::reference::gemm_i32(&a, &b, m, k, n);
        let a_scales: Vec<f32> = (0..m).map(|i| 0.01 + i as f32 * 1e-3).collect();
        let b_scales: Vec<f32> = (0..n).map(|j| 0.02 + j as f32 * 1e-3).collect();
        let bias: Vec<f32> = (0..n).map(|j| j as f32 - 3.0).collect();
        // Transposing B into the per-output-channel layout is part of the test.
        let b_nk: Vec<i8> = (0..n).flat_map(|j| (0..k).map(move |kk| (j, kk))).map(|(j, kk)| b[kk * n + j]).collect();
        let packed = PackedS8::from_nk(&b_nk, n, k, b_scales.clone()).unwrap();
        prop_assert_eq!(packed.to_nk(), b_nk);
        for isa in Isa::available() {
            let mut out = vec![0f32; m * n];
            let epilogue = Dequantize { a_scales: &a_scales, b_scales: &b_scales, bias: Some(&bias) };
            int8::gemm_with(isa, &a, m, &packed, &mut out, &epilogue).unwrap();
            for i in 0..m {
                for j in 0..n {
                    let want = sums[i * n + j] as f32 * (a_scales[i] * b_scales[j]) + bias[j];
                    prop_assert_eq!(out[i * n + j], want);
                }
            }
        }
    }

    #[test]
    fn quantize_then_dequantize_is_within_half_a_step(
        (cols, x) in (1usize..64).prop_flat_map(|c| (Just(c), proptest::collection::vec(-1e3f32..1e3, c * 3)))
    ) {
        let (q, scales) = quantize_rows_vec(&x, cols).unwrap();
        let back = dequantize_rows(&q, cols, &scales).unwrap();
        for (i, (&v, &r)) in x.iter().zip(&back).enumerate() {
            let s = scales[i / cols];
            prop_assert!(within_half_a_step(v, r, s), "{v} -> {r} (scale {s})");
            prop_assert!(q[i] != -128);
        }
    }

    #[test]
    fn scaled_quantization_is_within_half_a_step_of_the_scaled_row(
        (cols, x, factors) in (1usize..64).prop_flat_map(|c| (
            Just(c),
            proptest::collection::vec(-1e3f32..1e3, c * 3),
            proptest::collection::vec(1e-3f32..1e3, c),
        ))
    ) {
        let mut q = vec![0i8; x.len()];
        let mut scales = vec![0f32; 3];
        quantize_rows_scaled(&x, cols, &factors, &mut q, &mut scales).unwrap();
        for (i, &v) in x.iter().enumerate() {
            let s = scales[i / cols];
            let scaled = v * factors[i % cols];
            let back = q[i] as f32 * s;
            prop_assert!(within_half_a_step(scaled, back, s), "{scaled} -> {back} (scale {s})");
            prop_assert!(q[i] != -128);
        }
    }

    #[test]
    fn int4_matches_dequantize_then_multiply(
        (m, n, groups, group, a_seed) in (1usize..20, 1usize..80, 1usize..4, prop_oneof![Just(32usize), Just(64), Just(128)], any::<u64>())
    ) {
        let k = groups * group;
        let w: Vec<f32> = (0..n * k).map(|i| ((i as u64 * 2654435761 ^ a_seed) % 2001) as f32 / 1000.0 - 1.0).collect();
        let a: Vec<f32> = (0..m * k).map(|i| ((i as u64 * 40503).wrapping_add(a_seed) % 997) as f32 / 500.0 - 1.0).collect();
        let bias: Vec<f32> = (0..n).map(|j| j as f32 * 0.1).collect();
        let packed = int4::PackedI4::quantize(&w, n, k, group).unwrap();
        // Each weight is within half a step of its group's scale.
        let deq = packed.dequantize();
        for (i, (&v, &d)) in w.iter().zip(&deq).enumerate() {
            let s = packed.scales()[i / group];
            prop_assert!(within_half_a_step(v, d, s), "{v} -> {d} (scale {s})");
        }
        let want = int4::reference(&a, m, &packed, Some(&bias));
        let mut out = vec![0.0; m * n];
        int4::gemm(&a, m, &packed, Some(&bias), &mut out).unwrap();
        // The kernel multiplies the same dequantized weights in f32, so its
        // error is that of an f32 sum of k products plus the bias, in any
        // order: at most γ(k+1)·Σ|terms| (Higham, §3.1), where γ(n) = n·u/(1-n·u)
        // and u = ε/2 — so (k+2)·ε·Σ|terms| covers it with room — plus half an
        // ulp, doubled, for the reference's own rounding to f32.
        let eps = f64::from(f32::EPSILON);
        for (idx, (o, r)) in out.iter().zip(&want).enumerate() {
            let (i, j) = (idx / n, idx % n);
            let terms: f64 = (0..k)
                .map(|kk| (f64::from(a[i * k + kk]) * f64::from(deq[j * k + kk])).abs())
                .sum::<f64>()
                + f64::from(bias[j]).abs();
            let bound = (k + 2) as f64 * eps * terms + eps * f64::from(r.abs());
            prop_assert!(f64::from((o - r).abs()) <= bound, "{o} vs {r} (bound {bound})");
        }
    }
}

/// MiniLM's shapes at batch 1: enough rows for several rayon tasks, and a
/// column count that is not a multiple of the panel width.
#[test]
fn int8_large_shape_equals_reference() {
    let (m, k, n) = (131, 384, 200);
    let a: Vec<i8> = (0..m * k).map(|i| (i * 7919 % 255) as i8).collect();
    let b: Vec<i8> = (0..k * n).map(|i| (i * 104729 % 253) as i8).collect();
    let expected = int8::reference::gemm_i32(&a, &b, m, k, n);
    let packed = PackedS8::from_kn(&b, k, n).unwrap();
    let mut out = vec![0; m * n];
    int8::gemm_i32(&a, m, &packed, &mut out).unwrap();
    assert_eq!(out, expected);
}

#[test]
fn extreme_values_do_not_saturate() {
    // (-128)·(-128) summed over K = 1024 needs the full i32 range of a pair sum.
    let (m, k, n) = (7, 1024, 17);
    let a = vec![-128i8; m * k];
    let b = vec![-128i8; k * n];
    let packed = PackedS8::from_kn(&b, k, n).unwrap();
    for isa in Isa::available() {
        let mut out = vec![0; m * n];
        int8::gemm_with(isa, &a, m, &packed, &mut out, &RawI32).unwrap();
        assert!(out.iter().all(|&v| v == 128 * 128 * 1024), "isa {isa}");
    }
}

#[test]
fn quad_extremes_do_not_saturate() {
    // Activations at both ends (+127 and -128 become 255 and 0 unsigned)
    // against weights at ±64: the largest i16 pair sums the quad kernel makes.
    let (m, k, n) = (7, 1024, 17);
    for (a_val, w_val) in [(127i8, 64i8), (127, -64), (-128, 64), (-128, -64)] {
        let a = vec![a_val; m * k];
        let b = vec![w_val; k * n];
        let packed = PackedS8::from_kn(&b, k, n).unwrap();
        assert!(packed.is_quads());
        for isa in Isa::available() {
            let mut out = vec![0; m * n];
            int8::gemm_with(isa, &a, m, &packed, &mut out, &RawI32).unwrap();
            let want = a_val as i32 * w_val as i32 * k as i32;
            assert!(out.iter().all(|&v| v == want), "isa {isa}, {a_val}·{w_val}");
        }
    }
    // One weight past ±64 and the exact pairs layout is used instead.
    let mut b = vec![64i8; 4 * 3];
    b[5] = -65;
    assert!(!PackedS8::from_kn(&b, 4, 3).unwrap().is_quads());
    assert!(quantize_rows_to_levels(&[1.0, 2.0], 2, 0).is_err());
}

#[test]
fn bad_shapes_are_errors_and_write_nothing() {
    let packed = PackedS8::from_kn(&[1; 12], 3, 4).unwrap();
    let mut out = vec![7i32; 8];
    let err = int8::gemm_i32(&[1; 5], 2, &packed, &mut out).unwrap_err();
    assert!(matches!(
        err,
        KernelError::Length {
            what: "activations",
            ..
        }
    ));
    assert_eq!(out, vec![7; 8]);
    assert!(PackedS8::from_kn(&[1; 11], 3, 4).is_err());
    assert!(
        PackedS8::from_kn(&[], 0, 4).is_err(),
        "an empty inner dimension is refused"
    );
    assert!(matches!(
        int4::PackedI4::quantize(&[0.0; 96], 2, 48, 48),
        Err(KernelError::GroupSize { group: 48, k: 48 })
    ));
    assert!(int4::PackedI4::from_parts(2, 64, 32, vec![0; 63], vec![1.0; 4]).is_err());
}
