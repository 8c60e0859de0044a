//! `tarn files`: the active files of a table at one version, or those of them a predicate
//! may have rows in.
//!
//! Which files a predicate keeps is the scan planner's decision (partition values and file
//! statistics), never this module's: `files --where` lists exactly the files `cat --where`
//! reads.

use std::collections::HashSet;

use serde_json::{Map, Value, json};
use tarn::{FileView, Snapshot};
use tarn_maintenance::archive::FilePlacements;

use super::parse_filter;
use crate::CliError;
use crate::output::{Align, TextTable, human_bytes};

/// The files to list: every active file, or those a scan with a filter keeps.
#[derive(Debug, Default)]
pub(crate) struct Selection {
    /// Log paths of the kept files; `None` keeps all.
    kept: Option<HashSet<String>>,
}

impl Selection {
    /// Every active file.
    pub(crate) fn all() -> Self {
        Self::default()
    }

    /// The files a scan filtered by `sql` would read.
    pub(crate) async fn matching(snapshot: &Snapshot, sql: &str) -> Result<Self, CliError> {
        let filter = parse_filter(sql)?;
        // No projection: planning needs only the columns the filter names.
        let scan = snapshot
            .scan()
            .with_columns(Vec::<String>::new())
            .with_filter(filter)
            .build()
            .await?;
        Ok(Self {
            kept: Some(
                scan.files()
                    .iter()
                    .map(|task| task.log_path().to_owned())
                    .collect(),
            ),
        })
    }

    fn files<'a>(&'a self, snapshot: &'a Snapshot) -> impl Iterator<Item = FileView<'a>> + 'a {
        snapshot.files().iter().filter(|file| {
            self.kept
                .as_ref()
                .is_none_or(|kept| kept.contains(file.path()))
        })
    }
}

/// Partition values of a file keyed by logical column name, in partition order.
fn partition_values(
    snapshot: &Snapshot,
    file: &tarn::FileView<'_>,
) -> Vec<(String, Option<String>)> {
    snapshot
        .partition_column_names()
        .into_iter()
        .map(|(logical, physical)| {
            let value = file.partition_value(physical).flatten().map(str::to_owned);
            (logical.to_owned(), value)
        })
        .collect()
}

/// The `files --json` document: an array of files. `location` says where each lives: `hot`
/// (under the table's root), the archive location's URI, or `elsewhere`.
pub(crate) fn files_json(snapshot: &Snapshot, selection: &Selection) -> Value {
    let placements = FilePlacements::of(snapshot);
    Value::Array(
        selection
            .files(snapshot)
            .map(|file| {
                let values: Map<String, Value> = partition_values(snapshot, &file)
                    .into_iter()
                    .map(|(k, v)| (k, v.map_or(Value::Null, Value::String)))
                    .collect();
                json!({
                    "path": file.path(),
                    "location": placements.place(file.path()).label(),
                    "size": file.size(),
                    "modification_time": file.modification_time(),
                    "partition_values": values,
                    "num_records": file.num_records(),
                    "deletion_vector_cardinality": file.deletion_vector_cardinality(),
                })
            })
            .collect(),
    )
}

/// The human-readable file list.
pub(crate) fn files_text(snapshot: &Snapshot, selection: &Selection) -> String {
    let partitioned = !snapshot.partition_columns().is_empty();
    let placements = FilePlacements::of(snapshot);
    let mut headers = vec![
        ("PATH", Align::Left),
        ("SIZE", Align::Right),
        ("RECORDS", Align::Right),
        ("DELETED", Align::Right),
        ("LOCATION", Align::Left),
    ];
    if partitioned {
        headers.push(("PARTITION", Align::Left));
    }
    let mut table = TextTable::new(&headers);
    let (mut count, mut size) = (0usize, 0u64);
    let mut by_location: std::collections::BTreeMap<String, (usize, u64)> = Default::default();
    for file in selection.files(snapshot) {
        // Sizes are never negative: the log reader refuses such a file.
        let file_size = u64::try_from(file.size()).unwrap_or(0);
        count += 1;
        size = size.saturating_add(file_size);
        let location = placements.place(file.path()).label().to_owned();
        let place = by_location.entry(location.clone()).or_default();
        place.0 += 1;
        place.1 = place.1.saturating_add(file_size);
        let mut row = vec![
            file.path().to_owned(),
            human_bytes(file_size),
            file.num_records()
                .map_or_else(|| "-".into(), |n| n.to_string()),
            file.deletion_vector_cardinality()
                .map_or_else(|| "-".into(), |n| n.to_string()),
            location,
        ];
        if partitioned {
            row.push(
                partition_values(snapshot, &file)
                    .into_iter()
                    .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("null")))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
        table.push(row);
    }
    let mut out = table.render();
    out.push_str(&format!("{count} files, {}", human_bytes(size)));
    if by_location.keys().any(|location| location != "hot") {
        let parts: Vec<String> = by_location
            .iter()
            .map(|(location, (n, bytes))| format!("{location}: {n}, {}", human_bytes(*bytes)))
            .collect();
        out.push_str(&format!(" ({})", parts.join("; ")));
    }
    out.push('\n');
    out
}
