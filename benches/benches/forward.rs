//! MiniLM-L6 forward pass (encoder + mean pooling) at batch 1 × 128 and
//! batch 32 × 128 tokens on every backend compiled into this build.
//! `cargo xtask bench forward`; `cargo xtask bench backends` compares flex,
//! ndarray and ndarray+OpenBLAS. For scale, ONNX Runtime fp32 on this machine:
//! 32.9 ms and 905 ms (shared/ASSETS.md).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use hone::backend::{BackendJob, BackendKind, dispatch};
use hone::bench::full_batch;
use hone::model::BertModel;
use hone::model::pooling::mean_pool;
use hone_benches::minilm_dir;

const SEQ_LEN: usize = 128;

struct Forward<'a> {
    c: &'a mut Criterion,
    backend: BackendKind,
}

impl BackendJob for Forward<'_> {
    type Output = ();
    fn run<B: burn::prelude::Backend>(self, device: B::Device) {
        let dir = minilm_dir();
        let (model, _) = BertModel::<B>::from_dir(&dir, &device).expect("load MiniLM");
        let label = self.backend.label().to_string();
        let mut group = self.c.benchmark_group("minilm_l6_forward");
        group.sample_size(10);
        for batch in [1usize, 32] {
            let b = full_batch(&dir, batch, SEQ_LEN).expect("bench input");
            let input = model
                .input(batch, SEQ_LEN, &b.ids, &b.mask, &b.types, &device)
                .expect("input");
            group.bench_function(
                BenchmarkId::new(label.clone(), format!("b{batch}x{SEQ_LEN}")),
                |b| {
                    b.iter(|| {
                        let pooled = mean_pool(model.forward(&input), input.attention_mask.clone());
                        // Reading the result back forces lazy backends to finish.
                        pooled.into_data()
                    })
                },
            );
        }
        group.finish();
    }
}

fn forward(c: &mut Criterion) {
    for backend in BackendKind::compiled() {
        if backend == BackendKind::Cuda && std::env::var_os("HONE_BENCH_CUDA").is_none() {
            continue; // needs a GPU; set HONE_BENCH_CUDA=1 where one is present
        }
        dispatch(
            backend,
            Forward {
                c: &mut *c,
                backend,
            },
        )
        .expect("compiled backend");
    }
}

criterion_group!(benches, forward);
criterion_main!(benches);
