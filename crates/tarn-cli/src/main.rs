//! `tarn`: inspect, write and maintain Delta tables.

mod commands;
mod formats;
mod input;
mod interrupt;
mod output;
mod progress;
mod schema_arg;
mod secrets;
mod sink;
mod store_args;
mod timestamp_arg;
mod value_text;

#[cfg(test)]
mod round_trip_tests;

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// tarn: a lakehouse storage engine for Delta tables on local disk, S3, GCS and Azure.
#[derive(Debug, Parser)]
#[command(name = "tarn", version, about, long_about = None)]
struct Cli {
    /// Storage option for the table's object store (e.g. `aws_endpoint=http://...`,
    /// `allow_http=true`); overrides the AWS_*/GOOGLE_*/AZURE_* environment. Repeatable.
    #[arg(
        long = "storage-option",
        short = 'o',
        value_name = "KEY=VALUE",
        global = true
    )]
    storage_options: Vec<String>,

    /// Another location the table's log may name files in (an archive bucket, a second local
    /// directory), reached with the table's `-o` options. Repeatable.
    #[arg(long = "store", value_name = "PREFIX", global = true)]
    stores: Vec<String>,

    /// A storage option of its own for a location the table's log may name files in: registers
    /// PREFIX with these options instead of the table's. Repeatable.
    #[arg(
        long = "store-option",
        num_args = 2,
        value_names = ["PREFIX", "KEY=VALUE"],
        global = true
    )]
    store_options: Vec<String>,

    /// Do not trust the table: the locations it declares in its own log (the `tarn.archive`
    /// domain) are refused like any other unregistered location.
    #[arg(long, global = true)]
    untrusted: bool,

    #[command(subcommand)]
    command: Command,
}

/// Selects a version of the table; latest by default.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub(crate) struct VersionArgs {
    /// Read the table as of this version.
    #[arg(long)]
    version: Option<u64>,
    /// Read the newest version committed at or before this time (RFC 3339, `YYYY-MM-DD
    /// [HH:MM:SS]` in UTC, or milliseconds since the epoch).
    #[arg(long)]
    timestamp: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show a table's version, protocol, schema, partitioning, size and properties.
    Describe {
        /// Table path or URI.
        table: String,
        #[command(flatten)]
        version: VersionArgs,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show the commits of a table, newest first.
    History {
        /// Table path or URI.
        table: String,
        /// Show at most this many commits.
        #[arg(long)]
        limit: Option<usize>,
        /// Print a JSON array instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the active data files of a table.
    Files {
        /// Table path or URI.
        table: String,
        #[command(flatten)]
        version: VersionArgs,
        /// Only the files that may hold rows for which this SQL predicate is true (by their
        /// partition values and statistics): the files `cat --where` reads.
        #[arg(long = "where", value_name = "EXPR")]
        filter: Option<String>,
        /// Print a JSON array instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the rows of a table: as a text table, CSV, NDJSON or a Parquet file.
    Cat(commands::cat::CatArgs),
    /// Create a table from a schema.
    Create(commands::create::CreateArgs),
    /// Write Parquet, CSV or NDJSON files into a table (creating it if absent).
    Write(commands::write::WriteArgs),
    /// Delete the rows matching a predicate.
    Delete(commands::delete::DeleteArgs),
    /// Set columns of the rows matching a predicate.
    Update(commands::update::UpdateArgs),
    /// Make the table's contents those of an earlier version (as a new commit).
    Restore(commands::restore::RestoreArgs),
    /// Write a checkpoint of the latest version.
    Checkpoint(commands::checkpoint::CheckpointArgs),
    /// Compact small files, optionally sorting, Z-ordering or clustering the rows.
    Optimize(commands::optimize::OptimizeArgs),
    /// Move cold files to an archive location (tier: they stay readable in place; detach:
    /// they leave the live table for its archive manifest).
    Archive(commands::archive::ArchiveArgs),
    /// Bring archived files back: copy tiered files back, re-add detached ones (applying the
    /// deletes committed since they were detached).
    RestoreArchive(commands::archive::RestoreArchiveArgs),
    /// Check that every file the latest version needs exists with its logged size, verify
    /// its deletion vectors, and count the files no version references (exit status 1 when
    /// the table is not healthy).
    Check(commands::check::CheckArgs),
    /// Delete the files no version inside the retention window needs.
    Vacuum(commands::vacuum::VacuumArgs),
    /// Delete the log files no version inside the log retention needs.
    CleanupLog(commands::cleanup_log::CleanupLogArgs),
    /// Run a maintenance policy: compact, archive (where it names rules), checkpoint, vacuum
    /// and clean up the log of every table it names, once or every so often.
    Maintain(commands::maintain::MaintainArgs),
    /// Build a demo table with concurrent writers, delete, update, time travel (default
    /// directory: ./tarn-demo).
    Demo(commands::demo::DemoArgs),
}

/// Why the command failed; printed as one `error: ...` line.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error(transparent)]
    Tarn(#[from] tarn::Error),
    #[error(transparent)]
    Maintenance(#[from] tarn_maintenance::MaintenanceError),
    #[error("{interrupted}{detail}")]
    Interrupted {
        interrupted: interrupt::Interrupted,
        /// What the command left: `; nothing was committed ...`.
        detail: &'static str,
    },
    #[error("{0}")]
    Usage(String),
    /// The command ran, and some of its work failed (already reported on stdout).
    #[error("{0}")]
    Failed(String),
    #[error("cannot write output: {0}")]
    Output(String),
    #[error("cannot write {path}: {source}")]
    WriteFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {format} output: {reason}")]
    Encode {
        format: &'static str,
        reason: String,
    },
    #[error("cannot read schema file {path}: {source}")]
    SchemaFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid --schema: {0}")]
    Schema(#[source] tarn::protocol::ProtocolError),
    #[error("cannot read {path}: {source}")]
    InputOpen {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot tell the format of {path} from its name; pass --format parquet, csv or ndjson")]
    UnknownInputFormat { path: String },
    #[error("cannot read {path} as {format}: {reason}")]
    InputFormat {
        path: String,
        format: &'static str,
        reason: String,
    },
    #[error("{path}, line {line}: {reason}")]
    InputLine {
        path: String,
        line: u64,
        reason: String,
    },
    #[error(transparent)]
    InputValue(Box<BadInputValue>),
    #[error("{path} does not have the columns of {first}: {reason}")]
    InputSchemaMismatch {
        path: String,
        first: String,
        reason: String,
    },
    #[error("cannot start an async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("cannot use {path} for the demo: {reason}")]
    DemoDirectory { path: String, reason: String },
    #[error("cannot prepare the demo directory {path}: {source}")]
    DemoIo {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("demo check failed at step `{step}`: expected {expected}, found {found}")]
    DemoCheck {
        step: &'static str,
        expected: String,
        found: String,
    },
}

/// An input value that is not a value of its column's type (boxed in [`CliError`], which it
/// would otherwise double in size).
#[derive(Debug, thiserror::Error)]
#[error(
    "{path}, line {line}: cannot read {} in column `{column}` as {expected}: {reason}",
    shown_value(.value)
)]
pub(crate) struct BadInputValue {
    pub(crate) path: String,
    pub(crate) line: u64,
    /// The column's path: `price`, `s.price`, `tags.element`.
    pub(crate) column: String,
    pub(crate) value: String,
    /// The type's name: `decimal(10,2)`.
    pub(crate) expected: String,
    pub(crate) reason: String,
}

/// A value for an error message: quoted and escaped, and cut short if it is long.
fn shown_value(value: &str) -> String {
    const LONGEST: usize = 100;
    match value.char_indices().nth(LONGEST) {
        Some((end, _)) => format!("{:?}... ({} bytes)", &value[..end], value.len()),
        None => format!("{value:?}"),
    }
}

fn parse_options(raw: &[String]) -> Result<BTreeMap<String, String>, CliError> {
    raw.iter()
        .enumerate()
        .map(|(index, pair)| {
            pair.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
                .filter(|(k, _)| !k.is_empty())
                // Not quoted back: a malformed option may be a secret with its key missing.
                .ok_or_else(|| {
                    CliError::Usage(format!(
                        "storage option {} of {} is not KEY=VALUE",
                        index + 1,
                        raw.len()
                    ))
                })
        })
        .collect()
}

/// Parses repeated `KEY=VALUE` arguments (`what` names them in errors).
pub(crate) fn parse_pairs(
    what: &str,
    raw: &[String],
) -> Result<BTreeMap<String, String>, CliError> {
    raw.iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| CliError::Usage(format!("{what} {pair:?} is not KEY=VALUE")))
        })
        .collect()
}

async fn run(cli: Cli, interrupt: interrupt::Interrupt) -> Result<(), CliError> {
    let options = parse_options(&cli.storage_options)?;
    let stores = store_args::registry(&cli.stores, &cli.store_options, &options)?;
    let declared = store_args::declared_locations(cli.untrusted);
    let open = |uri: String| {
        let (options, stores) = (options.clone(), stores.clone());
        async move {
            tarn::Table::builder(&uri)
                .with_storage_options(options)
                .with_stores(stores)
                .with_declared_locations(declared)
                .open()
                .await
        }
    };
    match cli.command {
        Command::Describe {
            table,
            version,
            json,
        } => {
            let table = open(table).await?;
            let snapshot = commands::select_snapshot(&table, &version).await?;
            // The same commit time history and --timestamp use (monotonic over the log).
            let timestamp = table
                .version_timestamp(snapshot.version())
                .await?
                .unwrap_or_else(|| snapshot.timestamp())
                .timestamp_millis();
            if json {
                commands::print_json(&commands::describe::describe_json(&snapshot, timestamp))?;
            } else {
                commands::emit(&commands::describe::describe_text(&snapshot, timestamp))?;
            }
        }
        Command::History { table, limit, json } => {
            let table = open(table).await?;
            let entries = table.history(limit).await?;
            if json {
                commands::print_json(&commands::history::history_json(&entries))?;
            } else {
                commands::emit(&commands::history::history_text(&entries))?;
            }
        }
        Command::Files {
            table,
            version,
            filter,
            json,
        } => {
            let table = open(table).await?;
            let snapshot = commands::select_snapshot(&table, &version).await?;
            let selection = match &filter {
                Some(sql) => commands::files::Selection::matching(&snapshot, sql).await?,
                None => commands::files::Selection::all(),
            };
            if json {
                commands::print_json(&commands::files::files_json(&snapshot, &selection))?;
            } else {
                commands::emit(&commands::files::files_text(&snapshot, &selection))?;
            }
        }
        Command::Cat(args) => {
            args.check()?;
            let table = open(args.table().to_owned()).await?;
            commands::cat::run(&table, &args, &interrupt).await?;
        }
        Command::Create(args) => {
            let table = open(args.table().to_owned()).await?;
            commands::create::run(&table, &args).await?;
        }
        Command::Write(args) => {
            args.check()?;
            let table = open(args.table().to_owned()).await?;
            commands::write::run(&table, &args, interrupt).await?;
        }
        Command::Delete(args) => {
            let table = open(args.table().to_owned()).await?;
            commands::delete::run(&table, &args).await?;
        }
        Command::Update(args) => {
            let table = open(args.table().to_owned()).await?;
            commands::update::run(&table, &args).await?;
        }
        Command::Restore(args) => {
            let table = open(args.table().to_owned()).await?;
            commands::restore::run(&table, &args).await?;
        }
        Command::Checkpoint(args) => {
            let table = open(args.table().to_owned()).await?;
            commands::checkpoint::run(&table, &args).await?;
        }
        Command::Optimize(args) => {
            let table = open(args.table().to_owned()).await?;
            commands::optimize::run(&table, &args, &interrupt).await?;
        }
        Command::Archive(args) => {
            let table = open(args.table().to_owned()).await?;
            commands::archive::run(&table, &args).await?;
        }
        Command::RestoreArchive(args) => {
            let table = open(args.table().to_owned()).await?;
            commands::archive::run_restore(&table, &args).await?;
        }
        Command::Vacuum(args) => {
            let table = open(args.table().to_owned()).await?;
            commands::vacuum::run(&table, &args, &interrupt).await?;
        }
        Command::Check(args) => {
            let table = open(args.table().to_owned()).await?;
            commands::check::run(&table, &args).await?;
        }
        Command::CleanupLog(args) => {
            let table = open(args.table().to_owned()).await?;
            commands::cleanup_log::run(&table, &args).await?;
        }
        Command::Maintain(args) => {
            let tables = commands::maintain::TableOptions {
                storage_options: options.clone(),
                stores: stores.clone(),
                declared,
            };
            commands::maintain::run(&args, tables, interrupt).await?;
        }
        Command::Demo(args) => commands::demo::run(&args).await?,
    }
    Ok(())
}

/// Parses the command line. `--help` and `--version` (and bare `tarn`, which shows the help)
/// print as clap prints them; a usage error becomes one `error: ...` line like every other
/// failure, because scripts read exactly one line from stderr.
fn parse_cli() -> Result<Cli, ExitCode> {
    let err = match Cli::try_parse() {
        Ok(cli) => return Ok(cli),
        Err(err) => err,
    };
    if !err.use_stderr()
        || err.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    {
        err.exit();
    }
    // clap's text is the message, a blank line, then usage and tips: keep the message only.
    let text = err.to_string();
    let message = text
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let message = message.strip_prefix("error:").unwrap_or(&message).trim();
    let message = secrets::Secrets::collect(std::env::args(), std::env::vars()).redact(message);
    eprintln!("error: {message}");
    Err(ExitCode::from(
        u8::try_from(err.exit_code()).unwrap_or(2).max(1),
    ))
}

fn main() -> ExitCode {
    let cli = match parse_cli() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let secrets = secrets::Secrets::collect(std::env::args(), std::env::vars());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let interrupt = interrupt::Interrupt::install();
        // `write` stops itself (its input fails, and it deletes what it wrote), and so do the
        // maintenance commands (between commits: what they finished is committed, what they
        // had not started is left for the next run); any other command is dropped where it
        // stands, which removes its temporary output.
        if matches!(
            cli.command,
            Command::Write(_) | Command::Maintain(_) | Command::Optimize(_) | Command::Vacuum(_)
        ) {
            run(cli, interrupt).await
        } else {
            tokio::select! {
                result = run(cli, interrupt.clone()) => result,
                interrupted = interrupt.fired() => Err(CliError::Interrupted {
                    interrupted,
                    detail: "",
                }),
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Interrupted {
            interrupted,
            detail,
        }) => {
            eprintln!("error: {interrupted}{detail}");
            ExitCode::from(interrupted.exit_code())
        }
        Err(err) => {
            let message = secrets.redact(&err.to_string().replace('\n', " "));
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
