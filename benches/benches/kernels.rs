//! The matrix multiplies of a MiniLM forward pass, as GOP/s (criterion's
//! "elements" are multiply-adds × 2): burn's f32 matmul on the default
//! backend (the baseline), hone's f32 product (the `gemm` crate), hone's
//! int8 kernel on each instruction set this CPU has, with 8-bit weights
//! (i16 pairs, `vpmaddwd`) and 7-bit weights (byte quads, `vpmaddubsw`), i32
//! out and with the fused dequantizing epilogue, and the 4-bit weight-only
//! product.
//! `cargo xtask bench kernels`.

use burn::prelude::*;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hone_kernels::f32ops::{Threads, View, matmul};
use hone_kernels::int8::{self, PackedS8, RawI32};
use hone_kernels::quantize::{quantize_rows_to_levels, quantize_rows_vec};
use hone_kernels::{Isa, int4};

type Baseline = burn::backend::NdArray;

/// (tokens, inputs, outputs): batch 1 and batch 32 at 128 tokens, the
/// attention projections, the fused QKV, and both FFN products.
const SHAPES: [(usize, usize, usize); 6] = [
    (128, 384, 384),
    (128, 384, 1152),
    (128, 384, 1536),
    (128, 1536, 384),
    (4096, 384, 1536),
    (4096, 1536, 384),
];

fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 2001) as f32 / 1000.0 - 1.0)
        .collect()
}

fn kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group("matmul");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(2));
    group.warm_up_time(std::time::Duration::from_millis(500));
    for (m, k, n) in SHAPES {
        let shape = format!("{m}x{k}x{n}");
        group.throughput(Throughput::Elements((2 * m * k * n) as u64));
        let a = values(m * k, 1);
        let w = values(n * k, 2); // [out, in]
        let w_kn: Vec<f32> = (0..k)
            .flat_map(|kk| (0..n).map(move |j| (kk, j)))
            .map(|(kk, j)| w[j * k + kk])
            .collect();

        let device = Default::default();
        let ta = Tensor::<Baseline, 2>::from_data(TensorData::new(a.clone(), [m, k]), &device);
        let tb = Tensor::<Baseline, 2>::from_data(TensorData::new(w_kn.clone(), [k, n]), &device);
        group.bench_function(BenchmarkId::new("burn-ndarray-f32", &shape), |bch| {
            bch.iter(|| ta.clone().matmul(tb.clone()).into_data())
        });

        let mut out = vec![0f32; m * n];
        group.bench_function(BenchmarkId::new("hone-f32", &shape), |bch| {
            bch.iter(|| {
                matmul(
                    View::row_major(&a, m, k),
                    View::row_major(&w_kn, k, n),
                    &mut out,
                    n,
                    false,
                    Threads::All,
                )
                .unwrap()
            })
        });

        let (qa, a_scales) = quantize_rows_vec(&a, k).unwrap();
        let (qw, w_scales) = quantize_rows_vec(&w, k).unwrap();
        let packed = PackedS8::from_nk(&qw, n, k, w_scales).unwrap();
        for isa in Isa::available() {
            let mut out_i32 = vec![0i32; m * n];
            group.bench_function(
                BenchmarkId::new(format!("hone-int8-{isa}-i32"), &shape),
                |bch| {
                    bch.iter(|| {
                        int8::gemm_with(isa, &qa, m, &packed, &mut out_i32, &RawI32).unwrap()
                    })
                },
            );
        }
        // 7-bit weights (within ±64): the byte-quad `vpmaddubsw` layout.
        let (qw7, w7_scales) = quantize_rows_to_levels(&w, k, int8::QUAD_WEIGHT_MAX).unwrap();
        let packed7 = PackedS8::from_nk(&qw7, n, k, w7_scales).unwrap();
        assert!(packed7.is_quads());
        for isa in Isa::available() {
            let mut out_i32 = vec![0i32; m * n];
            group.bench_function(
                BenchmarkId::new(format!("hone-int8-w7-{isa}-i32"), &shape),
                |bch| {
                    bch.iter(|| {
                        int8::gemm_with(isa, &qa, m, &packed7, &mut out_i32, &RawI32).unwrap()
                    })
                },
            );
        }
        // What a quantized layer really runs: quantize the activations per
        // row, multiply, dequantize with bias.
        let bias = values(n, 3);
        for (name, packed) in [
            ("hone-int8-dynamic-layer", &packed),
            ("hone-int8-w7-dynamic-layer", &packed7),
        ] {
            group.bench_function(BenchmarkId::new(name, &shape), |bch| {
                bch.iter(|| {
                    let (q, s) = quantize_rows_vec(&a, k).unwrap();
                    int8::gemm_dequant(&q, &s, m, packed, Some(&bias), &mut out).unwrap()
                })
            });
        }
        let _ = a_scales;
        let packed4 = int4::PackedI4::quantize(&w, n, k, 32).unwrap();
        group.bench_function(BenchmarkId::new("hone-int4-g32", &shape), |bch| {
            bch.iter(|| int4::gemm(&a, m, &packed4, Some(&bias), &mut out).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
