//! `tarn cat`: the rows of a table at one version, or the plan of reading them.
//!
//! This module turns the command line into a scan (projection, filter, limit) and drives the
//! scan's stream into a [`RowWriter`]. It never formats rows itself ([`crate::formats`]) and
//! never decides which rows a filter keeps (the scan does).

use std::path::PathBuf;

use clap::Args;
use futures::StreamExt;
use serde_json::{Value, json};
use tarn::scan::ScanMetricsSnapshot;
use tarn::{Scan, Snapshot, Table};

use super::{parse_filter, select_snapshot};
use crate::formats::{Format, RowWriter};
use crate::sink::Sink;
use crate::{CliError, VersionArgs};

/// The arguments of `tarn cat`.
#[derive(Debug, Args)]
pub(crate) struct CatArgs {
    /// Table path or URI.
    table: String,
    #[command(flatten)]
    version: VersionArgs,
    /// Only these columns, in this order (comma-separated logical names).
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    columns: Option<Vec<String>>,
    /// Only rows for which this SQL predicate is true, e.g. `year = 2021 AND value > 3`.
    #[arg(long = "where", value_name = "EXPR")]
    filter: Option<String>,
    /// At most this many rows.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Also print each row's stable row id and row commit version (`_metadata.row_id`,
    /// `_metadata.row_commit_version`), on a table that enables row tracking.
    #[arg(long)]
    row_ids: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write to this file instead of stdout; it appears only if the command succeeds.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print the plan instead of the rows: files and row groups to read, and what pruning
    /// skipped.
    #[arg(long, conflicts_with_all = ["format", "output"])]
    explain: bool,
    /// With --explain: print the plan as one JSON object.
    #[arg(long, requires = "explain")]
    json: bool,
}

impl CatArgs {
    /// The table path or URI.
    pub(crate) fn table(&self) -> &str {
        &self.table
    }

    /// Usage errors that need no table.
    pub(crate) fn check(&self) -> Result<(), CliError> {
        if self.format == Format::Parquet && self.output.is_none() {
            return Err(CliError::Usage(
                "--format parquet needs --output FILE: Parquet is written to a file, not to stdout"
                    .to_owned(),
            ));
        }
        Ok(())
    }
}

/// Runs `tarn cat` on an open table.
pub(crate) async fn run(
    table: &Table,
    args: &CatArgs,
    interrupt: &crate::interrupt::Interrupt,
) -> Result<(), CliError> {
    let snapshot = select_snapshot(table, &args.version).await?;
    let scan = build_scan(&snapshot, args).await?;
    if args.explain {
        let metrics = scan.explain().await?;
        let plan = ExplainPlan {
            version: snapshot.version(),
            filter: args.filter.as_deref(),
            limit: args.limit,
            files_to_read: scan.files().len() as u64,
            metrics,
        };
        return if args.json {
            super::print_json(&plan.json())
        } else {
            super::emit(&plan.text())
        };
    }
    let sink = match &args.output {
        Some(path) => Sink::file(path)?,
        None => Sink::stdout(),
    };
    let writer = args.format.writer(scan.schema(), sink)?;
    copy_rows(scan, writer, interrupt).await
}

async fn build_scan(snapshot: &Snapshot, args: &CatArgs) -> Result<Scan, CliError> {
    let mut builder = snapshot.scan();
    if let Some(columns) = &args.columns {
        builder = builder.with_columns(columns.iter().map(|c| c.trim().to_owned()));
    }
    if let Some(sql) = &args.filter {
        builder = builder.with_filter(parse_filter(sql)?);
    }
    if let Some(limit) = args.limit {
        builder = builder.with_limit(limit);
    }
    if args.row_ids {
        builder = builder.with_row_tracking();
    }
    Ok(builder.build().await?)
}

/// Streams the scan's batches into the writer; stops early, quietly, when stdout is closed,
/// and with an error when interrupted (checked between batches, which may all be ready
/// without the task ever yielding): the output file is then never created.
async fn copy_rows(
    scan: Scan,
    mut writer: Box<dyn RowWriter>,
    interrupt: &crate::interrupt::Interrupt,
) -> Result<(), CliError> {
    let mut stream = scan.execute();
    while let Some(batch) = stream.next().await {
        if let Some(interrupted) = interrupt.signal() {
            return Err(CliError::Interrupted {
                interrupted,
                detail: "; the output was not written",
            });
        }
        writer.write(&batch?)?;
        writer.sink().end_batch()?;
        if writer.sink().is_closed() {
            // Dropping the stream stops the scan.
            return Ok(());
        }
    }
    drop(stream);
    writer.finish()?.commit()
}

/// What `--explain` prints.
struct ExplainPlan<'a> {
    version: u64,
    filter: Option<&'a str>,
    limit: Option<usize>,
    files_to_read: u64,
    metrics: ScanMetricsSnapshot,
}

impl ExplainPlan<'_> {
    /// Files left out because the limit is covered without them (by their record counts).
    fn skipped_by_limit(&self) -> u64 {
        self.metrics.files_skipped_by_limit
    }

    /// The `cat --explain --json` document. The keys are a contract with scripts: add, never
    /// rename.
    fn json(&self) -> Value {
        let m = &self.metrics;
        json!({
            "version": self.version,
            "filter": self.filter,
            "limit": self.limit,
            "files_total": m.files_total,
            "files_pruned_by_partition": m.files_pruned_by_partition,
            "files_pruned_by_stats": m.files_pruned_by_stats,
            "files_skipped_by_limit": self.skipped_by_limit(),
            "files_to_read": self.files_to_read,
            "row_groups_total": m.row_groups_total,
            "row_groups_pruned": m.row_groups_pruned,
            "row_groups_to_read": m.row_groups_total.saturating_sub(m.row_groups_pruned),
        })
    }

    fn text(&self) -> String {
        let m = &self.metrics;
        let mut lines: Vec<(&str, String)> = vec![
            ("Version", self.version.to_string()),
            ("Filter", self.filter.unwrap_or("none").to_owned()),
        ];
        if let Some(limit) = self.limit {
            lines.push(("Limit", limit.to_string()));
        }
        lines.extend([
            ("Files in snapshot", m.files_total.to_string()),
            (
                "Pruned by partition values",
                m.files_pruned_by_partition.to_string(),
            ),
            (
                "Pruned by file statistics",
                m.files_pruned_by_stats.to_string(),
            ),
        ]);
        if self.limit.is_some() {
            lines.push(("Skipped by the limit", self.skipped_by_limit().to_string()));
        }
        lines.extend([
            ("Files to read", self.files_to_read.to_string()),
            ("Row groups in them", m.row_groups_total.to_string()),
            (
                "Pruned by Parquet statistics",
                m.row_groups_pruned.to_string(),
            ),
            (
                "Row groups to read",
                m.row_groups_total
                    .saturating_sub(m.row_groups_pruned)
                    .to_string(),
            ),
        ]);
        let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        lines
            .iter()
            .map(|(key, value)| format!("{key:width$}  {value}\n"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explain_text_and_json_agree() {
        let plan = ExplainPlan {
            version: 3,
            filter: Some("year = '2021'"),
            limit: None,
            files_to_read: 2,
            metrics: ScanMetricsSnapshot {
                files_total: 6,
                files_pruned_by_partition: 4,
                row_groups_total: 2,
                ..ScanMetricsSnapshot::default()
            },
        };
        let text = plan.text();
        assert!(text.contains("Files in snapshot             6\n"), "{text}");
        assert!(text.contains("Pruned by partition values    4\n"), "{text}");
        assert!(!text.contains("Skipped by the limit"), "{text}");
        let json = plan.json();
        assert_eq!(json["files_to_read"], 2);
        assert_eq!(json["files_skipped_by_limit"], 0);
        assert_eq!(json["row_groups_to_read"], 2);
    }
}
