//! Support for the CLI tests: running the binary, the fixture manifest, JSON type checks, a
//! plain replay of JSON logs that does not use tarn, and tables built in temporary
//! directories. Each test binary uses a part of it.
#![allow(dead_code)]

pub(crate) mod align;
pub(crate) mod rows;

#[allow(unused_imports)]
pub(crate) use align::{Align, assert_aligned};

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------------
// A temporary directory for tables and input files
// ---------------------------------------------------------------------------------------------

/// A temporary directory, removed when dropped.
pub(crate) struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A path inside it, as a string.
    pub(crate) fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }

    /// Writes a file inside it and returns its path.
    pub(crate) fn file(&self, name: &str, contents: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

/// `tarn describe --json` of a table.
pub(crate) fn describe(table: &str) -> Value {
    tarn_json(&["describe", table, "--json"])
}

// ---------------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------------

pub(crate) fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

pub(crate) fn fixture(name: &str) -> String {
    let path = fixtures_dir().join("tables").join(name);
    assert!(path.is_dir(), "fixture table {} is missing", path.display());
    path.to_str().unwrap().to_owned()
}

pub(crate) fn tarn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tarn"))
        .args(args)
        .output()
        .unwrap()
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Runs a command that must succeed and returns its stdout.
pub(crate) fn tarn_ok(args: &[&str]) -> String {
    let output = tarn(args);
    assert!(
        output.status.success(),
        "tarn {args:?} exited with {}; stderr: {}",
        output.status,
        stderr(&output)
    );
    assert!(
        stderr(&output).is_empty(),
        "tarn {args:?} succeeded but wrote to stderr: {}",
        stderr(&output)
    );
    stdout(&output)
}

/// Runs a command that must succeed and print one JSON value.
pub(crate) fn tarn_json(args: &[&str]) -> Value {
    let text = tarn_ok(args);
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("tarn {args:?} printed invalid JSON ({e}):\n{text}"))
}

/// Checks the failure contract; returns the message after `error: ` (or a description of
/// what is wrong).
pub(crate) fn failure_problem(output: &Output) -> Result<String, String> {
    let err = stderr(output);
    if output.status.success() {
        return Err(format!("exited 0; stdout: {}", stdout(output)));
    }
    if !output.stdout.is_empty() {
        return Err(format!("failed but wrote to stdout: {}", stdout(output)));
    }
    let lines: Vec<&str> = err.lines().collect();
    if lines.len() != 1 || !err.ends_with('\n') {
        return Err(format!("stderr is not exactly one line: {err:?}"));
    }
    match lines[0].strip_prefix("error: ") {
        Some(message) if !message.trim().is_empty() => Ok(message.to_owned()),
        _ => Err(format!("stderr does not start with `error: `: {err:?}")),
    }
}

/// Runs a command that must fail with one `error: ` line; returns the message.
pub(crate) fn tarn_err(args: &[&str]) -> String {
    let output = tarn(args);
    failure_problem(&output).unwrap_or_else(|problem| panic!("tarn {args:?}: {problem}"))
}

// ---------------------------------------------------------------------------------------------
// The manifest and JSON type checks
// ---------------------------------------------------------------------------------------------

pub(crate) fn manifest() -> Map<String, Value> {
    let path = fixtures_dir().join("expected/manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let Value::Object(map) = serde_json::from_str(&text).unwrap() else {
        panic!("{} is not a JSON object", path.display())
    };
    assert!(map.len() >= 40, "manifest has only {} entries", map.len());
    map
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Unsigned,
    Integer,
    IntegerOrNull,
    Str,
    StrOrNull,
    Object,
    ObjectOrNull,
    StrList,
    StrListOrNull,
}

pub(crate) fn has_kind(value: &Value, kind: Kind) -> bool {
    let str_list = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
    match kind {
        Kind::Unsigned => value.is_u64(),
        Kind::Integer => value.is_i64() || value.is_u64(),
        Kind::IntegerOrNull => value.is_null() || value.is_i64() || value.is_u64(),
        Kind::Str => value.is_string(),
        Kind::StrOrNull => value.is_null() || value.is_string(),
        Kind::Object => value.is_object(),
        Kind::ObjectOrNull => value.is_null() || value.is_object(),
        Kind::StrList => str_list(value),
        Kind::StrListOrNull => value.is_null() || str_list(value),
    }
}

/// Every key present with the right JSON type; returns the mismatches.
pub(crate) fn type_problems(context: &str, value: &Value, keys: &[(&str, Kind)]) -> Vec<String> {
    let Some(object) = value.as_object() else {
        return vec![format!("{context}: not a JSON object: {value}")];
    };
    keys.iter()
        .filter_map(|(key, kind)| match object.get(*key) {
            None => Some(format!("{context}: missing key {key:?}")),
            Some(v) if !has_kind(v, *kind) => {
                Some(format!("{context}: {key:?} should be {kind:?}, is {v}"))
            }
            Some(_) => None,
        })
        .collect()
}

pub(crate) const DESCRIBE_KEYS: &[(&str, Kind)] = &[
    ("version", Kind::Unsigned),
    ("min_reader_version", Kind::Integer),
    ("min_writer_version", Kind::Integer),
    ("reader_features", Kind::StrListOrNull),
    ("writer_features", Kind::StrListOrNull),
    ("partition_columns", Kind::StrList),
    ("num_files", Kind::Unsigned),
    ("num_rows", Kind::IntegerOrNull),
    ("size_bytes", Kind::Integer),
    ("schema", Kind::Object),
    ("properties", Kind::Object),
];

pub(crate) const FILE_KEYS: &[(&str, Kind)] = &[
    ("path", Kind::Str),
    ("size", Kind::Integer),
    ("partition_values", Kind::Object),
    ("num_records", Kind::IntegerOrNull),
    ("deletion_vector_cardinality", Kind::IntegerOrNull),
];

pub(crate) const HISTORY_KEYS: &[(&str, Kind)] = &[
    ("version", Kind::Unsigned),
    ("timestamp", Kind::Integer),
    ("operation", Kind::StrOrNull),
    ("operationParameters", Kind::ObjectOrNull),
    ("operationMetrics", Kind::ObjectOrNull),
    ("engineInfo", Kind::StrOrNull),
];

/// A feature list as a sorted list, keeping `null` distinct from `[]`.
pub(crate) fn sorted_features(value: Option<&Value>) -> Option<Vec<String>> {
    value.and_then(Value::as_array).map(|list| {
        let mut names: Vec<String> = list
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect();
        names.sort();
        names
    })
}

/// Compares a `describe --json` document with one manifest entry; returns the mismatches.
pub(crate) fn manifest_problems(context: &str, got: &Value, expected: &Value) -> Vec<String> {
    let mut problems = type_problems(context, got, DESCRIBE_KEYS);
    let mut same = |key: &str, got: &Value, want: &Value| {
        if got != want {
            problems.push(format!("{context}: {key}: got {got}, manifest says {want}"));
        }
    };
    for key in [
        "version",
        "min_reader_version",
        "min_writer_version",
        "partition_columns",
        "num_files",
    ] {
        if let Some(want) = expected.get(key) {
            same(key, &got[key], want);
        }
    }
    for key in ["reader_features", "writer_features"] {
        let got_list = sorted_features(got.get(key));
        let want_list = sorted_features(expected.get(key));
        same(key, &json!(got_list), &json!(want_list));
    }
    if let Some(schema) = expected.get("schema").and_then(Value::as_str) {
        let want: Value = serde_json::from_str(schema).unwrap();
        same("schema", &got["schema"], &want);
    }
    if let Some(want) = expected.get("num_rows")
        && !got["num_rows"].is_null()
    {
        same("num_rows", &got["num_rows"], want);
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// A plain replay of a JSON-only log, independent of tarn
// ---------------------------------------------------------------------------------------------

/// One active file as the JSON log says it is.
#[derive(Debug)]
pub(crate) struct LoggedFile {
    pub(crate) size: i64,
    /// Partition values keyed by logical column name.
    pub(crate) partition_values: Map<String, Value>,
    pub(crate) num_records: Option<i64>,
    pub(crate) dv_cardinality: Option<i64>,
}

#[derive(Debug)]
pub(crate) struct LoggedTable {
    pub(crate) latest: u64,
    pub(crate) files: BTreeMap<String, LoggedFile>,
}

pub(crate) fn commit_paths(table: &Path) -> Vec<(u64, PathBuf)> {
    let mut commits: Vec<(u64, PathBuf)> = std::fs::read_dir(table.join("_delta_log"))
        .unwrap()
        .filter_map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name()?.to_str()?.to_owned();
            let stem = name.strip_suffix(".json")?;
            (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()))
                .then(|| (stem.parse().unwrap(), path))
        })
        .collect();
    commits.sort();
    commits
}

/// Replays every JSON commit from version 0 with a seen-set keyed by (path, deletion vector).
pub(crate) fn replay_json_log(table: &str) -> LoggedTable {
    let commits = commit_paths(Path::new(table));
    let versions: Vec<u64> = commits.iter().map(|(v, _)| *v).collect();
    assert_eq!(
        versions,
        (0..commits.len() as u64).collect::<Vec<_>>(),
        "{table}: the JSON log must be complete from version 0 for this replay"
    );
    let mut adds: BTreeMap<(String, String), Value> = BTreeMap::new();
    let mut metadata = Value::Null;
    for (_, path) in &commits {
        for line in std::fs::read_to_string(path).unwrap().lines() {
            if line.trim().is_empty() {
                continue;
            }
            let action: Value = serde_json::from_str(line).unwrap();
            if let Some(m) = action.get("metaData") {
                metadata = m.clone();
            }
            for kind in ["add", "remove"] {
                if let Some(file) = action.get(kind) {
                    let dv = &file["deletionVector"];
                    let dv_id = if dv.is_object() {
                        format!(
                            "{}{}@{}",
                            dv["storageType"].as_str().unwrap(),
                            dv["pathOrInlineDv"].as_str().unwrap(),
                            dv["offset"]
                        )
                    } else {
                        String::new()
                    };
                    let key = (file["path"].as_str().unwrap().to_owned(), dv_id);
                    if kind == "add" {
                        adds.insert(key, file.clone());
                    } else {
                        adds.remove(&key);
                    }
                }
            }
        }
    }
    let physical_to_logical = physical_to_logical(&metadata);
    let mut files = BTreeMap::new();
    for ((path, _), add) in adds {
        let stats: Option<Value> = add["stats"]
            .as_str()
            .map(|s| serde_json::from_str(s).unwrap());
        let partition_values = add["partitionValues"]
            .as_object()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|(physical, value)| {
                let logical = physical_to_logical
                    .get(&physical)
                    .cloned()
                    .unwrap_or(physical);
                (logical, value)
            })
            .collect();
        let previous = files.insert(
            path.clone(),
            LoggedFile {
                size: add["size"].as_i64().unwrap(),
                partition_values,
                num_records: stats.as_ref().and_then(|s| s["numRecords"].as_i64()),
                dv_cardinality: add["deletionVector"]["cardinality"].as_i64(),
            },
        );
        assert!(previous.is_none(), "{table}: {path} is active twice");
    }
    LoggedTable {
        latest: *versions.last().unwrap(),
        files,
    }
}

/// Physical to logical names of the top-level columns when column mapping is on.
pub(crate) fn physical_to_logical(metadata: &Value) -> BTreeMap<String, String> {
    let mode = metadata["configuration"]["delta.columnMapping.mode"]
        .as_str()
        .unwrap_or("none");
    if mode == "none" {
        return BTreeMap::new();
    }
    let schema: Value = serde_json::from_str(metadata["schemaString"].as_str().unwrap()).unwrap();
    schema["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|field| {
            let physical = field["metadata"]["delta.columnMapping.physicalName"].as_str()?;
            Some((physical.to_owned(), field["name"].as_str()?.to_owned()))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tables built in temporary directories
// ---------------------------------------------------------------------------------------------

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of a fixture table in a fresh temporary directory.
pub(crate) fn copy_fixture(name: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join(name);
    copy_dir(Path::new(&fixture(name)), &table);
    let path = table.to_str().unwrap().to_owned();
    (dir, path)
}

pub(crate) fn commit_file(table: &str, version: u64) -> PathBuf {
    Path::new(table)
        .join("_delta_log")
        .join(format!("{version:020}.json"))
}

pub(crate) fn set_mtime(path: &Path, millis: u64) {
    let time = SystemTime::UNIX_EPOCH + Duration::from_millis(millis);
    std::fs::File::open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

pub(crate) fn write_commit(table: &Path, version: u64, actions: &[Value]) {
    let log = table.join("_delta_log");
    std::fs::create_dir_all(&log).unwrap();
    let mut file = std::fs::File::create(log.join(format!("{version:020}.json"))).unwrap();
    for action in actions {
        writeln!(file, "{action}").unwrap();
    }
}

pub(crate) fn metadata_action(partition_columns: &[&str]) -> Value {
    let schema = json!({
        "type": "struct",
        "fields": [
            {"name": "id", "type": "long", "nullable": true, "metadata": {}},
            {"name": "city", "type": "string", "nullable": true, "metadata": {}},
        ]
    });
    json!({"metaData": {
        "id": "6b1c3f4e-2a9d-4c1e-9f0a-3d5e7b8c9a01",
        "format": {"provider": "parquet", "options": {}},
        "schemaString": schema.to_string(),
        "partitionColumns": partition_columns,
        "configuration": {},
        "createdTime": 1_700_000_000_000_i64,
    }})
}

/// A log-only table partitioned by `city` with `count` files of varied sizes, record counts
/// (some without stats) and non-ASCII partition values; its text listing is far larger than
/// a pipe buffer.
pub(crate) fn many_files_table(count: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let cities = ["Zürich", "Oslo", "São Paulo", "Kraków"];
    let mut actions = vec![
        json!({"commitInfo": {"timestamp": 1_700_000_000_000_i64, "operation": "WRITE",
            "operationParameters": {"mode": "Append"}}}),
        json!({"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}}),
        metadata_action(&["city"]),
    ];
    for i in 0..count {
        let city = cities[i % cities.len()];
        let size = 1 + (i as u64 * 7_919_993) % 5_000_000_000;
        let mut add = json!({
            "path": format!("part-{i:05}-0a1b2c3d-4e5f-6789-abcd-ef0123456789.c000.zstd.parquet"),
            "partitionValues": {"city": city},
            "size": size,
            "modificationTime": 1_700_000_000_000_i64,
            "dataChange": true,
        });
        if i % 7 != 0 {
            add["stats"] = json!(json!({"numRecords": i * 131 % 100_000}).to_string());
        }
        actions.push(json!({ "add": add }));
    }
    write_commit(dir.path(), 0, &actions);
    dir
}

/// A table with twelve commits (one- and two-digit versions) whose commit infos vary: non-ASCII
/// engine names, missing fields, no commitInfo at all, empty and long parameters.
pub(crate) fn varied_history_table() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_commit(
        dir.path(),
        0,
        &[
            json!({"commitInfo": {"operation": "CREATE TABLE", "engineInfo": "tärn/0.1 (Zürich)",
                "operationParameters": {}}}),
            json!({"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}}),
            metadata_action(&[]),
        ],
    );
    for version in 1..12_u64 {
        let info = match version % 4 {
            0 => {
                json!({"commitInfo": {"operation": "WRITE", "engineInfo": "Apache-Spark/3.5.0 Delta-Lake/3.2.0",
                "operationParameters": {"mode": "Append", "partitionBy": "[]"}}})
            }
            1 => json!({"commitInfo": {"operation": "OPTIMIZE", "engineInfo": "tärn/0.1 (Zürich)",
                "operationParameters": {"predicate": "[\"größe > 1\"]"}}}),
            2 => json!({"commitInfo": {"operation": "MERGE"}}),
            _ => json!({"txn": {"appId": "no-commit-info", "version": version}}),
        };
        write_commit(dir.path(), version, &[info]);
    }
    dir
}
