//! `tarn check`: is every file the latest version needs there, as the log says?
//!
//! This module turns the command line into a [`tarn_maintenance::check::Check`] and renders
//! its report; the exit status is 0 for a healthy table and 1 otherwise.

use clap::Args;
use serde_json::{Value, json};
use tarn::Table;
use tarn_maintenance::check::{Check, CheckReport, ProblemKind};

use crate::CliError;
use crate::output::human_bytes;

/// The arguments of `tarn check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Table path or URI.
    table: String,
    /// Do not list the table's directory to count the files no version references.
    #[arg(long)]
    no_orphans: bool,
    /// Store requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = tarn_maintenance::check::DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

impl CheckArgs {
    /// The table path or URI.
    pub(crate) fn table(&self) -> &str {
        &self.table
    }
}

/// Runs `tarn check`: prints the report, then fails when the table is not healthy.
pub(crate) async fn run(table: &Table, args: &CheckArgs) -> Result<(), CliError> {
    let report = Check::new(table.clone())
        .with_concurrency(args.concurrency)
        .with_orphans(!args.no_orphans)
        .execute()
        .await?;
    if args.json {
        let mut value = serde_json::to_value(&report).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.insert("healthy".to_owned(), json!(report.is_healthy()));
        }
        super::print_json(&value)?;
    } else {
        super::emit(&report_text(&report))?;
    }
    if report.is_healthy() {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "{} at version {} is not healthy: {}",
            report.table,
            report.version,
            super::commit::count(report.problems.len() as u64, "problem", "problems")
        )))
    }
}

fn kind_text(kind: ProblemKind) -> &'static str {
    match kind {
        ProblemKind::Missing => "missing",
        ProblemKind::SizeMismatch => "size mismatch",
        ProblemKind::Unresolvable => "unresolvable",
        ProblemKind::Unreadable => "unreadable",
        ProblemKind::DeletionVector => "deletion vector",
        ProblemKind::Manifest => "manifest",
        _ => "problem",
    }
}

fn report_text(report: &CheckReport) -> String {
    let verdict = if report.is_healthy() {
        "healthy".to_owned()
    } else {
        super::commit::count(report.problems.len() as u64, "problem", "problems")
    };
    let detached = if report.detached_checked > 0 {
        format!(
            ", and {} in the archive",
            super::commit::count(report.detached_checked, "detached file", "detached files")
        )
    } else {
        String::new()
    };
    let mut out = format!(
        "{} at version {}: {verdict}\n  checked {} ({}) and {}{detached}\n",
        report.table,
        report.version,
        super::commit::count(report.files_checked, "data file", "data files"),
        human_bytes(report.bytes_checked),
        super::commit::count(
            report.deletion_vectors_checked,
            "deletion vector",
            "deletion vectors"
        ),
    );
    for problem in &report.problems {
        out.push_str(&format!(
            "  {:<15}  {}  {}\n",
            kind_text(problem.kind),
            problem.path,
            problem.detail
        ));
    }
    if let Some(orphans) = &report.orphans {
        if orphans.files == 0 {
            out.push_str("  no orphan files\n");
        } else {
            out.push_str(&format!(
                "  {} ({}) that no version references, {} modified within the hour (likely \
                 a write in progress); `tarn vacuum` deletes the older ones once past the \
                 retention\n",
                super::commit::count(orphans.files, "orphan file", "orphan files"),
                human_bytes(orphans.bytes),
                orphans.recent_files,
            ));
            for path in &orphans.sample {
                out.push_str(&format!("    {path}\n"));
            }
            if orphans.files > orphans.sample.len() as u64 {
                out.push_str(&format!(
                    "    ... and {} more\n",
                    orphans.files - orphans.sample.len() as u64
                ));
            }
        }
    }
    out
}
