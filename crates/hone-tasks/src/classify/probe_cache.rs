//! A cache of the pooled training features a linear-probe head is fitted
//! on (`--head-init probe`).
//!
//! Those features depend on the frozen encoder's weights, the pooling,
//! what the tokenizer feeds the encoder, the batching and the backend —
//! not on the seed. Yet computing them is most of an LP-FT run's set-up:
//! 14–21 minutes of a BBC News run on a 2-core machine (every 128-token
//! window of 1,557 articles), repeated identically by every seed of a
//! model soup. A cache file is named by the SHA-256 of exactly those
//! inputs (every encoder parameter's values, the pooling, each piece's
//! token ids, type ids, attention mask and text, the batch size and the
//! backend's name), so a hit returns the features the run would have
//! computed — bit for bit with the same build (a build with other ndarray
//! threading settings agrees to about 1e-7). Files are written whole (temp
//! file + rename) and read back only when their length matches the
//! expected shape. The cache never stops a run: a folder that cannot be
//! read or written only costs the time it would have saved, and the
//! reason is returned for the run's record.

use std::io::Write;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use hone_data::assets::fetch::hex;
use hone_data::windows::Pieces;
use sha2::{Digest, Sha256};

use super::model::TextClassifier;
use super::predict::pooled_features_of_pieces;
use crate::{Result, TaskError};

/// Bumped when the file layout or what the key covers changes.
const FORMAT: &[u8] = b"hone-probe-features-v1";

/// Features and where they came from.
pub struct CachedFeatures {
    /// `[texts][width]`, in input order.
    pub rows: Vec<Vec<f32>>,
    /// Read back from an earlier run's file.
    pub from_cache: bool,
    /// Why the cache could not be read or written, when it could not.
    pub cache_error: Option<String>,
}

/// Pooled features of `pieces` under `model` (see
/// [`super::predict::pooled_features`]), read from `dir` when an earlier
/// run computed them with identical inputs; otherwise computed and stored
/// there.
pub fn cached_pooled_features<B: Backend>(
    model: &TextClassifier<B>,
    pieces: &Pieces,
    batch_size: usize,
    dir: &Path,
    device: &B::Device,
) -> Result<CachedFeatures> {
    let path = dir.join(format!(
        "{}.f32",
        feature_key(model, pieces, batch_size, device)
    ));
    let mut cache_error = match read_rows(&path, pieces.n_texts(), model.feature_width()) {
        Ok(Some(rows)) => {
            return Ok(CachedFeatures {
                rows,
                from_cache: true,
                cache_error: None,
            });
        }
        Ok(None) => None,
        Err(e) => Some(e.to_string()),
    };
    let rows = pooled_features_of_pieces(model, pieces, batch_size, device)?;
    if let Err(e) = write_rows(&path, &rows) {
        cache_error = Some(e.to_string());
    }
    Ok(CachedFeatures {
        rows,
        from_cache: false,
        cache_error,
    })
}

/// Hex SHA-256 of everything the features depend on.
fn feature_key<B: Backend>(
    model: &TextClassifier<B>,
    pieces: &Pieces,
    batch_size: usize,
    device: &B::Device,
) -> String {
    let mut hash = Sha256::new();
    hash.update(FORMAT);
    hash.update(B::name(device).as_bytes());
    hash.update([u8::from(model.mean_pool)]);
    hash.update((batch_size as u64).to_le_bytes());
    hash.update(pieces.digest());
    // The encoder only: the head is seeded per run and is not read.
    model.encoder.visit(&mut ParamHasher { hash: &mut hash });
    hex(&hash.finalize())
}

/// Feeds every float parameter's shape and values to the hash, in the
/// module's (fixed) visiting order.
struct ParamHasher<'a> {
    hash: &'a mut Sha256,
}

impl<B: Backend> ModuleVisitor<B> for ParamHasher<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let tensor = param.val();
        for dim in tensor.dims() {
            self.hash.update((dim as u64).to_le_bytes());
        }
        self.hash.update(tensor.into_data().as_bytes());
    }
}

/// The rows stored at `path`, or `None` when there is no such file or its
/// length is not `texts × width` f32 values (a file from another model).
fn read_rows(path: &Path, texts: usize, width: usize) -> Result<Option<Vec<Vec<f32>>>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(TaskError::io(path, e)),
    };
    if width == 0 || bytes.len() != texts * width * 4 {
        return Ok(None);
    }
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(Some(values.chunks(width).map(<[f32]>::to_vec).collect()))
}

/// Writes `rows` to a temp file beside `path` and renames it into place, so
/// a reader never sees a partial file.
fn write_rows(path: &Path, rows: &[Vec<f32>]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| TaskError::io(dir, e))?;
    let bytes: Vec<u8> = rows
        .iter()
        .flatten()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| TaskError::io(dir, e))?;
    temp.write_all(&bytes)
        .map_err(|e| TaskError::io(temp.path(), e))?;
    temp.persist(path)
        .map_err(|e| TaskError::io(path, e.error))?;
    Ok(())
}

/// The cache folder under a hone cache root.
pub fn cache_dir(root: &Path) -> PathBuf {
    root.join("probe-features")
}
