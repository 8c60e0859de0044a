//! Checkpoint writing when things go wrong: a crash between the checkpoint and
//! `_last_checkpoint`, stale hints, failed writes (nothing may be left behind), tables tarn
//! must not checkpoint; and every fixture table round-tripping through its own checkpoint.

use std::fs;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType as ArrowType, Field, Schema};
use chrono::{DateTime, Utc};
use parquet::file::properties::WriterProperties;
use serde_json::json;
use tarn_protocol::actions::Action;
use tarn_protocol::log_path::LogFileName;

use super::upload::{BatchSender, write_parquet};
use super::write::{CheckpointOptions, write_checkpoint, write_checkpoint_with};
use super::write_tests::{TestTable, add, field, metadata, protocol, state};
use crate::error::LogError;
use crate::location::TableLocation;
use crate::snapshot::{Snapshot, SnapshotOptions};

#[tokio::test]
async fn a_missing_or_stale_hint_still_finds_the_checkpoint() {
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
        table.commit(
            version,
            &[Action::Add(add(
                &format!("f{version}"),
                Some(r#"{"numRecords":1}"#),
            ))],
        );
    }
    let at3 = table.snapshot().await;
    write_checkpoint(&at3).await.unwrap();
    let uses_checkpoint =
        |snapshot: &Snapshot| snapshot.segment().checkpoint.as_ref().map(|c| c.version) == Some(3);

    // A crash between the checkpoint and the hint: no hint at all.
    fs::remove_file(table.log("_last_checkpoint")).unwrap();
    let loaded = table.snapshot().await;
    assert!(uses_checkpoint(&loaded));
    assert_eq!(state(&loaded), state(&at3));

    // A hint from an earlier checkpoint that is gone, and one that is not JSON.
    for hint in [r#"{"version":1,"size":3}"#, "garbage"] {
        fs::write(table.log("_last_checkpoint"), hint).unwrap();
        let loaded = table.snapshot().await;
        assert!(uses_checkpoint(&loaded));
        assert_eq!(state(&loaded), state(&at3));
    }

    // Checkpointing an older version leaves a newer hint alone.
    write_checkpoint(&at3).await.unwrap();
    let info = write_checkpoint(&table.snapshot_at(1).await).await.unwrap();
    assert!(!info.last_checkpoint_updated);
    let hint: serde_json::Value =
        serde_json::from_slice(&fs::read(table.log("_last_checkpoint")).unwrap()).unwrap();
    assert_eq!(hint["version"], 3);
    assert!(
        table
            .log("00000000000000000001.checkpoint.parquet")
            .exists()
    );
}

#[tokio::test]
async fn unknown_writer_features_are_refused() {
    let table = TestTable::new();
    let schema = json!({"type": "struct", "fields": [field("v", json!("long"))]});
    let mut protocol = protocol(1, 7);
    protocol.writer_features = Some(vec!["someFutureFeature".parse().unwrap()]);
    table.commit(
        0,
        &[
            Action::Protocol(protocol),
            Action::Metadata(metadata(schema, &[], &[])),
        ],
    );
    let err = write_checkpoint(&table.snapshot().await).await.unwrap_err();
    assert!(matches!(err, crate::LogError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("someFutureFeature"), "{err}");
    assert!(
        !table
            .log("00000000000000000000.checkpoint.parquet")
            .exists()
    );
}

/// `rows` rows of `width` characters that compress badly, so the file outgrows one upload
/// buffer and goes out as a multipart upload.
fn noise(rows: usize, width: usize, seed: u64) -> RecordBatch {
    let mut state = seed | 1;
    let values: Vec<String> = (0..rows)
        .map(|_| {
            (0..width)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    char::from(b'!' + (state % 90) as u8)
                })
                .collect()
        })
        .collect();
    let schema = Arc::new(Schema::new(vec![Field::new("s", ArrowType::Utf8, true)]));
    RecordBatch::try_new(
        schema,
        vec![Arc::new(StringArray::from(values)) as ArrayRef],
    )
    .unwrap()
}

fn small_row_groups() -> WriterProperties {
    WriterProperties::builder()
        .set_max_row_group_row_count(Some(500))
        .build()
}

fn log_entries(table: &TestTable) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(table.root.join("_delta_log"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_large_upload_completes_and_a_failed_one_leaves_nothing() {
    let table = TestTable::new();
    let schema = noise(1, 1, 1).schema();
    let path = table
        .location
        .log_file("00000000000000000009.checkpoint.parquet");

    // 24 MiB of noise: three times the upload buffer.
    let (written, ()) = write_parquet(
        &table.location,
        &path,
        9,
        Arc::clone(&schema),
        small_row_groups(),
        |tx: &BatchSender| {
            for seed in 0..6 {
                if tx.send(noise(1000, 4096, seed)).is_err() {
                    return Ok(());
                }
            }
            Ok(())
        },
    )
    .await
    .unwrap();
    assert_eq!(written.rows, 6000);
    let on_disk = table.log("00000000000000000009.checkpoint.parquet");
    assert_eq!(fs::metadata(&on_disk).unwrap().len(), written.bytes);
    assert!(written.bytes > 16 * 1024 * 1024, "{}", written.bytes);
    assert_eq!(super::write_tests::read_parquet(&on_disk).num_rows(), 6000);
    fs::remove_file(&on_disk).unwrap();

    // The producer fails after most of the file went out: the upload is aborted.
    let err = write_parquet(
        &table.location,
        &path,
        9,
        Arc::clone(&schema),
        small_row_groups(),
        |tx: &BatchSender| {
            for seed in 0..5 {
                if tx.send(noise(1000, 4096, seed)).is_err() {
                    return Ok(());
                }
            }
            Err(LogError::Task {
                reason: "producer failed".into(),
                source: None,
            })
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LogError::Task { .. }), "{err}");
    // Give the store's background cleanup of staged parts a moment.
    tokio::task::yield_now().await;
    assert!(log_entries(&table).is_empty(), "{:?}", log_entries(&table));

    // The encoder fails (a batch of another schema): nothing is left either.
    let err = write_parquet(
        &table.location,
        &path,
        9,
        schema,
        small_row_groups(),
        |tx: &BatchSender| {
            let other = Arc::new(Schema::new(vec![Field::new("n", ArrowType::Int64, true)]));
            let batch = RecordBatch::try_new(
                other,
                vec![Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef],
            )
            .unwrap();
            let _ = tx.send(batch);
            Ok(())
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LogError::CheckpointWrite { .. }), "{err}");
    assert!(log_entries(&table).is_empty(), "{:?}", log_entries(&table));
}

pub(super) fn copy_dir(from: &FsPath, to: &FsPath) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every fixture table with a log, one directory deep or two.
pub(super) fn fixture_tables() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/tables");
    let mut tables = Vec::new();
    for entry in fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        if dir.join("_delta_log").is_dir() {
            tables.push(dir);
        } else if dir.is_dir() {
            for inner in fs::read_dir(&dir).unwrap() {
                let inner = inner.unwrap().path();
                if inner.join("_delta_log").is_dir() {
                    tables.push(inner);
                }
            }
        }
    }
    tables.sort();
    tables
}

/// Deletes the commits up to `version` and every other checkpoint of `version`, so that only
/// tarn's checkpoint can define it.
fn keep_only_our_checkpoint(log: &FsPath, version: u64) {
    let ours = format!("{version:020}.checkpoint.parquet");
    for entry in fs::read_dir(log).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(parsed) = LogFileName::parse(&name) else {
            continue;
        };
        let commit = parsed.is_commit() && parsed.version <= version;
        let other = parsed.is_checkpoint() && parsed.version == version && name != ours;
        if commit || other {
            fs::remove_file(entry.path()).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_round_trips_through_its_own_checkpoint() {
    // Long ago: no tombstone has expired, so the fixtures' tombstones (from their commits, their
    // checkpoints and sidecars) are all carried.
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2000-01-01T00:00:00Z")
        .unwrap()
        .into();
    let options = CheckpointOptions::default().with_now(now);
    let mut checked = Vec::new();
    let mut skipped = Vec::new();
    for fixture in fixture_tables() {
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("t");
        copy_dir(&fixture.join("_delta_log"), &root.join("_delta_log"));
        let location = Arc::new(TableLocation::parse(root.to_str().unwrap()).unwrap());
        let load = || {
            Snapshot::load_with(
                Arc::clone(&location),
                None,
                SnapshotOptions::with_statistics(),
            )
        };
        let Ok(before) = load().await else {
            skipped.push(format!("{name} (unreadable)"));
            continue;
        };
        let first = match write_checkpoint_with(&before, &options).await {
            Ok(info) => info,
            Err(LogError::Unsupported { source, .. }) => {
                skipped.push(format!("{name} ({source})"));
                continue;
            }
            Err(err) => panic!("{name}: {err}"),
        };
        keep_only_our_checkpoint(&root.join("_delta_log"), before.version());
        let after = load().await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            after.segment().checkpoint.as_ref().map(|c| c.version),
            Some(before.version()),
            "{name}"
        );
        let json_stats = !before
            .properties()
            .get("delta.checkpoint.writeStatsAsJson")
            .is_some_and(|v| v.eq_ignore_ascii_case("false"));
        if json_stats {
            assert_eq!(state(&after), state(&before), "{name}");
        } else {
            assert_eq!(
                state(&after).without_json_stats(),
                state(&before).without_json_stats(),
                "{name}"
            );
            let records = |s: &Snapshot| {
                let mut r: Vec<(String, Option<i64>)> = s
                    .files()
                    .iter()
                    .map(|f| (f.path().to_owned(), f.num_records()))
                    .collect();
                r.sort();
                r
            };
            assert_eq!(records(&after), records(&before), "{name}");
        }
        // Checkpointing again from tarn's own checkpoint changes nothing, tombstones included.
        let second = write_checkpoint_with(&after, &options).await.unwrap();
        assert_eq!(
            (second.actions, second.add_files, second.tombstones),
            (first.actions, first.add_files, first.tombstones),
            "{name}"
        );
        checked.push(format!(
            "{name}: {} files, {} tombstones",
            first.add_files, first.tombstones
        ));
    }
    assert!(
        checked.len() >= 40,
        "checked {checked:#?}, skipped {skipped:#?}"
    );
    println!("checked {checked:#?}\nskipped {skipped:#?}");
}

/// CPU time (user and system) of this process so far, in milliseconds.
fn process_cpu_ms() -> u64 {
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) * 10
}

/// Peak resident memory of this process, in MiB (`VmHWM`).
fn peak_rss_mib() -> f64 {
    rss_mib("VmHWM:")
}

/// A memory figure of this process from `/proc/self/status`, in MiB.
fn rss_mib(key: &str) -> f64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Measures a checkpoint write of a large table: set `TARN_CHECKPOINT_TABLE` to a copy of a
/// table (the checkpoint is written into it) and run
/// `cargo test -p tarn-log --release --lib -- --ignored --nocapture checkpoint_measure`.
/// Prints times and peak memory; asserts nothing about them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement on a large table named by TARN_CHECKPOINT_TABLE"]
async fn checkpoint_measure() {
    let Ok(path) = std::env::var("TARN_CHECKPOINT_TABLE") else {
        return;
    };
    let location = Arc::new(TableLocation::parse(&path).unwrap());
    let start = std::time::Instant::now();
    let snapshot = Snapshot::load_with(location, None, SnapshotOptions::with_statistics())
        .await
        .unwrap();
    let loaded = start.elapsed();
    let after_load = peak_rss_mib();
    let _ = fs::write("/proc/self/clear_refs", "5");
    let before_write = rss_mib("VmRSS:");
    let cpu_before = process_cpu_ms();
    let start = std::time::Instant::now();
    let info = write_checkpoint(&snapshot).await.unwrap();
    let written = start.elapsed();
    let cpu = process_cpu_ms() - cpu_before;
    println!(
        "{} files: load {loaded:?} (peak {after_load:.0} MiB, snapshot {:.0} MiB), checkpoint {written:?} ({cpu} ms CPU; resident before {before_write:.0} MiB, peak {:.0} MiB), {} bytes",
        info.add_files,
        snapshot.files().memory_size() as f64 / 1048576.0,
        peak_rss_mib(),
        info.size_in_bytes,
    );
}
