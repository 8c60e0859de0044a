//! `concurrent-append`: 4 writer processes appending to one local table at once, 50 appends of
//! 10 rows each (one commit per append): the throughput of the whole run and how many writers
//! gave up.
//!
//! Every run writes a fresh table. It is created first, untimed, by the engine itself in a
//! child of its own (`--create`: tarn's `create()`, deltalake's `create()`; version 0, no
//! data, partitioned by `day`). Then `--writers` children are spawned together
//! (`child::run_together`). Each one opens the table (tarn: `Table::open` and a first
//! `snapshot()`; deltalake: `open_table` and one `RecordBatchWriter::for_table` with zstd(3)
//! writer properties, as `commit-latency` does), builds its batches, says it is ready and waits;
//! once every writer is ready they are all released at the same moment, so none gets a head
//! start from the others' process startup. Then each writer makes its appends one after the
//! other, one commit each:
//! - `tarn`: `table.write().execute_batches(vec![batch])` on its one `Table`;
//! - `deltalake`: `writer.write(batch)` then `writer.flush_and_commit(&mut table)`.
//!
//! Both engines commit with their default retry settings (tarn: up to 1,000 attempts with a
//! jittered backoff; the deltalake crate: 15 retries, each after checking the winning commits
//! for conflicts), neither tuned. Writer K's append j holds the rows with ids from
//! `(K * appends + j) * rows` on, in day `(K * appends + j) % days`, so no two appends share an
//! id. A writer whose append returns an error gives up: it makes no further appends and reports
//! how many it committed and the error. That is a result, not a failure of the run.
//!
//! Each writer takes the wall clock (Unix time) right before its first append and right after
//! its last (or the one it gave up on), and its peak RSS at the end. A run's time is the latest
//! end minus the earliest start; its throughput is every writer's commits over that time; its
//! peak RSS the largest of any one writer. Then the parent reads the table back
//! (`write_engine::verify`, code that owes nothing to either engine): the last version must be
//! the number of commits the writers reported, every version 0..=last must have its JSON commit
//! file, every active file must match its `add`, and the files must hold commits x rows rows.
//! Anything else (a lost or doubled append, a hole in the log, a writer that reported an error
//! for an append that did land) fails the run, and its table is left in place.
//!
//! Target (the issue: "4 processes x 50 appends, local disk"): tarn's throughput at least twice
//! deltalake's (median commits/s over runs) with none of tarn's writers giving up; the verdict
//! also says how many of deltalake's gave up.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use arrow::record_batch::RecordBatch;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};

use crate::child::{self, ChildFailure, ChildReport, ConcurrentReport, peak_rss_kib};
use crate::engine::{Engine, table_url};
use crate::error::{BenchError, io_error};
use crate::gen_stream::{PARTITION_COLUMN, small_batch, table_schema};
use crate::report::{CONCURRENT_APPEND_SPEEDUP, ConcurrentRun, Measurement, Report, Target};
use crate::write_engine::verify;
use crate::write_engine::with_delta_rs::{create as create_delta_table, writer_properties};

/// The scenario's name on the command line and in reports.
const NAME: &str = "concurrent-append";

/// `compare concurrent-append`.
#[derive(Debug, clap::Args)]
pub(crate) struct ConcurrentAppendArgs {
    /// Writer processes appending at once.
    #[arg(long, default_value_t = 4)]
    writers: u64,
    /// Appends (commits) per writer.
    #[arg(long, default_value_t = 50)]
    appends: u64,
    /// Rows per append.
    #[arg(long, default_value_t = 10)]
    rows_per_append: u64,
    /// Partition days the appends cycle through.
    #[arg(long, default_value_t = 10)]
    days: u64,
    /// Runs per engine.
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

/// `compare child concurrent-append ENGINE DIR (--create | --writer K ...)`: one writer (or
/// the table's creation).
#[derive(Debug, clap::Args)]
pub(crate) struct ConcurrentAppendChild {
    /// Engine to run.
    #[arg(value_enum)]
    engine: Engine,
    /// Table directory.
    dir: PathBuf,
    /// Create the table (version 0, no data) and stop, instead of appending.
    #[arg(long)]
    create: bool,
    /// The writer's number (0-based), which picks its ids.
    #[arg(long, default_value_t = 0)]
    writer: u64,
    /// Appends.
    #[arg(long, default_value_t = 0)]
    appends: u64,
    /// Rows per append.
    #[arg(long, default_value_t = 1)]
    rows_per_append: u64,
    /// Partition days.
    #[arg(long, default_value_t = 1)]
    days: u64,
    /// Seed of the row generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// Measures every engine, alternating, each run on a fresh table.
pub(crate) fn run(args: &ConcurrentAppendArgs) -> Result<(), BenchError> {
    let engines = if args.engines.is_empty() {
        Engine::COMMIT.to_vec()
    } else {
        args.engines.clone()
    };
    if let Some(engine) = engines.iter().find(|e| !Engine::COMMIT.contains(*e)) {
        return Err(BenchError::InvalidArgument {
            name: "--engine",
            value: engine.name().to_owned(),
            reason: "concurrent-append compares tarn and deltalake only",
        });
    }
    if args.writers == 0
        || args.appends == 0
        || args.rows_per_append == 0
        || args.days == 0
        || args.runs == 0
    {
        return Err(BenchError::InvalidArgument {
            name: "--writers/--appends/--rows-per-append/--days/--runs",
            value: format!(
                "{}/{}/{}/{}/{}",
                args.writers, args.appends, args.rows_per_append, args.days, args.runs
            ),
            reason: "all must be positive",
        });
    }
    if args
        .writers
        .checked_mul(args.appends)
        .and_then(|appends| appends.checked_mul(args.rows_per_append))
        .is_none_or(|rows| i64::try_from(rows).is_err())
    {
        return Err(BenchError::InvalidArgument {
            name: "--writers x --appends x --rows-per-append",
            value: format!(
                "{} x {} x {}",
                args.writers, args.appends, args.rows_per_append
            ),
            reason: "the ids must fit a long",
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

    let variant = format!("{}x{}", args.writers, args.appends);
    let mut measurements: Vec<Measurement> = engines
        .iter()
        .map(|&engine| Measurement::new(&variant, engine))
        .collect();
    for round in 1..=args.runs {
        for m in measurements.iter_mut().filter(|m| m.failure.is_none()) {
            eprintln!(
                "[{NAME}] {variant} / {} run {round}/{}",
                m.engine, args.runs
            );
            let dir = root.join(format!("{NAME}-{}-{round}", m.engine));
            if dir.exists() {
                fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
            }
            fs::create_dir_all(&dir).map_err(io_error(&dir))?;
            let outcome = one_run(m.engine, &dir, args)?;
            if let Ok(run) = &outcome {
                eprintln!(
                    "[{NAME}] {} commits in {:.0} ms ({:.1} commits/s), {} writer(s) gave up",
                    run.commits, run.elapsed_ms, run.commits_per_s, run.gave_up
                );
                fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
            }
            m.record_concurrent(outcome);
        }
    }

    let parameters = serde_json::json!({
        "writers": args.writers,
        "appends": args.appends,
        "rows_per_append": args.rows_per_append,
        "days": args.days,
        "seed": args.seed,
        "runs": args.runs,
        "work_dir": root.display().to_string(),
    });
    let target = Target::ConcurrentAppend {
        speedup: CONCURRENT_APPEND_SPEEDUP,
    };
    let report = Report::new(NAME, parameters, measurements, &target);
    if args.json {
        println!("{}", report.to_json()?);
    } else {
        println!(
            "{NAME}: {} writer processes at once, {} appends of {} rows each, to a new table \
             partitioned by day, under {}",
            args.writers,
            args.appends,
            args.rows_per_append,
            root.display()
        );
        print!("{}", report.to_table());
    }
    Ok(())
}

/// One run of `engine` on the fresh table directory `dir`: create, every writer at once,
/// combine, check the table. A failed child or a wrong table is the run's failure (its table is
/// left in place); only the harness's own errors are errors.
fn one_run(
    engine: Engine,
    dir: &Path,
    args: &ConcurrentAppendArgs,
) -> Result<Result<ConcurrentRun, ChildFailure>, BenchError> {
    let mut create = vec![NAME.into(), engine.name().into(), dir.into()];
    create.push("--create".into());
    if let Err(failure) = child::run(engine, &create)? {
        return Ok(Err(failure));
    }
    let writers: Vec<Vec<OsString>> = (0..args.writers)
        .map(|writer| writer_args(engine, dir, writer, args))
        .collect();
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for result in child::run_together(engine, &writers)? {
        match result {
            Ok(report) => reports.push(report),
            Err(failure) => failures.push(failure),
        }
    }
    if !failures.is_empty() {
        return Ok(Err(ChildFailure {
            status: failures
                .iter()
                .map(|f| f.status.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            output: failures
                .iter()
                .map(|f| f.output.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        }));
    }
    let Some(run) = ConcurrentRun::combine(&reports) else {
        return Ok(Err(ChildFailure {
            status: "no writer report".to_owned(),
            output: "the writers reported no concurrent appends".to_owned(),
        }));
    };
    match check_table(engine, dir, &run, args.rows_per_append) {
        Ok(()) => Ok(Ok(run)),
        Err(error) => {
            let mut output = format!("{error}\n(table left in {})", dir.display());
            for w in &run.per_writer {
                if let Some(gave_up) = &w.gave_up {
                    let _ = write!(
                        output,
                        "\nwriter {} gave up after {} of {} appends: {gave_up}",
                        w.writer, w.committed, w.appends
                    );
                }
            }
            Ok(Err(ChildFailure {
                status: "table check failed".to_owned(),
                output,
            }))
        }
    }
}

/// The table holds exactly the appends the writers say they committed: versions 0 (create)
/// through their number, none missing, and their rows.
fn check_table(
    engine: Engine,
    dir: &Path,
    run: &ConcurrentRun,
    rows_per_append: u64,
) -> Result<(), BenchError> {
    let on_disk = verify::delta_table(dir)?;
    let wrong = |what, expected, actual| BenchError::WrongWrite {
        engine,
        what,
        expected,
        actual,
    };
    let last = on_disk.last_version.unwrap_or(0);
    if on_disk.last_version != Some(run.commits) {
        return Err(wrong(
            "last version (the writers' commits)",
            run.commits,
            last,
        ));
    }
    // Versions are distinct and at most `last`: as many files as 0..=last means no hole.
    if on_disk.commits != last + 1 {
        return Err(wrong(
            "JSON commit files (versions 0..=last)",
            last + 1,
            on_disk.commits,
        ));
    }
    let rows = run.commits * rows_per_append;
    if on_disk.rows != rows {
        return Err(wrong("rows", rows, on_disk.rows));
    }
    Ok(())
}

fn writer_args(
    engine: Engine,
    dir: &Path,
    writer: u64,
    args: &ConcurrentAppendArgs,
) -> Vec<OsString> {
    vec![
        NAME.into(),
        engine.name().into(),
        dir.into(),
        "--writer".into(),
        writer.to_string().into(),
        "--appends".into(),
        args.appends.to_string().into(),
        "--rows-per-append".into(),
        args.rows_per_append.to_string().into(),
        "--days".into(),
        args.days.to_string().into(),
        "--seed".into(),
        args.seed.to_string().into(),
    ]
}

/// The child: create the table, or be one writer.
pub(crate) fn child(args: &ConcurrentAppendChild) -> Result<(), BenchError> {
    if !Engine::COMMIT.contains(&args.engine) {
        return Err(BenchError::InvalidArgument {
            name: "--engine",
            value: args.engine.name().to_owned(),
            reason: "only tarn and deltalake commit",
        });
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(BenchError::Runtime)?;
    if args.create {
        let baseline_rss_kib = peak_rss_kib()?;
        let started = Instant::now();
        runtime.block_on(create(args.engine, &args.dir))?;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1_000.0;
        return emit(args, elapsed_ms, baseline_rss_kib, 0, None);
    }

    let batches = (0..args.appends)
        .map(|j| append_batch(args, j))
        .collect::<Result<Vec<_>, _>>()?;
    let mut writer = runtime.block_on(Writer::open(args.engine, &args.dir))?;
    let baseline_rss_kib = peak_rss_kib()?;
    // Outside the runtime: it blocks until the parent releases every writer at once.
    child::ready_then_wait()?;
    let appended = runtime.block_on(writer.append_all(batches));
    emit(
        args,
        appended.end_unix_ms - appended.start_unix_ms,
        baseline_rss_kib,
        appended.last_version,
        Some(ConcurrentReport {
            writer: args.writer,
            appends: args.appends,
            committed: appended.committed,
            gave_up: appended.gave_up,
            start_unix_ms: appended.start_unix_ms,
            end_unix_ms: appended.end_unix_ms,
            retries: appended.retries,
        }),
    )
}

/// Prints the child's report.
fn emit(
    args: &ConcurrentAppendChild,
    elapsed_ms: f64,
    baseline_rss_kib: u64,
    version: u64,
    concurrent: Option<ConcurrentReport>,
) -> Result<(), BenchError> {
    ChildReport {
        engine: args.engine.name().to_owned(),
        elapsed_ms,
        peak_rss_kib: peak_rss_kib()?,
        baseline_rss_kib,
        version,
        num_files: concurrent.as_ref().map_or(0, |c| c.committed),
        scan: None,
        write: None,
        latency: None,
        optimize: None,
        vacuum: None,
        concurrent,
    }
    .emit()
}

/// Creates the empty table (version 0), partitioned by `day`, as the engine does it.
async fn create(engine: Engine, dir: &Path) -> Result<(), BenchError> {
    match engine {
        Engine::Tarn => {
            let table = tarn::Table::open(table_url(dir)?.as_str()).await?;
            table
                .create()
                .with_arrow_schema(&table_schema())?
                .partition_by([PARTITION_COLUMN])
                .execute()
                .await?;
        }
        _ => {
            create_delta_table(dir).await?;
        }
    }
    Ok(())
}

/// Writer `writer`'s append `j` (0-based): ids from `(writer * appends + j) * rows`, which no
/// other append of any writer uses, in a day cycling with the append.
fn append_batch(args: &ConcurrentAppendChild, j: u64) -> Result<RecordBatch, BenchError> {
    let append = args.writer * args.appends + j;
    let first_id = i64::try_from(append * args.rows_per_append).unwrap_or(i64::MAX);
    small_batch(
        args.seed,
        first_id,
        usize::try_from(args.rows_per_append).unwrap_or(usize::MAX),
        append % args.days,
    )
}

/// What one writer's appends came to.
struct Appended {
    committed: u64,
    last_version: u64,
    gave_up: Option<String>,
    start_unix_ms: f64,
    end_unix_ms: f64,
    retries: Option<u64>,
}

/// One committed append.
struct Committed {
    version: u64,
    /// Commit attempts beyond the first, when the engine says.
    retries: Option<u64>,
}

/// One engine's table, opened, ready to append.
enum Writer {
    Tarn(tarn::Table),
    Deltalake {
        table: deltalake::DeltaTable,
        writer: Box<RecordBatchWriter>,
    },
}

impl Writer {
    async fn open(engine: Engine, dir: &Path) -> Result<Self, BenchError> {
        if engine == Engine::Tarn {
            let table = tarn::Table::open(table_url(dir)?.as_str()).await?;
            table.snapshot().await?;
            Ok(Writer::Tarn(table))
        } else {
            let table = deltalake::open_table(table_url(dir)?).await?;
            let writer =
                RecordBatchWriter::for_table(&table)?.with_writer_properties(writer_properties()?);
            Ok(Writer::Deltalake {
                table,
                writer: Box::new(writer),
            })
        }
    }

    /// One append, one commit; the engine's error as text if it gives up.
    async fn append(&mut self, batch: RecordBatch) -> Result<Committed, String> {
        match self {
            Writer::Tarn(table) => {
                let summary = table
                    .write()
                    .execute_batches(vec![batch])
                    .await
                    .map_err(|error| error.to_string())?;
                Ok(Committed {
                    version: summary.version.unwrap_or(0),
                    retries: Some(u64::from(summary.attempts.saturating_sub(1))),
                })
            }
            Writer::Deltalake { table, writer } => {
                writer
                    .write(batch)
                    .await
                    .map_err(|error| error.to_string())?;
                let version = writer
                    .flush_and_commit(table)
                    .await
                    .map_err(|error| error.to_string())?;
                Ok(Committed {
                    version,
                    retries: None,
                })
            }
        }
    }

    /// Every append in turn, until one fails: the writer then gives up.
    async fn append_all(&mut self, batches: Vec<RecordBatch>) -> Appended {
        let mut appended = Appended {
            committed: 0,
            last_version: 0,
            gave_up: None,
            start_unix_ms: unix_ms(),
            end_unix_ms: 0.0,
            // The deltalake crate keeps its retry count to itself.
            retries: matches!(self, Writer::Tarn(_)).then_some(0),
        };
        for batch in batches {
            match self.append(batch).await {
                Ok(commit) => {
                    appended.committed += 1;
                    appended.last_version = commit.version;
                    appended.retries = appended.retries.zip(commit.retries).map(|(a, b)| a + b);
                }
                Err(error) => {
                    appended.gave_up = Some(error);
                    break;
                }
            }
        }
        appended.end_unix_ms = unix_ms();
        appended
    }
}

/// Wall clock, in milliseconds since the Unix epoch: comparable across the writer processes.
fn unix_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64() * 1_000.0)
}
