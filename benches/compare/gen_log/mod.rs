//! `gen-log`: writes a synthetic Delta table log (no data files) for the snapshot benchmarks.
//!
//! Version 0 creates a table partitioned by `day` (protocol reader 1 / writer 2); versions
//! 1..=commits are blind appends that together add `files` files with full statistics. With a
//! checkpoint requested, the deltalake crate's own checkpoint writer (delta-kernel underneath)
//! writes a classic Parquet checkpoint at the last version plus `_last_checkpoint`, so tarn reads
//! exactly what other Delta writers produce. This module decides file layout and naming; it must
//! never depend on the clock or the environment: one seed gives one byte-identical JSON log.

pub(crate) mod actions;
mod synth;

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{BenchError, io_error};
use actions::Action;
use synth::Synth;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogSpec {
    /// Active files at the last version.
    pub(crate) files: u64,
    /// Append commits after the table-creating version 0.
    pub(crate) commits: u64,
    /// Seed of the value generator.
    pub(crate) seed: u64,
    /// Write a checkpoint at the last version.
    pub(crate) checkpoint: bool,
}

impl LogSpec {
    /// The version of the latest snapshot once generated.
    pub(crate) fn last_version(&self) -> u64 {
        self.commits
    }

    /// Files added by commit `version` (1-based): an even split, the remainder going to the
    /// earliest commits.
    fn files_in_commit(&self, version: u64) -> u64 {
        let base = self.files / self.commits;
        let extra = u64::from(version <= self.files % self.commits);
        base + extra
    }

    fn validate(&self) -> Result<(), BenchError> {
        if self.commits == 0 {
            return Err(BenchError::InvalidArgument {
                name: "--commits",
                value: "0".to_owned(),
                reason: "at least one append commit is needed",
            });
        }
        Ok(())
    }
}

/// What a generated log holds, for checks against what an engine reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LogSummary {
    /// Rows in the active files: the sum of their `numRecords`.
    pub(crate) rows: u64,
}

/// Writes the table described by `spec` into `dir` (created if missing).
pub(crate) fn generate(dir: &Path, spec: &LogSpec) -> Result<LogSummary, BenchError> {
    spec.validate()?;
    let log_dir = dir.join("_delta_log");
    if log_dir.exists() {
        return Err(BenchError::LogExists {
            path: dir.to_path_buf(),
        });
    }
    fs::create_dir_all(&log_dir).map_err(io_error(&log_dir))?;

    let mut synth = Synth::new(ChaCha8Rng::seed_from_u64(spec.seed));
    write_commit(&log_dir, 0, &synth.create_table()?)?;
    for version in 1..=spec.commits {
        let actions = synth.append(version, spec.files_in_commit(version))?;
        write_commit(&log_dir, version, &actions)?;
    }
    if spec.checkpoint {
        write_checkpoint(dir)?;
    }
    Ok(LogSummary {
        rows: synth.rows_so_far(),
    })
}

/// Writes `_delta_log/<version>.json`, one action per line.
fn write_commit(log_dir: &Path, version: u64, actions: &[Action]) -> Result<(), BenchError> {
    let path = log_dir.join(format!("{version:020}.json"));
    let file = File::create_new(&path).map_err(io_error(&path))?;
    let mut out = BufWriter::new(file);
    for action in actions {
        serde_json::to_writer(&mut out, action).map_err(|source| BenchError::Serialize {
            what: "action",
            source,
        })?;
        out.write_all(b"\n").map_err(io_error(&path))?;
    }
    out.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|file| file.sync_all())
        .map_err(io_error(&path))
}

/// Checkpoints the latest version with the deltalake crate's writer.
fn write_checkpoint(dir: &Path) -> Result<(), BenchError> {
    let url = crate::engine::table_url(dir)?;
    let runtime = tokio::runtime::Runtime::new().map_err(BenchError::Runtime)?;
    runtime.block_on(async {
        let table = deltalake::open_table(url).await?;
        deltalake::checkpoints::create_checkpoint(&table, None).await?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(files: u64, commits: u64) -> LogSpec {
        LogSpec {
            files,
            commits,
            seed: 7,
            checkpoint: false,
        }
    }

    #[test]
    fn commits_split_files_exactly() {
        for (files, commits) in [(10, 3), (2_000, 20), (5, 8), (0, 4), (100_000, 100)] {
            let s = spec(files, commits);
            let total: u64 = (1..=commits).map(|v| s.files_in_commit(v)).sum();
            assert_eq!(total, files, "{files} files over {commits} commits");
        }
    }

    #[test]
    fn same_seed_same_log() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        generate(a.path(), &spec(50, 4)).unwrap();
        generate(b.path(), &spec(50, 4)).unwrap();
        for version in 0..=4_u64 {
            let name = format!("_delta_log/{version:020}.json");
            let left = fs::read(a.path().join(&name)).unwrap();
            let right = fs::read(b.path().join(&name)).unwrap();
            assert_eq!(left, right, "{name} differs between two runs with one seed");
        }
    }

    #[test]
    fn log_holds_every_add_with_stats() {
        let dir = tempfile::tempdir().unwrap();
        let summary = generate(dir.path(), &spec(25, 3)).unwrap();
        let (mut adds, mut rows) = (0, 0);
        for version in 0..=3_u64 {
            let path = dir.path().join(format!("_delta_log/{version:020}.json"));
            for line in fs::read_to_string(path).unwrap().lines() {
                let action: serde_json::Value = serde_json::from_str(line).unwrap();
                if let Some(add) = action.get("add") {
                    adds += 1;
                    let stats: serde_json::Value =
                        serde_json::from_str(add["stats"].as_str().unwrap()).unwrap();
                    assert!(stats["numRecords"].as_i64().unwrap() > 0);
                    rows += stats["numRecords"].as_u64().unwrap();
                    for column in ["id", "user_id", "amount", "category", "event_time"] {
                        assert!(!stats["minValues"][column].is_null(), "min {column}");
                        assert!(!stats["maxValues"][column].is_null(), "max {column}");
                        assert!(!stats["nullCount"][column].is_null(), "nulls {column}");
                    }
                    let day = add["partitionValues"]["day"].as_str().unwrap();
                    assert!(
                        add["path"]
                            .as_str()
                            .unwrap()
                            .starts_with(&format!("day={day}/"))
                    );
                }
            }
        }
        assert_eq!(adds, 25);
        assert_eq!(summary.rows, rows, "the summary counts every file's rows");
    }

    #[test]
    fn checkpoint_holds_one_add_row_per_file() {
        use deltalake::arrow::array::{Array, AsArray};
        use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

        let dir = tempfile::tempdir().unwrap();
        let spec = LogSpec {
            checkpoint: true,
            ..spec(30, 3)
        };
        generate(dir.path(), &spec).unwrap();
        let log = dir.path().join("_delta_log");
        let hint: serde_json::Value =
            serde_json::from_slice(&fs::read(log.join("_last_checkpoint")).unwrap()).unwrap();
        assert_eq!(hint["version"], 3);

        let file = File::open(log.join(format!("{:020}.checkpoint.parquet", 3))).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let (mut rows, mut adds, mut protocols, mut metadata) = (0, 0, 0, 0);
        for batch in reader {
            let batch = batch.unwrap();
            rows += batch.num_rows();
            let valid = |name: &str| {
                let column = batch.column_by_name(name).unwrap().as_struct();
                column.len() - column.null_count()
            };
            adds += valid("add");
            protocols += valid("protocol");
            metadata += valid("metaData");
        }
        assert_eq!((adds, protocols, metadata), (30, 1, 1));
        assert_eq!(rows, 32, "one row per action, nothing else");
        assert_eq!(hint["size"], 32);
    }

    #[test]
    fn refuses_an_existing_log() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), &spec(4, 2)).unwrap();
        let err = generate(dir.path(), &spec(4, 2)).unwrap_err();
        assert!(matches!(err, BenchError::LogExists { .. }), "{err}");
    }
}
