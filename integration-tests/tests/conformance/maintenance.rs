//! Optimize (compaction), vacuum, checkpoint, log cleanup and `tarn check`, each through
//! `tarn_maintenance` as a maintenance job runs it.

use std::collections::BTreeSet;

use tarn_maintenance::cleanup::LogCleanup;
use tarn_maintenance::optimize::Optimize;
use tarn_maintenance::vacuum::{DeletionReason, Vacuum};

use super::TestStore;
use super::data::{active_files, assert_healthy, batch, data_objects, objects, read, rows};
use super::write_read::create_with_two_appends;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Compacts four appends (eight files, two partitions) into two files, then vacuums with a
/// retention of 0 (forced): exactly the eight compacted files go, the latest rows stay, the
/// table is healthy, and a version that needed the deleted files no longer reads.
pub async fn optimize_then_vacuum(store: &TestStore) {
    let name = store.name;
    let uri = create_with_two_appends(store, "optimize-vacuum").await;
    let table = store.open(&uri).await;
    for ids in [20..30, 30..40] {
        table
            .write()
            .execute_batches(vec![batch(ids)])
            .await
            .unwrap();
    }
    let before = data_objects(&table).await;
    assert_eq!(before.len(), 8, "{name}: {before:?}");

    let metrics = Optimize::new(table.clone()).execute().await.unwrap();
    assert_eq!(
        (metrics.files_removed, metrics.files_added, metrics.rows),
        (8, 2, 40),
        "{name}: {metrics:?}"
    );
    assert_eq!(metrics.versions, [5], "{name}: {metrics:?}");
    let reopened = store.open(&uri).await;
    assert_eq!(read(&reopened, None).await, rows(0..40), "{name}");
    assert_eq!(reopened.snapshot().await.unwrap().num_files(), 2, "{name}");
    let active = active_files(&reopened).await;
    let compacted: BTreeSet<String> = before.difference(&active).cloned().collect();
    assert_eq!(compacted, before, "{name}: compaction rewrote every file");

    // Orphans are never younger than an hour when deleted, so none of these can be one: only
    // the tombstoned files are candidates.
    let vacuum = Vacuum::new(reopened.clone())
        .with_retention_ms(0)
        .with_force(true);
    let plan = vacuum.plan().await.unwrap();
    let planned: BTreeSet<String> = plan.deletions.iter().map(|d| d.path.clone()).collect();
    assert_eq!(planned, compacted, "{name}: {plan:?}");
    assert!(
        plan.deletions
            .iter()
            .all(|d| d.reason == DeletionReason::Expired),
        "{name}: {plan:?}"
    );
    let metrics = vacuum.execute_plan(plan).await.unwrap();
    assert_eq!(metrics.files_deleted, 8, "{name}: {metrics:?}");

    let reopened = store.open(&uri).await;
    assert_eq!(data_objects(&reopened).await, active, "{name}");
    assert_eq!(read(&reopened, None).await, rows(0..40), "{name}");
    assert_healthy(name, &reopened).await;
    // Version 4 needs the deleted files: reading it fails now (its log is still there).
    let snapshot = reopened.snapshot_at_version(4).await.unwrap();
    let scan = snapshot.scan().build().await.unwrap();
    let result: Result<Vec<_>, _> =
        futures::TryStreamExt::try_collect::<Vec<_>>(scan.execute()).await;
    assert!(result.is_err(), "{name}: version 4 read after vacuum");
}

/// A checkpoint is written at version 4 and a new handle reads through it; with a log
/// retention of one day, a cleanup planned two days from now keeps the checkpoint and
/// everything after it and deletes the commits before it: the latest version and every one
/// from the checkpoint on still read, older ones are gone.
pub async fn checkpoint_and_log_cleanup(store: &TestStore) {
    let name = store.name;
    let uri = store.table_uri("checkpoint-cleanup");
    let table = store.open(&uri).await;
    for (i, ids) in [0..5, 5..10, 10..15, 15..20, 20..25]
        .into_iter()
        .enumerate()
    {
        let mut write = table.write();
        if i == 0 {
            write = write
                .with_partition_columns(["part"])
                .with_property("delta.logRetentionDuration", "interval 1 day")
                .with_property("delta.checkpointInterval", "1000");
        }
        write.execute_batches(vec![batch(ids)]).await.unwrap();
    }
    let checkpoint = table.checkpoint().execute().await.unwrap();
    assert_eq!(checkpoint.version, 4, "{name}: {checkpoint:?}");
    let log = objects(&table).await;
    for expected in [
        format!("_delta_log/{:020}.checkpoint.parquet", 4),
        "_delta_log/_last_checkpoint".to_owned(),
    ] {
        assert!(log.contains(&expected), "{name}: no {expected} in {log:?}");
    }
    let reopened = store.open(&uri).await;
    assert_eq!(
        reopened
            .snapshot()
            .await
            .unwrap()
            .log_snapshot()
            .segment()
            .checkpoint
            .as_ref()
            .map(|c| c.version),
        Some(4),
        "{name}"
    );
    assert_eq!(read(&reopened, None).await, rows(0..25), "{name}");

    for ids in [25..30, 30..35] {
        table
            .write()
            .execute_batches(vec![batch(ids)])
            .await
            .unwrap();
    }
    let cleanup = LogCleanup::new(table.clone())
        .with_now_ms(chrono::Utc::now().timestamp_millis() + 2 * DAY_MS);
    let plan = cleanup.plan().await.unwrap();
    assert_eq!(plan.oldest_kept, Some(6), "{name}: {plan:?}");
    // The checkpoint at 4 is close enough to 6 to start from: none is written.
    assert_eq!(
        (plan.write_checkpoint, plan.keep_from_checkpoint),
        (None, Some(4)),
        "{name}: {plan:?}"
    );
    let deleted: Vec<u64> = plan.deletions.iter().map(|d| d.version).collect();
    assert_eq!(deleted, [0, 1, 2, 3], "{name}: {plan:?}");
    let metrics = cleanup.execute_plan(plan).await.unwrap();
    assert_eq!(metrics.files_deleted, 4, "{name}: {metrics:?}");

    let reopened = store.open(&uri).await;
    let log: Vec<String> = objects(&reopened)
        .await
        .into_iter()
        .filter(|p| p.starts_with("_delta_log/0"))
        .collect();
    let expected: Vec<String> = [
        format!("_delta_log/{:020}.checkpoint.parquet", 4),
        format!("_delta_log/{:020}.json", 4),
        format!("_delta_log/{:020}.json", 5),
        format!("_delta_log/{:020}.json", 6),
    ]
    .into();
    assert_eq!(log, expected, "{name}");
    assert_eq!(read(&reopened, None).await, rows(0..35), "{name}");
    assert_eq!(read(&reopened, Some(4)).await, rows(0..25), "{name}");
    let gone = reopened
        .snapshot_at_version(3)
        .await
        .unwrap_err()
        .to_string();
    assert!(gone.contains('3'), "{name}: {gone}");
    assert_healthy(name, &reopened).await;
}

/// `tarn check` on a table with a delete and an update behind it: healthy, every active file
/// checked, nothing counted as damage.
pub async fn check_healthy(store: &TestStore) {
    let name = store.name;
    let uri = create_with_two_appends(store, "check").await;
    let table = store.open(&uri).await;
    table
        .delete()
        .with_predicate(tarn::Expr::parse("id = 3").unwrap())
        .execute()
        .await
        .unwrap();
    let report = tarn_maintenance::check::Check::new(table.clone())
        .execute()
        .await
        .unwrap();
    assert!(report.is_healthy(), "{name}: {report:?}");
    assert_eq!(report.version, 3, "{name}: {report:?}");
    assert_eq!(
        report.files_checked,
        u64::try_from(table.snapshot().await.unwrap().num_files()).unwrap(),
        "{name}: {report:?}"
    );
    assert!(report.files_checked > 0, "{name}: {report:?}");
}
