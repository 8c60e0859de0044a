//! `tarn write`: input files into a table, as one commit.
//!
//! This module turns the command line into a [`tarn::WriteBuilder`] and the input files
//! into its stream of batches ([`crate::input`]). It never checks rows against the table:
//! the library does, and fails the whole write (committing nothing) on the first row that
//! does not fit.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;
use tarn::{Error, LogError, Table, WriteMode};

use super::commit::print_commit;
use super::parse_filter;
use crate::input::{Input, InputFormat};
use crate::{CliError, parse_pairs};

/// `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ModeArg {
    /// Keep the table's rows and add the new ones.
    Append,
    /// Replace the table's rows (or, with --replace-where, those matching it).
    Overwrite,
}

/// The arguments of `tarn write`.
#[derive(Debug, Args)]
pub(crate) struct WriteArgs {
    /// Table path or URI; created from the input's schema if there is no table.
    table: String,
    /// Input files, all with the same columns.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Input format; by default each file's extension (.parquet, .csv, .ndjson/.jsonl/.json).
    #[arg(long, value_enum)]
    format: Option<InputFormat>,
    /// Append (default) or overwrite.
    #[arg(long, value_enum)]
    mode: Option<ModeArg>,
    /// Overwrite only the rows matching this SQL predicate (implies --mode overwrite); every
    /// row written must match it.
    #[arg(long = "replace-where", value_name = "EXPR")]
    replace_where: Option<String>,
    /// Add the input's new columns to the table (and widen numeric columns, with
    /// --allow-type-widening).
    #[arg(long)]
    merge_schema: bool,
    /// With --merge-schema, let a widened column (integer to long, float to double) add the
    /// `typeWidening` reader feature, which readers such as delta-rs cannot read.
    #[arg(long, requires = "merge_schema")]
    allow_type_widening: bool,
    /// Partition columns of a table this write creates (must be the table's if it exists).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    partition_by: Option<Vec<String>>,
    /// A table property: set on a table this write creates, changed in this write's commit
    /// on an existing one (CHECK constraints and the column mapping mode excepted).
    /// Repeatable.
    #[arg(long = "property", value_name = "KEY=VALUE")]
    properties: Vec<String>,
    /// Make the write idempotent: skipped if the table already has version VERSION (or a
    /// later one) of application APP_ID.
    #[arg(long, value_name = "APP_ID:VERSION")]
    txn: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

impl WriteArgs {
    /// The table path or URI.
    pub(crate) fn table(&self) -> &str {
        &self.table
    }

    /// Usage errors that need no table.
    pub(crate) fn check(&self) -> Result<(), CliError> {
        if self.replace_where.is_some() && self.mode == Some(ModeArg::Append) {
            return Err(CliError::Usage(
                "--replace-where overwrites the rows it matches; it cannot be used with --mode \
                 append"
                    .to_owned(),
            ));
        }
        self.txn().map(|_| ())
    }

    fn txn(&self) -> Result<Option<(String, i64)>, CliError> {
        let Some(raw) = &self.txn else {
            return Ok(None);
        };
        let parsed = raw
            .rsplit_once(':')
            .and_then(|(app, version)| Some((app.trim(), version.trim().parse::<i64>().ok()?)))
            .filter(|(app, version)| !app.is_empty() && *version >= 0);
        match parsed {
            Some((app, version)) => Ok(Some((app.to_owned(), version))),
            None => Err(CliError::Usage(format!(
                "--txn {raw:?} is not APP_ID:VERSION with a version >= 0"
            ))),
        }
    }
}

/// Runs `tarn write`.
pub(crate) async fn run(
    table: &Table,
    args: &WriteArgs,
    interrupt: crate::interrupt::Interrupt,
) -> Result<(), CliError> {
    let txn = args.txn()?;
    let properties = parse_pairs("--property", &args.properties)?;
    let replace_where = args
        .replace_where
        .as_deref()
        .map(parse_filter)
        .transpose()?;
    let existing = match table.snapshot().await {
        Ok(snapshot) => Some(snapshot),
        Err(Error::Log(LogError::NotATable { .. })) => None,
        Err(err) => return Err(err.into()),
    };
    let input = Input::open(
        &args.files,
        args.format,
        existing.as_ref().map(|s| s.schema()),
    )?;

    let mut builder = table
        .write()
        .with_merge_schema(args.merge_schema)
        .with_type_widening(args.allow_type_widening);
    if args.mode == Some(ModeArg::Overwrite) {
        builder = builder.with_mode(WriteMode::Overwrite);
    }
    if let Some(predicate) = replace_where {
        builder = builder.replace_where(predicate);
    }
    if let Some(columns) = &args.partition_by {
        builder = builder.with_partition_columns(columns.iter().map(|c| c.trim().to_owned()));
    }
    for (key, value) in properties {
        builder = builder.with_property(key, value);
    }
    if let Some((app, version)) = &txn {
        builder = builder.with_txn(app.clone(), *version);
    }

    let schema = input.schema();
    let (stream, reader) = input.into_stream();
    let stream = crate::interrupt::interruptible(stream, interrupt);
    let result = builder.execute(schema, stream).await;
    // An input error stopped the stream: it names the file and line, so it is the cause.
    if let Some(input_error) = reader.finish().await {
        return Err(input_error);
    }
    if let Err(Error::Input { source }) = &result
        && let Some(interrupted) = source.downcast_ref::<crate::interrupt::Interrupted>()
    {
        return Err(CliError::Interrupted {
            interrupted: crate::interrupt::Interrupted {
                signal: interrupted.signal,
            },
            detail: "; nothing was committed, and the data files written so far were deleted",
        });
    }
    let summary = result?;
    let nothing = match &txn {
        Some((app, version)) => {
            format!("version {version} of transaction {app:?} is already committed")
        }
        None => "no rows".to_owned(),
    };
    let created = existing.is_none() && summary.version.is_some();
    let mode = if args.replace_where.is_some() || args.mode == Some(ModeArg::Overwrite) {
        "overwrite"
    } else {
        "append"
    };
    print_commit(
        &summary,
        None,
        &nothing,
        args.json,
        &[("mode", json!(mode)), ("created_table", json!(created))],
    )
}
