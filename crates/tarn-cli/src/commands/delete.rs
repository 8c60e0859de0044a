//! `tarn delete`: removes the rows matching a predicate, as one commit.

use clap::Args;
use serde_json::json;
use tarn::Table;

use super::commit::print_commit;
use super::parse_filter;
use crate::CliError;

/// The arguments of `tarn delete`.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("rows")
        .required(true)
        .multiple(false)
        .args(["filter", "all"])
))]
pub(crate) struct DeleteArgs {
    /// Table path or URI.
    table: String,
    /// Delete the rows for which this SQL predicate is true (rows where it is null stay).
    #[arg(long = "where", value_name = "EXPR")]
    filter: Option<String>,
    /// Delete every row.
    #[arg(long)]
    all: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

impl DeleteArgs {
    /// The table path or URI.
    pub(crate) fn table(&self) -> &str {
        &self.table
    }
}

/// Runs `tarn delete`.
pub(crate) async fn run(table: &Table, args: &DeleteArgs) -> Result<(), CliError> {
    let mut builder = table.delete();
    if let Some(sql) = &args.filter {
        builder = builder.with_predicate(parse_filter(sql)?);
    }
    let summary = builder.execute().await?;
    let nothing = if args.all {
        "the table has no rows"
    } else {
        "no row matches the predicate"
    };
    print_commit(
        &summary,
        None,
        nothing,
        args.json,
        &[("predicate", json!(args.filter))],
    )
}
