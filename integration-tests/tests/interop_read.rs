//! Interop, reads: tarn and delta-rs (the Python `deltalake` reader, see `common::python`)
//! must see the same version, schema and rows — on the fixture tables both can read, and on a
//! table delta-rs writes itself (every type, partitions that need escaping, a delete, a
//! checkpoint, a commit after the checkpoint), at every version.

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use futures::TryStreamExt;
use serde_json::{Value, json};
use tarn::Table;

use crate::common::python::{
    canonical_rows, read_with_delta_rs, rows_difference, rows_of, schema_pairs,
    try_read_many_with_delta_rs, write_with_delta_rs,
};
use crate::common::{block_on, fixture_table, fixtures_dir, uri};

/// Fixture tables left out of the comparison, and why.
const NOT_COMPARED: &[(&str, &str)] = &[
    (
        "COVID-19_NYT",
        "1.1 million rows: too many to pass through JSON in a test; the scan suite compares it",
    ),
    (
        "table_with_column_mapping",
        "delta-rs 1.6.6 ignores column mapping on this table and returns `Super Name` as all \
         nulls; the data files hold the names under the physical column (the scan suite checks \
         tarn's reading against the files themselves)",
    ),
];

/// Tables above this many rows are left out (see COVID-19_NYT); none other is this large.
const MAX_ROWS: u64 = 10_000;

/// A snapshot of `uri` (latest or at `version`) scanned in full.
async fn scan(uri: &str, version: Option<u64>) -> tarn::Result<(u64, Value, Vec<RecordBatch>)> {
    let table = Table::open(uri).await?;
    let snapshot = match version {
        Some(v) => table.snapshot_at_version(v).await?,
        None => table.snapshot().await?,
    };
    let schema = schema_pairs(snapshot.schema());
    let batches = snapshot
        .scan()
        .build()
        .await?
        .execute()
        .try_collect()
        .await?;
    Ok((snapshot.version(), schema, batches))
}

/// Compares tarn's reading of a table with delta-rs's canonical one; describes the first
/// difference.
fn compare(what: &str, tarn: &(u64, Value, Vec<RecordBatch>), delta_rs: &Value) -> Option<String> {
    let (version, schema, batches) = tarn;
    if json!(version) != delta_rs["version"] {
        return Some(format!(
            "{what}: tarn read version {version}, delta-rs {}",
            delta_rs["version"]
        ));
    }
    if schema != &delta_rs["schema"] {
        return Some(format!(
            "{what}: tarn's schema {schema}, delta-rs's {}",
            delta_rs["schema"]
        ));
    }
    rows_difference(&canonical_rows(batches), &rows_of(delta_rs), what)
}

/// The fixtures delta-rs reads (no `read_error` in the manifest), at their latest version and
/// at version 0.
fn readable_fixtures() -> Vec<(String, Option<u64>)> {
    let text = std::fs::read_to_string(fixtures_dir().join("expected/manifest.json")).unwrap();
    let manifest: BTreeMap<String, Value> = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for (name, entry) in manifest {
        if NOT_COMPARED.iter().any(|(n, _)| *n == name) {
            continue;
        }
        for (which, version) in [("latest", None), ("v0", Some(0))] {
            let expected = &entry[which];
            let readable = expected.get("read_error").is_none_or(Value::is_null)
                && expected.get("version").is_some_and(|v| !v.is_null())
                && expected["num_rows"].as_u64().is_some_and(|n| n <= MAX_ROWS);
            if readable && (version.is_none() || expected["version"] == json!(0)) {
                out.push((name.clone(), version));
            }
        }
    }
    out
}

#[test]
fn fixtures_read_the_same_with_tarn_and_delta_rs() {
    let fixtures = readable_fixtures();
    let requests: Vec<(String, Option<i64>)> = fixtures
        .iter()
        .map(|(name, version)| {
            (
                uri(&fixture_table(name)).to_owned(),
                version.map(|v| i64::try_from(v).unwrap()),
            )
        })
        .collect();
    let from_delta_rs = try_read_many_with_delta_rs(&requests);
    let mut problems = Vec::new();
    let mut compared = 0;
    block_on(async {
        for ((name, version), delta_rs) in fixtures.iter().zip(from_delta_rs) {
            let what = format!(
                "{name} at {}",
                version.map_or("latest".to_owned(), |v| format!("v{v}"))
            );
            let delta_rs = match delta_rs {
                Ok(table) => table,
                Err(error) => {
                    problems.push(format!("{what}: delta-rs failed: {error}"));
                    continue;
                }
            };
            match scan(uri(&fixture_table(name)), *version).await {
                Ok(tarn) => match compare(&what, &tarn, &delta_rs) {
                    Some(problem) => problems.push(problem),
                    None => compared += 1,
                },
                Err(err) => problems.push(format!("{what}: tarn failed: {err}")),
            }
        }
    });
    assert!(
        problems.is_empty(),
        "{} of {} readings differ:\n{}",
        problems.len(),
        fixtures.len(),
        problems.join("\n")
    );
    assert!(
        compared >= 40,
        "only {compared} readings compared: the manifest lost entries"
    );
}

#[test]
fn table_written_by_delta_rs_reads_exactly_at_every_version() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("written-by-delta-rs");
    let written = write_with_delta_rs(uri(&table), &BTreeMap::new());
    let versions = written["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 4, "write_table.py writes versions 0 to 3");
    assert!(
        table
            .join("_delta_log/00000000000000000002.checkpoint.parquet")
            .exists(),
        "delta-rs wrote no checkpoint"
    );
    let mut problems = Vec::new();
    block_on(async {
        for (v, expected) in versions.iter().enumerate() {
            let version = Some(u64::try_from(v).unwrap());
            match scan(uri(&table), version).await {
                Ok(tarn) => problems.extend(compare(&format!("v{v}"), &tarn, expected)),
                Err(err) => problems.push(format!("v{v}: tarn failed: {err}")),
            }
        }
        match scan(uri(&table), None).await {
            Ok(tarn) => problems.extend(compare("latest", &tarn, &versions[3])),
            Err(err) => problems.push(format!("latest: tarn failed: {err}")),
        }
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn one_table_at_one_version_reads_the_same() {
    // The single-table path of the reader script (the fixture sweep uses its batch mode).
    let table = fixture_table("simple_table");
    let delta_rs = read_with_delta_rs(uri(&table), Some(2));
    assert_eq!(delta_rs["version"], json!(2));
    let tarn = block_on(scan(uri(&table), Some(2))).unwrap();
    assert_eq!(compare("simple_table at v2", &tarn, &delta_rs), None);
    assert!(!rows_of(&delta_rs).is_empty());
}
