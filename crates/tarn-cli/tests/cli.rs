//! The `tarn` binary as other tools drive it: the real executable run as a process against
//! the fixture tables and tables built in temporary directories. These tests hold the CLI to
//! its contract: the `--json` documents (keys, types, values agreeing with
//! `expected/manifest.json` and with a plain replay of the JSON log), aligned human output,
//! exit codes, and exactly one `error: ...` line on stderr for every failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use support::*;

// ---------------------------------------------------------------------------------------------
// 1. describe --json against the manifest
// ---------------------------------------------------------------------------------------------

#[test]
fn describe_json_agrees_with_the_manifest_at_latest_and_version_zero() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for (name, entry) in manifest() {
        let table = fixture(&name);
        for (which, extra) in [("latest", None), ("v0", Some("0"))] {
            let expected = &entry[which];
            let mut args = vec!["describe", table.as_str(), "--json"];
            if let Some(v) = extra {
                args.extend(["--version", v]);
            }
            let context = format!("{name} {which}");
            let output = tarn(&args);
            if let Some(reference_error) = expected.get("open_error") {
                if let Err(problem) = failure_problem(&output) {
                    problems.push(format!(
                        "{context}: the reference reader failed ({}) but tarn: {problem}",
                        reference_error
                            .as_str()
                            .unwrap_or_default()
                            .lines()
                            .next()
                            .unwrap_or("")
                    ));
                }
                checked += 1;
                continue;
            }
            if !output.status.success() {
                problems.push(format!("{context}: failed: {}", stderr(&output).trim_end()));
                continue;
            }
            match serde_json::from_str::<Value>(&stdout(&output)) {
                Ok(got) => problems.extend(manifest_problems(&context, &got, expected)),
                Err(e) => problems.push(format!("{context}: invalid JSON: {e}")),
            }
            checked += 1;
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(checked >= 80, "only {checked} table versions checked");
}

#[test]
fn describe_json_is_one_object_with_the_reference_values_for_simple_table() {
    let got = tarn_json(&["describe", &fixture("simple_table"), "--json"]);
    assert!(type_problems("simple_table", &got, DESCRIBE_KEYS).is_empty());
    assert_eq!(got["version"], 4);
    assert_eq!(got["min_reader_version"], 1);
    assert_eq!(got["min_writer_version"], 2);
    assert_eq!(got["reader_features"], Value::Null);
    assert_eq!(got["writer_features"], Value::Null);
    assert_eq!(got["partition_columns"], json!([]));
    assert_eq!(got["properties"], json!({}));
    assert_eq!(got["schema"]["type"], "struct");
}

#[test]
fn describe_num_rows_and_size_agree_with_the_json_log() {
    for name in [
        "simple_table",
        "table-with-dv-small",
        "table_with_deletion_logs",
        "table_with_column_mapping",
        "delta-0.8.0-partitioned",
        "cdf-table",
    ] {
        let table = fixture(name);
        let logged = replay_json_log(&table);
        let got = tarn_json(&["describe", &table, "--json"]);
        // Rows are the live rows: each file's numRecords less the rows its deletion vector
        // removes; unknown as soon as one file has no stats.
        let records: Option<Vec<i64>> = logged
            .files
            .values()
            .map(|f| Some(f.num_records? - f.dv_cardinality.unwrap_or(0)))
            .collect();
        let num_rows = records.map(|r| r.iter().sum::<i64>());
        let size: i64 = logged.files.values().map(|f| f.size).sum();
        assert_eq!(got["version"], logged.latest, "{name}");
        assert_eq!(got["num_files"], logged.files.len(), "{name}");
        assert_eq!(got["num_rows"], json!(num_rows), "{name}: num_rows");
        assert_eq!(got["size_bytes"], size, "{name}: size_bytes");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. files --json
// ---------------------------------------------------------------------------------------------

#[test]
fn files_json_lists_num_files_well_typed_files_for_every_fixture() {
    let mut problems = Vec::new();
    for (name, entry) in manifest() {
        let table = fixture(&name);
        for (which, extra) in [("latest", None), ("v0", Some("0"))] {
            let expected = &entry[which];
            if expected.get("open_error").is_some() {
                continue;
            }
            let mut args = vec!["files", table.as_str(), "--json"];
            if let Some(v) = extra {
                args.extend(["--version", v]);
            }
            let context = format!("{name} {which}");
            let output = tarn(&args);
            if !output.status.success() {
                problems.push(format!("{context}: failed: {}", stderr(&output).trim_end()));
                continue;
            }
            let files: Value = match serde_json::from_str(&stdout(&output)) {
                Ok(v) => v,
                Err(e) => {
                    problems.push(format!("{context}: invalid JSON: {e}"));
                    continue;
                }
            };
            let Some(files) = files.as_array() else {
                problems.push(format!("{context}: not an array"));
                continue;
            };
            if let Some(n) = expected["num_files"].as_u64()
                && files.len() as u64 != n
            {
                problems.push(format!(
                    "{context}: {} files, manifest says {n}",
                    files.len()
                ));
            }
            let partition_columns: BTreeSet<&str> = expected["partition_columns"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut paths = BTreeSet::new();
            for (i, file) in files.iter().enumerate() {
                let file_context = format!("{context} file {i}");
                problems.extend(type_problems(&file_context, file, FILE_KEYS));
                if let Some(values) = file["partition_values"].as_object() {
                    let keys: BTreeSet<&str> = values.keys().map(String::as_str).collect();
                    if keys != partition_columns {
                        problems.push(format!(
                            "{file_context}: partition value keys {keys:?} != partition columns {partition_columns:?}"
                        ));
                    }
                    if let Some((k, v)) =
                        values.iter().find(|(_, v)| !v.is_string() && !v.is_null())
                    {
                        problems.push(format!(
                            "{file_context}: partition value {k}={v} is not a string or null"
                        ));
                    }
                }
                if !paths.insert(file["path"].as_str().unwrap_or_default().to_owned()) {
                    problems.push(format!(
                        "{file_context}: path {} listed twice",
                        file["path"]
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn files_json_agrees_with_a_replay_of_the_json_log() {
    for name in [
        "simple_table",
        "table-with-dv-small",
        "table_with_deletion_logs",
        "table_with_column_mapping",
        "delta-0.8.0-partitioned",
        "delta-0.8.0-null-partition",
        "delta-0.8.0-special-partition",
        "cdf-table",
    ] {
        let table = fixture(name);
        let logged = replay_json_log(&table);
        let got = tarn_json(&["files", &table, "--json"]);
        let got: BTreeMap<String, &Value> = got
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["path"].as_str().unwrap().to_owned(), f))
            .collect();
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            logged.files.keys().collect::<Vec<_>>(),
            "{name}: active file paths"
        );
        for (path, want) in &logged.files {
            let file = got[path];
            assert_eq!(file["size"], want.size, "{name} {path}: size");
            assert_eq!(
                file["num_records"],
                json!(want.num_records),
                "{name} {path}: num_records"
            );
            assert_eq!(
                file["deletion_vector_cardinality"],
                json!(want.dv_cardinality),
                "{name} {path}: deletion_vector_cardinality"
            );
            assert_eq!(
                file["partition_values"],
                Value::Object(want.partition_values.clone()),
                "{name} {path}: partition_values"
            );
        }
    }
}

#[test]
fn deletion_vector_cardinality_is_set_exactly_for_files_with_deletion_vectors() {
    for name in ["table-with-dv-small", "table_with_deletion_logs"] {
        let table = fixture(name);
        let logged = replay_json_log(&table);
        let with_dv = logged
            .files
            .values()
            .filter(|f| f.dv_cardinality.is_some())
            .count();
        assert!(with_dv > 0, "{name}: fixture has no deletion vector");
        let files = tarn_json(&["files", &table, "--json"]);
        for file in files.as_array().unwrap() {
            let path = file["path"].as_str().unwrap();
            let has_dv = logged.files[path].dv_cardinality.is_some();
            assert_eq!(
                file["deletion_vector_cardinality"].is_null(),
                !has_dv,
                "{name} {path}: {file}"
            );
            if has_dv {
                assert!(file["deletion_vector_cardinality"].as_i64().unwrap() > 0);
            }
        }
    }
    // table-with-dv-small at version 0 has no deletion vector yet.
    let files = tarn_json(&[
        "files",
        &fixture("table-with-dv-small"),
        "--json",
        "--version",
        "0",
    ]);
    for file in files.as_array().unwrap() {
        assert!(file["deletion_vector_cardinality"].is_null(), "{file}");
    }
}

#[test]
fn partition_values_are_keyed_by_logical_column_name_under_column_mapping() {
    let table = fixture("table_with_column_mapping");
    let describe = tarn_json(&["describe", &table, "--json"]);
    assert_eq!(describe["partition_columns"], json!(["Company Very Short"]));
    let files = tarn_json(&["files", &table, "--json"]);
    let files = files.as_array().unwrap();
    assert!(!files.is_empty());
    for file in files {
        let values = file["partition_values"].as_object().unwrap();
        let keys: Vec<&String> = values.keys().collect();
        assert_eq!(keys, ["Company Very Short"], "{file}");
        assert!(values["Company Very Short"].is_string(), "{file}");
        assert!(!keys.iter().any(|k| k.starts_with("col-")), "{file}");
    }
    let text = tarn_ok(&["files", &table]);
    assert!(text.contains("Company Very Short="), "{text}");
    assert!(!text.contains("col-"), "physical names leak into:\n{text}");
}

// ---------------------------------------------------------------------------------------------
// 3. history --json
// ---------------------------------------------------------------------------------------------

/// Whether any commit of the table carries an in-commit timestamp. Those are the writer's
/// word and tarn reports them as written (`cdc_ict_table` has a deliberately non-monotonic
/// one); file times tarn makes monotonic itself.
fn uses_in_commit_timestamps(table: &str) -> bool {
    commit_paths(Path::new(table)).iter().any(|(_, path)| {
        std::fs::read_to_string(path)
            .unwrap()
            .contains("\"inCommitTimestamp\"")
    })
}

/// `commitInfo.operation` of every JSON commit still in the log, newest first.
fn commit_operations(table: &str) -> Vec<(u64, Option<String>)> {
    commit_paths(Path::new(table))
        .into_iter()
        .rev()
        .map(|(version, path)| {
            let operation = std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find_map(|action| action.get("commitInfo").cloned())
                .and_then(|info| info["operation"].as_str().map(str::to_owned));
            (version, operation)
        })
        .collect()
}

/// Checks a `history --json` document against the commit files; returns the mismatches.
/// File-time timestamps must strictly decrease newest first (tarn makes them monotonic).
fn history_problems(context: &str, history: &Value, table: &str) -> Vec<String> {
    let Some(entries) = history.as_array() else {
        return vec![format!("{context}: not an array: {history}")];
    };
    let mut problems: Vec<String> = entries
        .iter()
        .enumerate()
        .flat_map(|(i, e)| type_problems(&format!("{context} entry {i}"), e, HISTORY_KEYS))
        .collect();
    let got: Vec<(u64, Option<String>)> = entries
        .iter()
        .map(|e| {
            let version = e["version"].as_u64().unwrap_or(u64::MAX);
            (version, e["operation"].as_str().map(str::to_owned))
        })
        .collect();
    let want = commit_operations(table);
    if got != want {
        problems.push(format!(
            "{context}: (version, operation) newest first {got:?}, the commit files say {want:?}"
        ));
    }
    let versions: Vec<u64> = got.iter().map(|(v, _)| *v).collect();
    if !versions.windows(2).all(|w| w[0] > w[1]) {
        problems.push(format!(
            "{context}: versions not strictly decreasing: {versions:?}"
        ));
    }
    let timestamps: Vec<i64> = entries
        .iter()
        .map(|e| e["timestamp"].as_i64().unwrap_or_default())
        .collect();
    if !uses_in_commit_timestamps(table) && !timestamps.windows(2).all(|w| w[0] > w[1]) {
        problems.push(format!(
            "{context}: timestamps not strictly decreasing newest first: {timestamps:?}"
        ));
    }
    problems
}

#[test]
fn history_json_lists_the_commits_newest_first_with_the_required_keys() {
    let mut problems = Vec::new();
    for (name, entry) in manifest() {
        if entry["latest"].get("open_error").is_some() {
            continue;
        }
        let table = fixture(&name);
        let output = tarn(&["history", &table, "--json"]);
        if !output.status.success() {
            problems.push(format!("{name}: failed: {}", stderr(&output).trim_end()));
            continue;
        }
        let history: Value = match serde_json::from_str(&stdout(&output)) {
            Ok(history) => history,
            Err(e) => {
                problems.push(format!("{name}: invalid JSON: {e}"));
                continue;
            }
        };
        problems.extend(history_problems(&name, &history, &table));
        let all = history.as_array().cloned().unwrap_or_default();
        let limited = tarn_json(&["history", &table, "--limit", "2", "--json"]);
        if limited.as_array().map(Vec::as_slice) != Some(&all[..all.len().min(2)]) {
            problems.push(format!("{name}: --limit 2 is not the first two entries"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn history_operations_match_the_commit_infos_of_cdf_table() {
    let table = fixture("cdf-table");
    let history = tarn_json(&["history", &table, "--json"]);
    let problems = history_problems("cdf-table", &history, &table);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let got: Vec<(u64, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["version"].as_u64().unwrap(),
                e["operation"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [(3, "DELETE"), (2, "UPDATE"), (1, "UPDATE"), (0, "WRITE")]
    );
    let limited = tarn_json(&["history", &table, "--limit", "2", "--json"]);
    assert_eq!(limited.as_array().unwrap().len(), 2);
    assert_eq!(limited[0]["version"], 3);
    assert_eq!(limited[1]["version"], 2);
}

// ---------------------------------------------------------------------------------------------
// 4. Human-readable output
// ---------------------------------------------------------------------------------------------

const FILES_COLUMNS: &[(&str, Align)] = &[
    ("PATH", Align::Left),
    ("SIZE", Align::Right),
    ("RECORDS", Align::Right),
    ("DELETED", Align::Right),
    ("LOCATION", Align::Left),
];

const HISTORY_COLUMNS: &[(&str, Align)] = &[
    ("VERSION", Align::Right),
    ("TIMESTAMP", Align::Left),
    ("OPERATION", Align::Left),
    ("ENGINE", Align::Left),
    ("PARAMETERS", Align::Left),
];

/// `files` text for a table: aligned, one row per file (first cell the path), then a summary.
fn check_files_text(context: &str, table: &str, partitioned: bool) {
    let json = tarn_json(&["files", table, "--json"]);
    let paths: BTreeSet<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    let text = tarn_ok(&["files", table]);
    let mut columns = FILES_COLUMNS.to_vec();
    if partitioned {
        columns.push(("PARTITION", Align::Left));
    }
    assert_aligned(context, &text, &columns, paths.len());
    let lines: Vec<&str> = text.lines().collect();
    let listed: BTreeSet<&str> = lines[1..=paths.len()]
        .iter()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(listed, paths, "{context}: paths in the text listing");
    assert_eq!(lines.len(), paths.len() + 2, "{context}:\n{text}");
    assert!(
        lines[paths.len() + 1].starts_with(&format!("{} files", paths.len())),
        "{context}: summary line: {}",
        lines[paths.len() + 1]
    );
}

#[test]
fn files_text_columns_line_up() {
    check_files_text(
        "table_with_column_mapping",
        &fixture("table_with_column_mapping"),
        true,
    );
    check_files_text(
        "table-with-dv-small",
        &fixture("table-with-dv-small"),
        false,
    );
    check_files_text("COVID-19_NYT", &fixture("COVID-19_NYT"), false);
    check_files_text(
        "delta-0.8.0-null-partition",
        &fixture("delta-0.8.0-null-partition"),
        true,
    );
    let many = many_files_table(300);
    check_files_text("many files", many.path().to_str().unwrap(), true);
}

#[test]
fn history_text_columns_line_up() {
    for name in ["table_with_deletion_logs", "cdf-table", "simple_table"] {
        let table = fixture(name);
        let json = tarn_json(&["history", &table, "--json"]);
        let versions: Vec<String> = json
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["version"].to_string())
            .collect();
        let text = tarn_ok(&["history", &table]);
        assert_aligned(name, &text, HISTORY_COLUMNS, versions.len());
        let listed: Vec<String> = text
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().next().unwrap().to_owned())
            .collect();
        assert_eq!(listed, versions, "{name}: versions in the text history");
    }
    let text = tarn_ok(&[
        "history",
        &fixture("table_with_deletion_logs"),
        "--limit",
        "3",
    ]);
    assert_eq!(text.lines().count(), 4, "{text}");
}

#[test]
fn history_text_columns_line_up_with_varied_commit_infos() {
    let dir = varied_history_table();
    let table = dir.path().to_str().unwrap();
    let json = tarn_json(&["history", table, "--json"]);
    assert_eq!(json.as_array().unwrap().len(), 12);
    let problems = history_problems("varied history", &json, table);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let text = tarn_ok(&["history", table]);
    assert_aligned("varied history", &text, HISTORY_COLUMNS, 12);
}

#[test]
fn describe_text_names_the_version() {
    for (name, entry) in manifest() {
        if entry["latest"].get("open_error").is_some() {
            continue;
        }
        let table = fixture(&name);
        let version = entry["latest"]["version"].as_u64().unwrap();
        let text = tarn_ok(&["describe", &table]);
        let line = text
            .lines()
            .find(|l| l.starts_with("Version"))
            .unwrap_or_else(|| panic!("{name}: no Version line:\n{text}"));
        assert!(
            line.split_whitespace().nth(1) == Some(version.to_string().as_str()),
            "{name}: {line}"
        );
    }
    let text = tarn_ok(&["describe", &fixture("cdf-table"), "--version", "1"]);
    let line = text.lines().find(|l| l.starts_with("Version")).unwrap();
    assert_eq!(line.split_whitespace().nth(1), Some("1"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// 5. Errors
// ---------------------------------------------------------------------------------------------

#[test]
fn not_a_table_is_one_error_line() {
    let empty = tempfile::tempdir().unwrap();
    let empty = empty.path().to_str().unwrap().to_owned();
    let missing = format!("{empty}/does/not/exist");
    for table in [&empty, &missing] {
        for command in ["describe", "history", "files"] {
            for json in [false, true] {
                let mut args = vec![command, table.as_str()];
                if json {
                    args.push("--json");
                }
                let message = tarn_err(&args);
                assert!(
                    message.contains("not a Delta table") && message.contains(table.as_str()),
                    "tarn {args:?}: {message}"
                );
            }
        }
    }
}

#[test]
fn version_not_found_names_the_available_range() {
    let table = fixture("cdf-table");
    for command in ["describe", "files"] {
        let message = tarn_err(&[command, &table, "--version", "10", "--json"]);
        assert!(
            message.contains("10") && message.contains("0..=3"),
            "{command}: {message}"
        );
    }
    let message = tarn_err(&[
        "describe",
        &fixture("checkpoints_vacuumed"),
        "--version",
        "0",
    ]);
    assert!(message.contains("5..=12"), "{message}");
}

#[test]
fn an_unsupported_reader_feature_is_named() {
    let dir = tempfile::tempdir().unwrap();
    write_commit(
        dir.path(),
        0,
        &[
            json!({"protocol": {"minReaderVersion": 3, "minWriterVersion": 7,
                "readerFeatures": ["someFutureFeature"], "writerFeatures": ["someFutureFeature"]}}),
            metadata_action(&[]),
        ],
    );
    let table = dir.path().to_str().unwrap();
    for command in ["describe", "files"] {
        let message = tarn_err(&[command, table, "--json"]);
        assert!(
            message.contains("someFutureFeature"),
            "{command}: {message}"
        );
    }
}

#[test]
fn a_corrupt_commit_names_its_version() {
    let (_dir, table) = copy_fixture("simple_table");
    let commit = commit_file(&table, 2);
    std::fs::remove_file(&commit).unwrap();
    std::fs::write(&commit, "{\"add\": {\"path\": \"truncated\n").unwrap();
    for args in [
        vec!["describe", table.as_str(), "--json"],
        vec!["files", table.as_str()],
        vec!["describe", table.as_str(), "--version", "3"],
        vec!["history", table.as_str()],
    ] {
        let message = tarn_err(&args);
        assert!(
            message.to_lowercase().contains("corrupt")
                && message.contains("version 2")
                && message.contains("00000000000000000002.json"),
            "tarn {args:?}: {message}"
        );
    }
    // Versions before the corrupt one still read.
    let got = tarn_json(&["describe", &table, "--json", "--version", "1"]);
    assert_eq!(got["version"], 1);
}

#[test]
fn version_and_timestamp_together_is_a_usage_error() {
    let table = fixture("cdf-table");
    let output = tarn(&[
        "describe",
        &table,
        "--version",
        "1",
        "--timestamp",
        "2024-01-01",
    ]);
    let message = failure_problem(&output).unwrap_or_else(|p| panic!("{p}"));
    assert!(
        message.contains("--version") && message.contains("--timestamp"),
        "{message}"
    );
    assert_eq!(output.status.code(), Some(2), "clap's usage exit code");
    let output = tarn(&[
        "files",
        &table,
        "--timestamp",
        "2024-01-01",
        "--version",
        "1",
    ]);
    failure_problem(&output).unwrap_or_else(|p| panic!("{p}"));
}

#[test]
fn other_usage_errors_are_one_line() {
    let table = fixture("cdf-table");
    for args in [
        vec!["describe"],
        vec!["describe", table.as_str(), "--version", "abc"],
        vec!["describe", table.as_str(), "--limit", "2"],
        vec!["frobnicate", table.as_str()],
    ] {
        tarn_err(&args);
    }
}

#[test]
fn a_bad_timestamp_is_one_error_line() {
    let table = fixture("cdf-table");
    for text in ["yesterday", "2024-13-45", "2024-01-01 25:00:00", ""] {
        let message = tarn_err(&["describe", &table, "--timestamp", text]);
        assert!(message.contains("timestamp"), "{text:?}: {message}");
    }
}

#[test]
fn a_closed_stdout_pipe_does_not_panic() {
    let table = many_files_table(3000);
    let table = table.path().to_str().unwrap();
    for json in [false, true] {
        let mut args = vec!["files", table];
        if json {
            args.push("--json");
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_tarn"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        {
            let mut reader = BufReader::new(child.stdout.take().unwrap());
            reader.read_line(&mut first).unwrap();
        } // Dropping the reader closes the pipe, like `| head -1`.
        assert!(!first.is_empty());
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(!err.contains("panicked"), "tarn {args:?} panicked: {err}");
        assert!(err.is_empty(), "tarn {args:?} wrote to stderr: {err}");
        assert!(status.code().is_some(), "tarn {args:?} killed: {status}");
    }
    // The full listing really is larger than a pipe buffer.
    assert!(tarn_ok(&["files", table]).len() > 256 * 1024);
}

// ---------------------------------------------------------------------------------------------
// 6. --timestamp
// ---------------------------------------------------------------------------------------------

#[test]
fn timestamp_selects_the_newest_version_at_or_before_it() {
    let (_dir, table) = copy_fixture("cdf-table");
    // 2024-01-01T00:00:00Z, then one commit per hour.
    const BASE: u64 = 1_704_067_200_000;
    const HOUR: u64 = 3_600_000;
    for version in 0..4 {
        set_mtime(&commit_file(&table, version), BASE + version * HOUR);
    }
    let at = |timestamp: &str| -> Value {
        let got = tarn_json(&["describe", &table, "--json", "--timestamp", timestamp]);
        got["version"].clone()
    };
    let cases: &[(&str, u64)] = &[
        // RFC 3339
        ("2024-01-01T00:00:00Z", 0),
        ("2024-01-01T01:30:00Z", 1),
        ("2024-01-01T03:59:59+02:00", 1),
        ("2024-01-01T02:00:00.000Z", 2),
        ("2030-01-01T00:00:00Z", 3),
        // YYYY-MM-DD HH:MM:SS (UTC)
        ("2024-01-01 02:00:00", 2),
        ("2024-01-01 01:59:59", 1),
        ("2024-01-01 03:00:00", 3),
        // milliseconds since the epoch
        ("1704067200000", 0),
        ("1704077999999", 2),
        ("1704078000000", 3),
    ];
    for (timestamp, want) in cases {
        assert_eq!(at(timestamp), json!(want), "--timestamp {timestamp}");
    }
    // The selected version's timestamp is its commit time.
    let got = tarn_json(&[
        "describe",
        &table,
        "--json",
        "--timestamp",
        "2024-01-01 02:30:00",
    ]);
    assert_eq!(got["timestamp"], BASE + 2 * HOUR);
    // history reports the same commit times.
    let history = tarn_json(&["history", &table, "--json"]);
    let times: Vec<u64> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["timestamp"].as_u64().unwrap())
        .collect();
    assert_eq!(
        times,
        (0..4).rev().map(|v| BASE + v * HOUR).collect::<Vec<_>>()
    );
    // files honours --timestamp too.
    let at_one = tarn_json(&["describe", &table, "--json", "--version", "1"]);
    let files = tarn_json(&["files", &table, "--json", "--timestamp", "1704071000000"]);
    assert_eq!(json!(files.as_array().unwrap().len()), at_one["num_files"]);
    // Before the first commit there is no version: one error line.
    let message = tarn_err(&["describe", &table, "--timestamp", "2023-12-31 23:59:59"]);
    assert!(message.contains("version"), "{message}");
}

#[test]
fn describe_timestamp_agrees_with_history_when_commit_times_tie() {
    // Copied or unpacked tables often give every commit file the same modification time.
    // Commit times are then made monotonic (PROTOCOL.md leaves file times to the reader;
    // tarn counts a tie as one millisecond later). Whatever rule is used, describe, history
    // and --timestamp must agree on it, so a script can feed one command's timestamp to
    // another.
    let (_dir, table) = copy_fixture("simple_table");
    const TIME: u64 = 1_704_067_200_000;
    for version in 0..5 {
        set_mtime(&commit_file(&table, version), TIME);
    }
    let history = tarn_json(&["history", &table, "--json"]);
    let history: BTreeMap<u64, i64> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["version"].as_u64().unwrap(),
                e["timestamp"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(history.len(), 5);
    let mut problems = Vec::new();
    for version in 0..5_u64 {
        let described = tarn_json(&[
            "describe",
            &table,
            "--json",
            "--version",
            &version.to_string(),
        ]);
        let timestamp = described["timestamp"].as_i64().unwrap();
        if timestamp != history[&version] {
            problems.push(format!(
                "version {version}: describe says committed at {timestamp}, history says {}",
                history[&version]
            ));
        }
        let back = tarn_json(&[
            "describe",
            &table,
            "--json",
            "--timestamp",
            &timestamp.to_string(),
        ]);
        if back["version"] != version {
            problems.push(format!(
                "version {version}: --timestamp {timestamp} (its describe timestamp) selects version {}",
                back["version"]
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Secrets given on the command line or in the environment never reach the output: not in a
/// table URI (a password, a SAS token), not in an object store's error quoting an option.
#[test]
fn errors_never_show_secrets() {
    const SECRET: &str = "Sup3rSecretValue";
    // Explicit dummy credentials (no credential discovery), and no `allow_http`: every
    // request fails at once, before any connection.
    let unreachable = [
        "-o",
        "aws_endpoint=http://127.0.0.1:1",
        "-o",
        "aws_region=us-east-1",
        "-o",
        "aws_access_key_id=test",
        "-o",
        "aws_secret_access_key=test",
    ];
    let sas = format!("az://container/t?sv=2020-01-01&sig={SECRET}");
    let password = format!("s3://key:{SECRET}@bucket/t");
    let secret_option = format!("aws_secret_access_key={SECRET}");
    // An account key that is not base64 fails the configuration, before any request (a
    // valid one would send requests to the cloud, which no test may reach).
    let account_key = format!("azure_storage_account_key={SECRET}!");
    let bad_bool = format!("allow_http={SECRET}");
    let https = format!("https://acct.blob.core.windows.net/c/t?sig={SECRET}");
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "describe",
            &sas,
            "-o",
            "azure_storage_account_name=acct",
            "-o",
            &account_key,
        ],
        vec!["describe", &password],
        vec![
            "history",
            "s3://bucket/t",
            "-o",
            &secret_option,
            "-o",
            &bad_bool,
        ],
        vec![
            "cat",
            "s3://bucket/t",
            "-o",
            &secret_option,
            "-o",
            "aws_secret_access_key",
        ],
        vec!["files", &https],
    ];
    for mut args in cases {
        if args[1].starts_with("s3://") && !args.contains(&"-o") {
            args.extend(unreachable);
        }
        let output = tarn(&args);
        assert!(!output.status.success(), "{args:?}");
        let all = format!("{}{}", stdout(&output), stderr(&output));
        assert!(!all.contains(SECRET), "{args:?} printed the secret: {all}");
    }
    // From the environment.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tarn"))
        .args([
            "history",
            "s3://bucket/t",
            "-o",
            "aws_access_key_id=test",
            "-o",
            &bad_bool,
        ])
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .output()
        .unwrap();
    let err = stderr(&output);
    assert!(!err.contains(SECRET) && err.contains("<redacted>"), "{err}");
}
