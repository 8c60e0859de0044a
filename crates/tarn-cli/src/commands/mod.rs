//! One module per subcommand.

pub(crate) mod archive;
pub(crate) mod cat;
pub(crate) mod check;
pub(crate) mod checkpoint;
pub(crate) mod cleanup_log;
pub(crate) mod commit;
pub(crate) mod create;
pub(crate) mod delete;
pub(crate) mod demo;
pub(crate) mod describe;
pub(crate) mod files;
pub(crate) mod history;
pub(crate) mod maintain;
pub(crate) mod optimize;
pub(crate) mod restore;
pub(crate) mod update;
pub(crate) mod vacuum;
pub(crate) mod write;

use tarn::{Expr, Snapshot, Table};

use crate::timestamp_arg::parse_timestamp;
use crate::{CliError, VersionArgs};

/// Loads the snapshot the `--version` / `--timestamp` flags select (latest by default).
pub(crate) async fn select_snapshot(
    table: &Table,
    version: &VersionArgs,
) -> Result<Snapshot, CliError> {
    if let Some(v) = version.version {
        return Ok(table.snapshot_at_version(v).await?);
    }
    if let Some(ts) = &version.timestamp {
        let ts = parse_timestamp(ts).map_err(CliError::Usage)?;
        return Ok(table.snapshot_at_timestamp(ts).await?);
    }
    Ok(table.snapshot().await?)
}

/// Parses a `--where` predicate.
pub(crate) fn parse_filter(sql: &str) -> Result<Expr, CliError> {
    Expr::parse(sql).map_err(|e| CliError::Tarn(e.into()))
}

/// Prints a JSON value, pretty-printed.
pub(crate) fn print_json(value: &serde_json::Value) -> Result<(), CliError> {
    let mut text =
        serde_json::to_string_pretty(value).map_err(|e| CliError::Output(e.to_string()))?;
    text.push('\n');
    emit(&text)
}

/// Writes command output to stdout. A closed pipe (`tarn files t | head`) ends the output
/// quietly, like any Unix tool.
pub(crate) fn emit(text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::Output(err.to_string()))
        }
        _ => Ok(()),
    }
}

/// A [`tarn_maintenance::Stop`] requested when SIGINT or SIGTERM arrives: a maintenance
/// command then finishes what it has in flight, commits it and returns.
pub(crate) fn stop_on(interrupt: &crate::interrupt::Interrupt) -> tarn_maintenance::Stop {
    let stop = tarn_maintenance::Stop::new();
    let requested = stop.clone();
    let interrupt = interrupt.clone();
    tokio::spawn(async move {
        interrupt.fired().await;
        requested.request();
    });
    stop
}
