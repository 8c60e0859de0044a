//! Every deletion vector in the fixture tables (written by Delta-Spark and Databricks) loads,
//! with the cardinality its descriptor records, and deletes exactly the rows the reference
//! readers left out of the expected data.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::PathBuf;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;
use tarn_log::TableLocation;
use tarn_protocol::actions::DeletionVectorDescriptor;

use super::*;
use crate::Table;

fn fixtures() -> PathBuf {
    std::fs::canonicalize(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
    )
    .unwrap()
}

fn table_dir(table: &str) -> PathBuf {
    fixtures().join("tables").join(table)
}

fn location(table: &str) -> TableLocation {
    TableLocation::parse(table_dir(table).to_str().unwrap()).unwrap()
}

fn manifest() -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(fixtures().join("expected/manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every deletion vector descriptor in a table's JSON log files (commits and JSON
/// checkpoints), on `add` and `remove` actions, by unique id.
fn logged_descriptors(table: &str) -> BTreeMap<String, DeletionVectorDescriptor> {
    let mut found = BTreeMap::new();
    let log = table_dir(table).join("_delta_log");
    let Ok(entries) = std::fs::read_dir(&log) else {
        return found;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            if line.trim().is_empty() {
                continue;
            }
            let action: Value = serde_json::from_str(line).unwrap();
            for kind in ["add", "remove"] {
                let dv = &action[kind]["deletionVector"];
                if dv.is_object() {
                    let descriptor: DeletionVectorDescriptor =
                        serde_json::from_value(dv.clone()).unwrap();
                    found.insert(descriptor.unique_id(), descriptor);
                }
            }
        }
    }
    found
}

fn all_tables() -> Vec<String> {
    let mut tables: Vec<String> = std::fs::read_dir(fixtures().join("tables"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    tables.sort();
    tables
}

#[tokio::test]
async fn every_logged_deletion_vector_loads() {
    let mut loaded = BTreeMap::new();
    for table in all_tables() {
        let location = location(&table);
        for (id, descriptor) in logged_descriptors(&table) {
            let dv = load_deletion_vector(
                &tarn_log::PathResolver::for_location(std::sync::Arc::new(location.clone())),
                &descriptor,
            )
            .await
            .unwrap_or_else(|e| panic!("{table} {id}: {e}"));
            assert_eq!(dv.len(), descriptor.cardinality as u64, "{table} {id}");
            assert!(
                !dv.is_empty(),
                "{table} {id}: writers do not log empty vectors"
            );
            *loaded.entry(table.clone()).or_insert(0) += 1;
        }
    }
    // The fixtures' distinct vectors (by uniqueId): a guard that the walk found them all.
    let expected = BTreeMap::from([
        ("cdf-table-with-cdc-and-dvs".to_owned(), 10),
        ("table-with-dv-small".to_owned(), 1),
        ("table_with_deletion_logs".to_owned(), 2),
    ]);
    assert_eq!(loaded, expected);
}

/// Opens every version of every table that has deletion vectors and loads the vector of
/// every active file (from commits and from Parquet checkpoints); where the manifest knows the
/// row count, `numRecords - cardinality` summed over the files must equal it.
#[tokio::test]
async fn active_files_at_every_version() {
    let manifest = manifest();
    let mut checked_counts = 0;
    let mut vectors_loaded = 0;
    for table in [
        "table-with-dv-small",
        "table_with_deletion_logs",
        "cdf-table-with-cdc-and-dvs",
        "table_with_partitioning_mapping",
        "table_with_liquid_clustering",
    ] {
        let opened = Table::open(table_dir(table).to_str().unwrap())
            .await
            .unwrap();
        let latest = opened.snapshot().await.unwrap().version();
        for version in 0..=latest {
            let snapshot = opened.snapshot_at_version(version).await.unwrap();
            let mut live_rows = 0i64;
            for file in snapshot.files().iter() {
                let records = file.num_records().unwrap();
                if let Some(descriptor) = file.deletion_vector() {
                    let dv = load_deletion_vector(&snapshot.path_resolver(), &descriptor)
                        .await
                        .unwrap_or_else(|e| panic!("{table} v{version}: {e}"));
                    assert_eq!(dv.len(), descriptor.cardinality as u64);
                    assert!(
                        dv.iter().all(|row| row < records as u64),
                        "{table} v{version}: a deleted row beyond the file's {records} rows"
                    );
                    live_rows -= dv.len() as i64;
                    vectors_loaded += 1;
                }
                live_rows += records;
            }
            let entry = &manifest[table];
            for which in ["latest", "v0"] {
                if entry[which]["version"].as_u64() == Some(version) {
                    let expected = entry[which]["num_rows"].as_i64().unwrap();
                    assert_eq!(live_rows, expected, "{table} v{version} ({which})");
                    checked_counts += 1;
                }
            }
        }
    }
    assert_eq!(checked_counts, 10);
    assert!(vectors_loaded >= 20, "only {vectors_loaded} vectors loaded");
}

fn read_parquet(path: &std::path::Path) -> Vec<RecordBatch> {
    let file = File::open(path).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(|batch| batch.unwrap())
        .collect()
}

/// The values of an integer column, widened to i64, nulls as `None`.
fn column(batches: &[RecordBatch], name: &str) -> Vec<Option<i64>> {
    let mut values = Vec::new();
    for batch in batches {
        let array = batch.column_by_name(name).unwrap();
        for i in 0..array.len() {
            values.push(array.is_valid(i).then(|| match array.data_type() {
                arrow_schema::DataType::Int32 => {
                    i64::from(array.as_primitive::<Int32Type>().value(i))
                }
                arrow_schema::DataType::Int64 => array.as_primitive::<Int64Type>().value(i),
                other => panic!("{name} is {other}"),
            }));
        }
    }
    values
}

/// Row indexes of `data` whose key is missing from `expected` (keys must be unique).
fn missing_rows(data: &[Option<i64>], expected: &[Option<i64>]) -> Vec<u64> {
    let expected: BTreeSet<_> = expected.iter().collect();
    let unique: BTreeSet<_> = data.iter().collect();
    assert_eq!(unique.len(), data.len(), "the key column must be unique");
    data.iter()
        .enumerate()
        .filter(|(_, key)| !expected.contains(key))
        .map(|(row, _)| row as u64)
        .collect()
}

/// The single data file of a single-file table at its latest version, and its vector.
async fn single_file(table: &str) -> (PathBuf, DeletionVector) {
    let opened = Table::open(table_dir(table).to_str().unwrap())
        .await
        .unwrap();
    let snapshot = opened.snapshot().await.unwrap();
    let files: Vec<_> = snapshot.files().iter().collect();
    assert_eq!(files.len(), 1);
    let descriptor = files[0].deletion_vector().unwrap();
    let dv = load_deletion_vector(&snapshot.path_resolver(), &descriptor)
        .await
        .unwrap();
    (table_dir(table).join(files[0].path()), dv)
}

#[tokio::test]
async fn small_table_deletes_exactly_the_missing_rows() {
    let (data_file, dv) = single_file("table-with-dv-small").await;
    let data = column(&read_parquet(&data_file), "value");
    assert_eq!(data.len(), 10);
    let expected = column(
        &read_parquet(&fixtures().join("expected/table-with-dv-small/expected-v1.parquet")),
        "value",
    );
    assert_eq!(expected.len(), 8);
    let missing = missing_rows(&data, &expected);
    assert_eq!(dv.iter().collect::<Vec<_>>(), missing);
    assert_eq!(missing, [0, 9]);
}

#[tokio::test]
async fn deletion_logs_table_deletes_exactly_the_missing_rows() {
    let (data_file, dv) = single_file("table_with_deletion_logs").await;
    let data = column(&read_parquet(&data_file), "id");
    let expected = column(
        &read_parquet(&fixtures().join("expected/table_with_deletion_logs/expected-v20.parquet")),
        "id",
    );
    assert_eq!(data.len(), 100);
    assert_eq!(expected.len(), 98);
    assert_eq!(
        dv.iter().collect::<Vec<_>>(),
        missing_rows(&data, &expected)
    );
}
