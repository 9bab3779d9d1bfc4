//! The proof that MiniLM is loaded right: hone's sentence embeddings of the
//! sentences in `fixtures/golden/` against reference vectors computed by ONNX
//! Runtime from an independent PyTorch export of the same model
//! (`fixtures/golden/make_minilm_golden.py`). Every sentence must reach
//! cosine ≥ 0.995, on every backend in `HONE_TEST_BACKENDS` (default: the
//! default backend; CI adds WGPU). The same for `minilm-l3`, which hone
//! converts from paraphrase-MiniLM-L3-v2's ONNX file: against ONNX Runtime
//! running that very file (f32 on both sides), cosine ≥ 0.9999.

use std::path::Path;

use burn::prelude::Backend;
use hone::backend::{BackendJob, BackendKind, dispatch};
use hone::data::assets::{Cache, FetchOptions, resolve_model_dir};
use hone::embed::{SentenceEncoder, cosine};

struct Golden {
    sentences: Vec<String>,
    embeddings: Vec<Vec<f32>>,
}

fn golden() -> Golden {
    golden_file("minilm-l6-onnxruntime.json")
}

fn golden_file(name: &str) -> Golden {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/golden")
        .join(name);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    Golden {
        sentences: serde_json::from_value(v["sentences"].clone()).unwrap(),
        embeddings: serde_json::from_value(v["embeddings"].clone()).unwrap(),
    }
}

fn backends() -> Vec<BackendKind> {
    match std::env::var("HONE_TEST_BACKENDS") {
        Ok(list) => list.split(',').map(|b| b.trim().parse().unwrap()).collect(),
        Err(_) => vec![BackendKind::default_compiled().unwrap()],
    }
}

struct Embed<'a>(&'a Path, &'a [String], usize);
impl BackendJob for Embed<'_> {
    type Output = Vec<Vec<f32>>;
    fn run<B: Backend>(self, device: B::Device) -> Self::Output {
        let encoder = SentenceEncoder::<B>::load(self.0, &device).unwrap();
        let texts: Vec<&str> = self.1.iter().map(String::as_str).collect();
        encoder.embed(&texts, self.2, |_| {}).unwrap()
    }
}

#[test]
fn minilm_matches_onnx_runtime() {
    let golden = golden();
    assert!(golden.sentences.len() >= 20);
    let dir = resolve_model_dir(
        "minilm-l6",
        &Cache::from_env().unwrap(),
        &FetchOptions::default(),
    )
    .unwrap();
    for backend in backends() {
        // Batches of 8 mix short and long sentences, so padding is exercised.
        let ours = dispatch(backend, Embed(&dir, &golden.sentences, 8)).unwrap();
        let cosines: Vec<f32> = ours
            .iter()
            .zip(&golden.embeddings)
            .map(|(a, b)| cosine(a, b))
            .collect();
        let min = cosines.iter().copied().fold(f32::INFINITY, f32::min);
        let mean = cosines.iter().sum::<f32>() / cosines.len() as f32;
        eprintln!(
            "{backend}: cosine to ONNX Runtime min {min:.5} mean {mean:.5} over {} sentences",
            cosines.len()
        );
        for (s, c) in golden.sentences.iter().zip(&cosines) {
            assert!(*c >= 0.995, "{backend}: cosine {c:.5} < 0.995 for {s:?}");
        }
        // The reference is an int8 export; fp32 should sit close to it, not merely above the floor.
        assert!(mean > 0.998, "{backend}: mean cosine {mean}");
    }
}

#[test]
fn minilm_l3_converted_from_onnx_matches_onnx_runtime() {
    let golden = golden_file("minilm-l3-onnxruntime.json");
    let dir = hone::models::resolve_model(
        "minilm-l3",
        &Cache::from_env().unwrap(),
        &FetchOptions::default(),
    )
    .unwrap();
    let config = hone::model::BertConfig::from_file(&dir.join("config.json")).unwrap();
    assert_eq!(config.num_hidden_layers, 3);
    for backend in backends() {
        let ours = dispatch(backend, Embed(&dir, &golden.sentences, 8)).unwrap();
        for ((s, a), b) in golden.sentences.iter().zip(&ours).zip(&golden.embeddings) {
            let c = cosine(a, b);
            assert!(c >= 0.9999, "{backend}: cosine {c:.6} < 0.9999 for {s:?}");
        }
    }
}

#[test]
fn embeddings_do_not_depend_on_batching() {
    let golden = golden();
    let dir = resolve_model_dir(
        "minilm-l6",
        &Cache::from_env().unwrap(),
        &FetchOptions::default(),
    )
    .unwrap();
    let backend = BackendKind::default_compiled().unwrap();
    let one_by_one = dispatch(backend, Embed(&dir, &golden.sentences[..6], 1)).unwrap();
    let batched = dispatch(backend, Embed(&dir, &golden.sentences[..6], 6)).unwrap();
    for (a, b) in one_by_one.iter().zip(&batched) {
        assert!(
            cosine(a, b) > 0.99999,
            "padding changed an embedding: {}",
            cosine(a, b)
        );
    }
}
