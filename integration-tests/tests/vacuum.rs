//! Vacuum: only files no retained version references go; the versions inside the window
//! still read; an uncommitted young file, a file outside the root (even one a crafted log
//! names) and anything reached through a symbolic link out of the table survive; lite mode
//! deletes what full mode deletes on the same table, reading only the commits since the last
//! vacuum.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use serde_json::Value;
use tarn::Table;
use tarn_maintenance::MaintenanceError;
use tarn_maintenance::optimize::Optimize;
use tarn_maintenance::vacuum::{DeletionReason, Vacuum, VacuumMode};

use crate::common::python::{assert_rows_eq, canonical_rows, read_with_delta_rs, rows_of};
use crate::common::writes::{data_files_on_disk, read_log, scan_batches};
use crate::common::{block_on, uri};

fn batch(ids: std::ops::Range<i64>) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("day", DataType::Utf8, true),
    ]));
    let days: Vec<&str> = ids
        .clone()
        .map(|i| if i % 2 == 0 { "a" } else { "b" })
        .collect();
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(ids)),
            Arc::new(StringArray::from(days)),
        ],
    )
    .unwrap()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A partitioned table of four appends, compacted: eight files removed, two active.
async fn compacted_table(path: &Path) -> Table {
    let table = Table::open(uri(path)).await.unwrap();
    for i in 0..4 {
        table
            .write()
            .with_partition_columns(["day"])
            .execute_batches(vec![batch(i * 10..i * 10 + 10)])
            .await
            .unwrap();
    }
    let metrics = Optimize::new(table.clone()).execute().await.unwrap();
    assert_eq!((metrics.files_removed, metrics.files_added), (8, 2));
    table
}

fn set_age(path: &Path, age: Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

/// The active files of the latest version, decoded, relative to the root.
async fn active_files(table: &Table) -> BTreeSet<String> {
    let snapshot = table.snapshot().await.unwrap();
    snapshot
        .files()
        .iter()
        .map(|f| {
            tarn::protocol::data_path::DataFilePath::parse(f.path())
                .unwrap()
                .as_str()
                .to_owned()
        })
        .collect()
}

#[test]
fn vacuum_after_compaction_deletes_only_what_no_version_needs() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events");
        let table = compacted_table(&path).await;
        let before = canonical_rows(&scan_batches(&table, None).await);
        let active = active_files(&table).await;
        let removed: BTreeSet<String> = data_files_on_disk(&path)
            .difference(&active)
            .cloned()
            .collect();
        assert_eq!(removed.len(), 8);

        // A writer's file, uploaded and not committed yet; an abandoned one from hours ago.
        let young = path.join("day=a/part-uncommitted.parquet");
        std::fs::copy(path.join(active.iter().next().unwrap()), &young).unwrap();
        let abandoned = path.join("day=b/part-abandoned.parquet");
        std::fs::copy(&young, &abandoned).unwrap();
        set_age(&abandoned, Duration::from_secs(3 * 3600));
        // A file outside the root, old, that a crafted commit names as removed.
        let outside = dir.path().join("outside.parquet");
        std::fs::write(&outside, b"not the table's").unwrap();
        set_age(&outside, Duration::from_secs(30 * 24 * 3600));
        let version = table.snapshot().await.unwrap().version();
        let crafted = format!(
            "{{\"commitInfo\":{{\"operation\":\"DELETE\",\"txnId\":\"crafted\"}}}}\n\
             {{\"remove\":{{\"path\":\"file://{}\",\"deletionTimestamp\":1,\"dataChange\":true}}}}\n\
             {{\"remove\":{{\"path\":\"../outside.parquet\",\"deletionTimestamp\":1,\"dataChange\":true}}}}\n",
            outside.display()
        );
        std::fs::write(
            path.join(format!("_delta_log/{:020}.json", version + 1)),
            crafted,
        )
        .unwrap();
        // A link from inside the table to a directory elsewhere, holding an old file.
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::fs::write(elsewhere.join("x.parquet"), b"keep me").unwrap();
        set_age(
            &elsewhere.join("x.parquet"),
            Duration::from_secs(30 * 24 * 3600),
        );
        std::os::unix::fs::symlink(&elsewhere, path.join("day=c")).unwrap();

        // The table's own retention (7 days) keeps everything: the removes are minutes old.
        let plan = Vacuum::new(table.clone()).plan().await.unwrap();
        assert!(plan.deletions.is_empty(), "{:?}", plan.deletions);
        // Shorter needs force.
        let err = Vacuum::new(table.clone())
            .with_retention_ms(0)
            .plan()
            .await
            .unwrap_err();
        assert!(
            matches!(err, MaintenanceError::RetentionTooShort { .. }),
            "{err}"
        );

        let vacuum = Vacuum::new(table.clone())
            .with_retention_ms(0)
            .with_force(true)
            .with_now_ms(now_ms() + 1000);
        let plan = vacuum.plan().await.unwrap();
        let planned: BTreeSet<(String, DeletionReason)> = plan
            .deletions
            .iter()
            .map(|d| (d.path.clone(), d.reason))
            .collect();
        let mut expected: BTreeSet<(String, DeletionReason)> = removed
            .iter()
            .map(|p| (p.clone(), DeletionReason::Expired))
            .collect();
        expected.insert((
            "day=b/part-abandoned.parquet".to_owned(),
            DeletionReason::Orphan,
        ));
        assert_eq!(planned, expected);
        assert_eq!(plan.files_outside_through_links, 1);
        // A dry run changed nothing.
        assert_eq!(data_files_on_disk(&path).len(), 13);

        let metrics = vacuum.execute_plan(plan).await.unwrap();
        assert_eq!(metrics.files_deleted, 9);
        let mut left = active.clone();
        left.insert("day=a/part-uncommitted.parquet".to_owned());
        // The link itself (this walk does not follow it).
        left.insert("day=c".to_owned());
        assert_eq!(data_files_on_disk(&path), left);
        assert!(outside.exists(), "a file outside the table was deleted");
        assert!(elsewhere.join("x.parquet").exists());

        // The latest version reads as before, in tarn and in delta-rs.
        let table = Table::open(uri(&path)).await.unwrap();
        let after = canonical_rows(&scan_batches(&table, None).await);
        assert_rows_eq(&after, &before, "tarn after vacuum");
        std::fs::remove_file(path.join("day=c")).unwrap();
        assert_rows_eq(
            &rows_of(&read_with_delta_rs(uri(&path), None)),
            &before,
            "delta-rs after vacuum",
        );

        // Both ends are in the log, the end with what was done and how far it got.
        let log = read_log(table.location()).await;
        let infos: Vec<Value> = log
            .values()
            .rev()
            .take(2)
            .map(|actions| actions[0]["commitInfo"].clone())
            .collect();
        assert_eq!(infos[0]["operation"], "VACUUM END");
        assert_eq!(infos[0]["operationParameters"]["status"], "COMPLETED");
        assert_eq!(infos[0]["operationMetrics"]["numDeletedFiles"], "9");
        assert_eq!(infos[1]["operation"], "VACUUM START");
        assert_eq!(
            infos[1]["operationParameters"]["specifiedRetentionMillis"],
            "0"
        );
        assert_eq!(infos[1]["operationMetrics"]["numFilesToDelete"], "9");
    });
}

/// A copy of a directory tree, keeping modification times.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            let modified = entry.metadata().unwrap().modified().unwrap();
            std::fs::File::options()
                .write(true)
                .open(&target)
                .unwrap()
                .set_modified(modified)
                .unwrap();
        }
    }
}

#[test]
fn lite_deletes_what_full_deletes_and_then_reads_only_new_commits() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let full_path = dir.path().join("full");
        let table = compacted_table(&full_path).await;
        table
            .delete()
            .with_predicate(tarn::Expr::parse("id < 5").unwrap())
            .execute()
            .await
            .unwrap();
        let lite_path = dir.path().join("lite");
        copy_tree(&full_path, &lite_path);
        let lite_table = Table::open(uri(&lite_path)).await.unwrap();
        let now = now_ms() + 1000;
        let run = |table: &Table, mode| {
            Vacuum::new(table.clone())
                .with_mode(mode)
                .with_retention_ms(0)
                .with_force(true)
                .with_now_ms(now)
        };
        let full = run(&table, VacuumMode::Full).plan().await.unwrap();
        let lite = run(&lite_table, VacuumMode::Lite).plan().await.unwrap();
        let paths = |plan: &tarn_maintenance::vacuum::VacuumPlan| -> Vec<String> {
            plan.deletions.iter().map(|d| d.path.clone()).collect()
        };
        assert!(!full.deletions.is_empty());
        assert_eq!(paths(&full), paths(&lite));
        assert_eq!(lite.files_listed, None, "lite lists nothing");
        assert_eq!(lite.commits_from, 0);
        run(&table, VacuumMode::Full)
            .execute_plan(full)
            .await
            .unwrap();
        run(&lite_table, VacuumMode::Lite)
            .execute_plan(lite)
            .await
            .unwrap();
        assert_eq!(
            data_files_on_disk(&full_path),
            data_files_on_disk(&lite_path)
        );

        // The next lite vacuum starts after the last one and finds the new removes only.
        let end = lite_table.snapshot().await.unwrap().version();
        lite_table
            .delete()
            .with_predicate(tarn::Expr::parse("day = 'b'").unwrap())
            .execute()
            .await
            .unwrap();
        let next = Vacuum::new(lite_table.clone())
            .with_mode(VacuumMode::Lite)
            .with_retention_ms(0)
            .with_force(true)
            .with_now_ms(now_ms() + 1000)
            .plan()
            .await
            .unwrap();
        assert!(
            next.commits_from > 0 && next.commits_from <= end,
            "{next:?}"
        );
        assert_eq!(next.deletions.len(), 1, "{:?}", next.deletions);
        assert!(next.deletions[0].path.starts_with("day=b/"));
    });
}

#[test]
fn versions_inside_the_window_still_read() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let table = compacted_table(dir.path()).await;
        let compacted = table.snapshot().await.unwrap().version();
        std::thread::sleep(Duration::from_millis(50));
        let boundary = now_ms();
        std::thread::sleep(Duration::from_millis(50));
        table
            .delete()
            .with_predicate(tarn::Expr::parse("day = 'a'").unwrap())
            .execute()
            .await
            .unwrap();
        let deleted = table.snapshot().await.unwrap().version();
        let now = now_ms() + 10;
        // A window reaching back to between the compaction and the delete: the compaction's
        // inputs have expired, the file the delete removed has not.
        let metrics = Vacuum::new(table.clone())
            .with_retention_ms(now - boundary)
            .with_force(true)
            .with_now_ms(now)
            .execute()
            .await
            .unwrap();
        assert_eq!(metrics.files_deleted, 8);
        let table = Table::open(uri(dir.path())).await.unwrap();
        // The version before the delete is inside the window: it still reads, all 40 rows.
        let rows = scan_batches(&table, Some(compacted)).await;
        assert_eq!(rows.iter().map(RecordBatch::num_rows).sum::<usize>(), 40);
        let rows = scan_batches(&table, Some(deleted)).await;
        assert_eq!(rows.iter().map(RecordBatch::num_rows).sum::<usize>(), 20);
        // A version whose files were compacted away is outside it, and says so.
        let old = table.snapshot_at_version(1).await.unwrap();
        let read = futures::TryStreamExt::try_collect::<Vec<_>>(
            old.scan().build().await.unwrap().execute(),
        )
        .await;
        assert!(
            read.is_err(),
            "version 1 read after its files were vacuumed"
        );
    });
}

#[test]
fn a_deletion_vector_file_goes_with_the_last_file_that_used_it() {
    block_on(async {
        let (_dir, path) = crate::common::fixture_copy("table-with-dv-small");
        let table = Table::open(uri(&path)).await.unwrap();
        let now = now_ms() + 1000;
        let plan = Vacuum::new(table.clone())
            .with_retention_ms(0)
            .with_force(true)
            .with_now_ms(now)
            .plan()
            .await
            .unwrap();
        // The vector is in use: nothing to delete.
        assert!(plan.deletions.is_empty(), "{:?}", plan.deletions);
        // Compaction applies the vector; then both the old file and the vector go.
        Optimize::new(table.clone()).execute().await.unwrap();
        let plan = Vacuum::new(table.clone())
            .with_retention_ms(0)
            .with_force(true)
            .with_now_ms(now_ms() + 1000)
            .plan()
            .await
            .unwrap();
        let planned: BTreeSet<&str> = plan.deletions.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            planned,
            BTreeSet::from([
                "deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin",
                "part-00000-fae5310a-a37d-4e51-827b-c3d5516560ca-c000.snappy.parquet",
            ])
        );
    });
}

#[test]
fn a_lite_vacuum_without_the_log_since_the_last_one_refuses() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let table = compacted_table(dir.path()).await;
        // A checkpoint, and the commits before it gone (as log cleanup would leave them).
        table.checkpoint().execute().await.unwrap();
        let version = table.snapshot().await.unwrap().version();
        for v in 0..version {
            std::fs::remove_file(dir.path().join(format!("_delta_log/{v:020}.json"))).unwrap();
        }
        let err = Vacuum::new(table.clone())
            .with_mode(VacuumMode::Lite)
            .plan()
            .await
            .unwrap_err();
        assert!(
            matches!(err, MaintenanceError::LiteNeedsLog { .. }),
            "{err}"
        );
        // A full vacuum can, and records where the next lite one starts.
        Vacuum::new(table.clone()).execute().await.unwrap();
        let plan = Vacuum::new(table.clone())
            .with_mode(VacuumMode::Lite)
            .plan()
            .await
            .unwrap();
        // The compaction's removes have not expired: the next lite vacuum reads them again.
        assert_eq!(plan.commits_from, version, "{plan:?}");
    });
}

#[test]
fn vacuum_on_s3_deletes_in_batches_and_lite_agrees() {
    use crate::common::s3::{s3_options, s3_table_uri};
    block_on(async {
        let uri = s3_table_uri("vacuum");
        let table = Table::open_with_options(&uri, &s3_options()).await.unwrap();
        for i in 0..6 {
            table
                .write()
                .with_partition_columns(["day"])
                .execute_batches(vec![batch(i * 10..i * 10 + 10)])
                .await
                .unwrap();
        }
        Optimize::new(table.clone()).execute().await.unwrap();
        let before = canonical_rows(&scan_batches(&table, None).await);
        let vacuum = |mode| {
            Vacuum::new(table.clone())
                .with_mode(mode)
                .with_retention_ms(0)
                .with_force(true)
                .with_now_ms(now_ms() + 1000)
        };
        let lite = vacuum(VacuumMode::Lite).plan().await.unwrap();
        let full = vacuum(VacuumMode::Full).plan().await.unwrap();
        assert_eq!(full.deletions.len(), 12);
        assert_eq!(full.deletions, lite.deletions);
        let metrics = vacuum(VacuumMode::Full).execute_plan(full).await.unwrap();
        assert_eq!(metrics.files_deleted, 12);
        // A second full vacuum finds nothing left, and the table reads the same.
        assert!(
            vacuum(VacuumMode::Full)
                .plan()
                .await
                .unwrap()
                .deletions
                .is_empty()
        );
        assert_rows_eq(
            &canonical_rows(&scan_batches(&table, None).await),
            &before,
            "tarn on S3 after vacuum",
        );
    });
}

#[test]
fn a_plan_executed_after_a_restore_keeps_the_files_the_table_took_back() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let table = compacted_table(dir.path()).await;
        let compacted = table.snapshot().await.unwrap().version();
        let vacuum = Vacuum::new(table.clone())
            .with_retention_ms(0)
            .with_force(true)
            .with_now_ms(now_ms() + 1000);
        let plan = vacuum.plan().await.unwrap();
        assert_eq!(plan.deletions.len(), 8);
        // Before the plan runs, the table goes back to before the compaction.
        table.restore(compacted - 1).execute().await.unwrap();
        let metrics = vacuum.execute_plan(plan).await.unwrap();
        assert_eq!(metrics.files_deleted, 0);
        let table = Table::open(uri(dir.path())).await.unwrap();
        let rows: usize = scan_batches(&table, None)
            .await
            .iter()
            .map(RecordBatch::num_rows)
            .sum();
        assert_eq!(rows, 40);
    });
}

#[test]
fn a_vacuum_with_nothing_to_do_commits_nothing_once_one_is_recorded() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let table = compacted_table(dir.path()).await;
        // The first vacuum records where it ended, even with nothing to delete.
        let first = Vacuum::new(table.clone()).execute().await.unwrap();
        assert_eq!(first.files_deleted, 0);
        assert!(first.end_version.is_some(), "{first:?}");
        let version = table.snapshot().await.unwrap().version();
        // The next, with nothing new to delete or record, commits nothing.
        let plan = Vacuum::new(table.clone()).plan().await.unwrap();
        assert!(plan.is_idle(), "{plan:?}");
        let second = Vacuum::new(table.clone()).execute().await.unwrap();
        assert_eq!((second.start_version, second.end_version), (None, None));
        assert_eq!(table.snapshot().await.unwrap().version(), version);
        // A vacuum that deletes something always records itself.
        let forced = Vacuum::new(table.clone())
            .with_retention_ms(0)
            .with_force(true)
            .execute()
            .await
            .unwrap();
        assert!(forced.files_deleted > 0, "{forced:?}");
        assert!(forced.end_version.is_some(), "{forced:?}");
    });
}
