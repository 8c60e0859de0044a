//! Checkpoints of snapshots loaded without statistics, whose files' statistics are streamed
//! from the log: the same checkpoint as from a snapshot with statistics (every fixture table,
//! row for row), the index that matches log `add`s to active files, and a log that does not
//! hold an active file's `add` failing the write with nothing left behind.

use std::borrow::Cow;
use std::fs;
use std::sync::Arc;

use arrow_array::RecordBatch;
use chrono::{DateTime, Utc};
use serde_json::json;
use tarn_protocol::actions::{Action, DeletionVectorDescriptor};

use super::index::LiveIndex;
use super::write::{
    CheckpointInfo, CheckpointOptions, write_checkpoint, write_checkpoint_with,
    write_latest_checkpoint, write_latest_checkpoint_with,
};
use super::write_safety_tests::{copy_dir, fixture_tables};
use super::write_tests::{TestTable, add, field, metadata, protocol, read_parquet, state};
use crate::error::LogError;
use crate::files::{ActiveFiles, AddFields, DvFields, FileBatchBuilder};
use crate::location::TableLocation;
use crate::snapshot::{Snapshot, SnapshotOptions};

fn files(batches: &[&[(&str, Option<&str>)]]) -> ActiveFiles {
    ActiveFiles::from_batches(batches.iter().map(|rows| {
        let mut builder = FileBatchBuilder::new();
        for (path, dv) in *rows {
            let no_pairs: Vec<(Cow<'_, str>, Option<Cow<'_, str>>)> = Vec::new();
            builder
                .append(&AddFields {
                    path,
                    partition_values: &no_pairs,
                    size: 1,
                    modification_time: 1,
                    stats: None,
                    num_records: Some(1),
                    tags: None,
                    deletion_vector: dv.map(|dv| DvFields {
                        storage_type: "u",
                        path_or_inline_dv: dv,
                        offset: Some(1),
                        size_in_bytes: 10,
                        cardinality: 2,
                    }),
                    base_row_id: None,
                    default_row_commit_version: None,
                    clustering_provider: None,
                })
                .unwrap();
        }
        builder.finish().unwrap()
    }))
}

fn dv_id(dv: &str) -> String {
    DeletionVectorDescriptor {
        storage_type: "u".to_owned(),
        path_or_inline_dv: dv.to_owned(),
        offset: Some(1),
        size_in_bytes: 10,
        cardinality: 2,
    }
    .unique_id()
}

#[test]
fn the_index_hands_out_each_active_file_once() {
    let active = files(&[
        &[("a", None), ("b", None)],
        &[("c", Some("dv1")), ("c", Some("dv2")), ("d", None)],
    ]);
    let mut index = LiveIndex::new(&active).unwrap();
    assert_eq!(index.unclaimed(), 5);
    // Not active: another path, or an active path with another deletion vector.
    assert!(!index.claim("e", None));
    assert!(!index.claim("a", Some(&dv_id("dv1"))));
    assert!(!index.claim("c", None));
    assert!(!index.claim("c", Some(&dv_id("dv3"))));
    assert_eq!(index.unclaimed(), 5);
    // Each active file once: the first (newest) add wins, older ones are skipped.
    assert!(index.claim("b", None));
    assert!(!index.claim("b", None));
    assert!(index.claim("c", Some(&dv_id("dv2"))));
    assert!(index.claim("c", Some(&dv_id("dv1"))));
    assert!(!index.claim("c", Some(&dv_id("dv1"))));
    assert_eq!(index.unclaimed(), 2);
    assert!(index.claim("a", None));
    assert!(index.claim("d", None));
    assert_eq!(index.unclaimed(), 0);
}

#[test]
fn an_empty_index_finds_nothing() {
    let mut index = LiveIndex::new(&ActiveFiles::default()).unwrap();
    assert_eq!(index.unclaimed(), 0);
    assert!(!index.claim("a", None));
}

#[test]
fn a_large_index_finds_every_file() {
    let paths: Vec<String> = (0..20_000)
        .map(|i| format!("part-{i:05}.parquet"))
        .collect();
    let rows: Vec<(&str, Option<&str>)> = paths.iter().map(|p| (p.as_str(), None)).collect();
    let (first, second) = rows.split_at(7_000);
    let mut index = LiveIndex::new(&files(&[first, second])).unwrap();
    for path in paths.iter().rev() {
        assert!(index.claim(path, None), "{path}");
    }
    assert!(paths.iter().all(|p| !index.claim(p, None)));
    assert_eq!(index.unclaimed(), 0);
}

/// How a checkpoint is written in the comparisons below.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// From a snapshot loaded with statistics.
    Statistics,
    /// From a snapshot loaded without them: streamed, matched against its files.
    Plain,
    /// Without a snapshot: streamed, replayed.
    Latest,
}

/// The checkpoint written for the table at `root` and its rows; `None` when tarn cannot read
/// or checkpoint the table.
async fn checkpoint_of(
    root: &std::path::Path,
    source: Source,
    options: &CheckpointOptions,
) -> Option<(CheckpointInfo, RecordBatch)> {
    let location = Arc::new(TableLocation::parse(root.to_str().unwrap()).unwrap());
    let written = match source {
        Source::Latest => {
            // Only tables a snapshot can load: the others are refused for the same reasons.
            Snapshot::load(Arc::clone(&location)).await.ok()?;
            write_latest_checkpoint_with(location, options).await
        }
        Source::Statistics | Source::Plain => {
            let statistics = matches!(source, Source::Statistics);
            let snapshot_options = if statistics {
                SnapshotOptions::with_statistics()
            } else {
                SnapshotOptions::default()
            };
            let snapshot = Snapshot::load_with(location, None, snapshot_options)
                .await
                .ok()?;
            assert_eq!(snapshot.has_statistics(), statistics);
            write_checkpoint_with(&snapshot, options).await
        }
    };
    let info = match written {
        Ok(info) => info,
        Err(LogError::Unsupported { .. }) => return None,
        Err(err) => panic!("{}: {err}", root.display()),
    };
    let file = root
        .join("_delta_log")
        .join(format!("{:020}.checkpoint.parquet", info.version));
    Some((info, read_parquet(&file)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_gets_the_same_checkpoint_with_statistics_streamed_from_the_log() {
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2000-01-01T00:00:00Z")
        .unwrap()
        .into();
    let options = CheckpointOptions::default().with_now(now);
    let mut checked = Vec::new();
    for fixture in fixture_tables() {
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let mut written = Vec::new();
        for source in [Source::Statistics, Source::Plain, Source::Latest] {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().join("t");
            copy_dir(&fixture.join("_delta_log"), &root.join("_delta_log"));
            written.push((source, checkpoint_of(&root, source, &options).await));
        }
        if written.iter().all(|(_, w)| w.is_none()) {
            continue;
        }
        let Some((from_stats, rows_from_stats)) = written[0].1.clone() else {
            panic!("{name}: only the streamed checkpoints were written");
        };
        for (source, other) in &written[1..] {
            let Some((streamed, rows_streamed)) = other else {
                panic!("{name}: no {source:?} checkpoint");
            };
            assert_eq!(
                (streamed.actions, streamed.add_files, streamed.tombstones),
                (
                    from_stats.actions,
                    from_stats.add_files,
                    from_stats.tombstones
                ),
                "{name} {source:?}"
            );
            // Row for row: the stream sends the files in the order the snapshot's replay
            // keeps them (newest commit first, then the checkpoint), tombstones alike.
            assert_eq!(rows_streamed, &rows_from_stats, "{name} {source:?}");
        }
        checked.push(format!("{name}: {} files", from_stats.add_files));
    }
    assert!(checked.len() >= 40, "checked {checked:#?}");
}

/// A table of 3 commits adding `f1`..`f3`, then `f1` removed and `f2` re-added (newer stats).
fn table_with_history() -> TestTable {
    let table = TestTable::new();
    let schema = json!({"type": "struct", "fields": [field("v", json!("long"))]});
    table.commit(
        0,
        &[
            Action::Protocol(protocol(1, 2)),
            Action::Metadata(metadata(schema, &[], &[])),
        ],
    );
    for version in 1..=3 {
        let stats = format!(r#"{{"numRecords":{version},"minValues":{{"v":{version}}}}}"#);
        table.commit(
            version,
            &[Action::Add(add(&format!("f{version}"), Some(&stats)))],
        );
    }
    let mut readd = add("f2", Some(r#"{"numRecords":20,"minValues":{"v":20}}"#));
    readd.data_change = false;
    let mut remove = tarn_protocol::actions::Remove {
        path: "f1".into(),
        deletion_timestamp: Some(1),
        data_change: true,
        extended_file_metadata: None,
        partition_values: None,
        size: None,
        stats: None,
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
    };
    remove.data_change = true;
    table.commit(4, &[Action::Remove(remove), Action::Add(readd)]);
    table
}

#[tokio::test]
async fn the_newest_add_of_each_file_is_written_once() {
    let table = table_with_history();
    let plain = Snapshot::load(Arc::clone(&table.location)).await.unwrap();
    let info = write_checkpoint(&plain).await.unwrap();
    assert_eq!(info.add_files, 2);
    let expected = state(&table.snapshot().await);
    table.delete_commits_through(4);
    assert_eq!(state(&table.snapshot().await), expected);
    let f2 = table
        .snapshot()
        .await
        .files()
        .iter()
        .find(|f| f.path() == "f2")
        .and_then(|f| f.stats().map(str::to_owned));
    assert_eq!(
        f2.as_deref(),
        Some(r#"{"numRecords":20,"minValues":{"v":20}}"#)
    );
}

#[tokio::test]
async fn files_from_an_earlier_checkpoint_are_streamed_from_it() {
    let table = table_with_history();
    write_checkpoint(&table.snapshot_at(2).await).await.unwrap();
    let plain = Snapshot::load(Arc::clone(&table.location)).await.unwrap();
    assert_eq!(
        plain.segment().checkpoint.as_ref().map(|c| c.version),
        Some(2)
    );
    let expected = state(&table.snapshot().await);
    let info = write_checkpoint(&plain).await.unwrap();
    assert_eq!((info.version, info.add_files), (4, 2));
    table.delete_commits_through(4);
    fs::remove_file(table.log(&format!("{:020}.checkpoint.parquet", 2))).unwrap();
    assert_eq!(state(&table.snapshot().await), expected);
}

#[tokio::test]
async fn a_log_without_an_active_files_add_fails_and_leaves_nothing() {
    let table = table_with_history();
    let plain = Snapshot::load(Arc::clone(&table.location)).await.unwrap();
    // Commit 3 rewritten after the snapshot was loaded: `f3` is active but no add names it.
    table.commit(3, &[Action::Add(add("g3", Some(r#"{"numRecords":3}"#)))]);
    let err = write_checkpoint(&plain).await.unwrap_err();
    assert!(
        matches!(&err, LogError::CheckpointWrite { reason, .. }
            if reason.contains("1 active files have no add action")),
        "{err}"
    );
    // A commit gone: the read fails.
    fs::remove_file(table.log(&format!("{:020}.json", 2))).unwrap();
    let err = write_checkpoint(&plain).await.unwrap_err();
    assert!(matches!(err, LogError::Storage { .. }), "{err}");
    for name in fs::read_dir(table.root.join("_delta_log")).unwrap() {
        let name = name.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !name.contains("checkpoint"),
            "a failed write left {name} behind"
        );
    }
}

#[tokio::test]
async fn the_latest_checkpoint_replays_the_log_without_a_snapshot() {
    let table = table_with_history();
    let expected = state(&table.snapshot().await);
    let info = write_latest_checkpoint(Arc::clone(&table.location))
        .await
        .unwrap();
    assert_eq!((info.version, info.add_files), (4, 2));
    // The remove of `f1` (deleted at the epoch) has expired: no tombstone.
    assert_eq!(info.tombstones, 0);
    table.delete_commits_through(4);
    assert_eq!(state(&table.snapshot().await), expected);
}

#[tokio::test]
async fn the_latest_checkpoint_keeps_the_newest_state_and_unexpired_tombstones() {
    let table = table_with_history();
    // At the epoch: the remove of `f1` (deleted 1 ms after it) has not expired.
    let now: DateTime<Utc> = DateTime::from_timestamp_millis(0).unwrap();
    // A newer schema, a transaction and a domain, after the files.
    let schema = json!({"type": "struct", "fields": [field("v", json!("long")), field("w", json!("string"))]});
    table.commit(
        5,
        &[
            Action::Metadata(metadata(schema, &[], &[("delta.appendOnly", "false")])),
            Action::Txn(tarn_protocol::actions::Txn {
                app_id: "app".into(),
                version: 7,
                last_updated: Some(1),
            }),
            Action::DomainMetadata(tarn_protocol::actions::DomainMetadata {
                domain: "d".into(),
                configuration: "{}".into(),
                removed: false,
            }),
        ],
    );
    let expected = state(&table.snapshot().await);
    let options = CheckpointOptions::default().with_now(now);
    let checkpoint = table.log(&format!("{:020}.checkpoint.parquet", 5));
    let latest = write_latest_checkpoint_with(Arc::clone(&table.location), &options)
        .await
        .unwrap();
    let latest_rows = read_parquet(&checkpoint);
    fs::remove_file(&checkpoint).unwrap();
    fs::remove_file(table.log("_last_checkpoint")).unwrap();
    let from_snapshot = write_checkpoint_with(&table.snapshot().await, &options)
        .await
        .unwrap();
    // The remove of `f1` is a tombstone, in both.
    assert_eq!((latest.add_files, latest.tombstones), (2, 1));
    assert_eq!(
        (latest.actions, latest.tombstones),
        (from_snapshot.actions, from_snapshot.tombstones)
    );
    assert_eq!(latest_rows, read_parquet(&checkpoint));
    table.delete_commits_through(5);
    assert_eq!(state(&table.snapshot().await), expected);
}

#[tokio::test]
async fn the_latest_checkpoint_refuses_what_a_snapshot_load_refuses() {
    let table = TestTable::new();
    table.commit(0, &[Action::Protocol(protocol(1, 2))]);
    let err = write_latest_checkpoint(Arc::clone(&table.location))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            LogError::MissingAction {
                missing: "metaData",
                ..
            }
        ),
        "{err}"
    );
    let schema = json!({"type": "struct", "fields": [field("v", json!("long"))]});
    table.commit(1, &[Action::Metadata(metadata(schema, &[], &[]))]);
    fs::write(
        table.log(&format!("{:020}.json", 2)),
        "{\"txn\": not json}\n",
    )
    .unwrap();
    let err = write_latest_checkpoint(Arc::clone(&table.location))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LogError::CorruptCommit { version: 2, .. }),
        "{err}"
    );
    fs::write(
        table.log(&format!("{:020}.json", 2)),
        "{\"add\": not json}\n",
    )
    .unwrap();
    let err = write_latest_checkpoint(Arc::clone(&table.location))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LogError::CorruptCommit { version: 2, .. }),
        "{err}"
    );
    assert!(
        !table.log(&format!("{:020}.checkpoint.parquet", 2)).exists(),
        "a failed write left a checkpoint behind"
    );
}
