//! A fast CPU inference engine for the BERT encoder: the same computation as
//! [`crate::BertModel::forward`], written over plain buffers with
//! hone-kernels' matrix multiplies (f32, int8 with fused dequantization, or
//! 4-bit weights) and vectorized row ops, both cores used by rayon.
//!
//! Why a second forward pass: burn's CPU backends run MiniLM 3–5× slower
//! than ONNX Runtime (allocation and dispatch per op, no fused epilogues),
//! and burn dequantizes quantized weights before every op, so quantization
//! could never make it faster. The engine is for inference only (no
//! autodiff); training stays on burn. Query, key and value are one fused
//! `3·hidden`-wide product; attention runs one (batch, head) pair per task.

mod linear;

use rayon::prelude::*;

pub use linear::{Format, Linear, WeightBits, Weights};

use crate::config::BertConfig;
use crate::{ModelError, Result};
use hone_kernels::f32ops::{self, Threads, View};

/// Which dense layer of which block (how quantization plans name them).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Query, key and value, fused.
    Qkv,
    AttentionOut,
    FfnIn,
    FfnOut,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Qkv, Role::AttentionOut, Role::FfnIn, Role::FfnOut];

    /// The name used in saved quantized models (`encoder.layer.N.<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Role::Qkv => "qkv",
            Role::AttentionOut => "attention_out",
            Role::FfnIn => "ffn_in",
            Role::FfnOut => "ffn_out",
        }
    }
}

/// A dense layer's place in the encoder.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct LinearId {
    pub layer: usize,
    pub role: Role,
}

impl std::fmt::Display for LinearId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "layer {} {:?}", self.layer, self.role)
    }
}

/// How to store one dense layer when building the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "format")]
pub enum Storage {
    F32,
    Int8,
    Int4 { group: usize },
}

/// An embedding table (`rows × width`), in f32 or quantized per row; a
/// lookup dequantizes only the rows it reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Table {
    F32(Vec<f32>),
    Int8 { values: Vec<i8>, scales: Vec<f32> },
    Int4(hone_kernels::int4::PackedI4),
}

impl Table {
    /// `table` stored as `storage` says (rows of `width`).
    pub fn new(table: Vec<f32>, width: usize, storage: Storage) -> Result<Self> {
        Ok(match storage {
            Storage::F32 => Table::F32(table),
            Storage::Int8 => {
                let (values, scales) = hone_kernels::quantize::quantize_rows_vec(&table, width)
                    .map_err(linear::kernel)?;
                Table::Int8 { values, scales }
            }
            Storage::Int4 { group } => Table::Int4(
                hone_kernels::int4::PackedI4::quantize(
                    &table,
                    table.len() / width.max(1),
                    width,
                    group,
                )
                .map_err(linear::kernel)?,
            ),
        })
    }

    pub fn storage(&self) -> Storage {
        match self {
            Table::F32(_) => Storage::F32,
            Table::Int8 { .. } => Storage::Int8,
            Table::Int4(p) => Storage::Int4 { group: p.group() },
        }
    }

    /// Row `row` into `out` (`width` long).
    pub fn read_row(&self, row: usize, out: &mut [f32]) {
        let w = out.len();
        match self {
            Table::F32(t) => out.copy_from_slice(&t[row * w..(row + 1) * w]),
            Table::Int8 { values, scales } => {
                for (o, &q) in out.iter_mut().zip(&values[row * w..(row + 1) * w]) {
                    *o = q as f32 * scales[row];
                }
            }
            Table::Int4(p) => p.dequantize_row(row, out),
        }
    }
}

/// LayerNorm parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Norm {
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
}

/// One encoder block.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// Attention heads (fewer than the config's after head pruning; the
    /// head size is the config's).
    pub heads: usize,
    pub qkv: Linear,
    pub attention_out: Linear,
    pub attention_norm: Norm,
    pub ffn_in: Linear,
    pub ffn_out: Linear,
    pub ffn_norm: Norm,
}

impl Block {
    pub fn linear(&self, role: Role) -> &Linear {
        match role {
            Role::Qkv => &self.qkv,
            Role::AttentionOut => &self.attention_out,
            Role::FfnIn => &self.ffn_in,
            Role::FfnOut => &self.ffn_out,
        }
    }
    pub fn linear_mut(&mut self, role: Role) -> &mut Linear {
        match role {
            Role::Qkv => &mut self.qkv,
            Role::AttentionOut => &mut self.attention_out,
            Role::FfnIn => &mut self.ffn_in,
            Role::FfnOut => &mut self.ffn_out,
        }
    }
}

/// The encoder, ready to run on the CPU.
#[derive(Clone, Debug, PartialEq)]
pub struct FastBert {
    pub config: BertConfig,
    /// Word embeddings: half of MiniLM's bytes, so quantized too where size matters.
    pub word: Table,
    pub position: Vec<f32>,
    pub token_type: Vec<f32>,
    pub embedding_norm: Norm,
    pub blocks: Vec<Block>,
}

/// A batch of token ids, row-major `batch × seq`.
#[derive(Clone, Copy, Debug)]
pub struct Tokens<'a> {
    pub ids: &'a [u32],
    pub mask: &'a [u32],
    pub types: &'a [u32],
    pub batch: usize,
    pub seq: usize,
}

impl FastBert {
    /// Builds the engine from tensors under their Hugging Face names (no
    /// prefix), e.g. from [`crate::BertModel::named_tensors`] or a
    /// safetensors file, storing each dense layer as `storage` says.
    pub fn from_tensors<'t>(
        config: &BertConfig,
        tensor: impl Fn(&str) -> Option<&'t [f32]>,
        storage: impl Fn(LinearId) -> Storage,
    ) -> Result<Self> {
        if crate::bert::Activation::from_hf(&config.hidden_act)
            != Some(crate::bert::Activation::Gelu)
        {
            return Err(ModelError::Engine(format!(
                "the CPU engine runs hidden_act `gelu` only, not `{}`",
                config.hidden_act
            )));
        }
        let h = config.hidden_size;
        let get = |name: &str, len: usize| -> Result<Vec<f32>> {
            let t = tensor(name).ok_or_else(|| ModelError::MissingTensor {
                path: "engine".into(),
                tensor: name.into(),
            })?;
            if t.len() != len {
                return Err(ModelError::Engine(format!(
                    "tensor `{name}` has {} values, expected {len}",
                    t.len()
                )));
            }
            Ok(t.to_vec())
        };
        let norm = |p: &str| -> Result<Norm> {
            Ok(Norm {
                gamma: get(&format!("{p}.weight"), h)?,
                beta: get(&format!("{p}.bias"), h)?,
            })
        };
        let linear =
            |id: LinearId, w: Vec<f32>, b: Vec<f32>, d_out: usize, d_in: usize| match storage(id) {
                Storage::F32 => Linear::f32(&w, b, d_out, d_in),
                Storage::Int8 => Linear::int8(&w, b, d_out, d_in),
                Storage::Int4 { group } => Linear::int4(&w, b, d_out, d_in, group),
            };
        let mut blocks = Vec::with_capacity(config.num_hidden_layers);
        for layer in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{layer}");
            let id = |role| LinearId { layer, role };
            let shape = config.layer(layer);
            let width = shape.heads * config.head_dim();
            let mut qkv_w = Vec::with_capacity(3 * width * h);
            let mut qkv_b = Vec::with_capacity(3 * width);
            for part in ["query", "key", "value"] {
                qkv_w.extend(get(
                    &format!("{p}.attention.self.{part}.weight"),
                    width * h,
                )?);
                qkv_b.extend(get(&format!("{p}.attention.self.{part}.bias"), width)?);
            }
            let ffn = shape.intermediate_size;
            blocks.push(Block {
                heads: shape.heads,
                qkv: linear(id(Role::Qkv), qkv_w, qkv_b, 3 * width, h)?,
                attention_out: linear(
                    id(Role::AttentionOut),
                    get(&format!("{p}.attention.output.dense.weight"), h * width)?,
                    get(&format!("{p}.attention.output.dense.bias"), h)?,
                    h,
                    width,
                )?,
                attention_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                ffn_in: linear(
                    id(Role::FfnIn),
                    get(&format!("{p}.intermediate.dense.weight"), ffn * h)?,
                    get(&format!("{p}.intermediate.dense.bias"), ffn)?,
                    ffn,
                    h,
                )?,
                ffn_out: linear(
                    id(Role::FfnOut),
                    get(&format!("{p}.output.dense.weight"), h * ffn)?,
                    get(&format!("{p}.output.dense.bias"), h)?,
                    h,
                    ffn,
                )?,
                ffn_norm: norm(&format!("{p}.output.LayerNorm"))?,
            });
        }
        Ok(FastBert {
            config: config.clone(),
            word: Table::F32(get(
                "embeddings.word_embeddings.weight",
                config.vocab_size * h,
            )?),
            position: get(
                "embeddings.position_embeddings.weight",
                config.max_position_embeddings * h,
            )?,
            token_type: get(
                "embeddings.token_type_embeddings.weight",
                config.type_vocab_size * h,
            )?,
            embedding_norm: norm("embeddings.LayerNorm")?,
            blocks,
        })
    }

    /// The last hidden state, row-major `batch × seq × hidden`.
    pub fn forward(&self, tokens: Tokens<'_>) -> Result<Vec<f32>> {
        self.forward_observed(tokens, &mut |_, _| {})
    }

    /// [`Self::forward`], showing `observe` the input of every dense layer
    /// (calibration collects activation ranges this way).
    pub fn forward_observed(
        &self,
        tokens: Tokens<'_>,
        observe: &mut dyn FnMut(LinearId, &[f32]),
    ) -> Result<Vec<f32>> {
        self.check(tokens)?;
        let h = self.config.hidden_size;
        let rows = tokens.batch * tokens.seq;
        if rows == 0 {
            return Ok(Vec::new());
        }
        let eps = self.config.layer_norm_eps as f32;
        let mut hidden = self.embed(tokens);
        par_rows(&mut hidden, h, |row| {
            f32ops::layer_norm_rows(
                row,
                &self.embedding_norm.gamma,
                &self.embedding_norm.beta,
                eps,
            )
        });
        // Additive attention bias per key: 0 for tokens, very negative for padding.
        let key_bias: Vec<f32> = tokens
            .mask
            .iter()
            .map(|&m| if m == 0 { -1e9 } else { 0.0 })
            .collect();
        let mut qkv = Vec::new();
        let mut context = Vec::new();
        let mut projected = vec![0.0; rows * h];
        let mut inner = Vec::new();
        for (layer, block) in self.blocks.iter().enumerate() {
            let id = |role| LinearId { layer, role };
            // Pruned blocks differ in width: the buffers follow each block.
            let width = block.heads * self.config.head_dim();
            qkv.resize(rows * 3 * width, 0.0);
            context.resize(rows * width, 0.0);
            inner.resize(rows * block.ffn_in.d_out, 0.0);
            observe(id(Role::Qkv), &hidden);
            block.qkv.forward(&hidden, rows, &mut qkv)?;
            self.attention(&qkv, block.heads, &key_bias, tokens, &mut context)?;
            observe(id(Role::AttentionOut), &context);
            block
                .attention_out
                .forward(&context, rows, &mut projected)?;
            add_and_norm(&mut projected, &hidden, &block.attention_norm, eps);
            std::mem::swap(&mut hidden, &mut projected);
            observe(id(Role::FfnIn), &hidden);
            block.ffn_in.forward(&hidden, rows, &mut inner)?;
            // GELU runs inside FFN-out's quantizing pass; `inner` holds its
            // output afterwards, which is what FFN-out's input is observed as.
            block
                .ffn_out
                .forward_after(&mut inner, rows, f32ops::gelu, &mut projected)?;
            observe(id(Role::FfnOut), &inner);
            add_and_norm(&mut projected, &hidden, &block.ffn_norm, eps);
            std::mem::swap(&mut hidden, &mut projected);
        }
        Ok(hidden)
    }

    /// Mean of the hidden states over real (mask = 1) tokens: `batch × hidden`.
    pub fn mean_pool(&self, hidden: &[f32], tokens: Tokens<'_>) -> Vec<f32> {
        let h = self.config.hidden_size;
        let mut out = vec![0.0; tokens.batch * h];
        for (b, pooled) in out.chunks_exact_mut(h).enumerate() {
            let mut count = 0.0f32;
            for t in 0..tokens.seq {
                if tokens.mask[b * tokens.seq + t] != 0 {
                    count += 1.0;
                    let row = &hidden[(b * tokens.seq + t) * h..][..h];
                    pooled.iter_mut().zip(row).for_each(|(p, v)| *p += v);
                }
            }
            let inv = 1.0 / count.max(1e-9);
            pooled.iter_mut().for_each(|p| *p *= inv);
        }
        out
    }

    fn check(&self, t: Tokens<'_>) -> Result<()> {
        let n = t.batch * t.seq;
        if t.ids.len() != n || t.mask.len() != n || t.types.len() != n {
            return Err(ModelError::Input(format!(
                "ids, mask and types must each hold batch × seq = {n} values (got {}, {}, {})",
                t.ids.len(),
                t.mask.len(),
                t.types.len()
            )));
        }
        if t.seq > self.config.max_position_embeddings {
            return Err(ModelError::Input(format!(
                "sequence of {} tokens exceeds the model's {} positions",
                t.seq, self.config.max_position_embeddings
            )));
        }
        if let Some(&id) = t
            .ids
            .iter()
            .find(|&&id| id as usize >= self.config.vocab_size)
        {
            return Err(ModelError::Input(format!(
                "token id {id} is outside the vocabulary of {}",
                self.config.vocab_size
            )));
        }
        if let Some(&ty) = t
            .types
            .iter()
            .find(|&&ty| ty as usize >= self.config.type_vocab_size)
        {
            return Err(ModelError::Input(format!(
                "token type {ty} is outside the {} types",
                self.config.type_vocab_size
            )));
        }
        Ok(())
    }

    fn embed(&self, t: Tokens<'_>) -> Vec<f32> {
        let h = self.config.hidden_size;
        let mut out = vec![0.0; t.batch * t.seq * h];
        for (i, row) in out.chunks_exact_mut(h).enumerate() {
            let (id, ty, pos) = (t.ids[i] as usize, t.types[i] as usize, i % t.seq);
            self.word.read_row(id, row);
            let position = &self.position[pos * h..][..h];
            let kind = &self.token_type[ty * h..][..h];
            for c in 0..h {
                row[c] += position[c] + kind[c];
            }
        }
        out
    }

    /// Scaled dot-product attention of every (batch, head) pair; `qkv` rows
    /// hold `[q | k | v]`, each `heads × head size` wide, and `context`
    /// receives `batch × seq × heads·head size`.
    fn attention(
        &self,
        qkv: &[f32],
        heads: usize,
        key_bias: &[f32],
        t: Tokens<'_>,
        context: &mut [f32],
    ) -> Result<()> {
        let dh = self.config.head_dim();
        // `h` is the attention width here, not the hidden width.
        let h = heads * dh;
        let seq = t.seq;
        let scale = 1.0 / (dh as f32).sqrt();
        // One task per (batch, head), each writing its own seq × dh block;
        // the blocks are interleaved back into rows afterwards.
        let mut per_head = vec![0.0f32; t.batch * heads * seq * dh];
        per_head.par_chunks_mut(seq * dh).enumerate().try_for_each(
            |(task, out)| -> Result<()> {
                let (b, head) = (task / heads, task % heads);
                let base = &qkv[b * seq * 3 * h..(b + 1) * seq * 3 * h];
                let view = |part: usize| View {
                    data: &base[part * h + head * dh..],
                    rows: seq,
                    cols: dh,
                    row_stride: 3 * h,
                    col_stride: 1,
                };
                let mut scores = vec![0.0f32; seq * seq];
                f32ops::matmul(view(0), view(1).t(), &mut scores, seq, false, Threads::One)
                    .map_err(linear::kernel)?;
                let bias = &key_bias[b * seq..(b + 1) * seq];
                f32ops::softmax_rows(&mut scores, seq, scale, bias);
                f32ops::matmul(
                    View::row_major(&scores, seq, seq),
                    view(2),
                    out,
                    dh,
                    false,
                    Threads::One,
                )
                .map_err(linear::kernel)
            },
        )?;
        for (task, block) in per_head.chunks_exact(seq * dh).enumerate() {
            let (b, head) = (task / heads, task % heads);
            for (s, src) in block.chunks_exact(dh).enumerate() {
                context[(b * seq + s) * h + head * dh..][..dh].copy_from_slice(src);
            }
        }
        Ok(())
    }
}

/// `x = LayerNorm(x + residual)` row by row, in parallel.
fn add_and_norm(x: &mut [f32], residual: &[f32], norm: &Norm, eps: f32) {
    let h = norm.gamma.len();
    x.par_chunks_mut(ROWS_PER_TASK * h)
        .zip(residual.par_chunks(ROWS_PER_TASK * h))
        .for_each(|(x, r)| f32ops::add_layer_norm_rows(x, r, &norm.gamma, &norm.beta, eps));
}

/// Rows handed to one rayon task by the row-wise ops.
pub(crate) const ROWS_PER_TASK: usize = 16;

fn par_rows(x: &mut [f32], cols: usize, f: impl Fn(&mut [f32]) + Sync + Send) {
    x.par_chunks_mut(ROWS_PER_TASK * cols).for_each(f);
}
