//! The example table the repository ships (`examples/events`, written by delta-rs with a
//! delta-rs checkpoint at version 4), read at every version.
//!
//! delta-rs declares `add.path` non-nullable inside the nullable `add` struct of its
//! checkpoints, so rows of other actions carry empty-string paths rather than nulls; a reader
//! that looks only at `path` would invent files. This table guards against that.

use std::path::Path;

use tarn::Table;

use crate::common::block_on;

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/events")
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn every_version_of_the_example_table() {
    // (version, files, rows): three appends of 40 rows, a delete of the 14 `view` rows of
    // 2026-01-06 (one file rewritten), an update rewriting 2026-01-07, an append of 20.
    let expected = [
        (0, 1, 40),
        (1, 2, 80),
        (2, 3, 120),
        (3, 3, 106),
        (4, 3, 106),
        (5, 4, 126),
    ];
    block_on(async {
        let table = Table::open(&example()).await.unwrap();
        for (version, files, rows) in expected {
            let snapshot = table.snapshot_at_version(version).await.unwrap();
            assert_eq!(snapshot.version(), version);
            assert_eq!(snapshot.files().len(), files, "files at version {version}");
            assert_eq!(
                snapshot.files().num_records(),
                Some(rows),
                "rows at version {version}"
            );
            assert!(
                snapshot
                    .files()
                    .iter()
                    .all(|f| !f.path().is_empty() && f.size() > 0)
            );
            assert_eq!(snapshot.partition_columns(), ["day"]);
        }
        let latest = table.snapshot().await.unwrap();
        assert!(
            latest.segment().checkpoint.is_some(),
            "latest is read from the checkpoint"
        );
        let history = table.history(None).await.unwrap();
        let operations: Vec<_> = history
            .iter()
            .map(|h| {
                h.commit_info
                    .as_ref()
                    .and_then(|c| c.operation.clone())
                    .unwrap()
            })
            .collect();
        assert_eq!(
            operations,
            ["WRITE", "UPDATE", "DELETE", "WRITE", "WRITE", "WRITE"]
        );
    });
}
