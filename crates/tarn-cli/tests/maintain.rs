//! `tarn maintain` as cron and a service run it: a policy naming three tables, one broken,
//! maintains the other two and exits nonzero naming the failure; a bad policy fails before
//! any work, naming its line and key; shards split the tables; `--every` runs until SIGTERM
//! and then stops cleanly; a plan printed by `optimize --dry-run --json` runs bin by bin as
//! separate tasks, each committing on its own.
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

/// The ids of a table's rows, sorted.
fn ids(table: &str) -> Vec<i64> {
    let text = tarn_ok(&["cat", table, "--format", "ndjson", "--columns", "id"]);
    let mut ids: Vec<i64> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn archive_rules_run_between_compaction_and_vacuum() {
    let dir = tempfile::tempdir().unwrap();
    let table = small_table(dir.path(), "t", true);
    let plain = small_table(dir.path(), "plain", false);
    let cold = dir.path().join("cold");
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "[[table]]\nuri = \"{table}\"\n\n[[table.archive]]\nto = \"{}\"\nwhere = \"day = 'a'\"\n\n[[table]]\nuri = \"{plain}\"\n",
            cold.display()
        ),
    )
    .unwrap();
    let before = ids(&table);
    let run = |extra: &[&str]| {
        let mut args = vec!["maintain", "--policy", policy.to_str().unwrap(), "--once"];
        args.extend(extra);
        args.push("--json");
        let output = tarn(&args);
        assert!(output.status.success(), "{}", stderr(&output));
        records(&stdout(&output))
    };
    // A dry run plans the rule and changes nothing.
    let planned = run(&["--dry-run"]);
    let archive: Vec<&Value> = planned
        .iter()
        .filter(|r| r["operation"] == "archive")
        .collect();
    assert_eq!(archive.len(), 1, "{planned:?}");
    assert_eq!(archive[0]["status"], "planned");
    assert!(!cold.exists());

    let all = run(&[]);
    let ops = |table: &str| -> Vec<String> {
        all.iter()
            .filter(|r| r["table"] == table)
            .map(|r| r["operation"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ops(&table),
        ["compact", "archive", "checkpoint", "vacuum", "log-cleanup"]
    );
    // A table whose policy names no rule has no archive step at all.
    assert_eq!(
        ops(&plain),
        ["compact", "checkpoint", "vacuum", "log-cleanup"]
    );
    let record = all
        .iter()
        .find(|r| r["table"] == table.as_str() && r["operation"] == "archive")
        .unwrap();
    assert_eq!(record["status"], "done", "{record}");
    // Compaction ran first: day a is one file, and that file is what was archived.
    assert_eq!(record["detail"][0]["files_archived"], 1, "{record}");
    let files = tarn_json(&["files", &table, "--json"]);
    let files = files.as_array().unwrap();
    let cold_uri = format!("file://{}", cold.display());
    let archived: Vec<&Value> = files.iter().filter(|f| f["location"] != "hot").collect();
    assert_eq!(archived.len(), 1, "{files:?}");
    assert_eq!(archived[0]["location"], cold_uri.as_str());
    assert_eq!(archived[0]["partition_values"]["day"], "a");
    assert!(archived[0]["path"].as_str().unwrap().starts_with(&cold_uri));
    assert_eq!(files.len(), 2);
    assert_eq!(ids(&table), before);
    // The next run finds nothing more to archive, and compaction leaves the tiered file be.
    let again = run(&[]);
    let record = again
        .iter()
        .find(|r| r["table"] == table.as_str() && r["operation"] == "archive")
        .unwrap();
    assert_eq!(record["detail"][0]["files_planned"], 0, "{record}");
    let files = tarn_json(&["files", &table, "--json"]);
    assert_eq!(
        files
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["location"] == cold_uri.as_str())
            .count(),
        1
    );
    assert_eq!(ids(&table), before);
}

#[test]
fn a_printed_plan_runs_bin_by_bin_as_separate_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let table = small_table(dir.path(), "t", true);
    let rows_before = tarn_ok(&["cat", &table, "--format", "csv"]);
    let plan = tarn_ok(&["optimize", &table, "--dry-run", "--json"]);
    let parsed: Value = serde_json::from_str(&plan).unwrap();
    assert_eq!(parsed["bins"].as_array().unwrap().len(), 2, "{parsed}");
    let file = dir.path().join("plan.json");
    std::fs::write(&file, &plan).unwrap();
    let file = file.to_str().unwrap();
    // Each task commits its bin; a bin run twice (a retried task) is skipped the second time.
    for bins in ["1", "0", "0,1"] {
        let done: Value = serde_json::from_str(&tarn_ok(&[
            "optimize", &table, "--plan", file, "--bins", bins, "--json",
        ]))
        .unwrap();
        let expected = if bins == "0,1" { (0, 2) } else { (1, 0) };
        assert_eq!(
            (
                done["bins_committed"].as_u64().unwrap(),
                done["bins_skipped"].as_u64().unwrap()
            ),
            expected,
            "bins {bins}: {done}"
        );
    }
    assert_eq!(data_files(&table), 2);
    let mut before: Vec<&str> = rows_before.lines().collect();
    let rows_after = tarn_ok(&["cat", &table, "--format", "csv"]);
    let mut after: Vec<&str> = rows_after.lines().collect();
    before.sort_unstable();
    after.sort_unstable();
    assert_eq!(before, after);
    // A bin the plan does not have, and a file that is not a plan, fail before any work.
    let output = tarn(&["optimize", &table, "--plan", file, "--bins", "2"]);
    assert!(
        stderr(&output).contains("bin 2 is not in the plan"),
        "{}",
        stderr(&output)
    );
    let output = tarn(&["optimize", &table, "--plan", &table]);
    assert!(!output.status.success());
}

#[test]
fn command_line_storage_options_reach_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let table = small_table(dir.path(), "t", false);
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, format!("[[table]]\nuri = \"{table}\"\n")).unwrap();
    // A local table takes no storage options: one given with -o must reach it and fail it.
    let output = tarn(&[
        "-o",
        "aws_region=eu-west-1",
        "maintain",
        "--policy",
        policy.to_str().unwrap(),
        "--json",
    ]);
    assert!(!output.status.success());
    let all = records(&stdout(&output));
    assert_eq!(all[0]["operation"], "open", "{all:?}");
    assert!(
        all[0]["message"].as_str().unwrap().contains("aws_region"),
        "{all:?}"
    );
    assert_eq!(data_files(&table), 3);
}
