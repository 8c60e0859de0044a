//! The Delta actions the generator writes, as serde structs laid out like PROTOCOL.md
//! "Actions". Field order follows what Spark writes, so the files look like a real table's log.
//! This module only describes the JSON shape; it never decides values.

use std::collections::BTreeMap;

use serde::Serialize;

/// One line of a commit file.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Action {
    /// Provenance of the commit.
    CommitInfo(CommitInfo),
    /// Reader and writer versions.
    Protocol(Protocol),
    /// Table metadata; the Rust name avoids the protocol's odd capitalisation.
    #[serde(rename = "metaData")]
    Metadata(Metadata),
    /// A data file entering the table.
    Add(Add),
    /// A data file leaving the table (a tombstone).
    Remove(Remove),
}

/// PROTOCOL.md "Protocol Evolution".
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Protocol {
    pub(crate) min_reader_version: u32,
    pub(crate) min_writer_version: u32,
}

/// PROTOCOL.md "Change Metadata".
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Metadata {
    pub(crate) id: String,
    pub(crate) format: Format,
    pub(crate) schema_string: String,
    pub(crate) partition_columns: Vec<String>,
    pub(crate) configuration: BTreeMap<String, String>,
    pub(crate) created_time: i64,
}

/// The data file format of a table.
#[derive(Debug, Serialize)]
pub(crate) struct Format {
    pub(crate) provider: String,
    pub(crate) options: BTreeMap<String, String>,
}

/// PROTOCOL.md "Add File and Remove File".
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Add {
    pub(crate) path: String,
    pub(crate) partition_values: BTreeMap<String, String>,
    pub(crate) size: i64,
    pub(crate) modification_time: i64,
    pub(crate) data_change: bool,
    /// The statistics, themselves a JSON document stored as a string.
    pub(crate) stats: String,
}

/// PROTOCOL.md "Add File and Remove File": the tombstone of a data file, with the
/// extended file metadata Spark writes (partition values and size).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Remove {
    pub(crate) path: String,
    pub(crate) deletion_timestamp: i64,
    pub(crate) data_change: bool,
    pub(crate) extended_file_metadata: bool,
    pub(crate) partition_values: BTreeMap<String, String>,
    pub(crate) size: i64,
}

/// PROTOCOL.md "Commit Provenance Information" (free-form; these are the fields Spark writes).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommitInfo {
    pub(crate) timestamp: i64,
    pub(crate) operation: String,
    pub(crate) operation_parameters: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) read_version: Option<u64>,
    pub(crate) isolation_level: String,
    pub(crate) is_blind_append: bool,
    pub(crate) operation_metrics: BTreeMap<String, String>,
    pub(crate) engine_info: String,
    pub(crate) txn_id: String,
}

/// PROTOCOL.md "Per-file Statistics" for the generated schema.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FileStats {
    pub(crate) num_records: i64,
    pub(crate) min_values: ColumnValues,
    pub(crate) max_values: ColumnValues,
    pub(crate) null_count: NullCounts,
}

/// A min or max value for every data column (the partition column `day` has none).
#[derive(Debug, Serialize)]
pub(crate) struct ColumnValues {
    pub(crate) id: i64,
    pub(crate) user_id: i32,
    pub(crate) amount: f64,
    pub(crate) category: String,
    /// Milliseconds-precision ISO-8601, as Spark writes timestamp stats.
    pub(crate) event_time: String,
}

/// The null count of every data column.
#[derive(Debug, Serialize)]
pub(crate) struct NullCounts {
    pub(crate) id: i64,
    pub(crate) user_id: i64,
    pub(crate) amount: i64,
    pub(crate) category: i64,
    pub(crate) event_time: i64,
}
