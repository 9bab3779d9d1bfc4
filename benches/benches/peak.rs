//! The ceiling the kernels work under: how many multiply-adds per second
//! this CPU's vector units issue when nothing but the innermost instructions
//! run — `vpmaddwd` + `vpaddd` (the 8-bit-weight int8 kernel's pair: 16
//! i16×i16 multiply-adds into i32), `vpmaddubsw` + `vpmaddwd` + `vpaddd`
//! (the 7-bit-weight kernel's triple: 32 u8×s8) and `vfmadd231ps` (the f32
//! kernel's: 8), on one thread and on two. Eight or twelve independent accumulators hide
//! the latencies, so the loop measures issue throughput. Compare the
//! `matmul` group's GOP/s with these to see how close a kernel runs to the
//! machine (GOP/s = 2 × multiply-adds). `cargo xtask bench kernels`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Loop trips per thread per measured call.
const TRIPS: u64 = 2_000_000;

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::asm;
    use std::arch::x86_64::{_mm256_setzero_ps, _mm256_setzero_si256};

    /// 8 × (`vpmaddwd` + `vpaddd`) per trip: 128 multiply-adds.
    pub const MADD_PER_TRIP: u64 = 8 * 16;
    /// 6 × (`vpmaddubsw` + `vpmaddwd` by ones + `vpaddd`) per trip: 192
    /// multiply-adds (u8 × s8, the 7-bit-weight kernel's triple).
    pub const MADDUBS_PER_TRIP: u64 = 6 * 32;
    /// 12 × `vfmadd231ps` per trip: 96 multiply-adds.
    pub const FMA_PER_TRIP: u64 = 12 * 8;

    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn madd_add(trips: u64) {
        let z = _mm256_setzero_si256();
        for _ in 0..trips {
            // SAFETY: register-only instructions; AVX2 is checked by the caller.
            unsafe {
                asm!(
                    "vpmaddwd {t0}, {a}, {b}", "vpaddd {c0}, {c0}, {t0}",
                    "vpmaddwd {t1}, {a}, {b}", "vpaddd {c1}, {c1}, {t1}",
                    "vpmaddwd {t2}, {a}, {b}", "vpaddd {c2}, {c2}, {t2}",
                    "vpmaddwd {t3}, {a}, {b}", "vpaddd {c3}, {c3}, {t3}",
                    "vpmaddwd {t0}, {a}, {b}", "vpaddd {c4}, {c4}, {t0}",
                    "vpmaddwd {t1}, {a}, {b}", "vpaddd {c5}, {c5}, {t1}",
                    "vpmaddwd {t2}, {a}, {b}", "vpaddd {c6}, {c6}, {t2}",
                    "vpmaddwd {t3}, {a}, {b}", "vpaddd {c7}, {c7}, {t3}",
                    a = in(ymm_reg) z, b = in(ymm_reg) z,
                    t0 = out(ymm_reg) _, t1 = out(ymm_reg) _, t2 = out(ymm_reg) _, t3 = out(ymm_reg) _,
                    c0 = inout(ymm_reg) z => _, c1 = inout(ymm_reg) z => _, c2 = inout(ymm_reg) z => _, c3 = inout(ymm_reg) z => _,
                    c4 = inout(ymm_reg) z => _, c5 = inout(ymm_reg) z => _, c6 = inout(ymm_reg) z => _, c7 = inout(ymm_reg) z => _,
                    options(nomem, nostack),
                );
            }
        }
    }

    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn maddubs_madd_add(trips: u64) {
        let z = _mm256_setzero_si256();
        for _ in 0..trips {
            // SAFETY: register-only instructions; AVX2 is checked by the caller.
            unsafe {
                asm!(
                    "vpmaddubsw {t0}, {a}, {b}", "vpmaddwd {t0}, {t0}, {one}", "vpaddd {c0}, {c0}, {t0}",
                    "vpmaddubsw {t1}, {a}, {b}", "vpmaddwd {t1}, {t1}, {one}", "vpaddd {c1}, {c1}, {t1}",
                    "vpmaddubsw {t2}, {a}, {b}", "vpmaddwd {t2}, {t2}, {one}", "vpaddd {c2}, {c2}, {t2}",
                    "vpmaddubsw {t0}, {a}, {b}", "vpmaddwd {t0}, {t0}, {one}", "vpaddd {c3}, {c3}, {t0}",
                    "vpmaddubsw {t1}, {a}, {b}", "vpmaddwd {t1}, {t1}, {one}", "vpaddd {c4}, {c4}, {t1}",
                    "vpmaddubsw {t2}, {a}, {b}", "vpmaddwd {t2}, {t2}, {one}", "vpaddd {c5}, {c5}, {t2}",
                    a = in(ymm_reg) z, b = in(ymm_reg) z, one = in(ymm_reg) z,
                    t0 = out(ymm_reg) _, t1 = out(ymm_reg) _, t2 = out(ymm_reg) _,
                    c0 = inout(ymm_reg) z => _, c1 = inout(ymm_reg) z => _, c2 = inout(ymm_reg) z => _,
                    c3 = inout(ymm_reg) z => _, c4 = inout(ymm_reg) z => _, c5 = inout(ymm_reg) z => _,
                    options(nomem, nostack),
                );
            }
        }
    }

    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn fma(trips: u64) {
        // Zeros: no denormals or NaNs to slow the floating-point units.
        let z = _mm256_setzero_ps();
        for _ in 0..trips {
            // SAFETY: register-only instructions; FMA is checked by the caller.
            unsafe {
                asm!(
                    "vfmadd231ps {c0}, {a}, {b}", "vfmadd231ps {c1}, {a}, {b}",
                    "vfmadd231ps {c2}, {a}, {b}", "vfmadd231ps {c3}, {a}, {b}",
                    "vfmadd231ps {c4}, {a}, {b}", "vfmadd231ps {c5}, {a}, {b}",
                    "vfmadd231ps {c6}, {a}, {b}", "vfmadd231ps {c7}, {a}, {b}",
                    "vfmadd231ps {c8}, {a}, {b}", "vfmadd231ps {c9}, {a}, {b}",
                    "vfmadd231ps {c10}, {a}, {b}", "vfmadd231ps {c11}, {a}, {b}",
                    a = in(ymm_reg) z, b = in(ymm_reg) z,
                    c0 = inout(ymm_reg) z => _, c1 = inout(ymm_reg) z => _, c2 = inout(ymm_reg) z => _, c3 = inout(ymm_reg) z => _,
                    c4 = inout(ymm_reg) z => _, c5 = inout(ymm_reg) z => _, c6 = inout(ymm_reg) z => _, c7 = inout(ymm_reg) z => _,
                    c8 = inout(ymm_reg) z => _, c9 = inout(ymm_reg) z => _, c10 = inout(ymm_reg) z => _, c11 = inout(ymm_reg) z => _,
                    options(nomem, nostack),
                );
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn peak(c: &mut Criterion) {
    if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
        eprintln!("peak: this CPU lacks AVX2/FMA; nothing to measure");
        return;
    }
    let mut group = c.benchmark_group("isa-peak");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(2));
    group.warm_up_time(std::time::Duration::from_millis(300));
    type Loop = unsafe fn(u64);
    let loops: [(&str, Loop, u64); 3] = [
        ("vpmaddwd+vpaddd", x86::madd_add, x86::MADD_PER_TRIP),
        (
            "vpmaddubsw+vpmaddwd+vpaddd",
            x86::maddubs_madd_add,
            x86::MADDUBS_PER_TRIP,
        ),
        ("vfmadd231ps", x86::fma, x86::FMA_PER_TRIP),
    ];
    for (name, run, macs) in loops {
        for threads in [1u64, 2] {
            // Criterion's GOP/s counts two operations per multiply-add, as the
            // matmul group does.
            group.throughput(Throughput::Elements(2 * macs * TRIPS * threads));
            group.bench_function(BenchmarkId::new(name, format!("{threads}-thread")), |b| {
                b.iter(|| {
                    std::thread::scope(|s| {
                        for _ in 0..threads {
                            // SAFETY: AVX2 and FMA were detected above.
                            s.spawn(move || unsafe { run(TRIPS) });
                        }
                    })
                })
            });
        }
    }
    group.finish();
}

#[cfg(not(target_arch = "x86_64"))]
fn peak(_: &mut Criterion) {
    eprintln!("peak: measured on x86-64 only");
}

criterion_group!(benches, peak);
criterion_main!(benches);
