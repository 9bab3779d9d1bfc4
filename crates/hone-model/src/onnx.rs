//! A BERT encoder read out of an ONNX file: the weights of an exported
//! model are its graph's initializers. Named ones (embeddings, biases,
//! LayerNorms) already carry Hugging Face names under some prefix; the
//! dense weights of a PyTorch export are anonymous `MatMul` inputs
//! (`onnx::MatMul_470`, stored `[in, out]`), so each is named after the
//! bias its `MatMul` output is added to, and transposed to HF's `[out, in]`.
//!
//! Only the few protobuf fields this needs are declared (prost derives the
//! decoder; no `protoc`): model → graph → nodes (op type, inputs, outputs)
//! and initializers (dims, data type, float data or raw little-endian bytes).

use std::collections::HashMap;
use std::path::Path;

use prost::Message;

use crate::{BertConfig, ModelError, NamedTensor, Result};

#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(message, optional, tag = "7")]
    graph: Option<GraphProto>,
}

#[derive(Clone, PartialEq, Message)]
struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    node: Vec<NodeProto>,
    #[prost(message, repeated, tag = "5")]
    initializer: Vec<TensorProto>,
}

#[derive(Clone, PartialEq, Message)]
struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    output: Vec<String>,
    #[prost(string, tag = "4")]
    op_type: String,
}

#[derive(Clone, PartialEq, Message)]
struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    data_type: i32,
    #[prost(float, repeated, tag = "4")]
    float_data: Vec<f32>,
    #[prost(string, tag = "8")]
    name: String,
    #[prost(bytes = "vec", tag = "9")]
    raw_data: Vec<u8>,
    /// 1: the values live in a file beside the model (not supported).
    #[prost(int32, tag = "14")]
    data_location: i32,
}

/// ONNX `TensorProto.DataType.FLOAT`.
const ONNX_FLOAT: i32 = 1;

fn bad(path: &Path, detail: impl Into<String>) -> ModelError {
    ModelError::Config {
        path: path.into(),
        detail: detail.into(),
    }
}

/// The f32 values of an initializer, or `None` for other types.
fn floats(path: &Path, t: &TensorProto) -> Result<Option<Vec<f32>>> {
    if t.data_type != ONNX_FLOAT {
        return Ok(None);
    }
    if t.data_location == 1 {
        return Err(bad(
            path,
            format!(
                "initializer `{}` is stored outside the file (external data is not supported)",
                t.name
            ),
        ));
    }
    let values = if t.raw_data.is_empty() {
        t.float_data.clone()
    } else {
        if t.raw_data.len() % 4 != 0 {
            return Err(bad(
                path,
                format!("initializer `{}` has a partial float", t.name),
            ));
        }
        t.raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    };
    let expected: i64 = t.dims.iter().product();
    if values.len() as i64 != expected {
        return Err(bad(
            path,
            format!(
                "initializer `{}` holds {} values for dims {:?}",
                t.name,
                values.len(),
                t.dims
            ),
        ));
    }
    Ok(Some(values))
}

/// The HF name inside an initializer name (`model.0.auto_model.` and the
/// like stripped), when it is a BERT encoder tensor.
fn encoder_name(name: &str) -> Option<&str> {
    ["embeddings.", "encoder.layer."]
        .iter()
        .filter_map(|part| name.find(part).map(|i| &name[i..]))
        .next()
}

/// Reads the encoder tensors of the BERT model in `path` under their
/// Hugging Face names, in HF layouts, and the config they imply (with
/// `num_attention_heads` given, since weights alone do not fix it).
pub fn read_bert(
    path: &Path,
    num_attention_heads: usize,
) -> Result<(BertConfig, Vec<NamedTensor>)> {
    let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
        path: path.into(),
        source,
    })?;
    let model = ModelProto::decode(bytes.as_slice())
        .map_err(|e| bad(path, format!("not an ONNX model: {e}")))?;
    let graph = model
        .graph
        .ok_or_else(|| bad(path, "the ONNX model has no graph"))?;
    let initializers: HashMap<&str, &TensorProto> = graph
        .initializer
        .iter()
        .map(|t| (t.name.as_str(), t))
        .collect();
    let mut tensors: HashMap<String, NamedTensor> = HashMap::new();
    for t in &graph.initializer {
        if let Some(name) = encoder_name(&t.name) {
            if let Some(values) = floats(path, t)? {
                let shape = t.dims.iter().map(|&d| d as usize).collect();
                tensors.insert(
                    name.to_string(),
                    NamedTensor {
                        name: name.to_string(),
                        shape,
                        values,
                    },
                );
            }
        }
    }
    // Which node reads each value: the `Add` after a `MatMul` names it.
    let mut readers: HashMap<&str, Vec<&NodeProto>> = HashMap::new();
    for node in &graph.node {
        for input in &node.input {
            readers.entry(input.as_str()).or_default().push(node);
        }
    }
    for node in graph.node.iter().filter(|n| n.op_type == "MatMul") {
        let (Some(weight), Some(out)) = (
            node.input.get(1).and_then(|w| initializers.get(w.as_str())),
            node.output.first(),
        ) else {
            continue;
        };
        let bias = readers
            .get(out.as_str())
            .into_iter()
            .flatten()
            .find_map(|add| {
                (add.op_type == "Add")
                    .then(|| add.input.iter().find(|i| *i != out))
                    .flatten()
                    .and_then(|b| encoder_name(b))
                    .filter(|b| b.ends_with(".bias"))
            });
        let (Some(bias), Some(values), [rows, cols]) =
            (bias, floats(path, weight)?, weight.dims.as_slice())
        else {
            continue;
        };
        let (rows, cols) = (*rows as usize, *cols as usize);
        let mut transposed = vec![0f32; values.len()];
        for r in 0..rows {
            for c in 0..cols {
                transposed[c * rows + r] = values[r * cols + c];
            }
        }
        let name = format!("{}.weight", bias.trim_end_matches(".bias"));
        tensors.insert(
            name.clone(),
            NamedTensor {
                name,
                shape: vec![cols, rows],
                values: transposed,
            },
        );
    }
    let config = implied_config(path, &tensors, num_attention_heads)?;
    // The engine builds from exactly these names and shapes: a tensor the
    // graph lacks, or one of the wrong size, is found here.
    crate::engine::FastBert::from_tensors(
        &config,
        |name| tensors.get(name).map(|t| t.values.as_slice()),
        |_| crate::engine::Storage::F32,
    )
    .map_err(|e| bad(path, format!("the ONNX graph is not a complete BERT: {e}")))?;
    let mut tensors: Vec<NamedTensor> = tensors.into_values().collect();
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((config, tensors))
}

/// The config the tensor shapes imply.
fn implied_config(
    path: &Path,
    tensors: &HashMap<String, NamedTensor>,
    num_attention_heads: usize,
) -> Result<BertConfig> {
    let shape = |name: &str| {
        tensors
            .get(name)
            .map(|t| t.shape.clone())
            .ok_or_else(|| bad(path, format!("the ONNX graph has no `{name}`")))
    };
    let words = shape("embeddings.word_embeddings.weight")?;
    let positions = shape("embeddings.position_embeddings.weight")?;
    let types = shape("embeddings.token_type_embeddings.weight")?;
    let ffn = shape("encoder.layer.0.intermediate.dense.bias")?;
    let layers = tensors
        .keys()
        .filter_map(|n| {
            n.strip_prefix("encoder.layer.")?
                .split('.')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .max()
        .map_or(0, |l| l + 1);
    let config = BertConfig {
        vocab_size: words[0],
        hidden_size: words[1],
        num_hidden_layers: layers,
        num_attention_heads,
        intermediate_size: ffn[0],
        hidden_act: "gelu".into(),
        max_position_embeddings: positions[0],
        type_vocab_size: types[0],
        layer_norm_eps: 1e-12,
        pad_token_id: 0,
        hidden_dropout_prob: 0.1,
        attention_probs_dropout_prob: 0.1,
        hone_layer_shapes: None,
    };
    config.validate().map_err(|d| bad(path, d))?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(name: &str, dims: &[usize], seed: f32) -> TensorProto {
        let n: usize = dims.iter().product();
        let values: Vec<f32> = (0..n).map(|i| seed + i as f32 * 0.5).collect();
        TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: ONNX_FLOAT,
            float_data: Vec::new(),
            name: name.into(),
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            data_location: 0,
        }
    }

    /// A one-layer BERT (hidden 4, FFN 6) as a PyTorch export lays it out:
    /// named biases and LayerNorms under a prefix, anonymous `[in, out]`
    /// MatMul weights whose output an `Add` with the bias reads.
    fn export(skip: Option<&str>) -> Vec<u8> {
        let p = "model.0.auto_model.";
        let mut init = vec![
            tensor(
                &format!("{p}embeddings.word_embeddings.weight"),
                &[10, 4],
                0.0,
            ),
            tensor(
                &format!("{p}embeddings.position_embeddings.weight"),
                &[8, 4],
                1.0,
            ),
            tensor(
                &format!("{p}embeddings.token_type_embeddings.weight"),
                &[2, 4],
                2.0,
            ),
            tensor(&format!("{p}embeddings.LayerNorm.weight"), &[4], 3.0),
            tensor(&format!("{p}embeddings.LayerNorm.bias"), &[4], 4.0),
        ];
        let mut nodes = Vec::new();
        let dense = [
            ("attention.self.query", 4, 4),
            ("attention.self.key", 4, 4),
            ("attention.self.value", 4, 4),
            ("attention.output.dense", 4, 4),
            ("intermediate.dense", 4, 6),
            ("output.dense", 6, 4),
        ];
        for (k, (part, d_in, d_out)) in dense.into_iter().enumerate() {
            if skip == Some(part) {
                continue;
            }
            let (w, out, bias) = (
                format!("onnx::MatMul_{k}"),
                format!("mm_{k}"),
                format!("{p}encoder.layer.0.{part}.bias"),
            );
            init.push(tensor(&w, &[d_in, d_out], 10.0 * k as f32));
            init.push(tensor(&bias, &[d_out], 5.0));
            nodes.push(NodeProto {
                input: vec!["x".into(), w],
                output: vec![out.clone()],
                op_type: "MatMul".into(),
            });
            // Exporters put the bias first or second.
            let input = if k % 2 == 0 {
                vec![bias, out]
            } else {
                vec![out, bias]
            };
            nodes.push(NodeProto {
                input,
                output: vec![format!("add_{k}")],
                op_type: "Add".into(),
            });
        }
        for ln in ["attention.output.LayerNorm", "output.LayerNorm"] {
            init.push(tensor(
                &format!("{p}encoder.layer.0.{ln}.weight"),
                &[4],
                6.0,
            ));
            init.push(tensor(&format!("{p}encoder.layer.0.{ln}.bias"), &[4], 7.0));
        }
        ModelProto {
            graph: Some(GraphProto {
                node: nodes,
                initializer: init,
            }),
        }
        .encode_to_vec()
    }

    #[test]
    fn dense_weights_are_named_by_their_bias_and_transposed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bert.onnx");
        std::fs::write(&path, export(None)).unwrap();
        let (config, tensors) = read_bert(&path, 2).unwrap();
        assert_eq!(
            (
                config.hidden_size,
                config.num_hidden_layers,
                config.intermediate_size
            ),
            (4, 1, 6)
        );
        assert_eq!((config.vocab_size, config.max_position_embeddings), (10, 8));
        let get = |n: &str| tensors.iter().find(|t| t.name == n).unwrap();
        // intermediate.dense was MatMul_4, [in 4, out 6] with value 40 + 0.5·i.
        let ffn_in = get("encoder.layer.0.intermediate.dense.weight");
        assert_eq!(ffn_in.shape, [6, 4]);
        // HF [out, in]: element (o, i) is the export's (i, o) = 40 + 0.5·(i·6 + o).
        assert_eq!(ffn_in.values[2 * 4 + 3], 40.0 + 0.5 * (3 * 6 + 2) as f32);
        assert_eq!(get("encoder.layer.0.output.dense.weight").shape, [4, 6]);
        assert_eq!(get("embeddings.LayerNorm.bias").values[1], 4.5);
        assert!(!tensors.iter().any(|t| t.name.starts_with("onnx::")));
    }

    #[test]
    fn a_missing_tensor_or_a_non_onnx_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bert.onnx");
        std::fs::write(&path, export(Some("attention.self.key"))).unwrap();
        let err = read_bert(&path, 2).unwrap_err().to_string();
        assert!(
            err.contains("encoder.layer.0.attention.self.key.weight"),
            "{err}"
        );
        std::fs::write(&path, b"\xff\xff\xff not protobuf").unwrap();
        let err = read_bert(&path, 2).unwrap_err().to_string();
        assert!(err.contains("not an ONNX model"), "{err}");
        let err = read_bert(&dir.path().join("absent.onnx"), 2).unwrap_err();
        assert!(err.to_string().contains("absent.onnx"), "{err}");
    }
}
