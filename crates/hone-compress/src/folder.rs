//! Writing a derived model folder (quantized, pruned, distilled) all or
//! nothing: everything goes into a temporary folder beside the target,
//! which is renamed into place only when complete, so a failed step leaves
//! no half-written model behind.

use std::path::Path;

use crate::error::io;
use crate::{CompressError, Result};

/// Files carried over from the source folder when present: what makes a
/// folder usable (tokenizer, labels, pooling) besides its weights.
pub const CARRIED_FILES: [&str; 5] = [
    "config.json",
    "tokenizer.json",
    "sentence_bert_config.json",
    "hone_classifier.json",
    "vocab.txt",
];

/// Creates `out_dir` (which must not exist yet): copies [`CARRIED_FILES`]
/// from `source_dir`, lets `fill` write the rest into the temporary folder,
/// then renames it into place.
pub fn write_model_folder(
    source_dir: &Path,
    out_dir: &Path,
    fill: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    if out_dir.exists() {
        return Err(CompressError::Invalid(format!(
            "{} already exists; choose a new output folder",
            out_dir.display()
        )));
    }
    let parent = out_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let tmp = tempfile::Builder::new()
        .prefix(".hone-out-")
        .tempdir_in(parent)
        .map_err(io(parent))?;
    for file in CARRIED_FILES {
        let from = source_dir.join(file);
        if from.is_file() {
            std::fs::copy(&from, tmp.path().join(file)).map_err(io(&from))?;
        }
    }
    fill(tmp.path())?;
    // Rename first: if it fails, dropping `tmp` removes the temporary folder.
    std::fs::rename(tmp.path(), out_dir).map_err(io(out_dir))?;
    let _ = tmp.keep();
    Ok(())
}
