//! `tarn maintain` as cron and a service run it: a policy naming three tables, one broken,
//! maintains the other two and exits nonzero naming the failure; a bad policy fails before
//! any work, naming its line and key; shards split the tables; `--every` runs until SIGTERM
//! and then stops cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use support::*;

/// Three appends of two rows to a table at `path`.
fn small_table(dir: &Path, name: &str, partitioned: bool) -> String {
    let table = dir.join(name);
    for i in 0..3 {
        let csv = dir.join(format!("{name}-{i}.csv"));
        std::fs::write(&csv, format!("id,day\n{i},a\n{},b\n", i + 10)).unwrap();
        let mut args = vec!["write", table.to_str().unwrap(), csv.to_str().unwrap()];
        if partitioned {
            args.extend(["--partition-by", "day"]);
        }
        tarn_ok(&args);
    }
    table.to_str().unwrap().to_owned()
}

fn records(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn data_files(table: &str) -> usize {
    let snapshot = tarn_ok(&["describe", table, "--json"]);
    let value: Value = serde_json::from_str(&snapshot).unwrap();
    value["num_files"].as_u64().unwrap() as usize
}

#[test]
fn one_broken_table_does_not_stop_the_others_and_the_exit_status_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let good = small_table(dir.path(), "good", true);
    let other = small_table(dir.path(), "other", false);
    let broken = dir.path().join("broken");
    std::fs::create_dir_all(broken.join("_delta_log")).unwrap();
    std::fs::write(
        broken.join("_delta_log/00000000000000000000.json"),
        "not json\n",
    )
    .unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "[[table]]\nuri = \"{good}\"\n\n[[table]]\nuri = \"{}\"\n\n[[table]]\nuri = \"{other}\"\ncompact = {{ sort_by = [\"id\"] }}\n",
            broken.display()
        ),
    )
    .unwrap();
    assert_eq!((data_files(&good), data_files(&other)), (6, 3));
    let output = tarn(&[
        "maintain",
        "--policy",
        policy.to_str().unwrap(),
        "--once",
        "--json",
    ]);
    assert!(!output.status.success(), "a broken table must fail the run");
    let all = records(&stdout(&output));
    let summary = all.last().unwrap()["summary"].clone();
    assert_eq!(summary["tables"], 3);
    assert_eq!(
        summary["failed_tables"],
        serde_json::json!([broken.to_str().unwrap()])
    );
    let failures: Vec<&Value> = all.iter().filter(|r| r["status"] == "failed").collect();
    assert_eq!(failures.len(), 1, "{all:?}");
    assert_eq!(failures[0]["table"], broken.to_str().unwrap());
    assert_eq!(failures[0]["operation"], "open");
    assert!(
        failures[0]["message"]
            .as_str()
            .unwrap()
            .contains("corrupt commit")
    );
    // The good tables went through every operation, and were compacted.
    for table in [&good, &other] {
        let ops: Vec<&str> = all
            .iter()
            .filter(|r| r["table"] == table.as_str())
            .map(|r| r["operation"].as_str().unwrap())
            .collect();
        assert_eq!(
            ops,
            ["compact", "checkpoint", "vacuum", "log-cleanup"],
            "{table}"
        );
    }
    assert_eq!((data_files(&good), data_files(&other)), (2, 1));
    assert!(stderr(&output).contains("failed"), "{}", stderr(&output));
}

#[test]
fn a_bad_policy_fails_before_any_work_naming_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let table = small_table(dir.path(), "t", false);
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!("[[table]]\nuri = \"{table}\"\n\n[[table]]\nuri = \"{table}-2\"\nvacuum = {{ retain = \"a week\" }}\n"),
    )
    .unwrap();
    let output = tarn(&["maintain", "--policy", policy.to_str().unwrap()]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("policy.toml:6: table[2].vacuum.retain"),
        "{message}"
    );
    // Nothing ran: the first table was not compacted.
    assert_eq!(data_files(&table), 3);
    assert!(stdout(&output).is_empty());
}

#[test]
fn shards_share_the_tables_without_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    let mut all = BTreeSet::new();
    for i in 0..6 {
        let table = small_table(dir.path(), &format!("t{i}"), false);
        text.push_str(&format!("[[table]]\nuri = \"{table}\"\n"));
        all.insert(table);
    }
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, text).unwrap();
    let mut seen = BTreeSet::new();
    for k in 0..3 {
        let shard = format!("{k}/3");
        let out = tarn_ok(&[
            "maintain",
            "--policy",
            policy.to_str().unwrap(),
            "--shard",
            &shard,
            "--dry-run",
            "--json",
        ]);
        for record in records(&out) {
            if let Some(table) = record["table"].as_str() {
                assert!(
                    seen.insert(table.to_owned()) || record["operation"] != "compact",
                    "{table} in two shards"
                );
            }
        }
    }
    assert_eq!(seen, all);
    // A dry run changed nothing.
    for table in &all {
        assert_eq!(data_files(table), 3);
    }
}

#[cfg(unix)]
#[test]
fn every_runs_until_sigterm_and_stops_cleanly() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let table = small_table(dir.path(), "t", false);
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, format!("[[table]]\nuri = \"{table}\"\n")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tarn"))
        .args([
            "maintain",
            "--policy",
            policy.to_str().unwrap(),
            "--every",
            "1h",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // The first run ends with its summary; the service then waits an hour.
    loop {
        let line = lines.next().unwrap().unwrap();
        if line.contains("\"summary\"") {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(
        exit.success(),
        "a service stopped by SIGTERM exits 0, got {exit}"
    );
    assert_eq!(data_files(&table), 1);
}

#[test]
fn a_spent_time_budget_skips_what_has_not_started() {
    let dir = tempfile::tempdir().unwrap();
    let table = small_table(dir.path(), "t", false);
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!("[[table]]\nuri = \"{table}\"\ntime_budget = \"0s\"\n"),
    )
    .unwrap();
    let output = tarn(&[
        "maintain",
        "--policy",
        policy.to_str().unwrap(),
        "--once",
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let all = records(&stdout(&output));
    let skipped: Vec<&Value> = all
        .iter()
        .filter(|r| r["table"] == table.as_str() && r["status"] == "skipped")
        .collect();
    assert_eq!(skipped.len(), 4, "{all:?}");
    for record in skipped {
        assert!(
            record["message"].as_str().unwrap().contains("time budget"),
            "{record}"
        );
    }
    // Nothing ran: the three small files are still there.
    assert_eq!(data_files(&table), 3);
}
