//! Row tracking (PROTOCOL.md, "Row Tracking"): every commit to a table that tracks rows gives
//! its new files row ids above the high water mark where it lands, concurrent writers never
//! hand out the same id, scans return stable row ids and commit versions, and a Databricks
//! table's ids read as its writer assigned them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use futures::TryStreamExt;
use serde_json::Value;
use tarn::scan::{ROW_COMMIT_VERSION_COLUMN, ROW_ID_COLUMN};
use tarn::{Error, Table};

use crate::common::writes::read_log;
use crate::common::{block_on, fixture_table, uri};

fn ids(range: std::ops::Range<i64>) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
    RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(range))]).unwrap()
}

/// `id -> (row id, row commit version)` of every row of the latest version.
async fn row_ids(table: &Table) -> BTreeMap<i64, (i64, i64)> {
    let snapshot = table.snapshot().await.unwrap();
    let batches: Vec<RecordBatch> = snapshot
        .scan()
        .with_row_tracking()
        .build()
        .await
        .unwrap()
        .execute()
        .try_collect()
        .await
        .unwrap();
    let mut rows = BTreeMap::new();
    for batch in &batches {
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .unwrap_or_else(|| panic!("no column {name}"))
                .as_primitive::<Int64Type>()
                .clone()
        };
        let (id, row_id, version) = (
            column("id"),
            column(ROW_ID_COLUMN),
            column(ROW_COMMIT_VERSION_COLUMN),
        );
        for row in 0..batch.num_rows() {
            let previous = rows.insert(id.value(row), (row_id.value(row), version.value(row)));
            assert!(previous.is_none(), "id {} read twice", id.value(row));
        }
    }
    rows
}

async fn tracked_table(path: &std::path::Path) -> Table {
    let table = Table::open(uri(path)).await.unwrap();
    table
        .create()
        .with_schema(ids(0..0).schema().as_ref().try_into().unwrap())
        .with_property("delta.enableRowTracking", "true")
        .execute()
        .await
        .unwrap();
    table
}

/// Every `add` in the log: path -> (baseRowId, defaultRowCommitVersion, version).
async fn adds(table: &Table) -> Vec<(String, i64, i64, u64)> {
    let log = read_log(table.location()).await;
    let mut adds = Vec::new();
    for (version, actions) in &log {
        for action in actions {
            if let Some(add) = action.get("add") {
                adds.push((
                    add["path"].as_str().unwrap().to_owned(),
                    add["baseRowId"].as_i64().expect("baseRowId"),
                    add["defaultRowCommitVersion"]
                        .as_i64()
                        .expect("defaultRowCommitVersion"),
                    *version,
                ));
            }
        }
    }
    adds
}

/// The `rowIdHighWaterMark` of the latest `delta.rowTracking` domain action.
async fn high_water_mark(table: &Table) -> i64 {
    let log = read_log(table.location()).await;
    let mut mark = None;
    for actions in log.values() {
        for action in actions {
            if let Some(domain) = action.get("domainMetadata")
                && domain["domain"] == "delta.rowTracking"
            {
                let configuration: Value =
                    serde_json::from_str(domain["configuration"].as_str().unwrap()).unwrap();
                mark = configuration["rowIdHighWaterMark"].as_i64();
            }
        }
    }
    mark.expect("a high water mark")
}

#[test]
fn a_new_table_names_its_hidden_columns_and_appends_get_dense_ids_at_their_version() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let table = tracked_table(dir.path()).await;
        let snapshot = table.snapshot().await.unwrap();
        let features: Vec<String> = snapshot
            .protocol()
            .writer_features
            .clone()
            .unwrap_or_default()
            .iter()
            .map(|f| f.name().to_owned())
            .collect();
        assert!(features.contains(&"rowTracking".to_owned()), "{features:?}");
        assert!(
            features.contains(&"domainMetadata".to_owned()),
            "{features:?}"
        );
        let configuration = &snapshot.metadata().configuration;
        assert!(
            configuration["delta.rowTracking.materializedRowIdColumnName"]
                .starts_with("_row-id-col-")
        );
        assert!(
            configuration["delta.rowTracking.materializedRowCommitVersionColumnName"]
                .starts_with("_row-commit-version-col-")
        );

        for range in [0..5, 5..8, 8..12] {
            table
                .write()
                .execute_batches(vec![ids(range)])
                .await
                .unwrap();
        }
        let rows = row_ids(&table).await;
        // Each append's rows get the next ids, in order, and the append's version.
        let expected: BTreeMap<i64, (i64, i64)> = (0..12)
            .map(|id| {
                (
                    id,
                    (
                        id,
                        if id < 5 {
                            1
                        } else if id < 8 {
                            2
                        } else {
                            3
                        },
                    ),
                )
            })
            .collect();
        assert_eq!(rows, expected);
        assert_eq!(high_water_mark(&table).await, 11);
        let versions: Vec<(i64, i64, u64)> = adds(&table)
            .await
            .into_iter()
            .map(|(_, b, d, v)| (b, d, v))
            .collect();
        assert_eq!(versions, vec![(0, 1, 1), (5, 2, 2), (8, 3, 3)]);
    });
}

#[test]
fn concurrent_appends_never_hand_out_the_same_row_id() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let table = tracked_table(dir.path()).await;
        let writers = 4;
        let appends = 5;
        let rows_per_append = 3;
        let mut tasks = Vec::new();
        for writer in 0..writers {
            let table = Table::open(uri(dir.path())).await.unwrap();
            tasks.push(tokio::spawn(async move {
                for append in 0..appends {
                    let first = (writer * appends + append) * rows_per_append;
                    table
                        .write()
                        .execute_batches(vec![ids(first..first + rows_per_append)])
                        .await
                        .unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let total = writers * appends * rows_per_append;
        let rows = row_ids(&table).await;
        assert_eq!(rows.len(), total as usize);
        let distinct: BTreeSet<i64> = rows.values().map(|(row_id, _)| *row_id).collect();
        // Unique, and dense: every commit starts right above the mark the one before it left.
        assert_eq!(distinct, (0..total).collect());
        assert_eq!(high_water_mark(&table).await, total - 1);
        // Every row's commit version is the version its file landed at.
        let landed: BTreeMap<i64, u64> = adds(&table)
            .await
            .into_iter()
            .map(|(_, base, default_version, version)| {
                assert_eq!(default_version, version as i64);
                (base, version)
            })
            .collect();
        for (row_id, version) in rows.values() {
            let (_, file_version) = landed.range(..=*row_id).next_back().unwrap();
            assert_eq!(*version, *file_version as i64);
        }
    });
}

#[test]
fn the_row_ids_of_a_databricks_table_read_as_assigned() {
    block_on(async {
        let table = Table::open(uri(&fixture_table("table_with_liquid_clustering")))
            .await
            .unwrap();
        let rows = row_ids(&table).await;
        // Ten one-row files, file `i` holding id `i` with baseRowId `i`, all from version 0.
        let expected: BTreeMap<i64, (i64, i64)> = (0..10).map(|id| (id, (id, 0))).collect();
        assert_eq!(rows, expected);
    });
}

#[test]
fn row_ids_are_refused_where_the_table_does_not_promise_them() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let table = Table::open(uri(dir.path())).await.unwrap();
        table
            .write()
            .execute_batches(vec![ids(0..3)])
            .await
            .unwrap();
        let snapshot = table.snapshot().await.unwrap();
        let err = snapshot
            .scan()
            .with_row_tracking()
            .build()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{err}");
        assert!(err.to_string().contains("delta.enableRowTracking"), "{err}");

        // Nor can a write switch it on: the existing files have no ids.
        let err = table
            .write()
            .with_property("delta.enableRowTracking", "true")
            .execute_batches(vec![ids(3..4)])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("row tracking"), "{err}");
    });
}

#[test]
fn row_ids_count_physical_positions_past_deleted_rows() {
    // A Databricks table whose deletion vector deletes the first and last of ten rows
    // (value i at position i), given row ids from 100 by editing its log.
    let (_dir, path) = crate::common::fixture_copy("table-with-dv-small");
    let log = path.join("_delta_log");
    for entry in std::fs::read_dir(&log).unwrap() {
        let file = entry.unwrap().path();
        if file.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let text = text
            .replace(
                r#""writerFeatures":["deletionVectors"]"#,
                r#""writerFeatures":["deletionVectors","rowTracking","domainMetadata"]"#,
            )
            .replace(
                r#""delta.enableDeletionVectors":"true","#,
                r#""delta.enableDeletionVectors":"true","delta.enableRowTracking":"true","delta.rowTracking.materializedRowIdColumnName":"_row-id","delta.rowTracking.materializedRowCommitVersionColumnName":"_row-version","#,
            )
            .replace(
                r#""OPTIMIZE_TARGET_SIZE":"268435456"}}"#,
                r#""OPTIMIZE_TARGET_SIZE":"268435456"},"baseRowId":100,"defaultRowCommitVersion":0}"#,
            )
            .replace(
                r#""OPTIMIZE_TARGET_SIZE":"268435456"},"deletionVector""#,
                r#""OPTIMIZE_TARGET_SIZE":"268435456"},"baseRowId":100,"defaultRowCommitVersion":0,"deletionVector""#,
            );
        std::fs::write(&file, text).unwrap();
    }
    block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        let snapshot = table.snapshot().await.unwrap();
        let batches: Vec<RecordBatch> = snapshot
            .scan()
            .with_row_tracking()
            .with_batch_size(3)
            .build()
            .await
            .unwrap()
            .execute()
            .try_collect()
            .await
            .unwrap();
        let mut rows = Vec::new();
        for batch in &batches {
            let value = batch
                .column(0)
                .as_primitive::<arrow_array::types::Int32Type>();
            let row_id = batch
                .column_by_name(ROW_ID_COLUMN)
                .unwrap()
                .as_primitive::<Int64Type>();
            for row in 0..batch.num_rows() {
                rows.push((value.value(row), row_id.value(row)));
            }
        }
        rows.sort_unstable();
        let expected: Vec<(i32, i64)> = (1..9).map(|v| (v, 100 + i64::from(v))).collect();
        assert_eq!(rows, expected);
    });
}

/// The `commitInfo.tags` of the commit at `version`.
async fn commit_tags(table: &Table, version: u64) -> Value {
    let log = read_log(table.location()).await;
    log[&version]
        .iter()
        .find_map(|action| action.get("commitInfo"))
        .map(|info| info["tags"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn rewrites_keep_stable_row_ids_and_commit_versions_of_what_they_copy() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let table = tracked_table(dir.path()).await;
        for range in [0..4, 4..8, 8..12] {
            table
                .write()
                .execute_batches(vec![ids(range)])
                .await
                .unwrap();
        }
        let appended = row_ids(&table).await;

        // Compaction: one file, every row's id and version as before.
        let metrics = tarn_maintenance::optimize::Optimize::new(table.clone())
            .execute()
            .await
            .unwrap();
        assert_eq!((metrics.files_removed, metrics.files_added), (3, 1));
        assert_eq!(row_ids(&table).await, appended);
        let optimize_version = table.snapshot().await.unwrap().version();
        assert_eq!(
            commit_tags(&table, optimize_version).await["delta.rowTracking.preserved"],
            "true"
        );
        // The compacted file took fresh ids above the mark (12 rows: 12..=23).
        assert_eq!(high_water_mark(&table).await, 23);

        // A copy-on-write delete: the rows it copies keep their ids and versions.
        table
            .delete()
            .with_predicate(tarn::Expr::parse("id = 5").unwrap())
            .execute()
            .await
            .unwrap();
        let mut expected = appended.clone();
        expected.remove(&5);
        assert_eq!(row_ids(&table).await, expected);
        let delete_version = table.snapshot().await.unwrap().version();
        assert_eq!(
            commit_tags(&table, delete_version).await["delta.rowTracking.preserved"],
            "true"
        );

        // An update: updated rows keep their ids and take the update's version; the rows it
        // copies keep both.
        table
            .update()
            .with_predicate(tarn::Expr::parse("id < 2").unwrap())
            .set("id", tarn::Expr::parse("id + 100").unwrap())
            .execute()
            .await
            .unwrap();
        let update_version = table.snapshot().await.unwrap().version() as i64;
        let after = row_ids(&table).await;
        for (id, (row_id, version)) in &expected {
            if *id < 2 {
                assert_eq!(
                    after[&(id + 100)],
                    (*row_id, update_version),
                    "updated row {id}"
                );
            } else {
                assert_eq!(after[id], (*row_id, *version), "copied row {id}");
            }
        }
        assert_eq!(after.len(), expected.len());

        // New rows still get ids no row ever had.
        table
            .write()
            .execute_batches(vec![ids(50..52)])
            .await
            .unwrap();
        let last = row_ids(&table).await;
        let fresh: Vec<i64> = [50, 51].iter().map(|id| last[id].0).collect();
        let mut all: Vec<i64> = last.values().map(|(row_id, _)| *row_id).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), last.len(), "row ids are unique");
        assert!(fresh.iter().all(|id| *id > 23), "{fresh:?}");
    });
}

#[test]
fn a_databricks_liquid_table_compacts_keeping_its_layout_rules_and_row_ids() {
    block_on(async {
        let (_dir, path) = crate::common::fixture_copy("table_with_liquid_clustering");
        let table = Table::open(uri(&path)).await.unwrap();
        let before = table.snapshot().await.unwrap();
        let rows_before = row_ids(&table).await;
        let protocol_before = before.protocol().clone();

        let plan = tarn_maintenance::optimize::Optimize::new(table.clone())
            .plan()
            .await
            .unwrap();
        assert_eq!(plan.files_to_rewrite(), 10);
        let metrics = tarn_maintenance::optimize::Optimize::new(table.clone())
            .execute()
            .await
            .unwrap();
        assert_eq!((metrics.files_removed, metrics.files_added), (10, 1));

        let after = table.snapshot().await.unwrap();
        // The table is still what Databricks made: same protocol, same clustering domain.
        assert_eq!(after.protocol(), &protocol_before);
        assert_eq!(
            after.domain_metadata().get("delta.liquid"),
            before.domain_metadata().get("delta.liquid")
        );
        // The new file: clustered by the `liquid` provider, with statistics on the
        // clustering column, row ids above the old mark, the optimize's version.
        let log = read_log(table.location()).await;
        let add = log[&after.version()]
            .iter()
            .find_map(|a| a.get("add"))
            .unwrap()
            .clone();
        assert_eq!(add["clusteringProvider"], "liquid");
        assert_eq!(add["dataChange"], false);
        let stats: Value = serde_json::from_str(add["stats"].as_str().unwrap()).unwrap();
        assert_eq!(
            (
                stats["minValues"]["id"].as_i64(),
                stats["maxValues"]["id"].as_i64()
            ),
            (Some(0), Some(9))
        );
        assert_eq!(add["baseRowId"], 10);
        assert_eq!(add["defaultRowCommitVersion"], after.version() as i64);
        assert_eq!(high_water_mark(&table).await, 19);
        // Every row keeps the id and commit version Databricks gave it.
        assert_eq!(row_ids(&table).await, rows_before);

        // Incremental: the clustered file is not rewritten again.
        let again = tarn_maintenance::optimize::Optimize::new(table.clone())
            .plan()
            .await
            .unwrap();
        assert!(again.is_empty(), "{again:?}");
    });
}
