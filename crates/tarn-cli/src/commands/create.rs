//! `tarn create`: a new table from a schema, partition columns and properties.

use clap::Args;
use serde_json::json;
use tarn::Table;

use super::commit::print_commit;
use crate::schema_arg::parse_schema_arg;
use crate::{CliError, parse_pairs};

/// The arguments of `tarn create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// Table path or URI.
    table: String,
    /// The schema: a file, or inline JSON. Delta schema JSON
    /// (`{"type":"struct","fields":[...]}`) or `{"column": "type", ...}` with Delta type
    /// names (`long`, `string`, `date`, `timestamp`, `decimal(10,2)`, `... not null`).
    #[arg(long, value_name = "FILE|JSON")]
    schema: String,
    /// Partition columns, in order.
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    partition_by: Vec<String>,
    /// Make a clustered table (Delta liquid clustering) clustered by these columns: `tarn
    /// optimize` then orders its rows along a Hilbert curve over them, incrementally.
    #[arg(
        long,
        value_name = "A,B",
        value_delimiter = ',',
        conflicts_with = "partition_by"
    )]
    cluster_by: Vec<String>,
    /// A table property, e.g. `delta.checkpointInterval=20` or
    /// `delta.constraints.positive=amount >= 0`. Repeatable.
    #[arg(long = "property", value_name = "KEY=VALUE")]
    properties: Vec<String>,
    /// The table's name.
    #[arg(long)]
    name: Option<String>,
    /// The table's description.
    #[arg(long)]
    description: Option<String>,
    /// Replace an existing table: new schema, partitioning and properties, and no rows (old
    /// versions stay readable by time travel).
    #[arg(long)]
    replace: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

impl CreateArgs {
    /// The table path or URI.
    pub(crate) fn table(&self) -> &str {
        &self.table
    }
}

/// Runs `tarn create`.
pub(crate) async fn run(table: &Table, args: &CreateArgs) -> Result<(), CliError> {
    let schema = parse_schema_arg(&args.schema)?;
    let properties = parse_pairs("--property", &args.properties)?;
    let partition_by: Vec<String> = args
        .partition_by
        .iter()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect();
    let columns = schema.fields.len();
    let mut builder = table
        .create()
        .with_schema(schema)
        .partition_by(partition_by.clone())
        .replace(args.replace);
    let cluster_by: Vec<String> = args
        .cluster_by
        .iter()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect();
    if !cluster_by.is_empty() {
        builder = builder.cluster_by(cluster_by.clone());
    }
    for (key, value) in properties {
        builder = builder.with_property(key, value);
    }
    if let Some(name) = &args.name {
        builder = builder.with_name(name.clone());
    }
    if let Some(description) = &args.description {
        builder = builder.with_description(description.clone());
    }
    let summary = builder.execute().await?;
    let mut what = format!(
        "{} table with {}",
        if args.replace {
            "replaced the"
        } else {
            "created a"
        },
        super::commit::count(columns as u64, "column", "columns")
    );
    if !partition_by.is_empty() {
        what.push_str(&format!(", partitioned by {}", partition_by.join(", ")));
    }
    if !cluster_by.is_empty() {
        what.push_str(&format!(", clustered by {}", cluster_by.join(", ")));
    }
    if summary.files_removed > 0 {
        what.push_str(&format!(
            ", {} removed",
            super::commit::count(summary.files_removed, "file", "files")
        ));
    }
    print_commit(
        &summary,
        Some(&what),
        "the table exists",
        args.json,
        &[("location", json!(table.location().to_string()))],
    )
}
