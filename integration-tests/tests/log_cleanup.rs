//! Log cleanup: versions inside `delta.logRetentionDuration` (and the newest one before it)
//! stay readable, a checkpoint is written first where one is missing, and nothing newer than
//! the window goes; `delta.enableExpiredLogCleanup = false` keeps everything.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arrow_array::{Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use tarn::Table;
use tarn_maintenance::cleanup::LogCleanup;

use crate::common::writes::scan_batches;
use crate::common::{block_on, uri};

const DAY: Duration = Duration::from_secs(24 * 3600);

fn ids(range: std::ops::Range<i64>) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
    RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(range))]).unwrap()
}

/// A table of 30 appends, version `v` committed `30 - v` days ago (by its file's time), with
/// the given properties.
async fn month_of_appends(dir: &std::path::Path, properties: &[(&str, &str)]) -> Table {
    let table = Table::open(uri(dir)).await.unwrap();
    for v in 0..30 {
        let mut write = table.write();
        if v == 0 {
            for (key, value) in properties {
                write = write.with_property(*key, *value);
            }
        }
        write
            .execute_batches(vec![ids(v * 10..v * 10 + 10)])
            .await
            .unwrap();
    }
    for v in 0..30u64 {
        let commit = dir.join(format!("_delta_log/{v:020}.json"));
        let file = std::fs::File::options().write(true).open(commit).unwrap();
        file.set_modified(SystemTime::now() - DAY * (30 - v as u32))
            .unwrap();
    }
    Table::open(uri(dir)).await.unwrap()
}

fn log_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("_delta_log"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

#[test]
fn versions_inside_the_log_retention_stay_readable() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        // Checkpoints never come on their own here: the interval is larger than the log.
        let table = month_of_appends(
            dir.path(),
            &[
                ("delta.logRetentionDuration", "interval 10 days"),
                ("delta.checkpointInterval", "1000"),
            ],
        )
        .await;
        let cleanup = LogCleanup::new(table.clone());
        let plan = cleanup.plan().await.unwrap();
        // Version 20 was committed 10 days ago, at the window's edge: the newest before it.
        assert_eq!(plan.oldest_kept, Some(20));
        assert_eq!(plan.write_checkpoint, Some(20));
        let deleted: Vec<u64> = plan.deletions.iter().map(|d| d.version).collect();
        assert_eq!(deleted, (0..20).collect::<Vec<_>>());
        // A dry run changed nothing.
        assert_eq!(log_names(dir.path()).len(), 30);

        let metrics = cleanup.execute_plan(plan).await.unwrap();
        assert_eq!(
            (metrics.files_deleted, metrics.checkpoint_written),
            (20, Some(20))
        );
        let names = log_names(dir.path());
        assert!(names.contains(&format!("{:020}.checkpoint.parquet", 20)));
        assert!(!names.contains(&format!("{:020}.json", 19)));

        let table = Table::open(uri(dir.path())).await.unwrap();
        assert_eq!(rows(&scan_batches(&table, None).await), 300);
        for version in 20..30 {
            let expected = (version as usize + 1) * 10;
            assert_eq!(rows(&scan_batches(&table, Some(version)).await), expected);
        }
        let gone = table.snapshot_at_version(19).await.unwrap_err();
        assert!(gone.to_string().contains("19"), "{gone}");
        // Time travel to the first instant of the window finds version 20.
        let edge = chrono::Utc::now() - chrono::Duration::days(10) + chrono::Duration::hours(1);
        assert_eq!(
            table.snapshot_at_timestamp(edge).await.unwrap().version(),
            20
        );

        // Run again: nothing more to do.
        let again = LogCleanup::new(table.clone()).plan().await.unwrap();
        assert!(again.deletions.is_empty(), "{again:?}");
        assert_eq!(again.write_checkpoint, None);
    });
}

#[test]
fn the_default_window_keeps_a_month_and_the_switch_turns_it_off() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let table = month_of_appends(dir.path(), &[]).await;
        // 30 days old at most: inside the default 30-day window, or at its edge.
        let plan = LogCleanup::new(table.clone()).plan().await.unwrap();
        assert!(plan.deletions.is_empty(), "{plan:?}");

        let dir = tempfile::tempdir().unwrap();
        let table = month_of_appends(
            dir.path(),
            &[
                ("delta.logRetentionDuration", "interval 1 day"),
                ("delta.enableExpiredLogCleanup", "false"),
            ],
        )
        .await;
        let plan = LogCleanup::new(table.clone()).plan().await.unwrap();
        assert!(!plan.enabled);
        assert!(plan.deletions.is_empty());
        assert_eq!(
            LogCleanup::new(table)
                .execute()
                .await
                .unwrap()
                .files_deleted,
            0
        );
        assert_eq!(log_names(dir.path()).len(), 30);
    });
}
