//! The suite's table and what it checks with: rows `(id, part, value)` partitioned by `part`
//! (`a` for even ids, `b` for odd; `value` = 10 x id), read back in a canonical sorted form,
//! and the objects under a table's root listed through the table's own store.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use futures::TryStreamExt;
use tarn::Table;
use tarn_maintenance::check::Check;

use crate::common::rows::{canonical_rows, project};
use crate::common::writes::scan_batches;

/// The table's Arrow schema.
pub fn schema() -> Schema {
    Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("part", DataType::Utf8, true),
        Field::new("value", DataType::Int64, true),
    ])
}

fn part_of(id: i64) -> &'static str {
    if id % 2 == 0 { "a" } else { "b" }
}

/// The rows with these ids, as a batch.
pub fn batch(ids: impl IntoIterator<Item = i64>) -> RecordBatch {
    let ids: Vec<i64> = ids.into_iter().collect();
    RecordBatch::try_new(
        Arc::new(schema()),
        vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|&id| part_of(id)),
            )),
            Arc::new(Int64Array::from_iter_values(ids.iter().map(|id| id * 10))),
        ],
    )
    .unwrap()
}

/// Rows in canonical form: `[id, part, value]` as text, sorted.
pub type Rows = Vec<Vec<String>>;

/// The canonical rows with these ids and `value` = `value_of(id)`.
pub fn rows_with(ids: impl IntoIterator<Item = i64>, value_of: impl Fn(i64) -> i64) -> Rows {
    let mut rows: Rows = ids
        .into_iter()
        .map(|id| {
            vec![
                id.to_string(),
                part_of(id).to_owned(),
                value_of(id).to_string(),
            ]
        })
        .collect();
    rows.sort();
    rows
}

/// The canonical rows with these ids, as [`batch`] writes them.
pub fn rows(ids: impl IntoIterator<Item = i64>) -> Rows {
    rows_with(ids, |id| id * 10)
}

/// The table's rows at `version` (latest when `None`), in canonical form.
pub async fn read(table: &Table, version: Option<u64>) -> Rows {
    let batches = scan_batches(table, version).await;
    let names = ["id", "part", "value"].map(str::to_owned);
    canonical_rows(&project(&batches, &names))
}

/// Every object under the table's root, as a path relative to it (`part=a/...`,
/// `_delta_log/...`), listed through the table's store.
pub async fn objects(table: &Table) -> BTreeSet<String> {
    let location = table.location();
    let root = location.root();
    let listed: Vec<_> = location
        .store()
        .list(Some(root))
        .try_collect()
        .await
        .unwrap();
    listed
        .into_iter()
        .map(|meta| {
            meta.location
                .prefix_match(root)
                .unwrap()
                .map(|part| part.as_ref().to_owned())
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
}

/// The data files under the table's root: every object outside `_delta_log`.
pub async fn data_objects(table: &Table) -> BTreeSet<String> {
    objects(table)
        .await
        .into_iter()
        .filter(|path| !path.starts_with("_delta_log/"))
        .collect()
}

/// The files the latest version references, decoded, relative to the root.
pub async fn active_files(table: &Table) -> BTreeSet<String> {
    let snapshot = table.snapshot().await.unwrap();
    snapshot
        .files()
        .iter()
        .map(|f| {
            tarn::protocol::data_path::DataFilePath::parse(f.path())
                .unwrap()
                .as_str()
                .to_owned()
        })
        .collect()
}

/// `tarn check`: every file the latest version references is there with the size the log
/// says, and its deletion vectors read.
pub async fn assert_healthy(store: &str, table: &Table) {
    let report = Check::new(table.clone()).execute().await.unwrap();
    assert!(report.is_healthy(), "{store}: {report:?}");
    assert_eq!(
        report.files_checked,
        u64::try_from(table.snapshot().await.unwrap().num_files()).unwrap(),
        "{store}: {report:?}"
    );
}
