//! Time travel, history and incremental update, checked against an independent reference.
//!
//! The reference replay here reads every `_delta_log/NNN.json` forward with plain
//! `serde_json::Value`s, keying logical files by `(path, deletion vector id)`: it shares no code
//! with tarn's (newest-first, columnar) replay, so agreement at every version of every fixture
//! is evidence, not a tautology.
//!
//! Timestamp tests set commit file modification times to known instants in a copy of a fixture;
//! nothing here depends on the wall clock.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use serde_json::Value;
use tarn::protocol::actions::Protocol;
use tarn::{LogError, Snapshot, Table};

use crate::common::{
    block_on, commit_path, commit_versions, delta_log, fixture_table, set_mtime, uri,
    writable_fixture_copy,
};

/// The fixtures every test here runs on.
const FIXTURES: &[&str] = &[
    "table_with_deletion_logs",
    "checkpoint-v2-table",
    "cdf-table-non-partitioned",
    "delta-0.2.0",
    "latest_not_checkpointed",
];

type FileKey = (String, Option<String>);

// ---------------------------------------------------------------------------------------------
// The reference replay
// ---------------------------------------------------------------------------------------------

/// The table state after one version, as the reference replay sees it.
#[derive(Debug, Clone)]
struct RefState {
    files: BTreeSet<FileKey>,
    protocol: Value,
    metadata: Value,
    commit_info: Option<Value>,
}

/// `storageType + pathOrInlineDv + ("@" + offset if present)`.
fn reference_dv_id(dv: &Value) -> String {
    let mut id = format!(
        "{}{}",
        dv["storageType"].as_str().unwrap(),
        dv["pathOrInlineDv"].as_str().unwrap()
    );
    if let Some(offset) = dv.get("offset").and_then(Value::as_i64) {
        id.push_str(&format!("@{offset}"));
    }
    id
}

fn reference_key(action: &Value) -> FileKey {
    let path = action["path"].as_str().unwrap().to_owned();
    let dv = action
        .get("deletionVector")
        .filter(|dv| !dv.is_null())
        .map(reference_dv_id);
    (path, dv)
}

/// The parsed lines of one commit file.
fn commit_actions(table: &Path, version: u64) -> Vec<Value> {
    std::fs::read_to_string(commit_path(table, version))
        .unwrap()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Replays every commit of a table forward from version 0; element `v` is the state at `v`.
fn reference_replay(table: &Path) -> Vec<RefState> {
    let versions = commit_versions(table);
    assert_eq!(
        versions,
        (0..versions.len() as u64).collect::<Vec<_>>(),
        "{}: the reference replay needs every commit from 0",
        table.display()
    );
    let mut files = BTreeSet::new();
    let mut protocol = Value::Null;
    let mut metadata = Value::Null;
    let mut states = Vec::new();
    for version in versions {
        let mut commit_info = None;
        for action in commit_actions(table, version) {
            if let Some(add) = action.get("add") {
                files.insert(reference_key(add));
            }
            if let Some(remove) = action.get("remove") {
                files.remove(&reference_key(remove));
            }
            if let Some(p) = action.get("protocol") {
                protocol = p.clone();
            }
            if let Some(m) = action.get("metaData") {
                metadata = m.clone();
            }
            if let Some(c) = action.get("commitInfo") {
                commit_info = Some(c.clone());
            }
        }
        states.push(RefState {
            files: files.clone(),
            protocol: protocol.clone(),
            metadata: metadata.clone(),
            commit_info,
        });
    }
    states
}

type ProtocolSummary = (i64, i64, Option<BTreeSet<String>>, Option<BTreeSet<String>>);

fn reference_protocol(protocol: &Value) -> ProtocolSummary {
    let features = |key: &str| {
        protocol.get(key).filter(|v| !v.is_null()).map(|list| {
            list.as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_owned())
                .collect()
        })
    };
    (
        protocol["minReaderVersion"].as_i64().unwrap(),
        protocol["minWriterVersion"].as_i64().unwrap(),
        features("readerFeatures"),
        features("writerFeatures"),
    )
}

fn tarn_protocol(protocol: &Protocol) -> ProtocolSummary {
    let names = |features: &Option<Vec<tarn::protocol::features::TableFeature>>| {
        features
            .as_ref()
            .map(|list| list.iter().map(|f| f.name().to_owned()).collect())
    };
    (
        i64::from(protocol.min_reader_version),
        i64::from(protocol.min_writer_version),
        names(&protocol.reader_features),
        names(&protocol.writer_features),
    )
}

fn file_keys(snapshot: &Snapshot) -> BTreeSet<FileKey> {
    let keys: Vec<FileKey> = snapshot
        .files()
        .iter()
        .map(|f| (f.path().to_owned(), f.deletion_vector_id()))
        .collect();
    let set: BTreeSet<FileKey> = keys.iter().cloned().collect();
    assert_eq!(set.len(), keys.len(), "a logical file is active twice");
    set
}

/// Asserts that tarn's snapshot equals the reference state.
fn assert_matches_reference(label: &str, snapshot: &Snapshot, want: &RefState) {
    assert_eq!(file_keys(snapshot), want.files, "{label}: active files");
    assert_eq!(
        tarn_protocol(snapshot.protocol()),
        reference_protocol(&want.protocol),
        "{label}: protocol"
    );
    let metadata = snapshot.metadata();
    assert_eq!(
        metadata.schema_string,
        want.metadata["schemaString"].as_str().unwrap(),
        "{label}: schema string"
    );
    assert_eq!(
        metadata.id,
        want.metadata["id"].as_str().unwrap(),
        "{label}: table id"
    );
    let partition_columns: Vec<String> = want.metadata["partitionColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        metadata.partition_columns, partition_columns,
        "{label}: partition columns"
    );
    let configuration: BTreeMap<String, String> = want.metadata["configuration"]
        .as_object()
        .map(|object| {
            object
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        metadata.configuration, configuration,
        "{label}: configuration"
    );
}

// ---------------------------------------------------------------------------------------------
// Reading with tarn
// ---------------------------------------------------------------------------------------------

fn latest(table: &Path) -> Snapshot {
    block_on(async { Table::open(uri(table)).await?.snapshot().await })
        .unwrap_or_else(|e| panic!("{}: latest: {e}", table.display()))
}

fn at_version(table: &Path, version: u64) -> Snapshot {
    block_on(async {
        Table::open(uri(table))
            .await?
            .snapshot_at_version(version)
            .await
    })
    .unwrap_or_else(|e| panic!("{}: version {version}: {e}", table.display()))
}

fn at_timestamp(table: &Path, timestamp: DateTime<Utc>) -> tarn::Result<Snapshot> {
    block_on(async {
        Table::open(uri(table))
            .await?
            .snapshot_at_timestamp(timestamp)
            .await
    })
}

/// The version tarn resolves a timestamp to, or `None` for `TimestampTooEarly` (any other
/// error fails the test).
fn version_at(table: &Path, timestamp: DateTime<Utc>) -> Option<u64> {
    match at_timestamp(table, timestamp) {
        Ok(snapshot) => Some(snapshot.version()),
        Err(tarn::Error::Log(LogError::TimestampTooEarly { .. })) => None,
        Err(other) => panic!("{}: at {timestamp}: {other:?}", table.display()),
    }
}

fn history(table: &Path, limit: Option<usize>) -> Vec<tarn::CommitEntry> {
    block_on(async { Table::open(uri(table)).await?.history(limit).await })
        .unwrap_or_else(|e| panic!("{}: history: {e}", table.display()))
}

fn utc(time: SystemTime) -> DateTime<Utc> {
    DateTime::<Utc>::from(time)
}

fn millis(time: SystemTime) -> i64 {
    i64::try_from(time.duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Every version against the reference
// ---------------------------------------------------------------------------------------------

#[test]
fn every_version_matches_the_reference_replay() {
    for name in FIXTURES {
        let table = fixture_table(name);
        let reference = reference_replay(&table);
        for (version, want) in reference.iter().enumerate() {
            let snapshot = at_version(&table, version as u64);
            assert_eq!(snapshot.version(), version as u64, "{name}");
            assert_matches_reference(&format!("{name} v{version}"), &snapshot, want);
        }
        let newest = latest(&table);
        assert_eq!(newest.version(), reference.len() as u64 - 1, "{name}");
        assert_matches_reference(
            &format!("{name} latest"),
            &newest,
            reference.last().unwrap(),
        );
    }
}

#[test]
fn the_fixtures_exercise_what_they_are_chosen_for() {
    // Guards the premise of the tests above: deletion vectors, v2 checkpoints, long logs.
    let reference = reference_replay(&fixture_table("table_with_deletion_logs"));
    assert_eq!(reference.len(), 21);
    assert!(
        reference
            .iter()
            .any(|state| state.files.iter().any(|(_, dv)| dv.is_some()))
    );
    let log = delta_log(&fixture_table("checkpoint-v2-table"));
    for version in [6, 8] {
        let prefix = format!("{version:020}.checkpoint.");
        assert!(
            std::fs::read_dir(&log).unwrap().any(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.starts_with(&prefix) && name.len() > prefix.len() + 30
            }),
            "no v2 checkpoint at {version}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// By timestamp, with file modification times
// ---------------------------------------------------------------------------------------------

fn base_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_600_000_000)
}

fn minute_time(version: u64) -> SystemTime {
    base_time() + Duration::from_secs(60 * version)
}

/// A writable copy of a fixture whose commit `v` was last modified at `time(v)`.
fn copy_with_mtimes(
    name: &str,
    time: impl Fn(u64) -> SystemTime,
) -> (tempfile::TempDir, PathBuf, Vec<u64>) {
    let (dir, table) = writable_fixture_copy(name);
    let versions = commit_versions(&table);
    for version in &versions {
        set_mtime(&commit_path(&table, *version), time(*version));
    }
    (dir, table, versions)
}

#[test]
fn timestamps_resolve_to_the_version_committed_at_or_before_them() {
    for name in FIXTURES {
        let (_dir, table, versions) = copy_with_mtimes(name, minute_time);
        let last = *versions.last().unwrap();
        for &v in &versions {
            let t = minute_time(v);
            assert_eq!(version_at(&table, utc(t)), Some(v), "{name}: at t_{v}");
            assert_eq!(
                version_at(&table, utc(t + Duration::from_secs(30))),
                Some(v),
                "{name}: at t_{v} + 30s"
            );
            assert_eq!(
                version_at(&table, utc(t + Duration::from_millis(59_999))),
                Some(v),
                "{name}: just before t_{}",
                v + 1
            );
        }
        match at_timestamp(&table, utc(minute_time(0) - Duration::from_secs(1))) {
            Err(tarn::Error::Log(err)) => {
                let message = err.to_string();
                match err {
                    LogError::TimestampTooEarly {
                        earliest_version,
                        earliest,
                        ..
                    } => {
                        assert_eq!(earliest_version, 0, "{name}");
                        assert_eq!(
                            DateTime::parse_from_rfc3339(&earliest).unwrap(),
                            utc(minute_time(0)),
                            "{name}"
                        );
                        assert!(
                            message.contains("is 0 at 2020-09-13T12:26:40"),
                            "{name}: {message}"
                        );
                    }
                    other => panic!("{name}: expected TimestampTooEarly, got {other:?}"),
                }
            }
            Err(other) => panic!("{name}: expected TimestampTooEarly, got {other:?}"),
            Ok(s) => panic!(
                "{name}: expected TimestampTooEarly, got version {}",
                s.version()
            ),
        }
        for after in [Duration::from_secs(61), Duration::from_secs(86_400 * 365)] {
            assert_eq!(
                version_at(&table, utc(minute_time(last) + after)),
                Some(last),
                "{name}: after the latest"
            );
        }
        // The snapshot found by timestamp is the snapshot of that version.
        let reference = reference_replay(&table);
        let mid = last / 2;
        let snapshot =
            at_timestamp(&table, utc(minute_time(mid) + Duration::from_secs(1))).unwrap();
        assert_matches_reference(
            &format!("{name} by timestamp"),
            &snapshot,
            &reference[mid as usize],
        );
    }
}

#[test]
fn snapshot_timestamp_is_the_commit_time_at_every_version() {
    // Includes the versions that have a checkpoint: the version was committed when its
    // commit file was written, whatever the checkpoint file's time.
    let mut wrong = Vec::new();
    for name in FIXTURES {
        let (_dir, table, versions) = copy_with_mtimes(name, minute_time);
        for &v in &versions {
            let snapshot = at_version(&table, v);
            if snapshot.timestamp() != utc(minute_time(v)) {
                wrong.push(format!(
                    "{name} v{v}: {} instead of {}",
                    snapshot.timestamp(),
                    utc(minute_time(v))
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "Snapshot::timestamp is not the commit time: {wrong:#?}"
    );
}

#[test]
fn history_reports_file_times_newest_first() {
    for name in FIXTURES {
        let (_dir, table, versions) = copy_with_mtimes(name, minute_time);
        let entries = history(&table, None);
        let got: Vec<(u64, i64)> = entries.iter().map(|e| (e.version, e.timestamp)).collect();
        let want: Vec<(u64, i64)> = versions
            .iter()
            .rev()
            .map(|v| (*v, millis(minute_time(*v))))
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

/// Asserts the version each of `queries` resolves to.
fn assert_lookups(label: &str, table: &Path, queries: &[(i64, Option<u64>)]) {
    for (ms, want) in queries {
        assert_eq!(
            version_at(table, from_millis(*ms)),
            *want,
            "{label}: at {}",
            from_millis(*ms)
        );
    }
}

#[test]
fn non_monotonic_file_times_are_made_monotonic() {
    // Version 3's file is older than version 2's (older than version 1's, even): it counts as
    // committed 1 ms after version 2.
    let name = "cdf-table-non-partitioned";
    let raw3 = base_time() + Duration::from_secs(30);
    let (_dir, table, versions) =
        copy_with_mtimes(name, |v| if v == 3 { raw3 } else { minute_time(v) });
    assert_eq!(versions, vec![0, 1, 2, 3, 4]);
    let t = |v: u64| millis(minute_time(v));
    let adjusted = [t(0), t(1), t(2), t(2) + 1, t(4)];

    let entries = history(&table, None);
    let got: Vec<(u64, i64)> = entries.iter().map(|e| (e.version, e.timestamp)).collect();
    let want: Vec<(u64, i64)> = (0..5u64).rev().map(|v| (v, adjusted[v as usize])).collect();
    assert_eq!(got, want, "history timestamps");

    assert_lookups(
        name,
        &table,
        &[
            (t(0) - 1, None),
            (t(0), Some(0)),
            (millis(raw3), Some(0)),
            (t(1), Some(1)),
            (t(2), Some(2)),
            (t(2) + 1, Some(3)),
            (t(2) + 30_000, Some(3)),
            (t(4) - 1, Some(3)),
            (t(4), Some(4)),
        ],
    );
    // Every timestamp history reports resolves to its own version.
    for entry in &entries {
        assert_eq!(
            version_at(&table, from_millis(entry.timestamp)),
            Some(entry.version),
            "history timestamp of v{}",
            entry.version
        );
    }
}

#[test]
fn equal_and_repeated_backwards_file_times_each_add_one_millisecond() {
    let name = "cdf-table-non-partitioned";
    // Versions 2, 3 and 4 all carry version 1's file time, exactly.
    let (_dir, table, _) = copy_with_mtimes(name, |v| minute_time(v.min(1)));
    let t1 = millis(minute_time(1));
    let entries = history(&table, None);
    let got: Vec<(u64, i64)> = entries.iter().map(|e| (e.version, e.timestamp)).collect();
    assert_eq!(
        got,
        vec![
            (4, t1 + 3),
            (3, t1 + 2),
            (2, t1 + 1),
            (1, t1),
            (0, millis(minute_time(0)))
        ]
    );
    assert_lookups(
        name,
        &table,
        &[
            (t1 - 1, Some(0)),
            (t1, Some(1)),
            (t1 + 1, Some(2)),
            (t1 + 2, Some(3)),
            (t1 + 3, Some(4)),
            (t1 + 60_000, Some(4)),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// In-commit timestamps
// ---------------------------------------------------------------------------------------------

/// `commitInfo.inCommitTimestamp` of every commit, read from the JSON.
fn in_commit_timestamps(table: &Path) -> Vec<i64> {
    commit_versions(table)
        .into_iter()
        .map(|v| {
            let actions = commit_actions(table, v);
            let info = actions
                .iter()
                .find_map(|a| a.get("commitInfo"))
                .unwrap_or_else(|| panic!("v{v} has no commitInfo"));
            info["inCommitTimestamp"].as_i64().unwrap()
        })
        .collect()
}

/// Reference time travel: the newest version whose timestamp is at or before `ms`.
fn reference_version_at(timestamps: &[i64], ms: i64) -> Option<u64> {
    timestamps
        .iter()
        .enumerate()
        .filter(|(_, ts)| **ts <= ms)
        .map(|(v, _)| v as u64)
        .max()
}

/// Sets commit file times far from the in-commit timestamps (2001), decreasing with the
/// version so that they would give different answers if they were used.
fn scramble_mtimes(table: &Path) -> Vec<i64> {
    let versions = commit_versions(table);
    let base = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    versions
        .iter()
        .map(|v| {
            let time = base + Duration::from_secs(3600 * (versions.len() as u64 - v));
            set_mtime(&commit_path(table, *v), time);
            millis(time)
        })
        .collect()
}

#[test]
fn in_commit_timestamps_are_used_instead_of_file_times() {
    let (_dir, table) = writable_fixture_copy("cdc_ict_table");
    let icts = in_commit_timestamps(&table);
    assert_eq!(icts.len(), 4);
    let mtimes = scramble_mtimes(&table);

    // history() reports the in-commit timestamps.
    let entries = history(&table, None);
    let got: Vec<(u64, i64)> = entries.iter().map(|e| (e.version, e.timestamp)).collect();
    let want: Vec<(u64, i64)> = icts
        .iter()
        .enumerate()
        .rev()
        .map(|(v, ts)| (v as u64, *ts))
        .collect();
    assert_eq!(got, want, "history timestamps");
    // So does each snapshot.
    for (v, ict) in icts.iter().enumerate() {
        assert_eq!(
            at_version(&table, v as u64).timestamp(),
            from_millis(*ict),
            "Snapshot::timestamp at v{v}"
        );
    }

    // Lookups follow the in-commit timestamps. This fixture's version 1 has an in-commit
    // timestamp (2023) older than version 0's (2026), which the protocol forbids; the
    // reference answers with the newest version at or before the time asked for.
    let mut queries = Vec::new();
    for ict in &icts {
        for delta in [-1, 0, 1, 30_000] {
            queries.push(ict + delta);
        }
    }
    queries.extend(&mtimes);
    for ms in queries {
        assert_eq!(
            version_at(&table, from_millis(ms)),
            reference_version_at(&icts, ms),
            "at {}",
            from_millis(ms)
        );
    }
}

/// Rewrites the `inCommitTimestamp` of one commit (in place, keeping the other lines).
fn set_in_commit_timestamp(table: &Path, version: u64, ict: i64) {
    let text: String = commit_actions(table, version)
        .into_iter()
        .map(|mut action| {
            if let Some(info) = action.get_mut("commitInfo") {
                info["inCommitTimestamp"] = Value::from(ict);
            }
            format!("{action}\n")
        })
        .collect();
    std::fs::write(commit_path(table, version), text).unwrap();
}

#[test]
fn in_commit_timestamps_resolve_every_version() {
    // cdc_ict_table with version 1's in-commit timestamp restored to the value its checksum
    // file records (monotonic, as the protocol requires).
    let (_dir, table) = writable_fixture_copy("cdc_ict_table");
    let crc: Value = serde_json::from_str(
        &std::fs::read_to_string(delta_log(&table).join("00000000000000000001.crc")).unwrap(),
    )
    .unwrap();
    set_in_commit_timestamp(&table, 1, crc["inCommitTimestampOpt"].as_i64().unwrap());
    let icts = in_commit_timestamps(&table);
    assert!(icts.windows(2).all(|w| w[0] < w[1]), "{icts:?}");
    scramble_mtimes(&table);

    for (v, ict) in icts.iter().enumerate() {
        let v = v as u64;
        assert_eq!(
            version_at(&table, from_millis(*ict)),
            Some(v),
            "at ICT of v{v}"
        );
        assert_eq!(
            version_at(&table, from_millis(ict + 1)),
            Some(v),
            "at ICT of v{v} + 1ms"
        );
        if v > 0 {
            assert_eq!(
                version_at(&table, from_millis(ict - 1)),
                Some(v - 1),
                "at ICT of v{v} - 1ms"
            );
        }
        assert_eq!(at_version(&table, v).timestamp(), from_millis(*ict));
    }
    match at_timestamp(&table, from_millis(icts[0] - 1)) {
        Err(tarn::Error::Log(LogError::TimestampTooEarly {
            earliest_version,
            earliest,
            ..
        })) => {
            assert_eq!(earliest_version, 0);
            assert_eq!(
                DateTime::parse_from_rfc3339(&earliest).unwrap(),
                from_millis(icts[0])
            );
        }
        other => panic!(
            "expected TimestampTooEarly, got {:?}",
            other.map(|s| s.version())
        ),
    }
    assert_eq!(
        version_at(&table, from_millis(icts[3] + 3_600_000)),
        Some(3)
    );
    let entries = history(&table, None);
    assert_eq!(
        entries.iter().map(|e| e.timestamp).collect::<Vec<_>>(),
        icts.iter().rev().copied().collect::<Vec<_>>()
    );
}

#[test]
fn in_commit_timestamps_enabled_part_way_through_the_log() {
    // Versions 0..=2 have no in-commit timestamp (file times count); version 3 enables them.
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("table");
    std::fs::create_dir_all(delta_log(&table)).unwrap();
    let schema =
        r#"{"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}}]}"#;
    let metadata = |configuration: Value| {
        serde_json::json!({"metaData": {
            "id": "table-id", "format": {"provider": "parquet", "options": {}},
            "schemaString": schema, "partitionColumns": [], "configuration": configuration,
        }})
    };
    let add = |path: &str| {
        serde_json::json!({"add": {"path": path, "partitionValues": {}, "size": 1,
            "modificationTime": 0, "dataChange": true}})
    };
    let file_time = |v: u64| base_time() + Duration::from_secs(60 * v);
    let enable_ict = millis(base_time()) + 86_400_000;
    let ict = |v: u64| enable_ict + 60_000 * (v as i64 - 3);
    let write = |version: u64, actions: Vec<Value>| {
        let text: String = actions.iter().map(|a| format!("{a}\n")).collect();
        std::fs::write(commit_path(&table, version), text).unwrap();
    };
    write(
        0,
        vec![
            serde_json::json!({"commitInfo": {"timestamp": 0, "operation": "CREATE TABLE"}}),
            serde_json::json!({"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}}),
            metadata(serde_json::json!({})),
        ],
    );
    for v in 1..=2 {
        write(
            v,
            vec![
                serde_json::json!({"commitInfo": {"timestamp": 0, "operation": "WRITE"}}),
                add(&format!("{v}.parquet")),
            ],
        );
    }
    write(
        3,
        vec![
            serde_json::json!({"commitInfo": {"inCommitTimestamp": ict(3), "timestamp": 0,
                "operation": "SET TBLPROPERTIES"}}),
            serde_json::json!({"protocol": {"minReaderVersion": 1, "minWriterVersion": 7,
                "writerFeatures": ["inCommitTimestamp"]}}),
            metadata(serde_json::json!({
                "delta.enableInCommitTimestamps": "true",
                "delta.inCommitTimestampEnablementVersion": "3",
                "delta.inCommitTimestampEnablementTimestamp": ict(3).to_string(),
            })),
        ],
    );
    for v in 4..=5 {
        write(
            v,
            vec![
                serde_json::json!({"commitInfo": {"inCommitTimestamp": ict(v), "timestamp": 0,
                    "operation": "WRITE"}}),
                add(&format!("{v}.parquet")),
            ],
        );
    }
    for v in 0..=5 {
        // From version 3 on the file times are a day in the past: they must be ignored.
        let time = if v < 3 {
            file_time(v)
        } else {
            base_time() - Duration::from_secs(86_400)
        };
        set_mtime(&commit_path(&table, v), time);
    }
    let timeline: Vec<i64> = (0..=5)
        .map(|v| if v < 3 { millis(file_time(v)) } else { ict(v) })
        .collect();
    let entries = history(&table, None);
    assert_eq!(
        entries
            .iter()
            .map(|e| (e.version, e.timestamp))
            .collect::<Vec<_>>(),
        (0..=5u64)
            .rev()
            .map(|v| (v, timeline[v as usize]))
            .collect::<Vec<_>>()
    );
    for (v, ts) in timeline.iter().enumerate() {
        for delta in [-1, 0, 1, 30_000] {
            assert_eq!(
                version_at(&table, from_millis(ts + delta)),
                reference_version_at(&timeline, ts + delta),
                "around v{v} {delta:+}ms"
            );
        }
    }
    // Between the last file-time commit and the enablement: version 2.
    assert_eq!(
        version_at(&table, from_millis(enable_ict - 3_600_000)),
        Some(2)
    );
}

// ---------------------------------------------------------------------------------------------
// History
// ---------------------------------------------------------------------------------------------

#[test]
fn history_is_newest_first_with_the_commit_operations_and_honours_the_limit() {
    let mut names = FIXTURES.to_vec();
    names.push("cdc_ict_table");
    for name in names {
        let table = fixture_table(name);
        let versions = commit_versions(&table);
        let entries = history(&table, None);
        assert_eq!(
            entries.iter().map(|e| e.version).collect::<Vec<_>>(),
            versions.iter().rev().copied().collect::<Vec<_>>(),
            "{name}: versions"
        );
        for entry in &entries {
            let actions = commit_actions(&table, entry.version);
            let info = actions.iter().find_map(|a| a.get("commitInfo"));
            let want = info
                .and_then(|i| i.get("operation"))
                .and_then(Value::as_str);
            let got = entry
                .commit_info
                .as_ref()
                .and_then(|i| i.operation.as_deref());
            assert_eq!(got, want, "{name} v{}: operation", entry.version);
            assert!(
                want.is_some(),
                "{name} v{}: fixture has no operation",
                entry.version
            );
        }
        for limit in [0, 1, 3, versions.len(), versions.len() + 10] {
            let limited = history(&table, Some(limit));
            let n = limit.min(entries.len());
            assert_eq!(limited, entries[..n].to_vec(), "{name}: limit {limit}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Incremental update
// ---------------------------------------------------------------------------------------------

/// The version a `_delta_log` file name belongs to, if it is a versioned log file.
fn file_version(name: &str) -> Option<u64> {
    let digits = name.get(..20)?;
    (digits.bytes().all(|b| b.is_ascii_digit()) && name[20..].starts_with('.'))
        .then(|| digits.parse().unwrap())
}

/// Moves the log files newer than `k` (and `_last_checkpoint`) out of the table into `held`;
/// returns their names, oldest first.
fn hold_back_after(table: &Path, k: u64, held: &Path) -> Vec<String> {
    std::fs::create_dir_all(held).unwrap();
    let mut moved: Vec<String> = std::fs::read_dir(delta_log(table))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name == "_last_checkpoint" || file_version(name).is_some_and(|v| v > k))
        .collect();
    moved.sort();
    for name in &moved {
        std::fs::rename(delta_log(table).join(name), held.join(name)).unwrap();
    }
    moved
}

/// Moves held files back into the table's log.
fn release(table: &Path, held: &Path, names: &[String]) {
    for name in names {
        std::fs::rename(held.join(name), delta_log(table).join(name)).unwrap();
    }
}

fn assert_same_snapshot(label: &str, got: &Snapshot, want: &Snapshot) {
    assert_eq!(got.version(), want.version(), "{label}: version");
    assert_eq!(file_keys(got), file_keys(want), "{label}: files");
    assert_eq!(got.protocol(), want.protocol(), "{label}: protocol");
    assert_eq!(got.metadata(), want.metadata(), "{label}: metadata");
    assert_eq!(got.txns(), want.txns(), "{label}: txns");
    assert_eq!(
        got.domain_metadata(),
        want.domain_metadata(),
        "{label}: domain metadata"
    );
    let files = |s: &Snapshot| -> BTreeMap<FileKey, tarn::protocol::actions::Add> {
        s.files()
            .iter()
            .map(|f| ((f.path().to_owned(), f.deletion_vector_id()), f.to_add()))
            .collect()
    };
    assert_eq!(files(got), files(want), "{label}: add actions");
}

#[test]
fn update_brings_an_old_snapshot_to_the_latest_version() {
    for name in FIXTURES {
        let reference = reference_replay(&fixture_table(name));
        let last = reference.len() as u64 - 1;
        for k in 0..last {
            let label = format!("{name} from v{k}");
            let (dir, table) = writable_fixture_copy(name);
            let held = dir.path().join("held");
            let names = hold_back_after(&table, k, &held);

            let old = latest(&table);
            assert_eq!(old.version(), k, "{label}");
            assert_matches_reference(&label, &old, &reference[k as usize]);
            // Nothing new: the same snapshot.
            let same = block_on(old.update()).unwrap();
            assert_same_snapshot(&format!("{label}: no change"), &same, &old);

            // One more commit, then the rest.
            let next: Vec<String> = names
                .iter()
                .filter(|n| *n == &format!("{:020}.json", k + 1))
                .cloned()
                .collect();
            release(&table, &held, &next);
            let one_more = block_on(old.update())
                .unwrap_or_else(|e| panic!("{label}: update to v{}: {e}", k + 1));
            assert_same_snapshot(
                &format!("{label} to v{}", k + 1),
                &one_more,
                &at_version(&table, k + 1),
            );
            assert_matches_reference(&label, &one_more, &reference[k as usize + 1]);

            let rest: Vec<String> = names
                .iter()
                .filter(|n| !next.contains(n))
                .cloned()
                .collect();
            release(&table, &held, &rest);
            let fresh = latest(&table);
            for (how, updated) in [("from k", old.update()), ("chained", one_more.update())] {
                let updated = block_on(updated).unwrap_or_else(|e| panic!("{label} {how}: {e}"));
                assert_same_snapshot(&format!("{label} {how}"), &updated, &fresh);
                // The update read the newest commit: its commitInfo and file time.
                let want_info = reference[last as usize].commit_info.as_ref().unwrap();
                let info = updated.commit_info().unwrap();
                assert_eq!(
                    info.operation.as_deref(),
                    want_info["operation"].as_str(),
                    "{label} {how}: commitInfo"
                );
                assert_eq!(info.timestamp, want_info["timestamp"].as_i64());
                let modified = std::fs::metadata(commit_path(&table, last))
                    .unwrap()
                    .modified()
                    .unwrap();
                assert_eq!(
                    updated.timestamp(),
                    utc(modified),
                    "{label} {how}: timestamp"
                );
                assert_matches_reference(
                    &format!("{label} {how}"),
                    &updated,
                    &reference[last as usize],
                );
            }
        }
    }
}

#[test]
fn time_travel_on_a_log_that_starts_at_a_checkpoint() {
    // latest_not_checkpointed with commits 0 and 1 cleaned up: the log starts at the
    // checkpoint at version 2.
    let (_dir, table, _) = copy_with_mtimes("latest_not_checkpointed", minute_time);
    for v in [0, 1] {
        std::fs::remove_file(commit_path(&table, v)).unwrap();
    }
    let reference = reference_replay(&fixture_table("latest_not_checkpointed"));
    for v in [2, 3] {
        assert_matches_reference(
            &format!("v{v}"),
            &at_version(&table, v),
            &reference[v as usize],
        );
        assert_eq!(version_at(&table, utc(minute_time(v))), Some(v));
    }
    match block_on(async { Table::open(uri(&table)).await?.snapshot_at_version(1).await }) {
        Err(tarn::Error::Log(LogError::VersionNotFound {
            requested: 1,
            earliest: 2,
            latest: 3,
            ..
        })) => {}
        other => panic!(
            "expected VersionNotFound 2..=3, got {:?}",
            other.map(|s| s.version())
        ),
    }
    match at_timestamp(&table, utc(minute_time(1))) {
        Err(tarn::Error::Log(LogError::TimestampTooEarly {
            earliest_version, ..
        })) => assert_eq!(earliest_version, 2),
        other => panic!(
            "expected TimestampTooEarly, got {:?}",
            other.map(|s| s.version())
        ),
    }
    assert_eq!(
        history(&table, None)
            .iter()
            .map(|e| e.version)
            .collect::<Vec<_>>(),
        vec![3, 2]
    );
}

#[test]
fn update_across_cleaned_up_commits_uses_the_newer_checkpoint() {
    // A reader holds version 0; meanwhile the table got a checkpoint at 2 and a commit at 3, and
    // log cleanup deleted commits 0 and 1 (they are older than the checkpoint). A fresh load
    // reads the checkpoint; update must reach the same state, not fail on the deleted commits.
    let name = "latest_not_checkpointed";
    let (dir, table) = writable_fixture_copy(name);
    let held = dir.path().join("held");
    let names = hold_back_after(&table, 0, &held);
    let old = latest(&table);
    assert_eq!(old.version(), 0);
    release(&table, &held, &names);
    for v in [0, 1] {
        std::fs::remove_file(commit_path(&table, v)).unwrap();
    }
    let fresh = latest(&table);
    assert_eq!(fresh.version(), 3);
    let updated = block_on(old.update()).unwrap_or_else(|e| panic!("update: {e}"));
    assert_same_snapshot("update across cleanup", &updated, &fresh);
}
