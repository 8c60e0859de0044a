//! What a compaction left, read back with code that owes nothing to the engines and checked
//! against the generator's manifest: the log's active files (each matching its footer, via
//! `write_engine::verify`), every row of them read with the parquet crate, and the commits the
//! compaction added. A compaction passes only if
//! - the table holds the source's rows: the same count, every `id` of the source exactly once
//!   and in the partition it was written to, and the same sum of `amount`;
//! - every partition is down to the files the target size calls for: one when the partition's
//!   source files add up to at most the target size, else fewer than before and at most twice
//!   as many as the target size strictly needs (what any bin-packing that never leaves two bins
//!   mergeable achieves);
//! - it committed at least one version, and every `add` and `remove` it committed has
//!   `dataChange = false` (PROTOCOL.md: a rearrangement of data is not a data change).
//!
//! This module only reads and compares; it never decides what an engine is asked to do.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::Path;

use arrow::array::AsArray;
use arrow::datatypes::{Float64Type, Int64Type};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::child::OptimizeReport;
use crate::engine::Engine;
use crate::error::{BenchError, io_error};
use crate::gen_data::Manifest;
use crate::write_engine::verify::{ActiveFile, delta_table_files};

/// The partition column of the generated tables.
const PARTITION: &str = "day";

/// Rows decoded at a time when reading the table back.
const READ_BATCH_ROWS: usize = 65_536;

/// A compacted table that passed every check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Compacted {
    /// Rows in the table (the source's).
    pub(super) rows: u64,
    /// Partitions.
    pub(super) partitions: u64,
    /// Data files of the source.
    pub(super) files_before: u64,
    /// Active data files afterwards.
    pub(super) files_after: u64,
    /// Most active files in one partition afterwards.
    pub(super) max_files_per_partition: u64,
    /// Bytes of the source's data files.
    pub(super) bytes_before: u64,
    /// Bytes of the active data files afterwards.
    pub(super) bytes_after: u64,
    /// Versions the compaction committed.
    pub(super) commits: u64,
    /// The table's last version afterwards.
    pub(super) last_version: u64,
}

impl Compacted {
    /// The part of the child's report this scenario adds.
    pub(super) fn report(&self) -> OptimizeReport {
        OptimizeReport {
            rows: self.rows,
            partitions: self.partitions,
            files_before: self.files_before,
            files_after: self.files_after,
            max_files_per_partition: self.max_files_per_partition,
            bytes_before: self.bytes_before,
            bytes_after: self.bytes_after,
            commits: self.commits,
        }
    }
}

/// One partition of the source, per the manifest.
#[derive(Debug, Clone, Copy)]
struct SourcePartition {
    files: u64,
    bytes: u64,
    /// The partition's ids: the generator writes each day's ids as one contiguous range.
    id_min: i64,
    id_max: i64,
}

/// Checks the table at `dir`, made from the source `manifest` describes and compacted by
/// `engine` to `target_size`.
pub(super) fn compacted(
    engine: Engine,
    dir: &Path,
    manifest: &Manifest,
    target_size: u64,
) -> Result<Compacted, BenchError> {
    let wrong = |what: String, expected: String, actual: String| BenchError::WrongCompaction {
        engine,
        what,
        expected,
        actual,
    };
    let source_version = if manifest.commit_per_file {
        count(manifest.files.len())
    } else {
        0
    };
    let (on_disk, files) = delta_table_files(dir)?;
    let last_version = on_disk.last_version.unwrap_or(0);
    if last_version <= source_version {
        return Err(wrong(
            "last version".to_owned(),
            format!("above the source's {source_version} (a compaction commit)"),
            last_version.to_string(),
        ));
    }
    let changes = data_changes(dir, source_version + 1..=last_version)?;
    if let Some((version, kind, path)) = changes.first() {
        return Err(wrong(
            format!("dataChange of the {kind} of {path} in version {version}"),
            "false".to_owned(),
            "true".to_owned(),
        ));
    }
    if on_disk.rows != manifest.rows {
        return Err(wrong(
            "rows (footers of the active files)".to_owned(),
            manifest.rows.to_string(),
            on_disk.rows.to_string(),
        ));
    }

    let mut source: BTreeMap<&str, SourcePartition> = BTreeMap::new();
    for file in &manifest.files {
        let partition = source.entry(file.day.as_str()).or_insert(SourcePartition {
            files: 0,
            bytes: 0,
            id_min: file.id_min,
            id_max: file.id_max,
        });
        partition.files += 1;
        partition.bytes += file.size;
        partition.id_min = partition.id_min.min(file.id_min);
        partition.id_max = partition.id_max.max(file.id_max);
    }
    let mut by_partition: BTreeMap<&str, Vec<&ActiveFile>> = BTreeMap::new();
    for file in &files {
        let day = file
            .partition_values
            .get(PARTITION)
            .and_then(Option::as_deref)
            .unwrap_or("(null)");
        match source.get_key_value(day) {
            Some((&key, _)) => by_partition.entry(key).or_default().push(file),
            None => {
                return Err(wrong(
                    format!("partition of {}", file.path),
                    "one of the source's days".to_owned(),
                    day.to_owned(),
                ));
            }
        }
    }
    let mut max_files_per_partition = 0;
    for (day, partition) in &source {
        let after = by_partition.get(day).map_or(0, |files| count(files.len()));
        let (allowed, rule) = if partition.bytes <= target_size {
            (
                1,
                "exactly 1 (the partition fits the target size)".to_owned(),
            )
        } else {
            let needed = partition.bytes.div_ceil(target_size);
            let most = (2 * needed).min(partition.files.saturating_sub(1));
            (most, format!("1..={most}"))
        };
        if after == 0 || after > allowed {
            return Err(wrong(
                format!(
                    "data files in {PARTITION}={day} ({} source files, {} bytes)",
                    partition.files, partition.bytes
                ),
                rule,
                after.to_string(),
            ));
        }
        max_files_per_partition = max_files_per_partition.max(after);
    }

    let tally = read_back(engine, dir, &by_partition, &source, manifest.rows)?;
    if tally.rows != manifest.rows {
        return Err(wrong(
            "rows read back".to_owned(),
            manifest.rows.to_string(),
            tally.rows.to_string(),
        ));
    }
    // Sums over the same values in another order agree to far better than this.
    let tolerance = 1e-9 * manifest.amount_sum.abs().max(1.0);
    if (tally.amount_sum - manifest.amount_sum).abs() > tolerance {
        return Err(wrong(
            "sum of amount".to_owned(),
            manifest.amount_sum.to_string(),
            tally.amount_sum.to_string(),
        ));
    }
    Ok(Compacted {
        rows: tally.rows,
        partitions: count(source.len()),
        files_before: count(manifest.files.len()),
        files_after: on_disk.files,
        max_files_per_partition,
        bytes_before: manifest.files.iter().map(|f| f.size).sum(),
        bytes_after: on_disk.bytes,
        commits: last_version - source_version,
        last_version,
    })
}

/// What reading every row back found.
struct Tally {
    rows: u64,
    amount_sum: f64,
}

/// Reads `id` and `amount` of every active file: each `id` must lie in its partition's source
/// range and occur once in the whole table (a bitmap over `0..rows`, the generator's ids).
fn read_back(
    engine: Engine,
    dir: &Path,
    by_partition: &BTreeMap<&str, Vec<&ActiveFile>>,
    source: &BTreeMap<&str, SourcePartition>,
    rows: u64,
) -> Result<Tally, BenchError> {
    let words = usize::try_from(rows.div_ceil(64)).unwrap_or(usize::MAX);
    let mut seen = vec![0_u64; words];
    let mut tally = Tally {
        rows: 0,
        amount_sum: 0.0,
    };
    for (day, files) in by_partition {
        let Some(range) = source.get(day) else {
            continue;
        };
        for file in files {
            let path = dir.join(&file.path);
            let parquet_error = |source| BenchError::Parquet {
                path: file.path.clone(),
                source,
            };
            let reader = File::open(&path).map_err(io_error(&path))?;
            let builder =
                ParquetRecordBatchReaderBuilder::try_new(reader).map_err(parquet_error)?;
            let mask = ProjectionMask::columns(builder.parquet_schema(), ["id", "amount"]);
            let batches = builder
                .with_projection(mask)
                .with_batch_size(READ_BATCH_ROWS)
                .build()
                .map_err(parquet_error)?;
            for batch in batches {
                let batch = batch.map_err(|source| BenchError::Arrow {
                    what: "reading a compacted file back",
                    source,
                })?;
                let missing = |column| BenchError::MissingColumn {
                    column,
                    schema: batch.schema().to_string(),
                };
                let ids = batch
                    .column_by_name("id")
                    .and_then(|c| c.as_primitive_opt::<Int64Type>())
                    .ok_or_else(|| missing("id"))?;
                let amounts = batch
                    .column_by_name("amount")
                    .and_then(|c| c.as_primitive_opt::<Float64Type>())
                    .ok_or_else(|| missing("amount"))?;
                for id in ids.iter() {
                    let Some(id) = id.filter(|id| (range.id_min..=range.id_max).contains(id))
                    else {
                        return Err(BenchError::WrongCompaction {
                            engine,
                            what: format!("an id in {} ({PARTITION}={day})", file.path),
                            expected: format!("{}..={}", range.id_min, range.id_max),
                            actual: id.map_or_else(|| "null".to_owned(), |id| id.to_string()),
                        });
                    };
                    // In range, so 0 <= id < rows.
                    let bit = u64::try_from(id).unwrap_or(0);
                    let word = &mut seen[usize::try_from(bit / 64).unwrap_or(0)];
                    let mask = 1_u64 << (bit % 64);
                    if *word & mask != 0 {
                        return Err(BenchError::WrongCompaction {
                            engine,
                            what: format!("occurrences of id {id}"),
                            expected: "1".to_owned(),
                            actual: "2 or more".to_owned(),
                        });
                    }
                    *word |= mask;
                }
                tally.rows += count(batch.num_rows());
                tally.amount_sum += amounts.iter().flatten().sum::<f64>();
            }
        }
    }
    Ok(tally)
}

/// The `add`s and `remove`s with `dataChange = true` in the JSON commits `versions`, as
/// (version, "add" or "remove", path).
fn data_changes(
    dir: &Path,
    versions: std::ops::RangeInclusive<u64>,
) -> Result<Vec<(u64, &'static str, String)>, BenchError> {
    let mut changes = Vec::new();
    for version in versions {
        let path = dir.join("_delta_log").join(format!("{version:020}.json"));
        let text = fs::read_to_string(&path).map_err(io_error(&path))?;
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let action: serde_json::Value =
                serde_json::from_str(line).map_err(|source| BenchError::Deserialize {
                    what: "log action",
                    path: path.clone(),
                    source,
                })?;
            for kind in ["add", "remove"] {
                if let Some(file) = action.get(kind)
                    && file["dataChange"].as_bool() != Some(false)
                {
                    let file_path = file["path"].as_str().unwrap_or_default().to_owned();
                    changes.push((version, kind, file_path));
                }
            }
        }
    }
    Ok(changes)
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen_data::{self, DataSpec};

    fn source(dir: &Path) -> Manifest {
        let spec = DataSpec {
            rows: 600,
            days: 2,
            seed: 3,
            rows_per_file: 100,
            row_group_rows: 1_000,
            commit_per_file: true,
        };
        gen_data::generate(dir, &spec).unwrap()
    }

    /// Appends a commit (as the next version) with these actions.
    fn commit(dir: &Path, version: u64, actions: &[serde_json::Value]) {
        let text: String = actions.iter().map(|a| format!("{a}\n")).collect();
        fs::write(
            dir.join("_delta_log").join(format!("{version:020}.json")),
            text,
        )
        .unwrap();
    }

    fn remove(path: &str, data_change: bool) -> serde_json::Value {
        serde_json::json!({"remove": {"path": path, "deletionTimestamp": 0, "dataChange": data_change}})
    }

    #[test]
    fn an_uncompacted_table_fails() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = source(dir.path());
        let err = compacted(Engine::Tarn, dir.path(), &manifest, 1 << 30).unwrap_err();
        assert!(err.to_string().contains("last version"), "{err}");
        // A commit that compacts nothing leaves three files per partition.
        commit(dir.path(), 7, &[serde_json::json!({"commitInfo": {}})]);
        let err = compacted(Engine::Tarn, dir.path(), &manifest, 1 << 30).unwrap_err();
        assert!(err.to_string().contains("data files in day="), "{err}");
    }

    #[test]
    fn lost_rows_and_data_changes_fail() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = source(dir.path());
        let first = &manifest.files[0].path;
        commit(dir.path(), 7, &[remove(first, false)]);
        let err = compacted(Engine::Deltalake, dir.path(), &manifest, 1 << 30).unwrap_err();
        assert!(err.to_string().contains("rows"), "{err}");
        commit(dir.path(), 8, &[remove(&manifest.files[1].path, true)]);
        let err = compacted(Engine::Deltalake, dir.path(), &manifest, 1 << 30).unwrap_err();
        assert!(err.to_string().contains("dataChange"), "{err}");
    }

    /// Commits, as `version`, a hand-made compaction: each listed day's source files replaced
    /// by one file holding the rows of the listed source files (by index), in that order.
    fn rewrite(dir: &Path, manifest: &Manifest, version: u64, days: &[(&str, &[usize])]) {
        use parquet::arrow::ArrowWriter;
        let mut actions = Vec::new();
        for (day, sources) in days {
            for file in manifest.files_of_day(day) {
                actions.push(remove(&file.path, false));
            }
            let path = format!("day={day}/compacted-{version}.parquet");
            let out = File::create(dir.join(&path)).unwrap();
            let mut writer = None;
            let mut rows = 0;
            for &index in *sources {
                let input = File::open(dir.join(&manifest.files[index].path)).unwrap();
                for batch in ParquetRecordBatchReaderBuilder::try_new(input)
                    .unwrap()
                    .build()
                    .unwrap()
                {
                    let batch = batch.unwrap();
                    rows += batch.num_rows();
                    writer
                        .get_or_insert_with(|| {
                            ArrowWriter::try_new(out.try_clone().unwrap(), batch.schema(), None)
                                .unwrap()
                        })
                        .write(&batch)
                        .unwrap();
                }
            }
            writer.unwrap().close().unwrap();
            let size = fs::metadata(dir.join(&path)).unwrap().len();
            actions.push(serde_json::json!({"add": {
                "path": path, "partitionValues": {"day": day}, "size": size,
                "modificationTime": 0, "dataChange": false,
                "stats": format!("{{\"numRecords\":{rows}}}"),
            }}));
        }
        commit(dir, version, &actions);
    }

    const DAY_1: &str = "2026-01-01";
    const DAY_2: &str = "2026-01-02";

    #[test]
    fn a_faithful_compaction_passes() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = source(dir.path());
        rewrite(
            dir.path(),
            &manifest,
            7,
            &[(DAY_1, &[2, 0, 1]), (DAY_2, &[3, 4, 5])],
        );
        let done = compacted(Engine::Tarn, dir.path(), &manifest, 1 << 30).unwrap();
        assert_eq!(done.rows, 600);
        assert_eq!((done.files_before, done.files_after), (6, 2));
        assert_eq!((done.max_files_per_partition, done.partitions), (1, 2));
        assert_eq!((done.commits, done.last_version), (1, 7));
        assert_eq!(
            done.bytes_before,
            manifest.files.iter().map(|f| f.size).sum::<u64>()
        );
    }

    #[test]
    fn duplicated_or_moved_rows_fail() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = source(dir.path());
        // File 0 twice, file 2 never: the row count is right, an id is not.
        rewrite(
            dir.path(),
            &manifest,
            7,
            &[(DAY_1, &[0, 1, 0]), (DAY_2, &[3, 4, 5])],
        );
        let err = compacted(Engine::Tarn, dir.path(), &manifest, 1 << 30).unwrap_err();
        assert!(err.to_string().contains("occurrences of id 0"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let manifest = source(dir.path());
        // Files 2 and 3 swap partitions.
        rewrite(
            dir.path(),
            &manifest,
            7,
            &[(DAY_1, &[0, 1, 3]), (DAY_2, &[2, 4, 5])],
        );
        let err = compacted(Engine::Tarn, dir.path(), &manifest, 1 << 30).unwrap_err();
        assert!(err.to_string().contains("(day=2026-01-01)"), "{err}");
        assert!(err.to_string().contains("expected 0..=299"), "{err}");
    }

    #[test]
    fn a_partition_left_in_too_many_files_fails() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = source(dir.path());
        rewrite(dir.path(), &manifest, 7, &[(DAY_1, &[0, 1, 2])]);
        let err = compacted(Engine::Tarn, dir.path(), &manifest, 1 << 30).unwrap_err();
        assert!(
            err.to_string()
                .contains("data files in day=2026-01-02 (3 source files"),
            "{err}"
        );
        assert!(err.to_string().contains("expected exactly 1"), "{err}");
        // With a target smaller than each file, a partition must still lose a file.
        let smallest = manifest.files.iter().map(|f| f.size).min().unwrap();
        let err = compacted(Engine::Tarn, dir.path(), &manifest, smallest / 2).unwrap_err();
        assert!(err.to_string().contains("expected 1..=2"), "{err}");
    }
}
