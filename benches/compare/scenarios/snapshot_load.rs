//! `snapshot-load`: open the latest snapshot of a 100k-file table and count its active files.
//!
//! Two variants of the same log (same seed): `json-log`, where every commit must be replayed from
//! JSON, and `checkpoint`, with a classic Parquet checkpoint at the last version (the variant the
//! DESIGN.md target is stated for). The timed region is the engine's open of the latest snapshot
//! plus reading its file count; runtime startup and process launch are outside it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::child::{self, ChildReport, peak_rss_kib};
use crate::engine::{Engine, open_latest};
use crate::error::{BenchError, io_error};
use crate::gen_log::{self, LogSpec};
use crate::report::{Measurement, Report, SNAPSHOT_MEMORY_FRACTION, SNAPSHOT_SPEEDUP, Target};

/// The scenario's name on the command line and in reports.
const NAME: &str = "snapshot-load";
/// The variant the DESIGN.md target ("log + checkpoint") applies to.
const TARGET_VARIANT: &str = "checkpoint";

/// `compare snapshot-load`.
#[derive(Debug, clap::Args)]
pub(crate) struct SnapshotLoadArgs {
    /// Active files in the generated table.
    #[arg(long, default_value_t = 100_000)]
    files: u64,
    /// Append commits that add those files.
    #[arg(long, default_value_t = 100)]
    commits: u64,
    /// Child runs per engine and variant; the report shows the median time and the max RSS.
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
    /// Generate the tables here and keep them, instead of in a temporary directory.
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

/// `compare child snapshot-load ENGINE DIR`: the measured side, in its own process.
#[derive(Debug, clap::Args)]
pub(crate) struct SnapshotLoadChild {
    /// Engine to run.
    #[arg(value_enum)]
    engine: Engine,
    /// Table directory.
    dir: PathBuf,
    /// The version the snapshot must have.
    #[arg(long)]
    expect_version: u64,
    /// The active-file count the snapshot must have.
    #[arg(long)]
    expect_files: u64,
}

/// Generates both variants, measures every engine on each, prints the report.
pub(crate) fn run(args: &SnapshotLoadArgs) -> Result<(), BenchError> {
    let engines = if args.engines.is_empty() {
        Engine::SNAPSHOT.to_vec()
    } else {
        args.engines.clone()
    };
    if let Some(engine) = engines.iter().find(|e| !Engine::SNAPSHOT.contains(*e)) {
        return Err(BenchError::InvalidArgument {
            name: "--engine",
            value: engine.name().to_owned(),
            reason: "snapshot-load compares tarn and deltalake only",
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
    for (variant, checkpoint) in [("json-log", false), ("checkpoint", true)] {
        let spec = LogSpec {
            files: args.files,
            commits: args.commits,
            seed: args.seed,
            checkpoint,
        };
        let dir = root.join(variant);
        eprintln!(
            "[{NAME}] generating {variant}: {} files in {} commits at {}",
            spec.files,
            spec.commits,
            dir.display()
        );
        let started = Instant::now();
        gen_log::generate(&dir, &spec)?;
        eprintln!(
            "[{NAME}] generated {variant} in {:.1} s",
            started.elapsed().as_secs_f64()
        );

        let mut per_engine: Vec<Measurement> = engines
            .iter()
            .map(|&engine| Measurement::new(variant, engine))
            .collect();
        // Engines alternate within each round so drift in the machine's state hits both alike.
        for round in 1..=args.runs {
            for m in per_engine.iter_mut().filter(|m| m.failure.is_none()) {
                eprintln!(
                    "[{NAME}] {variant} / {} run {round}/{}",
                    m.engine, args.runs
                );
                let result = child::run(m.engine, &child_args(m.engine, &dir, &spec))?;
                m.record(result);
            }
        }
        measurements.extend(per_engine);
    }

    let parameters = serde_json::json!({
        "files": args.files,
        "commits": args.commits,
        "runs": args.runs,
        "seed": args.seed,
    });
    let target = Target::FasterAndSmaller {
        variant: TARGET_VARIANT,
        speedup: SNAPSHOT_SPEEDUP,
        memory_fraction: SNAPSHOT_MEMORY_FRACTION,
    };
    let report = Report::new(NAME, parameters, measurements, &target);
    if args.json {
        println!("{}", report.to_json()?);
    } else {
        print!("{}", report.to_table());
    }
    Ok(())
}

fn child_args(engine: Engine, dir: &Path, spec: &LogSpec) -> Vec<OsString> {
    vec![
        NAME.into(),
        engine.name().into(),
        dir.into(),
        "--expect-version".into(),
        spec.last_version().to_string().into(),
        "--expect-files".into(),
        spec.files.to_string().into(),
    ]
}

/// The child: start the runtime, time the open, check what it saw, report.
pub(crate) fn child(args: &SnapshotLoadChild) -> Result<(), BenchError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(BenchError::Runtime)?;
    let baseline_rss_kib = peak_rss_kib()?;
    let (opened, elapsed) = runtime.block_on(async {
        let started = Instant::now();
        let opened = open_latest(args.engine, &args.dir).await?;
        Ok::<_, BenchError>((opened, started.elapsed()))
    })?;
    for (what, expected, actual) in [
        ("version", args.expect_version, opened.version),
        ("num_files", args.expect_files, opened.num_files),
    ] {
        if expected != actual {
            return Err(BenchError::WrongSnapshot {
                engine: args.engine,
                what,
                expected,
                actual,
            });
        }
    }
    let report = ChildReport {
        engine: args.engine.name().to_owned(),
        elapsed_ms: elapsed.as_secs_f64() * 1_000.0,
        peak_rss_kib: peak_rss_kib()?,
        baseline_rss_kib,
        version: opened.version,
        num_files: opened.num_files,
        scan: None,
        write: None,
        latency: None,
        optimize: None,
        vacuum: None,
        concurrent: None,
    };
    report.emit()
}
