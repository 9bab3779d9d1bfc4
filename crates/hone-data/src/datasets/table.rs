//! User tables: CSV or TSV with a header row, or JSON Lines. The text and
//! label columns are chosen by name (`--text-col`, `--label-col`); labels are
//! the distinct label strings in sorted order.

use std::collections::BTreeSet;
use std::path::Path;

use super::{BadRow, Dataset, Example, Loaded, line_of, non_empty};
use crate::{DataError, Result};

/// File format of a user table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Csv,
    Tsv,
    Jsonl,
}

impl TableFormat {
    /// Guesses the format from the extension (`.csv`, `.tsv`/`.tab`, `.jsonl`/`.ndjson`/`.json`).
    pub fn from_path(path: &Path) -> Result<Self> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Ok(Self::Csv),
            Some("tsv" | "tab") => Ok(Self::Tsv),
            Some("jsonl" | "ndjson" | "json") => Ok(Self::Jsonl),
            _ => Err(DataError::BadData {
                path: path.into(),
                detail: "unknown table format: use a .csv, .tsv or .jsonl file".into(),
            }),
        }
    }
}

/// Which columns hold the text and the label.
#[derive(Debug, Clone)]
pub struct TableOptions {
    pub text_col: String,
    pub label_col: String,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self {
            text_col: "text".into(),
            label_col: "label".into(),
        }
    }
}

/// Reads a user table into a labelled data set.
pub fn load_table(path: &Path, opts: &TableOptions) -> Result<Loaded> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let rows = match TableFormat::from_path(path)? {
        TableFormat::Csv => read_delimited(path, &bytes, b',', opts)?,
        TableFormat::Tsv => read_delimited(path, &bytes, b'\t', opts)?,
        TableFormat::Jsonl => read_jsonl(path, &bytes, opts),
    };
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    non_empty(label_rows(name, rows))
}

/// Rows as (text, label string) or a bad row.
type Rows = Vec<std::result::Result<(String, String), BadRow>>;

/// Turns string labels into indices (sorted label names).
pub(super) fn label_rows(name: String, rows: Rows) -> Loaded {
    let labels: Vec<String> = rows
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|(_, l)| l.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut examples = Vec::new();
    let mut skipped = Vec::new();
    for row in rows {
        match row {
            Ok((text, label)) => {
                let label = labels.binary_search(&label).expect("label collected above");
                examples.push(Example { text, label });
            }
            Err(bad) => skipped.push(bad),
        }
    }
    Loaded {
        dataset: Dataset {
            name,
            labels,
            examples,
        },
        skipped,
    }
}

/// Reads a delimited file with a header row.
pub(super) fn read_delimited(
    path: &Path,
    bytes: &[u8],
    delimiter: u8,
    opts: &TableOptions,
) -> Result<Rows> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(bytes);
    let header = reader
        .byte_headers()
        .map_err(|e| DataError::BadData {
            path: path.into(),
            detail: e.to_string(),
        })?
        .clone();
    let names: Vec<String> = header
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_string())
        .collect();
    let find = |col: &str| {
        names
            .iter()
            .position(|n| n == col)
            .ok_or_else(|| DataError::MissingColumn {
                path: path.into(),
                column: col.into(),
                available: names.join(", "),
            })
    };
    let (text_idx, label_idx) = (find(&opts.text_col)?, find(&opts.label_col)?);
    read_records(path, &mut reader, text_idx, label_idx)
}

/// Reads (text, label) pairs from positions `text_idx`, `label_idx` of each record.
pub(super) fn read_records(
    path: &Path,
    reader: &mut csv::Reader<&[u8]>,
    text_idx: usize,
    label_idx: usize,
) -> Result<Rows> {
    let mut rows = Rows::new();
    let mut record = csv::ByteRecord::new();
    loop {
        let at = |line: u64| format!("{}:{line}", path.display());
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line());
                rows.push(
                    parse_record(&record, text_idx, label_idx).map_err(|reason| BadRow {
                        location: at(line),
                        reason,
                    }),
                );
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                match e.kind() {
                    csv::ErrorKind::Io(_) => {
                        return Err(DataError::BadData {
                            path: path.into(),
                            detail: e.to_string(),
                        });
                    }
                    _ => rows.push(Err(BadRow {
                        location: at(line),
                        reason: e.to_string(),
                    })),
                }
            }
        }
    }
    Ok(rows)
}

fn parse_record(
    record: &csv::ByteRecord,
    text_idx: usize,
    label_idx: usize,
) -> std::result::Result<(String, String), String> {
    let field = |idx: usize, what: &str| -> std::result::Result<String, String> {
        let raw = record
            .get(idx)
            .ok_or_else(|| format!("missing {what} (the row has {} fields)", record.len()))?;
        let s = std::str::from_utf8(raw)
            .map_err(|e| format!("{what} is not valid UTF-8 (byte {})", e.valid_up_to()))?;
        Ok(s.trim().to_string())
    };
    let text = field(text_idx, "text")?;
    let label = field(label_idx, "label")?;
    if label.is_empty() {
        return Err("missing label".into());
    }
    if text.is_empty() {
        return Err("empty text".into());
    }
    Ok((text, label))
}

fn read_jsonl(path: &Path, bytes: &[u8], opts: &TableOptions) -> Rows {
    let mut rows = Rows::new();
    let mut offset = 0;
    for raw in bytes.split(|&b| b == b'\n') {
        let line = line_of(bytes, offset);
        offset += raw.len() + 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let at = format!("{}:{line}", path.display());
        rows.push(parse_json_row(raw, opts).map_err(|reason| BadRow {
            location: at,
            reason,
        }));
    }
    rows
}

fn parse_json_row(
    raw: &[u8],
    opts: &TableOptions,
) -> std::result::Result<(String, String), String> {
    let text = std::str::from_utf8(raw)
        .map_err(|e| format!("not valid UTF-8 (byte {})", e.valid_up_to()))?;
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let get = |key: &str| -> std::result::Result<String, String> {
        match value.get(key) {
            None | Some(serde_json::Value::Null) => Err(format!("missing `{key}`")),
            Some(serde_json::Value::String(s)) => Ok(s.trim().to_string()),
            Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
            Some(serde_json::Value::Bool(b)) => Ok(b.to_string()),
            Some(other) => Err(format!("`{key}` must be a string or number, not {other}")),
        }
    };
    let text = get(&opts.text_col)?;
    let label = get(&opts.label_col).map_err(|e| {
        if e.starts_with("missing") {
            "missing label".to_string()
        } else {
            e
        }
    })?;
    if label.is_empty() {
        return Err("missing label".into());
    }
    if text.is_empty() {
        return Err("empty text".into());
    }
    Ok((text, label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(name: &str, bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
        (dir, path)
    }

    #[test]
    fn csv_with_bad_rows_reports_lines() {
        let (_d, path) = write(
            "t.csv",
            b"id,sentence,y\n1,good film,pos\n2,bad film,\n3,\xff\xfe broken,neg\n4,fine,neg\n",
        );
        let opts = TableOptions {
            text_col: "sentence".into(),
            label_col: "y".into(),
        };
        let loaded = load_table(&path, &opts).unwrap();
        assert_eq!(loaded.dataset.labels, vec!["neg", "pos"]);
        assert_eq!(loaded.dataset.examples.len(), 2);
        assert_eq!(
            loaded.dataset.examples[0],
            Example {
                text: "good film".into(),
                label: 1
            }
        );
        let where_: Vec<_> = loaded
            .skipped
            .iter()
            .map(|b| {
                (
                    b.location.rsplit(':').next().unwrap().to_string(),
                    b.reason.clone(),
                )
            })
            .collect();
        assert_eq!(where_[0], ("3".to_string(), "missing label".to_string()));
        assert_eq!(where_[1].0, "4");
        assert!(where_[1].1.contains("UTF-8"), "{:?}", where_[1]);
    }

    #[test]
    fn tsv_and_missing_column() {
        let (_d, path) = write("t.tsv", b"text\tlabel\na, b\tx\nc\ty\n");
        let loaded = load_table(&path, &TableOptions::default()).unwrap();
        assert_eq!(loaded.dataset.examples[0].text, "a, b");
        let err = load_table(
            &path,
            &TableOptions {
                text_col: "body".into(),
                label_col: "label".into(),
            },
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("`body` not found") && err.to_string().contains("text, label"),
            "{err}"
        );
    }

    #[test]
    fn jsonl_rows() {
        let (_d, path) = write("t.jsonl", b"{\"text\":\"hi\",\"label\":1}\n\n{\"text\":\"yo\"}\nnot json\n{\"text\":\"ok\",\"label\":0}\n");
        let loaded = load_table(&path, &TableOptions::default()).unwrap();
        assert_eq!(loaded.dataset.labels, vec!["0", "1"]);
        assert_eq!(loaded.dataset.examples.len(), 2);
        let lines: Vec<_> = loaded
            .skipped
            .iter()
            .map(|b| b.location.rsplit(':').next().unwrap().to_string())
            .collect();
        assert_eq!(lines, vec!["3", "4"]);
        assert_eq!(loaded.skipped[0].reason, "missing label");
    }

    #[test]
    fn all_rows_bad_is_an_error() {
        let (_d, path) = write("t.csv", b"text,label\na,\n");
        let err = load_table(&path, &TableOptions::default()).unwrap_err();
        assert!(
            matches!(err, DataError::EmptyDataset { skipped: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn unknown_extension() {
        let (_d, path) = write("t.xlsx", b"");
        assert!(
            load_table(&path, &TableOptions::default())
                .unwrap_err()
                .to_string()
                .contains(".csv")
        );
    }
}
