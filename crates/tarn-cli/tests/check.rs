//! `tarn check`: a healthy table exits 0; a missing data file, a file of another size than
//! logged and a corrupt deletion vector each make it exit 1 naming the file; orphans are
//! counted without making the table unhealthy; the check changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;

use serde_json::Value;
use support::*;

fn check_json(table: &str) -> (bool, Value) {
    let output = tarn(&["check", table, "--json"]);
    let value: Value = serde_json::from_str(&stdout(&output))
        .unwrap_or_else(|e| panic!("{e}: {}", stdout(&output)));
    assert_eq!(
        value["healthy"].as_bool().unwrap(),
        output.status.success(),
        "{value}"
    );
    if !output.status.success() {
        assert!(
            stderr(&output).contains("is not healthy"),
            "{}",
            stderr(&output)
        );
    }
    (output.status.success(), value)
}

/// Every file under `dir`, with its bytes: what a check must leave as it found it.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in walk(dir) {
        out.push((entry.display().to_string(), std::fs::read(&entry).unwrap()));
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn active_files(table: &str) -> Vec<String> {
    let files = tarn_json(&["files", table, "--json"]);
    files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn missing_and_resized_data_files_make_the_table_unhealthy() {
    let ws = Workspace::new();
    let table = ws.path("t");
    let csv = ws.file("a.csv", "id,day\n1,a\n2,b\n3,c\n");
    tarn_ok(&["write", &table, &csv, "--partition-by", "day"]);
    let (healthy, report) = check_json(&table);
    assert!(healthy, "{report}");
    assert_eq!(report["files_checked"], 3);
    assert_eq!(report["orphans"]["files"], 0);

    let files = active_files(&table);
    let root = Path::new(&table);
    std::fs::remove_file(root.join(&files[0])).unwrap();
    let resized = root.join(&files[1]);
    let mut bytes = std::fs::read(&resized).unwrap();
    bytes.push(0);
    std::fs::write(&resized, bytes).unwrap();
    std::fs::write(
        root.join("day=c/stray.parquet"),
        b"left by a crashed writer",
    )
    .unwrap();

    let before = tree(root);
    let (healthy, report) = check_json(&table);
    assert!(!healthy);
    assert_eq!(tree(root), before, "a check must change nothing");
    let problems: Vec<(&str, &str)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["kind"].as_str().unwrap(), p["path"].as_str().unwrap()))
        .collect();
    let mut expected = vec![
        ("missing", files[0].as_str()),
        ("size_mismatch", files[1].as_str()),
    ];
    expected.sort_by_key(|(_, path)| *path);
    assert_eq!(problems, expected);
    assert_eq!(report["orphans"]["files"], 1);
    assert_eq!(report["orphans"]["recent_files"], 1);
    assert_eq!(report["orphans"]["sample"][0], "day=c/stray.parquet");

    // Text output names them too.
    let output = tarn(&["check", &table]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("2 problems"), "{text}");
    assert!(
        text.contains(&format!("missing          {}", files[0])),
        "{text}"
    );
    assert!(text.contains("1 orphan file"), "{text}");
}

#[test]
fn a_corrupt_deletion_vector_is_found() {
    let ws = Workspace::new();
    let table = ws.path("dv");
    copy_dir(
        Path::new(&fixture("table-with-dv-small")),
        Path::new(&table),
    );
    let (healthy, report) = check_json(&table);
    assert!(healthy, "{report}");
    assert_eq!(report["deletion_vectors_checked"], 1);
    let dv = walk(Path::new(&table))
        .into_iter()
        .find(|p| p.to_str().unwrap().contains("deletion_vector_"))
        .unwrap();
    let mut bytes = std::fs::read(&dv).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&dv, bytes).unwrap();
    let (healthy, report) = check_json(&table);
    assert!(!healthy);
    assert_eq!(report["problems"][0]["kind"], "deletion_vector", "{report}");
    assert!(
        report["problems"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("checksum"),
        "{report}"
    );
}

#[test]
fn no_orphans_skips_the_listing() {
    let ws = Workspace::new();
    let table = ws.path("t");
    let csv = ws.file("a.csv", "id\n1\n");
    tarn_ok(&["write", &table, &csv]);
    std::fs::write(Path::new(&table).join("stray.parquet"), b"x").unwrap();
    let report = tarn_json(&["check", &table, "--json", "--no-orphans"]);
    assert_eq!(report["orphans"], Value::Null);
    assert_eq!(report["healthy"], true);
}

#[test]
fn a_path_that_is_not_a_table_fails_cleanly() {
    let ws = Workspace::new();
    let output = tarn(&["check", &ws.path("nothing")]);
    assert!(!output.status.success());
    assert!(stdout(&output).is_empty());
    assert!(
        stderr(&output).starts_with("error: "),
        "{}",
        stderr(&output)
    );
}

/// The Parquet files under `dir`.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect()
}

#[test]
fn archived_copies_are_checked_tiered_and_detached() {
    let ws = Workspace::new();
    let table = ws.path("t");
    for (i, day) in ["a", "b", "c"].iter().enumerate() {
        let csv = ws.file(&format!("{day}.csv"), &format!("id,day\n{i},{day}\n"));
        tarn_ok(&["write", &table, &csv, "--partition-by", "day"]);
    }
    let cold = ws.path("cold");
    let colder = ws.path("colder");
    tarn_ok(&["archive", &table, "--to", &cold, "--where", "day = 'a'"]);
    tarn_ok(&[
        "archive",
        &table,
        "--to",
        &colder,
        "--where",
        "day = 'b'",
        "--mode",
        "detach",
    ]);
    let (healthy, report) = check_json(&table);
    assert!(healthy, "{report}");
    assert_eq!(report["files_checked"], 2, "{report}");
    assert_eq!(report["detached_checked"], 1, "{report}");

    // The tiered copy is a live file: losing it is a missing file.
    let tiered = files_under(Path::new(&cold));
    assert_eq!(tiered.len(), 1, "{tiered:?}");
    let moved = ws.path("moved.parquet");
    std::fs::rename(&tiered[0], &moved).unwrap();
    let (healthy, report) = check_json(&table);
    assert!(!healthy);
    assert_eq!(report["problems"][0]["kind"], "missing", "{report}");
    assert!(
        report["problems"][0]["path"]
            .as_str()
            .unwrap()
            .starts_with("file://"),
        "{report}"
    );
    std::fs::rename(&moved, &tiered[0]).unwrap();

    // The detached copy is in no live version, only in the manifest: a shorter copy is found.
    let detached = files_under(Path::new(&colder));
    assert_eq!(detached.len(), 1, "{detached:?}");
    let bytes = std::fs::read(&detached[0]).unwrap();
    std::fs::write(&detached[0], &bytes[..bytes.len() - 1]).unwrap();
    let (healthy, report) = check_json(&table);
    assert!(!healthy);
    let problem = &report["problems"][0];
    assert_eq!(problem["kind"], "size_mismatch", "{report}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("archived copy of day=b/"),
        "{report}"
    );
}
