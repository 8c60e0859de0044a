//! Many processes appending to one table at once, on each writable store (local disk, S3
//! through moto, Azure Blob through azurite): 8 writers, each a
//! sequence of 20 `tarn write` processes, start together on a path where no table exists
//! yet. Afterwards the versions are contiguous (one commit per append, the first creating
//! the table), every row is there exactly once, each append's transaction id appears in
//! exactly one commit, and no writer gave up.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use support::*;

const WRITERS: usize = 8;
const APPENDS: usize = 20;
const ROWS: usize = 5;

/// `-o KEY=VALUE` arguments for a store.
fn option_args(options: &BTreeMap<String, String>) -> Vec<String> {
    options
        .iter()
        .flat_map(|(k, v)| ["-o".to_owned(), format!("{k}={v}")])
        .collect()
}

fn run_writers(table: &str, options: &BTreeMap<String, String>, inputs: &std::path::Path) {
    let handles: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let table = table.to_owned();
            let options = option_args(options);
            let inputs = inputs.to_owned();
            std::thread::spawn(move || {
                for append in 0..APPENDS {
                    let csv = inputs.join(format!("w{writer}-a{append}.csv"));
                    let mut text = String::from("id,writer\n");
                    for row in 0..ROWS {
                        let id = (writer * APPENDS + append) * ROWS + row;
                        text.push_str(&format!("{id},{writer}\n"));
                    }
                    std::fs::write(&csv, text).unwrap();
                    let output = Command::new(env!("CARGO_BIN_EXE_tarn"))
                        .arg("write")
                        .arg(&table)
                        .arg(&csv)
                        .args(["--txn", &format!("writer-{writer}:{append}")])
                        .args(&options)
                        .output()
                        .unwrap();
                    assert!(
                        output.status.success(),
                        "writer {writer}, append {append} gave up: {}",
                        String::from_utf8_lossy(&output.stderr)
                    );
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

fn check_table(table: &str, options: &BTreeMap<String, String>) {
    let mut args = vec!["history".to_owned(), table.to_owned(), "--json".to_owned()];
    args.extend(option_args(options));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let history = tarn_json(&args);
    let mut versions: Vec<u64> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["version"].as_u64().unwrap())
        .collect();
    versions.sort_unstable();
    let commits = (WRITERS * APPENDS) as u64;
    assert_eq!(versions, (0..commits).collect::<Vec<u64>>(), "versions");
    // Each append's transaction id is in exactly one commit.
    let mut txns: BTreeMap<String, usize> = BTreeMap::new();
    for entry in history.as_array().unwrap() {
        let operation = entry["operation"].as_str().unwrap_or_default();
        assert!(
            operation == "WRITE" || operation == "CREATE TABLE",
            "unexpected operation {operation}"
        );
        let parameters = &entry["operationParameters"];
        if let (Some(app), Some(version)) = (
            parameters["txnAppId"].as_str(),
            parameters["txnVersion"].as_str(),
        ) {
            *txns.entry(format!("{app}:{version}")).or_default() += 1;
        }
    }
    let mut cat = vec![
        "cat".to_owned(),
        table.to_owned(),
        "--format".to_owned(),
        "csv".to_owned(),
    ];
    cat.extend(option_args(options));
    let cat: Vec<&str> = cat.iter().map(String::as_str).collect();
    let text = tarn_ok(&cat);
    let mut ids: Vec<usize> = text
        .lines()
        .skip(1)
        .map(|line| line.split(',').next().unwrap().parse().unwrap())
        .collect();
    ids.sort_unstable();
    let unique: BTreeSet<usize> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "duplicated rows");
    assert_eq!(
        ids,
        (0..WRITERS * APPENDS * ROWS).collect::<Vec<usize>>(),
        "rows"
    );
    assert_eq!(
        txns.len(),
        WRITERS * APPENDS,
        "every append's transaction once"
    );
    for (txn, count) in txns {
        assert_eq!(count, 1, "{txn} committed {count} times");
    }
}

#[test]
fn eight_writer_processes_on_local_disk() {
    let ws = Workspace::new();
    let inputs = tempfile::tempdir().unwrap();
    let table = ws.path("t");
    run_writers(&table, &BTreeMap::new(), inputs.path());
    check_table(&table, &BTreeMap::new());
}

/// The moto S3 emulator `tools/test.sh` starts on 127.0.0.1, with every option explicit so
/// that object_store never looks for cloud credentials.
fn s3() -> (String, BTreeMap<String, String>) {
    let env = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run tools/test.sh, which starts the moto S3 emulator")
        })
    };
    let endpoint = env("TARN_TEST_S3_ENDPOINT");
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let uri = format!("s3://{}/concurrency-{nanos}", env("TARN_TEST_S3_BUCKET"));
    let options = [
        ("aws_endpoint", endpoint),
        ("allow_http", "true".to_owned()),
        ("aws_access_key_id", "test".to_owned()),
        ("aws_secret_access_key", "test".to_owned()),
        ("aws_region", "us-east-1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    (uri, options)
}

#[test]
fn eight_writer_processes_on_s3() {
    let (table, options) = s3();
    let inputs = tempfile::tempdir().unwrap();
    run_writers(&table, &options, inputs.path());
    check_table(&table, &options);
}

/// The azurite emulator `tools/test.sh` starts on 127.0.0.1: emulator mode, its well-known
/// development account and key, all explicit.
fn azure() -> (String, BTreeMap<String, String>) {
    let env = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run tools/test.sh, which starts the azurite emulator")
        })
    };
    let url = env("TARN_TEST_AZURE_URL");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(
        env("AZURITE_BLOB_STORAGE_URL"),
        url,
        "object_store must reach azurite"
    );
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let uri = format!(
        "az://{}/concurrency-{nanos}",
        env("TARN_TEST_AZURE_CONTAINER")
    );
    let options = [
        ("azure_storage_use_emulator", "true"),
        ("azure_storage_account_name", "devstoreaccount1"),
        (
            "azure_storage_account_key",
            "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    (uri, options)
}

#[test]
fn eight_writer_processes_on_azure() {
    let (table, options) = azure();
    let inputs = tempfile::tempdir().unwrap();
    run_writers(&table, &options, inputs.path());
    check_table(&table, &options);
}
