//! What a write left on disk, read back with code that owes nothing to the engines: the JSON
//! commits of `_delta_log` (adds minus removes, their `numRecords` and sizes) and every data
//! file's own Parquet footer, which must agree with its `add`. For "raw parquet" (no log), the
//! footers of the Parquet files under the table directory. This module only reads; it decides
//! nothing about what the right answer is.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};

use crate::error::{BenchError, io_error};

/// The table as its files describe it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct OnDisk {
    /// JSON commit files in `_delta_log` (0 without a log).
    pub(crate) commits: u64,
    /// The highest committed version, if any.
    pub(crate) last_version: Option<u64>,
    /// Checkpoint files in `_delta_log`.
    pub(crate) checkpoints: u64,
    /// Active data files.
    pub(crate) files: u64,
    /// Rows in the active data files, per their footers.
    pub(crate) rows: u64,
    /// Bytes of the active data files.
    pub(crate) bytes: u64,
    /// The most active data files in one directory (one partition of a table partitioned by
    /// one column).
    pub(crate) max_files_per_partition: u64,
}

/// One active file as its `add` describes it.
struct Added {
    rows: Option<u64>,
    size: Option<u64>,
    partition_values: BTreeMap<String, Option<String>>,
}

/// One active data file, as its `add` describes it and its footer confirms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActiveFile {
    /// Path relative to the table root, decoded.
    pub(crate) path: String,
    /// The `add`'s partition values (`None` for null).
    pub(crate) partition_values: BTreeMap<String, Option<String>>,
    /// Rows, per the footer (equal to the `add`'s `numRecords`).
    pub(crate) rows: u64,
    /// Bytes (equal to the `add`'s `size`).
    pub(crate) bytes: u64,
}

/// Reads the Delta table at `dir`: every JSON commit, then every active file's footer, which
/// must match its `add` (`numRecords` and `size`).
pub(crate) fn delta_table(dir: &Path) -> Result<OnDisk, BenchError> {
    delta_table_files(dir).map(|(on_disk, _)| on_disk)
}

/// [`delta_table`], with the active files themselves (in path order).
pub(crate) fn delta_table_files(dir: &Path) -> Result<(OnDisk, Vec<ActiveFile>), BenchError> {
    let log_dir = dir.join("_delta_log");
    let mut commits: Vec<(u64, String)> = Vec::new();
    let mut checkpoints = 0;
    for entry in fs::read_dir(&log_dir).map_err(io_error(&log_dir))? {
        let name = entry
            .map_err(io_error(&log_dir))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.contains(".checkpoint.") && name.ends_with(".parquet") {
            checkpoints += 1;
        }
        if let Some(version) = name
            .strip_suffix(".json")
            .filter(|stem| stem.len() == 20)
            .and_then(|stem| stem.parse::<u64>().ok())
        {
            commits.push((version, name));
        }
    }
    commits.sort();
    let mut active: BTreeMap<String, Added> = BTreeMap::new();
    for (_, name) in &commits {
        let path = log_dir.join(name);
        let text = fs::read_to_string(&path).map_err(io_error(&path))?;
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let action: serde_json::Value =
                serde_json::from_str(line).map_err(|source| BenchError::Deserialize {
                    what: "log action",
                    path: path.clone(),
                    source,
                })?;
            if let Some(add) = action.get("add") {
                let file = percent_decode(add["path"].as_str().unwrap_or_default());
                let rows = add["stats"]
                    .as_str()
                    .and_then(|stats| serde_json::from_str::<serde_json::Value>(stats).ok())
                    .and_then(|stats| stats["numRecords"].as_u64());
                let partition_values = add["partitionValues"]
                    .as_object()
                    .map(|values| {
                        values
                            .iter()
                            .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned)))
                            .collect()
                    })
                    .unwrap_or_default();
                active.insert(
                    file,
                    Added {
                        rows,
                        size: add["size"].as_u64(),
                        partition_values,
                    },
                );
            }
            if let Some(remove) = action.get("remove") {
                active.remove(&percent_decode(remove["path"].as_str().unwrap_or_default()));
            }
        }
    }
    let mut on_disk = OnDisk {
        commits: count(commits.len()),
        last_version: commits.last().map(|(version, _)| *version),
        checkpoints,
        ..OnDisk::default()
    };
    let mut files = Vec::with_capacity(active.len());
    let mut per_directory: BTreeMap<String, u64> = BTreeMap::new();
    for (file, added) in active {
        let (rows, bytes) = footer(dir, &file)?;
        *per_directory.entry(parent(&file).to_owned()).or_default() += 1;
        let mismatch = |what: &str, logged: Option<u64>, actual: u64| BenchError::LogMismatch {
            file: file.clone(),
            what: what.to_owned(),
            logged: logged.map_or_else(|| "nothing".to_owned(), |v| v.to_string()),
            actual,
        };
        if added.rows != Some(rows) {
            return Err(mismatch("numRecords", added.rows, rows));
        }
        if added.size != Some(bytes) {
            return Err(mismatch("size", added.size, bytes));
        }
        on_disk.files += 1;
        on_disk.rows += rows;
        on_disk.bytes += bytes;
        files.push(ActiveFile {
            path: file,
            partition_values: added.partition_values,
            rows,
            bytes,
        });
    }
    on_disk.max_files_per_partition = per_directory.values().copied().max().unwrap_or(0);
    Ok((on_disk, files))
}

/// The directory part of a relative file path (empty for a file at the root).
fn parent(relative: &str) -> &str {
    relative
        .rsplit_once('/')
        .map_or("", |(directory, _)| directory)
}

/// Reads every `*.parquet` file under `dir` (no log).
pub(crate) fn parquet_files(dir: &Path) -> Result<OnDisk, BenchError> {
    let mut on_disk = OnDisk::default();
    let mut per_directory: BTreeMap<String, u64> = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).map_err(io_error(&current))? {
            let path = entry.map_err(io_error(&current))?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "parquet") {
                let relative = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .into_owned();
                let (rows, bytes) = footer(dir, &relative)?;
                *per_directory
                    .entry(parent(&relative).to_owned())
                    .or_default() += 1;
                on_disk.files += 1;
                on_disk.rows += rows;
                on_disk.bytes += bytes;
            }
        }
    }
    on_disk.max_files_per_partition = per_directory.values().copied().max().unwrap_or(0);
    Ok(on_disk)
}

/// Rows (from the footer) and size of the data file at `relative` under `dir`.
fn footer(dir: &Path, relative: &str) -> Result<(u64, u64), BenchError> {
    let path = dir.join(relative);
    let file = File::open(&path).map_err(io_error(&path))?;
    let bytes = file.metadata().map_err(io_error(&path))?.len();
    let reader = SerializedFileReader::new(file).map_err(|source| BenchError::Parquet {
        path: relative.to_owned(),
        source,
    })?;
    let rows = reader.metadata().file_metadata().num_rows();
    Ok((u64::try_from(rows).unwrap_or(0), bytes))
}

/// Decodes the `%XX` escapes of an `add` path (PROTOCOL.md: paths are URIs).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|_| bytes[i] == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escaped_paths() {
        assert_eq!(
            percent_decode("day=2026-01-01/a.parquet"),
            "day=2026-01-01/a.parquet"
        );
        assert_eq!(
            percent_decode("day=a%20b/x%3Dy.parquet"),
            "day=a b/x=y.parquet"
        );
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn files_count_per_directory() {
        assert_eq!(parent("day=2026-01-01/a.parquet"), "day=2026-01-01");
        assert_eq!(parent("a/b/c.parquet"), "a/b");
        assert_eq!(parent("c.parquet"), "");
    }
}
