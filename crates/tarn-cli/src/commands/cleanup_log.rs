//! `tarn cleanup-log`: deletes the log files no version inside the log retention needs.
//!
//! This module turns the command line into a [`tarn_maintenance::cleanup::LogCleanup`] and
//! renders its plan (`--dry-run`) or its metrics; every decision is the library's.

use clap::Args;
use serde_json::{Value, json};
use tarn::Table;
use tarn_maintenance::cleanup::{LogCleanup, LogCleanupMetrics, LogCleanupPlan};

use crate::CliError;
use crate::output::human_bytes;

/// The arguments of `tarn cleanup-log`.
#[derive(Debug, Args)]
pub(crate) struct CleanupLogArgs {
    /// Table path or URI.
    table: String,
    /// Print what would be deleted, and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

impl CleanupLogArgs {
    /// The table path or URI.
    pub(crate) fn table(&self) -> &str {
        &self.table
    }
}

/// Runs `tarn cleanup-log`.
pub(crate) async fn run(table: &Table, args: &CleanupLogArgs) -> Result<(), CliError> {
    let cleanup = LogCleanup::new(table.clone());
    let plan = cleanup.plan().await?;
    if args.dry_run {
        return if args.json {
            let mut value = serde_json::to_value(&plan).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut value {
                map.insert("bytes_to_delete".to_owned(), json!(plan.bytes_to_delete()));
                map.insert("dry_run".to_owned(), json!(true));
            }
            super::print_json(&value)
        } else {
            super::emit(&plan_text(&plan))
        };
    }
    let metrics = cleanup.execute_plan(plan.clone()).await?;
    let text = metrics_text(&plan, &metrics);
    if args.json {
        let mut value = serde_json::to_value(&metrics).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.insert("oldest_kept".to_owned(), json!(plan.oldest_kept));
            map.insert("message".to_owned(), json!(text));
        }
        super::print_json(&value)
    } else {
        super::emit(&format!("{text}\n"))
    }
}

fn window(plan: &LogCleanupPlan) -> String {
    tarn_maintenance::vacuum::describe_retention(plan.retention_ms)
}

fn plan_text(plan: &LogCleanupPlan) -> String {
    if !plan.enabled {
        return "log cleanup is off for this table (delta.enableExpiredLogCleanup = false)\n"
            .to_owned();
    }
    let Some(oldest) = plan.oldest_kept else {
        return format!(
            "nothing to clean up: every version is inside the log retention ({})\n",
            window(plan)
        );
    };
    let mut out = String::new();
    if let Some(version) = plan.write_checkpoint {
        out.push_str(&format!(
            "would write a checkpoint of version {version} first\n"
        ));
    }
    out.push_str(&format!(
        "would delete {} ({}) of versions before {}; versions {oldest} to {} stay readable \
         (log retention {}):\n",
        super::commit::count(plan.deletions.len() as u64, "log file", "log files"),
        human_bytes(plan.bytes_to_delete()),
        plan.keep_from_checkpoint.unwrap_or(oldest),
        plan.version,
        window(plan),
    ));
    for deletion in &plan.deletions {
        out.push_str(&format!(
            "  {}  {}\n",
            deletion.name,
            human_bytes(deletion.size)
        ));
    }
    out
}

fn metrics_text(plan: &LogCleanupPlan, metrics: &LogCleanupMetrics) -> String {
    if !plan.enabled {
        return "log cleanup is off for this table (delta.enableExpiredLogCleanup = false)"
            .to_owned();
    }
    let mut text = format!(
        "deleted {} ({})",
        super::commit::count(metrics.files_deleted as u64, "log file", "log files"),
        human_bytes(metrics.bytes_deleted)
    );
    if let Some(version) = metrics.checkpoint_written {
        text.push_str(&format!(" after writing a checkpoint of version {version}"));
    }
    match plan.oldest_kept {
        Some(oldest) => text.push_str(&format!(
            "; versions {oldest} to {} stay readable",
            plan.version
        )),
        None => text.push_str("; every version is inside the log retention"),
    }
    text
}
