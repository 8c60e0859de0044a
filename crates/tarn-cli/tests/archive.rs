//! `tarn archive` and `tarn restore-archive` from the command line: the dry run changes
//! nothing, `files` and `describe` say where files live and how many bytes each place holds,
//! a delete on a table with detached files says what it did not search, `restore-archive`
//! brings rows back, and a `tarn archive` killed while it runs leaves a table that a second
//! run archives with every file exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use support::*;

/// A table partitioned by day: `files_per_day` appends per day of `rows` rows each.
fn table(ws: &Workspace, name: &str, days: &[&str], files_per_day: usize, rows: usize) -> String {
    let table = ws.path(name);
    let mut id = 0usize;
    for day in days {
        for f in 0..files_per_day {
            let mut text = String::new();
            for _ in 0..rows {
                text.push_str(&format!(
                    "{{\"id\": {id}, \"day\": \"{day}\", \"payload\": \"{}\"}}\n",
                    "x".repeat(id % 50)
                ));
                id += 1;
            }
            let input = ws.file(&format!("{name}-{day}-{f}.ndjson"), &text);
            tarn_ok(&["write", &table, &input, "--partition-by", "day"]);
        }
    }
    table
}

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

fn files(table: &str) -> Vec<Value> {
    tarn_json(&["files", table, "--json"])
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn archive_tier_detach_and_restore_from_the_command_line() {
    let ws = Workspace::new();
    let t = table(
        &ws,
        "events",
        &["2025-12-30", "2025-12-31", "2026-01-01"],
        2,
        5,
    );
    let cold = ws.path("cold");
    let all = ids(&t);
    assert_eq!(all.len(), 30);

    // The dry run plans and changes nothing.
    let plan = tarn_json(&[
        "archive",
        &t,
        "--to",
        &cold,
        "--where",
        "day < '2025-12-31'",
        "--dry-run",
        "--json",
    ]);
    assert_eq!(plan["files_to_archive"], 2);
    assert_eq!(plan["mode"], "tier");
    assert_eq!(plan["declares_location"], true);
    assert_eq!(plan["rule"]["where"], "day < '2025-12-31'");
    assert!(
        plan["files"][0]["archive_path"]
            .as_str()
            .unwrap()
            .starts_with("file://")
    );
    assert!(!Path::new(&cold).exists());
    let text = tarn_ok(&[
        "archive",
        &t,
        "--to",
        &cold,
        "--where",
        "day < '2025-12-31'",
        "--dry-run",
    ]);
    assert!(text.starts_with("would archive 2 files"), "{text}");

    // Tier.
    let out = tarn_json(&[
        "archive",
        &t,
        "--to",
        &cold,
        "--where",
        "day < '2025-12-31'",
        "--json",
    ]);
    assert_eq!(out["files_archived"], 2);
    assert_eq!(out["versions"].as_array().unwrap().len(), 1);
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .starts_with("archived 2 files"),
        "{out}"
    );
    assert_eq!(ids(&t), all);
    let listed = files(&t);
    let cold_uri = format!("file://{cold}");
    assert_eq!(
        listed
            .iter()
            .filter(|f| f["location"] == cold_uri.as_str())
            .count(),
        2
    );
    assert_eq!(listed.iter().filter(|f| f["location"] == "hot").count(), 4);
    let text = tarn_ok(&["files", &t]);
    assert!(text.contains(&format!("{cold_uri}: 2,")), "{text}");

    // Detach the next day; a delete reaching one of its rows says what it did not search.
    let out = tarn_ok(&[
        "archive",
        &t,
        "--to",
        &cold,
        "--where",
        "day = '2025-12-31'",
        "--mode",
        "detach",
    ]);
    assert!(out.contains("(detach)"), "{out}");
    assert_eq!(
        ids(&t),
        all.iter()
            .copied()
            .filter(|id| !(10..20).contains(id))
            .collect::<Vec<_>>()
    );
    let described = describe(&t);
    let storage = described["storage"].as_array().unwrap();
    let kinds: BTreeSet<(&str, &str, u64)> = storage
        .iter()
        .map(|p| {
            (
                p["location"].as_str().unwrap(),
                p["kind"].as_str().unwrap(),
                p["num_files"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            ("hot", "hot", 2),
            (cold_uri.as_str(), "tiered", 2),
            (cold_uri.as_str(), "detached", 2)
        ])
    );
    assert!(
        storage
            .iter()
            .all(|p| p["size_bytes"].as_u64().unwrap() > 0)
    );
    let text = tarn_ok(&["describe", &t]);
    assert!(text.contains("detached (archive manifest"), "{text}");

    let out = tarn_json(&["delete", &t, "--where", "id = 12", "--json"]);
    assert_eq!(out["detached_files_not_searched"], 2);
    assert!(out["version"].is_u64(), "{out}");
    let message = out["message"].as_str().unwrap();
    assert!(
        message.contains("2 detached files in the archive manifest were not searched"),
        "{message}"
    );

    // Restore brings the detached rows back, less the one deleted since.
    let plan = tarn_json(&[
        "restore-archive",
        &t,
        "--where",
        "day = '2025-12-31'",
        "--dry-run",
        "--json",
    ]);
    assert_eq!(plan["detached"].as_array().unwrap().len(), 2);
    assert_eq!(plan["detached"][0]["replay"][0]["kind"], "delete");
    let out = tarn_json(&[
        "restore-archive",
        &t,
        "--where",
        "day = '2025-12-31'",
        "--json",
    ]);
    assert_eq!(out["detached_restored"], 2);
    assert_eq!(out["rows_deleted"], 1);
    assert_eq!(
        ids(&t),
        all.iter()
            .copied()
            .filter(|id| *id != 12)
            .collect::<Vec<_>>()
    );
    // And the tiered files come back hot.
    let text = tarn_ok(&["restore-archive", &t, "--where", "day = '2025-12-30'"]);
    assert!(text.starts_with("restored 2 files: 2 tiered"), "{text}");
    assert!(files(&t).iter().filter(|f| f["location"] == "hot").count() >= 4);
}

#[test]
fn archive_errors_are_one_line() {
    let ws = Workspace::new();
    let t = table(&ws, "events", &["2025-12-30"], 1, 3);
    let err = tarn_err(&["archive", &t, "--to", &ws.path("cold")]);
    assert!(
        err.contains("--where") || err.contains("older-than"),
        "{err}"
    );
    let err = tarn_err(&["archive", &t, "--to", &t, "--older-than", "1d"]);
    assert!(err.contains("own root"), "{err}");
    let err = tarn_err(&[
        "archive",
        &t,
        "--to",
        &ws.path("cold"),
        "--older-than",
        "3 weeks",
    ]);
    assert!(err.contains("invalid duration"), "{err}");
    let err = tarn_err(&[
        "archive",
        &t,
        "--to",
        &ws.path("cold"),
        "--older-than",
        "1d",
        "--mode",
        "move",
    ]);
    assert!(err.contains("move"), "{err}");
    let err = tarn_err(&["archive", &t, "--to", &ws.path("cold"), "--where", "id = 1"]);
    assert!(err.contains("partition columns only"), "{err}");
    let err = tarn_err(&["restore-archive", &t, "--where", "nope = 1"]);
    assert!(err.contains("nope"), "{err}");
}

/// Files the table names, by their path below the root or the archive (each must be there
/// exactly once), and whether each exists.
fn placed_once(table: &str, cold: &str) -> Vec<String> {
    let mut names = Vec::new();
    for file in files(table) {
        let path = file["path"].as_str().unwrap();
        let (base, rel) = match path.strip_prefix(&format!("file://{cold}/")) {
            Some(rel) => (cold.to_owned(), rel.to_owned()),
            None => (table.to_owned(), path.to_owned()),
        };
        assert!(Path::new(&base).join(&rel).is_file(), "{rel} is gone");
        names.push(rel);
    }
    names.sort();
    names
}

#[test]
fn a_killed_archive_run_and_a_second_run_archive_every_file_exactly_once() {
    let ws = Workspace::new();
    let t = table(
        &ws,
        "events",
        &["2025-12-29", "2025-12-30", "2025-12-31"],
        12,
        200,
    );
    let cold = ws.path("cold");
    let before = placed_once(&t, &cold);
    assert_eq!(before.len(), 36);
    let all = ids(&t);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tarn"))
        .args(["archive", &t, "--to", &cold, "--older-than", "0h"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it as soon as its first copy lands.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut finished = false;
    loop {
        let copied = walk(Path::new(&cold))
            .iter()
            .any(|f| f.ends_with(".parquet"));
        if copied {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            finished = true;
            break;
        }
        assert!(Instant::now() < deadline, "no copy appeared");
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().ok();
    child.wait().unwrap();
    // Whatever point it was killed at: each file once, nothing the table names is gone.
    assert_eq!(placed_once(&t, &cold), before);
    assert_eq!(ids(&t), all);
    let out = tarn_json(&["archive", &t, "--to", &cold, "--older-than", "0h", "--json"]);
    assert_eq!(placed_once(&t, &cold), before);
    assert_eq!(ids(&t), all);
    assert!(files(&t).iter().all(|f| f["location"] != "hot"), "{out}");
    if !finished {
        // The first run's copies were reused, not written twice.
        let reused = out["files_reused"].as_u64().unwrap();
        let archived = out["files_archived"].as_u64().unwrap();
        assert!(reused >= 1 || archived < 36, "{out}");
    }
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.to_str().unwrap().to_owned());
        }
    }
    out
}
