//! The per-layer views distillation uses: `forward_layers` ends where
//! `forward` does, and the spelled-out attention (with its probabilities)
//! computes what burn's fused attention op computes, with rows of
//! probabilities that sum to one and give padding keys nothing.

use burn::backend::Flex;
use burn::prelude::*;
use hone_model::{BertConfig, BertModel};

type B = Flex;

#[test]
fn explicit_attention_matches_the_fused_op_and_masks_padding() {
    let config: BertConfig = serde_json::from_str(
        r#"{"vocab_size":60,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,
            "intermediate_size":64,"max_position_embeddings":16,"type_vocab_size":2,"hidden_act":"gelu"}"#,
    )
    .unwrap();
    let device = Default::default();
    B::seed(&device, 21);
    let model = BertModel::<B>::init(&config, false, &device).unwrap();
    let (batch, seq) = (2, 7);
    let ids: Vec<u32> = (0..batch * seq).map(|i| (i as u32 * 13 + 3) % 60).collect();
    // The second row has 3 padding positions.
    let mask: Vec<u32> = (0..batch * seq)
        .map(|i| u32::from(i < seq || i % seq < 4))
        .collect();
    let types = vec![0u32; batch * seq];
    let input = model
        .input(batch, seq, &ids, &mask, &types, &device)
        .unwrap();
    let fused: Vec<f32> = model.forward(&input).into_data().to_vec().unwrap();
    let (plain_layers, none) = model.forward_layers(&input, false);
    assert!(none.is_empty());
    let (layers, maps) = model.forward_layers(&input, true);
    assert_eq!((layers.len(), maps.len()), (2, 2));
    for outputs in [&plain_layers, &layers] {
        let last: Vec<f32> = outputs[1].clone().into_data().to_vec().unwrap();
        let diff = fused
            .iter()
            .zip(&last)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(diff < 1e-5, "layer outputs differ from forward by {diff}");
    }
    assert_eq!(maps[0].dims(), [batch, 4, seq, seq]);
    let probs: Vec<f32> = maps[0].clone().into_data().to_vec().unwrap();
    for (r, row) in probs.chunks_exact(seq).enumerate() {
        let sum: f32 = row.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5, "row {r} sums to {sum}");
        if r >= 4 * seq {
            // Batch row 1: keys 4.. are padding.
            assert!(row[4..].iter().all(|&p| p == 0.0), "{row:?}");
        }
    }
}

#[test]
fn fake_quantized_forward_is_what_the_int8_engine_computes() {
    use hone_model::engine::{FastBert, Storage, Tokens};
    let config: BertConfig = serde_json::from_str(
        r#"{"vocab_size":60,"hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,
            "intermediate_size":128,"max_position_embeddings":16,"type_vocab_size":2,"hidden_act":"gelu"}"#,
    )
    .unwrap();
    let device = Default::default();
    B::seed(&device, 33);
    let mut model = BertModel::<B>::init(&config, false, &device).unwrap();
    let tensors = model.named_tensors("");
    let get = |name: &str| {
        tensors
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.values.as_slice())
    };
    let f32_engine = FastBert::from_tensors(&config, get, |_| Storage::F32).unwrap();
    let int8_engine = FastBert::from_tensors(&config, get, |_| Storage::Int8).unwrap();
    let (batch, seq) = (2, 9);
    let ids: Vec<u32> = (0..batch * seq).map(|i| (i as u32 * 7 + 1) % 60).collect();
    let mask: Vec<u32> = (0..batch * seq)
        .map(|i| u32::from(i < seq || i % seq < 5))
        .collect();
    let types = vec![0u32; batch * seq];
    let tokens = Tokens {
        ids: &ids,
        mask: &mask,
        types: &types,
        batch,
        seq,
    };
    let input = model
        .input(batch, seq, &ids, &mask, &types, &device)
        .unwrap();
    model.set_fake_quant(true);
    let fake: Vec<f32> = model.forward(&input).into_data().to_vec().unwrap();
    let max_diff = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .zip(&mask.iter().flat_map(|&m| [m; 64]).collect::<Vec<_>>())
            .filter(|&(_, &m)| m != 0)
            .map(|((x, y), _)| (x - y).abs())
            .fold(0.0f32, f32::max)
    };
    let to_int8 = max_diff(&fake, &int8_engine.forward(tokens).unwrap());
    let to_f32 = max_diff(&fake, &f32_engine.forward(tokens).unwrap());
    // The same roundings: fake quantization lands on the integer engine, far
    // closer than on the unquantized model.
    assert!(to_int8 < 2e-3, "fake-quant vs int8 engine: {to_int8}");
    assert!(to_int8 * 10.0 < to_f32, "int8 {to_int8} vs f32 {to_f32}");
    model.set_fake_quant(false);
    let plain: Vec<f32> = model.forward(&input).into_data().to_vec().unwrap();
    assert!(max_diff(&plain, &f32_engine.forward(tokens).unwrap()) < 2e-5);
}
