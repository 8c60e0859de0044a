//! Broken tables: each test builds a small damaged table in a temporary directory (by hand, or
//! by damaging a copy of a fixture) and asserts the exact `LogError` variant and that its
//! message names the cause: the version, the file, the feature.
//!
//! The `_last_checkpoint` tests are the opposite: a wrong hint is not an error, and the
//! snapshot read with it must equal the one read without it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, RecordBatch, new_null_array};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value, json};
use tarn::protocol::ProtocolError;
use tarn::{LogError, Snapshot, Table};

use crate::common::{block_on, commit_path, delta_log, fixture_table, uri, writable_fixture_copy};

const SCHEMA: &str =
    r#"{"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}}]}"#;

// ---------------------------------------------------------------------------------------------
// Building tables by hand
// ---------------------------------------------------------------------------------------------

fn protocol_action(reader: i32, writer: i32) -> Value {
    json!({"protocol": {"minReaderVersion": reader, "minWriterVersion": writer}})
}

fn metadata_action(schema: &str) -> Value {
    json!({"metaData": {
        "id": "00000000-0000-0000-0000-000000000001",
        "format": {"provider": "parquet", "options": {}},
        "schemaString": schema,
        "partitionColumns": [],
        "configuration": {},
        "createdTime": 1_700_000_000_000_i64,
    }})
}

fn add_action(path: &str) -> Value {
    json!({"add": {
        "path": path,
        "partitionValues": {},
        "size": 100,
        "modificationTime": 1_700_000_000_000_i64,
        "dataChange": true,
        "stats": "{\"numRecords\":1}",
    }})
}

fn commit_info_action(operation: &str) -> Value {
    json!({"commitInfo": {"timestamp": 1_700_000_000_000_i64, "operation": operation}})
}

fn commit_text(actions: &[Value]) -> String {
    actions.iter().map(|a| format!("{a}\n")).collect()
}

/// Writes `_delta_log/<version>.json` with one action per line.
fn write_commit(table: &Path, version: u64, actions: &[Value]) {
    std::fs::create_dir_all(delta_log(table)).unwrap();
    std::fs::write(commit_path(table, version), commit_text(actions)).unwrap();
}

/// A fresh directory holding a table whose commit 0 creates it with one file, `a.parquet`.
fn new_table() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("table");
    write_commit(
        &table,
        0,
        &[
            commit_info_action("CREATE TABLE"),
            protocol_action(1, 2),
            metadata_action(SCHEMA),
            add_action("a.parquet"),
        ],
    );
    (dir, table)
}

/// Appends commit `version`, adding one file named after the version.
fn append_file_commit(table: &Path, version: u64) {
    write_commit(
        table,
        version,
        &[
            commit_info_action("WRITE"),
            add_action(&format!("v{version}.parquet")),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

fn latest(table: &Path) -> tarn::Result<Snapshot> {
    block_on(async { Table::open(uri(table)).await?.snapshot().await })
}

fn at_version(table: &Path, version: u64) -> tarn::Result<Snapshot> {
    block_on(async {
        Table::open(uri(table))
            .await?
            .snapshot_at_version(version)
            .await
    })
}

/// The `LogError` inside a tarn error; any other error (or success) fails the test.
fn log_error(result: tarn::Result<Snapshot>) -> LogError {
    match result {
        Ok(snapshot) => panic!(
            "expected an error, got a snapshot at version {}",
            snapshot.version()
        ),
        Err(tarn::Error::Log(err)) => err,
        Err(other) => panic!("expected a LogError, got {other:?}"),
    }
}

/// Asserts that `message` contains every one of `needles`.
fn assert_names(message: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            message.contains(needle),
            "error message {message:?} does not name {needle:?}"
        );
    }
}

/// The snapshot's logical files as `(path, deletion vector id)`.
fn file_keys(snapshot: &Snapshot) -> BTreeSet<(String, Option<String>)> {
    snapshot
        .files()
        .iter()
        .map(|f| (f.path().to_owned(), f.deletion_vector_id()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Corrupt commits
// ---------------------------------------------------------------------------------------------

#[test]
fn truncated_commit_is_corrupt_commit_naming_version_file_and_line() {
    let (_dir, table) = new_table();
    let full = commit_text(&[
        commit_info_action("WRITE"),
        add_action("b.parquet"),
        add_action("c.parquet"),
    ]);
    // Cut in the middle of the second line (the first add).
    let second_line_start = full.find('\n').unwrap() + 1;
    let second_line_end = second_line_start + full[second_line_start..].find('\n').unwrap();
    let cut = (second_line_start + second_line_end) / 2;
    std::fs::write(commit_path(&table, 1), &full[..cut]).unwrap();

    let err = log_error(latest(&table));
    let message = err.to_string();
    match &err {
        LogError::CorruptCommit {
            version,
            path,
            reason,
        } => {
            assert_eq!(*version, 1);
            assert!(
                path.ends_with("_delta_log/00000000000000000001.json"),
                "{path}"
            );
            assert!(reason.contains("line 2"), "{reason}");
        }
        other => panic!("expected CorruptCommit, got {other:?}"),
    }
    assert_names(
        &message,
        &["version 1", "00000000000000000001.json", "line 2"],
    );
    // The same error for the damaged version itself; the version before it is intact.
    assert!(matches!(
        log_error(at_version(&table, 1)),
        LogError::CorruptCommit { version: 1, .. }
    ));
    let v0 = at_version(&table, 0).unwrap();
    assert_eq!(v0.version(), 0);
    assert_eq!(v0.files().len(), 1);
}

#[test]
fn truncated_last_line_of_a_fixture_commit_is_corrupt_commit() {
    // latest_not_checkpointed: commits 0..=3, a classic checkpoint at 2.
    let (_dir, table) = writable_fixture_copy("latest_not_checkpointed");
    let path = commit_path(&table, 3);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 2);
    let last = lines.len();
    let kept: String = lines[..last - 1].iter().map(|l| format!("{l}\n")).collect();
    let partial = &lines[last - 1][..lines[last - 1].len() / 2];
    std::fs::write(&path, format!("{kept}{partial}")).unwrap();

    let err = log_error(latest(&table));
    assert!(
        matches!(&err, LogError::CorruptCommit { version: 3, .. }),
        "{err:?}"
    );
    assert_names(
        &err.to_string(),
        &[
            "version 3",
            "00000000000000000003.json",
            &format!("line {last}"),
        ],
    );
    // Version 2 is read from the checkpoint and does not need commit 3.
    assert_eq!(at_version(&table, 2).unwrap().version(), 2);
}

#[test]
fn corrupt_commit_before_a_checkpoint_only_breaks_versions_that_replay_it() {
    let (_dir, table) = writable_fixture_copy("latest_not_checkpointed");
    std::fs::write(commit_path(&table, 1), "{\"add\":{\"path\":").unwrap();
    // Versions 2 and 3 start from the checkpoint at 2 and never read commit 1.
    assert_eq!(latest(&table).unwrap().version(), 3);
    assert_eq!(at_version(&table, 2).unwrap().version(), 2);
    let err = log_error(at_version(&table, 1));
    assert!(
        matches!(&err, LogError::CorruptCommit { version: 1, .. }),
        "{err:?}"
    );
    assert_names(
        &err.to_string(),
        &["version 1", "00000000000000000001.json", "line 1"],
    );
}

// ---------------------------------------------------------------------------------------------
// Missing versions
// ---------------------------------------------------------------------------------------------

#[test]
fn gap_in_the_log_is_missing_version_and_earlier_versions_still_read() {
    let (_dir, table) = new_table();
    append_file_commit(&table, 1);
    append_file_commit(&table, 3);
    append_file_commit(&table, 4);

    let err = log_error(latest(&table));
    match &err {
        LogError::MissingVersion {
            missing, target, ..
        } => {
            assert_eq!(*missing, 2);
            assert_eq!(*target, 4);
        }
        other => panic!("expected MissingVersion, got {other:?}"),
    }
    assert_names(&err.to_string(), &["missing version 2", "version 4"]);
    let err = log_error(at_version(&table, 3));
    assert!(
        matches!(
            err,
            LogError::MissingVersion {
                missing: 2,
                target: 3,
                ..
            }
        ),
        "{err:?}"
    );

    let v1 = at_version(&table, 1).unwrap();
    assert_eq!(v1.version(), 1);
    assert_eq!(
        file_keys(&v1),
        BTreeSet::from([
            ("a.parquet".to_owned(), None),
            ("v1.parquet".to_owned(), None)
        ])
    );
}

#[test]
fn deleted_fixture_commit_is_missing_version() {
    // cdf-table-non-partitioned: commits 0..=4, no checkpoint.
    let (_dir, table) = writable_fixture_copy("cdf-table-non-partitioned");
    std::fs::remove_file(commit_path(&table, 2)).unwrap();
    let err = log_error(latest(&table));
    assert!(
        matches!(
            err,
            LogError::MissingVersion {
                missing: 2,
                target: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err.to_string(), &["missing version 2"]);
    let intact = at_version(&fixture_table("cdf-table-non-partitioned"), 1).unwrap();
    let damaged = at_version(&table, 1).unwrap();
    assert_eq!(damaged.version(), 1);
    assert_eq!(file_keys(&damaged), file_keys(&intact));
}

#[test]
fn gap_before_a_checkpoint_only_breaks_the_versions_that_need_it() {
    // latest_not_checkpointed: a checkpoint at 2; commit 1 deleted.
    let (_dir, table) = writable_fixture_copy("latest_not_checkpointed");
    std::fs::remove_file(commit_path(&table, 1)).unwrap();
    assert_eq!(latest(&table).unwrap().version(), 3);
    assert_eq!(at_version(&table, 2).unwrap().version(), 2);
    assert_eq!(at_version(&table, 0).unwrap().version(), 0);
    let err = log_error(at_version(&table, 1));
    assert!(
        matches!(
            err,
            LogError::MissingVersion {
                missing: 1,
                target: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err.to_string(), &["missing version 1"]);
}

// ---------------------------------------------------------------------------------------------
// Unsupported protocols
// ---------------------------------------------------------------------------------------------

fn future_feature_protocol() -> Value {
    json!({"protocol": {
        "minReaderVersion": 3,
        "minWriterVersion": 7,
        "readerFeatures": ["someFutureFeature"],
        "writerFeatures": ["someFutureFeature"],
    }})
}

#[test]
fn unknown_reader_feature_is_unsupported_naming_the_feature() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("table");
    write_commit(
        &table,
        0,
        &[
            commit_info_action("CREATE TABLE"),
            future_feature_protocol(),
            metadata_action(SCHEMA),
            add_action("a.parquet"),
        ],
    );
    let err = log_error(latest(&table));
    match &err {
        LogError::Unsupported {
            version, source, ..
        } => {
            assert_eq!(*version, 0);
            assert!(
                matches!(
                    source.as_ref(),
                    ProtocolError::UnsupportedFeature { feature, .. } if feature == "someFutureFeature"
                ),
                "{source:?}"
            );
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    assert_names(&err.to_string(), &["someFutureFeature", "version 0"]);
}

#[test]
fn reader_version_4_is_unsupported_naming_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("table");
    write_commit(
        &table,
        0,
        &[
            commit_info_action("CREATE TABLE"),
            protocol_action(4, 7),
            metadata_action(SCHEMA),
        ],
    );
    let err = log_error(latest(&table));
    match &err {
        LogError::Unsupported { source, .. } => assert!(
            matches!(
                source.as_ref(),
                ProtocolError::UnsupportedProtocolVersion { version: 4, .. }
            ),
            "{source:?}"
        ),
        other => panic!("expected Unsupported, got {other:?}"),
    }
    assert_names(&err.to_string(), &["protocol version 4"]);
}

#[test]
fn protocol_upgrade_to_unknown_feature_breaks_only_later_versions() {
    let (_dir, table) = new_table();
    write_commit(
        &table,
        1,
        &[commit_info_action("UPGRADE"), future_feature_protocol()],
    );
    append_file_commit(&table, 2);
    let err = log_error(latest(&table));
    assert!(
        matches!(&err, LogError::Unsupported { version: 2, .. }),
        "{err:?}"
    );
    assert_names(&err.to_string(), &["someFutureFeature"]);
    let err = log_error(at_version(&table, 1));
    assert!(
        matches!(&err, LogError::Unsupported { version: 1, .. }),
        "{err:?}"
    );
    assert_eq!(at_version(&table, 0).unwrap().files().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Not a table
// ---------------------------------------------------------------------------------------------

fn assert_not_a_table(path: &Path, reason_names: &str) {
    let err = log_error(latest(path));
    match &err {
        LogError::NotATable { location, reason } => {
            assert!(
                location.ends_with(path.file_name().unwrap().to_str().unwrap()),
                "{location}"
            );
            assert!(reason.contains(reason_names), "{reason}");
        }
        other => panic!("{}: expected NotATable, got {other:?}", path.display()),
    }
    assert_names(&err.to_string(), &["not a Delta table", uri(path)]);
}

#[test]
fn empty_directory_is_not_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("empty");
    std::fs::create_dir(&table).unwrap();
    assert_not_a_table(&table, "no _delta_log");
}

#[test]
fn nonexistent_path_is_not_a_table() {
    let dir = tempfile::tempdir().unwrap();
    assert_not_a_table(&dir.path().join("nothing-here"), "does not exist");
}

#[test]
fn a_file_is_not_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "not a table").unwrap();
    assert_not_a_table(&file, "is a file, not a directory");
}

#[test]
fn empty_delta_log_is_not_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("table");
    std::fs::create_dir_all(delta_log(&table)).unwrap();
    // Junk that is not a log file does not make it a table, and neither does a hint alone.
    std::fs::write(delta_log(&table).join("README.txt"), "hello").unwrap();
    std::fs::write(
        delta_log(&table).join("_last_checkpoint"),
        r#"{"version":0,"size":1}"#,
    )
    .unwrap();
    assert_not_a_table(&table, "no commit");
}

// ---------------------------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------------------------

/// Rewrites a Parquet checkpoint with `column` replaced by nulls (same type), keeping every
/// other column; returns the number of non-null rows the column had.
fn null_out_column(path: &Path, column: &str) -> usize {
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap()).unwrap();
    let schema = Arc::clone(builder.schema());
    let batches: Vec<RecordBatch> = builder.build().unwrap().collect::<Result<_, _>>().unwrap();
    let index = schema.index_of(column).unwrap();
    let mut had = 0;
    let rewritten: Vec<RecordBatch> = batches
        .iter()
        .map(|batch| {
            had += batch.column(index).len() - batch.column(index).null_count();
            let mut columns = batch.columns().to_vec();
            columns[index] = new_null_array(schema.field(index).data_type(), batch.num_rows());
            RecordBatch::try_new(Arc::clone(&schema), columns).unwrap()
        })
        .collect();
    let mut writer =
        ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None).unwrap();
    for batch in &rewritten {
        writer.write(batch).unwrap();
    }
    writer.close().unwrap();
    had
}

/// Non-null rows of a top-level column of a Parquet file.
fn non_null_rows(path: &Path, column: &str) -> usize {
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap()).unwrap();
    let index = builder.schema().index_of(column).unwrap();
    builder
        .build()
        .unwrap()
        .map(|batch| {
            let batch = batch.unwrap();
            batch.column(index).len() - batch.column(index).null_count()
        })
        .sum()
}

fn checkpoint_without(fixture: &str, checkpoint_version: u64, column: &str, missing: &str) {
    let (_dir, table) = writable_fixture_copy(fixture);
    let name = format!("{checkpoint_version:020}.checkpoint.parquet");
    let checkpoint = delta_log(&table).join(&name);
    let other = if column == "metaData" {
        "protocol"
    } else {
        "metaData"
    };
    assert_eq!(null_out_column(&checkpoint, column), 1, "{fixture}");
    // The rewrite kept the rest of the checkpoint.
    assert_eq!(non_null_rows(&checkpoint, column), 0);
    assert_eq!(non_null_rows(&checkpoint, other), 1);
    assert!(non_null_rows(&checkpoint, "add") > 0);

    let err = log_error(at_version(&table, checkpoint_version));
    let message = err.to_string();
    match err {
        LogError::IncompleteCheckpoint {
            version,
            path,
            missing: what,
        } => {
            assert_eq!(version, checkpoint_version);
            assert!(path.ends_with(&name), "{path}");
            assert_eq!(what, missing);
        }
        other => panic!("{fixture}: expected IncompleteCheckpoint, got {other:?}"),
    }
    assert_names(
        &message,
        &[
            &format!("version {checkpoint_version}"),
            &name,
            &format!("no {missing} action"),
        ],
    );
    // The latest version starts from the same checkpoint, so it fails the same way.
    assert!(matches!(
        log_error(latest(&table)),
        LogError::IncompleteCheckpoint { .. }
    ));
    // A version before the checkpoint replays commits only.
    assert_eq!(
        at_version(&table, checkpoint_version - 1)
            .unwrap()
            .version(),
        checkpoint_version - 1
    );
}

#[test]
fn checkpoint_without_metadata_is_incomplete() {
    checkpoint_without("latest_not_checkpointed", 2, "metaData", "metaData");
    checkpoint_without(
        "table_failed_last_checkpoint_update",
        3,
        "metaData",
        "metaData",
    );
}

#[test]
fn checkpoint_without_protocol_is_incomplete() {
    checkpoint_without("latest_not_checkpointed", 2, "protocol", "protocol");
    checkpoint_without(
        "table_failed_last_checkpoint_update",
        3,
        "protocol",
        "protocol",
    );
}

/// Deterministic pseudo-random bytes (a 64-bit LCG).
fn random_bytes(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as u8
        })
        .collect()
}

#[test]
fn checkpoint_of_random_bytes_is_corrupt_checkpoint_naming_the_path() {
    let name = "00000000000000000002.checkpoint.parquet";
    let original =
        std::fs::read(delta_log(&fixture_table("latest_not_checkpointed")).join(name)).unwrap();
    let damages: Vec<(&str, Vec<u8>)> = vec![
        ("random bytes", random_bytes(original.len(), 7)),
        ("short random bytes", random_bytes(5, 11)),
        ("truncated", original[..original.len() / 2].to_vec()),
        ("empty", Vec::new()),
    ];
    for (what, bytes) in damages {
        let (_dir, table) = writable_fixture_copy("latest_not_checkpointed");
        std::fs::write(delta_log(&table).join(name), bytes).unwrap();
        let err = log_error(latest(&table));
        let message = err.to_string();
        match err {
            LogError::CorruptCheckpoint { version, path, .. } => {
                assert_eq!(version, 2, "{what}");
                assert!(path.ends_with(name), "{what}: {path}");
            }
            other => panic!("{what}: expected CorruptCheckpoint, got {other:?}"),
        }
        assert_names(&message, &["version 2", name]);
    }
}

// ---------------------------------------------------------------------------------------------
// The _last_checkpoint hint
// ---------------------------------------------------------------------------------------------

struct Summary {
    version: u64,
    files: BTreeSet<(String, Option<String>)>,
    protocol: tarn::protocol::actions::Protocol,
    metadata: tarn::protocol::actions::Metadata,
}

fn summary(snapshot: &Snapshot) -> Summary {
    Summary {
        version: snapshot.version(),
        files: file_keys(snapshot),
        protocol: snapshot.protocol().clone(),
        metadata: snapshot.metadata().clone(),
    }
}

fn assert_same(label: &str, got: &Summary, want: &Summary) {
    assert_eq!(got.version, want.version, "{label}: version");
    assert_eq!(got.files, want.files, "{label}: files");
    assert_eq!(got.protocol, want.protocol, "{label}: protocol");
    assert_eq!(got.metadata, want.metadata, "{label}: metadata");
}

fn bad_hint_reads_like_no_hint(hint: &[u8]) {
    let label = String::from_utf8_lossy(hint).into_owned();
    let (_dir, table) = writable_fixture_copy("latest_not_checkpointed");
    let hint_path = delta_log(&table).join("_last_checkpoint");

    std::fs::remove_file(&hint_path).unwrap();
    let want_latest = summary(&latest(&table).unwrap());
    let want: Vec<Summary> = (0..=3)
        .map(|v| summary(&at_version(&table, v).unwrap()))
        .collect();
    assert_eq!(want_latest.version, 3);

    std::fs::write(&hint_path, hint).unwrap();
    let got_latest = latest(&table).unwrap_or_else(|e| panic!("{label}: latest: {e}"));
    assert_same(
        &format!("{label}: latest"),
        &summary(&got_latest),
        &want_latest,
    );
    for (v, want) in want.iter().enumerate() {
        let got = at_version(&table, v as u64).unwrap_or_else(|e| panic!("{label}: v{v}: {e}"));
        assert_same(&format!("{label}: v{v}"), &summary(&got), want);
    }
}

#[test]
fn hint_naming_a_checkpoint_that_does_not_exist_is_ignored() {
    // The real checkpoint is at version 2; the log ends at 3.
    bad_hint_reads_like_no_hint(br#"{"version":7,"size":1}"#);
    // Versions with a commit but no checkpoint.
    bad_hint_reads_like_no_hint(br#"{"version":3,"size":1}"#);
    bad_hint_reads_like_no_hint(br#"{"version":1,"size":1}"#);
}

#[test]
fn garbage_hint_is_ignored() {
    bad_hint_reads_like_no_hint(b"this is not JSON {");
    bad_hint_reads_like_no_hint(b"");
    bad_hint_reads_like_no_hint(br#"{"size":1}"#);
    bad_hint_reads_like_no_hint(br#"{"version":-1,"size":1}"#);
}

#[test]
fn hint_with_parts_for_a_single_file_checkpoint_is_ignored() {
    bad_hint_reads_like_no_hint(br#"{"version":2,"size":1,"parts":3}"#);
}

// ---------------------------------------------------------------------------------------------
// Versions out of range, invalid metadata
// ---------------------------------------------------------------------------------------------

#[test]
fn version_beyond_the_latest_names_the_available_range() {
    // With a _last_checkpoint hint at version 2 ...
    let table = fixture_table("latest_not_checkpointed");
    for requested in [4, 9, 1_000] {
        let err = log_error(at_version(&table, requested));
        let message = err.to_string();
        match err {
            LogError::VersionNotFound {
                requested: r,
                earliest,
                latest,
                ..
            } => {
                assert_eq!((r, earliest, latest), (requested, 0, 3));
            }
            other => panic!("expected VersionNotFound, got {other:?}"),
        }
        assert_names(&message, &[&format!("version {requested}"), "0..=3"]);
    }
    // ... and without one.
    let (_dir, table) = new_table();
    append_file_commit(&table, 1);
    let err = log_error(at_version(&table, 2));
    assert!(
        matches!(
            err,
            LogError::VersionNotFound {
                requested: 2,
                earliest: 0,
                latest: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err.to_string(), &["version 2", "0..=1"]);
}

#[test]
fn schema_string_that_is_not_json_is_invalid_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("table");
    write_commit(
        &table,
        0,
        &[
            commit_info_action("CREATE TABLE"),
            protocol_action(1, 2),
            metadata_action("{\"type\":\"struct\",\"fields\":[{\"name\":"),
        ],
    );
    let err = log_error(latest(&table));
    let message = err.to_string();
    match err {
        LogError::InvalidMetadata {
            version, source, ..
        } => {
            assert_eq!(version, 0);
            assert!(
                matches!(*source, ProtocolError::InvalidSchema { .. }),
                "{source:?}"
            );
        }
        other => panic!("expected InvalidMetadata, got {other:?}"),
    }
    assert_names(&message, &["invalid metadata", "version 0", "schema"]);
}

#[test]
fn metadata_change_to_an_invalid_schema_breaks_only_later_versions() {
    let (_dir, table) = new_table();
    write_commit(
        &table,
        1,
        &[
            commit_info_action("ALTER"),
            metadata_action("not json at all"),
        ],
    );
    let err = log_error(latest(&table));
    assert!(
        matches!(err, LogError::InvalidMetadata { version: 1, .. }),
        "{err:?}"
    );
    assert_names(&err.to_string(), &["version 1", "schema"]);
    assert!(
        at_version(&table, 0)
            .unwrap()
            .schema()
            .field("id")
            .is_some()
    );
}
