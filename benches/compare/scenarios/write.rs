//! `write`: write generated rows as a new table partitioned by `day`, with tarn, the deltalake
//! crate and raw Parquet (`ArrowWriter`, no log) on the same batches, plus `input-only` (the
//! generator alone: the input's own time and memory). Two layouts of the input:
//! - `--layout clustered` (variant `partitioned`, 10M rows over 10 days by default): day after
//!   day, as an ingestion job writing events in time order sees them;
//! - `--layout interleaved` (variant `interleaved`, 3M rows over 40 days by default): row `id`
//!   in day `id % days`, so every batch spans every day. raw-parquet is not run on it (it keeps
//!   one file open at a time, which needs the clustered order).
//!
//! The input is generated batch by batch inside the child as the writer pulls it (see
//! `gen_stream`), so a writer's peak memory is its own. The timed region is the whole write as
//! a user would do it: open/create the table, write every batch, commit; generating the rows is
//! inside it for every engine alike (`input-only` shows how much that is). Every run writes a
//! fresh table, which the child then reads back from disk (`write_engine::verify`): the rows in
//! the data files' footers must be the rows given, and each `add` must match its file.
//!
//! DESIGN.md targets: clustered, at least 0.9x raw `ArrowWriter`'s speed and memory above the
//! input at most 256 MiB (tarn's peak RSS minus input-only's); interleaved, at least
//! deltalake's speed, at most 2 files per partition (counted from the log's active files, per
//! partition directory) and memory within the writer's budget (its default, 256 MiB, above the
//! input).

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::child::{self, ChildReport, WriteReport, peak_rss_kib};
use crate::engine::Engine;
use crate::error::{BenchError, io_error};
use crate::gen_stream::{Layout, StreamSpec};
use crate::report::{
    INTERLEAVED_MAX_FILES_PER_PARTITION, INTERLEAVED_MEMORY_ABOVE_INPUT_KIB,
    INTERLEAVED_WRITE_SPEEDUP, Measurement, Report, Target, WRITE_MEMORY_ABOVE_INPUT_KIB,
    WRITE_RAW_SPEED,
};
use crate::write_engine::{self, ZSTD_LEVEL, verify};

/// The scenario's name on the command line and in reports.
const NAME: &str = "write";
/// The variant of input clustered by day.
const CLUSTERED: &str = "partitioned";
/// The variant of input interleaving every day.
const INTERLEAVED: &str = "interleaved";

/// `compare write`.
#[derive(Debug, clap::Args)]
pub(crate) struct WriteArgs {
    /// How rows are ordered over the days.
    #[arg(long, value_enum, default_value_t = Layout::Clustered)]
    layout: Layout,
    /// Rows to write; 10M clustered, 3M interleaved by default.
    #[arg(long)]
    rows: Option<u64>,
    /// Partition days; 10 clustered, 40 interleaved by default.
    #[arg(long)]
    days: Option<u64>,
    /// Rows per input batch.
    #[arg(long, default_value_t = 65_536)]
    batch_rows: u64,
    /// Child runs per engine; the report shows the median time and the max RSS.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Seed of the row generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Only these engines (repeatable); tarn, deltalake, raw-parquet and input-only by default.
    #[arg(long = "engine", value_enum)]
    engines: Vec<Engine>,
    /// Write the tables under DIR (each run in a fresh subdirectory, removed after it is
    /// checked) instead of a temporary directory.
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

impl WriteArgs {
    fn spec(&self) -> StreamSpec {
        let (rows, days) = match self.layout {
            Layout::Clustered => (10_000_000, 10),
            Layout::Interleaved => (3_000_000, 40),
        };
        StreamSpec {
            rows: self.rows.unwrap_or(rows),
            days: self.days.unwrap_or(days),
            batch_rows: self.batch_rows,
            seed: self.seed,
            layout: self.layout,
        }
    }

    fn variant(&self) -> &'static str {
        match self.layout {
            Layout::Clustered => CLUSTERED,
            Layout::Interleaved => INTERLEAVED,
        }
    }
}

/// `compare child write ENGINE DIR ...`: the measured side.
#[derive(Debug, clap::Args)]
pub(crate) struct WriteChild {
    /// Engine to run.
    #[arg(value_enum)]
    engine: Engine,
    /// Table directory (exists, empty).
    dir: PathBuf,
    /// Rows to write.
    #[arg(long)]
    rows: u64,
    /// Partition days.
    #[arg(long)]
    days: u64,
    /// Rows per input batch.
    #[arg(long)]
    batch_rows: u64,
    /// Seed of the row generator.
    #[arg(long)]
    seed: u64,
    /// How rows are ordered over the days.
    #[arg(long, value_enum, default_value_t = Layout::Clustered)]
    layout: Layout,
}

/// Measures every engine, alternating, each run on a fresh table; prints the report.
pub(crate) fn run(args: &WriteArgs) -> Result<(), BenchError> {
    let engines: Vec<Engine> = if args.engines.is_empty() {
        Engine::WRITE
            .into_iter()
            .filter(|e| args.layout == Layout::Clustered || *e != Engine::RawParquet)
            .collect()
    } else {
        args.engines.clone()
    };
    if let Some(engine) = engines.iter().find(|e| !Engine::WRITE.contains(*e)) {
        return Err(BenchError::InvalidArgument {
            name: "--engine",
            value: engine.name().to_owned(),
            reason: "write compares tarn, deltalake, raw-parquet and input-only",
        });
    }
    if args.layout == Layout::Interleaved && engines.contains(&Engine::RawParquet) {
        return Err(BenchError::InvalidArgument {
            name: "--engine",
            value: Engine::RawParquet.name().to_owned(),
            reason: "raw-parquet writes one day at a time: it needs --layout clustered",
        });
    }
    let variant = args.variant();
    let spec = args.spec();
    spec.validate()?;
    let temp;
    let root = match &args.work_dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir().map_err(io_error("temporary directory"))?;
            temp.path().to_path_buf()
        }
    };

    let mut per_engine: Vec<Measurement> = engines
        .iter()
        .map(|&engine| Measurement::new(variant, engine))
        .collect();
    for round in 1..=args.runs {
        for m in per_engine.iter_mut().filter(|m| m.failure.is_none()) {
            eprintln!(
                "[{NAME}] {variant} / {} run {round}/{}",
                m.engine, args.runs
            );
            let dir = root.join(format!("write-{}-{round}", m.engine));
            if dir.exists() {
                fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
            }
            fs::create_dir_all(&dir).map_err(io_error(&dir))?;
            let result = child::run(m.engine, &child_args(m.engine, &dir, &spec))?;
            m.record(result);
            fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
        }
    }

    let parameters = serde_json::json!({
        "layout": args.layout.name(),
        "rows": spec.rows,
        "days": spec.days,
        "batch_rows": args.batch_rows,
        "seed": args.seed,
        "runs": args.runs,
        "compression": format!("zstd({ZSTD_LEVEL})"),
        "work_dir": root.display().to_string(),
    });
    let target = match args.layout {
        Layout::Clustered => Target::Write {
            raw_speed: WRITE_RAW_SPEED,
            memory_above_input_kib: WRITE_MEMORY_ABOVE_INPUT_KIB,
        },
        Layout::Interleaved => Target::InterleavedWrite {
            variant: INTERLEAVED,
            speedup: INTERLEAVED_WRITE_SPEEDUP,
            max_files_per_partition: INTERLEAVED_MAX_FILES_PER_PARTITION,
            memory_above_input_kib: INTERLEAVED_MEMORY_ABOVE_INPUT_KIB,
        },
    };
    let report = Report::new(NAME, parameters, per_engine, &target);
    if args.json {
        println!("{}", report.to_json()?);
    } else {
        println!(
            "{NAME}: {} rows over {} days ({}) in batches of {}, zstd({ZSTD_LEVEL}), under {}",
            spec.rows,
            spec.days,
            args.layout.name(),
            args.batch_rows,
            root.display()
        );
        print!("{}", report.to_table());
    }
    Ok(())
}

fn child_args(engine: Engine, dir: &Path, spec: &StreamSpec) -> Vec<OsString> {
    vec![
        NAME.into(),
        engine.name().into(),
        dir.into(),
        "--rows".into(),
        spec.rows.to_string().into(),
        "--days".into(),
        spec.days.to_string().into(),
        "--batch-rows".into(),
        spec.batch_rows.to_string().into(),
        "--seed".into(),
        spec.seed.to_string().into(),
        "--layout".into(),
        spec.layout.name().into(),
    ]
}

/// The child: start the runtime, time the write, read back what it wrote, report.
pub(crate) fn child(args: &WriteChild) -> Result<(), BenchError> {
    let spec = StreamSpec {
        rows: args.rows,
        days: args.days,
        batch_rows: args.batch_rows,
        seed: args.seed,
        layout: args.layout,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(BenchError::Runtime)?;
    let baseline_rss_kib = peak_rss_kib()?;
    let (outcome, elapsed) = runtime.block_on(async {
        let started = Instant::now();
        let outcome = write_engine::write(args.engine, &args.dir, &spec).await?;
        Ok::<_, BenchError>((outcome, started.elapsed()))
    })?;
    let peak_rss_kib = peak_rss_kib()?;
    drop(outcome);

    let (on_disk, expected_rows) = match args.engine {
        Engine::Tarn | Engine::Deltalake => (verify::delta_table(&args.dir)?, spec.rows),
        Engine::RawParquet => (verify::parquet_files(&args.dir)?, spec.rows),
        Engine::InputOnly => (verify::parquet_files(&args.dir)?, 0),
    };
    let wrong = |what, expected, actual| BenchError::WrongWrite {
        engine: args.engine,
        what,
        expected,
        actual,
    };
    if on_disk.rows != expected_rows {
        return Err(wrong("rows", expected_rows, on_disk.rows));
    }
    // Every day holds rows, so every day needs a file of its own.
    if expected_rows > 0 && on_disk.files < spec.days {
        return Err(wrong(
            "data files (at least one per day)",
            spec.days,
            on_disk.files,
        ));
    }
    let report = ChildReport {
        engine: args.engine.name().to_owned(),
        elapsed_ms: elapsed.as_secs_f64() * 1_000.0,
        peak_rss_kib,
        baseline_rss_kib,
        version: on_disk.last_version.unwrap_or(0),
        num_files: on_disk.files,
        scan: None,
        write: Some(WriteReport {
            // input-only wrote nothing (checked above): its rate is the generator's.
            rows: if args.engine == Engine::InputOnly {
                spec.rows
            } else {
                on_disk.rows
            },
            files: on_disk.files,
            bytes: on_disk.bytes,
            max_files_per_partition: on_disk.max_files_per_partition,
        }),
        latency: None,
        optimize: None,
        vacuum: None,
        concurrent: None,
    };
    report.emit()
}
