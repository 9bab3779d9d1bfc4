//! Where fetched assets live: `$HONE_CACHE/assets/<name>/`, or the user's
//! cache folder (`~/.cache/hone` on Linux) when `HONE_CACHE` is unset.

use std::path::{Path, PathBuf};

use crate::{DataError, Result};

/// The marker written last into a complete asset folder; its presence (with
/// the right package checksum) is what makes a fetch idempotent.
pub const MARKER: &str = ".hone-asset.json";

/// A cache root.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// The cache named by `HONE_CACHE`, else the platform cache folder.
    pub fn from_env() -> Result<Self> {
        if let Some(dir) = std::env::var_os("HONE_CACHE").filter(|d| !d.is_empty()) {
            return Ok(Self::at(PathBuf::from(dir)));
        }
        let base = dirs::cache_dir().ok_or_else(|| DataError::BadData {
            path: PathBuf::from("$HONE_CACHE"),
            detail: "no user cache folder is known on this system; set HONE_CACHE".into(),
        })?;
        Ok(Self::at(base.join("hone")))
    }

    /// A cache at an explicit folder (tests, `--cache`).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Folder holding all unpacked assets.
    pub fn assets_dir(&self) -> PathBuf {
        self.root.join("assets")
    }

    /// Folder of one unpacked asset (it may not exist yet).
    pub fn asset_dir(&self, name: &str) -> PathBuf {
        self.assets_dir().join(name)
    }
}
