//! `tarn restore`: makes the table's files those of an earlier version, as a new commit.

use clap::Args;
use serde_json::json;
use tarn::Table;

use super::commit::{count, print_commit};
use crate::CliError;

/// The arguments of `tarn restore`.
#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// Table path or URI.
    table: String,
    /// The version to restore.
    #[arg(long, value_name = "N")]
    version: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

impl RestoreArgs {
    /// The table path or URI.
    pub(crate) fn table(&self) -> &str {
        &self.table
    }
}

/// Runs `tarn restore`.
pub(crate) async fn run(table: &Table, args: &RestoreArgs) -> Result<(), CliError> {
    let summary = table.restore(args.version).execute().await?;
    let what = format!(
        "restored version {} ({} added back, {} removed)",
        args.version,
        count(summary.files_added, "file", "files"),
        summary.files_removed
    );
    print_commit(
        &summary,
        Some(&what),
        "nothing to restore",
        args.json,
        &[("restored_version", json!(args.version))],
    )
}
