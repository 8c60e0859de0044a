//! The read half of the suite: the write half builds a table on local disk (appends, a
//! delete, an update, a checkpoint, a compaction), the table is copied to the store, and every
//! read over the store must answer as the local table does. It is all GCS runs: fake-gcs-server
//! cannot take object_store's writes, so the copy goes through the emulator's JSON API there,
//! and through object_store everywhere else.

use tarn::{Expr, Table};
use tarn_maintenance::optimize::Optimize;

use super::TestStore;
use super::data::{assert_healthy, batch, data_objects, read};
use crate::common::unique_name;

/// Versions 0..=6 on local disk: create, two appends, a delete, an update, a checkpoint at
/// version 4, a compaction (5) and an append (6), at `path` under `local`.
async fn write_reference_table(local: &TestStore, path: &str) -> Table {
    let uri = local.uri_of(path);
    let table = local.open(&uri).await;
    table
        .create()
        .with_arrow_schema(&super::data::schema())
        .unwrap()
        .partition_by(["part"])
        .execute()
        .await
        .unwrap();
    for ids in [0..10, 10..20] {
        table
            .write()
            .execute_batches(vec![batch(ids)])
            .await
            .unwrap();
    }
    table
        .delete()
        .with_predicate(Expr::parse("id < 5").unwrap())
        .execute()
        .await
        .unwrap();
    table
        .update()
        .with_predicate(Expr::parse("part = 'a'").unwrap())
        .set_sql("value = value + 100")
        .unwrap()
        .execute()
        .await
        .unwrap();
    table.checkpoint().execute().await.unwrap();
    Optimize::new(table.clone()).execute().await.unwrap();
    table
        .write()
        .execute_batches(vec![batch(20..30)])
        .await
        .unwrap();
    assert_eq!(table.snapshot().await.unwrap().version(), 6);
    table
}

/// Everything the suite reads, over `actual`, answers as over `expected`: the latest version,
/// every version's rows, the history's operations, the data files, time travel by timestamp
/// (against `actual`'s own timestamps: they come from its objects' times), and a healthy
/// check.
pub async fn assert_reads_like(name: &str, expected: &Table, actual: &Table) {
    let latest = expected.snapshot().await.unwrap().version();
    let snapshot = actual.snapshot().await.unwrap();
    assert_eq!(snapshot.version(), latest, "{name}");
    assert_eq!(
        snapshot.num_files(),
        expected.snapshot().await.unwrap().num_files(),
        "{name}"
    );
    for version in 0..=latest {
        assert_eq!(
            read(actual, Some(version)).await,
            read(expected, Some(version)).await,
            "{name}: v{version}"
        );
        let at = actual.version_timestamp(version).await.unwrap().unwrap();
        assert_eq!(
            actual.snapshot_at_timestamp(at).await.unwrap().version(),
            version,
            "{name}: at {at}"
        );
    }
    let operations = |history: Vec<tarn::log::CommitEntry>| -> Vec<(u64, Option<String>)> {
        history
            .into_iter()
            .map(|e| (e.version, e.commit_info.and_then(|c| c.operation)))
            .collect()
    };
    assert_eq!(
        operations(actual.history(None).await.unwrap()),
        operations(expected.history(None).await.unwrap()),
        "{name}"
    );
    assert_eq!(
        data_objects(actual).await,
        data_objects(expected).await,
        "{name}"
    );
    assert_healthy(name, actual).await;
}

/// A table written on local disk and copied to `store` ([`TestStore::upload_dir`]) reads
/// there exactly as it does locally.
pub async fn reference_table_reads_the_same(store: &TestStore) {
    let local = TestStore::local();
    let path = unique_name("reference");
    let expected = write_reference_table(&local, &path).await;
    let uploaded = store
        .upload_dir(std::path::Path::new(&local.uri_of(&path)), &path)
        .await;
    assert!(
        uploaded >= 10,
        "{}: {uploaded} objects uploaded",
        store.name
    );
    let actual = store.open(&store.uri_of(&path)).await;
    assert_reads_like(store.name, &expected, &actual).await;
}
