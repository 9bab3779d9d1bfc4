//! Loading a small BERT written here with random weights: the good file loads
//! and runs; each kind of bad file (missing tensor, wrong shape, truncated,
//! config that disagrees) is an error that names the file and the tensor.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::backend::Flex;
use hone_model::pooling::{l2_normalize, mean_pool};
use hone_model::{BertConfig, BertModel, Checkpoint, ModelError};
use safetensors::tensor::{Dtype, TensorView};

type B = Flex;

fn tiny_config() -> BertConfig {
    serde_json::from_str(
        r#"{"vocab_size":50,"hidden_size":8,"num_hidden_layers":2,"num_attention_heads":2,
            "intermediate_size":16,"max_position_embeddings":16,"type_vocab_size":2,"layer_norm_eps":1e-12}"#,
    )
    .unwrap()
}

/// HF tensor names and shapes of a BERT with `config`.
fn tensor_shapes(c: &BertConfig) -> BTreeMap<String, Vec<usize>> {
    let (h, f) = (c.hidden_size, c.intermediate_size);
    let mut m = BTreeMap::new();
    m.insert(
        "embeddings.word_embeddings.weight".into(),
        vec![c.vocab_size, h],
    );
    m.insert(
        "embeddings.position_embeddings.weight".into(),
        vec![c.max_position_embeddings, h],
    );
    m.insert(
        "embeddings.token_type_embeddings.weight".into(),
        vec![c.type_vocab_size, h],
    );
    m.insert("embeddings.LayerNorm.weight".into(), vec![h]);
    m.insert("embeddings.LayerNorm.bias".into(), vec![h]);
    for i in 0..c.num_hidden_layers {
        let p = format!("encoder.layer.{i}");
        for n in [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
        ] {
            m.insert(format!("{p}.{n}.weight"), vec![h, h]);
            m.insert(format!("{p}.{n}.bias"), vec![h]);
        }
        m.insert(format!("{p}.intermediate.dense.weight"), vec![f, h]);
        m.insert(format!("{p}.intermediate.dense.bias"), vec![f]);
        m.insert(format!("{p}.output.dense.weight"), vec![h, f]);
        m.insert(format!("{p}.output.dense.bias"), vec![h]);
        for n in ["attention.output.LayerNorm", "output.LayerNorm"] {
            m.insert(format!("{p}.{n}.weight"), vec![h]);
            m.insert(format!("{p}.{n}.bias"), vec![h]);
        }
    }
    m.insert("pooler.dense.weight".into(), vec![h, h]);
    m.insert("pooler.dense.bias".into(), vec![h]);
    m
}

/// Deterministic pseudo-random values in [-0.5, 0.5).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

fn write_checkpoint(path: &Path, shapes: &BTreeMap<String, Vec<usize>>, dtype: Dtype) {
    let mut bytes: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (i, (name, shape)) in shapes.iter().enumerate() {
        let vals = values(shape.iter().product(), i as u64);
        let raw: Vec<u8> = match dtype {
            Dtype::F32 => vals.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Dtype::BF16 => vals
                .iter()
                .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
                .collect(),
            _ => unreachable!(),
        };
        bytes.push((name.clone(), shape.clone(), raw));
    }
    let views: Vec<(String, TensorView)> = bytes
        .iter()
        .map(|(n, s, b)| (n.clone(), TensorView::new(dtype, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

fn good_file(dir: &Path) -> PathBuf {
    let path = dir.join("model.safetensors");
    write_checkpoint(&path, &tensor_shapes(&tiny_config()), Dtype::F32);
    path
}

fn load(config: &BertConfig, path: &Path) -> Result<BertModel<B>, ModelError> {
    let ckpt = Checkpoint::open(path)?;
    BertModel::<B>::from_checkpoint(config, &ckpt, &Default::default())
}

fn embed(model: &BertModel<B>, ids: &[u32], mask: &[u32], batch: usize) -> Vec<f32> {
    let seq = ids.len() / batch;
    let input = model
        .input(
            batch,
            seq,
            ids,
            mask,
            &vec![0; ids.len()],
            &Default::default(),
        )
        .unwrap();
    let hidden = model.forward(&input);
    l2_normalize(mean_pool(hidden, input.attention_mask))
        .into_data()
        .to_vec()
        .unwrap()
}

#[test]
fn good_checkpoint_loads_and_padding_does_not_change_embeddings() {
    let dir = tempfile::tempdir().unwrap();
    let model = load(&tiny_config(), &good_file(dir.path())).unwrap();
    assert_eq!(model.layers.len(), 2);
    assert!(model.pooler.is_some());
    let alone = embed(&model, &[1, 7, 9, 2], &[1, 1, 1, 1], 1);
    // The same sentence padded in a batch beside a longer one.
    let batched = embed(
        &model,
        &[1, 7, 9, 2, 0, 0, 1, 3, 4, 5, 6, 2],
        &[1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1],
        2,
    );
    for (a, b) in alone.iter().zip(&batched[..8]) {
        assert!(
            (a - b).abs() < 1e-5,
            "padding leaked into the embedding: {alone:?} vs {:?}",
            &batched[..8]
        );
    }
    let norm: f32 = alone.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5);
    // Different input, different embedding: the weights are really used.
    let other = embed(&model, &[1, 8, 9, 2], &[1, 1, 1, 1], 1);
    assert!(alone.iter().zip(&other).any(|(a, b)| (a - b).abs() > 1e-3));
}

#[test]
fn bf16_checkpoint_loads_close_to_f32() {
    let dir = tempfile::tempdir().unwrap();
    let f32_model = load(&tiny_config(), &good_file(dir.path())).unwrap();
    let bf16_path = dir.path().join("bf16.safetensors");
    write_checkpoint(&bf16_path, &tensor_shapes(&tiny_config()), Dtype::BF16);
    let bf16_model = load(&tiny_config(), &bf16_path).unwrap();
    let (a, b) = (
        embed(&f32_model, &[1, 7, 9, 2], &[1; 4], 1),
        embed(&bf16_model, &[1, 7, 9, 2], &[1; 4], 1),
    );
    let cos: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    assert!(cos > 0.99, "cosine {cos}");
}

#[test]
fn missing_tensor_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let mut shapes = tensor_shapes(&tiny_config());
    shapes.remove("encoder.layer.1.attention.self.key.weight");
    write_checkpoint(&path, &shapes, Dtype::F32);
    let err = load(&tiny_config(), &path).unwrap_err();
    assert!(matches!(err, ModelError::MissingTensor { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("model.safetensors")
            && msg.contains("encoder.layer.1.attention.self.key.weight"),
        "{msg}"
    );
}

#[test]
fn wrong_shape_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let mut shapes = tensor_shapes(&tiny_config());
    shapes.insert(
        "encoder.layer.0.intermediate.dense.weight".into(),
        vec![12, 8],
    );
    write_checkpoint(&path, &shapes, Dtype::F32);
    let msg = load(&tiny_config(), &path).unwrap_err().to_string();
    assert!(
        msg.contains("encoder.layer.0.intermediate.dense.weight")
            && msg.contains("[12, 8]")
            && msg.contains("[16, 8]"),
        "{msg}"
    );
    assert!(msg.contains("model.safetensors"), "{msg}");
}

#[test]
fn truncated_file_is_reported_not_panicked() {
    let dir = tempfile::tempdir().unwrap();
    let path = good_file(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    for keep in [bytes.len() - 1, bytes.len() / 2, 100, 7, 0] {
        std::fs::write(&path, &bytes[..keep]).unwrap();
        let err = load(&tiny_config(), &path).unwrap_err();
        assert!(
            matches!(err, ModelError::Corrupt { .. }),
            "cut at {keep}: {err}"
        );
        assert!(err.to_string().contains("model.safetensors"), "{err}");
    }
}

#[test]
fn config_that_disagrees_with_the_weights() {
    let dir = tempfile::tempdir().unwrap();
    let path = good_file(dir.path());
    // Wider than the weights: the first tensor that differs is named, with the config field.
    let wide = BertConfig {
        hidden_size: 16,
        ..tiny_config()
    };
    let msg = load(&wide, &path).unwrap_err().to_string();
    assert!(
        msg.contains("embeddings.word_embeddings.weight") && msg.contains("config.json"),
        "{msg}"
    );
    // More layers than the file holds.
    let deep = BertConfig {
        num_hidden_layers: 3,
        ..tiny_config()
    };
    let msg = load(&deep, &path).unwrap_err().to_string();
    assert!(msg.contains("encoder.layer.2."), "{msg}");
    // Fewer layers than the file holds.
    let shallow = BertConfig {
        num_hidden_layers: 1,
        ..tiny_config()
    };
    let err = load(&shallow, &path).unwrap_err();
    assert!(matches!(err, ModelError::ConfigMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains("encoder.layer.1.")
            && err.to_string().contains("num_hidden_layers = 1"),
        "{err}"
    );
    // Another vocabulary size.
    let vocab = BertConfig {
        vocab_size: 51,
        ..tiny_config()
    };
    assert!(
        load(&vocab, &path)
            .unwrap_err()
            .to_string()
            .contains("vocab_size")
    );
}

#[test]
fn config_file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, r#"{"hidden_size": 8}"#).unwrap();
    let msg = BertConfig::from_file(&path).unwrap_err().to_string();
    assert!(
        msg.contains("config.json") && msg.contains("vocab_size"),
        "{msg}"
    );
    std::fs::write(&path, r#"{"vocab_size":5,"hidden_size":9,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":4,"max_position_embeddings":8}"#).unwrap();
    assert!(
        BertConfig::from_file(&path)
            .unwrap_err()
            .to_string()
            .contains("divisible")
    );
}

#[test]
fn bad_inputs_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = load(&tiny_config(), &good_file(dir.path())).unwrap();
    let dev = Default::default();
    assert!(
        model
            .input(1, 2, &[1, 50], &[1, 1], &[0, 0], &dev)
            .unwrap_err()
            .to_string()
            .contains("vocabulary")
    );
    assert!(
        model
            .input(1, 17, &[1; 17], &[1; 17], &[0; 17], &dev)
            .unwrap_err()
            .to_string()
            .contains("positions")
    );
    assert!(model.input(1, 2, &[1], &[1, 1], &[0, 0], &dev).is_err());
    assert!(
        model
            .input(1, 2, &[1, 2], &[1, 1], &[0, 2], &dev)
            .unwrap_err()
            .to_string()
            .contains("type")
    );
}

#[test]
fn bert_prefix_checkpoints_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let shapes: BTreeMap<String, Vec<usize>> = tensor_shapes(&tiny_config())
        .into_iter()
        .map(|(k, v)| (format!("bert.{k}"), v))
        .collect();
    write_checkpoint(&path, &shapes, Dtype::F32);
    assert!(load(&tiny_config(), &path).is_ok());
}
