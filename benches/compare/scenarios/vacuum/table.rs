//! The table a vacuum cleans up: `files` tiny data files in `partitions` day directories, of
//! which `removed_percent` percent were added and then removed long ago, and the log that says
//! so, written in bulk.
//!
//! Every data file is the same tiny Parquet file (one `id` column, [`ROWS_PER_FILE`] rows),
//! encoded once and written `files` times: a vacuum never reads a data file, it lists, decides
//! and deletes, so distinct contents would only slow the generator. Each file's modification
//! time, every commit's timestamp and every tombstone's `deletionTimestamp` is 2026-01-01
//! (`gen_data::EPOCH_MS`), far outside the default 7-day retention, so both engines delete the
//! removed files with their default retention, no override needed. The log is version 0
//! (commitInfo, protocol 1/2, metaData) then the adds in commits of at most
//! [`ACTIONS_PER_COMMIT`], then the removes likewise: a few dozen commits, not one per file.
//!
//! File `i` (0-based) lives in day `i % partitions` and is removed when `i % 100 <
//! removed_percent`. This module decides the layout; nothing depends on the clock, and one seed
//! gives the same file names and a byte-identical log.

use std::collections::BTreeMap;
use std::fs::{self, File, FileTimes};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arrow::array::{ArrayRef, Int64Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{BenchError, io_error};
use crate::gen_data::{self, EPOCH_MS, partition_day};
use crate::gen_log::actions::{Action, Add, CommitInfo, Format, Metadata, Remove};

/// Rows in every data file.
pub(crate) const ROWS_PER_FILE: u64 = 10;

/// Most add or remove actions in one commit.
pub(crate) const ACTIONS_PER_COMMIT: u64 = 10_000;

/// The record of a finished table, written last; its parameters must match for reuse.
const SPEC_FILE: &str = "_bench_vacuum.json";

/// The engine name written into the `commitInfo`.
const ENGINE_INFO: &str = "tarn-benches/vacuum";

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VacuumTable {
    /// Data files written (active and removed).
    pub(crate) files: u64,
    /// Percent of them removed (tombstoned, long expired).
    pub(crate) removed_percent: u64,
    /// Partition directories (`day` values).
    pub(crate) partitions: u64,
    /// Seed of the file names.
    pub(crate) seed: u64,
}

/// One data file of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableFile {
    /// Path relative to the table root.
    pub(crate) path: String,
    /// The `day` partition value.
    pub(crate) day: String,
    /// Whether a commit removed it.
    pub(crate) removed: bool,
}

impl VacuumTable {
    /// Rejects parameters that cannot give the promised table.
    pub(crate) fn validate(&self) -> Result<(), BenchError> {
        let invalid = |name, value: u64, reason| {
            Err(BenchError::InvalidArgument {
                name,
                value: value.to_string(),
                reason,
            })
        };
        if self.files == 0 {
            return invalid("--files", 0, "must be positive");
        }
        if self.removed_percent > 100 {
            return invalid("--removed-percent", self.removed_percent, "at most 100");
        }
        if self.partitions == 0 || self.partitions > 3_650 {
            return invalid("--partitions", self.partitions, "between 1 and 3650");
        }
        Ok(())
    }

    /// Every data file, in index order.
    pub(crate) fn table_files(&self) -> Result<Vec<TableFile>, BenchError> {
        let days: Vec<String> = (0..self.partitions)
            .map(partition_day)
            .collect::<Result<_, _>>()?;
        let mut naming = ChaCha8Rng::seed_from_u64(self.seed);
        let mut files = Vec::with_capacity(usize::try_from(self.files).unwrap_or(0));
        for i in 0..self.files {
            let day = &days[usize::try_from(i % self.partitions).unwrap_or(0)];
            let uuid = uuid::Builder::from_random_bytes(naming.random()).into_uuid();
            files.push(TableFile {
                path: format!("day={day}/part-{i:06}-{uuid}.c000.zstd.parquet"),
                day: day.clone(),
                removed: i % 100 < self.removed_percent,
            });
        }
        Ok(files)
    }

    /// Files a vacuum must delete: the removed ones.
    pub(crate) fn removed(&self) -> u64 {
        let removed = (0..self.files)
            .filter(|i| i % 100 < self.removed_percent)
            .count();
        u64::try_from(removed).unwrap_or(u64::MAX)
    }

    /// The version of the last generated commit.
    pub(crate) fn last_version(&self) -> u64 {
        let removed = self.removed();
        self.files.div_ceil(ACTIONS_PER_COMMIT) + removed.div_ceil(ACTIONS_PER_COMMIT)
    }
}

/// Reuses the table at `dir` if it was generated with `spec`, else generates it there; a table
/// generated with other parameters is refused. `scenario` prefixes the progress lines.
pub(crate) fn prepare(scenario: &str, dir: &Path, spec: &VacuumTable) -> Result<(), BenchError> {
    let record = dir.join(SPEC_FILE);
    if record.exists() {
        let text = fs::read_to_string(&record).map_err(io_error(&record))?;
        let written: VacuumTable =
            serde_json::from_str(&text).map_err(|source| BenchError::Deserialize {
                what: "vacuum table parameters",
                path: record.clone(),
                source,
            })?;
        if written == *spec {
            eprintln!("[{scenario}] reusing the table at {}", dir.display());
            return Ok(());
        }
        return Err(BenchError::StaleTable {
            path: dir.to_path_buf(),
        });
    }
    if dir.exists() {
        // An earlier generation stopped half-way.
        fs::remove_dir_all(dir).map_err(io_error(dir))?;
    }
    eprintln!(
        "[{scenario}] generating {} files ({}% removed) in {} partitions at {}",
        spec.files,
        spec.removed_percent,
        spec.partitions,
        dir.display()
    );
    let started = Instant::now();
    generate(dir, spec)?;
    let text = serde_json::to_string(spec).map_err(|source| BenchError::Serialize {
        what: "vacuum table parameters",
        source,
    })?;
    fs::write(&record, text).map_err(io_error(&record))?;
    eprintln!(
        "[{scenario}] generated {} files and {} commits in {:.1} s",
        spec.files,
        spec.last_version() + 1,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Writes the data files and the log.
fn generate(dir: &Path, spec: &VacuumTable) -> Result<(), BenchError> {
    spec.validate()?;
    let bytes = tiny_parquet()?;
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let old = SystemTime::UNIX_EPOCH + Duration::from_millis(EPOCH_MS.unsigned_abs());
    let times = FileTimes::new().set_modified(old).set_accessed(old);
    let files = spec.table_files()?;
    for day in (0..spec.partitions).map(partition_day) {
        let day_dir = dir.join(format!("day={}", day?));
        fs::create_dir_all(&day_dir).map_err(io_error(&day_dir))?;
    }
    for file in &files {
        let path = dir.join(&file.path);
        let mut out = File::create_new(&path).map_err(io_error(&path))?;
        out.write_all(&bytes).map_err(io_error(&path))?;
        out.set_times(times).map_err(io_error(&path))?;
    }

    let log_dir = dir.join("_delta_log");
    fs::create_dir_all(&log_dir).map_err(io_error(&log_dir))?;
    let mut naming = ChaCha8Rng::seed_from_u64(spec.seed);
    naming.set_stream(1);
    let mut uuid = || {
        uuid::Builder::from_random_bytes(naming.random())
            .into_uuid()
            .to_string()
    };
    let create = vec![
        Action::CommitInfo(commit_info(0, "CREATE TABLE", None, uuid())),
        Action::Protocol(gen_data::protocol()),
        Action::Metadata(metadata(uuid())?),
    ];
    gen_data::write_commit(&log_dir, 0, &create)?;
    let stats = format!(r#"{{"numRecords":{ROWS_PER_FILE}}}"#);
    let partition = |file: &TableFile| BTreeMap::from([("day".to_owned(), file.day.clone())]);
    let chunk = usize::try_from(ACTIONS_PER_COMMIT).unwrap_or(usize::MAX);
    let mut version = 0_u64;
    for adds in files.chunks(chunk) {
        version += 1;
        let mut actions = vec![Action::CommitInfo(commit_info(
            version,
            "WRITE",
            Some(version - 1),
            uuid(),
        ))];
        actions.extend(adds.iter().map(|file| {
            Action::Add(Add {
                path: file.path.clone(),
                partition_values: partition(file),
                size,
                modification_time: EPOCH_MS,
                data_change: true,
                stats: stats.clone(),
            })
        }));
        gen_data::write_commit(&log_dir, version, &actions)?;
    }
    let removed: Vec<&TableFile> = files.iter().filter(|file| file.removed).collect();
    for removes in removed.chunks(chunk) {
        version += 1;
        let mut actions = vec![Action::CommitInfo(commit_info(
            version,
            "DELETE",
            Some(version - 1),
            uuid(),
        ))];
        actions.extend(removes.iter().map(|&file| {
            Action::Remove(Remove {
                path: file.path.clone(),
                deletion_timestamp: timestamp(version),
                data_change: true,
                extended_file_metadata: true,
                partition_values: partition(file),
                size,
            })
        }));
        gen_data::write_commit(&log_dir, version, &actions)?;
    }
    Ok(())
}

/// The commit time of `version`: one millisecond per version after 2026-01-01.
fn timestamp(version: u64) -> i64 {
    EPOCH_MS + i64::try_from(version).unwrap_or(i64::MAX)
}

fn commit_info(
    version: u64,
    operation: &str,
    read_version: Option<u64>,
    txn: String,
) -> CommitInfo {
    CommitInfo {
        timestamp: timestamp(version),
        operation: operation.to_owned(),
        operation_parameters: BTreeMap::new(),
        read_version,
        isolation_level: "Serializable".to_owned(),
        is_blind_append: operation == "WRITE",
        operation_metrics: BTreeMap::new(),
        engine_info: ENGINE_INFO.to_owned(),
        txn_id: txn,
    }
}

/// `id` long in the files, `day` string the partition column.
fn metadata(id: String) -> Result<Metadata, BenchError> {
    let schema = serde_json::json!({
        "type": "struct",
        "fields": [
            {"name": "id", "type": "long", "nullable": true, "metadata": {}},
            {"name": "day", "type": "string", "nullable": true, "metadata": {}},
        ],
    });
    let schema_string = serde_json::to_string(&schema).map_err(|source| BenchError::Serialize {
        what: "schema",
        source,
    })?;
    Ok(Metadata {
        id,
        format: Format {
            provider: "parquet".to_owned(),
            options: BTreeMap::new(),
        },
        schema_string,
        partition_columns: vec!["day".to_owned()],
        configuration: BTreeMap::new(),
        created_time: EPOCH_MS,
    })
}

/// The one data file, encoded: `id` 0..ROWS_PER_FILE.
fn tiny_parquet() -> Result<Vec<u8>, BenchError> {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(
        0..i64::try_from(ROWS_PER_FILE).unwrap_or(0),
    ));
    let batch =
        RecordBatch::try_new(schema.clone(), vec![ids]).map_err(|source| BenchError::Arrow {
            what: "tiny data file",
            source,
        })?;
    let parquet_error = |source| BenchError::Parquet {
        path: "tiny data file".to_owned(),
        source,
    };
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, schema, None).map_err(parquet_error)?;
    writer.write(&batch).map_err(parquet_error)?;
    writer.close().map_err(parquet_error)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_files_and_a_bulk_log() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("t");
        let spec = VacuumTable {
            files: 25_000,
            removed_percent: 90,
            partitions: 7,
            seed: 3,
        };
        prepare("test", &dir, &spec).unwrap();
        let files = spec.table_files().unwrap();
        assert_eq!(files.iter().filter(|f| f.removed).count(), 22_500);
        assert_eq!(spec.removed(), 22_500);
        // 3 add commits, 3 remove commits after version 0.
        assert_eq!(spec.last_version(), 6);
        let log = fs::read_dir(dir.join("_delta_log")).unwrap().count();
        assert_eq!(log, 7);
        let first = fs::metadata(dir.join(&files[0].path)).unwrap();
        let modified = first.modified().unwrap();
        assert_eq!(
            modified,
            SystemTime::UNIX_EPOCH + Duration::from_millis(EPOCH_MS.unsigned_abs())
        );
        // Reused as is; other parameters are refused.
        prepare("test", &dir, &spec).unwrap();
        let other = VacuumTable { seed: 4, ..spec };
        assert!(prepare("test", &dir, &other).is_err());
    }
}
