//! Quantization schemes and the quantize step: a [`SourceModel`] plus a
//! [`Plan`] gives a [`QuantizedModel`] — the engine with int8 or 4-bit
//! dense layers and word embeddings, the carried-over f32 tensors (task
//! head, pooler) and a [`QuantInfo`] record of what was done, saved beside
//! the weights as `hone_quant.json`.

pub mod calibrate;
pub mod fallback;
pub mod folder;
pub mod smooth;

use std::collections::BTreeSet;

use hone_model::engine::{FastBert, Linear, LinearId, Role, Storage, Table, WeightBits, Weights};
use serde::{Deserialize, Serialize};

pub use crate::source::{Extra, SourceModel};
pub use calibrate::{Batch, Method};
pub use folder::{QUANT_FILE, WEIGHTS_FILE, is_quantized, load, save};
pub use smooth::{Smoothing, SmoothingInfo};

use crate::{CompressError, Result};

/// What to quantize to.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "scheme")]
pub enum Scheme {
    /// int8 weights per output channel, int8 activations per token at run time.
    Int8Dynamic,
    /// As `Int8Dynamic`, from weights first fine-tuned with these very
    /// roundings simulated (quantization-aware training, done by the caller
    /// with hone-tasks' `fake_quant` setting).
    Int8Qat,
    /// int8 weights, int8 activations with per-tensor scales calibrated on texts.
    Int8Static { method: Method },
    /// 4-bit weights in groups of `group` inputs; f32 activations.
    Int4Weight { group: usize },
}

impl Scheme {
    /// The CLI name (`int8-dynamic`, `int8-static`, `int4-weight`).
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::Int8Dynamic => "int8-dynamic",
            Scheme::Int8Qat => "int8-qat",
            Scheme::Int8Static { .. } => "int8-static",
            Scheme::Int4Weight { .. } => "int4-weight",
        }
    }

    fn storage(&self) -> Storage {
        match *self {
            Scheme::Int8Dynamic | Scheme::Int8Qat | Scheme::Int8Static { .. } => Storage::Int8,
            Scheme::Int4Weight { group } => Storage::Int4 { group },
        }
    }
}

/// How one model is to be quantized.
#[derive(Clone, Debug)]
pub struct Plan {
    pub scheme: Scheme,
    /// Dense layers left in f32 (the accuracy-driven fallback fills this).
    pub keep_f32: BTreeSet<LinearId>,
    /// Leave the word embeddings in f32 too.
    pub keep_f32_embeddings: bool,
    /// Tokenized calibration texts (int8-static only).
    pub calibration: Vec<Batch>,
    /// Per-channel smoothing of the layers reading LayerNorm outputs
    /// (int8-dynamic only), measured beforehand with [`Smoothing::measure`].
    pub smoothing: Option<Smoothing>,
    /// Where the calibration texts came from, for the record.
    pub calibration_source: Option<String>,
    /// The grid of int8 weights (7 bits: the faster exact kernel on AVX2).
    pub weight_bits: WeightBits,
}

impl Plan {
    pub fn new(scheme: Scheme) -> Self {
        Plan {
            scheme,
            keep_f32: BTreeSet::new(),
            keep_f32_embeddings: false,
            calibration: Vec::new(),
            calibration_source: None,
            smoothing: None,
            weight_bits: WeightBits::Eight,
        }
    }
}

/// One dense layer as quantized.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerInfo {
    #[serde(flatten)]
    pub id: LinearId,
    pub storage: Storage,
    /// The static activation scale (int8-static), absent when dynamic.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub activation_scale: Option<f32>,
    /// Whether its inputs are smoothed (the folder then holds
    /// `<layer>.input_scale`, the factor each input channel is multiplied by).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub smoothed: bool,
}

/// `hone_quant.json`: what a quantized folder holds and how it was made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantInfo {
    pub format_version: u32,
    pub scheme: Scheme,
    /// The model folder it was quantized from.
    pub source: String,
    pub word_embeddings: Storage,
    /// The grid of the int8 dense layers' weights (folders written before
    /// 7-bit weights existed read as 8).
    #[serde(default)]
    pub weight_bits: WeightBits,
    pub layers: Vec<LayerInfo>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub calibration: Option<CalibrationInfo>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub smoothing: Option<SmoothingInfo>,
    /// The accuracy-driven fallback's record, when it ran.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fallback: Option<fallback::FallbackReport>,
    /// Size of the source's f32 weights file.
    pub source_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationInfo {
    pub method: Method,
    pub texts: usize,
    pub data: String,
}

/// Version 2 added smoothing (`input_scale` tensors); a version-1 folder
/// reads as one without it. An older hone refuses version 2 instead of
/// silently running smoothed weights on unsmoothed activations.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format this hone still reads.
pub const OLDEST_FORMAT_VERSION: u32 = 1;

/// A quantized encoder with what travels with it.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedModel {
    pub engine: FastBert,
    pub extras: Vec<Extra>,
    pub info: QuantInfo,
}

/// Quantizes `source` as `plan` says.
pub fn quantize(source: &SourceModel, plan: &Plan) -> Result<QuantizedModel> {
    let storage = plan.scheme.storage();
    for id in &plan.keep_f32 {
        if id.layer >= source.config.num_hidden_layers {
            return Err(CompressError::Invalid(format!(
                "cannot keep {id} in f32: the model has {} layers",
                source.config.num_hidden_layers
            )));
        }
    }
    let choose = |id: LinearId| {
        if plan.keep_f32.contains(&id) {
            Storage::F32
        } else {
            storage
        }
    };
    if plan.smoothing.is_some() && plan.scheme != Scheme::Int8Dynamic {
        return Err(CompressError::Invalid(format!(
            "smoothing is for int8-dynamic, not {}",
            plan.scheme.name()
        )));
    }
    if plan.weight_bits != WeightBits::Eight && plan.scheme == Scheme::Int8Qat {
        return Err(CompressError::Invalid(
            "int8-qat fine-tuned against 8-bit weights; quantize it with 8-bit weights".into(),
        ));
    }
    // int8 layers are built in f32, then quantized on the plan's grid —
    // the smoothed ones with their factors.
    let int8 = |id: LinearId| choose(id) == Storage::Int8;
    let smoothed =
        |id: LinearId| plan.smoothing.is_some() && smooth::ROLES.contains(&id.role) && int8(id);
    let mut engine = source.engine(|id| if int8(id) { Storage::F32 } else { choose(id) })?;
    if let Some(smoothing) = &plan.smoothing {
        smoothing.apply(&mut engine, smoothed, plan.weight_bits)?;
    }
    quantize_f32_layers(
        &mut engine,
        |id| int8(id) && !smoothed(id),
        plan.weight_bits,
    )?;
    let mut calibration = None;
    if let Scheme::Int8Static { method } = plan.scheme {
        // Scales come from what the f32 model's layers see.
        let scales =
            calibrate::calibrate(&source.engine(|_| Storage::F32)?, &plan.calibration, method)?;
        for (layer, block) in engine.blocks.iter_mut().enumerate() {
            for role in Role::ALL {
                if let Weights::Int8 {
                    activation_scale, ..
                } = &mut block.linear_mut(role).weights
                {
                    *activation_scale = scales.get(&LinearId { layer, role }).copied();
                }
            }
        }
        calibration = Some(CalibrationInfo {
            method,
            texts: plan.calibration.iter().map(|b| b.batch).sum(),
            data: plan.calibration_source.clone().unwrap_or_default(),
        });
    }
    let h = source.config.hidden_size;
    let word = match std::mem::replace(&mut engine.word, Table::F32(Vec::new())) {
        Table::F32(values) => values,
        _ => unreachable!("the engine is built with f32 embeddings"),
    };
    let word_storage = if plan.keep_f32_embeddings {
        Storage::F32
    } else {
        storage
    };
    engine.word = Table::new(word, h, word_storage)?;
    let info = QuantInfo {
        format_version: FORMAT_VERSION,
        scheme: plan.scheme,
        source: source.dir.display().to_string(),
        word_embeddings: word_storage,
        weight_bits: plan.weight_bits,
        layers: layer_infos(&engine),
        calibration,
        smoothing: plan.smoothing.as_ref().map(|s| s.info.clone()),
        fallback: None,
        source_bytes: source.file_bytes(),
    };
    Ok(QuantizedModel {
        engine,
        extras: source.extras.clone(),
        info,
    })
}

/// Quantizes each still-f32 dense layer that `chosen` names to int8 on the
/// grid of `bits`.
fn quantize_f32_layers(
    engine: &mut FastBert,
    chosen: impl Fn(LinearId) -> bool,
    bits: WeightBits,
) -> Result<()> {
    for (layer, block) in engine.blocks.iter_mut().enumerate() {
        for role in Role::ALL {
            let target = block.linear_mut(role);
            if !chosen(LinearId { layer, role }) || !matches!(target.weights, Weights::F32(_)) {
                continue;
            }
            let w = target.weight_out_in();
            let bias = std::mem::take(&mut target.bias);
            *target = Linear::int8_with(&w, bias, target.d_out, target.d_in, bits)?;
        }
    }
    Ok(())
}

fn layer_infos(engine: &FastBert) -> Vec<LayerInfo> {
    let mut out = Vec::new();
    for (layer, block) in engine.blocks.iter().enumerate() {
        for role in Role::ALL {
            let linear = block.linear(role);
            let (storage, activation_scale, smoothed) = match &linear.weights {
                Weights::F32(_) => (Storage::F32, None, false),
                Weights::Int8 {
                    activation_scale,
                    input_scale,
                    ..
                } => (Storage::Int8, *activation_scale, input_scale.is_some()),
                Weights::Int4(p) => (Storage::Int4 { group: p.group() }, None, false),
            };
            out.push(LayerInfo {
                id: LinearId { layer, role },
                storage,
                activation_scale,
                smoothed,
            });
        }
    }
    out
}
