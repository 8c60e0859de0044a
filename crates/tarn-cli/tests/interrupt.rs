//! Ctrl-C and SIGTERM halfway: a write commits nothing and leaves no data file (nor an empty
//! partition directory) behind; `cat --output` leaves no temporary file and the file it was
//! to replace untouched. Each test waits until the command has visibly started its work (a
//! data file or the temporary output exists) before signalling it.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// A CSV of `rows` rows over 28 days.
fn big_csv(path: &Path, rows: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "id,day,v").unwrap();
    for i in 0..rows {
        // Values that do not compress away, so that files fill while the write goes on.
        let v = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
        writeln!(out, "{i},2026-01-{:02},{v}.5", i % 28 + 1).unwrap();
    }
    out.flush().unwrap();
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tarn"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Files under `dir` whose name satisfies `pick`.
fn files_under(dir: &Path, pick: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path, pick));
        } else if pick(&entry.file_name().to_string_lossy()) {
            out.push(path.display().to_string());
        }
    }
    out
}

/// Waits (up to two minutes) until `ready` holds, failing if the child exits first.
fn wait_until(child: &mut Child, what: &str, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the command ended ({status}) before {what}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{what} did not happen within two minutes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn is_parquet(name: &str) -> bool {
    name.ends_with(".parquet")
}

#[test]
fn an_interrupted_write_commits_nothing_and_leaves_nothing() {
    let ws = Workspace::new();
    let input = ws.path("big.csv");
    big_csv(Path::new(&input), 1_500_000);
    // The input interleaves 28 days: a partition's file is written whole when it reaches the
    // target size or at the end, so a small target makes files finish (and land on disk)
    // while the write goes on.
    let target = "delta.targetFileSize=65536";
    for (signal_name, code, creating) in [("INT", 130, true), ("TERM", 143, false)] {
        let table = ws.path(&format!("t-{signal_name}"));
        if !creating {
            tarn_ok(&[
                "create",
                &table,
                "--schema",
                r#"{"id": "long", "day": "date", "v": "double"}"#,
                "--partition-by",
                "day",
                "--property",
                target,
            ]);
        }
        let mut args = vec!["write", &table, &input, "--partition-by", "day"];
        if creating {
            args.extend(["--property", target]);
        }
        let mut child = spawn(&args);
        wait_until(&mut child, "a data file was written", || {
            !files_under(Path::new(&table), &is_parquet).is_empty()
        });
        signal(&child, signal_name);
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{signal_name}: {stderr}");
        assert!(
            stderr.contains("nothing was committed"),
            "{signal_name}: {stderr}"
        );
        let left = files_under(Path::new(&table), &|_| true);
        let log: Vec<&String> = left.iter().filter(|f| f.contains("_delta_log")).collect();
        assert_eq!(left.len(), log.len(), "{signal_name}: files left: {left:?}");
        // No empty partition directory either: only `_delta_log` (when the table existed).
        let dirs: Vec<String> = std::fs::read_dir(&table)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        if creating {
            assert!(dirs.is_empty(), "{dirs:?}");
        } else {
            assert_eq!(dirs, ["_delta_log"]);
            assert_eq!(describe(&table)["version"], 0);
        }
    }
}

#[test]
fn an_interrupted_cat_output_leaves_no_temporary_file() {
    let ws = Workspace::new();
    let input = ws.path("big.csv");
    big_csv(Path::new(&input), 1_000_000);
    let table = ws.path("t");
    tarn_ok(&["write", &table, &input]);
    let out_dir = ws.path("out");
    std::fs::create_dir(&out_dir).unwrap();
    let target = format!("{out_dir}/rows.csv");
    std::fs::write(&target, "previous contents").unwrap();
    let mut child = spawn(&["cat", &table, "--format", "csv", "--output", &target]);
    wait_until(&mut child, "the temporary output grew", || {
        files_under(Path::new(&out_dir), &|name| name.ends_with(".tmp"))
            .iter()
            .any(|f| std::fs::metadata(f).is_ok_and(|m| m.len() > 0))
    });
    signal(&child, "INT");
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let left = files_under(Path::new(&out_dir), &|_| true);
    assert_eq!(left, std::slice::from_ref(&target));
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "previous contents"
    );
}
