//! Bad input to the write operations: each is a clear error naming what is wrong (the
//! column, the constraint, the feature, the path), and the table is left exactly as it was —
//! its latest version unchanged, its rows unchanged, and no data file in its directory that
//! the log does not name (files written before the problem was found are deleted).
//!
//! Covered: schema mismatches (wrong type, lossy type, missing and unexpected columns, in a
//! later batch of a stream), nulls in NOT NULL columns (top level and nested), CHECK
//! constraints (on write and on update), overwrite-where rows outside the predicate,
//! operations on paths that hold no table, tables whose protocol asks for a writer feature
//! tarn does not have (listed, or active), append-only tables, and a restore whose files are
//! gone. (A CSV row that does not parse is the CLI's; its tests cover it.)

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{Int64Builder, StringBuilder, StructBuilder};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use serde_json::{Value, json};
use tarn::protocol::ProtocolError;
use tarn::protocol::error::FeatureUse;
use tarn::{CommitSummary, Error, Expr, LogError, Table, WriteMode, WriterOptions};

use crate::common::gate_store::{GateStore, gated_table};
use crate::common::python::canonical_rows;
use crate::common::writes::{
    assert_no_stray_files, commit_actions, data_files_on_disk, latest_version, scan_batches,
    scan_rows,
};
use crate::common::{block_on, commit_path, uri};

/// A batch of (id, day, value) with explicit column types: `value` as given.
fn batch_with(ids: Vec<Option<i64>>, days: Vec<&str>, value: ArrayRef) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("day", DataType::Utf8, false),
        Field::new("value", value.data_type().clone(), true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(StringArray::from(days)),
            value,
        ],
    )
    .unwrap()
}

/// `n` good rows spread over `days` partitions, ids from `first`.
fn good(first: i64, n: i64, days: usize) -> RecordBatch {
    let names: Vec<String> = (0..n)
        .map(|i| format!("d{}", i % i64::try_from(days).unwrap()))
        .collect();
    batch_with(
        (first..first + n).map(Some).collect(),
        names.iter().map(String::as_str).collect(),
        Arc::new(Int64Array::from_iter_values(first..first + n)),
    )
}

/// Writer options that finish a file after every row group, so that a failing stream has
/// already uploaded files when the bad batch arrives.
fn small_files() -> WriterOptions {
    WriterOptions::new()
        .with_target_file_size(1)
        .with_max_row_group_rows(4)
}

/// The table at `path` through a store that counts the data files written.
fn counted(path: &Path) -> (Arc<GateStore>, Table) {
    gated_table(uri(path))
}

/// Asserts that the failed operation had written data files before it failed, so that
/// "no file left behind" means they were deleted.
fn assert_files_were_written(store: &GateStore, what: &str) {
    assert!(
        store.data_files_started() >= 2,
        "{what}: only {} data files were started before the failure; the test does not \
         exercise the clean-up",
        store.data_files_started()
    );
}

/// A table `(id long NOT NULL, day string NOT NULL, value long)` partitioned by `day`, with
/// `properties`, holding `good(1, 6, 3)` at version 0.
async fn new_table(path: &Path, properties: &[(&str, &str)]) -> Table {
    let table = Table::open(uri(path)).await.unwrap();
    let mut create = table
        .create()
        .with_arrow_schema(&Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("day", DataType::Utf8, false),
            Field::new("value", DataType::Int64, true),
        ]))
        .unwrap()
        .partition_by(["day"]);
    for (k, v) in properties {
        create = create.with_property(*k, *v);
    }
    create.execute().await.unwrap();
    table
        .write()
        .execute_batches(vec![good(1, 6, 3)])
        .await
        .unwrap();
    table
}

/// What a table looked like before an operation, to compare after it failed.
struct Before {
    version: Option<u64>,
    rows: Vec<Value>,
    files: std::collections::BTreeSet<String>,
}

async fn before(path: &Path, table: &Table) -> Before {
    Before {
        version: latest_version(path),
        rows: scan_rows(table, None).await,
        files: data_files_on_disk(path),
    }
}

/// Asserts `result` failed, the table is as `before`, and returns the error.
async fn rejected(
    path: &Path,
    table: &Table,
    before: &Before,
    result: tarn::Result<CommitSummary>,
    what: &str,
) -> Error {
    let err = match result {
        Ok(summary) => panic!("{what}: expected an error, but it committed {summary:?}"),
        Err(err) => err,
    };
    assert_eq!(
        latest_version(path),
        before.version,
        "{what}: the version moved ({err})"
    );
    assert_eq!(
        scan_rows(table, None).await,
        before.rows,
        "{what}: the rows changed"
    );
    assert_eq!(
        data_files_on_disk(path),
        before.files,
        "{what}: data files were left behind ({err})"
    );
    assert_no_stray_files(path, what);
    err
}

fn assert_mentions(err: &Error, needles: &[&str]) {
    let text = err.to_string();
    for needle in needles {
        assert!(
            text.contains(needle),
            "`{text}` does not mention `{needle}`"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Schema, NOT NULL, CHECK
// ---------------------------------------------------------------------------------------------

#[test]
fn schema_mismatches_are_refused_naming_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    block_on(async {
        let table = new_table(&path, &[]).await;
        let b = before(&path, &table).await;
        let cases: Vec<(&str, RecordBatch, &str, &[&str])> = vec![
            (
                "a string for a long",
                batch_with(
                    vec![Some(9)],
                    vec!["d0"],
                    Arc::new(StringArray::from(vec!["7"])),
                ),
                "value",
                &["expected long", "string"],
            ),
            (
                "a double for a long",
                batch_with(
                    vec![Some(9)],
                    vec!["d0"],
                    Arc::new(Float64Array::from(vec![7.5])),
                ),
                "value",
                &["expected long", "double"],
            ),
            (
                // A nullable column left out is filled with nulls; a NOT NULL one is refused.
                "a missing NOT NULL column",
                RecordBatch::try_new(
                    Arc::new(Schema::new(vec![
                        Field::new("id", DataType::Int64, false),
                        Field::new("value", DataType::Int64, true),
                    ])),
                    vec![
                        Arc::new(Int64Array::from(vec![9])),
                        Arc::new(Int64Array::from(vec![9])),
                    ],
                )
                .unwrap(),
                "day",
                &["missing column (it is NOT NULL"],
            ),
            (
                "an unexpected column",
                {
                    let base = good(9, 1, 1);
                    let mut fields: Vec<Field> = base
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| f.as_ref().clone())
                        .collect();
                    fields.push(Field::new("extra", DataType::Int64, true));
                    let mut columns = base.columns().to_vec();
                    columns.push(Arc::new(Int64Array::from(vec![1])));
                    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
                },
                "extra",
                &["unexpected column"],
            ),
        ];
        for (what, bad, column, reason) in cases {
            let result = table.write().execute_batches(vec![bad]).await;
            let err = rejected(&path, &table, &b, result, what).await;
            match &err {
                Error::SchemaMismatch { column: c, .. } => assert_eq!(c, column, "{what}"),
                other => panic!("{what}: expected a schema mismatch, got {other}"),
            }
            assert_mentions(&err, reason);
        }

        // A stream whose third batch does not fit, after two batches were written to files
        // in several partitions: nothing is committed and those files are deleted.
        let bad = batch_with(
            vec![Some(99)],
            vec!["d0"],
            Arc::new(StringArray::from(vec!["x"])),
        );
        let schema = good(0, 1, 1).schema();
        let stream =
            futures::stream::iter(vec![Ok(good(100, 40, 4)), Ok(good(200, 40, 4)), Ok(bad)]);
        let (store, counting) = counted(&path);
        let result = counting
            .write()
            .with_writer_options(small_files())
            .execute(schema, stream)
            .await;
        assert_files_were_written(&store, "a bad third batch");
        let err = rejected(&path, &table, &b, result, "a bad third batch").await;
        assert!(matches!(err, Error::SchemaMismatch { .. }), "{err}");

        // Overwrite and overwrite-where are checked the same way.
        let bad = batch_with(
            vec![Some(9)],
            vec!["d0"],
            Arc::new(StringArray::from(vec!["7"])),
        );
        let result = table
            .write()
            .with_mode(WriteMode::Overwrite)
            .execute_batches(vec![bad.clone()])
            .await;
        rejected(&path, &table, &b, result, "an overwrite").await;
        let (store, counting) = counted(&path);
        let result = counting
            .write()
            .replace_where(Expr::parse("day = 'd0'").unwrap())
            .with_writer_options(small_files())
            .execute_batches(vec![good(300, 40, 1), bad])
            .await;
        assert_files_were_written(&store, "an overwrite-where");
        rejected(&path, &table, &b, result, "an overwrite-where").await;
    });
}

#[test]
fn nulls_in_not_null_columns_are_refused_naming_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    block_on(async {
        let table = new_table(&path, &[]).await;
        let b = before(&path, &table).await;
        // `id` is NOT NULL; the input field is nullable, so Arrow lets the null through.
        let null_id = batch_with(
            vec![Some(7), None],
            vec!["d0", "d1"],
            Arc::new(Int64Array::from(vec![7, 8])),
        );
        let result = table.write().execute_batches(vec![null_id.clone()]).await;
        let err = rejected(&path, &table, &b, result, "a null id").await;
        match &err {
            Error::NotNullViolation { column, row } => {
                assert_eq!(column, "id");
                assert!(row.contains('8'), "the sample row shows the values: {row}");
            }
            other => panic!("expected a NOT NULL violation, got {other}"),
        }
        // After good batches already in files.
        let (store, counting) = counted(&path);
        let result = counting
            .write()
            .with_writer_options(small_files())
            .execute_batches(vec![good(100, 40, 4), null_id])
            .await;
        assert_files_were_written(&store, "a null id in a later batch");
        let err = rejected(&path, &table, &b, result, "a null id in a later batch").await;
        assert!(matches!(err, Error::NotNullViolation { .. }), "{err}");
    });
}

/// A row of `(id, s)`: `s` is `None` for a null struct, else `(x, y)`.
type StructRow<'a> = (i64, Option<(Option<i64>, &'a str)>);

/// `(id long, s struct<x: long NOT NULL, y: string>)` rows: (id, None) is a null struct,
/// (id, Some((x, y))) a struct.
fn struct_batch(rows: &[StructRow<'_>]) -> RecordBatch {
    let fields = vec![
        Field::new("x", DataType::Int64, true),
        Field::new("y", DataType::Utf8, true),
    ];
    let mut s = StructBuilder::from_fields(fields.clone(), rows.len());
    for (_, value) in rows {
        let (x, y) = value.unwrap_or((None, ""));
        s.field_builder::<Int64Builder>(0).unwrap().append_option(x);
        s.field_builder::<StringBuilder>(1).unwrap().append_value(y);
        s.append(value.is_some());
    }
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("s", DataType::Struct(fields.into()), true),
        ])),
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(s.finish()),
        ],
    )
    .unwrap()
}

#[test]
fn a_null_in_a_not_null_struct_field_is_refused_only_where_the_struct_is_present() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new(
                "s",
                DataType::Struct(
                    vec![
                        Field::new("x", DataType::Int64, false),
                        Field::new("y", DataType::Utf8, true),
                    ]
                    .into(),
                ),
                true,
            ),
        ]);
        table
            .create()
            .with_arrow_schema(&schema)
            .unwrap()
            .execute()
            .await
            .unwrap();
        // A null struct is fine: its NOT NULL field is not there.
        let ok = struct_batch(&[(1, Some((Some(1), "a"))), (2, None)]);
        table
            .write()
            .execute_batches(vec![ok.clone()])
            .await
            .unwrap();
        assert_eq!(canonical_rows(&scan_batches(&table, None).await).len(), 2);

        let b = before(&path, &table).await;
        let bad = struct_batch(&[(3, Some((Some(3), "c"))), (4, Some((None, "d")))]);
        let result = table.write().execute_batches(vec![bad]).await;
        let err = rejected(&path, &table, &b, result, "a null s.x").await;
        match &err {
            Error::NotNullViolation { column, .. } => assert_eq!(column, "s.x"),
            other => panic!("expected a NOT NULL violation, got {other}"),
        }
    });
}

#[test]
fn check_constraint_violations_are_refused_on_write_and_update() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    block_on(async {
        let table = new_table(&path, &[("delta.constraints.positive", "value > 0")]).await;
        let b = before(&path, &table).await;
        let negative = batch_with(
            vec![Some(50)],
            vec!["d9"],
            Arc::new(Int64Array::from(vec![-3])),
        );
        let (store, counting) = counted(&path);
        let result = counting
            .write()
            .with_writer_options(small_files())
            .execute_batches(vec![good(100, 40, 4), negative])
            .await;
        assert_files_were_written(&store, "a negative value");
        let err = rejected(&path, &table, &b, result, "a negative value").await;
        match &err {
            Error::ConstraintViolation {
                name,
                expression,
                row,
            } => {
                assert_eq!(name, "positive");
                assert_eq!(expression, "value > 0");
                assert!(row.contains("-3"), "{row}");
            }
            other => panic!("expected a CHECK violation, got {other}"),
        }

        // An update that breaks the constraint in some files while others rewrite fine:
        // nothing is committed and the rewritten files are deleted. Values 100..140 (in eight
        // files) stay positive; the first rows' values 1..=3 do not.
        table
            .write()
            .with_writer_options(small_files())
            .execute_batches(vec![good(100, 40, 4)])
            .await
            .unwrap();
        let b = before(&path, &table).await;
        let (store, counting) = counted(&path);
        let result = counting
            .update()
            .set_sql("value = value - 3")
            .unwrap()
            .with_writer_options(small_files())
            .execute()
            .await;
        assert_files_were_written(&store, "an update to value - 3");
        let err = rejected(&path, &table, &b, result, "an update to value - 3").await;
        assert!(
            matches!(&err, Error::ConstraintViolation { name, .. } if name == "positive"),
            "{err}"
        );
        // An update to a value of the wrong type fails before writing anything.
        let result = table
            .update()
            .set_sql("value = 'abc'")
            .unwrap()
            .execute()
            .await;
        rejected(&path, &table, &b, result, "an update to a string").await;
    });
}

#[test]
fn overwrite_where_rows_outside_the_predicate_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    block_on(async {
        let table = new_table(&path, &[]).await;
        let b = before(&path, &table).await;
        // Rows for d0 first (written to files), then one for d1.
        let (store, counting) = counted(&path);
        let result = counting
            .write()
            .replace_where(Expr::parse("day = 'd0'").unwrap())
            .with_writer_options(small_files())
            .execute_batches(vec![good(100, 20, 1), good(200, 2, 2)])
            .await;
        assert_files_were_written(&store, "a row of d1");
        let err = rejected(&path, &table, &b, result, "a row of d1").await;
        match &err {
            Error::ReplaceWhereMismatch { predicate, row, .. } => {
                assert_eq!(predicate, "day = 'd0'");
                assert_eq!(*row, 21, "the input's row 21 is the first one in d1");
            }
            other => panic!("expected a replace-where mismatch, got {other}"),
        }
    });
}

// ---------------------------------------------------------------------------------------------
// No table there
// ---------------------------------------------------------------------------------------------

fn assert_not_a_table(err: &Error, path: &Path, what: &str) {
    match err {
        Error::Log(LogError::NotATable { location, .. }) => {
            let name = path.file_name().unwrap().to_str().unwrap();
            assert!(location.contains(name), "{what}: {location}");
        }
        other => panic!("{what}: expected NotATable, got {other}"),
    }
}

#[test]
fn operations_on_a_path_without_a_table_fail_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let not_a_table = dir.path().join("just-files");
    std::fs::create_dir(&not_a_table).unwrap();
    std::fs::write(not_a_table.join("notes.txt"), "not a table").unwrap();
    block_on(async {
        for path in [&missing, &empty, &not_a_table] {
            let before = data_files_on_disk(path);
            let table = Table::open(uri(path)).await.unwrap();
            let what = path.file_name().unwrap().to_str().unwrap().to_owned();
            let err = table
                .delete()
                .with_predicate(Expr::parse("value > 0").unwrap())
                .execute()
                .await
                .unwrap_err();
            assert_not_a_table(&err, path, &format!("{what}: delete"));
            let err = table
                .update()
                .set_sql("value = 1")
                .unwrap()
                .execute()
                .await
                .unwrap_err();
            assert_not_a_table(&err, path, &format!("{what}: update"));
            let err = table.restore(0).execute().await.unwrap_err();
            assert_not_a_table(&err, path, &format!("{what}: restore"));
            let err = table.checkpoint().execute().await.unwrap_err();
            assert_not_a_table(&err, path, &format!("{what}: checkpoint"));
            // An overwrite-where needs rows to replace: it does not create a table.
            let err = table
                .write()
                .replace_where(Expr::parse("day = 'd0'").unwrap())
                .execute_batches(vec![good(1, 2, 1)])
                .await
                .unwrap_err();
            assert_not_a_table(&err, path, &format!("{what}: replace_where"));
            assert_mentions(&err, &["no table"]);
            // Nothing was written anywhere.
            assert!(!path.join("_delta_log").exists(), "{what}: a log appeared");
            assert_eq!(data_files_on_disk(path), before, "{what}: files appeared");
        }
    });
    assert!(!missing.exists(), "operations on a missing path created it");
}

#[test]
fn writing_into_a_regular_file_fails_and_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "plain text").unwrap();
    block_on(async {
        let table = Table::open(uri(&file)).await.unwrap();
        let err = table
            .write()
            .execute_batches(vec![good(1, 2, 1)])
            .await
            .unwrap_err();
        // (A storage error on the first data file: "Not a directory".)
        assert_mentions(&err, &["a-file"]);
    });
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "plain text");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("a-file")]);
}

// ---------------------------------------------------------------------------------------------
// Protocols tarn must not write
// ---------------------------------------------------------------------------------------------

/// Appends a commit of `actions` (plus a commitInfo) as the next version, by hand.
fn commit_by_hand(path: &Path, actions: &[Value]) -> u64 {
    let version = latest_version(path).unwrap() + 1;
    let mut text = String::new();
    for action in actions.iter().chain(std::iter::once(
        &json!({"commitInfo": {"operation": "SET TBLPROPERTIES"}}),
    )) {
        text.push_str(&action.to_string());
        text.push('\n');
    }
    std::fs::write(commit_path(path, version), text).unwrap();
    version
}

/// Every write operation, each expected to fail on this table without changing it.
async fn every_operation_is_refused(path: &Path, check: impl Fn(&Error, &str)) {
    let table = Table::open(uri(path)).await.unwrap();
    let b = before(path, &table).await;
    let operations: Vec<(&str, tarn::Result<CommitSummary>)> = vec![
        (
            "append",
            table.write().execute_batches(vec![good(100, 8, 4)]).await,
        ),
        (
            "overwrite",
            table
                .write()
                .with_mode(WriteMode::Overwrite)
                .execute_batches(vec![good(100, 8, 4)])
                .await,
        ),
        (
            "overwrite-where",
            table
                .write()
                .replace_where(Expr::parse("day = 'd0'").unwrap())
                .execute_batches(vec![good(100, 8, 1)])
                .await,
        ),
        (
            "delete",
            table
                .delete()
                .with_predicate(Expr::parse("value > 2").unwrap())
                .execute()
                .await,
        ),
        (
            "update",
            table.update().set_sql("value = 0").unwrap().execute().await,
        ),
        ("restore", table.restore(0).execute().await),
        (
            "replace table",
            table
                .create()
                .with_arrow_schema(&Schema::new(vec![Field::new("z", DataType::Int64, true)]))
                .unwrap()
                .replace(true)
                .execute()
                .await,
        ),
    ];
    for (what, result) in operations {
        let err = rejected(path, &table, &b, result, what).await;
        check(&err, what);
    }
}

#[test]
fn a_table_listing_a_writer_feature_tarn_lacks_refuses_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    block_on(new_table(&path, &[]));
    commit_by_hand(
        &path,
        &[json!({"protocol": {
            "minReaderVersion": 1,
            "minWriterVersion": 7,
            "writerFeatures": ["appendOnly", "invariants", "futureWriterFeature"]
        }})],
    );
    block_on(async {
        // Readers may still read it: the feature is a writer feature.
        let table = Table::open(uri(&path)).await.unwrap();
        assert_eq!(scan_rows(&table, None).await.len(), 6);
        // Writing a checkpoint is writing too.
        let version = latest_version(&path);
        match table.checkpoint().execute().await {
            Err(Error::Log(LogError::Unsupported { source, .. })) => assert!(
                matches!(
                    source.as_ref(),
                    ProtocolError::UnsupportedFeature { feature, usage: FeatureUse::Write }
                        if feature == "futureWriterFeature"
                ),
                "{source}"
            ),
            other => panic!("checkpoint: expected Unsupported, got {other:?}"),
        }
        assert_eq!(latest_version(&path), version);
        assert!(
            !path
                .join("_delta_log/00000000000000000002.checkpoint.parquet")
                .exists()
        );
        every_operation_is_refused(&path, |err, what| match err {
            Error::Protocol(ProtocolError::UnsupportedFeature { feature, usage }) => {
                assert_eq!(feature, "futureWriterFeature", "{what}");
                assert_eq!(*usage, FeatureUse::Write, "{what}");
                assert_mentions(err, &["futureWriterFeature"]);
            }
            other => panic!("{what}: expected UnsupportedFeature, got {other}"),
        })
        .await;
    });
}

#[test]
fn a_table_with_change_data_feed_enabled_refuses_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    block_on(new_table(&path, &[]));
    // Writer 4 supports changeDataFeed; the property makes it active: every data change
    // would need change data files, which tarn does not write.
    let mut metadata = commit_actions(&path, 0)
        .into_iter()
        .find_map(|a| a.get("metaData").cloned())
        .unwrap();
    metadata["configuration"]["delta.enableChangeDataFeed"] = json!("true");
    commit_by_hand(
        &path,
        &[
            json!({"protocol": {"minReaderVersion": 1, "minWriterVersion": 4}}),
            json!({ "metaData": metadata }),
        ],
    );
    block_on(every_operation_is_refused(&path, |err, what| match err {
        Error::Protocol(ProtocolError::UnsupportedActiveFeature { feature, because }) => {
            assert_eq!(feature, "changeDataFeed", "{what}");
            assert!(
                because.contains("delta.enableChangeDataFeed"),
                "{what}: {because}"
            );
        }
        other => panic!("{what}: expected UnsupportedActiveFeature, got {other}"),
    }));
}

#[test]
fn an_append_only_table_refuses_deletes_updates_and_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    block_on(async {
        let table = new_table(&path, &[("delta.appendOnly", "true")]).await;
        let b = before(&path, &table).await;
        let results: Vec<(&str, tarn::Result<CommitSummary>)> = vec![
            (
                "delete",
                table
                    .delete()
                    .with_predicate(Expr::parse("value > 2").unwrap())
                    .execute()
                    .await,
            ),
            (
                "update",
                table.update().set_sql("value = 0").unwrap().execute().await,
            ),
            (
                "overwrite",
                table
                    .write()
                    .with_mode(WriteMode::Overwrite)
                    .execute_batches(vec![good(100, 8, 4)])
                    .await,
            ),
            (
                "overwrite-where",
                table
                    .write()
                    .replace_where(Expr::parse("day = 'd0'").unwrap())
                    .execute_batches(vec![good(100, 8, 1)])
                    .await,
            ),
        ];
        for (what, result) in results {
            let err = rejected(&path, &table, &b, result, what).await;
            assert_mentions(&err, &["append-only"]);
        }
        // Appends still work.
        let summary = table
            .write()
            .execute_batches(vec![good(100, 2, 1)])
            .await
            .unwrap();
        assert_eq!(summary.version, Some(2));
    });
}

#[test]
fn a_restore_whose_files_were_vacuumed_fails_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    block_on(async {
        let table = new_table(&path, &[]).await;
        // v2 deletes partition d0; then its file is removed from storage (as vacuum would).
        table
            .delete()
            .with_predicate(Expr::parse("day = 'd0'").unwrap())
            .execute()
            .await
            .unwrap();
        let gone = commit_actions(&path, 2)
            .into_iter()
            .find_map(|a| {
                a.get("remove")
                    .map(|r| r["path"].as_str().unwrap().to_owned())
            })
            .unwrap();
        let decoded = tarn::protocol::data_path::DataFilePath::parse(&gone).unwrap();
        std::fs::remove_file(path.join(decoded.as_str())).unwrap();
        let b = before(&path, &table).await;
        let result = table.restore(1).execute().await;
        let err = rejected(&path, &table, &b, result, "restore to v1").await;
        match &err {
            Error::MissingDataFile { path: missing } => {
                let name = decoded.as_str().rsplit('/').next().unwrap();
                assert!(missing.contains(name), "{missing} names {name}");
            }
            other => panic!("expected MissingDataFile, got {other}"),
        }
    });
}
