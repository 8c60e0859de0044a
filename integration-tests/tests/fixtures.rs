//! The fixture suite: every table in `../shared/fixtures`, opened at its latest version and at
//! version 0, must agree with `expected/manifest.json` (written by other Delta readers).

use std::collections::BTreeMap;

use serde::Deserialize;
use tarn::protocol::schema::StructType;
use tarn::{Snapshot, Table};

use crate::common::{block_on, fixture_table, fixtures_dir};

#[derive(Debug, Deserialize)]
struct Expected {
    version: Option<u64>,
    min_reader_version: Option<i32>,
    min_writer_version: Option<i32>,
    reader_features: Option<Vec<String>>,
    writer_features: Option<Vec<String>>,
    partition_columns: Option<Vec<String>>,
    num_files: Option<usize>,
    num_rows: Option<i64>,
    schema: Option<String>,
    open_error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    latest: Expected,
    v0: Expected,
}

fn manifest() -> BTreeMap<String, Entry> {
    let text = std::fs::read_to_string(fixtures_dir().join("expected/manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn sorted(list: &Option<Vec<String>>) -> Option<Vec<String>> {
    list.clone().map(|mut l| {
        l.sort();
        l
    })
}

fn feature_names(
    features: &Option<Vec<tarn::protocol::features::TableFeature>>,
) -> Option<Vec<String>> {
    sorted(
        &features
            .as_ref()
            .map(|l| l.iter().map(|f| f.name().to_owned()).collect()),
    )
}

/// Compares one snapshot with its manifest entry; returns the mismatches.
fn compare(name: &str, which: &str, snapshot: &Snapshot, expected: &Expected) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |what: &str, ok: bool, detail: String| {
        if !ok {
            problems.push(format!("{name} {which}: {what}: {detail}"));
        }
    };
    let protocol = snapshot.protocol();
    if let Some(v) = expected.version {
        check(
            "version",
            snapshot.version() == v,
            format!("{} != {v}", snapshot.version()),
        );
    }
    if let Some(r) = expected.min_reader_version {
        check(
            "min_reader_version",
            protocol.min_reader_version == r,
            format!("{} != {r}", protocol.min_reader_version),
        );
    }
    if let Some(w) = expected.min_writer_version {
        check(
            "min_writer_version",
            protocol.min_writer_version == w,
            format!("{} != {w}", protocol.min_writer_version),
        );
    }
    let reader = feature_names(&protocol.reader_features);
    check(
        "reader_features",
        reader == sorted(&expected.reader_features),
        format!("{reader:?} != {:?}", expected.reader_features),
    );
    let writer = feature_names(&protocol.writer_features);
    check(
        "writer_features",
        writer == sorted(&expected.writer_features),
        format!("{writer:?} != {:?}", expected.writer_features),
    );
    if let Some(columns) = &expected.partition_columns {
        check(
            "partition_columns",
            snapshot.partition_columns() == columns.as_slice(),
            format!("{:?} != {columns:?}", snapshot.partition_columns()),
        );
    }
    if let Some(n) = expected.num_files {
        check(
            "num_files",
            snapshot.files().len() == n,
            format!("{} != {n}", snapshot.files().len()),
        );
    }
    if let (Some(rows), Some(expected_rows)) = (snapshot.files().num_records(), expected.num_rows) {
        check(
            "num_rows (from stats)",
            u64::try_from(expected_rows).is_ok_and(|expected| rows == expected),
            format!("{rows} != {expected_rows}"),
        );
    }
    if let Some(schema) = &expected.schema {
        let expected_schema = StructType::from_json(schema).unwrap();
        check(
            "schema",
            snapshot.schema() == &expected_schema,
            format!("{} != {}", snapshot.schema().to_json(), schema),
        );
    }
    problems
}

#[test]
fn every_fixture_matches_the_manifest_at_latest_and_version_zero() {
    let manifest = manifest();
    assert!(
        manifest.len() >= 40,
        "manifest has {} entries",
        manifest.len()
    );
    let mut problems = Vec::new();
    let mut checked = 0;
    block_on(async {
        for (name, entry) in &manifest {
            let path = fixture_table(name);
            let table = Table::open(path.to_str().unwrap()).await.unwrap();
            for (which, expected) in [("latest", &entry.latest), ("v0", &entry.v0)] {
                let result = match which {
                    "latest" => table.snapshot().await,
                    _ => table.snapshot_at_version(0).await,
                };
                match (result, &expected.open_error) {
                    (Ok(snapshot), None) => {
                        problems.extend(compare(name, which, &snapshot, expected));
                        checked += 1;
                    }
                    (Err(_), Some(_)) => checked += 1,
                    (Ok(snapshot), Some(reference_error)) => problems.push(format!(
                        "{name} {which}: opened at version {} but the reference reader failed: {reference_error}",
                        snapshot.version()
                    )),
                    (Err(err), None) => problems.push(format!("{name} {which}: {err}")),
                }
            }
        }
    });
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert_eq!(checked, manifest.len() * 2);
}
