//! Pruning on tables other than the sample table: timestamp statistics with UTC offsets, row
//! groups, column mapping, deletion vectors and limits.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use serde_json::json;
use tarn::Expr;

use super::{ids, open, scan};
use crate::common::delta_table::{DeltaTableBuilder, field_with_id, timestamp_text};
use crate::common::sample_table::{self, file_index};
use crate::common::{block_on, fixture_table};

/// Delta-Spark writes timestamp statistics in the session time zone
/// (`2026-01-07T15:30:00.010+05:30`): the offset must be applied, or files are skipped wrongly.
#[test]
fn timestamp_statistics_with_a_utc_offset_are_read_as_instants() {
    let schema = json!({"type": "struct", "fields": [
        {"name": "ts", "type": "timestamp", "nullable": true, "metadata": {}},
    ]});
    let dir = tempfile::tempdir().unwrap();
    let mut builder = DeltaTableBuilder::new(&dir.path().join("offsets"), schema, &[]);
    let arrow_schema = Arc::new(Schema::new(vec![Field::new(
        "ts",
        DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, Some("UTC".into())),
        true,
    )]));
    let base = sample_table::ts_base();
    let mut all = Vec::new();
    for f in 0..3i64 {
        let values: Vec<i64> = [123, 456, 9_789]
            .iter()
            .map(|us| base + f * 10_000 + us)
            .collect();
        all.extend(values.iter().copied());
        let batch = RecordBatch::try_new(
            Arc::clone(&arrow_schema),
            vec![Arc::new(
                arrow_array::TimestampMicrosecondArray::from(values.clone()).with_timezone("UTC"),
            ) as ArrayRef],
        )
        .unwrap();
        let path = builder.write_file(&[], &batch, None);
        let in_india = |us: i64| {
            (chrono::DateTime::from_timestamp_micros(us.div_euclid(1000) * 1000).unwrap()
                + chrono::Duration::minutes(330))
            .format("%Y-%m-%dT%H:%M:%S%.3f+05:30")
            .to_string()
        };
        let stats = json!({
            "numRecords": 3,
            "minValues": {"ts": in_india(values[0])},
            "maxValues": {"ts": in_india(values[2])},
            "nullCount": {"ts": 0},
        });
        builder
            .add_mut(&path)
            .insert("stats".into(), json!(stats.to_string()));
    }
    let table = builder.commit();
    block_on(async {
        let snapshot = open(&table).await;
        for &value in &all {
            for (op, test) in [
                ("=", Ordering::is_eq as fn(Ordering) -> bool),
                ("<=", Ordering::is_le),
                (">=", Ordering::is_ge),
            ] {
                let sql = format!("ts {op} TIMESTAMP '{}'", timestamp_text(value));
                let outcome = scan(&snapshot, Some(&sql), None).await;
                let got: Vec<i64> = outcome
                    .batches
                    .iter()
                    .flat_map(|b| {
                        b.column(0)
                            .as_primitive::<arrow_array::types::TimestampMicrosecondType>()
                            .values()
                            .to_vec()
                    })
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let want: Vec<i64> = all
                    .iter()
                    .copied()
                    .filter(|v| test(v.cmp(&value)))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                assert_eq!(got, want, "{sql}");
            }
        }
        // The statistics still prune: the middle file only.
        let middle = scan(
            &snapshot,
            Some(&format!(
                "ts = TIMESTAMP '{}'",
                timestamp_text(base + 10_456)
            )),
            None,
        )
        .await;
        assert_eq!(middle.kept.len(), 1, "{:?}", middle.metrics);
    });
}

// ---------------------------------------------------------------------------------------------
// Row groups.

/// One file of 10,000 rows with sorted ids in row groups of 500; `value` is the id, except a
/// NaN at id 7; `name` is 70 characters (longer than Parquet's 64-byte statistics).
fn write_row_group_table(dir: &Path) -> PathBuf {
    let schema = json!({"type": "struct", "fields": [
        {"name": "id", "type": "long", "nullable": true, "metadata": {}},
        {"name": "value", "type": "double", "nullable": true, "metadata": {}},
        {"name": "name", "type": "string", "nullable": true, "metadata": {}},
    ]});
    let mut builder = DeltaTableBuilder::new(&dir.join("row_groups"), schema, &[]);
    let ids: Vec<i64> = (0..10_000).collect();
    let values: Vec<f64> = ids
        .iter()
        .map(|&id| if id == 7 { f64::NAN } else { id as f64 })
        .collect();
    let names: Vec<String> = ids
        .iter()
        .map(|id| format!("{}{id:05}", "n".repeat(65)))
        .collect();
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("value", DataType::Float64, true),
            Field::new("name", DataType::Utf8, true),
        ])),
        vec![
            Arc::new(Int64Array::from(ids)) as ArrayRef,
            Arc::new(Float64Array::from(values)),
            Arc::new(StringArray::from(names)),
        ],
    )
    .unwrap();
    builder.write_file(&[], &batch, Some(500));
    builder.commit()
}

#[test]
fn row_group_statistics_reduce_the_rows_read() {
    let dir = tempfile::tempdir().unwrap();
    let table = write_row_group_table(dir.path());
    block_on(async {
        let snapshot = open(&table).await;
        let narrow = "id BETWEEN 4200 AND 4300";
        let planned = snapshot
            .scan()
            .with_filter(Expr::parse(narrow).unwrap())
            .build()
            .await
            .unwrap();
        assert_eq!(planned.files().len(), 1);
        let explained = planned.explain().await.unwrap();
        assert_eq!(explained.row_groups_total, 20);
        assert_eq!(explained.row_groups_pruned, 19);
        assert_eq!(explained.rows_read, 0, "explain reads no data");

        let outcome = scan(&snapshot, Some(narrow), None).await;
        assert_eq!(ids(&outcome.batches), (4200..=4300).collect::<Vec<_>>());
        let m = outcome.metrics;
        assert_eq!((m.row_groups_total, m.row_groups_pruned), (20, 19));
        assert_eq!(m.rows_read, 500);
        assert_eq!(m.files_read, 1);

        let two_ends = scan(&snapshot, Some("id >= 9990 OR id < 3"), None).await;
        let mut want: Vec<i64> = (0..3).collect();
        want.extend(9990..10_000);
        assert_eq!(ids(&two_ends.batches), want);
        assert_eq!(two_ends.metrics.row_groups_pruned, 18);
        assert_eq!(two_ends.metrics.rows_read, 1000);

        // The NaN at id 7 is above 1e6; its row group's maximum (499) leaves NaN out.
        let nan = scan(&snapshot, Some("value > 1000000"), None).await;
        assert_eq!(ids(&nan.batches), [7]);
        assert!(nan.metrics.rows_read >= 500);

        // String statistics are truncated to 64 bytes: the maximum is not exact.
        let name = format!("{}09999", "n".repeat(65));
        let last = scan(&snapshot, Some(&format!("name >= '{name}'")), None).await;
        assert_eq!(ids(&last.batches), [9999]);
        let first = scan(
            &snapshot,
            Some(&format!("name < '{}00001'", "n".repeat(65))),
            None,
        )
        .await;
        assert_eq!(ids(&first.batches), [0]);
    });
}

// ---------------------------------------------------------------------------------------------
// Column mapping.

#[test]
fn column_mapped_table_prunes_by_physical_statistics_keys() {
    const ID: &str = "col-8f2e1c3a-id";
    const SCORE: &str = "col-1b7d9e40-score";
    const PART: &str = "col-44aa0c21-part";
    let field = |name: &str, ty: &str, id: i64, physical: &str| {
        json!({"name": name, "type": ty, "nullable": true, "metadata": {
            "delta.columnMapping.id": id,
            "delta.columnMapping.physicalName": physical,
        }})
    };
    let schema = json!({"type": "struct", "fields": [
        field("user id", "long", 1, ID),
        field("Score", "double", 2, SCORE),
        field("part", "string", 3, PART),
    ]});
    let dir = tempfile::tempdir().unwrap();
    let mut builder = DeltaTableBuilder::new(&dir.path().join("mapped"), schema, &["part"])
        .with_protocol(json!({"minReaderVersion": 2, "minWriterVersion": 5}))
        .with_configuration("delta.columnMapping.mode", "name")
        .with_configuration("delta.columnMapping.maxColumnId", "3");
    let arrow_schema = Arc::new(Schema::new(vec![
        field_with_id(ID, DataType::Int64, 1),
        field_with_id(SCORE, DataType::Float64, 2),
    ]));
    let mut expected = Vec::new();
    for f in 0..6i64 {
        let ids: Vec<i64> = (f * 1000..f * 1000 + 50).collect();
        let scores: Vec<f64> = ids.iter().map(|&i| i as f64 / 10.0).collect();
        let part = if f % 2 == 0 { "a" } else { "b" };
        expected.extend(ids.iter().map(|&i| (i, part)));
        let batch = RecordBatch::try_new(
            Arc::clone(&arrow_schema),
            vec![
                Arc::new(Int64Array::from(ids)) as ArrayRef,
                Arc::new(Float64Array::from(scores)),
            ],
        )
        .unwrap();
        builder.write_file(&[(PART, Some(part))], &batch, None);
    }
    let table = builder.commit();
    block_on(async {
        let snapshot = open(&table).await;
        type Selects = fn(i64, &str) -> bool;
        let cases: [(&str, Selects, Vec<usize>, u64, u64); 5] = [
            (
                "\"user id\" BETWEEN 2010 AND 2020",
                |id, _| (2010..=2020).contains(&id),
                vec![2],
                5,
                0,
            ),
            ("\"user id\" >= 4049", |id, _| id >= 4049, vec![4, 5], 4, 0),
            ("\"user id\" > 100000", |id, _| id > 100_000, vec![], 6, 0),
            (
                "Score < 100.0",
                |id, _| (id as f64 / 10.0) < 100.0,
                vec![0],
                5,
                0,
            ),
            (
                "part = 'b' AND \"user id\" < 3000",
                |id, part| part == "b" && id < 3000,
                vec![1],
                2,
                3,
            ),
        ];
        for (sql, selects, files, pruned_by_stats, pruned_by_partition) in cases {
            let outcome = scan(&snapshot, Some(sql), None).await;
            let kept: Vec<usize> = outcome.kept.iter().map(|p| file_index(p)).collect();
            assert_eq!(kept, files, "{sql}");
            assert_eq!(
                outcome.metrics.files_pruned_by_stats, pruned_by_stats,
                "{sql}"
            );
            assert_eq!(
                outcome.metrics.files_pruned_by_partition, pruned_by_partition,
                "{sql}"
            );
            if let Some(batch) = outcome.batches.first() {
                let names: Vec<&str> = batch
                    .schema_ref()
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect();
                assert_eq!(names, ["user id", "Score", "part"]);
            }
            let got = ids_of_column(&outcome.batches, "user id");
            let mut want: Vec<i64> = expected
                .iter()
                .filter(|(id, part)| selects(*id, part))
                .map(|(id, _)| *id)
                .collect();
            want.sort_unstable();
            assert_eq!(got, want, "{sql}");
        }
    });
}

fn ids_of_column(batches: &[RecordBatch], column: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            b.column_by_name(column)
                .unwrap()
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        })
        .collect();
    ids.sort_unstable();
    ids
}

// ---------------------------------------------------------------------------------------------
// Deletion vectors.

/// Rows deleted from the first file of the deletion-vector table.
const DELETED: [u64; 16] = [0, 3, 15, 16, 17, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 99];

/// File 0: ids 0..100 in row groups of 16, with a deletion vector over [`DELETED`]; file 1:
/// ids 100..150, none deleted.
fn write_dv_table(dir: &Path) -> PathBuf {
    let schema = json!({"type": "struct", "fields": [
        {"name": "id", "type": "long", "nullable": true, "metadata": {}},
    ]});
    let mut builder = DeltaTableBuilder::new(&dir.join("dv"), schema, &[])
        .with_protocol(json!({
            "minReaderVersion": 3, "minWriterVersion": 7,
            "readerFeatures": ["deletionVectors"], "writerFeatures": ["deletionVectors"],
        }))
        .with_configuration("delta.enableDeletionVectors", "true");
    let arrow_schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
    let batch = |ids: std::ops::Range<i64>| {
        RecordBatch::try_new(
            Arc::clone(&arrow_schema),
            vec![Arc::new(Int64Array::from_iter_values(ids)) as ArrayRef],
        )
        .unwrap()
    };
    let first = builder.write_file(&[], &batch(0..100), Some(16));
    builder.write_file(&[], &batch(100..150), None);
    builder.attach_deletion_vector(&first, &DELETED, 0x5a);
    builder.commit()
}

fn live_ids() -> Vec<i64> {
    (0..150)
        .filter(|id| !DELETED.contains(&(*id as u64)))
        .collect()
}

#[test]
fn deleted_rows_never_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let table = write_dv_table(dir.path());
    block_on(async {
        let snapshot = open(&table).await;
        let all = scan(&snapshot, None, None).await;
        assert_eq!(ids(&all.batches), live_ids());
        for (sql, keep) in [
            (
                "id < 20",
                Box::new(|id: i64| id < 20) as Box<dyn Fn(i64) -> bool>,
            ),
            (
                "id IN (0, 3, 4, 99, 100)",
                Box::new(|id| [0, 3, 4, 99, 100].contains(&id)),
            ),
            (
                "id BETWEEN 50 AND 59",
                Box::new(|id| (50..=59).contains(&id)),
            ),
            ("id = 99 OR id >= 148", Box::new(|id| id == 99 || id >= 148)),
            ("NOT (id >= 1)", Box::new(|id| id < 1)),
            (
                "id BETWEEN 60 AND 70",
                Box::new(|id| (60..=70).contains(&id)),
            ),
            (
                "id >= 18 AND id < 20",
                Box::new(|id| (18..20).contains(&id)),
            ),
        ] {
            let outcome = scan(&snapshot, Some(sql), None).await;
            let want: Vec<i64> = live_ids().into_iter().filter(|&id| keep(id)).collect();
            assert_eq!(ids(&outcome.batches), want, "{sql}");
        }
        for limit in [0, 1, 10, 84, 85, 133, 134, 135, 1000] {
            let outcome = scan(&snapshot, None, Some(limit)).await;
            let got = ids(&outcome.batches);
            assert_eq!(got.len(), limit.min(134), "limit {limit}");
            assert!(
                got.iter().all(|id| live_ids().contains(id)),
                "limit {limit}: {got:?}"
            );
            let filtered = scan(&snapshot, Some("id < 60"), Some(limit)).await;
            let got = ids(&filtered.batches);
            assert_eq!(got.len(), limit.min(60 - 15), "id < 60 limit {limit}");
            assert!(got.iter().all(|id| *id < 60 && live_ids().contains(id)));
        }
    });
}

#[test]
fn fixture_deletion_vector_rows_stay_deleted() {
    let table = fixture_table("table-with-dv-small");
    block_on(async {
        let snapshot = open(&table).await;
        let values = |batches: &[RecordBatch]| {
            let mut v: Vec<i32> = batches
                .iter()
                .flat_map(|b| {
                    b.column(0)
                        .as_primitive::<arrow_array::types::Int32Type>()
                        .values()
                        .to_vec()
                })
                .collect();
            v.sort_unstable();
            v
        };
        let all = scan(&snapshot, None, None).await;
        assert_eq!(values(&all.batches), (1..=8).collect::<Vec<_>>());
        let deleted = scan(&snapshot, Some("value IN (0, 9)"), None).await;
        assert_eq!(values(&deleted.batches), Vec::<i32>::new());
        let edge = scan(&snapshot, Some("value <= 1 OR value >= 8"), None).await;
        assert_eq!(values(&edge.batches), [1, 8]);
        for limit in [1, 7, 8, 9, 10] {
            let limited = scan(&snapshot, None, Some(limit)).await;
            let got = values(&limited.batches);
            assert_eq!(got.len(), limit.min(8), "limit {limit}");
            assert!(
                got.iter().all(|v| (1..=8).contains(v)),
                "limit {limit}: {got:?}"
            );
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Limits.

/// 40 files of 10 rows, ids 0..400 in order; with or without statistics in the log.
fn write_many_files(dir: &Path, with_stats: bool) -> PathBuf {
    let schema = json!({"type": "struct", "fields": [
        {"name": "id", "type": "long", "nullable": true, "metadata": {}},
    ]});
    let name = if with_stats {
        "many_stats"
    } else {
        "many_no_stats"
    };
    let mut builder = DeltaTableBuilder::new(&dir.join(name), schema, &[]);
    let arrow_schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
    for f in 0..40i64 {
        let batch = RecordBatch::try_new(
            Arc::clone(&arrow_schema),
            vec![Arc::new(Int64Array::from_iter_values(f * 10..f * 10 + 10)) as ArrayRef],
        )
        .unwrap();
        let path = builder.write_file(&[], &batch, None);
        if !with_stats {
            builder.add_mut(&path).remove("stats");
        }
    }
    builder.commit()
}

fn assert_distinct_and_within(got: &[i64], range: std::ops::Range<i64>, what: &str) {
    let distinct: BTreeSet<&i64> = got.iter().collect();
    assert_eq!(distinct.len(), got.len(), "{what}: duplicates in {got:?}");
    assert!(got.iter().all(|id| range.contains(id)), "{what}: {got:?}");
}

#[test]
fn limit_returns_exactly_n_rows_and_reads_fewer_files() {
    let dir = tempfile::tempdir().unwrap();
    for with_stats in [true, false] {
        let table = write_many_files(dir.path(), with_stats);
        block_on(async {
            let snapshot = open(&table).await;
            for limit in [0, 1, 7, 10, 11, 25, 399, 400, 401, 1000] {
                let what = format!("stats {with_stats}, limit {limit}");
                let outcome = scan(&snapshot, None, Some(limit)).await;
                let got = ids(&outcome.batches);
                assert_eq!(got.len(), limit.min(400), "{what}");
                assert_distinct_and_within(&got, 0..400, &what);
                let filtered = scan(&snapshot, Some("id >= 200"), Some(limit)).await;
                let got = ids(&filtered.batches);
                assert_eq!(got.len(), limit.min(200), "{what}, id >= 200");
                assert_distinct_and_within(&got, 200..400, &what);
            }
            // A small limit reads a few files, not all 40.
            let outcome = scan(&snapshot, None, Some(5)).await;
            let m = outcome.metrics;
            assert!(m.files_read < 40, "stats {with_stats}: {m:?}");
            assert!(m.rows_read < 400, "stats {with_stats}: {m:?}");
            if with_stats {
                // The record counts say the first file covers the limit.
                assert_eq!(outcome.kept.len(), 1, "{m:?}");
                assert_eq!(m.files_skipped_by_limit, 39);
                assert_eq!(m.rows_read, 10);
            }
            let filtered = scan(&snapshot, Some("id >= 200"), Some(5)).await;
            let m = filtered.metrics;
            assert!(m.files_read < 20, "stats {with_stats}, filtered: {m:?}");
            assert!(m.rows_read < 200, "stats {with_stats}, filtered: {m:?}");
            if with_stats {
                assert_eq!(m.files_pruned_by_stats, 20);
            }
        });
    }
}
