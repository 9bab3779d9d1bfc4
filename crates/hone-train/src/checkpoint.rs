//! Atomic checkpoints for resume. A checkpoint is a folder
//! `checkpoints/step-NNNNNNN/` holding the model record, both optimizers'
//! moment estimates and `state.json` (loop position, early-stopping and
//! loss-scale state, the settings it was trained with). It is written under a
//! temporary name and renamed into place, then `checkpoints/LATEST` (itself
//! written to a temporary file and renamed) is pointed at it; a process
//! killed at any moment leaves LATEST naming a complete checkpoint.
//!
//! Records are bincode at full precision, as burn's `BinBytesRecorder`
//! writes them (every parameter's id kept, so the optimizer state, keyed by
//! parameter id, matches the model after loading), through [`BinRecorder`]:
//! burn's recorder panics on bytes it cannot decode — a checkpoint of
//! another model or another hone version — where resuming must say so.

use std::fs;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::record::{FullPrecisionSettings, Record, Recorder, RecorderError};
use serde::{Serialize, de::DeserializeOwned};

use crate::{Result, TrainError};

/// burn's `BinBytesRecorder` (same bytes: bincode's standard configuration,
/// full precision) with decoding errors returned instead of panicking.
#[derive(Clone, Copy, Debug, Default)]
pub struct BinRecorder;

impl<B: Backend> Recorder<B> for BinRecorder {
    type Settings = FullPrecisionSettings;
    type RecordArgs = ();
    type RecordOutput = Vec<u8>;
    type LoadArgs = Vec<u8>;

    fn save_item<I: Serialize>(&self, item: I, _args: ()) -> Result<Vec<u8>, RecorderError> {
        bincode::serde::encode_to_vec(item, bincode::config::standard())
            .map_err(|e| RecorderError::Unknown(e.to_string()))
    }

    fn load_item<I: DeserializeOwned>(&self, bytes: &mut Vec<u8>) -> Result<I, RecorderError> {
        bincode::serde::decode_from_slice(bytes, bincode::config::standard())
            .map(|(item, _)| item)
            .map_err(|e| RecorderError::Unknown(e.to_string()))
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder
/// (the run log's [`crate::log::write_atomically`], with this crate's error).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::log::write_atomically(path, bytes).map_err(|e| TrainError::io(path, e))
}

/// Serializes a burn record (model or optimizer) to bytes.
pub fn record_bytes<B: Backend, R: Record<B>>(record: R) -> Result<Vec<u8>> {
    Recorder::<B>::record(&BinRecorder, record, ())
        .map_err(|e| TrainError::Task(format!("cannot serialize a record: {e}")))
}

/// Reads a burn record written by [`record_bytes`].
pub fn read_record<B: Backend, R: Record<B>>(path: &Path, device: &B::Device) -> Result<R> {
    let bytes = fs::read(path).map_err(|e| TrainError::io(path, e))?;
    Recorder::<B>::load(&BinRecorder, bytes, device).map_err(|e| TrainError::Checkpoint {
        path: path.into(),
        detail: format!("unreadable record ({e}); was it written by another model?"),
    })
}

/// The checkpoint folder of a run.
pub struct CheckpointDir {
    root: PathBuf,
}

/// The file of a checkpoint that holds the weight average, when the run
/// keeps one.
pub const AVERAGE_FILE: &str = "average.bin";

/// The files of one checkpoint, written in a temporary folder.
pub struct CheckpointFiles<'a> {
    pub model: Vec<u8>,
    pub optimizer: Vec<u8>,
    /// The exponential moving average of the weights ([`crate::ema`]).
    pub average: Option<Vec<u8>>,
    pub state: &'a [u8],
}

impl CheckpointDir {
    pub fn new(run_dir: &Path) -> Self {
        Self {
            root: run_dir.join("checkpoints"),
        }
    }

    fn latest_file(&self) -> PathBuf {
        self.root.join("LATEST")
    }

    /// The folder of the newest complete checkpoint, if any.
    pub fn latest(&self) -> Result<Option<PathBuf>> {
        let file = self.latest_file();
        match fs::read_to_string(&file) {
            Ok(name) => {
                let dir = self.root.join(name.trim());
                if dir.join("state.json").is_file() {
                    Ok(Some(dir))
                } else {
                    Err(TrainError::Checkpoint {
                        path: dir,
                        detail: "LATEST names a checkpoint that is missing or incomplete".into(),
                    })
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(TrainError::io(file, e)),
        }
    }

    /// Writes checkpoint `step` and makes it the latest; older ones are removed.
    pub fn save(&self, step: usize, files: CheckpointFiles<'_>) -> Result<PathBuf> {
        let name = format!("step-{step:07}");
        let final_dir = self.root.join(&name);
        fs::create_dir_all(&self.root).map_err(|e| TrainError::io(&self.root, e))?;
        let tmp = tempfile::Builder::new()
            .prefix(".partial-")
            .tempdir_in(&self.root)
            .map_err(|e| TrainError::io(&self.root, e))?;
        let average = files.average.as_deref().map(|a| (AVERAGE_FILE, a));
        for (file, bytes) in [
            ("model.bin", files.model.as_slice()),
            ("optimizer.bin", files.optimizer.as_slice()),
            ("state.json", files.state),
        ]
        .into_iter()
        .chain(average)
        {
            write_atomic(&tmp.path().join(file), bytes)?;
        }
        if final_dir.exists() {
            fs::remove_dir_all(&final_dir).map_err(|e| TrainError::io(&final_dir, e))?;
        }
        let tmp_path = tmp.keep();
        fs::rename(&tmp_path, &final_dir).map_err(|e| TrainError::io(&final_dir, e))?;
        write_atomic(&self.latest_file(), name.as_bytes())?;
        self.remove_all_but(&name);
        Ok(final_dir)
    }

    /// Best-effort removal of older checkpoints and leftovers of killed writes.
    fn remove_all_but(&self, keep: &str) {
        let Ok(entries) = fs::read_dir(&self.root) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if (name.starts_with("step-") || name.starts_with(".partial-")) && name != keep {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// Writes a serde value as pretty JSON, atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| TrainError::Task(format!("cannot serialize {}: {e}", path.display())))?;
    write_atomic(path, &bytes)
}

/// Reads a JSON file written by [`write_json`].
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = fs::read(path).map_err(|e| TrainError::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| TrainError::Checkpoint {
        path: path.into(),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_points_at_the_newest_complete_checkpoint_and_old_ones_go() {
        let dir = tempfile::tempdir().unwrap();
        let ck = CheckpointDir::new(dir.path());
        assert!(ck.latest().unwrap().is_none());
        for step in [3, 6] {
            ck.save(
                step,
                CheckpointFiles {
                    model: vec![1, 2],
                    optimizer: vec![3],
                    average: None,
                    state: b"{}",
                },
            )
            .unwrap();
        }
        let latest = ck.latest().unwrap().unwrap();
        assert!(latest.ends_with("step-0000006"));
        assert!(!dir.path().join("checkpoints/step-0000003").exists());
        // A write killed half-way leaves a .partial- folder and LATEST intact.
        fs::create_dir(dir.path().join("checkpoints/.partial-x")).unwrap();
        assert_eq!(ck.latest().unwrap().unwrap(), latest);
    }

    #[test]
    fn a_latest_pointing_at_nothing_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let ck = CheckpointDir::new(dir.path());
        fs::create_dir_all(dir.path().join("checkpoints")).unwrap();
        fs::write(dir.path().join("checkpoints/LATEST"), "step-0000009").unwrap();
        let err = ck.latest().unwrap_err().to_string();
        assert!(err.contains("missing or incomplete"), "{err}");
    }

    #[derive(Module, Debug)]
    struct One<B: Backend> {
        a: burn::nn::Linear<B>,
    }

    // Never built: only its record type is read, as "another model".
    #[allow(dead_code)]
    #[derive(Module, Debug)]
    struct Two<B: Backend> {
        a: burn::nn::Linear<B>,
        b: Option<burn::nn::Linear<B>>,
        c: burn::nn::Linear<B>,
    }

    #[test]
    fn a_record_of_another_model_is_a_clear_error_not_a_panic() {
        type B = burn::backend::NdArray;
        let device = Default::default();
        let one = One::<B> {
            a: burn::nn::LinearConfig::new(4, 3).init(&device),
        };
        // Parameters initialize lazily: read them before the record is taken.
        let want = one.a.weight.val().into_data();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        fs::write(&path, record_bytes::<B, _>(one.into_record()).unwrap()).unwrap();
        // The same model reads back exactly.
        let back: OneRecord<B> = read_record::<B, _>(&path, &device).unwrap();
        assert_eq!(back.a.weight.val().into_data(), want);
        // Another structure, and a truncated file, are errors naming the file.
        let Err(err) = read_record::<B, TwoRecord<B>>(&path, &device) else {
            panic!("a record of another model loaded");
        };
        assert!(err.to_string().contains("model.bin"), "{err}");
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let Err(err) = read_record::<B, OneRecord<B>>(&path, &device) else {
            panic!("a truncated record loaded");
        };
        assert!(err.to_string().contains("unreadable record"), "{err}");
    }

    /// A resumed run compares each validation with the best one read back
    /// from `state.json`, and ties on accuracy go to the lower loss: a
    /// value off by one ulp after the round trip turns a tie into a loss.
    /// It did (221/223 came back 1 ulp higher, so a BBC News run resumed
    /// at step 100 kept its step-50 model over an equal step-150 one)
    /// until serde_json's `float_roundtrip` parser was switched on.
    #[test]
    fn a_validation_accuracy_survives_the_state_file_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let accuracy = 221.0_f64 / 223.0;
        write_json(&path, &accuracy).unwrap();
        let back: f64 = read_json(&path).unwrap();
        assert_eq!(back.to_bits(), accuracy.to_bits(), "{back} != {accuracy}");
    }

    proptest::proptest! {
        #[test]
        fn every_finite_f64_survives_the_state_file_bit_for_bit(
            value in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO,
            numerator in 0u32..100_000,
            denominator in 1u32..100_000,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("state.json");
            let ratio = f64::from(numerator) / f64::from(denominator);
            write_json(&path, &(value, ratio)).unwrap();
            let back: (f64, f64) = read_json(&path).unwrap();
            proptest::prop_assert_eq!(back.0.to_bits(), value.to_bits());
            proptest::prop_assert_eq!(back.1.to_bits(), ratio.to_bits());
        }
    }
}
