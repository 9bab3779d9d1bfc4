//! Unpacking downloaded packages: wheels (zip), npm tarballs and sdists
//! (tar.gz), Debian packages (`dpkg-deb -x`). Only entries under the asset's
//! `keep` prefixes are written, and entries that would escape the target
//! folder are refused.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use indicatif::ProgressBar;

use crate::{DataError, Result};

/// True when `name` lies under one of `keep` (or `keep` is empty).
pub fn is_kept(name: &str, keep: &[&str]) -> bool {
    keep.is_empty() || keep.iter().any(|k| name.starts_with(k))
}

/// A relative path with no `..`, root or prefix parts, or None.
fn safe_relative(name: &str) -> Option<PathBuf> {
    let path = Path::new(name);
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// Copies a reader into a new file, reporting bytes on `bar` and turning
/// "no space left" into [`DataError::DiskFull`].
pub fn copy_to_file(reader: &mut dyn Read, dest: &Path, bar: &ProgressBar) -> Result<u64> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| DataError::io(parent, e))?;
    }
    let mut out = File::create(dest).map_err(|e| DataError::io(dest, e))?;
    copy_with_progress(reader, &mut out, bar).map_err(|e| DataError::io(dest, e))
}

/// The copy loop, separate so tests can give it a writer that fails.
pub fn copy_with_progress(
    reader: &mut dyn Read,
    out: &mut dyn Write,
    bar: &ProgressBar,
) -> io::Result<u64> {
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.write_all(&buf[..n])?;
        total += n as u64;
        bar.inc(n as u64);
    }
    out.flush()?;
    Ok(total)
}

/// Unpacks a package file into `dest` according to its extension.
pub fn unpack(archive: &Path, dest: &Path, keep: &[&str], bar: &ProgressBar) -> Result<()> {
    let name = archive
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name.ends_with(".whl") || name.ends_with(".zip") {
        unpack_zip(archive, dest, keep, bar)
    } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        unpack_tar_gz(archive, dest, keep, bar)
    } else if name.ends_with(".deb") {
        unpack_deb(archive, dest)
    } else {
        Err(DataError::Unpack {
            path: archive.into(),
            detail: "unknown package format".into(),
        })
    }
}

/// Where an archive entry goes: None when it is not kept, an error when its
/// name would escape `dest`.
fn target_of(name: &str, archive: &Path, dest: &Path, keep: &[&str]) -> Result<Option<PathBuf>> {
    if !is_kept(name, keep) {
        return Ok(None);
    }
    let rel = safe_relative(name).ok_or_else(|| DataError::Unpack {
        path: archive.into(),
        detail: format!("entry `{name}` points outside the target folder"),
    })?;
    Ok(Some(dest.join(rel)))
}

fn unpack_zip(archive: &Path, dest: &Path, keep: &[&str], bar: &ProgressBar) -> Result<()> {
    let file = File::open(archive).map_err(|e| DataError::io(archive, e))?;
    let bad = |e: zip::result::ZipError| DataError::Unpack {
        path: archive.into(),
        detail: e.to_string(),
    };
    let mut zip = zip::ZipArchive::new(file).map_err(bad)?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(bad)?;
        if entry.is_dir() {
            continue;
        }
        if let Some(target) = target_of(entry.name(), archive, dest, keep)? {
            copy_to_file(&mut entry, &target, bar)?;
        }
    }
    Ok(())
}

fn unpack_tar_gz(archive: &Path, dest: &Path, keep: &[&str], bar: &ProgressBar) -> Result<()> {
    let file = File::open(archive).map_err(|e| DataError::io(archive, e))?;
    let bad = |e: io::Error| DataError::Unpack {
        path: archive.into(),
        detail: e.to_string(),
    };
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in tar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        if let Some(target) = target_of(&name, archive, dest, keep)? {
            copy_to_file(&mut entry, &target, bar)?;
        }
    }
    Ok(())
}

fn unpack_deb(archive: &Path, dest: &Path) -> Result<()> {
    std::fs::create_dir_all(dest).map_err(|e| DataError::io(dest, e))?;
    let output = Command::new("dpkg-deb")
        .arg("-x")
        .arg(archive)
        .arg(dest)
        .output()
        .map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                DataError::ClientMissing {
                    client: "dpkg-deb".into(),
                    asset: archive.display().to_string(),
                    hint: "it ships with Debian's dpkg".into(),
                }
            } else {
                DataError::io(archive, e)
            }
        })?;
    if !output.status.success() {
        let detail = String::from_utf8_lossy(&output.stderr).trim().to_string();
        if detail.contains("No space left") {
            return Err(DataError::DiskFull { path: dest.into() });
        }
        return Err(DataError::Unpack {
            path: archive.into(),
            detail,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_prefixes() {
        assert!(is_kept("a/b.txt", &[]));
        assert!(is_kept("pkg/model/x", &["pkg/model/"]));
        assert!(!is_kept("pkg/other", &["pkg/model/"]));
    }

    #[test]
    fn unsafe_names_are_refused() {
        assert!(safe_relative("../etc/passwd").is_none());
        assert!(safe_relative("/etc/passwd").is_none());
        assert_eq!(safe_relative("./a/b").unwrap(), PathBuf::from("a/b"));
    }

    struct FullDisk;
    impl Write for FullDisk {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from_raw_os_error(28)) // ENOSPC
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn enospc_becomes_disk_full() {
        let err = copy_with_progress(&mut &b"payload"[..], &mut FullDisk, &ProgressBar::hidden())
            .unwrap_err();
        match DataError::io("/cache/x", err) {
            DataError::DiskFull { path } => assert_eq!(path, PathBuf::from("/cache/x")),
            other => panic!("expected DiskFull, got {other:?}"),
        }
    }
}
