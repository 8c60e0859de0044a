//! End-to-end tests of the write operations on a local table: every operation commits what
//! it says, and reading the table back gives exactly the expected rows.

use std::sync::Arc;

use arrow_array::{Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use futures::TryStreamExt;

use crate::{Error, Expr, Table, WriteMode};

fn batch(days: &[&str], values: &[Option<i64>]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("day", DataType::Utf8, false),
        Field::new("value", DataType::Int64, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(days.to_vec())),
            Arc::new(Int64Array::from(values.to_vec())),
        ],
    )
    .unwrap()
}

/// Every row of the latest version as (day, value), sorted.
async fn rows(table: &Table) -> Vec<(String, Option<i64>)> {
    let snapshot = table.snapshot().await.unwrap();
    let batches: Vec<RecordBatch> = snapshot
        .scan()
        .build()
        .await
        .unwrap()
        .execute()
        .try_collect()
        .await
        .unwrap();
    let mut out = Vec::new();
    for b in &batches {
        let day = b.column_by_name("day").unwrap();
        let day = day.as_any().downcast_ref::<StringArray>().unwrap();
        let value = b.column_by_name("value").unwrap();
        let value = value.as_any().downcast_ref::<Int64Array>().unwrap();
        for i in 0..b.num_rows() {
            out.push((
                day.value(i).to_owned(),
                value.is_valid(i).then(|| value.value(i)),
            ));
        }
    }
    out.sort();
    out
}

fn expect(rows: &[(&str, Option<i64>)]) -> Vec<(String, Option<i64>)> {
    let mut out: Vec<_> = rows.iter().map(|(d, v)| ((*d).to_owned(), *v)).collect();
    out.sort();
    out
}

async fn new_table() -> (tempfile::TempDir, Table) {
    let dir = tempfile::tempdir().unwrap();
    let table = Table::open(dir.path().to_str().unwrap()).await.unwrap();
    (dir, table)
}

#[tokio::test]
async fn write_creates_appends_and_overwrites() {
    let (_dir, table) = new_table().await;
    let first = table
        .write()
        .with_partition_columns(["day"])
        .execute_batches(vec![batch(&["a", "b"], &[Some(1), Some(2)])])
        .await
        .unwrap();
    assert_eq!(first.version, Some(0));
    assert_eq!(first.rows_written, 2);
    assert_eq!(first.files_added, 2);
    let snapshot = table.snapshot().await.unwrap();
    assert_eq!(snapshot.partition_columns(), ["day"]);
    assert_eq!(snapshot.protocol().min_reader_version, 1);
    assert_eq!(snapshot.protocol().min_writer_version, 2);

    let second = table
        .write()
        .execute_batches(vec![batch(&["a"], &[None])])
        .await
        .unwrap();
    assert_eq!(second.version, Some(1));
    assert_eq!(
        rows(&table).await,
        expect(&[("a", Some(1)), ("b", Some(2)), ("a", None)])
    );

    let third = table
        .write()
        .with_mode(WriteMode::Overwrite)
        .execute_batches(vec![batch(&["c"], &[Some(9)])])
        .await
        .unwrap();
    assert_eq!(third.files_removed, 3);
    assert_eq!(rows(&table).await, expect(&[("c", Some(9))]));
    // Time travel still sees the old rows.
    let old = table.snapshot_at_version(1).await.unwrap();
    assert_eq!(old.num_files(), 3);
    let history = table.history(None).await.unwrap();
    let info = history[0].commit_info.as_ref().unwrap();
    assert_eq!(info.operation.as_deref(), Some("WRITE"));
    assert_eq!(
        info.engine_info.as_deref(),
        Some(crate::transaction::ENGINE_INFO)
    );
    assert!(info.txn_id.is_some());
}

#[tokio::test]
async fn replace_where_replaces_one_partition_and_checks_the_input() {
    let (_dir, table) = new_table().await;
    table
        .write()
        .with_partition_columns(["day"])
        .execute_batches(vec![batch(&["a", "a", "b"], &[Some(1), Some(2), Some(3)])])
        .await
        .unwrap();
    let summary = table
        .write()
        .replace_where(Expr::parse("day = 'a'").unwrap())
        .execute_batches(vec![batch(&["a"], &[Some(10)])])
        .await
        .unwrap();
    assert_eq!(summary.version, Some(1));
    assert_eq!(summary.rows_deleted, 2);
    assert_eq!(
        rows(&table).await,
        expect(&[("a", Some(10)), ("b", Some(3))])
    );

    let err = table
        .write()
        .replace_where(Expr::parse("day = 'a'").unwrap())
        .execute_batches(vec![batch(&["a", "b"], &[Some(1), Some(2)])])
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ReplaceWhereMismatch { row: 1, .. }),
        "{err}"
    );
    assert_eq!(table.snapshot().await.unwrap().version(), 1);
}

#[tokio::test]
async fn delete_removes_whole_files_and_rewrites_the_rest() {
    let (_dir, table) = new_table().await;
    table
        .write()
        .with_partition_columns(["day"])
        .execute_batches(vec![batch(
            &["a", "a", "b", "b", "c"],
            &[Some(1), Some(2), Some(3), None, Some(5)],
        )])
        .await
        .unwrap();
    // Partition `a` goes whole; in `b` one row goes, the null stays (SQL: null is not true).
    let summary = table
        .delete()
        .with_predicate(Expr::parse("day = 'a' OR value = 3").unwrap())
        .execute()
        .await
        .unwrap();
    assert_eq!(summary.rows_deleted, 3);
    assert_eq!(summary.files_removed, 2);
    assert_eq!(summary.files_added, 1);
    assert_eq!(summary.rows_copied, 1);
    assert_eq!(rows(&table).await, expect(&[("b", None), ("c", Some(5))]));

    // Nothing matches: nothing committed.
    let none = table
        .delete()
        .with_predicate(Expr::parse("value > 100").unwrap())
        .execute()
        .await
        .unwrap();
    assert_eq!(none.version, None);
    assert_eq!(table.snapshot().await.unwrap().version(), 1);
}

#[tokio::test]
async fn update_sets_values_on_matching_rows_only() {
    let (_dir, table) = new_table().await;
    table
        .write()
        .execute_batches(vec![batch(&["a", "b", "c"], &[Some(1), Some(2), None])])
        .await
        .unwrap();
    // An unknown column in a SET expression fails before anything is written.
    let err = table
        .update()
        .set_sql("value = nosuch + 1")
        .unwrap()
        .execute()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nosuch"), "{err}");
    assert_eq!(table.snapshot().await.unwrap().version(), 0);
    let summary = table
        .update()
        .with_predicate(Expr::parse("value >= 2").unwrap())
        .set_sql("value = value * 10")
        .unwrap()
        .execute()
        .await
        .unwrap();
    assert_eq!(summary.rows_updated, 1);
    assert_eq!(
        rows(&table).await,
        expect(&[("a", Some(1)), ("b", Some(20)), ("c", None)])
    );
    // Moving rows to another partition value works too (day is a data column here).
    table
        .update()
        .set_sql("day = 'z'")
        .unwrap()
        .execute()
        .await
        .unwrap();
    assert_eq!(
        rows(&table).await,
        expect(&[("z", Some(1)), ("z", Some(20)), ("z", None)])
    );
}

#[tokio::test]
async fn restore_brings_back_an_earlier_version() {
    let (_dir, table) = new_table().await;
    table
        .write()
        .with_partition_columns(["day"])
        .execute_batches(vec![batch(&["a", "b"], &[Some(1), Some(2)])])
        .await
        .unwrap();
    table
        .delete()
        .with_predicate(Expr::parse("day = 'a'").unwrap())
        .execute()
        .await
        .unwrap();
    table
        .write()
        .execute_batches(vec![batch(&["c"], &[Some(3)])])
        .await
        .unwrap();
    let summary = table.restore(0).execute().await.unwrap();
    assert_eq!(summary.version, Some(3));
    assert_eq!(summary.files_added, 1);
    assert_eq!(summary.files_removed, 1);
    assert_eq!(
        rows(&table).await,
        expect(&[("a", Some(1)), ("b", Some(2))])
    );
    let err = table.restore(3).execute().await.unwrap_err();
    assert!(err.to_string().contains("earlier version"), "{err}");
}

#[tokio::test]
async fn txn_versions_make_writes_idempotent() {
    let (_dir, table) = new_table().await;
    for _ in 0..2 {
        table
            .write()
            .with_txn("app", 0)
            .execute_batches(vec![batch(&["a"], &[Some(1)])])
            .await
            .unwrap();
    }
    let skipped = table
        .write()
        .with_txn("app", 0)
        .execute_batches(vec![batch(&["a"], &[Some(1)])])
        .await
        .unwrap();
    assert_eq!(skipped.version, None);
    table
        .write()
        .with_txn("app", 1)
        .execute_batches(vec![batch(&["b"], &[Some(2)])])
        .await
        .unwrap();
    assert_eq!(
        rows(&table).await,
        expect(&[("a", Some(1)), ("b", Some(2))])
    );
    assert_eq!(table.snapshot().await.unwrap().txn_version("app"), Some(1));
}

#[tokio::test]
async fn create_refuses_an_existing_table_unless_replacing() {
    let (_dir, table) = new_table().await;
    let schema = Schema::new(vec![
        Field::new("day", DataType::Utf8, false),
        Field::new("value", DataType::Int64, true),
    ]);
    table
        .create()
        .with_arrow_schema(&schema)
        .unwrap()
        .partition_by(["day"])
        .with_property("delta.constraints.positive", "value > 0")
        .execute()
        .await
        .unwrap();
    let snapshot = table.snapshot().await.unwrap();
    assert_eq!(snapshot.protocol().min_writer_version, 3);
    let err = table
        .create()
        .with_arrow_schema(&schema)
        .unwrap()
        .execute()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::TableExists { version: 0, .. }),
        "{err}"
    );

    // The CHECK constraint is enforced; nothing is committed.
    let err = table
        .write()
        .execute_batches(vec![batch(&["a"], &[Some(-1)])])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("positive"), "{err}");
    assert_eq!(table.snapshot().await.unwrap().version(), 0);

    let replaced = table
        .create()
        .with_arrow_schema(&schema)
        .unwrap()
        .replace(true)
        .execute()
        .await
        .unwrap();
    assert_eq!(replaced.version, Some(1));
    let snapshot = table.snapshot().await.unwrap();
    assert!(snapshot.partition_columns().is_empty());
}

#[tokio::test]
async fn merge_schema_adds_columns() {
    let (_dir, table) = new_table().await;
    table
        .write()
        .execute_batches(vec![batch(&["a"], &[Some(1)])])
        .await
        .unwrap();
    let wider = Arc::new(Schema::new(vec![
        Field::new("day", DataType::Utf8, false),
        Field::new("value", DataType::Int64, true),
        Field::new("note", DataType::Utf8, true),
    ]));
    let input = RecordBatch::try_new(
        Arc::clone(&wider),
        vec![
            Arc::new(StringArray::from(vec!["b"])),
            Arc::new(Int64Array::from(vec![2])),
            Arc::new(StringArray::from(vec!["hi"])),
        ],
    )
    .unwrap();
    let err = table
        .write()
        .execute_batches(vec![input.clone()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("note"), "{err}");
    assert_eq!(table.snapshot().await.unwrap().version(), 0);
    table
        .write()
        .with_merge_schema(true)
        .execute_batches(vec![input])
        .await
        .unwrap();
    let snapshot = table.snapshot().await.unwrap();
    assert!(snapshot.schema().field("note").is_some());
    assert_eq!(
        rows(&table).await,
        expect(&[("a", Some(1)), ("b", Some(2))])
    );
}

#[tokio::test]
async fn checkpoints_are_written_at_the_interval() {
    let (dir, table) = new_table().await;
    table
        .write()
        .with_property("delta.checkpointInterval", "3")
        .execute_batches(vec![batch(&["a"], &[Some(0)])])
        .await
        .unwrap();
    let mut checkpointed = Vec::new();
    for i in 1..7 {
        let summary = table
            .write()
            .execute_batches(vec![batch(&["a"], &[Some(i)])])
            .await
            .unwrap();
        if summary.checkpoint_written {
            checkpointed.push(summary.version.unwrap());
        }
    }
    assert_eq!(checkpointed, vec![3, 6]);
    // The automatic checkpoint (from a snapshot loaded without statistics) still carries every
    // file's statistics, streamed from the log.
    let checkpoint = dir
        .path()
        .join("_delta_log/00000000000000000006.checkpoint.parquet");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(checkpoint).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap();
    let mut with_stats = 0;
    for batch in reader {
        let batch = batch.unwrap();
        let add = batch
            .column_by_name("add")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow_array::StructArray>()
            .unwrap();
        let stats = add.column_by_name("stats").unwrap();
        with_stats += (0..add.len())
            .filter(|&row| add.is_valid(row) && stats.is_valid(row))
            .count();
    }
    assert_eq!(with_stats, 7);
    let snapshot = table.snapshot().await.unwrap();
    assert_eq!(snapshot.num_files(), 7);
    let on_demand = table.checkpoint().execute().await.unwrap();
    assert_eq!(on_demand.version, 6);
    assert_eq!(on_demand.num_files, 7);
}

/// Loading a snapshot can be spawned on a multi-threaded runtime (see also
/// `operations_run_on_spawned_tasks`).
#[test]
fn operation_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let table = Table::from_location(tarn_log::TableLocation::parse("memory:///t").unwrap());
    let snapshot = table.snapshot();
    assert_send(&snapshot);
}

#[tokio::test]
async fn merge_schema_widens_types_with_the_type_widening_feature() {
    let (_dir, table) = new_table().await;
    let narrow = Arc::new(Schema::new(vec![Field::new("n", DataType::Int32, true)]));
    let wide = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
    table
        .write()
        .execute_batches(vec![
            RecordBatch::try_new(
                narrow,
                vec![Arc::new(arrow_array::Int32Array::from(vec![1]))],
            )
            .unwrap(),
        ])
        .await
        .unwrap();
    let big =
        RecordBatch::try_new(wide, vec![Arc::new(Int64Array::from(vec![1i64 << 40]))]).unwrap();
    // Not without asking: the feature shuts out readers such as delta-rs.
    let err = table
        .write()
        .with_merge_schema(true)
        .execute_batches(vec![big.clone()])
        .await
        .unwrap_err();
    match &err {
        Error::FeatureUpgradeNotAllowed {
            feature, change, ..
        } => {
            assert_eq!(feature, "typeWidening");
            assert_eq!(change, "widening column `n` from integer to long");
            assert!(err.to_string().contains("delta-rs"), "{err}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(table.snapshot().await.unwrap().version(), 0);
    table
        .write()
        .with_merge_schema(true)
        .with_type_widening(true)
        .execute_batches(vec![big])
        .await
        .unwrap();
    let snapshot = table.snapshot().await.unwrap();
    let field = snapshot.schema().field("n").unwrap();
    assert_eq!(field.data_type.to_string(), "long");
    assert_eq!(
        field.metadata["delta.typeChanges"],
        serde_json::json!([{"fromType": "integer", "toType": "long"}])
    );
    let protocol = snapshot.protocol();
    assert_eq!(
        (protocol.min_reader_version, protocol.min_writer_version),
        (3, 7)
    );
    assert!(
        protocol
            .reader_features
            .as_ref()
            .unwrap()
            .contains(&tarn_protocol::features::TableFeature::TypeWidening)
    );
    let batches: Vec<RecordBatch> = snapshot
        .scan()
        .build()
        .await
        .unwrap()
        .execute()
        .try_collect()
        .await
        .unwrap();
    let mut values: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect();
    values.sort_unstable();
    assert_eq!(values, vec![1, 1 << 40]);
}

#[tokio::test]
async fn append_only_tables_refuse_removes() {
    let (_dir, table) = new_table().await;
    table
        .write()
        .with_property("delta.appendOnly", "true")
        .execute_batches(vec![batch(&["a"], &[Some(1)])])
        .await
        .unwrap();
    table
        .write()
        .execute_batches(vec![batch(&["b"], &[Some(2)])])
        .await
        .unwrap();
    for err in [
        table.restore(0).execute().await.unwrap_err(),
        table
            .delete()
            .with_predicate(Expr::parse("day = 'a'").unwrap())
            .execute()
            .await
            .unwrap_err(),
    ] {
        assert!(err.to_string().contains("append-only"), "{err}");
    }
    assert_eq!(table.snapshot().await.unwrap().version(), 1);
}

#[tokio::test]
async fn replace_where_on_a_missing_table_is_not_a_table() {
    let (_dir, table) = new_table().await;
    let err = table
        .write()
        .replace_where(Expr::parse("day = 'a'").unwrap())
        .execute_batches(vec![batch(&["a"], &[Some(1)])])
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Log(tarn_log::LogError::NotATable { .. })),
        "{err}"
    );
    assert!(table.snapshot().await.is_err(), "nothing was created");
}

/// The operations' futures are `Send + 'static` given an owned table, so a service can run
/// them on `tokio::spawn`; this test would not compile otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_run_on_spawned_tasks() {
    let (_dir, table) = new_table().await;
    let t = table.clone();
    let created = tokio::spawn(async move {
        t.write()
            .with_partition_columns(["day"])
            .execute_batches(vec![batch(&["a", "b"], &[Some(1), Some(2)])])
            .await
    });
    assert_eq!(created.await.unwrap().unwrap().version, Some(0));
    let t = table.clone();
    let deleted = tokio::spawn(async move {
        t.delete()
            .with_predicate(Expr::parse("day = 'a'").unwrap())
            .execute()
            .await
    });
    assert_eq!(deleted.await.unwrap().unwrap().rows_deleted, 1);
    let t = table.clone();
    let updated = tokio::spawn(async move {
        t.update()
            .set("value", Expr::parse("value + 10").unwrap())
            .execute()
            .await
    });
    assert_eq!(updated.await.unwrap().unwrap().rows_updated, 1);
    let t = table.clone();
    let restored = tokio::spawn(async move { t.restore(0).execute().await });
    assert_eq!(restored.await.unwrap().unwrap().version, Some(3));
    let t = table.clone();
    let checkpoint = tokio::spawn(async move { t.checkpoint().execute().await });
    checkpoint.await.unwrap().unwrap();
    assert_eq!(
        rows(&table).await,
        expect(&[("a", Some(1)), ("b", Some(2))])
    );
}

#[tokio::test]
async fn write_properties_change_an_existing_table_in_the_same_commit() {
    let (_dir, table) = new_table().await;
    table
        .write()
        .with_property("delta.checkpointInterval", "5")
        .execute_batches(vec![batch(&["a"], &[Some(1)])])
        .await
        .unwrap();
    let summary = table
        .write()
        .with_property("delta.checkpointInterval", "7")
        .with_property("delta.appendOnly", "true")
        .execute_batches(vec![batch(&["b"], &[Some(2)])])
        .await
        .unwrap();
    assert_eq!(summary.version, Some(1));
    let snapshot = table.snapshot().await.unwrap();
    assert_eq!(snapshot.properties()["delta.checkpointInterval"], "7");
    assert_eq!(snapshot.properties()["delta.appendOnly"], "true");
    assert_eq!(
        rows(&table).await,
        expect(&[("a", Some(1)), ("b", Some(2))])
    );
    // The same value again changes nothing: no metadata action in that commit.
    table
        .write()
        .with_property("delta.checkpointInterval", "7")
        .execute_batches(vec![batch(&["c"], &[Some(3)])])
        .await
        .unwrap();
    let latest = table.snapshot().await.unwrap();
    assert_eq!(latest.metadata(), snapshot.metadata());
    // Invalid values and properties a write cannot change are refused, committing nothing.
    for (key, value) in [
        ("delta.checkpointInterval", "zero"),
        ("delta.constraints.positive", "value > 0"),
        ("delta.columnMapping.mode", "name"),
    ] {
        let err = table
            .write()
            .with_property(key, value)
            .execute_batches(vec![batch(&["d"], &[Some(4)])])
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument { .. }),
            "{key}: {err:?}"
        );
        assert!(err.to_string().contains(key), "{err}");
    }
    assert_eq!(table.snapshot().await.unwrap().version(), 2);
}

#[tokio::test]
async fn a_snapshot_lists_its_tombstones_until_they_expire() {
    let (_dir, table) = new_table().await;
    table
        .write()
        .execute_batches(vec![batch(&["a"], &[Some(1)])])
        .await
        .unwrap();
    let first = table.snapshot().await.unwrap();
    let path = first.files().iter().next().unwrap().path().to_owned();
    table.delete().execute().await.unwrap();
    let snapshot = table.snapshot().await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let retention =
        tarn_protocol::retention::Retention::from_configuration(snapshot.properties()).unwrap();
    let retained = |at: i64| Some(retention.deleted_file_cutoff(at));
    let tombstones = snapshot.tombstones(retained(now)).await.unwrap();
    assert_eq!(tombstones.len(), 1);
    assert_eq!(tombstones[0].path, path);
    assert!(tombstones[0].deletion_timestamp.unwrap() <= now);
    // The default retention is a week.
    let day = tarn_protocol::retention::DAY_MS;
    assert_eq!(
        snapshot
            .tombstones(retained(now + 6 * day))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        snapshot
            .tombstones(retained(now + 8 * day))
            .await
            .unwrap()
            .is_empty()
    );
    // Every tombstone the log holds, expired or not.
    assert_eq!(snapshot.tombstones(None).await.unwrap().len(), 1);
    // The version before the delete has none.
    assert!(first.tombstones(None).await.unwrap().is_empty());
}
