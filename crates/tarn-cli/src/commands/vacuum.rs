//! `tarn vacuum`: deletes the files no retained version of a table needs.
//!
//! This module turns the command line into a [`tarn_maintenance::vacuum::Vacuum`] and renders
//! its plan (`--dry-run`) or its metrics; every decision is the library's.

use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use tarn::Table;
use tarn_maintenance::vacuum::{DeletionReason, Vacuum, VacuumMetrics, VacuumMode, VacuumPlan};

use crate::CliError;
use crate::output::human_bytes;
use crate::progress::SharedStatusLine;

/// How a vacuum finds what to delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ModeArg {
    /// List the table's files: deletes expired files and files no version names.
    Full,
    /// Read only the log since the last vacuum: deletes the files expired tombstones name,
    /// without listing the table.
    Lite,
}

/// The arguments of `tarn vacuum`.
#[derive(Debug, Args)]
pub(crate) struct VacuumArgs {
    /// Table path or URI.
    table: String,
    /// Keep what the versions of this last period need: `0h`, `36h`, `7d` (default: the
    /// table's delta.deletedFileRetentionDuration, 7 days unless set). Shorter than the
    /// table's needs --force.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    retain: Option<i64>,
    /// `full` lists the table; `lite` reads only the log since the last vacuum.
    #[arg(long, value_enum, default_value_t = ModeArg::Full)]
    mode: ModeArg,
    /// Allow a retention shorter than the table's (time travel to the versions in between
    /// stops working).
    #[arg(long)]
    force: bool,
    /// Print what would be deleted, and delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn parse_duration(text: &str) -> Result<i64, String> {
    tarn::protocol::retention::parse_duration_ms(text)
}

impl VacuumArgs {
    /// The table path or URI.
    pub(crate) fn table(&self) -> &str {
        &self.table
    }
}

/// Runs `tarn vacuum`.
pub(crate) async fn run(
    table: &Table,
    args: &VacuumArgs,
    interrupt: &crate::interrupt::Interrupt,
) -> Result<(), CliError> {
    let mut vacuum = Vacuum::new(table.clone())
        .with_stop(super::stop_on(interrupt))
        .with_mode(match args.mode {
            ModeArg::Full => VacuumMode::Full,
            ModeArg::Lite => VacuumMode::Lite,
        })
        .with_force(args.force);
    if let Some(ms) = args.retain {
        vacuum = vacuum.with_retention_ms(ms);
    }
    let plan = vacuum.plan().await?;
    if args.dry_run {
        return if args.json {
            super::print_json(&plan_json(&plan))
        } else {
            super::emit(&plan_text(&plan))
        };
    }
    let status = SharedStatusLine::new();
    let shown = status.clone();
    let vacuum = vacuum.with_progress(move |p| {
        let detail = format!("{}/{} files deleted", p.files_deleted, p.files_total);
        shown.show(
            "vacuum",
            (p.files_deleted as u64, p.files_total as u64),
            &detail,
            p.files_deleted == p.files_total,
        );
    });
    let result = vacuum.execute_plan(plan.clone()).await;
    status.finish();
    let metrics = result?;
    let text = metrics_text(&plan, &metrics);
    if let Some(interrupted) = interrupt.signal() {
        super::emit(&format!("{text}\n"))?;
        return Err(CliError::Interrupted {
            interrupted,
            detail: "; the files deleted stay deleted (none was needed), the rest wait for the next vacuum",
        });
    }
    if args.json {
        let mut value = serde_json::to_value(&metrics).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.insert("mode".to_owned(), json!(plan.mode));
            map.insert("retention_ms".to_owned(), json!(plan.retention_ms));
            map.insert("vacuumed_through".to_owned(), json!(plan.vacuumed_through));
            map.insert("message".to_owned(), json!(text));
        }
        super::print_json(&value)
    } else {
        super::emit(&format!("{text}\n"))
    }
}

fn plan_json(plan: &VacuumPlan) -> Value {
    let mut value = serde_json::to_value(plan).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("bytes_to_delete".to_owned(), json!(plan.bytes_to_delete()));
        map.insert("dry_run".to_owned(), json!(true));
    }
    value
}

fn retention_text(plan: &VacuumPlan) -> String {
    tarn_maintenance::vacuum::describe_retention(plan.retention_ms)
}

fn plan_text(plan: &VacuumPlan) -> String {
    let mut out = format!(
        "would delete {} ({}) at version {}, {} vacuum keeping {} of history",
        super::commit::count(plan.deletions.len() as u64, "file", "files"),
        human_bytes(plan.bytes_to_delete()),
        plan.version,
        plan.mode,
        retention_text(plan),
    );
    if let Some(listed) = plan.files_listed {
        out.push_str(&format!(
            "; {listed} files listed, {} referenced",
            plan.files_referenced
        ));
    }
    out.push_str(":\n");
    for deletion in &plan.deletions {
        let reason = match deletion.reason {
            DeletionReason::Expired => "expired",
            DeletionReason::Orphan => "not in the log",
        };
        let size = deletion.size.map(human_bytes).unwrap_or_default();
        out.push_str(&format!("  {}  {size}  ({reason})\n", deletion.path));
    }
    if plan.files_outside_through_links > 0 {
        out.push_str(&format!(
            "skipped {} reached through symbolic links leading out of the table\n",
            super::commit::count(plan.files_outside_through_links as u64, "file", "files"),
        ));
    }
    out
}

fn metrics_text(plan: &VacuumPlan, metrics: &VacuumMetrics) -> String {
    let mut text = format!(
        "vacuumed version {} ({}, keeping {} of history): deleted {} ({})",
        metrics.version,
        plan.mode,
        retention_text(plan),
        super::commit::count(metrics.files_deleted as u64, "file", "files"),
        human_bytes(metrics.bytes_deleted),
    );
    if let (Some(start), Some(end)) = (metrics.start_version, metrics.end_version) {
        text.push_str(&format!("; recorded as versions {start} and {end}"));
    } else if plan.is_idle() {
        text.push_str("; nothing to record, so nothing committed");
    }
    text
}
