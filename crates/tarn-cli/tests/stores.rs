//! Where a table's log may name files, from the command line: a crafted log naming a file
//! outside the table (`file:///...`, `/...`, a `p` deletion vector) fails every command that
//! reads data with one `error:` line naming the path, and changes nothing; `--store` and a
//! location the table declares (`tarn.archive`) make a second root readable, and
//! `--untrusted` refuses the declared one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use support::*;

fn read_commit(table: &Path, version: u64) -> Vec<Value> {
    std::fs::read_to_string(commit_file(table.to_str().unwrap(), version))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Replaces the `path` of every add and remove of `version` that names `from`.
fn rename_in_commit(table: &Path, version: u64, from: &str, to: &str) {
    let mut actions = read_commit(table, version);
    for action in &mut actions {
        for kind in ["add", "remove"] {
            if action[kind]["path"].as_str() == Some(from) {
                action[kind]["path"] = Value::from(to);
            }
        }
    }
    write_commit(table, version, &actions);
}

fn first_add(table: &Path, version: u64) -> Value {
    read_commit(table, version)
        .into_iter()
        .find_map(|a| a.get("add").cloned())
        .unwrap()
}

/// The ids `tarn cat` prints (with `extra` arguments), sorted.
fn ids(table: &Path, extra: &[&str]) -> Vec<i64> {
    let mut args = vec!["cat", table.to_str().unwrap(), "--format", "ndjson"];
    args.extend_from_slice(extra);
    let mut ids: Vec<i64> = tarn_ok(&args)
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    ids.sort_unstable();
    ids
}

/// A table `t` written by `tarn write` (ids 0..=9, then 10), beside a directory `t2` holding
/// a copy of the first data file and table-with-dv-small's deletion vector file (rows 0, 9).
struct Crafted {
    ws: Workspace,
    table: PathBuf,
    outside: PathBuf,
}

const DV_FILE: &str = "deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin";

impl Crafted {
    fn new() -> Self {
        let ws = Workspace::new();
        let table = PathBuf::from(ws.path("t"));
        let outside = PathBuf::from(ws.path("t2"));
        let first: String = (0..10).map(|id| format!("{{\"id\":{id}}}\n")).collect();
        tarn_ok(&[
            "write",
            table.to_str().unwrap(),
            &ws.file("first.ndjson", &first),
        ]);
        tarn_ok(&[
            "write",
            table.to_str().unwrap(),
            &ws.file("second.ndjson", "{\"id\":10}\n"),
        ]);
        std::fs::create_dir(&outside).unwrap();
        let data = first_add(&table, 0)["path"].as_str().unwrap().to_owned();
        std::fs::copy(table.join(&data), outside.join("victim.parquet")).unwrap();
        std::fs::copy(
            Path::new(&fixture("table-with-dv-small")).join(DV_FILE),
            outside.join("dv.bin"),
        )
        .unwrap();
        Self { ws, table, outside }
    }

    fn table(&self) -> &str {
        self.table.to_str().unwrap()
    }

    fn outside_contents(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out: Vec<_> = std::fs::read_dir(&self.outside)
            .unwrap()
            .map(|e| {
                let path = e.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                (path, bytes)
            })
            .collect();
        out.sort();
        out
    }
}

/// Runs a command that must fail because `crafted` is outside the table; checks the line
/// names it and the table, and that no version was committed.
#[track_caller]
fn refused(setup: &Crafted, args: &[&str], crafted: &str) {
    let versions = commit_paths(&setup.table).len();
    let message = tarn_err(args);
    assert!(
        message.contains(&format!("{crafted} is outside the table {}", setup.table())),
        "tarn {args:?}: {message}"
    );
    assert_eq!(commit_paths(&setup.table).len(), versions, "tarn {args:?}");
}

#[test]
fn every_command_that_reads_data_refuses_a_data_path_outside_the_table() {
    let setup = Crafted::new();
    let before = setup.outside_contents();
    let original = first_add(&setup.table, 0)["path"]
        .as_str()
        .unwrap()
        .to_owned();
    let outside = setup.outside.to_str().unwrap();
    let mut previous = original;
    for crafted in [
        format!("file://{outside}/victim.parquet"),
        format!("{outside}/victim.parquet"),
        format!("file://{}/../t2/victim.parquet", setup.table()),
    ] {
        rename_in_commit(&setup.table, 0, &previous, &crafted);
        previous = crafted.clone();
        let t = setup.table();
        refused(&setup, &["cat", t], &crafted);
        refused(&setup, &["files", t, "--where", "id >= 0"], &crafted);
        refused(&setup, &["delete", t, "--where", "id >= 0"], &crafted);
        refused(
            &setup,
            &["update", t, "--set", "id = id + 100", "--where", "id >= 0"],
            &crafted,
        );
        // Listing files reads none: the crafted path is listed as the log has it.
        assert!(tarn_ok(&["files", t]).contains(&crafted));
    }
    assert_eq!(setup.outside_contents(), before);
}

#[test]
fn restore_refuses_to_bring_back_a_file_outside_the_table() {
    let setup = Crafted::new();
    tarn_ok(&[
        "write",
        setup.table(),
        &setup.ws.file("third.ndjson", "{\"id\":20}\n"),
        "--mode",
        "overwrite",
    ]);
    let original = first_add(&setup.table, 0)["path"]
        .as_str()
        .unwrap()
        .to_owned();
    let crafted = format!("{}/victim.parquet", setup.outside.to_str().unwrap());
    rename_in_commit(&setup.table, 0, &original, &crafted);
    rename_in_commit(&setup.table, 2, &original, &crafted);
    refused(
        &setup,
        &["restore", setup.table(), "--version", "0"],
        &crafted,
    );
}

#[test]
fn a_deletion_vector_outside_the_table_is_refused() {
    let setup = Crafted::new();
    let mut actions = read_commit(&setup.table, 0);
    let crafted = format!("file://{}/dv.bin", setup.outside.to_str().unwrap());
    let add = actions.iter_mut().find_map(|a| a.get_mut("add")).unwrap();
    add["deletionVector"] = json!({
        "storageType": "p",
        "pathOrInlineDv": crafted,
        "offset": 1,
        "sizeInBytes": 36,
        "cardinality": 2,
    });
    write_commit(&setup.table, 0, &actions);
    refused(&setup, &["cat", setup.table()], &crafted);
    // A delete that must read the file (`id >= 0` would remove it whole, unread).
    refused(
        &setup,
        &["delete", setup.table(), "--where", "id = 3"],
        &crafted,
    );
    // Inside the table, the same file is read: rows 0 and 9 of the first file are deleted.
    std::fs::copy(setup.outside.join("dv.bin"), setup.table.join("dv.bin")).unwrap();
    let inside = format!("{}/dv.bin", setup.table());
    let add = actions.iter_mut().find_map(|a| a.get_mut("add")).unwrap();
    add["deletionVector"]["pathOrInlineDv"] = Value::from(inside);
    write_commit(&setup.table, 0, &actions);
    assert_eq!(ids(&setup.table, &[]), [1, 2, 3, 4, 5, 6, 7, 8, 10]);
}

/// A table whose data file (ids 1, 2, 3) was moved to `archive/` beside it and is named in
/// the log by its absolute URI.
fn archived() -> (Workspace, PathBuf, PathBuf) {
    let ws = Workspace::new();
    let table = PathBuf::from(ws.path("t"));
    let archive = PathBuf::from(ws.path("archive"));
    tarn_ok(&[
        "write",
        table.to_str().unwrap(),
        &ws.file("rows.ndjson", "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n"),
    ]);
    std::fs::create_dir(&archive).unwrap();
    let data = first_add(&table, 0)["path"].as_str().unwrap().to_owned();
    std::fs::rename(table.join(&data), archive.join("part.parquet")).unwrap();
    let absolute = format!("file://{}/part.parquet", archive.to_str().unwrap());
    rename_in_commit(&table, 0, &data, &absolute);
    (ws, table, archive)
}

#[test]
fn store_registers_a_second_root() {
    let (_ws, table, archive) = archived();
    let message = tarn_err(&["cat", table.to_str().unwrap()]);
    assert!(message.contains("is outside the table"), "{message}");
    let archive = archive.to_str().unwrap();
    assert_eq!(ids(&table, &["--store", archive]), [1, 2, 3]);
    // Global: before the command too, and with a trailing slash.
    let before = tarn_ok(&[
        "--store",
        &format!("{archive}/"),
        "cat",
        table.to_str().unwrap(),
        "--format",
        "ndjson",
    ]);
    assert_eq!(before.lines().count(), 3);
    // A local location takes no options: the one given is named.
    let message = tarn_err(&[
        "cat",
        table.to_str().unwrap(),
        "--store-option",
        archive,
        "aws_region=us-east-1",
    ]);
    assert!(
        message.contains("unknown storage option \"aws_region\""),
        "{message}"
    );
}

#[test]
fn a_declared_location_reads_without_flags_and_untrusted_refuses_it() {
    let (_ws, table, archive) = archived();
    let mut actions = read_commit(&table, 0);
    actions.push(json!({"domainMetadata": {
        "domain": "tarn.archive",
        "configuration": json!({"locations": [format!("file://{}/", archive.to_str().unwrap())]}).to_string(),
        "removed": false,
    }}));
    write_commit(&table, 0, &actions);
    assert_eq!(ids(&table, &[]), [1, 2, 3]);
    let message = tarn_err(&["cat", table.to_str().unwrap(), "--untrusted"]);
    assert!(message.contains("is outside the table"), "{message}");
    // Untrusted, an explicit registration still counts.
    assert_eq!(
        ids(
            &table,
            &["--untrusted", "--store", archive.to_str().unwrap()]
        ),
        [1, 2, 3]
    );
}

#[test]
fn an_unregistered_store_is_named_with_what_to_do() {
    let (_ws, table, _archive) = archived();
    let data = first_add(&table, 0)["path"].as_str().unwrap().to_owned();
    rename_in_commit(&table, 0, &data, "s3://archive-bucket/events/part.parquet");
    let message = tarn_err(&["cat", table.to_str().unwrap()]);
    assert!(
        message.starts_with(
            "s3://archive-bucket/events/part.parquet is on s3://archive-bucket, where no location is registered"
        ),
        "{message}"
    );
    assert!(message.contains("--store PREFIX"), "{message}");
}

#[test]
fn store_option_values_never_appear_in_errors() {
    let message = tarn_err(&[
        "cat",
        "/nonexistent/table",
        "--store-option",
        "s3://archive-bucket/",
        "aws_secret_access_key=SUPERSECRETVALUE",
        "--store-option",
        "s3://archive-bucket/",
        "no_such_option=x",
    ]);
    assert!(message.contains("no_such_option"), "{message}");
    assert!(!message.contains("SUPERSECRETVALUE"), "{message}");
    let message = tarn_err(&[
        "cat",
        "/nonexistent/table",
        "--store-option",
        "s3://archive-bucket/",
        "SUPERSECRETVALUE",
    ]);
    assert!(message.contains("not PREFIX KEY=VALUE"), "{message}");
    assert!(!message.contains("SUPERSECRETVALUE"), "{message}");
}
