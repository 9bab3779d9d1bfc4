//! The built-in data sets, read from their fetched assets (fetched on first use).
//!
//! - `pang-lee`: 4,000 movie-review sentences (`polarity-en-pang&lee2.csv`,
//!   label column `1`/`-1` → `pos`/`neg`).
//! - `pang-lee-reviews`: 1,500 full reviews (`polarity-en-pang&lee1.csv`).
//! - `spam-assassin`: 6,046 raw e-mails (headers included) from the package's
//!   per-message JSON files; groups `spam-*` → `spam`, the rest → `ham`.
//! - `bbc-news`: 2,225 articles, one file each, label = folder; the text is the
//!   whole file (title line, blank line, body).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::table::{label_rows, read_records};
use super::{BadRow, Loaded, line_of, non_empty};
use crate::assets::{Cache, FetchOptions, fetch, find_asset};
use crate::{DataError, Result};

/// A data set hone can fetch and read by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinDataset {
    PangLee,
    PangLeeReviews,
    SpamAssassin,
    BbcNews,
}

impl BuiltinDataset {
    pub const ALL: [BuiltinDataset; 4] = [
        Self::PangLee,
        Self::PangLeeReviews,
        Self::SpamAssassin,
        Self::BbcNews,
    ];

    /// The name users type.
    pub fn name(self) -> &'static str {
        match self {
            Self::PangLee => "pang-lee",
            Self::PangLeeReviews => "pang-lee-reviews",
            Self::SpamAssassin => "spam-assassin",
            Self::BbcNews => "bbc-news",
        }
    }

    /// The asset the data set is read from.
    pub fn asset(self) -> &'static str {
        match self {
            Self::PangLee | Self::PangLeeReviews => "pang-lee",
            Self::SpamAssassin => "spam-assassin",
            Self::BbcNews => "bbc-news",
        }
    }
}

impl FromStr for BuiltinDataset {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| format!("unknown data set `{s}`"))
    }
}

/// Fetches (if needed) and reads a built-in data set.
pub fn load_builtin(which: BuiltinDataset, cache: &Cache, opts: &FetchOptions) -> Result<Loaded> {
    let root = fetch(find_asset(which.asset())?, cache, opts)?
        .path()
        .to_path_buf();
    read_builtin(which, &root)
}

/// Reads a built-in data set from an unpacked asset folder.
pub fn read_builtin(which: BuiltinDataset, root: &Path) -> Result<Loaded> {
    let loaded = match which {
        BuiltinDataset::PangLee => read_pang_lee(which, &root.join("polarity-en-pang&lee2.csv"))?,
        BuiltinDataset::PangLeeReviews => {
            read_pang_lee(which, &root.join("polarity-en-pang&lee1.csv"))?
        }
        BuiltinDataset::SpamAssassin => read_spam(root)?,
        BuiltinDataset::BbcNews => read_bbc(root)?,
    };
    non_empty(loaded)
}

fn read_pang_lee(which: BuiltinDataset, path: &Path) -> Result<Loaded> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let rows = read_records(path, &mut reader, 1, 0)?
        .into_iter()
        .map(|row| {
            row.and_then(|(text, label)| match label.as_str() {
                "1" => Ok((text, "pos".to_string())),
                "-1" => Ok((text, "neg".to_string())),
                other => Err(BadRow {
                    location: path.display().to_string(),
                    reason: format!("unknown label `{other}`"),
                }),
            })
        })
        .collect();
    Ok(label_rows(which.name().to_string(), rows))
}

/// Sorted subfolders of `root`.
fn subdirs(root: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(|e| DataError::io(root, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Sorted files of `dir` with extension `ext`.
fn files_with_ext(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| DataError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    Ok(files)
}

fn read_spam(root: &Path) -> Result<Loaded> {
    let mut rows = Vec::new();
    for dir in subdirs(root)? {
        let group = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let label = if group.starts_with("spam") {
            "spam"
        } else {
            "ham"
        };
        for file in files_with_ext(&dir, "json")? {
            let bytes = std::fs::read(&file).map_err(|e| DataError::io(&file, e))?;
            let row = serde_json::from_slice::<serde_json::Value>(&bytes)
                .map_err(|e| format!("invalid JSON at line {}: {e}", e.line()))
                .and_then(|v| {
                    v["text"]
                        .as_str()
                        .map(str::to_string)
                        .ok_or_else(|| "no `text` field".to_string())
                })
                .map(|text| (text, label.to_string()))
                .map_err(|reason| BadRow {
                    location: file.display().to_string(),
                    reason,
                });
            rows.push(row);
        }
    }
    Ok(label_rows(BuiltinDataset::SpamAssassin.name().into(), rows))
}

fn read_bbc(root: &Path) -> Result<Loaded> {
    let mut rows = Vec::new();
    for dir in subdirs(root)? {
        let label = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for file in files_with_ext(&dir, "txt")? {
            let bytes = std::fs::read(&file).map_err(|e| DataError::io(&file, e))?;
            let row = match String::from_utf8(bytes) {
                Ok(text) if !text.trim().is_empty() => Ok((text.trim().to_string(), label.clone())),
                Ok(_) => Err(BadRow {
                    location: file.display().to_string(),
                    reason: "empty file".into(),
                }),
                Err(e) => {
                    let at = e.utf8_error().valid_up_to();
                    Err(BadRow {
                        location: format!("{}:{}", file.display(), line_of(e.as_bytes(), at)),
                        reason: format!("not valid UTF-8 (byte {at})"),
                    })
                }
            };
            rows.push(row);
        }
    }
    Ok(label_rows(BuiltinDataset::BbcNews.name().into(), rows))
}
