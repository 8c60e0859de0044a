//! Writer options: what the caller sets, what the table's properties say, and the defaults.
//!
//! This module decides the effective value of every knob of a [`super::DataWriter`]: an option
//! set on [`WriterOptions`] wins over the table property (`delta.targetFileSize`,
//! `delta.dataSkippingNumIndexedCols`, `delta.dataSkippingStatsColumns`), which wins over the
//! default. A property that is present but malformed is an error naming it; it is never
//! silently replaced by the default.

use std::collections::BTreeMap;
use std::path::PathBuf;

use parquet::basic::{Compression as ParquetCompression, GzipLevel, ZstdLevel};
use tarn_protocol::ProtocolError;
use tarn_protocol::row_tracking::MaterializedColumns;

use crate::error::{Error, Result};

/// Table property: the target size of data files, in bytes.
pub const TARGET_FILE_SIZE_KEY: &str = "delta.targetFileSize";
/// Table property: how many leaf columns (in schema order) get statistics; `-1` for all.
pub const NUM_INDEXED_COLS_KEY: &str = "delta.dataSkippingNumIndexedCols";
/// Table property: the columns that get statistics, comma-separated (overrides
/// [`NUM_INDEXED_COLS_KEY`]).
pub const STATS_COLUMNS_KEY: &str = "delta.dataSkippingStatsColumns";

/// Data files roll over at this size unless told otherwise: 128 MiB.
pub const DEFAULT_TARGET_FILE_SIZE: u64 = 128 * 1024 * 1024;
/// Leaf columns with statistics unless told otherwise (Delta's default).
pub const DEFAULT_NUM_INDEXED_COLS: usize = 32;

/// The compression codec of data file pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// No compression.
    Uncompressed,
    /// Snappy (Spark's default).
    Snappy,
    /// Gzip at the given level (0-10).
    Gzip(u32),
    /// LZ4 in the raw block format (`LZ4_RAW`).
    Lz4Raw,
    /// Zstandard at the given level (1-22). tarn's default, at level 3.
    Zstd(i32),
}

impl Default for Compression {
    fn default() -> Self {
        Compression::Zstd(3)
    }
}

impl Compression {
    /// The codec as Parquet's writer takes it; an out-of-range level is an error.
    pub(crate) fn to_parquet(self) -> Result<ParquetCompression> {
        let invalid = |reason: String| Error::InvalidArgument { reason };
        Ok(match self {
            Compression::Uncompressed => ParquetCompression::UNCOMPRESSED,
            Compression::Snappy => ParquetCompression::SNAPPY,
            Compression::Gzip(level) => ParquetCompression::GZIP(
                GzipLevel::try_new(level)
                    .map_err(|e| invalid(format!("gzip level {level}: {e}")))?,
            ),
            Compression::Lz4Raw => ParquetCompression::LZ4_RAW,
            Compression::Zstd(level) => ParquetCompression::ZSTD(
                ZstdLevel::try_new(level)
                    .map_err(|e| invalid(format!("zstd level {level}: {e}")))?,
            ),
        })
    }

    /// The codec's part of a data file name, as parquet-mr names it (`.zstd`, `.snappy`).
    pub(crate) fn file_extension(self) -> &'static str {
        match self {
            Compression::Uncompressed => "",
            Compression::Snappy => ".snappy",
            Compression::Gzip(_) => ".gz",
            Compression::Lz4Raw => ".lz4raw",
            Compression::Zstd(_) => ".zstd",
        }
    }
}

/// As many threads as the machine runs in parallel, asked once: the answer reads cgroup
/// files, which a writer per small commit should not pay for each time.
fn default_encoding_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// Which columns of a data file get min/max/null-count statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsColumns {
    /// The first `n` leaf columns of the data schema, in schema order (a struct counts its
    /// leaves; an array or map counts as one).
    FirstLeaves(usize),
    /// Every column.
    All,
    /// These columns (logical names; `a.b` is field `b` of struct `a`; backquote names that
    /// contain dots or commas). A struct column means all of its leaves.
    Named(Vec<String>),
}

/// How a [`super::DataWriter`] lays out and encodes data files.
///
/// Every option left unset takes the table property if there is one, else the default.
///
/// The writer's memory is bounded by its budget ([`WriterOptions::with_max_buffered_bytes`]),
/// whatever the size of the input and however many partitions it spans: row groups being
/// encoded, rows waiting for their partition's file, and an upload part reserved for each
/// open file all count against it. Beyond the budget are only the rows in flight (one input
/// batch's slice per open file being encoded, a replayed partition's next megabyte) and, for
/// files past their first upload part, the parts being uploaded (up to
/// [`WriterOptions::with_max_concurrent_uploads`] per file). Rows that do not fit go to
/// local spill files ([`WriterOptions::with_spill_directory`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterOptions {
    target_file_size: Option<u64>,
    compression: Compression,
    max_row_group_rows: usize,
    max_row_group_bytes: usize,
    stats_columns: Option<StatsColumns>,
    max_open_files: usize,
    max_buffered_bytes: usize,
    upload_part_size: usize,
    max_concurrent_uploads: usize,
    idle_file_rows: u64,
    encoding_threads: usize,
    data_change: bool,
    row_tracking: Option<MaterializedColumns>,
    spill_directory: Option<PathBuf>,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            target_file_size: None,
            compression: Compression::default(),
            max_row_group_rows: 1024 * 1024,
            max_row_group_bytes: 64 * 1024 * 1024,
            stats_columns: None,
            max_open_files: 128,
            max_buffered_bytes: 256 * 1024 * 1024,
            upload_part_size: 10 * 1024 * 1024,
            max_concurrent_uploads: 4,
            idle_file_rows: 1024 * 1024,
            encoding_threads: default_encoding_threads(),
            data_change: true,
            row_tracking: None,
            spill_directory: None,
        }
    }
}

impl WriterOptions {
    /// The defaults; see each `with_` method.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a new data file once the current one reaches about `bytes` (at least 1). By
    /// default the table's `delta.targetFileSize`, else 128 MiB. Files end at a batch slice
    /// boundary, so they may overshoot by up to one slice.
    pub fn with_target_file_size(mut self, bytes: u64) -> Self {
        self.target_file_size = Some(bytes.max(1));
        self
    }

    /// The page compression codec; zstd (level 3) by default.
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Ends a row group after this many rows (at least 1); 1 Mi rows by default.
    pub fn with_max_row_group_rows(mut self, rows: usize) -> Self {
        self.max_row_group_rows = rows.max(1);
        self
    }

    /// Ends a row group once its encoded size reaches this many bytes (at least 1); 64 MiB by
    /// default.
    pub fn with_max_row_group_bytes(mut self, bytes: usize) -> Self {
        self.max_row_group_bytes = bytes.max(1);
        self
    }

    /// Which columns get statistics. By default the table's `delta.dataSkippingStatsColumns`,
    /// else its `delta.dataSkippingNumIndexedCols`, else the first 32 leaf columns.
    pub fn with_stats_columns(mut self, columns: StatsColumns) -> Self {
        self.stats_columns = Some(columns);
        self
    }

    /// At most this many data files are written at once (at least 1), counting files whose
    /// last bytes are still uploading; 128 by default, and never more than the memory budget
    /// can reserve an upload part for (each open file reserves
    /// `min(upload part size, target file size)`, all together at most half the budget: 12
    /// files with the default budget and part size).
    ///
    /// A file is never finished early to make room: the rows of a partition that finds no
    /// free slot wait (in memory, or spilled to local disk when the budget needs the memory)
    /// until a slot frees up, at the latest at the end of the input, and its file is then
    /// written from them. So every partition gets one file per target size, however many
    /// partitions the input interleaves.
    pub fn with_max_open_files(mut self, files: usize) -> Self {
        self.max_open_files = files.max(1);
        self
    }

    /// The writer's memory budget: row groups being encoded, rows waiting for their
    /// partition's file and the upload part reserved per open file together stay within
    /// this many bytes (at least 2). 256 MiB by default. When they would not, the larger of
    /// two gives way: the rows waiting in memory are spilled to a local file, or the largest
    /// row group ends early. The writer plans to hold three quarters of it in what it counts,
    /// leaving the rest for what it cannot count exactly (the allocator's slack, the rows in
    /// flight).
    pub fn with_max_buffered_bytes(mut self, bytes: usize) -> Self {
        self.max_buffered_bytes = bytes.max(2);
        self
    }

    /// Files larger than this are uploaded in parts of this size (multipart upload on object
    /// stores); smaller files in one request. 10 MiB by default; at least 5 MiB, the smallest
    /// part S3 accepts.
    pub fn with_upload_part_size(mut self, bytes: usize) -> Self {
        self.upload_part_size = bytes.max(5 * 1024 * 1024);
        self
    }

    /// Parts of one file uploaded at once (at least 1); 4 by default. Encoding continues while
    /// parts upload.
    pub fn with_max_concurrent_uploads(mut self, uploads: usize) -> Self {
        self.max_concurrent_uploads = uploads.max(1);
        self
    }

    /// A partition's file that takes no rows while this many rows (at least 1) go to other
    /// partitions is finished; 1 Mi rows by default. A partition whose rows came at a steady
    /// pace is finished sooner: once no rows came for 16 times its average gap between
    /// batches, and at least 64 Ki rows. With input clustered by partition (say, events in
    /// time order, partitioned by day) a partition the input has moved past then holds no
    /// memory and no slot until the end of the write; interleaved input, whose partitions
    /// take rows at a steady pace, practically never pauses that long.
    ///
    /// A partition whose rows come back after its file was finished starts a second file,
    /// which is never finished early: a partition gets at most two files beyond what the
    /// target size makes.
    pub fn with_idle_file_rows(mut self, rows: u64) -> Self {
        self.idle_file_rows = rows.max(1);
        self
    }

    /// Columns of a file are encoded on up to this many threads at once (at least 1); by
    /// default as many as the machine runs in parallel. Encoding is most of a write's cost,
    /// so this is what makes a write use more than one core when its input is one partition
    /// at a time.
    pub fn with_encoding_threads(mut self, threads: usize) -> Self {
        self.encoding_threads = threads.max(1);
        self
    }

    /// The `dataChange` flag of the `add` actions; `true` by default, `false` for writes that
    /// rearrange data without changing it (compaction).
    pub fn with_data_change(mut self, data_change: bool) -> Self {
        self.data_change = data_change;
        self
    }

    /// Writes stable row ids and row commit versions into the table's hidden materialized
    /// columns (row tracking), for a rewrite that preserves them (compaction, copy-on-write
    /// delete and update). Every batch must then carry the two trailing columns a scan
    /// [with row tracking](crate::ScanBuilder::with_row_tracking) returns,
    /// [`ROW_ID_COLUMN`](crate::scan::ROW_ID_COLUMN) and
    /// [`ROW_COMMIT_VERSION_COLUMN`](crate::scan::ROW_COMMIT_VERSION_COLUMN) (`long`; a null
    /// means "not preserved": the row gets a fresh id or version when committed).
    pub fn with_row_tracking_columns(mut self, columns: MaterializedColumns) -> Self {
        self.row_tracking = Some(columns);
        self
    }

    /// The materialized row tracking columns the writer fills, if any.
    pub fn row_tracking_columns(&self) -> Option<&MaterializedColumns> {
        self.row_tracking.as_ref()
    }

    /// Rows that wait for their partition's file and do not fit the memory budget are
    /// spilled to temporary files in this local directory; by default
    /// [`std::env::temp_dir`] (`$TMPDIR`, else `/tmp`, on Unix). Spill files have no name
    /// (they are created already deleted), so none is ever left behind: not after an error,
    /// an abort, a dropped writer or a killed process. Writes that fit the budget create
    /// none.
    pub fn with_spill_directory(mut self, directory: impl Into<PathBuf>) -> Self {
        self.spill_directory = Some(directory.into());
        self
    }

    /// Resolves the options against a table's properties.
    pub(crate) fn resolve(&self, properties: &BTreeMap<String, String>) -> Result<Resolved> {
        let target_file_size = match self.target_file_size {
            Some(size) => size,
            None => match properties.get(TARGET_FILE_SIZE_KEY) {
                Some(value) => tarn_protocol::size::parse_byte_size(value).map_err(|reason| {
                    Error::Protocol(ProtocolError::InvalidTableProperty {
                        property: TARGET_FILE_SIZE_KEY.to_owned(),
                        value: value.clone(),
                        reason,
                    })
                })?,
                None => DEFAULT_TARGET_FILE_SIZE,
            },
        };
        let stats_columns = match &self.stats_columns {
            Some(columns) => columns.clone(),
            None => stats_columns_from_properties(properties)?,
        };
        Ok(Resolved {
            target_file_size,
            compression: self.compression,
            parquet_compression: self.compression.to_parquet()?,
            max_row_group_rows: self.max_row_group_rows,
            max_row_group_bytes: self.max_row_group_bytes,
            stats_columns,
            max_open_files: self.max_open_files,
            max_buffered_bytes: self.max_buffered_bytes,
            upload_part_size: self.upload_part_size,
            max_concurrent_uploads: self.max_concurrent_uploads,
            idle_file_rows: self.idle_file_rows,
            encoding_threads: self.encoding_threads,
            data_change: self.data_change,
            spill_directory: self
                .spill_directory
                .clone()
                .unwrap_or_else(std::env::temp_dir),
        })
    }
}

/// The effective options of one writer.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) target_file_size: u64,
    pub(crate) compression: Compression,
    pub(crate) parquet_compression: ParquetCompression,
    pub(crate) max_row_group_rows: usize,
    pub(crate) max_row_group_bytes: usize,
    pub(crate) stats_columns: StatsColumns,
    pub(crate) max_open_files: usize,
    pub(crate) max_buffered_bytes: usize,
    pub(crate) upload_part_size: usize,
    pub(crate) max_concurrent_uploads: usize,
    pub(crate) idle_file_rows: u64,
    pub(crate) encoding_threads: usize,
    pub(crate) data_change: bool,
    pub(crate) spill_directory: PathBuf,
}

pub(crate) fn stats_columns_from_properties(
    properties: &BTreeMap<String, String>,
) -> Result<StatsColumns> {
    let invalid = |key: &str, value: &str, reason: &str| {
        Error::Protocol(ProtocolError::InvalidTableProperty {
            property: key.to_owned(),
            value: value.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if let Some(value) = properties.get(STATS_COLUMNS_KEY) {
        let names = split_column_list(value)
            .map_err(|reason| invalid(STATS_COLUMNS_KEY, value, &reason))?;
        return Ok(StatsColumns::Named(names));
    }
    match properties.get(NUM_INDEXED_COLS_KEY) {
        None => Ok(StatsColumns::FirstLeaves(DEFAULT_NUM_INDEXED_COLS)),
        Some(value) => match value.trim().parse::<i64>() {
            Ok(-1) => Ok(StatsColumns::All),
            Ok(n) if n >= 0 => Ok(StatsColumns::FirstLeaves(
                usize::try_from(n).unwrap_or(usize::MAX),
            )),
            _ => Err(invalid(
                NUM_INDEXED_COLS_KEY,
                value,
                "expected -1 (all columns) or a number of columns >= 0",
            )),
        },
    }
}

/// Splits `a, b.c, `x,y`.z` into column names, keeping backquoted parts whole (the backquotes
/// stay, for [`parse_column_path`] to read).
fn split_column_list(value: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in value.chars() {
        match c {
            '`' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => {
                names.push(std::mem::take(&mut current));
            }
            _ => current.push(c),
        }
    }
    if quoted {
        return Err("unbalanced backquote".to_owned());
    }
    names.push(current);
    Ok(names
        .into_iter()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .collect())
}

/// Reads a column path `a.b`, `` `a.b`.c `` (a doubled backquote inside backquotes is one
/// backquote) into its segments.
pub(crate) fn parse_column_path(name: &str) -> Result<Vec<String>, String> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut chars = name.trim().chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('`', false) => quoted = true,
            ('`', true) => {
                if chars.peek() == Some(&'`') {
                    chars.next();
                    current.push('`');
                } else {
                    quoted = false;
                }
            }
            ('.', false) => segments.push(std::mem::take(&mut current)),
            (c, _) => current.push(c),
        }
    }
    if quoted {
        return Err(format!("unbalanced backquote in `{name}`"));
    }
    segments.push(current);
    if segments.iter().any(String::is_empty) {
        return Err(format!("`{name}` has an empty name segment"));
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn option_beats_property_beats_default() {
        let none = WriterOptions::new().resolve(&props(&[])).unwrap();
        assert_eq!(none.target_file_size, DEFAULT_TARGET_FILE_SIZE);
        assert_eq!(none.stats_columns, StatsColumns::FirstLeaves(32));
        assert_eq!(none.compression, Compression::Zstd(3));
        let table = props(&[
            (TARGET_FILE_SIZE_KEY, "1048576"),
            (NUM_INDEXED_COLS_KEY, "-1"),
        ]);
        let from_table = WriterOptions::new().resolve(&table).unwrap();
        assert_eq!(from_table.target_file_size, 1 << 20);
        assert_eq!(from_table.stats_columns, StatsColumns::All);
        let explicit = WriterOptions::new()
            .with_target_file_size(10)
            .with_stats_columns(StatsColumns::FirstLeaves(2))
            .resolve(&table)
            .unwrap();
        assert_eq!(explicit.target_file_size, 10);
        assert_eq!(explicit.stats_columns, StatsColumns::FirstLeaves(2));
    }

    #[test]
    fn malformed_properties_are_errors_naming_them() {
        for (key, value) in [
            (TARGET_FILE_SIZE_KEY, "big"),
            (NUM_INDEXED_COLS_KEY, "-2"),
            (NUM_INDEXED_COLS_KEY, "many"),
            (STATS_COLUMNS_KEY, "`a"),
        ] {
            let err = WriterOptions::new()
                .resolve(&props(&[(key, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{err}");
        }
        let err = WriterOptions::new()
            .with_compression(Compression::Zstd(99))
            .resolve(&props(&[]))
            .unwrap_err();
        assert!(err.to_string().contains("zstd level 99"), "{err}");
    }

    #[test]
    fn stats_column_lists() {
        let resolved = WriterOptions::new()
            .resolve(&props(&[
                (STATS_COLUMNS_KEY, " a, b.c ,`x,y`.z"),
                (NUM_INDEXED_COLS_KEY, "3"),
            ]))
            .unwrap();
        assert_eq!(
            resolved.stats_columns,
            StatsColumns::Named(vec!["a".into(), "b.c".into(), "`x,y`.z".into()])
        );
        assert_eq!(parse_column_path("b.c").unwrap(), vec!["b", "c"]);
        assert_eq!(
            parse_column_path("`x,y`.z").unwrap(),
            vec!["x,y".to_owned(), "z".to_owned()]
        );
        assert_eq!(parse_column_path("`a``b`").unwrap(), vec!["a`b".to_owned()]);
        assert!(parse_column_path("a..b").is_err());
    }
}
