//! `tarn checkpoint`: writes a checkpoint of the latest version.

use clap::Args;
use serde_json::json;
use tarn::Table;

use crate::CliError;
use crate::output::human_bytes;

/// The arguments of `tarn checkpoint`.
#[derive(Debug, Args)]
pub(crate) struct CheckpointArgs {
    /// Table path or URI.
    table: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

impl CheckpointArgs {
    /// The table path or URI.
    pub(crate) fn table(&self) -> &str {
        &self.table
    }
}

/// Runs `tarn checkpoint`.
pub(crate) async fn run(table: &Table, args: &CheckpointArgs) -> Result<(), CliError> {
    let summary = table.checkpoint().execute().await?;
    let text = format!(
        "wrote a checkpoint of version {}: {}, {}",
        summary.version,
        super::commit::count(summary.num_files, "file", "files"),
        human_bytes(summary.size_bytes)
    );
    if args.json {
        super::print_json(&json!({
            "version": summary.version,
            "num_files": summary.num_files,
            "size_bytes": summary.size_bytes,
            "message": text,
        }))
    } else {
        super::emit(&format!("{text}\n"))
    }
}
