//! Scans that cannot succeed fail with a `tarn::Error` whose text names the thing at fault:
//! the data file (missing, not Parquet, truncated, holding the wrong type in a named column),
//! the deletion vector file (missing, bad checksum), the reader feature, the position in an
//! expression, the unknown column.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use futures::TryStreamExt;
use serde_json::{Value, json};
use tarn::expr::ExprError;
use tarn::{Error, Expr, Table};

use crate::common::delta_table::DeltaTableBuilder;
use crate::common::{block_on, uri};

fn id_name_schema() -> Value {
    json!({"type": "struct", "fields": [
        {"name": "id", "type": "long", "nullable": true, "metadata": {}},
        {"name": "name", "type": "string", "nullable": true, "metadata": {}},
    ]})
}

fn id_name_batch(ids: std::ops::Range<i64>) -> RecordBatch {
    let names: Vec<String> = ids.clone().map(|i| format!("name-{i}")).collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
        ])),
        vec![
            Arc::new(Int64Array::from_iter_values(ids)) as ArrayRef,
            Arc::new(StringArray::from(names)),
        ],
    )
    .unwrap()
}

/// A table of two good files (ids 0..10 and 10..20) and whatever `damage` adds or changes.
fn table_with(dir: &Path, damage: impl FnOnce(&mut DeltaTableBuilder)) -> PathBuf {
    let mut builder = DeltaTableBuilder::new(&dir.join("table"), id_name_schema(), &[]);
    builder.write_file(&[], &id_name_batch(0..10), None);
    builder.write_file(&[], &id_name_batch(10..20), None);
    damage(&mut builder);
    builder.commit()
}

/// Scans the whole table (optionally filtered) and returns the error it must end with.
fn scan_error(table: &Path, filter: Option<&str>) -> Error {
    let result: tarn::Result<usize> = block_on(async {
        let snapshot = Table::open(uri(table)).await?.snapshot().await?;
        let mut builder = snapshot.scan();
        if let Some(sql) = filter {
            builder = builder.with_filter(Expr::parse(sql)?);
        }
        let batches: Vec<RecordBatch> = builder.build().await?.execute().try_collect().await?;
        Ok(batches.iter().map(RecordBatch::num_rows).sum())
    });
    match result {
        Ok(rows) => panic!("{filter:?}: the scan succeeded with {rows} rows"),
        Err(err) => err,
    }
}

/// Deterministic bytes that are not Parquet.
fn noise(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x2545_f491;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect()
}

#[test]
fn a_missing_data_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut gone = String::new();
    let table = table_with(dir.path(), |b| {
        gone = b.write_file(&[], &id_name_batch(20..30), None);
    });
    std::fs::remove_file(table.join(&gone)).unwrap();
    let err = scan_error(&table, None);
    let text = err.to_string();
    assert!(matches!(err, Error::MissingDataFile { .. }), "{err:?}");
    assert!(text.contains(&gone), "{text}");
    assert!(text.contains("not found"), "{text}");
    // Planning reads no data; explaining reads footers, and fails the same way.
    let err = block_on(async {
        let snapshot = Table::open(uri(&table)).await?.snapshot().await?;
        snapshot.scan().build().await?.explain().await
    })
    .unwrap_err();
    assert!(matches!(err, Error::MissingDataFile { .. }), "{err:?}");
    assert!(err.to_string().contains(&gone), "{err}");
}

#[test]
fn random_bytes_are_a_corrupt_data_file_named_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = String::new();
    let table = table_with(dir.path(), |b| {
        bad = b.write_raw_file(&[], &noise(2_000), Some(json!({"numRecords": 10})));
    });
    let err = scan_error(&table, None);
    assert!(matches!(err, Error::CorruptDataFile { .. }), "{err:?}");
    assert!(err.to_string().contains(&bad), "{err}");
    // A filter changes nothing: the file cannot be ruled out, so it is read.
    let err = scan_error(&table, Some("id >= 0"));
    assert!(err.to_string().contains(&bad), "{err}");
}

#[test]
fn a_truncated_data_file_is_named_by_path() {
    // The log's size agrees with the truncated file, and the log's size is stale (the file
    // was cut after the commit).
    for size_in_log_is_stale in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut cut = String::new();
        let table = table_with(dir.path(), |b| {
            cut = b.write_file(&[], &id_name_batch(20..30), None);
            let path = b.root().join(&cut);
            let bytes = std::fs::read(&path).unwrap();
            let half = bytes.len() / 2;
            std::fs::write(&path, &bytes[..half]).unwrap();
            if !size_in_log_is_stale {
                b.add_mut(&cut).insert("size".into(), json!(half));
            }
        });
        let err = scan_error(&table, None);
        let text = err.to_string();
        assert!(
            text.contains(&cut),
            "stale size {size_in_log_is_stale}: {text}"
        );
        assert!(
            matches!(err, Error::CorruptDataFile { .. } | Error::Storage { .. }),
            "stale size {size_in_log_is_stale}: {err:?}"
        );
    }
}

/// A file whose `id` column holds strings, under a table that declares `id` a long.
fn table_with_string_ids(dir: &Path, ids: &[&str]) -> (PathBuf, String) {
    let mut bad = String::new();
    let ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    let table = table_with(dir, |b| {
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("id", DataType::Utf8, true),
                Field::new("name", DataType::Utf8, true),
            ])),
            vec![
                Arc::new(StringArray::from(ids.clone())) as ArrayRef,
                Arc::new(StringArray::from(vec!["x"; ids.len()])),
            ],
        )
        .unwrap();
        bad = b.write_file(&[], &batch, None);
        // The statistics a writer would record for a long column cannot be built from
        // strings; without them the file is always read.
        b.add_mut(&bad).insert(
            "stats".into(),
            json!(json!({"numRecords": ids.len()}).to_string()),
        );
    });
    (table, bad)
}

#[test]
fn a_column_whose_type_contradicts_the_schema_names_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let (table, bad) = table_with_string_ids(dir.path(), &["one", "two", "three"]);
    for filter in [None, Some("id >= 0"), Some("name = 'x'")] {
        let err = scan_error(&table, filter);
        let text = err.to_string();
        assert!(
            matches!(err, Error::CorruptDataFile { .. }),
            "{filter:?}: {err:?}"
        );
        assert!(text.contains(&bad), "{filter:?}: {text}");
        assert!(text.contains("`id`"), "{filter:?}: {text}");
    }

    // Strings that look like numbers are not reinterpreted as numbers either.
    let dir = tempfile::tempdir().unwrap();
    let (table, bad) = table_with_string_ids(dir.path(), &["1", "100", "9"]);
    for filter in [None, Some("id >= 0")] {
        let err = scan_error(&table, filter);
        let text = err.to_string();
        assert!(
            text.contains(&bad) && text.contains("`id`"),
            "{filter:?}: {text}"
        );
    }

    // And the other way round: numbers in a string column.
    let dir = tempfile::tempdir().unwrap();
    let mut bad = String::new();
    let table = table_with(dir.path(), |b| {
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("id", DataType::Int64, true),
                Field::new("name", DataType::Int64, true),
            ])),
            vec![
                Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef,
                Arc::new(Int64Array::from(vec![3, 4])),
            ],
        )
        .unwrap();
        bad = b.write_file(&[], &batch, None);
    });
    let text = scan_error(&table, None).to_string();
    assert!(text.contains(&bad) && text.contains("`name`"), "{text}");
}

/// Statistics computed from a file are judged on its data as the table declares it: a file
/// whose `id` strings are `"1"`, `"100"`, `"9"` has Parquet string statistics min `"1"` and
/// max `"9"`. Row-group pruning must not read those as the numbers 1 and 9 and skip the file
/// for `id = 100`: the file contradicts the schema, and the scan must say so.
#[test]
fn a_column_whose_type_contradicts_the_schema_fails_whatever_the_filter() {
    let dir = tempfile::tempdir().unwrap();
    let (table, bad) = table_with_string_ids(dir.path(), &["1", "100", "9"]);
    let err = scan_error(&table, Some("id = 100"));
    let text = err.to_string();
    assert!(text.contains(&bad) && text.contains("`id`"), "{text}");
}

fn dv_protocol() -> Value {
    json!({
        "minReaderVersion": 3, "minWriterVersion": 7,
        "readerFeatures": ["deletionVectors"], "writerFeatures": ["deletionVectors"],
    })
}

/// A table whose second file has a deletion vector over rows 1 and 3; returns the vector
/// file's path.
fn table_with_deletion_vector(dir: &Path) -> (PathBuf, PathBuf) {
    let mut builder =
        DeltaTableBuilder::new(&dir.join("dv"), id_name_schema(), &[]).with_protocol(dv_protocol());
    builder.write_file(&[], &id_name_batch(0..10), None);
    let second = builder.write_file(&[], &id_name_batch(10..20), None);
    let dv = builder.attach_deletion_vector(&second, &[1, 3], 0x11);
    (builder.commit(), dv)
}

#[test]
fn a_missing_deletion_vector_file_fails_the_scan_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (table, dv) = table_with_deletion_vector(dir.path());
    let name = dv.file_name().unwrap().to_str().unwrap().to_owned();
    std::fs::remove_file(&dv).unwrap();
    for filter in [None, Some("id >= 10")] {
        let err = scan_error(&table, filter);
        assert!(matches!(err, Error::DeletionVector { .. }), "{err:?}");
        assert!(err.to_string().contains(&name), "{err}");
    }
}

#[test]
fn a_deletion_vector_with_a_bad_checksum_fails_the_scan_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (table, dv) = table_with_deletion_vector(dir.path());
    let name = dv.file_name().unwrap().to_str().unwrap().to_owned();
    let mut bytes = std::fs::read(&dv).unwrap();
    // Format byte, 4-byte size, then the bitmap: flip a bit of its last byte.
    let last_bitmap_byte = bytes.len() - 5;
    bytes[last_bitmap_byte] ^= 0x01;
    std::fs::write(&dv, bytes).unwrap();
    let err = scan_error(&table, None);
    let text = err.to_string();
    assert!(matches!(err, Error::DeletionVector { .. }), "{err:?}");
    assert!(text.contains(&name), "{text}");
    assert!(text.contains("checksum"), "{text}");
}

#[test]
fn an_unknown_reader_feature_is_refused_by_the_snapshot_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut builder = DeltaTableBuilder::new(&dir.path().join("future"), id_name_schema(), &[])
        .with_protocol(json!({
            "minReaderVersion": 3, "minWriterVersion": 7,
            "readerFeatures": ["someFutureFeature"], "writerFeatures": ["someFutureFeature"],
        }));
    builder.write_file(&[], &id_name_batch(0..10), None);
    let table = builder.commit();
    let err = block_on(async { Table::open(uri(&table)).await?.snapshot().await }).unwrap_err();
    assert!(err.to_string().contains("someFutureFeature"), "{err}");
}

#[test]
fn variant_shredding_preview_tables_are_accepted_by_the_snapshot_and_by_scans() {
    let dir = tempfile::tempdir().unwrap();
    let features = ["variantType-preview", "variantShredding-preview"];
    let mut builder = DeltaTableBuilder::new(&dir.path().join("shredded"), id_name_schema(), &[])
        .with_protocol(json!({
            "minReaderVersion": 3, "minWriterVersion": 7,
            "readerFeatures": features, "writerFeatures": features,
        }));
    builder.write_file(&[], &id_name_batch(0..10), None);
    let table = builder.commit();
    let rows = block_on(async {
        let snapshot = Table::open(uri(&table)).await?.snapshot().await?;
        assert_eq!(snapshot.num_files(), 1);
        let batches: Vec<_> = snapshot
            .scan()
            .build()
            .await?
            .execute()
            .try_collect()
            .await?;
        Ok::<_, Error>(batches.iter().map(|b| b.num_rows()).sum::<usize>())
    })
    .unwrap();
    assert_eq!(rows, 10);
}

#[test]
fn a_bad_expression_names_its_position() {
    let cases: [(&str, u64, u64, &str); 4] = [
        ("id > > 3", 1, 6, ">"),
        ("id = 3 AND\n  name = = 'x'", 2, 10, "="),
        ("id = 3)", 1, 7, ")"),
        ("(id = 3", 1, 8, ""),
    ];
    for (sql, want_line, want_column, want_token) in cases {
        let err = Expr::parse(sql).unwrap_err();
        let ExprError::Parse {
            line,
            column,
            ref token,
            ..
        } = err
        else {
            panic!("{sql:?}: {err:?}");
        };
        assert_eq!((line, column), (want_line, want_column), "{sql:?}: {err}");
        if !want_token.is_empty() {
            assert_eq!(token, want_token, "{sql:?}: {err}");
        }
        let text = Error::from(err.clone()).to_string();
        assert!(
            text.contains(&format!("line {want_line}, column {want_column}")),
            "{sql:?}: {text}"
        );
    }
    let err = Expr::parse("lower(name) = 'x'").unwrap_err();
    assert!(
        matches!(err, ExprError::Unsupported { column: 1, .. }),
        "{err:?}"
    );
    let err = Expr::parse("id = 1 AND day = DATE '2026-13-01'").unwrap_err();
    assert!(
        matches!(err, ExprError::InvalidLiteral { column: 23, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("2026-13-01"), "{err}");
}

#[test]
fn an_unknown_column_in_the_projection_or_the_filter_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let table = table_with(dir.path(), |_| {});
    block_on(async {
        let snapshot = Table::open(uri(&table))
            .await
            .unwrap()
            .snapshot()
            .await
            .unwrap();
        let err = snapshot
            .scan()
            .with_columns(["id", "nope"])
            .build()
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
        assert!(
            text.contains("`nope`") && text.contains("id, name"),
            "{text}"
        );

        let build = |sql: &str| {
            snapshot
                .scan()
                .with_filter(Expr::parse(sql).unwrap())
                .build()
        };
        let err = build("nope > 3").await.unwrap_err();
        assert!(
            matches!(&err, Error::Expression(ExprError::UnknownColumn { column, .. }) if column == "nope"),
            "{err:?}"
        );
        assert!(err.to_string().contains("`nope`"), "{err}");
        let err = build("idd > 3 AND name = 'x'").await.unwrap_err();
        assert!(err.to_string().contains("`idd`"), "{err}");
        assert!(err.to_string().contains("did you mean `id`"), "{err}");
        // A literal that cannot be read as the column's type names both.
        let err = build("id = 'abc'").await.unwrap_err();
        assert!(
            err.to_string().contains("id") && err.to_string().contains("abc"),
            "{err}"
        );
    });
}

#[test]
fn a_partition_value_that_does_not_parse_names_column_and_value() {
    let schema = json!({"type": "struct", "fields": [
        {"name": "day", "type": "date", "nullable": true, "metadata": {}},
        {"name": "id", "type": "long", "nullable": true, "metadata": {}},
    ]});
    let dir = tempfile::tempdir().unwrap();
    let mut builder = DeltaTableBuilder::new(&dir.path().join("bad_partition"), schema, &["day"]);
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)])),
        vec![Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef],
    )
    .unwrap();
    builder.write_file(&[("day", Some("2026-01-07"))], &batch, None);
    builder.write_file(&[("day", Some("yesterday"))], &batch, None);
    let table = builder.commit();
    let err = scan_error(&table, None);
    let text = err.to_string();
    assert!(text.contains("day") && text.contains("yesterday"), "{text}");
}
