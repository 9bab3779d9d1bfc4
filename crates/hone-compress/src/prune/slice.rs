//! Cutting heads and neurons out of the dense tensors (Hugging Face layout,
//! weights `[out, in]`): a head is `head size` consecutive rows of query,
//! key and value and the same columns of the attention output; a
//! feed-forward neuron is one row of the intermediate layer and one column
//! of the output layer. Nothing else in the model depends on these widths.

use hone_model::LayerShape;

use crate::{CompressError, Result, SourceModel};

/// What to keep, per layer: head indices and feed-forward neuron indices
/// (each ascending, non-empty, within the layer's current width).
#[derive(Clone, Debug, PartialEq)]
pub struct Keep {
    pub heads: Vec<Vec<usize>>,
    pub ffn: Vec<Vec<usize>>,
}

/// `source` with only the kept heads and neurons.
pub fn remove(source: &SourceModel, keep: &Keep) -> Result<SourceModel> {
    let c = &source.config;
    let layers = c.num_hidden_layers;
    if keep.heads.len() != layers || keep.ffn.len() != layers {
        return Err(CompressError::Invalid(format!(
            "a pruning plan for {} / {} layers does not fit a model of {layers}",
            keep.heads.len(),
            keep.ffn.len()
        )));
    }
    let (h, dh) = (c.hidden_size, c.head_dim());
    let mut out = source.clone();
    let mut shapes = Vec::with_capacity(layers);
    for layer in 0..layers {
        let shape = c.layer(layer);
        let (heads, ffn) = (&keep.heads[layer], &keep.ffn[layer]);
        check_indices(heads, shape.heads, layer, "head")?;
        check_indices(ffn, shape.intermediate_size, layer, "feed-forward neuron")?;
        let width = shape.heads * dh;
        let rows: Vec<usize> = heads
            .iter()
            .flat_map(|&hd| hd * dh..(hd + 1) * dh)
            .collect();
        let p = format!("encoder.layer.{layer}");
        let mut edit = |name: String, f: &dyn Fn(&[f32]) -> Vec<f32>| -> Result<()> {
            let t = out.encoder.get_mut(&name).ok_or_else(|| {
                CompressError::Invalid(format!("the model has no tensor `{name}`"))
            })?;
            *t = f(t);
            Ok(())
        };
        for part in ["query", "key", "value"] {
            edit(format!("{p}.attention.self.{part}.weight"), &|t| {
                take_rows(t, h, &rows)
            })?;
            edit(format!("{p}.attention.self.{part}.bias"), &|t| {
                take_rows(t, 1, &rows)
            })?;
        }
        edit(format!("{p}.attention.output.dense.weight"), &|t| {
            take_cols(t, width, &rows)
        })?;
        edit(format!("{p}.intermediate.dense.weight"), &|t| {
            take_rows(t, h, ffn)
        })?;
        edit(format!("{p}.intermediate.dense.bias"), &|t| {
            take_rows(t, 1, ffn)
        })?;
        edit(format!("{p}.output.dense.weight"), &|t| {
            take_cols(t, shape.intermediate_size, ffn)
        })?;
        shapes.push(LayerShape {
            heads: heads.len(),
            intermediate_size: ffn.len(),
        });
    }
    out.config.hone_layer_shapes = Some(shapes);
    if out.config.is_uniform() {
        out.config.hone_layer_shapes = None;
    }
    // The engine checks every tensor against the new config.
    out.engine(|_| hone_model::engine::Storage::F32)?;
    Ok(out)
}

fn check_indices(keep: &[usize], n: usize, layer: usize, what: &str) -> Result<()> {
    if keep.is_empty() {
        return Err(CompressError::Invalid(format!(
            "layer {layer} would keep no {what}"
        )));
    }
    if keep.windows(2).any(|w| w[0] >= w[1]) || keep.iter().any(|&i| i >= n) {
        return Err(CompressError::Invalid(format!(
            "layer {layer}: {what} indices {keep:?} are not ascending within 0..{n}"
        )));
    }
    Ok(())
}

/// Rows `rows` of a row-major matrix with `cols` columns.
pub(crate) fn take_rows(t: &[f32], cols: usize, rows: &[usize]) -> Vec<f32> {
    rows.iter()
        .flat_map(|&r| t[r * cols..(r + 1) * cols].iter().copied())
        .collect()
}

/// Columns `keep` of a row-major matrix with `cols` columns.
pub(crate) fn take_cols(t: &[f32], cols: usize, keep: &[usize]) -> Vec<f32> {
    t.chunks_exact(cols)
        .flat_map(|row| keep.iter().map(move |&c| row[c]))
        .collect()
}
