//! The JSONL run log: one JSON object per line, one line per training or
//! evaluation record, written as the run goes so that a crashed or running
//! job can be inspected, plotted ([`crate::plot`]) and resumed.
//!
//! Every line is an internally tagged [`LogEntry`] (`"kind": "train"` or
//! `"eval"`). JSON has no NaN or infinity, and a diverging run is exactly
//! when those appear, so non-finite floats are written as the strings
//! `"NaN"`, `"Infinity"` and `"-Infinity"` (which Python's `float()` also
//! reads) and read back exactly; `null` reads as NaN.
//!
//! Each line goes to the file with a single write and is flushed, so a crash
//! leaves at worst one torn last line without its newline. [`read_log`] and
//! [`RunLog::resume`] drop such a torn last line; any other malformed line is
//! an error naming the file and the line number. [`RunLog::resume`] rewrites
//! the log atomically (temporary file in the same folder, then rename) to
//! the lines at or before the checkpoint's step, so the resumed run does not
//! leave duplicate or orphaned steps behind.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One record of the run log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LogEntry {
    /// One optimizer step (or a logging interval ending at it).
    Train {
        /// Optimizer step this record ends at.
        step: usize,
        epoch: usize,
        #[serde(with = "float")]
        loss: f64,
        /// Learning rate used for this step.
        #[serde(with = "float")]
        lr: f64,
        /// Gradient norm before clipping.
        #[serde(with = "float")]
        grad_norm: f64,
        #[serde(with = "float")]
        tokens_per_s: f64,
        /// Device memory in use, where the backend reports it.
        #[serde(default)]
        memory_bytes: Option<u64>,
        /// Dynamic loss scale, in mixed-precision runs.
        #[serde(default, with = "opt_float")]
        loss_scale: Option<f64>,
        /// Whether the update was skipped (non-finite gradients).
        skipped: bool,
    },
    /// Metrics of an evaluation on one split.
    Eval {
        step: usize,
        epoch: usize,
        /// `"validation"`, `"test"`, …
        split: String,
        #[serde(with = "float_map")]
        metrics: BTreeMap<String, f64>,
    },
}

impl LogEntry {
    /// The optimizer step the entry belongs to.
    pub fn step(&self) -> usize {
        match self {
            LogEntry::Train { step, .. } | LogEntry::Eval { step, .. } => *step,
        }
    }
}

/// An append-only handle on a JSONL run log.
#[derive(Debug)]
pub struct RunLog {
    path: PathBuf,
    file: File,
}

impl RunLog {
    /// Starts a new log at `path`, replacing any file there and creating the
    /// parent folders.
    pub fn create(path: impl AsRef<Path>) -> io::Result<RunLog> {
        let path = path.as_ref();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        let file = File::create(path)?;
        Ok(RunLog {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Continues the log of a run resumed from a checkpoint taken at
    /// `last_step`: keeps the entries with `step <= last_step` (byte for
    /// byte), rewrites the file atomically, and appends after them. A missing
    /// file starts an empty log. A malformed line (other than a torn last
    /// line) is an error and leaves the file untouched.
    pub fn resume(path: impl AsRef<Path>, last_step: usize) -> io::Result<RunLog> {
        let path = path.as_ref();
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return RunLog::create(path),
            Err(e) => return Err(e),
        };
        let mut kept = String::with_capacity(text.len());
        for (line, entry) in parse_lines(path, &text)? {
            if entry.step() <= last_step {
                kept.push_str(line);
                kept.push('\n');
            }
        }
        write_atomically(path, kept.as_bytes())?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(RunLog {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends one entry as one line, in a single write, and flushes it.
    pub fn append(&mut self, entry: &LogEntry) -> io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.flush()
    }

    /// Where the log is written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads a whole run log. Blank lines and a torn (unterminated, unparsable)
/// last line are skipped; any other malformed line is an
/// [`io::ErrorKind::InvalidData`] error naming the file and line number.
pub fn read_log(path: impl AsRef<Path>) -> io::Result<Vec<LogEntry>> {
    let path = path.as_ref();
    let text = fs::read_to_string(path)?;
    Ok(parse_lines(path, &text)?
        .into_iter()
        .map(|(_, entry)| entry)
        .collect())
}

/// Parses every non-blank line, pairing it with its entry.
fn parse_lines<'a>(path: &Path, text: &'a str) -> io::Result<Vec<(&'a str, LogEntry)>> {
    let torn_tail = !text.is_empty() && !text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<LogEntry>(line) {
            Ok(entry) => out.push((*line, entry)),
            // A crash in the middle of the last write: not an error.
            Err(_) if torn_tail && i + 1 == lines.len() => {}
            Err(e) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}:{}: malformed run log line: {e}", path.display(), i + 1),
                ));
            }
        }
    }
    Ok(out)
}

/// Writes `bytes` to `path` through a temporary file in the same folder that
/// is synced and then renamed over `path`, so readers see the old or the new
/// content, never a mix.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: not a file path", path.display()),
            )
        })?
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Serde for an `f64` that may be NaN or infinite (see the module docs).
mod float {
    use serde::de::{self, Deserializer, Visitor};
    use serde::ser::Serializer;
    use std::fmt;

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if v.is_nan() {
            s.serialize_str("NaN")
        } else if *v > 0.0 {
            s.serialize_str("Infinity")
        } else {
            s.serialize_str("-Infinity")
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        d.deserialize_any(FloatVisitor)
    }

    struct FloatVisitor;

    impl<'de> Visitor<'de> for FloatVisitor {
        type Value = f64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number, null, \"NaN\", \"Infinity\" or \"-Infinity\"")
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
            Ok(f64::NAN)
        }
        fn visit_none<E: de::Error>(self) -> Result<f64, E> {
            Ok(f64::NAN)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            match v {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
            }
        }
    }

    /// An `f64` read with the lenient rules above, for containers.
    pub struct Lenient(pub f64);

    impl<'de> serde::Deserialize<'de> for Lenient {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            deserialize(d).map(Lenient)
        }
    }

    /// An `f64` written with the rules above, for containers.
    pub struct Strict<'a>(pub &'a f64);

    impl serde::Serialize for Strict<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            serialize(self.0, s)
        }
    }
}

/// `Option<f64>`: `null` is `None`, anything else goes through [`float`].
mod opt_float {
    use super::float::{Lenient, Strict};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        v.as_ref().map(Strict).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(Option::<Lenient>::deserialize(d)?.map(|l| l.0))
    }
}

/// `BTreeMap<String, f64>` with values through [`float`].
mod float_map {
    use super::float::{Lenient, Strict};
    use serde::ser::SerializeMap;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(m: &BTreeMap<String, f64>, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(m.len()))?;
        for (k, v) in m {
            map.serialize_entry(k, &Strict(v))?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
        Ok(BTreeMap::<String, Lenient>::deserialize(d)?
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn train(step: usize, loss: f64) -> LogEntry {
        LogEntry::Train {
            step,
            epoch: step / 4,
            loss,
            lr: 1e-3,
            grad_norm: 0.5,
            tokens_per_s: 1234.5,
            memory_bytes: Some(1 << 30),
            loss_scale: None,
            skipped: false,
        }
    }

    fn eval(step: usize, acc: f64) -> LogEntry {
        LogEntry::Eval {
            step,
            epoch: step / 4,
            split: "validation".into(),
            metrics: BTreeMap::from([("accuracy".into(), acc), ("loss".into(), 1.0 - acc)]),
        }
    }

    /// Entries compare equal including NaN (which `PartialEq` on f64 does not).
    fn same(a: &[LogEntry], b: &[LogEntry]) -> bool {
        let key = |e: &LogEntry| format!("{e:?}");
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| key(x) == key(y))
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs/a/log.jsonl");
        let entries = vec![
            train(1, 2.5),
            LogEntry::Train {
                step: 2,
                epoch: 0,
                loss: f64::NAN,
                lr: 0.0,
                grad_norm: f64::INFINITY,
                tokens_per_s: 0.0,
                memory_bytes: None,
                loss_scale: Some(65536.0),
                skipped: true,
            },
            LogEntry::Train {
                step: 3,
                epoch: 0,
                loss: f64::NEG_INFINITY,
                lr: 1e-3,
                grad_norm: 1.0,
                tokens_per_s: 10.0,
                memory_bytes: None,
                loss_scale: Some(f64::NAN),
                skipped: false,
            },
            eval(3, 0.75),
            LogEntry::Eval {
                step: 3,
                epoch: 0,
                split: "test".into(),
                metrics: BTreeMap::from([("bleu".into(), f64::NAN)]),
            },
        ];
        let mut log = RunLog::create(&path).unwrap();
        for e in &entries {
            log.append(e).unwrap();
        }
        assert_eq!(log.path(), path);
        // Flushed after every append: readable while the handle is open.
        let back = read_log(&path).unwrap();
        assert!(same(&back, &entries), "{back:?}");

        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), entries.len());
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["kind"], "train");
        assert_eq!(first["step"], 1);
        assert!(first["loss_scale"].is_null());
        assert!(text.lines().nth(1).unwrap().contains(r#""loss":"NaN""#));
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .contains(r#""grad_norm":"Infinity""#)
        );
        assert!(
            text.lines()
                .nth(3)
                .unwrap()
                .starts_with(r#"{"kind":"eval""#)
        );
    }

    #[test]
    fn null_reads_as_nan_and_optional_fields_default() {
        let line = r#"{"kind":"train","step":7,"epoch":1,"loss":null,"lr":1,"grad_norm":2,"tokens_per_s":3,"skipped":false}"#;
        let e: LogEntry = serde_json::from_str(line).unwrap();
        match e {
            LogEntry::Train {
                step,
                loss,
                lr,
                memory_bytes,
                loss_scale,
                ..
            } => {
                assert_eq!(step, 7);
                assert!(loss.is_nan());
                assert_eq!(lr, 1.0);
                assert_eq!(memory_bytes, None);
                assert_eq!(loss_scale, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn resume_truncates_after_last_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let mut log = RunLog::create(&path).unwrap();
        for step in 1..=10 {
            log.append(&train(step, 1.0 / step as f64)).unwrap();
            if step % 5 == 0 {
                log.append(&eval(step, step as f64 / 10.0)).unwrap();
            }
        }
        drop(log);
        let before = fs::read_to_string(&path).unwrap();

        let mut log = RunLog::resume(&path, 6).unwrap();
        let kept = read_log(&path).unwrap();
        let steps: Vec<usize> = kept.iter().map(LogEntry::step).collect();
        assert_eq!(steps, vec![1, 2, 3, 4, 5, 5, 6]);
        // The kept lines are the original bytes.
        let after = fs::read_to_string(&path).unwrap();
        assert!(before.starts_with(&after));

        log.append(&train(7, 0.1)).unwrap();
        let steps: Vec<usize> = read_log(&path)
            .unwrap()
            .iter()
            .map(LogEntry::step)
            .collect();
        assert_eq!(steps, vec![1, 2, 3, 4, 5, 5, 6, 7]);

        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("log.jsonl")]);

        // Resuming at step 0 empties it; a missing file starts a new log.
        RunLog::resume(&path, 0).unwrap();
        assert!(read_log(&path).unwrap().is_empty());
        let fresh = dir.path().join("new/log.jsonl");
        let mut log = RunLog::resume(&fresh, 100).unwrap();
        log.append(&train(101, 0.5)).unwrap();
        assert_eq!(read_log(&fresh).unwrap().len(), 1);
    }

    #[test]
    fn torn_last_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let mut text = String::new();
        for step in 1..=3 {
            text.push_str(&serde_json::to_string(&train(step, 1.0)).unwrap());
            text.push('\n');
        }
        text.push_str(r#"{"kind":"train","step":4,"ep"#);
        fs::write(&path, &text).unwrap();
        assert_eq!(read_log(&path).unwrap().len(), 3);
        let mut log = RunLog::resume(&path, 10).unwrap();
        log.append(&train(4, 1.0)).unwrap();
        let steps: Vec<usize> = read_log(&path)
            .unwrap()
            .iter()
            .map(LogEntry::step)
            .collect();
        assert_eq!(steps, vec![1, 2, 3, 4]);
    }

    #[test]
    fn malformed_line_reports_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let good = serde_json::to_string(&train(1, 1.0)).unwrap();
        let text = format!("{good}\n\n{good}\n{{\"kind\":\"train\",\"step\":\"x\"}}\n{good}\n");
        fs::write(&path, &text).unwrap();

        let err = read_log(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let msg = err.to_string();
        assert!(msg.contains("log.jsonl:4:"), "{msg}");

        // resume refuses too, and leaves the file as it was.
        let err = RunLog::resume(&path, 1).unwrap_err();
        assert!(err.to_string().contains(":4:"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), text);

        fs::write(
            &path,
            format!("{good}\n{{\"kind\":\"gradient\",\"step\":2}}\n"),
        )
        .unwrap();
        let msg = read_log(&path).unwrap_err().to_string();
        assert!(msg.contains(":2:") && msg.contains("gradient"), "{msg}");
    }
}
