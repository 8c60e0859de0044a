//! `vacuum`: delete the expired files of a table of 100k data files, 90% of them removed long
//! ago, with tarn (`tarn_maintenance::vacuum::Vacuum`) and the deltalake crate
//! (`DeltaTable::vacuum`), in both engines' two modes:
//! - `full`: list the table's files and delete every file no retained version needs;
//! - `lite`: list nothing, read the log, delete the files expired tombstones name.
//!
//! Three variants: `full-<files>` and `lite-<files>` on the large table, and `lite-<lite files>`
//! on a table ten times smaller with the same share removed, so the report shows how lite's
//! time grows with the table.
//!
//! The tables are generated once per parameter set by `table` (tiny Parquet files written
//! directly, the log in a few bulk commits; code that owes nothing to either engine) and kept
//! under the work directory. Every run gets a fresh copy (files hard-linked, so a vacuum
//! deleting a file of the copy leaves the source alone), removed after the run. Every file,
//! commit and tombstone dates from 2026-01-01, far outside the default 7-day retention, so both
//! engines run with their defaults: the table's retention, no override, no force. The timed
//! region is the engine's open plus its vacuum, as a maintenance job runs it:
//! - `tarn`: `Table::open`, then `Vacuum::new(table).with_mode(M).execute()`;
//! - `deltalake`: `open_table`, then `table.vacuum().with_mode(M)`.
//!
//! After the timer (and the peak RSS) the child checks the table (`verify`): every active file
//! kept and matching its `add`, every removed file deleted, nothing else left. DESIGN.md
//! target: "vacuum 100k files", tarn >= 3x deltalake (the `full` variant). For `lite`, the
//! harness reads "its time independent of the table's file count" as tarn's lite time per
//! deleted file on the large table staying within [`LITE_FLAT_RATIO`] of the small table's:
//! both tables delete the same share of their files, so lite's time can only grow with the
//! files it deletes, never with the files it would otherwise have listed.

mod table;
mod verify;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::child::{self, ChildReport, peak_rss_kib};
use crate::engine::{Engine, table_url};
use crate::error::{BenchError, io_error};
use crate::report::{LITE_FLAT_RATIO, Measurement, Report, Target, VACUUM_SPEEDUP};
use crate::scenarios::table_copy::fresh_copy;
use table::VacuumTable;

/// The scenario's name on the command line and in reports.
const NAME: &str = "vacuum";

/// How a vacuum finds what to delete, on the command line of the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Mode {
    /// List the table.
    Full,
    /// Read the log only.
    Lite,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Lite => "lite",
        }
    }
}

/// A variant of the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Variant {
    /// Full mode on the large table.
    Full,
    /// Lite mode on the large table.
    Lite,
    /// Lite mode on the small table.
    LiteSmall,
}

/// `compare vacuum`.
#[derive(Debug, clap::Args)]
pub(crate) struct VacuumArgs {
    /// Data files of the large table (active and removed).
    #[arg(long, default_value_t = 100_000)]
    files: u64,
    /// Data files of the small table, vacuumed in lite mode only.
    #[arg(long, default_value_t = 10_000)]
    lite_files: u64,
    /// Percent of each table's files removed long ago (what a vacuum deletes).
    #[arg(long, default_value_t = 90)]
    removed_percent: u64,
    /// Partition directories (`day` values) of each table.
    #[arg(long, default_value_t = 100)]
    partitions: u64,
    /// Only these variants (repeatable); full, lite and lite-small by default.
    #[arg(long = "variant", value_enum)]
    variants: Vec<Variant>,
    /// Child runs per engine and variant; the report shows the median time and the max RSS.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Seed of the file names.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Only these engines (repeatable); both by default.
    #[arg(long = "engine", value_enum)]
    engines: Vec<Engine>,
    /// Keep the tables in DIR/vacuum-<files>f-<percent>pct-<partitions>p-s<seed> (reused by
    /// later runs with the same parameters) and make each run's copy in DIR, instead of in a
    /// temporary directory.
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

impl VacuumArgs {
    fn table(&self, files: u64) -> VacuumTable {
        VacuumTable {
            files,
            removed_percent: self.removed_percent,
            partitions: self.partitions,
            seed: self.seed,
        }
    }

    /// (variant name, mode, table) of every variant asked for, in report order.
    fn variants(&self) -> Vec<(String, Mode, VacuumTable)> {
        let asked = if self.variants.is_empty() {
            vec![Variant::Full, Variant::Lite, Variant::LiteSmall]
        } else {
            self.variants.clone()
        };
        [Variant::Full, Variant::Lite, Variant::LiteSmall]
            .into_iter()
            .filter(|variant| asked.contains(variant))
            .map(|variant| {
                let (mode, files) = match variant {
                    Variant::Full => (Mode::Full, self.files),
                    Variant::Lite => (Mode::Lite, self.files),
                    Variant::LiteSmall => (Mode::Lite, self.lite_files),
                };
                (variant_name(mode, files), mode, self.table(files))
            })
            .collect()
    }
}

fn variant_name(mode: Mode, files: u64) -> String {
    format!("{}-{files}", mode.name())
}

/// `compare child vacuum ENGINE DIR ...`: the measured side, in its own process.
#[derive(Debug, clap::Args)]
pub(crate) struct VacuumChild {
    /// Engine to run.
    #[arg(value_enum)]
    engine: Engine,
    /// Table directory: a fresh copy of the generated table.
    dir: PathBuf,
    /// Full or lite.
    #[arg(long, value_enum)]
    mode: Mode,
    /// The generated table's files.
    #[arg(long)]
    files: u64,
    /// The generated table's removed percent.
    #[arg(long)]
    removed_percent: u64,
    /// The generated table's partitions.
    #[arg(long)]
    partitions: u64,
    /// The generated table's seed.
    #[arg(long)]
    seed: u64,
}

/// Generates (or reuses) the tables, measures every engine and variant on fresh copies,
/// prints the report.
pub(crate) fn run(args: &VacuumArgs) -> Result<(), BenchError> {
    let engines = if args.engines.is_empty() {
        Engine::VACUUM.to_vec()
    } else {
        args.engines.clone()
    };
    if let Some(engine) = engines.iter().find(|e| !Engine::VACUUM.contains(*e)) {
        return Err(BenchError::InvalidArgument {
            name: "--engine",
            value: engine.name().to_owned(),
            reason: "vacuum compares tarn and deltalake only",
        });
    }
    let variants = args.variants();
    for (_, _, table) in &variants {
        table.validate()?;
    }
    let temp;
    let root = match &args.work_dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir().map_err(io_error("temporary directory"))?;
            temp.path().to_path_buf()
        }
    };
    let copy = root.join("vacuum-run");

    let mut per_engine: Vec<Measurement> = Vec::new();
    for (variant, mode, table) in &variants {
        let source = root.join(format!(
            "vacuum-{}f-{}pct-{}p-s{}",
            table.files, table.removed_percent, table.partitions, table.seed
        ));
        table::prepare(NAME, &source, table)?;
        let mut measurements: Vec<Measurement> = engines
            .iter()
            .map(|&engine| Measurement::new(variant, engine))
            .collect();
        // Engines alternate within each round so drift in the machine's state hits both alike.
        for round in 1..=args.runs {
            for m in measurements.iter_mut().filter(|m| m.failure.is_none()) {
                let started = Instant::now();
                fresh_copy(&source, &copy)?;
                eprintln!(
                    "[{NAME}] {variant} / {} run {round}/{} (copy made in {:.1} s)",
                    m.engine,
                    args.runs,
                    started.elapsed().as_secs_f64()
                );
                let result = child::run(m.engine, &child_args(m.engine, &copy, *mode, table))?;
                m.record(result);
                fs::remove_dir_all(&copy).map_err(io_error(&copy))?;
            }
        }
        per_engine.extend(measurements);
    }

    let parameters = serde_json::json!({
        "files": args.files,
        "lite_files": args.lite_files,
        "removed_percent": args.removed_percent,
        "partitions": args.partitions,
        "seed": args.seed,
        "runs": args.runs,
        "work_dir": root.display().to_string(),
    });
    let target = Target::Vacuum {
        full_variant: variant_name(Mode::Full, args.files),
        speedup: VACUUM_SPEEDUP,
        lite_variants: (
            variant_name(Mode::Lite, args.files),
            variant_name(Mode::Lite, args.lite_files),
        ),
        lite_flat_ratio: LITE_FLAT_RATIO,
    };
    let report = Report::new(NAME, parameters, per_engine, &target);
    if args.json {
        println!("{}", report.to_json()?);
    } else {
        println!(
            "{NAME}: tables of {} and {} tiny data files, {}% removed (tombstones expired) in {} \
             partitions, under {}",
            args.files,
            args.lite_files,
            args.removed_percent,
            args.partitions,
            root.display()
        );
        print!("{}", report.to_table());
    }
    Ok(())
}

fn child_args(engine: Engine, dir: &Path, mode: Mode, table: &VacuumTable) -> Vec<OsString> {
    vec![
        NAME.into(),
        engine.name().into(),
        dir.into(),
        "--mode".into(),
        mode.name().into(),
        "--files".into(),
        table.files.to_string().into(),
        "--removed-percent".into(),
        table.removed_percent.to_string().into(),
        "--partitions".into(),
        table.partitions.to_string().into(),
        "--seed".into(),
        table.seed.to_string().into(),
    ]
}

/// The child: start the runtime, time open + vacuum, check what is left, report.
pub(crate) fn child(args: &VacuumChild) -> Result<(), BenchError> {
    let table = VacuumTable {
        files: args.files,
        removed_percent: args.removed_percent,
        partitions: args.partitions,
        seed: args.seed,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(BenchError::Runtime)?;
    let baseline_rss_kib = peak_rss_kib()?;
    let (state, elapsed) = runtime.block_on(async {
        let started = Instant::now();
        let state = vacuum(args.engine, &args.dir, args.mode).await?;
        Ok::<_, BenchError>((state, started.elapsed()))
    })?;
    let peak_rss_kib = peak_rss_kib()?;
    drop(state);

    let report = verify::vacuumed(args.engine, &args.dir, &table)?;
    eprintln!(
        "[{NAME}] {} {}: {} -> {} files, {} deleted, {} commit(s)",
        args.engine,
        args.mode.name(),
        report.files_before,
        report.files_after,
        report.files_deleted,
        report.commits
    );
    ChildReport {
        engine: args.engine.name().to_owned(),
        elapsed_ms: elapsed.as_secs_f64() * 1_000.0,
        peak_rss_kib,
        baseline_rss_kib,
        version: report.last_version,
        num_files: report.files_after,
        scan: None,
        write: None,
        latency: None,
        optimize: None,
        vacuum: Some(report),
        concurrent: None,
    }
    .emit()
}

/// Opens the table and vacuums it; returns the engine's state so that freeing it falls outside
/// the timed region.
async fn vacuum(
    engine: Engine,
    dir: &Path,
    mode: Mode,
) -> Result<Box<dyn std::any::Any>, BenchError> {
    let url = table_url(dir)?;
    match engine {
        Engine::Tarn => {
            use tarn_maintenance::vacuum::{Vacuum, VacuumMode};
            let table = tarn::Table::open(url.as_str()).await?;
            let mode = match mode {
                Mode::Full => VacuumMode::Full,
                Mode::Lite => VacuumMode::Lite,
            };
            let metrics = Vacuum::new(table).with_mode(mode).execute().await?;
            eprintln!("[{NAME}] tarn: {} files deleted", metrics.files_deleted);
            Ok(Box::new(metrics))
        }
        Engine::Deltalake => {
            use deltalake::operations::vacuum::VacuumMode;
            let table = deltalake::open_table(url).await?;
            let mode = match mode {
                Mode::Full => VacuumMode::Full,
                Mode::Lite => VacuumMode::Lite,
            };
            let (table, metrics) = table.vacuum().with_mode(mode).await?;
            eprintln!(
                "[{NAME}] deltalake: {} files deleted",
                metrics.files_deleted.len()
            );
            Ok(Box::new((table, metrics)))
        }
        Engine::RawParquet | Engine::InputOnly => Err(BenchError::InvalidArgument {
            name: "--engine",
            value: engine.name().to_owned(),
            reason: "only tarn and deltalake vacuum tables",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_engines_vacuum_a_copy_the_check_accepts_in_both_modes() {
        let root = tempfile::tempdir().unwrap();
        let source = root.path().join("source");
        let spec = VacuumTable {
            files: 300,
            removed_percent: 90,
            partitions: 4,
            seed: 5,
        };
        table::prepare(NAME, &source, &spec).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        for engine in Engine::VACUUM {
            for mode in [Mode::Full, Mode::Lite] {
                let copy = root.path().join(format!("{engine}-{}", mode.name()));
                fresh_copy(&source, &copy).unwrap();
                runtime.block_on(vacuum(engine, &copy, mode)).unwrap();
                let report = verify::vacuumed(engine, &copy, &spec)
                    .unwrap_or_else(|err| panic!("{engine} {}: {err}", mode.name()));
                assert_eq!((report.files_deleted, report.files_after), (270, 30));
                // The source was left alone.
                assert!(verify::vacuumed(engine, &source, &spec).is_err());
            }
        }
    }
}
