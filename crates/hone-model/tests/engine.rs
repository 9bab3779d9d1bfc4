//! The fast CPU engine against burn's forward pass of the same weights: f32
//! agrees to float rounding (with padding in the batch), int8 and 4-bit stay
//! close, and bad input is refused with a clear error.

use std::collections::HashMap;

use burn::backend::Flex;
use burn::prelude::*;
use hone_model::engine::{FastBert, LinearId, Role, Storage, Tokens};
use hone_model::{BertConfig, BertModel, ModelError};

type B = Flex;

fn config() -> BertConfig {
    serde_json::from_str(
        r#"{"vocab_size":100,"hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,
            "intermediate_size":128,"max_position_embeddings":32,"type_vocab_size":2,"layer_norm_eps":1e-12}"#,
    )
    .unwrap()
}

struct Fixture {
    model: BertModel<B>,
    tensors: HashMap<String, Vec<f32>>,
    ids: Vec<u32>,
    mask: Vec<u32>,
    types: Vec<u32>,
}

const BATCH: usize = 3;
const SEQ: usize = 11;

fn fixture() -> Fixture {
    let device = Default::default();
    B::seed(&device, 7);
    let model = BertModel::<B>::init(&config(), false, &device).unwrap();
    let tensors = model
        .named_tensors("")
        .into_iter()
        .map(|t| (t.name, t.values))
        .collect();
    let ids: Vec<u32> = (0..BATCH * SEQ).map(|i| (i * 37 % 100) as u32).collect();
    // Row 1 has three padding tokens, row 2 seven.
    let mask: Vec<u32> = (0..BATCH * SEQ)
        .map(|i| {
            let (b, t) = (i / SEQ, i % SEQ);
            u32::from(t < [SEQ, SEQ - 3, SEQ - 7][b])
        })
        .collect();
    let types: Vec<u32> = (0..BATCH * SEQ).map(|i| u32::from(i % SEQ > 5)).collect();
    Fixture {
        model,
        tensors,
        ids,
        mask,
        types,
    }
}

impl Fixture {
    fn engine(&self, storage: Storage) -> FastBert {
        FastBert::from_tensors(
            &config(),
            |n| self.tensors.get(n).map(Vec::as_slice),
            |_| storage,
        )
        .unwrap()
    }
    fn tokens(&self) -> Tokens<'_> {
        Tokens {
            ids: &self.ids,
            mask: &self.mask,
            types: &self.types,
            batch: BATCH,
            seq: SEQ,
        }
    }
    fn burn_forward(&self) -> Vec<f32> {
        let device = Default::default();
        let input = self
            .model
            .input(BATCH, SEQ, &self.ids, &self.mask, &self.types, &device)
            .unwrap();
        self.model.forward(&input).into_data().to_vec().unwrap()
    }
}

/// Hidden states of real tokens only (padding positions are unspecified).
fn real_tokens(h: &[f32], mask: &[u32]) -> Vec<f32> {
    h.chunks_exact(64)
        .zip(mask)
        .filter(|(_, m)| **m == 1)
        .flat_map(|(r, _)| r.to_vec())
        .collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

#[test]
fn f32_engine_matches_burn() {
    let f = fixture();
    let want = real_tokens(&f.burn_forward(), &f.mask);
    let got = real_tokens(
        &f.engine(Storage::F32).forward(f.tokens()).unwrap(),
        &f.mask,
    );
    let diff = max_diff(&want, &got);
    assert!(diff < 2e-5, "max abs diff {diff}");
}

#[test]
fn quantized_engines_stay_close_to_f32() {
    let f = fixture();
    let reference = f.engine(Storage::F32).forward(f.tokens()).unwrap();
    for (storage, floor) in [(Storage::Int8, 0.999), (Storage::Int4 { group: 32 }, 0.98)] {
        let engine = f.engine(storage);
        let got = engine.forward(f.tokens()).unwrap();
        let pooled_ref = engine.mean_pool(&reference, f.tokens());
        let pooled = engine.mean_pool(&got, f.tokens());
        for (a, b) in pooled_ref.chunks_exact(64).zip(pooled.chunks_exact(64)) {
            let c = cosine(a, b);
            assert!(c > floor, "{storage:?}: cosine {c}");
        }
        // And it is really quantized, not the f32 path again.
        assert_ne!(got, reference, "{storage:?}");
    }
}

#[test]
fn mixed_storage_follows_the_plan() {
    let f = fixture();
    let plan = |id: LinearId| {
        if id.layer == 0 && id.role == Role::FfnOut {
            Storage::F32
        } else {
            Storage::Int8
        }
    };
    let engine =
        FastBert::from_tensors(&config(), |n| f.tensors.get(n).map(Vec::as_slice), plan).unwrap();
    assert_eq!(
        engine.blocks[0].ffn_out.format(),
        hone_model::engine::Format::F32
    );
    assert_eq!(
        engine.blocks[0].ffn_in.format(),
        hone_model::engine::Format::Int8
    );
    assert_eq!(
        engine.blocks[1].ffn_out.format(),
        hone_model::engine::Format::Int8
    );
}

#[test]
fn bad_input_is_refused() {
    let f = fixture();
    let engine = f.engine(Storage::F32);
    let mut ids = f.ids.clone();
    ids[4] = 100;
    let err = engine
        .forward(Tokens {
            ids: &ids,
            ..f.tokens()
        })
        .unwrap_err();
    assert!(
        matches!(&err, ModelError::Input(m) if m.contains("token id 100")),
        "{err}"
    );
    let empty = engine
        .forward(Tokens {
            ids: &[],
            mask: &[],
            types: &[],
            batch: 3,
            seq: 0,
        })
        .unwrap();
    assert!(
        empty.is_empty(),
        "no tokens, no hidden states (and no panic)"
    );
    let err = engine
        .forward(Tokens {
            batch: 2,
            ..f.tokens()
        })
        .unwrap_err();
    assert!(
        matches!(&err, ModelError::Input(m) if m.contains("batch × seq")),
        "{err}"
    );
    let missing = FastBert::from_tensors(
        &config(),
        |n| {
            if n.contains("layer.1.output.dense.weight") {
                None
            } else {
                f.tensors.get(n).map(Vec::as_slice)
            }
        },
        |_| Storage::F32,
    );
    assert!(matches!(missing, Err(ModelError::MissingTensor { .. })));
    let bad_group = FastBert::from_tensors(
        &config(),
        |n| f.tensors.get(n).map(Vec::as_slice),
        |_| Storage::Int4 { group: 48 },
    );
    assert!(matches!(bad_group, Err(ModelError::Engine(m)) if m.contains("group size 48")));
}
