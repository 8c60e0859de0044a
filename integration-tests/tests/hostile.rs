//! Hostile logs: a real table whose log was edited to lie, and every operation tried on it.
//!
//! Each case edits the log (or a file the log names) of a fresh, partitioned table written by
//! tarn, then runs what users run: load, scan, a delete, an append, a checkpoint. The read
//! either answers right or fails with the asserted error variant; a write never commits on
//! top of a log it cannot read; and nothing outside the table changes: a directory beside the
//! table, holding a Parquet file a crafted `../` path names and a file a crafted deletion
//! vector names, is compared byte for byte and by modification time before and after.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use futures::TryStreamExt;
use serde_json::Value;
use tarn::protocol::ProtocolError;
use tarn::{Error, Expr, LogError, Table};

use crate::common::{block_on, commit_path, delta_log, uri};

/// Every file under `dir`: its bytes and modification time.
fn contents(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            out.extend(contents(&path));
        } else if meta.is_file() {
            out.insert(
                path.clone(),
                (std::fs::read(&path).unwrap(), meta.modified().unwrap()),
            );
        }
    }
    out
}

/// A table with two commits (rows in two partitions) beside an `outside` directory.
struct Setup {
    _dir: tempfile::TempDir,
    table: PathBuf,
    outside: PathBuf,
}

fn rows(ids: &[i64], days: &[&str]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("day", DataType::Utf8, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ids.to_vec())),
            Arc::new(StringArray::from(days.to_vec())),
        ],
    )
    .unwrap()
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("table");
    let outside = dir.path().join("outside");
    block_on(async {
        let t = Table::open(uri(&table)).await.unwrap();
        t.write()
            .with_partition_columns(["day"])
            .execute_batches(vec![rows(&[1, 2], &["a", "b"])])
            .await
            .unwrap();
        t.write()
            .execute_batches(vec![rows(&[3], &["a"])])
            .await
            .unwrap();
    });
    std::fs::create_dir(&outside).unwrap();
    // A valid data file outside the table, which a crafted `../` path names.
    let data = first_add(&table)["path"].as_str().unwrap().to_owned();
    std::fs::copy(table.join(&data), outside.join("victim.parquet")).unwrap();
    std::fs::write(outside.join("secret.txt"), b"not the table's").unwrap();
    Setup {
        _dir: dir,
        table,
        outside,
    }
}

/// The JSON actions of a commit.
fn read_commit(table: &Path, version: u64) -> Vec<Value> {
    std::fs::read_to_string(commit_path(table, version))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn write_commit(table: &Path, version: u64, actions: &[Value]) {
    let text: String = actions.iter().map(|a| format!("{a}\n")).collect();
    std::fs::write(commit_path(table, version), text).unwrap();
}

fn first_add(table: &Path) -> Value {
    read_commit(table, 0)
        .into_iter()
        .find_map(|a| a.get("add").cloned())
        .unwrap()
}

/// A change to one `add` action.
type AddEdit = fn(&mut serde_json::Map<String, Value>);

/// Edits the first `add` of version 0.
fn edit_first_add(table: &Path, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) {
    let mut actions = read_commit(table, 0);
    let add = actions
        .iter_mut()
        .find_map(|a| a.get_mut("add"))
        .unwrap()
        .as_object_mut()
        .unwrap();
    edit(add);
    write_commit(table, 0, &actions);
}

/// The rows of the latest version, sorted, or the error.
async fn scan(table: &Table, filter: Option<&str>) -> tarn::Result<Vec<i64>> {
    let snapshot = table.snapshot().await?;
    let mut scan = snapshot.scan();
    if let Some(filter) = filter {
        scan = scan.with_filter(Expr::parse(filter).unwrap());
    }
    let batches: Vec<RecordBatch> = scan.build().await?.execute().try_collect().await?;
    let mut ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("id")
                .unwrap()
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .iter()
                .flatten()
                .collect::<Vec<_>>()
        })
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

/// What every case checks after its own assertions: the outside directory is untouched, and
/// a delete, an append and a checkpoint either succeed or fail without committing; when the
/// log cannot be read, none of them commits a version on top of it.
async fn writes_commit_nothing_on_an_unreadable_log(
    setup: &Setup,
    before_outside: &BTreeMap<PathBuf, (Vec<u8>, SystemTime)>,
) {
    let table = Table::open(uri(&setup.table)).await.unwrap();
    let delete = table
        .delete()
        .with_predicate(Expr::parse("id = 1").unwrap())
        .execute()
        .await;
    let append = table
        .write()
        .execute_batches(vec![rows(&[9], &["a"])])
        .await;
    let checkpoint = table.checkpoint().execute().await;
    for (what, failed) in [
        ("delete", delete.is_err()),
        ("append", append.is_err()),
        ("checkpoint", checkpoint.is_err()),
    ] {
        assert!(failed, "{what} succeeded on a log tarn cannot read");
    }
    assert_eq!(
        crate::common::commit_versions(&setup.table),
        [0, 1],
        "a version was committed on top of an unreadable log"
    );
    assert_eq!(
        &contents(&setup.outside),
        before_outside,
        "files outside the table changed"
    );
}

fn run_case<T>(edit: impl FnOnce(&Setup) -> T, check: impl AsyncFnOnce(&Setup, Table, T)) {
    let setup = setup();
    let value = edit(&setup);
    let outside = contents(&setup.outside);
    block_on(async {
        let table = Table::open(uri(&setup.table)).await.unwrap();
        check(&setup, table, value).await;
    });
    assert_eq!(
        contents(&setup.outside),
        outside,
        "files outside the table changed"
    );
}

#[test]
fn a_data_path_leaving_the_table_with_dot_dot_is_refused() {
    for path in [
        "../outside/victim.parquet",
        "day=a/../../outside/victim.parquet",
        "%2E%2E/outside/victim.parquet",
    ] {
        run_case(
            |s| {
                edit_first_add(&s.table, |add| {
                    add.insert("path".into(), Value::from(path));
                })
            },
            async |setup, table, ()| {
                match scan(&table, None).await {
                    Err(Error::Protocol(ProtocolError::InvalidDataFilePath {
                        path: named,
                        ..
                    })) => {
                        assert!(named.contains("outside"), "{path}: {named}")
                    }
                    // Percent-decoded, `%2E%2E` is a name, not a step up: a missing file.
                    Err(Error::MissingDataFile { .. }) if path.starts_with('%') => {}
                    other => panic!("{path}: expected an invalid path, got {other:?}"),
                }
                let before = contents(&setup.outside);
                // A delete that would rewrite the file must fail the same way and leave it.
                let delete = table
                    .delete()
                    .with_predicate(Expr::parse("id >= 1").unwrap())
                    .execute()
                    .await;
                assert!(delete.is_err(), "{path}: {delete:?}");
                assert_eq!(contents(&setup.outside), before);
            },
        );
    }
}

#[test]
fn negative_and_impossible_numbers_are_corrupt_commits_naming_the_file() {
    let cases: [(&str, AddEdit); 4] = [
        ("size -5 is negative", |add| {
            add.insert("size".into(), Value::from(-5));
        }),
        ("numRecords -3 is negative", |add| {
            add.insert("stats".into(), Value::from("{\"numRecords\":-3}"));
        }),
        ("deletes 5 rows of a file of 1", |add| {
            add.insert("stats".into(), Value::from("{\"numRecords\":1}"));
            add.insert(
                "deletionVector".into(),
                serde_json::json!({"storageType": "i", "pathOrInlineDv": "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L", "sizeInBytes": 40, "cardinality": 5}),
            );
        }),
        ("deletion vector sizeInBytes -1 is negative", |add| {
            add.insert(
                "deletionVector".into(),
                serde_json::json!({"storageType": "i", "pathOrInlineDv": "x", "sizeInBytes": -1, "cardinality": 0}),
            );
        }),
    ];
    for (expected, edit) in cases {
        run_case(
            |s| edit_first_add(&s.table, edit),
            async |setup, table, ()| {
                match table.snapshot().await {
                    Err(Error::Log(LogError::CorruptCommit {
                        version, reason, ..
                    })) => {
                        assert_eq!(version, 0);
                        assert!(reason.contains(expected), "{reason}");
                    }
                    other => panic!("{expected}: expected a corrupt commit, got {other:?}"),
                }
                writes_commit_nothing_on_an_unreadable_log(setup, &contents(&setup.outside)).await;
            },
        );
    }
}

#[test]
fn huge_sizes_and_record_counts_do_not_overflow_and_reads_fail_cleanly() {
    run_case(
        |s| {
            edit_first_add(&s.table, |add| {
                add.insert("size".into(), Value::from(i64::MAX));
                add.insert(
                    "stats".into(),
                    Value::from(format!("{{\"numRecords\":{}}}", i64::MAX)),
                );
            })
        },
        async |_, table, ()| {
            let snapshot = table.snapshot().await.unwrap();
            // Totals saturate rather than overflow (or go negative).
            assert!(snapshot.files().total_size() >= i64::MAX as u64);
            assert!(snapshot.files().num_records().unwrap() >= i64::MAX as u64);
            // The file is not that size: reading it is an error naming it.
            match scan(&table, None).await {
                Err(Error::CorruptDataFile { path, .. }) => assert!(path.contains("day=")),
                other => panic!("expected a corrupt data file, got {other:?}"),
            }
        },
    );
}

#[test]
fn a_version_near_the_end_of_the_range_is_a_gap_not_an_overflow() {
    run_case(
        |s| {
            let actions = read_commit(&s.table, 1);
            write_commit(&s.table, u64::MAX, &actions);
        },
        async |setup, table, ()| {
            match table.snapshot().await {
                Err(Error::Log(LogError::MissingVersion {
                    missing, target, ..
                })) => {
                    assert_eq!((missing, target), (2, u64::MAX));
                }
                other => panic!("expected a missing version, got {other:?}"),
            }
            let append = table
                .write()
                .execute_batches(vec![rows(&[9], &["a"])])
                .await;
            assert!(append.is_err(), "{append:?}");
            assert!(!commit_path(&setup.table, 2).exists());
        },
    );
}

#[test]
fn malformed_statistics_are_treated_as_absent_and_never_prune_a_row() {
    for stats in [
        "{not json",
        "[]",
        "{\"numRecords\":\"two\"}",
        "{\"numRecords\":1,\"minValues\":{\"id\":\"abc\"},\"maxValues\":{\"id\":[1]},\"nullCount\":{\"id\":\"x\"}}",
        // Lies that parse: the file holds id 1 and 2.
        "{\"numRecords\":2,\"minValues\":{\"id\":100},\"maxValues\":{\"id\":\"zzz\"}}",
    ] {
        run_case(
            |s| {
                edit_first_add(&s.table, |add| {
                    add.insert("stats".into(), Value::from(stats));
                })
            },
            async |_, table, ()| {
                // Well-typed lies cannot be caught; everything else must not drop a row.
                let lie = stats.contains("100");
                let all = scan(&table, None).await.unwrap();
                assert_eq!(all, [1, 2, 3], "{stats}");
                let some = scan(&table, Some("id <= 2")).await.unwrap();
                if !lie {
                    assert_eq!(some, [1, 2], "{stats}");
                }
            },
        );
    }
}

#[test]
fn a_partition_value_that_does_not_parse_is_an_error_naming_it() {
    // A date-typed partition column holding text that is not a date.
    let setup = setup();
    let table_path = setup.table.join("../dated");
    block_on(async {
        let t = Table::open(uri(&table_path)).await.unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("day", DataType::Date32, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1])),
                Arc::new(arrow_array::Date32Array::from(vec![20_000])),
            ],
        )
        .unwrap();
        t.write()
            .with_partition_columns(["day"])
            .execute_batches(vec![batch])
            .await
            .unwrap();
    });
    let mut actions = read_commit(&table_path, 0);
    for action in &mut actions {
        if let Some(add) = action.get_mut("add") {
            add["partitionValues"]["day"] = Value::from("not-a-date");
        }
    }
    write_commit(&table_path, 0, &actions);
    block_on(async {
        let table = Table::open(uri(&table_path)).await.unwrap();
        match scan(&table, None).await {
            Err(Error::Protocol(ProtocolError::InvalidPartitionValue {
                column, value, ..
            })) => {
                assert_eq!((column.as_str(), value.as_str()), ("day", "not-a-date"));
            }
            other => panic!("expected an invalid partition value, got {other:?}"),
        }
        let filtered = scan(&table, Some("day = DATE '2024-10-04'")).await;
        assert!(filtered.is_err(), "{filtered:?}");
    });
}

#[test]
fn a_deletion_vector_whose_prefix_climbs_out_of_the_table_is_refused() {
    // A `u` vector's path is `<prefix>/deletion_vector_<uuid>.bin`; a prefix of `../` would
    // name a file beside the table.
    run_case(
        |s| {
            edit_first_add(&s.table, |add| {
                add.insert(
                    "deletionVector".into(),
                    serde_json::json!({
                        "storageType": "u",
                        "pathOrInlineDv": "../outsidewi5b=000010000siXQKl",
                        "offset": 1,
                        "sizeInBytes": 36,
                        "cardinality": 1,
                    }),
                );
            })
        },
        async |_, table, ()| match scan(&table, None).await {
            // Refused by the table's path resolver before anything is opened.
            Err(Error::Log(LogError::PathOutsideTable { path, .. })) => {
                assert!(path.starts_with("../outside/"), "{path}")
            }
            other => panic!("expected PathOutsideTable, got {other:?}"),
        },
    );
}

#[test]
fn garbage_in_a_commit_is_a_corrupt_commit_naming_version_and_line() {
    for (what, garbage) in [
        ("binary", b"\x00\xff\xfe garbage".to_vec()),
        ("not JSON", b"{\"add\": {\"path\": ".to_vec()),
        ("wrong types", b"{\"add\": {\"path\": 7, \"size\": \"big\"}}".to_vec()),
        ("a huge number", b"{\"add\": {\"path\": \"x.parquet\", \"partitionValues\": {}, \"size\": 99999999999999999999999, \"modificationTime\": 1, \"dataChange\": true}}".to_vec()),
    ] {
        run_case(
            |s| {
                let mut bytes = std::fs::read(commit_path(&s.table, 1)).unwrap();
                bytes.extend_from_slice(&garbage);
                bytes.push(b'\n');
                std::fs::write(commit_path(&s.table, 1), bytes).unwrap();
            },
            async |setup, table, ()| {
                match table.snapshot().await {
                    Err(Error::Log(LogError::CorruptCommit { version, reason, .. })) => {
                        assert_eq!(version, 1, "{what}");
                        assert!(reason.contains("line"), "{what}: {reason}");
                    }
                    other => panic!("{what}: expected a corrupt commit, got {other:?}"),
                }
                writes_commit_nothing_on_an_unreadable_log(setup, &contents(&setup.outside)).await;
            },
        );
    }
}

#[test]
fn a_checkpoint_with_the_wrong_schema_or_truncated_is_a_corrupt_checkpoint() {
    for what in ["another table's schema", "truncated"] {
        run_case(
            |s| {
                block_on(async {
                    let t = Table::open(uri(&s.table)).await.unwrap();
                    t.checkpoint().execute().await.unwrap();
                });
                let checkpoint = delta_log(&s.table).join(format!("{:020}.checkpoint.parquet", 1));
                if what == "truncated" {
                    let bytes = std::fs::read(&checkpoint).unwrap();
                    std::fs::write(&checkpoint, &bytes[..bytes.len() / 2]).unwrap();
                } else {
                    // A Parquet file of data rows where the checkpoint was.
                    let data = first_add(&s.table)["path"].as_str().unwrap().to_owned();
                    std::fs::copy(s.table.join(data), &checkpoint).unwrap();
                }
            },
            async |setup, table, ()| {
                match table.snapshot().await {
                    Err(Error::Log(
                        LogError::CorruptCheckpoint { version, .. }
                        | LogError::IncompleteCheckpoint { version, .. },
                    )) => assert_eq!(version, 1, "{what}"),
                    other => panic!("{what}: expected a corrupt checkpoint, got {other:?}"),
                }
                // Earlier versions replay from JSON alone.
                assert!(table.snapshot_at_version(0).await.is_ok(), "{what}");
                writes_commit_nothing_on_an_unreadable_log(setup, &contents(&setup.outside)).await;
            },
        );
    }
}

#[test]
fn a_last_checkpoint_hint_naming_nothing_reads_like_no_hint() {
    run_case(
        |s| {
            std::fs::write(
                delta_log(&s.table).join("_last_checkpoint"),
                br#"{"version":1,"size":4}"#,
            )
            .unwrap();
        },
        async |_, table, ()| {
            assert_eq!(table.snapshot().await.unwrap().version(), 1);
            assert_eq!(scan(&table, None).await.unwrap(), [1, 2, 3]);
            // A write goes on, and a checkpoint replaces the hint with a true one.
            table
                .write()
                .execute_batches(vec![rows(&[4], &["b"])])
                .await
                .unwrap();
            table.checkpoint().execute().await.unwrap();
            assert_eq!(scan(&table, None).await.unwrap(), [1, 2, 3, 4]);
        },
    );
}

#[cfg(unix)]
#[test]
fn a_commit_that_is_a_fifo_or_a_device_fails_every_operation_without_hanging() {
    for kind in ["fifo", "/dev/zero", "dangling"] {
        run_case(
            |s| {
                let path = commit_path(&s.table, 2);
                match kind {
                    "fifo" => assert!(
                        std::process::Command::new("mkfifo")
                            .arg(&path)
                            .status()
                            .unwrap()
                            .success()
                    ),
                    "dangling" => {
                        std::os::unix::fs::symlink(s.table.join("nothing"), &path).unwrap()
                    }
                    device => std::os::unix::fs::symlink(device, &path).unwrap(),
                }
            },
            async |setup, table, ()| {
                match table.snapshot().await {
                    Err(Error::Log(LogError::Storage { source, .. })) => {
                        assert!(
                            tarn_log::local_store::NotARegularFile::find(&source).is_some(),
                            "{kind}: {source}"
                        );
                    }
                    other => panic!("{kind}: expected a storage error, got {other:?}"),
                }
                let append = table
                    .write()
                    .execute_batches(vec![rows(&[9], &["a"])])
                    .await;
                assert!(append.is_err(), "{kind}: {append:?}");
                assert!(!commit_path(&setup.table, 3).exists(), "{kind}");
            },
        );
    }
}

#[cfg(unix)]
#[test]
fn a_data_file_that_is_a_fifo_is_an_error_not_a_hang() {
    run_case(
        |s| {
            let path = s.table.join(first_add(&s.table)["path"].as_str().unwrap());
            std::fs::remove_file(&path).unwrap();
            assert!(
                std::process::Command::new("mkfifo")
                    .arg(&path)
                    .status()
                    .unwrap()
                    .success()
            );
        },
        async |_, table, ()| match scan(&table, None).await {
            Err(Error::CorruptDataFile { path, .. }) => assert!(path.contains("day=")),
            other => panic!("expected an unreadable data file, got {other:?}"),
        },
    );
}

/// A data file on which the Parquet decoder panics (a map whose key and value children have
/// different lengths, in its `metaData` column: a corrupt checkpoint the checkpoint fuzz
/// target found, here read as a table's data): the scan fails naming the file.
/// Before, the panic ended the task reading the file and the scan returned the other files'
/// rows as if it were complete.
#[test]
fn a_data_file_the_parquet_decoder_panics_on_fails_the_scan_instead_of_ending_it_early() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    std::fs::create_dir_all(delta_log(&table)).unwrap();
    let corrupt = "part-00000-corrupt.parquet";
    std::fs::write(
        table.join(corrupt),
        include_bytes!("../../fuzz/seeds/checkpoint/map-children-lengths.parquet"),
    )
    .unwrap();
    let map = serde_json::json!({
        "type": "map", "keyType": "string", "valueType": "string", "valueContainsNull": true
    });
    let field = |name: &str, data_type: Value| serde_json::json!({ "name": name, "type": data_type, "nullable": true, "metadata": {} });
    // The file's `metaData` column, whose maps are the corrupt part.
    let format = serde_json::json!({ "type": "struct", "fields": [
        field("provider", "string".into()),
        field("options", map.clone()),
    ]});
    let columns = serde_json::json!({
        "type": "array", "elementType": "string", "containsNull": true
    });
    let metadata_type = serde_json::json!({ "type": "struct", "fields": [
        field("id", "string".into()),
        field("name", "string".into()),
        field("description", "string".into()),
        field("format", format),
        field("schemaString", "string".into()),
        field("partitionColumns", columns),
        field("configuration", map),
        field("createdTime", "long".into()),
    ]});
    let schema =
        serde_json::json!({ "type": "struct", "fields": [field("metaData", metadata_type)] });
    let size = std::fs::metadata(table.join(corrupt)).unwrap().len();
    write_commit(
        &table,
        0,
        &[
            serde_json::json!({"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}}),
            serde_json::json!({"metaData": {
                "id": "corrupt-data-file", "format": {"provider": "parquet", "options": {}},
                "schemaString": schema.to_string(), "partitionColumns": [],
                "configuration": {}, "createdTime": 0
            }}),
            serde_json::json!({"add": {
                "path": corrupt, "partitionValues": {}, "size": size,
                "modificationTime": 0, "dataChange": true
            }}),
        ],
    );
    block_on(async {
        let table = Table::open(uri(&table)).await.unwrap();
        let snapshot = table.snapshot().await.unwrap();
        let scanned: tarn::Result<Vec<RecordBatch>> =
            async { snapshot.scan().build().await?.execute().try_collect().await }.await;
        match scanned {
            Err(Error::CorruptDataFile { path, reason, .. }) => {
                assert!(path.ends_with(corrupt), "{path}");
                assert!(reason.contains("decoder"), "{reason}");
            }
            Ok(batches) => panic!(
                "the scan ended with {} rows and no error",
                batches.iter().map(RecordBatch::num_rows).sum::<usize>()
            ),
            Err(other) => panic!("expected a corrupt data file, got {other:?}"),
        }
    });
}
