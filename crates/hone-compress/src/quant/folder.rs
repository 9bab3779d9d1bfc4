//! The quantized model folder: the source's `config.json`, tokenizer and
//! task files, `model.quant.safetensors` (int8 tensors as I8, 4-bit ones as
//! U8 with two values per byte, their scales and everything else as F32) and
//! `hone_quant.json`. Written to a temporary folder beside the target and
//! renamed into place, so a failed save leaves nothing half-written; read
//! back bit-exactly.

use std::collections::HashMap;
use std::path::Path;

use hone_kernels::int4::PackedI4;
use hone_kernels::int8::PackedS8;
use hone_model::BertConfig;
use hone_model::engine::{Block, FastBert, Linear, LinearId, Norm, Role, Storage, Table, Weights};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use super::{Extra, FORMAT_VERSION, OLDEST_FORMAT_VERSION, QuantInfo, QuantizedModel};
use crate::error::io;
use crate::{CompressError, Result};

pub const WEIGHTS_FILE: &str = "model.quant.safetensors";
pub const QUANT_FILE: &str = "hone_quant.json";
/// Whether `dir` holds a quantized model.
pub fn is_quantized(dir: &Path) -> bool {
    dir.join(QUANT_FILE).is_file()
}

/// One tensor to write.
struct Out {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

fn f32_tensor(name: String, shape: Vec<usize>, values: &[f32]) -> Out {
    Out {
        name,
        dtype: Dtype::F32,
        shape,
        bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

fn i8_tensor(name: String, shape: Vec<usize>, values: &[i8]) -> Out {
    Out {
        name,
        dtype: Dtype::I8,
        shape,
        bytes: values.iter().map(|&v| v as u8).collect(),
    }
}

fn u8_tensor(name: String, shape: Vec<usize>, values: &[u8]) -> Out {
    Out {
        name,
        dtype: Dtype::U8,
        shape,
        bytes: values.to_vec(),
    }
}

/// Weight tensors of a matrix stored as `storage`, under `prefix`.
fn matrix_tensors(
    prefix: &str,
    rows: usize,
    cols: usize,
    weights: &MatrixRef<'_>,
    out: &mut Vec<Out>,
) {
    match weights {
        MatrixRef::F32(values) => out.push(f32_tensor(
            format!("{prefix}.weight"),
            vec![rows, cols],
            values,
        )),
        MatrixRef::Int8(values, scales) => {
            out.push(i8_tensor(
                format!("{prefix}.weight_i8"),
                vec![rows, cols],
                values,
            ));
            out.push(f32_tensor(
                format!("{prefix}.weight_scale"),
                vec![rows],
                scales,
            ));
        }
        MatrixRef::Int4(p) => {
            out.push(u8_tensor(
                format!("{prefix}.weight_i4"),
                vec![rows, cols / 2],
                p.data(),
            ));
            out.push(f32_tensor(
                format!("{prefix}.weight_scale"),
                vec![rows, cols / p.group()],
                p.scales(),
            ));
        }
    }
}

enum MatrixRef<'a> {
    F32(std::borrow::Cow<'a, [f32]>),
    Int8(std::borrow::Cow<'a, [i8]>, &'a [f32]),
    Int4(&'a PackedI4),
}

fn linear_prefix(id: LinearId) -> String {
    format!("encoder.layer.{}.{}", id.layer, id.role.name())
}

/// Saves `model` to `out_dir` (replacing nothing: it must not exist yet),
/// copying the config and tokenizer files from `source_dir`.
pub fn save(model: &QuantizedModel, source_dir: &Path, out_dir: &Path) -> Result<u64> {
    let tensors = tensors_of(model);
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|t| {
            let view = TensorView::new(t.dtype, t.shape.clone(), &t.bytes)
                .map_err(|e| CompressError::Invalid(format!("tensor {}: {e:?}", t.name)))?;
            Ok((t.name.clone(), view))
        })
        .collect::<Result<_>>()?;
    let bytes = safetensors::serialize(views, None)
        .map_err(|e| CompressError::Invalid(format!("{e:?}")))?;
    crate::folder::write_model_folder(source_dir, out_dir, |tmp| {
        let weights = tmp.join(WEIGHTS_FILE);
        std::fs::write(&weights, &bytes).map_err(io(&weights))?;
        let info = tmp.join(QUANT_FILE);
        let json = serde_json::to_string_pretty(&model.info).expect("QuantInfo serializes");
        std::fs::write(&info, json).map_err(io(&info))
    })?;
    Ok(bytes.len() as u64)
}

fn tensors_of(model: &QuantizedModel) -> Vec<Out> {
    let e = &model.engine;
    let c = &e.config;
    let h = c.hidden_size;
    let mut out = Vec::new();
    let word = match &e.word {
        Table::F32(v) => MatrixRef::F32(v.into()),
        Table::Int8 { values, scales } => MatrixRef::Int8(values.into(), scales),
        Table::Int4(p) => MatrixRef::Int4(p),
    };
    matrix_tensors(
        "embeddings.word_embeddings",
        c.vocab_size,
        h,
        &word,
        &mut out,
    );
    out.push(f32_tensor(
        "embeddings.position_embeddings.weight".into(),
        vec![c.max_position_embeddings, h],
        &e.position,
    ));
    out.push(f32_tensor(
        "embeddings.token_type_embeddings.weight".into(),
        vec![c.type_vocab_size, h],
        &e.token_type,
    ));
    norm_tensors("embeddings.LayerNorm", &e.embedding_norm, &mut out);
    for (layer, block) in e.blocks.iter().enumerate() {
        for role in Role::ALL {
            let prefix = linear_prefix(LinearId { layer, role });
            let l = block.linear(role);
            let weights = match &l.weights {
                Weights::F32(_) => MatrixRef::F32(l.weight_out_in().into()),
                Weights::Int8 {
                    packed,
                    input_scale,
                    ..
                } => {
                    if let Some(input) = input_scale {
                        out.push(f32_tensor(
                            format!("{prefix}.input_scale"),
                            vec![l.d_in],
                            input,
                        ));
                    }
                    MatrixRef::Int8(packed.to_nk().into(), packed.scales())
                }
                Weights::Int4(p) => MatrixRef::Int4(p),
            };
            matrix_tensors(&prefix, l.d_out, l.d_in, &weights, &mut out);
            out.push(f32_tensor(format!("{prefix}.bias"), vec![l.d_out], &l.bias));
        }
        norm_tensors(
            &format!("encoder.layer.{layer}.attention_norm"),
            &block.attention_norm,
            &mut out,
        );
        norm_tensors(
            &format!("encoder.layer.{layer}.ffn_norm"),
            &block.ffn_norm,
            &mut out,
        );
    }
    for x in &model.extras {
        out.push(f32_tensor(x.name.clone(), x.shape.clone(), &x.values));
    }
    out
}

fn norm_tensors(prefix: &str, norm: &Norm, out: &mut Vec<Out>) {
    out.push(f32_tensor(
        format!("{prefix}.weight"),
        vec![norm.gamma.len()],
        &norm.gamma,
    ));
    out.push(f32_tensor(
        format!("{prefix}.bias"),
        vec![norm.beta.len()],
        &norm.beta,
    ));
}

/// Reads a quantized folder written by [`save`].
pub fn load(dir: &Path) -> Result<QuantizedModel> {
    let info_path = dir.join(QUANT_FILE);
    let text = std::fs::read_to_string(&info_path).map_err(io(&info_path))?;
    let info: QuantInfo = serde_json::from_str(&text).map_err(|e| CompressError::Corrupt {
        path: info_path.clone(),
        detail: e.to_string(),
    })?;
    if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&info.format_version) {
        return Err(CompressError::Corrupt {
            path: info_path,
            detail: format!(
                "format version {} (this hone reads {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION})",
                info.format_version
            ),
        });
    }
    let config = BertConfig::from_file(&dir.join("config.json"))?;
    if hone_model::bert::Activation::from_hf(&config.hidden_act)
        != Some(hone_model::bert::Activation::Gelu)
    {
        return Err(CompressError::Corrupt {
            path: dir.join("config.json"),
            detail: format!(
                "hidden_act `{}`: the CPU engine runs `gelu` only",
                config.hidden_act
            ),
        });
    }
    if let Some(bad) = info.layers.iter().find(|l| {
        l.activation_scale
            .is_some_and(|s| !(s.is_finite() && s > 0.0))
    }) {
        return Err(CompressError::Corrupt {
            path: info_path,
            detail: format!("{}: activation scale must be positive and finite", bad.id),
        });
    }
    let path = dir.join(WEIGHTS_FILE);
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| CompressError::Corrupt {
        path: path.clone(),
        detail: format!("{e:?} (truncated or not a safetensors file?)"),
    })?;
    let r = Reader {
        st: &st,
        path: &path,
    };
    let h = config.hidden_size;
    let norm = |p: &str| -> Result<Norm> {
        Ok(Norm {
            gamma: r.f32(&format!("{p}.weight"), &[h])?,
            beta: r.f32(&format!("{p}.bias"), &[h])?,
        })
    };
    let word = match info.word_embeddings {
        Storage::F32 => {
            Table::F32(r.f32("embeddings.word_embeddings.weight", &[config.vocab_size, h])?)
        }
        Storage::Int8 => Table::Int8 {
            values: r.i8(
                "embeddings.word_embeddings.weight_i8",
                &[config.vocab_size, h],
            )?,
            scales: r.f32(
                "embeddings.word_embeddings.weight_scale",
                &[config.vocab_size],
            )?,
        },
        Storage::Int4 { group } => {
            Table::Int4(r.int4("embeddings.word_embeddings", config.vocab_size, h, group)?)
        }
    };
    let layer_info: HashMap<LinearId, _> = info.layers.iter().map(|l| (l.id, l)).collect();
    let mut blocks = Vec::new();
    for layer in 0..config.num_hidden_layers {
        let linear = |role: Role, d_out: usize, d_in: usize| -> Result<Linear> {
            let id = LinearId { layer, role };
            let li = layer_info.get(&id).ok_or_else(|| CompressError::Corrupt {
                path: info_path.clone(),
                detail: format!("no entry for {id}"),
            })?;
            let prefix = linear_prefix(id);
            let bias = r.f32(&format!("{prefix}.bias"), &[d_out])?;
            let weights = match li.storage {
                Storage::F32 => {
                    let w = r.f32(&format!("{prefix}.weight"), &[d_out, d_in])?;
                    return Ok(Linear::f32(&w, bias, d_out, d_in)?);
                }
                Storage::Int8 => Weights::Int8 {
                    packed: PackedS8::from_nk(
                        &r.i8(&format!("{prefix}.weight_i8"), &[d_out, d_in])?,
                        d_out,
                        d_in,
                        r.f32(&format!("{prefix}.weight_scale"), &[d_out])?,
                    )
                    .map_err(|e| r.corrupt(e.to_string()))?,
                    activation_scale: li.activation_scale,
                    input_scale: if li.smoothed {
                        let input = r.f32(&format!("{prefix}.input_scale"), &[d_in])?;
                        if input.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
                            return Err(r.corrupt(format!(
                                "{prefix}.input_scale must be positive and finite"
                            )));
                        }
                        if li.activation_scale.is_some() {
                            return Err(r.corrupt(format!(
                                "{id}: smoothing is for per-token (dynamic) activation scales"
                            )));
                        }
                        Some(input)
                    } else {
                        None
                    },
                },
                Storage::Int4 { group } => Weights::Int4(r.int4(&prefix, d_out, d_in, group)?),
            };
            Ok(Linear {
                d_in,
                d_out,
                weights,
                bias,
            })
        };
        let shape = config.layer(layer);
        let (f, width) = (shape.intermediate_size, shape.heads * config.head_dim());
        blocks.push(Block {
            heads: shape.heads,
            qkv: linear(Role::Qkv, 3 * width, h)?,
            attention_out: linear(Role::AttentionOut, h, width)?,
            attention_norm: norm(&format!("encoder.layer.{layer}.attention_norm"))?,
            ffn_in: linear(Role::FfnIn, f, h)?,
            ffn_out: linear(Role::FfnOut, h, f)?,
            ffn_norm: norm(&format!("encoder.layer.{layer}.ffn_norm"))?,
        });
    }
    let engine = FastBert {
        word,
        position: r.f32(
            "embeddings.position_embeddings.weight",
            &[config.max_position_embeddings, h],
        )?,
        token_type: r.f32(
            "embeddings.token_type_embeddings.weight",
            &[config.type_vocab_size, h],
        )?,
        embedding_norm: norm("embeddings.LayerNorm")?,
        blocks,
        config,
    };
    let mut extras = Vec::new();
    for (name, view) in st.tensors() {
        if !name.starts_with("embeddings.") && !name.starts_with("encoder.") {
            let shape = view.shape().to_vec();
            let values = r.f32(&name, &shape)?;
            extras.push(Extra {
                name,
                shape,
                values,
            });
        }
    }
    extras.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(QuantizedModel {
        engine,
        extras,
        info,
    })
}

struct Reader<'a> {
    st: &'a SafeTensors<'a>,
    path: &'a Path,
}

impl Reader<'_> {
    fn corrupt(&self, detail: String) -> CompressError {
        CompressError::Corrupt {
            path: self.path.into(),
            detail,
        }
    }

    fn raw(&self, name: &str, dtype: Dtype, shape: &[usize]) -> Result<&[u8]> {
        let view = self
            .st
            .tensor(name)
            .map_err(|_| self.corrupt(format!("tensor `{name}` is missing")))?;
        if view.dtype() != dtype || view.shape() != shape {
            return Err(self.corrupt(format!(
                "tensor `{name}` is {:?} {:?}, expected {dtype:?} {shape:?}",
                view.dtype(),
                view.shape()
            )));
        }
        Ok(view.data())
    }

    fn f32(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        Ok(self
            .raw(name, Dtype::F32, shape)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    fn i8(&self, name: &str, shape: &[usize]) -> Result<Vec<i8>> {
        Ok(self
            .raw(name, Dtype::I8, shape)?
            .iter()
            .map(|&b| b as i8)
            .collect())
    }

    fn int4(&self, prefix: &str, rows: usize, cols: usize, group: usize) -> Result<PackedI4> {
        if group == 0 || cols % group != 0 || cols % 2 != 0 {
            return Err(self.corrupt(format!("{prefix}: group {group} does not divide {cols}")));
        }
        let data = self
            .raw(&format!("{prefix}.weight_i4"), Dtype::U8, &[rows, cols / 2])?
            .to_vec();
        let scales = self.f32(&format!("{prefix}.weight_scale"), &[rows, cols / group])?;
        PackedI4::from_parts(rows, cols, group, data, scales)
            .map_err(|e| self.corrupt(e.to_string()))
    }
}
