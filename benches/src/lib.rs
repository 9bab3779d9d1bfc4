//! hone-benches — criterion benches of hone (layer 5, beside xtask): the
//! MiniLM-L6 forward pass on each compiled-in backend, and the kernels. The
//! bench input is `hone::bench::full_batch`, shared with `hone bench`.

use std::path::PathBuf;

use hone::data::assets::{Cache, FetchOptions, resolve_model_dir};

/// The MiniLM-L6 model folder (fetched on first use).
pub fn minilm_dir() -> PathBuf {
    resolve_model_dir(
        "minilm-l6",
        &Cache::from_env().expect("cache"),
        &FetchOptions::default(),
    )
    .expect("minilm-l6")
}
