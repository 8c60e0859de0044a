//! Helpers shared by the test modules.

pub mod azure;
pub mod delta_table;
pub mod every_type;
pub mod fault_store;
pub mod gate_store;
pub mod gcs;
pub mod python;
pub mod recording_store;
pub mod rows;
pub mod s3;
pub mod sample_table;
pub mod variants;
pub mod writes;

use std::path::{Path, PathBuf};
use std::process::Command;

/// A variable `tools/test.sh` exports for an emulator it started (`what`, exporting `all`).
/// Missing or empty, the test fails naming the script: a cloud test never passes by skipping.
pub fn emulator_env(name: &str, what: &str, all: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => panic!(
            "{name} is not set: run tools/test.sh, which starts {what} on 127.0.0.1 and \
             exports {all} (tools/emulators.sh starts it for a manual session)"
        ),
    }
}

/// An emulator's URL from `name`, which must be `http://127.0.0.1:PORT`: tests may reach
/// nothing else.
pub fn emulator_url(name: &str, what: &str, all: &str) -> String {
    let url = emulator_env(name, what, all);
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "{name}={url}: tests may only reach 127.0.0.1"
    );
    url.trim_end_matches('/').to_owned()
}

/// `<name>-<pid>-<nanos>-<counter>`: unique per call within a run and across runs sharing an
/// emulator, so tests never see each other's objects.
pub fn unique_name(name: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{name}-{}-{nanos}-{n}", std::process::id())
}

/// The shared fixture tables: `../shared/fixtures` from the repository root.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")
}

/// Path of one fixture table.
pub fn fixture_table(name: &str) -> PathBuf {
    fixtures_dir().join("tables").join(name)
}

/// Copies a directory tree (a fixture table) into `dest`.
pub fn copy_dir(src: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let target = dest.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of a fixture table in a fresh temporary directory.
pub fn fixture_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join(name);
    copy_dir(&fixture_table(name), &table);
    (dir, table)
}

/// Runs a future on a fresh multi-threaded runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// Makes every file and directory under `path` writable by its owner: the fixture files are
/// read-only and [`copy_dir`] keeps their permissions, so a test that damages or touches a copy
/// must call this first.
pub fn make_writable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).unwrap();
    let mut permissions = meta.permissions();
    permissions.set_mode(permissions.mode() | 0o200);
    std::fs::set_permissions(path, permissions).unwrap();
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            make_writable(&entry.unwrap().path());
        }
    }
}

/// A writable copy of a fixture table in a fresh temporary directory.
pub fn writable_fixture_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let (dir, table) = fixture_copy(name);
    make_writable(&table);
    (dir, table)
}

/// The `_delta_log` directory of a table.
pub fn delta_log(table: &Path) -> PathBuf {
    table.join("_delta_log")
}

/// The commit file of `version` of a table.
pub fn commit_path(table: &Path, version: u64) -> PathBuf {
    delta_log(table).join(format!("{version:020}.json"))
}

/// Sets a file's modification time (the file must be writable).
pub fn set_mtime(path: &Path, time: std::time::SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

/// The versions of the commit files in a table's `_delta_log`, ascending.
pub fn commit_versions(table: &Path) -> Vec<u64> {
    let mut versions: Vec<u64> = std::fs::read_dir(delta_log(table))
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().into_string().ok()?;
            let stem = name.strip_suffix(".json")?;
            (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()))
                .then(|| stem.parse().unwrap())
        })
        .collect();
    versions.sort_unstable();
    versions
}

/// The path of a table as the `&str` `Table::open` takes.
pub fn uri(table: &Path) -> &str {
    table.to_str().unwrap()
}

/// The `streaming_writer` example binary beside this test binary
/// (`target/<profile>/examples/`). `tools/test.sh` builds every target before the tests; when
/// it is missing (a run of this test binary alone), it is built here with cargo.
pub fn streaming_writer() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps");
    let binary = profile_dir.join("examples/streaming_writer");
    if binary.exists() {
        return binary;
    }
    let profile = profile_dir
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "-p", "tarn", "--example", "streaming_writer"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap());
    match profile.as_str() {
        "debug" => {}
        "release" => {
            build.arg("--release");
        }
        other => {
            build.args(["--profile", other]);
        }
    }
    let status = build.status().unwrap_or_else(|e| {
        panic!(
            "{} is missing and cargo cannot run ({e}): build it with \
             `cargo build -p tarn --example streaming_writer`",
            binary.display()
        )
    });
    assert!(
        status.success() && binary.exists(),
        "cargo build -p tarn --example streaming_writer failed"
    );
    binary
}
