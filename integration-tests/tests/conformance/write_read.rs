//! Create, write, read and time travel.

use super::TestStore;
use super::data::{batch, data_objects, objects, read, rows, schema};

/// Creates the partitioned table (version 0) and appends ids 0..10 and 10..20 (versions 1
/// and 2); returns its URI.
pub async fn create_with_two_appends(store: &TestStore, name: &str) -> String {
    let uri = store.table_uri(name);
    let table = store.open(&uri).await;
    let created = table
        .create()
        .with_arrow_schema(&schema())
        .unwrap()
        .partition_by(["part"])
        .execute()
        .await
        .unwrap();
    assert_eq!(created.version, Some(0), "{}", store.name);
    for (i, ids) in [0..10, 10..20].into_iter().enumerate() {
        let written = table
            .write()
            .execute_batches(vec![batch(ids)])
            .await
            .unwrap();
        assert_eq!(written.version, Some(i as u64 + 1), "{}", store.name);
        assert_eq!(written.rows_written, 10, "{}", store.name);
        // One file per partition.
        assert_eq!(written.files_added, 2, "{}", store.name);
    }
    uri
}

/// A table created and written through one handle reads the same through a new one: schema,
/// partitioning, rows, files, history; its objects are where the log says.
pub async fn create_write_read(store: &TestStore) {
    let uri = create_with_two_appends(store, "create-write-read").await;
    let table = store.open(&uri).await;
    let snapshot = table.snapshot().await.unwrap();
    assert_eq!(snapshot.version(), 2, "{}", store.name);
    assert_eq!(snapshot.num_files(), 4, "{}", store.name);
    assert_eq!(snapshot.partition_columns(), ["part"], "{}", store.name);
    assert_eq!(read(&table, None).await, rows(0..20), "{}", store.name);

    let objects = objects(&table).await;
    for version in 0..=2 {
        let commit = format!("_delta_log/{version:020}.json");
        assert!(
            objects.contains(&commit),
            "{}: no {commit} in {objects:?}",
            store.name
        );
    }
    let data = data_objects(&table).await;
    assert_eq!(data.len(), 4, "{}: {data:?}", store.name);
    assert!(
        data.iter()
            .all(|path| path.starts_with("part=a/") || path.starts_with("part=b/")),
        "{}: {data:?}",
        store.name
    );

    let history = table.history(None).await.unwrap();
    let operations: Vec<(u64, Option<String>)> = history
        .iter()
        .map(|entry| {
            let operation = entry.commit_info.as_ref().and_then(|c| c.operation.clone());
            (entry.version, operation)
        })
        .collect();
    assert_eq!(
        operations,
        [
            (2, Some("WRITE".to_owned())),
            (1, Some("WRITE".to_owned())),
            (0, Some("CREATE TABLE".to_owned())),
        ],
        "{}",
        store.name
    );
}

/// Every version reads as it was committed, by version and by timestamp, through a new
/// handle; a version past the latest is an error naming it.
pub async fn time_travel(store: &TestStore) {
    let uri = create_with_two_appends(store, "time-travel").await;
    let table = store.open(&uri).await;
    let expected = [rows(0..0), rows(0..10), rows(0..20)];
    for (version, expected) in expected.iter().enumerate() {
        let version = version as u64;
        assert_eq!(
            &read(&table, Some(version)).await,
            expected,
            "{}: v{version}",
            store.name
        );
        let at = table.version_timestamp(version).await.unwrap().unwrap();
        let snapshot = table.snapshot_at_timestamp(at).await.unwrap();
        assert_eq!(snapshot.version(), version, "{}: at {at}", store.name);
    }
    let before = table.version_timestamp(0).await.unwrap().unwrap() - chrono::Duration::hours(1);
    assert!(
        table.snapshot_at_timestamp(before).await.is_err(),
        "{}",
        store.name
    );
    let err = table.snapshot_at_version(3).await.unwrap_err().to_string();
    assert!(err.contains('3'), "{}: {err}", store.name);
}
