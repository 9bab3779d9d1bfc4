//! Reading `hone eval` inputs: one item per line, UTF-8, with every problem
//! (missing, empty or non-UTF-8 file, files of different lengths) reported as
//! a one-line usage error that names the file.

use std::path::{Path, PathBuf};

use hone::metrics::MetricsError;

use crate::cli::Failure;

/// The items of one input file, in order.
pub struct Items {
    pub path: PathBuf,
    pub lines: Vec<String>,
}

impl Items {
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn name(&self) -> String {
        self.path.display().to_string()
    }
}

/// Reads one item per line. A final line break ends the last item rather
/// than starting an empty one, and a `\r` before a line break is dropped, so
/// files written on Windows read the same.
pub fn read_items(path: &Path) -> Result<Items, Failure> {
    let name = path.display();
    let bytes =
        std::fs::read(path).map_err(|e| Failure::Usage(format!("cannot read {name}: {e}")))?;
    if bytes.is_empty() {
        return Err(Failure::Usage(format!("{name} is empty")));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        Failure::Usage(format!("{name}:{line}: invalid UTF-8"))
    })?;
    let body = text.strip_suffix('\n').unwrap_or(&text);
    let lines = body
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect();
    Ok(Items {
        path: path.to_path_buf(),
        lines,
    })
}

/// Fails unless every file has as many items as the first.
pub fn check_aligned(files: &[&Items]) -> Result<(), Failure> {
    let first = files[0];
    for other in &files[1..] {
        if other.len() != first.len() {
            return Err(Failure::Usage(format!(
                "{} has {} lines but {} has {} lines; every file needs one item per line, aligned",
                first.name(),
                first.len(),
                other.name(),
                other.len()
            )));
        }
    }
    Ok(())
}

/// Reads several files and checks that they align.
pub fn read_aligned(paths: &[&Path]) -> Result<Vec<Items>, Failure> {
    let items = paths
        .iter()
        .map(|p| read_items(p))
        .collect::<Result<Vec<_>, _>>()?;
    check_aligned(&items.iter().collect::<Vec<_>>())?;
    Ok(items)
}

/// Metric errors here come from the arguments (a bad smoothing value, zero
/// resamples), so they are usage errors.
pub fn usage(e: MetricsError) -> Failure {
    Failure::Usage(e.to_string())
}
