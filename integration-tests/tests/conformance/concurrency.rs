//! Concurrent commits: writers racing to append to one table, each through its own handle.

use std::collections::BTreeSet;

use super::TestStore;
use super::data::{batch, objects, read, rows};

const WRITERS: i64 = 6;
const APPENDS: i64 = 3;

/// Six tasks, each with its own handle, append three batches each at once to a table created
/// beforehand: every append commits exactly once, the versions are 1..=18 with no gap or
/// duplicate, and the table holds exactly every row written.
pub async fn concurrent_appends(store: &TestStore) {
    let name = store.name;
    let uri = store.table_uri("concurrent-appends");
    let table = store.open(&uri).await;
    table
        .create()
        .with_arrow_schema(&super::data::schema())
        .unwrap()
        .partition_by(["part"])
        .execute()
        .await
        .unwrap();

    let mut handles = Vec::new();
    for writer in 0..WRITERS {
        let table = store.open(&uri).await;
        // Spawned, so that the writers run on the runtime's threads at once.
        handles.push(tokio::spawn(async move {
            let mut versions = Vec::new();
            for append in 0..APPENDS {
                let first = (writer * APPENDS + append) * 10;
                let summary = table
                    .write()
                    .execute_batches(vec![batch(first..first + 10)])
                    .await
                    .unwrap();
                versions.push(summary.version.unwrap());
            }
            versions
        }));
    }
    let mut committed = Vec::new();
    for handle in handles {
        committed.extend(handle.await.unwrap());
    }
    committed.sort_unstable();
    let expected: Vec<u64> = (1..=(WRITERS * APPENDS) as u64).collect();
    assert_eq!(committed, expected, "{name}: versions the writers got");

    let commits: BTreeSet<String> = objects(&table)
        .await
        .into_iter()
        .filter(|p| p.starts_with("_delta_log/") && p.ends_with(".json"))
        .collect();
    let expected_commits: BTreeSet<String> = (0..=(WRITERS * APPENDS) as u64)
        .map(|v| format!("_delta_log/{v:020}.json"))
        .collect();
    assert_eq!(commits, expected_commits, "{name}");
    let reopened = store.open(&uri).await;
    assert_eq!(
        reopened.snapshot().await.unwrap().version(),
        (WRITERS * APPENDS) as u64,
        "{name}"
    );
    assert_eq!(
        read(&reopened, None).await,
        rows(0..WRITERS * APPENDS * 10),
        "{name}"
    );
}
