//! Model names every `--model` flag accepts: a folder, a fetched asset
//! (`minilm-l6`), or a model hone derives from assets on first use —
//! `minilm-l3`, paraphrase-MiniLM-L3-v2, converted from the ONNX file of
//! the `minilm-l3-onnx` asset (its weights are the graph's initializers,
//! read by `hone_model::onnx`) into a Hugging Face–style folder under
//! `$HONE_CACHE/models/`, with MiniLM-L6's tokenizer (the same uncased
//! 30,522-word BERT vocabulary). A ready 3-layer student.

use std::path::{Path, PathBuf};

use hone_data::assets::{Cache, FetchOptions, fetch, find_asset, resolve_model_dir};

use crate::{Error, Result};

/// A derived model: its name, the asset and file it comes from, and what
/// the weights alone cannot tell (the attention heads).
struct Derived {
    name: &'static str,
    asset: &'static str,
    onnx_file: &'static str,
    num_attention_heads: usize,
    /// The model whose tokenizer it shares.
    tokenizer_from: &'static str,
    /// sentence-transformers' `max_seq_length` (its model card).
    max_seq_length: usize,
}

const DERIVED: &[Derived] = &[Derived {
    name: "minilm-l3",
    asset: "minilm-l3-onnx",
    onnx_file: "paraphrase-MiniLM-L3-v2.onnx",
    num_attention_heads: 12,
    tokenizer_from: "minilm-l6",
    max_seq_length: 128,
}];

/// The names [`resolve_model`] derives.
pub fn derived_names() -> Vec<&'static str> {
    DERIVED.iter().map(|d| d.name).collect()
}

/// A `--model` argument as a model folder: an existing folder, a derived
/// model (converted once, then cached), or a fetched asset.
pub fn resolve_model(name_or_path: &str, cache: &Cache, opts: &FetchOptions) -> Result<PathBuf> {
    match DERIVED.iter().find(|d| d.name == name_or_path) {
        Some(derived) if !Path::new(name_or_path).is_dir() => derive(derived, cache, opts),
        _ => Ok(resolve_model_dir(name_or_path, cache, opts)?),
    }
}

fn derive(d: &Derived, cache: &Cache, opts: &FetchOptions) -> Result<PathBuf> {
    let dir = cache.root().join("models").join(d.name);
    if dir.join("model.safetensors").is_file() && !opts.force {
        return Ok(dir);
    }
    let asset = find_asset(d.asset)?;
    let onnx = fetch(asset, cache, opts)?.path().join(d.onnx_file);
    let tokenizer = resolve_model_dir(d.tokenizer_from, cache, opts)?.join("tokenizer.json");
    if opts.progress {
        eprintln!("converting {} into {}", onnx.display(), dir.display());
    }
    let (config, tensors) = hone_model::onnx::read_bert(&onnx, d.num_attention_heads)?;
    // Written beside, then renamed: a folder that exists is complete.
    let parent = dir.parent().expect("models folder");
    std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".hone-convert-")
        .tempdir_in(parent)
        .map_err(|e| io(parent, e))?;
    hone_model::write_safetensors(&tmp.path().join("model.safetensors"), &tensors)?;
    let json = serde_json::to_string_pretty(&config).expect("config serializes");
    let config_path = tmp.path().join("config.json");
    std::fs::write(&config_path, json + "\n").map_err(|e| io(&config_path, e))?;
    let sentence = tmp.path().join("sentence_bert_config.json");
    let json = serde_json::json!({ "max_seq_length": d.max_seq_length, "do_lower_case": false });
    std::fs::write(&sentence, json.to_string() + "\n").map_err(|e| io(&sentence, e))?;
    std::fs::copy(&tokenizer, tmp.path().join("tokenizer.json")).map_err(|e| io(&tokenizer, e))?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| io(&dir, e))?;
    }
    match std::fs::rename(tmp.path(), &dir) {
        Ok(()) => {
            // Renamed away: nothing is left for the guard to delete.
            let _ = tmp.keep();
            Ok(dir)
        }
        // Another process converted it meanwhile; ours is dropped.
        Err(_) if dir.join("model.safetensors").is_file() => Ok(dir),
        Err(e) => Err(io(&dir, e)),
    }
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.into(),
        source,
    }
}
