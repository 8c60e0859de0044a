//! `compare`: runs each benchmark scenario with tarn and with the deltalake crate, every engine in
//! its own child process, and prints times, peak memory and the ratios DESIGN.md sets targets
//! for. `compare gen-log` writes the synthetic Delta logs the snapshot scenario loads;
//! `compare gen-data` writes the real (Parquet + log) tables the scan scenarios read; the write
//! scenarios generate their input as they go (`gen_stream`); `checkpoint-write` checkpoints a
//! generated JSON-only log; `optimize` compacts a generated table of small appended files;
//! `vacuum` deletes the expired files of a generated table of many tiny files;
//! `concurrent-append` runs several writer processes appending to one table at once.

mod child;
mod engine;
mod error;
mod gen_data;
mod gen_log;
mod gen_stream;
mod report;
mod scan_engine;
mod scenarios;
mod write_engine;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use error::BenchError;
use gen_data::DataSpec;
use scenarios::checkpoint_write::{self, CheckpointWriteArgs, CheckpointWriteChild};
use scenarios::commit_latency::{self, CommitLatencyArgs, CommitLatencyChild};
use scenarios::concurrent_append::{self, ConcurrentAppendArgs, ConcurrentAppendChild};
use scenarios::optimize::{self, OptimizeArgs, OptimizeChild};
use scenarios::scan::{self, ScanArgs, ScanChild, ScanScenario};
use scenarios::snapshot_load::{self, SnapshotLoadArgs, SnapshotLoadChild};
use scenarios::vacuum::{self, VacuumArgs, VacuumChild};
use scenarios::write::{self, WriteArgs, WriteChild};

/// tarn against deltalake, one scenario at a time.
#[derive(Debug, Parser)]
#[command(name = "compare", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a synthetic Delta log (no data files) into DIR.
    GenLog(GenLogArgs),
    /// Write a partitioned Delta table of real Parquet files into DIR.
    GenData(GenDataArgs),
    /// Open the latest snapshot of a large table: JSON log only, and log + checkpoint.
    SnapshotLoad(SnapshotLoadArgs),
    /// Read every row and column of a generated table.
    ScanFull(ScanArgs),
    /// Read one partition, and a 1% `id` range, of a generated table.
    ScanSelective(ScanArgs),
    /// Write generated rows as a new table partitioned by day, against raw Parquet.
    Write(WriteArgs),
    /// Time many small appends, one commit each.
    CommitLatency(CommitLatencyArgs),
    /// Open a table with a long JSON log and write a checkpoint of its latest version.
    CheckpointWrite(CheckpointWriteArgs),
    /// Compact a table of small appended files (500 in 10 partitions by default).
    Optimize(OptimizeArgs),
    /// Delete the expired files of a table of 100k files, most removed, in full and lite mode.
    Vacuum(VacuumArgs),
    /// Several writer processes appending to one table at once (4 x 50 appends by default).
    ConcurrentAppend(ConcurrentAppendArgs),
    /// The measured side of a scenario, run by the parent in a fresh process.
    #[command(hide = true)]
    Child {
        #[command(subcommand)]
        scenario: ChildScenario,
    },
}

#[derive(Debug, Subcommand)]
enum ChildScenario {
    SnapshotLoad(SnapshotLoadChild),
    Scan(ScanChild),
    Write(WriteChild),
    CommitLatency(CommitLatencyChild),
    CheckpointWrite(CheckpointWriteChild),
    Optimize(OptimizeChild),
    Vacuum(VacuumChild),
    ConcurrentAppend(ConcurrentAppendChild),
}

#[derive(Debug, clap::Args)]
struct GenLogArgs {
    /// Table directory (created if missing; must not hold a _delta_log yet).
    dir: PathBuf,
    /// Active files at the last version.
    #[arg(long)]
    files: u64,
    /// Append commits after version 0.
    #[arg(long)]
    commits: u64,
    /// Also write a classic Parquet checkpoint at the last version.
    #[arg(long)]
    checkpoint: bool,
    /// Seed of the value generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Debug, clap::Args)]
struct GenDataArgs {
    /// Table directory (created if missing; must not hold a _delta_log yet).
    dir: PathBuf,
    /// Rows in the table.
    #[arg(long, default_value_t = 10_000_000)]
    rows: u64,
    /// Partition days, from 2026-01-01.
    #[arg(long, default_value_t = 10)]
    days: u64,
    /// Seed of the value generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Most rows per data file.
    #[arg(long, default_value_t = DataSpec::DEFAULT_ROWS_PER_FILE)]
    rows_per_file: u64,
    /// Most rows per Parquet row group.
    #[arg(long, default_value_t = DataSpec::DEFAULT_ROW_GROUP_ROWS)]
    row_group_rows: u64,
    /// Commit each data file in an append of its own (after an empty version 0), as a stream
    /// of small appends leaves a table, instead of all of them in version 0.
    #[arg(long)]
    commit_per_file: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Every variant's message already includes its cause.
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(command: Command) -> Result<(), BenchError> {
    match command {
        Command::GenLog(args) => {
            let summary = gen_log::generate(
                &args.dir,
                &gen_log::LogSpec {
                    files: args.files,
                    commits: args.commits,
                    seed: args.seed,
                    checkpoint: args.checkpoint,
                },
            )?;
            eprintln!(
                "wrote {} files ({} rows) in {} commits to {}",
                args.files,
                summary.rows,
                args.commits,
                args.dir.display()
            );
            Ok(())
        }
        Command::GenData(args) => {
            let manifest = gen_data::generate(
                &args.dir,
                &DataSpec {
                    rows: args.rows,
                    days: args.days,
                    seed: args.seed,
                    rows_per_file: args.rows_per_file,
                    row_group_rows: args.row_group_rows,
                    commit_per_file: args.commit_per_file,
                },
            )?;
            let bytes: u64 = manifest.files.iter().map(|f| f.size).sum();
            eprintln!(
                "wrote {} rows in {} files ({bytes} bytes of Parquet) to {}",
                manifest.rows,
                manifest.files.len(),
                args.dir.display()
            );
            Ok(())
        }
        Command::SnapshotLoad(args) => snapshot_load::run(&args),
        Command::ScanFull(args) => scan::run(ScanScenario::Full, &args),
        Command::ScanSelective(args) => scan::run(ScanScenario::Selective, &args),
        Command::Write(args) => write::run(&args),
        Command::CommitLatency(args) => commit_latency::run(&args),
        Command::CheckpointWrite(args) => checkpoint_write::run(&args),
        Command::Optimize(args) => optimize::run(&args),
        Command::Vacuum(args) => vacuum::run(&args),
        Command::ConcurrentAppend(args) => concurrent_append::run(&args),
        Command::Child {
            scenario: ChildScenario::SnapshotLoad(args),
        } => snapshot_load::child(&args),
        Command::Child {
            scenario: ChildScenario::Scan(args),
        } => scan::child(&args),
        Command::Child {
            scenario: ChildScenario::Write(args),
        } => write::child(&args),
        Command::Child {
            scenario: ChildScenario::CommitLatency(args),
        } => commit_latency::child(&args),
        Command::Child {
            scenario: ChildScenario::CheckpointWrite(args),
        } => checkpoint_write::child(&args),
        Command::Child {
            scenario: ChildScenario::Optimize(args),
        } => optimize::child(&args),
        Command::Child {
            scenario: ChildScenario::Vacuum(args),
        } => vacuum::child(&args),
        Command::Child {
            scenario: ChildScenario::ConcurrentAppend(args),
        } => concurrent_append::child(&args),
    }
}
