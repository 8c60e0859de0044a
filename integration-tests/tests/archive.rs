//! Lifecycle archiving (`tarn_maintenance::archive`) end to end: a table on local disk tiered
//! and detached to a second local root, a table on S3 (moto) tiered to a second bucket with a
//! storage class, delta-rs's Python readers on tiered tables, the deletes `restore-archive`
//! replays (and what it refuses), an archive run stopped midway and run again, the age rule,
//! deletion vectors, and locations that must be refused.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::path::Path as ObjectPath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use serde_json::Value;
use tarn::protocol::archive_domain::{ARCHIVE_DOMAIN, ArchiveConfiguration};
use tarn::{Expr, StoreRegistry, Table};
use tarn_maintenance::MaintenanceError;
use tarn_maintenance::archive::{
    AddedAt, Age, Archive, ArchiveMode, FilePlacements, Placement, RestoreArchive,
};
use tarn_maintenance::cleanup::LogCleanup;
use tarn_maintenance::optimize::Optimize;
use tarn_maintenance::vacuum::{Vacuum, VacuumMode};

use crate::common::python::{assert_rows_eq, read_with_python_readers, rows_of, s3_head};
use crate::common::s3::{s3_archive_bucket, s3_endpoint, s3_options, s3_table_uri};
use crate::common::writes::scan_rows;
use crate::common::{block_on, commit_path, set_mtime, uri, writable_fixture_copy};

const DAYS: [&str; 3] = ["2025-12-30", "2025-12-31", "2026-01-01"];
const DAY_MS: i64 = 24 * 3600 * 1000;

fn batch(ids: Range<i64>, day: &str) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("day", DataType::Utf8, false),
        Field::new("v", DataType::Int64, true),
    ]));
    let n = usize::try_from(ids.end - ids.start).unwrap();
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(ids.clone())),
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(day, n))),
            Arc::new(Int64Array::from_iter_values(ids.map(|i| i * 10))),
        ],
    )
    .unwrap()
}

/// Two appends per day of [`DAYS`], ten rows each: ids 0..60, day `DAYS[i / 20]`.
async fn sample(table: &Table) {
    for (d, day) in DAYS.iter().enumerate() {
        for part in 0..2 {
            let first = i64::try_from(d * 20 + part * 10).unwrap();
            table
                .write()
                .with_partition_columns(["day"])
                .execute_batches(vec![batch(first..first + 10, day)])
                .await
                .unwrap();
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The ids of canonical rows, sorted.
fn ids_of(rows: &[Value]) -> Vec<i64> {
    let mut ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    ids
}

/// Active files by where they live: (placement label, path below root or location).
async fn placed(table: &Table) -> Vec<(String, String)> {
    let snapshot = table.snapshot().await.unwrap();
    let placements = FilePlacements::of(&snapshot);
    let mut out: Vec<(String, String)> = snapshot
        .files()
        .iter()
        .map(|f| match placements.place(f.path()) {
            Placement::Hot { relative } => ("hot".to_owned(), relative.join("/")),
            Placement::Archive { location, relative } => (location, relative.join("/")),
            Placement::Elsewhere => ("elsewhere".to_owned(), f.path().to_owned()),
        })
        .collect();
    out.sort();
    out
}

async fn archive_config(table: &Table) -> ArchiveConfiguration {
    let snapshot = table.snapshot().await.unwrap();
    ArchiveConfiguration::of_domains(snapshot.domain_metadata())
        .unwrap()
        .unwrap_or_default()
}

fn location_uri(path: &Path) -> String {
    StoreRegistry::normalize(uri(path)).unwrap().to_uri()
}

/// Every file below `dir` (relative paths), for what a run left in an archive.
fn files_below(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let entry = entry.unwrap();
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .to_owned(),
                );
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// Tier, local disk to a second local root
// ---------------------------------------------------------------------------------------------

#[test]
fn tier_to_a_second_local_root_reads_the_same_rows_in_every_version_and_reader() {
    let dir = tempfile::tempdir().unwrap();
    let (path, cold) = (dir.path().join("events"), dir.path().join("cold"));
    block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        sample(&table).await;
        let latest = table.snapshot().await.unwrap().version();
        let mut before = Vec::new();
        for v in 0..=latest {
            before.push(scan_rows(&table, Some(v)).await);
        }
        let hot_before = placed(&table).await;

        let archive = Archive::new(table.clone(), uri(&cold))
            .with_filter(Expr::parse("day < '2026-01-01'").unwrap());
        let plan = archive.plan().await.unwrap();
        assert_eq!(plan.files.len(), 4, "{plan:?}");
        assert_eq!(plan.files_considered, 6);
        assert!(plan.declares_location);
        assert!(
            plan.files
                .iter()
                .all(|f| f.archive_path.starts_with(&location_uri(&cold)))
        );
        let metrics = archive.execute().await.unwrap();
        assert_eq!(metrics.files_archived, 4);
        assert_eq!(metrics.files_copied, 4);
        assert_eq!(metrics.versions, [latest + 1]);

        // Every version reads what it read before, the new one what the last one did.
        for v in 0..=latest {
            assert_rows_eq(
                &scan_rows(&table, Some(v)).await,
                &before[usize::try_from(v).unwrap()],
                &format!("v{v}"),
            );
        }
        let rows = scan_rows(&table, None).await;
        assert_rows_eq(&rows, &before[before.len() - 1], "after tiering");

        // Four files in the archive, two hot; same relative paths as before.
        let now = placed(&table).await;
        let cold_uri = location_uri(&cold);
        assert_eq!(
            now.iter().filter(|(l, _)| *l == cold_uri).count(),
            4,
            "{now:?}"
        );
        assert_eq!(now.iter().filter(|(l, _)| l == "hot").count(), 2, "{now:?}");
        let relative: BTreeSet<&str> = now.iter().map(|(_, r)| r.as_str()).collect();
        let relative_before: BTreeSet<&str> = hot_before.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(relative, relative_before);
        // The copies are the files, byte for byte; the marker claims the location.
        for (_, rel) in now.iter().filter(|(l, _)| *l == cold_uri) {
            assert_eq!(
                std::fs::read(cold.join(rel)).unwrap(),
                std::fs::read(path.join(rel)).unwrap(),
                "{rel}"
            );
        }
        let marker: Value =
            serde_json::from_slice(&std::fs::read(cold.join("_tarn_archive.json")).unwrap())
                .unwrap();
        assert_eq!(
            marker["tableId"],
            table.snapshot().await.unwrap().metadata().id.as_str()
        );
        // The commit declares the location and changes no data.
        assert_eq!(
            archive_config(&table).await.locations,
            std::slice::from_ref(&cold_uri)
        );
        let commit = crate::common::writes::commit_actions(&path, latest + 1);
        assert!(
            commit
                .iter()
                .all(|a| a.get("add").is_none_or(|add| add["dataChange"] == false))
        );
        assert!(
            commit
                .iter()
                .all(|a| a.get("remove").is_none_or(|r| r["dataChange"] == false))
        );
        assert!(
            commit
                .iter()
                .any(|a| a["domainMetadata"]["domain"] == ARCHIVE_DOMAIN)
        );

        // delta-rs: its DataFusion reader resolves absolute paths, its pyarrow readers do not
        // (spec/format.md, "Readers of tiered tables"; update it if this changes).
        let readers = read_with_python_readers(uri(&path), &BTreeMap::new());
        assert_rows_eq(
            &rows_of(&readers["query_builder"]["table"]),
            &rows,
            "delta-rs QueryBuilder",
        );
        for pyarrow in ["to_pyarrow_table", "to_pyarrow_dataset"] {
            assert!(
                readers[pyarrow]["error"].is_string(),
                "{pyarrow}: {}",
                readers[pyarrow]
            );
        }

        // Vacuum would remove the hot copies: the table does not need them.
        for (_, rel) in now.iter().filter(|(l, _)| *l == cold_uri) {
            std::fs::remove_file(path.join(rel)).unwrap();
        }
        assert_rows_eq(&scan_rows(&table, None).await, &rows, "without hot copies");

        // Running the rule again finds nothing to do.
        let again = Archive::new(table.clone(), uri(&cold))
            .with_filter(Expr::parse("day < '2026-01-01'").unwrap())
            .execute()
            .await
            .unwrap();
        assert_eq!((again.files_planned, again.versions.len()), (0, 0));

        // restore-archive copies them back under new names beside their old places.
        let restored =
            RestoreArchive::new(table.clone(), Expr::parse("day = '2025-12-30'").unwrap())
                .execute()
                .await
                .unwrap();
        assert_eq!(restored.tiered_restored, 2);
        let after = placed(&table).await;
        assert_eq!(
            after.iter().filter(|(l, _)| l == "hot").count(),
            4,
            "{after:?}"
        );
        assert!(
            after
                .iter()
                .filter(|(l, r)| l == "hot" && r.starts_with("day=2025-12-30"))
                .all(|(_, r)| r.contains("/restored-")),
            "{after:?}"
        );
        assert_rows_eq(&scan_rows(&table, None).await, &rows, "after restore");
        // Archive copies are never deleted.
        assert_eq!(
            files_below(&cold).len(),
            5,
            "four copies and the marker: {:?}",
            files_below(&cold)
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Detach and restore, with the deletes committed since
// ---------------------------------------------------------------------------------------------

#[test]
fn detach_removes_exactly_those_rows_and_restore_brings_them_back_less_later_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let (path, cold) = (dir.path().join("events"), dir.path().join("cold"));
    block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        sample(&table).await;
        let all = scan_rows(&table, None).await;
        let metrics = Archive::new(table.clone(), uri(&cold))
            .with_filter(Expr::parse("day = '2025-12-30'").unwrap())
            .with_mode(ArchiveMode::Detach)
            .execute()
            .await
            .unwrap();
        assert_eq!(metrics.files_archived, 2);
        let detach_version = metrics.versions[0];
        // The live table lacks exactly the rows of 2025-12-30 (ids 0..20).
        let live = scan_rows(&table, None).await;
        assert_eq!(ids_of(&live), (20..60).collect::<Vec<_>>());
        let commit = crate::common::writes::commit_actions(&path, detach_version);
        assert_eq!(
            commit
                .iter()
                .filter(|a| a["remove"]["dataChange"] == true)
                .count(),
            2
        );
        // The manifest holds them, with their statistics and why.
        let config = archive_config(&table).await;
        let records = config.detached_files().unwrap();
        assert_eq!(records.len(), 2);
        for record in &records {
            assert!(record.archive_path.starts_with(&location_uri(&cold)));
            assert!(record.add.stats.as_deref().unwrap().contains("numRecords"));
            assert_eq!(record.reason, "day = '2025-12-30'");
            assert_eq!(record.run_id, metrics.run_id);
            assert!(cold.join(record.add.path.replace("%20", " ")).is_file());
        }

        // A delete reaching a detached row matches nothing live: it says so and still commits.
        let summary = table
            .delete()
            .with_predicate(Expr::parse("id = 3").unwrap())
            .execute()
            .await
            .unwrap();
        assert_eq!(summary.detached_files_not_searched, 2);
        assert!(summary.version.is_some());
        assert_eq!(summary.files_removed, 0);
        // Other commits in between: a live delete, an append, a compaction-like tiering.
        table
            .delete()
            .with_predicate(Expr::parse("id = 25").unwrap())
            .execute()
            .await
            .unwrap();
        table
            .write()
            .execute_batches(vec![batch(100..105, "2026-01-02")])
            .await
            .unwrap();
        table
            .delete()
            .with_predicate(Expr::parse("id >= 15 AND id < 17").unwrap())
            .execute()
            .await
            .unwrap();

        let plan = RestoreArchive::new(table.clone(), Expr::parse("day = '2025-12-30'").unwrap())
            .plan()
            .await
            .unwrap();
        assert_eq!(plan.detached.len(), 2);
        assert!(
            plan.detached.iter().all(|d| d.refused.is_none()),
            "{plan:?}"
        );
        assert!(
            plan.detached
                .iter()
                .all(|d| d.detach_version == Some(detach_version))
        );
        let restored =
            RestoreArchive::new(table.clone(), Expr::parse("day = '2025-12-30'").unwrap())
                .execute()
                .await
                .unwrap();
        assert_eq!(restored.detached_restored, 2);
        assert_eq!(restored.rows_deleted, 3, "ids 3, 15 and 16");
        assert_eq!(restored.files_rewritten, 2);
        let expected: Vec<i64> = (0..60)
            .chain(100..105)
            .filter(|id| ![3, 15, 16, 25].contains(id))
            .collect();
        let rows = scan_rows(&table, None).await;
        assert_eq!(ids_of(&rows), expected);
        assert!(
            archive_config(&table)
                .await
                .detached_files()
                .unwrap()
                .is_empty()
        );
        // Every other row is exactly as it was.
        let kept: Vec<&Value> = all
            .iter()
            .filter(|r| expected.contains(&r["id"].as_i64().unwrap()))
            .collect();
        for row in kept {
            assert!(rows.contains(row), "{row}");
        }
        // Nothing left to restore.
        let again = RestoreArchive::new(table.clone(), Expr::parse("true").unwrap())
            .execute()
            .await
            .unwrap();
        assert_eq!(again.detached_restored + again.tiered_restored, 0);
    });
}

#[test]
fn a_detached_file_with_no_later_delete_comes_back_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let (path, cold) = (dir.path().join("events"), dir.path().join("cold"));
    block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        sample(&table).await;
        let all = scan_rows(&table, None).await;
        Archive::new(table.clone(), uri(&cold))
            .with_filter(Expr::parse("day <= '2025-12-31'").unwrap())
            .with_mode(ArchiveMode::Detach)
            .execute()
            .await
            .unwrap();
        // A delete that cannot reach them (its statistics rule them out).
        table
            .delete()
            .with_predicate(Expr::parse("id = 55").unwrap())
            .execute()
            .await
            .unwrap();
        let restored = RestoreArchive::new(table.clone(), Expr::parse("true").unwrap())
            .execute()
            .await
            .unwrap();
        assert_eq!(
            (restored.detached_restored, restored.files_rewritten),
            (4, 0)
        );
        let expected: Vec<Value> = all.into_iter().filter(|r| r["id"] != 55).collect();
        assert_rows_eq(&scan_rows(&table, None).await, &expected, "restored");
        // They came back from the archive, as absolute paths there.
        let cold_uri = location_uri(&cold);
        assert_eq!(
            placed(&table)
                .await
                .iter()
                .filter(|(l, _)| *l == cold_uri)
                .count(),
            4
        );
        let readers = read_with_python_readers(uri(&path), &BTreeMap::new());
        assert_rows_eq(
            &rows_of(&readers["query_builder"]["table"]),
            &expected,
            "delta-rs QueryBuilder after restore",
        );
    });
}

#[test]
fn restore_refuses_what_it_cannot_replay_exactly_and_restores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (path, cold) = (dir.path().join("events"), dir.path().join("cold"));
    block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        sample(&table).await;
        Archive::new(table.clone(), uri(&cold))
            .with_filter(Expr::parse("day < '2026-01-01'").unwrap())
            .with_mode(ArchiveMode::Detach)
            .execute()
            .await
            .unwrap();
        // An update that would have changed a row of 2025-12-30 (id 4).
        let summary = table
            .update()
            .with_predicate(Expr::parse("id = 4 OR id = 45").unwrap())
            .set("v", Expr::parse("v + 1").unwrap())
            .execute()
            .await
            .unwrap();
        assert_eq!(summary.detached_files_not_searched, 4);
        let update_version = summary.version.unwrap();
        let version = table.snapshot().await.unwrap().version();
        let err = RestoreArchive::new(table.clone(), Expr::parse("day = '2025-12-30'").unwrap())
            .execute()
            .await
            .unwrap_err();
        assert!(
            matches!(err, MaintenanceError::RestoreRefused { .. }),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&format!("version {update_version}")),
            "{text}"
        );
        assert!(text.contains("nothing was restored"), "{text}");
        assert_eq!(table.snapshot().await.unwrap().version(), version);
        assert_eq!(archive_config(&table).await.detached_count(), 4);
        // The other day's rows were out of the update's reach: they come back.
        let restored =
            RestoreArchive::new(table.clone(), Expr::parse("day = '2025-12-31'").unwrap())
                .execute()
                .await
                .unwrap();
        assert_eq!(restored.detached_restored, 2);
        // An overwrite of the whole table: nothing can come back.
        table
            .write()
            .with_mode(tarn::WriteMode::Overwrite)
            .execute_batches(vec![batch(200..201, "2026-02-01")])
            .await
            .unwrap();
        let plan = RestoreArchive::new(table.clone(), Expr::parse("true").unwrap())
            .plan()
            .await
            .unwrap();
        assert_eq!(plan.detached.len(), 2);
        for file in &plan.detached {
            let reason = file.refused.as_deref().unwrap();
            assert!(reason.contains("overwrote"), "{reason}");
        }
    });
}

/// Log cleanup keeps every commit from the one that detached the oldest file on, whatever the
/// log retention says: those are the deletes `restore-archive` applies.
#[test]
fn log_cleanup_keeps_the_commits_restore_archive_replays() {
    let dir = tempfile::tempdir().unwrap();
    let (path, cold) = (dir.path().join("events"), dir.path().join("cold"));
    block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        table
            .write()
            .with_partition_columns(["day"])
            .with_property("delta.logRetentionDuration", "interval 10 days")
            .with_property("delta.checkpointInterval", "1000")
            .execute_batches(vec![batch(0..10, "a")])
            .await
            .unwrap();
        let detached = Archive::new(table.clone(), uri(&cold))
            .with_filter(Expr::parse("day = 'a'").unwrap())
            .with_mode(ArchiveMode::Detach)
            .execute()
            .await
            .unwrap();
        assert_eq!(detached.versions, [1]);
        for v in 2..30 {
            table
                .write()
                .execute_batches(vec![batch(v * 10..v * 10 + 10, "b")])
                .await
                .unwrap();
        }
        let summary = table
            .delete()
            .with_predicate(Expr::parse("id = 3").unwrap())
            .execute()
            .await
            .unwrap();
        assert_eq!(summary.version, Some(30));
        // Version v was committed 30 - v days ago.
        for v in 0..30u32 {
            set_mtime(
                &commit_path(&path, u64::from(v)),
                SystemTime::now() - Duration::from_secs(24 * 3600) * (30 - v),
            );
        }
        let table = Table::open(uri(&path)).await.unwrap();
        let plan = LogCleanup::new(table.clone()).plan().await.unwrap();
        // The window alone would keep version 20 on; the detach read version 0.
        assert_eq!(
            (plan.oldest_kept, plan.kept_for_archive),
            (Some(1), Some(1)),
            "{plan:?}"
        );
        let deleted: Vec<u64> = plan.deletions.iter().map(|d| d.version).collect();
        assert_eq!(deleted, [0]);
        LogCleanup::new(table.clone())
            .execute_plan(plan)
            .await
            .unwrap();
        assert!(!commit_path(&path, 0).exists());
        // The same handle: its snapshot was listed before the cleanup, and reads on.
        let restored = RestoreArchive::new(table.clone(), Expr::parse("day = 'a'").unwrap())
            .execute()
            .await
            .unwrap();
        assert_eq!((restored.detached_restored, restored.rows_deleted), (1, 1));
        let expected: Vec<i64> = (0..10).chain(20..300).filter(|id| *id != 3).collect();
        assert_eq!(ids_of(&scan_rows(&table, None).await), expected);
    });
}

// ---------------------------------------------------------------------------------------------
// Stopped midway, run again
// ---------------------------------------------------------------------------------------------

/// A local store that fails every put of a data file after the first `allowed`, like a
/// process killed in the middle of its copies.
#[derive(Debug)]
struct FailingPuts {
    inner: Arc<dyn ObjectStore>,
    allowed: usize,
    seen: AtomicUsize,
}

impl fmt::Display for FailingPuts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FailingPuts({})", self.inner)
    }
}

impl FailingPuts {
    fn check(&self, location: &ObjectPath) -> object_store::Result<()> {
        if location.as_ref().ends_with(".parquet")
            && self.seen.fetch_add(1, Ordering::SeqCst) >= self.allowed
        {
            return Err(object_store::Error::Generic {
                store: "FailingPuts",
                source: "the process was killed".into(),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl ObjectStore for FailingPuts {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.check(location)?;
        self.inner.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.check(location)?;
        self.inner.put_multipart_opts(location, opts).await
    }
    async fn get_opts(
        &self,
        location: &ObjectPath,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<ObjectPath>>,
    ) -> BoxStream<'static, object_store::Result<ObjectPath>> {
        self.inner.delete_stream(locations)
    }
    fn list(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }
    async fn list_with_delimiter(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(
        &self,
        from: &ObjectPath,
        to: &ObjectPath,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// Each original file is in the table exactly once (hot, or in the archive under the same
/// path below it), every file the table names exists, and the rows are `rows`.
async fn assert_exactly_once(
    table: &Table,
    path: &Path,
    cold: &Path,
    relative: &BTreeSet<String>,
    rows: &[Value],
) {
    let now = placed(table).await;
    let names: Vec<&str> = now.iter().map(|(_, r)| r.as_str()).collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(names.len(), unique.len(), "a file twice: {now:?}");
    assert_eq!(
        unique,
        relative.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
    let cold_uri = location_uri(cold);
    for (location, rel) in &now {
        let file = if location == "hot" {
            path.join(rel)
        } else {
            cold.join(rel)
        };
        assert!(location == "hot" || *location == cold_uri, "{location}");
        assert!(file.is_file(), "{} is gone", file.display());
    }
    assert_rows_eq(&scan_rows(table, None).await, rows, "rows");
}

#[test]
fn an_archive_run_stopped_in_its_copies_and_run_again_archives_each_file_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (path, cold) = (dir.path().join("events"), dir.path().join("cold"));
    block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        sample(&table).await;
        let rows = scan_rows(&table, None).await;
        let version = table.snapshot().await.unwrap().version();
        let relative: BTreeSet<String> = placed(&table).await.into_iter().map(|(_, r)| r).collect();
        // The archive's store dies after two copies.
        let mut stores = StoreRegistry::new();
        stores
            .register_store(
                uri(&cold),
                Arc::new(FailingPuts {
                    inner: Arc::new(object_store::local::LocalFileSystem::new()),
                    allowed: 2,
                    seen: AtomicUsize::new(0),
                }),
            )
            .unwrap();
        let dying = Table::builder(uri(&path))
            .with_stores(stores)
            .open()
            .await
            .unwrap();
        let err = Archive::new(dying, uri(&cold))
            .with_older_than(Age::parse("0h").unwrap())
            .with_concurrency(1)
            .execute()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("killed"), "{err}");
        // Nothing committed; two copies (and the marker) left behind.
        assert_eq!(table.snapshot().await.unwrap().version(), version);
        assert_eq!(files_below(&cold).len(), 3, "{:?}", files_below(&cold));
        assert_exactly_once(&table, &path, &cold, &relative, &rows).await;

        let metrics = Archive::new(table.clone(), uri(&cold))
            .with_older_than(Age::parse("0h").unwrap())
            .execute()
            .await
            .unwrap();
        assert_eq!(metrics.files_archived, 6);
        assert_eq!((metrics.files_reused, metrics.files_copied), (2, 4));
        assert_exactly_once(&table, &path, &cold, &relative, &rows).await;
        assert!(placed(&table).await.iter().all(|(l, _)| l != "hot"));
    });
}

#[test]
fn an_archive_run_stopped_at_its_commit_and_run_again_archives_each_file_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (path, cold) = (dir.path().join("events"), dir.path().join("cold"));
    block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        sample(&table).await;
        let rows = scan_rows(&table, None).await;
        let relative: BTreeSet<String> = placed(&table).await.into_iter().map(|(_, r)| r).collect();
        // Stop the run at its commit: the copies are made, the gate holds the commit, and the
        // run is dropped there (a process killed between its copies and its commit).
        let (gate, gated) = crate::common::gate_store::gated_table(uri(&path));
        gate.arm();
        let run = tokio::spawn(
            Archive::new(gated, uri(&cold))
                .with_filter(Expr::parse("day < '2026-01-01'").unwrap())
                .with_mode(ArchiveMode::Detach)
                .execute(),
        );
        gate.wait_reached().await;
        run.abort();
        let _aborted = run.await;
        assert_eq!(files_below(&cold).len(), 5, "{:?}", files_below(&cold));
        assert!(
            archive_config(&table)
                .await
                .detached_files()
                .unwrap()
                .is_empty()
        );
        assert_exactly_once(&table, &path, &cold, &relative, &rows).await;

        let metrics = Archive::new(table.clone(), uri(&cold))
            .with_filter(Expr::parse("day < '2026-01-01'").unwrap())
            .with_mode(ArchiveMode::Detach)
            .execute()
            .await
            .unwrap();
        assert_eq!((metrics.files_reused, metrics.files_archived), (4, 4));
        // Detached: each file is live or in the manifest, exactly once.
        let live = placed(&table).await;
        let records = archive_config(&table).await.detached_files().unwrap();
        let mut all: Vec<String> = live.iter().map(|(_, r)| r.clone()).collect();
        all.extend(records.iter().map(|r| r.add.path.clone()));
        all.sort();
        assert_eq!(all, relative.iter().cloned().collect::<Vec<_>>());
        for record in &records {
            assert!(cold.join(&record.add.path).is_file());
        }
        // And restoring brings back every row once.
        RestoreArchive::new(table.clone(), Expr::parse("true").unwrap())
            .execute()
            .await
            .unwrap();
        assert_rows_eq(&scan_rows(&table, None).await, &rows, "restored");
    });
}

#[test]
fn a_stopped_archive_run_commits_what_it_copied_and_the_next_run_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (path, cold) = (dir.path().join("events"), dir.path().join("cold"));
    block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        sample(&table).await;
        let rows = scan_rows(&table, None).await;
        let version = table.snapshot().await.unwrap().version();
        let relative: BTreeSet<String> = placed(&table).await.into_iter().map(|(_, r)| r).collect();
        // A signal arrives as the first copy finishes.
        let stop = tarn_maintenance::Stop::new();
        let requested = stop.clone();
        let metrics = Archive::new(table.clone(), uri(&cold))
            .with_older_than(Age::parse("0h").unwrap())
            .with_concurrency(1)
            .with_stop(stop)
            .with_progress(move |_| requested.request())
            .execute()
            .await
            .unwrap();
        assert_eq!(
            (metrics.files_archived, metrics.files_not_started),
            (1, 5),
            "{metrics:?}"
        );
        assert_eq!(metrics.versions, [version + 1]);
        assert_exactly_once(&table, &path, &cold, &relative, &rows).await;
        let metrics = Archive::new(table.clone(), uri(&cold))
            .with_older_than(Age::parse("0h").unwrap())
            .execute()
            .await
            .unwrap();
        assert_eq!((metrics.files_planned, metrics.files_archived), (5, 5));
        assert_exactly_once(&table, &path, &cold, &relative, &rows).await;
        assert!(placed(&table).await.iter().all(|(l, _)| l != "hot"));
    });
}

// ---------------------------------------------------------------------------------------------
// Age
// ---------------------------------------------------------------------------------------------

#[test]
fn older_than_goes_by_the_commit_that_added_each_file() {
    let dir = tempfile::tempdir().unwrap();
    let (path, cold) = (dir.path().join("events"), dir.path().join("cold"));
    block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        for (i, day) in DAYS.iter().enumerate() {
            let first = i64::try_from(i * 10).unwrap();
            table
                .write()
                .with_partition_columns(["day"])
                .execute_batches(vec![batch(first..first + 10, day)])
                .await
                .unwrap();
        }
        // Versions 0 and 1 were committed 100 and 95 days ago; version 2 now.
        let now = now_ms();
        let ago = |days: u64| SystemTime::now() - Duration::from_secs(days * 24 * 3600);
        set_mtime(&commit_path(&path, 0), ago(100));
        set_mtime(&commit_path(&path, 1), ago(95));
        let plan = Archive::new(table.clone(), uri(&cold))
            .with_older_than(Age::parse("90d").unwrap())
            .at(now)
            .plan()
            .await
            .unwrap();
        let days: Vec<&str> = plan
            .files
            .iter()
            .map(|f| f.partition_values["day"].as_deref().unwrap())
            .collect();
        assert_eq!(days, ["2025-12-30", "2025-12-31"], "{plan:?}");
        // Version 1 is at or before the cutoff: reading stopped there.
        for file in &plan.files {
            assert!(
                matches!(file.added_at, Some(AddedAt::AtOrBefore { version: 1, .. })),
                "{file:?}"
            );
        }
        assert_eq!(plan.rule.cutoff, Some(now - 90 * DAY_MS));
        // The rules combine.
        let plan = Archive::new(table.clone(), uri(&cold))
            .with_older_than(Age::parse("97d").unwrap())
            .with_filter(Expr::parse("day >= '2025-12-30'").unwrap())
            .at(now)
            .plan()
            .await
            .unwrap();
        assert_eq!(plan.files.len(), 1);
        // Ninety days from now everything is old, found without reading past the cutoff.
        let plan = Archive::new(table.clone(), uri(&cold))
            .with_older_than(Age::parse("90d").unwrap())
            .at(now + 91 * DAY_MS)
            .plan()
            .await
            .unwrap();
        assert_eq!(plan.files.len(), 3);
        assert!(
            plan.files
                .iter()
                .all(|f| matches!(f.added_at, Some(AddedAt::AtOrBefore { version: 2, .. })))
        );
    });
}

#[test]
fn files_older_than_the_log_go_by_their_modification_time() {
    let dir = tempfile::tempdir().unwrap();
    let (path, cold) = (dir.path().join("events"), dir.path().join("cold"));
    block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        for (i, day) in DAYS.iter().enumerate() {
            let first = i64::try_from(i * 10).unwrap();
            table
                .write()
                .with_partition_columns(["day"])
                .execute_batches(vec![batch(first..first + 10, day)])
                .await
                .unwrap();
        }
        let now = now_ms();
        // The first file's writer wrote it 100 days ago; log cleanup then removed versions 0
        // and 1 after a checkpoint of version 2.
        let mut actions = crate::common::writes::commit_actions(&path, 0);
        for action in &mut actions {
            if let Some(add) = action.get_mut("add") {
                add["modificationTime"] = Value::from(now - 100 * DAY_MS);
            }
        }
        let text: String = actions.iter().map(|a| format!("{a}\n")).collect();
        std::fs::write(commit_path(&path, 0), text).unwrap();
        let table = Table::open(uri(&path)).await.unwrap();
        table.checkpoint().execute().await.unwrap();
        std::fs::remove_file(commit_path(&path, 0)).unwrap();
        std::fs::remove_file(commit_path(&path, 1)).unwrap();
        let plan = Archive::new(table.clone(), uri(&cold))
            .with_older_than(Age::parse("90d").unwrap())
            .at(now)
            .plan()
            .await
            .unwrap();
        assert_eq!(plan.files.len(), 1, "{plan:?}");
        assert_eq!(
            plan.files[0].partition_values["day"].as_deref(),
            Some(DAYS[0])
        );
        assert!(matches!(
            plan.files[0].added_at,
            Some(AddedAt::BeforeLog {
                oldest_version: 2,
                ..
            })
        ));
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["files"][0]["added_at"]["source"], "before-log");
    });
}

// ---------------------------------------------------------------------------------------------
// Deletion vectors
// ---------------------------------------------------------------------------------------------

#[test]
fn deletion_vectors_stay_for_tier_and_travel_with_detached_files() {
    for mode in [ArchiveMode::Tier, ArchiveMode::Detach] {
        let (dir, path) = writable_fixture_copy("table-with-dv-small");
        let cold = dir.path().join("cold");
        block_on(async {
            let table = Table::open(uri(&path)).await.unwrap();
            let rows = scan_rows(&table, None).await;
            let snapshot = table.snapshot().await.unwrap();
            assert!(snapshot.files().iter().any(|f| f.has_deletion_vector()));
            let metrics = Archive::new(table.clone(), uri(&cold))
                .with_older_than(Age::parse("0h").unwrap())
                .with_mode(mode)
                .execute()
                .await
                .unwrap();
            assert!(metrics.files_archived >= 1);
            match mode {
                ArchiveMode::Tier => {
                    assert_eq!(metrics.deletion_vectors_copied, 0);
                    assert_rows_eq(&scan_rows(&table, None).await, &rows, "tiered");
                }
                ArchiveMode::Detach => {
                    assert!(metrics.deletion_vectors_copied >= 1);
                    let records = archive_config(&table).await.detached_files().unwrap();
                    let with_dv: Vec<_> = records
                        .iter()
                        .filter_map(|r| r.archive_deletion_vector.as_ref())
                        .collect();
                    assert!(!with_dv.is_empty());
                    for dv in with_dv {
                        assert_eq!(dv.storage_type, "p");
                        assert!(dv.path_or_inline_dv.starts_with(&location_uri(&cold)));
                    }
                    // The hot vector files may go (vacuum): restore reads the archived ones.
                    for entry in std::fs::read_dir(&path).unwrap() {
                        let entry = entry.unwrap();
                        let name = entry.file_name().into_string().unwrap();
                        if name.starts_with("deletion_vector_") {
                            std::fs::remove_file(entry.path()).unwrap();
                        }
                    }
                    RestoreArchive::new(table.clone(), Expr::parse("true").unwrap())
                        .execute()
                        .await
                        .unwrap();
                    assert_rows_eq(&scan_rows(&table, None).await, &rows, "restored");
                }
            }
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Compaction and vacuum beside tiered files
// ---------------------------------------------------------------------------------------------

#[test]
fn compaction_leaves_tiered_files_and_vacuum_removes_only_their_hot_copies() {
    let dir = tempfile::tempdir().unwrap();
    let (path, cold) = (dir.path().join("events"), dir.path().join("cold"));
    block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        sample(&table).await;
        let metrics = Archive::new(table.clone(), uri(&cold))
            .with_filter(Expr::parse("day < '2026-01-01'").unwrap())
            .execute()
            .await
            .unwrap();
        assert_eq!(metrics.files_archived, 4);
        let hot_copies: BTreeSet<String> = placed(&table)
            .await
            .into_iter()
            .filter(|(l, _)| l != "hot")
            .map(|(_, relative)| relative)
            .collect();
        assert_eq!(hot_copies.len(), 4);
        let rows = scan_rows(&table, None).await;

        // Two tiered files per archived day, two hot ones in 2026-01-01: compaction packs the
        // hot ones only; archived data never comes back under the root that way.
        let plan = Optimize::new(table.clone()).plan().await.unwrap();
        assert_eq!(plan.files_considered, 2, "{plan:?}");
        assert!(
            plan.bins
                .iter()
                .flat_map(|b| &b.files)
                .all(|f| f.path.starts_with("day=2026-01-01/")),
            "{plan:?}"
        );
        let compacted_away: BTreeSet<String> = plan
            .bins
            .iter()
            .flat_map(|b| b.files.iter().map(|f| f.path.clone()))
            .collect();
        assert_eq!(compacted_away.len(), 2);
        Optimize::new(table.clone())
            .execute_plan(plan)
            .await
            .unwrap();
        assert_eq!(
            placed(&table)
                .await
                .iter()
                .filter(|(l, _)| l != "hot")
                .count(),
            4
        );
        assert_rows_eq(&scan_rows(&table, None).await, &rows, "after compaction");

        // Something else of the archive's, old: vacuum must not touch the location at all.
        std::fs::write(cold.join("stray.parquet"), b"not vacuum's").unwrap();
        set_mtime(
            &cold.join("stray.parquet"),
            SystemTime::now() - Duration::from_secs(90 * 24 * 3600),
        );
        let archive_before = files_below(&cold);
        assert_eq!(archive_before.len(), 6, "{archive_before:?}");

        // Inside the table's retention (7 days) the hot copies stay: versions before the
        // tiering still read them.
        let plan = Vacuum::new(table.clone()).plan().await.unwrap();
        assert!(plan.deletions.is_empty(), "{:?}", plan.deletions);

        // Once out of retention, the hot copies of the tiered files go (and the files
        // compaction replaced), in full and lite mode alike; nothing else.
        let later = now_ms() + 8 * DAY_MS;
        let expected: BTreeSet<String> = hot_copies.union(&compacted_away).cloned().collect();
        for mode in [VacuumMode::Lite, VacuumMode::Full] {
            let plan = Vacuum::new(table.clone())
                .with_mode(mode)
                .with_now_ms(later)
                .plan()
                .await
                .unwrap();
            let planned: BTreeSet<String> = plan.deletions.iter().map(|d| d.path.clone()).collect();
            assert_eq!(planned, expected, "{mode:?}");
        }
        let vacuumed = Vacuum::new(table.clone())
            .with_now_ms(later)
            .execute()
            .await
            .unwrap();
        assert_eq!(vacuumed.files_deleted, 6);
        for relative in &hot_copies {
            assert!(!path.join(relative).exists(), "{relative}");
        }
        assert_eq!(files_below(&cold), archive_before);
        assert_rows_eq(&scan_rows(&table, None).await, &rows, "after vacuum");
    });
}

// ---------------------------------------------------------------------------------------------
// Locations that must be refused
// ---------------------------------------------------------------------------------------------

#[test]
fn hostile_locations_and_rules_are_refused_before_anything_is_copied() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events");
    let other_path = dir.path().join("other");
    let cold = dir.path().join("cold");
    let a_file = dir.path().join("a-file");
    std::fs::write(&a_file, "not a directory").unwrap();
    block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        sample(&table).await;
        let version = table.snapshot().await.unwrap().version();
        let rule = || Expr::parse("day < '2026-01-01'").unwrap();
        let refused = |location: String, why: &'static str| {
            let table = table.clone();
            async move {
                let err = Archive::new(table, location.clone())
                    .with_filter(Expr::parse("day < '2026-01-01'").unwrap())
                    .plan()
                    .await
                    .unwrap_err();
                assert!(
                    matches!(err, MaintenanceError::ArchiveLocation { .. }),
                    "{location}: {err}"
                );
                assert!(err.to_string().contains(why), "{location}: {err}");
            }
        };
        refused(uri(&path).to_owned(), "own root").await;
        refused(format!("{}/", uri(&path)), "own root").await;
        refused(uri(&path.join("archive")).to_owned(), "inside the table").await;
        refused(uri(&path.join("_delta_log")).to_owned(), "inside the table").await;
        refused(uri(dir.path()).to_owned(), "holds the table").await;
        refused("/".to_owned(), "root of the table's own store").await;
        refused(uri(&a_file).to_owned(), "is a file").await;

        // A location another table claimed.
        let other = Table::open(uri(&other_path)).await.unwrap();
        sample(&other).await;
        Archive::new(other.clone(), uri(&cold))
            .with_filter(rule())
            .execute()
            .await
            .unwrap();
        refused(uri(&cold).to_owned(), "another table").await;

        // Rules and classes.
        let err = Archive::new(table.clone(), uri(&dir.path().join("cold2")))
            .with_filter(Expr::parse("id < 10").unwrap())
            .plan()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("partition columns only"), "{err}");
        assert!(err.to_string().contains("id"), "{err}");
        let err = Archive::new(table.clone(), uri(&dir.path().join("cold2")))
            .plan()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("needs a rule"), "{err}");
        let err = Archive::new(table.clone(), uri(&dir.path().join("cold2")))
            .with_filter(rule())
            .with_storage_class("GLACIER_IR")
            .plan()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("local file system"), "{err}");
        let err = Archive::new(table.clone(), "ftp://host/cold")
            .with_filter(rule())
            .plan()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("ftp"), "{err}");

        // An untrusted table: the location would have to be registered.
        let untrusted = Table::builder(uri(&path)).untrusted().open().await.unwrap();
        let err = Archive::new(untrusted, uri(&dir.path().join("cold3")))
            .with_filter(rule())
            .plan()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("cold3"), "{err}");
        assert!(err.to_string().contains("registered"), "{err}");

        // Nothing was committed or copied.
        assert_eq!(table.snapshot().await.unwrap().version(), version);
        for name in ["cold2", "cold3", "events/archive"] {
            assert!(!dir.path().join(name).exists(), "{name}");
        }
    });
}

// ---------------------------------------------------------------------------------------------
// S3 to a second bucket (moto)
// ---------------------------------------------------------------------------------------------

/// The key of an `s3://bucket/key` URI.
fn s3_key(uri: &str) -> String {
    uri.split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(_, key)| key.replace("%20", " "))
        .unwrap()
}

#[test]
fn tier_from_s3_to_a_second_bucket_sets_the_storage_class_and_reads_the_same() {
    let options = s3_options();
    let table_uri = s3_table_uri("archive-tier");
    let name = table_uri.rsplit('/').next().unwrap().to_owned();
    let archive_uri = format!("s3://{}/{name}", s3_archive_bucket());
    block_on(async {
        let table = Table::open_with_options(&table_uri, &options)
            .await
            .unwrap();
        sample(&table).await;
        let rows = scan_rows(&table, None).await;
        let metrics = Archive::new(table.clone(), archive_uri.clone())
            .with_filter(Expr::parse("day < '2026-01-01'").unwrap())
            .with_storage_class("glacier_ir")
            .execute()
            .await
            .unwrap();
        assert_eq!(metrics.files_archived, 4);
        assert_rows_eq(&scan_rows(&table, None).await, &rows, "tiered on S3");
        // A fresh open, with nothing registered: the table declares the location.
        let fresh = Table::open_with_options(&table_uri, &options)
            .await
            .unwrap();
        assert_rows_eq(&scan_rows(&fresh, None).await, &rows, "fresh open");

        let snapshot = table.snapshot().await.unwrap();
        let archived: Vec<String> = snapshot
            .files()
            .iter()
            .map(|f| f.path().to_owned())
            .filter(|p| p.starts_with(&archive_uri))
            .collect();
        assert_eq!(archived.len(), 4);
        let keys: Vec<String> = archived.iter().map(|p| s3_key(p)).collect();
        let heads = s3_head(&s3_endpoint(), &s3_archive_bucket(), &keys);
        for key in &keys {
            assert_eq!(heads[key]["storage_class"], "GLACIER_IR", "{key}: {heads}");
        }
        // The hot copies are left as they were (vacuum's job), in the standard class.
        let hot_key = format!(
            "{}/{}",
            s3_key(&table_uri),
            &s3_key(&archived[0])[name.len() + 1..]
        );
        let hot = s3_head(
            &s3_endpoint(),
            &crate::common::s3::s3_bucket(),
            std::slice::from_ref(&hot_key),
        );
        assert_eq!(hot[&hot_key]["storage_class"], "STANDARD", "{hot}");

        // delta-rs's DataFusion reader knows only the table's own bucket: files tiered to
        // another one fail (spec/format.md, "Readers of tiered tables"; update it if this
        // changes). Tiered to another prefix of the same bucket, it reads them (below).
        let readers = read_with_python_readers(&table_uri, &options);
        let error = readers["query_builder"]["error"]
            .as_str()
            .unwrap_or_default();
        assert!(
            error.contains("No suitable object store"),
            "{}",
            readers["query_builder"]
        );

        // Detach the remaining day, delete one of its rows meanwhile, restore.
        Archive::new(table.clone(), archive_uri.clone())
            .with_filter(Expr::parse("day = '2026-01-01'").unwrap())
            .with_mode(ArchiveMode::Detach)
            .with_storage_class("STANDARD_IA")
            .execute()
            .await
            .unwrap();
        assert_eq!(
            ids_of(&scan_rows(&table, None).await),
            (0..40).collect::<Vec<_>>()
        );
        table
            .delete()
            .with_predicate(Expr::parse("id = 41").unwrap())
            .execute()
            .await
            .unwrap();
        let restored =
            RestoreArchive::new(table.clone(), Expr::parse("day = '2026-01-01'").unwrap())
                .execute()
                .await
                .unwrap();
        assert_eq!((restored.detached_restored, restored.rows_deleted), (2, 1));
        let expected: Vec<i64> = (0..60).filter(|id| *id != 41).collect();
        assert_eq!(ids_of(&scan_rows(&table, None).await), expected);

        // Another table, tiered to a prefix of its own bucket: delta-rs reads that.
        let same_bucket_uri = s3_table_uri("archive-same-bucket");
        let same_bucket = Table::open_with_options(&same_bucket_uri, &options)
            .await
            .unwrap();
        sample(&same_bucket).await;
        let rows = scan_rows(&same_bucket, None).await;
        let metrics = Archive::new(same_bucket.clone(), format!("{same_bucket_uri}-cold"))
            .with_filter(Expr::parse("day < '2026-01-01'").unwrap())
            .execute()
            .await
            .unwrap();
        assert_eq!(metrics.files_archived, 4);
        let readers = read_with_python_readers(&same_bucket_uri, &options);
        assert_rows_eq(
            &rows_of(&readers["query_builder"]["table"]),
            &rows,
            "delta-rs QueryBuilder, same bucket",
        );
    });
}

/// Tiered paths are percent-encoded URIs: a partition value with a space and a `%` survives
/// the round trip through the archive.
#[test]
fn partition_values_that_need_escaping_survive_tiering() {
    let dir = tempfile::tempdir().unwrap();
    let (path, cold) = (dir.path().join("events"), dir.path().join("cold archive"));
    block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        for (i, day) in ["a b%c", "d:e/f", "plain"].iter().enumerate() {
            let first = i64::try_from(i * 10).unwrap();
            table
                .write()
                .with_partition_columns(["day"])
                .execute_batches(vec![batch(first..first + 10, day)])
                .await
                .unwrap();
        }
        let rows = scan_rows(&table, None).await;
        let metrics = Archive::new(table.clone(), uri(&cold))
            .with_filter(Expr::parse("day <> 'plain'").unwrap())
            .execute()
            .await
            .unwrap();
        assert_eq!(metrics.files_archived, 2);
        assert_rows_eq(&scan_rows(&table, None).await, &rows, "escaped values");
        let readers = read_with_python_readers(uri(&path), &BTreeMap::new());
        assert_rows_eq(
            &rows_of(&readers["query_builder"]["table"]),
            &rows,
            "delta-rs QueryBuilder",
        );
    });
}
