//! `tarn demo`: it runs in a fresh directory, every count it prints agrees with the table it
//! leaves behind (its compaction step included), it can run again in the same directory, it
//! never touches a directory that holds anything but a previous demo, and the commands it
//! suggests at the end work as printed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Command;

use serde_json::{Value, json};

use support::*;

fn demo_json(dir: &str) -> Value {
    tarn_json(&["demo", dir, "--json"])
}

#[test]
fn demo_summary_agrees_with_the_table_it_builds() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("demo");
    let dir = dir.to_str().unwrap();
    let got = demo_json(dir);
    assert_eq!(got["replaced_previous_demo"], false);

    let writes = &got["writes"];
    assert_eq!(writes["writers"], 4);
    assert_eq!(writes["rows"], 8000);
    assert_eq!(writes["rows_expected"], 8000);
    assert_eq!(writes["replay_skipped"], true);
    let mut versions: Vec<u64> = writes["writer_versions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w["versions"].as_array().unwrap().clone())
        .map(|v| v.as_u64().unwrap())
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=20).collect::<Vec<u64>>());
    assert_eq!(writes["automatic_checkpoints"], json!([10, 20]));

    let deleted = got["delete"]["rows_deleted"].as_u64().unwrap();
    let updated = got["update"]["rows_updated"].as_u64().unwrap();
    assert!(deleted > 0 && updated > 0, "{got}");
    assert_eq!(got["delete"]["version"], 21);
    assert_eq!(got["update"]["version"], 22);
    assert_eq!(got["checkpoint"]["version"], 22);

    // Ten late appends (versions 23-32), then a compaction in one or more commits.
    let compaction = &got["compaction"];
    let late = &compaction["late_appends"];
    assert_eq!(late["commits"], 10);
    assert_eq!(late["versions"], json!((23..=32).collect::<Vec<u64>>()));
    assert_eq!(late["rows"], 1000);
    let compacted: Vec<u64> = compaction["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(!compacted.is_empty(), "{compaction}");
    let last = *compacted.last().unwrap();
    assert_eq!(compacted, (33..=last).collect::<Vec<u64>>());
    assert_eq!(compaction["plan"]["version"], 32);
    // Then a vacuum records its start and end, and the table ends there.
    let maintenance = &got["maintenance"];
    assert_eq!(
        maintenance["vacuum"]["start_version"],
        last + 1,
        "{maintenance}"
    );
    assert_eq!(
        maintenance["vacuum"]["end_version"],
        last + 2,
        "{maintenance}"
    );
    assert_eq!(maintenance["vacuum"]["files_deleted"], 0, "{maintenance}");
    // Then one day is tiered, the next detached and restored: one commit each.
    let archive = &got["archive"];
    assert_eq!(archive["tier_version"], last + 3, "{archive}");
    assert_eq!(archive["detach_version"], last + 4, "{archive}");
    assert_eq!(archive["restore_version"], last + 5, "{archive}");
    assert!(archive["tiered_files"].as_u64().unwrap() >= 1, "{archive}");
    assert_eq!(
        archive["detached_files"], archive["restored_files"],
        "{archive}"
    );
    assert!(archive["detached_rows"].as_u64().unwrap() > 0, "{archive}");
    assert_eq!(got["final_version"], last + 5);
    let removed = got["delete"]["files_removed"].as_u64().unwrap()
        + got["update"]["files_removed"].as_u64().unwrap()
        + compaction["files_removed"].as_u64().unwrap();
    assert_eq!(
        maintenance["vacuum_zero_retention_would_delete"], removed,
        "{maintenance}"
    );
    assert_eq!(maintenance["check"]["healthy"], true, "{maintenance}");
    assert_eq!(maintenance["check"]["orphans"], 0, "{maintenance}");
    let files_before = compaction["files_before"].as_u64().unwrap();
    let files_after = compaction["files_after"].as_u64().unwrap();
    assert_eq!(compaction["plan"]["files_to_rewrite"], files_before);
    assert_eq!(compaction["plan"]["partitions"], 5);
    assert_eq!(compaction["files_removed"], files_before);
    assert_eq!(
        compaction["files_added"].as_u64().unwrap(),
        files_after,
        "every file was rewritten"
    );
    assert!(
        files_before >= 100 && files_after * 4 <= files_before,
        "{compaction}"
    );
    assert_eq!(compaction["rows"], 8000 - deleted + 1000);
    let range = &compaction["scan"];
    assert_eq!(range["before"]["rows"], range["after"]["rows"]);
    assert!(range["after"]["rows"].as_u64().unwrap() > 0, "{range}");
    assert_eq!(range["before"]["files_total"], files_before);
    assert_eq!(range["after"]["files_total"], files_after);
    let read_before = range["before"]["files_read"].as_u64().unwrap();
    let read_after = range["after"]["files_read"].as_u64().unwrap();
    // Sorted by user_id, a 5% range of users is in one or two files of each day.
    assert!(read_after <= 10 && read_after * 4 < read_before, "{range}");
    // Within each day too: the range is in the first of its files.
    assert!(read_after < files_after, "{range}");

    let travel: Vec<(u64, u64)> = got["time_travel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_u64().unwrap(), v["rows"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        travel,
        [
            (0, 0),
            (20, 8000),
            (21, 8000 - deleted),
            (22, 8000 - deleted),
            (32, 9000 - deleted),
            (last, 9000 - deleted)
        ]
    );
    let refunds: Vec<f64> = got["time_travel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["refund_total"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!((refunds[3] - 2.0 * refunds[2]).abs() < 0.005, "{refunds:?}");
    assert!(refunds[4] > refunds[3], "{refunds:?}");
    assert_eq!(refunds[5], refunds[4]);

    let history: Vec<(u64, u64, &str)> = got["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["first_version"].as_u64().unwrap(),
                h["last_version"].as_u64().unwrap(),
                h["operation"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            (0, 0, "CREATE TABLE"),
            (1, 20, "WRITE"),
            (21, 21, "DELETE"),
            (22, 22, "UPDATE"),
            (23, 32, "WRITE"),
            (33, last, "OPTIMIZE")
        ]
    );

    // The table agrees with the summary.
    let table = root.path().join("demo/events");
    let table = table.to_str().unwrap();
    let described = tarn_json(&["describe", table, "--json"]);
    assert_eq!(described["version"], last + 5);
    assert_eq!(archive["rows"], described["num_rows"]);
    assert_eq!(maintenance["check"]["files_checked"], files_after);
    assert_eq!(described["num_rows"], 9000 - deleted);
    assert_eq!(described["num_files"], files_after);
    assert_eq!(described["partition_columns"], json!(["day"]));
    let log = tarn_json(&["history", table, "--json"]);
    let log = log.as_array().unwrap();
    assert_eq!(log.len() as u64, last + 6);
    let ends: Vec<&Value> = log.iter().take(5).map(|e| &e["operation"]).collect();
    assert_eq!(
        ends,
        [
            &json!("RESTORE ARCHIVE"),
            &json!("ARCHIVE"),
            &json!("ARCHIVE"),
            &json!("VACUUM END"),
            &json!("VACUUM START")
        ]
    );
    // Files live in two places now, and the check agrees.
    let placed = tarn_ok(&["files", table]);
    assert!(placed.contains("events-archive: "), "{placed}");
    tarn_ok(&["check", table]);
    for entry in log.iter().filter(|e| e["operation"] == "OPTIMIZE") {
        assert_eq!(entry["operationParameters"]["sortBy"], "[\"user_id\"]");
    }
    let tests = tarn_ok(&[
        "cat",
        table,
        "--version",
        "22",
        "--where",
        "kind = 'test'",
        "--format",
        "ndjson",
    ]);
    assert_eq!(tests, "");
    let at_20 = tarn_ok(&[
        "cat",
        table,
        "--version",
        "20",
        "--where",
        "kind = 'test'",
        "--format",
        "csv",
    ]);
    assert_eq!(at_20.lines().count() as u64, deleted + 1);

    let scan = &got["scan"];
    assert_eq!(scan["files_total"], described["num_files"]);
    assert!(
        scan["files_read"].as_u64() < scan["files_total"].as_u64(),
        "{scan}"
    );
    let predicate = scan["predicate"].as_str().unwrap();
    let matched = tarn_ok(&["cat", table, "--where", predicate, "--format", "csv"]);
    assert_eq!(
        matched.lines().count() as u64,
        scan["rows"].as_u64().unwrap() + 1
    );
    let listed = tarn_json(&["files", table, "--where", predicate, "--json"]);
    assert_eq!(
        listed.as_array().unwrap().len() as u64,
        scan["files_read"].as_u64().unwrap()
    );

    // The compaction's range scan, through the CLI: the same files and rows.
    let predicate = range["predicate"].as_str().unwrap();
    let listed = tarn_json(&["files", table, "--where", predicate, "--json"]);
    assert_eq!(listed.as_array().unwrap().len() as u64, read_after);
    let matched = tarn_ok(&["cat", table, "--where", predicate, "--format", "csv"]);
    assert_eq!(
        matched.lines().count() as u64,
        range["after"]["rows"].as_u64().unwrap() + 1
    );
    let before = tarn_ok(&[
        "cat",
        table,
        "--version",
        "32",
        "--where",
        predicate,
        "--format",
        "csv",
    ]);
    let sorted = |text: &str| {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(&before), sorted(&matched));
}

#[test]
fn demo_runs_again_in_the_same_directory_and_keeps_other_files() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().to_str().unwrap();
    let first = tarn_ok(&["demo", dir]);
    for expected in [
        "1. Created the table (version 0)",
        "20 commits landed as versions 1-20",
        "the table has 8000 rows\n   (expected 8000)",
        "skipped, nothing committed",
        "3. DELETE WHERE kind = 'test': version 21",
        "4. UPDATE SET amount = amount * 2 WHERE kind = 'refund': version 22",
        "5. Wrote a checkpoint of version 22",
        "6. 10 late appends of 100 events (versions 23-32)",
        "`tarn optimize --sort-by user_id --target-size 8KiB`: the plan (from version 32)",
        "in 5 bins, one per day, sorted by user_id;",
        "Scan WHERE user_id BETWEEN 1 AND 50: read",
        "7. History",
        "OPTIMIZE",
        "after the compaction",
        "9. Scan WHERE",
        "10. Maintenance. A vacuum keeping no history at all would delete",
        "11. Archive. Tiered",
        "0 orphan files",
        "; the table is at version ",
    ] {
        assert!(
            first.contains(expected),
            "missing {expected:?} in:\n{first}"
        );
    }
    std::fs::write(root.path().join("notes.txt"), "mine").unwrap();
    let second = tarn_ok(&["demo", dir]);
    assert!(
        second.contains("replacing the previous demo's table"),
        "{second}"
    );
    assert!(second.contains("6. 10 late appends"), "{second}");
    assert_eq!(
        std::fs::read_to_string(root.path().join("notes.txt")).unwrap(),
        "mine"
    );
    let table = root.path().join("events");
    let described = tarn_json(&["describe", table.to_str().unwrap(), "--json"]);
    assert!(described["version"].as_u64().unwrap() >= 33, "{described}");
}

#[test]
fn demo_refuses_a_directory_with_other_data() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("data.csv"), "id\n1\n").unwrap();
    std::fs::create_dir(root.path().join("events")).unwrap();
    std::fs::write(root.path().join("events/keep.txt"), "keep").unwrap();
    let dir = root.path().to_str().unwrap();
    let err = tarn_err(&["demo", dir]);
    assert!(err.contains(dir) && err.contains("not empty"), "{err}");
    assert_eq!(
        std::fs::read_to_string(root.path().join("events/keep.txt")).unwrap(),
        "keep"
    );
    assert!(!root.path().join(".tarn-demo").exists());
}

/// Runs `tarn demo` (default directory) in `dir` with `PATH` set to `path` and no cargo
/// variables, and returns the commands it suggests at the end.
fn suggested_commands(dir: &std::path::Path, path: &std::ffi::OsStr) -> Vec<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_tarn"))
        .arg("demo")
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("CARGO_PKG_NAME")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let (_, tail) = text.split_once("Look around:\n").expect(&text);
    let commands: Vec<String> = tail.lines().map(|l| l.trim().to_owned()).collect();
    assert!(commands.len() >= 4, "{text}");
    commands
}

/// Runs a suggested command line as a shell would, in `dir` with `PATH` set to `path`.
fn run_as_typed(dir: &std::path::Path, path: &std::ffi::OsStr, line: &str) {
    let output = Command::new("sh")
        .args(["-c", line])
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "`{line}` failed: {}",
        stderr(&output)
    );
    assert!(!stdout(&output).is_empty(), "`{line}` printed nothing");
}

#[test]
fn demo_defaults_to_tarn_demo_in_the_current_directory() {
    let root = tempfile::tempdir().unwrap();
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_tarn"));
    let system_path = std::env::var_os("PATH").unwrap_or_default();
    // Without `tarn` on the PATH (nor cargo), the suggestions name the binary itself.
    let commands = suggested_commands(root.path(), &system_path);
    assert!(root.path().join("tarn-demo/events/_delta_log").is_dir());
    assert!(root.path().join("tarn-demo/.tarn-demo").is_file());
    let exe_text = std::fs::canonicalize(exe).unwrap().display().to_string();
    for line in &commands {
        assert!(
            line.starts_with(&format!("{exe_text} ")) && line.contains(" tarn-demo/events"),
            "{line}"
        );
        run_as_typed(root.path(), &system_path, line);
    }
    // With this binary on the PATH as `tarn` (as `cargo install` puts it), they say `tarn`.
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(exe, bin.path().join("tarn")).unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin.path().to_path_buf()).chain(std::env::split_paths(&system_path)),
    )
    .unwrap();
    let commands = suggested_commands(root.path(), &path);
    assert!(
        commands
            .iter()
            .any(|l| l == "tarn describe tarn-demo/events"),
        "{commands:?}"
    );
    for line in &commands {
        assert!(line.starts_with("tarn "), "{line}");
        run_as_typed(root.path(), &path, line);
    }
}
