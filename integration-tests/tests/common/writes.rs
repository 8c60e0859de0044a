//! Inspecting tables tarn wrote: their rows through tarn's scan in the canonical form of
//! `common::python`, their commits as JSON (from a local directory, or through any store), and the data files on disk against the files the
//! log names (a rejected write must leave no file behind).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arrow_array::RecordBatch;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use serde_json::Value;
use tarn::protocol::data_path::DataFilePath;
use tarn::{Table, TableLocation};

use super::python::canonical_rows;
use super::{commit_path, commit_versions, delta_log};

/// Every row of the table (latest version, or `version`) as tarn scans it.
pub async fn scan_batches(table: &Table, version: Option<u64>) -> Vec<RecordBatch> {
    let snapshot = match version {
        Some(v) => table.snapshot_at_version(v).await.unwrap(),
        None => table.snapshot().await.unwrap(),
    };
    snapshot
        .scan()
        .build()
        .await
        .unwrap()
        .execute()
        .try_collect()
        .await
        .unwrap()
}

/// [`scan_batches`] in canonical form, sorted.
pub async fn scan_rows(table: &Table, version: Option<u64>) -> Vec<Value> {
    canonical_rows(&scan_batches(table, version).await)
}

/// Every commit file of the log through the table's store: version -> actions.
pub async fn read_log(location: &TableLocation) -> BTreeMap<u64, Vec<Value>> {
    let listed: Vec<_> = location
        .store()
        .list(Some(&location.log_dir()))
        .try_collect()
        .await
        .unwrap();
    let mut log = BTreeMap::new();
    for meta in listed {
        let Some(name) = meta.location.filename() else {
            continue;
        };
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let bytes = location
            .store()
            .get(&meta.location)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let actions = std::str::from_utf8(&bytes)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        log.insert(stem.parse().unwrap(), actions);
    }
    log
}

/// The latest version of a local table, from its commit files.
pub fn latest_version(table: &Path) -> Option<u64> {
    if !delta_log(table).is_dir() {
        return None;
    }
    commit_versions(table).last().copied()
}

/// The actions of one commit file, one JSON object per line.
pub fn commit_actions(table: &Path, version: u64) -> Vec<Value> {
    let path = commit_path(table, version);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The `commitInfo` of a commit.
pub fn commit_info(table: &Path, version: u64) -> Value {
    commit_actions(table, version)
        .into_iter()
        .find_map(|mut a| a.get_mut("commitInfo").map(Value::take))
        .unwrap_or_else(|| panic!("version {version} has no commitInfo"))
}

/// Every file under the table directory outside `_delta_log`, as a path relative to the
/// table root with `/` separators.
pub fn data_files_on_disk(table: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let relative = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            if entry.file_type().unwrap().is_dir() {
                if relative != "_delta_log" {
                    walk(&entry.path(), &relative, out);
                }
            } else {
                out.insert(relative);
            }
        }
    }
    let mut out = BTreeSet::new();
    if table.is_dir() {
        walk(table, "", &mut out);
    }
    out
}

/// The files every `add` and `remove` of every commit names, decoded to paths relative to
/// the table root.
pub fn data_files_in_log(table: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if !delta_log(table).is_dir() {
        return out;
    }
    for version in commit_versions(table) {
        for action in commit_actions(table, version) {
            for kind in ["add", "remove"] {
                if let Some(path) = action.get(kind).and_then(|a| a["path"].as_str()) {
                    out.insert(DataFilePath::parse(path).unwrap().as_str().to_owned());
                }
            }
        }
    }
    out
}

/// Asserts that every data file in the table directory is one the log names: nothing a
/// failed or rejected write left behind.
pub fn assert_no_stray_files(table: &Path, what: &str) {
    let on_disk = data_files_on_disk(table);
    let in_log = data_files_in_log(table);
    let stray: Vec<&String> = on_disk.difference(&in_log).collect();
    assert!(
        stray.is_empty(),
        "{what}: files in the table directory that no commit names: {stray:?}"
    );
}

/// Describes how two lists of canonical rows (sorted by `row_key`) differ, naming each side:
/// counts and the first rows found on one side only. `None` when they are equal.
pub fn labelled_difference(
    what: &str,
    (a_name, a): (&str, &[Value]),
    (b_name, b): (&str, &[Value]),
) -> Option<String> {
    use std::fmt::Write as _;
    if a == b {
        return None;
    }
    let mut message = format!(
        "{what}: {} rows from {a_name}, {} from {b_name}\n",
        a.len(),
        b.len()
    );
    let keys =
        |rows: &[Value]| -> BTreeSet<String> { rows.iter().map(super::python::row_key).collect() };
    let (ka, kb) = (keys(a), keys(b));
    for k in ka.difference(&kb).take(3) {
        let _ = writeln!(message, "  only in {a_name}: {k}");
    }
    for k in kb.difference(&ka).take(3) {
        let _ = writeln!(message, "  only in {b_name}: {k}");
    }
    if ka == kb {
        let _ = writeln!(message, "  (the same rows, with different multiplicities)");
    }
    Some(message)
}
