//! hone-benches — criterion benches of hone (layer 5, beside xtask): the
//! MiniLM-L6 forward pass on each compiled-in backend, and later the kernels.
//! The helpers here build the real model and realistic inputs for them.

use std::path::PathBuf;

use hone::data::assets::{Cache, FetchOptions, resolve_model_dir};
use hone::data::tokenize::TextTokenizer;

/// The MiniLM-L6 model folder (fetched on first use).
pub fn minilm_dir() -> PathBuf {
    resolve_model_dir(
        "minilm-l6",
        &Cache::from_env().expect("cache"),
        &FetchOptions::default(),
    )
    .expect("minilm-l6")
}

/// `batch` rows of exactly `seq_len` real tokens (no padding), cut from
/// English text, as `(ids, mask, types)` row-major.
pub fn full_batch(
    dir: &std::path::Path,
    batch: usize,
    seq_len: usize,
) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    let tokenizer =
        TextTokenizer::from_file(&dir.join("tokenizer.json"), seq_len).expect("tokenizer");
    let text = "The committee met every Tuesday to review the budget, the hiring plan, the roadmap and the \
                incidents of the previous week, but as the company grew the meetings stretched longer. "
        .repeat(12);
    let texts: Vec<String> = (0..batch).map(|i| format!("{i} {text}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let enc = tokenizer.encode_batch(&refs).expect("encode");
    assert_eq!(enc.seq_len, seq_len, "bench text must fill the sequence");
    (enc.input_ids, enc.attention_mask, enc.token_type_ids)
}
