//! What a checkpoint write left in `_delta_log`, read back with the parquet crate and nothing of
//! the engines: `_last_checkpoint`, then every Parquet part of the checkpoint at that version
//! (one for a classic checkpoint), counted action by action. This module only reads; the
//! child decides what the right counts are.

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::Path;

use arrow::array::{Array, AsArray, StructArray};
use arrow::datatypes::{DataType, Int64Type};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Deserialize;

use crate::error::{BenchError, io_error};

/// Rows read per batch.
const BATCH_ROWS: usize = 8192;

/// A checkpoint as its files describe it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct CheckpointOnDisk {
    /// `version` in `_last_checkpoint`.
    pub(super) hint_version: u64,
    /// `size` (actions) in `_last_checkpoint`, when written.
    pub(super) hint_size: Option<u64>,
    /// Parquet files of the checkpoint.
    pub(super) files: u64,
    /// Their bytes.
    pub(super) bytes: u64,
    /// Rows (actions) in them.
    pub(super) rows: u64,
    /// Non-null `add` rows.
    pub(super) adds: u64,
    /// Distinct `add.path` values.
    pub(super) distinct_paths: u64,
    /// `add` rows with no `numRecords` in either `stats` or `stats_parsed`.
    pub(super) adds_without_records: u64,
    /// Sum of `numRecords` over the `add` rows.
    pub(super) records: u64,
    /// Non-null `protocol` rows.
    pub(super) protocols: u64,
    /// Non-null `metaData` rows.
    pub(super) metadata: u64,
    /// Whether `add.stats_parsed` is a column of the checkpoint.
    pub(super) stats_parsed: bool,
}

#[derive(Deserialize)]
struct LastCheckpoint {
    version: u64,
    size: Option<u64>,
}

#[derive(Deserialize)]
struct StatsHead {
    #[serde(rename = "numRecords")]
    num_records: Option<u64>,
}

/// Reads `_last_checkpoint` of the table at `dir` and the checkpoint it names (which must be at
/// `version`, else the counts stay zero and the child's checks fail).
pub(super) fn read_checkpoint(dir: &Path, version: u64) -> Result<CheckpointOnDisk, BenchError> {
    let log = dir.join("_delta_log");
    let hint_path = log.join("_last_checkpoint");
    let hint_text = fs::read(&hint_path).map_err(io_error(&hint_path))?;
    let hint: LastCheckpoint =
        serde_json::from_slice(&hint_text).map_err(|source| BenchError::Deserialize {
            what: "_last_checkpoint",
            path: hint_path.clone(),
            source,
        })?;
    let mut out = CheckpointOnDisk {
        hint_version: hint.version,
        hint_size: hint.size,
        ..CheckpointOnDisk::default()
    };
    let prefix = format!("{version:020}.checkpoint.");
    let mut parts = Vec::new();
    for entry in fs::read_dir(&log).map_err(io_error(&log))? {
        let entry = entry.map_err(io_error(&log))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) && name.ends_with(".parquet") {
            parts.push(entry.path());
        }
    }
    let mut paths = HashSet::new();
    for part in parts {
        out.files += 1;
        out.bytes += fs::metadata(&part).map_err(io_error(&part))?.len();
        read_part(&part, &mut out, &mut paths)?;
    }
    out.distinct_paths = paths.len() as u64;
    Ok(out)
}

fn read_part(
    part: &Path,
    out: &mut CheckpointOnDisk,
    paths: &mut HashSet<String>,
) -> Result<(), BenchError> {
    let shown = part.display().to_string();
    let parquet_error = |source| BenchError::Parquet {
        path: shown.clone(),
        source,
    };
    let arrow_error = |source| BenchError::Arrow {
        what: "checkpoint column",
        source,
    };
    let file = File::open(part).map_err(io_error(part))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_error)?;
    let columns = builder.parquet_schema().columns();
    out.stats_parsed |= columns
        .iter()
        .any(|c| c.path().string().starts_with("add.stats_parsed."));
    let mask = ProjectionMask::columns(
        builder.parquet_schema(),
        [
            "add.path",
            "add.stats",
            "add.stats_parsed.numRecords",
            "protocol.minReaderVersion",
            "metaData.id",
        ],
    );
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(parquet_error)?;
    for batch in reader {
        let batch = batch.map_err(arrow_error)?;
        out.rows += batch.num_rows() as u64;
        let present = |name: &str| {
            batch
                .column_by_name(name)
                .map_or(0, |c| (c.len() - c.null_count()) as u64)
        };
        out.protocols += present("protocol");
        out.metadata += present("metaData");
        let Some(add) = batch.column_by_name("add").and_then(|c| c.as_struct_opt()) else {
            continue;
        };
        count_adds(add, out, paths).map_err(arrow_error)?;
    }
    Ok(())
}

/// Counts the non-null rows of an `add` column: paths, and `numRecords` from the JSON `stats`
/// or, failing that, `stats_parsed`.
fn count_adds(
    add: &StructArray,
    out: &mut CheckpointOnDisk,
    paths: &mut HashSet<String>,
) -> Result<(), arrow::error::ArrowError> {
    let utf8 = |name: &str| {
        add.column_by_name(name)
            .map(|c| arrow::compute::cast(c, &DataType::Utf8))
            .transpose()
    };
    let path = utf8("path")?;
    let stats = utf8("stats")?;
    let parsed_records = add
        .column_by_name("stats_parsed")
        .and_then(|c| c.as_struct_opt())
        .and_then(|s| s.column_by_name("numRecords"))
        .and_then(|c| c.as_primitive_opt::<Int64Type>());
    for row in 0..add.len() {
        if add.is_null(row) {
            continue;
        }
        out.adds += 1;
        if let Some(path) = path.as_ref().map(|p| p.as_string::<i32>())
            && path.is_valid(row)
            && !paths.contains(path.value(row))
        {
            paths.insert(path.value(row).to_owned());
        }
        let from_json = stats
            .as_ref()
            .map(|s| s.as_string::<i32>())
            .filter(|s| s.is_valid(row))
            .and_then(|s| serde_json::from_str::<StatsHead>(s.value(row)).ok())
            .and_then(|head| head.num_records);
        let from_parsed = parsed_records
            .filter(|c| c.is_valid(row))
            .and_then(|c| u64::try_from(c.value(row)).ok());
        match from_json.or(from_parsed) {
            Some(records) => out.records += records,
            None => out.adds_without_records += 1,
        }
    }
    Ok(())
}
