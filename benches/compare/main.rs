//! `compare`: runs each benchmark scenario with tarn and with the deltalake crate, every engine in
//! its own child process, and prints times, peak memory and the ratios DESIGN.md sets targets
//! for. `compare gen-log` writes the synthetic Delta logs the scenarios load.

mod child;
mod engine;
mod error;
mod gen_log;
mod report;
mod scenarios;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use error::BenchError;
use scenarios::snapshot_load::{self, SnapshotLoadArgs, SnapshotLoadChild};

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
    /// Open the latest snapshot of a large table: JSON log only, and log + checkpoint.
    SnapshotLoad(SnapshotLoadArgs),
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
        Command::GenLog(args) => gen_log::generate(
            &args.dir,
            &gen_log::LogSpec {
                files: args.files,
                commits: args.commits,
                seed: args.seed,
                checkpoint: args.checkpoint,
            },
        ),
        Command::SnapshotLoad(args) => snapshot_load::run(&args),
        Command::Child {
            scenario: ChildScenario::SnapshotLoad(args),
        } => snapshot_load::child(&args),
    }
}
