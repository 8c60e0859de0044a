//! `tarn files`: the active files of a table at one version.

use serde_json::{Map, Value, json};
use tarn::Snapshot;

use crate::output::{Align, TextTable, human_bytes};

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

/// The `files --json` document: an array of files.
pub(crate) fn files_json(snapshot: &Snapshot) -> Value {
    Value::Array(
        snapshot
            .files()
            .iter()
            .map(|file| {
                let values: Map<String, Value> = partition_values(snapshot, &file)
                    .into_iter()
                    .map(|(k, v)| (k, v.map_or(Value::Null, Value::String)))
                    .collect();
                json!({
                    "path": file.path(),
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
pub(crate) fn files_text(snapshot: &Snapshot) -> String {
    let partitioned = !snapshot.partition_columns().is_empty();
    let mut headers = vec![
        ("PATH", Align::Left),
        ("SIZE", Align::Right),
        ("RECORDS", Align::Right),
        ("DELETED", Align::Right),
    ];
    if partitioned {
        headers.push(("PARTITION", Align::Left));
    }
    let mut table = TextTable::new(&headers);
    for file in snapshot.files().iter() {
        let mut row = vec![
            file.path().to_owned(),
            human_bytes(file.size()),
            file.num_records()
                .map_or_else(|| "-".into(), |n| n.to_string()),
            file.deletion_vector_cardinality()
                .map_or_else(|| "-".into(), |n| n.to_string()),
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
    out.push_str(&format!(
        "{} files, {}\n",
        snapshot.files().len(),
        human_bytes(snapshot.files().total_size())
    ));
    out
}
