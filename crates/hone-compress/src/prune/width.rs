//! Width pruning: a model with fewer hidden channels. A channel is one
//! column of the residual stream, so it is cut everywhere the stream is
//! read or written (HF layout, weights `[out, in]`): a column of every
//! embedding table, an entry of every LayerNorm, a column of query, key,
//! value, feed-forward-in, pooler and classifier weights, a row of
//! attention-out, feed-forward-out and pooler weights (and their biases).
//! Attention heads keep their size (32 in MiniLM) and count: the new
//! `num_attention_heads` only fixes the head size, each layer's real heads
//! are listed in `hone_layer_shapes`.
//!
//! Cutting channels changes what each LayerNorm normalizes over, so a
//! narrowed model must be trained again — it is a distilled student's
//! starting point, not a finished model.

use hone_model::LayerShape;

use super::slice::{take_cols, take_rows};
use crate::{CompressError, Result, SourceModel};

/// The `width` channels with the highest `scores`, ascending.
pub fn select_channels(scores: &[f64], width: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // Highest score first; ties broken by position so runs repeat.
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order.truncate(width);
    order.sort_unstable();
    order
}

/// `source` with only hidden channels `keep` (ascending, non-empty, a
/// multiple of the head size so heads keep their size).
pub fn narrow(source: &SourceModel, keep: &[usize]) -> Result<SourceModel> {
    let c = &source.config;
    let (h, dh) = (c.hidden_size, c.head_dim());
    if keep.is_empty() || keep.windows(2).any(|w| w[0] >= w[1]) || keep.iter().any(|&i| i >= h) {
        return Err(CompressError::Invalid(format!(
            "hidden channels to keep must be ascending within 0..{h}"
        )));
    }
    if keep.len() % dh != 0 {
        return Err(CompressError::Invalid(format!(
            "a hidden width of {} is not a multiple of the head size {dh}",
            keep.len()
        )));
    }
    let mut out = source.clone();
    for (name, t) in out.encoder.iter_mut() {
        *t = narrow_encoder_tensor(name, t, source, keep)?;
    }
    for extra in &mut out.extras {
        let (values, shape) = match (extra.name.as_str(), extra.shape.as_slice()) {
            ("pooler.dense.weight", &[o, i]) if o == h && i == h => (
                take_cols(&take_rows(&extra.values, h, keep), h, keep),
                vec![keep.len(), keep.len()],
            ),
            ("pooler.dense.bias", &[n]) if n == h => {
                (take_rows(&extra.values, 1, keep), vec![keep.len()])
            }
            ("classifier.weight", &[classes, i]) if i == h => {
                (take_cols(&extra.values, h, keep), vec![classes, keep.len()])
            }
            ("classifier.bias", _) => continue,
            (name, shape) => {
                return Err(CompressError::Invalid(format!(
                    "cannot narrow tensor `{name}` of shape {shape:?}"
                )));
            }
        };
        extra.values = values;
        extra.shape = shape;
    }
    let shapes: Vec<LayerShape> = (0..c.num_hidden_layers).map(|l| c.layer(l)).collect();
    out.config.hidden_size = keep.len();
    out.config.num_attention_heads = keep.len() / dh;
    out.config.hone_layer_shapes = Some(shapes);
    if out.config.is_uniform() {
        out.config.hone_layer_shapes = None;
    }
    // The engine checks every tensor against the new config.
    out.engine(|_| hone_model::engine::Storage::F32)?;
    Ok(out)
}

/// One encoder tensor with the channels cut (see the module note for which
/// axis of which tensor is the residual stream).
fn narrow_encoder_tensor(
    name: &str,
    t: &[f32],
    source: &SourceModel,
    keep: &[usize],
) -> Result<Vec<f32>> {
    let c = &source.config;
    let h = c.hidden_size;
    if name.ends_with("_embeddings.weight") {
        return Ok(take_cols(t, h, keep));
    }
    if name.contains("LayerNorm.") {
        return Ok(take_rows(t, 1, keep));
    }
    let Some(rest) = name.strip_prefix("encoder.layer.") else {
        return Err(CompressError::Invalid(format!(
            "cannot narrow tensor `{name}`"
        )));
    };
    let (layer, part) = rest.split_once('.').unwrap_or((rest, ""));
    let shape = layer
        .parse::<usize>()
        .ok()
        .filter(|&l| l < c.num_hidden_layers)
        .map(|l| c.layer(l))
        .ok_or_else(|| CompressError::Invalid(format!("cannot narrow tensor `{name}`")))?;
    let width = shape.heads * c.head_dim();
    Ok(match part {
        p if p.starts_with("attention.self.") && p.ends_with(".weight") => take_cols(t, h, keep),
        p if p.starts_with("attention.self.") => t.to_vec(),
        "intermediate.dense.weight" => take_cols(t, h, keep),
        "intermediate.dense.bias" => t.to_vec(),
        "attention.output.dense.weight" => take_rows(t, width, keep),
        "output.dense.weight" => take_rows(t, shape.intermediate_size, keep),
        "attention.output.dense.bias" | "output.dense.bias" => take_rows(t, 1, keep),
        _ => {
            return Err(CompressError::Invalid(format!(
                "cannot narrow tensor `{name}`"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_channels_keeps_the_highest_in_order() {
        assert_eq!(select_channels(&[0.1, 5.0, 0.3, 2.0], 2), vec![1, 3]);
        assert_eq!(select_channels(&[1.0, 1.0, 1.0], 2), vec![0, 1]);
    }
}
