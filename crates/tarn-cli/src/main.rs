//! `tarn`: inspect, write and maintain Delta tables.

mod commands;
mod formats;
mod output;
mod sink;
mod timestamp_arg;

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
}

/// Why the command failed; printed as one `error: ...` line.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error(transparent)]
    Tarn(#[from] tarn::Error),
    #[error("{0}")]
    Usage(String),
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
}

fn parse_options(raw: &[String]) -> Result<BTreeMap<String, String>, CliError> {
    raw.iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
                .ok_or_else(|| CliError::Usage(format!("storage option {pair:?} is not KEY=VALUE")))
        })
        .collect()
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let options = parse_options(&cli.storage_options)?;
    let open = |uri: String| {
        let options = options.clone();
        async move { tarn::Table::open_with_options(&uri, &options).await }
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
            commands::cat::run(&table, &args).await?;
        }
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
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let message = err.to_string().replace('\n', " ");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
