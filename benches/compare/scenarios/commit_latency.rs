//! `commit-latency`: 500 small appends (10 rows each, one commit each) to a fresh local table
//! partitioned by `day`, every commit timed on its own.
//!
//! The table is created first, untimed (version 0, no data: tarn's `create()`, deltalake's
//! `create()`), so the timed commits are versions 1..=500 for both engines and both cross the
//! default checkpoint interval (100) at the same versions; the checkpoints are part of the
//! commits that trigger them, as a user gets them. Each append's batch is generated before its
//! timer starts. Two variants, one per deltalake API a user would reach for (tarn does the same
//! thing in both: `table.write().execute_batches(vec![batch])` on one long-lived `Table`):
//! - `record-batch-writer`: one `RecordBatchWriter::for_table`, then `write(batch)` and
//!   `flush_and_commit(&mut table)` per append (what streaming ingesters do);
//! - `write-operation`: `table = table.write(vec![batch]).with_save_mode(Append)...await` per
//!   append (the operations API, which plans the write through DataFusion).
//!
//! Afterwards the child reads the log back (`write_engine::verify`): the last version must be
//! the number of appends and the files must hold every row. DESIGN.md target: p50 <= 5 ms on
//! local disk, and flat (no growth with the number of versions).

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use deltalake::protocol::SaveMode;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};

use crate::child::{self, ChildReport, LatencyReport, peak_rss_kib};
use crate::engine::{Engine, table_url};
use crate::error::{BenchError, io_error};
use crate::gen_stream::{PARTITION_COLUMN, small_batch, table_schema};
use crate::report::{COMMIT_FLAT_RATIO, COMMIT_P50_MS, Measurement, Report, Target};
use crate::write_engine::verify;
use crate::write_engine::with_delta_rs::{create as create_delta_table, writer_properties};

/// The scenario's name on the command line and in reports.
const NAME: &str = "commit-latency";
/// Commits in the "first" and "last" means.
const EDGE: usize = 50;
/// Commits per block of the block medians: the default checkpoint interval.
const BLOCK: usize = 100;

/// How the deltalake crate appends (tarn appends the same way under both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// `RecordBatchWriter::write` + `flush_and_commit`.
    RecordBatchWriter,
    /// `DeltaTable::write(batches)` (DataFusion-planned).
    WriteOperation,
}

impl Api {
    const ALL: [Api; 2] = [Api::RecordBatchWriter, Api::WriteOperation];

    fn name(self) -> &'static str {
        match self {
            Api::RecordBatchWriter => "record-batch-writer",
            Api::WriteOperation => "write-operation",
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Api {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Api::ALL
            .into_iter()
            .find(|api| api.name() == text)
            .ok_or_else(|| format!("`{text}`: use record-batch-writer or write-operation"))
    }
}

/// `compare commit-latency`.
#[derive(Debug, clap::Args)]
pub(crate) struct CommitLatencyArgs {
    /// Appends (commits) per run.
    #[arg(long, default_value_t = 500)]
    commits: u64,
    /// Rows per append.
    #[arg(long, default_value_t = 10)]
    rows_per_commit: u64,
    /// Partition days the appends cycle through.
    #[arg(long, default_value_t = 10)]
    days: u64,
    /// Child runs per engine and variant.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Seed of the row generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Only these engines (repeatable); tarn and deltalake by default.
    #[arg(long = "engine", value_enum)]
    engines: Vec<Engine>,
    /// Write the tables under DIR (each run in a fresh subdirectory, removed after it is
    /// checked) instead of a temporary directory.
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

/// `compare child commit-latency ENGINE DIR --api A ...`: the measured side.
#[derive(Debug, clap::Args)]
pub(crate) struct CommitLatencyChild {
    /// Engine to run.
    #[arg(value_enum)]
    engine: Engine,
    /// Table directory (exists, empty).
    dir: PathBuf,
    /// The deltalake API (the variant).
    #[arg(long)]
    api: Api,
    /// Appends.
    #[arg(long)]
    commits: u64,
    /// Rows per append.
    #[arg(long)]
    rows_per_commit: u64,
    /// Partition days.
    #[arg(long)]
    days: u64,
    /// Seed of the row generator.
    #[arg(long)]
    seed: u64,
}

/// Measures every engine on each variant, alternating, each run on a fresh table.
pub(crate) fn run(args: &CommitLatencyArgs) -> Result<(), BenchError> {
    let engines = if args.engines.is_empty() {
        Engine::COMMIT.to_vec()
    } else {
        args.engines.clone()
    };
    if let Some(engine) = engines.iter().find(|e| !Engine::COMMIT.contains(*e)) {
        return Err(BenchError::InvalidArgument {
            name: "--engine",
            value: engine.name().to_owned(),
            reason: "commit-latency compares tarn and deltalake only",
        });
    }
    if args.commits == 0 || args.rows_per_commit == 0 || args.days == 0 {
        return Err(BenchError::InvalidArgument {
            name: "--commits/--rows-per-commit/--days",
            value: format!("{}/{}/{}", args.commits, args.rows_per_commit, args.days),
            reason: "all must be positive",
        });
    }
    let temp;
    let root = match &args.work_dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir().map_err(io_error("temporary directory"))?;
            temp.path().to_path_buf()
        }
    };

    let mut measurements = Vec::new();
    for api in Api::ALL {
        let mut per_engine: Vec<Measurement> = engines
            .iter()
            .map(|&engine| Measurement::new(api.name(), engine))
            .collect();
        for round in 1..=args.runs {
            for m in per_engine.iter_mut().filter(|m| m.failure.is_none()) {
                eprintln!("[{NAME}] {api} / {} run {round}/{}", m.engine, args.runs);
                let dir = root.join(format!("commits-{api}-{}-{round}", m.engine));
                if dir.exists() {
                    fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
                }
                fs::create_dir_all(&dir).map_err(io_error(&dir))?;
                let result = child::run(m.engine, &child_args(m.engine, &dir, api, args))?;
                m.record(result);
                fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
            }
        }
        measurements.extend(per_engine);
    }

    let parameters = serde_json::json!({
        "commits": args.commits,
        "rows_per_commit": args.rows_per_commit,
        "days": args.days,
        "seed": args.seed,
        "runs": args.runs,
        "work_dir": root.display().to_string(),
    });
    let target = Target::CommitLatency {
        p50_ms: COMMIT_P50_MS,
        flat_ratio: COMMIT_FLAT_RATIO,
    };
    let report = Report::new(NAME, parameters, measurements, &target);
    if args.json {
        println!("{}", report.to_json()?);
    } else {
        println!(
            "{NAME}: {} appends of {} rows to a new table partitioned by day, under {}",
            args.commits,
            args.rows_per_commit,
            root.display()
        );
        print!("{}", report.to_table());
    }
    Ok(())
}

fn child_args(engine: Engine, dir: &Path, api: Api, args: &CommitLatencyArgs) -> Vec<OsString> {
    vec![
        NAME.into(),
        engine.name().into(),
        dir.into(),
        "--api".into(),
        api.name().into(),
        "--commits".into(),
        args.commits.to_string().into(),
        "--rows-per-commit".into(),
        args.rows_per_commit.to_string().into(),
        "--days".into(),
        args.days.to_string().into(),
        "--seed".into(),
        args.seed.to_string().into(),
    ]
}

/// The child: create the table, time every append, read the log back, report.
pub(crate) fn child(args: &CommitLatencyChild) -> Result<(), BenchError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(BenchError::Runtime)?;
    let baseline_rss_kib = peak_rss_kib()?;
    let latencies_ms = runtime.block_on(async {
        match args.engine {
            Engine::Tarn => append_tarn(args).await,
            Engine::Deltalake => append_deltalake(args).await,
            Engine::RawParquet | Engine::InputOnly => Err(BenchError::InvalidArgument {
                name: "--engine",
                value: args.engine.name().to_owned(),
                reason: "only tarn and deltalake commit",
            }),
        }
    })?;
    let peak_rss_kib = peak_rss_kib()?;

    let on_disk = verify::delta_table(&args.dir)?;
    let rows = args.commits * args.rows_per_commit;
    let wrong = |what, expected, actual| BenchError::WrongWrite {
        engine: args.engine,
        what,
        expected,
        actual,
    };
    if on_disk.last_version != Some(args.commits) {
        return Err(wrong(
            "last version",
            args.commits,
            on_disk.last_version.unwrap_or(0),
        ));
    }
    if on_disk.rows != rows {
        return Err(wrong("rows", rows, on_disk.rows));
    }
    let report = ChildReport {
        engine: args.engine.name().to_owned(),
        elapsed_ms: latencies_ms.iter().sum(),
        peak_rss_kib,
        baseline_rss_kib,
        version: args.commits,
        num_files: on_disk.files,
        scan: None,
        write: None,
        latency: Some(summarize(&latencies_ms, on_disk.checkpoints)),
        optimize: None,
        vacuum: None,
        concurrent: None,
    };
    report.emit()
}

/// Append `commit` (1-based): `rows_per_commit` rows of one day, ids continuing the previous
/// append's.
fn append_batch(
    args: &CommitLatencyChild,
    commit: u64,
) -> Result<arrow::record_batch::RecordBatch, BenchError> {
    let rows = args.rows_per_commit;
    let first_id = i64::try_from((commit - 1) * rows).unwrap_or(i64::MAX);
    small_batch(
        args.seed,
        first_id,
        usize::try_from(rows).unwrap_or(usize::MAX),
        (commit - 1) % args.days,
    )
}

async fn append_tarn(args: &CommitLatencyChild) -> Result<Vec<f64>, BenchError> {
    let table = tarn::Table::open(table_url(&args.dir)?.as_str()).await?;
    table
        .create()
        .with_arrow_schema(&table_schema())?
        .partition_by([PARTITION_COLUMN])
        .execute()
        .await?;
    let mut latencies = Vec::new();
    for commit in 1..=args.commits {
        let batch = append_batch(args, commit)?;
        let started = Instant::now();
        table.write().execute_batches(vec![batch]).await?;
        latencies.push(started.elapsed().as_secs_f64() * 1_000.0);
    }
    Ok(latencies)
}

async fn append_deltalake(args: &CommitLatencyChild) -> Result<Vec<f64>, BenchError> {
    let mut table = create_delta_table(&args.dir).await?;
    let mut latencies = Vec::new();
    match args.api {
        Api::RecordBatchWriter => {
            let mut writer =
                RecordBatchWriter::for_table(&table)?.with_writer_properties(writer_properties()?);
            for commit in 1..=args.commits {
                let batch = append_batch(args, commit)?;
                let started = Instant::now();
                writer.write(batch).await?;
                writer.flush_and_commit(&mut table).await?;
                latencies.push(started.elapsed().as_secs_f64() * 1_000.0);
            }
        }
        Api::WriteOperation => {
            for commit in 1..=args.commits {
                let batch = append_batch(args, commit)?;
                let started = Instant::now();
                table = table
                    .write(vec![batch])
                    .with_save_mode(SaveMode::Append)
                    .with_writer_properties(writer_properties()?)
                    .await?;
                latencies.push(started.elapsed().as_secs_f64() * 1_000.0);
            }
        }
    }
    Ok(latencies)
}

/// The distribution of one run's latencies (in commit order).
fn summarize(latencies_ms: &[f64], checkpoints: u64) -> LatencyReport {
    let mut sorted = latencies_ms.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    // Nearest rank: the smallest value with at least p of the values at or below it.
    let rank = |p: f64| {
        let index = (p * n as f64).ceil() as usize;
        sorted
            .get(index.clamp(1, n.max(1)) - 1)
            .copied()
            .unwrap_or(0.0)
    };
    let mean = |values: &[f64]| {
        if values.is_empty() {
            0.0
        } else {
            values.iter().sum::<f64>() / values.len() as f64
        }
    };
    let edge = EDGE.min(n);
    LatencyReport {
        commits: u64::try_from(n).unwrap_or(u64::MAX),
        p50_ms: rank(0.50),
        p99_ms: rank(0.99),
        max_ms: sorted.last().copied().unwrap_or(0.0),
        mean_ms: mean(latencies_ms),
        first_mean_ms: mean(&latencies_ms[..edge]),
        last_mean_ms: mean(&latencies_ms[n - edge..]),
        block_medians_ms: latencies_ms
            .chunks(BLOCK)
            .map(|block| {
                let mut block = block.to_vec();
                block.sort_by(f64::total_cmp);
                let k = block.len();
                if k % 2 == 1 {
                    block[k / 2]
                } else {
                    (block[k / 2 - 1] + block[k / 2]) / 2.0
                }
            })
            .collect(),
        checkpoints,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_latencies() {
        // 1..=200 ms in order: two blocks of 100.
        let latencies: Vec<f64> = (1..=200).map(f64::from).collect();
        let s = summarize(&latencies, 2);
        assert_eq!(s.commits, 200);
        assert_eq!(s.p50_ms, 100.0);
        assert_eq!(s.p99_ms, 198.0);
        assert_eq!(s.max_ms, 200.0);
        assert_eq!(s.mean_ms, 100.5);
        assert_eq!(s.first_mean_ms, 25.5);
        assert_eq!(s.last_mean_ms, 175.5);
        assert_eq!(s.block_medians_ms, vec![50.5, 150.5]);
        assert_eq!(s.checkpoints, 2);
    }

    #[test]
    fn apis_round_trip_through_text() {
        for api in Api::ALL {
            assert_eq!(api.to_string().parse::<Api>(), Ok(api));
        }
        assert!("sql".parse::<Api>().is_err());
    }
}
