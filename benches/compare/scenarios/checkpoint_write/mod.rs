//! `checkpoint-write`: open a table whose log is JSON only and write a classic checkpoint of its
//! latest version plus `_last_checkpoint`, as a user (or a writer at its checkpoint interval)
//! does.
//!
//! The log (`gen_log`, no checkpoint) is generated once per parameter set and kept under the
//! work directory. Every run gets a fresh copy of it, hard-linked file by file (the engines
//! only add files to `_delta_log`, never change one), so no run ever finds a checkpoint, and
//! the copy is removed afterwards. The timed region is the engine's open plus its checkpoint
//! write: tarn `Table::open` + `checkpoint().execute()`, deltalake `open_table` +
//! `checkpoints::create_checkpoint`. After the timer (and the peak RSS) the child reads the
//! checkpoint back with the parquet crate (`verify`): a writer that drops files or statistics
//! fails the run instead of winning it.

mod verify;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::child::{self, ChildReport, WriteReport, peak_rss_kib};
use crate::engine::{Engine, table_url};
use crate::error::{BenchError, io_error};
use crate::gen_log::{self, LogSpec};
use crate::report::{
    CHECKPOINT_WRITE_MEMORY_FRACTION, CHECKPOINT_WRITE_SPEEDUP, Measurement, Report, Target,
};

/// The scenario's name on the command line and in reports.
const NAME: &str = "checkpoint-write";
/// The one variant: a log of JSON commits and no checkpoint.
const VARIANT: &str = "json-log";
/// What the generator's parameters are recorded in, next to the cached log; written last, so
/// a log without it is incomplete.
const LOG_INFO_FILE: &str = "_bench_log.json";

/// `compare checkpoint-write`.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckpointWriteArgs {
    /// Active files in the generated table.
    #[arg(long, default_value_t = 1_000_000)]
    files: u64,
    /// Append commits that add those files.
    #[arg(long, default_value_t = 100)]
    commits: u64,
    /// Child runs per engine; the report shows the median time and the max RSS.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Seed of the log generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Only these engines (repeatable); both by default.
    #[arg(long = "engine", value_enum)]
    engines: Vec<Engine>,
    /// Keep the generated log here (reused by later runs with the same parameters) and make
    /// each run's copy here, instead of in a temporary directory.
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

/// `compare child checkpoint-write ENGINE DIR`: the measured side, in its own process.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckpointWriteChild {
    /// Engine to run.
    #[arg(value_enum)]
    engine: Engine,
    /// Table directory (a fresh copy of the log, no checkpoint).
    dir: PathBuf,
    /// The version the checkpoint must have.
    #[arg(long)]
    expect_version: u64,
    /// The `add` rows the checkpoint must have.
    #[arg(long)]
    expect_files: u64,
    /// The sum of the files' `numRecords` the checkpoint must have.
    #[arg(long)]
    expect_rows: u64,
}

/// The parameters a cached log was generated with, and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct LogInfo {
    files: u64,
    commits: u64,
    seed: u64,
    /// Sum of `numRecords` over the files.
    rows: u64,
}

/// Generates (or reuses) the log, measures every engine on fresh copies, prints the report.
pub(crate) fn run(args: &CheckpointWriteArgs) -> Result<(), BenchError> {
    let engines = if args.engines.is_empty() {
        Engine::CHECKPOINT.to_vec()
    } else {
        args.engines.clone()
    };
    if let Some(engine) = engines.iter().find(|e| !Engine::CHECKPOINT.contains(*e)) {
        return Err(BenchError::InvalidArgument {
            name: "--engine",
            value: engine.name().to_owned(),
            reason: "checkpoint-write compares tarn and deltalake only",
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
    let spec = LogSpec {
        files: args.files,
        commits: args.commits,
        seed: args.seed,
        checkpoint: false,
    };
    let source = root.join(format!(
        "checkpoint-write-{}f-{}c-s{}",
        spec.files, spec.commits, spec.seed
    ));
    let info = prepare_log(&source, &spec)?;
    let copy = root.join("checkpoint-write-run");

    let load_before = load_average();
    let mut per_engine: Vec<Measurement> = engines
        .iter()
        .map(|&engine| Measurement::new(VARIANT, engine))
        .collect();
    // Engines alternate within each round so drift in the machine's state hits both alike.
    for round in 1..=args.runs {
        for m in per_engine.iter_mut().filter(|m| m.failure.is_none()) {
            fresh_copy(&source, &copy)?;
            eprintln!(
                "[{NAME}] {} run {round}/{} (load average {})",
                m.engine,
                args.runs,
                load_average()
            );
            let result = child::run(m.engine, &child_args(m.engine, &copy, &spec, &info))?;
            m.record(result);
            fs::remove_dir_all(&copy).map_err(io_error(&copy))?;
        }
    }

    let parameters = serde_json::json!({
        "files": args.files,
        "commits": args.commits,
        "runs": args.runs,
        "seed": args.seed,
        "rows": info.rows,
        "log": source.display().to_string(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
    });
    let target = Target::FasterAndSmaller {
        variant: VARIANT,
        speedup: CHECKPOINT_WRITE_SPEEDUP,
        memory_fraction: CHECKPOINT_WRITE_MEMORY_FRACTION,
    };
    let report = Report::new(NAME, parameters, per_engine, &target);
    if args.json {
        println!("{}", report.to_json()?);
    } else {
        println!(
            "{NAME}: {} files ({} rows) in {} JSON commits at {}; load average {load_before} \
             before, {} after",
            info.files,
            info.rows,
            info.commits,
            source.display(),
            load_average()
        );
        print!("{}", report.to_table());
    }
    Ok(())
}

/// Reuses the log at `dir` if it was generated with `spec`, else generates it (into a
/// `.partial` directory renamed into place once complete).
fn prepare_log(dir: &Path, spec: &LogSpec) -> Result<LogInfo, BenchError> {
    let info_path = dir.join(LOG_INFO_FILE);
    if dir.exists() {
        let text = fs::read(&info_path).map_err(|_| BenchError::StaleTable {
            path: dir.to_path_buf(),
        })?;
        let info: LogInfo =
            serde_json::from_slice(&text).map_err(|source| BenchError::Deserialize {
                what: "generated log parameters",
                path: info_path.clone(),
                source,
            })?;
        if (info.files, info.commits, info.seed) != (spec.files, spec.commits, spec.seed) {
            return Err(BenchError::StaleTable {
                path: dir.to_path_buf(),
            });
        }
        eprintln!("[{NAME}] reusing the log at {}", dir.display());
        return Ok(info);
    }
    let partial = dir.with_extension("partial");
    if partial.exists() {
        fs::remove_dir_all(&partial).map_err(io_error(&partial))?;
    }
    eprintln!(
        "[{NAME}] generating {} files in {} commits at {}",
        spec.files,
        spec.commits,
        dir.display()
    );
    let started = Instant::now();
    let summary = gen_log::generate(&partial, spec)?;
    let info = LogInfo {
        files: spec.files,
        commits: spec.commits,
        seed: spec.seed,
        rows: summary.rows,
    };
    let text = serde_json::to_vec(&info).map_err(|source| BenchError::Serialize {
        what: "generated log parameters",
        source,
    })?;
    let partial_info = partial.join(LOG_INFO_FILE);
    fs::write(&partial_info, text).map_err(io_error(&partial_info))?;
    fs::rename(&partial, dir).map_err(io_error(dir))?;
    eprintln!(
        "[{NAME}] generated in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(info)
}

/// Makes `copy` a table with `source`'s commits and nothing else: its `_delta_log` files
/// hard-linked (copied where links fail, e.g. across file systems).
fn fresh_copy(source: &Path, copy: &Path) -> Result<(), BenchError> {
    if copy.exists() {
        fs::remove_dir_all(copy).map_err(io_error(copy))?;
    }
    let from = source.join("_delta_log");
    let to = copy.join("_delta_log");
    fs::create_dir_all(&to).map_err(io_error(&to))?;
    for entry in fs::read_dir(&from).map_err(io_error(&from))? {
        let entry = entry.map_err(io_error(&from))?;
        let name = entry.file_name();
        let target = to.join(&name);
        if fs::hard_link(entry.path(), &target).is_err() {
            fs::copy(entry.path(), &target).map_err(io_error(&target))?;
        }
    }
    Ok(())
}

/// The 1, 5 and 15 minute load averages, as `/proc/loadavg` has them ("?" if unreadable).
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "?".to_owned())
}

fn child_args(engine: Engine, dir: &Path, spec: &LogSpec, info: &LogInfo) -> Vec<OsString> {
    vec![
        NAME.into(),
        engine.name().into(),
        dir.into(),
        "--expect-version".into(),
        spec.last_version().to_string().into(),
        "--expect-files".into(),
        info.files.to_string().into(),
        "--expect-rows".into(),
        info.rows.to_string().into(),
    ]
}

/// The child: start the runtime, time open + checkpoint, read the checkpoint back, report.
pub(crate) fn child(args: &CheckpointWriteChild) -> Result<(), BenchError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(BenchError::Runtime)?;
    let baseline_rss_kib = peak_rss_kib()?;
    let (state, elapsed) = runtime.block_on(async {
        let started = Instant::now();
        let state = write_checkpoint(args.engine, &args.dir).await?;
        Ok::<_, BenchError>((state, started.elapsed()))
    })?;
    // Before the check, which reads the whole checkpoint back.
    let peak_rss_kib = peak_rss_kib()?;
    drop(state);

    let written = verify::read_checkpoint(&args.dir, args.expect_version)?;
    eprintln!(
        "[{NAME}] {}: {} checkpoint file(s), {} rows, {} bytes, stats_parsed {}",
        args.engine,
        written.files,
        written.rows,
        written.bytes,
        if written.stats_parsed { "yes" } else { "no" }
    );
    let wrong = |what: &'static str, expected: u64, actual: u64| {
        (expected != actual).then_some(BenchError::WrongWrite {
            engine: args.engine,
            what,
            expected,
            actual,
        })
    };
    let checks = [
        wrong(
            "_last_checkpoint version",
            args.expect_version,
            written.hint_version,
        ),
        wrong(
            "checkpoint rows per _last_checkpoint size",
            written.rows,
            written.hint_size.unwrap_or(written.rows),
        ),
        wrong("add rows", args.expect_files, written.adds),
        wrong(
            "distinct add paths",
            args.expect_files,
            written.distinct_paths,
        ),
        wrong(
            "add rows without numRecords",
            0,
            written.adds_without_records,
        ),
        wrong("sum of numRecords", args.expect_rows, written.records),
        wrong("protocol rows", 1, written.protocols),
        wrong("metaData rows", 1, written.metadata),
    ];
    if let Some(error) = checks.into_iter().flatten().next() {
        return Err(error);
    }
    let report = ChildReport {
        engine: args.engine.name().to_owned(),
        elapsed_ms: elapsed.as_secs_f64() * 1_000.0,
        peak_rss_kib,
        baseline_rss_kib,
        version: written.hint_version,
        num_files: written.adds,
        scan: None,
        write: Some(WriteReport {
            rows: written.rows,
            files: written.files,
            bytes: written.bytes,
            max_files_per_partition: 0,
        }),
        latency: None,
        optimize: None,
        vacuum: None,
        concurrent: None,
    };
    report.emit()
}

/// Opens the table at `dir` and checkpoints its latest version; returns the engine's state so
/// that freeing it falls outside the timed region.
async fn write_checkpoint(
    engine: Engine,
    dir: &Path,
) -> Result<Box<dyn std::any::Any>, BenchError> {
    let url = table_url(dir)?;
    match engine {
        Engine::Tarn => {
            let table = tarn::Table::open(url.as_str()).await?;
            let summary = table.checkpoint().execute().await?;
            Ok(Box::new((table, summary)))
        }
        Engine::Deltalake => {
            let table = deltalake::open_table(url).await?;
            deltalake::checkpoints::create_checkpoint(&table, None).await?;
            Ok(Box::new(table))
        }
        Engine::RawParquet | Engine::InputOnly => Err(BenchError::InvalidArgument {
            name: "--engine",
            value: engine.name().to_owned(),
            reason: "only tarn and deltalake write checkpoints",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(files: u64, commits: u64) -> LogSpec {
        LogSpec {
            files,
            commits,
            seed: 11,
            checkpoint: false,
        }
    }

    #[test]
    fn a_cached_log_is_reused_and_a_different_one_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("log");
        let first = prepare_log(&dir, &spec(20, 4)).unwrap();
        assert_eq!((first.files, first.commits), (20, 4));
        assert!(!dir.with_extension("partial").exists());
        let again = prepare_log(&dir, &spec(20, 4)).unwrap();
        assert_eq!(first, again);
        let err = prepare_log(&dir, &spec(21, 4)).unwrap_err();
        assert!(matches!(err, BenchError::StaleTable { .. }), "{err}");
    }

    #[test]
    fn each_copy_starts_without_a_checkpoint() {
        let root = tempfile::tempdir().unwrap();
        let source = root.path().join("log");
        prepare_log(&source, &spec(10, 2)).unwrap();
        let copy = root.path().join("run");
        fresh_copy(&source, &copy).unwrap();
        fs::write(copy.join("_delta_log/_last_checkpoint"), b"{}").unwrap();
        fresh_copy(&source, &copy).unwrap();
        let mut names: Vec<String> = fs::read_dir(copy.join("_delta_log"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            (0..=2_u64)
                .map(|v| format!("{v:020}.json"))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn both_engines_write_a_checkpoint_the_check_accepts() {
        let root = tempfile::tempdir().unwrap();
        let source = root.path().join("log");
        let info = prepare_log(&source, &spec(40, 3)).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        for engine in Engine::CHECKPOINT {
            let copy = root.path().join(engine.name());
            fresh_copy(&source, &copy).unwrap();
            runtime.block_on(write_checkpoint(engine, &copy)).unwrap();
            let written = verify::read_checkpoint(&copy, 3).unwrap();
            assert_eq!(written.hint_version, 3, "{engine}");
            assert_eq!(written.files, 1, "{engine}");
            assert_eq!(written.adds, 40, "{engine}");
            assert_eq!(written.distinct_paths, 40, "{engine}");
            assert_eq!(written.adds_without_records, 0, "{engine}");
            assert_eq!(written.records, info.rows, "{engine}");
            assert_eq!((written.protocols, written.metadata), (1, 1), "{engine}");
            assert_eq!(
                written.hint_size.unwrap_or(written.rows),
                written.rows,
                "{engine}"
            );
            assert!(written.bytes > 0, "{engine}");
        }
    }

    #[test]
    fn the_check_counts_what_is_missing() {
        let root = tempfile::tempdir().unwrap();
        let source = root.path().join("log");
        prepare_log(&source, &spec(12, 2)).unwrap();
        let copy = root.path().join("run");
        fresh_copy(&source, &copy).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime
            .block_on(write_checkpoint(Engine::Tarn, &copy))
            .unwrap();
        // A checkpoint at another version than the one asked for counts nothing.
        let written = verify::read_checkpoint(&copy, 1).unwrap();
        assert_eq!((written.files, written.adds), (0, 0));
        // No _last_checkpoint: an error, not an empty count.
        fs::remove_file(copy.join("_delta_log/_last_checkpoint")).unwrap();
        assert!(verify::read_checkpoint(&copy, 2).is_err());
    }
}
