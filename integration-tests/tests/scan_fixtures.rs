//! The scan suite: every fixture table with expected data, at its latest version and at
//! version 0, read in full and compared row by row (order-insensitively, by value) with the
//! expected Parquet written by other Delta readers.
//!
//! Variant columns are compared as their `metadata` and `value` bytes: every fixture file
//! stores its variants unshredded (even `spark-shredded-variant-preview-delta`'s), and tarn
//! passes those bytes through. Reassembled shredded variants, whose bytes may legitimately
//! differ, are compared by value in `scan_shredded_variants`.

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use futures::TryStreamExt;
use serde::Deserialize;
use tarn::Table;

use crate::common::rows::{canonical_rows, column_names, project, read_parquet, row_count};
use crate::common::{block_on, fixture_table, fixtures_dir};

#[derive(Debug, Deserialize)]
struct Expected {
    version: Option<u64>,
    expected_file: Option<String>,
    num_rows: Option<usize>,
    open_error: Option<String>,
    read_error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    latest: Expected,
    v0: Expected,
}

fn manifest() -> BTreeMap<String, Entry> {
    let text = std::fs::read_to_string(fixtures_dir().join("expected/manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn scan_all(table: &str, version: Option<u64>) -> tarn::Result<Vec<RecordBatch>> {
    let table = Table::open(fixture_table(table).to_str().unwrap()).await?;
    let snapshot = match version {
        Some(v) => table.snapshot_at_version(v).await?,
        None => table.snapshot().await?,
    };
    let scan = snapshot.scan().build().await?;
    scan.execute().try_collect().await
}

/// Fixtures whose expected file the suite does not compare against, and why. Each has a test
/// of its own below.
const NOT_COMPARED: &[(&str, &str)] = &[(
    "table_with_column_mapping",
    "the expected file is wrong: the reference reader ignored column mapping and returned \
         `Super Name` as all nulls; the data files hold names under the physical column",
)];

#[test]
fn every_fixture_scans_to_its_expected_rows() {
    let mut problems = Vec::new();
    let mut compared = 0;
    let mut comparable = 0;
    block_on(async {
        for (name, entry) in manifest() {
            if !NOT_COMPARED.iter().any(|(n, _)| *n == name) {
                comparable += [&entry.latest, &entry.v0]
                    .iter()
                    .filter(|e| e.expected_file.is_some())
                    .count();
            }
            if NOT_COMPARED.iter().any(|(n, _)| *n == name) {
                continue;
            }
            for (which, expected) in [("latest", &entry.latest), ("v0", &entry.v0)] {
                let Some(file) = &expected.expected_file else {
                    continue;
                };
                let version = match which {
                    "latest" => None,
                    _ => Some(0),
                };
                let actual = match scan_all(&name, version).await {
                    Ok(batches) => batches,
                    Err(err) => {
                        problems.push(format!("{name} {which}: {err}"));
                        continue;
                    }
                };
                let expected_batches = read_parquet(&fixtures_dir().join("expected").join(file));
                let expected_names = column_names(&expected_batches);
                if row_count(&actual) != row_count(&expected_batches) {
                    problems.push(format!(
                        "{name} {which}: {} rows, expected {}",
                        row_count(&actual),
                        row_count(&expected_batches)
                    ));
                    continue;
                }
                if let Some(rows) = expected.num_rows
                    && rows != row_count(&actual)
                {
                    problems.push(format!("{name} {which}: manifest says {rows} rows"));
                }
                if row_count(&actual) == 0 {
                    compared += 1;
                    continue;
                }
                let actual_names = column_names(&actual);
                let mut sorted_actual = actual_names.clone();
                sorted_actual.sort();
                let mut sorted_expected = expected_names.clone();
                sorted_expected.sort();
                if sorted_actual != sorted_expected {
                    problems.push(format!(
                        "{name} {which}: columns {actual_names:?}, expected {expected_names:?}"
                    ));
                    continue;
                }
                let actual_rows = canonical_rows(&project(&actual, &expected_names));
                let expected_rows = canonical_rows(&expected_batches);
                if actual_rows != expected_rows {
                    let first = actual_rows
                        .iter()
                        .zip(&expected_rows)
                        .find(|(a, e)| a != e)
                        .map(|(a, e)| format!("first difference: {a:?} vs expected {e:?}"))
                        .unwrap_or_default();
                    problems.push(format!("{name} {which}: rows differ; {first}"));
                    continue;
                }
                compared += 1;
            }
        }
    });
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert_eq!(compared, comparable);
    assert!(compared >= 79, "the manifest lost entries: {compared}");
}

#[test]
fn tables_whose_data_files_are_absent_fail_naming_the_file() {
    block_on(async {
        for (name, entry) in manifest() {
            let expected = &entry.latest;
            let Some(read_error) = &expected.read_error else {
                continue;
            };
            if expected.expected_file.is_some()
                || expected.open_error.is_some()
                || !read_error.contains("not found")
            {
                continue;
            }
            let _ = expected.version;
            match scan_all(&name, None).await {
                Err(tarn::Error::MissingDataFile { path }) => {
                    assert!(path.contains(&name), "{name}: {path}");
                }
                Err(other) => panic!("{name}: expected a missing data file error, got {other}"),
                Ok(batches) => {
                    // delta-rs failed to find files whose names it decoded wrongly; tarn must
                    // then read them all.
                    assert!(row_count(&batches) > 0, "{name}: no rows and no error");
                }
            }
        }
    });
}

#[test]
fn column_mapped_table_reads_the_physical_columns_under_logical_names() {
    // Expected rows built from the table's own log and data: the partition value from each
    // file's `add`, `Super Name` from the file's physical column `col-3877…`.
    let table = fixture_table("table_with_column_mapping");
    let mut expected = Vec::new();
    for line in std::fs::read_to_string(table.join("_delta_log/00000000000000000000.json"))
        .unwrap()
        .lines()
    {
        let action: serde_json::Value = serde_json::from_str(line).unwrap();
        let Some(add) = action.get("add") else {
            continue;
        };
        let company = add["partitionValues"]["col-173b4db9-b5ad-427f-9e75-516aae37fbbb"]
            .as_str()
            .unwrap()
            .to_owned();
        let data = read_parquet(&table.join(add["path"].as_str().unwrap()));
        for batch in &data {
            let names = batch
                .column_by_name("col-3877fd94-0973-4941-ac6b-646849a1ff65")
                .unwrap();
            let names = arrow_array::cast::AsArray::as_string::<i32>(names.as_ref());
            for row in 0..batch.num_rows() {
                expected.push(vec![company.clone(), names.value(row).to_owned()]);
            }
        }
    }
    expected.sort();
    assert_eq!(expected.len(), 5);
    let actual = block_on(scan_all("table_with_column_mapping", None)).unwrap();
    assert_eq!(column_names(&actual), ["Company Very Short", "Super Name"]);
    assert_eq!(canonical_rows(&actual), expected);
}

#[test]
fn a_scan_of_chosen_files_reads_exactly_them_with_their_deletion_vectors() {
    block_on(async {
        for name in ["table-with-dv-small", "delta-0.8.0-partitioned"] {
            let table = Table::open(fixture_table(name).to_str().unwrap())
                .await
                .unwrap();
            let snapshot = table.snapshot().await.unwrap();
            let all: Vec<RecordBatch> = snapshot
                .scan()
                .build()
                .await
                .unwrap()
                .execute()
                .try_collect()
                .await
                .unwrap();
            let mut pieces = Vec::new();
            for file in snapshot.files().iter() {
                let scan = snapshot
                    .scan()
                    .with_files([file.path()])
                    .build()
                    .await
                    .unwrap();
                assert_eq!(scan.files().len(), 1, "{name}");
                let batches: Vec<RecordBatch> = scan.execute().try_collect().await.unwrap();
                if let Some(records) = file.num_records() {
                    let expected = records - file.deletion_vector_cardinality().unwrap_or(0);
                    assert_eq!(
                        row_count(&batches) as i64,
                        expected,
                        "{name} {}",
                        file.path()
                    );
                }
                pieces.extend(batches);
            }
            // The chosen files together are the table.
            assert_eq!(canonical_rows(&pieces), canonical_rows(&all), "{name}");
            let err = snapshot
                .scan()
                .with_files(["no-such-file.parquet"])
                .build()
                .await
                .unwrap_err();
            assert!(matches!(err, tarn::Error::InvalidArgument { .. }), "{err}");
        }
    });
}
