//! `tarn update`: sets columns of the rows matching a predicate, as one commit.

use clap::Args;
use serde_json::json;
use tarn::Table;

use super::commit::print_commit;
use super::parse_filter;
use crate::CliError;

/// The arguments of `tarn update`.
#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    /// Table path or URI.
    table: String,
    /// An assignment `column = expression`, over the row's old values (`amount = amount * 2`).
    /// Repeatable.
    #[arg(long = "set", value_name = "COLUMN = EXPR", required = true)]
    assignments: Vec<String>,
    /// Update only the rows for which this SQL predicate is true; every row without it.
    #[arg(long = "where", value_name = "EXPR")]
    filter: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

impl UpdateArgs {
    /// The table path or URI.
    pub(crate) fn table(&self) -> &str {
        &self.table
    }
}

/// Runs `tarn update`.
pub(crate) async fn run(table: &Table, args: &UpdateArgs) -> Result<(), CliError> {
    let mut builder = table.update();
    for assignment in &args.assignments {
        builder = builder.set_sql(assignment)?;
    }
    if let Some(sql) = &args.filter {
        builder = builder.with_predicate(parse_filter(sql)?);
    }
    let summary = builder.execute().await?;
    let nothing = if args.filter.is_some() {
        "no row matches the predicate"
    } else {
        "the table has no rows"
    };
    print_commit(
        &summary,
        None,
        nothing,
        args.json,
        &[
            ("predicate", json!(args.filter)),
            ("set", json!(args.assignments)),
        ],
    )
}
