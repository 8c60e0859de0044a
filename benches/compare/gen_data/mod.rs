//! `gen-data`: writes a real Delta table for the scan and optimize benchmarks with code that owes
//! nothing to tarn: Parquet files written by the parquet crate's `ArrowWriter` (zstd, row groups
//! of `row_group_rows`, column and page statistics on), partitioned by `day` (Hive-style
//! `day=YYYY-MM-DD/` directories), and a one-commit `_delta_log` (commitInfo, protocol 1/2,
//! metaData, one `add` with full statistics per file written), plus the generator's manifest.
//! With `commit_per_file` the log is instead what a stream of small appends leaves: version 0
//! creates the table (no files) and each file arrives in an append commit of its own, in
//! file order.
//!
//! Layout: rows split evenly over the days (the remainder to the earliest), each day's rows
//! split evenly over as few files as keep every file at or under `rows_per_file`; `id` runs
//! 0, 1, 2, … through the days and files in order, so it is globally sorted and an `id` range
//! is selective. This module decides the layout and file naming; the row values come from
//! `values`, and nothing depends on the clock: one seed gives the same rows and the same log.

mod manifest;
mod values;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use chrono::{Days, NaiveDate};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub(crate) use manifest::{MANIFEST_FILE, Manifest, ManifestFile};

use crate::error::{BenchError, io_error};
use crate::gen_log::actions::{Action, Add, CommitInfo, Format, Metadata, Protocol};
use values::{DAY_MS, DaySpan, FileRows};

/// 2026-01-01T00:00:00Z in milliseconds: the first partition day, and the commit time.
pub(crate) const EPOCH_MS: i64 = 1_767_225_600_000;

/// The engine name written into the `commitInfo`.
const ENGINE_INFO: &str = "tarn-benches/gen-data";

/// RNG stream of file names and table ids, apart from the per-file value streams.
const NAMING_STREAM: u64 = u64::MAX;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DataSpec {
    /// Rows in the table.
    pub(crate) rows: u64,
    /// Partition days (`day` = 2026-01-01, 2026-01-02, …).
    pub(crate) days: u64,
    /// Seed of the value generator.
    pub(crate) seed: u64,
    /// Most rows in one data file.
    pub(crate) rows_per_file: u64,
    /// Most rows in one Parquet row group.
    pub(crate) row_group_rows: u64,
    /// One append commit per data file (versions 1..=files after an empty version 0) instead
    /// of a single commit holding every file.
    pub(crate) commit_per_file: bool,
}

impl DataSpec {
    /// Default most rows per data file.
    pub(crate) const DEFAULT_ROWS_PER_FILE: u64 = 1_000_000;
    /// Default most rows per row group (128 Ki).
    pub(crate) const DEFAULT_ROW_GROUP_ROWS: u64 = 131_072;

    /// Rows of day `index` (0-based): an even split, the remainder going to the earliest days.
    fn rows_in_day(&self, index: u64) -> u64 {
        self.rows / self.days + u64::from(index < self.rows % self.days)
    }

    fn validate(&self) -> Result<(), BenchError> {
        let invalid = |name, value: u64, reason| {
            Err(BenchError::InvalidArgument {
                name,
                value: value.to_string(),
                reason,
            })
        };
        if self.days == 0 {
            return invalid("--days", self.days, "at least one day is needed");
        }
        if self.rows < self.days {
            return invalid("--rows", self.rows, "at least one row per day is needed");
        }
        if self.rows_per_file == 0 {
            return invalid("--rows-per-file", 0, "must be positive");
        }
        if self.row_group_rows == 0 {
            return invalid("--row-group-rows", 0, "must be positive");
        }
        if i64::try_from(self.rows).is_err() {
            return invalid("--rows", self.rows, "ids must fit a long");
        }
        Ok(())
    }
}

/// `day` partition value for a day index counted from 2026-01-01, as `YYYY-MM-DD`.
pub(crate) fn partition_day(day_index: u64) -> Result<String, BenchError> {
    let invalid = || BenchError::InvalidArgument {
        name: "--days",
        value: day_index.to_string(),
        reason: "partition day out of the calendar range",
    };
    let first = NaiveDate::from_ymd_opt(2026, 1, 1).ok_or_else(invalid)?;
    let date = first
        .checked_add_days(Days::new(day_index))
        .ok_or_else(invalid)?;
    Ok(date.format("%Y-%m-%d").to_string())
}

/// Writes the table described by `spec` into `dir` (created if missing; must not hold a
/// `_delta_log` yet) and returns its manifest, which is also written to `dir`.
pub(crate) fn generate(dir: &Path, spec: &DataSpec) -> Result<Manifest, BenchError> {
    spec.validate()?;
    let log_dir = dir.join("_delta_log");
    if log_dir.exists() {
        return Err(BenchError::LogExists {
            path: dir.to_path_buf(),
        });
    }
    fs::create_dir_all(dir).map_err(io_error(dir))?;

    let mut naming = ChaCha8Rng::seed_from_u64(spec.seed);
    naming.set_stream(NAMING_STREAM);
    let schema = values::file_schema();
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(
            usize::try_from(spec.row_group_rows).unwrap_or(usize::MAX),
        ))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by(ENGINE_INFO.to_owned())
        .build();

    let mut files = Vec::new();
    let mut adds = Vec::new();
    let mut next_id = 0_i64;
    let mut amount_sum = 0.0;
    for day_index in 0..spec.days {
        let day = partition_day(day_index)?;
        let day_rows = spec.rows_in_day(day_index);
        let day_dir = dir.join(format!("day={day}"));
        fs::create_dir_all(&day_dir).map_err(io_error(&day_dir))?;
        let span = DaySpan {
            day_start_ms: EPOCH_MS + i64::try_from(day_index).unwrap_or(i64::MAX) * DAY_MS,
            rows_in_day: day_rows,
        };
        let file_count = day_rows.div_ceil(spec.rows_per_file);
        let mut row_in_day = 0_u64;
        for part in 0..file_count {
            let file_rows = day_rows / file_count + u64::from(part < day_rows % file_count);
            let name = format!(
                "part-{part:05}-{uuid}.c000.zstd.parquet",
                uuid = uuid::Builder::from_random_bytes(naming.random()).into_uuid()
            );
            let relative = format!("day={day}/{name}");
            let path = day_dir.join(&name);
            let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
            rng.set_stream(u64::try_from(files.len()).unwrap_or(u64::MAX));
            let mut rows = FileRows::new(rng, span);

            let file = File::create_new(&path).map_err(io_error(&path))?;
            let parquet_error = |source| BenchError::Parquet {
                path: relative.clone(),
                source,
            };
            let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(properties.clone()))
                .map_err(parquet_error)?;
            let mut written = 0_u64;
            while written < file_rows {
                let count = (file_rows - written).min(spec.row_group_rows);
                let batch = rows.batch(
                    &schema,
                    next_id,
                    row_in_day + written,
                    usize::try_from(count).unwrap_or(usize::MAX),
                )?;
                writer.write(&batch).map_err(parquet_error)?;
                next_id += i64::try_from(count).unwrap_or(i64::MAX);
                written += count;
            }
            let metadata = writer.close().map_err(parquet_error)?;
            row_in_day += file_rows;
            let size = fs::metadata(&path).map_err(io_error(&path))?.len();

            let stats = rows.stats();
            amount_sum += stats.amount_sum;
            let (id_min, id_max) = stats.id.unwrap_or_default();
            adds.push(Action::Add(Add {
                path: relative.clone(),
                partition_values: BTreeMap::from([("day".to_owned(), day.clone())]),
                size: i64::try_from(size).unwrap_or(i64::MAX),
                modification_time: EPOCH_MS,
                data_change: true,
                stats: stats.delta_stats()?,
            }));
            files.push(ManifestFile {
                path: relative,
                day: day.clone(),
                size,
                rows: file_rows,
                id_min,
                id_max,
                row_groups: u64::try_from(metadata.num_row_groups()).unwrap_or(u64::MAX),
                amount_sum: stats.amount_sum,
            });
        }
    }

    fs::create_dir_all(&log_dir).map_err(io_error(&log_dir))?;
    if spec.commit_per_file {
        let (create, appends) = append_commits(&mut naming, &files, adds)?;
        write_commit(&log_dir, 0, &create)?;
        for (version, actions) in (1..).zip(&appends) {
            write_commit(&log_dir, version, actions)?;
        }
    } else {
        write_commit(
            &log_dir,
            0,
            &commit_actions(&mut naming, spec, &files, adds)?,
        )?;
    }
    let manifest = Manifest {
        rows: spec.rows,
        days: spec.days,
        seed: spec.seed,
        rows_per_file: spec.rows_per_file,
        row_group_rows: spec.row_group_rows,
        commit_per_file: spec.commit_per_file,
        amount_sum,
        files,
    };
    // Written last: its presence says the table is complete.
    manifest.write(dir)?;
    Ok(manifest)
}

/// Reuses the table at `dir` if the generator wrote it with `spec` (its manifest, written last,
/// says so), else generates it there; a table generated with other parameters is refused.
/// `scenario` prefixes the progress lines.
pub(crate) fn prepare(scenario: &str, dir: &Path, spec: &DataSpec) -> Result<Manifest, BenchError> {
    if dir.join(MANIFEST_FILE).exists() {
        let manifest = Manifest::read(dir)?;
        if manifest.matches(spec) {
            eprintln!("[{scenario}] reusing the table at {}", dir.display());
            return Ok(manifest);
        }
        return Err(BenchError::StaleTable {
            path: dir.to_path_buf(),
        });
    }
    eprintln!(
        "[{scenario}] generating {} rows over {} days at {}",
        spec.rows,
        spec.days,
        dir.display()
    );
    let started = Instant::now();
    let manifest = generate(dir, spec)?;
    eprintln!(
        "[{scenario}] generated {} files in {:.1} s",
        manifest.files.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(manifest)
}

/// commitInfo, protocol, metaData, then the adds.
fn commit_actions(
    naming: &mut ChaCha8Rng,
    spec: &DataSpec,
    files: &[ManifestFile],
    adds: Vec<Action>,
) -> Result<Vec<Action>, BenchError> {
    let mut uuid = || uuid_text(naming);
    let bytes: u64 = files.iter().map(|f| f.size).sum();
    let commit_info = CommitInfo {
        timestamp: EPOCH_MS,
        operation: "WRITE".to_owned(),
        operation_parameters: BTreeMap::from([
            ("mode".to_owned(), "ErrorIfExists".to_owned()),
            ("partitionBy".to_owned(), r#"["day"]"#.to_owned()),
        ]),
        read_version: None,
        isolation_level: "Serializable".to_owned(),
        is_blind_append: true,
        operation_metrics: BTreeMap::from([
            ("numFiles".to_owned(), files.len().to_string()),
            ("numOutputRows".to_owned(), spec.rows.to_string()),
            ("numOutputBytes".to_owned(), bytes.to_string()),
        ]),
        engine_info: ENGINE_INFO.to_owned(),
        txn_id: uuid(),
    };
    let mut actions = vec![
        Action::CommitInfo(commit_info),
        Action::Protocol(protocol()),
        Action::Metadata(metadata(uuid())?),
    ];
    actions.extend(adds);
    Ok(actions)
}

/// The log of a table filled by small appends: version 0 (commitInfo, protocol, metaData, no
/// file), then one commit per file (commitInfo, add), in file order. Commit timestamps rise by
/// one millisecond per version.
fn append_commits(
    naming: &mut ChaCha8Rng,
    files: &[ManifestFile],
    adds: Vec<Action>,
) -> Result<(Vec<Action>, Vec<Vec<Action>>), BenchError> {
    let create_info = CommitInfo {
        timestamp: EPOCH_MS,
        operation: "CREATE TABLE".to_owned(),
        operation_parameters: BTreeMap::from([
            ("mode".to_owned(), "ErrorIfExists".to_owned()),
            ("partitionBy".to_owned(), r#"["day"]"#.to_owned()),
        ]),
        read_version: None,
        isolation_level: "Serializable".to_owned(),
        is_blind_append: true,
        operation_metrics: BTreeMap::new(),
        engine_info: ENGINE_INFO.to_owned(),
        txn_id: uuid_text(naming),
    };
    let create = vec![
        Action::CommitInfo(create_info),
        Action::Protocol(protocol()),
        Action::Metadata(metadata(uuid_text(naming))?),
    ];
    let mut appends = Vec::with_capacity(adds.len());
    for ((version, file), add) in (1_u64..).zip(files).zip(adds) {
        let info = CommitInfo {
            timestamp: EPOCH_MS + i64::try_from(version).unwrap_or(i64::MAX),
            operation: "WRITE".to_owned(),
            operation_parameters: BTreeMap::from([("mode".to_owned(), "Append".to_owned())]),
            read_version: Some(version - 1),
            isolation_level: "Serializable".to_owned(),
            is_blind_append: true,
            operation_metrics: BTreeMap::from([
                ("numFiles".to_owned(), "1".to_owned()),
                ("numOutputRows".to_owned(), file.rows.to_string()),
                ("numOutputBytes".to_owned(), file.size.to_string()),
            ]),
            engine_info: ENGINE_INFO.to_owned(),
            txn_id: uuid_text(naming),
        };
        appends.push(vec![Action::CommitInfo(info), add]);
    }
    Ok((create, appends))
}

/// Reader 1, writer 2: the oldest protocol that every engine reads and writes.
pub(crate) fn protocol() -> Protocol {
    Protocol {
        min_reader_version: 1,
        min_writer_version: 2,
    }
}

/// The table's metaData: the generated schema, partitioned by `day`.
fn metadata(id: String) -> Result<Metadata, BenchError> {
    let schema_string =
        serde_json::to_string(&values::delta_schema()).map_err(|source| BenchError::Serialize {
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

/// A UUID drawn from the naming stream, as text.
fn uuid_text(naming: &mut ChaCha8Rng) -> String {
    uuid::Builder::from_random_bytes(naming.random())
        .into_uuid()
        .to_string()
}

/// Writes `_delta_log/<version>.json`, one action per line.
pub(crate) fn write_commit(
    log_dir: &Path,
    version: u64,
    actions: &[Action],
) -> Result<(), BenchError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Float64Type, Int64Type};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn spec() -> DataSpec {
        DataSpec {
            rows: 10_007,
            days: 3,
            seed: 5,
            rows_per_file: 2_000,
            row_group_rows: 512,
            commit_per_file: false,
        }
    }

    #[test]
    fn files_hold_what_the_manifest_and_log_say() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = generate(dir.path(), &spec()).unwrap();
        assert_eq!(Manifest::read(dir.path()).unwrap(), manifest);
        // 3336 + 3336 + 3335 rows, two files a day.
        assert_eq!(manifest.files.len(), 6);
        assert_eq!(manifest.files.iter().map(|f| f.rows).sum::<u64>(), 10_007);
        assert!(manifest.files.iter().all(|f| f.rows <= 2_000));

        let mut next_id = 0;
        let mut amount_sum = 0.0;
        for file in &manifest.files {
            let path = dir.path().join(&file.path);
            assert_eq!(fs::metadata(&path).unwrap().len(), file.size);
            let builder =
                ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
            assert_eq!(builder.metadata().num_row_groups() as u64, file.row_groups);
            assert!(
                builder
                    .metadata()
                    .row_groups()
                    .iter()
                    .all(|rg| rg.num_rows() <= 512)
            );
            let rg = &builder.metadata().row_groups()[0];
            assert!(
                rg.column(0).statistics().is_some(),
                "column statistics are written"
            );
            let mut rows = 0;
            for batch in builder.build().unwrap() {
                let batch = batch.unwrap();
                rows += batch.num_rows() as u64;
                for id in batch.column(0).as_primitive::<Int64Type>().values() {
                    assert_eq!(*id, next_id, "ids are contiguous and sorted");
                    next_id += 1;
                }
                let amounts = batch.column(2).as_primitive::<Float64Type>();
                amount_sum += amounts.iter().flatten().sum::<f64>();
                assert!(amounts.null_count() < amounts.len());
            }
            assert_eq!(rows, file.rows);
            assert_eq!(
                (file.id_min, file.id_max),
                (next_id - rows as i64, next_id - 1)
            );
        }
        assert!((amount_sum - manifest.amount_sum).abs() < 1e-6 * manifest.amount_sum);

        let log =
            fs::read_to_string(dir.path().join("_delta_log/00000000000000000000.json")).unwrap();
        let actions: Vec<serde_json::Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(actions[1]["protocol"]["minReaderVersion"], 1);
        assert_eq!(actions[1]["protocol"]["minWriterVersion"], 2);
        assert_eq!(actions[2]["metaData"]["partitionColumns"][0], "day");
        let adds: Vec<&serde_json::Value> = actions.iter().filter_map(|a| a.get("add")).collect();
        assert_eq!(adds.len(), manifest.files.len());
        for (add, file) in adds.iter().zip(&manifest.files) {
            assert_eq!(add["path"], file.path.as_str());
            assert_eq!(add["partitionValues"]["day"], file.day.as_str());
            assert_eq!(add["size"], file.size);
            let stats: serde_json::Value =
                serde_json::from_str(add["stats"].as_str().unwrap()).unwrap();
            assert_eq!(stats["numRecords"], file.rows);
            assert_eq!(stats["minValues"]["id"], file.id_min);
            assert_eq!(stats["maxValues"]["id"], file.id_max);
        }
    }

    #[test]
    fn commit_per_file_appends_each_file_in_its_own_version() {
        let dir = tempfile::tempdir().unwrap();
        let spec = DataSpec {
            commit_per_file: true,
            ..spec()
        };
        let manifest = generate(dir.path(), &spec).unwrap();
        assert!(manifest.matches(&spec));
        assert!(!manifest.matches(&DataSpec {
            commit_per_file: false,
            ..spec
        }));
        let log = dir.path().join("_delta_log");
        let read = |version: usize| -> Vec<serde_json::Value> {
            fs::read_to_string(log.join(format!("{version:020}.json")))
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        let create = read(0);
        assert_eq!(create.len(), 3);
        assert_eq!(create[0]["commitInfo"]["operation"], "CREATE TABLE");
        assert_eq!(create[1]["protocol"]["minWriterVersion"], 2);
        assert_eq!(create[2]["metaData"]["partitionColumns"][0], "day");
        for (version, file) in (1..).zip(&manifest.files) {
            let actions = read(version);
            assert_eq!(actions.len(), 2, "version {version}");
            assert_eq!(actions[0]["commitInfo"]["readVersion"], version as u64 - 1);
            assert_eq!(actions[1]["add"]["path"], file.path.as_str());
            assert_eq!(actions[1]["add"]["size"], file.size);
        }
        assert_eq!(
            fs::read_dir(&log).unwrap().count(),
            manifest.files.len() + 1
        );
    }

    #[test]
    fn same_seed_same_table() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let left = generate(a.path(), &spec()).unwrap();
        let right = generate(b.path(), &spec()).unwrap();
        assert_eq!(left, right);
        let log = "_delta_log/00000000000000000000.json";
        assert_eq!(
            fs::read(a.path().join(log)).unwrap(),
            fs::read(b.path().join(log)).unwrap()
        );
    }

    #[test]
    fn refuses_an_existing_log_and_bad_arguments() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), &spec()).unwrap();
        assert!(matches!(
            generate(dir.path(), &spec()).unwrap_err(),
            BenchError::LogExists { .. }
        ));
        let other = tempfile::tempdir().unwrap();
        let bad = DataSpec { days: 0, ..spec() };
        assert!(matches!(
            generate(other.path(), &bad).unwrap_err(),
            BenchError::InvalidArgument { name: "--days", .. }
        ));
    }
}
